"""The measures of one trained model, for Shukla et al.'s and Shao et al.'s claims.

Every function returns plain JSON values (floats, lists of floats), so the
records can be saved, committed and tabulated.
"""

import time

import numpy as np
import torch

from geomstats_gen.learning import (
    class_separability,
    interpolation_smoothness,
    pairwise_geodesic_distances,
    separating_direction_curvature,
)
from geomstats_gen.measures import coordinate_plane_curvature, curvature_statistics
from geomstats_gen.models import mig_score
from geomstats_gen.transport import analogy

__all__ = [
    "METRICS",
    "analogy_scores",
    "axis_curvature",
    "flatness",
    "separability",
    "shukla_measures",
]

#: The Riemannian metrics of the latent space compared with Euclidean
#: distances (``model.manifold(metric)``).
METRICS = ("pullback", "expected", "fisher-rao")


def latent_space(model, metric, plan):
    """``model.manifold(metric)`` with the plan's log-solver tolerances and cap."""
    space = model.manifold(metric)
    space.metric.log_solver.rtol = plan.log_rtol
    space.metric.log_solver.max_nodes = plan.log_max_nodes
    space.metric.log_solver.n_nodes = plan.log_n_nodes
    space.metric.log_solver.tol = plan.log_tol
    return space


def _codes(model, X):
    return np.asarray(model.transform(X), dtype=np.float64)


def class_axes(codes, labels):
    """Latent axes ranked by how much of their variance is between classes.

    The ratio of the between-class variance of each coordinate (variance of
    the class means, weighted by class size) to its total variance, largest
    first: the "class-distinguishing" latent features.
    """
    total = codes.var(0)
    means = np.stack([codes[labels == c].mean(0) for c in np.unique(labels)])
    weights = np.array([(labels == c).mean() for c in np.unique(labels)])
    between = (weights[:, None] * (means - codes.mean(0)) ** 2).sum(0)
    ratio = between / np.maximum(total, 1e-300)
    return np.argsort(-ratio), ratio


def axis_curvature(space, codes, labels):
    """Sectional curvature per latent axis and of the class-distinguishing planes.

    Returns
    -------
    scores : dict
        ``axis_abs_curvature`` (list, per axis: mean over the codes and the
        other axes of ``|K(e_i, e_j)|``), ``axis_class_ratio`` (list, the
        between-class variance fraction of each axis), ``class_axes_plane``
        (mean ``|K|`` of the plane of the two most class-distinguishing
        axes), ``coordinate_planes_abs`` (mean ``|K|`` over all coordinate
        planes), ``separating_plane_abs`` (mean ``|K|`` of the plane of the
        two directions that best separate the class means,
        :func:`separating_direction_curvature`).
    """
    z = torch.as_tensor(codes)
    planes = coordinate_plane_curvature(space, z).to(torch.float64).abs().mean(0).cpu().numpy()
    dim = planes.shape[0]
    per_axis = planes.sum(1) / max(dim - 1, 1)
    order, ratio = class_axes(codes, labels)
    upper = planes[np.triu_indices(dim, 1)]
    return {
        "axis_abs_curvature": per_axis.tolist(),
        "axis_class_ratio": ratio.tolist(),
        "class_axes_plane": float(planes[order[0], order[1]]),
        "coordinate_planes_abs": float(upper.mean()),
        "separating_plane_abs": separating_direction_curvature(space, z, labels)[
            "curvature_abs_mean"
        ],
    }


def separability(space, codes, labels, n_neighbors):
    """kNN accuracy and silhouette under one metric's geodesic graph distances."""
    dist = pairwise_geodesic_distances(space, codes, method="graph", n_neighbors=n_neighbors)
    scores = class_separability(space, codes, labels, distances=dist)
    return dist, scores


def flatness(space, codes, distances, n_planes, seed):
    """Curvature at the scale of the data: ``|K| r^2``.

    ``r`` is the median geodesic distance between the codes and ``|K|`` the
    median over random planes: ``|K| r^2 = (r / R)^2`` with ``R = 1 / sqrt|K|``
    the local radius of curvature, so the space is flat at the scale of its
    data when it is small (``R`` much larger than the distances).
    """
    stats = curvature_statistics(space, torch.as_tensor(codes), n_planes=n_planes,
                                 random_state=seed)
    sectional = stats["sectional"].to(torch.float64).cpu().numpy().ravel()
    off = distances[np.triu_indices(distances.shape[0], 1)]
    radius = float(np.median(off[np.isfinite(off)]))
    return {
        "sectional_median": float(np.median(sectional)),
        "sectional_abs_median": float(np.median(np.abs(sectional))),
        "sectional_negative_fraction": float((sectional < 0).mean()),
        "random_planes_abs": float(np.abs(sectional).mean()),
        "median_distance": radius,
        "abs_curvature_times_r2": float(np.median(np.abs(sectional)) * radius**2),
    }


