"""Argument checks and device/dtype helpers shared by the public API.

Every public entry point converts its array arguments with :func:`as_points`
(or :func:`as_tensor`), so a bad argument is reported with its name and what
was expected, and results can be returned where the caller's points live.
"""

import numbers

import torch


def as_tensor(value, name):
    """Convert an array-like argument to a torch tensor.

    Parameters
    ----------
    value : array-like
        Torch tensor, NumPy array, list or scalar.
    name : str
        Name of the argument, used in error messages.

    Returns
    -------
    tensor : torch.Tensor
        The same tensor when ``value`` is already a tensor. Non-floating
        inputs (integers, booleans) are converted to float64.
    """
    if isinstance(value, torch.Tensor):
        tensor = value
    else:
        try:
            tensor = torch.as_tensor(value)
        except (TypeError, ValueError, RuntimeError) as err:
            raise TypeError(
                f"`{name}` must be an array-like of numbers, got "
                f"{type(value).__name__}."
            ) from err
    if tensor.is_complex():
        raise TypeError(f"`{name}` must be real, got a {tensor.dtype} tensor.")
    if not tensor.is_floating_point():
        tensor = tensor.to(torch.float64)
    return tensor


def check_finite(tensor, name):
    """Raise a ValueError naming ``name`` if ``tensor`` has NaN or inf."""
    if tensor.numel() and not bool(torch.isfinite(tensor).all()):
        raise ValueError(f"`{name}` contains non-finite values (NaN or inf).")
    return tensor


def as_points(value, name, dim, finite=True):
    """Convert and check latent points or tangent vectors.

    Parameters
    ----------
    value : array-like, shape=[..., dim]
        Points or vectors in latent coordinates.
    name : str
        Name of the argument, used in error messages.
    dim : int
        Expected size of the last axis.
    finite : bool
        Whether to reject NaN and inf.

    Returns
    -------
    tensor : torch.Tensor, shape=[..., dim]
    """
    tensor = as_tensor(value, name)
    if tensor.ndim == 0 or tensor.shape[-1] != dim:
        raise ValueError(
            f"`{name}` must have shape [..., {dim}] (latent dimension {dim}), "
            f"got shape {tuple(tensor.shape)}."
        )
    if finite:
        check_finite(tensor, name)
    return tensor


def broadcast_batch(named_tensors, dim):
    """Broadcast the batch shapes of latent tensors together.

    Parameters
    ----------
    named_tensors : dict of str to torch.Tensor, each shape=[..., dim]
    dim : int
        Size of the last axis.

    Returns
    -------
    tensors : list of torch.Tensor, shape=[*batch_shape, dim]
    batch_shape : torch.Size
    """
    shapes = {name: tuple(t.shape[:-1]) for name, t in named_tensors.items()}
    try:
        batch_shape = torch.broadcast_shapes(*shapes.values())
    except RuntimeError as err:
        desc = ", ".join(f"`{n}` {s}" for n, s in shapes.items())
        raise ValueError(
            f"The batch shapes do not broadcast together: {desc}."
        ) from err
    return [t.expand(*batch_shape, dim) for t in named_tensors.values()], batch_shape


def result_like(tensor, like):
    """Return ``tensor`` in the dtype and on the device of ``like``."""
    return tensor.to(dtype=like.dtype, device=like.device)


def check_positive_int(value, name, allow_none=False):
    """Check that ``value`` is a positive integer."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"`{name}` must be a positive integer, got {value!r}.")
    return int(value)
