"""Argument checks and dtype helpers shared by every layer.

Every public entry point converts its array arguments with :func:`as_points`
(or :func:`as_tensor`), so a bad argument is reported with its name and what
was expected, and results can be returned where the caller's points live.
Scalar settings go through :func:`check_int`, :func:`check_number` and
:func:`check_choice`: one message format for the whole library.
"""

import math
import numbers
import warnings

import torch

from geomstats_gen.exceptions import ImmersionWarning

#: Floating dtypes refused for decoders: forward-mode derivatives and the
#: Cholesky solves of the metric are not implemented (or far too inaccurate)
#: in half precision on CPU.
HALF_DTYPES = (torch.float16, torch.bfloat16)


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
        The same tensor when ``value`` is already a tensor. Integer inputs
        are converted to float64; booleans and complex numbers are refused
        (TypeError), as are tensors on the ``meta`` device (ValueError).
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
    if tensor.dtype == torch.bool:
        raise TypeError(f"`{name}` must hold numbers, got a boolean array.")
    if tensor.is_meta:
        raise ValueError(
            f"`{name}` is on the 'meta' device and holds no values; pass real data."
        )
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


def promote_like(*tensors):
    """A 0-dim tensor in the promoted dtype of ``tensors``, on the first one's device.

    The template of a result: :func:`result_like` moves results to it.
    """
    dtype = tensors[0].dtype
    for tensor in tensors[1:]:
        dtype = torch.promote_types(dtype, tensor.dtype)
    return tensors[0].new_empty((), dtype=dtype)


def check_int(value, name, minimum=1, allow_none=False):
    """Check that ``value`` is an integer ``>= minimum`` (booleans refused).

    Returns
    -------
    value : int or None
    """
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        what = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise ValueError(f"`{name}` must be {what}, got {value!r}.")
    return int(value)


def check_positive_int(value, name, allow_none=False):
    """Check that ``value`` is a positive integer."""
    return check_int(value, name, 1, allow_none=allow_none)


def _interval(low, high, low_open, high_open):
    if high is None:
        if low == 0 and low_open:
            return "a positive number"
        return f"a number {'>' if low_open else '>='} {low:g}"
    left, right = "(" if low_open else "[", ")" if high_open else "]"
    return f"a number in {left}{low:g}, {high:g}{right}"


def check_number(
    value, name, low=0.0, high=None, low_open=True, high_open=True, allow_none=False
):
    """Check that ``value`` is a finite real number in an interval.

    Parameters
    ----------
    value : object
    name : str
        Argument named in the error.
    low, high : float, optional
        Bounds; ``high=None`` for none.
    low_open, high_open : bool
        Whether the bounds are excluded.
    allow_none : bool
        Let None through.

    Returns
    -------
    value : float or None

    Raises
    ------
    TypeError
        If ``value`` is not a real number.
    ValueError
        If it is not finite or out of the interval.
    """
    if value is None and allow_none:
        return None
    what = _interval(low, high, low_open, high_open)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        if isinstance(value, torch.Tensor) and value.numel() == 1 and not value.is_complex():
            value = value.item()
        else:
            raise TypeError(f"`{name}` must be {what}, got {value!r}.")
    out = float(value)
    ok = math.isfinite(out)
    if ok and low is not None:
        ok = out > low if low_open else out >= low
    if ok and high is not None:
        ok = out < high if high_open else out <= high
    if not ok:
        raise ValueError(f"`{name}` must be {what}, got {value!r}.")
    return out


def check_choice(value, name, choices):
    """Check that ``value`` is one of ``choices``.

    Returns
    -------
    value : object
    """
    if not any(value == choice and type(value) is type(choice) for choice in choices):
        raise ValueError(
            f"`{name}` must be one of {', '.join(repr(c) for c in choices)}, got {value!r}."
        )
    return value


def check_decoder_dtype(dtype, name="decoder"):
    """Refuse half-precision decoders with a TypeError naming the dtype."""
    if dtype in HALF_DTYPES:
        raise TypeError(
            f"`{name}` computes in {dtype}, which is not supported: forward-mode "
            "derivatives and the Cholesky solves of the metric are not implemented "
            "(or lose all accuracy) in half precision. Convert the decoder with "
            "`decoder.float()` (or `.double()`)."
        )
    return dtype


def default_cond_limit(dtype):
    """Largest condition number of ``J`` accepted in the working ``dtype``.

    Two losses bound it: the decoder's rounding (relative error ``eps`` of
    ``J``) leaves about ``eps * cond(J)`` relative accuracy in the smallest
    singular value, and the solves with ``G = J^T J`` (formed in float64)
    lose ``eps_64 * cond(J)^2``. The limit keeps both below 1 %: about
    ``6.7e6`` for float64 decoders and ``8.4e4`` for float32 ones.
    """
    eps = torch.finfo(dtype if dtype.is_floating_point else torch.float64).eps
    eps64 = torch.finfo(torch.float64).eps
    return min(1e-2 / eps, math.sqrt(1e-2 / eps64))


def jacobian_condition(jac):
    """Condition numbers of Jacobians, from the eigenvalues of ``J^T J``.

    Parameters
    ----------
    jac : torch.Tensor, shape=[n, D, d]

    Returns
    -------
    cond : torch.Tensor, shape=[n], float64
        ``sigma_max / sigma_min``; ``inf`` where ``J`` loses rank exactly
        (or is zero), never NaN.
    """
    jac = jac.detach().to(torch.float64)
    gram = jac.transpose(-1, -2) @ jac
    finite = torch.isfinite(gram).all(dim=(-1, -2))
    # non-finite Jacobians (a decoder that overflowed) are not immersions:
    # inf, and the eigen-solver never sees NaN (it fails to converge on it)
    eig = torch.linalg.eigvalsh(torch.where(finite[..., None, None], gram, torch.zeros_like(gram)))
    low, high = eig[..., 0].clamp_min(0), eig[..., -1].clamp_min(0)
    cond = torch.sqrt(high / low)
    good = finite & (low > 0) & torch.isfinite(cond)
    return torch.where(good, cond, torch.full_like(cond, math.inf))


def warn_if_not_immersion(jac, name, limit, stacklevel=3):
    """Emit an :class:`ImmersionWarning` where ``cond(J) > limit``.

    Parameters
    ----------
    jac : torch.Tensor, shape=[n, D, d]
    name : str
        Argument whose points are checked, named in the message.
    limit : float

    Returns
    -------
    cond : torch.Tensor, shape=[n], float64
    """
    if jac.shape[0] == 0:
        return jac.new_zeros(0, dtype=torch.float64)
    cond = jacobian_condition(jac)
    warn_if_ill_conditioned(cond, name, limit, stacklevel=stacklevel + 1)
    return cond


def warn_if_ill_conditioned(cond, name, limit, stacklevel=3):
    """Emit an :class:`ImmersionWarning` where condition numbers ``cond [n]`` exceed ``limit``."""
    bad = cond > limit
    if bool(bad.any()):
        worst = float(cond.max())
        warnings.warn(
            f"`{name}`: the decoder is not an immersion at {int(bad.sum())} of "
            f"{bad.numel()} points: the condition number of its Jacobian reaches "
            f"{worst:.3g} (limit {limit:.3g}). The pullback metric is degenerate "
            "there; solves fall back to a pseudo-inverse and the geometry is "
            "unreliable.",
            ImmersionWarning,
            stacklevel=stacklevel,
        )
