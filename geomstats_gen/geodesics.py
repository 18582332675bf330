"""Geodesic solvers on a generated manifold: the log map (a boundary value
problem) and the exp map (an initial value problem), batched and torch-only.

Log map (``DiscreteEnergyLogSolver``)
    Shao et al. (2017), Algorithm 1: the path ``z_0 .. z_T`` with fixed ends
    that minimises the discrete energy
    ``E = (T / 2) sum_i ||g(z_{i+1}) - g(z_i)||^2``. This is a nonlinear least
    squares problem in the interior nodes, solved here by Levenberg-Marquardt
    (damped Newton): the Hessian is block tridiagonal, with blocks
    ``T (2 G_i + H_i)`` on the diagonal and ``-T J_i^T J_{i+1}`` beside it, and
    is solved by block Thomas elimination in ``O(T d^3)`` per pair. All pairs
    are solved together. The chord length of the discrete minimiser
    underestimates the distance by ``O(1 / T^2)`` (on a sphere exactly
    ``2 T sin(d / 2T)``), so the solve is repeated with ``2 T`` nodes
    (started from the first path) and lengths and initial velocities are
    extrapolated (Richardson): the error becomes ``O(1 / T^4)``.

Exp map (``GeodesicODEExpSolver``)
    The geodesic ODE ``z'' = -G^{-1} J^T d^2 g[z', z']`` integrated with the
    classical fourth-order Runge-Kutta scheme, batched over points; or Shao
    et al.'s first-order projection scheme (``method="projection"``).
"""

import dataclasses
import math
import warnings

import torch
from geomstats.numerics.geodesic import ExpSolver, LogSolver

from geomstats_gen import autodiff
from geomstats_gen._checks import check_positive_int
from geomstats_gen._linalg import project_tangent, pullback_solve


class ConvergenceWarning(UserWarning):
    """A geodesic solve stopped before reaching its tolerance."""


@dataclasses.dataclass
class GeodesicResult:
    """Diagnostics of a batch of connecting geodesics.

    Attributes
    ----------
    path : torch.Tensor, shape=[..., n_nodes + 1, d]
        Nodes of the discrete geodesic (the finer one when extrapolating).
    log : torch.Tensor, shape=[..., d]
        Initial velocity: the Riemannian logarithm of the end point.
    length : torch.Tensor, shape=[...]
        Geodesic distance estimate (extrapolated when ``extrapolate``).
    chord_length : torch.Tensor, shape=[...]
        Length of the decoded polygon of ``path``, without extrapolation.
    energy : torch.Tensor, shape=[...]
        Discrete energy of ``path``.
    iterations : torch.Tensor of int, shape=[...]
        Levenberg-Marquardt iterations used (both levels added).
    converged : torch.Tensor of bool, shape=[...]
        Whether the tolerance was met.
    """

    path: torch.Tensor
    log: torch.Tensor
    length: torch.Tensor
    chord_length: torch.Tensor
    energy: torch.Tensor
    iterations: torch.Tensor
    converged: torch.Tensor

    def map(self, fn):
        """Apply ``fn`` to every tensor field."""
        return GeodesicResult(**{f.name: fn(getattr(self, f.name)) for f in dataclasses.fields(self)})


def _default_tol(dtype):
    return 1e-10 if dtype == torch.float64 else 2e-5


def block_tridiagonal_solve(diag, off, rhs):
    """Solve a batch of symmetric block tridiagonal systems.

    Three exact schemes (Cholesky factorisations of Schur complements, no
    pivoting: valid for symmetric positive definite systems, and they report
    the systems that are not), chosen by the shape of the batch:
    a dense batched Cholesky for small batches of small systems, block cyclic
    reduction (``log2 n`` batched levels) for small batches of small blocks
    and on accelerators, where the cost is the number of calls, and block
    Thomas elimination (``n`` sequential steps, half the arithmetic)
    otherwise. See :data:`DENSE_SOLVE_WORK` and :data:`CYCLIC_REDUCTION_WORK`.

    Parameters
    ----------
    diag : torch.Tensor, shape=[p, n, d, d]
        Diagonal blocks ``A_ii``.
    off : torch.Tensor, shape=[p, n - 1, d, d]
        Blocks above the diagonal, ``A_{i, i+1}``; those below are their
        transposes.
    rhs : torch.Tensor, shape=[p, n, d]

    Returns
    -------
    x : torch.Tensor, shape=[p, n, d]
    positive_definite : torch.Tensor of bool, shape=[p]
        False where a Schur complement was not positive definite (``x`` is
        then meaningless for that system).
    """
    p, n, dim = rhs.shape
    if n * dim <= DENSE_SOLVE_MAX and p * (n * dim) ** 3 <= DENSE_SOLVE_WORK:
        return _dense_block_solve(diag, off, rhs)
    if diag.device.type != "cpu" or p * dim**3 <= CYCLIC_REDUCTION_WORK:
        return _cyclic_reduction_solve(diag, off, rhs)
    return _thomas_solve(diag, off, rhs)


