"""A dSprites-like set of shapes with known factors, rendered with NumPy."""

import functools
import math

import numpy as np
from sklearn.utils import check_random_state

from geomstats_gen.core.checks import check_int
from geomstats_gen.datasets._bunch import image_dataset

__all__ = [
    "SHAPES_FACTOR_NAMES",
    "SHAPE_NAMES",
    "make_shapes",
    "render_shapes",
    "shapes_factor_values",
]

SHAPE_NAMES = ("square", "ellipse", "heart")
SHAPES_FACTOR_NAMES = ("shape", "scale", "orientation", "pos_x", "pos_y")

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
    image_size = check_int(image_size, "image_size", minimum=8)
    chunk_size = check_int(chunk_size, "chunk_size")

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
    n_samples = check_int(n_samples, "n_samples")
    image_size = check_int(image_size, "image_size", minimum=8)
    rng = check_random_state(random_state)
    levels = shapes_factor_values()
    sizes = tuple(len(levels[name]) for name in SHAPES_FACTOR_NAMES)
    classes = np.stack([rng.randint(0, size, size=int(n_samples)) for size in sizes], axis=1)
    classes = classes.astype(np.int64)
    factors = np.stack(
        [levels[name][classes[:, k]] for k, name in enumerate(SHAPES_FACTOR_NAMES)], axis=1
    )
    images = render_shapes(factors, image_size=image_size)
    return image_dataset(
        images, classes[:, 0].copy(), SHAPE_NAMES,
        "dSprites-like binary shapes (square, ellipse, heart) x 6 scales x "
        "40 orientations x 32 x 32 positions, factors drawn uniformly and "
        "rendered with NumPy.",
        return_X_y,
        factors=factors,
        factor_classes=classes,
        factor_names=SHAPES_FACTOR_NAMES,
        factor_sizes=sizes,
    )
