"""ODE integrators on tuples of batched tensors, one copy each.

A *field* is ``field(t, state) -> derivative`` where ``state`` and
``derivative`` are tuples of tensors of matching shapes (e.g. positions and
velocities ``(z, v)``, each ``[n, d]``). Used by the exp map, parallel
transport and every measure built on them:

- :func:`rk4`: classical fourth-order Runge-Kutta, fixed steps;
- :func:`dopri5`: adaptive Dormand-Prince 5(4) with one step size for the
  whole batch (error ``atol + rtol |y|`` in every trajectory);
- :func:`projection_steps`: Shao et al.'s first-order scheme that carries a
  tangent vector from one tangent space to the next by projection.
"""

import math
import warnings

import torch

from geomstats_gen.core.linalg import project_tangent
from geomstats_gen.exceptions import ConvergenceWarning

__all__ = ["dopri5", "projection_steps", "rk4", "rk4_step"]


def _combination(h, terms):
    """``h * sum(c_k * d_k)`` per tensor for ``terms = ((c_1, d_1), ...)`` (zero ``c_k`` skipped)."""
    kept = [(coef, deriv) for coef, deriv in terms if coef != 0.0]
    coefs = [coef for coef, _ in kept]
    return tuple(
        h * sum(c * p for c, p in zip(coefs, parts)) for parts in zip(*(d for _, d in kept))
    )


def _axpy(state, h, *terms):
    """``state + h * sum(c_k * d_k)``, per tensor of the state."""
    return tuple(s + incr for s, incr in zip(state, _combination(h, terms)))


def rk4_step(field, t, state, h):
    """One classical Runge-Kutta step of size ``h`` from time ``t``.

    Returns
    -------
    state : tuple of torch.Tensor
    """
    k1 = field(t, state)
    k2 = field(t + 0.5 * h, _axpy(state, 0.5 * h, (1.0, k1)))
    k3 = field(t + 0.5 * h, _axpy(state, 0.5 * h, (1.0, k2)))
    k4 = field(t + h, _axpy(state, h, (1.0, k3)))
    return _axpy(state, h / 6, (1.0, k1), (2.0, k2), (2.0, k3), (1.0, k4))


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


_DOPRI_A = (
    (),
    (1 / 5,),
    (3 / 40, 9 / 40),
    (44 / 45, -56 / 15, 32 / 9),
    (19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729),
    (9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656),
)
_DOPRI_C = (0.0, 1 / 5, 3 / 10, 4 / 5, 8 / 9, 1.0)
_DOPRI_B = (35 / 384, 0.0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84)
_DOPRI_E = (  # fifth-order minus embedded fourth-order weights (7th stage: -1/40)
    35 / 384 - 5179 / 57600,
    0.0,
    500 / 1113 - 7571 / 16695,
    125 / 192 - 393 / 640,
    -2187 / 6784 + 92097 / 339200,
    11 / 84 - 187 / 2100,
    -1 / 40,
)


# Continuous extension of Dormand-Prince (Hairer, Norsett & Wanner, II.6):
# y(t + x h) = y + h sum_i k_i sum_j P[i][j] x^(j + 1), fourth order in x.
_DOPRI_P = (
    (1.0, -8048581381 / 2820520608, 8663915743 / 2820520608, -12715105075 / 11282082432),
    (0.0, 0.0, 0.0, 0.0),
    (0.0, 131558114200 / 32700410799, -68118460800 / 10900136933, 87487479700 / 32700410799),
    (0.0, -1754552775 / 470086768, 14199869525 / 1410260304, -10690763975 / 1880347072),
    (
        0.0,
        127303824393 / 49829197408,
        -318862633887 / 49829197408,
        701980252875 / 199316789632,
    ),
    (0.0, -282668133 / 205662961, 2019193451 / 616988883, -1453857185 / 822651844),
    (0.0, 40617522 / 29380423, -110615467 / 29380423, 69997945 / 29380423),
)


class _DenseOutput:
    """Values of the solution at requested times, filled in step by step."""

    def __init__(self, state, times):
        self.times = times
        self.host = times.tolist()  # one transfer, before the loop
        self.weights = torch.tensor(_DOPRI_P, dtype=times.dtype, device=times.device)
        self.next = 0
        self.values = tuple(
            s.new_zeros((s.shape[0], len(self.host)) + tuple(s.shape[1:])) for s in state
        )
        while self.next < len(self.host) and self.host[self.next] <= 0.0:
            self.next += 1
        for v, s in zip(self.values, state):
            v[:, : self.next] = s[:, None]

    def step(self, active, t, h, state, ks):
        """Interpolate the times in ``(t, t + h]`` on the accepted step."""
        stop = self.next
        while stop < len(self.host) and self.host[stop] <= t + h:
            stop += 1
        if stop == self.next:
            return
        x = ((self.times[self.next : stop] - t) / h).to(state[0].dtype)
        powers = torch.stack([x, x * x, x**3, x**4])  # [4, n_t]
        weights = self.weights.to(x.dtype) @ powers  # [7, n_t]
        for v, s, parts in zip(self.values, state, zip(*ks)):
            incr = sum(
                w.reshape((1, -1) + (1,) * (s.ndim - 1)) * p[:, None]
                for w, p in zip(weights, parts)
            )
            v[active, self.next : stop] = s[:, None] + h * incr
        self.next = stop

    def freeze(self, rows, state_rows):
        """Trajectories stopped now keep their state at every later time."""
        for v, s in zip(self.values, state_rows):
            v[rows, self.next :] = s[:, None]


