"""The discrete path energy of Shao et al. (2017) and its damped Newton minimiser.

Nodes ``z_0 .. z_T`` of a latent path with fixed ends, decoded
``g_i = g(z_i)``: ``E = (T / 2) sum_i ||g_{i+1} - g_i||^2``. Its gradient in
an interior node is ``-T J_i^T (g_{i+1} - 2 g_i + g_{i-1})`` and its Hessian
is block tridiagonal (see :func:`minimize_path_energy`).
"""

import numpy as np
import torch

from geomstats_gen.core.chart import as_chart
from geomstats_gen.core.linalg import block_tridiagonal_solve, pullback_solve
from geomstats_gen.geometry.step_control import PathControl, RowSet, assemble

__all__ = [
    "energy_and_chords",
    "initial_velocity",
    "minimize_path_energy",
    "path_segment_lengths",
    "refine_blocks",
    "rounding_noise",
]


#: A path starts reusing its Gauss-Newton blocks once a step with fresh
#: ones moves its nodes by at most this fraction of a segment.
REUSE_MOVE = 0.01

#: Decode the first trial step of an iteration with its graph kept, for the
#: next gradient of the accepted paths (see :func:`minimize_path_energy`).
KEEP_TRIAL_GRAPH = True

#: Take the Jacobians of fresh Gauss-Newton blocks to float32 accuracy where
#: that is cheaper (a float64 decoder module, see
#: :meth:`~geomstats_gen.core.chart.DecoderChart.approximate_jacobian`); the
#: gradient stays exact (reverse passes of the decoder itself).
APPROXIMATE_BLOCKS = True

#: With ``hessian="auto"``, a path switches to Newton steps once a step with
#: fresh blocks shrinks its node moves by less than ``NEWTON_RATE`` on a chart
#: with a closed-form Hessian (cheap there), by less than ``NEWTON_RATE_AUTODIFF``
#: where it takes autograd's double backward (0.9-7 Gauss-Newton iterations'
#: worth on the MLP and conv decoders measured).
NEWTON_RATE, NEWTON_RATE_AUTODIFF = 0.1, 0.8


def path_segment_lengths(decoded):
    """Lengths of the segments of decoded paths ``[..., T + 1, D] -> [..., T]``."""
    return torch.linalg.vector_norm(decoded[..., 1:, :] - decoded[..., :-1, :], dim=-1)


def rounding_noise(decoded):
    """Rounding level of decoded paths ``[p, T+1, D] -> [p]``: ``64 eps max|g|``."""
    return 64 * torch.finfo(decoded.dtype).eps * decoded.abs().amax(dim=(-1, -2))


def energy_and_chords(decoded):
    """Discrete energy and chord lengths of decoded paths ``[p, T+1, D]``."""
    n_segments = decoded.shape[1] - 1
    seg = path_segment_lengths(decoded)
    return 0.5 * n_segments * (seg**2).sum(-1), seg.sum(-1)


