"""Log, exp, distances and geodesics against exact answers."""

import math

import pytest
import torch

import known_geometry as known
from conftest import F64, sphere_points
from geomstats.geometry.hypersphere import Hypersphere

from geomstats_gen import GeneratedManifold, SphereChart, TorusChart
from geomstats_gen.core.linalg import pullback_solve
from geomstats_gen.geodesics import ConvergenceWarning, block_tridiagonal_solve

RADIUS = 2.0


@pytest.fixture(scope="module")
def sphere():
    return GeneratedManifold(SphereChart(RADIUS), 2)


@pytest.fixture(scope="module")
def pairs():
    return sphere_points(32, seed=11), sphere_points(32, seed=12)


sphere_distance = known.sphere_distance  # r arccos(<g(a), g(b)> / r^2), r = RADIUS


def sphere_log(space, a, b):
    """Closed-form log of the round sphere, pulled back through the chart."""
    unit = Hypersphere(2)
    ga, gb = space.immersion(a) / RADIUS, space.immersion(b) / RADIUS
    ambient = unit.metric.log(gb, ga) * RADIUS
    return pullback_solve(space.jacobian_immersion(a), ambient)


# ----------------------------------------------------------------------
# Sphere chart: exact answers
# ----------------------------------------------------------------------
def test_sphere_distances_match_closed_form(sphere, pairs):
    a, b = pairs
    dist = sphere.metric.dist(a, b)
    exact = sphere_distance(sphere, a, b)
    assert exact.max() > 3.0  # some pairs are far apart: the chart is curved there
    torch.testing.assert_close(dist, exact, rtol=1e-6, atol=0)


def test_sphere_chord_length_alone_is_not_accurate(sphere, pairs):
    """Without extrapolation the discrete length is off by O(1/T^2)."""
    a, b = pairs
    result = sphere.metric.connecting_geodesic(b, a)
    exact = sphere_distance(sphere, a, b)
    rel_chord = ((result.chord_length - exact) / exact).abs().max()
    rel = ((result.length - exact) / exact).abs().max()
    assert rel_chord > 1e-5
    assert rel < rel_chord / 100
    assert bool(result.converged.all())
    assert int(result.iterations.max()) <= 15  # Newton, not first order


def test_sphere_log_matches_closed_form(sphere, pairs):
    a, b = pairs
    torch.testing.assert_close(sphere.metric.log(b, a), sphere_log(sphere, a, b), atol=1e-6, rtol=0)


def test_sphere_exp_matches_closed_form(sphere, pairs):
    a = pairs[0][:8]
    gen = torch.Generator().manual_seed(13)
    vec = 0.5 * torch.randn(8, 2, dtype=F64, generator=gen)
    unit = Hypersphere(2)
    expected = unit.metric.exp(
        sphere.tangent_immersion(vec, a) / RADIUS, sphere.immersion(a) / RADIUS
    ) * RADIUS
    for method in ("dopri5", "rk4"):
        sphere.metric.exp_solver.method = method
        try:
            end = sphere.metric.exp(vec, a)
        finally:
            sphere.metric.exp_solver.method = "dopri5"
        torch.testing.assert_close(sphere.immersion(end), expected, atol=1e-8, rtol=0)


def test_exp_after_log_returns_the_point(sphere, pairs):
    a, b = pairs[0][:12], pairs[1][:12]
    torch.testing.assert_close(sphere.metric.exp(sphere.metric.log(b, a), a), b, atol=1e-6, rtol=0)


def test_distance_is_symmetric(sphere, pairs):
    a, b = pairs
    torch.testing.assert_close(sphere.metric.dist(a, b), sphere.metric.dist(b, a), atol=1e-8, rtol=0)


def test_log_norm_is_the_distance(sphere, pairs):
    a, b = pairs
    log = sphere.metric.log(b, a)
    torch.testing.assert_close(
        sphere.metric.norm(log, a), sphere.metric.dist(a, b), atol=1e-12, rtol=1e-12
    )


