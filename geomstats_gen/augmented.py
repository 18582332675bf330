r"""Decoders whose Euclidean pullback is a metric beyond the deterministic one.

Each wrapper is a torch module mapping latent codes to an *augmented* output
whose Euclidean pullback is the metric of interest, so a
:class:`~geomstats_gen.GeneratedManifold` built on it gets that metric and
every algorithm of the library (log, exp, transport, the Gauss-equation
curvature of the augmented immersion, the estimators, the report) runs on
it unchanged:

- :class:`StochasticDecoder`: ``x = mu(z) + sigma(z) * eps``, ``eps ~ N(0, I)``;
  the expected metric ``E[J_x^T J_x] = J_mu^T J_mu + J_sigma^T J_sigma``
  (the cross terms vanish as ``E[eps] = 0``) is the pullback through
  ``z -> (mu(z), sigma(z))`` (Arvanitidis, Hansen & Hauberg 2018).
- :class:`FisherRaoDecoder`: the Fisher-Rao metric of the decoder's output
  distribution (Arvanitidis et al. 2022): Bernoulli ``sum_k dp_k^2 /
  (p_k (1 - p_k))`` is the pullback through ``2 arcsin(sqrt(p))``;
  categorical ``sum_k dp_k^2 / p_k`` through ``2 sqrt(p)``; Gaussian with a
  fixed standard deviation ``s`` through ``mu / s``.
- :class:`EnsembleDecoder`: the expected metric of an ensemble,
  ``(1 / M) sum_m J_m^T J_m``, is the pullback through
  ``(g_1, ..., g_M) / sqrt(M)`` (Syrota et al. 2024).

Outputs are flattened per decoder and concatenated: ``[n, D_1 + D_2 ...]``.
"""

import math

import torch
from torch import nn

from geomstats_gen.core.checks import check_choice, check_number
from geomstats_gen.core.jet_combinators import ConcatJet, MapJet

__all__ = ["EnsembleDecoder", "FisherRaoDecoder", "StochasticDecoder"]

LIKELIHOODS = ("bernoulli", "categorical", "gaussian")


def _flat(out):
    return out.reshape(out.shape[0], -1)


def _check_module(value, name):
    if not callable(value):
        raise TypeError(f"`{name}` must be a callable torch module, got {type(value).__name__}.")
    return value


class StochasticDecoder(nn.Module):
    r"""The expected metric of a Gaussian decoder ``x = mu(z) + sigma(z) * eps``.

    Forward: ``z -> (mu(z), sigma(z))`` flattened and concatenated, whose
    Euclidean pullback is :math:`J_\mu^T J_\mu + J_\sigma^T J_\sigma`.

    Parameters
    ----------
    mean : callable
        ``[n, d] -> [n, ...]``, the mean ``mu``.
    std : callable
        ``[n, d] -> [n, ...]``, the standard deviation ``sigma`` (any shape;
        for a variance network growing away from the data, the metric grows
        there and geodesics follow the data).
    """

    def __init__(self, mean, std):
        super().__init__()
        self.mean = _check_module(mean, "mean")
        self.std = _check_module(std, "std")

    def forward(self, z):
        """``[n, d] -> [n, D_mu + D_sigma]``."""
        return torch.cat([_flat(self.mean(z)), _flat(self.std(z))], dim=-1)

    def make_jet(self, jet_of):
        """Forward jets of both networks, side by side (see :mod:`geomstats_gen.core.jets`)."""
        return ConcatJet.of(self, [jet_of(self.mean), jet_of(self.std)])


