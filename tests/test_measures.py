"""Curvature measures (Shao et al. 2017, Shukla et al. 2019) on known geometries."""

import math

import geomstats_gen  # noqa: F401  (selects the pytorch backend first)
import pytest
import torch

from geomstats_gen import GeneratedManifold
from geomstats_gen.measures import (
    coordinate_plane_curvature,
    curvature_statistics,
    geodesic_to_linear_ratio,
    holonomy_angle,
)

from conftest import sphere_points

F64 = torch.float64
RADIUS = 2.0


class ReparametrisedPlane(torch.nn.Module):
    """A flat plane through a curved chart: ``g(z) = (z1 + 0.3 z2^2, z2, 0)``."""

    def forward(self, z):
        z1, z2 = z[..., 0], z[..., 1]
        return torch.stack([z1 + 0.3 * z2**2, z2, torch.zeros_like(z1)], dim=-1)


@pytest.fixture
def flat_curved_chart():
    return GeneratedManifold(ReparametrisedPlane(), 2)


def _sphere_linear_length(a, b, n=200001):
    """Length of the decoded latent segment on the sphere chart, by quadrature."""
    t = torch.linspace(0.0, 1.0, n, dtype=F64)
    theta = a[0] + t * (b[0] - a[0])
    speed = RADIUS * torch.sqrt((b[0] - a[0]) ** 2 + torch.sin(theta) ** 2 * (b[1] - a[1]) ** 2)
    return torch.trapezoid(speed, t)


# ----------------------------------------------------------------------
# geodesic_to_linear_ratio
# ----------------------------------------------------------------------
def test_ratio_is_one_on_linear_decoder(linear_space, linear_matrix):
    gen = torch.Generator().manual_seed(5)
    a = torch.randn(4, 3, generator=gen, dtype=F64)
    b = torch.randn(4, 3, generator=gen, dtype=F64)
    result = geodesic_to_linear_ratio(linear_space, a, b)
    exact = ((b - a) @ linear_matrix.T).norm(dim=-1)
    assert result.ratio.shape == (4,)
    torch.testing.assert_close(result.linear_length, exact, atol=1e-12, rtol=1e-12)
    torch.testing.assert_close(result.geodesic_length, exact, atol=1e-7, rtol=1e-7)
    torch.testing.assert_close(result.ratio, torch.ones(4, dtype=F64), atol=1e-6, rtol=0)


def test_ratio_on_sphere_chart_matches_closed_form(sphere_space):
    a = torch.tensor([[1.0, -0.8], [0.9, -1.0]], dtype=F64)
    b = torch.tensor([[2.0, 0.9], [2.1, 1.1]], dtype=F64)
    result = geodesic_to_linear_ratio(sphere_space, a, b)
    ga, gb = sphere_space.immersion(a), sphere_space.immersion(b)
    geodesic = RADIUS * torch.arccos((ga * gb).sum(-1) / RADIUS**2)
    linear = torch.stack([_sphere_linear_length(a[k], b[k]) for k in range(2)])
    # 256 chords: relative error O(1 / 256^2) from below.
    torch.testing.assert_close(result.linear_length, linear, atol=0, rtol=1e-5)
    torch.testing.assert_close(result.geodesic_length, geodesic, atol=0, rtol=1e-6)
    torch.testing.assert_close(result.ratio, geodesic / linear, atol=0, rtol=2e-5)
    assert bool((result.ratio < 0.999).all())


def test_ratio_broadcasts_and_keeps_dtype(sphere_space):
    a = sphere_points(3, seed=1).to(torch.float32)
    b = sphere_points(1, seed=2)[0].to(torch.float32)
    result = geodesic_to_linear_ratio(sphere_space, a, b, n_points=32)
    assert result.ratio.shape == (3,)
    assert result.ratio.dtype == torch.float32
    assert result.linear_length.dtype == torch.float32
    # 32 chords underestimate the decoded line by O(1 / 32^2): the ratio can
    # exceed 1 by that much where the latent line is nearly a geodesic.
    assert bool((result.ratio <= 1 + 1e-3).all())
    torch.testing.assert_close(
        result.ratio, result.geodesic_length / result.linear_length, atol=0, rtol=1e-6
    )


