"""Parallel transport along latent paths and analogies."""

import math

import pytest
import torch
from conftest import sphere_points
from geomstats.geometry.hypersphere import Hypersphere

from geomstats_gen.transport import analogy, parallel_transport, transport_along_path

F64 = torch.float64
RADIUS = 2.0
THETA0 = math.pi / 4


def _pairs():
    return sphere_points(3, seed=0), sphere_points(3, seed=1)


def _vectors():
    gen = torch.Generator().manual_seed(7)
    return torch.randn(2, 3, 2, generator=gen, dtype=F64)


@pytest.mark.parametrize("method", ["ode", "projection"])
def test_norm_preserved_along_geodesic(sphere_space, method):
    start, end = _pairs()
    vecs = _vectors()  # [2, 3, 2]: two vectors at each of three points
    metric = sphere_space.metric
    out = parallel_transport(sphere_space, vecs, start, end_point=end, method=method, n_steps=32)
    assert out.shape == vecs.shape and out.dtype == F64
    # With `end_point`, the "ode" result sits at Exp(log), which the discrete
    # log solver places within ~1e-7 of `end`: the norm at `end` agrees to that.
    atol = 1e-8 if method == "projection" else 1e-6
    assert torch.allclose(metric.norm(out, end), metric.norm(vecs, start), atol=atol, rtol=0)
    if method == "ode":
        # Along t -> Exp(t direction) the norm is kept to the RK4 accuracy.
        direction = metric.log(end, start)
        end = metric.exp(direction, start)
        out = parallel_transport(sphere_space, vecs, start, direction=direction, n_steps=128)
        assert torch.allclose(metric.norm(out, end), metric.norm(vecs, start), atol=1e-8, rtol=0)
        before = metric.inner_product(vecs[0], vecs[1], start)
        after = metric.inner_product(out[0], out[1], end)
        assert torch.allclose(after, before, atol=1e-6, rtol=0)


def test_ode_transport_matches_hypersphere(sphere_space):
    start, end = _pairs()
    vecs = _vectors()[0]
    sphere = Hypersphere(2)
    x_start = sphere_space.immersion(start) / RADIUS
    x_end = sphere_space.immersion(end) / RADIUS
    pushed = sphere_space.tangent_immersion(vecs, start) / RADIUS
    expected = sphere.metric.parallel_transport(pushed, x_start, end_point=x_end)

    out = parallel_transport(sphere_space, vecs, start, end_point=end, n_steps=32)
    got = sphere_space.tangent_immersion(out, end) / RADIUS
    assert torch.allclose(got, expected, atol=1e-6, rtol=0)

    # Along t -> Exp(t direction): the same transport, to the ODE's accuracy.
    direction = sphere_space.metric.log(end, start)
    out_dir = parallel_transport(sphere_space, vecs, start, direction=direction, n_steps=32)
    got_dir = sphere_space.tangent_immersion(out_dir, end) / RADIUS
    assert torch.allclose(got_dir, expected, atol=1e-6, rtol=0)


def _holonomy_error(space, n_segments, method):
    phi = torch.linspace(0.0, 2 * math.pi, n_segments + 1, dtype=F64)
    path = torch.stack([torch.full_like(phi, THETA0), phi], dim=-1)
    e_theta = torch.tensor([1.0, 0.0], dtype=F64)
    out = transport_along_path(space, e_theta, path, method=method)
    # Components in the orthonormal frame (e_theta / r, e_phi / (r sin theta0)).
    angle = math.atan2(RADIUS * math.sin(THETA0) * float(out[1]), RADIUS * float(out[0]))
    expected = 2 * math.pi * (1 - math.cos(THETA0))
    return abs(math.remainder(angle - expected, 2 * math.pi))


@pytest.mark.parametrize(
    "method, low, high, tol64",
    [("projection", 0.7, 1.3, 0.03), ("ode", 1.8, 5.0, 1e-5)],
)
def test_holonomy_of_latitude_converges(sphere_space, method, low, high, tol64):
    errors = [_holonomy_error(sphere_space, n, method) for n in (16, 32, 64)]
    orders = [math.log2(errors[i] / errors[i + 1]) for i in range(2)]
    assert errors[-1] < tol64
    assert all(low < order < high for order in orders), (errors, orders)


@pytest.mark.parametrize("method", ["ode", "projection"])
def test_identity_on_linear_decoder(linear_space, method):
    gen = torch.Generator().manual_seed(2)
    path = torch.randn(4, 6, 3, generator=gen, dtype=F64)
    vecs = torch.randn(4, 3, generator=gen, dtype=F64)
    out = transport_along_path(linear_space, vecs, path, method=method)
    assert torch.allclose(out, vecs, atol=1e-12, rtol=0)
    out = parallel_transport(
        linear_space, vecs, path[:, 0], end_point=path[:, -1], method=method, n_steps=4
    )
    assert torch.allclose(out, vecs, atol=1e-12, rtol=0)
    out = parallel_transport(
        linear_space, vecs, path[:, 0], direction=path[:, 1], method=method, n_steps=4
    )
    assert torch.allclose(out, vecs, atol=1e-12, rtol=0)


