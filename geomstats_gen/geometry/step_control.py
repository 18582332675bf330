"""Per-path decisions of the path-energy minimiser, on the host.

:func:`~geomstats_gen.geometry.path_energy.minimize_path_energy` does the
arithmetic of its damped Newton steps on the decoder's device; what it
decides for each path after a trial step (accept or reject it, the
damping, convergence, when to refresh or reuse the Gauss-Newton blocks,
when to switch to Newton steps) depends on a few numbers per path. Those
numbers come to the host once per trial (one transfer, the one the index
sets of the next trial need anyway) and the decisions are taken here with
NumPy, whose operations on a handful of numbers cost a fraction of a
microsecond, where each torch operation costs several: on a single pair
they were half of the minimiser's time.

The rules themselves are those of the minimiser's docstring. The index
sets of its trials (:class:`RowSet`) are host arrays too.
"""

import numpy as np
import torch

__all__ = ["PathControl", "RowSet", "assemble"]


def _numpy_dtype(dtype):
    return torch.empty((), dtype=dtype).numpy().dtype


class PathControl:
    """State and decisions per path of one minimisation, as NumPy arrays.

    Parameters
    ----------
    n_paths : int
    dtype : torch.dtype
        The working dtype (moves, energies and damping are kept in it).
    tol : float
    max_iter : int
    hessian : {"auto", "newton", "gauss-newton"}
    newton : numpy.ndarray of bool, shape=[n_paths], optional
        With ``"auto"``: the paths that start with Newton steps.
    valid : numpy.ndarray of bool, shape=[n_paths], optional
        The paths that come with Gauss-Newton blocks (they reuse them).
    damping : float
        Initial Levenberg-Marquardt damping.
    newton_rate : float
        The rate of node moves above which ``"auto"`` switches to Newton.
    reuse_move : float
        A path reuses its blocks once a step with fresh ones moves its nodes
        by at most this fraction of a segment.
    """

    def __init__(
        self, n_paths, dtype, tol, max_iter, hessian, newton, valid, damping, newton_rate,
        reuse_move,
    ):
        real = _numpy_dtype(dtype)
        self.eps = float(torch.finfo(dtype).eps)
        self.tol, self.max_iter, self.hessian = tol, max_iter, hessian
        self.newton_rate, self.reuse_move = newton_rate, reuse_move
        self.converged = np.zeros(n_paths, dtype=bool)
        self.use_newton = np.full(n_paths, hessian == "newton")
        if hessian == "auto" and newton is not None:
            self.use_newton = newton.copy()
        self.valid = None if valid is None else valid.copy()
        # Paths that come with blocks reuse them (and refresh them when
        # slow); the others compute fresh blocks at every iteration.
        self.reuse = np.zeros(n_paths, dtype=bool)
        if valid is not None and hessian != "newton":
            self.reuse = valid.copy()
        self.fresh = ~self.reuse
        self.lam = np.full(n_paths, damping, dtype=real)
        self.prev_move = np.full(n_paths, np.inf, dtype=real)
        self.iterations = np.zeros(n_paths, dtype=np.int64)
        # Each path's row in the graph kept from the last first trial, or -1.
        self.carried = np.full(n_paths, -1, dtype=np.int64)

    @np.errstate(divide="ignore", invalid="ignore", over="ignore")
    def judge(self, rows, was_fresh, energy, seg_len, noise, energy_cand, move, pos_def):
        """Take the trial steps of the paths ``rows``; returns ``(ok, settled)``.

        Parameters
        ----------
        rows : numpy.ndarray of int, shape=[k], or slice
            The paths tried (:attr:`RowSet.pick`).
        was_fresh : numpy.ndarray of bool, shape=[k]
            Whether their blocks are fresh (or their step Newton's).
        energy, seg_len, noise : numpy.ndarray, shape=[k]
            Their energy, mean decoded segment length and rounding level
            before the step.
        energy_cand, move : numpy.ndarray, shape=[k]
            The energy after the step and the largest decoded node move.
        pos_def : numpy.ndarray of bool, shape=[k]
            Whether the damped system was positive definite.

        Returns
        -------
        ok : numpy.ndarray of bool, shape=[k]
            The accepted steps (their nodes move).
        settled : numpy.ndarray of bool, shape=[k]
            The paths done with this iteration (accepted or converged).
        """
        eps = self.eps
        # Converged: the nodes barely move, relative to the segments, or by
        # no more than the rounding of the decoded values (float32 decoders
        # on short paths reach that floor first).
        goal = np.maximum(self.tol * seg_len, noise)
        before = self.prev_move[rows]
        # Or the moves shrink geometrically, and what the next ones would add
        # up to (``move rate / (1 - rate)``) is under it.
        rate = np.minimum(np.where(np.isfinite(before), move / before, 1.0), 1.0)
        predicted = move * rate / np.maximum(1 - rate, 0.5)
        small = pos_def & ((move <= goal) | ((rate <= 0.5) & (predicted <= goal)))
        ok = pos_def & (energy_cand <= energy * (1 + 8 * eps))
        # An accepted step that does not lower the energy beyond rounding
        # means the working precision is exhausted.
        small |= ok & (energy - energy_cand <= 8 * eps * energy)
        slow = ok & (move > 0.1 * before)
        if self.hessian == "auto":
            # Slow with fresh blocks: the Newton term is missing. Or, at its
            # rate, Gauss-Newton would not reach the goal in the iterations
            # left.
            crawl = ok & (move > self.newton_rate * before) & was_fresh
            known = np.isfinite(before) & (rate > 0) & (rate < 1) & (move > goal)
            need = np.log(goal / move) / np.log(np.where(known, rate, 0.5))
            late = ok & known & (need > self.max_iter - 1 - self.iterations[rows])
            self.use_newton[rows] |= crawl | late
        # Slow, or rejected, with approximate blocks: refresh them.
        self.fresh[rows] |= (slow | ~ok) & ~was_fresh
        if self.valid is not None and self.hessian != "newton":
            # Once the nodes move by 1 % of a segment, the Jacobians barely
            # change from one iteration to the next: reuse them.
            self.reuse[rows] |= ok & was_fresh & (move <= self.reuse_move * seg_len)
        self.prev_move[rows] = np.where(ok, move, before)
        lam = self.lam[rows]
        self.lam[rows] = np.where(ok, np.maximum(lam / 10, 1e-12), lam * 10)
        self.converged[rows] |= small
        return ok, ok | small


