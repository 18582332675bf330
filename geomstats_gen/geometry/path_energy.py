"""The discrete path energy of Shao et al. (2017) and its damped Newton minimiser.

Nodes ``z_0 .. z_T`` of a latent path with fixed ends, decoded
``g_i = g(z_i)``: ``E = (T / 2) sum_i ||g_{i+1} - g_i||^2``. Its gradient in
an interior node is ``-T J_i^T (g_{i+1} - 2 g_i + g_{i-1})`` and its Hessian
is block tridiagonal (see :func:`minimize_path_energy`).
"""

import torch

from geomstats_gen.core.chart import as_chart
from geomstats_gen.core.linalg import block_tridiagonal_solve, pullback_solve

__all__ = [
    "energy_and_chords",
    "initial_velocity",
    "minimize_path_energy",
    "path_segment_lengths",
    "rounding_noise",
]


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
    chart, nodes, tol, max_iter, damping=1e-6, max_attempts=12, hessian="auto", newton=None
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
    chart = as_chart(chart)
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
    g_start = chart.decode(nodes[:, 0].contiguous())
    g_end = chart.decode(nodes[:, -1].contiguous())
    eye = torch.eye(dim, dtype=nodes.dtype, device=nodes.device)
    eps = torch.finfo(nodes.dtype).eps
    prev_move = torch.full((n_paths,), float("inf"), dtype=nodes.dtype, device=nodes.device)
    for _ in range(max_iter):
        # One host transfer per iteration gives both index sets (the paths
        # still running, and which of them take Newton steps).
        flags = torch.stack([~converged, use_newton]).cpu()
        active_host = flags[0].nonzero().squeeze(-1)
        if active_host.numel() == 0:
            break
        active = active_host.to(nodes.device)
        rows = flags[1][active_host].nonzero().squeeze(-1).to(nodes.device)
        interior = nodes[active, 1:-1]
        n_act = active.numel()
        flat = interior.reshape(-1, dim)
        g_int, jac = chart.value_and_jacobian(flat)
        g_int = g_int.reshape(n_act, n_segments - 1, -1)
        decoded = torch.cat([g_start[active, None], g_int, g_end[active, None]], dim=1)
        energy, chords = energy_and_chords(decoded)
        second_diff = 2 * g_int - decoded[:, :-2] - decoded[:, 2:]
        jac = jac.reshape(n_act, n_segments - 1, -1, dim)
        jac_t = jac.transpose(-1, -2)
        grad = n_segments * (jac_t @ second_diff[..., None]).squeeze(-1)
        diag = 2 * n_segments * (jac_t @ jac)
        if rows.numel():
            curv = chart.weighted_hessian(
                interior[rows].reshape(-1, dim),
                second_diff[rows].reshape(-1, second_diff.shape[-1]),
            )
            diag[rows] = diag[rows] + n_segments * curv.reshape(-1, n_segments - 1, dim, dim)
        off = -n_segments * (jac_t[:, :-1] @ jac[:, 1:])
        scale = torch.diagonal(diag, dim1=-2, dim2=-1).abs().mean(dim=(-1, -2))
        seg_len = chords / n_segments
        settled = torch.zeros(n_act, dtype=torch.bool, device=nodes.device)
        for attempt in range(max_attempts):
            # Every path tries a step first; only the rejected ones retry
            # (one host transfer per retry).
            if attempt == 0:
                idx = torch.arange(n_act, device=nodes.device)
            else:
                idx = (~settled).nonzero().squeeze(-1)
            if idx.numel() == 0:
                break
            damp = (lam[active[idx]] * scale[idx])[:, None, None, None] * eye
            step, pos_def = block_tridiagonal_solve(diag[idx] + damp, off[idx], -grad[idx])
            candidate = interior[idx] + step
            g_cand = chart.decode_nodes(candidate)
            dec_cand = torch.cat(
                [g_start[active[idx], None], g_cand, g_end[active[idx], None]], dim=1
            )
            energy_cand, _ = energy_and_chords(dec_cand)
            move = torch.linalg.vector_norm(g_cand - g_int[idx], dim=-1).amax(-1)
            # Converged: the nodes barely move, relative to the segments, or
            # by no more than the rounding of the decoded values (float32
            # decoders on short paths reach that floor first).
            noise = rounding_noise(decoded[idx])
            small = pos_def & (move <= torch.maximum(tol * seg_len[idx], noise))
            ok = pos_def & (energy_cand <= energy[idx] * (1 + 8 * eps))
            # An accepted step that does not lower the energy beyond rounding
            # means the working precision is exhausted.
            stalled = ok & (energy[idx] - energy_cand <= 8 * eps * energy[idx])
            small = small | stalled
            # Updates by masks, not boolean indexing (no host transfer).
            rows_now = active[idx]
            nodes[rows_now, 1:-1] = torch.where(ok[:, None, None], candidate, interior[idx])
            if hessian == "auto":
                slow = move > 0.1 * prev_move[rows_now]
                use_newton[rows_now] = use_newton[rows_now] | (ok & slow)
                prev_move[rows_now] = torch.where(ok, move, prev_move[rows_now])
            lam[rows_now] = torch.where(
                ok, torch.clamp(lam[rows_now] / 10, min=1e-12), lam[rows_now] * 10
            )
            settled[idx] = settled[idx] | ok | small
            converged[rows_now] = converged[rows_now] | small
        iterations[active] += 1
    return nodes, iterations, converged, use_newton


def initial_velocity(chart, nodes):
    """Initial velocity of a discrete geodesic from its discrete momentum.

    The boundary term of the discrete energy gives the momentum
    ``p_0 = T J_0^T (g(z_1) - g(z_0))``, which equals ``G v`` up to
    ``O(1 / T^2)`` (the first-order terms cancel by the geodesic equation),
    whereas ``T (z_1 - z_0)`` is only first order. Returns
    ``G_0^{-1} p_0``.
    """
    n_segments = nodes.shape[1] - 1
    z0 = nodes[:, 0]
    g0, jac = chart.value_and_jacobian(z0.contiguous())
    chord = chart.decode(nodes[:, 1].contiguous()) - g0
    return pullback_solve(jac, n_segments * chord)
