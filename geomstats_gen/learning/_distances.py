"""Batched matrices of geodesic distances between latent codes.

``method="exact"`` solves the connecting geodesic of every pair with the
metric's log solver, all pairs of a chunk in one batched call.
``method="graph"`` approximates the distances by shortest paths in a
k-nearest-neighbour graph of the codes whose edges carry their exact
geodesic lengths (the Isomap construction with Riemannian edge lengths).
"""

import warnings

import numpy as np
import torch

from geomstats_gen.core.checks import check_choice, check_positive_int, promote_like
from geomstats_gen.core.linalg import symmetric_from_upper, upper_pairs
from geomstats_gen.core.parallel import map_chunks, uses_workers
from geomstats_gen.geodesics import ConvergenceWarning
from geomstats_gen.learning._validation import as_codes, check_manifold, like_input

__all__ = ["pairwise_geodesic_distances"]

#: Pairs in one call of the log solver when ``chunk_size`` is None.
DEFAULT_CHUNK = 2048
#: Number of pairs above which ``progress=None`` shows a progress bar.
PROGRESS_THRESHOLD = 50_000


def pairwise_geodesic_distances(
    space,
    X,
    Y=None,
    method="exact",
    n_neighbors=10,
    refine=False,
    chunk_size=None,
    progress=None,
    n_jobs=None,
):
    """Geodesic distances between latent codes, batched.

    Parameters
    ----------
    space : GeneratedManifold
        The latent space; ``space.metric`` solves the geodesics.
    X : array-like, shape=[n, d]
        Latent codes (NumPy array or torch tensor).
    Y : array-like, shape=[m, d], optional
        Second set of codes; default ``X`` (then only the pairs ``i < j``
        are solved and the matrix is symmetric with a zero diagonal).
    method : {"exact", "graph"}
        ``"exact"``: the length of the connecting geodesic of every pair
        (``space.metric.log_solver``; Richardson-extrapolated discrete
        geodesics). ``"graph"``: shortest paths (Dijkstra,
        :func:`scipy.sparse.csgraph.shortest_path`) in the graph joining
        every code to its ``n_neighbors`` nearest codes (Euclidean in the
        latent space; with ``Y``, the graph is built on the union of ``X``
        and ``Y``), each edge weighted by its exact geodesic length; extra
        edges join disconnected components. A graph distance is the length
        of a curve, so it is never shorter than the geodesic distance; its
        error shrinks as the codes get denser.
    n_neighbors : int
        Neighbours per code in the graph (``method="graph"``).
    refine : bool
        With ``method="graph"``, also solve the connecting geodesic of every
        returned pair and keep the shorter of the two lengths (costs as much
        as ``"exact"``; guards against solves that stop in a local minimum on
        strongly curved decoders).
    chunk_size : int, optional
        Pairs solved per batched call (bounds the memory of one call);
        default 2048.
    progress : bool, optional
        Show a tqdm progress bar over the chunks; default: when more than
        50,000 pairs are solved.
    n_jobs : int, optional
        Solve the chunks in parallel through joblib, as in scikit-learn:
        None runs them in this process unless inside
        :func:`joblib.parallel_config`; ``with
        joblib.parallel_config(backend="dask")`` (a
        :class:`dask.distributed.Client` running) spreads them over a Dask
        cluster, the space travelling once per worker. Results equal the
        in-process ones.

    Returns
    -------
    dist : ndarray or torch.Tensor, shape=[n, m]
        NumPy when ``X`` is not a torch tensor; otherwise a tensor on the
        device of ``X``. In the dtype of the codes (promoted over ``X`` and
        ``Y``).

    Warns
    -----
    ConvergenceWarning
        Once, with a count, when some geodesic solves stopped before their
        tolerance.
    """
    check_manifold(space)
    check_choice(method, "method", ("exact", "graph"))
    chunk = check_positive_int(chunk_size, "chunk_size", allow_none=True) or DEFAULT_CHUNK
    if progress is not None and not isinstance(progress, (bool, np.bool_)):
        raise TypeError(f"`progress` must be None or a bool, got {progress!r}.")
    x = as_codes(space, X, "X")
    y = None if Y is None else as_codes(space, Y, "Y")
    if y is not None:
        y = y.to(device=x.device)
    dtype = x.dtype if y is None else promote_like(x, y).dtype
    x = x.to(dtype)
    y = None if y is None else y.to(dtype)
    if method == "exact":
        dist = _exact(space, x, y, chunk, progress, n_jobs)
    else:
        k = check_positive_int(n_neighbors, "n_neighbors")
        dist = _graph(space, x, y, k, chunk, progress, n_jobs)
        if refine:
            exact = _exact(space, x, y, chunk, progress, n_jobs)
            dist = torch.minimum(dist, exact)
    return like_input(dist, X)


# ----------------------------------------------------------------------
# Exact: one geodesic solve per pair
# ----------------------------------------------------------------------
def _solve_chunk(space, start, end):
    """Lengths of one chunk of pairs, with its count of unresolved pairs and shortcuts."""
    result = space.metric.log_solver.solve(end, start, warn=False)
    return result.length, int((~result.converged).sum()), int(result.shortcut.sum())


