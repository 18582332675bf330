"""The numbers of the latent-geometry report of a fitted generative model.

:func:`analyze` takes a fitted :mod:`geomstats_gen.models` model (or any
object with ``transform`` and ``manifold_``) and labelled data, and returns
``(summary, arrays)``: ``summary`` holds only JSON-ready values (finite
floats, ints, strings, lists) and goes to ``summary.json``; ``arrays`` holds
the tensors the plots need (grids, paths, decoded images).

Everything is batched: one call of the metric for the whole grid, one
batched geodesic solve for all pairs of a step, one curvature call for all
codes. The distance matrix of the separability table is bounded by
``n_codes`` (a stratified subset) and approximated by shortest paths in a
k-nearest-neighbour graph whose edges are exact geodesics
(:func:`geomstats_gen.learning.pairwise_geodesic_distances`,
``method="graph"``).
"""

import math
import time
import warnings

import numpy as np
import torch

__all__ = ["analyze", "latent_slice"]

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


class _Steps:
    """A tqdm bar over the named steps of the analysis (stderr)."""

    def __init__(self, names, progress):
        self.bar = None
        self.times = {}
        if progress:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=len(names), desc="analysis", unit="step")
        self._t = None
        self._name = None

    def start(self, name):
        self._finish()
        self._name = name
        self._t = time.perf_counter()
        if self.bar is not None:
            self.bar.set_postfix_str(name)

    def _finish(self):
        if self._name is not None:
            self.times[self._name] = round(time.perf_counter() - self._t, 3)
            if self.bar is not None:
                self.bar.update(1)
        self._name = None

    def close(self):
        self._finish()
        if self.bar is not None:
            self.bar.close()


STEPS = (
    "encode",
    "magnification",
    "geodesics",
    "ratios",
    "analogies",
    "curvature",
    "separability",
)


