"""Markdown tables and the claims' verdicts from the experiments' records.

Numbers are ``mean ± std`` over the seeds (population standard deviation; a
single seed shows no spread). A difference "holds" when the two means differ
by more than the sum of their spreads.
"""

import math

import numpy as np

__all__ = ["aggregate", "claims", "render_tables"]


def aggregate(records, key):
    """``{(dataset, model): (mean, std, n)}`` of one record key over the seeds."""
    groups = {}
    for record in records:
        value = record.get(key)
        if value is None or isinstance(value, (list, dict, str)):
            continue
        groups.setdefault((record["dataset"], record["model"]), []).append(float(value))
    return {k: (float(np.mean(v)), float(np.std(v)), len(v)) for k, v in groups.items()}


def _cell(text):
    """Table cell text with its pipes escaped (``|K|`` would split the cell)."""
    return str(text).replace("|", "\\|")


def _fmt(stat, digits=3):
    if stat is None:
        return "-"
    mean, std, n = stat
    if not math.isfinite(mean):
        return "nan"
    text = f"{mean:.{digits}g}"
    return text if n < 2 else f"{text} ± {std:.2g}"


def _groups(records):
    seen = []
    for record in records:
        key = (record["dataset"], record["model"])
        if key not in seen:
            seen.append(key)
    return seen


