"""Our integrators against torchdiffeq's on the exp and transport workloads.

For 64 seeded vectors on the reference decoders, the same ODE (the geodesic
equation of :mod:`geomstats_gen.geometry.equations`, and the joint geodesic
+ transport equation) is integrated over ``t in [0, 1]`` by:

- ``geomstats_gen.geometry.integrators.dopri5`` against
  ``torchdiffeq.odeint(method="dopri5")`` at the same ``rtol``/``atol``;
- ``geomstats_gen.geometry.integrators.rk4`` against
  ``torchdiffeq.odeint(method="rk4")`` (3/8 rule) with the same step.

Printed: time per vector, the ratio torchdiffeq / ours (> 1: ours faster),
the number of field evaluations and the largest difference of the end
points. One run, interleaved best of 3, one torch thread.

Usage::

    pip install torchdiffeq      # optional; the script is skipped without it
    python benchmarks/bench_integrators.py [--quick]
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402
import torchdiffeq  # noqa: E402  (optional: run.py skips the script without it)

import geomstats_gen  # noqa: E402,F401
from _timing import CountedField, format_seconds, interleaved_best, print_table  # noqa: E402
from bench_geodesics import make_decoder, sample_pairs  # noqa: E402
from geomstats_gen.core.chart import DecoderChart  # noqa: E402
from geomstats_gen.geometry.equations import (  # noqa: E402
    geodesic_field,
    joint_geodesic_transport_field,
)
from geomstats_gen.geometry.adaptive import dopri5  # noqa: E402
from geomstats_gen.geometry.integrators import rk4  # noqa: E402

F64, F32 = torch.float64, torch.float32
DECODERS = [
    ("MLP 2->64->256->784 f32", [2, 64, 256, 784], F32),
    ("sphere chart r=1 f64", None, F64),
]


def _flat(field, sizes):
    """A tuple field as torchdiffeq's ``f(t, y)`` on the concatenated state."""

    def f(t, y):
        parts = torch.split(y, sizes, dim=-1)
        return torch.cat(field(float(t), parts), dim=-1)

    return f


def _workloads(chart, z, v, w, n_steps):
    dim = z.shape[-1]
    f64 = z.dtype == F64
    rtol, atol = (1e-10, 1e-11) if f64 else (1e-6, 1e-7)
    times = torch.tensor([0.0, 1.0], dtype=z.dtype)
    geo = geodesic_field(chart)
    joint = joint_geodesic_transport_field(chart)
    grid = torch.linspace(0.0, 1.0, n_steps + 1, dtype=z.dtype)

    def ours_dopri():
        field = CountedField(geo)
        end, _ = dopri5(field, (z, v), rtol, atol, 1000)
        return end, field.calls

    def theirs_dopri():
        field = CountedField(_flat(geo, [dim, dim]))
        y = torchdiffeq.odeint(field, torch.cat([z, v], -1), times, method="dopri5",
                               rtol=rtol, atol=atol)
        return y[-1, :, :dim], field.calls

    def ours_rk4():
        field = CountedField(joint)
        _, _, out = rk4(field, (z, v, w), n_steps)
        return out, field.calls

    def theirs_rk4():
        field = CountedField(_flat(joint, [dim, dim, dim]))
        y = torchdiffeq.odeint(field, torch.cat([z, v, w], -1), grid, method="rk4")
        return y[-1, :, 2 * dim:], field.calls

    return [("exp, dopri5", ours_dopri, theirs_dopri),
            ("transport, rk4", ours_rk4, theirs_rk4)]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="16 vectors, 1 repeat")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    n_vec, repeat = (16, 1) if args.quick else (64, 3)
    rows = []
    with torch.no_grad():
        for name, sizes, dtype in DECODERS:
            chart = DecoderChart(make_decoder(sizes, dtype), 2 if sizes is None else sizes[0])
            a, b = sample_pairs(sizes, n_vec)
            z = a.to(dtype)
            v = (0.5 * (b - a)).to(dtype)
            w = torch.roll(v, 1, dims=-1)
            for label, ours, theirs in _workloads(chart, z, v, w, n_steps=20):
                ours()  # first-call overheads, untimed
                (t_ours, t_theirs), ((out_o, calls_o), (out_t, calls_t)) = interleaved_best(
                    [ours, theirs], repeat
                )
                diff = float((out_o - out_t).abs().max())
                rows.append([name, label, format_seconds(t_ours / n_vec),
                             format_seconds(t_theirs / n_vec), f"{t_theirs / t_ours:.2f}x",
                             f"{calls_o} / {calls_t}", f"{diff:.1e}"])
    print(f"torchdiffeq {torchdiffeq.__version__}, torch {torch.__version__}, 1 thread, "
          f"{n_vec} vectors")
    print_table(["decoder", "workload", "ours / vector", "torchdiffeq / vector",
                 "torchdiffeq / ours", "field calls (ours / theirs)", "max |diff|"], rows)


if __name__ == "__main__":
    main()
