"""The sections of the latent-geometry report, one function each.

Every section takes the :class:`Context` of the analysis (the model's
manifold, the encoded codes, their labels, the settings and the random
generator) and returns ``(summary, arrays)``: JSON-ready numbers for
``summary.json`` and NumPy arrays for the plots. Everything is batched: one
call of the metric for the whole grid, one batched geodesic solve for all
pairs of a section, one curvature call for all codes.
"""

import dataclasses
import math

import numpy as np
import torch

from geomstats_gen.learning import class_separability, pairwise_geodesic_distances
from geomstats_gen.measures import (
    coordinate_plane_curvature,
    curvature_statistics,
    geodesic_to_linear_ratio,
)
from geomstats_gen.transport import analogy

__all__ = ["Context", "SECTIONS", "encode", "latent_slice"]

F64 = torch.float64


def _float(value):
    value = float(value)
    return value if math.isfinite(value) else None


def _floats(values):
    return [_float(v) for v in np.asarray(values, dtype=np.float64).reshape(-1)]


def _stats(values):
    flat = np.asarray(values, dtype=np.float64).reshape(-1)
    flat = flat[np.isfinite(flat)]
    if flat.size == 0:
        return {k: None for k in ("mean", "std", "min", "median", "max")}
    return {
        "mean": float(flat.mean()),
        "std": float(flat.std()),
        "min": float(flat.min()),
        "median": float(np.median(flat)),
        "max": float(flat.max()),
    }


def _to_numpy(x):
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def latent_slice(codes):
    """The 2-D plane of the latent space the plots show.

    For ``d = 2`` the latent plane itself; for ``d > 2`` the plane through
    the mean code spanned by the first two principal directions of the
    codes.

    Parameters
    ----------
    codes : ndarray, shape=[n, d]

    Returns
    -------
    origin : ndarray, shape=[d]
    basis : ndarray, shape=[d, 2]
        Orthonormal columns (in latent coordinates).
    description : str
    """
    codes = np.asarray(codes, dtype=np.float64)
    dim = codes.shape[1]
    if dim == 2:
        return np.zeros(2), np.eye(2), "latent plane (z1, z2)"
    origin = codes.mean(0)
    _, _, vt = np.linalg.svd(codes - origin, full_matrices=False)
    basis = vt[:2].T
    return origin, basis, (
        f"2-D slice of the {dim}-D latent space through the mean code, "
        "spanned by the first two principal directions (PC1, PC2)"
    )


def _stratified_subset(labels, n_codes, rng):
    n = len(labels)
    if n <= n_codes:
        return np.arange(n)
    classes, inverse = np.unique(labels, return_inverse=True)
    if len(classes) < 2:
        return np.sort(rng.choice(n, size=n_codes, replace=False))
    from sklearn.model_selection import train_test_split

    try:
        index, _ = train_test_split(
            np.arange(n), train_size=n_codes, stratify=inverse,
            random_state=int(rng.integers(2**31)),
        )
    except ValueError:  # classes too small or too many for a stratified split
        index = rng.choice(n, size=n_codes, replace=False)
    return np.sort(index)


def _representatives(codes, labels, n_wanted, rng):
    """Indices of codes closest to their class centroid, one per class."""
    classes = np.unique(labels)
    reps = []
    for c in classes:
        members = np.flatnonzero(labels == c)
        centre = codes[members].mean(0)
        reps.append(members[np.argmin(((codes[members] - centre) ** 2).sum(-1))])
    reps = np.asarray(reps)
    if len(reps) < n_wanted:
        rest = np.setdiff1d(np.arange(len(codes)), reps)
        extra = rng.choice(rest, size=min(n_wanted - len(reps), len(rest)), replace=False)
        reps = np.concatenate([reps, extra])
    return reps




@dataclasses.dataclass
class Context:
    """What every section of the analysis reads.

    Attributes
    ----------
    space : GeneratedManifold
    codes : torch.Tensor, shape=[n, d], float64
    codes_np : ndarray, shape=[n, d]
    labels : ndarray of int, shape=[n]
    image_shape : tuple of int
    origin : ndarray, shape=[d]
    basis : ndarray, shape=[d, 2]
        The plotted latent plane (:func:`latent_slice`).
    plane_codes : ndarray, shape=[n, 2]
    rng : numpy.random.Generator
    settings : dict
        The keyword arguments of :func:`~geomstats_gen.report.analysis.analyze`.
    """

    space: object
    codes: torch.Tensor
    codes_np: np.ndarray
    labels: np.ndarray
    image_shape: tuple
    origin: np.ndarray
    basis: np.ndarray
    plane_codes: np.ndarray
    rng: np.random.Generator
    settings: dict

    @property
    def dim(self):
        """Latent dimension."""
        return int(self.space.latent_dim)


