"""Log maps beside GEORCE (Rygaard & Hauberg 2025) on the same decoders and pairs.

GEORCE solves the discrete geodesic control problem in JAX. This script runs
it beside our log solver on the reference decoders
(``make_mlp([2, 64, 256, 784])`` and ``make_mlp([10, 256, 512, 784])``,
tanh, seed 0: the same weights, exported to JAX), on the same seeded pairs
as ``bench_geodesics.py``, in float32 and float64:

- GEORCE: ``GEORCE(RiemannianManifold(F=decoder), T, tol)`` with its
  defaults (``T=100``, ``tol=1e-4``, ``max_iter=1000``), one ``jit``-compiled
  call per pair (a ``vmap`` over pairs runs every pair's loops until the
  slowest pair's end); the first call (tracing and XLA compilation plus one
  run) is reported apart from the best of two later passes over the pairs. Its
  curves' lengths are measured by decoding the latent polygon through its
  nodes on 16 points per segment with the float64 decoder.
- ours: ``DiscreteEnergyLogSolver`` at its defaults, and at looser settings
  for a comparison at equal median error.

Errors are relative to the tight references of ``bench_geodesics.py`` (our
solver at ``rtol=1e-12`` on the float64 decoder). Not a dependency of the project: GEORCE is not
packaged. Point ``--georce`` at a directory that provides GEORCE's
``geodesics.georce.GEORCE`` and ``manifolds.RiemannianManifold`` (a
checkout of github.com/FrederikMR/georce whose ``setup.py``, a module of
imports, is trimmed to its JAX imports, since the full one imports
TensorFlow, Haiku, Optax and gdown) and ``--jax`` at a ``sys.path`` entry
with ``jax`` and ``jaxlib`` (e.g. ``pip install --target DIR jax jaxlib``).
JAX runs in a child process.

Usage::

    python benchmarks/bench_georce.py --georce DIR [--jax DIR] [--pairs N]
        [--threads T] [--T 100] [--tol 1e-4]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import geomstats_gen  # noqa: E402,F401  (selects Geomstats' pytorch backend first)
import numpy as np  # noqa: E402
import torch  # noqa: E402
from _timing import print_table  # noqa: E402
from bench_geodesics import (  # noqa: E402  (the same pairs and references)
    MANIFOLDS,
    fmt_err,
    reference_lengths,
    rel_errors,
    sample_pairs,
)

from geomstats_gen import DecoderChart, make_mlp  # noqa: E402
from geomstats_gen.geometry.log import DiscreteEnergyLogSolver  # noqa: E402

DECODERS = {"MLP 2->64->256->784": [2, 64, 256, 784], "MLP 10->256->512->784": [10, 256, 512, 784]}
#: Segments of the references, as in bench_geodesics.
REFERENCE_NODES = {label: nodes for label, _, _, nodes in MANIFOLDS}
#: Our looser settings, for the comparison at equal median error.
LOOSE = {"n_nodes": 4, "rtol": 1e-4}

CHILD = r"""
import json, sys, time
import numpy as np
import jax
args = json.loads(sys.argv[1])
if args["dtype"] == "float64":
    jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp
from jax import jit, vmap
from manifolds import RiemannianManifold
from geodesics.georce import GEORCE
data = np.load(args["npz"])
dt = jnp.float64 if args["dtype"] == "float64" else jnp.float32
n_layers = int(data["n_layers"])
Ws = [jnp.asarray(data[f"W{i}"], dtype=dt) for i in range(n_layers)]
bs = [jnp.asarray(data[f"b{i}"], dtype=dt) for i in range(n_layers)]
def F(z):
    x = z
    for i in range(n_layers):
        x = Ws[i] @ x + bs[i]
        if i < n_layers - 1:
            x = jnp.tanh(x)
    return x
solver = GEORCE(RiemannianManifold(F=F), T=args["T"], tol=args["tol"], max_iter=1000)
one = jit(lambda a, b: solver(a, b))
a, b = jnp.asarray(data["a"], dtype=dt), jnp.asarray(data["b"], dtype=dt)
start = time.perf_counter(); jax.block_until_ready(one(a[0], b[0])); first = time.perf_counter() - start
def solve_all():
    outs = [one(a[i], b[i]) for i in range(a.shape[0])]
    return [jnp.stack(x) for x in zip(*jax.block_until_ready(outs))]
best = float("inf")
for _ in range(2):
    start = time.perf_counter(); out = solve_all(); best = min(best, time.perf_counter() - start)
np.save(args["out"], np.asarray(out[0], dtype=np.float64))
print(json.dumps({"first": first, "best": best, "iterations": float(np.mean(np.asarray(out[2]))),
                  "max_iterations": int(np.max(np.asarray(out[2])))}))
