"""Writing one report: the numbers, the figures and the page, into a folder."""

import json
import math
import os
import time

from geomstats_gen.report.analysis import analyze

__all__ = ["write_report"]


def _check_finite(value, where="summary"):
    """Raise if a float in the summary is NaN or infinite (JSON has no such numbers)."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"non-finite number in {where}")
    if isinstance(value, dict):
        for key, item in value.items():
            _check_finite(item, f"{where}.{key}")
    elif isinstance(value, (list, tuple)):
        for k, item in enumerate(value):
            _check_finite(item, f"{where}[{k}]")


def write_report(model, X, y=None, out_dir="geomstats-gen-report", *, run_info=None, **kwargs):
    """Analyse a fitted model's latent space and write the report folder.

    Parameters
    ----------
    model : fitted geomstats_gen model
        With ``transform`` and ``manifold_``.
    X : array-like, shape=[n, D]
        Data.
    y : array-like, shape=[n], optional
        Class labels.
    out_dir : str
        Folder to write (created if needed): ``summary.json``,
        ``report.html`` and the PNGs.
    run_info : dict, optional
        Extra entries of ``summary["run"]`` (model, dataset, seed...).
    **kwargs
        Passed to :func:`~geomstats_gen.report.analysis.analyze`.

    Returns
    -------
    summary : dict
        The content of ``summary.json``; ``summary["files"]`` lists the
        files written.
    """
    from geomstats_gen.report.html import write_html
    from geomstats_gen.report.plots import plot_all

    os.makedirs(out_dir, exist_ok=True)
    t0 = time.perf_counter()
    summary, arrays = analyze(model, X, y, **kwargs)
    run = {"model": type(model).__name__}
    run.update(run_info or {})
    summary = {"run": run, **summary}
    t1 = time.perf_counter()
    images = plot_all(summary, arrays, out_dir)
    summary["timings_s"]["plots"] = round(time.perf_counter() - t1, 3)
    summary["timings_s"]["analysis_total"] = round(t1 - t0, 3)
    summary["files"] = sorted(list(images) + ["summary.json", "report.html"])
    _check_finite(summary)
    with open(os.path.join(out_dir, "summary.json"), "w", encoding="utf-8") as handle:
        json.dump(summary, handle, indent=2, allow_nan=False)
    write_html(summary, images, os.path.join(out_dir, "report.html"))
    return summary