def analyze(
    model,
    X,
    y=None,
    *,
    image_shape=None,
    n_codes=250,
    n_pairs=4,
    n_ratio_pairs=32,
    n_analogies=3,
    n_strip=10,
    grid_size=120,
    n_planes=8,
    graph_neighbors=8,
    knn_neighbors=5,
    analogy_transport="ode",
    transport_steps=25,
    random_state=0,
    progress=False,
):
    """Compute the numbers and arrays of the report.

    Parameters
    ----------
    model : fitted model
        Needs ``transform(X) -> codes [n, d]`` and ``manifold_`` (a
        :class:`~geomstats_gen.GeneratedManifold` of the mean decoder), as
        the models of :mod:`geomstats_gen.models` have.
    X : array-like, shape=[n, D]
        Data, encoded with ``model.transform``.
    y : array-like, shape=[n], optional
        Class labels (the scatter's colours and the separability table);
        without labels every code is in class 0 and the table is skipped.
    image_shape : tuple of int, optional
        ``(H, W)`` of the decoded images; default: square when ``D`` is a
        square number, else ``(1, D)``.
    n_codes : int
        Codes (a stratified subset) for the scatter, the curvature and the
        geodesic distance matrix of the separability table.
    n_pairs : int
        Code pairs whose geodesics and straight lines are drawn.
    n_ratio_pairs : int
        Random code pairs of the geodesic/linear length ratio statistics.
    n_analogies : int
        Rows of the analogy grid (0: no analogies).
    n_strip : int
        Images per decoded strip.
    grid_size : int
        Grid points per side of the magnification-factor map.
    n_planes : int
        Random planes per code of the sectional-curvature statistics.
    graph_neighbors : int
        Neighbours per code of the graph of the geodesic distance matrix.
    knn_neighbors : int
        Neighbours of the kNN classifier of the separability table.
    analogy_transport : {"ode", "projection"}
        Parallel transport scheme of the geodesic analogies
        (:func:`geomstats_gen.transport.analogy`'s ``transport_method``):
        the fourth-order ODE, or Shao et al.'s first-order projection
        (cheaper; the fast mode uses it).
    transport_steps : int
        RK4 steps of the ODE transport of the analogies (the metric's
        ``exp_solver.n_steps`` is set to it during the call and restored;
        fourth order, so 25 steps are plenty along these short geodesics).
    random_state : int
        Seed of every random choice.
    progress : bool
        Show a progress bar over the steps (stderr).

    Returns
    -------
    summary : dict
        JSON-ready numbers (see the keys in the report).
    arrays : dict
        NumPy arrays for :mod:`geomstats_gen.report.plots`.
    """
    from geomstats_gen.learning import class_separability, pairwise_geodesic_distances
    from geomstats_gen.measures import (
        coordinate_plane_curvature,
        curvature_statistics,
        geodesic_to_linear_ratio,
    )
    from geomstats_gen.transport import analogy

    for name, value, minimum in (("n_codes", n_codes, 6), ("n_pairs", n_pairs, 1),
                                 ("n_ratio_pairs", n_ratio_pairs, 1),
                                 ("n_analogies", n_analogies, 0), ("n_strip", n_strip, 2),
                                 ("grid_size", grid_size, 2), ("n_planes", n_planes, 1),
                                 ("graph_neighbors", graph_neighbors, 1),
                                 ("knn_neighbors", knn_neighbors, 1),
                                 ("transport_steps", transport_steps, 1)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
            raise ValueError(f"`{name}` must be an integer >= {minimum}, got {value!r}.")
    if not hasattr(model, "manifold_") or not hasattr(model, "transform"):
        raise TypeError(
            "`model` must be a fitted geomstats_gen model (with `transform` and `manifold_`), "
            f"got {type(model).__name__}."
        )
    space = model.manifold_
    dim = int(space.latent_dim)
    rng = np.random.default_rng(random_state)
    steps = _Steps(STEPS, progress)
    summary = {}
    arrays = {}
    try:
        # ------------------------------------------------------------ encode
        steps.start("encode")
        X = _to_numpy(X)
        n_samples = len(X)
        labels = np.zeros(n_samples, dtype=np.int64) if y is None else _to_numpy(y).reshape(-1)
        if len(labels) != n_samples:
            raise ValueError(
                f"`y` must hold one label per sample ({n_samples}), got {len(labels)}."
            )
        subset = _stratified_subset(labels, min(n_codes, n_samples), rng)
        codes_np = np.asarray(model.transform(X[subset]), dtype=np.float64)
        sub_labels = labels[subset]
        codes = torch.as_tensor(codes_np, dtype=F64)
        n_out = int(np.prod(_to_numpy(space.immersion(codes[0])).shape))  # decoded size
        if image_shape is None or int(np.prod(image_shape)) != n_out:
            side = int(round(math.sqrt(n_out)))
            image_shape = (side, side) if side * side == n_out else (1, n_out)
        image_shape = tuple(int(s) for s in image_shape)
        origin, basis, slice_text = latent_slice(codes_np)
        plane_codes = (codes_np - origin) @ basis
        arrays.update(codes=codes_np, labels=sub_labels, plane_codes=plane_codes,
                      image_shape=image_shape)
        summary["latent"] = {
            "latent_dim": dim,
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

        # ---------------------------------------------------- magnification
        steps.start("magnification")
        lo = np.percentile(plane_codes, 0.5, axis=0)
        hi = np.percentile(plane_codes, 99.5, axis=0)
        pad = 0.15 * (hi - lo)
        lo, hi = lo - pad, hi + pad
        u = np.linspace(lo[0], hi[0], grid_size)
        v = np.linspace(lo[1], hi[1], grid_size)
        uu, vv = np.meshgrid(u, v)
        plane_grid = np.stack([uu, vv], -1).reshape(-1, 2)
        latent_grid = torch.as_tensor(origin + plane_grid @ basis.T, dtype=F64)
        metric = space.metric.metric_matrix(latent_grid)  # [m, d, d]
        b = torch.as_tensor(basis, dtype=F64)
        plane_metric = b.T @ metric @ b  # [m, 2, 2]
        magnification = torch.linalg.det(plane_metric).clamp_min(0).sqrt().reshape(uu.shape)
        magnification = magnification.cpu().numpy()
        at_codes = torch.linalg.det(
            b.T @ space.metric.metric_matrix(codes) @ b
        ).clamp_min(0).sqrt().cpu().numpy()
        arrays.update(grid_u=u, grid_v=v, magnification=magnification)
        summary["magnification"] = {
            "definition": "sqrt(det G) of the metric restricted to the plotted plane",
            "grid_size": int(grid_size),
            "extent": [float(lo[0]), float(hi[0]), float(lo[1]), float(hi[1])],
            "grid": _stats(magnification),
            "at_codes": _stats(at_codes),
        }

        # --------------------------------------------------------- geodesics
        steps.start("geodesics")
        reps = _representatives(codes_np, sub_labels, 2 * n_pairs, rng)
        reps = reps[: 2 * n_pairs]
        starts, ends = reps[0::2], reps[1::2]
        start_t, end_t = codes[starts], codes[ends]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
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
        arrays.update(
            pair_paths=paths,
            pair_plane_paths=(paths - origin) @ basis,
            pair_start=codes_np[starts],
            pair_end=codes_np[ends],
            pair_plane_start=plane_codes[starts],
            pair_plane_end=plane_codes[ends],
            pair_labels=np.stack([sub_labels[starts], sub_labels[ends]], -1),
            geo_strip=geo_images.reshape((n_strip,) + image_shape),
            lin_strip=lin_images.reshape((n_strip,) + image_shape),
            geo_strip_codes=geo_strip_codes.cpu().numpy(),
            lin_strip_codes=lin_strip_codes.cpu().numpy(),
        )
        summary["geodesics"] = {
            "pairs": [
                {
                    "start": _floats(codes_np[s]),
                    "end": _floats(codes_np[e]),
                    "start_label": int(sub_labels[s]),
                    "end_label": int(sub_labels[e]),
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

        # ------------------------------------------------------------ ratios
        steps.start("ratios")
        n_r = min(n_ratio_pairs, len(codes_np) // 2)
        pick = rng.permutation(len(codes_np))[: 2 * n_r]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ratios = geodesic_to_linear_ratio(space, codes[pick[:n_r]], codes[pick[n_r:]])
        ratio_np = _to_numpy(ratios.ratio)
        arrays["ratios"] = ratio_np
        summary["geodesic_to_linear_ratio"] = {
            "n_pairs": int(n_r),
            **_stats(ratio_np),
            "mean_percent_shorter": _float(100 * (1 - ratio_np.mean())),
        }

        # --------------------------------------------------------- analogies
        steps.start("analogies")
        n_an = min(n_analogies, len(codes_np) // 3)
        if n_an == 0:
            summary["analogies"] = {"note": "no analogies asked for (n_analogies=0)"}
        else:
            order = rng.permutation(len(codes_np))
            # A, B from one class pair, C from a third class where possible
            triples = []
            classes = np.unique(sub_labels)
            for k in range(n_an):
                if len(classes) >= 3:
                    ca, cc = rng.choice(classes, size=2, replace=False)
                    members_a = np.flatnonzero(sub_labels == ca)
                    members_c = np.flatnonzero(sub_labels == cc)
                    a_i, b_i = rng.choice(members_a, size=2, replace=False) if len(members_a) > 1 \
                        else (members_a[0], order[3 * k + 1])
                    c_i = rng.choice(members_c)
                else:
                    a_i, b_i, c_i = order[3 * k: 3 * k + 3]
                triples.append((a_i, b_i, c_i))
            triples = np.asarray(triples)
            za, zb, zc = (codes[triples[:, j]] for j in range(3))
            solver = space.metric.exp_solver
            saved_steps = solver.n_steps
            try:
                solver.n_steps = transport_steps
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    d_geo = analogy(space, za, zb, zc, method="geodesic",
                                    transport_method=analogy_transport)
            finally:
                solver.n_steps = saved_steps
            d_lin = analogy(space, za, zb, zc, method="linear")
            grid_codes = torch.stack([za, zb, zc, d_geo, d_lin], 1)  # [n, 5, d]
            grid_images = _to_numpy(space.immersion(grid_codes.reshape(-1, dim)))
            arrays["analogy_images"] = grid_images.reshape((n_an, 5) + image_shape)
            arrays["analogy_labels"] = sub_labels[triples]
            gap = _to_numpy(torch.linalg.vector_norm(d_geo - d_lin, dim=-1))
            decoded_gap = np.linalg.norm(
                grid_images.reshape(n_an, 5, -1)[:, 3] - grid_images.reshape(n_an, 5, -1)[:, 4], axis=-1
            )
            summary["analogies"] = {
                "definition": "D = Exp_C(PT_{A->C}(Log_A B)) against z_C + z_B - z_A",
                "transport": analogy_transport,
            "transport_steps": int(transport_steps),
                "rows": [
                    {
                        "labels": [int(v) for v in sub_labels[tr]],
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

        # --------------------------------------------------------- curvature
        steps.start("curvature")
        if dim >= 2:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                stats = curvature_statistics(space, codes, n_planes=n_planes,
                                             random_state=random_state)
                per_plane = _to_numpy(coordinate_plane_curvature(space, codes))  # [n, d, d]
            sectional = _to_numpy(stats["sectional"])
            scalar = _to_numpy(stats["scalar"])
            off = ~np.eye(dim, dtype=bool)
            per_axis = np.abs(per_plane[:, off].reshape(len(codes_np), dim, dim - 1))
            per_axis_mean = per_axis.mean(axis=(0, 2))
            per_axis_std = per_axis.mean(axis=2).std(axis=0)
            arrays.update(
                sectional=sectional,
                scalar=scalar,
                plane_curvature_mean=per_plane.mean(0),
                per_axis_mean=per_axis_mean,
                per_axis_std=per_axis_std,
            )
            summary["curvature"] = {
                "n_codes": int(len(codes_np)),
                "n_planes": int(n_planes),
                "sectional": _stats(sectional),
                "sectional_abs_mean": _float(np.abs(sectional).mean()),
                "scalar": _stats(scalar),
                "scalar_abs_mean": _float(np.abs(scalar).mean()),
                "coordinate_plane_mean": [_floats(row) for row in per_plane.mean(0)],
                "per_axis_abs_mean": _floats(per_axis_mean),
                "check": {"code": _floats(codes_np[0]), "scalar_curvature": _float(scalar[0])},
            }
        else:
            summary["curvature"] = {"note": "latent dimension 1: no planes, no curvature"}

        # ------------------------------------------------------ separability
        steps.start("separability")
        if len(np.unique(sub_labels)) >= 2:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                dist = pairwise_geodesic_distances(
                    space, codes, method="graph", n_neighbors=graph_neighbors
                )
                scores = class_separability(
                    space, codes, sub_labels, n_neighbors=knn_neighbors, distances=dist,
                    random_state=random_state,
                )
            dist = _to_numpy(dist)
            arrays["distances"] = dist
            euclid = np.linalg.norm(codes_np[:, None] - codes_np[None], axis=-1)
            iu = np.triu_indices(len(codes_np), 1)
            summary["separability"] = {
                "n_codes": int(len(codes_np)),
                "distance": f"geodesic: shortest paths in the {graph_neighbors}-NN graph of the "
                "codes with exact geodesic edge lengths; euclidean: latent",
                "knn_neighbors": int(knn_neighbors),
                **{key: _float(value) for key, value in scores.items()},
                "geodesic_over_euclidean_distance": _stats(dist[iu] / np.maximum(euclid[iu], 1e-300)),
            }
        else:
            summary["separability"] = {"note": "one class only: no separability table"}
    finally:
        steps.close()
    summary["timings_s"] = dict(steps.times)
    return summary, arrays
