"""Shared fixtures: decoders whose geometry is known in closed form (see known_geometry)."""

import geomstats_gen  # noqa: F401  (selects the pytorch backend first)
import pytest
import torch

import known_geometry as known
from geomstats_gen import GeneratedManifold

F64 = known.F64


#: Devices of the placement tests: the CPU always, CUDA where there is one.
CUDA_REASON = "CUDA is not available on this machine (the GPU cases run where it is)"
DEVICES = [
    "cpu",
    pytest.param(
        "cuda",
        marks=[pytest.mark.cuda,
               pytest.mark.skipif(not torch.cuda.is_available(), reason=CUDA_REASON)],
    ),
]


@pytest.fixture(scope="module")
def one_torch_thread():
    """One intra-op torch thread for a module (``usefixtures``), restored after.

    Two reasons to want it: the solvers make many tiny LAPACK calls, which on a
    busy 2-core machine wait ~12 ms each for a second OpenMP thread instead of
    ~5 us; and matrix products round differently with 1 and 2 threads, so a
    result compared to ``1e-12`` with one computed on a one-thread Dask worker
    must be computed with one thread too.
    """
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(params=DEVICES)
def device(request):
    """A torch device name: ``"cpu"``, and ``"cuda"`` when available."""
    return request.param


@pytest.fixture
def linear_matrix():
    gen = torch.Generator().manual_seed(3)
    return torch.randn(5, 3, generator=gen, dtype=F64)


@pytest.fixture
def linear_space(linear_matrix):
    offset = torch.linspace(-1.0, 1.0, 5, dtype=F64)
    return GeneratedManifold(known.linear(linear_matrix, offset), 3)


@pytest.fixture
def sphere_space():
    return GeneratedManifold(known.sphere(known.SPHERE_RADIUS), 2)


@pytest.fixture
def torus_space():
    return GeneratedManifold(known.torus(), 2)


@pytest.fixture
def mlp_space():
    return GeneratedManifold(known.mlp([2, 16, 32, 12], 1, F64), 2)


def sphere_points(n, seed=0):
    """Latent points (theta, phi) in a part of the chart where shortest
    geodesics stay away from the poles and the seam at phi = +-pi."""
    gen = torch.Generator().manual_seed(seed)
    theta = 0.7 + 1.7 * torch.rand(n, generator=gen, dtype=F64)
    phi = -1.2 + 2.4 * torch.rand(n, generator=gen, dtype=F64)
    return torch.stack([theta, phi], dim=-1)


# ----------------------------------------------------------------------
# Hypothesis profiles (tests/test_properties.py)
# ----------------------------------------------------------------------
# "ci" (default): few examples, derandomized, so CI is fast and deterministic.
# "thorough": many random examples; select it for the whole property suite
# with HYPOTHESIS_PROFILE=thorough, or run the slow-marked "thorough"
# variants of the property tests with `pytest -m slow tests/test_properties.py`.
try:
    from hypothesis import HealthCheck, Phase, settings
except ImportError:  # pragma: no cover - hypothesis is a test dependency
    settings = None

if settings is not None:
    _SUPPRESSED = [HealthCheck.too_slow, HealthCheck.data_too_large]
    settings.register_profile(
        "ci",
        max_examples=10,
        deadline=None,
        derandomize=True,
        database=None,
        print_blob=True,
        # no shrinking: each example costs geodesic solves; a failure is
        # reported as found (rerun with the thorough profile to shrink it)
        phases=[Phase.explicit, Phase.reuse, Phase.generate],
        suppress_health_check=_SUPPRESSED,
    )
    settings.register_profile(
        "thorough",
        max_examples=200,
        deadline=None,
        database=None,
        print_blob=True,
        phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
        suppress_health_check=_SUPPRESSED,
    )
    import os as _os

    settings.load_profile(_os.environ.get("HYPOTHESIS_PROFILE", "ci"))
