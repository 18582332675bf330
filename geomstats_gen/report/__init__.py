"""The latent-geometry report: numbers (``summary.json``), figures (PNGs) and ``report.html``.

>>> from geomstats_gen.report import write_report
>>> summary = write_report(vae, X, y, "report/")        # doctest: +SKIP

:mod:`~geomstats_gen.report.analysis` computes the numbers,
:mod:`~geomstats_gen.report.plots` draws the figures (Matplotlib ``Figure``
objects, no pyplot), :mod:`~geomstats_gen.report.html` writes the page.
"""

from geomstats_gen.report.analysis import analyze, latent_slice
from geomstats_gen.report.compare import write_comparison
from geomstats_gen.report.writer import write_report

__all__ = ["analyze", "latent_slice", "write_comparison", "write_report"]
