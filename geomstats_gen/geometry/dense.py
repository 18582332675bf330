"""Dense paths through the nodes of a discrete geodesic, and their checks.

The nodes ``z_0 .. z_T`` of a solved discrete geodesic are (to the solver's
accuracy) equally spaced in arc length, so they are samples of the geodesic
at ``t_i = i / T``. Between them the path is a cubic Hermite interpolant
whose node velocities are fourth-order finite differences of the nodes
(:func:`node_velocities`): no decoder evaluation, interpolation error
``O(h^4)`` where the latent curve is smooth, and the path passes exactly
through every node, the two end points included.

:func:`midpoint_checks` decodes the interpolant at the middle of every
segment. That one decode per segment tells two things:

- whether a chord leaves the manifold (a *shortcut*): the decoded midpoint
  of a resolved segment lies within ``O(kappa c^2)`` of the chord's
  midpoint (``c`` the chord, ``kappa`` the curvature of the decoded curve),
  whereas a chord that jumps between two layers of a folded surface has a
  midpoint that decodes a chord length or more away;
- the length of the dense path itself: the polygon through the nodes and the
  midpoints has ``2 T`` chords, and Richardson extrapolation of the two
  polygons gives the length of the decoded interpolant to ``O(h^4)``.
"""

import functools

import torch

from geomstats_gen.core.checks import check_finite
from geomstats_gen.geometry.path_energy import path_segment_lengths, rounding_noise

__all__ = [
    "dense_geodesic",
    "extrapolated_start",
    "hermite",
    "hermite_midpoints",
    "interleave",
    "midpoint_checks",
    "node_velocities",
    "resample",
    "subdivide",
]

# Fourth-order finite differences on a uniform grid (step 1), as weights of
# z_0 .. z_4: the first two rows are one-sided (at the ends), the last is the
# centred stencil of z_{i-2} .. z_{i+2}.
_FD_START = (
    (-25 / 12, 4.0, -3.0, 4 / 3, -1 / 4),
    (-1 / 4, -5 / 6, 3 / 2, -1 / 2, 1 / 12),
)
_FD_CENTRE = (1 / 12, -2 / 3, 0.0, 2 / 3, -1 / 12)


def _velocity_stencil(nodes):
    """The finite differences of :func:`node_velocities`, term by term."""
    n_segments = nodes.shape[1] - 1
    if n_segments < 4:
        return n_segments * torch.gradient(nodes, dim=1)[0]
    out = torch.empty_like(nodes)
    out[:, 2:-2] = sum(w * nodes[:, k : k + n_segments - 3] for k, w in enumerate(_FD_CENTRE) if w)
    head = nodes[:, :5]
    tail = nodes[:, -5:].flip(1)
    for row, weights in enumerate(_FD_START):
        out[:, row] = sum(w * head[:, k] for k, w in enumerate(weights))
        out[:, -1 - row] = -sum(w * tail[:, k] for k, w in enumerate(weights))
    return n_segments * out


def _midpoints(nodes):
    n_segments = nodes.shape[1] - 1
    t = (torch.arange(n_segments, dtype=nodes.dtype, device=nodes.device) + 0.5) / n_segments
    return hermite(nodes, _velocity_stencil(nodes), t)


def _subdivision(nodes):
    return interleave(nodes, _midpoints(nodes))


def _resampling(n_segments):
    def resampled(nodes):
        t = torch.linspace(0, 1, n_segments + 1, dtype=nodes.dtype, device=nodes.device)
        out = hermite(nodes, _velocity_stencil(nodes), t)
        out[:, 0], out[:, -1] = nodes[:, 0], nodes[:, -1]
        return out

    return resampled


_MAPS = {
    "velocities": lambda _n: _velocity_stencil,
    "midpoints": lambda _n: _midpoints,
    "subdivision": lambda _n: _subdivision,
    "resampling": _resampling,
}


@functools.lru_cache(maxsize=512)
def _map_matrix(kind, n_nodes, n_out, dtype, device):
    # The map applied to the identity (one path of ``n_nodes`` "coordinates"),
    # in float64: its matrix, ``[rows, n_nodes]``.
    identity = torch.eye(n_nodes, dtype=torch.float64)[None]
    return _MAPS[kind](n_out)(identity)[0].to(dtype=dtype, device=device)