def test_flat_plane_through_curved_chart_mixes_distortion(flat_curved_chart):
    """The ratio is < 1 on a flat manifold: it is not a curvature measure."""
    a = torch.tensor([-1.0, -1.0], dtype=F64)
    b = torch.tensor([1.0, 1.0], dtype=F64)
    result = geodesic_to_linear_ratio(flat_curved_chart, a, b)
    # Geodesics are straight lines in the image plane.
    ga, gb = flat_curved_chart.immersion(a), flat_curved_chart.immersion(b)
    torch.testing.assert_close(result.geodesic_length, (gb - ga).norm(), atol=1e-6, rtol=0)
    # The latent line decodes to the parabola (t + 0.3 t^2, t), t in [-1, 1].
    t = torch.linspace(-1.0, 1.0, 200001, dtype=F64)
    parabola = torch.trapezoid(torch.sqrt((1 + 0.6 * t) ** 2 + 1), t)
    torch.testing.assert_close(result.linear_length, parabola, atol=0, rtol=1e-5)
    assert float(result.ratio) < 0.99
    # ... while the curvature is zero everywhere.
    codes = torch.tensor([[0.0, 0.0], [0.5, -1.0], [-1.0, 2.0]], dtype=F64)
    stats = curvature_statistics(flat_curved_chart, codes, n_planes=8, random_state=0)
    torch.testing.assert_close(stats["sectional"], torch.zeros(3, 8, dtype=F64), atol=1e-8, rtol=0)
    torch.testing.assert_close(stats["scalar"], torch.zeros(3, dtype=F64), atol=1e-8, rtol=0)
    for name in ("mean", "std", "min", "max", "abs_mean"):
        assert abs(float(stats[f"sectional_{name}"])) < 1e-8
    holonomy = holonomy_angle(flat_curved_chart, codes[1], 0.1, n_segments=32)
    assert abs(float(holonomy.angle)) < 1e-10


# ----------------------------------------------------------------------
# curvature_statistics and coordinate_plane_curvature
# ----------------------------------------------------------------------
def test_curvature_statistics_sphere(sphere_space):
    codes = sphere_points(5, seed=3)
    stats = curvature_statistics(sphere_space, codes, n_planes=6, random_state=1)
    assert stats["sectional"].shape == (5, 6)
    assert stats["scalar"].shape == (5,)
    quarter = 1 / RADIUS**2
    torch.testing.assert_close(
        stats["sectional"], torch.full((5, 6), quarter, dtype=F64), atol=1e-8, rtol=0
    )
    torch.testing.assert_close(
        stats["scalar"], torch.full((5,), 2 * quarter, dtype=F64), atol=1e-8, rtol=0
    )
    for prefix, value in (("sectional", quarter), ("scalar", 2 * quarter)):
        for name in ("mean", "min", "max", "abs_mean"):
            assert float(stats[f"{prefix}_{name}"]) == pytest.approx(value, abs=1e-8)
        assert float(stats[f"{prefix}_std"]) < 1e-8


def test_curvature_statistics_seeding(torus_space):
    codes = torch.tensor([[0.1, 0.3], [1.0, 2.0]], dtype=F64)
    state = torch.get_rng_state()
    s1 = curvature_statistics(torus_space, codes, n_planes=4, random_state=7)
    s2 = curvature_statistics(torus_space, codes, n_planes=4, random_state=7)
    assert torch.equal(torch.get_rng_state(), state)  # global RNG untouched
    torch.testing.assert_close(s1["sectional"], s2["sectional"], atol=0, rtol=0)


