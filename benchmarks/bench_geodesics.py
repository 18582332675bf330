"""Geodesics (log, exp, length accuracy): geomstats_gen vs StochMan vs stock Geomstats.

For random pairs of latent points (seeded; standard normal latent codes, as
drawn from a VAE prior) on three manifolds

* the reference decoder ``make_mlp([2, 64, 256, 784], "tanh", seed=0)``,
* a ``10->256->512->784`` tanh decoder (``seed=0``),
* the sphere chart ``SphereChart(1.0)`` (pairs with theta in [0.7, 2.4] and
  phi in [-1.2, 1.2]; exact distance ``r arccos(<g(p), g(q)> / r^2)``),

prints one table with, for each system: the log map's time per pair, the exp
map's time per vector (exp of the computed log vectors, batched), and the
error of the geodesic length against a tight reference (for the MLPs: our own
solver with ``n_nodes=128`` and extrapolation on the float64 decoder; for the
sphere: the closed form). The systems:

1. geomstats_gen with its default settings, on the float32 decoder (what
   users have) and on the float64 decoder; also ``max |exp(log q) - q|``
   (latent coordinates) and the asymmetry ``|d(a, b) - d(b, a)| / d(a, b)``;
2. StochMan 0.3.0's ``connecting_geodesic`` (an ``EmbeddedManifold`` whose
   ``embed`` is the decoder, so ``curve_energy``/``curve_length`` decode the
   curve, as in StochMan's README), batched over all the pairs, with its
   default cubic spline (``num_nodes=5``, 150 Adam steps on 20 points) and a
   "fine" setting (``num_nodes=17``, 600 steps on 64 points). Its curves'
   lengths are measured on a 2049-point grid with the float64 decoder.
   StochMan's exp map needs ``torchdiffeq`` and the ``torch.solve`` removed in
   torch 2.x; it is tried and its error reported;
3. Geomstats' stock ``PullbackMetric`` on a plain ``ImmersedSet`` calling the
   float64 decoder, on one pair, each call in a subprocess with a time limit
   (skipped on the 10-D decoder: its Hessians are per output and per point).

Then, per row: one pair per call (``metric.dist``, the mean of 8 calls;
target: at most 3x the batched cost per pair), the exp per vector (target:
at most 1.5x the log per pair), parallel transport of a random vector along
the computed logs (``parallel_transport(w, a, direction=log)``; target: at
most 2x the exp); the ratios of our log time per pair to StochMan's at its
defaults in the same dtype (float32 and float64 on the MLPs; target: >= 10x
faster at equal or smaller length error) and to stock Geomstats' (target:
>= 10,000x), and the time of ``FrechetMean(space).fit(X)`` for 100
standard normal points on the float64 10-D decoder (target: under 5 s).

Our log, exp, transport and single-pair timings are interleaved, best of
three rounds (their ratios are the targets); the peers' and the references'
heavy solves run once each (they take seconds). The first call of every
code path is made on two pairs beforehand, so that one-time overheads
(lazy imports, ``torch.func`` set-up) are not timed.

Usage::

    python benchmarks/bench_geodesics.py [--quick] [--pairs N] [--threads T]
        [--stock-limit SECONDS] [--no-stock] [--no-float64]
"""

import argparse
import io
import json
import logging
import os
import subprocess
import sys
import time
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import geomstats_gen  # noqa: E402,F401  (selects Geomstats' pytorch backend first)
import torch  # noqa: E402
from _timing import format_seconds, interleaved_best, print_table, timed_call  # noqa: E402

from geomstats_gen import GeneratedManifold, SphereChart, make_mlp  # noqa: E402

F32, F64 = torch.float32, torch.float64

