"""The device benchmark mode shared by bench_geodesics/metric/curvature/learning.

``python benchmarks/bench_geodesics.py --device cuda`` (or ``cpu`` for the
baseline on the same machine, ``auto`` for CUDA when present) runs the
throughput measurements of the issue "The GPU path, verified" instead of the
comparisons with the peers:

- ``geodesics``: log pairs per second at 64, 1,024 and 16,384 pairs on the
  reference decoders (2->64->256->784 and 10->256->512->784 tanh MLPs);
- ``metric``: metric-matrix points per second at 100,000 points;
- ``curvature``: scalar curvature at 10,000 points of the 10-D decoder;
- ``learning``: the exact geodesic distance matrix of 1,000 and 5,000 codes
  of the 2-D decoder;

each in float32 and float64, the decoder on the device and the points on
the CPU in float64 (Geomstats' side), synchronising the device before the
clock stops. ``--quick`` shrinks every size by 16x. Every row also checks
its result on a few inputs against the same decoder on the CPU in float64
(``max |diff|`` column; the issue's target is 1e-10 for float64 decoders).
"""

import time

import torch

from _timing import print_table
from geomstats_gen import GeneratedManifold, make_mlp
from geomstats_gen.learning import pairwise_geodesic_distances

F32, F64 = torch.float32, torch.float64
DECODERS = {"2->64->256->784": [2, 64, 256, 784], "10->256->512->784": [10, 256, 512, 784]}


def resolve(device):
    """``"auto"`` -> ``"cuda"`` when available, else ``"cpu"``."""
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def _sync(device):
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def timed(fn, device, repeat=2):
    """Best wall time of ``fn()`` (after one warm-up call), device synchronised."""
    fn()
    _sync(device)
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        _sync(device)
        best = min(best, time.perf_counter() - start)
        del out
    return best


def spaces(sizes, dtype, device):
    """The decoder on ``device`` in ``dtype``, and its float64 CPU twin."""
    there = GeneratedManifold(make_mlp(sizes, dtype=dtype, device=device), sizes[0])
    ref = GeneratedManifold(make_mlp(sizes, dtype=F64), sizes[0])
    return there, ref


def _diff(a, b):
    return f"{float((torch.as_tensor(a).double() - torch.as_tensor(b).double()).abs().max()):.1e}"


def header(device):
    name = torch.cuda.get_device_name(device) if torch.device(device).type == "cuda" else "CPU"
    return (f"device {device} ({name}), torch {torch.__version__}, "
            f"threads {torch.get_num_threads()}, {time.strftime('%Y-%m-%d')}")


def run(kind, device, quick=False):
    device = resolve(device)
    scale = 16 if quick else 1
    rows = []
    gen = torch.Generator().manual_seed(0)
    for dtype in (F32, F64):
        if kind == "geodesics":
            for label, sizes in DECODERS.items():
                there, ref = spaces(sizes, dtype, device)
                for n in (64, 1024, 16384):
                    n = max(4, n // scale)
                    a = torch.randn(n, sizes[0], generator=gen, dtype=F64)
                    b = torch.randn(n, sizes[0], generator=gen, dtype=F64)
                    seconds = timed(lambda: there.metric.dist(a, b), device, repeat=1)
                    check = _diff(there.metric.dist(a[:4], b[:4]), ref.metric.dist(a[:4], b[:4]))
                    rows.append([label, str(dtype)[6:], n, f"{seconds:.2f} s",
                                 f"{n / seconds:,.0f}", check])
            headers = ["decoder", "dtype", "pairs", "log time", "pairs / s", "max |diff| vs CPU f64"]
        elif kind == "metric":
            for label, sizes in DECODERS.items():
                there, ref = spaces(sizes, dtype, device)
                n = 100_000 // scale
                z = torch.randn(n, sizes[0], generator=gen, dtype=F64)
                seconds = timed(lambda: there.metric.metric_matrix(z), device)
                check = _diff(there.metric.metric_matrix(z[:8]), ref.metric.metric_matrix(z[:8]))
                rows.append([label, str(dtype)[6:], n, f"{seconds:.3f} s", f"{n / seconds:,.0f}", check])
            headers = ["decoder", "dtype", "points", "metric_matrix", "points / s", "max |diff| vs CPU f64"]
        elif kind == "curvature":
            sizes = DECODERS["10->256->512->784"]
            there, ref = spaces(sizes, dtype, device)
            n = 10_000 // scale
            z = torch.randn(n, sizes[0], generator=gen, dtype=F64)
            seconds = timed(lambda: there.metric.scalar_curvature(z), device, repeat=1)
            check = _diff(there.metric.scalar_curvature(z[:4]), ref.metric.scalar_curvature(z[:4]))
            rows.append(["10->256->512->784", str(dtype)[6:], n, f"{seconds:.2f} s",
                         f"{n / seconds:,.0f}", check])
            headers = ["decoder", "dtype", "points", "scalar curvature", "points / s",
                       "max |diff| vs CPU f64"]
        elif kind == "learning":
            sizes = DECODERS["2->64->256->784"]
            there, ref = spaces(sizes, dtype, device)
            for n in (1000, 5000):
                n = max(8, n // scale)
                codes = torch.randn(n, 2, generator=gen, dtype=F64).numpy()
                seconds = timed(lambda: pairwise_geodesic_distances(there, codes, progress=False),
                                device, repeat=1)
                check = _diff(pairwise_geodesic_distances(there, codes[:6], progress=False),
                              pairwise_geodesic_distances(ref, codes[:6], progress=False))
                rows.append(["2->64->256->784", str(dtype)[6:], n, f"{seconds:.1f} s",
                             f"{n * (n - 1) / 2 / seconds:,.0f}", check])
            headers = ["decoder", "dtype", "codes", "exact matrix", "pairs / s", "max |diff| vs CPU f64"]
        else:
            raise ValueError(f"unknown benchmark kind {kind!r}")
    print_table(headers, rows, title=f"{kind} ({header(device)})")
    return 0
