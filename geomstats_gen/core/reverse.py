"""Derivatives of a decoder by reverse passes only (no ``torch.func``).

On CPU, ``torch.func``'s forward-mode transforms run Python decompositions
for elementwise operations: about a millisecond per call, and several times
the arithmetic of a small batch. Where no caller's graph has to be extended
(grad mode off, as in every solver), the products the geometry needs are
taken with plain autograd instead, through a dummy output weight ``u``:
``J^T u`` is one reverse pass, and derivatives of it in ``u`` give forward
products (``J v``), second directional derivatives and Hessians. Every
function takes a *flat batch function* ``f``, ``[n, d] -> [n, D]``, acting
on each row independently, and returns detached tensors.
"""

import torch

__all__ = [
    "hessian_by_reverse",
    "jacobian_and_second_by_reverse",
    "jvp_by_double_backward",
    "second_by_reverse",
    "value_and_pullback",
]


def jvp_by_double_backward(f, z, v):
    """``(g(z), J(z) v)`` by two reverse passes: ``J v = d/du (J^T u) . v``.

    Plain autograd, no ``torch.func`` transform: cheaper than
    ``torch.func.jvp`` for small batches (the forward pass is the
    decoder's own, the two reverse passes are torch's C++ engine).
    """
    with torch.inference_mode(False), torch.enable_grad():
        x = z.detach().clone().requires_grad_(True)
        value = f(x)
        if not value.requires_grad:  # g is constant
            return value.detach(), torch.zeros_like(value)
        u = torch.zeros_like(value, requires_grad=True)
        (pulled,) = torch.autograd.grad(value, x, u, create_graph=True)
        if not pulled.requires_grad:  # pragma: no cover - J^T u is always linear in u
            return value.detach(), torch.zeros_like(value)
        (tangent,) = torch.autograd.grad(pulled, u, v.detach())
    return value.detach(), tangent.detach()


def second_by_reverse(f, z, v, w):
    """``(g(z), J v, d^2 g[v, w])`` by reverse passes only (no ``torch.func``).

    With a dummy output weight ``u``: ``p = J^T u`` (one backward with a
    graph), ``r = d/dz <p, v> = (sum_a u_a H_a) v`` (a second), and the
    derivative of ``<r, w>`` in ``u`` is ``d^2 g[v, w]``, the derivative of
    ``<p, v>`` in ``u`` is ``J v``. Plain autograd: several times cheaper
    than forward-over-forward ``torch.func.jvp`` on CPU, whose batching
    rules run Python decompositions.
    """
    with torch.inference_mode(False), torch.enable_grad():
        x = z.detach().clone().requires_grad_(True)
        value = f(x)
        zeros = torch.zeros_like(value)
        if not value.requires_grad:  # g is constant
            return value.detach(), zeros, zeros
        u = torch.zeros_like(value, requires_grad=True)
        (pulled,) = torch.autograd.grad(value, x, u, create_graph=True)
        (first,) = torch.autograd.grad(pulled, u, v, retain_graph=True)
        if not pulled.requires_grad or pulled.grad_fn is None:  # pragma: no cover
            return value.detach(), first.detach(), zeros
        (turned,) = torch.autograd.grad(pulled, x, v, create_graph=True, allow_unused=True)
        if turned is None or not turned.requires_grad:  # g is affine along v
            return value.detach(), first.detach(), zeros
        (second,) = torch.autograd.grad(turned, u, w, allow_unused=True)
    second = zeros if second is None else second.detach()
    return value.detach(), first.detach(), second


