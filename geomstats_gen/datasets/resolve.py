"""One entry point to every dataset: a name or a file (the command line's ``--dataset``)."""

import os

import numpy as np

from geomstats_gen.datasets.digits import load_digits
from geomstats_gen.datasets.files import load_array_file, load_fashion_mnist
from geomstats_gen.datasets.shapes import make_shapes

__all__ = ["DATASETS", "load_dataset"]

#: Dataset names :func:`load_dataset` knows.
DATASETS = ("digits", "shapes", "fashion-mnist")


def load_dataset(spec, n_samples=None, image_size=32, seed=0):
    """A dataset by name (``"digits"``, ``"shapes"``, ``"fashion-mnist"``) or from a file.

    Parameters
    ----------
    spec : str
        A name of :data:`DATASETS`, or the path of an IDX, ``.npy`` or
        ``.npz`` file (:func:`load_array_file`).
    n_samples : int, optional
        Keep a random subset of this many samples (the number rendered for
        ``"shapes"``; default 5000 there).
    image_size : int
        Side of the rendered ``"shapes"`` images.
    seed : int
        Seed of the subset and of the rendered shapes.

    Returns
    -------
    X : ndarray, shape=[n, D]
    y : ndarray, shape=[n], or None
    image_shape : tuple of int or None
    name : str
    """
    if spec == "digits":
        bunch = load_digits()
        X, y, shape = bunch.data, bunch.target, tuple(bunch.image_shape)
    elif spec == "shapes":
        n = 5000 if n_samples is None else n_samples
        bunch = make_shapes(n, image_size=image_size, random_state=seed)
        X, y, shape = bunch.data, bunch.target, (image_size, image_size)
        n_samples = None
    elif spec == "fashion-mnist":
        try:
            bunch = load_fashion_mnist()
        except FileNotFoundError as err:
            raise FileNotFoundError(
                f"fashion-mnist: {err} An IDX images file can also be given directly "
                "(e.g. DIR/train-images-idx3-ubyte.gz)."
            ) from err
        X, y, shape = bunch.data, bunch.target, tuple(bunch.image_shape)
    else:
        if not os.path.isfile(spec):
            raise FileNotFoundError(
                f"no such file {spec!r} (expected one of {', '.join(DATASETS)}, "
                "or an IDX, .npy or .npz file)."
            )
        X, y = load_array_file(spec)
        if X.ndim < 2:
            raise ValueError(f"{spec}: expected an array [n, D] or [n, H, W], "
                             f"got shape {X.shape}.")
        shape = tuple(X.shape[1:]) if X.ndim == 3 else None
        X = X.reshape(len(X), -1)
        if y is not None and len(y) != len(X):
            raise ValueError(f"{spec}: {len(y)} labels for {len(X)} samples.")
    X = np.asarray(X, dtype=np.float32)
    if n_samples is not None and n_samples < len(X):
        pick = np.sort(np.random.default_rng(seed).choice(len(X), n_samples, replace=False))
        X = X[pick]
        y = None if y is None else y[pick]
    return X, (None if y is None else np.asarray(y)), shape, spec
