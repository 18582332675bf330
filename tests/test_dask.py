"""Scale-out on Dask: the same results as in-process, on a LocalCluster of 2 worker processes.

The cluster is started once per test run (session fixture) and torn down
afterwards. Every parallel result must equal the in-process one to 1e-12
(float64 decoders); a worker killed while chunks are in flight costs only
its chunks (Dask runs them again), never a wrong or partial matrix.
"""

import json
import os
import pickle
import signal
import threading
import time
import warnings

import joblib
import numpy as np
import pytest
import torch

from geomstats_gen import GeneratedManifold
from geomstats_gen.cli import main
from geomstats_gen.core import parallel
from geomstats_gen.decoders import make_mlp
from geomstats_gen.exceptions import ConvergenceWarning
from geomstats_gen.learning import compare_models, pairwise_geodesic_distances
from geomstats_gen.measures import curvature_statistics

distributed = pytest.importorskip("distributed", reason="dask[distributed] is not installed")

# In-process references computed as the workers compute: with one torch thread
# (1 and 2 threads round matrix products differently: 1.7e-12 apart on a
# distance of 1.6 once a solve stops at its tolerance).
pytestmark = pytest.mark.usefixtures("one_torch_thread")

F64 = torch.float64


@pytest.fixture(scope="session")
def dask_client():
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
        silence_logs=40,
    )
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


@pytest.fixture(scope="module")
def space():
    return GeneratedManifold(make_mlp([2, 16, 24], dtype=F64, seed=4), 2)


def _codes(n, seed=0):
    return np.random.default_rng(seed).normal(size=(n, 2))


def test_in_process_by_default(space, monkeypatch):
    calls = []
    monkeypatch.setattr(parallel, "_ship", lambda obj: calls.append(obj))
    pairwise_geodesic_distances(space, _codes(6), chunk_size=4)
    assert calls == []  # nothing pickled: a plain loop on the caller's space


def test_exact_and_graph_matrices_equal_the_in_process_ones(dask_client, space):
    codes = _codes(24)
    exact = pairwise_geodesic_distances(space, codes, chunk_size=40)
    graph = pairwise_geodesic_distances(space, codes, method="graph", n_neighbors=4, chunk_size=10)
    with joblib.parallel_config(backend="dask"):
        exact_d = pairwise_geodesic_distances(space, codes, chunk_size=40, progress=True)
        graph_d = pairwise_geodesic_distances(
            space, codes, method="graph", n_neighbors=4, chunk_size=10
        )
    np.testing.assert_allclose(exact_d, exact, atol=1e-12, rtol=0)
    np.testing.assert_allclose(graph_d, graph, atol=1e-12, rtol=0)
    assert exact.shape == (24, 24) and float(exact[0, 1]) > 0


def test_back_to_back_calls_each_broadcast_their_own_copy(dask_client, space):
    """The same space scattered again right after a call released it: Dask
    keys scattered data by content, and the repeated key could be lost on
    the scheduler ("lost dependencies") or hang the broadcast; every call
    stamps its copy now (``parallel._stamped``)."""
    codes = _codes(8, seed=4)
    ref = pairwise_geodesic_distances(space, codes, chunk_size=6)
    with joblib.parallel_config(backend="dask"):
        for _ in range(6):
            out = pairwise_geodesic_distances(space, codes, chunk_size=6)
            np.testing.assert_allclose(out, ref, atol=1e-12, rtol=0)
    payload = parallel._ship(space)[1]
    stamped = parallel._stamped(payload)
    assert stamped.shape[0] == payload.shape[0] + 8
    assert pickle.loads(stamped.tobytes()).dim == space.dim


def test_the_space_travels_once_per_worker(dask_client, space):
    with joblib.parallel_config(backend="dask"):
        pairwise_geodesic_distances(space, _codes(20), chunk_size=10)  # 19 chunks
    key = parallel._ship(space)[0]
    loaded = dask_client.run(lambda: list(parallel._CACHE))
    assert len(loaded) == 2
    assert all(key in keys for keys in loaded.values())


def test_curvature_statistics_equal_the_in_process_ones(dask_client, space):
    codes = _codes(30, seed=1)
    ref = curvature_statistics(space, codes, n_planes=3, random_state=0)
    with joblib.parallel_config(backend="dask"):
        out = curvature_statistics(space, codes, n_planes=3, random_state=0, chunk_size=8)
    for key in ("sectional", "scalar", "sectional_mean", "scalar_max"):
        torch.testing.assert_close(out[key], ref[key], atol=1e-12, rtol=0)


