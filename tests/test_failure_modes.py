"""Failure modes with a clear outcome (see docs/failure-modes.md).

Each test here is a row (or several) of the table in docs/failure-modes.md:
a decoder that is not an immersion, batches too large for memory, empty
batches, mixed devices, half-precision decoders, integer inputs, bad
arguments of every public entry point, bad model files, determinism.
"""

import math
import warnings

import geomstats_gen  # noqa: F401  (selects the pytorch backend first)
import numpy as np
import pytest
import torch

import known_geometry as known
from conftest import F64, sphere_points

from geomstats_gen import (
    GeneratedManifold,
    ImmersionWarning,
    LinearDecoder,
    SphereChart,
    TorusChart,
    analogy,
    make_mlp,
)
from geomstats_gen import curvature, datasets, measures, transport
from geomstats_gen.core import chunking
from geomstats_gen.core.checks import default_cond_limit, jacobian_condition
from geomstats_gen.geodesics import ConvergenceWarning

F32 = torch.float32


class Collapsed(torch.nn.Module):
    """``g(z) = (z0, z0, z0)``: rank 1 everywhere for a latent dimension 2."""

    def forward(self, z):
        return torch.stack([z[:, 0], z[:, 0], z[:, 0]], dim=-1)


class Fold(torch.nn.Module):
    """``g(z) = (z0^2, z1, 0)``: an immersion except on the line z0 = 0."""

    def forward(self, z):
        return torch.stack([z[:, 0] ** 2, z[:, 1], 0 * z[:, 0]], dim=-1)


def _sphere():
    return GeneratedManifold(SphereChart(2.0), 2)


# ----------------------------------------------------------------------
# A decoder that is not an immersion
# ----------------------------------------------------------------------
def test_condition_number_known_answers():
    jac = torch.zeros(3, 4, 2, dtype=F64)
    jac[0, 0, 0], jac[0, 1, 1] = 3.0, 0.5  # singular values 3 and 0.5
    jac[1, 0, 0] = jac[1, 1, 0] = 1.0  # rank 1
    cond = jacobian_condition(jac)  # jac[2] = 0: no direction at all
    assert cond[0].item() == pytest.approx(6.0, rel=1e-12)
    assert math.isinf(cond[1].item()) and math.isinf(cond[2].item())
    assert default_cond_limit(F64) == pytest.approx(6.71e6, rel=1e-3)
    assert default_cond_limit(F32) == pytest.approx(8.39e4, rel=1e-3)


@pytest.mark.parametrize(
    "call",
    [
        lambda s, p, q: s.metric.metric_matrix(p),
        lambda s, p, q: s.metric.cometric_matrix(p),
        lambda s, p, q: s.metric.christoffels(p),
        lambda s, p, q: s.metric.inner_product_derivative_matrix(p),
        lambda s, p, q: s.metric.log(q, p),
        lambda s, p, q: s.metric.dist(p, q),
        lambda s, p, q: s.metric.dist_pairwise(torch.cat([p, q])),
        lambda s, p, q: s.metric.connecting_geodesic(q, p).length,
        lambda s, p, q: s.metric.sectional_curvature(q - p, q + p, p),
        lambda s, p, q: s.metric.curvature(q - p, q + p, q, p),
        lambda s, p, q: s.metric.scalar_curvature(p),
        lambda s, p, q: s.metric.ricci_tensor(p),
        lambda s, p, q: s.metric.second_fundamental_form(p),
        lambda s, p, q: s.metric.mean_curvature_vector(p),
        lambda s, p, q: s.metric.parallel_transport(q, p, direction=0.1 * q),
        lambda s, p, q: s.metric.parallel_transport(q, p, end_point=q),
        # along the fold line z0 = 0 (crossing it: see the test below)
        lambda s, p, q: s.metric.exp(0.1 * q * torch.tensor([0.0, 1.0], dtype=F64), p),
    ],
    ids=[
        "metric_matrix", "cometric_matrix", "christoffels", "metric_derivative", "log",
        "dist", "dist_pairwise", "connecting_geodesic", "sectional", "curvature", "scalar",
        "ricci", "second_fundamental_form", "mean_curvature", "transport_direction",
        "transport_end_point", "exp",
    ],
)
@pytest.mark.parametrize("decoder", [Collapsed(), Fold()], ids=["collapsed", "fold"])
def test_rank_loss_warns_with_condition_number_and_no_nan(decoder, call):
    space = GeneratedManifold(decoder, 2)
    space.metric.exp_solver.method, space.metric.exp_solver.n_steps = "rk4", 10
    p = torch.tensor([[0.0, 0.3], [0.5, 0.2]], dtype=F64)  # Fold loses rank at p[0]
    q = torch.tensor([[0.4, -0.2], [0.9, 0.5]], dtype=F64)
    with pytest.warns(ImmersionWarning, match=r"condition number of its Jacobian reaches inf"):
        out = call(space, p, q)
    assert bool(torch.isfinite(out).all())


