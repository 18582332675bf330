"""Adaptive embedded Runge-Kutta pairs, one step size per trajectory.

Two pairs share one integration loop (:func:`adaptive_rk`):

- :func:`dop853`: Dormand-Prince 8(5,3) (Hairer, Norsett & Wanner, II.10),
  12 field evaluations per step, eighth order: at the float64 tolerances of
  the exp map (``rtol`` 1e-10) it needs 2-3 times fewer evaluations than
  the fifth-order pair on the reference decoders;
- :func:`dopri5`: Dormand-Prince 5(4), 6 evaluations per step, the better
  choice at loose tolerances.

Every trajectory of a batch takes its own steps (its own error control):
each step evaluates the field on the trajectories still running only, so a
batch costs the sum of its trajectories' steps, not the hardest one's
times the batch size. Errors are measured in the max norm: every
component's estimate stays below ``atol + rtol max(|y_old|, |y_new|)``.
Both pairs have a dense output (values at requested times, between the
steps). The tableaux are the published ones; DOP853's are read from
SciPy, which ships them.
"""

import collections
import math
import warnings

import torch
from scipy.integrate._ivp import dop853_coefficients as _dop853

from geomstats_gen.exceptions import ConvergenceWarning
from geomstats_gen.geometry.integrators import StageBuffer, axpy, combination, expand

__all__ = ["ADAPTIVE_METHODS", "adaptive_rk", "dop853", "dopri5"]


_Coefficients = collections.namedtuple("_Coefficients", "stages weights errors")


class _Pair:
    """An embedded pair: stages ``(c_i, a_i)``, weights ``b``, error weights, exponent.

    ``errors`` are weight vectors over the stages and the first-same-as-last
    stage ``f(t + h, y_new)``; ``exponent`` is ``-1 / (q + 1)`` for the
    order ``q`` of the error estimate.
    """

    def __init__(self, name, stages, weights, errors, exponent):
        self.name = name
        self.stages = stages
        self.weights = weights
        self.errors = errors
        self.exponent = exponent
        self._tensors = {}

    def tensors(self, dtype, device):
        """The coefficients as tensors: ``stages`` (rows of ``a``), ``weights``, ``errors``."""
        key = (dtype, device)
        if key not in self._tensors:
            def vec(row):
                return torch.tensor(row, dtype=dtype, device=device)
            self._tensors[key] = _Coefficients(
                [vec(a_row) for _, a_row in self.stages], vec(self.weights),
                [vec(e) for e in self.errors],
            )
        return self._tensors[key]

    def ratio(self, scaled):
        """Error over tolerance per row, from the max-norm scaled error estimates."""
        if len(scaled) == 1:
            return scaled[0]
        # DOP853: the fifth-order estimate, corrected by the third-order one
        # (Hairer & Wanner's err5^2 / sqrt(err5^2 + 0.01 err3^2)).
        err5, err3 = scaled
        denom = torch.sqrt(err5**2 + 0.01 * err3**2)
        return torch.where(denom > 0, err5**2 / denom.clamp_min(1e-300), torch.zeros_like(err5))


_DOPRI5 = _Pair(
    "dopri5",
    stages=tuple(
        zip(
            (1 / 5, 3 / 10, 4 / 5, 8 / 9, 1.0),
            (
                (1 / 5,),
                (3 / 40, 9 / 40),
                (44 / 45, -56 / 15, 32 / 9),
                (19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729),
                (9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656),
            ),
        )
    ),
    weights=(35 / 384, 0.0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84),
    # Fifth-order minus embedded fourth-order weights (7th stage: -1/40).
    errors=(
        (
            35 / 384 - 5179 / 57600,
            0.0,
            500 / 1113 - 7571 / 16695,
            125 / 192 - 393 / 640,
            -2187 / 6784 + 92097 / 339200,
            11 / 84 - 187 / 2100,
            -1 / 40,
        ),
    ),
    exponent=-1 / 5,
)

_N853 = _dop853.N_STAGES
_DOP853 = _Pair(
    "dop853",
    stages=tuple(
        (float(_dop853.C[i]), tuple(float(a) for a in _dop853.A[i, :i])) for i in range(1, _N853)
    ),
    weights=tuple(float(b) for b in _dop853.B),
    errors=(tuple(float(e) for e in _dop853.E5), tuple(float(e) for e in _dop853.E3)),
    exponent=-1 / 8,
)