def encode(model, X, y, image_shape, n_codes, rng, settings):
    """Encode a stratified subset of the data: the context of the other sections.

    Returns
    -------
    context : Context
    summary : dict
    arrays : dict
    """
    space = model.manifold_
    X = _to_numpy(X)
    n_samples = len(X)
    labels = np.zeros(n_samples, dtype=np.int64) if y is None else _to_numpy(y).reshape(-1)
    if len(labels) != n_samples:
        raise ValueError(f"`y` must hold one label per sample ({n_samples}), got {len(labels)}.")
    subset = _stratified_subset(labels, min(n_codes, n_samples), rng)
    codes_np = np.asarray(model.transform(X[subset]), dtype=np.float64)
    sub_labels = labels[subset]
    codes = torch.as_tensor(codes_np, dtype=F64)
    n_out = int(space.embedding_dim)
    if image_shape is None or int(np.prod(image_shape)) != n_out:
        side = int(round(math.sqrt(n_out)))
        image_shape = (side, side) if side * side == n_out else (1, n_out)
    image_shape = tuple(int(s) for s in image_shape)
    origin, basis, slice_text = latent_slice(codes_np)
    plane_codes = (codes_np - origin) @ basis
    context = Context(space, codes, codes_np, sub_labels, image_shape, origin, basis,
                      plane_codes, rng, settings)
    arrays = dict(codes=codes_np, labels=sub_labels, plane_codes=plane_codes,
                  image_shape=image_shape)
    summary = {
        "latent_dim": context.dim,
        "n_samples": int(n_samples),
        "n_codes": int(len(subset)),
        "n_classes": int(len(np.unique(sub_labels))),
        "image_shape": list(image_shape),
        "plane": slice_text,
        "slice_origin": _floats(origin),
        "slice_basis": [_floats(col) for col in basis.T],
        "code_mean": _floats(codes_np.mean(0)),
        "code_std": _floats(codes_np.std(0)),
    }
    return context, summary, arrays


def magnification(ctx):
    """Magnification factor ``sqrt(det G)`` on a grid of the plotted plane."""
    grid_size = ctx.settings["grid_size"]
    metric = ctx.space.metric
    lo = np.percentile(ctx.plane_codes, 0.5, axis=0)
    hi = np.percentile(ctx.plane_codes, 99.5, axis=0)
    pad = 0.15 * (hi - lo)
    lo, hi = lo - pad, hi + pad
    u = np.linspace(lo[0], hi[0], grid_size)
    v = np.linspace(lo[1], hi[1], grid_size)
    uu, vv = np.meshgrid(u, v)
    plane_grid = np.stack([uu, vv], -1).reshape(-1, 2)
    latent_grid = torch.as_tensor(ctx.origin + plane_grid @ ctx.basis.T, dtype=F64)
    b = torch.as_tensor(ctx.basis, dtype=F64)

    def plane_volume(points):
        return torch.linalg.det(b.T @ metric.metric_matrix(points) @ b).clamp_min(0).sqrt()

    grid = plane_volume(latent_grid).reshape(uu.shape).cpu().numpy()
    at_codes = plane_volume(ctx.codes).cpu().numpy()
    summary = {
        "definition": "sqrt(det G) of the metric restricted to the plotted plane",
        "grid_size": int(grid_size),
        "extent": [float(lo[0]), float(hi[0]), float(lo[1]), float(hi[1])],
        "grid": _stats(grid),
        "at_codes": _stats(at_codes),
    }
    return summary, dict(grid_u=u, grid_v=v, magnification=grid)


