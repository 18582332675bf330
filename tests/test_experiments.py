"""The papers' experiments: the quick run end to end, resuming, and the verdicts."""

import json
import math
from dataclasses import replace

import numpy as np
import pytest

from geomstats_gen.cli import main
from geomstats_gen.datasets import load_digits
from geomstats_gen.experiments.setup import QUICK, load_data, train_model
from geomstats_gen.experiments.tables import aggregate, claims, render_tables
from geomstats_gen.models import VAE, BetaVAE

TABLES = ("### Training", "### Curvature", "### Separability", "### Interpolation",
          "### Flatness", "### Analogies", "### Claims")
MODELS = ("VAE", "beta-VAE", "beta-TCVAE", "DIP-VAE-I")


def _check_finite(record):
    for key, value in record.items():
        if key == "mig" and record["dataset"] != "shapes":
            assert value is None
        elif isinstance(value, float):
            assert math.isfinite(value), (record["dataset"], record["model"], key)
        elif isinstance(value, list) and value and isinstance(value[0], float):
            assert all(math.isfinite(v) for v in value), (record["model"], key)


def _quick_run(out, datasets):
    status = main(["experiment", "all", "--quick", "--quiet", "--datasets", datasets,
                   "--out", str(out)])
    assert status == 0
    with open(out / "results.json") as handle:
        results = json.load(handle)
    tables = (out / "tables.md").read_text()
    assert (out / "figures.png").stat().st_size > 10_000
    return results, tables


@pytest.fixture(scope="module")
def quick_shapes(tmp_path_factory):
    out = tmp_path_factory.mktemp("experiment")
    return out, *_quick_run(out, "shapes")


def test_quick_run_produces_every_table_with_finite_numbers(quick_shapes):
    _, results, tables = quick_shapes
    assert [r["model"] for r in results["records"]] == list(MODELS)
    for record in results["records"]:
        _check_finite(record)
        assert 0.0 <= record["mig"] <= 1.0
        assert record["epochs"] == QUICK.max_epochs
        assert len(record["axis_abs_curvature"]) == QUICK.latent_dim
        for key in ("knn_euclidean", "knn_pullback", "knn_expected", "knn_fisher-rao"):
            assert 0.0 <= record[key] <= 1.0
    vae = results["records"][0]
    for key in ("class_kept_geodesic", "class_kept_linear", "transfer_cosine_geodesic"):
        assert math.isfinite(vae[key])
    for header in TABLES:
        assert header in tables
    # One row per model in the training table, one verdict row per claim.
    training = tables.split("### Training")[1].split("###")[0]
    assert sum(line.startswith("| shapes |") for line in training.splitlines()) == 4
    assert "| Shukla | MIG separates" in tables and "| Shao | the VAE's manifold" in tables


def test_quick_run_resumes_without_retraining(quick_shapes):
    out, results, _ = quick_shapes
    weights = sorted((out / "models" / "shapes").glob("*.pt"))
    assert len(weights) == 4
    stamps = [w.stat().st_mtime_ns for w in weights]
    again, _ = _quick_run(out, "shapes")
    assert [w.stat().st_mtime_ns for w in weights] == stamps
    assert again["records"] == results["records"]


def test_training_continues_an_unfinished_model(tmp_path):
    plan = replace(QUICK, n_train=120, n_test=60, max_epochs=4, min_epochs=4)
    data = load_data("shapes", plan)
    first = replace(plan, max_epochs=2)
    model, record = train_model(str(tmp_path), "shapes", "VAE", 0, data, first, log=str)
    assert record["done"] and record["epochs"] == 2
    trained = list(model.history_)
    # A record marked unfinished (an interrupted run) continues from the saved weights.
    path = tmp_path / "models" / "shapes" / "vae-seed0.json"
    saved = json.loads(path.read_text())
    saved["done"] = False
    path.write_text(json.dumps(saved))
    model, record = train_model(str(tmp_path), "shapes", "VAE", 0, data, plan, log=str)
    assert record["epochs"] == 4 and len(model.history_) == 4
    assert len(record["elbo_trace"]) == 2 and record["elbo_trace"][0] == saved["elbo_trace"][0]
    assert model.history_[:2] == trained


