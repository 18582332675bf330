"""The log minimiser's host-side machinery: row sets, per-path decisions, dense maps.

Known answers: index arithmetic, the finite-difference and Hermite maps on
polynomial paths (exact for cubics), the sphere's closed-form distance for
pairs solved alone and in a batch.
"""

import numpy as np
import pytest
import torch

from geomstats_gen import GeneratedManifold, SphereChart
from geomstats_gen.geometry import dense
from geomstats_gen.geometry.step_control import PathControl, RowSet, assemble

F64 = torch.float64


def _rows(host, n):
    return RowSet(np.asarray(host, dtype=np.int64), n, torch.device("cpu"))


def test_a_row_set_of_all_rows_indexes_nothing():
    t = torch.arange(12.0).reshape(4, 3)
    every = _rows([0, 1, 2, 3], 4)
    assert every.all and every.take(t) is t and every.pick == slice(None)
    value = -torch.ones(4, 3)
    every.put(t, value)
    assert torch.equal(t, value)
    assert every.scatter(value) is value


def test_a_partial_row_set_gathers_and_scatters_its_rows():
    t = torch.arange(12.0).reshape(4, 3)
    some = _rows([1, 3], 4)
    assert not some.all
    assert torch.equal(some.take(t), t[[1, 3]])
    some.put(t, torch.zeros(2, 2), inner=slice(1, None))
    assert t[1].tolist() == [3.0, 0.0, 0.0] and t[3].tolist() == [9.0, 0.0, 0.0]
    assert t[0].tolist() == [0.0, 1.0, 2.0]
    scattered = some.scatter(torch.ones(2, 3))
    assert scattered.sum(-1).tolist() == [0.0, 3.0, 0.0, 3.0]
    acc = torch.ones(4, 3)
    some.add(acc, torch.full((2, 3), 2.0))
    assert acc[:, 0].tolist() == [1.0, 3.0, 1.0, 3.0]
    # rows of rows: positions 0 and 1 of {1, 3} are rows 1 and 3; position 1 is row 3
    assert some.at(_rows([1], 2)).host.tolist() == [3]
    assert some.at(_rows([0, 1], 2)) is some
    assert _rows([0, 1, 2, 3], 4).at(some) is some


def test_assemble_puts_each_part_at_its_rows():
    out = assemble([(_rows([0, 2], 3), torch.ones(2, 2)), (_rows([1], 3), 5 * torch.ones(1, 2))], (3, 2))
    assert out[:, 0].tolist() == [1.0, 5.0, 1.0]
    whole = torch.zeros(3, 2)
    assert assemble([(_rows([0, 1, 2], 3), whole)], (3, 2)) is whole


def _control(hessian="auto", max_iter=50):
    return PathControl(3, F64, 1e-3, max_iter, hessian, None, np.zeros(3, bool), 1e-6, 0.8, 0.01)


def test_path_control_accepts_decreases_and_rejects_increases():
    ctl = _control()
    rows = np.arange(3)
    energy = np.array([1.0, 1.0, 1.0])
    ok, settled = ctl.judge(
        rows, np.ones(3, bool), energy, np.ones(3), np.zeros(3),
        np.array([0.5, 1.5, 0.5]), np.array([0.1, 0.1, 1e-4]), np.array([True, True, False]),
    )
    assert ok.tolist() == [True, False, False]
    # converged: the third moved less than tol * segment, but its system was
    # not positive definite, so it neither converges nor is accepted
    assert settled.tolist() == [True, False, False]
    assert ctl.lam.tolist() == pytest.approx([1e-7, 1e-5, 1e-5])
    assert ctl.prev_move[0] == 0.1 and np.isinf(ctl.prev_move[1])
    # the rejected paths refresh their blocks next time
    assert ctl.converged.tolist() == [False, False, False]


def test_path_control_converges_on_small_moves_and_switches_slow_paths_to_newton():
    ctl = _control()
    rows = np.arange(3)
    one = np.ones(3)
    ctl.judge(rows, np.ones(3, bool), one, one, np.zeros(3), 0.9 * one, np.full(3, 0.1), np.ones(3, bool))
    # second step: the first path moves 0.09 (rate 0.9 > 0.8: Newton), the
    # second 1e-4 (below tol * segment: converged), the third 0.05 (rate 0.5)
    ok, settled = ctl.judge(
        rows, np.ones(3, bool), 0.9 * one, one, np.zeros(3), 0.8 * one,
        np.array([0.09, 1e-4, 0.05]), np.ones(3, bool),
    )
    assert ok.all() and settled.all()
    assert ctl.converged.tolist() == [False, True, False]
    assert ctl.use_newton.tolist() == [True, False, False]


def test_dense_maps_are_exact_on_cubic_paths():
    # z(t) = cubic in t, sampled at t_i = i / T: the fourth-order differences
    # and the cubic Hermite interpolant are exact
    n_seg = 8
    t = torch.linspace(0, 1, n_seg + 1, dtype=F64)

    def curve(s):
        return torch.stack([1 + 2 * s - s**3, s**2 + 0.5 * s**3], dim=-1)

    def speed(s):
        return torch.stack([2 - 3 * s**2, 2 * s + 1.5 * s**2], dim=-1)

    nodes = curve(t)[None]
    torch.testing.assert_close(dense.node_velocities(nodes)[0], speed(t), atol=1e-12, rtol=0)
    mid_t = (torch.arange(n_seg, dtype=F64) + 0.5) / n_seg
    torch.testing.assert_close(dense.hermite_midpoints(nodes)[0], curve(mid_t), atol=1e-12, rtol=0)
    fine = dense.subdivide(nodes)
    torch.testing.assert_close(fine[0], curve(torch.linspace(0, 1, 2 * n_seg + 1, dtype=F64)),
                               atol=1e-12, rtol=0)
    torch.testing.assert_close(fine, dense.interleave(nodes, dense.hermite_midpoints(nodes)))
    coarse = dense.resample(nodes, 5)
    torch.testing.assert_close(coarse[0], curve(torch.linspace(0, 1, 6, dtype=F64)), atol=1e-12, rtol=0)
    assert torch.equal(coarse[0, 0], nodes[0, 0]) and torch.equal(coarse[0, -1], nodes[0, -1])
    # float32 paths get float32 matrices
    assert dense.subdivide(nodes.float()).dtype == torch.float32


def test_a_pair_solved_alone_gives_its_answer_in_a_batch():
    # one pair takes the row sets that index nothing, a batch the gathers
    space = GeneratedManifold(SphereChart(1.0), 2)
    gen = torch.Generator().manual_seed(5)
    a = torch.stack([0.7 + 1.7 * torch.rand(6, generator=gen, dtype=F64),
                     -1.2 + 2.4 * torch.rand(6, generator=gen, dtype=F64)], -1)
    b = torch.stack([0.7 + 1.7 * torch.rand(6, generator=gen, dtype=F64),
                     -1.2 + 2.4 * torch.rand(6, generator=gen, dtype=F64)], -1)
    batch = space.metric.log_solver.solve(b, a)
    exact = torch.arccos((space.immersion(a) * space.immersion(b)).sum(-1).clamp(-1, 1))
    torch.testing.assert_close(batch.length, exact, rtol=1e-6, atol=0)
    for i in range(6):
        alone = space.metric.log_solver.solve(b[i], a[i])
        assert bool(alone.converged)
        torch.testing.assert_close(alone.length, batch.length[i], rtol=1e-9, atol=0)
        torch.testing.assert_close(alone.log, batch.log[i], rtol=1e-7, atol=1e-9)