def _apply_map(kind, nodes, n_out=None):
    """One of the linear maps of the nodes above, as one product with its cached matrix."""
    matrix = _map_matrix(kind, nodes.shape[1], n_out, nodes.dtype, nodes.device)
    return torch.matmul(matrix, nodes)


def node_velocities(nodes):
    """Velocities ``dz/dt`` at the nodes of paths sampled at ``t_i = i / T``.

    Fourth-order finite differences (one-sided at the two first and two
    last nodes); second order with 3 or 4 nodes. Like the other linear maps
    of the nodes here (midpoints, subdivision, resampling), one product with
    a matrix made once per number of nodes, dtype and device.

    Parameters
    ----------
    nodes : torch.Tensor, shape=[p, T + 1, d]

    Returns
    -------
    velocities : torch.Tensor, shape=[p, T + 1, d]
    """
    return _apply_map("velocities", nodes)


def hermite(nodes, velocities, t):
    """Evaluate the cubic Hermite interpolant of paths at times ``t``.

    Parameters
    ----------
    nodes, velocities : torch.Tensor, shape=[p, T + 1, d]
        Node positions at ``t_i = i / T`` and their ``dz/dt``.
    t : torch.Tensor, shape=[n_t]
        Times in ``[0, 1]``.

    Returns
    -------
    points : torch.Tensor, shape=[p, n_t, d]
    """
    n_segments = nodes.shape[1] - 1
    s = t.to(nodes.dtype) * n_segments
    seg = s.floor().clamp(0, n_segments - 1).long()
    u = (s - seg)[None, :, None]
    h = 1.0 / n_segments
    z0, z1 = nodes[:, seg], nodes[:, seg + 1]
    v0, v1 = velocities[:, seg] * h, velocities[:, seg + 1] * h
    u2, u3 = u * u, u * u * u
    return (
        (2 * u3 - 3 * u2 + 1) * z0
        + (u3 - 2 * u2 + u) * v0
        + (-2 * u3 + 3 * u2) * z1
        + (u3 - u2) * v1
    )


def hermite_midpoints(nodes):
    """The interpolant at the middle of every segment, ``[p, T + 1, d] -> [p, T, d]``."""
    return _apply_map("midpoints", nodes)


def subdivide(nodes):
    """Nodes and the interpolant's segment midpoints: paths with twice the segments.

    ``interleave(nodes, hermite_midpoints(nodes))`` in one product,
    ``[p, T + 1, d] -> [p, 2 T + 1, d]``.
    """
    return _apply_map("subdivision", nodes)


def resample(nodes, n_segments):
    """The interpolant at ``n_segments + 1`` equally spaced times (the nodes when equal)."""
    if nodes.shape[1] - 1 == n_segments:
        return nodes
    out = _apply_map("resampling", nodes, n_segments)
    out[:, 0], out[:, -1] = nodes[:, 0], nodes[:, -1]
    return out


def midpoint_checks(chart, nodes, decoded):
    """Shortcut test and dense length from one decode per segment.

    Parameters
    ----------
    chart : DecoderChart
    nodes : torch.Tensor, shape=[p, T + 1, d]
    decoded : torch.Tensor, shape=[p, T + 1, D]
        ``g(nodes)``.

    Returns
    -------
    deviation : torch.Tensor, shape=[p]
        Largest distance, over the segments, between the decoded midpoint of
        the interpolant and the midpoint of the chord, relative to the chord
        (less the rounding of the decoded values).
    dense_length : torch.Tensor, shape=[p]
        Length of the decoded interpolant (Richardson extrapolation of the
        polygons through ``T + 1`` and ``2 T + 1`` of its points).
    """
    mids = hermite_midpoints(nodes)
    g_mid = chart.decode_nodes(mids)
    chords = path_segment_lengths(decoded)
    centre = 0.5 * (decoded[:, 1:] + decoded[:, :-1])
    # Deviations at the rounding level of the decoded values do not count
    # (a float32 decoder on a very short pair).
    noise = rounding_noise(decoded)
    excess = (torch.linalg.vector_norm(g_mid - centre, dim=-1) - noise[:, None]).clamp_min(0)
    deviation = (excess / chords.clamp_min(torch.finfo(decoded.dtype).tiny)).amax(-1)
    halves = torch.linalg.vector_norm(g_mid - decoded[:, :-1], dim=-1) + torch.linalg.vector_norm(
        decoded[:, 1:] - g_mid, dim=-1
    )
    dense_length = (4 * halves.sum(-1) - chords.sum(-1)) / 3
    return deviation, dense_length