# DOP853's continuous extension: three more stages ``(c_i, a_i)`` after the
# first-same-as-last one, and the weights of its four higher coefficients.
_EXTRA_853 = tuple(
    (float(_dop853.C[i]), tuple(float(a) for a in _dop853.A[i, :i]))
    for i in range(_N853 + 1, _dop853.N_STAGES_EXTENDED)
)
_DENSE_853 = tuple(tuple(float(c) for c in row) for row in _dop853.D)

PAIRS = {"dop853": _DOP853, "dopri5": _DOPRI5}
ADAPTIVE_METHODS = tuple(PAIRS)

# Continuous extension of Dormand-Prince 5(4) (Hairer, Norsett & Wanner, II.6):
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
_DOPRI_P_WEIGHTS = torch.tensor(_DOPRI_P, dtype=torch.float64)


def _dopri5_interpolant(field, t, h, cur, new, ks, x):
    """``y(t + x h)`` for ``x [n, n_t]`` on one step of Dormand-Prince 5(4) (no extra evaluation)."""
    weights = _DOPRI_P_WEIGHTS.to(h.device)
    powers = torch.stack([x, x * x, x**3, x**4], dim=-1)
    w = (powers @ weights.T).to(cur[0].dtype)  # [n, n_t, 7]
    out = []
    for s, parts in zip(cur, zip(*ks)):
        incr = sum(expand(w[..., k], s[:, None]) * p[:, None] for k, p in enumerate(parts))
        out.append(s[:, None] + expand(h.to(s.dtype)[:, None], incr) * incr)
    return tuple(out)


def _dop853_interpolant(field, t, h, cur, new, ks, x):
    """``y(t + x h)`` for ``x [n, n_t]`` on one step of DOP853: seventh order, three more evaluations."""
    ks = list(ks)
    for c, a_row in _EXTRA_853:
        ks.append(field(t + c * h, axpy(cur, h, *zip(a_row, ks))))
    higher = [combination(h, tuple(zip(row, ks))) for row in _DENSE_853]  # h sum D_ri k_i
    out = []
    for j, (s, y, f_old, f_new) in enumerate(zip(cur, new, ks[0], ks[_N853])):
        hh = expand(h.to(s.dtype), s)
        delta = y - s
        coefs = [delta, hh * f_old - delta, 2 * delta - hh * (f_new + f_old)]
        coefs += [terms[j] for terms in higher]
        # Horner in x and (1 - x) alternately, as the extension is written.
        xx = expand(x.to(s.dtype), s[:, None])
        value = torch.zeros_like(xx * s[:, None])
        for i, coef in enumerate(reversed(coefs)):
            value = (value + coef[:, None]) * (xx if i % 2 == 0 else 1 - xx)
        out.append(s[:, None] + value)
    return tuple(out)


_INTERPOLANTS = {"dopri5": _dopri5_interpolant, "dop853": _dop853_interpolant}


class _DenseOutput:
    """Values of the solution at requested times, filled in step by step.

    Every trajectory has its own steps: an accepted step of the rows
    ``rows`` covers ``(t_r, t_r + h_r]`` for each of them.
    """

    def __init__(self, state, times):
        self.times = times.to(torch.float64)
        self.values = tuple(
            s.new_zeros((s.shape[0], times.shape[0]) + tuple(s.shape[1:])) for s in state
        )
        start = (self.times <= 0.0)[None, :]
        for v, s in zip(self.values, state):
            v.copy_(torch.where(expand(start, v), s[:, None].expand_as(v), v))

    def step(self, rows, t, h, interpolate):
        """Interpolate, for each row, the times in ``(t_r, t_r + h_r]`` of its accepted step.

        ``interpolate(sel, x)`` gives the values at ``x [len(sel), n_t]`` (in
        step units) of the rows ``sel`` of the step, only those with a
        requested time inside it.
        """
        x = (self.times[None, :] - t[:, None]) / h[:, None]  # [n, n_t]
        inside = (x > 0) & (x <= 1)
        sel = inside.any(-1).nonzero().squeeze(-1)
        if sel.numel() == 0:
            return
        rows, inside = rows[sel], inside[sel]
        for v, new in zip(self.values, interpolate(sel, x[sel])):
            v[rows] = torch.where(expand(inside, new), new, v[rows])

    def freeze(self, rows, t, state_rows):
        """Trajectories stopped at ``t`` keep their state at every later time."""
        later = self.times[None, :] > t[:, None]
        for v, s in zip(self.values, state_rows):
            v[rows] = torch.where(expand(later, v[rows]), s[:, None].expand_as(v[rows]), v[rows])


