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
  :data:`FASHION_MNIST_DIR`), :func:`load_array_file` an IDX, ``.npy`` or
  ``.npz`` file, and :func:`load_dataset` resolves a dataset name or a file
  (the command line's ``--dataset``).
"""

from geomstats_gen.datasets.digits import load_digits
from geomstats_gen.datasets.files import (
    FASHION_MNIST_CLASSES,
    FASHION_MNIST_DIR,
    load_array_file,
    load_fashion_mnist,
    load_idx,
)
from geomstats_gen.datasets.resolve import DATASETS, load_dataset
from geomstats_gen.datasets.shapes import (
    SHAPE_NAMES,
    SHAPES_FACTOR_NAMES,
    make_shapes,
    render_shapes,
    shapes_factor_values,
)

__all__ = [
    "DATASETS",
    "FASHION_MNIST_CLASSES",
    "FASHION_MNIST_DIR",
    "SHAPE_NAMES",
    "SHAPES_FACTOR_NAMES",
    "load_array_file",
    "load_dataset",
    "load_digits",
    "load_fashion_mnist",
    "load_idx",
    "make_shapes",
    "render_shapes",
    "shapes_factor_values",
]