def test_rank_loss_warning_counts_points_and_reports_the_number():
    # singular values 1 and 1e-3: condition number 1e3, under the default
    # limit but over a limit of 100
    decoder = LinearDecoder(torch.tensor([[1.0, 0.0], [0.0, 1e-3], [0.0, 0.0]], dtype=F64))
    points = torch.zeros(4, 2, dtype=F64)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ImmersionWarning)
        GeneratedManifold(decoder, 2).metric.metric_matrix(points)
    strict = GeneratedManifold(decoder, 2, cond_limit=100)
    with pytest.warns(ImmersionWarning, match=r"4 of 4 points.*reaches 1e\+03 \(limit 100\)"):
        strict.metric.metric_matrix(points)
    off = GeneratedManifold(Collapsed(), 2, cond_limit=math.inf)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ImmersionWarning)
        off.metric.dist(points[:1], points[1:2] + 1)
    with pytest.raises(ValueError, match="`cond_limit` must be a number > 1"):
        GeneratedManifold(decoder, 2, cond_limit=0.5)


def test_rank_loss_values_are_the_pseudo_inverse_answers():
    """Collapsed decoder: the metric sees only z0, distances are |dz0| sqrt(3)."""
    space = GeneratedManifold(Collapsed(), 2)
    p = torch.tensor([[0.0, 0.3]], dtype=F64)
    q = torch.tensor([[0.4, -0.2]], dtype=F64)
    with pytest.warns(ImmersionWarning):
        assert space.metric.dist(p, q).item() == pytest.approx(0.4 * math.sqrt(3), rel=1e-9)
    with pytest.warns(ImmersionWarning):
        cometric = space.metric.cometric_matrix(p)[0]
    torch.testing.assert_close(cometric, torch.tensor([[1 / 3, 0.0], [0.0, 0.0]], dtype=F64))


def test_exp_through_a_fold_raises_instead_of_returning_nan():
    """Crossing the fold z0 = 0 the geodesic ODE is singular: a clear
    FloatingPointError, after the ImmersionWarning at the base point."""
    space = GeneratedManifold(Fold(), 2)
    base = torch.tensor([[0.0, 0.3]], dtype=F64)
    vec = torch.tensor([[0.4, -0.5]], dtype=F64)
    with pytest.warns(ImmersionWarning), pytest.raises(FloatingPointError, match="singular|blew up"):
        space.metric.exp(vec, base)
    space.metric.exp_solver.method = "rk4"
    with pytest.warns(ImmersionWarning), pytest.raises(FloatingPointError, match="blew up"):
        space.metric.exp(vec, base)


def test_curvature_of_a_rank_deficient_decoder_is_finite():
    space = GeneratedManifold(Fold(), 2)
    z = torch.tensor([[0.0, 0.1], [1.0, 0.1]], dtype=F64)
    u, v = torch.tensor([1.0, 0.0], dtype=F64), torch.tensor([0.0, 1.0], dtype=F64)
    with pytest.warns(ImmersionWarning, match="1 of 2 points"):
        k = space.metric.sectional_curvature(u, v, z)
    # the fold is an intrinsically flat surface (a parabolic cylinder)
    assert torch.equal(k, torch.zeros(2, dtype=F64))


# ----------------------------------------------------------------------
# Solvers that do not converge
# ----------------------------------------------------------------------
def test_non_convergence_warns_flags_and_stays_finite():
    space = GeneratedManifold(SphereChart(2.0), 2)
    space.metric.log_solver.max_iter = 1
    a, b = sphere_points(4, seed=1), sphere_points(4, seed=2)
    with pytest.warns(ConvergenceWarning, match=r"did not converge"):
        result = space.metric.connecting_geodesic(b, a)
    assert not bool(result.converged.all())
    assert bool(torch.isfinite(result.length).all()) and bool(torch.isfinite(result.log).all())
    space.metric.exp_solver.max_steps = 1
    with pytest.warns(ConvergenceWarning, match=r"max_steps=1"):
        end = space.metric.exp(result.log, a)
    assert bool(torch.isfinite(end).all())


