"""Every warning class of geomstats-gen, in one place.

Each is a :class:`UserWarning`, so ``warnings.simplefilter("error",
ImmersionWarning)`` (or pytest's ``-W``) can turn one kind into errors
without touching the others.
"""

__all__ = [
    "ConvergenceWarning",
    "ImmersionWarning",
    "OutsideDomainWarning",
    "PiecewiseLinearWarning",
    "PosteriorCollapseWarning",
]


class ConvergenceWarning(UserWarning):
    """A geodesic solve stopped before reaching its tolerance."""


class ImmersionWarning(UserWarning):
    """The decoder is not an immersion at some points: its Jacobian is
    (numerically) rank deficient, so the pullback metric is degenerate there."""


class OutsideDomainWarning(UserWarning):
    """Latent points lie outside the region where the decoder is trusted."""


class PiecewiseLinearWarning(UserWarning):
    """Curvature asked of a piecewise linear decoder (zero almost everywhere)."""


class PosteriorCollapseWarning(UserWarning):
    """Some latent dimensions of a trained model are inactive (posterior collapse)."""