def _table(records, title, columns, note=""):
    """One markdown table: a row per dataset and model, a column per record key."""
    stats = {key: aggregate(records, key) for key, _ in columns}
    rows = [r for r in _groups(records)
            if any(r in stats[key] for key, _ in columns)]
    if not rows:
        return ""
    lines = [f"### {title}", ""]
    if note:
        lines += [note, ""]
    lines.append("| dataset | model | " + " | ".join(_cell(label) for _, label in columns)
                 + " |")
    lines.append("|---|---|" + "---|" * len(columns))
    for row in rows:
        cells = [_fmt(stats[key].get(row)) for key, _ in columns]
        lines.append(f"| {row[0]} | {row[1]} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n\n"


def _derived(records):
    """Add the ratios the tables show (in place)."""
    for record in records:
        random = record.get("random_planes_abs")
        if random:
            record["separating_over_random"] = record["separating_plane_abs"] / random
        axes = record.get("axis_abs_curvature")
        ratio = record.get("axis_class_ratio")
        if axes and ratio:
            record["class_axis_over_mean_axis"] = axes[int(np.argmax(ratio))] / max(
                float(np.mean(axes)), 1e-300)
        record["flattened_fraction"] = 1.0 if record.get("flattened") else 0.0
        record["minutes"] = record.get("seconds", 0.0) / 60.0
    return records


def _above(a, b):
    """+1 when ``a`` is above ``b`` beyond the spreads, -1 below, 0 within."""
    if a is None or b is None:
        return 0
    gap = a[0] - b[0]
    if abs(gap) <= a[1] + b[1]:
        return 0
    return 1 if gap > 0 else -1


def _verdict(signs):
    if signs and all(s > 0 for s in signs):
        return "supports"
    if signs and all(s < 0 for s in signs):
        return "contradicts"
    return "cannot tell"


def claims(results):
    """The verdict on each claim of each paper, with the numbers behind it.

    Returns
    -------
    rows : list of tuple
        ``(paper, claim, dataset, verdict, evidence)``.
    """
    records = _derived([dict(r) for r in results["records"]])
    metrics = results.get("metrics", [])
    stat = {key: aggregate(records, key) for key in (
        "mig", "separating_plane_abs", "separating_over_random", "knn_euclidean",
        "step_cv_geodesic", "step_cv_linear", "abs_curvature_times_r2", "length_ratio",
        "class_kept_geodesic", "class_kept_linear", "transfer_cosine_geodesic",
        *(f"knn_{m}" for m in metrics))}
    rows = []
    datasets = list(dict.fromkeys(r["dataset"] for r in records))
    for ds in datasets:
        models = [m for d, m in _groups(records) if d == ds]
        others = [m for m in models if m != "VAE"]
        vae = (ds, "VAE")
        if others and vae in stat["separating_plane_abs"]:
            mig_ok = None
            if stat["mig"].get(vae):
                signs = [_above(stat["mig"].get((ds, m)), stat["mig"][vae]) for m in others]
                mig_ok = any(s > 0 for s in signs)
                rows.append(("Shukla", "MIG separates a disentangling model from the VAE", ds,
                             "yes" if mig_ok else "no", ", ".join(
                                 f"{m} {_fmt(stat['mig'].get((ds, m)))}" for m in models)))
            for key, what in (("separating_plane_abs", "|K| of the class-separating plane"),
                              ("separating_over_random", "that |K| over random planes'")):
                signs = [_above(stat[key].get((ds, m)), stat[key][vae]) for m in others]
                verdict = _verdict(signs)
                if mig_ok is False:
                    verdict = "cannot tell (MIG does not separate the models)"
                claim = f"disentangled models curve more along the class features ({what})"
                rows.append(("Shukla", claim, ds, verdict, ", ".join(
                                 f"{m} {_fmt(stat[key].get((ds, m)))}" for m in models)))
        for metric in metrics:
            key = f"knn_{metric}"
            if not any(g[0] == ds for g in stat[key]):
                continue  # this metric was not measured on this dataset
            signs = [_above(stat[key].get((ds, m)), stat["knn_euclidean"].get((ds, m)))
                     for m in models]
            rows.append(("Shukla", f"{metric} distances classify better than Euclidean (kNN)",
                         ds, _verdict(signs), ", ".join(
                             f"{m} {_fmt(stat[key].get((ds, m)))} vs "
                             f"{_fmt(stat['knn_euclidean'].get((ds, m)))}" for m in models)))
        signs = [_above(stat["step_cv_linear"].get((ds, m)),
                        stat["step_cv_geodesic"].get((ds, m))) for m in models]
        rows.append(("Shukla", "geodesic interpolation is smoother than linear (step CV)", ds,
                     _verdict(signs), ", ".join(
                         f"{m} {_fmt(stat['step_cv_geodesic'].get((ds, m)))} vs "
                         f"{_fmt(stat['step_cv_linear'].get((ds, m)))}" for m in models)))
        flat = stat["abs_curvature_times_r2"].get(vae)
        if flat:
            verdict = ("supports" if flat[0] < 0.1 else "contradicts" if flat[0] > 1.0
                       else "cannot tell")
            rows.append(("Shao", "the VAE's manifold is close to flat (median |K| r^2)", ds,
                         verdict, _fmt(flat)))
        ratio = stat["length_ratio"].get(vae)
        if ratio:
            verdict = ("supports" if ratio[0] < 1.05 else "contradicts" if ratio[0] > 1.2
                       else "cannot tell")
            rows.append(("Shao", "straight latent lines are nearly geodesics (length ratio)",
                         ds, verdict, _fmt(ratio, 4)))
        kept = stat["class_kept_geodesic"].get(vae)
        if kept and not math.isfinite(kept[0]):
            failures = aggregate(records, "transport_failures").get(vae)
            rows.append(("Shao", "parallel transport makes analogies", ds,
                         "cannot tell (the transports failed)",
                         (f"failed transports per seed {_fmt(failures)} of "
                          f"{results.get('plans', {}).get(ds, {}).get('n_analogies', '?')}; "
                          f"arithmetic keeps the class "
                          f"{_fmt(stat['class_kept_linear'].get(vae))}")))
        elif kept:
            cosine = stat["transfer_cosine_geodesic"].get(vae)
            versus = _above(kept, stat["class_kept_linear"].get(vae))
            good = kept[0] >= 0.5 and cosine[0] > 0.3
            verdict = ("supports" if good and versus >= 0 else "contradicts" if not good
                       else "cannot tell")
            rows.append(("Shao", ("parallel transport makes analogies (class kept, transfer "
                                  "cosine; arithmetic beside)"), ds, verdict,
                         (f"transport {_fmt(kept)}, {_fmt(cosine)}; arithmetic "
                          f"{_fmt(stat['class_kept_linear'].get(vae))}")))
    return rows


def render_tables(results):
    """All tables and the claims, as markdown."""
    records = _derived([dict(r) for r in results["records"]])
    metrics = results.get("metrics", [])
    out = []
    out.append(_table(records, "Training", [
        ("epochs", "epochs"), ("flattened_fraction", "ELBO flattened"),
        ("elbo", "held-out ELBO"), ("last_gain", "last block's gain"),
        ("active_units", "active units"), ("mig", "MIG"), ("minutes", "minutes")]))
    out.append(_table(records, "Curvature (pullback metric, sectional |K| at held-out codes)", [
        ("separating_plane_abs", "class-separating plane"),
        ("class_axes_plane", "two class axes' plane"),
        ("coordinate_planes_abs", "all coordinate planes"),
        ("random_planes_abs", "random planes"),
        ("separating_over_random", "separating / random"),
        ("class_axis_over_mean_axis", "class axis / mean axis")]))
    out.append(_table(records, "Separability (5-NN accuracy, silhouette)", [
        ("knn_euclidean", "kNN Euclidean"), *((f"knn_{m}", f"kNN {m}") for m in metrics),
        ("silhouette_euclidean", "silhouette Euclidean"),
        *((f"silhouette_{m}", f"silhouette {m}") for m in metrics)]))
    out.append(_table(records, "Interpolation (pullback metric)", [
        ("step_cv_geodesic", "step CV geodesic"), ("step_cv_linear", "step CV linear"),
        ("length_ratio", "linear / geodesic length")]))
    out.append(_table(records, "Flatness at the data's scale (pullback metric)", [
        ("sectional_median", "median K"), ("sectional_abs_median", "median |K|"),
        ("sectional_negative_fraction", "K < 0"), ("median_distance", "median distance r"),
        ("abs_curvature_times_r2", "median |K| r^2")]))
    out.append(_table(records, "Analogies (VAE)", [
        ("classifier_accuracy", "classifier on test images"),
        ("decoded_c_accuracy", "classifier on decoded C"),
        ("class_kept_geodesic", "class kept, transport"),
        ("class_kept_linear", "class kept, arithmetic"),
        ("transfer_cosine_geodesic", "transfer cosine, transport"),
        ("transfer_cosine_linear", "transfer cosine, arithmetic"),
        ("transport_failures", "failed transports")]))
    lines = ["### Claims", "", "| paper | claim | dataset | these runs | numbers |",
             "|---|---|---|---|---|"]
    lines += ["| " + " | ".join(_cell(t) for t in row) + " |" for row in claims(results)]
    out.append("\n".join(lines) + "\n")
    return "".join(part for part in out if part)
