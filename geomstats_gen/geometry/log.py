"""The log map: the connecting geodesic as a discrete path of least energy.

Shao et al. (2017), Algorithm 1: the path ``z_0 .. z_T`` with fixed ends that
minimises the discrete energy ``E = (T / 2) sum_i ||g(z_{i+1}) - g(z_i)||^2``.
This is a nonlinear least squares problem in the interior nodes, solved here
by Levenberg-Marquardt (damped Newton): the Hessian is block tridiagonal,
with blocks ``T (2 G_i + H_i)`` on the diagonal and ``-T J_i^T J_{i+1}``
beside it, and is solved in ``O(T d^3)`` per pair
(:func:`~geomstats_gen.core.linalg.block_tridiagonal_solve`). All pairs are
solved together.

Error control. The chord length ``L_T`` of the discrete minimiser
underestimates the distance by ``O(1 / T^2)`` (on a sphere exactly
``2 T sin(d / 2T)``). The solve is repeated with twice the segments, warm
started from the interpolant of the previous path
(:mod:`~geomstats_gen.geometry.dense`), and lengths and initial velocities
are extrapolated: ``E_T = (4 L_T - L_{T/2}) / 3`` has an ``O(1 / T^4)``
error, which the difference of two consecutive extrapolations estimates
(``|E_T - E_{T/2}| / 15``). The pairs whose estimate misses ``rtol``, or
whose path has a chord that leaves the manifold, are refined again (only
those, still batched) up to ``max_nodes`` segments; the ones left
unresolved are flagged and named in a warning.

Cost. The Jacobians are the expensive part (``d`` forward-mode passes per
node). They are taken on the coarsest resolution only, until the nodes
settle. The finer resolutions start from Gauss-Newton blocks averaged from
the coarser path's (:func:`~geomstats_gen.geometry.path_energy.refine_blocks`)
and from a Richardson-extrapolated path, and iterate with the exact gradient
of one reverse pass per node. Fresh blocks are taken only where convergence
slows. ``benchmarks/bench_cost_model.py`` counts the decoder passes.
"""

import math

import torch
from geomstats.numerics.geodesic import LogSolver

from geomstats_gen.core.chart import as_chart
from geomstats_gen.core.checks import (
    check_choice,
    check_int,
    check_number,
    check_positive_int,
    jacobian_condition,
    warn_if_ill_conditioned,
)
from geomstats_gen.geometry.dense import (
    dense_geodesic,
    extrapolated_start,
    midpoint_checks,
    subdivide,
)
from geomstats_gen.geometry.exp import GeodesicODEExpSolver
from geomstats_gen.geometry.path_energy import (
    energy_and_chords,
    initial_velocity,
    minimize_path_energy,
    refine_blocks,
)
from geomstats_gen.geometry.result import (
    GeodesicResult,
    ResultBuilder,
    rounding_bias,
    warn_unconverged,
)

__all__ = [
    "DiscreteEnergyLogSolver",
    "GeodesicResult",
    "warn_unconverged",
]

LOG_METHODS = ("auto", "newton", "gauss-newton")

# The error estimate is the asymptotic one times this factor (the estimate
# then bounds the true error of the extrapolated length in the
# pre-asymptotic regime too; benchmarks/bench_error_estimate.py).
SAFETY = 2.0
# A chord whose decoded midpoint is farther than this (relative to the
# chord) from the chord's midpoint leaves the manifold. A resolved segment
# has ``kappa c / 8``: 0.1 means a segment turning by about 0.8 rad.
SHORTCUT_TOL = 0.1
# Node tolerance of the coarsest resolution (at least ``tol``): its path only
# seeds the next one and enters the error estimate (error quadratic in it).
COARSE_TOL = 1e-5


def _straight_paths(z_start, z_end, n_segments):
    """Nodes of the straight latent segments, ``[p, d] x [p, d] -> [p, T + 1, d]``."""
    t = torch.linspace(0, 1, n_segments + 1, dtype=z_start.dtype, device=z_start.device)
    return z_start[:, None] + t[None, :, None] * (z_end - z_start)[:, None]


def _default_tol(dtype):
    return 1e-10 if dtype == torch.float64 else 2e-5


def _default_rtol(dtype):
    return 1e-6 if dtype == torch.float64 else 1e-5


