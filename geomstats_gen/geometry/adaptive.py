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
steps; :mod:`~geomstats_gen.geometry.continuous`). The tableaux are the
published ones; DOP853's are read from SciPy, which ships them.
"""

import collections
import math
import warnings

import torch
from scipy.integrate._ivp import dop853_coefficients as _dop853

from geomstats_gen.exceptions import ConvergenceWarning
from geomstats_gen.geometry.continuous import INTERPOLANTS, DenseOutput
from geomstats_gen.geometry.integrators import StageBuffer, expand

__all__ = ["ADAPTIVE_METHODS", "adaptive_rk", "dop853", "dopri5"]


_Coefficients = collections.namedtuple("_Coefficients", "times stages weights errors")


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
        self.size = len(stages) + 2  # the first stage, the others, f(t + h, y_new)
        self._tensors = {}

    def tensors(self, dtype, device):
        """The coefficients as tensors.

        ``times [s - 2]`` (float64, the ``c_i``), ``stages`` (the rows of
        ``a``, one tensor each), ``weights``, ``errors`` (one tensor each).
        """
        key = (dtype, device)
        if key not in self._tensors:
            def vec(row):
                return torch.tensor(row, dtype=dtype, device=device)
            self._tensors[key] = _Coefficients(
                torch.tensor([c for c, _ in self.stages], dtype=torch.float64, device=device),
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

_DOP853 = _Pair(
    "dop853",
    stages=tuple(
        (float(_dop853.C[i]), tuple(float(a) for a in _dop853.A[i, :i]))
        for i in range(1, _dop853.N_STAGES)
    ),
    weights=tuple(float(b) for b in _dop853.B),
    errors=(tuple(float(e) for e in _dop853.E5), tuple(float(e) for e in _dop853.E3)),
    exponent=-1 / 8,
)

PAIRS = {"dop853": _DOP853, "dopri5": _DOPRI5}
ADAPTIVE_METHODS = tuple(PAIRS)

def _scaled_errors(estimates, cur, new, rtol, atol):
    """Max-norm error over tolerance per row, ``[n]`` (float64), of each estimate.

    ``estimates``: per error estimate, a tuple over the state tensors.
    """
    scales = [torch.maximum(old.abs(), y.abs()).mul_(rtol).add_(atol) for old, y in zip(cur, new)]
    out = []
    for errors in estimates:
        scaled = None
        for err, scale in zip(errors, scales):
            part = (err.abs() / scale).reshape(err.shape[0], -1).amax(-1)
            scaled = part if scaled is None else torch.maximum(scaled, part)
        out.append(scaled.to(torch.float64))
    return out


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
    interpolant = INTERPOLANTS[method]
    n_rows = state[0].shape[0]
    device = state[0].device
    coefs = pair.tensors(state[0].dtype, device)
    stopped = torch.zeros(n_rows, dtype=torch.bool, device=device)
    dense = None if times is None else DenseOutput(state, times)
    full = tuple(s.clone() for s in state)

    def finish():
        out = (full,) if stop is None else (full, stopped)
        if dense is not None:
            out = out + (dense.values,)
        return out[0] if len(out) == 1 else out

    if n_rows == 0:
        return finish()
    # The running rows (their indices ``active`` into the batch): state,
    # times, next step sizes, accepted steps, first stage. They are written
    # back to ``full`` and dropped when they finish. Times and step sizes
    # in float64 whatever the state's dtype (a float32 sum of steps would
    # stop short of 1).
    active = torch.arange(n_rows, device=device)
    cur = tuple(state)
    t = torch.zeros(n_rows, dtype=torch.float64, device=device)
    h = torch.full((n_rows,), 0.25, dtype=torch.float64, device=device)
    accepted = torch.zeros(n_rows, dtype=torch.int64, device=device)
    k1 = field(t, state)
    capped = 0
    while True:
        remaining = 1.0 - t
        last = h >= remaining
        h_a = torch.where(last, remaining, h)
        stage_times = t + coefs.times[:, None] * h_a
        stages = StageBuffer(k1, pair.size, h_a)
        for stage_t, a_row in zip(stage_times, coefs.stages):
            stages.add(field(stage_t, stages.step(cur, a_row)))
        new = stages.step(cur, coefs.weights)
        k_new = field(t + h_a, new)
        stages.add(k_new)
        with torch.no_grad():  # step sizes are constants, not functions of the inputs
            estimates = [stages.combination(e) for e in coefs.errors]
            ratio = pair.ratio(_scaled_errors(estimates, cur, new, rtol, atol))
            ratio = torch.where(torch.isfinite(ratio), ratio, torch.full_like(ratio, math.inf))
        ok = ratio <= 1.0
        if dense is not None:
            acc = ok.nonzero().squeeze(-1)

            def interpolate(sel, x):  # called at once, by dense.step
                rows = acc[sel]
                return interpolant(
                    field, t[rows], h_a[rows], tuple(c[rows] for c in cur),
                    tuple(y[rows] for y in new), stages.rows(rows), x,
                )

            dense.step(active[acc], t[acc], h_a[acc], interpolate)
        cur = tuple(torch.where(expand(ok, y), y, c) for y, c in zip(new, cur))
        t = torch.where(ok, torch.where(last, 1.0, t + h_a), t)
        accepted = accepted + ok
        factor = torch.where(
            ratio == 0, 5.0, (0.9 * ratio.clamp_min(1e-300) ** pair.exponent).clamp(0.2, 5.0)
        )
        h = h_a * factor
        k1 = tuple(torch.where(expand(ok, a), a, b) for a, b in zip(k_new, k1))
        finished = t >= 1.0
        done = finished | (accepted >= max_steps)
        if stop is not None:
            leaving = ok & stop(cur)
            done = done | leaving
        # One transfer per step: whether a step size underflowed, whether
        # any row is done.
        underflow, any_done = torch.stack([(h < 1e-12).any(), done.any()]).tolist()
        if underflow:
            raise FloatingPointError(
                f"{what}: the adaptive step size underflowed; the equation is "
                "singular along this path (the decoder's Jacobian may lose rank)."
            )
        if not any_done:
            continue
        rows = active[done]
        for f, c in zip(full, cur):
            f[rows] = c[done]
        at_cap = done & ~finished  # at the cap before t = 1, or stopped
        if stop is not None:
            stopped[active[leaving]] = True
            if dense is not None and bool(leaving.any()):
                dense.freeze(active[leaving], t[leaving], tuple(c[leaving] for c in cur))
            at_cap = at_cap & ~leaving
        n_capped = int(at_cap.sum())
        if n_capped:
            capped += n_capped
            if dense is not None:
                dense.freeze(active[at_cap], t[at_cap], tuple(c[at_cap] for c in cur))
        keep = ~done
        active, t, h, accepted = active[keep], t[keep], h[keep], accepted[keep]
        cur = tuple(c[keep] for c in cur)
        k1 = tuple(k[keep] for k in k1)
        if not active.numel():
            break
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
