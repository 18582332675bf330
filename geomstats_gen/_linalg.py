"""Small batched linear algebra on decoder Jacobians.

Solves with the metric ``G = J^T J`` go through a thin QR factorisation of
``J`` rather than through ``G`` itself, so their accuracy degrades with the
condition number of ``J``, not with its square.
"""

import torch


def pullback_solve(jac, rhs):
    """Least-squares pull-back ``G^{-1} J^T rhs`` of ambient vectors.

    Parameters
    ----------
    jac : torch.Tensor, shape=[n, D, d]
        Jacobians ``J`` (full column rank).
    rhs : torch.Tensor, shape=[n, D] or [n, D, k]
        Ambient vectors.

    Returns
    -------
    coords : torch.Tensor, shape=[n, d] or [n, d, k]
        The minimisers of ``||J y - rhs||``, that is ``G^{-1} J^T rhs``.
    """
    vector = rhs.ndim == jac.ndim - 1
    if vector:
        rhs = rhs.unsqueeze(-1)
    q, r = torch.linalg.qr(jac, mode="reduced")
    coords = torch.linalg.solve_triangular(r, q.transpose(-1, -2) @ rhs, upper=True)
    return coords.squeeze(-1) if vector else coords


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
    """Cometric matrix ``G^{-1} = R^{-1} R^{-T}`` from a thin QR of ``J``.

    Parameters
    ----------
    jac : torch.Tensor, shape=[n, D, d]

    Returns
    -------
    cometric : torch.Tensor, shape=[n, d, d]
    """
    r = torch.linalg.qr(jac, mode="r")[1]
    eye = torch.eye(r.shape[-1], dtype=r.dtype, device=r.device).expand_as(r)
    r_inv = torch.linalg.solve_triangular(r, eye, upper=True)
    return r_inv @ r_inv.transpose(-1, -2)
