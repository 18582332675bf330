"""The sections of the latent-geometry report, one function each.

Every section takes the :class:`Context` of the analysis (the model's
manifold, the encoded codes, their labels, the settings and the random
generator) and returns ``(summary, arrays)``: JSON-ready numbers for
``summary.json`` and NumPy arrays for the plots. Everything is batched: one
call of the metric for the whole grid, one batched geodesic solve for all
pairs of a section, one curvature call for all codes.
"""

import warnings

import numpy as np
import torch

from geomstats_gen.geometry.dense import hermite, node_velocities
from geomstats_gen.exceptions import OutsideDomainWarning
from geomstats_gen.learning import class_separability, pairwise_geodesic_distances
from geomstats_gen.measures import (
    coordinate_plane_curvature,
    curvature_statistics,
    geodesic_to_linear_ratio,
)
from geomstats_gen.report.context import (
    F64,
    json_float,
    json_floats,
    class_representatives,
    json_stats,
    to_numpy,
)
from geomstats_gen.transport import analogy

__all__ = ["SECTIONS"]


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
        "grid": json_stats(grid),
        "at_codes": json_stats(at_codes),
    }
    return summary, dict(grid_u=u, grid_v=v, magnification=grid)


def geodesics(ctx):
    """Geodesics between class representatives, and decoded strips along one."""
    n_pairs, n_strip = ctx.settings["n_pairs"], ctx.settings["n_strip"]
    codes, codes_np, labels = ctx.codes, ctx.codes_np, ctx.labels
    reps = class_representatives(codes_np, labels, 2 * n_pairs, ctx.rng)[: 2 * n_pairs]
    starts, ends = reps[0::2], reps[1::2]
    start_t, end_t = codes[starts], codes[ends]
    ratio_pairs = geodesic_to_linear_ratio(ctx.measure_space, start_t, end_t)
    result = ratio_pairs.geodesic  # solved once: lengths, paths, diagnostics
    paths = result.path.cpu().numpy()  # [p, n_nodes + 1, d]
    t = torch.linspace(0.0, 1.0, n_strip, dtype=F64)
    a0, b0 = start_t[0], end_t[0]
    # Points of the geodesic at t: the dense path through the solved nodes
    # (equally spaced in image space: the geodesic has constant speed).
    nodes = result.path[:1].to(F64).cpu()
    geo_strip_codes = hermite(nodes, node_velocities(nodes), t)[0]
    lin_strip_codes = a0 + t[:, None] * (b0 - a0)
    geo_images = to_numpy(ctx.image_space.immersion(geo_strip_codes))
    lin_images = to_numpy(ctx.image_space.immersion(lin_strip_codes))
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
                "start": json_floats(codes_np[s]),
                "end": json_floats(codes_np[e]),
                "start_label": int(labels[s]),
                "end_label": int(labels[e]),
                "geodesic_length": json_float(ratio_pairs.geodesic_length[k]),
                "linear_length": json_float(ratio_pairs.linear_length[k]),
                "ratio": json_float(ratio_pairs.ratio[k]),
                "euclidean_latent_distance": json_float(np.linalg.norm(codes_np[s] - codes_np[e])),
                "length_error": json_float(result.length_error[k]),
                "n_segments": int(result.n_segments[k]),
                "converged": bool(result.converged[k]),
            }
            for k, (s, e) in enumerate(zip(starts, ends))
        ],
        "n_unresolved": int((~result.converged).sum()),
        "strip": {
            "n_images": int(n_strip),
            "geodesic_step_cv": json_float(geo_steps.std() / max(geo_steps.mean(), 1e-300)),
            "linear_step_cv": json_float(lin_steps.std() / max(lin_steps.mean(), 1e-300)),
        },
    }
    return summary, arrays