"""


def polygon_length(decoder, nodes, per_segment=16):
    """Decoded length of latent polygons ``[n, K, d]``, on ``per_segment`` points per segment."""
    n, _, dim = nodes.shape
    s = torch.linspace(0, 1, per_segment + 1, dtype=nodes.dtype)[:-1]
    fine = nodes[:, :-1, None] + s[None, None, :, None] * (nodes[:, 1:, None] - nodes[:, :-1, None])
    fine = torch.cat([fine.reshape(n, -1, dim), nodes[:, -1:]], dim=1)
    with torch.no_grad():
        out = decoder(fine.reshape(-1, dim)).reshape(n, fine.shape[1], -1)
    return torch.linalg.vector_norm(out[:, 1:] - out[:, :-1], dim=-1).sum(-1)


def run_georce(args, sizes, dtype, a, b, workdir):
    decoder = make_mlp(sizes, activation="tanh", seed=0, dtype=torch.float64)
    linears = [m for m in decoder if isinstance(m, torch.nn.Linear)]
    npz = os.path.join(workdir, "problem.npz")
    np.savez(
        npz, a=a.numpy(), b=b.numpy(), n_layers=len(linears),
        **{f"W{i}": m.weight.detach().numpy() for i, m in enumerate(linears)},
        **{f"b{i}": m.bias.detach().numpy() for i, m in enumerate(linears)},
    )
    out = os.path.join(workdir, "curves.npy")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (args.jax, args.georce) if p)
    spec = json.dumps({"npz": npz, "out": out, "dtype": dtype, "T": args.T, "tol": args.tol})
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, spec], env=env, cwd=args.georce,
        capture_output=True, text=True, timeout=args.limit, check=False,
    )
    if proc.returncode:
        raise RuntimeError(proc.stderr.strip().splitlines()[-1])
    stats = json.loads(proc.stdout.strip().splitlines()[-1])
    curves = torch.as_tensor(np.load(out))
    return stats, polygon_length(decoder, curves)


def run_ours(sizes, dtype, a, b, settings):
    chart = DecoderChart(make_mlp(sizes, activation="tanh", seed=0, dtype=dtype), sizes[0])
    solver = DiscreteEnergyLogSolver(chart, **settings)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        solver.solve(b[:2], a[:2])
        best = float("inf")
        for _ in range(2):
            start = time.perf_counter()
            result = solver.solve(b, a)
            best = min(best, time.perf_counter() - start)
    return best, result.length.to(torch.float64)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--georce", required=True, help="directory with GEORCE's modules")
    parser.add_argument("--jax", default=None, help="sys.path entry holding jax and jaxlib")
    parser.add_argument("--pairs", type=int, default=64)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (ours)")
    parser.add_argument("--T", type=int, default=100, help="GEORCE's grid points")
    parser.add_argument("--tol", type=float, default=1e-4, help="GEORCE's gradient tolerance")
    parser.add_argument("--limit", type=float, default=1800.0, help="seconds per GEORCE run")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    rows = []
    with tempfile.TemporaryDirectory() as workdir:
        for label, sizes in DECODERS.items():
            a, b = sample_pairs(sizes, args.pairs)
            reference, ref_time, ref_note = reference_lengths(sizes, a, b, REFERENCE_NODES[label])

            def errors(length, reference=reference):
                return fmt_err(rel_errors(length, reference))

            for dtype_name, dtype in (("float32", torch.float32), ("float64", torch.float64)):
                try:
                    stats, length = run_georce(args, sizes, dtype_name, a, b, workdir)
                    georce = stats["best"] / args.pairs
                    rows.append([
                        label, f"GEORCE T={args.T} tol={args.tol:g}", dtype_name,
                        f"{1e3 * georce:.2f} ms", f"{stats['first']:.1f} s", errors(length),
                        f"its {stats['iterations']:.1f} mean, {stats['max_iterations']} max", "",
                    ])
                except (RuntimeError, subprocess.TimeoutExpired, OSError) as exc:
                    georce = None
                    rows.append([label, "GEORCE", dtype_name, "-", "-", "-", "", str(exc)[:60]])
                for name, settings in (("ours, defaults", {}), (f"ours, {LOOSE}", LOOSE)):
                    seconds, length = run_ours(sizes, dtype, a, b, settings)
                    ours = seconds / args.pairs
                    ratio = "" if georce is None else f"{georce / ours:.1f}x"
                    rows.append([
                        label, name, dtype_name, f"{1e3 * ours:.2f} ms", "-", errors(length),
                        "", ratio,
                    ])
            print(f"# reference for {label}: {ref_note}, {ref_time:.1f} s")
    print(
        f"Log maps on {args.pairs} seeded pairs; ours with torch threads "
        f"{torch.get_num_threads()}, GEORCE (JAX, XLA's own threads) in a child process"
    )
    print_table(
        ["decoder", "system", "dtype", "log /pair", "compile+first", "len rel err (med / max)",
         "notes", "GEORCE/ours"],
        rows,
    )


if __name__ == "__main__":
    main()