# ----------------------------------------------------------------------
# Batches too large for memory: chunking with a documented bound
# ----------------------------------------------------------------------
def test_chunk_bound_is_documented_and_respected():
    assert chunking.chunk_size_for(10, max_elements=100) == 10
    assert chunking.chunk_size_for(1000, max_elements=100) == 1  # never 0
    space = GeneratedManifold(make_mlp([3, 8, 20], dtype=F64, seed=2), 3, max_elements=120)
    # a Jacobian chunk holds at most max_elements numbers: 120 // (20 * 3) = 2 points
    assert space.chart.chunk(space.embedding_dim * space.latent_dim) == 2
    calls = []
    decoder = space.decoder

    def counting(z):
        calls.append(z.shape[0])
        return decoder(z)

    tiny = GeneratedManifold(counting, 3, max_elements=120)
    tiny.jacobian_immersion(torch.zeros(7, 3, dtype=F64))
    # (the first call is the probe at construction); small Jacobians decode
    # d copies of a chunk's points at once: 2 points x 3 copies x 20 outputs
    assert max(calls[1:]) * 20 <= 120
    assert sum(calls[1:]) == 7 * 3


def test_tiny_chunks_give_the_same_results():
    decoder = make_mlp([3, 8, 20], dtype=F64, seed=2)
    big = GeneratedManifold(decoder, 3)
    small = GeneratedManifold(decoder, 3, max_elements=60)  # 1 point per chunk
    gen = torch.Generator().manual_seed(5)
    a = torch.randn(6, 3, dtype=F64, generator=gen)
    b = torch.randn(6, 3, dtype=F64, generator=gen)
    u = torch.randn(6, 3, dtype=F64, generator=gen)
    for name, call in [
        ("metric", lambda s: s.metric.metric_matrix(a)),
        ("christoffels", lambda s: s.metric.christoffels(a)),
        ("sectional", lambda s: s.metric.sectional_curvature(u, b, a)),
        ("scalar", lambda s: s.metric.scalar_curvature(a)),
        ("log", lambda s: s.metric.log(b, a)),  # pairs solved 1 at a time
        ("dist", lambda s: s.metric.dist(a, b)),
    ]:
        torch.testing.assert_close(call(small), call(big), atol=1e-12, rtol=1e-12, msg=name)


# ----------------------------------------------------------------------
# Empty batches: empty results of the right shape
# ----------------------------------------------------------------------
EMPTY_CALLS = {
    "immersion": (lambda s, e: s.immersion(e), (0, 3)),
    "jacobian_immersion": (lambda s, e: s.jacobian_immersion(e), (0, 3, 2)),
    "hessian_immersion": (lambda s, e: s.hessian_immersion(e), (0, 3, 2, 2)),
    "belongs": (lambda s, e: s.belongs(e), (0,)),
    "metric_matrix": (lambda s, e: s.metric.metric_matrix(e), (0, 2, 2)),
    "cometric_matrix": (lambda s, e: s.metric.cometric_matrix(e), (0, 2, 2)),
    "christoffels": (lambda s, e: s.metric.christoffels(e), (0, 2, 2, 2)),
    "inner_product": (lambda s, e: s.metric.inner_product(e, e, e), (0,)),
    "norm": (lambda s, e: s.metric.norm(e, e), (0,)),
    "log": (lambda s, e: s.metric.log(e, e), (0, 2)),
    "exp": (lambda s, e: s.metric.exp(e, e), (0, 2)),
    "dist": (lambda s, e: s.metric.dist(e, e), (0,)),
    "squared_dist": (lambda s, e: s.metric.squared_dist(e, e), (0,)),
    "dist_pairwise": (lambda s, e: s.metric.dist_pairwise(e), (0, 0)),
    "connecting_geodesic": (lambda s, e: s.metric.connecting_geodesic(e, e).log, (0, 2)),
    "geodesic": (lambda s, e: s.metric.geodesic(e, end_point=e)(torch.tensor([0.0, 1.0])), (0, 2, 2)),
    "closest_neighbor_index": (
        lambda s, e: s.metric.closest_neighbor_index(e, torch.ones(3, 2, dtype=F64)),
        (0,),
    ),
    "parallel_transport": (lambda s, e: s.metric.parallel_transport(e, e, end_point=e), (0, 2)),
    "transport_along_path": (
        lambda s, e: transport.transport_along_path(s, e, torch.zeros(0, 4, 2, dtype=F64)),
        (0, 2),
    ),
    "sectional_curvature": (lambda s, e: s.metric.sectional_curvature(e, e, e), (0,)),
    "curvature": (lambda s, e: s.metric.curvature(e, e, e, e), (0, 2)),
    "riemann_tensor": (lambda s, e: s.metric.riemann_tensor(e), (0, 2, 2, 2, 2)),
    "ricci_tensor": (lambda s, e: s.metric.ricci_tensor(e), (0, 2, 2)),
    "scalar_curvature": (lambda s, e: s.metric.scalar_curvature(e), (0,)),
    "analogy": (lambda s, e: analogy(s, e, e, e), (0, 2)),
    "geodesic_to_linear_ratio": (
        lambda s, e: measures.geodesic_to_linear_ratio(s, e, e).ratio,
        (0,),
    ),
    "curvature_statistics": (
        lambda s, e: measures.curvature_statistics(s, e, n_planes=3, random_state=0)["sectional"],
        (0, 3),
    ),
    "coordinate_plane_curvature": (
        lambda s, e: measures.coordinate_plane_curvature(s, e),
        (0, 2, 2),
    ),
}