def test_extrapolation_has_fourth_order_error(sphere, pairs):
    """Doubling T divides the extrapolated length error by about 16."""
    a, b = pairs
    exact = sphere_distance(sphere, a, b)
    space = GeneratedManifold(SphereChart(RADIUS), 2)
    errors = []
    for n_nodes in (4, 8):
        space.metric.log_solver.n_nodes = n_nodes
        errors.append(float(((space.metric.dist(a, b) - exact) / exact).abs().max()))
    assert 10 < errors[0] / errors[1] < 25


def test_projection_exp_is_first_order(sphere, pairs):
    a = pairs[0][:8]
    vec = 0.3 * torch.ones(8, 2, dtype=F64)
    reference = sphere.metric.exp(vec, a)
    space = GeneratedManifold(SphereChart(RADIUS), 2, )
    space.metric.exp_solver.method = "projection"
    errors = []
    for n_steps in (20, 40):
        space.metric.exp_solver.n_steps = n_steps
        errors.append(float((space.metric.exp(vec, a) - reference).abs().max()))
    assert errors[0] > 1e-4
    assert 1.6 < errors[0] / errors[1] < 2.4


# ----------------------------------------------------------------------
# Linear decoder: everything is exact
# ----------------------------------------------------------------------
def test_linear_decoder_geodesics_are_exact(linear_space, linear_matrix):
    gen = torch.Generator().manual_seed(14)
    a = torch.randn(6, 3, dtype=F64, generator=gen)
    b = torch.randn(6, 3, dtype=F64, generator=gen)
    metric = linear_space.metric
    torch.testing.assert_close(metric.log(b, a), b - a, atol=1e-12, rtol=0)
    torch.testing.assert_close(
        metric.dist(a, b), ((b - a) @ linear_matrix.T).norm(dim=-1), atol=1e-12, rtol=0
    )
    torch.testing.assert_close(metric.exp(b - a, a), b, atol=1e-12, rtol=0)
    path = metric.geodesic(a[0], end_point=b[0])(torch.linspace(0, 1, 5, dtype=F64))
    expected = a[0] + torch.linspace(0, 1, 5, dtype=F64)[:, None] * (b[0] - a[0])
    torch.testing.assert_close(path, expected, atol=1e-12, rtol=0)


# ----------------------------------------------------------------------
# Torus: meridians and the outer equator are geodesics
# ----------------------------------------------------------------------
def test_torus_known_geodesics():
    space = GeneratedManifold(TorusChart(2.0, 1.0), 2)
    start = torch.tensor([[0.3, -0.4], [0.2, 0.0]], dtype=F64)
    end = torch.tensor([[0.3, 0.9], [1.1, 0.0]], dtype=F64)
    # meridian u = 0.3: length r |dv| = 1.3; outer equator v = 0: (R + r) |du| = 2.7
    # (both circles: the extrapolated length is off by O(T^-4), about 1e-8 here)
    torch.testing.assert_close(
        space.metric.dist(start, end), torch.tensor([1.3, 2.7], dtype=F64), atol=0, rtol=1e-7
    )
    torch.testing.assert_close(space.metric.log(end, start), end - start, atol=1e-7, rtol=0)


def test_torus_exp_log_round_trip_and_symmetry():
    space = GeneratedManifold(TorusChart(2.0, 1.0), 2)
    gen = torch.Generator().manual_seed(15)
    a = (torch.rand(8, 2, dtype=F64, generator=gen) - 0.5) * 2.0
    b = (torch.rand(8, 2, dtype=F64, generator=gen) - 0.5) * 2.0
    log = space.metric.log(b, a)
    # geodesics up to 4.8 long on a surface of curvature up to 1: the log's
    # O(T^-4) error is about 1e-5 with the default 16 nodes (4e-7 with 32)
    torch.testing.assert_close(space.metric.exp(log, a), b, atol=2e-5, rtol=0)
    torch.testing.assert_close(space.metric.dist(a, b), space.metric.dist(b, a), atol=1e-8, rtol=0)
    # geodesics are no longer than the latent straight line's decoded length
    t = torch.linspace(0, 1, 2001, dtype=F64)
    line = a[:, None] + t[None, :, None] * (b - a)[:, None]
    decoded = space.immersion(line)
    line_len = (decoded[:, 1:] - decoded[:, :-1]).norm(dim=-1).sum(-1)
    assert bool((space.metric.dist(a, b) <= line_len + 1e-9).all())


