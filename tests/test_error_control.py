"""Geodesics that know their own error (issue "Geodesics a user can trust").

Folded surfaces with closed-form distances (rolls of several turns, a sheet
wrapped once with its end just above its start, a narrow cone whose
geodesics pass close to its apex), the sphere chart with pairs
crossing near a pole, and closed-form manifolds in a hypothesis property:
every pair the log solver flags converged is within its tolerance of the
exact length, and every other pair is flagged with a warning. Dense paths
pass through both ends and decode to a curve as long as the reported length.
"""

import copy
import math
import warnings

import pytest
import torch
from torch import nn
from hypothesis import given, settings
from hypothesis import strategies as st

from geomstats_gen import GeneratedManifold, make_mlp
from geomstats_gen.decoders import ConeChart, LinearDecoder, RollChart, SphereChart
from geomstats_gen.exceptions import ConvergenceWarning
from geomstats_gen.geometry.dense import hermite, node_velocities, resample
from geomstats_gen.geometry.adaptive import dopri5
from geomstats_gen.geometry.result import rounding_bias

F64, F32 = torch.float64, torch.float32

#: (inner radius, gap, turns): a roll of three turns with layers 0.3 apart,
#: and a sheet wrapped once with its end 0.1 above its start.
FOLDS = {"roll": (1.0, 0.3, 3.0), "wrapped sheet": (1.0, 0.1, 1.1)}


def _fold_pairs(turns, n, seed):
    g = torch.Generator().manual_seed(seed)
    span = 2 * math.pi * turns

    def points():
        return torch.stack(
            [torch.rand(n, generator=g, dtype=F64) * span, torch.rand(n, generator=g, dtype=F64) * 2 - 1],
            -1,
        )

    return points(), points()


def _check_flags(result, exact):
    """Converged pairs within tolerance; unconverged ones are the only others."""
    err = (result.length - exact).abs()
    ok = result.converged
    assert bool((err[ok] <= result.length_tolerance[ok]).all()), (
        f"converged but wrong: {err[ok].max():.3g} > {result.length_tolerance[ok].min():.3g}"
    )
    return err


def test_roll_arc_length_is_the_unrolled_distance():
    roll = RollChart(1.0, 0.3)
    u = torch.linspace(0.0, 6.0, 20001, dtype=F64)
    pts = roll(torch.stack([u, torch.zeros_like(u)], -1))
    polygon = (pts[1:] - pts[:-1]).norm(dim=-1).sum()
    exact = roll.distance(torch.tensor([0.0, 0.0], dtype=F64), torch.tensor([6.0, 0.0], dtype=F64))
    torch.testing.assert_close(polygon, exact, rtol=1e-8, atol=0)
    flat = roll.distance(torch.tensor([1.0, -1.0], dtype=F64), torch.tensor([1.0, 2.0], dtype=F64))
    assert float(flat) == pytest.approx(3.0, abs=1e-14)


@pytest.mark.parametrize("fold", sorted(FOLDS))
@pytest.mark.parametrize("n_nodes", [4, 5, 6, 8, 12, 16])
def test_folded_surfaces_are_right_or_flagged(fold, n_nodes):
    radius, gap, turns = FOLDS[fold]
    roll = RollChart(radius, gap)
    space = GeneratedManifold(roll, 2, dtype=F64)
    space.metric.log_solver.n_nodes = n_nodes
    a, b = _fold_pairs(turns, 24, seed=n_nodes)
    exact = roll.distance(a, b)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = space.metric.connecting_geodesic(b, a)
    err = _check_flags(result, exact)
    n_bad = int((~result.converged).sum())
    flagged = [w for w in caught if issubclass(w.category, ConvergenceWarning)]
    assert bool(flagged) == (n_bad > 0)
    if n_bad:
        assert f"{n_bad} of 24" in str(flagged[0].message)
    # Most pairs are resolved, and the resolved ones meet rtol = 1e-6.
    assert int(result.converged.sum()) >= 20
    assert float((err / exact)[result.converged].max()) <= 1e-6 * (1 + 1e-9)


