"""Is the log solver's error estimate honest, and what does a dense path cost?

Part 1, honesty: for seeded pairs on manifolds with exact distances (unit
sphere chart, a roll of three turns, a linear decoder) and on decoders
compared with a high-resolution reference (the torus, the two reference
MLPs, solved again with ``rtol=1e-12`` from 32 segments up to 512), the
table gives the fraction of pairs whose ``length_error`` bounds the true
error (target: at least 95 %), the median of estimate / true error (target:
under 10x), the largest true relative error among the pairs flagged
converged (the tolerance is ``rtol = 1e-6`` in float64, ``1e-5`` in
float32), and how many pairs were resolved.

Part 2, dense paths: ``metric.geodesic(a, end_point=b)(t)`` at 1000 times
against one log call of the same pairs (target: under 3x), and its end
points (target: ``path(0) = a``, ``path(1) = b`` to 1e-8).

Usage::

    python benchmarks/bench_error_estimate.py [--quick]
"""

import argparse
import math
import os
import sys
import warnings

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _timing import best_of, print_table  # noqa: E402

from geomstats_gen import GeneratedManifold  # noqa: E402
from geomstats_gen.decoders import (  # noqa: E402
    LinearDecoder,
    RollChart,
    SphereChart,
    TorusChart,
    make_mlp,
)
from geomstats_gen.exceptions import ConvergenceWarning  # noqa: E402

F64, F32 = torch.float64, torch.float32


def _uniform(g, n, low, high):
    low, high = torch.tensor(low, dtype=F64), torch.tensor(high, dtype=F64)
    return low + (high - low) * torch.rand(n, len(low), generator=g, dtype=F64)


def cases(n):
    """(name, space, a, b, exact-or-None)."""
    g = torch.Generator().manual_seed(0)
    sphere = GeneratedManifold(SphereChart(1.0), 2, dtype=F64)
    a, b = _uniform(g, n, (0.4, 0.0), (2.7, 3.0)), _uniform(g, n, (0.4, 0.0), (2.7, 3.0))
    ga, gb = sphere.chart.decode(a), sphere.chart.decode(b)
    yield "sphere chart", sphere, a, b, torch.arccos((ga * gb).sum(-1).clamp(-1, 1))
    roll = RollChart(1.0, 0.3)
    span = 6 * math.pi
    a, b = _uniform(g, n, (0.0, -1.0), (span, 1.0)), _uniform(g, n, (0.0, -1.0), (span, 1.0))
    yield "roll, 3 turns, gap 0.3", GeneratedManifold(roll, 2, dtype=F64), a, b, roll.distance(a, b)
    matrix = torch.randn(6, 3, generator=g, dtype=F64)
    a, b = torch.randn(n, 3, generator=g, dtype=F64), torch.randn(n, 3, generator=g, dtype=F64)
    yield "linear 3->6", GeneratedManifold(LinearDecoder(matrix), 3), a, b, ((b - a) @ matrix.T).norm(dim=-1)
    torus = GeneratedManifold(TorusChart(2.0, 1.0), 2, dtype=F64)
    a, b = _uniform(g, n, (-1.5, -1.5), (1.5, 1.5)), _uniform(g, n, (-1.5, -1.5), (1.5, 1.5))
    yield "torus (2, 1)", torus, a, b, None
    for sizes in ([2, 64, 256, 784], [10, 256, 512, 784]):
        for dtype in (F64, F32):
            space = GeneratedManifold(make_mlp(sizes, dtype=dtype), sizes[0])
            a = torch.randn(n, sizes[0], generator=g, dtype=F64)
            b = torch.randn(n, sizes[0], generator=g, dtype=F64)
            name = "MLP " + "->".join(map(str, sizes)) + (" f64" if dtype == F64 else " f32")
            yield name, space, a, b, None


def reference(space, a, b):
    """High-resolution float64 lengths (rtol 1e-12, 32 to 512 segments)."""
    ref = GeneratedManifold(space.chart.decoder, space.dim, dtype=F64)
    ref.metric.log_solver.rtol = 1e-12
    ref.metric.log_solver.n_nodes = 32
    ref.metric.log_solver.max_nodes = 512
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return ref.metric.connecting_geodesic(b, a).length


def honesty(n):
    rows = []
    for name, space, a, b, exact in cases(n):
        truth = "closed form" if exact is not None else "reference"
        if exact is None:
            exact = reference(space, a, b)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            result = space.metric.connecting_geodesic(b, a)
        err = (result.length - exact).abs()
        ratio = result.length_error / err.clamp_min(1e-300)
        conv = result.converged
        worst = float((err / exact)[conv].max()) if bool(conv.any()) else float("nan")
        rows.append(
            [
                name,
                truth,
                f"{float((result.length_error >= err).double().mean()):.0%}",
                f"{float(ratio.median()):.2f}x",
                f"{float((err / exact).median()):.1e}",
                f"{worst:.1e}",
                f"{int(conv.sum())}/{n}",
                ",".join(str(s) for s in sorted(set(result.n_segments.tolist()))),
            ]
        )
    print_table(
        ["manifold", "truth", "estimate >= true", "median est/true", "median rel err",
         "max rel err (converged)", "converged", "segments"],
        rows,
        title=f"Error estimate of the log map at its defaults ({n} seeded pairs each)",
    )


def dense_paths(n, repeat):
    rows = []
    times = torch.linspace(0, 1, 1000, dtype=F64)
    for sizes, dtype in (([2, 64, 256, 784], F32), ([10, 256, 512, 784], F32),
                         ([10, 256, 512, 784], F64)):
        space = GeneratedManifold(make_mlp(sizes, dtype=dtype), sizes[0])
        g = torch.Generator().manual_seed(1)
        a = torch.randn(n, sizes[0], generator=g, dtype=F64)
        b = torch.randn(n, sizes[0], generator=g, dtype=F64)
        t_log = best_of(lambda: space.metric.log(b, a), repeat=repeat)
        t_path = best_of(lambda: space.metric.geodesic(a, end_point=b)(times), repeat=repeat)
        points = space.metric.geodesic(a, end_point=b)(times)
        ends = max(float((points[:, 0] - a).abs().max()), float((points[:, -1] - b).abs().max()))
        rows.append(
            [
                "->".join(map(str, sizes)) + (" f64" if dtype == F64 else " f32"),
                f"{t_log * 1e3:.0f} ms",
                f"{t_path * 1e3:.0f} ms",
                f"{t_path / t_log:.2f}x",
                f"{ends:.0e}",
            ]
        )
    print_table(
        ["MLP", "log", "geodesic(a, end_point=b)(1000 t)", "ratio (target < 3x)", "end points off by"],
        rows,
        title=f"Dense paths, {n} pairs, torch threads {torch.get_num_threads()}",
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer pairs and repeats")
    args = parser.parse_args()
    honesty(16 if args.quick else 64)
    dense_paths(16 if args.quick else 64, repeat=1 if args.quick else 3)


if __name__ == "__main__":
    main()
