r"""Holonomy of small latent loops: a curvature estimate from parallel transport only.

:func:`holonomy_angle` transports a vector once around a small latent
circle and reads the sectional curvature of its plane off the rotation
(Gauss-Bonnet). One of the curvature measures of
:mod:`geomstats_gen.measures`, which re-exports it.
"""

import math
from dataclasses import dataclass

import torch

from geomstats_gen.core.checks import check_int, check_number
from geomstats_gen.geometry.transport import transport_along_path

__all__ = ["HolonomyResult", "holonomy_angle"]


@dataclass
class HolonomyResult:
    """Holonomy of a small latent loop.

    Attributes
    ----------
    angle : torch.Tensor, shape=[...]
        Signed rotation angle (radians, in ``(-pi, pi]``) of the vector
        transported once around the loop, positive in the sense of the loop
        (from ``e_i`` towards ``e_j``).
    area : torch.Tensor, shape=[...]
        Riemannian area enclosed by the loop, first-order estimate
        ``sqrt(det G_plane(center)) * A`` with ``A`` the latent area of the
        polygon.
    curvature : torch.Tensor, shape=[...]
        ``angle / area``: estimate of the sectional curvature of the plane
        ``(e_i, e_j)`` at ``center`` (Gauss-Bonnet), with relative error
        ``O(radius)`` plus the discretisation error of the polygon.
    """

    angle: torch.Tensor
    area: torch.Tensor
    curvature: torch.Tensor


def _check_plane(plane, dim):
    try:
        i, j = plane
    except (TypeError, ValueError) as err:
        raise ValueError(
            f"`plane` must be a pair of latent coordinate indices (i, j), got {plane!r}."
        ) from err
    for index in (i, j):
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < dim:
            raise ValueError(
                f"`plane` indices must be integers in [0, {dim}) (latent dimension "
                f"{dim}), got {plane!r}."
            )
    if i == j:
        raise ValueError(f"`plane` indices must be distinct, got {plane!r}.")
    return int(i), int(j)


def holonomy_angle(space, center, radius, plane=(0, 1), n_segments=64):
    r"""Holonomy of a small latent circle: a transport-only curvature estimate.

    A tangent vector ``e_i`` is parallel transported
    (:func:`~geomstats_gen.transport.transport_along_path`, ``method="ode"``)
    once around the closed polygon with ``n_segments`` sides inscribed in the
    latent circle :math:`c + r(\cos t\, e_i + \sin t\, e_j)`, starting and
    ending at :math:`c + r e_i` and run counterclockwise (from ``e_i``
    towards ``e_j``). The transported vector is expressed in the
    ``G``-orthonormal frame of the plane ``span(e_i, e_j)`` obtained by
    Gram-Schmidt from ``(e_i, e_j)`` at the loop's start point (to first
    order in ``radius`` the frame at ``center``); its angle is the
    holonomy angle.

    By Gauss-Bonnet, for small loops the angle is
    :math:`\approx K \cdot \mathrm{area}`, with :math:`K` the sectional
    curvature of the plane ``(e_i, e_j)`` at ``center`` and ``area`` the
    Riemannian area enclosed. The area is estimated to first order as
    :math:`\sqrt{\det G_{\text{plane}}(c)}\, A` with
    :math:`A = \tfrac{n}{2} r^2 \sin(2\pi / n)` the latent area of the
    polygon (:math:`\to \pi r^2`). Hence ``angle / area`` estimates ``K``
    with a relative error ``O(radius)`` (``O(radius^2)`` where ``G`` is
    smooth, its linear variation averaging out over the circle), as long as
    ``|K| area`` stays well below ``pi``.

    Parameters
    ----------
    space : GeneratedManifold
    center : array-like, shape=[..., d]
        Centres of the loops.
    radius : float
        Latent radius of the loops, positive.
    plane : tuple of int
        Latent coordinate indices ``(i, j)``, distinct, in ``[0, d)``.
    n_segments : int
        Number of sides of the polygon (at least 3).

    Returns
    -------
    result : HolonomyResult
        ``angle`` (signed, radians, in ``(-pi, pi]``), ``area``,
        ``curvature = angle / area``; each of shape ``[...]``.
    """
    dim = space.latent_dim
    i, j = _check_plane(plane, dim)
    radius = check_number(radius, "radius")
    n_segments = check_int(n_segments, "n_segments", minimum=3)
    chart = space.chart
    (c,), batch, like = chart.prepare(center=center)
    dtype, device = c.dtype, c.device
    with chart.grad_mode(center):
        eye = torch.eye(dim, dtype=dtype, device=device)
        e_i, e_j = eye[i], eye[j]
        t = torch.arange(n_segments + 1, dtype=torch.float64) * (2 * math.pi / n_segments)
        cos_t, sin_t = torch.cos(t), torch.sin(t)
        cos_t[-1], sin_t[-1] = 1.0, 0.0  # close the loop exactly
        offsets = radius * (
            cos_t.to(dtype=dtype, device=device)[:, None] * e_i
            + sin_t.to(dtype=dtype, device=device)[:, None] * e_j
        )
        path = c[:, None, :] + offsets[None]  # [n, m + 1, d]
        start = path[:, 0].contiguous()
        vec = e_i.expand_as(start)
        transported = transport_along_path(space, vec, path, method="ode")

        g_start = space.metric.metric_matrix(start)  # [n, d, d]
        g_ii, g_ij, g_jj = g_start[:, i, i], g_start[:, i, j], g_start[:, j, j]
        # G-orthonormal frame of span(e_i, e_j): f1 = e_i / |e_i|,
        # f2 = (e_j - <e_j, f1> f1) / |.|.
        norm_i = g_ii.sqrt()
        det_start = (g_ii * g_jj - g_ij * g_ij).clamp_min(0)
        g_w = (g_start @ transported[..., None]).squeeze(-1)  # G w
        comp_1 = g_w[:, i] / norm_i
        # <w, f2> = (<w, e_j> - <w, e_i> g_ij / g_ii) / sqrt(det / g_ii)
        comp_2 = (g_w[:, j] - g_w[:, i] * g_ij / g_ii) / (det_start / g_ii).sqrt()
        angle = torch.atan2(comp_2, comp_1)
        angle = torch.where(angle <= -math.pi, angle + 2 * math.pi, angle)

        g_center = space.metric.metric_matrix(c)
        det_center = (
            g_center[:, i, i] * g_center[:, j, j] - g_center[:, i, j] ** 2
        ).clamp_min(0)
        latent_area = 0.5 * n_segments * radius**2 * math.sin(2 * math.pi / n_segments)
        area = det_center.sqrt() * latent_area
        curv = angle / area
    finish = chart.finish
    return HolonomyResult(
        angle=finish(angle, batch, like),
        area=finish(area, batch, like),
        curvature=finish(curv, batch, like),
    )