def minimize_path_energy(
    chart,
    nodes,
    tol,
    max_iter,
    damping=1e-6,
    max_attempts=12,
    hessian="auto",
    newton=None,
    blocks=None,
    end_jacobians=None,
    return_decoded=False,
    end_values=None,
):
    """Damped Newton on the discrete path energy, batched over paths.

    The Hessian of ``E`` is block tridiagonal: ``T (2 G_i + H_i)`` on the
    diagonal, where ``H_i`` is the Hessian of ``z -> <s_i, g(z)>`` with
    ``s_i = 2 g_i - g_{i-1} - g_{i+1}``, and ``-T J_i^T J_{i+1}`` beside it.
    The ``H_i`` term matters: without it (Gauss-Newton) the reparametrisation
    modes of the path converge only linearly, at a rate close to
    ``K L^2 / pi^2`` for curvature ``K`` and length ``L``. Levenberg-Marquardt
    damping keeps every accepted step a decrease of ``E``.

    Warm-started paths can reuse approximate Gauss-Newton blocks
    (``blocks``, e.g. :func:`refine_blocks` of a coarser solve): their
    iterations take the exact gradient ``T J_i^T s_i`` by one reverse pass
    (about two decoder passes) instead of the Jacobian (``d`` forward-mode
    passes). A path whose steps stop shrinking by a factor 10 gets fresh
    blocks from its Jacobian for one iteration, then goes on with them. The
    first trial step of an iteration is decoded with its graph kept: an
    accepted path's next gradient is then one reverse pass on that graph,
    without a forward pass. For a float64 decoder module, fresh blocks take
    their Jacobians from its float32 twin (:data:`APPROXIMATE_BLOCKS`) and
    every gradient comes from reverse passes of the decoder itself.

    Parameters
    ----------
    chart : DecoderChart or GeneratedManifold
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
        soon as a step with fresh blocks shrinks the node moves by less than
        a factor 10 (:data:`NEWTON_RATE`) on a chart with a closed-form
        Hessian, by less than a factor 1 / 0.8 (:data:`NEWTON_RATE_AUTODIFF`)
        where the Newton term takes autograd's double backward; and
        whatever the rate, once Gauss-Newton would not reach ``tol`` within
        ``max_iter`` at it.
    newton : torch.Tensor of bool, shape=[p], optional
        With ``"auto"``: the paths that start with Newton steps.
    blocks : tuple, optional
        ``(gram, cross, valid)``: approximations of ``J_i^T J_i``
        (shape ``[p, T + 1, d, d]``, the ends included), of
        ``J_i^T J_{i+1}`` (``[p, T, d, d]``) and the paths they hold for
        (bool, ``[p]``). Needs ``end_jacobians``.
    end_jacobians : tuple of torch.Tensor, optional
        ``(J(z_0), J(z_T))``, shape ``[p, D, d]`` each. With them the blocks
        of the returned paths are returned too.
    return_decoded : bool
        Also return the decoded paths (known from the last iterations, no
        extra decoder pass).
    end_values : tuple of torch.Tensor, optional
        ``(g(z_0), g(z_T))``, shape ``[p, D]`` each, when known (the end
        points are the same at every resolution of a log).

    Returns
    -------
    nodes : torch.Tensor, shape=[p, T + 1, d]
    iterations : torch.Tensor of int64, shape=[p]
    converged : torch.Tensor of bool, shape=[p]
    newton : torch.Tensor of bool, shape=[p]
        The paths that used Newton steps last.
    blocks : tuple or None
        ``(gram, cross, valid)`` as last evaluated (``None`` without
        ``end_jacobians``).
    decoded : torch.Tensor, shape=[p, T + 1, D]
        Only with ``return_decoded``: ``g`` at the returned nodes.
    """
    chart = as_chart(chart)
    n_paths, n_nodes, dim = nodes.shape
    n_segments = n_nodes - 1
    device = nodes.device
    nodes = nodes.clone()
    if end_jacobians is not None and blocks is None:
        shape = (n_paths, n_segments + 1, dim, dim)
        blocks = (
            nodes.new_zeros(shape),
            nodes.new_zeros((n_paths, n_segments, dim, dim)),
            torch.zeros(n_paths, dtype=torch.bool, device=device),
        )
    if n_segments < 2 or n_paths == 0 or max_iter < 1:
        converged = torch.full((n_paths,), n_segments < 2 or n_paths == 0, device=device)
        use_newton = torch.full((n_paths,), hessian == "newton", device=device)
        if hessian == "auto" and newton is not None:
            use_newton = newton.clone()
        out = (nodes, torch.zeros(n_paths, dtype=torch.int64, device=device), converged,
               use_newton, blocks)
        return out + (chart.decode_nodes(nodes),) if return_decoded else out
    gram, cross = (None, None) if blocks is None else (blocks[0].clone(), blocks[1].clone())
    ctl = PathControl(
        n_paths, nodes.dtype, tol, max_iter, hessian,
        None if newton is None else newton.cpu().numpy(),
        None if blocks is None else blocks[2].cpu().numpy(), damping,
        NEWTON_RATE if chart.has_closed_form_hessian else NEWTON_RATE_AUTODIFF, REUSE_MOVE,
    )
    if end_values is None:
        end_values = tuple(chart.decode(nodes[:, k].contiguous()) for k in (0, -1))
    g_start, g_end = end_values
    # g at the interior nodes as they are (every path is active in the
    # first iteration, so every row is filled).
    dec_int = g_start.new_empty((n_paths, n_segments - 1, g_start.shape[-1]))
    eye = torch.eye(dim, dtype=nodes.dtype, device=device)
    # The first trial step of an iteration is decoded with its graph kept
    # (``carry``): an accepted path's next gradient is then one reverse pass
    # on it, without a forward pass (``ctl.carried``: each path's row in it).
    carry = None
    approximate = (
        APPROXIMATE_BLOCKS and gram is not None and not torch.is_grad_enabled()
        and chart.has_approximate_jacobian
    )
    for _ in range(max_iter):
        # The index sets, from the host's state (the paths still running,
        # those with fresh blocks, taking Newton steps, on the kept graph);
        # a RowSet of all the rows indexes nothing.
        act_h = np.flatnonzero(~ctl.converged)
        if act_h.size == 0:
            break
        act, n_act = RowSet(act_h, n_paths, device), act_h.size
        jac_mask = (ctl.fresh | ctl.use_newton)[act.pick]
        # With approximate blocks every path takes its value and gradient
        # by reverse passes, the fresh ones their blocks' Jacobians too.
        pull_mask = np.ones(n_act, dtype=bool) if approximate else ~jac_mask
        on_carry = pull_mask & (ctl.carried[act.pick] >= 0)
        if carry is None or 2 * int(on_carry.sum()) < carry[1]:
            on_carry[:] = False  # too few of the carried rows to pay for its reverse pass
        jac_rows = RowSet(np.flatnonzero(jac_mask), n_act, device)
        pull_rows = RowSet(np.flatnonzero(pull_mask & ~on_carry), n_act, device)
        carry_rows = RowSet(np.flatnonzero(on_carry), n_act, device)
        newton_rows = RowSet(np.flatnonzero(ctl.use_newton[act.pick]), n_act, device)
        keep_graph = KEEP_TRIAL_GRAPH and bool(pull_mask.any())
        interior = act.take(nodes)[:, 1:-1]
        parts = []  # (rows, decoded interior nodes)
        jac = None
        if jac_rows.size and approximate:
            jac = chart.approximate_jacobian(jac_rows.take(interior).reshape(-1, dim))
            jac = jac.reshape(jac_rows.size, n_segments - 1, -1, dim)
        elif jac_rows.size:
            g_j, jac = chart.value_and_jacobian(jac_rows.take(interior).reshape(-1, dim))
            parts.append((jac_rows, g_j.reshape(jac_rows.size, n_segments - 1, -1)))
            jac = jac.reshape(jac_rows.size, n_segments - 1, -1, dim)
        pullback = None
        if pull_rows.size:
            g_p, pullback = chart.value_and_pullback(pull_rows.take(interior).reshape(-1, dim))
            parts.append((pull_rows, g_p.reshape(pull_rows.size, n_segments - 1, -1)))
        if carry_rows.size:
            parts.append((carry_rows, act.at(carry_rows).take(dec_int)))
        g_int = assemble(parts, (n_act,) + tuple(dec_int.shape[1:]))
        act.put(dec_int, g_int)
        decoded = torch.cat([act.take(g_start)[:, None], g_int, act.take(g_end)[:, None]], dim=1)
        energy, chords = energy_and_chords(decoded)
        second_diff = 2 * g_int - decoded[:, :-2] - decoded[:, 2:]
        grads = []
        if jac is not None:
            jac_t = jac.transpose(-1, -2)
            if not approximate:
                pulled = (jac_t @ jac_rows.take(second_diff)[..., None]).squeeze(-1)
                grads.append((jac_rows, n_segments * pulled))
            gram_j = jac_t @ jac
            cross_j = jac_t[:, :-1] @ jac[:, 1:]
            if gram is not None:
                paths = act.at(jac_rows)
                _store_blocks(gram, cross, paths, gram_j, cross_j, jac, end_jacobians)
                ctl.valid[paths.host] = True
        if pullback is not None:
            weights = pull_rows.take(second_diff).reshape(-1, second_diff.shape[-1])
            pulled = pullback(weights).reshape(pull_rows.size, -1, dim)
            grads.append((pull_rows, n_segments * pulled))
        if carry_rows.size:
            pos = RowSet(ctl.carried[act.at(carry_rows).host], carry[1], device)
            weights = pos.scatter(carry_rows.take(second_diff))
            pulled = carry[0](weights.reshape(-1, weights.shape[-1])).reshape(carry[1], -1, dim)
            grads.append((carry_rows, n_segments * pos.take(pulled)))
        grad = assemble(grads, interior.shape)
        carry = None
        ctl.carried.fill(-1)
        if gram is None:
            diag, off = 2 * n_segments * gram_j, -n_segments * cross_j
        else:
            diag = 2 * n_segments * act.take(gram)[:, 1:-1]
            off = -n_segments * act.take(cross)[:, 1:-1]
        if newton_rows.size:
            curv = chart.weighted_hessian(
                newton_rows.take(interior).reshape(-1, dim),
                newton_rows.take(second_diff).reshape(-1, second_diff.shape[-1]),
            )
            newton_rows.add(diag, n_segments * curv.reshape(-1, n_segments - 1, dim, dim))
        was_fresh = (ctl.fresh | ctl.use_newton)[act.pick]
        ctl.fresh[act.pick] = ~ctl.reuse[act.pick]
        scale = torch.diagonal(diag, dim1=-2, dim2=-1).abs().mean(dim=(-1, -2))
        levels = torch.stack([energy, chords / n_segments, rounding_noise(decoded)])
        settled = np.zeros(n_act, dtype=bool)
        for attempt in range(max_attempts):
            # Every path tries a step first; only the rejected ones retry.
            idx = RowSet(np.flatnonzero(~settled), n_act, device)
            if idx.size == 0:
                break
            rows = act.at(idx)
            lam = torch.from_numpy(ctl.lam[rows.pick]).to(device)
            damp = (lam * idx.take(scale))[:, None, None, None] * eye
            step, pos_def = block_tridiagonal_solve(
                idx.take(diag) + damp, idx.take(off), -idx.take(grad)
            )
            candidate = idx.take(interior) + step
            if attempt == 0 and keep_graph:
                g_flat, pull_cand = chart.value_and_pullback(candidate.reshape(-1, dim))
                g_cand = g_flat.reshape(candidate.shape[:-1] + g_flat.shape[-1:])
                carry = (pull_cand, n_act)
            else:
                g_cand = chart.decode_nodes(candidate)
            dec_cand = torch.cat(
                [rows.take(g_start)[:, None], g_cand, rows.take(g_end)[:, None]], dim=1
            )
            energy_cand, _ = energy_and_chords(dec_cand)
            move = torch.linalg.vector_norm(g_cand - idx.take(g_int), dim=-1).amax(-1)
            # One transfer per trial: what the host decides from.
            stats = [energy_cand, move, pos_def.to(move.dtype)]
            if attempt == 0:
                host = torch.cat([torch.stack(stats), levels]).cpu().numpy()
                known = host[3:]
            else:
                host = torch.stack(stats).cpu().numpy()
            ok, done = ctl.judge(
                rows.pick, was_fresh[idx.pick], *known[:, idx.pick], host[0], host[1], host[2] > 0
            )
            accepted = RowSet(np.flatnonzero(ok), idx.size, device)
            if accepted.size:
                into = rows.at(accepted)
                into.put(nodes, accepted.take(candidate), inner=slice(1, -1))
                into.put(dec_int, accepted.take(g_cand))
            settled[idx.pick] |= done
            if attempt == 0 and carry is not None:
                ctl.carried[rows.pick] = np.where(ok, idx.host, -1)
        ctl.iterations[act.pick] += 1
    blocks = None if gram is None else (gram, cross, torch.from_numpy(ctl.valid).to(device))
    out = (
        nodes, *(torch.from_numpy(a).to(device) for a in (ctl.iterations, ctl.converged)),
        torch.from_numpy(ctl.use_newton).to(device), blocks,
    )
    if return_decoded:
        out = out + (torch.cat([g_start[:, None], dec_int, g_end[:, None]], dim=1),)
    return out