class RowSet:
    """Rows ``host`` (sorted, distinct) of a batch of ``n``, kept on the host.

    The device index is made on first use; a set of all the rows indexes
    nothing (:meth:`take` returns the tensor itself, :meth:`put` copies into
    it), so a batch whose paths all do the same (one pair, say) pays for no
    gather or scatter.
    """

    def __init__(self, host, n, device):
        self.host, self.n, self.size = host, n, host.size
        self.all = self.size == n
        self._device, self._index = device, None

    @property
    def pick(self):
        """The rows as a NumPy index (a slice for all the rows: no gather)."""
        return slice(None) if self.all else self.host

    @property
    def index(self):
        """The rows as a device tensor of int64."""
        if self._index is None:
            self._index = torch.from_numpy(self.host).to(self._device)
        return self._index

    def at(self, sub):
        """The rows at the positions ``sub`` (a RowSet of this set) in this set's batch."""
        if sub.all:
            return self
        return sub if self.all else RowSet(self.host[sub.host], self.n, self._device)

    def take(self, tensor):
        """``tensor[rows]``."""
        return tensor if self.all else tensor[self.index]

    def put(self, tensor, value, inner=None):
        """``tensor[rows] = value`` (``tensor[rows, inner]`` with ``inner``)."""
        if value is tensor:
            return
        rows = slice(None) if self.all else self.index
        tensor[rows if inner is None else (rows, inner)] = value

    def add(self, tensor, value):
        """``tensor[rows] += value``."""
        if self.all:
            tensor.add_(value)
        else:
            tensor[self.index] = tensor[self.index] + value

    def scatter(self, value):
        """A tensor of ``n`` rows, ``value`` at these rows and zeros elsewhere."""
        if self.all:
            return value
        out = value.new_zeros((self.n,) + tuple(value.shape[1:]))
        out[self.index] = value
        return out


def assemble(parts, shape):
    """One tensor of ``shape`` from ``(RowSet, value)`` parts that cover its rows."""
    if len(parts) == 1 and parts[0][0].all:
        return parts[0][1]
    out = parts[0][1].new_empty(shape)
    for rows, value in parts:
        rows.put(out, value)
    return out
