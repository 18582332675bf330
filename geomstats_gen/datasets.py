"""Embedded and local image datasets to train generative models on.

Loaders follow scikit-learn's conventions: they return a
:class:`sklearn.utils.Bunch` with ``data`` (``[n, D]`` float32 in
``[0, 1]``), ``images`` (``[n, H, W]``, the same values), ``target`` and,
where the generating factors are known, ``factors``; ``return_X_y=True``
returns ``(data, target)`` instead.

Nothing here downloads anything:

* :func:`load_digits` reads scikit-learn's bundled 8x8 digits;
* :func:`make_shapes` renders a dSprites-like set with NumPy;
* :func:`load_fashion_mnist` and :func:`load_idx` read IDX files already on
  disk (Debian's ``dataset-fashion-mnist`` package installs Fashion-MNIST in
  :data:`FASHION_MNIST_DIR`).
"""

import functools
import gzip
import math
import numbers
import os
import zlib

import numpy as np
from sklearn.utils import Bunch, check_random_state

__all__ = [
    "FASHION_MNIST_CLASSES",
    "FASHION_MNIST_DIR",
    "SHAPE_NAMES",
    "load_digits",
    "load_fashion_mnist",
    "load_idx",
    "make_shapes",
    "render_shapes",
    "shapes_factor_values",
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

SHAPE_NAMES = ("square", "ellipse", "heart")
SHAPES_FACTOR_NAMES = ("shape", "scale", "orientation", "pos_x", "pos_y")


# ----------------------------------------------------------------------
# Digits
# ----------------------------------------------------------------------
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
    data = images.reshape(len(images), -1)
    target = np.asarray(raw.target, dtype=np.int64)
    if return_X_y:
        return data, target
    return Bunch(
        data=data,
        images=images,
        target=target,
        target_names=np.arange(int(n_class)),
        image_shape=(8, 8),
        DESCR=(
            "scikit-learn's 8x8 optical recognition of handwritten digits "
            "(UCI), grey levels 0..16 divided by 16 (float32 in [0, 1])."
        ),
    )


# ----------------------------------------------------------------------
# Shapes (dSprites-like)
# ----------------------------------------------------------------------
_N_SCALES = 6
_N_ORIENTATIONS = 40
_N_POSITIONS = 32
# Radius (fraction of the image side) of the disc that holds every shape at
# scale 1, about its centroid; positions keep that disc inside the image.
_MAX_RADIUS = 0.2


def shapes_factor_values():
    """The levels of each factor of :func:`make_shapes`.

    Returns
    -------
    values : dict of str to ndarray
        ``shape``: ``[0, 1, 2]`` (square, ellipse, heart); ``scale``: 6
        values from 0.5 to 1; ``orientation``: 40 angles in radians,
        ``2 pi k / 40``; ``pos_x``, ``pos_y``: 32 values from 0 to 1.
    """
    return {
        "shape": np.arange(len(SHAPE_NAMES), dtype=np.float64),
        "scale": np.linspace(0.5, 1.0, _N_SCALES),
        "orientation": 2 * np.pi * np.arange(_N_ORIENTATIONS) / _N_ORIENTATIONS,
        "pos_x": np.linspace(0.0, 1.0, _N_POSITIONS),
        "pos_y": np.linspace(0.0, 1.0, _N_POSITIONS),
    }


def _heart_raw(x, y):
    """Implicit heart ``(x^2 + y^2 - 1)^3 - x^2 y^3 <= 0`` (y pointing up)."""
    r = x * x + y * y - 1.0
    return r * r * r - x * x * y * y * y <= 0.0


@functools.lru_cache(maxsize=1)
def _heart_frame():
    """Centroid and radius (about the centroid) of the raw heart."""
    grid = np.linspace(-1.5, 1.5, 1501)
    x, y = np.meshgrid(grid, grid)
    inside = _heart_raw(x, y)
    cx, cy = float(x[inside].mean()), float(y[inside].mean())
    radius = float(np.sqrt((x[inside] - cx) ** 2 + (y[inside] - cy) ** 2).max())
    return cx, cy, radius


def _inside(shape, u, v):
    """Whether shape-frame coordinates ``(u, v)`` (unit disc) are inside.

    Every shape fits in the unit disc about its centroid (its area centroid
    is the origin); ``v`` points up.
    """
    if shape == 0:  # square, half side 1 / sqrt(2)
        half = np.float32(1.0 / math.sqrt(2.0))
        return (np.abs(u) <= half) & (np.abs(v) <= half)
    if shape == 1:  # ellipse, semi-axes 1 and 0.5
        return u * u + np.float32(4.0) * v * v <= np.float32(1.0)
    cx, cy, radius = _heart_frame()
    scale = np.float32(radius)
    return _heart_raw(u * scale + np.float32(cx), v * scale + np.float32(cy))


def _pixel_centre(pos, image_size):
    """Pixel coordinate (row or column index) of a position factor in [0, 1]."""
    margin = _MAX_RADIUS * image_size + 0.5
    return margin + np.asarray(pos, dtype=np.float64) * (image_size - 1 - 2 * margin)


def render_shapes(factors, image_size=64, chunk_size=2048):
    """Render binary shape images from factor values.

    A shape's area centroid sits at the pixel (row, column)
    ``(c(pos_y), c(pos_x))`` with ``c(p) = m + p (S - 1 - 2 m)``,
    ``m = 0.2 S + 0.5`` and ``S = image_size`` (``pos_y = 0`` is the top
    row), so every shape lies entirely inside the image. At scale ``s`` the
    shape fits in a disc of radius ``0.2 S s`` pixels about its centroid:
    a square of half-diagonal ``0.2 S s``, an ellipse of semi-axes
    ``0.2 S s`` and ``0.1 S s``, or a heart. The orientation rotates the
    shape counter-clockwise about its centroid. A pixel is on when its centre
    is inside the shape.

    Parameters
    ----------
    factors : array-like, shape=[n, 5]
        Rows ``(shape, scale, orientation, pos_x, pos_y)``: shape index in
        ``{0, 1, 2}`` (square, ellipse, heart), scale in ``(0, 1]``,
        orientation in radians, positions in ``[0, 1]``.
    image_size : int
        Side ``S`` of the square images, at least 8.
    chunk_size : int
        Images rendered at a time (bounds the memory used).

    Returns
    -------
    images : ndarray of float32, shape=[n, S, S]
        Values in ``{0, 1}``.
    """
    factors = np.asarray(factors, dtype=np.float64)
    if factors.ndim != 2 or factors.shape[1] != 5:
        raise ValueError(
            "`factors` must have shape [n, 5] (shape, scale, orientation, pos_x, "
            f"pos_y), got {factors.shape}."
        )
    if not np.isfinite(factors).all():
        raise ValueError("`factors` contains non-finite values (NaN or inf).")
    if not np.isin(factors[:, 0], (0.0, 1.0, 2.0)).all():
        raise ValueError("`factors[:, 0]` (shape) must be 0, 1 or 2.")
    if ((factors[:, 1] <= 0) | (factors[:, 1] > 1)).any():
        raise ValueError("`factors[:, 1]` (scale) must be in (0, 1].")
    if ((factors[:, 3:] < 0) | (factors[:, 3:] > 1)).any():
        raise ValueError("`factors[:, 3:]` (pos_x, pos_y) must be in [0, 1].")
    image_size = _check_image_size(image_size, minimum=8)
    if (
        isinstance(chunk_size, bool)
        or not isinstance(chunk_size, numbers.Integral)
        or chunk_size < 1
    ):
        raise ValueError(f"`chunk_size` must be a positive integer, got {chunk_size!r}.")

    n = len(factors)
    images = np.zeros((n, image_size, image_size), dtype=np.float32)
    grid = np.arange(image_size, dtype=np.float32)
    for start in range(0, n, chunk_size):
        block = factors[start : start + chunk_size]
        for shape in range(len(SHAPE_NAMES)):
            rows = np.flatnonzero(block[:, 0] == shape)
            if rows.size == 0:
                continue
            f = block[rows]
            radius = (_MAX_RADIUS * image_size * f[:, 1]).astype(np.float32)
            cos = np.cos(f[:, 2]).astype(np.float32)[:, None, None]
            sin = np.sin(f[:, 2]).astype(np.float32)[:, None, None]
            col = _pixel_centre(f[:, 3], image_size).astype(np.float32)
            row = _pixel_centre(f[:, 4], image_size).astype(np.float32)
            inv_r = (np.float32(1.0) / radius)[:, None, None]
            dx = (grid[None, None, :] - col[:, None, None]) * inv_r  # [m, 1, S]
            dy = (row[:, None, None] - grid[None, :, None]) * inv_r  # [m, S, 1], up
            # Rotate the pixel back by -orientation into the shape's frame.
            u = cos * dx + sin * dy
            v = cos * dy - sin * dx
            images[start + rows] = _inside(shape, u, v)
    return images


def make_shapes(n_samples=20000, *, image_size=64, random_state=None, return_X_y=False):
    """Generate a dSprites-like dataset of binary 2-D shapes, with its factors.

    Each image shows one shape (square, ellipse or heart) with a scale, an
    orientation and a position drawn independently and uniformly among the
    levels of :func:`shapes_factor_values` (3 x 6 x 40 x 32 x 32, as in
    dSprites), rendered deterministically with NumPy by
    :func:`render_shapes`. The same ``random_state`` gives the same images.

    Parameters
    ----------
    n_samples : int
        Number of images.
    image_size : int
        Side of the square images, 64 (as dSprites) or 32 (any size >= 8
        works).
    random_state : int, RandomState instance or None
        Seed of the factor draws.
    return_X_y : bool
        Return ``(data, target)`` (target: the shape index) instead of a
        Bunch.

    Returns
    -------
    data : sklearn.utils.Bunch
        ``data`` : ndarray of float32, shape=[n, S*S], values in {0, 1}.
        ``images`` : ndarray of float32, shape=[n, S, S].
        ``target`` : ndarray of int64, shape=[n], the shape index.
        ``target_names`` : tuple of str, the shape names.
        ``factors`` : ndarray of float64, shape=[n, 5], the factor values
        (shape index, scale, orientation in radians, pos_x, pos_y).
        ``factor_classes`` : ndarray of int64, shape=[n, 5], the level index
        of each factor (use these for disentanglement scores).
        ``factor_names`` : tuple of str, ``("shape", "scale", "orientation",
        "pos_x", "pos_y")``.
        ``factor_sizes`` : tuple of int, the number of levels of each factor.
        ``image_shape`` : tuple ``(S, S)``.
        ``DESCR`` : str.
    (data, target) : tuple of ndarray
        If ``return_X_y`` is True.
    """
    if isinstance(n_samples, bool) or not isinstance(n_samples, numbers.Integral) or n_samples < 1:
        raise ValueError(f"`n_samples` must be a positive integer, got {n_samples!r}.")
    image_size = _check_image_size(image_size, minimum=8)
    rng = check_random_state(random_state)
    levels = shapes_factor_values()
    sizes = tuple(len(levels[name]) for name in SHAPES_FACTOR_NAMES)
    classes = np.stack([rng.randint(0, size, size=int(n_samples)) for size in sizes], axis=1)
    classes = classes.astype(np.int64)
    factors = np.stack(
        [levels[name][classes[:, k]] for k, name in enumerate(SHAPES_FACTOR_NAMES)], axis=1
    )
    images = render_shapes(factors, image_size=image_size)
    data = images.reshape(len(images), -1)
    target = classes[:, 0].copy()
    if return_X_y:
        return data, target
    return Bunch(
        data=data,
        images=images,
        target=target,
        target_names=SHAPE_NAMES,
        factors=factors,
        factor_classes=classes,
        factor_names=SHAPES_FACTOR_NAMES,
        factor_sizes=sizes,
        image_shape=(image_size, image_size),
        DESCR=(
            "dSprites-like binary shapes (square, ellipse, heart) x 6 scales x "
            "40 orientations x 32 x 32 positions, factors drawn uniformly and "
            "rendered with NumPy."
        ),
    )


def _check_image_size(image_size, minimum):
    if (
        isinstance(image_size, bool)
        or not isinstance(image_size, numbers.Integral)
        or image_size < minimum
    ):
        raise ValueError(
            f"`image_size` must be an integer >= {minimum} (e.g. 32 or 64), got "
            f"{image_size!r}."
        )
    return int(image_size)


# ----------------------------------------------------------------------
# IDX files (MNIST, Fashion-MNIST)
# ----------------------------------------------------------------------
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
    if subset not in ("train", "test", "all"):
        raise ValueError(f"`subset` must be 'train', 'test' or 'all', got {subset!r}.")
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
    data = images.reshape(len(images), -1)
    if return_X_y:
        return data, target
    return Bunch(
        data=data,
        images=images,
        target=target,
        target_names=FASHION_MNIST_CLASSES,
        image_shape=tuple(images.shape[1:]),
        DESCR=(
            f"Fashion-MNIST ({subset}), Zalando article images, grey levels "
            "divided by 255 (float32 in [0, 1])."
        ),
    )
