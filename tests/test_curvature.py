"""Curvature from the Gauss equation (second derivatives only)."""

import math
import warnings

import geomstats_gen  # noqa: F401  (selects the pytorch backend first)
import pytest
import torch
from geomstats.geometry.hypersphere import Hypersphere

from geomstats_gen import GeneratedManifold, LinearDecoder, SphereChart, make_mlp
from geomstats_gen import curvature as C
from geomstats_gen.testing import StockPullbackSpace

from conftest import sphere_points

F64 = torch.float64


def _gen(seed):
    return torch.Generator().manual_seed(seed)


def _randn(*shape, seed=0, dtype=F64):
    return torch.randn(*shape, generator=_gen(seed), dtype=dtype)


class Sphere3Chart(torch.nn.Module):
    """Hyperspherical coordinates on the unit 3-sphere in R^4."""

    def forward(self, z):
        psi, theta, phi = z[..., 0], z[..., 1], z[..., 2]
        s_psi, s_theta = torch.sin(psi), torch.sin(theta)
        return torch.stack(
            [
                torch.cos(psi),
                s_psi * torch.cos(theta),
                s_psi * s_theta * torch.cos(phi),
                s_psi * s_theta * torch.sin(phi),
            ],
            dim=-1,
        )


def sphere3_points(n, seed=0):
    gen = _gen(seed)
    angles = 0.5 + 2.1 * torch.rand(n, 2, generator=gen, dtype=F64)
    phi = -2.0 + 4.0 * torch.rand(n, 1, generator=gen, dtype=F64)
    return torch.cat([angles, phi], dim=-1)


@pytest.fixture
def sphere3_space():
    return GeneratedManifold(Sphere3Chart(), 3)


@pytest.fixture
def mlp3_space():
    return GeneratedManifold(make_mlp([3, 8, 6], dtype=F64, seed=2), 3)


def _lower(riemann, metric):
    """Geomstats' covariant_riemann_tensor from riemann_tensor."""
    return torch.einsum("...ij,...klmj->...iklm", metric, riemann)


# ----------------------------------------------------------------------
# Closed-form curvatures
# ----------------------------------------------------------------------
def test_sphere_chart_constant_curvature(sphere_space):
    radius = 2.0
    z = sphere_points(6, seed=1)
    u, v = _randn(6, 2, seed=2), _randn(6, 2, seed=3)
    expected = torch.full((6,), 1 / radius**2, dtype=F64)
    torch.testing.assert_close(
        C.sectional_curvature(sphere_space, u, v, z), expected, atol=1e-8, rtol=0
    )
    torch.testing.assert_close(
        C.scalar_curvature(sphere_space, z), 2 * expected, atol=1e-8, rtol=0
    )
    metric = sphere_space.metric.metric_matrix(z)
    torch.testing.assert_close(
        C.ricci_tensor(sphere_space, z), metric / radius**2, atol=1e-8, rtol=0
    )
    # The mean curvature vector of a sphere of radius r has norm 2 / r.
    mean = C.mean_curvature_vector(sphere_space, z)
    torch.testing.assert_close(
        torch.linalg.vector_norm(mean, dim=-1), 2 * expected * radius, atol=1e-8, rtol=0
    )


def test_torus_gaussian_curvature(torus_space):
    big, small = 2.0, 1.0
    gen = _gen(4)
    u = -3.0 + 6.0 * torch.rand(8, generator=gen, dtype=F64)
    v = torch.tensor([0.0, 0.4, 1.0, 1.5, 2.0, 2.8, math.pi, -2.3], dtype=F64)
    z = torch.stack([u, v], dim=-1)
    expected = torch.cos(v) / (small * (big + small * torch.cos(v)))
    got = C.sectional_curvature(torus_space, _randn(8, 2, seed=5), _randn(8, 2, seed=6), z)
    torch.testing.assert_close(got, expected, atol=1e-8, rtol=0)
    assert bool((got[v.abs() < 1.0] > 0).all())  # outside: positive
    assert bool((got[v.abs() > 2.0] < 0).all())  # inside: negative
    torch.testing.assert_close(C.scalar_curvature(torus_space, z), 2 * expected, atol=1e-8, rtol=0)
    metric = torus_space.metric.metric_matrix(z)
    torch.testing.assert_close(
        C.ricci_tensor(torus_space, z), expected[:, None, None] * metric, atol=1e-8, rtol=0
    )