@pytest.mark.parametrize("name", sorted(EMPTY_CALLS))
def test_empty_batches_give_empty_results(name):
    call, shape = EMPTY_CALLS[name]
    empty = torch.zeros(0, 2, dtype=F64)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning either
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        out = call(_sphere(), empty)
    assert tuple(out.shape) == shape


def test_empty_statistics_are_nan_and_random_point_needs_one():
    stats = measures.curvature_statistics(_sphere(), torch.zeros(0, 2, dtype=F64), random_state=0)
    assert math.isnan(float(stats["sectional_mean"])) and math.isnan(float(stats["scalar_max"]))
    with pytest.raises(ValueError, match="`n_samples` must be a positive integer, got 0"):
        _sphere().random_point(0)


# ----------------------------------------------------------------------
# Devices
# ----------------------------------------------------------------------
def test_points_move_to_the_decoder_device_and_results_come_back():
    """Checked on the 'meta' device (no data): the code path of a decoder
    on another device than the points."""
    decoder = make_mlp([2, 4, 3], dtype=F32)
    space = GeneratedManifold(decoder, 2)
    decoder.to("meta")  # moved after construction: placement is read live
    assert space.work_device == torch.device("meta") and space.work_dtype == F32
    points = torch.ones(5, 2, dtype=F64)
    (flat,), batch, like = space.chart.prepare(point=points)
    assert flat.device.type == "meta" and flat.dtype == F32
    assert like.device.type == "cpu" and like.dtype == F64
    back = space.chart.finish(torch.ones(5, 3, dtype=F32), batch, like)  # a result
    assert back.device.type == "cpu" and back.dtype == F64


def test_meta_points_are_refused():
    meta = torch.ones(2, dtype=F64, device="meta")
    with pytest.raises(ValueError, match="`base_point` is on the 'meta' device"):
        _sphere().metric.metric_matrix(meta)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_decoder_with_cpu_points():
    decoder = make_mlp([2, 8, 5], dtype=F32, seed=3)
    cpu = GeneratedManifold(decoder, 2)
    gpu = GeneratedManifold(make_mlp([2, 8, 5], dtype=F32, seed=3, device="cuda"), 2)
    a = torch.tensor([[0.1, 0.2], [0.3, -0.4]], dtype=F64)
    b = torch.tensor([[0.5, 0.1], [-0.2, 0.3]], dtype=F64)
    for call in (
        lambda s: s.metric.metric_matrix(a),
        lambda s: s.metric.dist(a, b),
        lambda s: s.metric.exp(b - a, a),
        lambda s: s.metric.sectional_curvature(a, b, a),
    ):
        out = call(gpu)
        assert out.device.type == "cpu" and out.dtype == F64
        torch.testing.assert_close(out, call(cpu), atol=1e-4, rtol=1e-4)
    on_gpu = gpu.metric.dist(a.cuda(), b.cuda())
    assert on_gpu.device.type == "cuda"


