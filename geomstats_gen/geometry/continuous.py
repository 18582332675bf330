"""Continuous extensions of the adaptive pairs, and the dense output they fill.

Values of the solution between the accepted steps of
:func:`~geomstats_gen.geometry.adaptive.adaptive_rk` (its ``times``):

- Dormand-Prince 5(4): fourth order in the step, no extra evaluation
  (Hairer, Norsett & Wanner, II.6);
- DOP853: seventh order, three more field evaluations per step (the
  extension's coefficients are read from SciPy, which ships them).

:class:`DenseOutput` holds the values at the requested times, trajectory by
trajectory (each has its own steps).
"""

import torch
from scipy.integrate._ivp import dop853_coefficients as _dop853

from geomstats_gen.geometry.integrators import axpy, combination, expand

__all__ = ["INTERPOLANTS", "DenseOutput"]

_N853 = _dop853.N_STAGES

# DOP853's continuous extension: three more stages ``(c_i, a_i)`` after the
# first-same-as-last one, and the weights of its four higher coefficients.
_EXTRA_853 = tuple(
    (float(_dop853.C[i]), tuple(float(a) for a in _dop853.A[i, :i]))
    for i in range(_N853 + 1, _dop853.N_STAGES_EXTENDED)
)
_DENSE_853 = tuple(tuple(float(c) for c in row) for row in _dop853.D)

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


INTERPOLANTS = {"dopri5": _dopri5_interpolant, "dop853": _dop853_interpolant}


class DenseOutput:
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
