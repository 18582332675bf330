"""The decoder and its derivatives on flat work tensors ``[n, d]``.

The methods :class:`~geomstats_gen.core.chart.DecoderChart` gives the
geometry kernels: the flattened decoder and its Jacobians, pushforwards,
second directional derivatives and Hessians
(:mod:`~geomstats_gen.core.jets` for a sequential decoder of known layers or
one with closed-form derivatives,
else :mod:`~geomstats_gen.core.autodiff` and :mod:`~geomstats_gen.core.reverse`),
each chunked under the chart's ``max_elements``, and float32-accurate
Jacobians for preconditioners (:mod:`~geomstats_gen.core.twin`).
"""

import torch

from geomstats_gen.core import autodiff, reverse
from geomstats_gen.core.chunking import chunked

__all__ = ["ChartDerivatives"]


class ChartDerivatives:
    """Derivatives of ``self.decoder`` on work tensors (a mixin of ``DecoderChart``).

    Needs ``decoder``, ``latent_dim``, ``embedding_dim``, ``chunk``, ``metric_chart``,
    ``_twin`` (a :class:`~geomstats_gen.core.twin.LowPrecisionTwin`) and
    ``_jet`` (from :func:`~geomstats_gen.core.jets.jet_of`).
    """

    def jet(self):
        """The decoder's jet (:mod:`~geomstats_gen.core.jets`) if it has one usable now, else None."""
        jet = self._jet
        return jet if jet is not None and jet.usable() else None

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
        jet = self.jet()
        if jet is not None:
            chunk = self.chunk(self.embedding_dim * self.latent_dim)
            return chunked(jet.value_and_jacobian, chunk, z)
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
        if self.jet() is not None:
            return self.value_and_jacobian(z)[1]
        return autodiff.jacobian(
            self.decode,
            z,
            chunk_size=self.chunk(self.embedding_dim * self.latent_dim),
            out_dim=self.embedding_dim,
        )

    def hessian(self, z):
        """Hessian ``[n, D, d, d]`` at work points ``[n, d]``."""
        jet = self.jet()
        if jet is not None:
            dim = self.latent_dim
            chunk = self.chunk(self.embedding_dim * (dim + dim * (dim + 1) // 2 + dim * dim))
            return chunked(jet.hessian, chunk, z)
        return autodiff.hessian(
            self.decode, z, chunk_size=self.chunk(self.embedding_dim * self.latent_dim**2)
        )

    def pushforward(self, z, v):
        """``(g(z), J(z) v)``, each ``[n, D]``."""
        jet = self.jet()
        if jet is not None:
            value, first = chunked(
                jet.pushforward_many, self.chunk(2 * self.embedding_dim), z, v[:, None]
            )
            return value, first[:, 0]
        return autodiff.pushforward(
            self.decode, z, v, chunk_size=self.chunk(self.embedding_dim), out_dim=self.embedding_dim
        )

    def pushforward_many(self, z, vs):
        """``J(z) v_k`` for ``vs [k, n, d]``: ``[k, n, D]``."""
        jet = self.jet()
        if jet is not None:
            chunk = self.chunk(self.embedding_dim * (vs.shape[0] + 1))
            return chunked(jet.pushforward_many, chunk, z, vs.movedim(0, 1))[1].movedim(1, 0)
        return autodiff.pushforward_many(
            self.decode, z, vs, chunk_size=self.chunk(self.embedding_dim * vs.shape[0])
        )

    def second_derivative(self, z, v, w):
        """``(g(z), J(z) v, d^2 g(z)[v, w])``, each ``[n, D]`` (``w`` may be ``v``)."""
        jet = self.jet()
        if jet is not None:
            chunk = self.chunk(self.embedding_dim * 4)
            if w is v:
                return chunked(lambda zz, vv: jet.second_derivative(zz, vv, vv), chunk, z, v)
            return chunked(jet.second_derivative, chunk, z, v, w)
        return autodiff.second_derivative(
            self.decode, z, v, w, chunk_size=self.chunk(self.embedding_dim * 3)
        )

    def jacobian_and_seconds(self, z, vs, ws):
        """``J(z) [n, D, d]`` and ``d^2 g(z)[v_j, w_j] [k, n, D]`` for ``vs, ws [k, n, d]``.

        One pass of the :meth:`jet` where there is one (``ws`` may be
        ``vs``: each second derivative is then along one direction), else
        one graph where ``d + k`` is small (see
        :func:`.autodiff.jacobian_and_seconds`).
        """
        jet = self.jet()
        if jet is not None:
            chunk = self.chunk(self.embedding_dim * (self.latent_dim + vs.shape[0]))

            def one_chunk(zz, vv, ww=None):
                _, jac, second = jet.second_derivatives(zz, vv, vv if ww is None else ww, value=False)
                return jac, second

            tensors = (z, vs.movedim(0, 1)) + (() if ws is vs else (ws.movedim(0, 1),))
            jac, second = chunked(one_chunk, chunk, *tensors)
            return jac, second.movedim(1, 0)
        return autodiff.jacobian_and_seconds(
            self.decode, z, vs, ws,
            chunk_sizes=(
                self.chunk(self.embedding_dim * self.latent_dim),
                self.chunk(self.embedding_dim * 3),
                self.chunk(self.embedding_dim * (self.latent_dim + vs.shape[0])),
            ),
            out_dim=self.embedding_dim,
        )

    def metric_jacobian_and_seconds(self, z, vs, ws):
        """:meth:`jacobian_and_seconds` in output coordinates isometric to ``g``'s.

        Returns ``(J~ [n, D', d], s~ [k, n, D'])`` with ``J~^T J~ = J^T J``
        and ``J~^T s~_j = J^T d^2 g[v_j, w_j]``: all the geodesic and
        transport equations take: those of the chart's ``metric_chart()``
        (for a decoder that ends with a wide linear layer, with grad mode
        off, its features through ``R``, :mod:`~geomstats_gen.core.isometry`,
        ``D' < D``; else ``J`` and the second derivatives themselves).
        """
        return self.metric_chart().jacobian_and_seconds(z, vs, ws)

    def second_derivatives(self, z, vs, ws):
        """``d^2 g(z)[v_k, w_k]`` for ``vs, ws [n, k, d]``: ``[n, D, k]``."""
        jet = self.jet()
        if jet is not None:
            chunk = self.chunk(self.embedding_dim * (self.latent_dim + vs.shape[1]))
            second = chunked(
                lambda *t: jet.second_derivatives(*t, value=False)[2], chunk, z, vs, ws
            )
            return second.transpose(1, 2)
        return autodiff.second_derivatives(
            self.decode, z, vs, ws, chunk_size=self.chunk(self.embedding_dim * (vs.shape[1] + 2))
        )

    @property
    def has_closed_form_hessian(self):
        """Whether :meth:`weighted_hessian` is closed form (else autograd's double backward)."""
        jet = self.jet()
        return jet is not None and jet.weighted_hessian is not None

    def weighted_hessian(self, z, weights):
        """Hessian ``[n, d, d]`` of ``z -> <weights, g(z)>``."""
        jet = self.jet()
        if jet is not None and jet.weighted_hessian is not None:
            chunk = self.chunk(self.embedding_dim * self.latent_dim)
            return chunked(jet.weighted_hessian, chunk, z, weights)
        return autodiff.weighted_hessian(
            self.decode, z, weights, chunk_size=self.chunk(self.embedding_dim * self.latent_dim)
        )
