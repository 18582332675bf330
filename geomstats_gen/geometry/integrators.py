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
    """``h * sum(c_k * d_k)`` per tensor for ``terms = ((c_1, d_1), ...)`` (zero ``c_k`` skipped).

    ``h`` is a number, or a tensor ``[n]`` of one step size per row.
    """
    kept = [(coef, deriv) for coef, deriv in terms if coef != 0.0]
    coefs = [coef for coef, _ in kept]
    out = []
    for parts in zip(*(d for _, d in kept)):
        total = sum(c * p for c, p in zip(coefs, parts))
        step = _expand(h.to(total.dtype), total) if isinstance(h, torch.Tensor) else h
        out.append(step * total)
    return tuple(out)


def _axpy(state, h, *terms):
    """``state + h * sum(c_k * d_k)``, per tensor of the state (``h``: see :func:`_combination`)."""
    return tuple(s + incr for s, incr in zip(state, _combination(h, terms)))


def _expand(tensor, like):
    """``tensor`` with trailing singleton dimensions, to broadcast against ``like``."""
    return tensor.reshape(tuple(tensor.shape) + (1,) * (like.ndim - tensor.ndim))


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
    """Values of the solution at requested times, filled in step by step.

    Every trajectory has its own steps: an accepted step of the rows
    ``rows`` covers ``(t_r, t_r + h_r]`` for each of them.
    """

    def __init__(self, state, times):
        self.times = times.to(torch.float64)
        self.weights = torch.tensor(_DOPRI_P, dtype=torch.float64, device=times.device)
        self.values = tuple(
            s.new_zeros((s.shape[0], times.shape[0]) + tuple(s.shape[1:])) for s in state
        )
        start = (self.times <= 0.0)[None, :]
        for v, s in zip(self.values, state):
            v.copy_(torch.where(_expand(start, v), s[:, None].expand_as(v), v))

    def step(self, rows, t, h, state, ks):
        """Interpolate, for each row, the times in ``(t_r, t_r + h_r]`` of its accepted step."""
        x = (self.times[None, :] - t[:, None]) / h[:, None]  # [n, n_t]
        inside = (x > 0) & (x <= 1)
        powers = torch.stack([x, x * x, x**3, x**4], dim=-1)  # [n, n_t, 4]
        weights = (powers @ self.weights.T).to(state[0].dtype)  # [n, n_t, 7]
        for v, s, parts in zip(self.values, state, zip(*ks)):
            incr = sum(_expand(weights[..., k], s[:, None]) * p[:, None] for k, p in enumerate(parts))
            new = s[:, None] + _expand(h.to(s.dtype)[:, None], incr) * incr
            v[rows] = torch.where(_expand(inside, new), new, v[rows])

    def freeze(self, rows, t, state_rows):
        """Trajectories stopped at ``t`` keep their state at every later time."""
        later = self.times[None, :] > t[:, None]
        for v, s in zip(self.values, state_rows):
            v[rows] = torch.where(_expand(later, v[rows]), s[:, None].expand_as(v[rows]), v[rows])


