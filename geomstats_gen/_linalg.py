"""Small batched linear algebra on decoder Jacobians.

Solves with the metric ``G = J^T J`` use a Cholesky factorisation of ``G``
formed in float64 (whatever the decoder's dtype), so a float32 decoder does
not lose the accuracy that squaring the condition number of ``J`` would
cost. (A thin QR of ``J`` would avoid the squaring, but torch's batched QR
has a fixed cost of several milliseconds per call on CPU, which dominates
the geodesic integrators.) Where ``G`` is singular, a pseudo-inverse is used.
"""

import torch

_LOW_PRECISION = (torch.float16, torch.bfloat16, torch.float32)


def _solve_dtype(dtype):
    return torch.float64 if dtype in _LOW_PRECISION else dtype


def _gram(jac):
    jac = jac.to(_solve_dtype(jac.dtype))
    return jac, jac.transpose(-1, -2) @ jac


def _cholesky_solve(gram, rhs):
    factor, info = torch.linalg.cholesky_ex(gram)
    out = torch.cholesky_solve(rhs, factor)
    bad = info != 0
    if bool(bad.any()):
        out = torch.where(bad[..., None, None], torch.linalg.pinv(gram, hermitian=True) @ rhs, out)
    return out


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
    coords = _cholesky_solve(gram, jac_w.transpose(-1, -2) @ rhs.to(jac_w.dtype))
    coords = coords.to(jac.dtype)
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
