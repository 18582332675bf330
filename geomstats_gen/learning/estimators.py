"""Scikit-learn estimators on the latent manifold of a decoder.

Each estimator takes ``space``: a :class:`~geomstats_gen.GeneratedManifold`
(``X`` are latent codes ``[n, d]``) or a fitted model of
:mod:`geomstats_gen.models` (``X`` are data, encoded with
``model.transform``; the geometry is ``model.manifold_``). They follow the
scikit-learn contract (``__init__`` only stores, ``fit(X, y=None)`` returns
``self``, fitted attributes end in ``_``), so they clone and work inside
``Pipeline`` and ``GridSearchCV``. Geodesic distances are computed in one
batched call per ``fit``/``predict`` (:func:`pairwise_geodesic_distances`).
"""

import numpy as np
import torch
from sklearn.base import (
    BaseEstimator,
    ClassifierMixin,
    ClusterMixin,
    TransformerMixin,
)
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from geomstats_gen.learning._distances import pairwise_geodesic_distances
from geomstats_gen.learning._validation import resolve_space

__all__ = [
    "GeodesicDistanceTransformer",
    "GeodesicKMedoids",
    "GeodesicKNeighborsClassifier",
    "LatentLogMap",
]


class _LatentMixin:
    """Encoding of inputs and distances, shared by the estimators."""

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


# ----------------------------------------------------------------------
# LatentLogMap
# ----------------------------------------------------------------------
def _mean_squared_norm(metric, logs, base_point):
    return float(metric.squared_norm(logs, base_point.expand_as(logs)).mean())


def _frechet_mean(metric, z, max_iter, tol, step_size):
    """Fréchet mean by Riemannian gradient descent with backtracking.

    ``mean <- Exp_mean(t * mean_i Log_mean(z_i))`` from the Euclidean mean;
    ``t`` starts at ``step_size`` and is halved while the mean squared
    distance (the Fréchet function) would increase. Stops when the
    Riemannian norm of the mean log is below ``tol`` times the root mean
    squared distance. Each iteration is one batched log over all the codes
    and one exp.

    Returns
    -------
    mean : torch.Tensor, shape=[d]
    n_iter : int
    """
    mean = z.mean(0)
    logs = metric.log(z, mean)
    value = _mean_squared_norm(metric, logs, mean)
    n_iter = 0
    for n_iter in range(1, max_iter + 1):
        grad = logs.mean(0)
        grad_norm = float(metric.norm(grad, mean))
        if grad_norm <= tol * max(value**0.5, np.finfo(np.float64).tiny):
            break
        step = step_size
        while True:
            candidate = metric.exp(step * grad, mean)
            cand_logs = metric.log(z, candidate)
            cand_value = _mean_squared_norm(metric, cand_logs, candidate)
            if cand_value <= value or step < 1e-3:
                break
            step *= 0.5
        if cand_value > value:
            break  # no decrease even with a tiny step: at the solver's noise floor
        mean, logs, value = candidate, cand_logs, cand_value
    return mean, n_iter


