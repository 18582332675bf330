"""Batched forward-mode derivatives of a decoder.

All functions take a *flat batch function* ``f`` that maps latent points of
shape ``[n, d]`` to flattened outputs of shape ``[n, D]``, acting on each row
independently (a decoder in evaluation mode). Derivatives are computed with
``torch.func.jvp`` (forward mode): since ``D >> d``, one Jacobian costs ``d``
forward passes, whereas reverse mode would cost ``D``. Second derivatives are
forward-over-forward JVPs, except the Hessian of a weighted sum of outputs
(``weighted_hessian``, the Newton term of the log solver), which is a scalar
function's Hessian and costs least by double backward; the full Hessian of
``g`` is only built where it is asked for (``hessian``), never on the
geodesic hot path.

Work is split into chunks of points so that the largest intermediate tensor
holds at most ``max_elements`` numbers (:mod:`~geomstats_gen.core.chunking`).
"""

import torch
from torch.func import jvp, vmap

from geomstats_gen.core.chunking import chunked
from geomstats_gen.core.reverse import (
    hessian_by_reverse,
    jacobian_and_second_by_reverse,
    jvp_by_double_backward,
    second_by_reverse,
)

#: Below this many elements of a Jacobian batch (``n D k`` for ``k``
#: directions), forward-mode products are taken by double backward (see
#: :func:`~geomstats_gen.core.reverse.jvp_by_double_backward`) instead of
#: ``torch.func.jvp``, whose Python decompositions cost about a millisecond
#: per call: the whole cost of one small batch (a single geodesic, an
#: analytic chart).
SMALL_JACOBIAN_ELEMENTS = 2**16


#: Copies of the points (``d`` for the Jacobian, one per second
#: derivative) up to which the one-graph reverse path is taken
#: (see :func:`jacobian_and_seconds`).
FUSED_MAX_COPIES = 4


def _small(z, out_dim, directions):
    """Small enough for double backward, and no caller's graph to extend (grad mode off)."""
    if out_dim is None or z.shape[0] * out_dim * directions > SMALL_JACOBIAN_ELEMENTS:
        return False
    return not torch.is_grad_enabled()


def pushforward(f, z, v, chunk_size=None, out_dim=None):
    """Decoded points and pushed-forward tangent vectors, ``(g(z), J(z) v)``.

    Parameters
    ----------
    f : callable
        Flat batch function, ``[n, d] -> [n, D]``.
    z : torch.Tensor, shape=[n, d]
        Latent points.
    v : torch.Tensor, shape=[n, d]
        Tangent vectors at ``z``.
    chunk_size : int, optional
        Points per chunk.
    out_dim : int, optional
        ``D``, when known: small batches take the double-backward path (see
        :data:`SMALL_JACOBIAN_ELEMENTS`).

    Returns
    -------
    value : torch.Tensor, shape=[n, D]
    tangent : torch.Tensor, shape=[n, D]
    """

    def one_chunk(zz, vv):
        if _small(zz, out_dim, 1):
            return jvp_by_double_backward(f, zz, vv)
        return jvp(f, (zz,), (vv,))

    return chunked(one_chunk, chunk_size, z, v)


def pushforward_many(f, z, vs, chunk_size=None):
    """Push forward several tangent vectors per point, ``J(z) v_k``.

    Parameters
    ----------
    f : callable
        Flat batch function, ``[n, d] -> [n, D]``.
    z : torch.Tensor, shape=[n, d]
    vs : torch.Tensor, shape=[k, n, d]
        ``k`` tangent vectors at each point.
    chunk_size : int, optional

    Returns
    -------
    tangents : torch.Tensor, shape=[k, n, D]
    """

    def one_chunk(zz, vv):
        return vmap(lambda v: jvp(f, (zz,), (v,))[1])(vv.movedim(1, 0)).movedim(0, 1)

    return chunked(one_chunk, chunk_size, z, vs.movedim(0, 1)).movedim(1, 0)


def jacobian(f, z, chunk_size=None, out_dim=None):
    """Jacobian of the decoder at a batch of points.

    Parameters
    ----------
    f : callable
        Flat batch function, ``[n, d] -> [n, D]``.
    z : torch.Tensor, shape=[n, d]
    chunk_size : int, optional
    out_dim : int, optional
        ``D``, when known (see :func:`value_and_jacobian`).

    Returns
    -------
    jac : torch.Tensor, shape=[n, D, d]
        ``jac[n, a, i] = d g_a / d z_i``.
    """
    return value_and_jacobian(f, z, chunk_size=chunk_size, out_dim=out_dim)[1]