#: Small batches of small systems (at most ``DENSE_SOLVE_MAX`` unknowns per
#: path and ``p (n d)^3 <= DENSE_SOLVE_WORK``) are assembled densely and
#: factorised with one batched Cholesky call. Block cyclic reduction takes
#: CPU batches with ``p d^3 <= CYCLIC_REDUCTION_WORK``, block Thomas the
#: larger ones. Measured on one CPU thread (torch 2.13), in ms for ``p``
#: systems of ``n`` blocks of size ``d`` (dense / cyclic reduction / Thomas):
#: p=64, n=15, d=2: 0.9 / 2.1 / 2.6; p=64, n=31, d=2: 4.5 / 3.5 / 5.8;
#: p=64, n=63, d=2: 25 / 5.3 / 11.5; p=512, n=31, d=2: 41 / 15 / 12.6;
#: p=2048, n=15, d=10: 1450 / 222 / 104.
DENSE_SOLVE_MAX = 256
DENSE_SOLVE_WORK = 5e6
CYCLIC_REDUCTION_WORK = 2048


def _cholesky_or_identity(matrix):
    """Batched Cholesky factors, the identity where a matrix is not positive definite.

    Returns
    -------
    factor : torch.Tensor, shape=[..., k, k]
    positive_definite : torch.Tensor of bool, shape=[...]
    """
    factor, info = torch.linalg.cholesky_ex(matrix)
    good = info == 0
    eye = torch.eye(matrix.shape[-1], dtype=matrix.dtype, device=matrix.device)
    return torch.where(good[..., None, None], factor, eye), good


def _thomas_solve(diag, off, rhs):
    """Block Thomas elimination (block LDL^T), ``n`` sequential steps."""
    p, n, dim = rhs.shape
    c_prime = []
    d_prime = []
    ok = torch.ones(p, dtype=torch.bool, device=diag.device)
    schur = diag[:, 0]
    lower = None
    for i in range(n):
        if i > 0:
            lower = off[:, i - 1].transpose(-1, -2)
            schur = diag[:, i] - lower @ c_prime[i - 1]
        factor, good = _cholesky_or_identity(schur)
        ok &= good
        if i < n - 1:
            c_prime.append(torch.cholesky_solve(off[:, i], factor))
        b = rhs[:, i, :, None] if i == 0 else rhs[:, i, :, None] - lower @ d_prime[i - 1]
        d_prime.append(torch.cholesky_solve(b, factor))
    x = [None] * n
    x[n - 1] = d_prime[n - 1]
    for i in range(n - 2, -1, -1):
        x[i] = d_prime[i] - c_prime[i] @ x[i + 1]
    return torch.stack(x, dim=1).squeeze(-1), ok


def _cyclic_reduction_solve(diag, off, rhs):
    """Block cyclic reduction, padded to ``2^k - 1`` blocks."""
    p, n, dim = rhs.shape
    padded = 2 ** math.ceil(math.log2(n + 1)) - 1
    if padded > n:  # decoupled identity blocks with zero right-hand side
        eye = torch.eye(dim, dtype=diag.dtype, device=diag.device)
        diag = torch.cat([diag, eye.expand(p, padded - n, dim, dim)], dim=1)
        off = torch.cat([off, off.new_zeros((p, padded - n, dim, dim))], dim=1)
        rhs = torch.cat([rhs, rhs.new_zeros((p, padded - n, dim))], dim=1)
    x, ok = _cyclic_reduction(diag, off, rhs)
    return x[:, :n], ok


