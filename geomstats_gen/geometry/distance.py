"""A differentiable squared geodesic distance (first variation of the energy)."""

import torch

from geomstats_gen.core.linalg import metric_from_jacobian

__all__ = ["squared_distance", "tracks_grad"]


def tracks_grad(*tensors):
    """Whether grad mode is on and one of ``tensors`` requires grad."""
    return torch.is_grad_enabled() and any(
        isinstance(t, torch.Tensor) and t.requires_grad for t in tensors
    )


class _SquaredDistance(torch.autograd.Function):
    """Differentiable squared distance (the geodesic solve itself is not).

    First variation of the energy: ``grad_a d^2(a, b) = -2 G(a) Log_a(b)``
    and symmetrically in ``b``. Lets Geomstats' autodiff-based estimators
    (``GeodesicRegression(method="riemannian")``) differentiate distances.
    """

    @staticmethod
    def forward(ctx, log_solver, point_a, point_b):
        with torch.no_grad():
            forward = log_solver.solve(point_b, point_a)
            ctx.chart = log_solver.chart
            ctx.save_for_backward(point_a, point_b, forward.log)
            ctx.need_b = ctx.needs_input_grad[2]
            backward_log = log_solver.solve(point_a, point_b).log if ctx.need_b else None
            ctx.backward_log = backward_log
            return forward.length**2

    @staticmethod
    def backward(ctx, grad_output):
        point_a, point_b, log_a = ctx.saved_tensors
        chart = ctx.chart

        def metric_matrix(point):
            return chart.evaluate(lambda z: metric_from_jacobian(chart.jacobian(z)), point=point)

        grad_a = grad_b = None
        with torch.no_grad():
            if ctx.needs_input_grad[1]:
                g_a = metric_matrix(point_a)
                grad_a = -2 * (g_a @ log_a[..., None]).squeeze(-1) * grad_output[..., None]
                grad_a = _sum_to_shape(grad_a, point_a.shape)
            if ctx.need_b:
                g_b = metric_matrix(point_b)
                grad_b = -2 * (g_b @ ctx.backward_log[..., None]).squeeze(-1) * grad_output[..., None]
                grad_b = _sum_to_shape(grad_b, point_b.shape)
        return None, grad_a, grad_b


def _sum_to_shape(grad, shape):
    """Reduce a broadcast gradient to ``shape``."""
    while grad.ndim > len(shape):
        grad = grad.sum(0)
    for axis, size in enumerate(shape):
        if size == 1 and grad.shape[axis] != 1:
            grad = grad.sum(axis, keepdim=True)
    return grad


def squared_distance(log_solver, point_a, point_b):
    """``d(a, b)^2`` from ``log_solver``, differentiable in both points.

    Parameters
    ----------
    log_solver : DiscreteEnergyLogSolver
    point_a, point_b : torch.Tensor, shape=[..., d]

    Returns
    -------
    sq_dist : torch.Tensor, shape=[...]
    """
    return _SquaredDistance.apply(log_solver, point_a, point_b)