def test_compare_models_equals_the_in_process_result(dask_client, space):
    other = GeneratedManifold(make_mlp([2, 16, 24], dtype=F64, seed=5), 2)
    codes = _codes(24, seed=2)
    labels = np.arange(24) % 3
    ref = compare_models({"a": space, "b": other}, codes, labels, cv=3, n_pairs=4)
    with joblib.parallel_config(backend="dask"):
        out = compare_models({"a": space, "b": other}, codes, labels, cv=3, n_pairs=4)
    for r, o in zip(ref, out):
        assert r.keys() == o.keys()
        for key, value in r.items():
            if isinstance(value, float):
                assert o[key] == pytest.approx(value, abs=1e-12, nan_ok=True), key
            else:
                assert o[key] == value


def test_a_worker_killed_mid_run_costs_only_its_chunks(dask_client, space):
    codes = _codes(36, seed=3)
    ref = pairwise_geodesic_distances(space, codes, chunk_size=15)
    out = {}

    def run():
        with joblib.parallel_config(backend="dask"):
            out["dist"] = pairwise_geodesic_distances(space, codes, chunk_size=15)  # 42 chunks

    thread = threading.Thread(target=run)
    thread.start()
    victim = None
    deadline = time.monotonic() + 60
    while victim is None and time.monotonic() < deadline:
        busy = [w for w, tasks in dask_client.processing().items() if tasks]
        victim = busy[0] if busy else None
        time.sleep(0.05)
    assert victim is not None, "no chunk was ever in flight"
    pid = dask_client.run(os.getpid, workers=[victim])[victim]
    os.kill(pid, signal.SIGKILL)  # the worker process dies
    thread.join(timeout=300)
    assert not thread.is_alive()
    np.testing.assert_allclose(out["dist"], ref, atol=1e-12, rtol=0)
    # The nanny restarts it under a new address. Wait until the scheduler
    # has dropped the dead one too: tasks of the next test must not be
    # placed on it (they would fail with "lost dependencies").
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        workers = dask_client.scheduler_info()["workers"]
        if victim not in workers and len(workers) >= 2:
            break
        time.sleep(0.1)
    dask_client.wait_for_workers(2, timeout=60)
    assert victim not in dask_client.scheduler_info()["workers"]


def test_cli_analyze_on_a_scheduler(dask_client, tmp_path):
    model = tmp_path / "vae.pt"
    assert main(["train", "--dataset", "digits", "--latent-dim", "2", "--epochs", "2",
                 "--n-samples", "200", "--quiet", "--out", str(model)]) == 0
    runs = {}
    dask_client.run(lambda: parallel._CACHE.clear())
    for name, extra in (("local", []), ("dask", ["--scheduler", dask_client.scheduler.address])):
        out = tmp_path / name
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            assert main(["analyze", str(model), "--dataset", "digits", "--n-samples", "200",
                         "--fast", "--quiet", "--n-codes", "24", "--out", str(out)] + extra) == 0
        runs[name] = json.loads((out / "summary.json").read_text())
    assert runs["dask"]["run"]["scheduler"] == dask_client.scheduler.address
    # the workers did the work: they loaded the model's manifold
    assert any(dask_client.run(lambda: len(parallel._CACHE)).values())
    for key in ("knn_accuracy_geodesic", "silhouette_geodesic"):
        assert runs["dask"]["separability"][key] == pytest.approx(
            runs["local"]["separability"][key], abs=1e-12
        )


def test_a_worker_moves_the_decoder_to_its_own_device(monkeypatch, space):
    """On a GPU worker (dask-cuda) the unpickled decoder goes to that GPU.

    Without a GPU here, the worker's device is faked as ``meta`` (the
    placement hook is what is tested; results computed there come back on
    the CPU, checked with CUDA by tests/test_device.py).
    """
    from geomstats_gen.decoders import SphereChart

    monkeypatch.setattr(parallel, "worker_device", lambda: torch.device("meta"))
    monkeypatch.setattr(parallel, "_CACHE", {})
    for shipped in (space, GeneratedManifold(SphereChart(), 2, dtype=F64)):
        key, payload = parallel._ship(shipped)
        loaded = parallel._load(key, payload)
        assert loaded.chart.placement()[1].type == "meta"
        assert shipped.chart.placement()[1] in (None, torch.device("cpu"))  # caller's untouched
