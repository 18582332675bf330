"""The context of the latent-geometry analysis: the encoded codes and what
every section reads (the plotted plane, the active dimensions, the space the
lengths are measured on), and the JSON formatting helpers."""

import dataclasses
import math
import warnings

import numpy as np
import torch

from geomstats_gen.exceptions import PosteriorCollapseWarning

__all__ = [
    "Context",
    "class_representatives",
    "encode",
    "json_float",
    "json_floats",
    "json_stats",
    "latent_activity",
    "latent_slice",
    "measurement_space",
    "to_numpy",
]

F64 = torch.float64


def json_float(value):
    value = float(value)
    return value if math.isfinite(value) else None


def json_floats(values):
    return [json_float(v) for v in np.asarray(values, dtype=np.float64).reshape(-1)]


def json_stats(values):
    flat = np.asarray(values, dtype=np.float64).reshape(-1)
    flat = flat[np.isfinite(flat)]
    if flat.size == 0:
        return {k: None for k in ("mean", "std", "min", "median", "max")}
    return {
        "mean": float(flat.mean()),
        "std": float(flat.std()),
        "min": float(flat.min()),
        "median": float(np.median(flat)),
        "max": float(flat.max()),
    }


def to_numpy(x):
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def latent_slice(codes):
    """The 2-D plane of the latent space the plots show.

    For ``d = 2`` the latent plane itself; for ``d > 2`` the plane through
    the mean code spanned by the first two principal directions of the
    codes.

    Parameters
    ----------
    codes : ndarray, shape=[n, d]

    Returns
    -------
    origin : ndarray, shape=[d]
    basis : ndarray, shape=[d, 2]
        Orthonormal columns (in latent coordinates).
    description : str
    """
    codes = np.asarray(codes, dtype=np.float64)
    dim = codes.shape[1]
    if dim == 2:
        return np.zeros(2), np.eye(2), "latent plane (z1, z2)"
    origin = codes.mean(0)
    _, _, vt = np.linalg.svd(codes - origin, full_matrices=False)
    basis = vt[:2].T
    return origin, basis, (
        f"2-D slice of the {dim}-D latent space through the mean code, "
        "spanned by the first two principal directions (PC1, PC2)"
    )


def _stratified_subset(labels, n_codes, rng):
    n = len(labels)
    if n <= n_codes:
        return np.arange(n)
    classes, inverse = np.unique(labels, return_inverse=True)
    if len(classes) < 2:
        return np.sort(rng.choice(n, size=n_codes, replace=False))
    from sklearn.model_selection import train_test_split

    try:
        index, _ = train_test_split(
            np.arange(n), train_size=n_codes, stratify=inverse,
            random_state=int(rng.integers(2**31)),
        )
    except ValueError:  # classes too small or too many for a stratified split
        index = rng.choice(n, size=n_codes, replace=False)
    return np.sort(index)


def class_representatives(codes, labels, n_wanted, rng):
    """Indices of codes closest to their class centroid, one per class."""
    classes = np.unique(labels)
    reps = []
    for c in classes:
        members = np.flatnonzero(labels == c)
        centre = codes[members].mean(0)
        reps.append(members[np.argmin(((codes[members] - centre) ** 2).sum(-1))])
    reps = np.asarray(reps)
    if len(reps) < n_wanted:
        rest = np.setdiff1d(np.arange(len(codes)), reps)
        extra = rng.choice(rest, size=min(n_wanted - len(reps), len(rest)), replace=False)
        reps = np.concatenate([reps, extra])
    return reps




@dataclasses.dataclass
class Context:
    """What every section of the analysis reads.

    Attributes
    ----------
    space : GeneratedManifold
    codes : torch.Tensor, shape=[n, d], float64
    codes_np : ndarray, shape=[n, d]
    labels : ndarray of int, shape=[n]
    image_shape : tuple of int
    origin : ndarray, shape=[d]
    basis : ndarray, shape=[d, 2]
        The plotted latent plane (:func:`latent_slice`).
    plane_codes : ndarray, shape=[n, 2]
    rng : numpy.random.Generator
    settings : dict
        The keyword arguments of :func:`~geomstats_gen.report.analysis.analyze`.
    collapsed_dims : tuple of int
        Inactive latent dimensions (:func:`latent_activity`).
    measure_space : GeneratedManifold
        The space the lengths of the ratios are measured on: a float64 copy
        when the decoder computes in lower precision (:func:`measurement_space`).
    image_space : GeneratedManifold
        The space whose immersion decodes images (the model's mean decoder;
        ``space`` may carry another metric through an augmented output).
    precision : str
        What ``measure_space`` is, in words.
    """

    space: object
    codes: torch.Tensor
    codes_np: np.ndarray
    labels: np.ndarray
    image_shape: tuple
    origin: np.ndarray
    basis: np.ndarray
    plane_codes: np.ndarray
    rng: np.random.Generator
    settings: dict
    collapsed_dims: tuple = ()
    measure_space: object = None
    precision: str = ""
    image_space: object = None

    @property
    def dim(self):
        """Latent dimension."""
        return int(self.space.latent_dim)


