"""Curvature: geomstats_gen (Gauss equation) vs Geomstats' stock PullbackMetric.

Times, per point, the sectional curvature of one random plane and the
scalar curvature at 1000 random latent points of the 2->64->256->784 and
10->256->512->784 tanh decoders (``make_mlp(..., seed=0)``), against
Geomstats' stock ``PullbackMetric`` (which differentiates its Christoffel
symbols, third derivatives of the decoder) on one point, run in a
subprocess with a time limit. Also prints both libraries' scalar curvature
of the unit sphere chart, whose exact value is 2: the stock value is wrong
under the pytorch backend.

Targets (issues): scalar curvature at 1000 points of the 10-D decoder in
under 10 s on the 2-core CPU (float32), then under 5 s in float64 ("The
fastest geodesic engine"); the float64 rows are judged against 5 s.

Usage: ``python benchmarks/bench_curvature.py [--quick] [--points N]
[--stock-limit SECONDS]``.
"""

import argparse
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import geomstats_gen  # noqa: E402,F401  (selects Geomstats' pytorch backend first)
import torch  # noqa: E402
from _timing import best_of, format_seconds, print_table, timed_call  # noqa: E402
from bench_geodesics import make_decoder  # noqa: E402

from geomstats_gen import GeneratedManifold, SphereChart  # noqa: E402
from geomstats_gen.testing import StockPullbackSpace  # noqa: E402

F32, F64 = torch.float32, torch.float64
DECODERS = [
    ("MLP 2->64->256->784", [2, 64, 256, 784]),
    ("MLP 10->256->512->784", [10, 256, 512, 784]),
]
TARGET_SCALAR_S = {torch.float32: 10.0, torch.float64: 5.0}


def stock_child(spec):
    """Child mode: stock sectional and scalar curvature at one point (JSON line)."""
    sizes = spec["sizes"]
    dim = 2 if sizes is None else sizes[0]
    embedding_dim = 3 if sizes is None else sizes[-1]
    space = StockPullbackSpace(make_decoder(sizes, F64), dim, embedding_dim)
    z = torch.tensor(spec["z"], dtype=F64)
    u = torch.tensor(spec["u"], dtype=F64)
    v = torch.tensor(spec["v"], dtype=F64)
    space.metric.metric_matrix(z)  # warm-up
    out = {}
    sec, out["sectional_s"] = timed_call(lambda: space.metric.sectional_curvature(u, v, z))
    scal, out["scalar_s"] = timed_call(lambda: space.metric.scalar_curvature(z))
    out["sectional"], out["scalar"] = float(sec), float(scal)
    print("STOCK_RESULT " + json.dumps(out), flush=True)


def run_stock(spec, limit):
    """Stock curvature in a child process; a dict, or None and a note."""
    cmd = [sys.executable, os.path.abspath(__file__), "--stock-child", json.dumps(spec)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=limit, check=False)
    except subprocess.TimeoutExpired:
        return None, f"> {limit:.0f} s"
    for line in proc.stdout.splitlines():
        if line.startswith("STOCK_RESULT "):
            return json.loads(line[len("STOCK_RESULT ") :]), ""
    tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
    return None, f"failed: {tail[0][:80]}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 points, no stock run")
    parser.add_argument("--points", type=int, default=1000)
    parser.add_argument("--stock-limit", type=float, default=300.0)
    parser.add_argument("--stock-child", default=None, help=argparse.SUPPRESS)
    parser.add_argument(
        "--device", default=None,
        help="cpu, cuda or auto: the device throughput mode (benchmarks/_device_mode.py) "
        "instead of the comparisons",
    )
    args = parser.parse_args(argv)
    if args.device is not None:
        from _device_mode import run

        return run("curvature", args.device, quick=args.quick)
    if args.stock_child is not None:
        stock_child(json.loads(args.stock_child))
        return 0
    n_points = 200 if args.quick else args.points
    start = time.perf_counter()
    rows = []
    for label, sizes in DECODERS:
        dim = sizes[0]
        gen = torch.Generator().manual_seed(0)
        z = torch.randn(n_points, dim, dtype=F64, generator=gen)
        u = torch.randn(n_points, dim, dtype=F64, generator=gen)
        v = torch.randn(n_points, dim, dtype=F64, generator=gen)
        stock, note = (None, "--quick")
        if not args.quick:
            spec = {"sizes": sizes, "z": z[0].tolist(), "u": u[0].tolist(), "v": v[0].tolist()}
            stock, note = run_stock(spec, args.stock_limit)
        for dtype in (F32, F64):
            space = GeneratedManifold(make_decoder(sizes, dtype), dim)
            metric = space.metric
            sec_s = best_of(lambda: metric.sectional_curvature(u, v, z), repeat=2)
            scal_s = best_of(lambda: metric.scalar_curvature(z), repeat=2)
            scal0 = float(metric.scalar_curvature(z[0]))
            for what, total, stock_key in (
                ("sectional", sec_s, "sectional_s"),
                ("scalar", scal_s, "scalar_s"),
            ):
                per_point = total / n_points
                if stock is not None:
                    stock_cell = format_seconds(stock[stock_key])
                    ratio = f"{stock[stock_key] / per_point:,.0f}x"
                else:
                    stock_cell, ratio = note or "-", "-"
                target = ""
                if what == "scalar" and dim == 10 and n_points >= 1000:
                    target = "yes" if total < TARGET_SCALAR_S[dtype] else "NO"
                rows.append(
                    [
                        label,
                        what,
                        str(dtype).replace("torch.", ""),
                        format_seconds(total),
                        format_seconds(per_point),
                        stock_cell,
                        ratio,
                        target,
                        f"scalar at z0: ours {scal0:.4g}"
                        + (f", stock {stock['scalar']:.4g}" if stock and what == "scalar" else ""),
                    ]
                )
    print_table(
        [
            "decoder",
            "curvature",
            "ours dtype",
            f"ours {n_points} pts",
            "ours /point",
            "stock /point",
            "stock/ours",
            "scalar target (f32 10 s, f64 5 s)",
            "values",
        ],
        rows,
        title=(
            f"Curvature at {n_points} points (ours batched, best of 2) against Geomstats' "
            "stock PullbackMetric on 1 point (float64, subprocess); "
            f"torch threads {torch.get_num_threads()}"
        ),
    )
    sphere = GeneratedManifold(SphereChart(1.0), 2)
    z0 = torch.tensor([1.0, 0.3], dtype=F64)
    ours_sphere = float(sphere.metric.scalar_curvature(z0))
    stock_sphere, note = (None, "--quick")
    if not args.quick:
        spec = {"sizes": None, "z": z0.tolist(), "u": [1.0, 0.0], "v": [0.0, 1.0]}
        stock_sphere, note = run_stock(spec, args.stock_limit)
    stock_text = f"{stock_sphere['scalar']:.6g}" if stock_sphere else note
    print(
        f"\nUnit sphere chart, scalar curvature at (1.0, 0.3): exact 2, ours {ours_sphere:.12g}, "
        f"stock Geomstats {stock_text}"
    )
    print(f"bench_curvature: {time.perf_counter() - start:.1f} s in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
