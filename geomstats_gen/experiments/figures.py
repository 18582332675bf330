"""The experiments' figure: one PNG of four panels, drawn off-screen."""

import numpy as np
from matplotlib.figure import Figure

from geomstats_gen.experiments.tables import _derived, _groups, aggregate

__all__ = ["plot_results"]


def _bars(ax, records, key, title, datasets=None):
    """Bars of ``key`` per model (mean, seed spread as error bars), grouped by dataset."""
    stat = aggregate(records, key)
    groups = [g for g in _groups(records) if g in stat and (datasets is None or g[0] in datasets)]
    names = list(dict.fromkeys(model for _, model in groups))
    sets = list(dict.fromkeys(ds for ds, _ in groups))
    width = 0.8 / max(len(sets), 1)
    for k, ds in enumerate(sets):
        values = [stat.get((ds, m), (np.nan, 0.0, 0)) for m in names]
        ax.bar(np.arange(len(names)) + k * width, [v[0] for v in values], width,
               yerr=[v[1] for v in values], capsize=3, label=ds)
    ax.set_xticks(np.arange(len(names)) + width * (len(sets) - 1) / 2)
    ax.set_xticklabels(names, fontsize=8)
    ax.set_title(title, fontsize=9)
    if len(sets) > 1:
        ax.legend(fontsize=7)


def plot_results(results, path):
    """Write the figure of the experiments' results.

    Panels: MIG on the shapes; the class-separating plane's ``|K|`` over random
    planes'; 5-NN accuracy under Euclidean and each metric's distances (VAE
    and the mean over models); step-length spread of geodesic against linear
    interpolation.

    Parameters
    ----------
    results : dict
        What :func:`~geomstats_gen.experiments.run_experiments` returns.
    path : str
        PNG file to write.
    """
    records = _derived([dict(r) for r in results["records"]])
    fig = Figure(figsize=(12, 7.5))
    axes = fig.subplots(2, 2)
    _bars(axes[0, 0], records, "mig", "MIG on the shapes (higher: more disentangled)",
          datasets=("shapes",))
    _bars(axes[0, 1], records, "separating_over_random",
          "|K| of the class-separating plane / |K| of random planes")
    axes[0, 1].axhline(1.0, color="grey", lw=0.8)
    ax = axes[1, 0]
    keys = ["knn_euclidean"] + [f"knn_{m}" for m in results.get("metrics", [])]
    sets = list(dict.fromkeys(r["dataset"] for r in records))
    width = 0.8 / len(keys)
    for k, key in enumerate(keys):
        stat = aggregate(records, key)
        values = [[v[0] for g, v in stat.items() if g[0] == ds] for ds in sets]
        means = [float(np.mean(v)) if v else np.nan for v in values]  # NaN: not measured
        ax.bar(np.arange(len(sets)) + k * width, means, width,
               label=key.replace("knn_", ""))
    ax.set_xticks(np.arange(len(sets)) + width * (len(keys) - 1) / 2)
    ax.set_xticklabels(sets, fontsize=8)
    ax.set_title("5-NN accuracy, mean over models and seeds", fontsize=9)
    ax.legend(fontsize=7)
    ax = axes[1, 1]
    geo, lin = aggregate(records, "step_cv_geodesic"), aggregate(records, "step_cv_linear")
    for ds, marker in zip(sets, "os^v"):
        pts = [(lin[g][0], geo[g][0]) for g in _groups(records) if g[0] == ds and g in geo]
        if pts:
            ax.scatter(*zip(*pts), marker=marker, label=ds)
    top = max([v[0] for v in lin.values()] + [v[0] for v in geo.values()] + [1e-9])
    ax.plot([0, top], [0, top], color="grey", lw=0.8)
    ax.set_xlabel("step CV, straight latent line", fontsize=8)
    ax.set_ylabel("step CV, geodesic", fontsize=8)
    ax.set_title("Interpolation: below the diagonal, geodesics are smoother", fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return path
