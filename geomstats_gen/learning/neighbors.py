"""Nearest neighbours and distance matrices with geodesic distances."""

import numbers

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

from geomstats_gen.learning._base import DISTANCE_CONSTRAINTS, LatentEstimatorMixin

__all__ = ["GeodesicDistanceTransformer", "GeodesicKNeighborsClassifier"]


class GeodesicKNeighborsClassifier(LatentEstimatorMixin, ClassifierMixin, BaseEstimator):
    """k-nearest-neighbour vote with geodesic distances, batched.

    ``predict`` computes all test-to-training distances in one batched call
    (:func:`pairwise_geodesic_distances`), where Geomstats'
    ``KNearestNeighborsClassifier`` lets scikit-learn call the metric once
    per pair. Votes follow scikit-learn's ``KNeighborsClassifier`` (ties to
    the first class; ``weights="distance"`` weighs by inverse distance, exact
    matches win).

    Parameters
    ----------
    space : GeneratedManifold or fitted geomstats_gen model
    n_neighbors : int
    weights : {"uniform", "distance"}
    method : {"exact", "graph"}
        Passed to :func:`pairwise_geodesic_distances`.
    graph_neighbors : int
        ``n_neighbors`` of the graph method.
    progress : bool, optional
        Progress bar of the distance computation.

    Attributes
    ----------
    classes_ : ndarray, shape=[n_classes]
    codes_ : ndarray, shape=[n, d]
        Latent codes of the training samples.
    n_features_in_ : int
    """

    _parameter_constraints = {
        **DISTANCE_CONSTRAINTS,
        "n_neighbors": [Interval(numbers.Integral, 1, None, closed="left")],
        "weights": [StrOptions({"uniform", "distance"})],
    }

    def __init__(
        self, space, n_neighbors=5, weights="uniform", method="exact", graph_neighbors=10,
        progress=None,
    ):
        self.space = space
        self.n_neighbors = n_neighbors
        self.weights = weights
        self.method = method
        self.graph_neighbors = graph_neighbors
        self.progress = progress

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Store the training codes and labels.

        Parameters
        ----------
        X : array-like, shape=[n, d] (codes) or the model's data
        y : array-like, shape=[n]

        Returns
        -------
        self
        """
        if y is not None:
            check_classification_targets(y)
        X, y, codes = self._validate(X, reset=True, y=y)
        if y.ndim != 1:
            y = np.ravel(y) if y.ndim == 2 and y.shape[1] == 1 else y
        if y.ndim != 1:
            raise ValueError(f"`y` must have shape [n_samples], got {y.shape}.")
        check_classification_targets(y)
        if self.n_neighbors > len(codes):
            raise ValueError(
                f"`n_neighbors` ({self.n_neighbors}) must be at most the number of "
                f"training samples ({len(codes)})."
            )
        self.classes_, self._y_index = np.unique(y, return_inverse=True)
        self.codes_ = codes
        return self

    def kneighbors(self, X, n_neighbors=None, return_distance=True):
        """Indices of (and geodesic distances to) the nearest training samples.

        Parameters
        ----------
        X : array-like, shape=[m, d] (codes) or the model's data
        n_neighbors : int, optional
        return_distance : bool

        Returns
        -------
        dist : ndarray, shape=[m, n_neighbors]
            Only when ``return_distance``.
        ind : ndarray of int, shape=[m, n_neighbors]
        """
        check_is_fitted(self, "codes_")
        k = self.n_neighbors if n_neighbors is None else n_neighbors
        X, codes = self._validate(X, reset=False)
        dist = self._distances(codes, self.codes_)
        ind = np.argsort(dist, axis=1, kind="stable")[:, :k]
        if return_distance:
            return np.take_along_axis(dist, ind, axis=1), ind
        return ind

    def predict_proba(self, X):
        """Class probabilities from the neighbours' (weighted) votes.

        Parameters
        ----------
        X : array-like, shape=[m, d] (codes) or the model's data

        Returns
        -------
        proba : ndarray, shape=[m, n_classes]
        """
        dist, ind = self.kneighbors(X)
        if self.weights == "uniform":
            weights = np.ones_like(dist)
        else:
            with np.errstate(divide="ignore"):
                weights = 1.0 / dist
            exact = np.isinf(weights)
            rows = exact.any(axis=1)
            weights[rows] = exact[rows].astype(np.float64)
        labels = self._y_index[ind]
        proba = np.zeros((len(dist), len(self.classes_)))
        np.add.at(proba, (np.arange(len(dist))[:, None], labels), weights)
        total = proba.sum(axis=1, keepdims=True)
        total[total == 0] = 1.0
        return proba / total

    def predict(self, X):
        """Majority (or distance-weighted) vote of the nearest neighbours.

        Parameters
        ----------
        X : array-like, shape=[m, d] (codes) or the model's data

        Returns
        -------
        labels : ndarray, shape=[m]
        """
        check_is_fitted(self, "codes_")
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


class GeodesicDistanceTransformer(LatentEstimatorMixin, TransformerMixin, BaseEstimator):
    """Geodesic distances to the training codes, for ``metric="precomputed"``.

    ``fit(X)`` stores the codes; ``transform(X)`` returns the distances of
    ``X`` to them, ``[m, n_fit]``; ``fit_transform(X)`` the symmetric
    ``[n, n]`` matrix (half the solves). Feeds scikit-learn's DBSCAN, Isomap,
    MDS (``dissimilarity="precomputed"``), SpectralClustering (through an
    affinity such as ``exp(-d^2 / 2 s^2)``) and ``KNeighborsClassifier``
    (``metric="precomputed"``, also inside a ``Pipeline``).

    Parameters
    ----------
    space : GeneratedManifold or fitted geomstats_gen model
    method : {"exact", "graph"}
    graph_neighbors : int
    progress : bool, optional

    Attributes
    ----------
    codes_ : ndarray, shape=[n_fit, d]
    n_features_in_ : int
    """

    _parameter_constraints = dict(DISTANCE_CONSTRAINTS)

    def __init__(self, space, method="exact", graph_neighbors=10, progress=None):
        self.space = space
        self.method = method
        self.graph_neighbors = graph_neighbors
        self.progress = progress

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Store the codes of ``X``.

        Parameters
        ----------
        X : array-like, shape=[n, d] (codes) or the model's data
        y : ignored

        Returns
        -------
        self
        """
        X, codes = self._validate(X, reset=True)
        self.codes_ = codes
        return self

    def transform(self, X):
        """Geodesic distances from ``X`` to the fitted codes.

        Parameters
        ----------
        X : array-like, shape=[m, d] (codes) or the model's data

        Returns
        -------
        dist : ndarray, shape=[m, n_fit]
        """
        check_is_fitted(self, "codes_")
        X, codes = self._validate(X, reset=False)
        if codes.shape == self.codes_.shape and np.array_equal(codes, self.codes_):
            return self._distances(codes)
        return self._distances(codes, self.codes_)

    def fit_transform(self, X, y=None):
        """Fit, then the symmetric matrix of distances between the codes.

        Parameters
        ----------
        X : array-like, shape=[n, d] (codes) or the model's data
        y : ignored

        Returns
        -------
        dist : ndarray, shape=[n, n]
        """
        return self.fit(X)._distances(self.codes_)