def pair_lengths(
    space, start, end, chunk=DEFAULT_CHUNK, progress=None, desc="geodesics", n_jobs=None
):
    """Geodesic lengths of pairs ``(start[i], end[i])``, solved in chunks.

    Parameters
    ----------
    space : GeneratedManifold
    start, end : torch.Tensor, shape=[p, d]
    chunk : int
    progress : bool or None
    n_jobs : int, optional
        Chunks solved in parallel through joblib
        (:func:`~geomstats_gen.core.parallel.map_chunks`).

    Returns
    -------
    lengths : torch.Tensor, shape=[p]
        In the dtype and on the device of ``start``.
    """
    n_pairs = start.shape[0]
    out = start.new_zeros(n_pairs)
    if n_pairs == 0:
        return out
    show = n_pairs > PROGRESS_THRESHOLD if progress is None else bool(progress)
    bounds = [(lo, min(lo + chunk, n_pairs)) for lo in range(0, n_pairs, chunk)]
    if uses_workers(n_jobs):  # plain CPU tensors travel; the space moves them
        start, end = start.detach().cpu(), end.detach().cpu()
    parts = map_chunks(
        _solve_chunk, space, [(start[lo:hi], end[lo:hi]) for lo, hi in bounds],
        n_jobs=n_jobs, progress=show, desc=desc,
    )
    for (lo, hi), (lengths, _, _) in zip(bounds, parts):
        out[lo:hi] = lengths.to(out)
    n_bad = sum(part[1] for part in parts)
    n_jump = sum(part[2] for part in parts)
    if n_bad:
        jumps = f" ({n_jump} with a chord that leaves the manifold)" if n_jump else ""
        warnings.warn(
            f"{n_bad} of {n_pairs} geodesic solves did not reach their tolerance{jumps}; "
            "their lengths may be inaccurate (see space.metric.log_solver: "
            "rtol, max_nodes, max_iter).",
            ConvergenceWarning,
            stacklevel=3,
        )
    return out


def _exact(space, x, y, chunk, progress, n_jobs):
    n = x.shape[0]
    if y is None:
        rows, cols = upper_pairs(n, device=x.device)
        if not rows.numel():
            return x.new_zeros((n, n))
        lengths = pair_lengths(space, x[rows], x[cols], chunk, progress, n_jobs=n_jobs)
        return symmetric_from_upper(lengths, rows, cols, n)
    m = y.shape[0]
    rows = torch.arange(n, device=x.device).repeat_interleave(m)
    cols = torch.arange(m, device=x.device).repeat(n)
    return pair_lengths(space, x[rows], y[cols], chunk, progress, n_jobs=n_jobs).reshape(n, m)


# ----------------------------------------------------------------------
# Graph: shortest paths over a kNN graph with geodesic edge lengths
# ----------------------------------------------------------------------
def knn_edges(points, n_neighbors):
    """Undirected edges ``i < j`` of the kNN graph, joined into one component.

    Parameters
    ----------
    points : ndarray, shape=[n, d]
    n_neighbors : int

    Returns
    -------
    edges : ndarray of int64, shape=[n_edges, 2]
        Each row ``(i, j)`` with ``i < j``, without duplicates.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components
    from sklearn.neighbors import NearestNeighbors

    n = points.shape[0]
    k = min(n_neighbors, n - 1)
    if k < 1:
        return np.zeros((0, 2), dtype=np.int64)
    index = NearestNeighbors(n_neighbors=k + 1).fit(points)
    _, neigh = index.kneighbors(points)
    src = np.repeat(np.arange(n), k + 1)
    dst = neigh.reshape(-1)
    keep = src != dst
    pairs = np.stack([np.minimum(src, dst)[keep], np.maximum(src, dst)[keep]], axis=1)
    pairs = np.unique(pairs, axis=0)
    while True:
        adjacency = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
        n_comp, labels = connected_components(adjacency, directed=False)
        if n_comp == 1:
            return pairs
        # join the component of point 0 to its nearest point outside it
        inside = np.flatnonzero(labels == labels[0])
        outside = np.flatnonzero(labels != labels[0])
        dist, idx = NearestNeighbors(n_neighbors=1).fit(points[outside]).kneighbors(
            points[inside]
        )
        best = int(np.argmin(dist[:, 0]))
        a, b = int(inside[best]), int(outside[idx[best, 0]])
        pairs = np.concatenate([pairs, [[min(a, b), max(a, b)]]], axis=0)


def _graph(space, x, y, n_neighbors, chunk, progress, n_jobs):
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import shortest_path

    points = x if y is None else torch.cat([x, y])
    n_total = points.shape[0]
    points_np = points.detach().cpu().numpy().astype(np.float64)
    edges = knn_edges(points_np, n_neighbors)
    idx = torch.as_tensor(edges, device=points.device)
    lengths = pair_lengths(
        space, points[idx[:, 0]], points[idx[:, 1]], chunk, progress, desc="graph edges",
        n_jobs=n_jobs,
    )
    weights = lengths.detach().cpu().numpy().astype(np.float64)
    # explicit tiny weights keep edges between duplicated codes
    weights = np.maximum(weights, np.finfo(np.float64).tiny)
    graph = csr_matrix((weights, (edges[:, 0], edges[:, 1])), shape=(n_total, n_total))
    n = x.shape[0]
    dist = shortest_path(graph, method="D", directed=False, indices=np.arange(n))
    if y is not None:
        dist = dist[:, n:]
    else:
        np.fill_diagonal(dist, 0.0)
    dist = np.where(dist <= np.finfo(np.float64).tiny * n_total, 0.0, dist)
    return torch.as_tensor(dist, dtype=x.dtype, device=x.device)