# ----------------------------------------------------------------------
# Shapes, geodesic curves, pairwise distances
# ----------------------------------------------------------------------
def test_broadcasting_one_base_point_many_points(sphere, pairs):
    a, b = pairs
    logs = sphere.metric.log(b[:5], a[0])
    assert logs.shape == (5, 2)
    torch.testing.assert_close(logs, sphere.metric.log(b[:5], a[0].expand(5, 2)), atol=1e-12, rtol=0)


def test_identical_points_give_exactly_zero(sphere, pairs):
    a, _ = pairs
    assert bool((sphere.metric.log(a, a) == 0).all())
    assert bool((sphere.metric.dist(a, a) == 0).all())
    result = sphere.metric.connecting_geodesic(a[:3], a[:3])
    assert bool(result.converged.all())


def test_geodesic_curve_shapes_and_end_points(sphere, pairs):
    a, b = pairs
    t = torch.linspace(0, 1, 7, dtype=F64)
    path = sphere.metric.geodesic(a[0], end_point=b[0])
    pts = path(t)
    assert pts.shape == (7, 2)
    torch.testing.assert_close(pts[0], a[0], atol=1e-12, rtol=0)
    torch.testing.assert_close(pts[-1], b[0], atol=1e-6, rtol=0)
    batch = sphere.metric.geodesic(a[:3], end_point=b[:3])(t)
    assert batch.shape == (3, 7, 2)
    torch.testing.assert_close(batch[:, -1], b[:3], atol=1e-6, rtol=0)
    ivp = sphere.metric.geodesic(a[0], initial_tangent_vec=torch.tensor([0.2, 0.1], dtype=F64))
    assert ivp(0.5).shape == (1, 2)
    # points along a geodesic are equally spaced in distance
    d = sphere.metric.dist(pts[:-1], pts[1:])
    torch.testing.assert_close(d, d.mean().expand(6), atol=1e-6, rtol=0)


def test_dist_pairwise_and_closest_neighbor(sphere, pairs):
    a, _ = pairs
    points = a[:6]
    mat = sphere.metric.dist_pairwise(points)
    assert mat.shape == (6, 6)
    torch.testing.assert_close(mat, mat.T, atol=0, rtol=0)
    assert bool((mat.diagonal() == 0).all())
    torch.testing.assert_close(mat[1, 4], sphere_distance(sphere, points[1], points[4]), rtol=1e-6, atol=0)
    idx = sphere.metric.closest_neighbor_index(points[:2] + 0.01, points)
    assert idx.tolist() == [0, 1]
    squared = sphere.metric.squared_dist(points[0], points[1])
    torch.testing.assert_close(squared, mat[0, 1] ** 2, atol=1e-12, rtol=0)


# ----------------------------------------------------------------------
# Diagnostics and failure modes
# ----------------------------------------------------------------------
def test_non_convergence_warns_and_flags(pairs):
    a, b = pairs
    space = GeneratedManifold(SphereChart(RADIUS), 2, )
    space.metric.log_solver.max_iter = 1
    space.metric.log_solver.max_nodes = 32  # the three minimum resolutions only
    space.metric.log_solver.tol = 1e-30  # one step never settles a path
    with pytest.warns(ConvergenceWarning, match=r"did not converge .*\[0, 1, 2"):
        result = space.metric.connecting_geodesic(b[:4], a[:4])
    assert not bool(result.converged.any())
    assert result.iterations.tolist() == [3, 3, 3, 3]  # one per resolution
    assert result.n_segments.tolist() == [32] * 4


