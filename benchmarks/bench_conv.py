"""Geodesics and Geomstats' estimators on convolutional decoders, against a baseline.

The models' own convolutional architecture at 28x28 (``VAE(d,
architecture="conv", channels=(32, 32), hidden_sizes=(256,))``, float32,
Bernoulli), trained for 2 epochs on 2,000 Fashion-MNIST images (or, without
the Debian package ``dataset-fashion-mnist``, on 2,000 images of the
embedded shapes), for ``d = 2`` and ``d = 8``. The trained weights are saved
under ``--cache`` so that a second run (of another checkout: the baseline)
measures the same decoders.

Rows, per decoder: the log map of 32 seeded pairs of latent codes
(batched, ms per pair, and one pair per call), the exp map of the computed
logs (ms per vector), parallel transport along them (ms per vector); on the
``d = 2`` decoder, with 100 latent means of test images: Geomstats'
``FrechetMean(space).fit``, ``TangentPCA`` (the library's, which fixes
Geomstats 2.8.0's for torch tensors) on the same codes,
``RiemannianKMeans(space, n_clusters=3).fit`` and
``GeodesicRegression(space, method="riemannian").fit`` on 20 codes against
their index, both from the random starts of ``torch.manual_seed(0)``. Each
estimator has a time limit (``--limit``, reported as ``> limit``).

With ``--json PATH`` the results are written to PATH; with ``--baseline
PATH`` a table of ratios (baseline time / this run's) is printed too. To
measure a baseline, run this script from a checkout of the older commit
with the same ``--cache``::

    git worktree add /tmp/old <commit>
    PYTHONPATH=/tmp/old python benchmarks/bench_conv.py --json old.json
    python benchmarks/bench_conv.py --baseline old.json

Usage::

    python benchmarks/bench_conv.py [--threads T] [--limit S] [--cache DIR]
        [--json PATH] [--baseline PATH] [--quick]
"""

import argparse
import json
import os
import signal
import sys
import time
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from _timing import format_seconds, print_table  # noqa: E402

import geomstats_gen  # noqa: E402,F401  (selects Geomstats' pytorch backend first)
from geomstats_gen.models import VAE  # noqa: E402


class _TimeLimit(Exception):
    pass


def _alarm(_signum, _frame):
    raise _TimeLimit


def limited(fn, limit):
    """``(seconds, result)`` of ``fn()``, or ``(None, None)`` past ``limit`` seconds."""
    signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(int(limit))
    start = time.perf_counter()
    try:
        out = fn()
    except _TimeLimit:
        return None, None
    finally:
        signal.alarm(0)
    return time.perf_counter() - start, out


def images(n):
    """``n`` training and 100 test images of 28x28 in [0, 1], flattened."""
    try:
        from geomstats_gen.datasets import load_fashion_mnist

        X, _ = load_fashion_mnist(return_X_y=True)
        X_test, _ = load_fashion_mnist(subset="test", return_X_y=True)
        source = "Fashion-MNIST"
    except (FileNotFoundError, OSError):
        from geomstats_gen.datasets import load_dataset

        X = load_dataset("shapes", n_samples=n + 100, image_size=28)[0]
        X, X_test = X[:n], X[n:]
        source = "shapes"
    X = np.asarray(X, dtype=np.float32).reshape(len(X), -1)[:n]
    X_test = np.asarray(X_test, dtype=np.float32).reshape(len(X_test), -1)[:100]
    scale = max(1.0, float(X.max()))
    return X / scale, X_test / scale, source


def model(dim, cache, X):
    """The trained conv VAE of latent dimension ``dim`` (trained once, then loaded)."""
    path = os.path.join(cache, f"conv_vae_d{dim}.pt")
    if os.path.exists(path):
        return VAE.load(path)
    vae = VAE(
        dim, architecture="conv", image_shape=(28, 28), channels=(32, 32),
        hidden_sizes=(256,), epochs=2, random_state=0,
    )
    vae.fit(X)
    os.makedirs(cache, exist_ok=True)
    vae.save(path)
    return vae


