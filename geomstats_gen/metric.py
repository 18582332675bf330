"""The pullback metric of a decoder, computed with forward-mode autodiff."""

import torch
from geomstats.geometry.pullback_metric import PullbackMetric

from geomstats_gen.core.chart import as_chart
from geomstats_gen.core.checks import as_tensor, check_finite
from geomstats_gen.core.linalg import (
    inverse_metric_from_jacobian,
    metric_from_jacobian,
    pullback_solve,
)
from geomstats_gen.geometry.equations import geodesic_acceleration
from geomstats_gen.geometry.exp import GeodesicODEExpSolver
from geomstats_gen.geometry.log import DiscreteEnergyLogSolver
from geomstats_gen.metric_curvature import CurvatureMethods, required_base_point
from geomstats_gen.metric_geodesics import GeodesicMethods


class DecoderPullbackMetric(GeodesicMethods, CurvatureMethods, PullbackMetric):
    r"""Pullback of the Euclidean metric by a decoder, :math:`G = J^T J`.

    A drop-in replacement for Geomstats' ``PullbackMetric`` on a
    :class:`~geomstats_gen.GeneratedManifold`: the same methods and shapes,
    computed with batched ``torch.func`` forward-mode derivatives instead of
    per-output Hessians. Inner products and norms use one JVP per vector and
    never form :math:`G`; the geodesic equation uses the Jacobian and one
    forward-over-forward JVP, :math:`\ddot z = -G^{-1} J^T\, d^2g[\dot z, \dot z]`.

    Every method accepts leading batch dimensions that broadcast together,
    and returns results in the dtype (promoted over the arguments) and on
    the device of its first argument.

    Parameters
    ----------
    space : GeneratedManifold
        The latent space.
    signature : tuple, optional
        Passed to Geomstats.
    n_nodes : int
        Segments of the coarsest discrete geodesic of the log map (see
        :class:`~geomstats_gen.geodesics.DiscreteEnergyLogSolver`; paths of
        ``2 n_nodes`` and ``4 n_nodes`` segments are solved too).
    rtol : float, optional
        Relative tolerance on geodesic lengths: pairs whose error estimate
        misses it are refined, up to ``max_nodes`` segments, and flagged
        when still unresolved. Default: ``1e-6`` for float64 decoders,
        ``1e-5`` for float32 ones.
    max_nodes : int
        Cap on the segments of a refined discrete geodesic.
    tol : float, optional
        Relative tolerance of the energy minimiser on node moves; default
        depends on the decoder's dtype (``1e-10`` for float64, ``2e-5`` for
        float32).
    max_iter : int
        Iteration cap of the log map's solver (per resolution).
    extrapolate : bool
        Richardson extrapolation of the log map's lengths and velocities.
    n_steps : int
        Steps of the exp map's fixed-step integrators ``"rk4"`` and
        ``"projection"`` (:class:`~geomstats_gen.geodesics.GeodesicODEExpSolver`;
        the adaptive ``"dop853"`` and ``"dopri5"`` have ``rtol``, ``atol`` and
        ``max_steps`` there).
    exp_method : {"dop853", "dopri5", "rk4", "projection"}
        Integrator of the exp map: adaptive Dormand-Prince 8(5,3) (default)
        or 5(4), classical Runge-Kutta, or Shao et al.'s projection scheme.

    The solvers are the attributes ``log_solver`` and ``exp_solver``; their
    settings can be changed after construction, e.g.
    ``space.metric.log_solver.rtol = 1e-8``.
    """

    def __init__(
        self,
        space,
        signature=None,
        n_nodes=8,
        rtol=None,
        max_nodes=256,
        tol=None,
        max_iter=50,
        extrapolate=True,
        n_steps=100,
        exp_method="dop853",
    ):
        self.chart = as_chart(space)
        self._solver_options = dict(
            n_nodes=n_nodes,
            rtol=rtol,
            max_nodes=max_nodes,
            tol=tol,
            max_iter=max_iter,
            extrapolate=extrapolate,
            n_steps=n_steps,
            exp_method=exp_method,
        )
        super().__init__(space, signature=signature)

    def _instantiate_solvers(self):
        opts = self._solver_options
        self.exp_solver = GeodesicODEExpSolver(
            self.chart, n_steps=opts["n_steps"], method=opts["exp_method"]
        )
        self.log_solver = DiscreteEnergyLogSolver(
            self.chart,
            n_nodes=opts["n_nodes"],
            rtol=opts["rtol"],
            max_nodes=opts["max_nodes"],
            tol=opts["tol"],
            max_iter=opts["max_iter"],
            extrapolate=opts["extrapolate"],
            exp_solver=self.exp_solver,
        )

    # ------------------------------------------------------------------
    # Metric tensor
    # ------------------------------------------------------------------
    def metric_matrix(self, base_point=None):
        """Metric matrix ``G = J^T J`` at base points.

        Parameters
        ----------
        base_point : array-like, shape=[..., d]

        Returns
        -------
        mat : torch.Tensor, shape=[..., d, d]
        """
        return self.chart.evaluate(
            lambda z: metric_from_jacobian(self._checked_jacobian(z)),
            base_point=required_base_point(base_point),
        )

    def cometric_matrix(self, base_point=None):
        """Inverse metric matrix ``G^{-1}`` at base points.

        Computed from a Cholesky factorisation of ``G`` formed in float64.

        Parameters
        ----------
        base_point : array-like, shape=[..., d]

        Returns
        -------
        cometric : torch.Tensor, shape=[..., d, d]
        """
        return self.chart.evaluate(
            lambda z: inverse_metric_from_jacobian(self._checked_jacobian(z)),
            base_point=required_base_point(base_point),
        )

    def inner_product_derivative_matrix(self, base_point=None):
        r"""Derivatives of the metric matrix, :math:`\partial_k g_{ij}`.

        :math:`\partial_k g_{ij} = \langle \partial_k\partial_i g, \partial_j
        g\rangle + \langle \partial_i g, \partial_k\partial_j g\rangle`.

        Parameters
        ----------
        base_point : array-like, shape=[..., d]

        Returns
        -------
        metric_derivative : torch.Tensor, shape=[..., d, d, d]
            The derivation index ``k`` is last.
        """
        def kernel(z):
            jac = self._checked_jacobian(z)
            term = torch.einsum("naki,naj->nijk", self.chart.hessian(z), jac)
            return term + term.transpose(1, 2)

        return self.chart.evaluate(kernel, base_point=required_base_point(base_point))

    # ------------------------------------------------------------------
    # Inner products through JVPs
    # ------------------------------------------------------------------
    def inner_product(self, tangent_vec_a, tangent_vec_b, base_point=None):
        """Inner product ``<J a, J b>`` of tangent vectors, one JVP each.

        Parameters
        ----------
        tangent_vec_a : array-like, shape=[..., d]
        tangent_vec_b : array-like, shape=[..., d]
        base_point : array-like, shape=[..., d]

        Returns
        -------
        inner_product : torch.Tensor, shape=[...]
        """
        def kernel(a, b, z):
            pushed = self.chart.pushforward_many(z, torch.stack([a, b]))
            return (pushed[0] * pushed[1]).sum(-1)

        return self.chart.evaluate(
            kernel,
            tangent_vec_a=tangent_vec_a,
            tangent_vec_b=tangent_vec_b,
            base_point=required_base_point(base_point),
        )

    def squared_norm(self, vector, base_point=None):
        """Squared norm ``||J v||^2`` of tangent vectors, one JVP each.

        Parameters
        ----------
        vector : array-like, shape=[..., d]
        base_point : array-like, shape=[..., d]

        Returns
        -------
        sq_norm : torch.Tensor, shape=[...]
        """
        return self.norm(vector, base_point) ** 2

    def norm(self, vector, base_point=None):
        """Norm ``||J v||`` of tangent vectors, one JVP each.

        Parameters
        ----------
        vector : array-like, shape=[..., d]
        base_point : array-like, shape=[..., d]

        Returns
        -------
        norm : torch.Tensor, shape=[...]
        """
        return self.chart.evaluate(
            lambda v, z: torch.linalg.vector_norm(self.chart.pushforward_many(z, v[None])[0], dim=-1),
            vector=vector,
            base_point=required_base_point(base_point),
        )

    # ------------------------------------------------------------------
    # Connection
    # ------------------------------------------------------------------
    def christoffels(self, base_point=None):
        r"""Christoffel symbols :math:`\Gamma^k_{ij} = [G^{-1} J^T \partial_i\partial_j g]_k`.

        Parameters
        ----------
        base_point : array-like, shape=[..., d]

        Returns
        -------
        christoffels : torch.Tensor, shape=[..., d, d, d]
            The contravariant index ``k`` is first (Geomstats' convention).
        """
        dim = self.chart.latent_dim

        def kernel(z):
            jac = self._checked_jacobian(z)
            hess = self.chart.hessian(z)
            gamma = pullback_solve(jac, hess.reshape(*hess.shape[:2], dim * dim))
            return gamma.reshape(-1, dim, dim, dim)

        return self.chart.evaluate(kernel, base_point=required_base_point(base_point))

    def geodesic_equation(self, state):
        r"""Right-hand side of the geodesic ODE as a first-order system.

        :math:`(\dot z, \ddot z)` with
        :math:`\ddot z = -G^{-1} J^T\, d^2 g(z)[\dot z, \dot z]`: one
        Jacobian (``d`` JVPs) and one forward-over-forward JVP per point.

        Parameters
        ----------
        state : array-like, shape=[..., 2, d]
            Positions ``state[..., 0, :]`` and velocities ``state[..., 1, :]``.

        Returns
        -------
        derivative : torch.Tensor, shape=[..., 2, d]
            Velocities and accelerations.
        """
        chart = self.chart
        state = as_tensor(state, "state")
        if state.ndim < 2 or state.shape[-2:] != (2, chart.latent_dim):
            raise ValueError(
                f"`state` must have shape [..., 2, {chart.latent_dim}] (positions "
                f"and velocities), got {tuple(state.shape)}."
            )
        check_finite(state, "state")
        return chart.evaluate(
            lambda z, v: torch.stack([v, geodesic_acceleration(chart, z, v)], dim=-2),
            position=state[..., 0, :],
            velocity=state[..., 1, :],
        )

    def _checked_jacobian(self, z):
        """Jacobian at flat work points, with the immersion check of ``base_point``."""
        jac = self.chart.jacobian(z)
        self.chart.check_immersion(jac, "base_point")
        return jac
