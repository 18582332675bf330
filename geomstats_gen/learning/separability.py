"""Measures of Shukla et al. for comparing the latent geometry of models.

* :func:`class_separability`: how well classes separate under geodesic
  versus Euclidean latent distances (cross-validated kNN accuracy and
  silhouette);
* :func:`interpolation_smoothness`: the spread of decoded step lengths along
  geodesic versus straight-line interpolation between codes;
* :func:`separating_direction_curvature`: sectional curvature of the latent
  plane spanned by the directions that separate the classes, at the codes;
* :func:`compare_models`: all of them for several models, one record each.
"""

import numbers

import numpy as np
import torch

from geomstats_gen.core.checks import check_positive_int
from geomstats_gen.geometry.path_energy import path_segment_lengths
from geomstats_gen.learning._distances import pairwise_geodesic_distances
from geomstats_gen.learning._validation import (
    as_codes,
    check_manifold,
    resolve_space,
    to_numpy,
)

__all__ = [
    "class_separability",
    "compare_models",
    "interpolation_smoothness",
    "separating_direction_curvature",
]


def _labels(labels, n_samples, name="labels"):
    array = np.asarray(to_numpy(labels) if isinstance(labels, torch.Tensor) else labels)
    if array.ndim != 1 or array.shape[0] != n_samples:
        raise ValueError(
            f"`{name}` must have shape [{n_samples}] (one label per code), got shape "
            f"{array.shape}."
        )
    return array


def _square_distances(distances, n_samples):
    dist = np.asarray(to_numpy(distances) if isinstance(distances, torch.Tensor) else distances,
                      dtype=np.float64)
    if dist.shape != (n_samples, n_samples):
        raise ValueError(
            f"`distances` must have shape [{n_samples}, {n_samples}] (a square matrix "
            f"over the codes), got shape {dist.shape}."
        )
    return dist


def _knn_accuracy(dist, labels, n_neighbors, cv, random_state):
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.neighbors import KNeighborsClassifier

    _, counts = np.unique(labels, return_counts=True)
    n_splits = int(min(cv, counts.min()))
    if n_splits < 2:
        raise ValueError(
            "`labels`: every class needs at least 2 codes for a cross-validated kNN "
            f"accuracy, the smallest class has {counts.min()}."
        )
    folds = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=random_state)
    knn = KNeighborsClassifier(n_neighbors=n_neighbors, metric="precomputed")
    return float(cross_val_score(knn, dist, labels, cv=folds).mean())


def class_separability(
    space, codes, labels, n_neighbors=5, cv=5, distances=None, random_state=0, n_jobs=None
):
    """Class separability under geodesic versus Euclidean latent distances.

    Parameters
    ----------
    space : GeneratedManifold
    codes : array-like, shape=[n, d]
        Latent codes.
    labels : array-like, shape=[n]
        Class of each code.
    n_neighbors : int
        Neighbours of the kNN classifier.
    cv : int
        Folds of the stratified cross-validation (capped by the smallest
        class size).
    distances : array-like, shape=[n, n], optional
        Precomputed geodesic distances between the codes (e.g. from
        :func:`pairwise_geodesic_distances` with ``method="graph"``);
        computed exactly when omitted.
    random_state : int
        Seed of the fold shuffling.
    n_jobs : int, optional
        Passed to :func:`pairwise_geodesic_distances` (parallel chunks
        through joblib, e.g. on a Dask cluster).

    Returns
    -------
    scores : dict
        ``"knn_accuracy_geodesic"``, ``"knn_accuracy_euclidean"`` (mean
        cross-validated accuracy of a ``n_neighbors``-NN classifier on the
        distance matrix), ``"silhouette_geodesic"``,
        ``"silhouette_euclidean"`` (:func:`sklearn.metrics.silhouette_score`
        on the distance matrix), all floats.
    """
    from sklearn.metrics import silhouette_score

    check_manifold(space)
    z = as_codes(space, codes, "codes")
    n = z.shape[0]
    y = _labels(labels, n)
    k = check_positive_int(n_neighbors, "n_neighbors")
    cv = check_positive_int(cv, "cv")
    if len(np.unique(y)) < 2:
        raise ValueError("`labels` must contain at least 2 classes.")
    if distances is None:
        geo = _square_distances(pairwise_geodesic_distances(space, z, n_jobs=n_jobs), n)
    else:
        geo = _square_distances(distances, n)
    z64 = to_numpy(z).astype(np.float64)
    euc = np.sqrt(np.maximum(((z64[:, None, :] - z64[None, :, :]) ** 2).sum(-1), 0.0))
    return {
        "knn_accuracy_geodesic": _knn_accuracy(geo, y, k, cv, random_state),
        "knn_accuracy_euclidean": _knn_accuracy(euc, y, k, cv, random_state),
        "silhouette_geodesic": float(silhouette_score(geo, y, metric="precomputed")),
        "silhouette_euclidean": float(silhouette_score(euc, y, metric="precomputed")),
    }