MANIFOLDS = [
    # label, layer sizes (None: the sphere chart), stock Geomstats run?,
    # reference n_nodes (the 10-D reference with 128 nodes takes ~5 minutes
    # for 64 pairs on 2 busy cores; 64 nodes + extrapolation is ~1e-10 off)
    ("MLP 2->64->256->784", [2, 64, 256, 784], True, 128),
    ("MLP 10->256->512->784", [10, 256, 512, 784], False, 64),
    ("sphere chart r=1", None, True, None),
]
STOCHMAN_MISSING = "StochMan not installed (pip install stochman==0.3.0)"
#: (label, CubicSpline num_nodes, Adam max_iter, eval_grid); None: the
#: library's own ``connecting_geodesic`` defaults.
STOCHMAN_SETTINGS = [
    ("default", None),
    ("fine", (17, 600, 64)),
]
LENGTH_GRID = 2049
TARGET_STOCHMAN = 10.0
TARGET_STOCK = 10_000.0
TARGET_FRECHET_S = 5.0
#: Coarse nodes of our fast setting (resolutions 4, 8 and 16 segments,
#: ``rtol=1e-4``): about the length error of StochMan's default on the MLPs.
FAST_NODES = 4
#: Pairs solved one per call for the per-call overhead.
N_SINGLE = 8
ROUNDS = 3  # interleaved rounds of our log, exp, transport and single-pair timings
TARGET_SINGLE = 3.0
TARGET_EXP = 1.5
TARGET_TRANSPORT = 2.0


# ----------------------------------------------------------------------
# Problems
# ----------------------------------------------------------------------
def make_decoder(sizes, dtype):
    if sizes is None:
        return SphereChart(1.0)
    return make_mlp(sizes, activation="tanh", seed=0, dtype=dtype)


def latent_dim_of(sizes):
    return 2 if sizes is None else sizes[0]


def sample_pairs(sizes, n_pairs, seed=0):
    """Seeded float64 pairs ``(a, b)``, shape ``[n, d]`` each."""
    gen = torch.Generator().manual_seed(seed)
    dim = latent_dim_of(sizes)
    if sizes is None:
        lo = torch.tensor([0.7, -1.2], dtype=F64)
        hi = torch.tensor([2.4, 1.2], dtype=F64)
        a = lo + (hi - lo) * torch.rand(n_pairs, 2, generator=gen, dtype=F64)
        b = lo + (hi - lo) * torch.rand(n_pairs, 2, generator=gen, dtype=F64)
        return a, b
    a = torch.randn(n_pairs, dim, generator=gen, dtype=F64)
    b = torch.randn(n_pairs, dim, generator=gen, dtype=F64)
    return a, b


def sphere_distance(a, b, radius=1.0):
    chart = SphereChart(radius)
    ga, gb = chart(a), chart(b)
    cos = ((ga * gb).sum(-1) / radius**2).clamp(-1.0, 1.0)
    return radius * torch.arccos(cos)


def reference_lengths(sizes, a, b, ref_nodes):
    """Tight reference distances (float64) and the seconds they took."""
    if sizes is None:
        return sphere_distance(a, b), 0.0, "closed form"
    space = GeneratedManifold(make_decoder(sizes, F64), latent_dim_of(sizes))
    # Three resolutions from ref_nodes / 4 up (the finest has ref_nodes
    # segments), refined further where rtol=1e-12 is not met.
    space.metric.log_solver.n_nodes = ref_nodes // 4
    space.metric.log_solver.rtol = 1e-12
    space.metric.log_solver.max_nodes = ref_nodes
    result, seconds = timed_call(lambda: space.metric.connecting_geodesic(b, a, warn=False))
    note = f"ours up to {ref_nodes} segments, rtol 1e-12, float64 decoder"
    if not bool(result.converged.all()):
        note += f" ({int((~result.converged).sum())} unconverged)"
    return result.length, seconds, note


def rel_errors(lengths, ref):
    err = (lengths.to(F64) - ref).abs() / ref.clamp_min(1e-300)
    return err


def fmt_err(err):
    """Median and max of relative errors."""
    if err is None or err.numel() == 0 or not bool(torch.isfinite(err).all()):
        return "-"
    return f"{float(err.median()):.1e} / {float(err.max()):.1e}"