class LatentLogMap(_LatentMixin, TransformerMixin, BaseEstimator):
    r"""Riemannian normal coordinates at the Fréchet mean of the codes.

    ``fit`` computes the Fréchet mean :math:`\bar z` of the codes (batched
    gradient descent :math:`\bar z \leftarrow \mathrm{Exp}_{\bar z}(\eta\,
    \mathrm{mean}_i \mathrm{Log}_{\bar z} z_i)` from the Euclidean mean,
    halving :math:`\eta` while the mean squared distance would grow) and
    the Cholesky factor :math:`L` of :math:`G(\bar z) = L L^T`.
    ``transform`` gives :math:`c = L^T \mathrm{Log}_{\bar z}(z)`: the log map
    in a :math:`G`-orthonormal frame, so that :math:`\|c\|` is the geodesic
    distance to the mean. ``inverse_transform`` maps back with
    :math:`\mathrm{Exp}_{\bar z}(L^{-T} c)`.

    Parameters
    ----------
    space : GeneratedManifold or fitted geomstats_gen model
        With a model, ``X`` are data and ``inverse_transform`` decodes.
    max_iter : int
        Iterations of the Fréchet mean.
    tol : float
        Stop when the Riemannian norm of the mean log is below ``tol`` times
        the root mean squared distance to the mean.
    step_size : float
        Initial step :math:`\eta` of each Fréchet mean iteration, in (0, 1].

    Attributes
    ----------
    mean_ : ndarray, shape=[d]
        Fréchet mean of the training codes.
    frame_ : ndarray, shape=[d, d]
        Lower-triangular ``L`` with ``G(mean_) = L L^T``.
    n_iter_ : int
        Fréchet mean iterations run.
    n_features_in_ : int
    """

    def __init__(self, space, max_iter=20, tol=1e-6, step_size=1.0):
        self.space = space
        self.max_iter = max_iter
        self.tol = tol
        self.step_size = step_size

    def fit(self, X, y=None):
        """Fréchet mean of the codes and the orthonormal frame there.

        Parameters
        ----------
        X : array-like, shape=[n, d] (codes) or the model's data
        y : ignored

        Returns
        -------
        self
        """
        if not (isinstance(self.max_iter, (int, np.integer)) and self.max_iter >= 1):
            raise ValueError(f"`max_iter` must be a positive integer, got {self.max_iter!r}.")
        if not float(self.tol) > 0:
            raise ValueError(f"`tol` must be positive, got {self.tol!r}.")
        if not 0 < float(self.step_size) <= 1:
            raise ValueError(f"`step_size` must be in (0, 1], got {self.step_size!r}.")
        X, codes = self._validate(X, reset=True)
        manifold, _ = self._manifold()
        metric = manifold.metric
        z = torch.tensor(codes)
        mean, n_iter = _frechet_mean(
            manifold.metric, z, self.max_iter, float(self.tol), float(self.step_size)
        )
        gram = metric.metric_matrix(mean).to(torch.float64)
        self.mean_ = mean.detach().cpu().numpy()
        self.frame_ = torch.linalg.cholesky(gram).cpu().numpy()
        self.n_iter_ = int(n_iter)
        return self

    def transform(self, X):
        """Normal coordinates ``L^T Log_mean(z)``.

        Parameters
        ----------
        X : array-like, shape=[n, d] (codes) or the model's data

        Returns
        -------
        coords : ndarray, shape=[n, d]
        """
        check_is_fitted(self, "mean_")
        X, codes = self._validate(X, reset=False)
        manifold, _ = self._manifold()
        z = torch.tensor(codes)
        mean = torch.as_tensor(self.mean_, dtype=z.dtype)
        logs = manifold.metric.log(z, mean).to(torch.float64).cpu().numpy()
        return (logs @ self.frame_).astype(codes.dtype, copy=False)

    def inverse_transform(self, X):
        """Map normal coordinates back: ``Exp_mean(L^{-T} c)``.

        Parameters
        ----------
        X : array-like, shape=[n, d]
            Normal coordinates.

        Returns
        -------
        points : ndarray, shape=[n, d] (codes), or decoded data with a model
        """
        check_is_fitted(self, "mean_")
        manifold, model = self._manifold()
        coords = np.asarray(X.detach().cpu().numpy() if isinstance(X, torch.Tensor) else X)
        if coords.ndim != 2 or coords.shape[1] != manifold.latent_dim:
            raise ValueError(
                f"`X` must have shape [n, {manifold.latent_dim}] (normal coordinates), got "
                f"{coords.shape}."
            )
        if not np.issubdtype(coords.dtype, np.floating):
            coords = coords.astype(np.float64)
        # rows: v = c L^{-1}, i.e. v = L^{-T} c per point
        tangent = np.linalg.solve(self.frame_.T, coords.astype(np.float64).T).T
        mean = torch.as_tensor(self.mean_)
        points = manifold.metric.exp(torch.as_tensor(tangent, dtype=mean.dtype), mean)
        points = points.detach().cpu().numpy().astype(coords.dtype, copy=False)
        if model is not None:
            return model.inverse_transform(points)
        return points


# ----------------------------------------------------------------------
# k nearest neighbours
# ----------------------------------------------------------------------
class GeodesicKNeighborsClassifier(_LatentMixin, ClassifierMixin, BaseEstimator):
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
        if self.weights not in ("uniform", "distance"):
            raise ValueError(f"`weights` must be 'uniform' or 'distance', got {self.weights!r}.")
        if (
            isinstance(self.n_neighbors, bool)
            or not isinstance(self.n_neighbors, (int, np.integer))
            or self.n_neighbors < 1
        ):
            raise ValueError(
                f"`n_neighbors` must be a positive integer, got {self.n_neighbors!r}."
            )
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


# ----------------------------------------------------------------------
# k-medoids
# ----------------------------------------------------------------------
def _kmedoids_pp(dist, n_clusters, rng):
    """k-medoids++ seeding (D^2 sampling) on a distance matrix."""
    n = dist.shape[0]
    medoids = [int(rng.randint(n))]
    closest = dist[medoids[0]] ** 2
    for _ in range(1, n_clusters):
        total = closest.sum()
        if total <= 0:
            rest = np.setdiff1d(np.arange(n), medoids)
            new = int(rng.choice(rest))
        else:
            new = int(rng.choice(n, p=closest / total))
        medoids.append(new)
        closest = np.minimum(closest, dist[new] ** 2)
    return np.array(medoids)


