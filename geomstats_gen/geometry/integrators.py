"""Fixed-step ODE integrators on tuples of batched tensors, one copy each.

A *field* is ``field(t, state) -> derivative`` where ``state`` and
``derivative`` are tuples of tensors of matching shapes (e.g. positions and
velocities ``(z, v)``, each ``[n, d]``). Used by the exp map, parallel
transport and every measure built on them:

- :func:`rk4`: classical fourth-order Runge-Kutta, fixed steps;
- :func:`projection_steps`: Shao et al.'s first-order scheme that carries a
  tangent vector from one tangent space to the next by projection.

The adaptive embedded pairs (Dormand-Prince 5(4) and 8(5,3), one step size
per trajectory) are in :mod:`~geomstats_gen.geometry.adaptive`; they share
the step arithmetic below (:func:`axpy`, :func:`combination`, :class:`StageBuffer`).
"""

import torch

from geomstats_gen.core.linalg import project_tangent

__all__ = ["StageBuffer", "axpy", "combination", "expand", "projection_steps", "rk4", "rk4_step"]


def combination(h, terms):
    """``h * sum(c_k * d_k)`` per tensor for ``terms = ((c_1, d_1), ...)`` (zero ``c_k`` skipped).

    ``h`` is a number, or a tensor ``[n]`` of one step size per row.
    """
    kept = [(coef, deriv) for coef, deriv in terms if coef != 0.0]
    coefs = [coef for coef, _ in kept]
    out = []
    for parts in zip(*(d for _, d in kept)):
        total = sum(c * p for c, p in zip(coefs, parts))
        step = expand(h.to(total.dtype), total) if isinstance(h, torch.Tensor) else h
        out.append(step * total)
    return tuple(out)


def axpy(state, h, *terms):
    """``state + h * sum(c_k * d_k)``, per tensor of the state (``h``: see :func:`combination`)."""
    return tuple(s + incr for s, incr in zip(state, combination(h, terms)))


def expand(tensor, like):
    """``tensor`` with trailing singleton dimensions, to broadcast against ``like``."""
    return tensor.reshape(tuple(tensor.shape) + (1,) * (like.ndim - tensor.ndim))


class StageBuffer:
    """The stage derivatives of one Runge-Kutta step, ``[s, n, ...]`` per state tensor.

    A combination ``h sum_i c_i k_i`` is one product with the coefficient
    vector per state tensor (instead of a multiply-add per stage, as in
    :func:`combination`): the adaptive pairs' many stages. Each buffer keeps
    a flat ``[s, n * ...]`` view, so a combination is a slice, one
    matrix-vector product and a view.

    Parameters
    ----------
    k1 : tuple of torch.Tensor, each shape=[n, ...]
        The first stage.
    size : int
        Stages the step will hold.
    h : torch.Tensor, shape=[n]
        Step sizes, one per row.
    """

    def __init__(self, k1, size, h):
        self.buffers = [k.new_empty((size,) + tuple(k.shape)) for k in k1]
        self._flat = [buffer.view(size, -1) for buffer in self.buffers]
        self.count = 0
        steps = {}  # h per row, broadcastable; one per dtype and rank
        for k in k1:
            key = (k.dtype, k.ndim)
            if key not in steps:
                steps[key] = expand(h.to(k.dtype), k)
        self.steps = [steps[(k.dtype, k.ndim)] for k in k1]
        self.add(k1)

    def add(self, derivative):
        for buffer, part in zip(self.buffers, derivative):
            buffer[self.count] = part
        self.count += 1

    def _sums(self, coefs):
        """``sum_i coefs_i k_i`` per state tensor, ``coefs [m]`` over the first ``m`` stages."""
        m = coefs.shape[0]
        return [
            (coefs @ flat[:m]).view(buffer.shape[1:])
            for buffer, flat in zip(self.buffers, self._flat)
        ]

    def combination(self, coefs):
        """``h sum_i coefs_i k_i`` per state tensor, ``coefs [m]`` over the first ``m`` stages."""
        return tuple(h * total for h, total in zip(self.steps, self._sums(coefs)))

    def step(self, state, coefs):
        """``state + h sum_i coefs_i k_i`` (one fused multiply-add per state tensor)."""
        return tuple(
            torch.addcmul(s, h, total) for s, h, total in zip(state, self.steps, self._sums(coefs))
        )

    def rows(self, index):
        """The stages of the rows ``index``, as a list of tuples (for the interpolants)."""
        picked = [buffer[: self.count, index] for buffer in self.buffers]
        return [tuple(p[i] for p in picked) for i in range(self.count)]


def rk4_step(field, t, state, h):
    """One classical Runge-Kutta step of size ``h`` from time ``t``.

    Returns
    -------
    state : tuple of torch.Tensor
    """
    k1 = field(t, state)
    k2 = field(t + 0.5 * h, axpy(state, 0.5 * h, (1.0, k1)))
    k3 = field(t + 0.5 * h, axpy(state, 0.5 * h, (1.0, k2)))
    k4 = field(t + h, axpy(state, h, (1.0, k3)))
    return axpy(state, h / 6, (1.0, k1), (2.0, k2), (2.0, k3), (1.0, k4))


def rk4(field, state, n_steps):
    """Integrate over ``t in [0, 1]`` with ``n_steps`` RK4 steps (error ``O(n^-4)``).

    Parameters
    ----------
    field : callable
    state : tuple of torch.Tensor
    n_steps : int

    Returns
    -------
    state : tuple of torch.Tensor
        At ``t = 1``.
    """
    h = 1.0 / n_steps
    for k in range(n_steps):
        state = rk4_step(field, k * h, state, h)
    return state


def projection_steps(chart, z, v, next_point, n_steps):
    """Carry ``v`` along ``n_steps`` points by Shao et al.'s projection step.

    At each step the next point is ``next_point(k, z, v)``; ``v`` is pushed
    forward with the Jacobian at the current point, pulled back with the
    one at the next point and rescaled to its previous norm
    (:func:`~geomstats_gen.core.linalg.project_tangent`). First order; only
    Jacobians are needed.

    Parameters
    ----------
    chart : DecoderChart
    z, v : torch.Tensor, shape=[n, d]
    next_point : callable
        ``next_point(k, z, v) -> z_next`` for step ``k`` in ``0 .. n_steps - 1``.
    n_steps : int

    Returns
    -------
    z, v : torch.Tensor, shape=[n, d]
        Last point and the vector carried there.
    """
    jac = chart.jacobian(z)
    for k in range(n_steps):
        z = next_point(k, z, v).contiguous()
        jac_next = chart.jacobian(z)
        v = project_tangent(jac, jac_next, v)
        jac = jac_next
    return z, v
