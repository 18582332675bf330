"""What the scikit-learn estimators of :mod:`geomstats_gen.learning` share.

Each estimator takes ``space``: a :class:`~geomstats_gen.GeneratedManifold`
(``X`` are latent codes ``[n, d]``) or a fitted model of
:mod:`geomstats_gen.models` (``X`` are data, encoded with
``model.transform``; the geometry is ``model.manifold_``). They follow the
scikit-learn contract (``__init__`` only stores, ``fit(X, y=None)`` returns
``self``, fitted attributes end in ``_``, parameters are checked by
``_parameter_constraints`` when fitting), so they clone and work inside
``Pipeline``, ``GridSearchCV`` and ``cross_val_score``. ``space`` is data,
not a setting: a clone shares it (a fitted model stays fitted), as it would
share a precomputed kernel. Geodesic distances are computed in one batched
call per ``fit``/``predict`` (:func:`pairwise_geodesic_distances`).
"""

import numbers

import numpy as np
import torch
from sklearn.base import clone
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import validate_data

from geomstats_gen.learning._distances import pairwise_geodesic_distances
from geomstats_gen.learning._validation import resolve_space

__all__ = ["DISTANCE_CONSTRAINTS", "LatentEstimatorMixin"]

#: Parameter constraints of the estimators that compute geodesic distances.
DISTANCE_CONSTRAINTS = {
    "space": "no_validation",
    "method": [StrOptions({"exact", "graph"})],
    "graph_neighbors": [Interval(numbers.Integral, 1, None, closed="left")],
    "progress": ["boolean", None],
}


class LatentEstimatorMixin:
    """Encoding of inputs and distances, shared by the estimators."""

    def __sklearn_clone__(self):
        """A clone with the same settings that shares ``space`` (kept fitted)."""
        params = self.get_params(deep=False)
        space = params.pop("space")
        return type(self)(space, **{k: clone(v, safe=False) for k, v in params.items()})

    def _manifold(self):
        return resolve_space(self.space)

    def _validate(self, X, reset, y="no_validation"):
        """Validated inputs and their latent codes.

        Returns ``(X, codes)`` or ``(X, y, codes)``: ``X`` as validated
        (NumPy), ``codes`` a NumPy array ``[n, d]``.
        """
        manifold, model = self._manifold()
        if model is None:
            kwargs = dict(reset=reset, dtype=[np.float64, np.float32])
            if isinstance(y, str) and y == "no_validation":
                X = validate_data(self, X, **kwargs)
            else:
                X, y = validate_data(self, X, y, **kwargs)
            if X.shape[1] != manifold.latent_dim:
                raise ValueError(
                    f"`X` must have {manifold.latent_dim} features (the latent dimension "
                    f"of `space`), got {X.shape[1]}."
                )
            codes = X
        else:
            if isinstance(X, torch.Tensor):
                X = X.detach().cpu().numpy()
            X = np.asarray(X)
            if not (isinstance(y, str) and y == "no_validation"):
                if y is None:
                    raise ValueError(
                        f"{type(self).__name__} requires y to be passed, but the target y "
                        "is None."
                    )
                y = np.asarray(y)
                if len(y) != len(X):
                    raise ValueError(
                        f"`y` must have one label per sample of `X`: {len(y)} labels for "
                        f"{len(X)} samples."
                    )
            codes = np.asarray(model.transform(X))
            if reset:
                self.n_features_in_ = int(np.prod(X.shape[1:])) if X.ndim > 1 else 1
        if isinstance(y, str) and y == "no_validation":
            return X, codes
        return X, y, codes

    def _distances(self, X, Y=None):
        manifold, _ = self._manifold()
        dist = pairwise_geodesic_distances(
            manifold,
            X,
            Y,
            method=self.method,
            n_neighbors=self.graph_neighbors,
            progress=self.progress,
        )
        return np.asarray(dist, dtype=np.float64)