def best_of(fn, repeats):
    best, out = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def geodesic_rows(space, dim, n_pairs, repeats):
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(n_pairs, dim, generator=gen, dtype=torch.float64)
    b = torch.randn(n_pairs, dim, generator=gen, dtype=torch.float64)
    w = torch.randn(n_pairs, dim, generator=gen, dtype=torch.float64)
    metric = space.metric
    metric.log(b[:2], a[:2])
    t_log, logs = best_of(lambda: metric.log(b, a), repeats)
    metric.log(b[0], a[0])
    t_single, _ = best_of(lambda: [metric.log(b[i], a[i]) for i in range(4)], 1)
    metric.exp(logs[:2], a[:2])
    t_exp, _ = best_of(lambda: metric.exp(logs, a), repeats)
    t_transport, _ = best_of(lambda: metric.parallel_transport(w, a, direction=logs), repeats)
    return {
        "log ms/pair": 1e3 * t_log / n_pairs,
        "log single ms": 1e3 * t_single / 4,
        "exp ms/vector": 1e3 * t_exp / n_pairs,
        "transport ms/vector": 1e3 * t_transport / n_pairs,
    }


def estimator_rows(vae, X_test, limit):
    from geomstats.learning.frechet_mean import FrechetMean
    from geomstats.learning.geodesic_regression import GeodesicRegression
    from geomstats.learning.kmeans import RiemannianKMeans

    from geomstats_gen.learning import TangentPCA

    space = vae.manifold()
    codes = torch.as_tensor(vae.transform(X_test), dtype=torch.float64)
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out["FrechetMean 100 s"] = limited(lambda: FrechetMean(space).fit(codes), limit)[0]
        out["TangentPCA 100 s"] = limited(
            lambda: TangentPCA(space, n_components=2).fit(codes), limit
        )[0]
        torch.manual_seed(0)  # k-means and the regression start at random: same starts in every run
        out["RiemannianKMeans 100 s"] = limited(
            lambda: RiemannianKMeans(space, n_clusters=3).fit(codes), limit
        )[0]
        t = torch.linspace(0, 1, 20, dtype=torch.float64)
        torch.manual_seed(0)
        out["GeodesicRegression 20 s"] = limited(
            lambda: GeodesicRegression(space, method="riemannian").fit(t, codes[:20]), limit
        )[0]
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=None, help="torch threads")
    parser.add_argument("--limit", type=float, default=300.0, help="seconds per estimator")
    parser.add_argument("--cache", default=os.path.join("benchmarks", ".cache"))
    parser.add_argument("--json", default=None, help="write the results here")
    parser.add_argument("--baseline", default=None, help="results of an earlier run")
    parser.add_argument("--quick", action="store_true", help="8 pairs, no estimators")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    X, X_test, source = images(2000)
    n_pairs, repeats = (8, 1) if args.quick else (32, 2)
    results = {}
    for dim in (2, 8):
        vae = model(dim, args.cache, X)
        results[f"conv d={dim}"] = geodesic_rows(vae.manifold(), dim, n_pairs, repeats)
        if dim == 2 and not args.quick:
            results["estimators d=2"] = estimator_rows(vae, X_test, args.limit)
    print(
        f"Conv decoders (28x28, channels 32/32, 256 units, float32, {source}, 2 epochs); "
        f"torch threads {torch.get_num_threads()}; estimator limit {args.limit:g} s"
    )
    baseline = None
    if args.baseline:
        with open(args.baseline) as handle:
            baseline = json.load(handle)
    rows = []
    for group, values in results.items():
        for name, value in values.items():
            old = None if baseline is None else baseline.get(group, {}).get(name)
            shown = f"> {args.limit:g} s" if value is None else (
                f"{value:.1f}" if name.endswith("ms") or "ms/" in name else format_seconds(value)
            )
            row = [group, name, shown]
            if baseline is not None:
                old_shown = "-" if old is None else (
                    f"{old:.1f}" if "ms" in name else format_seconds(old)
                )
                if old is None and value is None:
                    ratio = "-"
                elif value is None:
                    ratio = "slower than limit"
                elif old is None:
                    ratio = f"> {args.limit / value:.1f}x"
                else:
                    ratio = f"{old / value:.1f}x"
                row += [old_shown, ratio]
            rows.append(row)
    header = ["decoder", "measure", "this run"]
    if baseline is not None:
        header += ["baseline", "baseline/this"]
    print_table(header, rows)
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(results, handle, indent=1)


if __name__ == "__main__":
    main()
