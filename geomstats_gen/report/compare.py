"""Several latent metrics of one model, side by side: ``report.html`` over sub-reports.

:func:`write_comparison` writes the full report of each metric into its own
folder (``OUT/<metric>/``) and, at the top, ``comparison.json`` and a
``report.html`` that puts the metrics side by side: the magnification maps
with their geodesics, and a table of the geodesic/straight-line ratios, the
separability scores and the analogies that left the data.
"""

import html
import json
import os

from geomstats_gen.report.html import _STYLE, _image, _table
from geomstats_gen.report.writer import write_report

__all__ = ["write_comparison"]

#: The rows of the comparison table: (label, path in a summary).
ROWS = (
    ("geodesic / straight line, mean", ("geodesic_to_linear_ratio", "mean")),
    ("geodesic / straight line, min", ("geodesic_to_linear_ratio", "min")),
    ("sqrt(det G) at the codes, median", ("magnification", "at_codes", "median")),
    ("kNN accuracy, geodesic", ("separability", "knn_accuracy_geodesic")),
    ("kNN accuracy, Euclidean latent", ("separability", "knn_accuracy_euclidean")),
    ("silhouette, geodesic", ("separability", "silhouette_geodesic")),
    ("silhouette, Euclidean latent", ("separability", "silhouette_euclidean")),
    ("analogies that left the data", ("analogies", "n_left_region")),
    ("steps that failed", ("failed_steps",)),
)


def _get(summary, path):
    value = summary
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return len(value) if isinstance(value, dict) else value


def write_comparison(model, X, y=None, out_dir="geomstats-gen-report", metrics=("pullback",),
                     **kwargs):
    """Write one report per metric and a page comparing them.

    Parameters
    ----------
    model : fitted geomstats_gen model
        With ``manifold(metric)`` (for ``"expected"``, fit its variance
        network first: ``model.fit_variance(X)``).
    X, y : array-like
        Data and labels, as for :func:`~geomstats_gen.report.write_report`.
    out_dir : str
    metrics : sequence of str
        Metric names, at least one, each once.
    **kwargs
        Passed to :func:`~geomstats_gen.report.write_report` (the same
        settings and random state for every metric, so the same codes,
        pairs and planes are compared).

    Returns
    -------
    comparison : dict
        ``{"metrics": {name: summary}, "table": {row: {name: value}},
        "files": [...]}``, also written to ``comparison.json``.
    """
    metrics = list(metrics)
    if not metrics or len(set(metrics)) != len(metrics):
        raise ValueError(f"`metrics` must name each metric once, got {metrics!r}.")
    os.makedirs(out_dir, exist_ok=True)
    run_info = dict(kwargs.pop("run_info", None) or {})
    summaries = {
        name: write_report(model, X, y, os.path.join(out_dir, name), metric=name,
                           run_info={**run_info, "metric": name}, **kwargs)
        for name in metrics
    }
    table = {label: {name: _get(summaries[name], path) for name in metrics}
             for label, path in ROWS}
    comparison = {"metrics": summaries, "table": table,
                  "files": ["comparison.json", "report.html"]
                  + [f"{name}/{f}" for name in metrics for f in summaries[name]["files"]]}
    with open(os.path.join(out_dir, "comparison.json"), "w", encoding="utf-8") as handle:
        json.dump(comparison, handle, indent=2, allow_nan=False)
    _write_page(comparison, metrics, out_dir)
    return comparison


def _write_page(comparison, metrics, out_dir):
    first = comparison["metrics"][metrics[0]]
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'>",
        "<title>geomstats-gen: latent metrics compared</title>",
        f"<style>{_STYLE} .side {{ display: flex; gap: 8px; }} "
        ".side figure {{ flex: 1; }}</style></head><body>",
        "<h1>Latent metrics compared</h1>",
        "<p>" + html.escape(
            f"Model {first['run'].get('model', '?')}, latent dimension "
            f"{first['latent']['latent_dim']}: the same codes, pairs and planes under "
            f"{', '.join(metrics)}. Each metric's full report is in its folder."
        ) + "</p>",
        _table([[label] + [row[name] for name in metrics]
                for label, row in comparison["table"].items()], ["quantity"] + metrics),
        "<h2>Magnification factor and geodesics</h2><div class='side'>",
    ]
    for name in metrics:
        path = os.path.join(out_dir, name, "magnification.png")
        if os.path.isfile(path):
            parts.append(f"<figure>{_image(path)}<figcaption>{html.escape(name)} "
                         f"(<a href='{html.escape(name)}/report.html'>full report</a>)"
                         "</figcaption></figure>")
    parts.append("</div></body></html>")
    with open(os.path.join(out_dir, "report.html"), "w", encoding="utf-8") as handle:
        handle.write("\n".join(parts))