def test_linear_decoder_is_flat(linear_space):
    z = _randn(5, 3, seed=7)
    a, b, c = _randn(3, 5, 3, seed=8).unbind(0)
    assert float(C.riemann_tensor(linear_space, z).abs().max()) < 1e-12
    assert float(C.curvature(linear_space, a, b, c, z).abs().max()) < 1e-12
    assert float(C.sectional_curvature(linear_space, a, b, z).abs().max()) < 1e-12
    assert float(C.ricci_tensor(linear_space, z).abs().max()) < 1e-12
    assert float(C.scalar_curvature(linear_space, z).abs().max()) < 1e-12
    assert float(C.second_fundamental_form(linear_space, z).abs().max()) < 1e-12
    assert float(C.mean_curvature_vector(linear_space, z).abs().max()) < 1e-12


def test_unit_three_sphere(sphere3_space):
    z = sphere3_points(5, seed=9)
    a, b, c = _randn(3, 5, 3, seed=10).unbind(0)
    ones = torch.ones(5, dtype=F64)
    torch.testing.assert_close(
        C.sectional_curvature(sphere3_space, a, b, z), ones, atol=1e-8, rtol=0
    )
    # Every coordinate plane too.
    eye = torch.eye(3, dtype=F64)
    for i, j in [(0, 1), (0, 2), (1, 2)]:
        torch.testing.assert_close(
            C.sectional_curvature(sphere3_space, eye[i], eye[j], z), ones, atol=1e-8, rtol=0
        )
    torch.testing.assert_close(C.scalar_curvature(sphere3_space, z), 6 * ones, atol=1e-8, rtol=0)
    metric = sphere3_space.metric.metric_matrix(z)
    torch.testing.assert_close(C.ricci_tensor(sphere3_space, z), 2 * metric, atol=1e-8, rtol=0)
    # Constant curvature 1: R(a, b) c = <b, c> a - <a, c> b.
    inner = sphere3_space.metric.inner_product
    expected = inner(b, c, z)[:, None] * a - inner(a, c, z)[:, None] * b
    torch.testing.assert_close(C.curvature(sphere3_space, a, b, c, z), expected, atol=1e-8, rtol=0)
    riemann = C.riemann_tensor(sphere3_space, z)
    # R^l_ijk = dx^l(R(e_j, e_k) e_i) = G_ik delta_jl - G_ij delta_kl.
    expected_riemann = torch.einsum("nik,jl->nijkl", metric, eye) - torch.einsum(
        "nij,kl->nijkl", metric, eye
    )
    torch.testing.assert_close(riemann, expected_riemann, atol=1e-8, rtol=0)


# ----------------------------------------------------------------------
# Sign convention: Geomstats' own closed forms
# ----------------------------------------------------------------------
def test_sign_against_hypersphere_curvature():
    """Unit sphere chart pushed to R^3 vs Hypersphere's closed-form R(a, b) c."""
    space = GeneratedManifold(SphereChart(1.0), 2)
    z = sphere_points(4, seed=11)
    a, b, c = _randn(3, 4, 2, seed=12).unbind(0)
    jac = space.jacobian_immersion(z)
    point = space.immersion(z)

    def push(vec):
        return torch.einsum("nai,ni->na", jac, vec)

    sphere = Hypersphere(2)
    expected = sphere.metric.curvature(push(a), push(b), push(c), point)
    torch.testing.assert_close(push(C.curvature(space, a, b, c, z)), expected, atol=1e-10, rtol=0)
    expected_k = sphere.metric.sectional_curvature(push(a), push(b), point)
    torch.testing.assert_close(
        C.sectional_curvature(space, a, b, z), expected_k, atol=1e-10, rtol=0
    )
    assert bool((expected_k > 0).all())


def test_riemann_tensor_matches_geomstats_intrinsic_sphere():
    """Geomstats' generic Connection.riemann_tensor on the intrinsic 2-sphere
    (closed-form Christoffels in the same (theta, phi) chart)."""
    space = GeneratedManifold(SphereChart(1.0), 2)
    z = sphere_points(4, seed=13)
    expected = Hypersphere(2, intrinsic=True).metric.riemann_tensor(z)
    torch.testing.assert_close(C.riemann_tensor(space, z), expected, atol=1e-10, rtol=0)
    torch.testing.assert_close(
        C.covariant_riemann_tensor(space, z),
        _lower(expected, space.metric.metric_matrix(z)),
        atol=1e-10,
        rtol=0,
    )


