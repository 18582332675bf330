"""Where a decoder computes, read from the decoder, and whether it may be used as is."""

import torch

__all__ = ["decoder_placement", "refuse_training_mode"]

_STOCHASTIC_LAYERS = (
    torch.nn.modules.dropout._DropoutNd,
    torch.nn.modules.batchnorm._BatchNorm,
)


def decoder_placement(decoder):
    """Dtype and device of the first floating parameter or buffer, if any.

    Returns
    -------
    dtype : torch.dtype or None
    device : torch.device or None
        Both None for a callable without floating parameters or buffers.
    """
    if isinstance(decoder, torch.nn.Module):
        for tensor in decoder.parameters():
            if tensor.is_floating_point():
                return tensor.dtype, tensor.device
        for tensor in decoder.buffers():
            if tensor.is_floating_point():
                return tensor.dtype, tensor.device
    return None, None


def refuse_training_mode(decoder):
    """A ValueError for a module whose training mode makes the metric undefined.

    Dropout in training mode makes the output random; batch norm in training
    mode mixes the rows of a batch and updates its running statistics at
    every call (the chart never changes the user's module, so it does not
    switch it to evaluation mode itself).
    """
    if not isinstance(decoder, torch.nn.Module):
        return
    layers = sorted({
        type(m).__name__ for m in decoder.modules()
        if m.training and isinstance(m, _STOCHASTIC_LAYERS)
    })
    if layers:
        raise ValueError(
            f"`decoder` is in training mode with {', '.join(layers)} layers: its output "
            "is random or mixes the rows of a batch (and batch norm would update its "
            "running statistics at every call), so the metric is not defined. Call "
            "decoder.eval() first."
        )