def _cyclic_reduction(diag, off, rhs):
    """Block cyclic reduction of ``2^k - 1`` blocks: ``k`` batched levels.

    Each level eliminates the even-numbered blocks ``0, 2, .., n - 1`` (their
    Cholesky factors all at once) and leaves a symmetric block tridiagonal
    system of ``(n - 1) / 2`` blocks on the odd ones, whose diagonal blocks
    are Schur complements (positive definite when the system is); the
    eliminated unknowns follow by back substitution.
    """
    p, n, dim = rhs.shape
    factor, good = _cholesky_or_identity(diag[:, 0::2])
    if n == 1:
        return torch.cholesky_solve(rhs[:, :, :, None], factor).squeeze(-1), good.all(-1)
    zero = off.new_zeros((p, 1, dim, dim))
    before = torch.cat([zero, off[:, 1::2]], dim=1)  # A_{i-1, i} for even i
    after = torch.cat([off[:, 0::2], zero], dim=1)  # A_{i, i+1}
    solved = torch.cholesky_solve(
        torch.cat([before.transpose(-1, -2), after, rhs[:, 0::2, :, None]], dim=-1), factor
    )
    inv_before, inv_after, inv_rhs = solved.split([dim, dim, 1], dim=-1)
    after_t = after.transpose(-1, -2)
    # odd block j = 2k + 1 sits between the even blocks k and k + 1
    new_diag = diag[:, 1::2] - after_t[:, :-1] @ inv_after[:, :-1] - before[:, 1:] @ inv_before[:, 1:]
    new_rhs = rhs[:, 1::2, :, None] - after_t[:, :-1] @ inv_rhs[:, :-1] - before[:, 1:] @ inv_rhs[:, 1:]
    new_off = -(before[:, 1:-1] @ inv_after[:, 1:-1])
    x_odd, ok = _cyclic_reduction(new_diag, new_off, new_rhs.squeeze(-1))
    col = torch.cat([rhs.new_zeros((p, 1, dim)), x_odd, rhs.new_zeros((p, 1, dim))], dim=1)
    col = col.unsqueeze(-1)
    x_even = (inv_rhs - inv_before @ col[:, :-1] - inv_after @ col[:, 1:]).squeeze(-1)
    pairs = torch.stack([x_even[:, :-1], x_odd], dim=2).reshape(p, n - 1, dim)
    return torch.cat([pairs, x_even[:, -1:]], dim=1), ok & good.all(-1)




def _dense_block_solve(diag, off, rhs):
    """Dense batched Cholesky solve of a block tridiagonal system."""
    p, n, dim = rhs.shape
    size = n * dim
    dense = diag.new_zeros((p, n, dim, n, dim))
    idx = torch.arange(n, device=diag.device)
    dense[:, idx, :, idx, :] = diag.transpose(0, 1)
    if n > 1:
        dense[:, idx[:-1], :, idx[1:], :] = off.transpose(0, 1)
        dense[:, idx[1:], :, idx[:-1], :] = off.transpose(-1, -2).transpose(0, 1)
    dense = dense.reshape(p, size, size)
    factor, ok = _cholesky_or_identity(dense)
    x = torch.cholesky_solve(rhs.reshape(p, size, 1), factor)
    return x.reshape(p, n, dim), ok


def _decode(space, z):
    """Decode ``[..., d]`` work points to ``[..., D]``."""
    flat = z.reshape(-1, z.shape[-1])
    out = space.flat_decoder(flat)
    return out.reshape(*z.shape[:-1], out.shape[-1])


def _energy_and_chords(decoded):
    """Discrete energy and chord lengths of decoded paths ``[p, T+1, D]``."""
    n_segments = decoded.shape[1] - 1
    seg = torch.linalg.vector_norm(decoded[:, 1:] - decoded[:, :-1], dim=-1)
    return 0.5 * n_segments * (seg**2).sum(-1), seg.sum(-1)


