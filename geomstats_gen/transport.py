r"""Parallel transport in the latent space of a decoder, and analogies.

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

from geomstats_gen import autodiff
from geomstats_gen._checks import as_points, check_positive_int, result_like
from geomstats_gen._linalg import project_tangent, pullback_solve

_METHODS = ("ode", "projection")


def _check_method(method, allowed=_METHODS, name="method"):
    if method not in allowed:
        raise ValueError(
            f"`{name}` must be one of {', '.join(repr(m) for m in allowed)}, got {method!r}."
        )


def _gamma(space, z, jac, u, v):
    """:func:`geomstats_gen.autodiff.christoffel_contraction` on the space's decoder."""
    return autodiff.christoffel_contraction(
        space.flat_decoder, z, jac, u, v, chunk_size=space._chunk(space.embedding_dim * 3)
    )


def _prepare_path(space, tangent_vec, path):
    """Check and flatten a tangent vector and a latent path.

    Returns
    -------
    v : torch.Tensor, shape=[m, d]
    nodes : torch.Tensor, shape=[m, n + 1, d]
    batch_shape : tuple of int
    like : torch.Tensor
    """
    dim = space.latent_dim
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
    if space.domain_radius is not None:
        space._check_domain(nodes, "path")
    like = vec.new_empty((), dtype=torch.promote_types(vec.dtype, nodes.dtype))
    n_nodes = nodes.shape[-2]
    vec = space.to_work(vec.expand(*batch, dim).reshape(-1, dim)).contiguous()
    nodes = space.to_work(nodes.expand(*batch, n_nodes, dim).reshape(-1, n_nodes, dim))
    return vec, nodes.contiguous(), batch, like


def _projection_flat(space, v, nodes):
    """Shao et al.'s projection transport on flat work tensors."""
    jac = space.work_jacobian(nodes[:, 0])
    for i in range(nodes.shape[1] - 1):
        jac_next = space.work_jacobian(nodes[:, i + 1].contiguous())
        v = project_tangent(jac, jac_next, v)
        jac = jac_next
    return v


def _ode_flat(space, v, nodes):
    """RK4 on the transport ODE along the piecewise-linear path, flat tensors."""
    jac_start = space.work_jacobian(nodes[:, 0])
    for i in range(nodes.shape[1] - 1):
        z0 = nodes[:, i]
        z1 = nodes[:, i + 1].contiguous()
        step = z1 - z0
        mid = (0.5 * (z0 + z1)).contiguous()
        jac_mid = space.work_jacobian(mid)
        jac_end = space.work_jacobian(z1)
        k1 = -_gamma(space, z0, jac_start, step, v)
        k2 = -_gamma(space, mid, jac_mid, step, v + 0.5 * k1)
        k3 = -_gamma(space, mid, jac_mid, step, v + 0.5 * k2)
        k4 = -_gamma(space, z1, jac_end, step, v + k3)
        v = v + (k1 + 2 * k2 + 2 * k3 + k4) / 6
        jac_start = jac_end
    return v


