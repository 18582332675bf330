"""The fast paths of the geodesic engine against the plain ones they replace.

- the reverse-mode products of :mod:`geomstats_gen.core.reverse` (grad mode
  off) equal the ``torch.func`` forward-mode ones (grad mode on);
- the Gauss-Newton blocks of a refined path (:func:`refine_blocks`) are
  exact where the Jacobian is affine along the path, and ``O(h^2)`` off;
- the log solver takes Jacobians on the coarsest resolution only (fewer
  Jacobian points than reverse passes), with unchanged answers;
- the adaptive integrators give every trajectory its own steps, and the
  eighth-order pair (the exp's default) meets its tolerance with fewer
  evaluations than the fifth-order one, dense output included;
- the Jacobian and second derivatives taken from one graph (small batches)
  equal the forward-mode ones;
- the log solver's kept trial graphs save forward passes and change nothing;
- transport without ``n_steps`` is the adaptive integration, with
  ``n_steps`` RK4.
"""

import math
import warnings

import pytest
import torch

from geomstats_gen import DecoderChart, GeneratedManifold, LinearDecoder, SphereChart, make_mlp
from geomstats_gen.core import autodiff, reverse
from geomstats_gen.core.reverse import jacobian_and_second_by_reverse
from geomstats_gen.core.twin import LowPrecisionTwin
from geomstats_gen.geometry.adaptive import dop853, dopri5
from geomstats_gen.geometry.log import DiscreteEnergyLogSolver
from geomstats_gen.geometry import path_energy
from geomstats_gen.geometry.path_energy import refine_blocks

F64 = torch.float64


@pytest.fixture(scope="module")
def mlp():
    return DecoderChart(make_mlp([3, 16, 12], activation="tanh", seed=4, dtype=F64), 3)


