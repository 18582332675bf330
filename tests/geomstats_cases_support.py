"""Glue to run Geomstats' own metric test cases on a GeneratedManifold.

Geomstats 2.8.0 ships its test *cases* (``geomstats.test_cases``: test
methods, e.g. ``RiemannianMetricTestCase.test_exp_after_log``) but not the
test *data* of its own suite, nor a pytest plugin. Its test classes are
built by the metaclass ``DataBasedParametrizer``: a test method runs only if
the ``testing_data`` object has a matching ``<name>_test_data`` method; all
other inherited test methods are left on the class marked ``ignore`` and
unparametrised, and Geomstats' repository deselects them with a
``pytest_collection_modifyitems`` hook in its root conftest
(``geomstats.test.conf``).

We cannot touch ``tests/conftest.py``, and a second ``conftest.py`` in a
subfolder would shadow it as the module ``conftest`` that other test files
import from. So instead of the hook, :func:`drop_inactive_tests` sets
``__test__ = False`` on the inactive methods (pytest then does not collect
them, but they stay callable: the automatic ``*_vec`` tests call the plain
test method by name). :func:`geomstats_marks` silences the
``PytestUnknownMarkWarning`` for Geomstats' marks (``random``, ``vec``,
``ignore``), which its ``setup.cfg`` registers and our ``pyproject.toml``
does not.

Importing ``geomstats.test.parametrizers`` needs ``nbformat`` and
``nbconvert`` (for its notebook runner, unused here) and ``matplotlib``.
"""

import contextlib
import warnings

import pytest
import torch


@contextlib.contextmanager
def geomstats_marks():
    """Silence pytest's warnings about Geomstats' unregistered marks."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=pytest.PytestUnknownMarkWarning)
        yield


def drop_inactive_tests(cls):
    """Class decorator: do not collect the test methods without data."""
    for name, attr in vars(cls).items():
        if not name.startswith("test_") or not callable(attr):
            continue
        marks = getattr(attr, "pytestmark", [])
        if any(getattr(mark, "name", None) == "ignore" for mark in marks):
            attr.__test__ = False
    return cls


class BoxDataGenerator:
    """Random latent points in a box, and short random tangent vectors.

    Replaces Geomstats' ``RandomDataGenerator`` (which samples
    ``space.random_point``, the cube ``[-1, 1]^d``): each chart has a region
    where it is an immersion and where the shortest geodesics between its
    points stay inside it. Draws come from a private seeded generator, as
    CPU float64 tensors like Geomstats' points. Follows Geomstats' shape
    convention: ``n_points == 1`` gives a single point ``[d]``.

    Parameters
    ----------
    space : GeneratedManifold
    low, high : sequence of float
        Corners of the box of latent points.
    vec_scale : float
        Tangent vectors are uniform in ``[-vec_scale, vec_scale]^d``.
    seed : int
    """

    def __init__(self, space, low, high, vec_scale, seed=0):
        self.space = space
        self.low = torch.as_tensor(low, dtype=torch.float64)
        self.high = torch.as_tensor(high, dtype=torch.float64)
        self.vec_scale = float(vec_scale)
        self.generator = torch.Generator().manual_seed(seed)

    def _uniform(self, shape):
        return torch.rand(shape, generator=self.generator, dtype=torch.float64)

    def random_point(self, n_points=1):
        dim = self.low.shape[0]
        points = self.low + (self.high - self.low) * self._uniform((n_points, dim))
        return points[0] if n_points == 1 else points

    def random_tangent_vec(self, base_point):
        base_point = torch.as_tensor(base_point)
        return self.vec_scale * (2 * self._uniform(base_point.shape) - 1)