def test_curvature_statistics_torus_sign_pattern(torus_space):
    v = torch.tensor([-3.0, -2.0, -1.2, -0.4, 0.0, 0.7, 1.3, 1.9, 2.8], dtype=F64)
    u = torch.linspace(-2.0, 2.0, v.shape[0], dtype=F64)
    codes = torch.stack([u, v], dim=-1)
    stats = curvature_statistics(torus_space, codes, n_planes=5, random_state=0)
    exact = torch.cos(v) / (1.0 * (2.0 + torch.cos(v)))
    torch.testing.assert_close(stats["sectional"], exact[:, None].expand(-1, 5), atol=1e-8, rtol=0)
    torch.testing.assert_close(stats["scalar"], 2 * exact, atol=1e-8, rtol=0)
    positive = v.abs() < math.pi / 2
    assert torch.equal(stats["sectional"][:, 0] > 0, positive)
    assert float(stats["sectional_min"]) < 0 < float(stats["sectional_max"])


def test_coordinate_plane_curvature_sphere(sphere_space):
    codes = sphere_points(4, seed=4)
    curv = coordinate_plane_curvature(sphere_space, codes)
    expected = torch.tensor([[0.0, 0.25], [0.25, 0.0]], dtype=F64).expand(4, 2, 2)
    torch.testing.assert_close(curv, expected, atol=1e-8, rtol=0)
    single = coordinate_plane_curvature(sphere_space, codes[0])
    assert single.shape == (2, 2)


class Sphere3Chart(torch.nn.Module):
    """Hyperspherical coordinates on the 3-sphere of radius 2 in R^4."""

    def forward(self, z):
        a, b, c = z[..., 0], z[..., 1], z[..., 2]
        return RADIUS * torch.stack(
            [
                torch.cos(a),
                torch.sin(a) * torch.cos(b),
                torch.sin(a) * torch.sin(b) * torch.cos(c),
                torch.sin(a) * torch.sin(b) * torch.sin(c),
            ],
            dim=-1,
        )


def test_coordinate_plane_curvature_three_dims():
    space = GeneratedManifold(Sphere3Chart(), 3)
    codes = torch.tensor([[1.0, 1.2, 0.3], [1.4, 0.9, -0.5]], dtype=F64)
    curv = coordinate_plane_curvature(space, codes)
    expected = 0.25 * (torch.ones(3, 3, dtype=F64) - torch.eye(3, dtype=F64))
    torch.testing.assert_close(curv, expected.expand(2, 3, 3), atol=1e-8, rtol=0)
    torch.testing.assert_close(curv, curv.transpose(-1, -2), atol=0, rtol=0)


def test_coordinate_plane_curvature_linear_is_zero(linear_space):
    codes = torch.zeros(2, 3, dtype=F64)
    curv = coordinate_plane_curvature(linear_space, codes)
    torch.testing.assert_close(curv, torch.zeros(2, 3, 3, dtype=F64), atol=1e-12, rtol=0)


# ----------------------------------------------------------------------
# holonomy_angle
# ----------------------------------------------------------------------
def test_holonomy_sphere_gauss_bonnet(sphere_space):
    centers = torch.tensor([[1.0, 0.2], [1.8, -0.4]], dtype=F64)
    radius = 0.05
    result = holonomy_angle(sphere_space, centers, radius, n_segments=64)
    assert result.angle.shape == (2,)
    # Riemannian area r^2 sin(theta) * latent polygon area.
    polygon = 32 * radius**2 * math.sin(2 * math.pi / 64)
    area = RADIUS**2 * torch.sin(centers[:, 0]) * polygon
    torch.testing.assert_close(result.area, area, atol=1e-14, rtol=1e-12)
    quarter = torch.full((2,), 0.25, dtype=F64)
    torch.testing.assert_close(result.curvature, quarter, atol=0, rtol=0.02)
    assert bool((result.angle > 0).all())
    torch.testing.assert_close(result.curvature, result.angle / result.area, atol=0, rtol=1e-12)


def test_holonomy_torus_sign(torus_space):
    centers = torch.tensor([[0.3, 0.5], [0.3, 2.5]], dtype=F64)
    result = holonomy_angle(torus_space, centers, 0.05, n_segments=48)
    exact = torch.cos(centers[:, 1]) / (2.0 + torch.cos(centers[:, 1]))
    torch.testing.assert_close(result.curvature, exact, atol=0, rtol=0.02)
    assert float(result.angle[0]) > 0 > float(result.angle[1])


