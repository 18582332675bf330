"""Data checks of the models: images as float32 rows, and the convolution layout."""

import math

import numpy as np
import torch

from geomstats_gen.models._networks import conv_depth

__all__ = ["conv_layout", "validate_images"]

_DEFAULT_CHANNELS = (32, 32, 64, 64)


def validate_images(X, likelihood, image_shape, fitted=None):
    """Check data ``X`` and return it as float32 ``[n, D]`` plus its image shape.

    Parameters
    ----------
    X : array-like, shape=[n, D] or [n, H, W]
    likelihood : {"bernoulli", "gaussian"}
        Bernoulli data must lie in ``[0, 1]``.
    image_shape : tuple of int or None
        The model's ``image_shape`` setting (for flat training data).
    fitted : tuple, optional
        ``(n_features_in_, image_shape_)`` of a fitted model: ``X`` must
        match them. None when fitting.

    Returns
    -------
    array : ndarray of float32, shape=[n, D]
    images : tuple of int or None
    """
    if isinstance(X, torch.Tensor):
        X = X.detach().cpu().numpy()
    try:
        array = np.asarray(X)
    except (TypeError, ValueError) as err:
        raise TypeError(f"`X` must be an array of numbers, got {type(X).__name__}.") from err
    if array.dtype == object or not (
        np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_
    ):
        raise TypeError(f"`X` must be an array of numbers, got dtype {array.dtype}.")
    if np.iscomplexobj(array):
        raise TypeError("`X` must be real, got complex values.")
    if array.ndim not in (2, 3):
        raise ValueError(
            "`X` must have shape [n, D] (flat) or [n, H, W] (images), got shape "
            f"{array.shape}."
        )
    if array.shape[0] == 0 or math.prod(array.shape[1:]) == 0:
        raise ValueError(f"`X` is empty (shape {array.shape}).")
    images = tuple(int(s) for s in array.shape[1:]) if array.ndim == 3 else None
    array = np.ascontiguousarray(array.reshape(len(array), -1), dtype=np.float32)
    if not np.isfinite(array).all():
        raise ValueError("`X` contains non-finite values (NaN or inf).")
    if likelihood == "bernoulli" and (array.min() < 0 or array.max() > 1):
        raise ValueError(
            "`X` must hold values in [0, 1] for likelihood='bernoulli', got "
            f"values in [{array.min():.4g}, {array.max():.4g}]; rescale the data "
            "or use likelihood='gaussian'."
        )
    n_features = array.shape[1]
    if fitted is None:
        if images is None and image_shape is not None:
            images = tuple(int(s) for s in image_shape)
            if math.prod(images) != n_features:
                raise ValueError(
                    f"`image_shape` {images} does not match the {n_features} "
                    "features of `X`."
                )
        return array, images
    n_features_in, fitted_images = fitted
    if n_features != n_features_in:
        raise ValueError(
            f"`X` has {n_features} features (shape {tuple(np.shape(X))}) but the "
            f"model was fitted on {n_features_in}."
        )
    if images is not None and fitted_images is not None and images != fitted_images:
        raise ValueError(
            f"`X` holds images of shape {images} but the model was fitted on "
            f"{fitted_images}."
        )
    return array, images


def conv_layout(architecture, channels, n_features, images):
    """Image shape and channels for the architecture (validated).

    Returns
    -------
    images : tuple of int or None
    channels : tuple of int
        Empty for ``"mlp"``.
    """
    if architecture == "mlp":
        return images, ()
    if images is None:
        side = math.isqrt(n_features)
        if side * side != n_features:
            raise ValueError(
                f"architecture='conv' needs images: pass `X` as [n, H, W] or set "
                f"`image_shape`; {n_features} features are not a square image."
            )
        images = (side, side)
    if channels is None:
        depth = conv_depth(images)
        if depth == 0:
            raise ValueError(
                f"Images of shape {images} are too small or odd-sized for "
                "architecture='conv' (need even sides >= 8); use 'mlp'."
            )
        channels = _DEFAULT_CHANNELS[:depth]
    else:
        channels = tuple(int(c) for c in channels)
        factor = 2 ** len(channels)
        if images[0] % factor or images[1] % factor:
            raise ValueError(
                f"Image sides {images} must be divisible by 2**len(channels) = "
                f"{factor} for `channels` {channels}."
            )
    return images, channels