def _points(n, dim, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return (torch.randn(n, dim, generator=gen, dtype=F64) for _ in range(3))


def test_reverse_products_equal_forward_mode(mlp):
    z, v, w = _points(5, 3)
    f = mlp.decode
    with torch.enable_grad():  # the torch.func paths
        value, first = autodiff.pushforward(f, z, v)
        _, first2, second = autodiff.second_derivative(f, z, v, w)
        jac = autodiff.value_and_jacobian(f, z)[1]
        hess = autodiff.hessian(f, z)
    with torch.no_grad():
        r_value, r_first = reverse.jvp_by_double_backward(f, z, v)
        _, r_first2, r_second = reverse.second_by_reverse(f, z, v, w)
        r_hess = reverse.hessian_by_reverse(f, z)
        r_jac = autodiff.value_and_jacobian(f, z, out_dim=12)[1]  # the double-backward path
        g, pull = reverse.value_and_pullback(f, z)
        pulled = pull(w.new_ones(5, 12))
    for ours, theirs in [
        (r_value, value), (r_first, first), (r_first2, first2), (r_second, second),
        (r_hess, hess), (r_jac, jac), (g, value),
        (pulled, jac.transpose(-1, -2).sum(-1)),
    ]:
        torch.testing.assert_close(ours, theirs, atol=1e-12, rtol=1e-12)
    assert float(second.detach().abs().max()) > 1e-2  # the comparison is not vacuous
    assert not r_second.requires_grad and not r_hess.requires_grad


def test_reverse_products_of_affine_and_empty_batches():
    linear = DecoderChart(LinearDecoder(torch.randn(6, 2, dtype=F64)), 2)
    z, v, w = _points(4, 2)
    with torch.no_grad():
        _, _, second = reverse.second_by_reverse(linear.decode, z, v, w)
        hess = reverse.hessian_by_reverse(linear.decode, z)
        empty = reverse.hessian_by_reverse(linear.decode, z[:0])
    assert float(second.abs().max()) == 0.0 and float(hess.abs().max()) == 0.0
    assert empty.shape == (0, 6, 2, 2)


def test_refined_blocks_are_the_midpoint_jacobians_to_second_order(mlp):
    def blocks_of(nodes):
        with torch.no_grad():
            jac = mlp.jacobian(nodes.reshape(-1, 3)).reshape(1, nodes.shape[1], -1, 3)
        jt = jac.transpose(-1, -2)
        return jt @ jac, jt[:, :-1] @ jac[:, 1:]

    errors = []
    for n_seg in (4, 8, 16):
        t = torch.linspace(0, 1, n_seg + 1, dtype=F64)[None, :, None]
        start, end = torch.tensor([-0.8, 0.3, 0.5], dtype=F64), torch.tensor([0.9, -0.4, 0.2], dtype=F64)
        coarse = start + t * (end - start)
        fine_t = torch.linspace(0, 1, 2 * n_seg + 1, dtype=F64)[None, :, None]
        fine = start + fine_t * (end - start)
        gram, cross = blocks_of(coarse)
        got_gram, got_cross, valid = refine_blocks((gram, cross, torch.ones(1, dtype=torch.bool)))
        want_gram, want_cross = blocks_of(fine)
        torch.testing.assert_close(got_gram[:, ::2], want_gram[:, ::2])  # old nodes: as they were
        scale = float(want_gram.abs().max())
        errors.append(float((got_gram - want_gram).abs().max() / scale))
        assert float((got_cross - want_cross).abs().max()) / scale < 0.2
        assert bool(valid.all())
    # second order: halving the segments divides the error by about 4
    assert errors[1] < errors[0] / 3 and errors[2] < errors[1] / 3


def _sphere_charts():
    """The unit sphere with its closed-form Hessian, and behind a function the
    jets do not know (its Hessians take autograd's double backward)."""
    sphere = SphereChart(1.0)
    return DecoderChart(sphere, 2), DecoderChart(lambda z: sphere(z), 2, dtype=F64)


def _equator_path(half_length, n_segments=8):
    """Straight latent path ``[1, T + 1, 2]`` across the equator, ``theta`` from pi/2 -+ 0.8."""
    start = torch.tensor([math.pi / 2 - 0.8, -half_length], dtype=F64)
    end = torch.tensor([math.pi / 2 + 0.8, half_length], dtype=F64)
    return (start + torch.linspace(0, 1, n_segments + 1, dtype=F64)[:, None] * (end - start))[None]


def test_auto_takes_newton_steps_where_the_hessian_is_cheap():
    # The same sphere, once with its closed-form Hessian and once behind a
    # function the jets do not know. On this path Gauss-Newton shrinks the
    # node moves by a factor between 0.1 and 0.8 per iteration: the
    # closed-form chart switches to Newton (4 iterations), the other one
    # stays with Gauss-Newton, whose iterations cost it 2-8x less; both
    # reach the same discrete geodesic.
    closed, plain = _sphere_charts()
    assert closed.has_closed_form_hessian and not plain.has_closed_form_hessian
    nodes = _equator_path(1.0)
    got = {}
    for name, chart in (("closed", closed), ("plain", plain)):
        for hessian in ("auto", "gauss-newton"):
            out = path_energy.minimize_path_energy(chart, nodes, 1e-10, 50, hessian=hessian)
            assert bool(out[2].all()), (name, hessian)
            got[name, hessian] = out
    assert bool(got["closed", "auto"][3].all())  # switched to Newton
    assert not bool(got["plain", "auto"][3].any())  # stayed with Gauss-Newton
    its = {key: int(out[1]) for key, out in got.items()}
    assert its["closed", "auto"] < its["plain", "auto"] == its["plain", "gauss-newton"]
    torch.testing.assert_close(got["closed", "auto"][0], got["plain", "auto"][0], atol=1e-8, rtol=0)


def test_auto_takes_newton_steps_when_gauss_newton_would_run_out_of_iterations():
    # Behind the opaque function Gauss-Newton stays on (its rate is under
    # 0.8), and needs 13 iterations on this long path; with 8 allowed it
    # does not converge. "auto" sees that at its rate it would not reach the
    # tolerance in the iterations left and takes Newton steps: 5 iterations.
    _, plain = _sphere_charts()
    nodes = _equator_path(1.5)
    free = path_energy.minimize_path_energy(plain, nodes, 1e-10, 50, hessian="auto")
    assert bool(free[2].all()) and not bool(free[3].any()) and int(free[1]) > 8
    capped_gn = path_energy.minimize_path_energy(plain, nodes, 1e-10, 8, hessian="gauss-newton")
    assert not bool(capped_gn[2].any())
    capped = path_energy.minimize_path_energy(plain, nodes, 1e-10, 8, hessian="auto")
    assert bool(capped[2].all()) and bool(capped[3].all()) and int(capped[1]) <= 6
    torch.testing.assert_close(capped[0], free[0], atol=1e-8, rtol=0)


def test_log_reuses_blocks_and_keeps_its_answers():
    solver_chart = DecoderChart(make_mlp([4, 32, 64], activation="tanh", seed=1, dtype=F64), 4)
    with torch.no_grad():  # the chart the solver computes with (R h of the wide last layer)
        chart = solver_chart.metric_chart()
    assert chart.embedding_dim == 32
    z0, z1, _ = _points(8, 4, seed=2)
    counts = {"jacobian": 0, "pullback": 0}
    originals = {
        name: getattr(chart, name)
        for name in ("value_and_jacobian", "approximate_jacobian", "value_and_pullback")
    }

    def counting(name, kind):
        def wrapped(z):
            counts[kind] += z.shape[0]
            return originals[name](z)

        return wrapped

    chart.value_and_jacobian = counting("value_and_jacobian", "jacobian")
    chart.approximate_jacobian = counting("approximate_jacobian", "jacobian")  # float64
    chart.value_and_pullback = counting("value_and_pullback", "pullback")
    result = DiscreteEnergyLogSolver(solver_chart).solve(z1, z0)
    for name, method in originals.items():
        setattr(chart, name, method)
    newton = DiscreteEnergyLogSolver(solver_chart, method="newton").solve(z1, z0)  # fresh blocks
    assert bool(result.converged.all())
    assert counts["pullback"] > 2 * counts["jacobian"] > 0
    torch.testing.assert_close(result.length, newton.length, rtol=1e-7, atol=0)
    assert float((result.length - newton.length).abs().max()) <= float(
        (result.length_error + newton.length_error).max()
    )


def test_each_trajectory_takes_its_own_steps():
    rows_evaluated = []

    def field(t, state):  # y' = k y: the larger k, the more steps
        rows_evaluated.append(state[0].shape[0])
        return (state[1] * state[0], torch.zeros_like(state[1]))

    def run(rates):
        rows_evaluated.clear()
        y0 = torch.ones(len(rates), 1, dtype=F64)
        end = dopri5(field, (y0, torch.tensor(rates, dtype=F64)[:, None]), 1e-10, 1e-12, 1000)
        return end[0], sum(rows_evaluated), len(rows_evaluated)

    hard, hard_rows, hard_calls = run([6.0])
    both, both_rows, both_calls = run([6.0, 0.01])
    torch.testing.assert_close(both[:, 0], torch.exp(torch.tensor([6.0, 0.01], dtype=F64)),
                               rtol=1e-8, atol=0)
    assert both_calls == hard_calls  # the hard trajectory sets the number of calls
    assert both_rows < 1.5 * hard_rows  # but the easy one leaves early


def test_transport_is_adaptive_by_default_and_rk4_with_n_steps():
    space = GeneratedManifold(SphereChart(1.0), 2, dtype=F64)
    base = torch.tensor([[1.0, 0.3], [0.8, -0.5]], dtype=F64)
    direction = torch.tensor([[0.4, 0.7], [-0.3, 0.5]], dtype=F64)
    vec = torch.tensor([[0.2, -0.1], [0.5, 0.4]], dtype=F64)
    adaptive = space.metric.parallel_transport(vec, base, direction=direction)
    fine = space.metric.parallel_transport(vec, base, direction=direction, n_steps=400)
    coarse = space.metric.parallel_transport(vec, base, direction=direction, n_steps=2)
    torch.testing.assert_close(adaptive, fine, atol=1e-9, rtol=0)
    assert float((coarse - fine).abs().max()) > 1e-6  # n_steps is honoured
    # transport is an isometry
    end = space.metric.exp(direction, base)
    norms = space.metric.norm(adaptive, end), space.metric.norm(vec, base)
    torch.testing.assert_close(*norms, atol=1e-9, rtol=0)
    assert math.isfinite(float(adaptive.sum()))


# ----------------------------------------------------------------------
# Dormand-Prince 8(5,3), the default exp and transport integrator
# ----------------------------------------------------------------------


def _oscillators(rates):
    """``x'' = -w^2 x`` per row (``w`` in the state): the solution is ``cos(w t)``."""
    calls = []

    def field(t, state):
        calls.append(state[0].shape[0])
        x, v, w = state
        return v, -(w**2) * x, torch.zeros_like(w)

    w = torch.tensor(rates, dtype=F64)[:, None]
    return field, (torch.ones_like(w), torch.zeros_like(w), w), calls


@pytest.mark.parametrize("rtol", [1e-6, 1e-10])
def test_dop853_meets_its_tolerance_with_fewer_evaluations_than_dopri5(rtol):
    field, state, calls = _oscillators([1.0, 3.0, 7.0])
    exact = torch.cos(state[2])
    evaluations = {}
    for method in (dop853, dopri5):
        calls.clear()
        end = method(field, state, rtol, rtol / 10, 10_000)
        evaluations[method.__name__] = sum(calls)
        # Global error of a few local tolerances over the 1-7 periods.
        assert float((end[0] - exact).abs().max()) < 50 * rtol
    # Eighth order: at 1e-10 fewer than half the evaluations of fifth order.
    limit = 0.5 if rtol < 1e-8 else 1.0
    assert evaluations["dop853"] < limit * evaluations["dopri5"]


def test_dop853_dense_output_is_seventh_order_accurate():
    field, state, _ = _oscillators([1.0, 4.0])
    times = torch.tensor([0.0, 0.05, 0.3, 0.5, 0.77, 1.0], dtype=F64)
    (end, _, _), dense = dop853(field, state, 1e-10, 1e-11, 1000, times=times)
    exact = torch.cos(state[2] * times[None, :])
    torch.testing.assert_close(dense[0][..., 0], exact, atol=5e-9, rtol=0)
    torch.testing.assert_close(dense[0][:, -1], end, atol=0, rtol=0)


def test_rows_that_finish_stop_or_hit_the_cap_leave_the_batch_one_by_one():
    """Rows of one batch end at different steps: each ends where it ends
    alone (to the last bit), the capped one is counted and left where the
    cap stopped it, and the dense output of a stopped row keeps its state at
    every later time."""
    from geomstats_gen.exceptions import ConvergenceWarning

    rates = [0.5, 2.0, 40.0]  # 40: six periods on [0, 1], far more steps
    field, state, _ = _oscillators(rates)

    def alone(i, **kw):
        one = tuple(s[i : i + 1] for s in state)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            return dop853(field, one, 1e-10, 1e-11, 30, **kw)

    with pytest.warns(ConvergenceWarning, match="1 of 3 trajectories reached max_steps=30"):
        end = dop853(field, state, 1e-10, 1e-11, 30)
    for i in range(3):
        assert torch.equal(end[0][i], alone(i)[0][0]) and torch.equal(end[1][i], alone(i)[1][0])
    torch.testing.assert_close(end[0][:2, 0], torch.cos(torch.tensor(rates[:2], dtype=F64)),
                               atol=1e-9, rtol=0)
    assert abs(float(end[0][2, 0]) - math.cos(40.0)) > 1e-3  # capped short of t = 1

    # x crosses zero at t = pi / 4 for the rate 2: that row stops there.
    times = torch.tensor([0.25, 0.5, 0.9, 1.0], dtype=F64)
    two = tuple(s[:2] for s in state)
    (end, stopped, dense) = dop853(
        field, two, 1e-10, 1e-11, 1000, stop=lambda s: s[0][:, 0] < 0, times=times
    )
    assert stopped.tolist() == [False, True]
    assert -0.2 < float(end[0][1, 0]) < 0.0
    exact = torch.cos(two[2] * times[None, :])
    torch.testing.assert_close(dense[0][0, :, 0], exact[0], atol=1e-9, rtol=0)
    torch.testing.assert_close(dense[0][1, :2, 0], exact[1, :2], atol=1e-9, rtol=0)
    assert torch.equal(dense[0][1, 2:, 0], end[0][1].expand(2))  # frozen after the stop
    single = alone(1, stop=lambda s: s[0][:, 0] < 0, times=times)
    assert torch.equal(single[0][0][0], end[0][1]) and bool(single[1][0])


def test_exp_methods_agree_on_the_sphere_to_their_tolerance():
    sphere = GeneratedManifold(SphereChart(1.0), 2, dtype=F64)
    z = torch.tensor([[1.0, 0.3], [0.7, 2.0], [2.0, -1.0]], dtype=F64)
    v = torch.tensor([[0.5, 0.8], [-0.3, 0.4], [0.2, 0.9]], dtype=F64)
    solver = sphere.metric.exp_solver
    assert solver.method == "dop853"
    ends = {}
    for method in ("dop853", "dopri5"):
        solver.method = method
        ends[method] = solver.exp(v, z)
    solver.method = "dop853"
    torch.testing.assert_close(ends["dop853"], ends["dopri5"], atol=1e-7, rtol=0)
    # Geodesics of the sphere keep the speed of the decoded curve (|J v|).
    jac = sphere.metric.chart.jacobian(z)
    speed0 = torch.linalg.vector_norm(jac @ v[..., None], dim=(-1, -2))
    end, vel = solver.integrate(z, v)
    speed1 = torch.linalg.vector_norm(sphere.metric.chart.jacobian(end) @ vel[..., None], dim=(-1, -2))
    torch.testing.assert_close(speed1, speed0, atol=1e-8, rtol=0)


# ----------------------------------------------------------------------
# Jacobian and second derivatives from one graph (small batches)
# ----------------------------------------------------------------------


@pytest.mark.parametrize("k", [1, 2])
def test_jacobian_and_seconds_from_one_graph_match_forward_mode(k):
    decoder = make_mlp([3, 16, 20], activation="tanh", seed=0, dtype=F64)
    chart = GeneratedManifold(decoder, 3, dtype=F64).metric.chart
    gen = torch.Generator().manual_seed(0)
    z, *vw = (torch.randn(5, 3, generator=gen, dtype=F64) for _ in range(1 + 2 * k))
    vs, ws = torch.stack(vw[:k]), torch.stack(vw[k:])
    with torch.no_grad():
        jac, seconds = jacobian_and_second_by_reverse(chart.decode, z, vs, ws)
    # torch.func forward mode (grad mode on takes that path).
    torch.testing.assert_close(jac, autodiff.jacobian(chart.decode, z), atol=1e-14, rtol=0)
    for j in range(k):
        expected = autodiff.second_derivative(chart.decode, z, vs[j], ws[j])[2]
        torch.testing.assert_close(seconds[j], expected, atol=1e-14, rtol=0)


def test_jacobian_and_seconds_of_affine_and_constant_decoders():
    weight = torch.tensor([[1.0, 2.0], [0.0, -1.0], [3.0, 0.5]], dtype=F64)
    z = torch.tensor([[0.3, -0.2], [1.0, 2.0]], dtype=F64)
    vs = torch.ones(1, 2, 2, dtype=F64)
    with torch.no_grad():
        jac, seconds = jacobian_and_second_by_reverse(lambda x: x @ weight.T, z, vs, vs)
        torch.testing.assert_close(jac, weight.expand(2, 3, 2), atol=0, rtol=0)
        assert seconds.shape == (1, 2, 3) and not seconds.any()
        jac, seconds = jacobian_and_second_by_reverse(
            lambda x: torch.ones(x.shape[0], 3, dtype=F64), z, vs, vs
        )
        assert jac.shape == (2, 3, 2) and not jac.any() and not seconds.any()


def test_trial_graphs_save_forward_passes_with_the_same_answer(monkeypatch):
    decoder = make_mlp([3, 16, 20], activation="tanh", seed=2, dtype=F64)
    chart = DecoderChart(decoder, 3)
    gen = torch.Generator().manual_seed(5)
    a = torch.randn(6, 3, generator=gen, dtype=F64)
    b = torch.randn(6, 3, generator=gen, dtype=F64)
    rows = []
    with torch.no_grad():
        work = chart.metric_chart()  # what the solver decodes with
    decode = work.decode
    monkeypatch.setattr(work, "decode", lambda z: rows.append(z.shape[0]) or decode(z))

    def solve(keep):
        monkeypatch.setattr(path_energy, "KEEP_TRIAL_GRAPH", keep)
        rows.clear()
        result = DiscreteEnergyLogSolver(chart).solve(b, a)
        return result, sum(rows)

    kept, kept_rows = solve(True)
    plain, plain_rows = solve(False)
    torch.testing.assert_close(kept.length, plain.length, atol=1e-14, rtol=0)
    torch.testing.assert_close(kept.log, plain.log, atol=1e-12, rtol=0)
    assert torch.equal(kept.iterations, plain.iterations)
    # The accepted trial steps' graphs stand in for the next forward passes.
    assert kept_rows < 0.9 * plain_rows


def test_float32_twin_jacobians_precondition_without_changing_answers(monkeypatch):
    decoder = make_mlp([3, 16, 20], activation="tanh", seed=2, dtype=F64)
    chart = DecoderChart(decoder, 3)
    z = torch.randn(5, 3, generator=torch.Generator().manual_seed(1), dtype=F64)
    assert chart.has_approximate_jacobian
    with torch.no_grad():
        approx, exact = chart.approximate_jacobian(z), chart.jacobian(z)
    assert approx.dtype == F64
    assert 0 < float((approx - exact).abs().max()) < 1e-5 * float(exact.abs().max())
    # The twin follows the weights: modified in place, then replaced.
    with torch.no_grad():
        decoder[0].weight.mul_(2.0)
        torch.testing.assert_close(
            chart.approximate_jacobian(z), chart.jacobian(z), atol=1e-5, rtol=1e-5
        )
    # Not for float32 decoders, analytic charts, or with grad mode on.
    assert not DecoderChart(make_mlp([3, 8, 5], seed=0, dtype=torch.float32), 3).has_approximate_jacobian
    assert not DecoderChart(SphereChart(1.0), 2, dtype=F64).has_approximate_jacobian
    # Nor for a decoder with float32 weights anywhere, first or last.
    for index in (0, -1):
        mixed = make_mlp([3, 8, 5], seed=0, dtype=F64)
        mixed[index].float()
        assert LowPrecisionTwin(mixed).get() is None
    assert LowPrecisionTwin(make_mlp([3, 8, 5], seed=0, dtype=F64)).get() is not None
    assert chart.approximate_jacobian(z) is None  # grad mode is on here
    # The log's answers do not depend on it.
    gen = torch.Generator().manual_seed(5)
    a = torch.randn(6, 3, generator=gen, dtype=F64)
    b = torch.randn(6, 3, generator=gen, dtype=F64)
    results = {}
    for approximate in (True, False):
        monkeypatch.setattr(path_energy, "APPROXIMATE_BLOCKS", approximate)
        results[approximate] = DiscreteEnergyLogSolver(chart).solve(b, a)
    torch.testing.assert_close(results[True].length, results[False].length, atol=1e-13, rtol=0)
    torch.testing.assert_close(results[True].log, results[False].log, atol=1e-9, rtol=0)
    assert bool(results[True].converged.all())