def ratios(ctx):
    """Geodesic over straight-line lengths between random pairs of codes."""
    n_r = min(ctx.settings["n_ratio_pairs"], len(ctx.codes_np) // 2)
    pick = ctx.rng.permutation(len(ctx.codes_np))[: 2 * n_r]
    result = geodesic_to_linear_ratio(
        ctx.measure_space, ctx.codes[pick[:n_r]], ctx.codes[pick[n_r:]]
    )
    ratio_np = to_numpy(result.ratio)
    summary = {
        "n_pairs": int(n_r),
        "n_unresolved": int((~result.geodesic.converged).sum()),
        "precision": ctx.precision,
        **json_stats(ratio_np),
        "mean_percent_shorter": json_float(100 * (1 - ratio_np.mean())),
    }
    return summary, {"ratios": ratio_np}


def trust_radius(codes, margin=1.25):
    """Radius of the latent ball (about the origin, where a VAE's prior is) in
    which the model has data: ``margin`` times the largest norm of a code."""
    return margin * float(np.linalg.norm(codes, axis=-1).max())


def _analogy_triples(codes, labels, n_an, rng):
    """``(a, b, c)`` index triples: A, B from one class, C from another where
    possible, the code of that class nearest to A (a short transport)."""
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
            c_i = members_c[np.argmin(np.linalg.norm(codes[members_c] - codes[a_i], axis=-1))]
        else:
            a_i, b_i, c_i = order[3 * k: 3 * k + 3]
        triples.append((a_i, b_i, c_i))
    return np.asarray(triples)


def _geodesic_analogies(ctx, za, zb, zc, radius):
    """The geodesic analogies in the trust region (geodesics stop where they
    leave it), row by row where the batch blows up (NaN rows)."""
    settings = ctx.settings
    space = ctx.space.with_domain(radius)

    def solve(a, b, c):
        return analogy(space, a, b, c, method="geodesic",
                       transport_method=settings["analogy_transport"],
                       transport_steps=settings["transport_steps"])

    try:
        return solve(za, zb, zc)
    except FloatingPointError:
        rows = []
        for a, b, c in zip(za, zb, zc):
            try:
                rows.append(solve(a, b, c))
            except FloatingPointError:
                rows.append(torch.full_like(a, float("nan")))
        return torch.stack(rows)


def analogies(ctx):
    """Geodesic analogies (transport) against latent arithmetic, in a trust region."""
    settings = ctx.settings
    n_an = min(settings["n_analogies"], len(ctx.codes_np) // 3)
    if n_an == 0:
        return {"note": "no analogies asked for (n_analogies=0)"}, {}
    codes_np = ctx.codes_np
    triples = _analogy_triples(codes_np, ctx.labels, n_an, ctx.rng)
    za, zb, zc = (ctx.codes[triples[:, j]] for j in range(3))
    radius = trust_radius(codes_np)
    d_geo = _geodesic_analogies(ctx, za, zb, zc, radius)
    d_lin = analogy(ctx.space, za, zb, zc, method="linear")
    d_geo_np = to_numpy(d_geo)
    inside = np.isfinite(d_geo_np).all(-1) & (
        np.linalg.norm(np.nan_to_num(d_geo_np, nan=np.inf), axis=-1) <= radius
    )
    if not inside.all():
        warnings.warn(
            f"analogies: {int((~inside).sum())} of {n_an} geodesic analogies left the region "
            f"where the model has data (latent norm {radius:.3g}) or blew up; they are "
            "flagged in the report and left out of the means.",
            OutsideDomainWarning,
            stacklevel=2,
        )
    shown = torch.where(torch.as_tensor(inside)[:, None], d_geo, d_lin)  # decodable codes
    grid_codes = torch.stack([za, zb, zc, shown, d_lin], 1)  # [n, 5, d]
    grid_images = to_numpy(ctx.image_space.immersion(grid_codes.reshape(-1, ctx.dim)))
    arrays = {
        "analogy_images": grid_images.reshape((n_an, 5) + ctx.image_shape),
        "analogy_labels": ctx.labels[triples],
        "analogy_inside": inside,
    }
    gap = np.linalg.norm(d_geo_np - to_numpy(d_lin), axis=-1)
    flat_images = grid_images.reshape(n_an, 5, -1)
    decoded_gap = np.linalg.norm(flat_images[:, 3] - flat_images[:, 4], axis=-1)
    summary = {
        "definition": "D = Exp_C(PT_{A->C}(Log_A B)) against z_C + z_B - z_A; C is the code "
        "of its class nearest to A",
        "transport": settings["analogy_transport"],
        "transport_steps": int(settings["transport_steps"]),
        "region": {"radius": json_float(radius),
                   "definition": "latent ball about the origin, 1.25 x the largest norm of a "
                   "code; geodesics of the exp map stop where they leave it"},
        "n_left_region": int((~inside).sum()),
        "rows": [
            {
                "labels": [int(v) for v in ctx.labels[tr]],
                "a": json_floats(codes_np[tr[0]]),
                "b": json_floats(codes_np[tr[1]]),
                "c": json_floats(codes_np[tr[2]]),
                "d_geodesic": json_floats(d_geo_np[k]),
                "d_linear": json_floats(to_numpy(d_lin[k])),
                "inside_region": bool(inside[k]),
                "latent_gap": json_float(gap[k]) if inside[k] else None,
                "decoded_gap": json_float(decoded_gap[k]) if inside[k] else None,
            }
            for k, tr in enumerate(triples)
        ],
        "latent_gap_mean": json_float(gap[inside].mean()) if inside.any() else None,
        "decoded_gap_mean": json_float(decoded_gap[inside].mean()) if inside.any() else None,
    }
    return summary, arrays


def curvature(ctx):
    """Sectional curvature of random and coordinate planes, scalar curvature."""
    dim, n_planes = ctx.dim, ctx.settings["n_planes"]
    if dim < 2:
        return {"note": "latent dimension 1: no planes, no curvature"}, {}
    stats = curvature_statistics(ctx.space, ctx.codes, n_planes=n_planes,
                                 random_state=ctx.settings["random_state"])
    per_plane = to_numpy(coordinate_plane_curvature(ctx.space, ctx.codes))  # [n, d, d]
    sectional = to_numpy(stats["sectional"])
    scalar = to_numpy(stats["scalar"])
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
        "planes": "random planes uniform for the metric G (standard normal vectors in a "
        "G-orthonormal frame): their mean sectional curvature estimates scalar / (d (d - 1)); "
        "the coordinate planes (e_i, e_j) give the per-axis view",
        "sectional": json_stats(sectional),
        "sectional_abs_mean": json_float(np.abs(sectional).mean()),
        "scalar": json_stats(scalar),
        "scalar_abs_mean": json_float(np.abs(scalar).mean()),
        "coordinate_plane_mean": [json_floats(row) for row in per_plane.mean(0)],
        "per_axis_abs_mean": json_floats(per_axis_mean),
        "per_axis_status": ["collapsed" if i in ctx.collapsed_dims else "active"
                            for i in range(dim)],
        "check": {"code": json_floats(ctx.codes_np[0]), "scalar_curvature": json_float(scalar[0])},
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
    dist = to_numpy(dist)
    codes_np = ctx.codes_np
    euclid = np.linalg.norm(codes_np[:, None] - codes_np[None], axis=-1)
    iu = np.triu_indices(len(codes_np), 1)
    summary = {
        "n_codes": int(len(codes_np)),
        "distance": f"geodesic: shortest paths in the {graph_neighbors}-NN graph of the "
        "codes with exact geodesic edge lengths; euclidean: latent",
        "knn_neighbors": int(knn_neighbors),
        **{key: json_float(value) for key, value in scores.items()},
        "geodesic_over_euclidean_distance": json_stats(dist[iu] / np.maximum(euclid[iu], 1e-300)),
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