# ----------------------------------------------------------------------
# General decoders: symmetries and internal consistency
# ----------------------------------------------------------------------
def test_riemann_symmetries_mlp(mlp3_space):
    z = _randn(4, 3, seed=14)
    riemann = C.riemann_tensor(mlp3_space, z)
    cov = C.covariant_riemann_tensor(mlp3_space, z)
    scale = float(cov.abs().max())
    assert scale > 1e-3  # a curved example
    tol = dict(atol=1e-10 * scale, rtol=0)
    torch.testing.assert_close(_lower(riemann, mlp3_space.metric.metric_matrix(z)), cov, **tol)
    torch.testing.assert_close(cov, -cov.transpose(1, 2), **tol)  # R_ijkl = -R_jikl
    torch.testing.assert_close(cov, -cov.transpose(3, 4), **tol)  # R_ijkl = -R_ijlk
    torch.testing.assert_close(cov, cov.permute(0, 3, 4, 1, 2), **tol)  # R_ijkl = R_klij
    bianchi = cov + cov.permute(0, 1, 3, 4, 2) + cov.permute(0, 1, 4, 2, 3)
    torch.testing.assert_close(bianchi, torch.zeros_like(bianchi), **tol)


def test_consistency_mlp(mlp3_space):
    z = _randn(4, 3, seed=15)
    a, b, c = _randn(3, 4, 3, seed=16).unbind(0)
    riemann = C.riemann_tensor(mlp3_space, z)
    metric = mlp3_space.metric.metric_matrix(z)
    cometric = mlp3_space.metric.cometric_matrix(z)
    tol = dict(atol=1e-10 * float(riemann.abs().max()), rtol=0)
    # curvature() (directional second derivatives) = contraction of riemann_tensor.
    expected = torch.einsum("nijkl,nj,nk,ni->nl", riemann, a, b, c)
    torch.testing.assert_close(C.curvature(mlp3_space, a, b, c, z), expected, **tol)
    # sectional_curvature() = <R(a, b) b, a> / (|a|^2 |b|^2 - <a, b>^2).
    r_abb = torch.einsum("nijkl,nj,nk,ni->nl", riemann, a, b, b)
    inner = mlp3_space.metric.inner_product
    num = torch.einsum("nl,nlm,nm->n", r_abb, metric, a)
    den = inner(a, a, z) * inner(b, b, z) - inner(a, b, z) ** 2
    sectional = C.sectional_curvature(mlp3_space, a, b, z)
    torch.testing.assert_close(sectional, num / den, **tol)
    # Symmetric in its arguments, invariant under scaling and shearing.
    torch.testing.assert_close(C.sectional_curvature(mlp3_space, b, a, z), sectional, **tol)
    torch.testing.assert_close(
        C.sectional_curvature(mlp3_space, 3.0 * a - 0.5 * b, -2.0 * b, z), sectional, **tol
    )
    # Ricci and scalar curvature are traces of riemann_tensor (Geomstats' einsums).
    ricci = C.ricci_tensor(mlp3_space, z)
    torch.testing.assert_close(ricci, torch.einsum("nijkj->nik", riemann), **tol)
    torch.testing.assert_close(ricci, ricci.transpose(-1, -2), **tol)
    torch.testing.assert_close(
        C.scalar_curvature(mlp3_space, z), torch.einsum("nij,nij->n", cometric, ricci), **tol
    )


def test_sectional_curvature_symmetric_torus(torus_space):
    z = torch.tensor([[0.3, 2.5], [1.0, -0.4]], dtype=F64)
    a, b = _randn(2, 2, 2, seed=17).unbind(0)
    torch.testing.assert_close(
        C.sectional_curvature(torus_space, a, b, z),
        C.sectional_curvature(torus_space, b, a, z),
        atol=1e-12,
        rtol=0,
    )


def test_parallel_vectors_give_zero(mlp3_space):
    z = _randn(3, seed=18)
    a = _randn(3, seed=19)
    assert float(C.sectional_curvature(mlp3_space, a, 2.0 * a, z)) == 0.0