def straight_line_lengths(sizes, a, b):
    """Lengths of the decoded latent segments [a, b] (float64, fine grid)."""
    decoder = make_decoder(sizes, F64)
    t = torch.linspace(0, 1, LENGTH_GRID, dtype=F64)[None, :, None]
    pts = a[:, None] + t * (b - a)[:, None]
    with torch.no_grad():
        emb = decoder(pts.reshape(-1, pts.shape[-1])).reshape(pts.shape[0], LENGTH_GRID, -1)
    return torch.linalg.vector_norm(emb[:, 1:] - emb[:, :-1], dim=-1).sum(-1)


# ----------------------------------------------------------------------
# geomstats_gen
# ----------------------------------------------------------------------
def bench_ours(sizes, dtype, a, b, ref, n_asym, n_nodes=None):
    """Times and errors of our log and exp on all the pairs."""
    dim = latent_dim_of(sizes)
    space = GeneratedManifold(make_decoder(sizes, dtype), dim)
    metric = space.metric
    if n_nodes is not None:
        metric.log_solver.n_nodes = n_nodes
        metric.log_solver.rtol = 1e-4
    n_pairs = a.shape[0]
    # Inputs in the decoder's dtype (for the sphere chart, which has no
    # weights, the dtype of the inputs decides where it computes).
    a_in, b_in = a.to(dtype), b.to(dtype)
    # Warm-up: first-call overheads of every code path, on two pairs.
    warm = metric.connecting_geodesic(b_in[:2], a_in[:2], warn=False)
    metric.exp(warm.log, a_in[:2])

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        moved = torch.randn(a_in.shape, generator=torch.Generator().manual_seed(1), dtype=F64)
        moved = moved.to(dtype)
        metric.parallel_transport(moved[:2], a_in[:2], direction=warm.log)
        # The exp and the transport take the computed logs; the four
        # timings are interleaved, best of ROUNDS rounds (the ratios between
        # them are the targets; one timing each moved them by up to 30 % from
        # run to run on a shared 2-core machine).
        result = metric.connecting_geodesic(b_in, a_in)
        (log_s, exp_s, transport_s, single_s), (_, end, _, _) = interleaved_best(
            [
                lambda: metric.connecting_geodesic(b_in, a_in),
                lambda: metric.exp(result.log, a_in),
                lambda: metric.parallel_transport(moved, a_in, direction=result.log),
                # One pair per call (Geomstats' estimators call dist pair by pair).
                lambda: [metric.dist(b_in[i], a_in[i]) for i in range(N_SINGLE)],
            ],
            ROUNDS,
        )
        back = metric.connecting_geodesic(a_in[:n_asym], b_in[:n_asym], warn=False)
    notes = []
    n_unconv = int((~result.converged).sum())
    if n_unconv:
        its = result.iterations[~result.converged]
        notes.append(
            f"{n_unconv} unconverged ({int(its.min())}-{int(its.max())} LM its; "
            f"others {int(result.iterations[result.converged].max()) if n_unconv < n_pairs else 0}"
            " max)"
        )
    if any("exp" in str(w.message) and "n_steps" in str(w.message) for w in caught):
        notes.append("exp hit n_steps")  # once, whatever the rounds
    d_ab, d_ba = result.length[:n_asym].to(F64), back.length.to(F64)
    asym = float(((d_ab - d_ba).abs() / d_ab.clamp_min(1e-300)).max())
    roundtrip = float((end.to(F64) - b).abs().max())
    return {
        "log": log_s / n_pairs,
        "exp": exp_s / n_pairs,
        "transport": transport_s / n_pairs,
        "single": single_s / N_SINGLE,
        "err": rel_errors(result.length, ref),
        "roundtrip": roundtrip,
        "asym": asym,
        "log_vec": result.log.to(F64),
        "notes": "; ".join(notes),
        "mean_its": float(result.iterations.to(F64).mean()),
    }


# ----------------------------------------------------------------------
# StochMan
# ----------------------------------------------------------------------
def stochman_available():
    try:
        import stochman  # noqa: F401
    except ImportError:
        return None
    return getattr(stochman, "__version__", "?")


