"""Model zoo: VAE-type generative models whose latent geometry we study.

Scikit-learn estimators (``fit``, ``transform``, ``inverse_transform``,
``score``) built on torch, trained on CPU or GPU:

* :class:`VAE` (Kingma & Welling 2014),
* :class:`BetaVAE` (Higgins et al. 2017),
* :class:`BetaTCVAE` (Chen et al. 2018),
* :class:`DIPVAE` (Kumar et al. 2018, types "i" and "ii"),

plus the disentanglement score :func:`mig_score` (Chen et al. 2018) to
compare them on :func:`geomstats_gen.datasets.make_shapes`, as in Shukla et
al. (2019). A fitted model's ``manifold_`` is the latent space as a
:class:`~geomstats_gen.GeneratedManifold` of its mean decoder.
"""

import geomstats_gen  # noqa: F401  (selects Geomstats' pytorch backend first)
from geomstats_gen.models.base import VAE
from geomstats_gen.models.metrics import mig_score, mutual_information_matrix
from geomstats_gen._model_names import MODEL_NAMES
from geomstats_gen.models.objectives import tc_decomposition
from geomstats_gen.models.persistence import REGISTRY
from geomstats_gen.models.variants import DIPVAE, BetaTCVAE, BetaVAE

#: The model classes by their command-line names (``geomstats-gen train --model``).
MODELS = {name: REGISTRY[cls_name] for name, cls_name in MODEL_NAMES.items()}

__all__ = [
    "MODELS",
    "REGISTRY",
    "VAE",
    "BetaTCVAE",
    "BetaVAE",
    "DIPVAE",
    "mig_score",
    "mutual_information_matrix",
    "tc_decomposition",
]
