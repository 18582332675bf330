r"""Parallel transport on a generated manifold, and analogies.

Built on the metric of a :class:`~geomstats_gen.GeneratedManifold` (its log
and exp solvers and their settings); the transport schemes themselves live
in :mod:`geomstats_gen.geometry.transport`.
"""

from geomstats_gen.core.checks import check_choice, result_like
from geomstats_gen.geometry import transport as _transport

__all__ = ["analogy", "parallel_transport", "transport_along_path"]

#: Transport along any discrete latent path; takes the manifold first.
transport_along_path = _transport.transport_along_path


def parallel_transport(
    space, tangent_vec, base_point, direction=None, end_point=None, method="ode", n_steps=None
):
    r"""Parallel transport along a geodesic, with the settings of ``space.metric``.

    Same as ``space.metric.parallel_transport`` (see
    :meth:`~geomstats_gen.DecoderPullbackMetric.parallel_transport`).

    Parameters
    ----------
    space : GeneratedManifold
    tangent_vec : array-like, shape=[..., d]
        Tangent vectors at ``base_point``.
    base_point : array-like, shape=[..., d]
    direction : array-like, shape=[..., d], optional
        Initial velocity of the geodesic.
    end_point : array-like, shape=[..., d], optional
        End point of the geodesic; exactly one of ``direction`` and
        ``end_point``.
    method : {"ode", "projection"}
        See :func:`geomstats_gen.geometry.transport.parallel_transport`.
    n_steps : int, optional
        Steps along the geodesic. Default: ``space.metric.exp_solver.n_steps``.

    Returns
    -------
    transported : torch.Tensor, shape=[..., d]
    """
    return space.metric.parallel_transport(
        tangent_vec,
        base_point,
        direction=direction,
        end_point=end_point,
        method=method,
        n_steps=n_steps,
    )


def analogy(
    space, point_a, point_b, point_c, method="geodesic", transport_method="ode",
    transport_steps=None,
):
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
    transport_steps : int, optional
        Steps of the transport along the geodesic from ``A`` to ``C``.
        Default: ``space.metric.exp_solver.n_steps``.

    Returns
    -------
    point_d : torch.Tensor, shape=[..., d]
    """
    check_choice(method, "method", ("geodesic", "linear"))
    check_choice(transport_method, "transport_method", _transport.TRANSPORT_METHODS)
    chart = space.chart
    if method == "linear":
        return chart.evaluate(
            lambda a, b, c: c + b - a, point_a=point_a, point_b=point_b, point_c=point_c
        )
    (a, b, c), batch, like = chart.prepare(point_a=point_a, point_b=point_b, point_c=point_c)
    a, b, c = (chart.finish(t, batch, like) for t in (a, b, c))
    displacement = space.metric.log(b, a)
    moved = space.metric.parallel_transport(
        displacement, a, end_point=c, method=transport_method, n_steps=transport_steps
    )
    return result_like(space.metric.exp(moved, c), like)
