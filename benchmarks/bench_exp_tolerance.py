"""The exp map's tolerance: field evaluations, time against the log, end-point error.

For 64 seeded pairs on the reference manifolds of ``bench_geodesics.py``
(the 2-D and 10-D tanh MLPs in float32 and float64, the unit sphere chart),
the exp of the computed logs (the default log) is integrated by the default
method (DOP853) at the default tolerances and at 3 and 10 times looser
ones (``rtol`` and ``atol`` scaled together). Printed per setting:

- field evaluations per vector (rows evaluated over the batch, counted once);
- the exp's time per vector over the log's per pair (target of the issue
  "The fastest geodesic engine": at most 1.5x at the defaults), interleaved
  best of ``--rounds`` rounds with the log;
- the end points' error against the exp of the same vectors on the float64
  decoder at ``rtol=1e-13`` (``atol=1e-14``), over ``|v|``: median and max;
- for comparison, ``|exp(log q) - q| / |v|``: how far the log's own error
  (default ``rtol`` 1e-6 on lengths in float64) puts the round trip.

Usage::

    python benchmarks/bench_exp_tolerance.py [--quick] [--threads T] [--pairs N] [--rounds K]

``--quick``: 16 pairs, one round.
"""

import argparse
import os
import sys
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import geomstats_gen  # noqa: E402,F401  (selects Geomstats' pytorch backend first)
import torch  # noqa: E402
from _timing import CountedField, format_seconds, interleaved_best, print_table  # noqa: E402
from bench_geodesics import latent_dim_of, make_decoder, sample_pairs  # noqa: E402

from geomstats_gen import GeneratedManifold  # noqa: E402
from geomstats_gen.geometry.equations import geodesic_field  # noqa: E402
from geomstats_gen.geometry.exp import GeodesicODEExpSolver  # noqa: E402

F32, F64 = torch.float32, torch.float64
ROWS = [
    ("MLP 2->64->256->784", [2, 64, 256, 784], F32),
    ("MLP 2->64->256->784", [2, 64, 256, 784], F64),
    ("MLP 10->256->512->784", [10, 256, 512, 784], F32),
    ("MLP 10->256->512->784", [10, 256, 512, 784], F64),
    ("sphere chart r=1", None, F64),
]
#: Tolerances tried, as multiples of the defaults.
FACTORS = (1.0, 3.0, 10.0)
TARGET_EXP = 1.5


def evaluations_per_vector(solver, v, z):
    """Field evaluations per vector of one exp of ``v`` at ``z`` (the solver's chart and tolerances)."""
    counted = CountedField(geodesic_field(solver.chart))
    work_v, work_z = (solver.chart.to_work(x) for x in (v, z))
    with torch.no_grad():
        solver.integrate_field(counted, (work_z, work_v))
    return counted.rows / z.shape[0]


def bench_row(sizes, dtype, n_pairs, rounds):
    a, b = sample_pairs(sizes, n_pairs)
    dim = latent_dim_of(sizes)
    space = GeneratedManifold(make_decoder(sizes, dtype), dim)
    metric = space.metric
    a_in, b_in = a.to(dtype), b.to(dtype)
    warm = metric.connecting_geodesic(b_in[:2], a_in[:2], warn=False)
    metric.exp(warm.log, a_in[:2])
    log = metric.connecting_geodesic(b_in, a_in, warn=False).log
    default = GeodesicODEExpSolver(space)
    rtol, atol = default.tolerances(dtype)
    solvers = [GeodesicODEExpSolver(space, rtol=f * rtol, atol=f * atol) for f in FACTORS]
    reference = GeodesicODEExpSolver(
        GeneratedManifold(make_decoder(sizes, F64), dim), rtol=1e-13, atol=1e-14
    ).exp(log.to(F64), a)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tight reference may hit max_steps: not timed
        seconds, ends = interleaved_best(
            [lambda: metric.connecting_geodesic(b_in, a_in, warn=False)]
            + [lambda s=s: s.exp(log, a_in) for s in solvers],
            rounds,
        )
    norm = torch.linalg.vector_norm(log.to(F64), dim=-1).clamp_min(1e-300)
    roundtrip = torch.linalg.vector_norm(ends[1].to(F64) - b, dim=-1) / norm
    out = []
    for factor, solver, exp_s, end in zip(FACTORS, solvers, seconds[1:], ends[1:]):
        err = torch.linalg.vector_norm(end.to(F64) - reference, dim=-1) / norm
        out.append({
            "rtol": factor * rtol,
            "atol": factor * atol,
            "evals": evaluations_per_vector(solver, log, a_in),
            "log": seconds[0] / n_pairs,
            "exp": exp_s / n_pairs,
            "err": (float(err.median()), float(err.max())),
            "roundtrip": (float(roundtrip.median()), float(roundtrip.max())),
        })
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--pairs", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="16 pairs, one round")
    args = parser.parse_args(argv)
    if args.quick:
        args.pairs, args.rounds = min(args.pairs, 16), 1
    if args.threads:
        torch.set_num_threads(args.threads)
    rows = []
    for label, sizes, dtype in ROWS:
        for k, r in enumerate(bench_row(sizes, dtype, args.pairs, args.rounds)):
            ratio = r["exp"] / r["log"]
            verdict = "yes" if ratio <= TARGET_EXP else "NO"
            rows.append([
                label if k == 0 else "", str(dtype).replace("torch.", "") if k == 0 else "",
                f"{r['rtol']:.0e} / {r['atol']:.0e}" + (" (default)" if k == 0 else ""),
                f"{r['evals']:.1f}", format_seconds(r["log"]), format_seconds(r["exp"]),
                f"{ratio:.2f}x ({verdict})",
                f"{r['err'][0]:.1e} / {r['err'][1]:.1e}",
                f"{r['roundtrip'][0]:.1e} / {r['roundtrip'][1]:.1e}" if k == 0 else "",
            ])
    print_table(
        ["manifold", "dtype", "exp rtol / atol", "evals /vec", "log /pair", "exp /vec",
         f"exp/log (<={TARGET_EXP}x)", "end err/|v| (med / max)", "|exp(log q)-q|/|v|"],
        rows,
        title=(
            f"exp (DOP853) of the default logs of {args.pairs} seeded pairs; end errors against "
            "the float64 decoder at rtol 1e-13; interleaved best of "
            f"{args.rounds} rounds with the log; torch threads {torch.get_num_threads()}"
        ),
    )


if __name__ == "__main__":
    main()
