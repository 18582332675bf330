"""Learning on the latent manifold: batched geodesic distance matrices and kNN.

On a VAE trained on scikit-learn's digits (``VAE(n_components=2, epochs=30,
random_state=0)``, the models' defaults otherwise: MLP 64->256->128->2,
softplus, float32 decoder), with the latent means of the first 1000 digits:

1. the distance matrix of the 1000 codes by ``pairwise_geodesic_distances``:
   ``method="graph"`` (kNN graph, k=10, exact edge lengths, Dijkstra) in
   full; ``method="exact"`` (one batched geodesic solve per pair) on the
   first ``--rows`` rows against all codes, its time extrapolated to the
   499,500 pairs of the full symmetric matrix; with ``--full``, the whole
   exact matrix (about 10 minutes on 2 cores). The graph method's relative
   error against the exact distances (median, 95th percentile, max).
2. Geomstats' ``KNearestNeighborsClassifier`` (scikit-learn calling
   ``space.metric.dist`` once per pair) against ``GeodesicKNeighborsClassifier``
   (one batched call), trained on ``--train`` codes, predicting ``--test``
   codes: time per prediction, their ratio, and whether the predictions agree.

Timings are single wall-clock runs after a warm-up call (the solves take
seconds to minutes); the machine may be shared, so expect noise.

Usage::

    python benchmarks/bench_learning.py [--quick] [--full] [--rows R] [--train N]
        [--test M] [--threads T]
"""

import argparse
import os
import sys
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import geomstats_gen  # noqa: E402,F401  (selects Geomstats' pytorch backend first)
import numpy as np  # noqa: E402
import torch  # noqa: E402
from _timing import format_seconds, print_table, timed_call  # noqa: E402

from geomstats_gen.datasets import load_digits  # noqa: E402
from geomstats_gen.learning import (  # noqa: E402
    GeodesicKNeighborsClassifier,
    pairwise_geodesic_distances,
)
from geomstats_gen.models import VAE  # noqa: E402

GRAPH_NEIGHBORS = 10


def format_duration(seconds):
    """Like ``format_seconds``, in minutes above two minutes."""
    if seconds > 120:
        return f"{seconds / 60:.1f} min"
    return format_seconds(seconds)


def train_vae(epochs):
    X, y = load_digits(return_X_y=True)
    vae, seconds = timed_call(
        lambda: VAE(n_components=2, epochs=epochs, random_state=0).fit(X)
    )
    return vae, X, y, seconds


def distance_matrix_rows(space, codes, n_rows):
    """Graph matrix in full, exact rows; times and relative errors."""
    n = len(codes)
    # warm-up of both code paths on a few codes (torch.func set-up, imports)
    pairwise_geodesic_distances(space, codes[:4])
    pairwise_geodesic_distances(space, codes[:12], method="graph", n_neighbors=3)
    graph, t_graph = timed_call(
        lambda: pairwise_geodesic_distances(
            space, codes, method="graph", n_neighbors=GRAPH_NEIGHBORS, progress=False
        )
    )
    pairs_full = n * (n - 1) // 2
    if n_rows >= n:  # the whole symmetric matrix: each pair i < j solved once
        n_rows = n
        exact_rows, t_rows = timed_call(
            lambda: pairwise_geodesic_distances(space, codes, progress=True)
        )
        pairs_done = pairs_full
    else:
        exact_rows, t_rows = timed_call(
            lambda: pairwise_geodesic_distances(space, codes[:n_rows], codes, progress=False)
        )
        pairs_done = n_rows * n
    t_exact_full = t_rows / pairs_done * pairs_full
    mask = np.ones_like(exact_rows, dtype=bool)
    mask[np.arange(n_rows), np.arange(n_rows)] = False
    ref = exact_rows[mask].astype(np.float64)
    approx = graph[:n_rows][mask].astype(np.float64)
    rel = (approx - ref) / ref
    return dict(
        n=n,
        rows=n_rows,
        t_graph=t_graph,
        t_rows=t_rows,
        t_exact_full=t_exact_full,
        pairs_full=pairs_full,
        pairs_done=pairs_done,
        rel=rel,
    )


