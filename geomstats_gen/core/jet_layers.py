"""The elementwise layers of the forward jets (:mod:`~geomstats_gen.core.jets`).

Each activation ``y = sigma(a)`` gives ``(sigma'(a), sigma''(a))`` from its
input and output (:data:`ACTIVATIONS`), and :func:`elementwise_step` carries
tangents and second-order terms through it.
"""

import math

import torch
from torch import nn

__all__ = ["ACTIVATIONS", "elementwise_step"]

_SQRT_2PI = math.sqrt(2 * math.pi)


def _tanh(layer, a, y):
    d1 = 1 - y * y
    return d1, -2 * y * d1


def _sigmoid(layer, a, y):
    d1 = y * (1 - y)
    return d1, d1 * (1 - 2 * y)


def _relu(layer, a, y):
    return (a > 0).to(a.dtype), None


def _leaky_relu(layer, a, y):
    one = torch.ones((), dtype=a.dtype, device=a.device)
    return torch.where(a > 0, one, layer.negative_slope), None


def _elu(layer, a, y):
    inside = (a > 0).to(a.dtype)
    d2 = (1 - inside) * (y + layer.alpha)
    return inside + d2, d2


def _softplus(layer, a, y):
    # torch's softplus is the identity where beta a > threshold
    scaled = a if layer.beta == 1 else layer.beta * a
    linear = scaled > layer.threshold
    s = torch.sigmoid(scaled)
    curve = s * (1 - s)
    if layer.beta != 1:
        curve = layer.beta * curve
    # in place but where sigmoid's backward needs s
    d1 = s.masked_fill(linear, 1.0) if s.requires_grad else s.masked_fill_(linear, 1.0)
    return d1, curve.masked_fill_(linear, 0.0)


def _silu(layer, a, y):
    s = torch.sigmoid(a)
    return s * (1 + a * (1 - s)), s * (1 - s) * (2 + a * (1 - 2 * s))


def _gelu(layer, a, y):
    density = torch.exp(-0.5 * a * a) / _SQRT_2PI
    cdf = 0.5 * (1 + torch.erf(a / math.sqrt(2)))
    return cdf + a * density, density * (2 - a * a)


#: Elementwise activations: ``(layer, a, y) -> (sigma'(a), sigma''(a))``
#: (``None`` for a second derivative that vanishes almost everywhere).
ACTIVATIONS = {
    nn.Tanh: _tanh,
    nn.Sigmoid: _sigmoid,
    nn.ReLU: _relu,
    nn.LeakyReLU: _leaky_relu,
    nn.ELU: _elu,
    nn.Softplus: _softplus,
    nn.SiLU: _silu,
    nn.GELU: _gelu,
}


def _combine(coefs, t):
    """``sum_m coefs[:, k, m] t[:, m]``: ``[n, k, m] x [n, m, ...] -> [n, k, ...]``."""
    return (coefs @ t.flatten(2)).reshape(coefs.shape[:2] + t.shape[2:])


def elementwise_step(d1, d2, t, s, vs, ws, out=None):
    """Tangents and second-order terms through an elementwise map with derivatives ``d1, d2``.

    ``t -> d1 t`` and ``s -> d1 s + d2 t_v t_w`` (``t_v = vs . t``); ``s``
    None means zero so far, ``d2`` None a map without curvature. Shapes:
    ``d1, d2 [n, ...]``, ``t [n, m, ...]``, ``s [n, k, ...]``, ``vs, ws [n, k, m]``.
    With ``out`` (``[n, m + k, ...]``, and second derivatives asked for and
    not all zero), the new ``t`` and ``s`` are written into it and returned
    as its views (the rows of the next layer's one product, without a copy).
    """
    d1 = d1.unsqueeze(1)
    m = t.shape[1]
    t_new = d1 * t if out is None else torch.mul(d1, t, out=out[:, :m])
    if vs is None or (s is None and d2 is None):
        return t_new, s
    slot = None if out is None else out[:, m:]
    if d2 is None:
        return t_new, d1 * s if slot is None else torch.mul(d1, s, out=slot)
    t_v = _combine(vs, t)
    t_w = t_v if ws is vs else _combine(ws, t)
    curved = d2.unsqueeze(1) * t_v
    if s is None:
        return t_new, curved * t_w if slot is None else torch.mul(curved, t_w, out=slot)
    if slot is None:
        return t_new, torch.addcmul(d1 * s, curved, t_w)
    return t_new, torch.addcmul(d1 * s, curved, t_w, out=slot)