def _random_pairs(n, n_pairs, random_state):
    rng = np.random.default_rng(random_state)
    first = rng.integers(0, n, size=n_pairs)
    second = (first + rng.integers(1, n, size=n_pairs)) % n
    return first, second


def _coefficient_of_variation(steps):
    mean = steps.mean(-1)
    std = steps.std(-1, unbiased=False)
    return std / mean.clamp_min(torch.finfo(steps.dtype).tiny)


def interpolation_smoothness(space, codes, n_pairs=32, random_state=0):
    """Spread of decoded step lengths along geodesic versus linear interpolation.

    For random pairs of distinct codes, the connecting discrete geodesic
    ``z_0 .. z_T`` (``space.metric.connecting_geodesic``) and the straight
    line with as many equal latent steps are decoded; the spread of the step
    lengths ``||g(z_{i+1}) - g(z_i)||`` along each path is its coefficient of
    variation (standard deviation / mean). Zero means the decoded images
    change at a constant rate. A discrete geodesic has nearly equal decoded
    steps, a straight line through a region where the decoder changes fast
    has uneven ones.

    Parameters
    ----------
    space : GeneratedManifold
    codes : array-like, shape=[n, d]
        Latent codes, at least 2.
    n_pairs : int
        Number of random pairs.
    random_state : int

    Returns
    -------
    scores : dict
        ``"step_cv_geodesic"``, ``"step_cv_linear"`` (coefficients of
        variation averaged over the pairs), ``"length_ratio"`` (mean of
        decoded linear length / geodesic length, at least 1 up to solver
        error).
    """
    check_manifold(space)
    z = as_codes(space, codes, "codes")
    n = z.shape[0]
    if n < 2:
        raise ValueError(f"`codes` must hold at least 2 codes, got {n}.")
    n_pairs = check_positive_int(n_pairs, "n_pairs")
    first, second = _random_pairs(n, n_pairs, random_state)
    start, end = z[first], z[second]
    distinct = ~(start == end).all(-1)
    start, end = start[distinct], end[distinct]
    if start.shape[0] == 0:
        raise ValueError("`codes` are all identical: no pair to interpolate.")
    result = space.metric.connecting_geodesic(end, start, warn=False)
    path = result.path
    t = torch.linspace(0, 1, path.shape[-2], dtype=path.dtype, device=path.device)
    line = start.to(path)[:, None] + t[None, :, None] * (end - start).to(path)[:, None]

    def steps(nodes):
        return path_segment_lengths(space.immersion(nodes)).to(torch.float64)

    geo_steps, lin_steps = steps(path), steps(line)
    return {
        "step_cv_geodesic": float(_coefficient_of_variation(geo_steps).mean()),
        "step_cv_linear": float(_coefficient_of_variation(lin_steps).mean()),
        "length_ratio": float((lin_steps.sum(-1) / geo_steps.sum(-1)).mean()),
    }


def separating_directions(codes, labels):
    """Two orthonormal latent directions that separate the classes best.

    The leading right singular vectors of the centred class means (the
    between-class scatter, as in LDA without whitening); completed, when the
    classes give fewer than two, by the leading principal direction of the
    codes orthogonal to the first.

    Parameters
    ----------
    codes : ndarray, shape=[n, d]
    labels : ndarray, shape=[n]

    Returns
    -------
    directions : ndarray, shape=[2, d]
    """
    codes = np.asarray(codes, dtype=np.float64)
    classes = np.unique(labels)
    means = np.stack([codes[labels == c].mean(0) for c in classes])
    between = means - codes.mean(0)
    _, sing, vt = np.linalg.svd(between, full_matrices=True)
    first = vt[0]
    if sing.size > 1 and sing[1] > 1e-12 * max(sing[0], 1e-300):
        return np.stack([vt[0], vt[1]])
    resid = codes - codes.mean(0)
    resid = resid - np.outer(resid @ first, first)
    _, _, vt2 = np.linalg.svd(resid, full_matrices=False)
    second = vt2[0] - (vt2[0] @ first) * first
    return np.stack([first, second / np.linalg.norm(second)])


def separating_direction_curvature(space, codes, labels):
    """Sectional curvature of the class-separating latent plane, at the codes.

    The plane is spanned by :func:`separating_directions` (the same two
    latent directions at every code; on a 2-D latent space it is the whole
    tangent plane, and the sectional curvature is the Gaussian curvature).

    Parameters
    ----------
    space : GeneratedManifold
        Latent dimension at least 2.
    codes : array-like, shape=[n, d]
    labels : array-like, shape=[n]

    Returns
    -------
    scores : dict
        ``"curvature_mean"``, ``"curvature_median"``,
        ``"curvature_abs_mean"`` over the codes.
    """
    check_manifold(space)
    z = as_codes(space, codes, "codes")
    if space.latent_dim < 2:
        raise ValueError(
            "`space` must have latent dimension >= 2 for a sectional curvature, got "
            f"{space.latent_dim}."
        )
    y = _labels(labels, z.shape[0])
    directions = torch.as_tensor(
        separating_directions(to_numpy(z), y), dtype=z.dtype, device=z.device
    )
    u = directions[0].expand_as(z)
    v = directions[1].expand_as(z)
    curv = space.metric.sectional_curvature(u, v, z).to(torch.float64)
    return {
        "curvature_mean": float(curv.mean()),
        "curvature_median": float(curv.median()),
        "curvature_abs_mean": float(curv.abs().mean()),
    }


