"""Where the log map's time goes: decoder-pass equivalents per pair.

For each reference decoder (``make_mlp([2, 64, 256, 784])`` and
``make_mlp([10, 256, 512, 784])``, tanh, seed 0) in float32 and float64, the
log map at the library's defaults on 64 seeded pairs, with every decoder
computation counted (points per kind of call):

- ``decode``: a forward pass (trial steps, checks, midpoints);
- ``jacobian``: value and Jacobian (``d`` forward-mode directions);
- ``pullback``: value and one reverse pass ``J^T w`` (the gradient of the
  path energy at reused Gauss-Newton blocks). A trial step decoded with its
  graph kept counts here, whole: its reverse pass, when the step is
  accepted, is the next iteration's gradient;
- ``newton``: the Hessian of ``<w, g>`` (double backward, the Newton term).
- ``jacobian32``: the Jacobian of the float32 twin of a float64 decoder
  (``DecoderChart.approximate_jacobian``), for the Gauss-Newton blocks only.

Each kind's cost per point is timed on 2,048 points and expressed in
forward passes of the decoder itself. The solver computes in the chart of
``R h`` (``DecoderChart.metric_chart()``: these decoders end with a wide
linear layer), where a forward pass costs less than one (``decode < 1``). The table gives, per pair, the points of
each kind, the decoder-pass equivalents they cost, the floor of one
decoder pass per interior node per iteration (the cost of a method that
needed nothing but the energy), the time of the decoder calls against the
whole solve (the rest is the solver's own arithmetic and per-call
overhead), and the iterations.

Usage::

    python benchmarks/bench_cost_model.py [--threads T] [--pairs N]
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import geomstats_gen  # noqa: E402,F401  (selects Geomstats' pytorch backend first)
import torch  # noqa: E402
from _timing import print_table  # noqa: E402
from bench_geodesics import sample_pairs  # noqa: E402  (the same pairs)

from geomstats_gen import DecoderChart, make_mlp  # noqa: E402
from geomstats_gen.core import chart as chart_module  # noqa: E402
from geomstats_gen.geometry import path_energy  # noqa: E402
from geomstats_gen.geometry.log import DiscreteEnergyLogSolver  # noqa: E402

DECODERS = {"MLP 2->64->256->784": [2, 64, 256, 784], "MLP 10->256->512->784": [10, 256, 512, 784]}
KINDS = ("decode", "jacobian", "jacobian32", "pullback", "newton")


def unit_costs(chart, dim, dtype, n_points=2048, repeats=3):
    """Seconds per point of each kind of call."""
    gen = torch.Generator().manual_seed(3)
    z = torch.randn(n_points, dim, generator=gen, dtype=torch.float64).to(dtype)
    w = torch.randn(n_points, chart.embedding_dim, generator=gen, dtype=torch.float64).to(dtype)
    calls = {
        "decode": lambda: chart.decode(z),
        "jacobian": lambda: chart.value_and_jacobian(z),
        "pullback": lambda: chart.value_and_pullback(z)[1](w),
        "newton": lambda: chart.weighted_hessian(z, w),
        # float32-twin Jacobians of a float64 decoder (the blocks only)
        "jacobian32": (
            (lambda: chart.approximate_jacobian(z)) if chart.has_approximate_jacobian
            else (lambda: chart.value_and_jacobian(z))
        ),
    }
    out = {}
    with torch.no_grad():
        for kind, call in calls.items():
            call()
            best = float("inf")
            for _ in range(repeats):
                start = time.perf_counter()
                call()
                best = min(best, time.perf_counter() - start)
            out[kind] = best / n_points
    return out


class Counter:
    """Counts the points of every decoder computation and the time spent in them."""

    METHODS = {
        "decode": "decode",
        "jacobian": "value_and_jacobian",
        "pullback": "value_and_pullback",
        "newton": "weighted_hessian",
        "jacobian32": "approximate_jacobian",
    }

    def __init__(self):
        self.points = dict.fromkeys(KINDS, 0)
        self.seconds = 0.0
        self.depth = 0
        self.saved = {}

    def __enter__(self):
        cls = chart_module.DecoderChart
        for kind, name in self.METHODS.items():
            original = getattr(cls, name)
            self.saved[name] = original
            setattr(cls, name, self._wrap(kind, original))
        return self

    def __exit__(self, *exc):
        for name, original in self.saved.items():
            setattr(chart_module.DecoderChart, name, original)

    def _wrap(self, kind, original):
        counter = self

        def wrapped(chart, z, *args):
            outer = counter.depth == 0
            if outer:  # decodes inside a Jacobian are the Jacobian's
                counter.points[kind] += z.shape[0]
            counter.depth += 1
            start = time.perf_counter()
            try:
                return original(chart, z, *args)
            finally:
                counter.depth -= 1
                if outer:
                    counter.seconds += time.perf_counter() - start

        return wrapped


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=None, help="torch threads")
    parser.add_argument("--pairs", type=int, default=64)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    rows = []
    for label, sizes in DECODERS.items():
        a, b = sample_pairs(sizes, args.pairs)
        for dtype in (torch.float32, torch.float64):
            chart = DecoderChart(make_mlp(sizes, activation="tanh", seed=0, dtype=dtype), sizes[0])
            # The solver computes in the chart of R h (the decoder ends with a
            # wide linear layer): its calls' costs, in passes of the decoder itself.
            with torch.no_grad():
                work = chart.metric_chart()
            costs = unit_costs(work, sizes[0], dtype)
            ref = unit_costs(chart, sizes[0], dtype)["decode"]
            solver = DiscreteEnergyLogSolver(chart)
            solver.solve(b[:2], a[:2])
            # interior node-iterations, from the minimiser's own counts
            node_its = [0]
            original = path_energy.minimize_path_energy

            def counting(chart_, nodes, *rest, original=original, node_its=node_its, **kw):
                out = original(chart_, nodes, *rest, **kw)
                node_its[0] += int(out[1].sum()) * (nodes.shape[1] - 2)
                return out

            solver_module = sys.modules[DiscreteEnergyLogSolver.__module__]
            solver_module.minimize_path_energy = counting
            try:
                with Counter() as counter:
                    start = time.perf_counter()
                    result = solver.solve(b, a)
                    total = time.perf_counter() - start
            finally:
                solver_module.minimize_path_energy = original
            per_pair = {k: v / args.pairs for k, v in counter.points.items()}
            passes = {k: per_pair[k] * costs[k] / ref for k in KINDS}
            spent = sum(passes.values())
            floor = node_its[0] / args.pairs
            rows.append([
                label,
                str(dtype).replace("torch.", ""),
                " / ".join(f"{per_pair[k]:.0f}" for k in KINDS),
                " / ".join(f"{costs[k] / ref:.1f}" for k in KINDS),
                " / ".join(f"{passes[k]:.0f}" for k in KINDS),
                f"{spent:.0f}",
                f"{floor:.0f}",
                f"{spent / floor:.1f}x",
                f"{100 * counter.seconds / total:.0f} %",
                f"{1e3 * total / args.pairs:.2f} ms",
                f"{float(result.iterations.double().mean()):.1f}",
            ])
    print(
        f"Log map at the defaults, {args.pairs} seeded pairs; torch threads "
        f"{torch.get_num_threads()}. Kinds: " + " / ".join(KINDS) + "."
    )
    print_table(
        ["decoder", "dtype", "points per pair", "passes per point", "passes per pair",
         "total passes", "floor (node-its)", "total/floor", "time in decoder calls",
         "time /pair", "LM its"],
        rows,
    )


if __name__ == "__main__":
    main()
