"""The exp map: the geodesic ODE integrated from an initial velocity.

``z'' = -G^{-1} J^T d^2 g[z', z']`` (:mod:`geomstats_gen.geometry.equations`)
integrated over ``t in [0, 1]``, batched over points, by an adaptive
Dormand-Prince pair, 8(5,3) (the default) or 5(4)
(:mod:`geomstats_gen.geometry.adaptive`), classical Runge-Kutta with fixed
steps, or Shao et al.'s first-order projection scheme
(:mod:`geomstats_gen.geometry.integrators`).
"""

import warnings

import torch
from geomstats.numerics.geodesic import ExpSolver

from geomstats_gen.core.chart import as_chart
from geomstats_gen.core.checks import check_choice, check_finite, check_positive_int
from geomstats_gen.exceptions import OutsideDomainWarning
from geomstats_gen.geometry.equations import geodesic_field
from geomstats_gen.geometry.adaptive import ADAPTIVE_METHODS, adaptive_rk
from geomstats_gen.geometry.integrators import projection_steps, rk4

__all__ = ["GeodesicODEExpSolver"]

EXP_METHODS = (*ADAPTIVE_METHODS, "rk4", "projection")


class GeodesicODEExpSolver(ExpSolver):
    """Exp map by integrating the geodesic ODE, batched.

    Parameters
    ----------
    space : DecoderChart or GeneratedManifold
    n_steps : int
        Steps of the fixed-step methods ``"rk4"`` and ``"projection"``.
    method : {"dop853", "dopri5", "rk4", "projection"}
        ``"dop853"`` (default): adaptive Dormand-Prince 8(5,3) on
        ``z'' = -G^{-1} J^T d^2 g[z', z']``, one step size per trajectory,
        local error below ``atol + rtol |y|`` in every component. Eighth
        order: at the float64 default tolerances it takes 2-3 times fewer
        field evaluations than ``"dopri5"``, adaptive Dormand-Prince 5(4),
        which costs less at loose tolerances. With either, when the
        chart has a ``domain_radius``, a geodesic that leaves that ball is
        stopped there (an :class:`~geomstats_gen.exceptions.OutsideDomainWarning`
        says how many), instead of integrating through a region where the
        decoder has no data.
        ``"rk4"``: classical Runge-Kutta with ``n_steps`` fixed steps (error
        ``O(n_steps^-4)``). ``"projection"``: Shao et al.'s scheme,
        ``z_{k+1} = z_k + v_k / n``, then ``v_{k+1} = J_{k+1}^+ J_k v_k``
        rescaled to the norm of ``J_k v_k`` (first order, no second
        derivatives), with ``n_steps`` steps.
    rtol, atol : float, optional
        Local error tolerances of the adaptive methods. Default: ``1e-8`` and
        ``1e-9`` for float64 decoders (end points within about ``4e-9 |v|``
        on the reference decoders, far inside the log map's ``1e-6``);
        ``3e-6`` and ``3e-7`` for float32 ones (end points as close to the
        float64 decoder's as at ``1e-7``, within the float32 decoder's own
        rounding: a median of ``6e-7 |v|`` on the reference MLPs).
    max_steps : int
        Cap on the accepted steps of the adaptive methods; a
        :class:`~geomstats_gen.exceptions.ConvergenceWarning` is emitted when
        it is reached.
    """

    def __init__(
        self, space, n_steps=100, method="dop853", rtol=None, atol=None, max_steps=1000
    ):
        super().__init__(solves_ivp=True)
        self.chart = as_chart(space)
        self.n_steps = n_steps
        self.method = method
        self.rtol = rtol
        self.atol = atol
        self.max_steps = max_steps

    def _check_settings(self):
        check_positive_int(self.n_steps, "n_steps")
        check_positive_int(self.max_steps, "max_steps")
        check_choice(self.method, "method", EXP_METHODS)

    def tolerances(self, dtype):
        """``(rtol, atol)`` of the adaptive methods for a state of ``dtype`` (the defaults where unset).

        Parameters
        ----------
        dtype : torch.dtype
            The working dtype (the decoder's).

        Returns
        -------
        rtol, atol : float
        """
        f64 = dtype == torch.float64
        defaults = (1e-8, 1e-9) if f64 else (3e-6, 3e-7)
        rtol = self.rtol if self.rtol is not None else defaults[0]
        atol = self.atol if self.atol is not None else defaults[1]
        return rtol, atol

    def integrate_field(self, field, state, what="exp"):
        """Integrate another field over ``t in [0, 1]`` with this solver's method and settings.

        The adaptive methods with their tolerances, ``"rk4"`` with ``n_steps`` steps
        (e.g. the geodesic and transport equations together).
        ``"projection"``, which has no field form, integrates with RK4 and
        ``n_steps`` steps too.

        Parameters
        ----------
        field : callable
            ``field(t, state)``, row by row.
        state : tuple of torch.Tensor, each shape=[n, ...]
        what : str
            Name of the computation in messages.

        Returns
        -------
        state : tuple of torch.Tensor
            At ``t = 1``.
        """
        self._check_settings()
        if self.method not in ADAPTIVE_METHODS:
            return rk4(field, state, self.n_steps)
        rtol, atol = self.tolerances(state[0].dtype)
        return adaptive_rk(field, state, rtol, atol, self.max_steps, self.method, what=what)

    def integrate(self, z, v, times=None):
        """Integrate on flat work tensors ``[n, d]`` over ``t in [0, 1]``.

        Parameters
        ----------
        z, v : torch.Tensor, shape=[n, d]
        times : torch.Tensor, shape=[n_t], optional
            Sorted times in ``[0, 1]`` at which the positions are wanted too
            (adaptive methods only: their dense output).

        Returns
        -------
        z, v : torch.Tensor, shape=[n, d]
            End points and end velocities.
        positions : torch.Tensor, shape=[n, n_t, d]
            Only with ``times``.
        """
        if self.method == "projection":
            n_steps = self.n_steps
            return projection_steps(
                self.chart, z, v, lambda _k, zz, vv: zz + vv / n_steps, n_steps
            )
        field = geodesic_field(self.chart)
        if self.method == "rk4":
            return rk4(field, (z, v), self.n_steps)
        rtol, atol = self.tolerances(z.dtype)
        radius = self.chart.domain_radius
        if radius is None:
            out = adaptive_rk(
                field, (z, v), rtol, atol, self.max_steps, self.method, "exp", times=times
            )
            return out if times is None else (*out[0], out[1][0])
        out = adaptive_rk(
            field, (z, v), rtol, atol, self.max_steps, self.method, "exp", times=times,
            stop=lambda state: torch.linalg.vector_norm(state[0], dim=-1) > radius,
        )
        (end, velocity), stopped = out[0], out[1]
        if bool(stopped.any()):
            warnings.warn(
                f"exp: {int(stopped.sum())} of {stopped.numel()} geodesics left the "
                f"decoder's domain (latent norm > domain_radius={radius:g}) and were "
                "stopped where they left it: their end points are on the way, not at "
                "t = 1.",
                OutsideDomainWarning,
                stacklevel=4,
            )
        return (end, velocity) if times is None else (end, velocity, out[2][0])

    def positions(self, z, v, times):
        """Positions ``Exp_z(t v)`` at the times ``t`` (any real), ``[n, n_t, d]``.

        One integration for all times with the adaptive methods (their dense output,
        times of each sign together); the fixed-step methods integrate every
        time in one batch.
        """
        n, dim = z.shape
        out = z.new_empty(n, times.shape[0], dim)
        for sign in (1.0, -1.0):
            sel = (times >= 0) if sign > 0 else (times < 0)
            if not bool(sel.any()):
                continue
            tau = times[sel].abs()
            span = tau.max()
            if float(span) == 0.0:
                out[:, sel] = z[:, None]
                continue
            grid, inverse = torch.unique(tau / span, sorted=True, return_inverse=True)
            if self.method in ADAPTIVE_METHODS:
                values = self.integrate(z, sign * span * v, times=grid)[2]
            else:
                n_t = grid.shape[0]
                vt = (sign * span * grid[None, :, None] * v[:, None]).reshape(-1, dim)
                zt = z[:, None].expand(-1, n_t, -1).reshape(-1, dim)
                values = self.integrate(zt, vt)[0].reshape(n, n_t, dim)
            out[:, sel] = values[:, inverse]
        return out

    def exp(self, tangent_vec, base_point):
        """Riemannian exponential of ``tangent_vec`` at ``base_point``.

        Parameters
        ----------
        tangent_vec : array-like, shape=[..., d]
        base_point : array-like, shape=[..., d]

        Returns
        -------
        end_point : torch.Tensor, shape=[..., d]
        """
        self._check_settings()
        return self.chart.evaluate(
            lambda v, z: self.integrate(z, v)[0], tangent_vec=tangent_vec, base_point=base_point
        )

    def geodesic_ivp(self, tangent_vec, base_point):
        """Geodesic ``t -> Exp_{base_point}(t tangent_vec)``.

        Parameters
        ----------
        tangent_vec : array-like, shape=[..., d]
        base_point : array-like, shape=[..., d]

        Returns
        -------
        path : callable
            ``path(t)`` for ``t`` of shape ``[n_t]`` (or a scalar) returns
            points of shape ``[..., n_t, d]``: one integration for all the
            times (the dense output of the adaptive methods), not one per time.
        """
        self._check_settings()
        chart = self.chart
        (v, z), batch, like = chart.prepare(tangent_vec=tangent_vec, base_point=base_point)

        def path(t):
            t = check_finite(torch.as_tensor(t, dtype=v.dtype, device=v.device).reshape(-1), "t")
            with torch.no_grad():
                positions = self.positions(z, v, t)
            return chart.finish(positions, batch, like)

        return path
