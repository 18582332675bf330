"""Tests of geomstats_gen.datasets: digits, shapes, IDX files, Fashion-MNIST."""

import gzip
import os
import struct

import geomstats_gen  # noqa: F401  (selects the pytorch backend first)
import numpy as np
import pytest

from geomstats_gen import datasets
from geomstats_gen.datasets import (
    load_digits,
    load_fashion_mnist,
    load_idx,
    make_shapes,
    render_shapes,
    shapes_factor_values,
)


# ----------------------------------------------------------------------
# Digits
# ----------------------------------------------------------------------
def test_load_digits_bunch():
    bunch = load_digits()
    assert bunch.data.shape == (1797, 64)
    assert bunch.images.shape == (1797, 8, 8)
    assert bunch.data.dtype == np.float32 and bunch.images.dtype == np.float32
    assert bunch.data.min() == 0.0 and bunch.data.max() == 1.0
    np.testing.assert_array_equal(bunch.images.reshape(1797, 64), bunch.data)
    assert bunch.target.dtype == np.int64
    assert set(np.unique(bunch.target)) == set(range(10))
    # The grey levels are k / 16.
    np.testing.assert_array_equal(bunch.data * 16, np.round(bunch.data * 16))


def test_load_digits_return_X_y_and_n_class():
    X, y = load_digits(n_class=3, return_X_y=True)
    assert X.shape[1] == 64 and len(X) == len(y)
    assert set(np.unique(y)) == {0, 1, 2}
    with pytest.raises(ValueError, match="n_class"):
        load_digits(n_class=11)


# ----------------------------------------------------------------------
# Shapes
# ----------------------------------------------------------------------
def _pixel_centre(pos, size):
    margin = 0.2 * size + 0.5
    return margin + pos * (size - 1 - 2 * margin)


def test_make_shapes_deterministic_and_well_formed():
    first = make_shapes(300, image_size=32, random_state=7)
    second = make_shapes(300, image_size=32, random_state=7)
    other = make_shapes(300, image_size=32, random_state=8)
    np.testing.assert_array_equal(first.images, second.images)
    np.testing.assert_array_equal(first.factors, second.factors)
    assert not np.array_equal(first.factors, other.factors)
    assert first.data.shape == (300, 32 * 32) and first.images.shape == (300, 32, 32)
    assert first.data.dtype == np.float32
    assert set(np.unique(first.data)) == {0.0, 1.0}
    assert first.factor_names == ("shape", "scale", "orientation", "pos_x", "pos_y")
    assert first.factor_sizes == (3, 6, 40, 32, 32)
    classes = first.factor_classes
    assert classes.dtype == np.int64 and classes.shape == (300, 5)
    assert (classes >= 0).all() and (classes < np.array(first.factor_sizes)).all()
    levels = shapes_factor_values()
    for k, name in enumerate(first.factor_names):
        np.testing.assert_array_equal(first.factors[:, k], levels[name][classes[:, k]])
    np.testing.assert_array_equal(first.target, classes[:, 0])
    X, y = make_shapes(10, image_size=32, random_state=7, return_X_y=True)
    small = make_shapes(10, image_size=32, random_state=7)
    np.testing.assert_array_equal(X, small.data)
    np.testing.assert_array_equal(y, small.target)


@pytest.mark.parametrize("size", [32, 64])
def test_shapes_centroid_matches_position(size):
    bunch = make_shapes(1000, image_size=size, random_state=0)
    images = bunch.images
    grid = np.arange(size)
    mass = images.sum(axis=(1, 2))
    assert mass.min() > 0
    centre_row = (images.sum(axis=2) * grid).sum(axis=1) / mass
    centre_col = (images.sum(axis=1) * grid).sum(axis=1) / mass
    np.testing.assert_allclose(centre_col, _pixel_centre(bunch.factors[:, 3], size), atol=0.6)
    np.testing.assert_allclose(centre_row, _pixel_centre(bunch.factors[:, 4], size), atol=0.6)
    # The position factors span most of the image, and no shape is clipped.
    border = images[:, 0].sum() + images[:, -1].sum() + images[:, :, 0].sum()
    assert border + images[:, :, -1].sum() == 0


