"""The decoder and its derivatives on flat work tensors ``[n, d]``.

The methods :class:`~geomstats_gen.core.chart.DecoderChart` gives the
geometry kernels: the flattened decoder and its Jacobians, pushforwards,
second directional derivatives and Hessians
(:mod:`~geomstats_gen.core.autodiff`, :mod:`~geomstats_gen.core.reverse`),
each chunked under the chart's ``max_elements``, and float32-accurate
Jacobians for preconditioners (:mod:`~geomstats_gen.core.twin`).
"""

import torch

from geomstats_gen.core import autodiff, reverse

__all__ = ["ChartDerivatives"]


class ChartDerivatives:
    """Derivatives of ``self.decoder`` on work tensors (a mixin of ``DecoderChart``).

    Needs ``decoder``, ``latent_dim``, ``embedding_dim``, ``chunk`` and
    ``_twin`` (a :class:`~geomstats_gen.core.twin.LowPrecisionTwin`).
    """

    def decode(self, z):
        """Flattened decoder output: ``[n, d] -> [n, D]`` (work tensors)."""
        out = self.decoder(z)
        return out.reshape(out.shape[0], self.embedding_dim)

    def decode_nodes(self, z):
        """Decode work points of any batch shape, ``[..., d] -> [..., D]``."""
        out = self.decode(z.reshape(-1, z.shape[-1]))
        return out.reshape(*z.shape[:-1], out.shape[-1])

    def value_and_jacobian(self, z):
        """``g(z) [n, D]`` and ``J(z) [n, D, d]``."""
        return autodiff.value_and_jacobian(
            self.decode,
            z,
            chunk_size=self.chunk(self.embedding_dim * self.latent_dim),
            out_dim=self.embedding_dim,
        )

    def value_and_pullback(self, z):
        """``g(z) [n, D]`` and ``w -> J(z)^T w`` (one reverse pass, see :mod:`.reverse`)."""
        return reverse.value_and_pullback(self.decode, z)

    @property
    def has_approximate_jacobian(self):
        """Whether :meth:`approximate_jacobian` is cheaper than :meth:`jacobian` here."""
        return self._twin.available

    def approximate_jacobian(self, z):
        """Jacobian ``[n, D, d]`` to float32 accuracy for preconditioners (:mod:`.twin`); None if none."""
        if torch.is_grad_enabled():
            return None
        chunk = self.chunk(self.embedding_dim * self.latent_dim)
        return self._twin.jacobian(z, self.embedding_dim, chunk)

    def jacobian(self, z):
        """Jacobian ``[n, D, d]`` at work points ``[n, d]``."""
        return autodiff.jacobian(
            self.decode,
            z,
            chunk_size=self.chunk(self.embedding_dim * self.latent_dim),
            out_dim=self.embedding_dim,
        )

    def hessian(self, z):
        """Hessian ``[n, D, d, d]`` at work points ``[n, d]``."""
        return autodiff.hessian(
            self.decode, z, chunk_size=self.chunk(self.embedding_dim * self.latent_dim**2)
        )

    def pushforward(self, z, v):
        """``(g(z), J(z) v)``, each ``[n, D]``."""
        return autodiff.pushforward(
            self.decode, z, v, chunk_size=self.chunk(self.embedding_dim), out_dim=self.embedding_dim
        )

    def pushforward_many(self, z, vs):
        """``J(z) v_k`` for ``vs [k, n, d]``: ``[k, n, D]``."""
        return autodiff.pushforward_many(
            self.decode, z, vs, chunk_size=self.chunk(self.embedding_dim * vs.shape[0])
        )

    def second_derivative(self, z, v, w):
        """``(g(z), J(z) v, d^2 g(z)[v, w])``, each ``[n, D]``."""
        return autodiff.second_derivative(
            self.decode, z, v, w, chunk_size=self.chunk(self.embedding_dim * 3)
        )

    def jacobian_and_seconds(self, z, vs, ws):
        """``J(z) [n, D, d]`` and ``d^2 g(z)[v_j, w_j] [k, n, D]`` for ``vs, ws [k, n, d]``.

        One graph where ``d + k`` is small (see :func:`.autodiff.jacobian_and_seconds`).
        """
        return autodiff.jacobian_and_seconds(
            self.decode, z, vs, ws,
            chunk_sizes=(
                self.chunk(self.embedding_dim * self.latent_dim),
                self.chunk(self.embedding_dim * 3),
                self.chunk(self.embedding_dim * (self.latent_dim + vs.shape[0])),
            ),
            out_dim=self.embedding_dim,
        )

    def second_derivatives(self, z, vs, ws):
        """``d^2 g(z)[v_k, w_k]`` for ``vs, ws [n, k, d]``: ``[n, D, k]``."""
        return autodiff.second_derivatives(
            self.decode, z, vs, ws, chunk_size=self.chunk(self.embedding_dim * (vs.shape[1] + 2))
        )

    def weighted_hessian(self, z, weights):
        """Hessian ``[n, d, d]`` of ``z -> <weights, g(z)>``."""
        return autodiff.weighted_hessian(
            self.decode, z, weights, chunk_size=self.chunk(self.embedding_dim * self.latent_dim)
        )