def _store_blocks(gram, cross, paths, gram_int, cross_int, jac, end_jacobians):
    """Write fresh blocks of the interior nodes of ``paths`` (a RowSet), and of their end segments."""
    j_start, j_end = (paths.take(e) for e in end_jacobians)
    paths.put(gram, gram_int, inner=slice(1, -1))
    paths.put(cross, cross_int, inner=slice(1, -1))
    paths.put(cross, j_start.transpose(-1, -2) @ jac[:, 0], inner=0)
    paths.put(cross, jac[:, -1].transpose(-1, -2) @ j_end, inner=-1)
    paths.put(gram, j_start.transpose(-1, -2) @ j_start, inner=0)
    paths.put(gram, j_end.transpose(-1, -2) @ j_end, inner=-1)


def refine_blocks(blocks):
    """Gauss-Newton blocks of paths with twice the segments, from those of the paths.

    A new node in the middle of a segment has the Jacobian
    ``(J_i + J_{i+1}) / 2`` up to ``O(h^2)``, so its blocks are averages of
    the old ones: ``J_m^T J_m ~ (G_i + C_i + C_i^T + G_{i+1}) / 4``,
    ``J_i^T J_m ~ (G_i + C_i) / 2`` and ``J_m^T J_{i+1} ~ (C_i + G_{i+1}) / 2``
    (``G`` the grams, ``C`` the cross blocks).

    Parameters
    ----------
    blocks : tuple
        ``(gram [p, T + 1, d, d], cross [p, T, d, d], valid [p])``.

    Returns
    -------
    blocks : tuple
        ``(gram [p, 2 T + 1, d, d], cross [p, 2 T, d, d], valid [p])``.
    """
    gram, cross, valid = blocks
    p, _, dim, _ = gram.shape
    left, right = gram[:, :-1], gram[:, 1:]
    mid = (left + right + cross + cross.transpose(-1, -2)) / 4
    fine_gram = torch.stack([left, mid], dim=2).reshape(p, -1, dim, dim)
    fine_gram = torch.cat([fine_gram, gram[:, -1:]], dim=1)
    fine_cross = torch.stack([(left + cross) / 2, (cross + right) / 2], dim=2)
    return fine_gram, fine_cross.reshape(p, -1, dim, dim), valid


