"""Exact curvature from the Gauss equation (compatibility module).

The implementation lives in :mod:`geomstats_gen.geometry.curvature`; its
functions take a :class:`~geomstats_gen.GeneratedManifold` (or its chart).
"""

from geomstats_gen.geometry.curvature import (  # noqa: F401
    PiecewiseLinearWarning,
    __all__,
    covariant_riemann_tensor,
    curvature,
    is_piecewise_linear,
    mean_curvature_vector,
    ricci_tensor,
    riemann_tensor,
    scalar_curvature,
    second_fundamental_form,
    sectional_curvature,
)