@pytest.mark.parametrize("n_nodes", [4, 6, 8, 12, 16])
def test_narrow_neck_is_right_or_flagged(n_nodes):
    """A narrow cone: geodesics between opposite sides pass close to its apex."""
    cone = ConeChart(0.2)
    space = GeneratedManifold(cone, 2, dtype=F64)
    space.metric.log_solver.n_nodes = n_nodes
    g = torch.Generator().manual_seed(n_nodes)
    rho = lambda: 0.5 + torch.rand(16, generator=g, dtype=F64)  # noqa: E731
    phi = torch.rand(16, generator=g, dtype=F64)
    a = torch.stack([rho(), phi], -1)
    b = torch.stack([rho(), phi + 8 + 6 * torch.rand(16, generator=g, dtype=F64)], -1)
    exact = cone.distance(a, b)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        result = space.metric.connecting_geodesic(b, a)
    err = _check_flags(result, exact)
    # The neck's circles have radius 0.2 rho: the decoded geodesics turn
    # fast, and the pairs that pass closest to the apex need more than
    # max_nodes = 256 segments for rtol = 1e-6. They are flagged; the others
    # meet the tolerance.
    assert int(result.converged.sum()) >= 3
    assert float((err / exact)[result.converged].max()) <= 1e-6 * (1 + 1e-9)
    assert bool((2 * result.n_segments[~result.converged] > 256).all())  # at the cap


def test_a_coarse_shortcut_is_detected_and_refined():
    """The issue's finding: 8 nodes on a roll gave a distance 61 % short, converged."""
    roll = RollChart(1.0, 0.3)
    space = GeneratedManifold(roll, 2, dtype=F64)
    a = torch.tensor([[0.5, -0.5]], dtype=F64)
    b = torch.tensor([[5.5 * math.pi, 0.5]], dtype=F64)
    exact = roll.distance(a, b)
    solver = space.metric.log_solver
    # With the refinement capped at the minimum resolutions, the shortcut
    # found from 4 segments is flagged, never returned as converged.
    solver.n_nodes, solver.max_nodes = 4, 16
    with pytest.warns(ConvergenceWarning, match="chord that leaves the manifold"):
        capped = space.metric.connecting_geodesic(b, a)
    assert not bool(capped.converged.any()) and bool(capped.shortcut.all())
    assert float(capped.length) < 0.9 * float(exact)
    # With room to refine, the solver restarts and finds the true distance.
    solver.max_nodes = 256
    result = space.metric.connecting_geodesic(b, a)
    assert bool(result.converged.all()) and not bool(result.shortcut.any())
    assert float(abs(result.length - exact) / exact) < 1e-6


def test_error_estimate_is_honest_on_the_sphere():
    space = GeneratedManifold(SphereChart(2.0), 2, dtype=F64)
    g = torch.Generator().manual_seed(3)
    a = torch.stack([torch.rand(48, generator=g) * 2 + 0.5, torch.rand(48, generator=g) * 3], -1).double()
    b = torch.stack([torch.rand(48, generator=g) * 2 + 0.5, torch.rand(48, generator=g) * 3], -1).double()
    result = space.metric.connecting_geodesic(b, a)
    ga, gb = space.chart.decode(a), space.chart.decode(b)
    exact = 2.0 * torch.arccos(((ga * gb).sum(-1) / 4).clamp(-1, 1))
    err = (result.length - exact).abs()
    bounded = (result.length_error >= err).double().mean()
    assert float(bounded) >= 0.95
    assert float((result.length_error / err.clamp_min(1e-300)).median()) < 10
    assert bool(result.converged.all())
    assert bool((result.length_tolerance == 1e-6 * result.length).all())
    # The log's estimate bounds its error too: the exact log is the unit
    # sphere's, scaled by 2 and pulled back by the chart's Jacobian.
    from geomstats.geometry.hypersphere import Hypersphere

    ambient = 2.0 * Hypersphere(dim=2).metric.log(gb / 2, ga / 2)
    jac = space.chart.jacobian(a)
    exact_log = torch.linalg.lstsq(jac, ambient[..., None]).solution[..., 0]
    log_err = (result.log - exact_log).norm(dim=-1)
    assert float((result.log_error >= log_err).double().mean()) >= 0.9
    assert float(log_err.max()) < 1e-4


