"""The augmented decoders cost about the sum of their parts.

For each wrapper of :mod:`geomstats_gen.augmented`, the time of
``metric_matrix`` and of ``log`` on the wrapped manifold against the sum of
the times on its parts (each part alone as a manifold), on the reference
MLP shapes. One run, best of 3, interleaved, one torch thread; a ratio near 1
(or below) is the target.

Usage::

    python benchmarks/bench_augmented.py [--quick]
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402

import geomstats_gen  # noqa: E402,F401
from _timing import format_seconds, interleaved_best, print_table  # noqa: E402
from geomstats_gen import (  # noqa: E402
    EnsembleDecoder,
    FisherRaoDecoder,
    GeneratedManifold,
    StochasticDecoder,
    make_mlp,
)

F32 = torch.float32


def _cases():
    mean = make_mlp([2, 64, 256, 784], seed=0, dtype=F32)
    std = torch.nn.Sequential(make_mlp([2, 64, 784], seed=1, dtype=F32), torch.nn.Softplus())
    probs = torch.nn.Sequential(make_mlp([2, 64, 256, 784], seed=2, dtype=F32),
                                torch.nn.Sigmoid())
    members = [make_mlp([2, 64, 256, 784], seed=3 + k, dtype=F32) for k in range(3)]
    return [
        ("stochastic (mu, sigma)", StochasticDecoder(mean, std), [mean, std]),
        ("Fisher-Rao Bernoulli", FisherRaoDecoder(probs, "bernoulli"), [probs]),
        ("ensemble of 3", EnsembleDecoder(members), members),
    ]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer points and pairs")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    n_points, n_pairs = (200, 4) if args.quick else (1000, 16)
    gen = torch.Generator().manual_seed(0)
    z = torch.randn(n_points, 2, generator=gen, dtype=torch.float64)
    a, b = torch.randn(2, n_pairs, 2, generator=gen, dtype=torch.float64)
    rows = []
    for name, wrapper, parts in _cases():
        spaces = [GeneratedManifold(wrapper, 2)] + [GeneratedManifold(p, 2) for p in parts]
        for label, call in (
            (f"metric_matrix ({n_points} points)", lambda s: s.metric.metric_matrix(z)),
            (f"log ({n_pairs} pairs)", lambda s: s.metric.log(b, a)),
        ):
            calls = [lambda s=s: call(s) for s in spaces]
            for fn in calls:  # first-call overheads, untimed
                fn()
            times, _ = interleaved_best(calls, 3)
            total = sum(times[1:])
            rows.append([name, label, format_seconds(times[0]), format_seconds(total),
                         f"{times[0] / total:.2f}"])
    print(f"torch {torch.__version__}, 1 thread, float32 decoders (reference MLP shapes)")
    print_table(["wrapper", "call", "wrapped", "sum of the parts", "wrapped / parts"], rows)


if __name__ == "__main__":
    main()
