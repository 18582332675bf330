"""Encoder and decoder networks of the model zoo (float32, seeded init)."""

import math

import torch
from torch import nn

from geomstats_gen.core.jet_combinators import MeanJet
from geomstats_gen.decoders import ACTIVATIONS

F32 = torch.float32


def conv_depth(image_shape, max_layers=4):
    """Number of stride-2 convolutions that fit an image, by default.

    As many halvings (at most ``max_layers``) as keep both sides even and
    leave at least 4 pixels: 64 -> 4 layers, 32 -> 3, 28 -> 2, 8 -> 1.
    """
    height, width = image_shape
    depth = 0
    while depth < max_layers and height % 2 == 0 and width % 2 == 0 and min(height, width) >= 8:
        height, width = height // 2, width // 2
        depth += 1
    return depth


def _mlp(sizes, activation, last_activation=False):
    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(n_in, n_out, dtype=F32))
        if last_activation or i < len(sizes) - 2:
            layers.append(ACTIVATIONS[activation]())
    return layers


def build_networks(architecture, n_features, latent_dim, hidden_sizes, activation,
                   image_shape=None, channels=()):
    """Build the encoder ``[n, D] -> [n, 2 d]`` and decoder ``[n, d] -> [n, D]``.

    Parameters
    ----------
    architecture : {"mlp", "conv"}
    n_features : int
        ``D``, the number of pixels.
    latent_dim : int
        ``d``.
    hidden_sizes : tuple of int
        Dense layers between the input (or the convolutional features) and
        the latent code; the decoder mirrors them.
    activation : str
        A key of :data:`geomstats_gen.decoders.ACTIVATIONS`.
    image_shape : tuple of int, optional
        ``(H, W)``, needed for "conv".
    channels : tuple of int
        Channels of the stride-2 4x4 convolutions ("conv").

    Returns
    -------
    encoder, decoder : torch.nn.Module
        The encoder outputs the mean and log-variance concatenated; the
        decoder outputs the flat pre-activation (logits for a Bernoulli
        likelihood, the mean for a Gaussian one).
    """
    hidden = list(hidden_sizes)
    if architecture == "mlp":
        encoder = nn.Sequential(*_mlp([n_features, *hidden, 2 * latent_dim], activation))
        decoder = nn.Sequential(*_mlp([latent_dim, *hidden[::-1], n_features], activation))
        return encoder, decoder
    height, width = image_shape
    depth = len(channels)
    feat_h, feat_w = height // 2**depth, width // 2**depth
    n_feat = channels[-1] * feat_h * feat_w
    enc_layers = [nn.Unflatten(1, (1, height, width))]
    c_in = 1
    for c_out in channels:
        enc_layers += [nn.Conv2d(c_in, c_out, 4, stride=2, padding=1, dtype=F32),
                       ACTIVATIONS[activation]()]
        c_in = c_out
    enc_layers.append(nn.Flatten())
    enc_layers += _mlp([n_feat, *hidden, 2 * latent_dim], activation)
    dec_layers = _mlp([latent_dim, *hidden[::-1], n_feat], activation, last_activation=True)
    dec_layers.append(nn.Unflatten(1, (channels[-1], feat_h, feat_w)))
    rev = list(channels[::-1]) + [1]
    for i, (c_in, c_out) in enumerate(zip(rev[:-1], rev[1:])):
        dec_layers.append(nn.ConvTranspose2d(c_in, c_out, 4, stride=2, padding=1, dtype=F32))
        if i < len(rev) - 2:
            dec_layers.append(ACTIVATIONS[activation]())
    dec_layers.append(nn.Flatten())
    return nn.Sequential(*enc_layers), nn.Sequential(*dec_layers)