def test_holonomy_zero_on_linear_decoder(linear_space):
    centers = torch.tensor([[0.1, -0.2, 0.3], [1.0, 0.5, -0.7]], dtype=F64)
    result = holonomy_angle(linear_space, centers, 0.3, plane=(0, 2), n_segments=16)
    torch.testing.assert_close(result.angle, torch.zeros(2, dtype=F64), atol=1e-10, rtol=0)
    assert bool((result.area > 0).all())


# ----------------------------------------------------------------------
# Bad input
# ----------------------------------------------------------------------
def test_bad_input(sphere_space):
    a = torch.tensor([1.0, 0.0], dtype=F64)
    with pytest.raises(ValueError, match="n_points"):
        geodesic_to_linear_ratio(sphere_space, a, a, n_points=0)
    with pytest.raises(ValueError, match="point_a"):
        geodesic_to_linear_ratio(sphere_space, torch.zeros(3, dtype=F64), a)
    with pytest.raises(ValueError, match="codes"):
        curvature_statistics(sphere_space, torch.zeros(2, 3, dtype=F64))
    with pytest.raises(ValueError, match="n_planes"):
        curvature_statistics(sphere_space, a, n_planes=0)
    with pytest.raises(ValueError, match="codes"):
        coordinate_plane_curvature(sphere_space, torch.zeros(3, dtype=F64))
    for radius in (0.0, -0.1, float("nan")):
        with pytest.raises(ValueError, match="radius"):
            holonomy_angle(sphere_space, a, radius)
    for plane in ((0, 2), (1, 1), (-1, 0), (0,)):
        with pytest.raises(ValueError, match="plane"):
            holonomy_angle(sphere_space, a, 0.1, plane=plane)
    with pytest.raises(ValueError, match="n_segments"):
        holonomy_angle(sphere_space, a, 0.1, n_segments=2)
    with pytest.raises(ValueError, match="center"):
        holonomy_angle(sphere_space, torch.zeros(3, dtype=F64), 0.1)


class _SphereTimesLine(torch.nn.Module):
    """S^2(r) x R with the line stretched by ``s``: K(P) = n_t^2 / r^2 for a
    plane P with G-unit normal n (n_t: its component along the line)."""

    def __init__(self, radius=2.0, stretch=5.0):
        super().__init__()
        self.radius, self.stretch = radius, stretch

    def forward(self, z):
        theta, phi, t = z[..., 0], z[..., 1], z[..., 2]
        sin_t = torch.sin(theta)
        return torch.stack([
            self.radius * sin_t * torch.cos(phi), self.radius * sin_t * torch.sin(phi),
            self.radius * torch.cos(theta), self.stretch * t,
        ], dim=-1)


def test_random_planes_uniform_for_the_metric():
    """Planes uniform for G: E[n_t^2] = 1/3, so the mean sectional curvature
    of S^2(2) x R is 1/(3 r^2) = 1/12 = scalar / (d (d - 1)); latent-uniform
    planes over-weight the stretched line and give another mean."""
    space = GeneratedManifold(_SphereTimesLine(), 3)
    gen = torch.Generator().manual_seed(4)
    codes = torch.stack([0.8 + 1.5 * torch.rand(200, generator=gen, dtype=torch.float64),
                         torch.rand(200, generator=gen, dtype=torch.float64),
                         torch.rand(200, generator=gen, dtype=torch.float64)], dim=-1)
    metric = curvature_statistics(space, codes, n_planes=16, random_state=0)
    latent = curvature_statistics(space, codes, n_planes=16, random_state=0, planes="latent")
    assert float(metric["sectional_mean"]) == pytest.approx(1 / 12, rel=0.05)
    torch.testing.assert_close(metric["scalar"], torch.full((200,), 0.5, dtype=torch.float64))
    assert abs(float(latent["sectional_mean"]) - 1 / 12) > 0.3 / 12
    with pytest.raises(ValueError, match="`planes`"):
        curvature_statistics(space, codes, planes="random")