def minimize_path_energy(
    space, nodes, tol, max_iter, damping=1e-6, max_attempts=12, hessian="auto", newton=None
):
    """Damped Newton on the discrete path energy, batched over paths.

    The Hessian of ``E`` is block tridiagonal: ``T (2 G_i + H_i)`` on the
    diagonal, where ``H_i`` is the Hessian of ``z -> <s_i, g(z)>`` with
    ``s_i = 2 g_i - g_{i-1} - g_{i+1}``, and ``-T J_i^T J_{i+1}`` beside it.
    The ``H_i`` term matters: without it (Gauss-Newton) the reparametrisation
    modes of the path converge only linearly, at a rate close to
    ``K L^2 / pi^2`` for curvature ``K`` and length ``L``. Levenberg-Marquardt
    damping keeps every accepted step a decrease of ``E``.

    Parameters
    ----------
    space : GeneratedManifold
    nodes : torch.Tensor, shape=[p, T + 1, d]
        Initial paths, in the working dtype and device; the ends stay fixed.
    tol : float
        Stop when no interior node moves by more than ``tol`` times the mean
        decoded segment length in one step.
    max_iter : int
        Iteration cap (Hessian evaluations).
    damping : float
        Initial Levenberg-Marquardt damping, relative to the diagonal.
    max_attempts : int
        Damped steps tried per iteration before giving up on a path.
    hessian : {"auto", "newton", "gauss-newton"}
        ``"newton"`` includes the ``H_i`` term; ``"gauss-newton"`` leaves it
        out (iterations about half as costly, but only linear convergence);
        ``"auto"`` starts with Gauss-Newton and switches a path to Newton as
        soon as a step shrinks the node moves by less than a factor 10 (the
        break-even point: a Newton iteration costs about two Gauss-Newton ones).
    newton : torch.Tensor of bool, shape=[p], optional
        With ``"auto"``: the paths that start with Newton steps.

    Returns
    -------
    nodes : torch.Tensor, shape=[p, T + 1, d]
    iterations : torch.Tensor of int64, shape=[p]
    converged : torch.Tensor of bool, shape=[p]
    newton : torch.Tensor of bool, shape=[p]
        The paths that used Newton steps last.
    """
    n_paths, n_nodes, dim = nodes.shape
    n_segments = n_nodes - 1
    nodes = nodes.clone()
    iterations = torch.zeros(n_paths, dtype=torch.int64, device=nodes.device)
    converged = torch.zeros(n_paths, dtype=torch.bool, device=nodes.device)
    use_newton = torch.full((n_paths,), hessian == "newton", device=nodes.device)
    if hessian == "auto" and newton is not None:
        use_newton = newton.clone()
    if n_segments < 2 or n_paths == 0:
        converged[:] = True
        return nodes, iterations, converged, use_newton
    lam = torch.full((n_paths,), float(damping), dtype=nodes.dtype, device=nodes.device)
    g_start = _decode(space, nodes[:, 0])
    g_end = _decode(space, nodes[:, -1])
    eye = torch.eye(dim, dtype=nodes.dtype, device=nodes.device)
    chunk = space._chunk(space.embedding_dim * dim)
    eps = torch.finfo(nodes.dtype).eps
    prev_move = torch.full((n_paths,), float("inf"), dtype=nodes.dtype, device=nodes.device)
    for _ in range(max_iter):
        active = (~converged).nonzero().squeeze(-1)
        if active.numel() == 0:
            break
        interior = nodes[active, 1:-1]
        n_act = active.numel()
        flat = interior.reshape(-1, dim)
        g_int, jac = autodiff.value_and_jacobian(
            space.flat_decoder, flat, chunk_size=chunk, out_dim=space.embedding_dim
        )
        g_int = g_int.reshape(n_act, n_segments - 1, -1)
        decoded = torch.cat([g_start[active, None], g_int, g_end[active, None]], dim=1)
        energy, chords = _energy_and_chords(decoded)
        second_diff = 2 * g_int - decoded[:, :-2] - decoded[:, 2:]
        jac = jac.reshape(n_act, n_segments - 1, -1, dim)
        jac_t = jac.transpose(-1, -2)
        grad = n_segments * (jac_t @ second_diff[..., None]).squeeze(-1)
        diag = 2 * n_segments * (jac_t @ jac)
        rows = use_newton[active].nonzero().squeeze(-1)
        if rows.numel():
            curv = autodiff.weighted_hessian(
                space.flat_decoder,
                interior[rows].reshape(-1, dim),
                second_diff[rows].reshape(-1, second_diff.shape[-1]),
                chunk_size=chunk,
            )
            diag[rows] = diag[rows] + n_segments * curv.reshape(-1, n_segments - 1, dim, dim)
        off = -n_segments * (jac_t[:, :-1] @ jac[:, 1:])
        scale = torch.diagonal(diag, dim1=-2, dim2=-1).abs().mean(dim=(-1, -2))
        seg_len = chords / n_segments
        settled = torch.zeros(n_act, dtype=torch.bool, device=nodes.device)
        for _attempt in range(max_attempts):
            idx = (~settled).nonzero().squeeze(-1)
            if idx.numel() == 0:
                break
            damp = (lam[active[idx]] * scale[idx])[:, None, None, None] * eye
            step, pos_def = block_tridiagonal_solve(diag[idx] + damp, off[idx], -grad[idx])
            candidate = interior[idx] + step
            g_cand = _decode(space, candidate)
            dec_cand = torch.cat(
                [g_start[active[idx], None], g_cand, g_end[active[idx], None]], dim=1
            )
            energy_cand, _ = _energy_and_chords(dec_cand)
            move = torch.linalg.vector_norm(g_cand - g_int[idx], dim=-1).amax(-1)
            # Converged: the nodes barely move, relative to the segments, or
            # by no more than the rounding of the decoded values (float32
            # decoders on short paths reach that floor first).
            noise = 64 * eps * decoded[idx].abs().amax(dim=(-1, -2))
            small = pos_def & (move <= torch.maximum(tol * seg_len[idx], noise))
            ok = pos_def & (energy_cand <= energy[idx] * (1 + 8 * eps))
            # An accepted step that does not lower the energy beyond rounding
            # means the working precision is exhausted.
            stalled = ok & (energy[idx] - energy_cand <= 8 * eps * energy[idx])
            small = small | stalled
            nodes[active[idx[ok]], 1:-1] = candidate[ok]
            if hessian == "auto":
                moved = active[idx[ok]]
                use_newton[moved] |= move[ok] > 0.1 * prev_move[moved]
                prev_move[moved] = move[ok]
            lam[active[idx[ok]]] = torch.clamp(lam[active[idx[ok]]] / 10, min=1e-12)
            lam[active[idx[~ok]]] = lam[active[idx[~ok]]] * 10
            settled[idx[ok | small]] = True
            converged[active[idx[small]]] = True
        iterations[active] += 1
    return nodes, iterations, converged, use_newton


