r"""Curvature measures of a decoder's latent space, in one place.

The measures used to ask "how curved is the manifold learnt by a generative
model?" (Shao et al. 2017, *The Riemannian geometry of deep generative
models*; Shukla et al. 2019, *Geometry of deep generative models for
disentangled representations*), batched over latent codes:

* :func:`geodesic_to_linear_ratio`: geodesic length over the decoded length
  of the straight latent segment (Shao et al.'s "latent space is nearly
  flat" evidence). Mixes chart distortion with curvature; see its notes.
* :func:`curvature_statistics`: sectional curvature of random planes and
  scalar curvature at latent codes, with summary statistics (Shukla et al.).
* :func:`coordinate_plane_curvature`: sectional curvature of every latent
  coordinate plane ``(e_i, e_j)``.
* :func:`holonomy_angle`: rotation of a vector transported around a small
  latent loop, a curvature estimate through Gauss-Bonnet that uses only
  parallel transport.

Every function takes the :class:`~geomstats_gen.GeneratedManifold` first and
returns results in the caller's dtype.
"""

from dataclasses import dataclass

import torch

from geomstats_gen.core.checks import (
    as_points,
    check_choice,
    check_positive_int,
    result_like,
)
from geomstats_gen.core.linalg import cholesky_or_identity
from geomstats_gen.core.parallel import map_chunks, uses_workers
from geomstats_gen.geometry import curvature as _curvature
from geomstats_gen.geometry.path_energy import path_segment_lengths
from geomstats_gen.holonomy import HolonomyResult, holonomy_angle

__all__ = [
    "GeodesicRatio",
    "HolonomyResult",
    "coordinate_plane_curvature",
    "curvature_statistics",
    "geodesic_to_linear_ratio",
    "holonomy_angle",
]

_STATS = ("mean", "std", "min", "max", "abs_mean")


@dataclass
class GeodesicRatio:
    """Geodesic against straight-latent-line lengths.

    Attributes
    ----------
    geodesic_length : torch.Tensor, shape=[...]
        Geodesic distance (``space.metric.connecting_geodesic(...).length``).
    linear_length : torch.Tensor, shape=[...]
        Decoded length of the straight latent segment.
    ratio : torch.Tensor, shape=[...]
        ``geodesic_length / linear_length``; 1 where both lengths are zero.
    geodesic : GeodesicResult, optional
        The connecting geodesics solved for ``geodesic_length`` (paths and
        diagnostics), so that callers need not solve them again.
    """

    geodesic_length: torch.Tensor
    linear_length: torch.Tensor
    ratio: torch.Tensor
    geodesic: object = None



def geodesic_to_linear_ratio(space, point_a, point_b, n_points=256):
    r"""Ratio of geodesic length to the decoded length of the latent segment.

    Shao et al. (2017) compare the length of the geodesic between two codes
    with the length of the decoded straight latent segment between them and
    report a ratio close to 1 as evidence of a nearly flat latent space.

    The linear length is the length of the decoded polygon
    :math:`\sum_k |g(z_{k+1}) - g(z_k)|` through ``n_points + 1`` equally
    spaced points :math:`z_k` of the segment from ``point_a`` to
    ``point_b`` (it converges to the length of the decoded segment from
    below, with a relative error :math:`O(n^{-2})`).

    Notes
    -----
    The ratio is at most 1 (up to the tolerance of the geodesic solver and
    the discretisation above) since the geodesic is the shortest curve. It
    is **not a curvature measure on its own**: it mixes the distortion of the
    latent chart with the curvature of the manifold. It is below 1 even on a
    *flat* manifold seen through a curved chart, e.g. the plane decoded by
    ``g(z) = (z_1 + 0.3 z_2^2, z_2, 0)`` (a nonlinear reparametrisation of a
    plane, zero curvature everywhere), where straight latent lines decode to
    parabolas, longer than the straight segments which are the geodesics.
    Conversely a ratio of 1 only says the latent line is (close to) a
    geodesic. Use :func:`curvature_statistics` or :func:`holonomy_angle`
    for the curvature itself.

    Parameters
    ----------
    space : GeneratedManifold
    point_a, point_b : array-like, shape=[..., d]
        End points; batch shapes broadcast.
    n_points : int
        Number of segments of the decoded polygon of the latent line.

    Returns
    -------
    result : GeodesicRatio
        ``geodesic_length``, ``linear_length``, ``ratio``, each of shape
        ``[...]``, and ``geodesic``, the solved connecting geodesics.
    """
    n_points = check_positive_int(n_points, "n_points")
    chart = space.chart

    def linear_length(a, b):
        t = torch.linspace(0.0, 1.0, n_points + 1, dtype=a.dtype, device=a.device)
        segment = a[:, None, :] + t[None, :, None] * (b - a)[:, None, :]
        return path_segment_lengths(chart.decode_nodes(segment)).sum(-1)

    linear = chart.evaluate(linear_length, point_a=point_a, point_b=point_b)
    solved = space.metric.connecting_geodesic(point_b, point_a)
    geodesic = result_like(solved.length.reshape(linear.shape), linear)
    zero = linear == 0
    ratio = torch.where(
        zero, torch.ones_like(linear), geodesic / torch.where(zero, torch.ones_like(linear), linear)
    )
    return GeodesicRatio(
        geodesic_length=geodesic, linear_length=linear, ratio=ratio, geodesic=solved
    )