def geodesics(ctx):
    """Geodesics between class representatives, and decoded strips along one."""
    n_pairs, n_strip = ctx.settings["n_pairs"], ctx.settings["n_strip"]
    space, codes, codes_np, labels = ctx.space, ctx.codes, ctx.codes_np, ctx.labels
    reps = _representatives(codes_np, labels, 2 * n_pairs, ctx.rng)[: 2 * n_pairs]
    starts, ends = reps[0::2], reps[1::2]
    start_t, end_t = codes[starts], codes[ends]
    ratio_pairs = geodesic_to_linear_ratio(space, start_t, end_t)
    result = ratio_pairs.geodesic  # solved once: lengths, paths, diagnostics
    paths = result.path.cpu().numpy()  # [p, n_nodes + 1, d]
    t = torch.linspace(0.0, 1.0, n_strip, dtype=F64)
    a0, b0 = start_t[0], end_t[0]
    # Points of the discrete geodesic at t (its nodes are equally spaced in
    # image space: the path-energy minimiser has constant speed).
    nodes = result.path[0].to(F64).cpu()
    pos = t * (nodes.shape[0] - 1)
    low = pos.floor().long().clamp(max=nodes.shape[0] - 2)
    frac = (pos - low)[:, None]
    geo_strip_codes = (1 - frac) * nodes[low] + frac * nodes[low + 1]
    lin_strip_codes = a0 + t[:, None] * (b0 - a0)
    geo_images = _to_numpy(space.immersion(geo_strip_codes))
    lin_images = _to_numpy(space.immersion(lin_strip_codes))
    # equal steps in the decoded space? (geodesics are constant speed)
    geo_steps = np.linalg.norm(np.diff(geo_images, axis=0), axis=-1)
    lin_steps = np.linalg.norm(np.diff(lin_images, axis=0), axis=-1)
    arrays = dict(
        pair_paths=paths,
        pair_plane_paths=(paths - ctx.origin) @ ctx.basis,
        pair_start=codes_np[starts],
        pair_end=codes_np[ends],
        pair_plane_start=ctx.plane_codes[starts],
        pair_plane_end=ctx.plane_codes[ends],
        pair_labels=np.stack([labels[starts], labels[ends]], -1),
        geo_strip=geo_images.reshape((n_strip,) + ctx.image_shape),
        lin_strip=lin_images.reshape((n_strip,) + ctx.image_shape),
        geo_strip_codes=geo_strip_codes.cpu().numpy(),
        lin_strip_codes=lin_strip_codes.cpu().numpy(),
    )
    summary = {
        "pairs": [
            {
                "start": _floats(codes_np[s]),
                "end": _floats(codes_np[e]),
                "start_label": int(labels[s]),
                "end_label": int(labels[e]),
                "geodesic_length": _float(ratio_pairs.geodesic_length[k]),
                "linear_length": _float(ratio_pairs.linear_length[k]),
                "ratio": _float(ratio_pairs.ratio[k]),
                "euclidean_latent_distance": _float(np.linalg.norm(codes_np[s] - codes_np[e])),
                "converged": bool(result.converged[k]),
            }
            for k, (s, e) in enumerate(zip(starts, ends))
        ],
        "strip": {
            "n_images": int(n_strip),
            "geodesic_step_cv": _float(geo_steps.std() / max(geo_steps.mean(), 1e-300)),
            "linear_step_cv": _float(lin_steps.std() / max(lin_steps.mean(), 1e-300)),
        },
    }
    return summary, arrays