# ----------------------------------------------------------------------
# Half precision, integers, booleans
# ----------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_decoders_are_refused(dtype):
    with pytest.raises(TypeError, match=rf"`decoder` computes in {dtype}.*decoder.float\(\)"):
        GeneratedManifold(make_mlp([2, 4, 3], dtype=F32).to(dtype), 2)

    class HalfOut(torch.nn.Module):
        def forward(self, z):
            return z.to(dtype)

    with pytest.raises(TypeError, match=rf"computes in {dtype}"):
        GeneratedManifold(HalfOut(), 2)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_points_are_computed_in_float32(dtype):
    space = _sphere()  # no parameters: computes in the dtype of its input
    a, b = sphere_points(2, seed=3), sphere_points(2, seed=4)
    dist = space.metric.dist(a.to(dtype), b.to(dtype))
    assert dist.dtype == dtype
    exact = space.metric.dist(a.to(dtype).double(), b.to(dtype).double())
    torch.testing.assert_close(dist.double(), exact, rtol=1e-2, atol=0)


def test_integer_inputs_are_converted_to_float64():
    matrix = torch.tensor([[1.0, 2.0], [0.0, 1.0], [1.0, -1.0]], dtype=F64)
    space = GeneratedManifold(LinearDecoder(matrix), 2)
    expected = torch.linalg.vector_norm(matrix @ torch.tensor([1.0, 1.0], dtype=F64))
    for a, b in [
        (torch.tensor([1, 0]), torch.tensor([2, 1])),
        (np.array([1, 0], dtype=np.int32), np.array([2, 1], dtype=np.int64)),
        ([1, 0], [2, 1]),
    ]:
        dist = space.metric.dist(a, b)
        assert dist.dtype == F64
        assert dist.item() == pytest.approx(expected.item(), rel=1e-10)
    torch.testing.assert_close(space.metric.metric_matrix([3, 4]), matrix.T @ matrix)
    torch.testing.assert_close(space.metric.exp([1, 1], [0, 0]), torch.ones(2, dtype=F64))


@pytest.mark.parametrize(
    "value, match",
    [
        (torch.tensor([True, False]), "`base_point` must hold numbers, got a boolean"),
        (torch.tensor([1 + 1j, 0j]), "`base_point` must be real"),
        ("ab", "`base_point` must be an array-like of numbers"),
        ([[1.0, 2.0], [3.0]], "`base_point` must be an array-like of numbers"),
    ],
)
def test_non_numeric_inputs_are_refused(value, match):
    with pytest.raises(TypeError, match=match):
        _sphere().metric.metric_matrix(value)


# ----------------------------------------------------------------------
# Every public entry point names its bad argument
# ----------------------------------------------------------------------
_P = torch.tensor([1.0, 0.5], dtype=F64)
_BAD_SHAPE = torch.ones(3, dtype=F64)
_NAN = torch.tensor([float("nan"), 0.5], dtype=F64)


