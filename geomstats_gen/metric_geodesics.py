"""The geodesic methods of :class:`~geomstats_gen.DecoderPullbackMetric`.

A mixin of the façade: exp and log maps, distances and parallel transport,
each delegated to the solvers the metric holds (``log_solver``,
``exp_solver``: :mod:`geomstats_gen.geometry.log` and
:mod:`geomstats_gen.geometry.exp`) or to :mod:`geomstats_gen.geometry`, with
the immersion checks of the points the caller named.
"""

import torch

from geomstats_gen.core.checks import as_points
from geomstats_gen.core.linalg import symmetric_from_upper, upper_pairs
from geomstats_gen.geometry import transport
from geomstats_gen.geometry.distance import squared_distance, tracks_grad

__all__ = ["GeodesicMethods"]


class GeodesicMethods:
    """Geomstats' geodesic API on a metric with ``chart``, ``log_solver`` and ``exp_solver``."""

    def exp(self, tangent_vec, base_point):
        """Riemannian exponential, by integrating the geodesic ODE.

        See :class:`~geomstats_gen.geodesics.GeodesicODEExpSolver` (attribute
        ``exp_solver``) for the integrators and their settings.

        Parameters
        ----------
        tangent_vec : array-like, shape=[..., d]
        base_point : array-like, shape=[..., d]

        Returns
        -------
        end_point : torch.Tensor, shape=[..., d]

        Raises
        ------
        FloatingPointError
            If the integration blows up (non-finite end points), e.g. where
            the decoder's Jacobian loses rank along the geodesic; an
            :class:`~geomstats_gen.ImmersionWarning` is emitted first when
            it has lost rank at ``base_point``.
        """
        self.chart.check_immersion_at(base_point=base_point)
        end = self.exp_solver.exp(tangent_vec, base_point)
        if end.numel() and not bool(torch.isfinite(end).all()):
            raise FloatingPointError(
                "exp: the geodesic ODE blew up (non-finite end points); the decoder's "
                "Jacobian may lose rank along the geodesic, or the tangent vector is "
                "too long for the integrator."
            )
        return end

    def log(self, point, base_point):
        """Riemannian logarithm, from the connecting discrete geodesic.

        Parameters
        ----------
        point : array-like, shape=[..., d]
        base_point : array-like, shape=[..., d]

        Returns
        -------
        tangent_vec : torch.Tensor, shape=[..., d]
        """
        names = ("point", "base_point")
        return self.log_solver.solve(point, base_point, check_names=names).log

    def connecting_geodesic(self, point, base_point, warn=True):
        """Solve for the geodesics from ``base_point`` to ``point``, with diagnostics.

        Parameters
        ----------
        point : array-like, shape=[..., d]
        base_point : array-like, shape=[..., d]
        warn : bool
            Warn (:class:`~geomstats_gen.geodesics.ConvergenceWarning`) when
            some solves do not converge.

        Returns
        -------
        result : GeodesicResult
            ``path``, ``log``, ``length``, ``energy``, ``iterations``,
            ``converged``.
        """
        names = ("point", "base_point")
        return self.log_solver.solve(point, base_point, warn=warn, check_names=names)

    def squared_dist(self, point_a, point_b):
        """Squared geodesic distance.

        Parameters
        ----------
        point_a : array-like, shape=[..., d]
        point_b : array-like, shape=[..., d]

        Returns
        -------
        sq_dist : torch.Tensor, shape=[...]
        """
        if tracks_grad(point_a, point_b):
            return squared_distance(self.log_solver, point_a, point_b)
        return self.dist(point_a, point_b) ** 2

    def dist(self, point_a, point_b):
        """Geodesic distance, the (extrapolated) length of the connecting geodesic.

        Parameters
        ----------
        point_a : array-like, shape=[..., d]
        point_b : array-like, shape=[..., d]

        Returns
        -------
        dist : torch.Tensor, shape=[...]
        """
        if tracks_grad(point_a, point_b):
            return self.squared_dist(point_a, point_b).clamp_min(0).sqrt()
        names = ("point_b", "point_a")
        return self.log_solver.solve(point_b, point_a, check_names=names).length

    def dist_pairwise(self, points, n_jobs=1, **joblib_kwargs):
        """Pairwise geodesic distances, all pairs solved in batches.

        Parameters
        ----------
        points : array-like, shape=[n_samples, d]
        n_jobs, **joblib_kwargs
            Ignored; kept for Geomstats' signature (the solve is batched).

        Returns
        -------
        dist : torch.Tensor, shape=[n_samples, n_samples]
            Symmetric, zero diagonal.
        """
        points = as_points(points, "points", self.chart.latent_dim)
        if points.ndim != 2:
            raise ValueError(
                f"`points` must have shape [n_samples, {self.chart.latent_dim}], "
                f"got {tuple(points.shape)}."
            )
        n_samples = points.shape[0]
        rows, cols = upper_pairs(n_samples, device=points.device)
        if not rows.numel():
            return points.new_zeros((n_samples, n_samples))
        if tracks_grad(points):
            upper = self.dist(points[rows], points[cols])
        else:
            self.chart.check_immersion_at(points=points)  # once per point, not per pair
            upper = self.log_solver.solve(points[cols], points[rows]).length
        return symmetric_from_upper(upper, rows, cols, n_samples)

    def closest_neighbor_index(self, point, neighbors):
        """Index of the closest neighbour of each point.

        Parameters
        ----------
        point : array-like, shape=[..., d]
        neighbors : array-like, shape=[n_neighbors, d]

        Returns
        -------
        index : torch.Tensor of int64, shape=[...]
        """
        dim = self.chart.latent_dim
        point = as_points(point, "point", dim)
        neighbors = as_points(neighbors, "neighbors", dim)
        if neighbors.ndim != 2 or neighbors.shape[0] == 0:
            raise ValueError(
                f"`neighbors` must have shape [n_neighbors, {dim}] with "
                f"n_neighbors >= 1, got {tuple(neighbors.shape)}."
            )
        dists = self.dist(point[..., None, :], neighbors)
        return torch.argmin(dists, dim=-1)

    # ------------------------------------------------------------------
    # Parallel transport (see geomstats_gen.transport)
    # ------------------------------------------------------------------
    def parallel_transport(
        self, tangent_vec, base_point, direction=None, end_point=None, method="ode", n_steps=None
    ):
        """Parallel transport along the geodesic to ``end_point`` or along ``Exp(t direction)``.

        ``method="ode"`` (default) integrates the geodesic and transport
        equations together, with ``exp_solver``'s method and tolerances
        (adaptive Dormand-Prince by default; RK4 with ``n_steps`` steps when
        ``n_steps`` is given, or when the exp solver is a fixed-step one);
        ``method="projection"`` is Shao et al.'s scheme (push forward,
        project onto the next tangent space, rescale; first order). See
        :mod:`geomstats_gen.transport` for transport along any discrete path.

        Parameters
        ----------
        tangent_vec : array-like, shape=[..., d]
            Tangent vector at ``base_point``.
        base_point : array-like, shape=[..., d]
        direction : array-like, shape=[..., d], optional
            Initial velocity of the geodesic.
        end_point : array-like, shape=[..., d], optional
            End of the geodesic; exactly one of ``direction`` and
            ``end_point``.
        method : {"ode", "projection"}
        n_steps : int, optional
            Fixed RK4 steps along the geodesic. Default: the exp solver's
            integration (:meth:`GeodesicODEExpSolver.integrate_field`:
            ``exp_solver.n_steps`` RK4 steps unless its method is
            adaptive).

        Returns
        -------
        transported : torch.Tensor, shape=[..., d]
        """
        if direction is not None and end_point is None:
            self.chart.check_immersion_at(base_point=base_point)
        elif end_point is not None and direction is None:
            self.chart.check_immersion_at(end_point=end_point, base_point=base_point)
        return transport.parallel_transport(
            self.chart,
            tangent_vec,
            base_point,
            direction=direction,
            end_point=end_point,
            method=method,
            n_steps=n_steps,
            log_solver=self.log_solver,
            exp_solver=self.exp_solver,
        )
