"""Chunks of points for batched derivative calls, under a memory bound.

Every derivative of a decoder (forward jets, autograd) runs on chunks of
points such that the largest tensor a chunk builds holds at most
``max_elements`` numbers: :func:`chunk_size_for` sizes the chunks,
:func:`chunked` applies a function chunk by chunk and concatenates.
:func:`chunked` also loads torch's forward-mode decompositions once, on
first use, so that no ``torch.func`` call below it warns.
"""

import warnings

import torch

__all__ = ["DEFAULT_MAX_ELEMENTS", "chunk_size_for", "chunked"]

#: Default bound on the number of elements of the largest tensor built by one
#: chunk (2**24 elements: 128 MiB in float64, 64 MiB in float32).
DEFAULT_MAX_ELEMENTS = 2**24


def chunk_size_for(elements_per_point, max_elements=DEFAULT_MAX_ELEMENTS):
    """Number of points per chunk so that one chunk stays under a memory bound.

    Parameters
    ----------
    elements_per_point : int
        Number of elements of the largest tensor built for one point.
    max_elements : int
        Bound on the number of elements built by one chunk.

    Returns
    -------
    chunk_size : int
        At least 1.
    """
    return max(1, int(max_elements) // max(1, int(elements_per_point)))


_JVP_READY = False


def _load_jvp_decompositions():
    """Load torch's forward-mode decompositions once, without their 18 warnings.

    On its first forward-mode call, torch 2.13 imports
    ``torch._decomp.decompositions_for_jvp``, which compiles 18 internal
    functions with the deprecated ``torch.jit.script`` and emits one
    ``DeprecationWarning`` each: torch's own code, which no user can act
    on. They are loaded here, with that one message ignored for the import
    only; every other warning is untouched.
    """
    global _JVP_READY
    if _JVP_READY:
        return
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message="`torch.jit.script` is deprecated", category=DeprecationWarning
        )
        try:
            from torch.autograd.forward_ad import _maybe_load_decompositions
        except ImportError:  # pragma: no cover - another torch version
            pass
        else:
            _maybe_load_decompositions()
    _JVP_READY = True


def chunked(fn, chunk_size, *tensors):
    """Apply ``fn`` to chunks of rows of ``tensors`` and concatenate.

    Inputs are made contiguous: forward-mode AD refuses expanded tensors.
    """
    _load_jvp_decompositions()
    tensors = tuple(t.contiguous() for t in tensors)
    n_points = tensors[0].shape[0]
    if chunk_size is None or n_points <= chunk_size:
        return fn(*tensors)
    outs = [
        fn(*(t[start : start + chunk_size] for t in tensors))
        for start in range(0, n_points, chunk_size)
    ]
    if isinstance(outs[0], tuple):
        return tuple(torch.cat(parts, dim=0) for parts in zip(*outs))
    return torch.cat(outs, dim=0)
