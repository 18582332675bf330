"""Time per point of the pullback metric: DecoderPullbackMetric vs stock Geomstats.

For random latent points on two tanh MLP decoders (``make_mlp(..., seed=0)``),
times ``metric_matrix``, ``inner_product`` and ``geodesic_equation`` of
:class:`geomstats_gen.DecoderPullbackMetric` (one batched call over all the
points, float32 and float64 decoders) against Geomstats' own
``PullbackMetric`` on an ``ImmersedSet`` calling the same float64 decoder.
The stock metric builds Jacobians and Hessians point by point (and output by
output), so it is timed on a few points only and its time is divided by the
number of points. The issue's target: ours at least 100x faster per point.

Also prints the largest difference between ours (float64) and the stock
metric on the points the stock metric was timed on.

Usage::

    python benchmarks/bench_metric.py [--quick] [--n-points N] [--stock-points K]
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import geomstats_gen  # noqa: E402,F401  (selects Geomstats' pytorch backend first)
import torch  # noqa: E402
from _timing import (  # noqa: E402
    best_of,
    format_seconds,
    print_table,
    timed_call,
)

from geomstats_gen import GeneratedManifold, make_mlp  # noqa: E402
from geomstats_gen.testing import StockPullbackSpace  # noqa: E402

F32, F64 = torch.float32, torch.float64

DECODERS = [
    ("2->64->256->784", [2, 64, 256, 784]),
    ("10->256->512->784", [10, 256, 512, 784]),
]
METHODS = ["metric_matrix", "inner_product", "geodesic_equation"]
TARGET = 100.0


def method_calls(metric, z, a, b):
    """Zero-argument callables for each timed method, on flat batches."""
    state = torch.stack([z, a], dim=-2)
    return {
        "metric_matrix": lambda: metric.metric_matrix(z),
        "inner_product": lambda: metric.inner_product(a, b, z),
        "geodesic_equation": lambda: metric.geodesic_equation(state),
    }


def sample(latent_dim, n_points, seed):
    gen = torch.Generator().manual_seed(seed)
    z = torch.rand(n_points, latent_dim, generator=gen, dtype=F64) * 2 - 1
    a = torch.randn(n_points, latent_dim, generator=gen, dtype=F64)
    b = torch.randn(n_points, latent_dim, generator=gen, dtype=F64)
    return z, a, b


def bench_decoder(label, sizes, args, timing_rows, agreement_rows):
    latent_dim, embedding_dim = sizes[0], sizes[-1]
    z, a, b = sample(latent_dim, args.n_points, seed=sizes[0])

    # Ours: one batched call over all the points, float32 and float64 decoders.
    ours = {}
    for dtype in (F32, F64):
        decoder = make_mlp(sizes, activation="tanh", seed=0, dtype=dtype)
        space = GeneratedManifold(decoder, latent_dim)
        calls = method_calls(space.metric, z.to(dtype), a.to(dtype), b.to(dtype))
        for name in METHODS:
            seconds = best_of(calls[name], repeat=args.repeat, warmup=1)
            ours[name, dtype] = seconds / args.n_points

    # Stock Geomstats: the same float64 decoder, a few points, one run each.
    decoder64 = make_mlp(sizes, activation="tanh", seed=0, dtype=F64)
    stock_space = StockPullbackSpace(decoder64, latent_dim, embedding_dim)
    k = args.stock_points
    zs, as_, bs = z[:k], a[:k], b[:k]
    stock_space.metric.metric_matrix(zs[0])  # warm-up of the autodiff machinery
    stock_calls = method_calls(stock_space.metric, zs, as_, bs)
    stock, stock_results = {}, {}
    for name in METHODS:
        result, seconds = timed_call(stock_calls[name])
        stock[name] = seconds / k
        stock_results[name] = result

    for name in METHODS:
        for dtype in (F32, F64):
            ratio = stock[name] / ours[name, dtype]
            timing_rows.append(
                [
                    label,
                    name,
                    str(dtype).replace("torch.", ""),
                    format_seconds(ours[name, dtype]),
                    format_seconds(stock[name]),
                    f"{ratio:,.0f}x",
                    "yes" if ratio >= TARGET else "NO",
                ]
            )

    # Agreement of ours (float64) with the stock metric on the stock's points.
    ours64 = GeneratedManifold(decoder64, latent_dim)
    our_calls = method_calls(ours64.metric, zs, as_, bs)
    for name in METHODS:
        mine, ref = our_calls[name](), stock_results[name]
        diff = float((mine - ref).abs().max())
        scale = float(ref.abs().max())
        agreement_rows.append(
            [label, name, k, f"{diff:.2e}", f"{diff / scale if scale else diff:.2e}"]
        )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer points and repeats")
    parser.add_argument("--n-points", type=int, default=None, help="points for ours (1000)")
    parser.add_argument(
        "--stock-points", type=int, default=None, help="points for the stock metric (2)"
    )
    parser.add_argument(
        "--device", default=None,
        help="cpu, cuda or auto: the device throughput mode (benchmarks/_device_mode.py) "
        "instead of the comparisons",
    )
    args = parser.parse_args(argv)
    if args.device is not None:
        from _device_mode import run

        return run("metric", args.device, quick=args.quick)
    if args.n_points is None:
        args.n_points = 200 if args.quick else 1000
    if args.stock_points is None:
        args.stock_points = 1 if args.quick else 2
    args.repeat = 3 if args.quick else 7

    start = time.perf_counter()
    timing_rows, agreement_rows = [], []
    for label, sizes in DECODERS:
        bench_decoder(label, sizes, args, timing_rows, agreement_rows)

    print_table(
        ["decoder", "method", "ours dtype", "ours /point", "stock /point", "stock/ours", ">=100x"],
        timing_rows,
        align="lllrrrr",
        title=(
            f"Pullback metric, time per point: ours batched over {args.n_points} points "
            f"(best of {args.repeat}), stock Geomstats PullbackMetric (float64) "
            f"on {args.stock_points} point(s); torch threads: {torch.get_num_threads()}"
        ),
    )
    print()
    print_table(
        ["decoder", "method", "points", "max abs diff", "max rel diff"],
        agreement_rows,
        align="llrrr",
        title="Agreement, ours (float64 decoder) vs stock PullbackMetric:",
    )
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"\nbench_metric: {time.perf_counter() - start:.1f} s in all; load average "
        f"{load:.2f} on {os.cpu_count()} CPUs (timings are unreliable when other "
        "processes compete for the cores)"
    )


if __name__ == "__main__":
    main()