def _alternate(dist, medoids, max_iter):
    """Alternate (Voronoi iteration) k-medoids; returns medoids, labels, n_iter."""
    n_iter = 0
    for n_iter in range(1, max_iter + 1):
        labels = np.argmin(dist[:, medoids], axis=1)
        new = medoids.copy()
        for k in range(len(medoids)):
            members = np.flatnonzero(labels == k)
            if members.size == 0:
                continue
            costs = dist[np.ix_(members, members)].sum(axis=1)
            new[k] = members[np.argmin(costs)]
        if np.array_equal(new, medoids):
            break
        medoids = new
    labels = np.argmin(dist[:, medoids], axis=1)
    return medoids, labels, n_iter


class GeodesicKMedoids(_LatentMixin, ClusterMixin, TransformerMixin, BaseEstimator):
    """k-medoids clustering with geodesic distances; pipeline-safe.

    Unlike Geomstats' ``RiemannianKMedoids``, ``fit(X, y=None)`` accepts (and
    ignores) ``y``, so the estimator works inside a scikit-learn
    ``Pipeline``. The distance matrix is computed in one batched call; the
    clustering alternates assignment and medoid update (Voronoi iteration)
    from k-medoids++ seeds, ``n_init`` times, keeping the lowest inertia.

    Parameters
    ----------
    space : GeneratedManifold or fitted geomstats_gen model
    n_clusters : int
    init : {"k-medoids++", "random"}
    n_init : int
    max_iter : int
    method : {"exact", "graph"}
        Passed to :func:`pairwise_geodesic_distances`.
    graph_neighbors : int
    random_state : int, RandomState or None
    progress : bool, optional

    Attributes
    ----------
    medoid_indices_ : ndarray of int, shape=[n_clusters]
    cluster_centers_ : ndarray, shape=[n_clusters, n_features]
        Training samples chosen as medoids (codes, or data with a model).
    medoid_codes_ : ndarray, shape=[n_clusters, d]
    labels_ : ndarray of int, shape=[n]
    inertia_ : float
        Sum of the geodesic distances of the samples to their medoid.
    n_iter_ : int
    """

    def __init__(
        self, space, n_clusters=8, init="k-medoids++", n_init=1, max_iter=300,
        method="exact", graph_neighbors=10, random_state=None, progress=None,
    ):
        self.space = space
        self.n_clusters = n_clusters
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.method = method
        self.graph_neighbors = graph_neighbors
        self.random_state = random_state
        self.progress = progress

    def _check_params(self, n_samples):
        for name in ("n_clusters", "n_init", "max_iter"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"`{name}` must be a positive integer, got {value!r}.")
        if self.init not in ("k-medoids++", "random"):
            raise ValueError(f"`init` must be 'k-medoids++' or 'random', got {self.init!r}.")
        if self.n_clusters > n_samples:
            raise ValueError(
                f"`n_clusters` ({self.n_clusters}) must be at most the number of samples "
                f"({n_samples})."
            )

    def fit(self, X, y=None):
        """Cluster the samples.

        Parameters
        ----------
        X : array-like, shape=[n, d] (codes) or the model's data
        y : ignored

        Returns
        -------
        self
        """
        X, codes = self._validate(X, reset=True)
        self._check_params(len(codes))
        dist = self._distances(codes)
        rng = check_random_state(self.random_state)
        best = None
        for _ in range(self.n_init):
            if self.init == "random":
                start = rng.choice(len(codes), self.n_clusters, replace=False)
            else:
                start = _kmedoids_pp(dist, self.n_clusters, rng)
            medoids, labels, n_iter = _alternate(dist, np.asarray(start), self.max_iter)
            inertia = float(dist[np.arange(len(codes)), medoids[labels]].sum())
            if best is None or inertia < best[0]:
                best = (inertia, medoids, labels, n_iter)
        self.inertia_, self.medoid_indices_, self.labels_, self.n_iter_ = best
        self.cluster_centers_ = X[self.medoid_indices_]
        self.medoid_codes_ = codes[self.medoid_indices_]
        return self

    def transform(self, X):
        """Geodesic distances to the medoids.

        Parameters
        ----------
        X : array-like, shape=[m, d] (codes) or the model's data

        Returns
        -------
        dist : ndarray, shape=[m, n_clusters]
        """
        check_is_fitted(self, "medoid_codes_")
        X, codes = self._validate(X, reset=False)
        return self._distances(codes, self.medoid_codes_)

    def predict(self, X):
        """Index of the nearest medoid.

        Parameters
        ----------
        X : array-like, shape=[m, d] (codes) or the model's data

        Returns
        -------
        labels : ndarray of int, shape=[m]
        """
        return np.argmin(self.transform(X), axis=1)


# ----------------------------------------------------------------------
# Distance matrices for scikit-learn's metric="precomputed"
# ----------------------------------------------------------------------
class GeodesicDistanceTransformer(_LatentMixin, TransformerMixin, BaseEstimator):
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

    def __init__(self, space, method="exact", graph_neighbors=10, progress=None):
        self.space = space
        self.method = method
        self.graph_neighbors = graph_neighbors
        self.progress = progress

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
        self.fit(X)
        return self._distances(self.codes_)