def interleave(nodes, mids):
    """Nodes and segment midpoints merged: a path with twice the segments."""
    p, _, dim = nodes.shape
    fine = torch.stack([nodes[:, :-1], mids], dim=2).reshape(p, -1, dim)
    return torch.cat([fine, nodes[:, -1:]], dim=1)


def extrapolated_start(fine, coarse, restarted=None):
    """Start of the next resolution: the interpolant of the last path, extrapolated.

    The nodes of a discrete geodesic with ``T`` segments sit ``O(1 / T^2)``
    off the geodesic, smoothly along it; with the last two solutions
    (``T`` and ``T / 2`` segments, their interpolants at the ``2 T + 1`` new
    times ``I_T`` and ``I_{T/2}``) the nodes of ``2 T`` segments are about
    ``I_T + (I_T - I_{T/2}) / 4``, which saves the first iteration or two.

    Parameters
    ----------
    fine : torch.Tensor, shape=[p, 2 T + 1, d]
        ``I_T``.
    coarse : torch.Tensor, shape=[p, T / 2 + 1, d], optional
        The solution before the last one (none at the first refinement).
    restarted : torch.Tensor of bool, shape=[p], optional
        Paths whose last solution was restarted from the straight line
        (their two solutions are different paths: no extrapolation).
    """
    if coarse is None:
        return fine
    correction = (fine - resample(coarse, fine.shape[1] - 1)) / 4
    # Only where the two solutions are the same path (not a restart after
    # a shortcut): the correction is a small fraction of a latent segment.
    step = torch.linalg.vector_norm(fine[:, 1:] - fine[:, :-1], dim=-1).amax(-1)
    small = torch.linalg.vector_norm(correction, dim=-1).amax(-1) <= 0.25 * step
    if restarted is not None:
        small = small & ~restarted
    return torch.where(small[:, None, None], fine + correction, fine)


def dense_geodesic(result, point, base_point, exp_solver):
    """The dense path of a solved connecting geodesic (see ``geodesic_bvp``).

    Cubic Hermite pieces through the solved nodes, with the ends exactly as
    given (a float32 decoder solved them rounded); times outside ``[0, 1]``
    continue the geodesic with ``exp_solver`` (one integration for all).

    Parameters
    ----------
    result : GeodesicResult
        Of the solve from ``base_point`` to ``point``.
    point, base_point : array-like, shape=[..., d]
    exp_solver : GeodesicODEExpSolver

    Returns
    -------
    path : callable
        ``path(t)`` for ``t`` of shape ``[n_t]`` (or a scalar) returns
        points of shape ``[..., n_t, d]``.
    """
    nodes = result.path.clone()
    batch, dim = nodes.shape[:-2], nodes.shape[-1]
    for k, end in ((0, base_point), (-1, point)):
        end = torch.as_tensor(end, dtype=nodes.dtype, device=nodes.device)
        nodes[..., k, :] = end.expand(*batch, dim)
    flat = nodes.reshape(-1, nodes.shape[-2], dim)
    velocities = node_velocities(flat)
    outside = None

    def path(t):
        nonlocal outside
        t = check_finite(
            torch.as_tensor(t, dtype=nodes.dtype, device=nodes.device).reshape(-1), "t"
        )
        out = hermite(flat, velocities, t.clamp(0, 1))
        beyond = (t < 0) | (t > 1)
        if bool(beyond.any()):
            if outside is None:
                outside = exp_solver.geodesic_ivp(result.log, base_point)
            far = outside(t[beyond])
            out[:, beyond] = far.reshape(flat.shape[0], -1, dim).to(out.dtype)
        return out.reshape(*batch, t.shape[0], dim)

    return path