def test_agrees_with_stock_pullback_metric():
    decoder = make_mlp([2, 5, 4], activation="tanh", dtype=F64, seed=3)
    ours = GeneratedManifold(decoder, 2)
    stock = StockPullbackSpace(decoder, 2, 4)
    z = _randn(3, 2, seed=20)
    torch.testing.assert_close(
        C.second_fundamental_form(ours, z),
        stock.metric.second_fundamental_form(z),
        atol=1e-10,
        rtol=1e-9,
    )
    torch.testing.assert_close(
        C.mean_curvature_vector(ours, z),
        stock.metric.mean_curvature_vector(z),
        atol=1e-10,
        rtol=1e-9,
    )


# ----------------------------------------------------------------------
# Warnings, shapes, dtypes, errors
# ----------------------------------------------------------------------
def test_piecewise_linear_warning():
    relu = GeneratedManifold(make_mlp([2, 6, 4], activation="relu", dtype=F64), 2)
    z = _randn(3, 2, seed=21)
    a, b = _randn(2, 3, 2, seed=22).unbind(0)
    for call in (
        lambda: C.sectional_curvature(relu, a, b, z),
        lambda: C.curvature(relu, a, b, a, z),
        lambda: C.riemann_tensor(relu, z),
        lambda: C.ricci_tensor(relu, z),
        lambda: C.scalar_curvature(relu, z),
    ):
        with pytest.warns(C.PiecewiseLinearWarning, match="zero almost everywhere"):
            out = call()
        assert float(out.abs().max()) < 1e-12
    leaky = torch.nn.Sequential(
        torch.nn.Linear(2, 5, dtype=F64), torch.nn.LeakyReLU(), torch.nn.Linear(5, 3, dtype=F64)
    )
    assert C.is_piecewise_linear(leaky)
    assert issubclass(C.PiecewiseLinearWarning, UserWarning)


@pytest.mark.parametrize(
    "decoder",
    [
        make_mlp([2, 6, 4], activation="tanh", dtype=F64),
        SphereChart(2.0),
        LinearDecoder(torch.eye(3, 2, dtype=F64)),
    ],
)
def test_no_warning_for_smooth_or_affine(decoder):
    space = GeneratedManifold(decoder, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("error", C.PiecewiseLinearWarning)
        C.scalar_curvature(space, torch.tensor([1.0, 0.2], dtype=F64))


def test_shapes_batched_and_unbatched(mlp3_space):
    d, emb = 3, 6
    z = _randn(2, 4, d, seed=23)
    a, b, c = _randn(3, 2, 4, d, seed=24).unbind(0)
    assert C.second_fundamental_form(mlp3_space, z).shape == (2, 4, emb, d, d)
    assert C.mean_curvature_vector(mlp3_space, z).shape == (2, 4, emb)
    riemann = C.riemann_tensor(mlp3_space, z)
    assert riemann.shape == (2, 4, d, d, d, d)
    assert C.covariant_riemann_tensor(mlp3_space, z).shape == (2, 4, d, d, d, d)
    assert C.curvature(mlp3_space, a, b, c, z).shape == (2, 4, d)
    sectional = C.sectional_curvature(mlp3_space, a, b, z)
    assert sectional.shape == (2, 4)
    assert C.ricci_tensor(mlp3_space, z).shape == (2, 4, d, d)
    assert C.scalar_curvature(mlp3_space, z).shape == (2, 4)
    # Unbatched inputs give unbatched results equal to the batched entries.
    single = C.riemann_tensor(mlp3_space, z[1, 2])
    assert single.shape == (d, d, d, d)
    torch.testing.assert_close(single, riemann[1, 2], atol=1e-12, rtol=0)
    one = C.sectional_curvature(mlp3_space, a[1, 2], b[1, 2], z[1, 2])
    assert one.shape == ()
    torch.testing.assert_close(one, sectional[1, 2], atol=1e-12, rtol=0)
    assert C.scalar_curvature(mlp3_space, z[0, 0]).shape == ()
    # Vectors broadcast against a batch of base points.
    assert C.sectional_curvature(mlp3_space, a[0, 0], b[0, 0], z).shape == (2, 4)
    assert C.curvature(mlp3_space, a[0, 0], b, c[0, 0], z[0]).shape == (2, 4, d)


def test_dtype_follows_caller(sphere_space):
    z = sphere_points(3, seed=25).to(torch.float32)
    u = torch.tensor([1.0, 0.0], dtype=torch.float32)
    v = torch.tensor([0.0, 1.0], dtype=torch.float32)
    out = C.sectional_curvature(sphere_space, u, v, z)
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, torch.full((3,), 0.25, dtype=torch.float32), atol=1e-5, rtol=0)
    assert C.riemann_tensor(sphere_space, z).dtype == torch.float32
    assert C.scalar_curvature(sphere_space, z.tolist()).dtype == torch.float64