def _scaled_error(errors, cur, new, rtol, atol):
    """Max-norm error over tolerance per row, ``[n]`` (float64)."""
    return torch.stack(
        [
            (err / (atol + rtol * old.abs().maximum(y.abs()))).abs().reshape(err.shape[0], -1)
            .amax(-1).to(torch.float64)
            for err, old, y in zip(errors, cur, new)
        ]
    ).amax(0)


def adaptive_rk(
    field, state, rtol, atol, max_steps, method="dop853", what="exp", stop=None, times=None
):
    """Integrate over ``t in [0, 1]`` with an adaptive embedded pair, one step size per trajectory.

    Parameters
    ----------
    field : callable
        ``field(t, state)``, row by row: row ``r`` of the derivative depends
        on row ``r`` of the state only (it is called on the rows still
        running; ``t``: their times, unused by autonomous fields).
    state : tuple of torch.Tensor, each shape=[n, ...]
    rtol, atol : float
        Local error tolerances: every component's error estimate stays
        below ``atol + rtol max(|y_old|, |y_new|)``.
    max_steps : int
        Cap on the accepted steps of a trajectory; reaching it emits a
        :class:`~geomstats_gen.exceptions.ConvergenceWarning` and returns
        the state reached.
    method : {"dop853", "dopri5"}
        The pair (see the module's docstring).
    what : str
        Name of the computation in messages.
    stop : callable, optional
        ``stop(state) -> bool tensor [n]``, checked after every accepted
        step: the trajectories it flags are frozen where they are and the
        others go on (e.g. geodesics leaving the region the decoder was
        trained on).
    times : torch.Tensor, shape=[n_t], optional
        Sorted times in ``[0, 1]`` at which the solution is also wanted:
        interpolated on the accepted steps by the pair's continuous
        extension (fourth order and no extra evaluation for ``"dopri5"``,
        seventh order and three more evaluations per step for
        ``"dop853"``).

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
    pair = PAIRS[method]
    interpolant = _INTERPOLANTS[method]
    n_rows = state[0].shape[0]
    device = state[0].device
    coefs = pair.tensors(state[0].dtype, device)
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
        stages = StageBuffer(k1, len(pair.stages) + 2, h_a)
        for (c, _), a_row in zip(pair.stages, coefs.stages):
            stages.add(field(t_a + c * h_a, stages.step(cur, a_row)))
        new = stages.step(cur, coefs.weights)
        k_new = field(t_a + h_a, new)
        stages.add(k_new)
        with torch.no_grad():  # step sizes are constants, not functions of the inputs
            ratio = pair.ratio(
                [_scaled_error(stages.combination(e), cur, new, rtol, atol)
                 for e in coefs.errors]
            )
            ratio = torch.where(torch.isfinite(ratio), ratio, torch.full_like(ratio, math.inf))
        ok = ratio <= 1.0
        if dense is not None:
            acc = ok.nonzero().squeeze(-1)

            def interpolate(sel, x):  # called at once, by dense.step
                rows = acc[sel]
                return interpolant(
                    field, t_a[rows], h_a[rows], tuple(c[rows] for c in cur),
                    tuple(y[rows] for y in new), stages.rows(rows), x,
                )

            dense.step(active[acc], t_a[acc], h_a[acc], interpolate)
        rows_ok = active[ok]
        for f, y in zip(full, new):
            f[rows_ok] = y[ok]
        t[rows_ok] = torch.where(last[ok], 1.0, t_a[ok] + h_a[ok])
        accepted[rows_ok] += 1
        factor = torch.where(
            ratio == 0, 5.0, (0.9 * ratio.clamp_min(1e-300) ** pair.exponent).clamp(0.2, 5.0)
        )
        h[active] = h_a * factor
        k1 = tuple(torch.where(expand(ok, a), a, b) for a, b in zip(k_new, k1))
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


def dopri5(field, state, rtol, atol, max_steps, what="exp", stop=None, times=None):
    """:func:`adaptive_rk` with Dormand-Prince 5(4) (same parameters and returns)."""
    return adaptive_rk(field, state, rtol, atol, max_steps, "dopri5", what, stop, times)


def dop853(field, state, rtol, atol, max_steps, what="exp", stop=None, times=None):
    """:func:`adaptive_rk` with Dormand-Prince 8(5,3) (same parameters and returns)."""
    return adaptive_rk(field, state, rtol, atol, max_steps, "dop853", what, stop, times)