def dopri5(field, state, rtol, atol, max_steps, what="exp", stop=None, times=None):
    """Adaptive Dormand-Prince 5(4) over ``t in [0, 1]``, one step size per batch.

    Parameters
    ----------
    field : callable
    state : tuple of torch.Tensor
    rtol, atol : float
        Local error tolerances: every component's error estimate stays
        below ``atol + rtol max(|y_old|, |y_new|)``.
    max_steps : int
        Cap on accepted steps; reaching it emits a
        :class:`~geomstats_gen.exceptions.ConvergenceWarning` and returns
        the state reached.
    what : str
        Name of the computation in messages.
    stop : callable, optional
        ``stop(state) -> bool tensor [n]``, checked after every accepted
        step: the trajectories it flags are frozen where they are and the
        others go on (e.g. geodesics leaving the region the decoder was
        trained on).
    times : torch.Tensor, shape=[n_t], optional
        Sorted times in ``[0, 1]`` at which the solution is also wanted:
        interpolated on the accepted steps by the method's fourth-order
        continuous extension (no extra field evaluation).

    Returns
    -------
    state : tuple of torch.Tensor
        At ``t = 1`` (or where the cap, or ``stop``, stopped it).
    stopped : torch.Tensor of bool, shape=[n]
        Only when ``stop`` is given: the trajectories it stopped.
    dense : tuple of torch.Tensor, shape=[n, n_t, ...]
        Only when ``times`` is given (last): the state at those times.

    Raises
    ------
    FloatingPointError
        If the step size underflows (a singular field).
    """
    full = state
    stopped = torch.zeros(state[0].shape[0], dtype=torch.bool, device=state[0].device)
    active = torch.arange(state[0].shape[0], device=state[0].device)
    dense = None if times is None else _DenseOutput(state, times)

    def finish(end):
        out = (end,) if stop is None else (end, stopped)
        if dense is not None:
            out = out + (dense.values,)
        return out[0] if len(out) == 1 else out

    if state[0].shape[0] == 0:
        return finish(state)
    t, h = 0.0, 0.25
    k1 = field(t, state)
    accepted = 0
    while t < 1.0 and active.numel():
        if accepted >= max_steps:
            warnings.warn(
                f"{what}: the adaptive integrator reached max_steps={max_steps} "
                f"steps at t={t:.3g} < 1; the result is inaccurate. Increase "
                "max_steps or rtol, or shorten the tangent vectors.",
                ConvergenceWarning,
                stacklevel=4,
            )
            break
        h = min(h, 1.0 - t)
        ks = [k1]
        for c, a_row in zip(_DOPRI_C[1:], _DOPRI_A[1:]):
            ks.append(field(t + c * h, _axpy(state, h, *zip(a_row, ks))))
        new = _axpy(state, h, *zip(_DOPRI_B, ks))
        k7 = field(t + h, new)
        errors = _combination(h, tuple(zip(_DOPRI_E, ks + [k7])))
        ratio = max(
            float((err / (atol + rtol * old.abs().maximum(y.abs()))).abs().max().detach())
            for err, old, y in zip(errors, state, new)
        )
        if not math.isfinite(ratio):
            ratio = math.inf
        if ratio <= 1.0:
            if dense is not None:
                dense.step(active, t, h, state, ks + [k7])
            t += h
            state, k1 = new, k7
            accepted += 1
            if stop is not None:
                leaving = stop(state)
                if bool(leaving.any()):  # freeze them; integrate the others only
                    full = tuple(f.index_copy(0, active, s) for f, s in zip(full, state))
                    stopped[active[leaving]] = True
                    if dense is not None:
                        dense.freeze(active[leaving], tuple(s[leaving] for s in state))
                    keep = ~leaving
                    active = active[keep]
                    state = tuple(s[keep] for s in state)
                    k1 = tuple(k[keep] for k in k1)
        factor = 5.0 if ratio == 0 else min(5.0, max(0.2, 0.9 * ratio ** (-0.2)))
        h = h * factor
        if h < 1e-12:
            raise FloatingPointError(
                f"{what}: the adaptive step size underflowed; the equation is "
                "singular along this path (the decoder's Jacobian may lose rank)."
            )
    if dense is not None:  # the step cap stopped the loop early
        dense.freeze(active, state)
    if stop is None:
        return finish(state)
    full = tuple(f.index_copy(0, active, s) for f, s in zip(full, state))
    return finish(full)


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