def _initial_velocity(space, nodes):
    """Initial velocity of a discrete geodesic from its discrete momentum.

    The boundary term of the discrete energy gives the momentum
    ``p_0 = T J_0^T (g(z_1) - g(z_0))``, which equals ``G v`` up to
    ``O(1 / T^2)`` (the first-order terms cancel by the geodesic equation),
    whereas ``T (z_1 - z_0)`` is only first order. Returns
    ``G_0^{-1} p_0``.
    """
    n_segments = nodes.shape[1] - 1
    z0 = nodes[:, 0]
    g0, jac = autodiff.value_and_jacobian(space.flat_decoder, z0)
    chord = _decode(space, nodes[:, 1]) - g0
    return pullback_solve(jac, n_segments * chord)


def _refine_nodes(nodes):
    """Insert latent midpoints: a path with twice as many segments."""
    mids = 0.5 * (nodes[:, 1:] + nodes[:, :-1])
    fine = torch.stack([nodes[:, :-1], mids], dim=2).reshape(nodes.shape[0], -1, nodes.shape[-1])
    return torch.cat([fine, nodes[:, -1:]], dim=1)


class DiscreteEnergyLogSolver(LogSolver):
    """Log map by minimising the discrete path energy (Shao et al. 2017).

    Parameters
    ----------
    space : GeneratedManifold
    n_nodes : int
        Number of segments ``T`` of the coarse discrete path (at least 2).
        With ``extrapolate``, a second path of ``2 T`` segments is solved.
    tol : float, optional
        Relative tolerance on node updates. Default: ``1e-10`` for float64
        decoders, ``2e-5`` for float32 ones.
    max_iter : int
        Cap on Levenberg-Marquardt iterations per level.
    extrapolate : bool
        Richardson extrapolation of lengths and initial velocities from
        ``T`` and ``2 T`` segments (error ``O(1/T^4)`` instead of
        ``O(1/T^2)``).
    max_pairs : int, optional
        Pairs solved together; larger batches are split. Default: chosen so
        that one batch's Jacobians hold about ``space.max_elements`` numbers.
    method : {"auto", "newton", "gauss-newton"}
        ``"newton"`` uses the exact Hessian of the path energy and converges
        in a handful of iterations on curved manifolds; ``"gauss-newton"``
        drops its second-derivative term: iterations about half as costly,
        but linear convergence at a rate near ``K L^2 / pi^2`` (curvature
        ``K``, length ``L``), fine only where the latent space is nearly
        flat. ``"auto"`` (default) starts each path with Gauss-Newton and
        switches it to Newton when its convergence is slow.
    """

    def __init__(
        self,
        space,
        n_nodes=16,
        tol=None,
        max_iter=50,
        extrapolate=True,
        max_pairs=None,
        method="auto",
    ):
        super().__init__(solves_bvp=True)
        self.method = method
        self._space = space
        self.n_nodes = n_nodes
        self.tol = tol
        self.max_iter = max_iter
        self.extrapolate = extrapolate
        self.max_pairs = max_pairs

    def _check_settings(self):
        n_nodes = check_positive_int(self.n_nodes, "n_nodes")
        if n_nodes < 2:
            raise ValueError(f"`n_nodes` must be at least 2, got {n_nodes}.")
        check_positive_int(self.max_iter, "max_iter")
        if self.tol is not None and not (0 < float(self.tol) < 1):
            raise ValueError(f"`tol` must be in (0, 1), got {self.tol!r}.")
        check_positive_int(self.max_pairs, "max_pairs", allow_none=True)
        if self.method not in ("auto", "newton", "gauss-newton"):
            raise ValueError(
                "`method` must be 'auto', 'newton' or 'gauss-newton', got "
                f"{self.method!r}."
            )

    def solve(self, point, base_point, warn=True):
        """Connecting geodesics from ``base_point`` to ``point``, with diagnostics.

        Parameters
        ----------
        point : array-like, shape=[..., d]
            End points.
        base_point : array-like, shape=[..., d]
            Start points.
        warn : bool
            Emit a :class:`ConvergenceWarning` naming the pairs that did not
            converge.

        Returns
        -------
        result : GeodesicResult
            In the caller's dtype and device.
        """
        self._check_settings()
        space = self._space
        (z_end, z_start), batch, like = space.prepare(point=point, base_point=base_point)
        with torch.no_grad():
            result = self._solve_flat(z_start, z_end)
        if warn:
            _warn_unconverged(result.converged, batch, "log")

        def to_caller(tensor):
            if tensor.is_floating_point():
                return space.finish(tensor, batch, like)
            return tensor.reshape(tuple(batch) + tuple(tensor.shape[1:])).to(like.device)

        return result.map(to_caller)

    def _solve_flat(self, z_start, z_end):
        """Solve on flat work tensors ``[p, d]``; returns a GeodesicResult."""
        space = self._space
        n_pairs, dim = z_start.shape
        n_nodes = self.n_nodes
        fine_nodes = 2 * n_nodes if self.extrapolate else n_nodes
        max_pairs = self.max_pairs or max(
            1, space.max_elements // max(1, fine_nodes * space.embedding_dim * dim)
        )
        if n_pairs > max_pairs:
            parts = [
                self._solve_flat(z_start[i : i + max_pairs], z_end[i : i + max_pairs])
                for i in range(0, n_pairs, max_pairs)
            ]
            return GeodesicResult(
                **{
                    f.name: torch.cat([getattr(p, f.name) for p in parts])
                    for f in dataclasses.fields(GeodesicResult)
                }
            )
        tol = self.tol if self.tol is not None else _default_tol(z_start.dtype)
        same = (z_start == z_end).all(-1)
        t = torch.linspace(0, 1, n_nodes + 1, dtype=z_start.dtype, device=z_start.device)
        nodes = z_start[:, None] + t[None, :, None] * (z_end - z_start)[:, None]
        todo = (~same).nonzero().squeeze(-1)
        iterations = torch.zeros(n_pairs, dtype=torch.int64, device=z_start.device)
        converged = torch.ones(n_pairs, dtype=torch.bool, device=z_start.device)

        if todo.numel() == 0:  # every pair is a single point
            zeros = z_start.new_zeros(n_pairs)
            return GeodesicResult(
                path=z_start[:, None].expand(n_pairs, fine_nodes + 1, dim).clone(),
                log=torch.zeros_like(z_start),
                length=zeros,
                chord_length=zeros.clone(),
                energy=zeros.clone(),
                iterations=iterations,
                converged=converged,
            )
        coarse, its, conv, newton = minimize_path_energy(
            space, nodes[todo], tol, self.max_iter, hessian=self.method
        )
        iterations[todo] += its
        converged[todo] &= conv
        velocity_c = _initial_velocity(space, coarse)
        _, chord_c = _energy_and_chords(_decode(space, coarse))
        if self.extrapolate:
            fine, its, conv, _ = minimize_path_energy(
                space,
                _refine_nodes(coarse),
                tol,
                self.max_iter,
                hessian=self.method,
                newton=newton,
            )
            iterations[todo] += its
            converged[todo] &= conv
            velocity_f = _initial_velocity(space, fine)
            energy_f, chord_f = _energy_and_chords(_decode(space, fine))
            length = (4 * chord_f - chord_c) / 3
            velocity = (4 * velocity_f - velocity_c) / 3
            path_t, energy_t, chord_t = fine, energy_f, chord_f
        else:
            energy_c, _ = _energy_and_chords(_decode(space, coarse))
            length, velocity = chord_c, velocity_c
            path_t, energy_t, chord_t = coarse, energy_c, chord_c
        # Rescale the velocity so that its metric norm is the distance.
        _, pushed = autodiff.pushforward(space.flat_decoder, z_start[todo], velocity)
        speed = torch.linalg.vector_norm(pushed, dim=-1)
        velocity = velocity * (length / speed.clamp_min(torch.finfo(speed.dtype).tiny))[:, None]

        n_path = path_t.shape[1]
        path = z_start[:, None].expand(n_pairs, n_path, dim).clone()
        path[todo] = path_t
        log = torch.zeros_like(z_start)
        log[todo] = velocity
        zeros = z_start.new_zeros(n_pairs)
        out_length, out_energy, out_chord = zeros.clone(), zeros.clone(), zeros.clone()
        out_length[todo], out_energy[todo], out_chord[todo] = length, energy_t, chord_t
        return GeodesicResult(
            path=path,
            log=log,
            length=out_length,
            chord_length=out_chord,
            energy=out_energy,
            iterations=iterations,
            converged=converged,
        )

    def log(self, point, base_point):
        """Riemannian logarithm of ``point`` at ``base_point``.

        Parameters
        ----------
        point : array-like, shape=[..., d]
        base_point : array-like, shape=[..., d]

        Returns
        -------
        tangent_vec : torch.Tensor, shape=[..., d]
        """
        return self.solve(point, base_point).log

    def geodesic_bvp(self, point, base_point):
        """Geodesic from ``base_point`` to ``point``, as ``t -> Exp(t Log)``."""
        log = self.log(point, base_point)
        return self._space.metric.exp_solver.geodesic_ivp(log, base_point)