def encode(model, space, X, y, image_shape, n_codes, rng, settings):
    """Encode a stratified subset of the data: the context of the other sections.

    Returns
    -------
    context : Context
    summary : dict
    arrays : dict
    """
    X = to_numpy(X)
    n_samples = len(X)
    labels = np.zeros(n_samples, dtype=np.int64) if y is None else to_numpy(y).reshape(-1)
    if len(labels) != n_samples:
        raise ValueError(f"`y` must hold one label per sample ({n_samples}), got {len(labels)}.")
    subset = _stratified_subset(labels, min(n_codes, n_samples), rng)
    codes_np = np.asarray(model.transform(X[subset]), dtype=np.float64)
    sub_labels = labels[subset]
    codes = torch.as_tensor(codes_np, dtype=F64)
    images = getattr(model, "manifold_", space)  # decodes images (the mean decoder)
    n_out = int(images.embedding_dim)
    if image_shape is None or int(np.prod(image_shape)) != n_out:
        side = int(round(math.sqrt(n_out)))
        image_shape = (side, side) if side * side == n_out else (1, n_out)
    image_shape = tuple(int(s) for s in image_shape)
    origin, basis, slice_text = latent_slice(codes_np)
    plane_codes = (codes_np - origin) @ basis
    units = latent_activity(model, X[subset], codes_np)
    measure, precision = measurement_space(space)
    context = Context(space, codes, codes_np, sub_labels, image_shape, origin, basis,
                      plane_codes, rng, settings, tuple(units["collapsed_dims"]), measure,
                      precision, images)
    arrays = dict(codes=codes_np, labels=sub_labels, plane_codes=plane_codes,
                  image_shape=image_shape)
    summary = {
        "latent_dim": context.dim,
        "n_samples": int(n_samples),
        "n_codes": int(len(subset)),
        "n_classes": int(len(np.unique(sub_labels))),
        "image_shape": list(image_shape),
        "plane": slice_text,
        "slice_origin": json_floats(origin),
        "slice_basis": [json_floats(col) for col in basis.T],
        "code_mean": json_floats(codes_np.mean(0)),
        "code_std": json_floats(codes_np.std(0)),
        "active_units": units,
    }
    return context, summary, arrays


def measurement_space(space):
    """The space to measure lengths on, and what it is.

    Ratios of lengths compare differences of decoded images; for a float32
    decoder of a tiny-scale or collapsed model those differences approach
    float32 rounding, and a ratio of rounding errors is not a ratio of
    lengths. Lengths are therefore measured on a float64 copy of the decoder
    (:meth:`~geomstats_gen.GeneratedManifold.to_dtype`), unless it already
    computes in float64 or cannot run in it.
    """
    if space.work_dtype == torch.float64:
        return space, "float64 (the decoder's own)"
    try:
        return space.to_dtype(torch.float64), "float64 (a float64 copy of the decoder)"
    except (TypeError, ValueError):  # a function that runs in float32 only
        return space, f"{space.work_dtype} (the decoder's own; it cannot run in float64)"


def latent_activity(model, X, codes, threshold=0.01):
    """Active and collapsed latent dimensions, with a warning for collapsed ones.

    With the model's ``active_units`` (posterior means and per-dimension KL)
    when it has one, else from the variance of the codes.

    Returns
    -------
    units : dict
        JSON-ready: ``threshold``, ``variance``, ``kl`` (or None),
        ``active_dims``, ``collapsed_dims`` (0-based latent indices).
    """
    if hasattr(model, "active_units"):
        found = model.active_units(X, threshold=threshold)
        variance, kl = found["variance"], found["kl"]
    else:
        variance, kl = np.var(codes, axis=0), None
    active = np.asarray(variance) > threshold
    units = {
        "threshold": threshold,
        "definition": "a latent dimension is active when the variance over the data of "
        "its posterior mean exceeds the threshold (Burda et al. 2016)",
        "variance": json_floats(variance),
        "kl": None if kl is None else json_floats(kl),
        "active_dims": [int(i) for i in np.flatnonzero(active)],
        "collapsed_dims": [int(i) for i in np.flatnonzero(~active)],
    }
    if units["collapsed_dims"]:
        warnings.warn(
            f"posterior collapse: latent dimensions {units['collapsed_dims']} of "
            f"{len(active)} are inactive (variance of the posterior means <= {threshold:g}); "
            "the decoder ignores them, so geometry along them is not the data's. "
            "Per-axis measures of these dimensions are marked as collapsed.",
            PosteriorCollapseWarning,
            stacklevel=2,
        )
    return units
