"""Reference implementations for tests and benchmarks.

:class:`StockPullbackSpace` is the baseline that geomstats-gen replaces: a
plain Geomstats ``ImmersedSet`` whose immersion is a decoder, equipped with
Geomstats' stock ``PullbackMetric`` (per-point Jacobians and Hessians from
Geomstats' pytorch autodiff, a shooting log and a 100-step Euler exp). It is
slow by design and meant for comparisons only.
"""

import torch
from geomstats.geometry.base import ImmersedSet
from geomstats.geometry.euclidean import Euclidean
from geomstats.geometry.pullback_metric import PullbackMetric


class StockPullbackSpace(ImmersedSet):
    """A plain Geomstats ImmersedSet with the stock ``PullbackMetric``.

    Parameters
    ----------
    decoder : callable
        Maps latent codes ``[n, d]`` to outputs ``[n, ...]`` (use a float64
        decoder: the stock metric computes in Geomstats' dtype).
    latent_dim : int
    embedding_dim : int
        Size of the flattened decoder output.
    """

    def __init__(self, decoder, latent_dim, embedding_dim):
        # ImmersedSet.__init__ calls _define_embedding_space: set these first.
        self.decoder = decoder
        self.embedding_dim = embedding_dim
        super().__init__(dim=latent_dim, equip=False)
        self.equip_with_metric(PullbackMetric)

    def _define_embedding_space(self):
        return Euclidean(self.embedding_dim)

    def immersion(self, point):
        """Decoder output, flattened, shape ``[..., D]``."""
        flat = point.reshape(-1, self.dim)
        out = self.decoder(flat).reshape(flat.shape[0], self.embedding_dim)
        return out.reshape(*point.shape[:-1], self.embedding_dim)

    def belongs(self, point, atol=None):
        """Finite latent codes belong."""
        return torch.isfinite(point).all(dim=-1)

    def is_tangent(self, vector, base_point=None, atol=None):
        """Finite vectors are tangent."""
        return torch.isfinite(vector).all(dim=-1)

    def to_tangent(self, vector, base_point=None):
        """Identity (intrinsic coordinates)."""
        return vector

    def projection(self, point):
        """Identity (intrinsic coordinates)."""
        return point

    def random_point(self, n_samples=1, bound=1.0):
        """Uniform in ``[-bound, bound]^d``, CPU float64."""
        out = (torch.rand(n_samples, self.dim, dtype=torch.float64) * 2 - 1) * bound
        return out[0] if n_samples == 1 else out