def jacobian_and_second_by_reverse(f, z, vs, ws):
    """``J(z)`` and ``d^2 g[v_j, w_j]`` from one graph: one forward pass, three reverse passes.

    The points are copied ``d + k`` times. With a dummy output weight ``u``
    and ``p = J^T u``: the derivative in ``u`` of ``<p, e_i>`` on copy ``i``
    is column ``i`` of ``J``, and on copy ``d + j``, that of
    ``<d/dz <p, v_j>, w_j>`` is ``d^2 g[v_j, w_j]`` (see
    :func:`second_by_reverse`). All come out of one reverse pass in ``u``:
    half the autograd calls of a Jacobian and second derivatives taken
    apart, and less arithmetic than ``d`` forward-mode passes when
    ``d + k`` is small (see :func:`~geomstats_gen.core.autodiff.jacobian_and_seconds`).

    Parameters
    ----------
    f : callable
        Flat batch function, ``[n, d] -> [n, D]``.
    z : torch.Tensor, shape=[n, d]
    vs, ws : torch.Tensor, shape=[k, n, d]

    Returns
    -------
    jac : torch.Tensor, shape=[n, D, d]
    seconds : torch.Tensor, shape=[k, n, D]
    """
    n_points, dim = z.shape
    k = vs.shape[0]
    eye = torch.eye(dim, dtype=z.dtype, device=z.device)
    none = z.new_zeros((dim * n_points, dim))
    columns = torch.cat([eye.repeat_interleave(n_points, dim=0), z.new_zeros((k * n_points, dim))])
    with torch.inference_mode(False), torch.enable_grad():
        x = z.detach().repeat(dim + k, 1).requires_grad_(True)
        value = f(x)
        out = value.shape[-1]
        if not value.requires_grad:  # g is constant
            return z.new_zeros((n_points, out, dim)), z.new_zeros((k, n_points, out))
        u = torch.zeros_like(value, requires_grad=True)
        (pulled,) = torch.autograd.grad(value, x, u, create_graph=True)
        (turned,) = torch.autograd.grad(
            pulled, x, torch.cat([none, vs.detach().reshape(-1, dim)]), create_graph=True,
            allow_unused=True,
        )
        affine = turned is None or not turned.requires_grad
        if affine:
            outputs, weights = (pulled,), (columns,)
        else:
            outputs = (pulled, turned)
            weights = (columns, torch.cat([none, ws.detach().reshape(-1, dim)]))
        (both,) = torch.autograd.grad(outputs, u, weights)
    both = both.detach().reshape(dim + k, n_points, out)
    seconds = torch.zeros_like(both[dim:]) if affine else both[dim:]
    return both[:dim].permute(1, 2, 0), seconds


def value_and_pullback(f, z):
    """Decoded points and the pull-back of output vectors, ``w -> J(z)^T w``.

    One forward pass that keeps its graph; each call of the returned
    function is one reverse pass (the points are independent, so one pass
    serves the whole batch). This is the gradient of ``<w, g(z)>`` at the
    cost of about two decoder passes, against ``d`` forward-mode passes for
    the Jacobian.

    Parameters
    ----------
    f : callable
        Flat batch function, ``[n, d] -> [n, D]``.
    z : torch.Tensor, shape=[n, d]

    Returns
    -------
    value : torch.Tensor, shape=[n, D]
        ``g(z)``, detached.
    pullback : callable
        ``pullback(w)`` for ``w`` of shape ``[n, D]`` returns ``J(z)^T w``,
        shape ``[n, d]``; it can be called once.
    """
    with torch.inference_mode(False), torch.enable_grad():
        x = z.detach().clone().requires_grad_(True)
        value = f(x)

    def pullback(weights):
        if not value.requires_grad:  # g is constant
            return torch.zeros_like(x)
        with torch.inference_mode(False), torch.enable_grad():
            (grad,) = torch.autograd.grad(value, x, grad_outputs=weights, allow_unused=True)
        return torch.zeros_like(x) if grad is None else grad

    return value.detach(), pullback


def hessian_by_reverse(f, z):
    """Hessians ``[n, D, d, d]`` by reverse passes only (see :func:`second_by_reverse`).

    The points are copied ``d`` times; copy ``i`` gives
    ``r = (sum_a u_a H_a) e_i`` for a dummy output weight ``u``, and the
    derivative of ``<r, e_j>`` in ``u`` is column ``(i, j)`` of every
    output's Hessian: ``d`` reverse passes for all ``d^2`` columns.
    """
    n_points, dim = z.shape
    basis = torch.eye(dim, dtype=z.dtype, device=z.device)
    with torch.inference_mode(False), torch.enable_grad():
        x = z.detach().repeat(dim, 1).requires_grad_(True)
        value = f(x)
        zeros = z.new_zeros((dim, n_points, value.shape[-1]))
        cols = [zeros] * dim  # until computed
        if not value.requires_grad:  # g is constant
            return torch.stack(cols, dim=-1).permute(1, 2, 0, 3)
        u = torch.zeros_like(value, requires_grad=True)
        (pulled,) = torch.autograd.grad(value, x, u, create_graph=True)
        directions = basis.repeat_interleave(n_points, dim=0)
        (turned,) = torch.autograd.grad(pulled, x, directions, create_graph=True, allow_unused=True)
        if turned is None or not turned.requires_grad:  # g is affine
            return torch.stack(cols, dim=-1).permute(1, 2, 0, 3)
        for j in range(dim):
            (col,) = torch.autograd.grad(
                turned, u, basis[j].expand(dim * n_points, dim), retain_graph=j < dim - 1,
                allow_unused=True,
            )
            if col is not None:
                cols[j] = col.reshape(dim, n_points, value.shape[-1])
    return torch.stack(cols, dim=-1).permute(1, 2, 0, 3)