def test_single_node_path_and_dtype(sphere_space):
    point = sphere_points(1, seed=3)
    vec = torch.tensor([0.2, -0.1], dtype=torch.float32)
    out = transport_along_path(sphere_space, vec, point, method="ode")
    assert out.dtype == F64 and torch.allclose(out, vec.to(F64).expand(1, 2))


def test_analogy_linear_decoder(linear_space):
    gen = torch.Generator().manual_seed(5)
    a, b, c = torch.randn(3, 4, 3, generator=gen, dtype=F64)
    linear = analogy(linear_space, a, b, c, method="linear")
    assert torch.allclose(linear, c + b - a, atol=0, rtol=0)
    geodesic = analogy(linear_space, a, b, c)
    assert geodesic.shape == (4, 3)
    assert torch.allclose(geodesic, linear, atol=1e-8, rtol=0)


def test_analogy_sphere_matches_closed_form(sphere_space):
    a, b, c = sphere_points(2, seed=10), sphere_points(2, seed=11), sphere_points(2, seed=12)
    # Keep the displacement short so that D stays inside the chart.
    b = a + 0.3 * (b - a)
    sphere = Hypersphere(2)
    xa, xb, xc = (sphere_space.immersion(p) / RADIUS for p in (a, b, c))
    log_a = sphere.metric.log(xb, xa)
    moved = sphere.metric.parallel_transport(log_a, xa, end_point=xc)
    expected = sphere.metric.exp(moved, xc)
    point_d = analogy(sphere_space, a, b, c)
    assert point_d.shape == (2, 2)
    got = sphere_space.immersion(point_d) / RADIUS
    assert torch.allclose(got, expected, atol=1e-5, rtol=0)


def test_bad_input(sphere_space):
    point = sphere_points(1)[0]
    vec = torch.tensor([0.1, 0.2], dtype=F64)
    with pytest.raises(ValueError, match="`direction` and `end_point`"):
        parallel_transport(sphere_space, vec, point, direction=vec, end_point=point)
    with pytest.raises(ValueError, match="`direction` and `end_point`"):
        parallel_transport(sphere_space, vec, point)
    with pytest.raises(ValueError, match="`tangent_vec`"):
        parallel_transport(sphere_space, torch.zeros(3, dtype=F64), point, direction=vec)
    with pytest.raises(ValueError, match="`end_point`"):
        parallel_transport(sphere_space, vec, point, end_point=torch.zeros(3, dtype=F64))
    with pytest.raises(ValueError, match="`direction`"):
        parallel_transport(sphere_space, vec, point, direction=torch.zeros(3, dtype=F64))
    with pytest.raises(ValueError, match="`path`"):
        transport_along_path(sphere_space, vec, torch.zeros(4, 3, dtype=F64))
    with pytest.raises(ValueError, match="`path`"):
        transport_along_path(sphere_space, vec, point)
    with pytest.raises(ValueError, match="`method`"):
        transport_along_path(sphere_space, vec, point[None], method="schild")
    with pytest.raises(ValueError, match="`n_steps`"):
        parallel_transport(sphere_space, vec, point, direction=vec, n_steps=0)
    with pytest.raises(ValueError, match="`point_b`"):
        analogy(sphere_space, point, torch.zeros(3, dtype=F64), point)
    with pytest.raises(ValueError, match="`method`"):
        analogy(sphere_space, point, point, point, method="vector")
    with pytest.raises(ValueError, match="`tangent_vec`"):
        transport_along_path(
            sphere_space, torch.zeros(2, 3, dtype=F64), torch.zeros(3, 2, dtype=F64)
        )


def test_metric_parallel_transport_is_wired():
    """``space.metric.parallel_transport`` (Geomstats' name) preserves the norm."""
    from conftest import sphere_points

    import geomstats_gen

    space = geomstats_gen.GeneratedManifold(geomstats_gen.SphereChart(2.0), 2)
    a, b = sphere_points(3, seed=31), sphere_points(3, seed=32)
    vec = torch.tensor([0.3, -0.2], dtype=torch.float64).expand(3, 2)
    moved = space.metric.parallel_transport(vec, a, end_point=b)
    assert moved.shape == (3, 2)
    torch.testing.assert_close(
        space.metric.norm(moved, b), space.metric.norm(vec, a), atol=1e-6, rtol=0
    )
    projected = space.metric.parallel_transport(vec, a, end_point=b, method="projection")
    torch.testing.assert_close(projected, moved, atol=5e-2, rtol=0)  # first order
    # C = A: the transport is along a point, so D = Exp_A(Log_A B) = B; this
    # runs the log, the transport and the exp (a wrong one of them fails it)
    same = geomstats_gen.analogy(space, a, b, a)
    torch.testing.assert_close(same, b, atol=1e-6, rtol=0)
    c = sphere_points(3, seed=33)
    linear = geomstats_gen.analogy(space, a, b, c, method="linear")
    torch.testing.assert_close(linear, c + b - a, atol=0, rtol=0)