def _model_items(models):
    if isinstance(models, dict):
        items = list(models.items())
    elif isinstance(models, (list, tuple)):
        items, seen = [], {}
        for model in models:
            base = type(model).__name__
            seen[base] = seen.get(base, 0) + 1
            items.append((base if seen[base] == 1 else f"{base}_{seen[base]}", model))
    else:
        raise TypeError(
            "`models` must be a list of fitted models or a dict {name: model}, got "
            f"{type(models).__name__}."
        )
    if not items:
        raise ValueError("`models` is empty.")
    return items


def compare_models(
    models,
    X,
    y,
    n_neighbors=5,
    cv=5,
    method="exact",
    graph_neighbors=10,
    max_samples=None,
    n_pairs=32,
    random_state=0,
    n_jobs=None,
):
    """Shukla et al.'s measures for several models, one record per model.

    Parameters
    ----------
    models : list or dict of str to model
        Fitted geomstats_gen models (``X`` is encoded by each) or
        GeneratedManifolds (``X`` are then latent codes). A list is named by
        class name (``"VAE"``, ``"VAE_2"``...).
    X : array-like, shape=[n, ...]
        Data (or codes for manifolds).
    y : array-like, shape=[n]
        Class labels.
    n_neighbors, cv : int
        Passed to :func:`class_separability`.
    method : {"exact", "graph"}
        How the geodesic distance matrix is computed
        (:func:`pairwise_geodesic_distances`).
    graph_neighbors : int
        ``n_neighbors`` of the graph method.
    max_samples : int, optional
        Use a stratified random subset of this size (the distance matrix is
        quadratic in ``n``).
    n_pairs : int
        Pairs of :func:`interpolation_smoothness`.
    random_state : int
    n_jobs : int, optional
        Passed to :func:`pairwise_geodesic_distances`: the chunks of each
        model's distance matrix (its costly part) run in parallel through
        joblib, e.g. ``with joblib.parallel_config(backend="dask")`` on a
        Dask cluster.

    Returns
    -------
    records : list of dict
        One per model: ``"model"``, ``"latent_dim"``, ``"n_samples"``, the
        keys of :func:`class_separability`, of
        :func:`interpolation_smoothness` and of
        :func:`separating_direction_curvature` (NaN for a 1-D latent space).
    """
    items = _model_items(models)
    labels = np.asarray(to_numpy(y) if isinstance(y, torch.Tensor) else y)
    n = len(labels)
    if labels.ndim != 1 or (hasattr(X, "__len__") and len(X) != n):
        raise ValueError(
            f"`y` must have shape [n_samples] matching `X`, got {labels.shape} for "
            f"{len(X)} samples."
        )
    index = np.arange(n)
    if max_samples is not None:
        max_samples = check_positive_int(max_samples, "max_samples")
        if max_samples < n:
            from sklearn.model_selection import train_test_split

            index, _ = train_test_split(
                index, train_size=max_samples, stratify=labels, random_state=random_state
            )
            index = np.sort(index)
    if not isinstance(random_state, numbers.Integral):
        raise TypeError(f"`random_state` must be an int, got {random_state!r}.")
    X_sub = X[index] if not isinstance(X, list) else [X[i] for i in index]
    y_sub = labels[index]
    records = []
    for name, model in items:
        manifold, encoder = resolve_space(model, "models")
        codes = X_sub if encoder is None else encoder.transform(X_sub)
        z = as_codes(manifold, codes, "codes")
        dist = pairwise_geodesic_distances(
            manifold, z, method=method, n_neighbors=graph_neighbors, n_jobs=n_jobs
        )
        record = {"model": name, "latent_dim": manifold.latent_dim, "n_samples": len(y_sub)}
        record.update(
            class_separability(
                manifold, z, y_sub, n_neighbors=n_neighbors, cv=cv, distances=dist,
                random_state=random_state,
            )
        )
        record.update(
            interpolation_smoothness(manifold, z, n_pairs=n_pairs, random_state=random_state)
        )
        if manifold.latent_dim >= 2:
            record.update(separating_direction_curvature(manifold, z, y_sub))
        else:
            record.update(
                curvature_mean=float("nan"),
                curvature_median=float("nan"),
                curvature_abs_mean=float("nan"),
            )
        records.append(record)
    return records
