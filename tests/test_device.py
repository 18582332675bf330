"""Placement: the same computations with the decoder on each device.

Parametrised by the ``device`` fixture (``conftest.py``): the CPU always,
CUDA where ``torch.cuda.is_available()`` (skipped with the reason
elsewhere). The points are Geomstats' CPU float64 tensors; the decoder is a
float64 MLP or the sphere chart on ``device``. Every result must come back on
the CPU in float64, equal to the closed form (sphere) or to the same decoder
on the CPU to 1e-10 (the GPU target of the issue "The GPU path, verified").
"""

import json
import warnings

import numpy as np
import pytest
import torch

from geomstats_gen import GeneratedManifold
from geomstats_gen.cli import main
from geomstats_gen.datasets import load_digits
from geomstats_gen.decoders import SphereChart, make_mlp
from geomstats_gen.exceptions import ConvergenceWarning
from geomstats_gen.learning import GeodesicKNeighborsClassifier, pairwise_geodesic_distances
from geomstats_gen.measures import curvature_statistics
from geomstats_gen.models import VAE

F64 = torch.float64
SIZES = [3, 16, 32, 12]


def _pairs(n=6, dim=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    return 0.5 * torch.randn(n, dim, generator=g, dtype=F64), 0.5 * torch.randn(n, dim, generator=g, dtype=F64)


def _spaces(device):
    cpu = GeneratedManifold(make_mlp(SIZES, dtype=F64, seed=2), SIZES[0])
    there = GeneratedManifold(make_mlp(SIZES, dtype=F64, seed=2, device=device), SIZES[0])
    return cpu, there


def _same(out, ref, atol=1e-10):
    assert out.device.type == "cpu" and out.dtype == F64
    torch.testing.assert_close(out, ref, atol=atol, rtol=0)


def test_decoder_placement_is_read_from_the_decoder(device):
    _, space = _spaces(device)
    assert space.chart.placement()[1].type == device


def test_sphere_chart_on_device_matches_the_closed_form(device):
    space = GeneratedManifold(SphereChart(2.0), 2, dtype=F64, device=device)
    a = torch.tensor([[1.0, 0.2], [0.8, -0.5]], dtype=F64)
    b = torch.tensor([[1.6, 0.9], [2.0, 0.4]], dtype=F64)
    metric = space.metric.metric_matrix(a)
    expected = torch.diag_embed(torch.stack([torch.full((2,), 4.0, dtype=F64), 4 * torch.sin(a[:, 0]) ** 2], -1))
    _same(metric, expected, atol=1e-12)
    ga, gb = SphereChart(2.0)(a), SphereChart(2.0)(b)
    _same(space.metric.dist(a, b), 2.0 * torch.arccos((ga * gb).sum(-1) / 4), atol=1e-7)
    _same(space.metric.scalar_curvature(a), torch.full((2,), 0.5, dtype=F64), atol=1e-8)


def test_geodesics_transport_and_curvature_equal_the_cpu_ones(device):
    cpu, there = _spaces(device)
    a, b = _pairs(3)
    _same(there.metric.metric_matrix(a), cpu.metric.metric_matrix(a))
    _same(there.metric.log(b, a), cpu.metric.log(b, a))
    _same(there.metric.dist(a, b), cpu.metric.dist(a, b))
    v = 0.3 * (b - a)
    _same(there.metric.exp(v, a), cpu.metric.exp(v, a))
    _same(there.metric.parallel_transport(v, a, end_point=b),
          cpu.metric.parallel_transport(v, a, end_point=b), atol=1e-9)
    _same(there.metric.sectional_curvature(v, b - a, a), cpu.metric.sectional_curvature(v, b - a, a))
    _same(there.metric.scalar_curvature(a), cpu.metric.scalar_curvature(a))
    path = there.metric.geodesic(a, end_point=b)(torch.linspace(0, 1, 5, dtype=F64))
    _same(path, cpu.metric.geodesic(a, end_point=b)(torch.linspace(0, 1, 5, dtype=F64)))


def test_points_on_the_device_give_results_on_the_device(device):
    _, there = _spaces(device)
    a, b = _pairs()
    out = there.metric.dist(a.to(device), b.to(device))
    assert out.device.type == device and out.dtype == F64


def test_distance_matrices_curvature_and_estimators(device):
    cpu, there = _spaces(device)
    codes = torch.cat(_pairs(5))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        exact = pairwise_geodesic_distances(there, codes.numpy())
        ref = pairwise_geodesic_distances(cpu, codes.numpy())
    np.testing.assert_allclose(exact, ref, atol=1e-10, rtol=0)
    stats = curvature_statistics(there, codes, n_planes=2, random_state=0)
    ref_stats = curvature_statistics(cpu, codes, n_planes=2, random_state=0)
    _same(stats["scalar"], ref_stats["scalar"])
    _same(stats["sectional"], ref_stats["sectional"])
    labels = np.arange(10) % 2
    clf = GeodesicKNeighborsClassifier(space=there, n_neighbors=3).fit(codes.numpy(), labels)
    ref_clf = GeodesicKNeighborsClassifier(space=cpu, n_neighbors=3).fit(codes.numpy(), labels)
    assert clf.predict(codes.numpy()).tolist() == ref_clf.predict(codes.numpy()).tolist()


def test_model_fits_on_the_device_and_is_analysed(device, tmp_path):
    X = load_digits().data[:200]
    vae = VAE(n_components=2, epochs=2, random_state=0, device=device, image_shape=(8, 8)).fit(X)
    assert next(vae.mean_decoder_.parameters()).device.type == device
    codes = vae.transform(X[:8])
    assert codes.shape == (8, 2)
    dist = vae.manifold_.metric.dist(torch.as_tensor(codes[:4], dtype=F64), torch.as_tensor(codes[4:], dtype=F64))
    assert dist.device.type == "cpu" and bool(torch.isfinite(dist).all())
    path = tmp_path / "vae.pt"
    vae.save(path)
    out = tmp_path / "report"
    argv = ["analyze", str(path), "--dataset", "digits", "--n-samples", "200", "--fast",
            "--quiet", "--n-codes", "24", "--device", device, "--out", str(out)]
    assert main(argv) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["latent"]["latent_dim"] == 2
    assert (out / "report.html").is_file()


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on CPU-only machines")
def test_cuda_requested_without_a_gpu_says_so(tmp_path):
    with pytest.raises((RuntimeError, ValueError, SystemExit), match="(?i)cuda"):
        VAE(n_components=2, epochs=1, device="cuda").fit(load_digits().data[:50])


def test_adaptive_steps_synchronise_once_per_step(device):
    """A step of the adaptive integrator transfers to the host once (whether
    to stop), not once per boolean-mask gather of the running rows: on a GPU
    each such gather waits for the device. The field here has no
    synchronisation of its own."""
    if device != "cuda":
        pytest.skip("host-device synchronisation exists on CUDA only")
    from geomstats_gen.geometry.adaptive import dop853

    calls = []

    def field(t, state):  # x'' = -w^2 x, elementwise
        calls.append(1)
        x, v, w = state
        return v, -(w**2) * x, torch.zeros_like(w)

    w = torch.full((8, 1), 3.0, dtype=F64, device=device)
    state = (torch.ones_like(w), torch.zeros_like(w), w)
    dop853(field, state, 1e-10, 1e-11, 1000)  # first call: the coefficients go to the device
    calls.clear()
    torch.cuda.set_sync_debug_mode("warn")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            end = dop853(field, state, 1e-10, 1e-11, 1000)
    finally:
        torch.cuda.set_sync_debug_mode("default")
    syncs = sum("synchroniz" in str(c.message) for c in caught)
    steps = (len(calls) - 1) // 12
    assert steps >= 5
    # The rows finish together: one exit, with its gathers (about 15).
    assert syncs <= steps + 20, (syncs, steps)
    _same(end[0].cpu(), torch.cos(w.cpu() * 1.0), atol=1e-8)
