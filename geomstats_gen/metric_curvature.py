"""The curvature methods of :class:`~geomstats_gen.DecoderPullbackMetric`.

A mixin of the façade: each method validates nothing itself and delegates
to :mod:`geomstats_gen.geometry.curvature` (the Gauss equation: second
derivatives only, no third derivatives) on the metric's chart.
"""

from geomstats_gen.geometry import curvature

__all__ = ["CurvatureMethods", "required_base_point"]


def required_base_point(base_point):
    """``base_point``, or a ValueError: the pullback metric depends on the point."""
    if base_point is None:
        raise ValueError(
            "`base_point` is required: the pullback metric depends on the point."
        )
    return base_point


class CurvatureMethods:
    """Geomstats' curvature API on a metric with a ``chart`` attribute."""

    def second_fundamental_form(self, base_point):
        """Second fundamental form ``(I - J G^{-1} J^T) d_i d_j g``.

        Parameters
        ----------
        base_point : array-like, shape=[..., d]

        Returns
        -------
        second_fundamental_form : torch.Tensor, shape=[..., D, d, d]
            Ambient index first (Geomstats' convention).
        """
        return curvature.second_fundamental_form(self.chart, base_point)

    def mean_curvature_vector(self, base_point):
        """Mean curvature vector ``G^{ij} II_ij`` (no ``1/d`` factor).

        Parameters
        ----------
        base_point : array-like, shape=[..., d]

        Returns
        -------
        mean_curvature_vector : torch.Tensor, shape=[..., D]
        """
        return curvature.mean_curvature_vector(self.chart, base_point)

    def riemann_tensor(self, base_point=None):
        """Riemann tensor ``R^l_{ijk}`` from the Gauss equation (no third derivatives).

        Parameters
        ----------
        base_point : array-like, shape=[..., d]

        Returns
        -------
        riemann_tensor : torch.Tensor, shape=[..., d, d, d, d]
            ``[..., i, j, k, l] = dx^l(R(e_j, e_k) e_i)`` (Geomstats' order).
        """
        return curvature.riemann_tensor(self.chart, required_base_point(base_point))

    def covariant_riemann_tensor(self, base_point=None):
        """Covariant Riemann tensor ``R_{ijkl} = <R(e_k, e_l) e_j, e_i>``.

        Parameters
        ----------
        base_point : array-like, shape=[..., d]

        Returns
        -------
        covariant_riemann_tensor : torch.Tensor, shape=[..., d, d, d, d]
        """
        return curvature.covariant_riemann_tensor(self.chart, required_base_point(base_point))

    def curvature(self, tangent_vec_a, tangent_vec_b, tangent_vec_c, base_point=None):
        """Curvature operator ``R(a, b) c``, from second directional derivatives.

        Parameters
        ----------
        tangent_vec_a, tangent_vec_b, tangent_vec_c : array-like, shape=[..., d]
        base_point : array-like, shape=[..., d]

        Returns
        -------
        curvature : torch.Tensor, shape=[..., d]
        """
        return curvature.curvature(
            self.chart, tangent_vec_a, tangent_vec_b, tangent_vec_c, required_base_point(base_point)
        )

    def sectional_curvature(self, tangent_vec_a, tangent_vec_b, base_point=None):
        """Sectional curvature of the plane spanned by two tangent vectors.

        Three forward-over-forward JVPs per plane; no Hessian tensor.

        Parameters
        ----------
        tangent_vec_a, tangent_vec_b : array-like, shape=[..., d]
        base_point : array-like, shape=[..., d]

        Returns
        -------
        sectional_curvature : torch.Tensor, shape=[...]
            Zero for parallel vectors.
        """
        return curvature.sectional_curvature(
            self.chart, tangent_vec_a, tangent_vec_b, required_base_point(base_point)
        )

    def ricci_tensor(self, base_point=None):
        """Ricci tensor ``R^j_{ijk}``.

        Parameters
        ----------
        base_point : array-like, shape=[..., d]

        Returns
        -------
        ricci_tensor : torch.Tensor, shape=[..., d, d]
        """
        return curvature.ricci_tensor(self.chart, required_base_point(base_point))

    def scalar_curvature(self, base_point=None):
        """Scalar curvature (``2 K`` on a surface).

        Parameters
        ----------
        base_point : array-like, shape=[..., d]

        Returns
        -------
        scalar_curvature : torch.Tensor, shape=[...]
        """
        return curvature.scalar_curvature(self.chart, required_base_point(base_point))
