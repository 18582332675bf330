"""Small batched linear algebra on decoder Jacobians.

Solves with the metric ``G = J^T J`` use a Cholesky factorisation of ``G``
formed in float64 (whatever the decoder's dtype), so a float32 decoder does
not lose the accuracy that squaring the condition number of ``J`` would
cost. (A thin QR of ``J`` would avoid the squaring, but torch's batched QR
has a fixed cost of several milliseconds per call on CPU, which dominates
the geodesic integrators.) Where ``G`` is singular, a pseudo-inverse is used.

It also holds the block-tridiagonal solves of the log map's Newton steps
(:func:`block_tridiagonal_solve`).
"""

import math

import torch

_LOW_PRECISION = (torch.float16, torch.bfloat16, torch.float32)


def _solve_dtype(dtype):
    return torch.float64 if dtype in _LOW_PRECISION else dtype


def _as(tensor, dtype):
    """``tensor.to(dtype)``, without a dispatch when it already has it (the hot paths)."""
    return tensor if tensor.dtype == dtype else tensor.to(dtype)


def _gram(jac):
    jac = _as(jac, _solve_dtype(jac.dtype))
    return jac, jac.transpose(-1, -2) @ jac


def cholesky_or_identity(matrix):
    """Batched Cholesky factors, the identity where a matrix is not positive definite.

    Parameters
    ----------
    matrix : torch.Tensor, shape=[..., k, k]

    Returns
    -------
    factor : torch.Tensor, shape=[..., k, k]
    positive_definite : torch.Tensor of bool, shape=[...]
    """
    factor, info = torch.linalg.cholesky_ex(matrix)
    good = info == 0
    eye = torch.eye(matrix.shape[-1], dtype=matrix.dtype, device=matrix.device)
    return torch.where(good[..., None, None], factor, eye), good


def _cholesky_solve(gram, rhs):
    """``gram^{-1} rhs`` by Cholesky, by pseudo-inverse where ``gram`` is singular."""
    factor, info = torch.linalg.cholesky_ex(gram)
    if not bool(info.any()):  # the common case (every info 0), without masks
        return torch.cholesky_solve(rhs, factor)
    bad = info != 0
    out = torch.cholesky_solve(rhs, cholesky_or_identity(gram)[0])  # rare: factor again
    # singular: pseudo-inverse; non-finite (a decoder that overflowed): NaN
    # answers, never an eigen-solver failure on NaN input
    finite = torch.isfinite(gram).all(dim=(-1, -2))
    safe = torch.where(finite[..., None, None], gram, torch.zeros_like(gram))
    pinv = torch.linalg.pinv(safe, hermitian=True) @ rhs
    pinv = torch.where(finite[..., None, None], pinv, torch.full_like(pinv, float("nan")))
    return torch.where(bad[..., None, None], pinv, out)


def pullback_solve(jac, rhs):
    """Least-squares pull-back ``G^{-1} J^T rhs`` of ambient vectors.

    Parameters
    ----------
    jac : torch.Tensor, shape=[n, D, d]
        Jacobians ``J``.
    rhs : torch.Tensor, shape=[n, D] or [n, D, k]
        Ambient vectors.

    Returns
    -------
    coords : torch.Tensor, shape=[n, d] or [n, d, k]
        The minimisers of ``||J y - rhs||``, that is ``G^{-1} J^T rhs``, in
        the dtype of ``jac``.
    """
    vector = rhs.ndim == jac.ndim - 1
    if vector:
        rhs = rhs.unsqueeze(-1)
    jac_w, gram = _gram(jac)
    coords = _as(_cholesky_solve(gram, jac_w.transpose(-1, -2) @ _as(rhs, jac_w.dtype)), jac.dtype)
    return coords.squeeze(-1) if vector else coords


