"""The report's figures, drawn off-screen on Matplotlib ``Figure`` objects.

Neither pyplot nor the process's Matplotlib backend is touched, so importing
this module changes nothing for the caller's own figures.

Each function takes the ``(summary, arrays)`` of
:func:`geomstats_gen.report.analysis.analyze` and writes one PNG.
"""

import os

import matplotlib
import numpy as np  # noqa: E402
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure

__all__ = [
    "FIGURES",
    "plot_all",
    "plot_analogies",
    "plot_curvature",
    "plot_magnification",
    "plot_separability",
    "plot_strips",
]

DPI = 110


def _axis_names(summary):
    return ("z1", "z2") if summary["latent"]["latent_dim"] == 2 else ("PC1", "PC2")


def _subplots(*args, figsize, **kwargs):
    """A figure and its axes, drawn off-screen (no pyplot: the backend of the
    process is left alone)."""
    fig = Figure(figsize=figsize)
    return fig, fig.subplots(*args, **kwargs)


def _save(fig, path):
    fig.savefig(path, dpi=DPI, bbox_inches="tight")
    return path


def plot_magnification(summary, arrays, path):
    """sqrt(det G) over the latent plane, geodesics, straight lines, codes by class."""
    u, v, mag = arrays["grid_u"], arrays["grid_v"], arrays["magnification"]
    positive = mag[mag > 0]
    vmin = max(float(positive.min()) if positive.size else 1e-12, 1e-12)
    vmax = max(float(mag.max()), vmin * 10)
    fig, ax = _subplots(figsize=(7.6, 6.2))
    image = ax.imshow(
        np.clip(mag, vmin, None), origin="lower", extent=(u[0], u[-1], v[0], v[-1]),
        aspect="auto", cmap="viridis", norm=LogNorm(vmin=vmin, vmax=vmax),
    )
    bar = fig.colorbar(image, ax=ax, fraction=0.046, pad=0.03)
    bar.set_label("magnification factor sqrt(det G) (log scale)")
    labels = arrays["labels"]
    pc = arrays["plane_codes"]
    classes = np.unique(labels)
    cmap = matplotlib.colormaps.get_cmap("tab10" if len(classes) <= 10 else "tab20")
    for k, c in enumerate(classes):
        sel = labels == c
        ax.scatter(pc[sel, 0], pc[sel, 1], s=9, color=cmap(k % cmap.N), edgecolors="white",
                   linewidths=0.3, label=str(c), zorder=3)
    paths = arrays.get("pair_plane_paths", np.zeros((0, 0, 2)))  # none if geodesics failed
    for k in range(paths.shape[0]):
        s, e = arrays["pair_plane_start"][k], arrays["pair_plane_end"][k]
        ax.plot([s[0], e[0]], [s[1], e[1]], "--", color="white", lw=1.6, zorder=4,
                label="straight line" if k == 0 else None)
        ax.plot(paths[k, :, 0], paths[k, :, 1], "-", color="red", lw=2.0, zorder=5,
                label="geodesic" if k == 0 else None)
        ax.plot(*s, "o", color="red", ms=6, mec="black", zorder=6,
                label="start of pair k" if k == 0 else None)
        ax.plot(*e, "s", color="red", ms=6, mec="black", zorder=6,
                label="end of pair k" if k == 0 else None)
        ax.annotate(str(k + 1), s, textcoords="offset points", xytext=(4, 4), color="black",
                    fontsize=8, weight="bold", zorder=7,
                    bbox=dict(boxstyle="round,pad=0.15", fc="white", alpha=0.8, lw=0))
    name_u, name_v = _axis_names(summary)
    ax.set_xlim(u[0], u[-1])
    ax.set_ylim(v[0], v[-1])
    ax.set_xlabel(name_u)
    ax.set_ylabel(name_v)
    title = "Magnification factor sqrt(det G), codes by class, geodesics vs straight lines"
    metric = summary["latent"].get("metric", "pullback")
    if metric != "pullback":
        title += f"\n(G: the {metric} metric)"
    if summary["latent"]["latent_dim"] > 2:
        plane = summary["latent"]["plane"].replace(", spanned", ",\nspanned")
        title += "\n(" + plane + "; paths projected)"
    ax.set_title(title, fontsize=10)
    ax.legend(loc="upper left", bbox_to_anchor=(1.28, 1.0), fontsize=8, title="class / path",
              title_fontsize=8, markerscale=1.5, facecolor="#bbbbbb", framealpha=1.0)
    return _save(fig, path)