def _bad_argument_table():
    s = _sphere
    rows = [
        # (id, call, exception, argument named)
        ("space.decoder", lambda: GeneratedManifold(3, 2), TypeError, "decoder"),
        ("space.latent_dim", lambda: GeneratedManifold(SphereChart(), 0), ValueError, "latent_dim"),
        ("space.chunk_size", lambda: GeneratedManifold(SphereChart(), 2, chunk_size=-1), ValueError, "chunk_size"),
        ("space.max_elements", lambda: GeneratedManifold(SphereChart(), 2, max_elements=1.5), ValueError, "max_elements"),
        ("space.domain_radius", lambda: GeneratedManifold(SphereChart(), 2, domain_radius=-1), ValueError, "domain_radius"),
        ("space.random_point.bound", lambda: s().random_point(2, bound=0), ValueError, "bound"),
        ("immersion.point", lambda: s().immersion(_BAD_SHAPE), ValueError, "point"),
        ("tangent_immersion.tangent_vec", lambda: s().tangent_immersion(_BAD_SHAPE, _P), ValueError, "tangent_vec"),
        ("projection.point", lambda: s().projection(_NAN), ValueError, "point"),
        ("to_tangent.vector", lambda: s().to_tangent(_BAD_SHAPE, _P), ValueError, "vector"),
        ("metric_matrix.base_point", lambda: s().metric.metric_matrix(_NAN), ValueError, "base_point"),
        ("metric_matrix.missing", lambda: s().metric.metric_matrix(), ValueError, "base_point"),
        ("inner_product.tangent_vec_b", lambda: s().metric.inner_product(_P, _BAD_SHAPE, _P), ValueError, "tangent_vec_b"),
        ("norm.vector", lambda: s().metric.norm(_NAN, _P), ValueError, "vector"),
        ("log.point", lambda: s().metric.log(_BAD_SHAPE, _P), ValueError, "point"),
        ("log.base_point", lambda: s().metric.log(_P, _NAN), ValueError, "base_point"),
        ("exp.tangent_vec", lambda: s().metric.exp(_NAN, _P), ValueError, "tangent_vec"),
        ("exp.base_point", lambda: s().metric.exp(_P, _BAD_SHAPE), ValueError, "base_point"),
        ("dist.point_a", lambda: s().metric.dist(_BAD_SHAPE, _P), ValueError, "point_a"),
        ("dist.point_b", lambda: s().metric.dist(_P, _NAN), ValueError, "point_b"),
        ("squared_dist.point_b", lambda: s().metric.squared_dist(_P, "x"), TypeError, "point_b"),
        ("dist_pairwise.points", lambda: s().metric.dist_pairwise(_P), ValueError, "points"),
        ("closest_neighbor_index.neighbors", lambda: s().metric.closest_neighbor_index(_P, _P), ValueError, "neighbors"),
        ("connecting_geodesic.point", lambda: s().metric.connecting_geodesic(_NAN, _P), ValueError, "point"),
        ("geodesic_equation.state", lambda: s().metric.geodesic_equation(_P), ValueError, "state"),
        ("parallel_transport.tangent_vec", lambda: s().metric.parallel_transport(_BAD_SHAPE, _P, direction=_P), ValueError, "tangent_vec"),
        ("parallel_transport.direction", lambda: s().metric.parallel_transport(_P, _P, direction=_NAN), ValueError, "direction"),
        ("parallel_transport.end_point", lambda: s().metric.parallel_transport(_P, _P, end_point=_BAD_SHAPE), ValueError, "end_point"),
        ("parallel_transport.both", lambda: s().metric.parallel_transport(_P, _P, direction=_P, end_point=_P), ValueError, "direction"),
        ("parallel_transport.method", lambda: s().metric.parallel_transport(_P, _P, direction=_P, method="x"), ValueError, "method"),
        ("transport_along_path.path", lambda: transport.transport_along_path(s(), _P, _P), ValueError, "path"),
        ("analogy.point_c", lambda: analogy(s(), _P, _P, _BAD_SHAPE), ValueError, "point_c"),
        ("analogy.method", lambda: analogy(s(), _P, _P, _P, method="x"), ValueError, "method"),
        ("sectional_curvature.tangent_vec_a", lambda: s().metric.sectional_curvature(_NAN, _P, _P), ValueError, "tangent_vec_a"),
        ("curvature.tangent_vec_c", lambda: s().metric.curvature(_P, _P, _BAD_SHAPE, _P), ValueError, "tangent_vec_c"),
        ("riemann_tensor.base_point", lambda: curvature.riemann_tensor(s(), _BAD_SHAPE), ValueError, "base_point"),
        ("scalar_curvature.base_point", lambda: s().metric.scalar_curvature(_NAN), ValueError, "base_point"),
        ("log_solver.n_nodes", lambda: _with(s(), "log_solver", "n_nodes", 1).metric.log(_P, _P), ValueError, "n_nodes"),
        ("log_solver.tol", lambda: _with(s(), "log_solver", "tol", 2.0).metric.log(_P, _P), ValueError, "tol"),
        ("exp_solver.method", lambda: _with(s(), "exp_solver", "method", "euler").metric.exp(_P, _P), ValueError, "method"),
        ("ratio.n_points", lambda: measures.geodesic_to_linear_ratio(s(), _P, _P, n_points=0), ValueError, "n_points"),
        ("ratio.point_b", lambda: measures.geodesic_to_linear_ratio(s(), _P, _NAN), ValueError, "point_b"),
        ("curvature_statistics.codes", lambda: measures.curvature_statistics(s(), _BAD_SHAPE), ValueError, "codes"),
        ("curvature_statistics.n_planes", lambda: measures.curvature_statistics(s(), _P, n_planes=0), ValueError, "n_planes"),
        ("curvature_statistics.random_state", lambda: measures.curvature_statistics(s(), _P, random_state="x"), ValueError, "random_state"),
        ("coordinate_plane_curvature.codes", lambda: measures.coordinate_plane_curvature(s(), _NAN), ValueError, "codes"),
        ("holonomy_angle.radius", lambda: measures.holonomy_angle(s(), _P, -1.0), ValueError, "radius"),
        ("holonomy_angle.plane", lambda: measures.holonomy_angle(s(), _P, 0.1, plane=(0, 0)), ValueError, "plane"),
        ("holonomy_angle.n_segments", lambda: measures.holonomy_angle(s(), _P, 0.1, n_segments=2), ValueError, "n_segments"),
        ("make_mlp.layer_sizes", lambda: make_mlp([2]), ValueError, "layer_sizes"),
        ("make_mlp.activation", lambda: make_mlp([2, 3], activation="gelu2"), ValueError, "activation"),
        ("LinearDecoder.matrix", lambda: LinearDecoder(torch.ones(3)), ValueError, "matrix"),
        ("load_digits.n_class", lambda: datasets.load_digits(n_class=11), ValueError, "n_class"),
        ("make_shapes.n_samples", lambda: datasets.make_shapes(0), ValueError, "n_samples"),
        ("make_shapes.image_size", lambda: datasets.make_shapes(10, image_size=2), ValueError, "image_size"),
        ("load_fashion_mnist.subset", lambda: datasets.load_fashion_mnist(subset="dev"), ValueError, "subset"),
        ("load_idx.path", lambda: datasets.load_idx("/nonexistent/file.idx"), FileNotFoundError, "file.idx"),
    ]
    return rows