def _generator(random_state):
    if isinstance(random_state, torch.Generator):
        return random_state
    gen = torch.Generator()
    if random_state is None:
        gen.seed()
    else:
        if isinstance(random_state, bool) or not isinstance(random_state, int):
            raise ValueError(
                "`random_state` must be None, an int or a torch.Generator, got "
                f"{random_state!r}."
            )
        gen.manual_seed(random_state)
    return gen


def _check_dim_at_least_two(space, what):
    if space.latent_dim < 2:
        raise ValueError(
            f"{what} needs a latent dimension of at least 2 (planes), got "
            f"latent_dim={space.latent_dim}."
        )


def _summary(values, prefix):
    flat = values.reshape(-1)
    if flat.numel() == 0:
        nan = flat.new_full((), float("nan"))
        return {f"{prefix}_{name}": nan for name in _STATS}
    return {
        f"{prefix}_mean": flat.mean(),
        f"{prefix}_std": flat.std(unbiased=False),
        f"{prefix}_min": flat.min(),
        f"{prefix}_max": flat.max(),
        f"{prefix}_abs_mean": flat.abs().mean(),
    }


def curvature_statistics(
    space, codes, n_planes=16, random_state=None, planes="metric", n_jobs=None, chunk_size=256
):
    r"""Sectional curvature of random planes and scalar curvature at codes.

    At each code, ``n_planes`` planes are spanned by pairs of independent
    standard normal vectors (drawn from a private :class:`torch.Generator`
    seeded by ``random_state``; the global torch RNG is untouched):

    - ``planes="metric"`` (default): the vectors are standard normal in a
      ``G``-orthonormal frame (``v = L^{-T} xi`` with ``G = L L^T``), so the
      planes are uniformly distributed for the metric: the mean of the
      sectional curvature over them is the scalar curvature divided by
      ``d (d - 1)``, whatever the chart;
    - ``planes="latent"``: standard normal in latent coordinates, uniform for
      the chart but not for ``G`` (a stretched latent axis is over- or
      under-represented), so for ``d > 2`` their mean can differ from the
      scalar curvature's, even in sign.

    For ``d = 2`` there is one plane and both agree. All planes of all codes
    are computed in one batched call.

    Parameters
    ----------
    space : GeneratedManifold
        With ``latent_dim >= 2``.
    codes : array-like, shape=[n, d]
        Latent codes (any batch shape ``[...]`` works in place of ``[n]``).
    n_planes : int
        Number of random planes per code.
    random_state : int, torch.Generator or None
        Seed of the planes; None draws a fresh seed.
    planes : {"metric", "latent"}
        How the random planes are distributed (see above).
    n_jobs : int, optional
        Compute chunks of ``chunk_size`` codes in parallel through joblib
        (``with joblib.parallel_config(backend="dask")``: on a Dask
        cluster); None computes everything in this process in one batch,
        unless inside a :func:`joblib.parallel_config` context. The planes
        are drawn here first, so the results do not depend on it.
    chunk_size : int
        Codes per parallel chunk.

    Returns
    -------
    stats : dict
        ``"sectional"``: torch.Tensor, shape=[n, n_planes];
        ``"scalar"``: torch.Tensor, shape=[n];
        ``"sectional_mean"``, ``"sectional_std"`` (population std),
        ``"sectional_min"``, ``"sectional_max"``, ``"sectional_abs_mean"``:
        0-dim tensors over all codes and planes; and the same five with the
        prefix ``"scalar_"`` over all codes.
    """
    n_planes = check_positive_int(n_planes, "n_planes")
    check_choice(planes, "planes", ("metric", "latent"))
    _check_dim_at_least_two(space, "curvature_statistics")
    chunk = check_positive_int(chunk_size, "chunk_size")
    gen = _generator(random_state)
    points = as_points(codes, "codes", space.latent_dim)
    dim = space.latent_dim
    shape = tuple(points.shape[:-1]) + (n_planes, dim)
    vectors = torch.randn((2,) + shape, generator=gen, dtype=torch.float64)
    if not uses_workers(n_jobs):
        sectional, scalar = _curvature_chunk(space, points, vectors, planes)
    else:
        flat = points.detach().cpu().reshape(-1, dim)
        flat_vectors = vectors.reshape(2, -1, n_planes, dim)
        parts = map_chunks(
            _curvature_chunk,
            space,
            [
                (flat[lo : lo + chunk], flat_vectors[:, lo : lo + chunk], planes)
                for lo in range(0, flat.shape[0], chunk)
            ],
            n_jobs=n_jobs,
        )
        batch = tuple(points.shape[:-1])
        sectional = torch.cat([p[0] for p in parts]).reshape(batch + (n_planes,)).to(points.device)
        scalar = torch.cat([p[1] for p in parts]).reshape(batch).to(points.device)
    out = {"sectional": sectional, "scalar": scalar}
    out.update(_summary(sectional, "sectional"))
    out.update(_summary(scalar, "scalar"))
    return out