def test_gradients_flow_through_latent_points(mlp3_space):
    """The autograd gradient of the scalar curvature matches central differences."""
    z = _randn(2, 3, seed=26).requires_grad_(True)
    C.scalar_curvature(mlp3_space, z).sum().backward()
    step = 1e-5
    fd = torch.zeros_like(z)
    with torch.no_grad():
        for i in range(z.shape[0]):
            for j in range(z.shape[1]):
                dz = torch.zeros_like(z)
                dz[i, j] = step
                plus = C.scalar_curvature(mlp3_space, z + dz).sum()
                minus = C.scalar_curvature(mlp3_space, z - dz).sum()
                fd[i, j] = (plus - minus) / (2 * step)
    assert float(fd.abs().max()) > 1e-3  # the check is not vacuous
    torch.testing.assert_close(z.grad, fd, rtol=1e-5, atol=1e-7)


def test_bad_latent_dim_names_argument(sphere_space):
    z = sphere_points(2)
    with pytest.raises(ValueError, match="base_point"):
        C.riemann_tensor(sphere_space, torch.zeros(3, dtype=F64))
    with pytest.raises(ValueError, match="base_point"):
        C.scalar_curvature(sphere_space, torch.zeros(4, 3, dtype=F64))
    with pytest.raises(ValueError, match="tangent_vec_b"):
        C.sectional_curvature(sphere_space, z, torch.zeros(2, 3, dtype=F64), z)
    with pytest.raises(ValueError, match="tangent_vec_c"):
        C.curvature(sphere_space, z, z, torch.zeros(1), z)


def test_chunked_computation_matches():
    decoder = make_mlp([3, 8, 6], dtype=F64, seed=2)
    whole = GeneratedManifold(decoder, 3)
    chunked = GeneratedManifold(decoder, 3, chunk_size=2)
    z = _randn(5, 3, seed=27)
    a, b, c = _randn(3, 5, 3, seed=28).unbind(0)
    torch.testing.assert_close(
        C.curvature(chunked, a, b, c, z), C.curvature(whole, a, b, c, z), atol=1e-12, rtol=0
    )
    torch.testing.assert_close(
        C.sectional_curvature(chunked, a, b, z),
        C.sectional_curvature(whole, a, b, z),
        atol=1e-12,
        rtol=0,
    )
    torch.testing.assert_close(
        C.riemann_tensor(chunked, z), C.riemann_tensor(whole, z), atol=1e-12, rtol=0
    )


def test_metric_methods_use_the_gauss_equation(sphere_space):
    """The metric's curvature methods are the exact ones (sphere r = 2)."""
    from conftest import sphere_points

    z = sphere_points(4, seed=21)
    metric = sphere_space.metric
    e1 = torch.tensor([1.0, 0.0], dtype=torch.float64)
    e2 = torch.tensor([0.0, 1.0], dtype=torch.float64)
    torch.testing.assert_close(
        metric.sectional_curvature(e1, e2, z), torch.full((4,), 0.25, dtype=torch.float64),
        atol=1e-10, rtol=0,
    )
    torch.testing.assert_close(
        metric.scalar_curvature(z), torch.full((4,), 0.5, dtype=torch.float64), atol=1e-10, rtol=0
    )
    torch.testing.assert_close(
        metric.ricci_tensor(z), 0.25 * metric.metric_matrix(z), atol=1e-10, rtol=0
    )
    assert metric.riemann_tensor(z).shape == (4, 2, 2, 2, 2)
    assert metric.covariant_riemann_tensor(z).shape == (4, 2, 2, 2, 2)
    assert metric.curvature(e1, e2, e2, z).shape == (4, 2)
    torch.testing.assert_close(
        metric.mean_curvature_vector(z).norm(dim=-1), torch.full((4,), 1.0, dtype=torch.float64),
        atol=1e-10, rtol=0,
    )
    assert metric.second_fundamental_form(z).shape == (4, 3, 2, 2)