def _warn_unconverged(converged, batch_shape, what):
    failed = (~converged.reshape(-1)).nonzero().squeeze(-1)
    if failed.numel():
        shown = failed[:10].tolist()
        more = "" if failed.numel() <= 10 else f" (and {failed.numel() - 10} more)"
        warnings.warn(
            f"{what}: {failed.numel()} of {converged.numel()} geodesic solves did not "
            f"converge (flat indices over batch shape {tuple(batch_shape)}: "
            f"{shown}{more}). Increase max_iter or n_nodes, or check that the "
            "points lie in the region the decoder was trained on.",
            ConvergenceWarning,
            stacklevel=4,
        )


_DOPRI_C = (0.0, 1 / 5, 3 / 10, 4 / 5, 8 / 9, 1.0)
_DOPRI_A = (
    (),
    (1 / 5,),
    (3 / 40, 9 / 40),
    (44 / 45, -56 / 15, 32 / 9),
    (19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729),
    (9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656),
)
_DOPRI_B = (35 / 384, 0.0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84)
_DOPRI_E = (  # fifth-order minus embedded fourth-order weights (7th stage: -1/40)
    35 / 384 - 5179 / 57600,
    0.0,
    500 / 1113 - 7571 / 16695,
    125 / 192 - 393 / 640,
    -2187 / 6784 + 92097 / 339200,
    11 / 84 - 187 / 2100,
)