def test_shapes_scale_orders_pixel_counts():
    bunch = make_shapes(3000, image_size=32, random_state=1)
    counts = bunch.images.sum(axis=(1, 2))
    classes = bunch.factor_classes
    for shape in range(3):
        per_scale = [
            counts[(classes[:, 0] == shape) & (classes[:, 1] == s)].mean()
            for s in range(6)
        ]
        assert np.all(np.diff(per_scale) > 0), per_scale
    # Areas against the documented geometry, at 64 px: a square of
    # half-diagonal r has area 2 r^2, an ellipse of semi-axes r, r/2 has
    # area pi r^2 / 2 (r = 0.2 * 64 * scale).
    scales = np.linspace(0.5, 1.0, 6)
    radius = 0.2 * 64 * scales
    for shape, area in ((0, 2 * radius**2), (1, np.pi * radius**2 / 2)):
        factors = np.column_stack(
            [np.full(6, shape), scales, np.full(6, 0.3), np.full(6, 0.5), np.full(6, 0.5)]
        )
        pixels = render_shapes(factors, image_size=64).sum(axis=(1, 2))
        np.testing.assert_allclose(pixels, area, rtol=0.08)


def test_shapes_orientation_rotates():
    factors = np.array([[1, 1.0, 0.0, 0.5, 0.5], [1, 1.0, np.pi / 2, 0.5, 0.5]])
    flat, upright = render_shapes(factors, image_size=64)
    width = lambda im: np.any(im > 0, axis=0).sum()  # noqa: E731
    height = lambda im: np.any(im > 0, axis=1).sum()  # noqa: E731
    assert width(flat) > 1.8 * height(flat)
    assert height(upright) > 1.8 * width(upright)
    # The heart is not symmetric under a half turn.
    heart = render_shapes([[2, 1.0, 0.0, 0.5, 0.5], [2, 1.0, np.pi, 0.5, 0.5]], image_size=64)
    assert not np.array_equal(heart[0], heart[1])
    np.testing.assert_array_equal(heart[0], heart[0][:, ::-1])  # left-right symmetric


def test_shapes_bad_arguments():
    with pytest.raises(ValueError, match="n_samples"):
        make_shapes(0)
    with pytest.raises(ValueError, match="image_size"):
        make_shapes(5, image_size=4)
    with pytest.raises(ValueError, match="shape"):
        render_shapes([[3, 1.0, 0.0, 0.5, 0.5]])
    with pytest.raises(ValueError, match=r"\[n, 5\]"):
        render_shapes(np.zeros((2, 4)))
    with pytest.raises(ValueError, match="pos_x"):
        render_shapes([[0, 1.0, 0.0, 1.5, 0.5]])


# ----------------------------------------------------------------------
# IDX files
# ----------------------------------------------------------------------
_CODES = {np.uint8: 0x08, np.int8: 0x09, np.int16: 0x0B, np.int32: 0x0C, np.float32: 0x0D,
          np.float64: 0x0E}


def _idx_bytes(array):
    array = np.asarray(array)
    code = _CODES[array.dtype.type]
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def _write(path, payload, compress=False):
    if compress:
        payload = gzip.compress(payload)
    with open(path, "wb") as handle:
        handle.write(payload)
    return path


@pytest.mark.parametrize("compress", [False, True])
@pytest.mark.parametrize(
    "array",
    [
        np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4),
        np.array([-3, 0, 7], dtype=np.int8),
        np.array([[1, -70000], [3, 2**30]], dtype=np.int32),
        np.array([-1000, 1000], dtype=np.int16),
        np.linspace(-1, 1, 6, dtype=np.float32).reshape(3, 2),
        np.array([np.pi, -np.e], dtype=np.float64),
    ],
)
def test_load_idx_round_trip(tmp_path, array, compress):
    path = _write(tmp_path / "file.idx", _idx_bytes(array), compress)
    loaded = load_idx(path)
    assert loaded.dtype == array.dtype and loaded.dtype.isnative
    np.testing.assert_array_equal(loaded, array)