def knn_comparison(vae, codes, labels, n_train, n_test):
    from geomstats.learning.knn import KNearestNeighborsClassifier

    space = vae.manifold_
    train, test = slice(0, n_train), slice(n_train, n_train + n_test)
    ours = GeodesicKNeighborsClassifier(space, n_neighbors=5)
    theirs = KNearestNeighborsClassifier(space, n_neighbors=5)
    ours.fit(codes[train], labels[train])
    theirs.fit(codes[train], labels[train])
    # warm-up (one prediction each)
    ours.predict(codes[test][:1])
    theirs.predict(codes[test][:1])
    pred_ours, t_ours = timed_call(lambda: ours.predict(codes[test]))
    pred_theirs, t_theirs = timed_call(lambda: theirs.predict(codes[test]))
    return dict(
        n_train=n_train,
        n_test=n_test,
        t_ours=t_ours / n_test,
        t_theirs=t_theirs / n_test,
        agree=float(np.mean(pred_ours == pred_theirs)),
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="reduced run (~1 minute)")
    parser.add_argument("--codes", type=int, default=None, help="codes in the matrix (1000)")
    parser.add_argument("--rows", type=int, default=None, help="exact rows timed (20)")
    parser.add_argument(
        "--full", action="store_true", help="solve the whole exact matrix (~10 min on 2 cores)"
    )
    parser.add_argument("--train", type=int, default=None, help="kNN training codes (200)")
    parser.add_argument("--test", type=int, default=None, help="kNN test codes (5)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads")
    parser.add_argument(
        "--device", default=None,
        help="cpu, cuda or auto: the device throughput mode (benchmarks/_device_mode.py) "
        "instead of the comparisons",
    )
    args = parser.parse_args(argv)
    if args.device is not None:
        from _device_mode import run

        return run("learning", args.device, quick=args.quick)
    if args.threads:
        torch.set_num_threads(args.threads)
    quick = args.quick
    n_codes = args.codes or (300 if quick else 1000)
    n_rows = args.rows or (4 if quick else 20)
    if args.full:
        n_rows = n_codes
    n_train = args.train or (100 if quick else 200)
    n_test = args.test or (2 if quick else 5)
    warnings.simplefilter("ignore")  # convergence notes of individual solves

    vae, X, y, t_fit = train_vae(epochs=10 if quick else 30)
    codes = vae.transform(X[:n_codes])
    labels = y[:n_codes]
    print(
        f"VAE on digits: latent dim 2, float32 decoder, trained in {t_fit:.1f} s; "
        f"{n_codes} codes; torch threads {torch.get_num_threads()}",
        flush=True,
    )

    res = distance_matrix_rows(vae.manifold_, codes, n_rows)
    rel = res["rel"]
    full = res["rows"] >= res["n"]
    table = [
        [
            f"graph (k={GRAPH_NEIGHBORS})",
            f"{res['pairs_full']:,} (all)",
            format_seconds(res["t_graph"]),
            f"{np.median(rel):.2%}",
            f"{np.percentile(rel, 95):.2%}",
            f"{rel.max():.2%}",
        ],
        [
            "exact",
            f"{res['pairs_done']:,} " + ("(all)" if full else f"({res['rows']} rows)"),
            format_duration(res["t_rows"]),
            "(reference)",
            "",
            "",
        ],
    ]
    if not full:
        table.append(
            [
                "exact, extrapolated",
                f"{res['pairs_full']:,} (all)",
                "~" + format_duration(res["t_exact_full"]),
                "",
                "",
                "",
            ]
        )
    print_table(
        ["method", "pairs", "time", "median rel. err", "p95 rel. err", "max rel. err"],
        table,
        title=f"Distance matrix of {res['n']} digit codes (errors on the exact "
        f"{'matrix' if full else 'rows'}; graph distances never undershoot up to solver "
        f"error, min rel. err {rel.min():.1e})",
    )
    print(
        f"graph vs exact{'' if full else ' (extrapolated)'}: "
        f"{res['t_exact_full'] / res['t_graph']:.0f}x faster",
        flush=True,
    )

    knn = knn_comparison(vae, codes, labels, n_train, n_test)
    ratio = knn["t_theirs"] / knn["t_ours"]
    print()
    print_table(
        ["classifier", "time per prediction", "distances per prediction"],
        [
            ["Geomstats KNearestNeighborsClassifier", format_seconds(knn["t_theirs"]),
             f"{knn['n_train']} (one dist call each)"],
            ["GeodesicKNeighborsClassifier", format_seconds(knn["t_ours"]),
             f"{knn['n_train']} (one batched call)"],
        ],
        title=f"kNN (k=5), {knn['n_train']} training codes, {knn['n_test']} predictions",
    )
    print(f"speed-up: {ratio:.1f}x; predictions agree on {knn['agree']:.0%}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
