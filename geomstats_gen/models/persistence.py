"""Saving and loading fitted models: one file of tensors and plain values.

Files are written atomically and read with ``torch.load(weights_only=True)``
(no pickled code runs); a file that is truncated, foreign or holds
non-finite weights gives a clear error, never a half-loaded model.
"""

import numbers
import os
import tempfile

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted

from geomstats_gen.models._runtime import resolve_device
from geomstats_gen.models.variance import RBFVarianceNetwork

__all__ = ["FILE_FORMAT", "FILE_VERSION", "REGISTRY", "load_model", "register", "save_model"]

FILE_FORMAT = "geomstats_gen.models"
FILE_VERSION = 1

#: Model classes by class name (the ``class`` entry of a file).
REGISTRY = {}


def register(cls):
    """Add a model class to :data:`REGISTRY` (a class decorator)."""
    REGISTRY[cls.__name__] = cls
    return cls


def plain(value):
    """A hyper-parameter as plain Python (what ``weights_only`` loading reads)."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, (tuple, list, np.ndarray)):
        return [plain(v) for v in value]
    raise TypeError(
        f"Cannot save the hyper-parameter value {value!r} of type {type(value).__name__}."
    )


def check_path(path):
    """``os.fspath(path)``, with a TypeError naming ``path`` otherwise."""
    try:
        return os.fspath(path)
    except TypeError as err:
        raise TypeError(
            f"`path` must be a str or os.PathLike, got {type(path).__name__}."
        ) from err


def save_model(model, path):
    """Save a fitted model's weights and configuration to a file, atomically.

    The file is written next to ``path`` under a temporary name and
    moved over ``path`` with :func:`os.replace`, so an existing file is
    never left half-written. It holds only tensors and plain Python
    values, read back with ``torch.load(weights_only=True)``.

    Parameters
    ----------
    model : fitted VAE
    path : str or os.PathLike

    Returns
    -------
    path : str
    """
    check_is_fitted(model, "net_")
    path = check_path(path)
    params = model.get_params(deep=False)
    if not isinstance(params["random_state"], (numbers.Integral, type(None))):
        params["random_state"] = None  # a RandomState instance is not saved
    params["device"] = str(params["device"])
    params = {key: plain(value) for key, value in params.items()}
    payload = {
        "format": FILE_FORMAT,
        "format_version": FILE_VERSION,
        "class": type(model).__name__,
        "params": params,
        "fitted": {
            "n_features_in_": model.n_features_in_,
            "image_shape_": None if model.image_shape_ is None else list(model.image_shape_),
            "channels_": list(model.channels_),
            "history_": list(model.history_),
            "batch_size_": model.batch_size_,
            "n_train_": model.n_train_,
            **model._fitted_extras(),
        },
        "state_dict": {
            key: value.detach().to("cpu", copy=True)
            for key, value in model.net_.state_dict().items()
        },
    }
    variance = getattr(model, "variance_net_", None)
    if variance is not None:  # the expected metric's variance network (fit_variance)
        payload["variance_state"] = {
            key: value.detach().to("cpu", copy=True)
            for key, value in variance.state_dict().items()
        }
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(
        prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=folder
    )
    try:
        with os.fdopen(fd, "wb") as handle:
            torch.save(payload, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)  # mkstemp creates 0600 files
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def load_model(cls, path, device=None):
    """Load a model written by :func:`save_model`.

    Read with ``torch.load(weights_only=True)``: no pickled code runs.
    Either a complete model is returned or an error is raised.

    Parameters
    ----------
    cls : type
        The class asked for: the saved class must be it or a subclass.
    path : str or os.PathLike
    device : str or torch.device, optional
        Where to put the model. Default: the saved ``device`` if
        available here, else the CPU.

    Returns
    -------
    model : VAE
        An instance of the saved class (``cls`` or a subclass).

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file is truncated, corrupted, not written by :func:`save_model`,
        or holds another model class than ``cls``.
    """
    path = check_path(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"No model file at {path!r}.")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - any failure means a bad file
        raise ValueError(
            f"{path!r} is not a readable geomstats_gen model file (truncated, "
            f"corrupted, or not written by save()): {type(err).__name__}: {err}"
        ) from err
    bad = f"{path!r} is not a geomstats_gen model file"
    if not isinstance(payload, dict) or payload.get("format") != FILE_FORMAT:
        raise ValueError(f"{bad} (no '{FILE_FORMAT}' format marker).")
    if payload.get("format_version") != FILE_VERSION:
        raise ValueError(
            f"{path!r} has format version {payload.get('format_version')!r}; this "
            f"version of geomstats_gen reads version {FILE_VERSION}."
        )
    name = payload.get("class")
    klass = REGISTRY.get(name)
    if klass is None:
        raise ValueError(f"{bad}: unknown model class {name!r}.")
    if not issubclass(klass, cls):
        raise ValueError(
            f"{path!r} holds a {name}, not a {cls.__name__}; load it with "
            f"{name}.load or VAE.load."
        )
    params, fitted, state = (payload.get(k) for k in ("params", "fitted", "state_dict"))
    if not all(isinstance(v, dict) for v in (params, fitted, state)):
        raise ValueError(f"{bad}: missing params, fitted values or weights.")
    try:
        model = klass(**params)
        model._check_params()
        for key in ("image_shape", "hidden_sizes", "channels"):
            if getattr(model, key) is not None:
                setattr(model, key, tuple(getattr(model, key)))
        images = fitted["image_shape_"]
        images = None if images is None else tuple(int(s) for s in images)
        channels = tuple(int(c) for c in fitted["channels_"])
        n_features = int(fitted["n_features_in_"])
        net = model._build_net(n_features, images, channels, torch.Generator().manual_seed(0))
        if not all(isinstance(v, torch.Tensor) for v in state.values()):
            raise TypeError("the weights are not all tensors")
        net.load_state_dict(state, strict=True)
        if not all(bool(torch.isfinite(t).all()) for t in net.state_dict().values()):
            raise ValueError("the weights hold non-finite values")
        if device is None:
            try:
                target = resolve_device(model.device)
            except ValueError:
                target = torch.device("cpu")
        else:
            target = resolve_device(device)
            model.device = device
        model._load_extras(fitted)
        model._set_fitted(
            net.to(target),
            n_features=n_features,
            images=images,
            channels=channels,
            history=[float(h) for h in fitted["history_"]],
            batch_size=int(fitted["batch_size_"]),
            n_train=int(fitted["n_train_"]),
            device=target,
        )
        variance = payload.get("variance_state")
        if variance is not None:
            if not (isinstance(variance, dict)
                    and all(isinstance(v, torch.Tensor) for v in variance.values())):
                raise TypeError("the variance network's weights are not all tensors")
            model.variance_net_ = RBFVarianceNetwork(**variance).to(target).eval()
    except (KeyError, TypeError, ValueError, RuntimeError) as err:
        raise ValueError(f"{bad} or is corrupted: {type(err).__name__}: {err}") from err
    return model