def test_float32_tolerance_default_and_rounding_floor():
    space = GeneratedManifold(SphereChart(1.0), 2, dtype=F32)
    a = torch.tensor([[1.0, 0.2], [1.0, 0.2]], dtype=F64)
    b = torch.tensor([[1.5, 1.8], [1.0, 0.2 + 1e-4]], dtype=F64)
    result = space.metric.connecting_geodesic(b, a)
    assert bool(result.converged.all())
    assert float(result.length_tolerance[0]) == pytest.approx(1e-5 * float(result.length[0]), rel=1e-6)
    # A very short pair is held to the rounding floor, not to rtol.
    assert float(result.length_tolerance[1]) > 1e-5 * float(result.length[1])


@settings(deadline=None)
@given(
    case=st.sampled_from(["sphere", "roll", "linear"]),
    seed=st.integers(0, 10_000),
    n_nodes=st.integers(4, 12),
)
def test_property_converged_pairs_are_within_tolerance(case, seed, n_nodes):
    g = torch.Generator().manual_seed(seed)
    if case == "sphere":
        space = GeneratedManifold(SphereChart(1.0), 2, dtype=F64)
        a = torch.stack([torch.rand(4, generator=g) * 2 + 0.3, torch.rand(4, generator=g) * 3], -1).double()
        b = torch.stack([torch.rand(4, generator=g) * 2 + 0.3, torch.rand(4, generator=g) * 3], -1).double()
        ga, gb = space.chart.decode(a), space.chart.decode(b)
        exact = torch.arccos((ga * gb).sum(-1).clamp(-1, 1))
    elif case == "roll":
        roll = RollChart(1.0, 0.25)
        space = GeneratedManifold(roll, 2, dtype=F64)
        a, b = _fold_pairs(2.5, 4, seed)
        exact = roll.distance(a, b)
    else:
        matrix = torch.randn(5, 3, generator=g, dtype=F64)
        space = GeneratedManifold(LinearDecoder(matrix), 3)
        a, b = torch.randn(4, 3, generator=g, dtype=F64), torch.randn(4, 3, generator=g, dtype=F64)
        exact = ((b - a) @ matrix.T).norm(dim=-1)
    space.metric.log_solver.n_nodes = n_nodes
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        result = space.metric.connecting_geodesic(b, a)
    _check_flags(result, exact)


# ----------------------------------------------------------------------
# Dense paths
# ----------------------------------------------------------------------
def _decoded_length(chart, points):
    decoded = chart.decode(points.reshape(-1, points.shape[-1])).reshape(*points.shape[:-1], -1)
    return (decoded[..., 1:, :] - decoded[..., :-1, :]).norm(dim=-1).sum(-1)


def test_dense_path_near_a_pole_has_the_reported_length():
    space = GeneratedManifold(SphereChart(1.0), 2, dtype=F64)
    g = torch.Generator().manual_seed(5)
    # Pairs on nearly opposite meridians: their geodesics pass within
    # about 0.05 of the pole, where the latent chart is singular.
    a = torch.stack([torch.rand(16, generator=g) * 0.4 + 0.3, torch.rand(16, generator=g) * 0.2], -1).double()
    b = torch.stack([torch.rand(16, generator=g) * 0.4 + 0.3, 2.95 + torch.rand(16, generator=g) * 0.15], -1).double()
    result = space.metric.connecting_geodesic(b, a)
    assert bool(result.converged.all())
    assert float(result.path[..., 0].abs().min()) < 0.1  # they do pass near the pole
    path = space.metric.geodesic(a, end_point=b)
    points = path(torch.linspace(0, 1, 8001, dtype=F64))
    length = _decoded_length(space.chart, points)
    # The polyline of 8000 chords is short of the curve by ~L kappa^2 h^2 / 24.
    assert bool(((length - result.length).abs() <= result.length_tolerance + 1e-7).all())
    # Near the pole the interpolant of the minimum resolution is not good
    # enough: the solver refined those pairs.
    assert int(result.n_segments.max()) > 32