def make_stochman_manifold(decoder):
    from stochman.manifold import EmbeddedManifold

    class DecoderManifold(EmbeddedManifold):
        """StochMan manifold whose embedding is the decoder (README pattern)."""

        def __init__(self, net):
            self.net = net

        def embed(self, points, jacobian=False):
            if jacobian:
                raise NotImplementedError("not needed by connecting_geodesic")
            shape = points.shape
            out = self.net(points.reshape(-1, shape[-1]))
            return out.reshape(*shape[:-1], out.shape[-1])

    return DecoderManifold(decoder)


def stochman_curve_lengths(curve, decoder64):
    """Lengths of StochMan curves, measured finely with the float64 decoder."""
    with torch.no_grad():
        t = torch.linspace(0, 1, LENGTH_GRID, dtype=curve.begin.dtype)
        pts = curve(t)
        if pts.ndim == 2:
            pts = pts[None]
        emb = decoder64(pts.to(F64).reshape(-1, pts.shape[-1])).reshape(
            pts.shape[0], pts.shape[1], -1
        )
        return torch.linalg.vector_norm(emb[:, 1:] - emb[:, :-1], dim=-1).sum(-1)


def bench_stochman(sizes, dtype, a, b, ref, setting):
    """StochMan's connecting_geodesic, batched over the pairs."""
    from stochman.curves import CubicSpline
    from stochman.geodesic import geodesic_minimizing_energy

    decoder = make_decoder(sizes, dtype)
    decoder64 = make_decoder(sizes, F64)
    manifold = make_stochman_manifold(decoder)
    a_in, b_in = a.to(dtype), b.to(dtype)
    n_pairs = a.shape[0]

    def solve(p0, p1):
        if setting is None:
            curve, success = manifold.connecting_geodesic(p0, p1, CubicSpline(p0, p1))
        else:
            num_nodes, max_iter, grid = setting
            curve = CubicSpline(p0, p1, num_nodes=num_nodes)
            success = geodesic_minimizing_energy(
                curve, manifold, max_iter=max_iter, eval_grid=grid
            )
        return curve, success

    solve(a_in[:2], b_in[:2])  # warm-up
    (curve, _success), seconds = timed_call(lambda: solve(a_in, b_in))
    lengths = stochman_curve_lengths(curve, decoder64)
    # Its log: the initial velocity of the curve (not timed; not rescaled).
    exp_note = ""
    try:
        import stochman.manifold  # noqa: F401

        with torch.no_grad():
            v0 = curve.deriv(torch.zeros(1, dtype=curve.begin.dtype))[:, 0]
        manifold.expmap(a_in[:1], v0[:1])
        exp_note = "expmap ran"
    except Exception as err:  # noqa: BLE001 - reported in the table
        exp_note = f"expmap fails: {type(err).__name__}: {str(err).splitlines()[0][:60]}"
    return {
        "log": seconds / n_pairs,
        "err": rel_errors(lengths, ref),
        "exp_note": exp_note,
    }


# ----------------------------------------------------------------------
# Stock Geomstats, in a subprocess with a time limit
# ----------------------------------------------------------------------
def stock_child(spec):
    """Child mode: one stock log or exp; prints a JSON line."""
    if spec.get("threads"):
        torch.set_num_threads(spec["threads"])
    from geomstats_gen.testing import StockPullbackSpace

    sizes = spec["sizes"]
    dim = latent_dim_of(sizes)
    decoder = make_decoder(sizes, F64)
    embedding_dim = 3 if sizes is None else sizes[-1]
    space = StockPullbackSpace(decoder, dim, embedding_dim)
    a = torch.tensor(spec["a"], dtype=F64)
    space.metric.metric_matrix(a)  # warm-up of the autodiff machinery
    if spec["op"] == "log":
        b = torch.tensor(spec["b"], dtype=F64)
        out, seconds = timed_call(lambda: space.metric.log(b, a))
    else:
        v = torch.tensor(spec["v"], dtype=F64)
        out, seconds = timed_call(lambda: space.metric.exp(v, a))
    print("STOCK_RESULT " + json.dumps({"seconds": seconds, "out": out.tolist()}), flush=True)


