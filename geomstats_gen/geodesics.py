"""Geodesic solvers (compatibility module).

The implementation lives in :mod:`geomstats_gen.geometry.log` (the log map),
:mod:`geomstats_gen.geometry.exp` (the exp map) and
:mod:`geomstats_gen.core.linalg` (block-tridiagonal solves); this module
keeps the names importable from where they were.
"""

from geomstats_gen.core.linalg import block_tridiagonal_solve
from geomstats_gen.exceptions import ConvergenceWarning
from geomstats_gen.geometry.exp import GeodesicODEExpSolver
from geomstats_gen.geometry.log import DiscreteEnergyLogSolver, GeodesicResult
from geomstats_gen.geometry.path_energy import minimize_path_energy

__all__ = [
    "ConvergenceWarning",
    "DiscreteEnergyLogSolver",
    "GeodesicODEExpSolver",
    "GeodesicResult",
    "block_tridiagonal_solve",
    "minimize_path_energy",
]