def test_adaptive_exp_step_cap_warns(sphere, pairs):
    a, _ = pairs
    space = GeneratedManifold(SphereChart(RADIUS), 2)
    space.metric.exp_solver.max_steps = 2
    with pytest.warns(ConvergenceWarning, match="reached max_steps=2"):
        space.metric.exp(torch.full((3, 2), 0.8, dtype=F64), a[:3])


def test_bad_solver_settings_and_inputs(sphere, pairs):
    a, b = pairs
    space = GeneratedManifold(SphereChart(RADIUS), 2)
    space.metric.log_solver.n_nodes = 1
    with pytest.raises(ValueError, match="`n_nodes` must be an integer >= 2"):
        space.metric.log(b, a)
    space.metric.exp_solver.method = "euler"
    with pytest.raises(ValueError, match="`method` must be"):
        space.metric.exp(b, a)
    with pytest.raises(ValueError, match="`point` contains non-finite"):
        sphere.metric.log(torch.tensor([math.nan, 0.0], dtype=F64), a[0])
    with pytest.raises(ValueError, match="do not broadcast"):
        sphere.metric.log(b[:3], a[:4])
    with pytest.raises(ValueError, match=r"`neighbors` must have shape \[n_neighbors, 2\]"):
        sphere.metric.closest_neighbor_index(a[0], a[0])


def test_float32_decoder_geodesics(pairs):
    """A float32 chart: distances in float32 accuracy, returned in float64."""
    space = GeneratedManifold(known.Chart32(RADIUS), 2)
    assert space.work_dtype == torch.float32
    a, b = pairs
    dist = space.metric.dist(a[:8], b[:8])
    assert dist.dtype == F64
    torch.testing.assert_close(dist, sphere_distance(space, a[:8], b[:8]), rtol=1e-4, atol=0)


def test_block_tridiagonal_solver_matches_dense():
    gen = torch.Generator().manual_seed(16)
    p, n, d = 3, 5, 2
    dense = torch.randn(p, n * d, n * d, dtype=F64, generator=gen)
    # symmetric positive definite and block tridiagonal
    mask = torch.zeros(n * d, n * d, dtype=F64)
    for i in range(n):
        for j in range(max(0, i - 1), min(n, i + 2)):
            mask[i * d : (i + 1) * d, j * d : (j + 1) * d] = 1
    dense = dense * mask
    dense = dense @ dense.transpose(-1, -2) * mask + 4 * n * torch.eye(n * d, dtype=F64)
    diag = torch.stack([dense[:, i * d : (i + 1) * d, i * d : (i + 1) * d] for i in range(n)], 1)
    off = torch.stack(
        [dense[:, i * d : (i + 1) * d, (i + 1) * d : (i + 2) * d] for i in range(n - 1)], 1
    )
    rhs = torch.randn(p, n, d, dtype=F64, generator=gen)
    x, ok = block_tridiagonal_solve(diag, off, rhs)
    expected = torch.linalg.solve(dense, rhs.reshape(p, n * d)).reshape(p, n, d)
    assert bool(ok.all())
    torch.testing.assert_close(x, expected, atol=1e-12, rtol=0)
    diag[1, 2] = -diag[1, 2]
    _, ok = block_tridiagonal_solve(diag, off, rhs)
    assert ok.tolist() == [True, False, True]