def initial_velocity(chart, nodes, jacobian=None, decoded=None):
    """Initial velocity of a discrete geodesic from its discrete momentum.

    The boundary term of the discrete energy gives the momentum
    ``p_0 = T J_0^T (g(z_1) - g(z_0))``, which equals ``G v`` up to
    ``O(1 / T^2)`` (the first-order terms cancel by the geodesic equation),
    whereas ``T (z_1 - z_0)`` is only first order. Returns
    ``G_0^{-1} p_0``.

    Parameters
    ----------
    chart : DecoderChart
    nodes : torch.Tensor, shape=[p, T + 1, d]
    jacobian : torch.Tensor, shape=[p, D, d], optional
        ``J(z_0)``, when known.
    decoded : torch.Tensor, shape=[p, T + 1, D], optional
        ``g(nodes)``, when known.

    Returns
    -------
    velocity : torch.Tensor, shape=[p, d]
    """
    n_segments = nodes.shape[1] - 1
    if decoded is None:
        g0, g1 = (chart.decode(nodes[:, k].contiguous()) for k in (0, 1))
    else:
        g0, g1 = decoded[:, 0], decoded[:, 1]
    if jacobian is None:
        jacobian = chart.jacobian(nodes[:, 0].contiguous())
    return pullback_solve(jacobian, n_segments * (g1 - g0))