def value_and_jacobian(f, z, chunk_size=None, out_dim=None):
    """Decoded points and Jacobian in one pass.

    Parameters
    ----------
    f : callable
        Flat batch function, ``[n, d] -> [n, D]``.
    z : torch.Tensor, shape=[n, d]
    chunk_size : int, optional
    out_dim : int, optional
        ``D``, when known: small batches of small outputs take the cheaper
        double-backward path (see :data:`SMALL_JACOBIAN_ELEMENTS`).

    Returns
    -------
    value : torch.Tensor, shape=[n, D]
    jac : torch.Tensor, shape=[n, D, d]
    """
    dim = z.shape[-1]
    basis = torch.eye(dim, dtype=z.dtype, device=z.device)

    def one_chunk(zz):
        n_points = zz.shape[0]
        if _small(zz, out_dim, dim):
            tangents = basis.repeat_interleave(n_points, dim=0)
            values, cols = jvp_by_double_backward(f, zz.repeat(dim, 1), tangents)
            out = values.shape[-1]
            return values[:n_points], cols.reshape(dim, n_points, out).permute(1, 2, 0)
        directions = basis[:, None, :].expand(dim, n_points, dim)
        values, cols = vmap(lambda e: jvp(f, (zz,), (e,)))(directions)
        return values[0], cols.permute(1, 2, 0)

    return chunked(one_chunk, chunk_size, z)


def jacobian_and_seconds(f, z, vs, ws, chunk_sizes=(None, None, None), out_dim=None):
    """``J(z)`` and ``d^2 g(z)[v_j, w_j]``: what one step of the geodesic equation needs.

    With grad mode off, a latent space of low dimension (``d + k <= 4``,
    where the ``d + k`` copies of the points cost less than ``d``
    forward-mode passes and a separate second derivative) takes all from
    one graph (:func:`~geomstats_gen.core.reverse.jacobian_and_second_by_reverse`,
    in chunks); the others take them apart (:func:`jacobian`,
    :func:`second_derivative` on the ``k`` pairs stacked). On the MLP
    reference decoders (``d = 2``) the one graph is 1.3-2.5x cheaper; on a
    convolutional decoder with ``d = 8`` (more copies, each a costly
    double backward through the convolutions) it was 1.5x dearer, hence
    the bound on the copies, not on the batch size.

    Parameters
    ----------
    f : callable
        Flat batch function, ``[n, d] -> [n, D]``.
    z : torch.Tensor, shape=[n, d]
    vs, ws : torch.Tensor, shape=[k, n, d]
    chunk_sizes : tuple of int or None
        Points per chunk of the Jacobian, of the second derivatives, and of
        the one-graph path.
    out_dim : int, optional
        ``D``, when known.

    Returns
    -------
    jac : torch.Tensor, shape=[n, D, d]
    seconds : torch.Tensor, shape=[k, n, D]
    """
    k, n_points, dim = vs.shape
    if dim + k <= FUSED_MAX_COPIES and not torch.is_grad_enabled():

        def one_chunk(zz, vv, ww):  # rows first, to be chunked: [n, k, d]
            jac, seconds = jacobian_and_second_by_reverse(f, zz, vv.movedim(1, 0), ww.movedim(1, 0))
            return jac, seconds.movedim(0, 1)

        jac, seconds = chunked(one_chunk, chunk_sizes[2], z, vs.movedim(0, 1), ws.movedim(0, 1))
        return jac, seconds.movedim(1, 0)
    jac = jacobian(f, z, chunk_size=chunk_sizes[0], out_dim=out_dim)
    _, _, second = second_derivative(
        f, z.repeat(k, 1), vs.reshape(-1, dim), ws.reshape(-1, dim), chunk_size=chunk_sizes[1]
    )
    return jac, second.reshape(k, n_points, -1)


def second_derivative(f, z, v, w, chunk_size=None):
    """Second directional derivative ``d^2 g(z)[v, w]``.

    One forward-over-forward JVP per point where a caller's graph must be
    extended (grad mode on), reverse passes otherwise
    (:func:`~geomstats_gen.core.reverse.second_by_reverse`); no Hessian tensor is built.

    Parameters
    ----------
    f : callable
        Flat batch function, ``[n, d] -> [n, D]``.
    z, v, w : torch.Tensor, shape=[n, d]
    chunk_size : int, optional

    Returns
    -------
    value : torch.Tensor, shape=[n, D]
        ``g(z)``.
    first : torch.Tensor, shape=[n, D]
        ``J(z) v``.
    second : torch.Tensor, shape=[n, D]
        ``sum_ij d_i d_j g(z) v_i w_j``.
    """

    def one_chunk(zz, vv, ww):
        if not torch.is_grad_enabled():  # no caller's graph to extend
            return second_by_reverse(f, zz, vv, ww)

        def first_order(x):
            return jvp(f, (x,), (vv,))

        (value, first), (_, second) = jvp(first_order, (zz,), (ww,))
        return value, first, second

    return chunked(one_chunk, chunk_size, z, v, w)