def test_dense_path_passes_through_both_ends_exactly():
    space = GeneratedManifold(SphereChart(1.0), 2, dtype=F32)
    a = torch.tensor([[1.0, 0.1], [0.4, 2.0]], dtype=F64)
    b = torch.tensor([[2.0, 1.7], [2.5, 0.5]], dtype=F64)
    points = space.metric.geodesic(a, end_point=b)(torch.tensor([0.0, 0.5, 1.0], dtype=F64))
    assert points.shape == (2, 3, 2) and points.dtype == F64
    assert float((points[:, 0] - a).abs().max()) <= 1e-8
    assert float((points[:, -1] - b).abs().max()) <= 1e-8


def test_dense_path_beyond_the_ends_continues_the_geodesic():
    space = GeneratedManifold(SphereChart(1.0), 2, dtype=F64)
    a = torch.tensor([1.2, 0.3], dtype=F64)
    b = torch.tensor([1.6, 1.1], dtype=F64)
    t = torch.tensor([-0.5, 0.25, 1.5], dtype=F64)
    points = space.metric.geodesic(a, end_point=b)(t)
    log = space.metric.log(b, a)
    expected = torch.stack([space.metric.exp(tt * log, a) for tt in t])
    torch.testing.assert_close(points, expected, atol=1e-7, rtol=0)


def test_hermite_interpolant_is_fourth_order():
    t_nodes = [torch.linspace(0, 1, n + 1, dtype=F64) for n in (8, 16)]
    curve = lambda t: torch.stack([torch.sin(3 * t), torch.exp(t)], -1)[None]  # noqa: E731
    t = torch.linspace(0, 1, 1001, dtype=F64)
    errors = []
    for nodes_t in t_nodes:
        nodes = curve(nodes_t)
        errors.append(float((hermite(nodes, node_velocities(nodes), t) - curve(t)).abs().max()))
    assert errors[1] < errors[0] / 12  # fourth order: about 1/16
    nodes = curve(t_nodes[0])
    torch.testing.assert_close(resample(nodes, 32)[:, ::4], nodes, atol=1e-15, rtol=0)


def test_dopri5_dense_output_matches_the_solution():
    rate = torch.tensor([[0.7], [-1.3]], dtype=F64)

    def field(t, state):  # row-wise (each trajectory takes its own steps): rate in the state
        return (state[1] * state[0], torch.zeros_like(state[1]))

    times = torch.tensor([0.0, 0.1, 0.33, 0.5, 0.9, 1.0], dtype=F64)
    end, dense = dopri5(
        field, (torch.ones(2, 1, dtype=F64), rate), 1e-10, 1e-12, 100, times=times
    )
    exact = torch.exp(rate * times[None, :])
    torch.testing.assert_close(dense[0][..., 0], exact, atol=1e-8, rtol=0)
    torch.testing.assert_close(end[0], torch.exp(rate), atol=1e-9, rtol=0)


def test_geodesic_ivp_integrates_once_for_all_times():
    space = GeneratedManifold(SphereChart(1.0), 2, dtype=F64)
    z = torch.tensor([[1.0, 0.3], [0.7, 2.0]], dtype=F64)
    v = torch.tensor([[0.5, 0.8], [-0.3, 0.4]], dtype=F64)
    t = torch.linspace(-1.5, 2.0, 6, dtype=F64)
    calls = []
    integrate = space.metric.exp_solver.integrate
    space.metric.exp_solver.integrate = lambda *args, **kw: calls.append(1) or integrate(*args, **kw)
    points = space.metric.geodesic(z, initial_tangent_vec=v)(t)
    assert len(calls) == 2  # one per sign of t
    space.metric.exp_solver.integrate = integrate
    expected = torch.stack([space.metric.exp(tt * v, z) for tt in t], 1)
    torch.testing.assert_close(points, expected, atol=1e-8, rtol=0)


def test_batches_split_by_max_pairs_give_the_same_result():
    roll = RollChart(1.0, 0.3)
    space = GeneratedManifold(roll, 2, dtype=F64)
    a, b = _fold_pairs(3.0, 12, seed=7)
    whole = space.metric.connecting_geodesic(b, a, warn=False)
    assert len(set(whole.n_segments.tolist())) > 1  # some pairs were refined
    space.metric.log_solver.max_pairs = 5
    split = space.metric.connecting_geodesic(b, a, warn=False)
    assert split.path.shape == whole.path.shape
    torch.testing.assert_close(split.length, whole.length, atol=1e-12, rtol=0)
    torch.testing.assert_close(split.path, whole.path, atol=1e-10, rtol=0)
    assert split.converged.tolist() == whole.converged.tolist()