def test_load_idx_errors(tmp_path):
    payload = _idx_bytes(np.arange(60, dtype=np.uint8).reshape(3, 4, 5))
    truncated = _write(tmp_path / "truncated", payload[:-7])
    with pytest.raises(ValueError, match="truncated"):
        load_idx(truncated)
    header_cut = _write(tmp_path / "header", payload[:9])
    with pytest.raises(ValueError, match="truncated"):
        load_idx(header_cut)
    gz_cut = _write(tmp_path / "cut.gz", gzip.compress(payload)[:-12])
    with pytest.raises(ValueError, match="truncated or corrupted gzip"):
        load_idx(gz_cut)
    trailing = _write(tmp_path / "trailing", payload + b"\x00\x01")
    with pytest.raises(ValueError, match="bytes after"):
        load_idx(trailing)
    foreign = _write(tmp_path / "foreign", b"PK\x03\x04 not an idx file")
    with pytest.raises(ValueError, match="not an IDX file"):
        load_idx(foreign)
    tiny = _write(tmp_path / "tiny", b"\x00\x00")
    with pytest.raises(ValueError, match="not an IDX file"):
        load_idx(tiny)
    with pytest.raises(FileNotFoundError):
        load_idx(tmp_path / "missing.idx")


# ----------------------------------------------------------------------
# Fashion-MNIST from local files
# ----------------------------------------------------------------------
@pytest.fixture
def fake_fashion(tmp_path):
    rng = np.random.default_rng(0)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (12, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": rng.integers(0, 10, 12, dtype=np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (5, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": rng.integers(0, 10, 5, dtype=np.uint8),
    }
    for i, (stem, array) in enumerate(arrays.items()):
        compress = i % 2 == 0  # a mix of .gz and plain files
        _write(tmp_path / (stem + (".gz" if compress else "")), _idx_bytes(array), compress)
    return tmp_path, arrays


def test_load_fashion_mnist_from_path(fake_fashion):
    folder, arrays = fake_fashion
    train = load_fashion_mnist(folder)
    assert train.data.shape == (12, 784) and train.images.shape == (12, 28, 28)
    assert train.data.dtype == np.float32
    np.testing.assert_allclose(train.images * 255, arrays["train-images-idx3-ubyte"], atol=1e-4)
    np.testing.assert_array_equal(train.target, arrays["train-labels-idx1-ubyte"])
    assert train.target_names[9] == "Ankle boot"
    X, y = load_fashion_mnist(folder, subset="test", return_X_y=True)
    assert X.shape == (5, 784) and len(y) == 5
    both = load_fashion_mnist(folder, subset="all")
    assert len(both.data) == 17
    np.testing.assert_array_equal(both.data[12:], X)
    assert 0.0 <= both.data.min() and both.data.max() <= 1.0


def test_load_fashion_mnist_missing_files(tmp_path, fake_fashion):
    with pytest.raises(FileNotFoundError, match="apt-get install dataset-fashion-mnist"):
        load_fashion_mnist(tmp_path / "nowhere")
    folder, _ = fake_fashion
    for name in os.listdir(folder):
        if name.startswith("t10k-labels"):
            os.remove(folder / name)
    with pytest.raises(FileNotFoundError, match="t10k-labels-idx1-ubyte"):
        load_fashion_mnist(folder, subset="test")
    with pytest.raises(ValueError, match="subset"):
        load_fashion_mnist(folder, subset="valid")


def test_load_fashion_mnist_default_location():
    if os.path.isdir(datasets.FASHION_MNIST_DIR):
        pytest.skip("Fashion-MNIST is installed here")
    with pytest.raises(FileNotFoundError, match="pass `path=`"):
        load_fashion_mnist()


def test_load_fashion_mnist_labels_mismatch(fake_fashion):
    folder, arrays = fake_fashion
    for name in os.listdir(folder):
        if name.startswith("train-labels"):
            os.remove(folder / name)
    _write(folder / "train-labels-idx1-ubyte", _idx_bytes(np.zeros(11, dtype=np.uint8)))
    with pytest.raises(ValueError, match="one label per image"):
        load_fashion_mnist(folder)
