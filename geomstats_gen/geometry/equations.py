r"""The differential equations of the pullback metric, one copy each.

With :math:`J` the decoder's Jacobian, :math:`G = J^T J` and
:math:`d^2 g[u, v]` its second directional derivative:

- Christoffel contraction :math:`\Gamma(u, v) = G^{-1} J^T d^2 g[u, v]`;
- geodesic equation :math:`\ddot z = -\Gamma(\dot z, \dot z)`;
- transport equation along a curve with velocity :math:`u`:
  :math:`\dot v = -\Gamma(u, v)`;
- the joint geodesic and transport field
  :math:`(\dot z, \dot u, \dot v) = (u, -\Gamma(u, u), -\Gamma(u, v))`.

Every function works on flat work tensors ``[n, d]`` of a
:class:`~geomstats_gen.core.chart.DecoderChart`.
"""

import torch

from geomstats_gen.core.linalg import pullback_solve

__all__ = [
    "christoffel_contraction",
    "geodesic_acceleration",
    "geodesic_field",
    "joint_geodesic_transport_field",
]


def christoffel_contraction(chart, z, jac, u, v):
    r""":math:`\Gamma(u, v) = G^{-1} J^T d^2 g(z)[u, v]`.

    One forward-over-forward JVP per point and a float64 solve with ``G``.

    Parameters
    ----------
    chart : DecoderChart
    z : torch.Tensor, shape=[n, d]
    jac : torch.Tensor, shape=[n, D, d]
        Jacobians at ``z``.
    u, v : torch.Tensor, shape=[n, d]

    Returns
    -------
    gamma : torch.Tensor, shape=[n, d]
    """
    _, _, second = chart.second_derivative(z, u, v)
    return pullback_solve(jac, second)


def geodesic_acceleration(chart, z, v):
    r"""Geodesic acceleration :math:`-G^{-1} J^T d^2g[v, v]` at flat points.

    Parameters
    ----------
    chart : DecoderChart
    z, v : torch.Tensor, shape=[n, d]
        Positions and velocities in the working dtype and device.

    Returns
    -------
    acceleration : torch.Tensor, shape=[n, d]
    """
    direction = v[None]
    jac, second = chart.metric_jacobian_and_seconds(z, direction, direction)
    return -pullback_solve(jac, second[0])


def geodesic_field(chart):
    """The geodesic equation as a first-order autonomous field on ``(z, v)``.

    Returns
    -------
    field : callable
        ``field(t, (z, v)) -> (v, acceleration)`` for the integrators of
        :mod:`geomstats_gen.geometry.integrators`.
    """

    def field(_t, state):
        z, v = state
        return v, geodesic_acceleration(chart, z, v)

    return field


def joint_geodesic_transport_field(chart):
    r"""Geodesic and transport equations together, on ``(z, u, v)``.

    Both contractions share one Jacobian and one batched second derivative.

    Returns
    -------
    field : callable
        ``field(t, (z, u, v)) -> (u, -Gamma(u, u), -Gamma(u, v))``.
    """

    def field(_t, state):
        z, u, v = state
        jac, second = chart.metric_jacobian_and_seconds(
            z, torch.stack([u, u]), torch.stack([u, v])
        )
        gam = pullback_solve(jac, second.permute(1, 2, 0))
        return u, -gam[..., 0], -gam[..., 1]

    return field