@pytest.mark.slow
def test_quick_run_on_both_datasets(tmp_path):
    from geomstats_gen.datasets import load_fashion_mnist

    try:
        load_fashion_mnist(subset="test")
    except FileNotFoundError:
        pytest.skip("Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)")
    results, tables = _quick_run(tmp_path, "fashion-mnist,shapes")
    assert len(results["records"]) == 8
    for record in results["records"]:
        _check_finite(record)
    assert "| fashion-mnist | VAE |" in tables


def test_experiment_cli_rejects_unknown_dataset(tmp_path, capsys):
    assert main(["experiment", "shukla", "--quick", "--datasets", "mnist",
                 "--out", str(tmp_path)]) == 2
    assert "--datasets" in capsys.readouterr().err


def _records(values):
    """Synthetic records: ``values[model] = [(sep, mig, knn, knn_euc), ...]`` per seed."""
    out = []
    for model, seeds in values.items():
        for seed, (sep, mig, knn, euc) in enumerate(seeds):
            out.append({
                "dataset": "shapes", "model": model, "seed": seed, "mig": mig,
                "separating_plane_abs": sep, "random_planes_abs": 1.0,
                "knn_pullback": knn, "knn_euclidean": euc,
                "step_cv_geodesic": 0.1, "step_cv_linear": 0.3,
                "abs_curvature_times_r2": 0.02, "length_ratio": 1.3,
            })
    return {"metrics": ["pullback"], "records": out}


def test_claims_verdicts_follow_the_numbers():
    results = _records({
        "VAE": [(1.0, 0.05, 0.70, 0.71), (1.2, 0.07, 0.72, 0.70)],
        "beta-VAE": [(3.0, 0.30, 0.90, 0.70), (3.2, 0.32, 0.92, 0.71)],
        "beta-TCVAE": [(2.0, 0.40, 0.91, 0.69), (2.4, 0.42, 0.93, 0.70)],
    })
    rows = {(p, c.split(" (")[0] if "(" in c else c): (v, e) for p, c, _, v, e in claims(results)}
    assert rows[("Shukla", "MIG separates a disentangling model from the VAE")][0] == "yes"
    assert rows[("Shukla", "disentangled models curve more along the class features")][0] \
        == "supports"
    # The VAE's kNN equals Euclidean within the spread: not every model gains.
    assert rows[("Shukla", "pullback distances classify better than Euclidean")][0] \
        == "cannot tell"
    assert rows[("Shukla", "geodesic interpolation is smoother than linear")][0] == "supports"
    assert rows[("Shao", "the VAE's manifold is close to flat")][0] == "supports"
    assert rows[("Shao", "straight latent lines are nearly geodesics")][0] == "contradicts"
    assert aggregate(results["records"], "mig")[("shapes", "VAE")] == pytest.approx(
        (0.06, 0.01, 2))


def test_claims_need_mig_to_separate_the_models():
    results = _records({
        "VAE": [(1.0, 0.10, 0.7, 0.7), (1.1, 0.12, 0.7, 0.7)],
        "beta-VAE": [(3.0, 0.11, 0.7, 0.7), (3.1, 0.10, 0.7, 0.7)],
    })
    verdicts = [v for _, c, _, v, _ in claims(results) if c.startswith("disentangled")]
    assert verdicts and all(v.startswith("cannot tell (MIG") for v in verdicts)
    text = render_tables(results)
    assert "| shapes | beta-VAE |" in text and "| 3.05 ± 0.05 |" in text


def test_warm_start_continues_training():
    X = load_digits().data
    model = BetaVAE(n_components=2, hidden_sizes=(16,), epochs=2, warm_start=True,
                    random_state=0).fit(X)
    first = list(model.history_)
    weights = model.net_.decoder[0].weight.detach().clone()
    model.fit(X)  # trains the weights again (frozen between fits)
    assert len(model.history_) == 4 and model.history_[:2] == first
    assert not any(p.requires_grad for p in model.net_.parameters())
    assert not np.allclose(weights.numpy(), model.net_.decoder[0].weight.detach().numpy())
    cold = VAE(n_components=2, hidden_sizes=(16,), epochs=2, random_state=0).fit(X)
    cold.fit(X)
    assert len(cold.history_) == 2


def test_warm_start_requires_the_same_image_size():
    X = load_digits().data
    model = VAE(n_components=2, hidden_sizes=(16,), epochs=1, warm_start=True,
                random_state=0).fit(X)
    with pytest.raises(ValueError):
        model.fit(np.zeros((20, 16), dtype=np.float32))
    assert len(model.history_) == 1