def analogy_scores(model, space, codes, labels, classifier, n_analogies, seed,
                   transport_steps=None):
    """Analogies "A is to B as C is to D" by parallel transport and by arithmetic.

    ``A`` and ``B`` are codes of one class, ``C`` of another. ``D`` comes
    from :func:`geomstats_gen.transport.analogy` (``"geodesic"``: transport
    of ``log_A B`` to ``C``; ``"linear"``: ``C + B - A``). Scores: how often
    ``classifier`` (trained on images) labels the decoded ``D`` as ``C``'s
    class (``class_kept``; ``decoded_c_accuracy`` is its rate on the decoded
    ``C`` itself), and the cosine between the image change ``g(D) - g(C)``
    and ``g(B) - g(A)`` (``transfer_cosine``: the change carried over).
    ``transport_steps``: RK4 steps of the transport. A transport that
    diverges drops its triple (``transport_failures`` counts them); the
    scores are over the others.
    """
    rng = np.random.default_rng(seed)
    triples = []
    while len(triples) < n_analogies:
        a = rng.integers(len(labels))
        same = np.flatnonzero((labels == labels[a]) & (np.arange(len(labels)) != a))
        other = np.flatnonzero(labels != labels[a])
        if len(same) and len(other):
            triples.append((a, rng.choice(same), rng.choice(other)))
    a, b, c = (torch.as_tensor(codes[list(t)]) for t in zip(*triples))

    def decode(z):
        return np.asarray(model.inverse_transform(np.asarray(z, dtype=np.float64)))

    image_a, image_b, image_c = decode(a), decode(b), decode(c)
    change = image_b - image_a
    target = labels[[t[2] for t in triples]]
    out = {"decoded_c_accuracy": float((classifier.predict(image_c) == target).mean())}
    for method in ("geodesic", "linear"):
        if method == "geodesic":
            d, failed = _transport_analogy(space, a, b, c, transport_steps)
            out["transport_failures"] = int(failed.sum())
            keep = ~failed
        else:
            d = analogy(space, a, b, c, method=method).detach().cpu().numpy()
            keep = np.ones(len(d), dtype=bool)
        image_d = np.full_like(image_c, np.nan)
        if keep.any():
            image_d[keep] = decode(d[keep])
        moved = image_d - image_c
        cos = (moved * change).sum(1) / np.maximum(
            np.linalg.norm(moved, axis=1) * np.linalg.norm(change, axis=1), 1e-300
        )
        kept = classifier.predict(image_d[keep]) == target[keep] if keep.any() else None
        out[f"class_kept_{method}"] = float(kept.mean()) if keep.any() else float("nan")
        out[f"transfer_cosine_{method}"] = float(np.mean(cos[keep])) if keep.any() else float(
            "nan")
    return out


def _transport_analogy(space, a, b, c, transport_steps):
    """``exp_C(PT_{A -> C} log_A B)`` and which triples failed.

    :func:`~geomstats_gen.transport.analogy` in steps, so that a transport
    that diverges (non-finite, e.g. through a nearly degenerate metric) or an
    exp whose integrator gives up (``FloatingPointError``) drops its triple,
    counted, instead of the whole batch.
    """
    displacement = space.metric.log(b, a)
    moved = space.metric.parallel_transport(displacement, a, end_point=c,
                                            n_steps=transport_steps)
    failed = ~torch.isfinite(moved).all(-1)
    d = torch.full_like(c, float("nan"))
    rows = torch.nonzero(~failed).flatten()
    try:
        d[rows] = space.metric.exp(moved[rows], c[rows]).to(d)
    except FloatingPointError:  # the integrator gave up on some rows: find which
        for row in rows.tolist():
            try:
                d[row] = space.metric.exp(moved[row], c[row]).to(d)
            except FloatingPointError:
                failed[row] = True
    return d.detach().cpu().numpy(), failed.cpu().numpy()


def shukla_measures(model, data, plan, seed, metrics=METRICS):
    """Every measure of one model: ELBO, MIG, curvature, separability, interpolation.

    Returns
    -------
    record : dict
        ``elbo``, ``mig`` (shapes; None otherwise), the keys of
        :func:`axis_curvature`, ``knn_euclidean``, ``silhouette_euclidean``,
        ``knn_<metric>``, ``silhouette_<metric>``, the keys of
        :func:`interpolation_smoothness` and of :func:`flatness` (pullback;
        ``random_planes_abs`` is the mean ``|K|`` of random planes), and
        ``seconds_<step>`` (the time of each step).
    """
    clock = [time.perf_counter()]

    def lap(step):
        now = time.perf_counter()
        record[f"seconds_{step}"] = now - clock[0]
        clock[0] = now

    X_test, y_test = data["X_test"], data["y_test"]
    codes_test = _codes(model, X_test)
    index = data["eval_index"]
    codes, labels = codes_test[index], y_test[index]
    record = {"elbo": float(model.score(X_test))}
    record["mig"] = (None if data["factors_test"] is None
                     else float(mig_score(codes_test, data["factors_test"])))
    record["active_units"] = model.active_units(X_test)["n_active"]
    space = latent_space(model, "pullback", plan)
    record.update(axis_curvature(space, codes, labels))
    lap("curvature")
    if "expected" in metrics:
        model.fit_variance(data["X_train"], random_state=seed)
    for metric in metrics:
        dist, scores = separability(latent_space(model, metric, plan), codes, labels,
                                    plan.graph_neighbors)
        record[f"knn_{metric}"] = scores["knn_accuracy_geodesic"]
        record[f"silhouette_{metric}"] = scores["silhouette_geodesic"]
        record["knn_euclidean"] = scores["knn_accuracy_euclidean"]
        record["silhouette_euclidean"] = scores["silhouette_euclidean"]
        if metric == "pullback":
            record.update(flatness(space, codes, dist, plan.n_planes, seed))
        lap(f"distances_{metric}")
    record.update(interpolation_smoothness(space, codes, n_pairs=plan.n_pairs,
                                           random_state=seed))
    lap("interpolation")
    return record