def ratios(ctx):
    """Geodesic over straight-line lengths between random pairs of codes."""
    n_r = min(ctx.settings["n_ratio_pairs"], len(ctx.codes_np) // 2)
    pick = ctx.rng.permutation(len(ctx.codes_np))[: 2 * n_r]
    result = geodesic_to_linear_ratio(ctx.space, ctx.codes[pick[:n_r]], ctx.codes[pick[n_r:]])
    ratio_np = _to_numpy(result.ratio)
    summary = {
        "n_pairs": int(n_r),
        **_stats(ratio_np),
        "mean_percent_shorter": _float(100 * (1 - ratio_np.mean())),
    }
    return summary, {"ratios": ratio_np}


def _analogy_triples(labels, n_an, rng):
    """``(a, b, c)`` index triples: A, B from one class, C from another where possible."""
    order = rng.permutation(len(labels))
    triples = []
    classes = np.unique(labels)
    for k in range(n_an):
        if len(classes) >= 3:
            ca, cc = rng.choice(classes, size=2, replace=False)
            members_a = np.flatnonzero(labels == ca)
            members_c = np.flatnonzero(labels == cc)
            a_i, b_i = rng.choice(members_a, size=2, replace=False) if len(members_a) > 1 \
                else (members_a[0], order[3 * k + 1])
            c_i = rng.choice(members_c)
        else:
            a_i, b_i, c_i = order[3 * k: 3 * k + 3]
        triples.append((a_i, b_i, c_i))
    return np.asarray(triples)


def analogies(ctx):
    """Geodesic analogies (transport) against latent arithmetic."""
    settings = ctx.settings
    n_an = min(settings["n_analogies"], len(ctx.codes_np) // 3)
    if n_an == 0:
        return {"note": "no analogies asked for (n_analogies=0)"}, {}
    triples = _analogy_triples(ctx.labels, n_an, ctx.rng)
    za, zb, zc = (ctx.codes[triples[:, j]] for j in range(3))
    d_geo = analogy(ctx.space, za, zb, zc, method="geodesic",
                    transport_method=settings["analogy_transport"],
                    transport_steps=settings["transport_steps"])
    d_lin = analogy(ctx.space, za, zb, zc, method="linear")
    grid_codes = torch.stack([za, zb, zc, d_geo, d_lin], 1)  # [n, 5, d]
    grid_images = _to_numpy(ctx.space.immersion(grid_codes.reshape(-1, ctx.dim)))
    arrays = {
        "analogy_images": grid_images.reshape((n_an, 5) + ctx.image_shape),
        "analogy_labels": ctx.labels[triples],
    }
    gap = _to_numpy(torch.linalg.vector_norm(d_geo - d_lin, dim=-1))
    flat_images = grid_images.reshape(n_an, 5, -1)
    decoded_gap = np.linalg.norm(flat_images[:, 3] - flat_images[:, 4], axis=-1)
    codes_np = ctx.codes_np
    summary = {
        "definition": "D = Exp_C(PT_{A->C}(Log_A B)) against z_C + z_B - z_A",
        "transport": settings["analogy_transport"],
        "transport_steps": int(settings["transport_steps"]),
        "rows": [
            {
                "labels": [int(v) for v in ctx.labels[tr]],
                "a": _floats(codes_np[tr[0]]),
                "b": _floats(codes_np[tr[1]]),
                "c": _floats(codes_np[tr[2]]),
                "d_geodesic": _floats(_to_numpy(d_geo[k])),
                "d_linear": _floats(_to_numpy(d_lin[k])),
                "latent_gap": _float(gap[k]),
                "decoded_gap": _float(decoded_gap[k]),
            }
            for k, tr in enumerate(triples)
        ],
        "latent_gap_mean": _float(gap.mean()),
        "decoded_gap_mean": _float(decoded_gap.mean()),
    }
    return summary, arrays


def curvature(ctx):
    """Sectional curvature of random and coordinate planes, scalar curvature."""
    dim, n_planes = ctx.dim, ctx.settings["n_planes"]
    if dim < 2:
        return {"note": "latent dimension 1: no planes, no curvature"}, {}
    stats = curvature_statistics(ctx.space, ctx.codes, n_planes=n_planes,
                                 random_state=ctx.settings["random_state"])
    per_plane = _to_numpy(coordinate_plane_curvature(ctx.space, ctx.codes))  # [n, d, d]
    sectional = _to_numpy(stats["sectional"])
    scalar = _to_numpy(stats["scalar"])
    off = ~np.eye(dim, dtype=bool)
    per_axis = np.abs(per_plane[:, off].reshape(len(ctx.codes_np), dim, dim - 1))
    per_axis_mean = per_axis.mean(axis=(0, 2))
    arrays = dict(
        sectional=sectional,
        scalar=scalar,
        plane_curvature_mean=per_plane.mean(0),
        per_axis_mean=per_axis_mean,
        per_axis_std=per_axis.mean(axis=2).std(axis=0),
    )
    summary = {
        "n_codes": int(len(ctx.codes_np)),
        "n_planes": int(n_planes),
        "sectional": _stats(sectional),
        "sectional_abs_mean": _float(np.abs(sectional).mean()),
        "scalar": _stats(scalar),
        "scalar_abs_mean": _float(np.abs(scalar).mean()),
        "coordinate_plane_mean": [_floats(row) for row in per_plane.mean(0)],
        "per_axis_abs_mean": _floats(per_axis_mean),
        "check": {"code": _floats(ctx.codes_np[0]), "scalar_curvature": _float(scalar[0])},
    }
    return summary, arrays


def separability(ctx):
    """kNN accuracy and silhouette under geodesic and Euclidean latent distances."""
    if len(np.unique(ctx.labels)) < 2:
        return {"note": "one class only: no separability table"}, {}
    graph_neighbors = ctx.settings["graph_neighbors"]
    knn_neighbors = ctx.settings["knn_neighbors"]
    dist = pairwise_geodesic_distances(
        ctx.space, ctx.codes, method="graph", n_neighbors=graph_neighbors
    )
    scores = class_separability(
        ctx.space, ctx.codes, ctx.labels, n_neighbors=knn_neighbors, distances=dist,
        random_state=ctx.settings["random_state"],
    )
    dist = _to_numpy(dist)
    codes_np = ctx.codes_np
    euclid = np.linalg.norm(codes_np[:, None] - codes_np[None], axis=-1)
    iu = np.triu_indices(len(codes_np), 1)
    summary = {
        "n_codes": int(len(codes_np)),
        "distance": f"geodesic: shortest paths in the {graph_neighbors}-NN graph of the "
        "codes with exact geodesic edge lengths; euclidean: latent",
        "knn_neighbors": int(knn_neighbors),
        **{key: _float(value) for key, value in scores.items()},
        "geodesic_over_euclidean_distance": _stats(dist[iu] / np.maximum(euclid[iu], 1e-300)),
    }
    return summary, {"distances": dist}


#: The sections after ``encode``, in order: ``(step name, summary key, function)``.
SECTIONS = (
    ("magnification", "magnification", magnification),
    ("geodesics", "geodesics", geodesics),
    ("ratios", "geodesic_to_linear_ratio", ratios),
    ("analogies", "analogies", analogies),
    ("curvature", "curvature", curvature),
    ("separability", "separability", separability),
)