class GeodesicODEExpSolver(ExpSolver):
    """Exp map by integrating the geodesic ODE, batched.

    Parameters
    ----------
    space : GeneratedManifold
    method : {"dopri5", "rk4", "projection"}
        ``"dopri5"`` (default): adaptive Dormand-Prince 5(4) on
        ``z'' = -G^{-1} J^T d^2 g[z', z']``, one step size for the whole batch,
        local error below ``atol + rtol |y|`` in every trajectory.
        ``"rk4"``: classical Runge-Kutta with ``n_steps`` fixed steps (error
        ``O(n_steps^-4)``). ``"projection"``: Shao et al.'s scheme,
        ``z_{k+1} = z_k + v_k / n``, then ``v_{k+1} = J_{k+1}^+ J_k v_k``
        rescaled to the norm of ``J_k v_k`` (first order, no second
        derivatives), with ``n_steps`` steps.
    n_steps : int
        Steps of the fixed-step methods ``"rk4"`` and ``"projection"``.
    rtol, atol : float, optional
        Local error tolerances of ``"dopri5"``. Default: ``1e-10`` and
        ``1e-11`` for float64 decoders, ``1e-6`` and ``1e-7`` for float32
        ones.
    max_steps : int
        Cap on the accepted steps of ``"dopri5"``; a
        :class:`ConvergenceWarning` is emitted when it is reached.
    """

    def __init__(
        self, space, n_steps=100, method="dopri5", rtol=None, atol=None, max_steps=1000
    ):
        super().__init__(solves_ivp=True)
        self._space = space
        self.n_steps = n_steps
        self.method = method
        self.rtol = rtol
        self.atol = atol
        self.max_steps = max_steps

    def _check_settings(self):
        check_positive_int(self.n_steps, "n_steps")
        check_positive_int(self.max_steps, "max_steps")
        if self.method not in ("dopri5", "rk4", "projection"):
            raise ValueError(
                "`method` must be 'dopri5', 'rk4' or 'projection', got "
                f"{self.method!r}."
            )

    def integrate(self, z, v):
        """Integrate on flat work tensors ``[n, d]`` over ``t in [0, 1]``.

        Returns
        -------
        z, v : torch.Tensor, shape=[n, d]
            End points and end velocities.
        """
        if self.method == "projection":
            return _projection_shooting(self._space, z, v, self.n_steps)
        if self.method == "rk4":
            return self._rk4(z, v)
        return self._dopri5(z, v)

    def _field(self, y):
        from geomstats_gen.metric import geodesic_acceleration

        dim = y.shape[-1] // 2
        z, v = y[:, :dim], y[:, dim:]
        return torch.cat([v, geodesic_acceleration(self._space, z, v)], dim=-1)

    def _rk4(self, z, v):
        h = 1.0 / self.n_steps
        y = torch.cat([z, v], dim=-1)
        for _ in range(self.n_steps):
            k1 = self._field(y)
            k2 = self._field(y + 0.5 * h * k1)
            k3 = self._field(y + 0.5 * h * k2)
            k4 = self._field(y + h * k3)
            y = y + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        dim = z.shape[-1]
        return y[:, :dim], y[:, dim:]

    def _dopri5(self, z, v):
        dim = z.shape[-1]
        y = torch.cat([z, v], dim=-1)
        if y.shape[0] == 0:
            return z, v
        f64 = y.dtype == torch.float64
        rtol = self.rtol if self.rtol is not None else (1e-10 if f64 else 1e-6)
        atol = self.atol if self.atol is not None else (1e-11 if f64 else 1e-7)
        t, h = 0.0, 0.25
        k1 = self._field(y)
        accepted = 0
        while t < 1.0:
            if accepted >= self.max_steps:
                warnings.warn(
                    f"exp: the adaptive integrator reached max_steps={self.max_steps} "
                    f"steps at t={t:.3g} < 1; the result is inaccurate. Increase "
                    "max_steps or rtol, or shorten the tangent vectors.",
                    ConvergenceWarning,
                    stacklevel=4,
                )
                break
            h = min(h, 1.0 - t)
            ks = [k1]
            for a_row in _DOPRI_A[1:]:
                incr = sum(a * k for a, k in zip(a_row, ks) if a != 0.0)
                ks.append(self._field(y + h * incr))
            y_new = y + h * sum(b * k for b, k in zip(_DOPRI_B, ks) if b != 0.0)
            k7 = self._field(y_new)
            err = h * (sum(e * k for e, k in zip(_DOPRI_E, ks) if e != 0.0) - k7 / 40)
            scale = atol + rtol * torch.maximum(y.abs(), y_new.abs())
            ratio = float((err / scale).abs().max().detach())
            if not math.isfinite(ratio):
                ratio = float("inf")
            if ratio <= 1.0:
                t += h
                y, k1 = y_new, k7
                accepted += 1
            factor = 5.0 if ratio == 0 else min(5.0, max(0.2, 0.9 * ratio ** (-0.2)))
            h = h * factor
            if h < 1e-12:
                raise FloatingPointError(
                    "exp: the adaptive step size underflowed; the geodesic ODE is "
                    "singular along this path (the decoder's Jacobian may lose rank)."
                )
        return y[:, :dim], y[:, dim:]

    def exp(self, tangent_vec, base_point):
        """Riemannian exponential of ``tangent_vec`` at ``base_point``.

        Parameters
        ----------
        tangent_vec : array-like, shape=[..., d]
        base_point : array-like, shape=[..., d]

        Returns
        -------
        end_point : torch.Tensor, shape=[..., d]
        """
        self._check_settings()
        space = self._space
        (v, z), batch, like = space.prepare(tangent_vec=tangent_vec, base_point=base_point)
        with space.grad_mode(tangent_vec, base_point):
            end, _ = self.integrate(z, v)
        return space.finish(end, batch, like)

    def geodesic_ivp(self, tangent_vec, base_point):
        """Geodesic ``t -> Exp_{base_point}(t tangent_vec)``.

        Parameters
        ----------
        tangent_vec : array-like, shape=[..., d]
        base_point : array-like, shape=[..., d]

        Returns
        -------
        path : callable
            ``path(t)`` for ``t`` of shape ``[n_t]`` (or a scalar) returns
            points of shape ``[..., n_t, d]``; all times are integrated in one
            batch.
        """
        self._check_settings()
        space = self._space
        (v, z), batch, like = space.prepare(tangent_vec=tangent_vec, base_point=base_point)

        def path(t):
            t = torch.as_tensor(t, dtype=v.dtype, device=v.device).reshape(-1)
            if not bool(torch.isfinite(t).all()):
                raise ValueError("`t` contains non-finite values (NaN or inf).")
            n_t = t.shape[0]
            vt = (t[None, :, None] * v[:, None]).reshape(-1, v.shape[-1])
            zt = z[:, None].expand(-1, n_t, -1).reshape(-1, z.shape[-1])
            with torch.no_grad():
                end, _ = self.integrate(zt, vt)
            end = end.reshape(z.shape[0], n_t, z.shape[-1])
            return space.finish(end, batch, like)

        return path


def _projection_shooting(space, z, v, n_steps):
    """Shao et al.'s approximate exp: step, then project the velocity."""
    chunk = space._chunk(space.embedding_dim * z.shape[-1])
    jac = autodiff.jacobian(space.flat_decoder, z, chunk_size=chunk)
    for _ in range(n_steps):
        z = z + v / n_steps
        jac_next = autodiff.jacobian(space.flat_decoder, z, chunk_size=chunk)
        v = project_tangent(jac, jac_next, v)
        jac = jac_next
    return z, v


__all__ = [
    "ConvergenceWarning",
    "DiscreteEnergyLogSolver",
    "GeodesicODEExpSolver",
    "GeodesicResult",
    "block_tridiagonal_solve",
    "minimize_path_energy",
]
