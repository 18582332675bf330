"""Input handling shared by the learning tools: spaces, models, codes.

A ``space`` argument is either a :class:`~geomstats_gen.GeneratedManifold`
(inputs are latent codes) or a fitted model of :mod:`geomstats_gen.models`
(inputs are data, encoded with ``model.transform``; the geometry is that of
``model.manifold_``).
"""

import numpy as np
import torch

from geomstats_gen.core.checks import as_points
from geomstats_gen.manifold import GeneratedManifold


def check_manifold(space, name="space"):
    """Raise a TypeError unless ``space`` is a GeneratedManifold."""
    if not isinstance(space, GeneratedManifold):
        raise TypeError(
            f"`{name}` must be a geomstats_gen.GeneratedManifold, got "
            f"{type(space).__name__}."
        )
    return space


def is_model(space):
    """Whether ``space`` looks like a geomstats_gen model (encoder + manifold)."""
    return hasattr(space, "transform") and hasattr(type(space), "fit") and not isinstance(
        space, GeneratedManifold
    )


def resolve_space(space, name="space"):
    """Manifold and encoder of a ``space`` argument.

    Parameters
    ----------
    space : GeneratedManifold or fitted geomstats_gen model

    Returns
    -------
    manifold : GeneratedManifold
    model : estimator or None
        The model whose ``transform`` encodes the data, None for a manifold.
    """
    if isinstance(space, GeneratedManifold):
        return space, None
    if is_model(space):
        manifold = getattr(space, "manifold_", None)
        if not isinstance(manifold, GeneratedManifold):
            raise ValueError(
                f"`{name}` is a {type(space).__name__} that is not fitted (it has no "
                "`manifold_`); fit it first, or pass a GeneratedManifold."
            )
        return manifold, space
    raise TypeError(
        f"`{name}` must be a geomstats_gen.GeneratedManifold or a fitted "
        f"geomstats_gen model (with `transform` and `manifold_`), got "
        f"{type(space).__name__}."
    )


def as_codes(manifold, X, name="X"):
    """Latent codes as a 2-D torch tensor ``[n, d]`` (no copy for tensors).

    Parameters
    ----------
    manifold : GeneratedManifold
    X : array-like, shape=[n, d]

    Returns
    -------
    codes : torch.Tensor, shape=[n, d]
    """
    dim = manifold.latent_dim
    codes = as_points(X, name, dim)
    if codes.ndim != 2:
        raise ValueError(
            f"`{name}` must have shape [n_samples, {dim}] (latent codes), got "
            f"shape {tuple(codes.shape)}."
        )
    return codes


def to_numpy(tensor):
    """A torch tensor as a NumPy array (CPU, detached)."""
    if isinstance(tensor, np.ndarray):
        return tensor
    return tensor.detach().cpu().numpy()


def like_input(tensor, X):
    """Return ``tensor`` as NumPy when ``X`` was not a torch tensor."""
    if isinstance(X, torch.Tensor):
        return tensor.to(device=X.device)
    return to_numpy(tensor)
