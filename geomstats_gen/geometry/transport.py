r"""Parallel transport in the latent space of a decoder.

Two schemes transport a tangent vector along a latent path:

``"projection"`` (Shao et al. 2017, first order in the step)
    Push the vector forward, :math:`w = J_i v_i`, project it onto the next
    tangent space, :math:`v_{i+1} = J_{i+1}^+ w = G_{i+1}^{-1} J_{i+1}^T w`,
    and rescale so that :math:`|J_{i+1} v_{i+1}| = |J_i v_i|`. Only
    Jacobians are needed.

``"ode"`` (fourth-order Runge-Kutta)
    Integrate the transport equation :math:`\dot v = -\Gamma(\dot z, v)`,
    :math:`\Gamma(u, v) = G^{-1} J^T d^2 g[u, v]`, with one RK4 step per
    segment of the piecewise-linear latent path. Along a given polygonal
    path the result is exact for that polygon up to ``O(h^4)``; as an
    approximation of the transport along the smooth curve through the nodes
    it is second order. :func:`parallel_transport` integrates the geodesic
    and the transport equations together, which is fourth order.
"""

import torch

from geomstats_gen.core.chart import as_chart
from geomstats_gen.core.checks import (
    as_points,
    check_choice,
    check_positive_int,
    promote_like,
    result_like,
)
from geomstats_gen.geometry.equations import (
    christoffel_contraction,
    joint_geodesic_transport_field,
)
from geomstats_gen.geometry.exp import GeodesicODEExpSolver
from geomstats_gen.geometry.integrators import projection_steps, rk4, rk4_step
from geomstats_gen.geometry.log import DiscreteEnergyLogSolver

__all__ = ["TRANSPORT_METHODS", "parallel_transport", "transport_along_path"]

TRANSPORT_METHODS = ("ode", "projection")


def _prepare_path(chart, tangent_vec, path):
    """Check and flatten a tangent vector and a latent path.

    Returns
    -------
    v : torch.Tensor, shape=[m, d]
    nodes : torch.Tensor, shape=[m, n + 1, d]
    batch_shape : tuple of int
    like : torch.Tensor
    """
    dim = chart.latent_dim
    vec = as_points(tangent_vec, "tangent_vec", dim)
    nodes = as_points(path, "path", dim)
    if nodes.ndim < 2 or nodes.shape[-2] < 1:
        raise ValueError(
            f"`path` must have shape [..., n_nodes + 1, {dim}] (latent points "
            f"along the path), got shape {tuple(nodes.shape)}."
        )
    try:
        batch = tuple(torch.broadcast_shapes(vec.shape[:-1], nodes.shape[:-2]))
    except RuntimeError as err:
        raise ValueError(
            "The batch shapes do not broadcast together: `tangent_vec` "
            f"{tuple(vec.shape[:-1])}, `path` {tuple(nodes.shape[:-2])}."
        ) from err
    chart.check_domain(nodes, "path")
    like = promote_like(vec, nodes)
    n_nodes = nodes.shape[-2]
    vec = chart.to_work(vec.expand(*batch, dim).reshape(-1, dim)).contiguous()
    nodes = chart.to_work(nodes.expand(*batch, n_nodes, dim).reshape(-1, n_nodes, dim))
    return vec, nodes.contiguous(), batch, like


def _ode_along_nodes(chart, v, nodes):
    """One RK4 step of the transport ODE per segment of the piecewise-linear path.

    The Jacobian at a segment's end is reused as the next one's start, and
    the one at its midpoint serves two stages.
    """
    jacobians = {0.0: chart.jacobian(nodes[:, 0].contiguous())}
    for i in range(nodes.shape[1] - 1):
        z0, step = nodes[:, i], nodes[:, i + 1] - nodes[:, i]

        def field(t, state, z0=z0, step=step):
            z = (z0 + t * step).contiguous()
            if t not in jacobians:
                jacobians[t] = chart.jacobian(z)
            return (-christoffel_contraction(chart, z, jacobians[t], step, state[0]),)

        (v,) = rk4_step(field, 0.0, (v,), 1.0)
        jacobians = {0.0: jacobians[1.0]}
    return v


def transport_along_path(space, tangent_vec, path, method="ode"):
    r"""Parallel transport along a discrete latent path.

    Parameters
    ----------
    space : DecoderChart or GeneratedManifold
    tangent_vec : array-like, shape=[..., d]
        Tangent vectors at the first node ``path[..., 0, :]``.
    path : array-like, shape=[..., n + 1, d]
        Nodes of a latent path (any path, e.g. the ``path`` of
        ``space.metric.connecting_geodesic``); it is followed as the
        piecewise-linear curve through its nodes. Batch shapes broadcast with
        that of ``tangent_vec``.
    method : {"ode", "projection"}
        ``"ode"``: one RK4 step per segment of the transport equation
        :math:`\dot v = -\Gamma(\dot z, v)` (second order in the step as an
        approximation of the smooth curve through the nodes; exact on
        piecewise-linear latent curves up to ``O(h^4)``). ``"projection"``:
        Shao et al.'s push-forward, project, rescale scheme (first order,
        Jacobians only; preserves the norm exactly).

    Returns
    -------
    transported : torch.Tensor, shape=[..., d]
        Transported vectors at the last node ``path[..., -1, :]``, in the
        caller's dtype and on the caller's device.
    """
    chart = as_chart(space)
    check_choice(method, "method", TRANSPORT_METHODS)
    v, nodes, batch, like = _prepare_path(chart, tangent_vec, path)
    with chart.grad_mode(tangent_vec, path):
        if nodes.shape[0] == 0 or nodes.shape[1] == 1:
            out = v
        elif method == "projection":
            _, out = projection_steps(
                chart, nodes[:, 0], v, lambda k, _z, _v: nodes[:, k + 1], nodes.shape[1] - 1
            )
        else:
            out = _ode_along_nodes(chart, v, nodes)
    return chart.finish(out, batch, like)