def weighted_hessian(f, z, weights, chunk_size=None):
    """Hessian of ``z -> <weights, g(z)>`` at each point, by double backward.

    ``sum_a w_a d^2 g_a / dz_j dz_k``: one reverse pass with ``create_graph``
    gives the gradient ``J^T w`` as a differentiable function of ``z``, and
    ``d`` more reverse passes through it give the rows of the Hessian (the
    points are independent, so each pass serves the whole batch). The
    Hessian of ``g`` is never built. On CPU with torch 2.13 this beats
    forward-over-reverse with ``torch.func``, whose batching rules run Python
    decompositions for elementwise ops (see ``benchmarks/bench_geodesics.py``).

    Parameters
    ----------
    f : callable
        Flat batch function, ``[n, d] -> [n, D]``.
    z : torch.Tensor, shape=[n, d]
    weights : torch.Tensor, shape=[n, D]
    chunk_size : int, optional

    Returns
    -------
    hess : torch.Tensor, shape=[n, d, d]
    """
    dim = z.shape[-1]

    def one_chunk(zz, ww):
        with torch.inference_mode(False), torch.enable_grad():
            x = zz.detach().clone().requires_grad_(True)
            (gradient,) = torch.autograd.grad(
                f(x), x, grad_outputs=ww.detach().clone(), create_graph=True
            )
            if not gradient.requires_grad:  # g is affine: no second derivative
                return zz.new_zeros((zz.shape[0], dim, dim))
            rows = []
            for j in range(dim):
                (row,) = torch.autograd.grad(
                    gradient[:, j].sum(), x, retain_graph=j < dim - 1, allow_unused=True
                )
                rows.append(torch.zeros_like(x) if row is None else row)
        return torch.stack(rows, dim=-2).detach()

    return chunked(one_chunk, chunk_size, z, weights)


def second_derivatives(f, z, vs, ws, chunk_size=None):
    """Several second directional derivatives per point, ``d^2 g(z)[v_k, w_k]``.

    One forward-over-forward JVP per pair, vectorised over pairs and points.

    Parameters
    ----------
    f : callable
        Flat batch function, ``[n, d] -> [n, D]``.
    z : torch.Tensor, shape=[n, d]
    vs, ws : torch.Tensor, shape=[n, k, d]
        The ``k`` pairs of directions at each point.
    chunk_size : int, optional

    Returns
    -------
    second : torch.Tensor, shape=[n, D, k]
    """

    def one_chunk(zz, vv, ww):
        def pair(v, w):
            def first_order(x):
                return jvp(f, (x,), (v,))[1]

            return jvp(first_order, (zz,), (w,))[1]

        out = vmap(pair)(vv.movedim(1, 0).contiguous(), ww.movedim(1, 0).contiguous())
        return out.permute(1, 2, 0)

    return chunked(one_chunk, chunk_size, z, vs, ws)


def hessian(f, z, chunk_size=None):
    """Hessian of each decoder output at a batch of points.

    Built from ``d (d + 1) / 2`` forward-over-forward JVPs per point
    (:func:`second_derivatives` along pairs of basis vectors) where a
    caller's graph must be extended (grad mode on), by reverse passes
    otherwise (:func:`~geomstats_gen.core.reverse.hessian_by_reverse`, about twice as fast on CPU).

    Parameters
    ----------
    f : callable
        Flat batch function, ``[n, d] -> [n, D]``.
    z : torch.Tensor, shape=[n, d]
    chunk_size : int, optional

    Returns
    -------
    hess : torch.Tensor, shape=[n, D, d, d]
        ``hess[n, a, i, j] = d^2 g_a / d z_i d z_j``.
    """
    if not torch.is_grad_enabled():
        return chunked(lambda zz: hessian_by_reverse(f, zz), chunk_size, z)
    n_points, dim = z.shape
    rows, cols = torch.triu_indices(dim, dim, device=z.device)
    basis = torch.eye(dim, dtype=z.dtype, device=z.device)
    upper = second_derivatives(
        f,
        z,
        basis[rows].expand(n_points, -1, -1),
        basis[cols].expand(n_points, -1, -1),
        chunk_size=chunk_size,
    )
    hess = upper.new_zeros((n_points, upper.shape[1], dim, dim))
    hess[:, :, rows, cols] = upper
    hess[:, :, cols, rows] = upper
    return hess