class DiscreteEnergyLogSolver(LogSolver):
    """Log map by minimising the discrete path energy (Shao et al. 2017).

    Parameters
    ----------
    space : DecoderChart or GeneratedManifold
    n_nodes : int
        Segments ``T`` of the coarsest discrete path (at least 2). With
        ``extrapolate``, paths of ``2 T`` and ``4 T`` segments are solved
        too (the error estimate needs three resolutions), then more for the
        pairs that miss ``rtol``.
    rtol : float, optional
        Relative tolerance on the length: a pair is resolved when its error
        estimate is below ``rtol * length`` (or below the rounding floor of
        the decoder's dtype, when that is larger). Default: ``1e-6`` for
        float64 decoders, ``1e-5`` for float32 ones.
    max_nodes : int
        Cap on the segments of a refined path. Pairs still unresolved there
        are flagged ``converged=False`` with a
        :class:`~geomstats_gen.exceptions.ConvergenceWarning`. The minimum
        resolutions (``4 T``, or ``2 T`` without ``extrapolate``) are
        always solved.
    tol : float, optional
        Relative tolerance of the energy minimiser on node updates.
        Default: ``1e-10`` for float64 decoders, ``2e-5`` for float32 ones.
        The coarsest resolution, which only seeds the next one and enters
        the error estimate, is solved to ``max(tol, 1e-5)``.
    max_iter : int
        Cap on Levenberg-Marquardt iterations per resolution.
    extrapolate : bool
        Richardson extrapolation of lengths and initial velocities (error
        ``O(1/T^4)`` instead of ``O(1/T^2)``).
    max_pairs : int, optional
        Pairs solved together; larger batches are split. Default: chosen so
        that one batch's Jacobians hold about the chart's ``max_elements``
        numbers.
    method : {"auto", "newton", "gauss-newton"}
        ``"newton"`` uses the exact Hessian of the path energy and converges
        in a handful of iterations on curved manifolds; ``"gauss-newton"``
        drops its second-derivative term: iterations about half as costly,
        but linear convergence at a rate near ``K L^2 / pi^2`` (curvature
        ``K``, length ``L``), fine only where the latent space is nearly
        flat. ``"auto"`` (default) starts each path with Gauss-Newton and
        switches it to Newton when its convergence is slow for the cost of
        the Newton term (see
        :func:`~geomstats_gen.geometry.path_energy.minimize_path_energy`).
    exp_solver : GeodesicODEExpSolver, optional
        Integrator for the times outside ``[0, 1]`` of :meth:`geodesic_bvp`.
        Default: a :class:`~geomstats_gen.geometry.exp.GeodesicODEExpSolver`
        with its default settings.
    """

    def __init__(
        self,
        space,
        n_nodes=8,
        rtol=None,
        max_nodes=256,
        tol=None,
        max_iter=50,
        extrapolate=True,
        max_pairs=None,
        method="auto",
        exp_solver=None,
    ):
        super().__init__(solves_bvp=True)
        self.method = method
        self.chart = as_chart(space)
        self.exp_solver = exp_solver
        self.n_nodes = n_nodes
        self.rtol = rtol
        self.max_nodes = max_nodes
        self.tol = tol
        self.max_iter = max_iter
        self.extrapolate = extrapolate
        self.max_pairs = max_pairs

    def _check_settings(self):
        check_int(self.n_nodes, "n_nodes", minimum=2)
        check_int(self.max_nodes, "max_nodes", minimum=2)
        check_positive_int(self.max_iter, "max_iter")
        check_number(self.tol, "tol", low=0, high=1, allow_none=True)
        check_number(self.rtol, "rtol", low=0, high=1, allow_none=True)
        check_positive_int(self.max_pairs, "max_pairs", allow_none=True)
        check_choice(self.method, "method", LOG_METHODS)

    @property
    def min_levels(self):
        """Resolutions always solved: 3 with extrapolation (the estimate needs them), else 2."""
        return 3 if self.extrapolate else 2

    @property
    def min_finest_segments(self):
        """Segments of the finest of the resolutions always solved."""
        return self.n_nodes * 2 ** (self.min_levels - 1)

    def solve(self, point, base_point, warn=True, check_names=None):
        """Connecting geodesics from ``base_point`` to ``point``, with diagnostics.

        Parameters
        ----------
        point : array-like, shape=[..., d]
            End points.
        base_point : array-like, shape=[..., d]
            Start points.
        warn : bool
            Emit a :class:`ConvergenceWarning` naming the pairs that did not
            converge or did not meet their tolerance.
        check_names : tuple of str, optional
            Names of ``point`` and ``base_point`` in errors, and for an
            :class:`~geomstats_gen.ImmersionWarning` where the decoder loses
            rank at them, checked on the Jacobians the solve takes there
            anyway (the metric's methods pass them; no check by default).

        Returns
        -------
        result : GeodesicResult
            In the caller's dtype and device.
        """
        self._check_settings()
        chart = self.chart
        names = check_names or ("point", "base_point")
        (z_end, z_start), batch, like = chart.prepare(**{names[0]: point, names[1]: base_point})
        conds = None if check_names is None or chart.cond_limit == math.inf else []
        with torch.no_grad():
            result = self._solve_flat(chart.metric_chart(), z_start, z_end, conds)
        if conds:
            limit = chart.immersion_cond_limit(z_start.dtype)
            for name, cond in zip(check_names, zip(*conds)):
                warn_if_ill_conditioned(torch.cat(cond), name, limit, stacklevel=4)
        if warn:
            warn_unconverged(result.converged, batch, "log", result.shortcut)

        def to_caller(tensor):
            if tensor.is_floating_point():
                return chart.finish(tensor, batch, like)
            return tensor.reshape(tuple(batch) + tuple(tensor.shape[1:])).to(like.device)

        return result.map(to_caller)

    def _solve_flat(self, chart, z_start, z_end, conds=None):
        """Solve on flat work tensors ``[p, d]`` with ``chart``; returns a GeodesicResult.

        ``chart``: the solver's, or its :meth:`~DecoderChart.metric_chart`.
        With a list ``conds``, appends the condition numbers of the end
        points' Jacobians ``(cond(J(z_end)), cond(J(z_start)))``, chunk by chunk.
        """
        n_pairs, dim = z_start.shape
        finest = self.min_finest_segments
        max_pairs = self.max_pairs or max(
            1, chart.max_elements // max(1, finest * chart.embedding_dim * dim)
        )
        if n_pairs > max_pairs:
            return GeodesicResult.concatenate(
                [
                    self._solve_flat(
                        chart, z_start[i : i + max_pairs], z_end[i : i + max_pairs], conds
                    )
                    for i in range(0, n_pairs, max_pairs)
                ]
            )
        out = ResultBuilder(chart, z_start, finest)
        todo = (~(z_start == z_end).all(-1)).nonzero().squeeze(-1)
        # The ends' values and Jacobians, once: the immersion check, the
        # first velocity, the blocks of the end segments that warm-start
        # each finer resolution, the energies of every resolution.
        # ``ends``: (J(z_start), J(z_end), g(z_start), g(z_end)).
        if conds is not None and n_pairs:
            values, jacobians = chart.value_and_jacobian(torch.cat([z_start, z_end]))
            ends = jacobians.chunk(2) + values.chunk(2)
            conds.append(jacobian_condition(jacobians).chunk(2)[::-1])
            ends = tuple(end[todo] for end in ends)
        elif todo.numel():
            values, jacobians = chart.value_and_jacobian(torch.cat([z_start[todo], z_end[todo]]))
            ends = jacobians.chunk(2) + values.chunk(2)
        if todo.numel():
            self._refine(chart, z_start[todo], z_end[todo], todo, out, max_pairs * finest, ends)
        return out.result()

    def _minimize(self, chart, nodes, tol, newton, budget, blocks, ends):
        """:func:`minimize_path_energy` on at most ``budget`` segments at a time."""
        per = max(1, budget // (nodes.shape[1] - 1))

        def part(items, i):
            return None if items is None else tuple(item[i : i + per] for item in items)

        parts = [
            minimize_path_energy(
                chart, nodes[i : i + per], tol, self.max_iter, hessian=self.method,
                newton=None if newton is None else newton[i : i + per],
                blocks=part(blocks, i), end_jacobians=part(ends[:2], i), return_decoded=True,
                end_values=part(ends[2:], i),
            )
            for i in range(0, nodes.shape[0], per)
        ]
        nodes, its, ok, newton, block_parts, decoded = zip(*parts)
        blocks = tuple(torch.cat(field) for field in zip(*block_parts))
        return (*(torch.cat(f) for f in (nodes, its, ok, newton)), blocks, torch.cat(decoded))

    def _refine(self, chart, z_start, z_end, index, out, budget, ends):
        """Solve resolution after resolution until every pair is resolved or capped."""
        tol = self.tol if self.tol is not None else _default_tol(z_start.dtype)
        rtol = self.rtol if self.rtol is not None else _default_rtol(z_start.dtype)
        eps = torch.finfo(z_start.dtype).eps
        n_seg = self.n_nodes
        cap = max(self.max_nodes, self.min_finest_segments)
        nodes = _straight_paths(z_start, z_end, n_seg)
        newton, prev, iterations = None, None, torch.zeros_like(index)
        blocks = None
        for level in range(64):
            level_tol = max(tol, COARSE_TOL) if level == 0 else tol
            nodes, its, lm_ok, newton, blocks, decoded = self._minimize(
                chart, nodes, level_tol, newton, budget, blocks, ends
            )
            iterations = iterations + its
            energy, chord = energy_and_chords(decoded)
            velocity = initial_velocity(chart, nodes, jacobian=ends[0], decoded=decoded)
            length, vel_x = chord, velocity
            if self.extrapolate and prev is not None:
                length = (4 * chord - prev["chord"]) / 3
                vel_x = (4 * velocity - prev["velocity"]) / 3
            if level + 1 < self.min_levels:
                coarse = prev["nodes"] if prev is not None else None
                prev = dict(
                    chord=chord, velocity=velocity, length=length, vel_x=vel_x, nodes=nodes,
                    jumped=torch.zeros_like(chord, dtype=torch.bool),
                )
                nodes = extrapolated_start(subdivide(nodes), coarse)
                blocks = refine_blocks(blocks)
                n_seg *= 2
                continue
            factor = 15.0 if self.extrapolate else 3.0
            error = SAFETY * (length - prev["length"]).abs() / factor
            log_error = SAFETY * torch.linalg.vector_norm(vel_x - prev["vel_x"], dim=-1) / factor
            deviation, dense_length = midpoint_checks(chart, nodes, decoded)
            scale = torch.linalg.vector_norm(decoded, dim=-1).amax(-1)
            floor = 8 * eps * (n_seg / decoded.shape[-1]) ** 0.5 * scale
            bias = rounding_bias(n_seg, eps * scale, chord)
            error = error + floor + 1.5 * bias
            tolerance = torch.maximum(rtol * length, 2 * floor + 3 * bias)
            shortcut = deviation > SHORTCUT_TOL
            resolved = (
                lm_ok
                & (error <= tolerance)
                & ~shortcut
                & ((dense_length - length).abs() <= 0.5 * tolerance + 4 * bias)
            )
            done = resolved | (2 * n_seg > cap)
            fields = dict(
                nodes=nodes, log=vel_x, length=length, length_error=error,
                length_tolerance=tolerance, log_error=log_error, chord_length=chord,
                energy=energy, iterations=iterations, shortcut=shortcut, converged=resolved,
            )
            fin = done.nonzero().squeeze(-1)
            out.record(
                index[fin], z_start[fin], {k: v[fin] for k, v in fields.items()}, n_seg, ends[0][fin]
            )
            keep = (~done).nonzero().squeeze(-1)
            if keep.numel() == 0:
                return
            index, z_start, z_end = index[keep], z_start[keep], z_end[keep]
            coarse, restarted = prev["nodes"][keep], prev["jumped"][keep]
            prev = dict(
                chord=chord[keep], velocity=velocity[keep], length=length[keep],
                vel_x=vel_x[keep], nodes=nodes[keep], jumped=shortcut[keep],
            )
            iterations, newton = iterations[keep], newton[keep]
            ends = tuple(end[keep] for end in ends)
            nodes = extrapolated_start(subdivide(nodes[keep]), coarse, restarted)
            # A path that jumps between layers stays in that local minimum
            # when refined: restart it from the straight latent line, at the
            # new resolution (and with fresh blocks).
            jumped = shortcut[keep]
            line = _straight_paths(z_start, z_end, 2 * n_seg)
            nodes = torch.where(jumped[:, None, None], line, nodes)
            gram, cross, valid = refine_blocks(tuple(b[keep] for b in blocks))
            blocks = (gram, cross, valid & ~jumped)
            n_seg *= 2
        raise RuntimeError("unreachable: the resolution cap ends the refinement")

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
        """Geodesic from ``base_point`` to ``point``, for the cost of one solve.

        The path interpolates the solved discrete geodesic (cubic Hermite
        pieces through its nodes, :mod:`~geomstats_gen.geometry.dense`), so
        it passes through both end points exactly (as given, even for a
        float32 decoder) and its decoded length is
        the reported distance to the solver's tolerance (the solver refines
        until it is). Times outside ``[0, 1]`` continue the geodesic with
        the exp map of ``exp_solver`` (one integration for all of them).

        Parameters
        ----------
        point : array-like, shape=[..., d]
        base_point : array-like, shape=[..., d]

        Returns
        -------
        path : callable
            ``path(t)`` for ``t`` of shape ``[n_t]`` (or a scalar) returns
            points of shape ``[..., n_t, d]``.
        """
        result = self.solve(point, base_point)
        exp_solver = self.exp_solver or GeodesicODEExpSolver(self.chart)
        return dense_geodesic(result, point, base_point, exp_solver)