def parallel_transport(
    space,
    tangent_vec,
    base_point,
    direction=None,
    end_point=None,
    method="ode",
    n_steps=None,
    log_solver=None,
    exp_solver=None,
):
    r"""Parallel transport along a geodesic (Geomstats' signature).

    Transport ``tangent_vec`` from ``base_point`` along the geodesic
    ``t -> Exp_{base_point}(t direction)``, ``t in [0, 1]``, or along the
    geodesic from ``base_point`` to ``end_point``; exactly one of
    ``direction`` and ``end_point`` is given.

    Parameters
    ----------
    space : DecoderChart or GeneratedManifold
    tangent_vec : array-like, shape=[..., d]
        Tangent vectors at ``base_point``.
    base_point : array-like, shape=[..., d]
    direction : array-like, shape=[..., d], optional
        Initial velocity of the geodesic.
    end_point : array-like, shape=[..., d], optional
        End point of the geodesic, solved for with ``log_solver``.
    method : {"ode", "projection"}
        ``"ode"``: the geodesic equation and the transport equation
        integrated together, from the initial velocity (``direction``, or
        the ``log`` of the connecting geodesic), by ``exp_solver``'s method
        and tolerances (adaptive Dormand-Prince by default, its error
        control covering the transported vector too), or by RK4 with
        ``n_steps`` steps when ``n_steps`` is given (error
        ``O(n_steps^-4)``); plus, with ``end_point``, the error of the log.
        ``"projection"``: :func:`transport_along_path` with Shao et al.'s
        scheme along the discrete geodesic (the ``path`` of the connecting
        geodesic, or the geodesic sampled at ``n_steps + 1`` times, 100 by
        default).
    n_steps : int, optional
        Fixed steps along the geodesic (see ``method``). Unused by
        ``"projection"`` with ``end_point``, which follows the nodes of the
        connecting geodesic.
    log_solver : DiscreteEnergyLogSolver, optional
        Solver of the connecting geodesic (``end_point``). Default: one with
        default settings.
    exp_solver : GeodesicODEExpSolver, optional
        Integrator of the geodesic sampled by ``"projection"`` with
        ``direction``. Default: one with default settings.

    Returns
    -------
    transported : torch.Tensor, shape=[..., d]
        Transported vectors at the end of the geodesic.
    """
    chart = as_chart(space)
    check_choice(method, "method", TRANSPORT_METHODS)
    if (direction is None) == (end_point is None):
        raise ValueError(
            "Exactly one of `direction` and `end_point` must be given, got "
            + ("both." if direction is not None else "neither.")
        )
    n_steps = check_positive_int(n_steps, "n_steps", allow_none=True)
    dim = chart.latent_dim
    tangent_vec = as_points(tangent_vec, "tangent_vec", dim)
    base_point = as_points(base_point, "base_point", dim)
    if end_point is not None:
        end_point = as_points(end_point, "end_point", dim)
        like = promote_like(tangent_vec, base_point, end_point)
        result = (log_solver or DiscreteEnergyLogSolver(chart)).solve(end_point, base_point)
        if method == "projection":
            return result_like(
                transport_along_path(chart, tangent_vec, result.path, method="projection"), like
            )
        direction = result.log
    else:
        direction = as_points(direction, "direction", dim)
        like = promote_like(tangent_vec, base_point, direction)
        if method == "projection":
            times = torch.linspace(0.0, 1.0, (n_steps or 100) + 1, dtype=torch.float64)
            geodesic = (exp_solver or GeodesicODEExpSolver(chart)).geodesic_ivp(
                direction, base_point
            )
            return result_like(
                transport_along_path(chart, tangent_vec, geodesic(times), method="projection"),
                like,
            )
    (v, z, u), batch, _ = chart.prepare(
        tangent_vec=tangent_vec, base_point=base_point, direction=direction
    )
    with chart.grad_mode(tangent_vec, base_point, direction):
        if z.shape[0] == 0:
            out = v
        else:
            field = joint_geodesic_transport_field(chart)
            if n_steps is None:
                solver = exp_solver or GeodesicODEExpSolver(chart)
                _, _, out = solver.integrate_field(field, (z, u, v), what="transport")
            else:
                _, _, out = rk4(field, (z, u, v), n_steps)
    return chart.finish(out, batch, like)