class FisherRaoDecoder(nn.Module):
    r"""The Fisher-Rao metric of a decoder's output distribution.

    Parameters
    ----------
    decoder : callable
        ``[n, d] -> [n, ...]``: probabilities (Bernoulli: each output in
        ``[0, 1]``; categorical: the last axis sums to 1), or logits with
        ``logits=True``, or the mean of a Gaussian.
    likelihood : {"bernoulli", "categorical", "gaussian"}
    scale : float, optional
        The fixed standard deviation ``s`` of a Gaussian likelihood
        (required for it; unused otherwise).
    logits : bool
        The decoder outputs logits (Bernoulli: ``sigmoid``; categorical:
        ``softmax`` over the last axis).
    eps : float
        Probabilities are squeezed affinely into ``[eps, 1 - eps]``
        (``p' = eps + (1 - 2 eps) p``; categorical: ``[eps, 1]`` then
        renormalised) before the square roots: the Fisher information
        diverges where ``p`` reaches 0 or 1, and the square root's derivative
        with it. The metric is then exactly the Fisher information of the
        squeezed probabilities: within a factor ``(1 - 2 eps)^2`` of the true
        one where ``p (1 - p) >> eps``, bounded by about ``1 / eps`` where
        the decoder saturates. ``eps = 0`` is allowed for decoders that stay
        inside ``(0, 1)``.
    """

    def __init__(self, decoder, likelihood="bernoulli", scale=None, logits=False, eps=1e-6):
        super().__init__()
        self.decoder = _check_module(decoder, "decoder")
        self.likelihood = check_choice(likelihood, "likelihood", LIKELIHOODS)
        if likelihood == "gaussian":
            if scale is None:
                raise ValueError("`scale` (the Gaussian's standard deviation) is required "
                                 "for likelihood='gaussian'.")
            self.scale = check_number(scale, "scale")
        else:
            self.scale = None
        if not isinstance(logits, bool):
            raise TypeError(f"`logits` must be a bool, got {logits!r}.")
        self.logits = logits
        self.eps = check_number(eps, "eps", low=0, high=0.5, low_open=False)

    def forward(self, z):
        """``[n, d] -> [n, D]``: coordinates in which the Fisher-Rao metric is Euclidean."""
        out = self.decoder(z)
        if self.likelihood == "categorical":
            p = torch.softmax(out, dim=-1) if self.logits else out
            if self.eps:
                p = (p + self.eps) / (1 + self.eps * p.shape[-1])
            return _flat(2 * torch.sqrt(p))
        return self._transform(_flat(out))[0]

    def _transform(self, out, derivatives=False):
        """Gaussian and Bernoulli coordinates of flat outputs, elementwise: ``(y, y', y'')``.

        Without ``derivatives`` the derivatives are None.
        """
        if self.likelihood == "gaussian":
            y = out / self.scale
            return y, (torch.full_like(y, 1 / self.scale) if derivatives else None), None
        # 2 arcsin(sqrt(p')) = arccos(1 - 2 p'), and 1 - 2 p' = (1 - 2 eps)(1 - 2 p)
        # for the squeezed p' = eps + (1 - 2 eps) p: fewer elementwise ops
        # (each costs Python-level work under torch.func)
        squeeze = 1 - 2 * self.eps
        tanh = torch.tanh(-0.5 * out) if self.logits else None
        centred = tanh if self.logits else 1 - 2 * out
        if self.eps:
            centred = centred * squeeze
        y = torch.arccos(centred)
        if not derivatives:
            return y, None, None
        # d/dx arccos(u) = -u' / sqrt(1 - u^2); d2: -u'' / r - u'^2 u / r^3
        if self.logits:
            du = -0.5 * squeeze * (1 - tanh * tanh)
            ddu = -0.5 * squeeze * tanh * (1 - tanh * tanh)
        else:
            du, ddu = torch.full_like(out, -2 * squeeze), None
        root = torch.sqrt(1 - centred * centred)
        d1 = -du / root
        d2 = -du * du * centred / root**3
        return y, d1, (d2 if ddu is None else d2 - ddu / root)

    def make_jet(self, jet_of):
        """The decoder's jet through the elementwise map (categorical: none, softmax couples)."""
        if self.likelihood == "categorical":
            return None
        return MapJet.of(self, [jet_of(self.decoder)], lambda out: self._transform(out, True))


class EnsembleDecoder(nn.Module):
    r"""The expected metric of an ensemble of decoders, :math:`\frac1M \sum_m J_m^T J_m`.

    Parameters
    ----------
    decoders : sequence of callables
        ``M >= 1`` decoders ``[n, d] -> [n, ...]`` (outputs of any shapes).
    """

    def __init__(self, decoders):
        super().__init__()
        decoders = list(decoders)
        if not decoders:
            raise ValueError("`decoders` must hold at least one decoder.")
        for k, decoder in enumerate(decoders):
            _check_module(decoder, f"decoders[{k}]")
        modules = [d for d in decoders if isinstance(d, nn.Module)]
        self.members = nn.ModuleList(modules) if len(modules) == len(decoders) else None
        self._decoders = decoders
        self.factor = 1.0 / math.sqrt(len(decoders))

    def forward(self, z):
        """``[n, d] -> [n, D_1 + ... + D_M]``, scaled by ``1 / sqrt(M)``."""
        decoders = self.members if self.members is not None else self._decoders
        return torch.cat([_flat(d(z)) for d in decoders], dim=-1) * self.factor

    def make_jet(self, jet_of):
        """The members' jets side by side, times ``1 / sqrt(M)``."""
        decoders = self.members if self.members is not None else self._decoders
        return ConcatJet.of(self, [jet_of(d) for d in decoders], self.factor)