def _strip_row(axes, images, cmap="gray_r"):
    for ax, img in zip(axes, images):
        ax.imshow(img, cmap=cmap, vmin=0.0, vmax=max(1.0, float(np.max(images))),
                  interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])


def plot_strips(summary, arrays, path):
    """Decoded images along the geodesic and along the straight latent line."""
    geo, lin = arrays["geo_strip"], arrays["lin_strip"]
    n = geo.shape[0]
    pair = summary["geodesics"]["pairs"][0]
    fig, axes = _subplots(2, n, figsize=(1.05 * n, 2.7), squeeze=False)
    _strip_row(axes[0], geo)
    _strip_row(axes[1], lin)
    axes[0, 0].set_ylabel("geodesic", fontsize=9)
    axes[1, 0].set_ylabel("straight\nline", fontsize=9)
    for j, ax in enumerate(axes[1]):
        ax.set_xlabel(f"t={j / max(n - 1, 1):.2f}", fontsize=7)
    strip = summary["geodesics"]["strip"]
    fig.suptitle(
        f"Decoded images from class {pair['start_label']} to class {pair['end_label']} (pair 1): "
        f"geodesic length {pair['geodesic_length']:.3g}, straight line {pair['linear_length']:.3g}\n"
        f"step-size variation (std/mean of image-space steps): geodesic "
        f"{strip['geodesic_step_cv']:.2f}, straight line {strip['linear_step_cv']:.2f}",
        fontsize=9,
    )
    fig.subplots_adjust(wspace=0.05, hspace=0.1, top=0.78)
    return _save(fig, path)


def plot_analogies(summary, arrays, path):
    """A : B :: C : D, with D by the geodesic construction and by linear arithmetic."""
    images = arrays["analogy_images"]
    n = images.shape[0]
    titles = ["A", "B", "C", "D geodesic", "D linear"]
    fig, axes = _subplots(n, 5, figsize=(6.0, 1.35 * n + 0.7), squeeze=False)
    inside = arrays.get("analogy_inside", np.ones(n, dtype=bool))
    for i in range(n):
        _strip_row(axes[i], images[i])
        lab = arrays["analogy_labels"][i]
        axes[i, 0].set_ylabel(f"classes\n{lab[0]}:{lab[1]} :: {lab[2]}:?", fontsize=8)
        if not inside[i]:  # the geodesic D left the data: its cell shows nothing
            axes[i, 3].clear()
            axes[i, 3].axis("off")
            axes[i, 3].text(0.5, 0.5, "left the\ndata region", ha="center", va="center",
                            fontsize=7, color="red", transform=axes[i, 3].transAxes)
    for j, t in enumerate(titles):
        axes[0, j].set_title(t, fontsize=9, color="red" if j == 3 else "black")
    fig.suptitle(
        "Analogies A:B :: C:D (decoded codes)\nD geodesic = Exp_C(PT_A->C(Log_A B)); "
        "D linear = z_C + z_B - z_A",
        fontsize=9,
    )
    fig.subplots_adjust(wspace=0.05, hspace=0.12, top=1 - 0.75 / (1.35 * n + 0.7))
    return _save(fig, path)


def _histogram(ax, values, color, label):
    lo, hi = np.percentile(values, [0.5, 99.5])
    if hi <= lo:
        lo, hi = lo - 1.0, hi + 1.0
    bins = np.linspace(lo, hi, 40)
    ax.hist(np.clip(values, lo, hi), bins=bins, color=color, alpha=0.8)
    if lo < 0 < hi:
        ax.axvline(0.0, color="black", lw=0.8)
    ax.axvline(float(np.mean(values)), color="red", lw=1.2, ls="--",
               label=f"mean {np.mean(values):.3g}")
    ax.set_xlabel(label + "\n(beyond the 0.5-99.5% range: clipped)", fontsize=9)
    ax.set_ylabel("count")
    ax.legend(fontsize=8)


