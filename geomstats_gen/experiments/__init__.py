"""The papers' experiments on real data (``geomstats-gen experiment``).

Shao et al. (2017) and Shukla et al. (2019), end to end: :func:`run_experiments`
trains the models (resumably), measures them and writes the tables and the
verdict on each claim; :data:`FULL` is the documented run, :data:`QUICK` a
smoke run.
"""

from geomstats_gen.experiments.runner import STUDIES, load_results, run_experiments
from geomstats_gen.experiments.setup import FULL, QUICK, Plan
from geomstats_gen.experiments.tables import claims, render_tables

__all__ = ["FULL", "QUICK", "STUDIES", "Plan", "claims", "load_results", "render_tables",
           "run_experiments"]
