"""The log map: the connecting geodesic as a discrete path of least energy.

Shao et al. (2017), Algorithm 1: the path ``z_0 .. z_T`` with fixed ends that
minimises the discrete energy ``E = (T / 2) sum_i ||g(z_{i+1}) - g(z_i)||^2``.
This is a nonlinear least squares problem in the interior nodes, solved here
by Levenberg-Marquardt (damped Newton): the Hessian is block tridiagonal,
with blocks ``T (2 G_i + H_i)`` on the diagonal and ``-T J_i^T J_{i+1}``
beside it, and is solved in ``O(T d^3)`` per pair
(:func:`~geomstats_gen.core.linalg.block_tridiagonal_solve`). All pairs are
solved together. The chord length of the discrete minimiser underestimates
the distance by ``O(1 / T^2)`` (on a sphere exactly ``2 T sin(d / 2T)``), so
the solve is repeated with ``2 T`` nodes (started from the first path) and
lengths and initial velocities are extrapolated (Richardson): the error
becomes ``O(1 / T^4)``.
"""

import dataclasses
import warnings

import torch
from geomstats.numerics.geodesic import LogSolver

from geomstats_gen.core.chart import as_chart
from geomstats_gen.core.checks import (
    check_choice,
    check_int,
    check_number,
    check_positive_int,
)
from geomstats_gen.exceptions import ConvergenceWarning
from geomstats_gen.geometry.exp import GeodesicODEExpSolver
from geomstats_gen.geometry.path_energy import (
    energy_and_chords,
    initial_velocity,
    minimize_path_energy,
    refine_nodes,
)

__all__ = [
    "DiscreteEnergyLogSolver",
    "GeodesicResult",
    "warn_unconverged",
]

LOG_METHODS = ("auto", "newton", "gauss-newton")


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


class DiscreteEnergyLogSolver(LogSolver):
    """Log map by minimising the discrete path energy (Shao et al. 2017).

    Parameters
    ----------
    space : DecoderChart or GeneratedManifold
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
        that one batch's Jacobians hold about the chart's ``max_elements``
        numbers.
    method : {"auto", "newton", "gauss-newton"}
        ``"newton"`` uses the exact Hessian of the path energy and converges
        in a handful of iterations on curved manifolds; ``"gauss-newton"``
        drops its second-derivative term: iterations about half as costly,
        but linear convergence at a rate near ``K L^2 / pi^2`` (curvature
        ``K``, length ``L``), fine only where the latent space is nearly
        flat. ``"auto"`` (default) starts each path with Gauss-Newton and
        switches it to Newton when its convergence is slow.
    exp_solver : GeodesicODEExpSolver, optional
        Integrator of :meth:`geodesic_bvp`. Default: a
        :class:`~geomstats_gen.geometry.exp.GeodesicODEExpSolver` with its
        default settings.
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
        exp_solver=None,
    ):
        super().__init__(solves_bvp=True)
        self.method = method
        self.chart = as_chart(space)
        self.exp_solver = exp_solver
        self.n_nodes = n_nodes
        self.tol = tol
        self.max_iter = max_iter
        self.extrapolate = extrapolate
        self.max_pairs = max_pairs

    def _check_settings(self):
        check_int(self.n_nodes, "n_nodes", minimum=2)
        check_positive_int(self.max_iter, "max_iter")
        check_number(self.tol, "tol", low=0, high=1, allow_none=True)
        check_positive_int(self.max_pairs, "max_pairs", allow_none=True)
        check_choice(self.method, "method", LOG_METHODS)

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
        chart = self.chart
        (z_end, z_start), batch, like = chart.prepare(point=point, base_point=base_point)
        with torch.no_grad():
            result = self._solve_flat(z_start, z_end)
        if warn:
            warn_unconverged(result.converged, batch, "log")

        def to_caller(tensor):
            if tensor.is_floating_point():
                return chart.finish(tensor, batch, like)
            return tensor.reshape(tuple(batch) + tuple(tensor.shape[1:])).to(like.device)

        return result.map(to_caller)

    def _solve_flat(self, z_start, z_end):
        """Solve on flat work tensors ``[p, d]``; returns a GeodesicResult."""
        chart = self.chart
        n_pairs, dim = z_start.shape
        n_nodes = self.n_nodes
        fine_nodes = 2 * n_nodes if self.extrapolate else n_nodes
        max_pairs = self.max_pairs or max(
            1, chart.max_elements // max(1, fine_nodes * chart.embedding_dim * dim)
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
            chart, nodes[todo], tol, self.max_iter, hessian=self.method
        )
        iterations[todo] += its
        converged[todo] &= conv
        velocity_c = initial_velocity(chart, coarse)
        energy_c, chord_c = energy_and_chords(chart.decode_nodes(coarse))
        if self.extrapolate:
            fine, its, conv, _ = minimize_path_energy(
                chart,
                refine_nodes(coarse),
                tol,
                self.max_iter,
                hessian=self.method,
                newton=newton,
            )
            iterations[todo] += its
            converged[todo] &= conv
            velocity_f = initial_velocity(chart, fine)
            energy_f, chord_f = energy_and_chords(chart.decode_nodes(fine))
            length = (4 * chord_f - chord_c) / 3
            velocity = (4 * velocity_f - velocity_c) / 3
            path_t, energy_t, chord_t = fine, energy_f, chord_f
        else:
            length, velocity = chord_c, velocity_c
            path_t, energy_t, chord_t = coarse, energy_c, chord_c
        # Rescale the velocity so that its metric norm is the distance.
        _, pushed = chart.pushforward(z_start[todo].contiguous(), velocity)
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
        exp_solver = self.exp_solver or GeodesicODEExpSolver(self.chart)
        return exp_solver.geodesic_ivp(self.log(point, base_point), base_point)


def warn_unconverged(converged, batch_shape, what):
    """Emit a :class:`ConvergenceWarning` naming the solves that did not converge.

    Parameters
    ----------
    converged : torch.Tensor of bool, shape=[...]
    batch_shape : tuple of int
        Batch shape the flat indices of the message refer to.
    what : str
        Name of the computation.
    """
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


