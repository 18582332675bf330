"""Image data already on disk: IDX files (MNIST, Fashion-MNIST), ``.npy`` and ``.npz``."""

import gzip
import math
import os
import zlib

import numpy as np

from geomstats_gen.core.checks import check_choice
from geomstats_gen.datasets._bunch import image_dataset

__all__ = [
    "FASHION_MNIST_CLASSES",
    "FASHION_MNIST_DIR",
    "load_array_file",
    "load_fashion_mnist",
    "load_idx",
]

FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist"
"""Where Debian's ``dataset-fashion-mnist`` package installs the IDX files."""

FASHION_MNIST_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)


_IDX_DTYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def _read_bytes(path):
    """The content of a plain or gzip-compressed file (detected by its magic)."""
    with open(path, "rb") as handle:
        raw = handle.read()
    if raw[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as err:
            raise ValueError(
                f"{os.fspath(path)!r} is a truncated or corrupted gzip file: {err}."
            ) from err
    return raw


def load_idx(path):
    """Read an IDX file (the MNIST format), plain or gzip-compressed.

    Format: two zero bytes, a type code (``0x08`` uint8, ``0x09`` int8,
    ``0x0B`` int16, ``0x0C`` int32, ``0x0D`` float32, ``0x0E`` float64), the
    number of dimensions, one big-endian uint32 per dimension, then the
    values in C order, big-endian. Compression is detected from the file's
    first bytes, not its name.

    Parameters
    ----------
    path : str or os.PathLike
        The file.

    Returns
    -------
    array : ndarray, shape=dims
        In native byte order.

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        If the file is not IDX, or is truncated (fewer bytes than its
        header announces) or has trailing bytes.
    """
    path = os.fspath(path)
    raw = _read_bytes(path)
    if len(raw) < 4:
        raise ValueError(
            f"{path!r} is not an IDX file: {len(raw)} bytes, shorter than the "
            "4-byte magic number (truncated?)."
        )
    if raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise ValueError(
            f"{path!r} is not an IDX file: magic bytes {raw[:4].hex()}, expected "
            "00 00 <type code in 08 09 0b 0c 0d 0e> <number of dimensions>."
        )
    dtype = _IDX_DTYPES[raw[2]]
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(
            f"{path!r} is truncated: its header announces {ndim} dimensions "
            f"({header} bytes of header) but the file holds {len(raw)} bytes."
        )
    shape = tuple(int(s) for s in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    expected = math.prod(shape) * dtype.itemsize
    actual = len(raw) - header
    if actual < expected:
        raise ValueError(
            f"{path!r} is truncated: its header announces shape {shape} of "
            f"{dtype.name} ({expected} bytes of data) but it holds {actual}."
        )
    if actual > expected:
        raise ValueError(
            f"{path!r} is not a valid IDX file: {actual - expected} bytes after "
            f"the data of shape {shape} announced by its header."
        )
    array = np.frombuffer(raw, dtype=dtype, count=math.prod(shape), offset=header)
    return array.reshape(shape).astype(dtype.newbyteorder("="))


_FASHION_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def _find_idx(folder, stem):
    for name in (stem + ".gz", stem):
        candidate = os.path.join(folder, name)
        if os.path.isfile(candidate):
            return candidate
    raise FileNotFoundError(
        f"Fashion-MNIST file {stem}[.gz] not found in {folder!r}. Nothing is "
        "downloaded: install Debian's package (`apt-get install "
        f"dataset-fashion-mnist`, files in {FASHION_MNIST_DIR}) or pass "
        "`path=` a folder holding train-images-idx3-ubyte[.gz], "
        "train-labels-idx1-ubyte[.gz], t10k-images-idx3-ubyte[.gz] and "
        "t10k-labels-idx1-ubyte[.gz]."
    )


def load_fashion_mnist(path=None, *, subset="train", return_X_y=False):
    """Load Fashion-MNIST from IDX files on disk, scaled to [0, 1].

    Nothing is downloaded. The files (gzip-compressed or not) are looked for
    in ``path``, by default :data:`FASHION_MNIST_DIR`
    (``/usr/share/datasets/fashion-mnist``, where Debian's
    ``dataset-fashion-mnist`` package installs them).

    Parameters
    ----------
    path : str or os.PathLike, optional
        Folder holding ``train-images-idx3-ubyte[.gz]``,
        ``train-labels-idx1-ubyte[.gz]``, ``t10k-images-idx3-ubyte[.gz]``
        and ``t10k-labels-idx1-ubyte[.gz]``.
    subset : {"train", "test", "all"}
        The 60000 training images, the 10000 test images, or both
        (training first).
    return_X_y : bool
        Return ``(data, target)`` instead of a Bunch.

    Returns
    -------
    data : sklearn.utils.Bunch
        ``data`` : ndarray of float32, shape=[n, 784], values in [0, 1].
        ``images`` : ndarray of float32, shape=[n, 28, 28].
        ``target`` : ndarray of int64, shape=[n].
        ``target_names`` : tuple of str, the 10 class names.
        ``image_shape`` : tuple of int.
        ``DESCR`` : str.
    (data, target) : tuple of ndarray
        If ``return_X_y`` is True.

    Raises
    ------
    FileNotFoundError
        If the files are missing (the message says how to get them).
    ValueError
        If a file is truncated or not IDX, or images and labels disagree.
    """
    check_choice(subset, "subset", ("train", "test", "all"))
    folder = FASHION_MNIST_DIR if path is None else os.fspath(path)
    if not os.path.isdir(folder):
        raise FileNotFoundError(
            f"Fashion-MNIST folder {folder!r} does not exist. Nothing is "
            "downloaded: install Debian's package (`apt-get install "
            f"dataset-fashion-mnist`, files in {FASHION_MNIST_DIR}) or pass "
            "`path=` a folder holding the IDX files (train-images-idx3-ubyte[.gz], "
            "train-labels-idx1-ubyte[.gz], t10k-images-idx3-ubyte[.gz], "
            "t10k-labels-idx1-ubyte[.gz])."
        )
    parts = ("train", "test") if subset == "all" else (subset,)
    all_images, all_labels = [], []
    for part in parts:
        image_file, label_file = (_find_idx(folder, stem) for stem in _FASHION_FILES[part])
        images = load_idx(image_file)
        labels = load_idx(label_file)
        if images.ndim != 3 or images.dtype != np.uint8:
            raise ValueError(
                f"{image_file!r} must hold uint8 images [n, H, W], got "
                f"{images.dtype} of shape {images.shape}."
            )
        if labels.ndim != 1 or len(labels) != len(images):
            raise ValueError(
                f"{label_file!r} must hold one label per image ({len(images)}), got "
                f"shape {labels.shape}."
            )
        all_images.append(images)
        all_labels.append(labels)
    shapes = {im.shape[1:] for im in all_images}
    if len(shapes) != 1:
        raise ValueError(f"The training and test images differ in size: {sorted(shapes)}.")
    images = np.concatenate(all_images).astype(np.float32) / np.float32(255.0)
    target = np.concatenate(all_labels).astype(np.int64)
    return image_dataset(
        images, target, FASHION_MNIST_CLASSES,
        f"Fashion-MNIST ({subset}), Zalando article images, grey levels "
        "divided by 255 (float32 in [0, 1]).",
        return_X_y,
    )


def _scale(array):
    """``uint8`` pixels to ``[0, 1]``, anything else as float32."""
    array = np.asarray(array)
    if array.dtype == np.uint8:
        return array.astype(np.float32) / np.float32(255.0)
    return array.astype(np.float32)


def load_array_file(path):
    """Read images (and labels, where there are some) from an IDX, ``.npy`` or ``.npz`` file.

    ``uint8`` pixels are scaled to ``[0, 1]``. A ``.npz`` holds the images
    as ``X``, ``x``, ``data`` or ``images`` (an error otherwise) and the
    labels, if any, as ``y``, ``target`` or ``labels``. The labels of an
    MNIST-style IDX images file are read from the ``labels-idx1`` file
    beside it.

    Parameters
    ----------
    path : str

    Returns
    -------
    X : ndarray of float32, shape=[n, ...]
    y : ndarray or None

    Raises
    ------
    ValueError
        If the type of file is unknown or a ``.npz`` has no array of images.
    """
    lower = path.lower()
    if lower.endswith(".npy"):
        return _scale(np.load(path, allow_pickle=False)), None
    if lower.endswith(".npz"):
        with np.load(path, allow_pickle=False) as archive:
            keys = list(archive.keys())
            x_key = next((k for k in ("X", "x", "data", "images") if k in keys), None)
            if x_key is None:  # never guess which array holds the images
                raise ValueError(
                    f"{path}: a .npz file needs its images in an array named X, x, data "
                    f"or images (and labels, if any, in y, target or labels); found "
                    f"{keys}."
                )
            y_key = next((k for k in ("y", "target", "labels") if k in keys), None)
            return _scale(archive[x_key]), None if y_key is None else archive[y_key]
    if ".idx" in lower or "ubyte" in lower:
        labels = None
        folder, name = os.path.split(path)
        if "images-idx3" in name:  # MNIST naming: the labels file sits beside the images
            label_path = os.path.join(folder, name.replace("images-idx3", "labels-idx1"))
            if os.path.isfile(label_path):
                labels = load_idx(label_path).astype("int64")
        return _scale(load_idx(path)), labels
    raise ValueError(
        f"{path}: unknown file type; expected .npy, .npz, or an IDX file "
        "(name containing .idx or ubyte)."
    )