def _curvature_chunk(space, points, vectors, planes):
    """Sectional curvature of the planes ``vectors`` and scalar curvature at ``points``."""
    if planes == "metric":
        vectors = _metric_frame(space, points, vectors)
    vectors = vectors.to(dtype=points.dtype, device=points.device)
    sectional = _curvature.sectional_curvature(space, vectors[0], vectors[1], points[..., None, :])
    return sectional, _curvature.scalar_curvature(space, points)


def _metric_frame(space, points, vectors):
    """``L^{-T} xi`` for ``G = L L^T`` at each point: normal vectors in a
    ``G``-orthonormal frame (latent ones where ``G`` is not positive definite)."""
    gram = space.metric.metric_matrix(points).to(dtype=torch.float64, device=vectors.device)
    factor, _ = cholesky_or_identity(gram)
    upper = factor.transpose(-1, -2)[..., None, :, :]  # one frame for all planes
    return torch.linalg.solve_triangular(upper, vectors[..., None], upper=True)[..., 0]


def coordinate_plane_curvature(space, codes):
    r"""Sectional curvature of every latent coordinate plane at codes.

    Entry ``[..., i, j]`` is the sectional curvature
    :math:`K(e_i, e_j)` of the plane spanned by the latent basis vectors
    :math:`e_i, e_j` (for the metric ``G``; the vectors need not be
    orthonormal). All ``d (d - 1) / 2`` planes are stacked in one batched
    call.

    Parameters
    ----------
    space : GeneratedManifold
    codes : array-like, shape=[..., d]

    Returns
    -------
    curvatures : torch.Tensor, shape=[..., d, d]
        Symmetric, with a **zero diagonal** (a plane needs two distinct
        directions; the diagonal is a placeholder, not a curvature). All
        zeros when ``d = 1``.
    """
    points = as_points(codes, "codes", space.latent_dim)
    dim = space.latent_dim
    batch = tuple(points.shape[:-1])
    out = torch.zeros(batch + (dim, dim), dtype=points.dtype, device=points.device)
    if dim < 2:
        space.chart.prepare(codes=points)  # dtype and domain checks
        return out
    rows, cols = torch.triu_indices(dim, dim, offset=1)
    eye = torch.eye(dim, dtype=points.dtype, device=points.device)
    values = _curvature.sectional_curvature(space, eye[rows], eye[cols], points[..., None, :])
    out = out.to(values.dtype)
    out[..., rows, cols] = values
    out[..., cols, rows] = values
    return out