def plot_curvature(summary, arrays, path):
    """Histograms of sectional and scalar curvature; per-axis curvature."""
    sectional, scalar = arrays["sectional"].reshape(-1), arrays["scalar"].reshape(-1)
    dim = summary["latent"]["latent_dim"]
    n_codes = summary["curvature"]["n_codes"]
    fig, (ax0, ax1, ax2) = _subplots(1, 3, figsize=(13.5, 3.9))
    _histogram(ax0, sectional, "tab:blue", "sectional curvature K")
    ax0.set_title(f"Sectional curvature of random planes, uniform for G\n({sectional.size} "
                  f"planes at {n_codes} codes)", fontsize=10)
    _histogram(ax1, scalar, "tab:orange", "scalar curvature")
    ax1.set_title(f"Scalar curvature at {n_codes} codes"
                  + (" (= 2K for d = 2)" if dim == 2 else ""), fontsize=10)
    mean, std = arrays["per_axis_mean"], arrays["per_axis_std"]
    status = summary["curvature"].get("per_axis_status", ["active"] * dim)
    names = [f"z{i + 1}" + ("\n(collapsed)" if status[i] == "collapsed" else "")
             for i in range(dim)]
    ax2.bar(names, mean, yerr=std, color="tab:green", alpha=0.8, capsize=3)
    positive = mean[mean > 0]
    if positive.size and mean.max() > 30 * positive.min():
        ax2.set_yscale("log")
    ax2.set_xlabel("latent axis i")
    ax2.set_ylabel("mean |K(e_i, e_j)|, j != i\n(error bar: std over codes)", fontsize=9)
    ax2.set_title("Per-axis curvature (coordinate planes (e_i, e_j) of the latent chart)",
                  fontsize=10)
    if dim > 10:
        ax2.tick_params(axis="x", labelrotation=90, labelsize=7)
    fig.tight_layout()
    return _save(fig, path)


def plot_separability(summary, arrays, path):
    """The separability table, geodesic versus Euclidean latent distances."""
    sep = summary["separability"]
    fig, ax = _subplots(figsize=(6.4, 1.9))
    ax.axis("off")
    if "knn_accuracy_geodesic" not in sep:
        text = sep.get("note") or f"step failed: {sep.get('failed', 'no table')}"
        ax.text(0.5, 0.5, text[:120], ha="center", va="center")
        return _save(fig, path)
    k = sep["knn_neighbors"]
    rows = [
        [f"{k}-NN accuracy (cross-validated)", f"{sep['knn_accuracy_geodesic']:.3f}",
         f"{sep['knn_accuracy_euclidean']:.3f}"],
        ["silhouette score", f"{sep['silhouette_geodesic']:.3f}",
         f"{sep['silhouette_euclidean']:.3f}"],
    ]
    table = ax.table(cellText=rows, colLabels=["measure", "geodesic", "Euclidean"],
                     loc="center", cellLoc="center", colWidths=[0.5, 0.22, 0.22])
    table.auto_set_font_size(False)
    table.set_fontsize(10)
    table.scale(1.0, 1.6)
    for (r, _c), cell in table.get_celld().items():
        if r == 0:
            cell.set_facecolor("#dde6f0")
            cell.set_text_props(weight="bold")
    ax.set_title(f"Class separability of {sep['n_codes']} codes: geodesic vs Euclidean distances",
                 fontsize=10)
    return _save(fig, path)


#: File name -> the array a figure cannot be drawn without (None: always drawn).
NEEDS = {
    "magnification.png": "magnification",
    "strips.png": "geo_strip",
    "analogies.png": "analogy_images",
    "curvature.png": "sectional",
    "separability.png": None,
}

#: File name -> plotting function, in the report's order.
FIGURES = {
    "magnification.png": plot_magnification,
    "strips.png": plot_strips,
    "analogies.png": plot_analogies,
    "curvature.png": plot_curvature,
    "separability.png": plot_separability,
}


def plot_all(summary, arrays, out_dir):
    """Write every figure that the analysis has data for.

    Returns
    -------
    paths : dict of str to str
        File name -> path of the PNGs written.
    """
    written = {}
    for name, fn in FIGURES.items():
        needed = NEEDS.get(name)
        if needed is not None and needed not in arrays:
            continue  # the step was skipped or failed
        written[name] = fn(summary, arrays, os.path.join(out_dir, name))
    return written