def _with(space, solver, attribute, value):
    setattr(getattr(space.metric, solver), attribute, value)
    return space


_ROWS = _bad_argument_table()


@pytest.mark.parametrize("call, error, name", [r[1:] for r in _ROWS], ids=[r[0] for r in _ROWS])
def test_bad_arguments_name_the_argument(call, error, name):
    with pytest.raises(error) as info:
        call()
    assert name in str(info.value), str(info.value)


# ----------------------------------------------------------------------
# Saved models (more cases in tests/test_models.py::test_load_rejects_bad_files)
# ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def tiny_vae():
    from geomstats_gen.models import VAE

    X, _ = datasets.load_digits(return_X_y=True)
    return VAE(2, hidden_sizes=(8,), epochs=1, batch_size=50, n_jobs=1, random_state=0).fit(X[:100])


def test_model_files_give_errors_never_half_loaded_models(tiny_vae, tmp_path):
    from geomstats_gen.models import VAE, BetaVAE

    good = tmp_path / "good.pt"
    tiny_vae.save(good)
    loaded = VAE.load(good)
    X, _ = datasets.load_digits(return_X_y=True)
    np.testing.assert_array_equal(loaded.transform(X[:5]), tiny_vae.transform(X[:5]))

    with pytest.raises(ValueError, match="holds a VAE, not a BetaVAE"):
        BetaVAE.load(good)
    with pytest.raises(FileNotFoundError):
        VAE.load(tmp_path)  # a folder
    with pytest.raises(TypeError, match="`path`"):
        VAE.load(3.5)
    foreign = tmp_path / "foreign.pt"
    torch.save({"a": 1}, foreign)
    with pytest.raises(ValueError, match="format marker"):
        VAE.load(foreign)
    empty = tmp_path / "empty.pt"
    empty.write_bytes(b"")
    with pytest.raises(ValueError, match="truncated, corrupted"):
        VAE.load(empty)
    payload = torch.load(good, weights_only=True)
    key = next(iter(payload["state_dict"]))
    payload["state_dict"][key] = payload["state_dict"][key].clone().fill_(float("nan"))
    nan = tmp_path / "nan.pt"
    torch.save(payload, nan)
    with pytest.raises(ValueError, match="non-finite"):
        VAE.load(nan)
    # a failed load leaves nothing behind: the good file still loads the same
    np.testing.assert_array_equal(VAE.load(good).transform(X[:5]), tiny_vae.transform(X[:5]))


