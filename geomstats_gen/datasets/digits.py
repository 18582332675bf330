"""scikit-learn's bundled 8x8 digits, as a Bunch in the datasets' conventions."""

import numbers

import numpy as np

from geomstats_gen.datasets._bunch import image_dataset

__all__ = ["load_digits"]


def load_digits(*, n_class=10, return_X_y=False):
    """Load scikit-learn's bundled 8x8 handwritten digits, scaled to [0, 1].

    The images of :func:`sklearn.datasets.load_digits` (1797 images, 64
    grey levels ``0..16``) divided by 16. Bundled with scikit-learn: nothing
    is downloaded.

    Parameters
    ----------
    n_class : int
        Number of classes to return, between 1 and 10 (digits ``0`` to
        ``n_class - 1``).
    return_X_y : bool
        Return ``(data, target)`` instead of a Bunch.

    Returns
    -------
    data : sklearn.utils.Bunch
        ``data`` : ndarray of float32, shape=[n, 64], values in [0, 1].
        ``images`` : ndarray of float32, shape=[n, 8, 8].
        ``target`` : ndarray of int64, shape=[n], the digit.
        ``target_names`` : ndarray, shape=[n_class].
        ``image_shape`` : tuple ``(8, 8)``.
        ``DESCR`` : str.
    (data, target) : tuple of ndarray
        If ``return_X_y`` is True.
    """
    from sklearn.datasets import load_digits as _sk_load_digits

    if (
        isinstance(n_class, bool)
        or not isinstance(n_class, numbers.Integral)
        or not 1 <= n_class <= 10
    ):
        raise ValueError(f"`n_class` must be an integer in [1, 10], got {n_class!r}.")
    raw = _sk_load_digits(n_class=int(n_class))
    images = (np.asarray(raw.images, dtype=np.float32) / np.float32(16.0)).clip(0.0, 1.0)
    target = np.asarray(raw.target, dtype=np.int64)
    return image_dataset(
        images, target, np.arange(int(n_class)),
        "scikit-learn's 8x8 optical recognition of handwritten digits "
        "(UCI), grey levels 0..16 divided by 16 (float32 in [0, 1]).",
        return_X_y,
    )
