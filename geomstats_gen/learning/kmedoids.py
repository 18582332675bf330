"""k-medoids clustering with geodesic distances."""

import numbers

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin, TransformerMixin, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from geomstats_gen.learning._base import DISTANCE_CONSTRAINTS, LatentEstimatorMixin

__all__ = ["GeodesicKMedoids"]


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


class GeodesicKMedoids(LatentEstimatorMixin, ClusterMixin, TransformerMixin, BaseEstimator):
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

    _parameter_constraints = {
        **DISTANCE_CONSTRAINTS,
        "n_clusters": [Interval(numbers.Integral, 1, None, closed="left")],
        "init": [StrOptions({"k-medoids++", "random"})],
        "n_init": [Interval(numbers.Integral, 1, None, closed="left")],
        "max_iter": [Interval(numbers.Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
    }

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
        if self.n_clusters > n_samples:
            raise ValueError(
                f"`n_clusters` ({self.n_clusters}) must be at most the number of samples "
                f"({n_samples})."
            )

    @_fit_context(prefer_skip_nested_validation=True)
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