def run_stock(spec, limit):
    """Run one stock call in a child process; (seconds or None, out, note)."""
    cmd = [sys.executable, os.path.abspath(__file__), "--stock-child", json.dumps(spec)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=limit, check=False)
    except subprocess.TimeoutExpired:
        return None, None, f"> {limit:.0f} s"
    for line in proc.stdout.splitlines():
        if line.startswith("STOCK_RESULT "):
            data = json.loads(line[len("STOCK_RESULT ") :])
            return data["seconds"], torch.tensor(data["out"], dtype=F64), ""
    tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
    return None, None, f"failed: {tail[0][:80]}"


def bench_stock(sizes, a, b, ours_log, ref, limit, threads):
    """Stock log and exp on the first pair."""
    base = {"sizes": sizes, "a": a[0].tolist(), "threads": threads}
    log_s, log_out, log_note = run_stock({**base, "op": "log", "b": b[0].tolist()}, limit)
    exp_s, exp_out, exp_note = run_stock({**base, "op": "exp", "v": ours_log[0].tolist()}, limit)
    err = None
    if log_out is not None:
        space = GeneratedManifold(make_decoder(sizes, F64), latent_dim_of(sizes))
        length = space.metric.norm(log_out, a[0])
        err = rel_errors(length.reshape(1), ref[:1])
    exp_err = None
    if exp_out is not None:
        exp_err = float((exp_out - b[0]).abs().max())
    return {
        "log": log_s,
        "log_note": log_note,
        "exp": exp_s,
        "exp_note": exp_note,
        "err": err,
        "exp_err": exp_err,
    }


# ----------------------------------------------------------------------
# Frechet mean
# ----------------------------------------------------------------------
def bench_frechet(n_points, dtype):
    from geomstats.learning.frechet_mean import FrechetMean

    sizes = [10, 256, 512, 784]
    space = GeneratedManifold(make_decoder(sizes, dtype), sizes[0])
    gen = torch.Generator().manual_seed(1)
    X = torch.randn(n_points, sizes[0], generator=gen, dtype=F64)
    estimator = FrechetMean(space)
    estimator.optimizer.verbose = True  # logs "n_iter: ..." at the end
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            _, seconds = timed_call(lambda: estimator.fit(X))
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
    text = stream.getvalue()
    n_iter = "?"
    for line in text.splitlines():
        if "n_iter:" in line:
            n_iter = line.split("n_iter:")[1].split(",")[0].strip()
    unconverged = sum("did not converge" in str(w.message) for w in caught)
    max_iter_hit = "Maximum number of iterations" in text
    return seconds, n_iter, unconverged, max_iter_hit


# ----------------------------------------------------------------------
# Main
# ----------------------------------------------------------------------
def progress(message, start):
    """A progress line on stderr (the table goes to stdout)."""
    print(f"[{time.perf_counter() - start:7.1f} s] {message}", file=sys.stderr, flush=True)


def fmt_time(seconds, note=""):
    if note:
        return note
    if seconds is None:
        return "-"
    return format_seconds(seconds)


def stochman_ratio(mine, sm, stochman_version):
    """StochMan's log time over ours, against its fastest setting whose median
    length error is at least ours (so ours is as accurate or better); if every
    setting is more accurate, against the most accurate one, marked NO."""
    if stochman_version is None:
        return STOCHMAN_MISSING
    my_err = float(mine["err"].median())
    done = [(lbl, r) for lbl, r in sm.items() if "log" in r]
    worse = [(lbl, r) for lbl, r in done if float(r["err"].median()) >= my_err]
    if worse:
        lbl, r = min(worse, key=lambda item: item[1]["log"])
        ratio = r["log"] / mine["log"]
        return f"{ratio:,.1f}x vs {lbl} ({'yes' if ratio >= TARGET_STOCHMAN else 'NO'})"
    if done:
        lbl, r = min(done, key=lambda item: float(item[1]["err"].median()))
        return f"{r['log'] / mine['log']:,.1f}x vs {lbl} (NO: theirs more accurate)"
    return "-"


