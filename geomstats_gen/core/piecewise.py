"""Whether a decoder is piecewise linear: a scan of its module types.

The curvature functions (:mod:`geomstats_gen.geometry.curvature`) warn on
such decoders, whose curvature is zero almost everywhere.
"""

import torch

__all__ = ["is_piecewise_linear"]

_nn = torch.nn

#: Activations and layers that are piecewise linear but not linear.
_PIECEWISE_LINEAR = (
    _nn.ReLU,
    _nn.ReLU6,
    _nn.LeakyReLU,
    _nn.PReLU,
    _nn.RReLU,
    _nn.Hardtanh,
    _nn.Threshold,
    _nn.Hardshrink,
    _nn.Softshrink,
    _nn.modules.pooling._MaxPoolNd,
    _nn.modules.pooling._AdaptiveMaxPoolNd,
)

#: Layers that are affine (in evaluation mode) or only move data around.
_AFFINE = (
    _nn.Linear,
    _nn.Identity,
    _nn.Flatten,
    _nn.Unflatten,
    _nn.modules.conv._ConvNd,
    _nn.modules.dropout._DropoutNd,
    _nn.modules.batchnorm._BatchNorm,
    _nn.modules.pooling._AvgPoolNd,
    _nn.modules.pooling._AdaptiveAvgPoolNd,
    _nn.Upsample,
    _nn.PixelShuffle,
    _nn.PixelUnshuffle,
    _nn.ZeroPad2d,
    _nn.ConstantPad1d,
    _nn.ConstantPad2d,
    _nn.ConstantPad3d,
)

_CONTAINERS = (_nn.Sequential, _nn.ModuleList, _nn.ModuleDict)


def is_piecewise_linear(decoder):
    """Whether a decoder is a piecewise linear (but not affine) torch module.

    A module-type scan: every leaf module must be affine (``Linear``,
    convolutions, pooling by averages, ...) or piecewise linear (``ReLU``,
    ``LeakyReLU``, ``Hardtanh``, max pooling, ...), with at least one of the
    latter. Modules with children are treated as containers (operations in
    their own ``forward`` are not seen); a leaf of any other type (a smooth
    activation, a custom layer) makes the answer False.

    Parameters
    ----------
    decoder : callable

    Returns
    -------
    piecewise_linear : bool
    """
    if not isinstance(decoder, torch.nn.Module):
        return False
    found_kink = False
    for module in decoder.modules():
        if isinstance(module, _PIECEWISE_LINEAR):
            found_kink = True
        elif isinstance(module, _AFFINE) or isinstance(module, _CONTAINERS):
            continue
        elif next(module.children(), None) is None:
            # An unknown leaf: possibly smooth and curved.
            return False
    return found_kink