def project_tangent(jac_from, jac_to, vec):
    """Shao et al.'s projection step: move ``vec`` to the next tangent space.

    Push ``vec`` forward with ``jac_from``, pull it back with ``jac_to``
    (orthogonal projection onto the new tangent space), and rescale it to
    its previous norm.

    Parameters
    ----------
    jac_from, jac_to : torch.Tensor, shape=[n, D, d]
    vec : torch.Tensor, shape=[n, d]

    Returns
    -------
    moved : torch.Tensor, shape=[n, d]
    """
    pushed = (jac_from @ vec[..., None]).squeeze(-1)
    moved = pullback_solve(jac_to, pushed)
    new_norm = torch.linalg.vector_norm((jac_to @ moved[..., None]).squeeze(-1), dim=-1)
    old_norm = torch.linalg.vector_norm(pushed, dim=-1)
    return moved * (old_norm / new_norm.clamp_min(torch.finfo(moved.dtype).tiny))[:, None]


def metric_from_jacobian(jac):
    """Pullback metric matrix ``G = J^T J``.

    Parameters
    ----------
    jac : torch.Tensor, shape=[n, D, d]

    Returns
    -------
    metric : torch.Tensor, shape=[n, d, d]
    """
    return jac.transpose(-1, -2) @ jac


def inverse_metric_from_jacobian(jac):
    """Cometric matrix ``G^{-1}``.

    Parameters
    ----------
    jac : torch.Tensor, shape=[n, D, d]

    Returns
    -------
    cometric : torch.Tensor, shape=[n, d, d]
    """
    _, gram = _gram(jac)
    eye = torch.eye(gram.shape[-1], dtype=gram.dtype, device=gram.device).expand_as(gram)
    return _cholesky_solve(gram, eye).to(jac.dtype)


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
#: larger ones. The thresholds are the crossovers of the three schemes timed
#: on one CPU thread (dense wins for a few short paths, cyclic reduction for
#: small batches of long paths, Thomas for large batches or large blocks):
#: over 200 shapes (1-256 paths, 7-127 blocks of 2-10, float32 and float64)
#: the scheme they pick takes 1.03 times the fastest one's time on average
#: and at most 1.65 times.
DENSE_SOLVE_MAX = 320
DENSE_SOLVE_WORK = 3e7
CYCLIC_REDUCTION_WORK = 16384


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
        factor, good = cholesky_or_identity(schur)
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
    factor, good = cholesky_or_identity(diag[:, 0::2])
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
    dense = diag.new_zeros((p, size, size))
    # The blocks on, above and below the diagonal as strided views of the
    # dense matrix (block i, j starts at row i d, column j d): three copies.
    def blocks(count, offset):
        stride = (size * size, size * dim + dim, size, 1)
        return dense.as_strided((p, count, dim, dim), stride, dense.storage_offset() + offset)

    blocks(n, 0).copy_(diag)
    if n > 1:
        blocks(n - 1, dim).copy_(off)
        blocks(n - 1, size * dim).copy_(off.transpose(-1, -2))
    # No identity in place of a failed factor (a copy of the whole matrix):
    # the solution of a system flagged not positive definite is meaningless
    # anyway.
    factor, info = torch.linalg.cholesky_ex(dense)
    x = torch.cholesky_solve(rhs.reshape(p, size, 1), factor)
    return x.reshape(p, n, dim), info == 0


def upper_pairs(n, device=None):
    """Row and column indices of the pairs ``i < j`` of ``n`` items.

    Returns
    -------
    rows, cols : torch.Tensor of int64, shape=[n (n - 1) / 2]
    """
    return torch.triu_indices(n, n, offset=1, device=device)


def symmetric_from_upper(upper, rows, cols, n):
    """The symmetric ``[n, n]`` matrix with zero diagonal whose upper pairs are ``upper``.

    Parameters
    ----------
    upper : torch.Tensor, shape=[m]
        Values of the pairs ``(rows[k], cols[k])`` (see :func:`upper_pairs`).
    rows, cols : torch.Tensor of int64, shape=[m]
    n : int

    Returns
    -------
    matrix : torch.Tensor, shape=[n, n]
    """
    out = upper.new_zeros((n, n))
    out[rows, cols] = upper
    out[cols, rows] = upper
    return out