def reset_parameters(module, generator):
    """Re-initialise weights and biases from a private generator.

    PyTorch's default bounds (uniform in ``+-1/sqrt(fan_in)``) for linear,
    convolution and transposed convolution layers, drawn from ``generator``
    so the global random state is neither used nor changed.
    """
    for layer in module.modules():
        if isinstance(layer, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
            weight = layer.weight
            receptive = math.prod(weight.shape[2:]) if weight.ndim > 2 else 1
            fan_in = weight.shape[1] * receptive
            bound = 1.0 / math.sqrt(fan_in)
            with torch.no_grad():
                weight.copy_(_uniform(weight.shape, bound, generator))
                if layer.bias is not None:
                    layer.bias.copy_(_uniform(layer.bias.shape, bound, generator))


def _uniform(shape, bound, generator):
    return (torch.rand(shape, generator=generator, dtype=F32) * 2 - 1) * bound


class VAENet(nn.Module):
    """Encoder, decoder and (Gaussian) observation scale of a VAE.

    Parameters
    ----------
    encoder : torch.nn.Module
        ``[n, D] -> [n, 2 d]`` (means then log-variances).
    decoder : torch.nn.Module
        ``[n, d] -> [n, D]`` logits (Bernoulli) or means (Gaussian).
    latent_dim : int
    likelihood : {"bernoulli", "gaussian"}
    obs_std : float or None
        Gaussian observation standard deviation; None learns one scalar.
    """

    LOGVAR_RANGE = (-30.0, 20.0)
    LOG_STD_RANGE = (-7.0, 3.0)

    def __init__(self, encoder, decoder, latent_dim, likelihood, obs_std=None,
                 extra_decoders=()):
        super().__init__()
        self.encoder = encoder
        self.decoder = decoder
        if extra_decoders:  # an ensemble of decoders sharing the encoder
            self.extra_decoders = nn.ModuleList(extra_decoders)
        self.latent_dim = int(latent_dim)
        self.likelihood = likelihood
        if likelihood == "gaussian":
            if obs_std is None:
                self.log_std = nn.Parameter(torch.zeros((), dtype=F32))
            else:
                self.register_buffer(
                    "log_std", torch.tensor(math.log(obs_std), dtype=F32)
                )

    @property
    def decoders(self):
        """Every decoder: :attr:`decoder`, then the ensemble's other members."""
        extra = getattr(self, "extra_decoders", None)
        return [self.decoder] + ([] if extra is None else list(extra))

    def member_mean_decoders(self):
        """The mean-image decoder of each member, ``[n, d] -> [n, D]``, in eval mode.

        They share their weights with the decoders; a Bernoulli likelihood
        ends with a sigmoid (pixel probabilities).
        """
        if self.likelihood == "bernoulli":
            return [nn.Sequential(d, nn.Sigmoid()).eval() for d in self.decoders]
        return [nn.Sequential(d).eval() for d in self.decoders]

    def make_mean_decoder(self):
        """The decoder of the mean image, ``[n, d] -> [n, D]``, in eval mode.

        Shares its weights with :attr:`decoder`; ends with a sigmoid for a
        Bernoulli likelihood (pixel probabilities). For an ensemble, the
        average of the members' mean images (the predictive mean).
        """
        members = self.member_mean_decoders()
        return members[0] if len(members) == 1 else MeanOfDecoders(members).eval()

    def encode(self, x):
        """Means and log-variances of ``q(z | x)``, each ``[n, d]``."""
        out = self.encoder(x)
        mean, logvar = out[:, : self.latent_dim], out[:, self.latent_dim :]
        return mean, logvar.clamp(*self.LOGVAR_RANGE)

    def log_likelihood(self, x, z):
        """``log p(x | z)`` summed over pixels, ``[n]`` (ensembles: the members' mean)."""
        decoders = self.decoders
        if len(decoders) > 1:
            return torch.stack([self._log_likelihood(d, x, z) for d in decoders]).mean(0)
        return self._log_likelihood(self.decoder, x, z)

    def _log_likelihood(self, decoder, x, z):
        out = decoder(z)
        if self.likelihood == "bernoulli":
            return -nn.functional.binary_cross_entropy_with_logits(
                out, x, reduction="none"
            ).sum(dim=1)
        log_std = self.log_std.clamp(*self.LOG_STD_RANGE)
        resid = (x - out) * torch.exp(-log_std)
        per_pixel = -0.5 * resid.square() - log_std - 0.5 * math.log(2 * math.pi)
        return per_pixel.sum(dim=1)


class MeanOfDecoders(nn.Module):
    """The average output of several decoders, ``[n, d] -> [n, D]``."""

    def __init__(self, members):
        super().__init__()
        self.members = nn.ModuleList(members)

    def forward(self, z):
        """``[n, d] -> [n, D]``."""
        return torch.stack([m(z) for m in self.members]).mean(0)

    def make_jet(self, jet_of):
        """The members' jets averaged (see :mod:`geomstats_gen.core.jet_combinators`)."""
        return MeanJet.of(self, [jet_of(m) for m in self.members])