def per_call_cell(cost, base, target):
    """A time with its ratio to ``base`` and whether it meets ``target``."""
    ratio = cost / base
    return f"{fmt_time(cost)} ({ratio:.1f}x {'yes' if ratio <= target else 'NO'})"


def ratio_cell(slow, fast, target, slow_note=""):
    if fast is None or fast <= 0:
        return "-"
    if slow is None:
        if slow_note.startswith(">"):
            bound = float(slow_note[1:].split()[0])
            r = bound / fast
            return f"> {r:,.0f}x ({'yes' if r >= target else 'unknown'})"
        return "-"
    r = slow / fast
    return f"{r:,.1f}x ({'yes' if r >= target else 'NO'})"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="16 pairs, no stock Geomstats")
    parser.add_argument("--pairs", type=int, default=None, help="pairs per manifold (64)")
    parser.add_argument(
        "--subset",
        type=int,
        default=None,
        help="pairs for the slow extras: float64 rows, StochMan 'fine', asymmetry (16)",
    )
    parser.add_argument(
        "--threads", type=int, default=None, help="torch threads (default: torch's default)"
    )
    parser.add_argument(
        "--stock-limit", type=float, default=120.0, help="time limit of one stock call (s)"
    )
    parser.add_argument("--no-stock", action="store_true", help="skip stock Geomstats")
    parser.add_argument("--no-float64", action="store_true", help="skip our float64 rows")
    parser.add_argument(
        "--only", default=None, help="run only the manifolds whose label contains this text"
    )
    parser.add_argument("--stock-child", default=None, help=argparse.SUPPRESS)
    parser.add_argument(
        "--device", default=None,
        help="cpu, cuda or auto: the device throughput mode (benchmarks/_device_mode.py) "
        "instead of the comparisons",
    )
    args = parser.parse_args(argv)
    if args.device is not None:
        from _device_mode import run

        return run("geodesics", args.device, quick=args.quick)
    if args.stock_child is not None:
        stock_child(json.loads(args.stock_child))
        return
    if args.threads:
        torch.set_num_threads(args.threads)
    n_pairs = args.pairs or (16 if args.quick else 64)
    n_sub = args.subset or (8 if args.quick else 16)
    run_stock_rows = not (args.quick or args.no_stock)
    stochman_version = stochman_available()

    start = time.perf_counter()
    rows = []
    ref_notes = []
    for label, sizes, stock_ok, ref_nodes in MANIFOLDS:
        if args.only and args.only not in label:
            continue
        a, b = sample_pairs(sizes, n_pairs)
        k = min(n_sub, n_pairs)
        progress(f"{label}: reference", start)
        ref, ref_s, ref_note = reference_lengths(sizes, a, b, ref_nodes)
        ref_notes.append(f"{label}: {ref_note}" + (f", {ref_s:.1f} s" if ref_s else ""))
        is_mlp = sizes is not None
        dtypes = [F32, F64] if is_mlp else [F64]
        if is_mlp and args.no_float64:
            dtypes = [F32]
        user_dtype = F32 if is_mlp else F64

        ours = {}
        for dt in dtypes:
            progress(f"{label}: geomstats_gen {dt}", start)
            m = n_pairs
            ours[dt] = bench_ours(sizes, dt, a[:m], b[:m], ref[:m], n_asym=k)
            ours[dt]["n"] = m

        # StochMan in every dtype of ours at its defaults; its 'fine'
        # setting (minutes) in the user's dtype only.
        sm_by_dtype = {dt: {} for dt in dtypes}
        if stochman_version is not None:
            for dt in dtypes:
                for sm_label, setting in STOCHMAN_SETTINGS:
                    if setting is not None and dt != user_dtype:
                        continue
                    progress(f"{label}: StochMan {sm_label} {dt}", start)
                    m = n_pairs if setting is None else k
                    try:
                        found = bench_stochman(sizes, dt, a[:m], b[:m], ref[:m], setting)
                        found["n"] = m
                    except Exception as err:  # noqa: BLE001 - reported in the table
                        found = {"fail": f"{type(err).__name__}: {err}"[:90]}
                    sm_by_dtype[dt][sm_label] = found
        sm = sm_by_dtype[user_dtype]

        # Our fast setting (5 + 10 nodes, extrapolated): StochMan-level error.
        progress(f"{label}: geomstats_gen fast", start)
        fast = bench_ours(sizes, user_dtype, a, b, ref, n_asym=k, n_nodes=FAST_NODES)
        fast["n"] = n_pairs

        stock = None
        if run_stock_rows and stock_ok:
            progress(f"{label}: stock Geomstats", start)
            stock = bench_stock(
                sizes, a, b, ours[user_dtype]["log_vec"], ref, args.stock_limit, args.threads
            )

        # Ratios for the user's dtype row. StochMan: against its fastest
        # setting whose median length error is at least ours (equal or
        # smaller error for us); if every setting is more accurate than us,
        # against the most accurate one, marked NO.
        mine = ours[user_dtype]
        sm_ratios = {
            dt: stochman_ratio(ours[dt], sm_by_dtype[dt], stochman_version) for dt in dtypes
        }
        fast_ratio = stochman_ratio(fast, sm, stochman_version)
        stock_ratio = "-"
        if stock is not None:
            stock_ratio = ratio_cell(stock["log"], mine["log"], TARGET_STOCK, stock["log_note"])
        elif not run_stock_rows:
            stock_ratio = "skipped"
        else:
            stock_ratio = "skipped (10-D)"

        line_err = rel_errors(straight_line_lengths(sizes, a, b), ref)
        rows.append(
            [label, "(straight latent segment)", "float64", "-", "-", "-", "-",
             fmt_err(line_err), "-", "-", "", "", "no solve: how curved the problem is"]
        )
        for dt in dtypes:
            r = ours[dt]
            user = dt == user_dtype
            rows.append(
                [
                    label,
                    "geomstats_gen",
                    str(dt).replace("torch.", "") + (f" ({r['n']})" if r["n"] < n_pairs else ""),
                    fmt_time(r["log"]),
                    per_call_cell(r["single"], r["log"], TARGET_SINGLE),
                    per_call_cell(r["exp"], r["log"], TARGET_EXP),
                    per_call_cell(r["transport"], r["exp"], TARGET_TRANSPORT),
                    fmt_err(r["err"]),
                    f"{r['roundtrip']:.1e}",
                    f"{r['asym']:.1e}",
                    sm_ratios[dt],
                    stock_ratio if user else "",
                    (f"LM its {r['mean_its']:.1f} mean" + (f"; {r['notes']}" if r["notes"] else "")),
                ]
            )
        rows.append(
            [
                label,
                f"geomstats_gen n_nodes={FAST_NODES} rtol=1e-4",
                str(user_dtype).replace("torch.", ""),
                fmt_time(fast["log"]),
                per_call_cell(fast["single"], fast["log"], TARGET_SINGLE),
                per_call_cell(fast["exp"], fast["log"], TARGET_EXP),
                per_call_cell(fast["transport"], fast["exp"], TARGET_TRANSPORT),
                fmt_err(fast["err"]),
                f"{fast['roundtrip']:.1e}",
                f"{fast['asym']:.1e}",
                fast_ratio,
                "",
                f"LM its {fast['mean_its']:.1f} mean" + (f"; {fast['notes']}" if fast["notes"] else ""),
            ]
        )
        if stochman_version is None:
            rows.append(
                [label, "StochMan", "-", STOCHMAN_MISSING, "-", "-", "-", "-", "-", "-", "",
                 "", ""]
            )
        else:
            for (dt, sm_label), r in (
                ((dt, lbl), found) for dt in dtypes for lbl, found in sm_by_dtype[dt].items()
            ):
                name = f"StochMan {stochman_version} {sm_label}"
                if "fail" in r:
                    rows.append([label, name, "-", "failed", "-", "-", "-", "-", "-", "-", "",
                                 "", r["fail"]])
                    continue
                rows.append(
                    [
                        label,
                        name,
                        str(dt).replace("torch.", "")
                        + (f" ({r['n']})" if r["n"] < n_pairs else ""),
                        fmt_time(r["log"]),
                        "-",
                        "n/a",
                        "-",
                        fmt_err(r["err"]),
                        "-",
                        "-",
                        "",
                        "",
                        r["exp_note"],
                    ]
                )
        if stock is not None:
            rows.append(
                [
                    label,
                    "stock Geomstats (1 pair)",
                    "float64",
                    fmt_time(stock["log"], stock["log_note"]),
                    "-",
                    fmt_time(stock["exp"], stock["exp_note"]),
                    "-",
                    fmt_err(stock["err"]),
                    "-" if stock["exp_err"] is None else f"{stock['exp_err']:.1e} (exp of our log)",
                    "-",
                    "",
                    "",
                    "",
                ]
            )
        elif run_stock_rows:
            rows.append(
                [label, "stock Geomstats", "-", "skipped", "-", "skipped", "-", "-", "-", "-",
                 "", "", "per-output Hessians per point: minutes to hours on a 10-D decoder"]
            )
        else:
            rows.append(
                [label, "stock Geomstats", "-", "skipped", "-", "skipped", "-", "-", "-", "-",
                 "", "", "--quick / --no-stock"]
            )

    progress("FrechetMean", start)
    frechet_s, frechet_iter, frechet_unconv, frechet_maxit = bench_frechet(100, F64)
    total = time.perf_counter() - start

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print_table(
        [
            "manifold",
            "system",
            "dtype",
            "log /pair",
            "single pair (<=3x)",
            "exp /vec (<=1.5x log)",
            "transport /vec (<=2x exp)",
            "len rel err (med / max)",
            "max|exp(log q)-q|",
            "d(a,b) asym",
            "StochMan/ours log (>=10x)",
            "stock/ours log (>=10,000x)",
            "notes",
        ],
        rows,
        align="lllrrrrrrrlll",
        title=(
            f"Geodesics on {n_pairs} seeded pairs per manifold (rows marked (k): the first k "
            f"pairs; asymmetry on {n_sub}) -- log: time per pair, all pairs batched; exp: "
            f"per vector, of the computed logs, batched; ours best of {ROUNDS} interleaved "
            f"rounds; torch threads "
            f"{torch.get_num_threads()}, load average {load:.2f} on {os.cpu_count()} CPUs"
        ),
    )
    print()
    print("Reference lengths: " + "; ".join(ref_notes))
    print(
        f"StochMan: {'version ' + stochman_version if stochman_version else STOCHMAN_MISSING}; "
        "'default' = connecting_geodesic(p0, p1, CubicSpline(p0, p1)) (5 nodes, Adam 150 "
        "steps, 20-point energy); 'fine' = CubicSpline(num_nodes=17) + "
        "geodesic_minimizing_energy(max_iter=600, eval_grid=64); its lengths measured on "
        f"{LENGTH_GRID} points with the float64 decoder; its success flag is ignored."
    )
    print(
        f"FrechetMean(space).fit(X), 100 standard normal points, 10->256->512->784 float64: "
        f"{frechet_s:.2f} s ({'yes' if frechet_s < TARGET_FRECHET_S else 'NO'}, target < 5 s), "
        f"{frechet_iter} gradient-descent iterations"
        + (", hit max_iter" if frechet_maxit else "")
        + (f", {frechet_unconv} log calls warned of unconverged solves" if frechet_unconv else "")
    )
    print(f"bench_geodesics: {total:.1f} s in all")


if __name__ == "__main__":
    main()
