"""Learning on the latent manifold: batched geodesic distances, scikit-learn
estimators, and Shukla et al.'s measures for comparing models.

Estimators take either a :class:`~geomstats_gen.GeneratedManifold` (inputs
are latent codes) or a fitted :mod:`geomstats_gen.models` model (inputs are
data, encoded first with ``model.transform``).
"""

import geomstats_gen  # noqa: F401  (selects Geomstats' pytorch backend first)
from geomstats_gen.learning._distances import pairwise_geodesic_distances
from geomstats_gen.learning.separability import (
    class_separability,
    compare_models,
    interpolation_smoothness,
    separating_direction_curvature,
    separating_directions,
)

__all__ = [
    "class_separability",
    "compare_models",
    "interpolation_smoothness",
    "pairwise_geodesic_distances",
    "separating_direction_curvature",
    "separating_directions",
]

from geomstats_gen.learning.kmedoids import GeodesicKMedoids  # noqa: E402
from geomstats_gen.learning.logmap import LatentLogMap  # noqa: E402
from geomstats_gen.learning.neighbors import (  # noqa: E402
    GeodesicDistanceTransformer,
    GeodesicKNeighborsClassifier,
)
from geomstats_gen.learning.pca import TangentPCA  # noqa: E402

__all__ += [
    "GeodesicDistanceTransformer",
    "GeodesicKMedoids",
    "GeodesicKNeighborsClassifier",
    "LatentLogMap",
    "TangentPCA",
]