def transport_along_path(space, tangent_vec, path, method="ode"):
    r"""Parallel transport along a discrete latent path.

    Parameters
    ----------
    space : GeneratedManifold
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
    _check_method(method)
    v, nodes, batch, like = _prepare_path(space, tangent_vec, path)
    with space.grad_mode(tangent_vec, path):
        if nodes.shape[0] == 0 or nodes.shape[1] == 1:
            out = v
        elif method == "projection":
            out = _projection_flat(space, v, nodes)
        else:
            out = _ode_flat(space, v, nodes)
    return space.finish(out, batch, like)


def _geodesic_transport_flat(space, v, z, u, n_steps):
    """RK4 on the joint geodesic and transport equations over ``t in [0, 1]``.

    ``z' = u``, ``u' = -Gamma(u, u)``, ``v' = -Gamma(u, v)``; both
    contractions share one Jacobian and one batched second derivative.
    """
    h = 1.0 / n_steps
    n_pts = z.shape[0]

    def field(zz, uu, vv):
        jac = space.work_jacobian(zz)
        zz2 = torch.cat([zz, zz])
        _, _, second = autodiff.second_derivative(
            space.flat_decoder,
            zz2,
            torch.cat([uu, uu]),
            torch.cat([uu, vv]),
            chunk_size=space._chunk(space.embedding_dim * 3),
        )
        rhs = torch.stack([second[:n_pts], second[n_pts:]], dim=-1)
        gam = pullback_solve(jac, rhs)
        return uu, -gam[..., 0], -gam[..., 1]

    for _ in range(n_steps):
        a = field(z, u, v)
        b = field(z + 0.5 * h * a[0], u + 0.5 * h * a[1], v + 0.5 * h * a[2])
        c = field(z + 0.5 * h * b[0], u + 0.5 * h * b[1], v + 0.5 * h * b[2])
        e = field(z + h * c[0], u + h * c[1], v + h * c[2])
        z, u, v = (
            s + h / 6 * (ka + 2 * kb + 2 * kc + ke)
            for s, ka, kb, kc, ke in zip((z, u, v), a, b, c, e)
        )
    return v


def parallel_transport(
    space, tangent_vec, base_point, direction=None, end_point=None, method="ode", n_steps=None
):
    r"""Parallel transport along a geodesic (Geomstats' signature).

    Transport ``tangent_vec`` from ``base_point`` along the geodesic
    ``t -> Exp_{base_point}(t direction)``, ``t in [0, 1]``, or along the
    geodesic from ``base_point`` to ``end_point``; exactly one of
    ``direction`` and ``end_point`` is given.

    Parameters
    ----------
    space : GeneratedManifold
    tangent_vec : array-like, shape=[..., d]
        Tangent vectors at ``base_point``.
    base_point : array-like, shape=[..., d]
    direction : array-like, shape=[..., d], optional
        Initial velocity of the geodesic.
    end_point : array-like, shape=[..., d], optional
        End point of the geodesic, solved for with
        ``space.metric.connecting_geodesic(end_point, base_point)``.
    method : {"ode", "projection"}
        ``"ode"``: RK4 with ``n_steps`` steps on the geodesic equation and the
        transport equation together, from the initial velocity
        (``direction``, or the ``log`` of the connecting geodesic); error
        ``O(n_steps^-4)`` plus, with ``end_point``, that of the log.
        ``"projection"``: :func:`transport_along_path` with Shao et al.'s
        scheme along the discrete geodesic (the ``path`` of the connecting
        geodesic, or the geodesic sampled at ``n_steps + 1`` times).
    n_steps : int, optional
        Steps along the geodesic. Default: ``space.metric.exp_solver.n_steps``
        (100). Unused by ``"projection"`` with ``end_point``, which follows
        the nodes of the connecting geodesic.

    Returns
    -------
    transported : torch.Tensor, shape=[..., d]
        Transported vectors at the end of the geodesic.
    """
    _check_method(method)
    if (direction is None) == (end_point is None):
        raise ValueError(
            "Exactly one of `direction` and `end_point` must be given, got "
            + ("both." if direction is not None else "neither.")
        )
    if n_steps is None:
        n_steps = space.metric.exp_solver.n_steps
    n_steps = check_positive_int(n_steps, "n_steps")
    dim = space.latent_dim
    tangent_vec = as_points(tangent_vec, "tangent_vec", dim)
    base_point = as_points(base_point, "base_point", dim)
    if end_point is not None:
        end_point = as_points(end_point, "end_point", dim)
        result = space.metric.connecting_geodesic(end_point, base_point)
        if method == "projection":
            return result_like(
                transport_along_path(space, tangent_vec, result.path, method="projection"),
                _like(tangent_vec, base_point, end_point),
            )
        direction = result.log
    else:
        direction = as_points(direction, "direction", dim)
        if method == "projection":
            times = torch.linspace(0.0, 1.0, n_steps + 1, dtype=torch.float64)
            path = space.metric.exp_solver.geodesic_ivp(direction, base_point)(times)
            return result_like(
                transport_along_path(space, tangent_vec, path, method="projection"),
                _like(tangent_vec, base_point, direction),
            )
    (v, z, u), batch, like = space.prepare(
        tangent_vec=tangent_vec, base_point=base_point, direction=direction
    )
    if end_point is not None:
        like = _like(tangent_vec, base_point, end_point)
    with space.grad_mode(tangent_vec, base_point, direction):
        out = v if z.shape[0] == 0 else _geodesic_transport_flat(space, v, z, u, n_steps)
    return space.finish(out, batch, like)


def _like(*tensors):
    dtype = tensors[0].dtype
    for tensor in tensors[1:]:
        dtype = torch.promote_types(dtype, tensor.dtype)
    return tensors[0].new_empty((), dtype=dtype)


def analogy(space, point_a, point_b, point_c, method="geodesic", transport_method="ode"):
    r"""Complete the analogy "A is to B as C is to D".

    ``D = Exp_C(PT_{A -> C}(Log_A B))``: the displacement from ``A`` to ``B``,
    parallel transported along the geodesic from ``A`` to ``C``, applied at
    ``C``.

    Parameters
    ----------
    space : GeneratedManifold
    point_a, point_b, point_c : array-like, shape=[..., d]
        Latent points; batch shapes broadcast.
    method : {"geodesic", "linear"}
        ``"geodesic"``: the Riemannian construction above. ``"linear"``: the
        latent vector arithmetic ``z_C + z_B - z_A``.
    transport_method : {"ode", "projection"}
        Scheme of :func:`parallel_transport` for ``"geodesic"``.

    Returns
    -------
    point_d : torch.Tensor, shape=[..., d]
    """
    _check_method(method, ("geodesic", "linear"))
    _check_method(transport_method, name="transport_method")
    (a, b, c), batch, like = space.prepare(point_a=point_a, point_b=point_b, point_c=point_c)
    if method == "linear":
        return space.finish(c + b - a, batch, like)
    a, b, c = (space.finish(t, batch, like) for t in (a, b, c))
    displacement = space.metric.log(b, a)
    moved = parallel_transport(space, displacement, a, end_point=c, method=transport_method)
    return result_like(space.metric.exp(moved, c), like)


__all__ = ["analogy", "parallel_transport", "transport_along_path"]