def dopri5(field, state, rtol, atol, max_steps, what="exp", stop=None, times=None):
    """Adaptive Dormand-Prince 5(4) over ``t in [0, 1]``, one step size per trajectory.

    Every trajectory of the batch takes its own steps (its own error
    control); each step evaluates the field on the trajectories still
    running only, so a batch costs the sum of its trajectories' steps, not
    the hardest one's times the batch size.

    Parameters
    ----------
    field : callable
        ``field(t, state)``, row by row: row ``r`` of the derivative depends
        on row ``r`` of the state only (it is called on the rows still
        running; ``t``: their times, unused by autonomous fields).
    state : tuple of torch.Tensor
    rtol, atol : float
        Local error tolerances: every component's error estimate stays
        below ``atol + rtol max(|y_old|, |y_new|)``.
    max_steps : int
        Cap on the accepted steps of a trajectory; reaching it emits a
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
    n_rows = state[0].shape[0]
    device = state[0].device
    stopped = torch.zeros(n_rows, dtype=torch.bool, device=device)
    dense = None if times is None else _DenseOutput(state, times)
    full = tuple(s.clone() for s in state)

    def finish():
        out = (full,) if stop is None else (full, stopped)
        if dense is not None:
            out = out + (dense.values,)
        return out[0] if len(out) == 1 else out

    if n_rows == 0:
        return finish()
    # Times and step sizes in float64 whatever the state's dtype (a float32
    # sum of steps would stop short of 1).
    t = torch.zeros(n_rows, dtype=torch.float64, device=device)
    h = torch.full((n_rows,), 0.25, dtype=torch.float64, device=device)
    accepted = torch.zeros(n_rows, dtype=torch.int64, device=device)
    active = torch.arange(n_rows, device=device)
    k1 = field(t, state)
    capped = 0
    while active.numel():
        t_a = t[active]
        last = h[active] >= 1.0 - t_a
        h_a = torch.where(last, 1.0 - t_a, h[active])
        cur = tuple(f[active] for f in full)
        ks = [k1]
        for c, a_row in zip(_DOPRI_C[1:], _DOPRI_A[1:]):
            ks.append(field(t_a + c * h_a, _axpy(cur, h_a, *zip(a_row, ks))))
        new = _axpy(cur, h_a, *zip(_DOPRI_B, ks))
        k7 = field(t_a + h_a, new)
        errors = _combination(h_a, tuple(zip(_DOPRI_E, ks + [k7])))
        ratio = torch.stack(
            [
                (err / (atol + rtol * old.abs().maximum(y.abs()))).abs().reshape(err.shape[0], -1)
                .amax(-1).to(torch.float64)
                for err, old, y in zip(errors, cur, new)
            ]
        ).amax(0)
        ratio = torch.where(torch.isfinite(ratio), ratio, torch.full_like(ratio, math.inf))
        ok = ratio <= 1.0
        if dense is not None:
            dense.step(active[ok], t_a[ok], h_a[ok], tuple(c[ok] for c in cur),
                       [tuple(p[ok] for p in k) for k in ks + [k7]])
        rows_ok = active[ok]
        for f, y in zip(full, new):
            f[rows_ok] = y[ok]
        t[rows_ok] = torch.where(last[ok], 1.0, t_a[ok] + h_a[ok])
        accepted[rows_ok] += 1
        factor = torch.where(
            ratio == 0, 5.0, (0.9 * ratio.clamp_min(1e-300) ** -0.2).clamp(0.2, 5.0)
        )
        h[active] = h_a * factor
        k1 = tuple(torch.where(_expand(ok, a), a, b) for a, b in zip(k7, k1))
        leaving = torch.zeros_like(ok)
        if stop is not None:
            leaving = ok & stop(tuple(f[active] for f in full))
            stopped[active[leaving]] = True
            if dense is not None and bool(leaving.any()):
                dense.freeze(active[leaving], t[active[leaving]],
                             tuple(f[active[leaving]] for f in full))
        at_cap = accepted[active] >= max_steps
        done = (t[active] >= 1.0) | leaving | at_cap
        flags = torch.stack([done, at_cap & ~(t[active] >= 1.0) & ~leaving,
                             h[active] < 1e-12]).cpu()
        if bool(flags[2].any()):
            raise FloatingPointError(
                f"{what}: the adaptive step size underflowed; the equation is "
                "singular along this path (the decoder's Jacobian may lose rank)."
            )
        capped += int(flags[1].sum())
        if dense is not None and bool(flags[1].any()):
            rows = active[flags[1].to(device)]
            dense.freeze(rows, t[rows], tuple(f[rows] for f in full))
        keep = (~flags[0]).to(device)
        active = active[keep]
        k1 = tuple(k[keep] for k in k1)
    if capped:
        warnings.warn(
            f"{what}: {capped} of {n_rows} trajectories reached max_steps={max_steps} "
            "steps of the adaptive integrator before t = 1; their results are "
            "inaccurate. Increase max_steps or rtol, or shorten the tangent vectors.",
            ConvergenceWarning,
            stacklevel=4,
        )
    return finish()


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