@pytest.mark.parametrize("n", [1, 2, 6, 7, 8, 20])
def test_block_tridiagonal_solvers_agree_with_dense(n):
    from geomstats_gen.core import linalg

    gen = torch.Generator().manual_seed(17 + n)
    p, d = 3, 3
    jac = torch.randn(p, n, 5, d, dtype=F64, generator=gen)
    diag = 2 * jac.transpose(-1, -2) @ jac + torch.eye(d, dtype=F64)
    off = -(jac[:, :-1].transpose(-1, -2) @ jac[:, 1:])
    rhs = torch.randn(p, n, d, dtype=F64, generator=gen)
    dense_matrix = torch.zeros(p, n * d, n * d, dtype=F64)
    for i in range(n):
        dense_matrix[:, i * d : (i + 1) * d, i * d : (i + 1) * d] = diag[:, i]
        if i < n - 1:
            dense_matrix[:, i * d : (i + 1) * d, (i + 1) * d : (i + 2) * d] = off[:, i]
            dense_matrix[:, (i + 1) * d : (i + 2) * d, i * d : (i + 1) * d] = off[:, i].mT
    expected = torch.linalg.solve(dense_matrix, rhs.reshape(p, n * d)).reshape(p, n, d)
    for solver in (
        linalg._dense_block_solve,
        linalg._cyclic_reduction_solve,
        linalg._thomas_solve,
        block_tridiagonal_solve,
    ):
        x, ok = solver(diag, off, rhs)
        assert bool(ok.all()), solver.__name__
        torch.testing.assert_close(x, expected, atol=1e-10, rtol=1e-10)


def test_block_tridiagonal_solvers_flag_indefinite_systems():
    from geomstats_gen.core import linalg

    p, n, d = 2, 7, 2
    diag = torch.eye(d, dtype=F64).expand(p, n, d, d).clone()
    diag[1, 4] = -torch.eye(d, dtype=F64)  # system 1 is indefinite
    off = torch.zeros(p, n - 1, d, d, dtype=F64)
    rhs = torch.ones(p, n, d, dtype=F64)
    for solver in (
        linalg._dense_block_solve,
        linalg._cyclic_reduction_solve,
        linalg._thomas_solve,
    ):
        x, ok = solver(diag, off, rhs)
        assert ok.tolist() == [True, False], solver.__name__
        torch.testing.assert_close(x[0], rhs[0])


@pytest.mark.parametrize("method", ["newton", "gauss-newton", "auto"])
def test_log_methods_agree_and_newton_converges_fast(pairs, method):
    a, b = pairs[0][:8], pairs[1][:8]
    space = GeneratedManifold(SphereChart(RADIUS), 2)
    space.metric.log_solver.method = method
    result = space.metric.connecting_geodesic(b, a)
    torch.testing.assert_close(result.length, sphere_distance(space, a, b), rtol=1e-6, atol=0)
    assert bool(result.converged.all())
    # Gauss-Newton converges linearly (rate about K L^2 / pi^2 here), Newton
    # quadratically; "auto" switches slow paths to Newton.
    max_iterations = {"newton": 12, "auto": 14, "gauss-newton": 60}[method]
    assert int(result.iterations.max()) <= max_iterations
    if method == "gauss-newton":
        assert int(result.iterations.max()) > 14


def test_bad_log_method(pairs):
    space = GeneratedManifold(SphereChart(RADIUS), 2)
    space.metric.log_solver.method = "bfgs"
    with pytest.raises(ValueError, match="`method` must be one of 'auto', 'newton', 'gauss-newton'"):
        space.metric.log(pairs[1][0], pairs[0][0])


def test_squared_dist_is_differentiable(sphere, pairs):
    """grad_a d^2(a, b) = -2 G(a) Log_a(b), checked by central differences."""
    a, b = pairs[0][:3].clone(), pairs[1][:3].clone()
    a.requires_grad_(True)
    b.requires_grad_(True)
    sq = sphere.metric.squared_dist(a, b)
    grad_a, grad_b = torch.autograd.grad(sq.sum(), (a, b))
    eps = 1e-5
    for i in range(2):
        step = torch.zeros(2, dtype=F64)
        step[i] = eps
        with torch.no_grad():
            fd_a = (sphere.metric.squared_dist(a + step, b) - sphere.metric.squared_dist(a - step, b)) / (2 * eps)
            fd_b = (sphere.metric.squared_dist(a, b + step) - sphere.metric.squared_dist(a, b - step)) / (2 * eps)
        torch.testing.assert_close(grad_a[:, i], fd_a, atol=1e-6, rtol=1e-6)
        torch.testing.assert_close(grad_b[:, i], fd_b, atol=1e-6, rtol=1e-6)