# ----------------------------------------------------------------------
# Determinism
# ----------------------------------------------------------------------
def test_same_inputs_give_bit_identical_results():
    space = GeneratedManifold(make_mlp([3, 16, 8], dtype=F64, seed=4), 3)
    space.metric.exp_solver.method, space.metric.exp_solver.n_steps = "rk4", 10
    gen = torch.Generator().manual_seed(9)
    a = torch.randn(4, 3, dtype=F64, generator=gen)
    b = torch.randn(4, 3, dtype=F64, generator=gen)
    for call in (
        lambda: space.metric.log(b, a),
        lambda: space.metric.dist_pairwise(a),
        lambda: space.metric.exp(b - a, a),
        lambda: space.metric.parallel_transport(b, a, end_point=b),
        lambda: measures.curvature_statistics(space, a, random_state=3)["sectional"],
    ):
        assert torch.equal(call(), call())
    torch.manual_seed(11)
    first = space.random_point(4)
    torch.manual_seed(11)
    assert torch.equal(space.random_point(4), first)


def test_model_training_is_deterministic_for_a_seed(tiny_vae):
    from geomstats_gen.models import VAE

    X, _ = datasets.load_digits(return_X_y=True)
    again = VAE(2, hidden_sizes=(8,), epochs=1, batch_size=50, n_jobs=1, random_state=0).fit(X[:100])
    np.testing.assert_array_equal(again.transform(X[:10]), tiny_vae.transform(X[:10]))
    assert again.history_ == tiny_vae.history_


def test_sectional_curvature_of_tiny_huge_and_parallel_vectors_float32():
    """K is scale invariant: tiny (even subnormal in float32) or huge vectors
    give the sphere's 1/r^2; parallel vectors give exactly 0."""
    space = GeneratedManifold(known.Chart32(), 2)
    z = torch.tensor([1.0, 0.3], dtype=F64)
    for u, v in [((1e-21, 0.0), (0.0, 1.0)), ((1.4e-45, 0.0), (0.0, 3e-40)), ((1e30, 0.0), (0.0, 1e30))]:
        k = space.metric.sectional_curvature(torch.tensor(u, dtype=F64), torch.tensor(v, dtype=F64), z)
        assert k.item() == pytest.approx(0.25, rel=1e-6)
    for u, v in [((1.0, 0.3), (2.0, 0.6)), ((0.0, 0.0), (0.0, 1.0))]:
        k = space.metric.sectional_curvature(torch.tensor(u, dtype=F64), torch.tensor(v, dtype=F64), z)
        assert k.item() == 0.0


@pytest.mark.parametrize(
    "build, name",
    [
        (lambda: SphereChart(-1.0), "radius"),
        (lambda: SphereChart(float("nan")), "radius"),
        (lambda: SphereChart("big"), "radius"),
        (lambda: TorusChart(1.0, 2.0), "minor_radius"),
        (lambda: TorusChart(0.0, 1.0), "major_radius"),
    ],
)
def test_chart_decoders_check_their_radii(build, name):
    with pytest.raises((TypeError, ValueError), match=name):
        build()


def test_non_finite_jacobians_give_inf_and_nan_not_linalg_errors():
    """A decoder that overflows somewhere: the eigen-solvers used to fail to
    converge on the NaN metric (a raw LinAlgError); now those points get an
    infinite condition number and NaN solves, the others their values."""
    from geomstats_gen.core.linalg import pullback_solve

    class Overflow(torch.nn.Module):
        def forward(self, z):  # finite for z0 < 1, NaN beyond
            return torch.stack([z[:, 0], z[:, 1], torch.sqrt(1 - z[:, 0]) * z[:, 1]], dim=-1)

    jac = torch.randn(3, 5, 2, dtype=F64, generator=torch.Generator().manual_seed(0))
    jac[1, 0, 0] = float("nan")
    cond = jacobian_condition(jac)
    assert math.isfinite(float(cond[0])) and cond[1] == math.inf and math.isfinite(float(cond[2]))
    solved = pullback_solve(jac, torch.ones(3, 5, dtype=F64))
    assert torch.isfinite(solved[0]).all() and torch.isnan(solved[1]).all()
    space = GeneratedManifold(Overflow(), 2)
    points = torch.tensor([[0.2, 0.3], [2.0, 0.3]], dtype=F64)
    with pytest.warns(ImmersionWarning, match="1 of 2 points"):
        gram = space.metric.cometric_matrix(points)
    assert torch.isfinite(gram[0]).all() and torch.isnan(gram[1]).all()