def test_rounding_level_pairs_are_not_shortcuts_in_float32():
    """Found by the thorough property run: a float32 pair a few ulps apart."""
    space = GeneratedManifold(SphereChart(2.0), 2, dtype=F32)
    a = torch.tensor([[0.7, -1.2]] * 3, dtype=F64)
    b = a + torch.tensor([[1e-7, 0.0], [3e-7, 1e-7], [1e-6, -1e-6]], dtype=F64)
    result = space.metric.connecting_geodesic(b, a)
    assert bool(result.converged.all()) and not bool(result.shortcut.any())
    step = b - a  # tiny: the metric at a gives the distance to first order
    exact = 2.0 * torch.sqrt(step[:, 0] ** 2 + (torch.sin(a[:, 0]) * step[:, 1]) ** 2)
    assert bool(((result.length - exact).abs() <= result.length_tolerance).all())


def test_short_float32_geodesics_stop_refining_at_the_rounding_bias():
    """Chords of a float32 decoder are biased long by ``(eps |g|)^2 / (2 s)``:
    on pairs 3e-4 apart under a sigmoid output (``|g|`` near 10, as pixel
    probabilities), refining past 32 segments made lengths up to 2.4x too
    long, with error estimates that bounded the truth for 10 of 16 pairs.
    They stop at the coarsest checked resolution now, converged, with
    estimates that bound the error against the float64 copy of the same
    decoder."""
    decoder = nn.Sequential(make_mlp([2, 32, 400], activation="tanh", seed=3, dtype=F32), nn.Sigmoid())
    exact = GeneratedManifold(copy.deepcopy(decoder).double(), 2)
    space = GeneratedManifold(decoder, 2)
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(16, 2, generator=gen, dtype=F64)
    b = a + 3e-4 * torch.randn(16, 2, generator=gen, dtype=F64)
    result = space.metric.connecting_geodesic(b, a)
    reference = exact.metric.connecting_geodesic(b, a)
    assert bool(result.converged.all()) and bool(reference.converged.all())
    assert result.n_segments.tolist() == [space.metric.log_solver.min_finest_segments] * 16
    error = (result.length.to(F64) - reference.length).abs()
    assert bool((error <= result.length_error).all())
    assert float((error / reference.length).max()) < 0.1
    # the bias model itself: a polygon of T chords, each rounded
    assert float(rounding_bias(32, torch.tensor([1e-6]), torch.tensor([1e-3]))) == pytest.approx(5.12e-7)


def test_float32_exp_defaults_stay_at_the_rounding_floor():
    """A float32 decoder's exp at its defaults (``rtol=3e-6``) is as close to
    the float64 copy's tight exp as at ``rtol=1e-7``: the float32 decoder's
    own rounding dominates (``rtol=1e-5`` would triple the worst error)."""
    decoder = make_mlp([3, 64, 256, 200], activation="tanh", seed=5, dtype=F32)
    space32 = GeneratedManifold(decoder, 3)
    space64 = GeneratedManifold(copy.deepcopy(decoder).double(), 3)
    gen = torch.Generator().manual_seed(7)
    z = torch.randn(32, 3, generator=gen, dtype=F64)
    v = torch.randn(32, 3, generator=gen, dtype=F64)
    space64.metric.exp_solver.rtol, space64.metric.exp_solver.atol = 1e-12, 1e-13
    exact = space64.metric.exp(v, z)
    norm = torch.linalg.vector_norm(v, dim=-1)

    def error(rtol=None, atol=None):
        solver = space32.metric.exp_solver
        solver.rtol, solver.atol = rtol, atol
        end = space32.metric.exp(v.to(F32), z.to(F32)).to(F64)
        return torch.linalg.vector_norm(end - exact, dim=-1) / norm

    default, tight, loose = error(), error(1e-7, 1e-8), error(1e-5, 1e-6)
    assert float(default.median()) <= 1.5 * float(tight.median())
    assert float(default.max()) <= 2 * float(tight.max())
    assert float(loose.max()) > 2 * float(tight.max())  # the test tells them apart