def test_exp_is_differentiable_including_zero_vectors(sphere, pairs):
    """d Exp_z(v): identity in z and in v at v = 0, central differences elsewhere.

    The adaptive step sizes are constants of the error control; a zero
    vector (zero local error) once gave NaN gradients through them, e.g. at
    the ``X = 0`` sample of ``GeodesicRegression``.
    """
    z = pairs[0][:4].clone()
    v = 0.3 * (pairs[1][:4] - pairs[0][:4])
    v[0] = 0.0
    z.requires_grad_(True)
    v.requires_grad_(True)
    end = sphere.metric.exp(v, z)
    rows = [torch.autograd.grad(end[:, i].sum(), (z, v), retain_graph=True) for i in range(2)]
    jac_z = torch.stack([r[0] for r in rows], dim=1)  # [n, 2 (out), 2 (in)]
    jac_v = torch.stack([r[1] for r in rows], dim=1)
    assert bool(torch.isfinite(jac_z).all() and torch.isfinite(jac_v).all())
    eye = torch.eye(2, dtype=F64)
    torch.testing.assert_close(jac_z[0], eye, atol=1e-12, rtol=0)
    torch.testing.assert_close(jac_v[0], eye, atol=1e-12, rtol=0)
    eps = 1e-6
    with torch.no_grad():
        for j in range(2):
            step = torch.zeros(2, dtype=F64)
            step[j] = eps
            fd_z = (sphere.metric.exp(v, z + step) - sphere.metric.exp(v, z - step)) / (2 * eps)
            fd_v = (sphere.metric.exp(v + step, z) - sphere.metric.exp(v - step, z)) / (2 * eps)
            torch.testing.assert_close(jac_z[1:, :, j], fd_z[1:], atol=1e-6, rtol=1e-6)
            torch.testing.assert_close(jac_v[1:, :, j], fd_v[1:], atol=1e-6, rtol=1e-6)


@pytest.mark.slow  # about 50 s: Geomstats' optimiser makes many exp/log calls
def test_geodesic_regression_riemannian_runs(linear_space):
    """Geomstats' GeodesicRegression(method="riemannian") differentiates
    squared_dist and exp; on a linear decoder it recovers the line."""
    from geomstats.learning.geodesic_regression import GeodesicRegression

    x = torch.linspace(-1, 1, 6, dtype=F64)
    intercept = torch.tensor([0.5, -0.2, 0.1], dtype=F64)
    coef = torch.tensor([0.3, 0.4, -0.1], dtype=F64)
    y = intercept + x[:, None] * coef
    torch.manual_seed(0)
    estimator = GeodesicRegression(linear_space, method="riemannian", initialization="random")
    estimator.fit(x, y)
    torch.testing.assert_close(estimator.intercept_, intercept, atol=5e-3, rtol=0)
    torch.testing.assert_close(estimator.coef_, coef, atol=5e-3, rtol=0)


def test_exp_stops_geodesics_that_leave_the_domain():
    """The geodesic that stays in the ball of ``domain_radius`` ends where it
    would without one; the one that leaves it stops at the first step past
    the boundary (short of its free end), with a warning, while the batch
    goes on."""
    from geomstats_gen import OutsideDomainWarning

    base = torch.tensor([[1.5, 0.0], [1.5, 0.0]], dtype=F64)
    vecs = torch.tensor([[0.1, 0.2], [0.0, 2.5]], dtype=F64)
    free = GeneratedManifold(SphereChart(RADIUS), 2).metric.exp(vecs, base)
    space = GeneratedManifold(SphereChart(RADIUS), 2, domain_radius=1.8)
    with pytest.warns(OutsideDomainWarning, match="1 of 2 geodesics left"):
        end = space.metric.exp(vecs, base)
    torch.testing.assert_close(end[0], free[0], atol=1e-9, rtol=0)
    assert float(end[1].norm()) > 1.8 > float(end[0].norm())
    assert float((end[1] - base[1]).norm()) < 0.9 * float((free[1] - base[1]).norm())
