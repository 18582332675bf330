"""The command line end to end, in fast mode: demo, train, analyze, and its errors."""

import json
import math
import os

import numpy as np
import pytest
import torch

from geomstats_gen.cli import main

PNGS = ("magnification.png", "strips.png", "analogies.png", "curvature.png", "separability.png")


def _numbers(value, where="summary"):
    """Every number in a JSON tree, with its path."""
    if isinstance(value, bool) or value is None:
        if value is None:
            yield where, value
        return
    if isinstance(value, (int, float)):
        yield where, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _numbers(item, f"{where}.{key}")
    elif isinstance(value, list):
        for k, item in enumerate(value):
            yield from _numbers(item, f"{where}[{k}]")


@pytest.fixture(scope="module")
def demo_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    status = main(["demo", "--fast", "--quiet", "--out", str(out), "--seed", "0"])
    assert status == 0
    with open(out / "summary.json") as handle:
        return out, json.load(handle)


def test_demo_writes_the_report(demo_report):
    out, summary = demo_report
    for name in PNGS + ("summary.json", "report.html", "model.pt"):
        assert (out / name).is_file() and (out / name).stat().st_size > 1000, name
    for name in PNGS:
        with open(out / name, "rb") as handle:
            assert handle.read(8) == b"\x89PNG\r\n\x1a\n"
    assert sorted(summary["files"]) == sorted(PNGS + ("summary.json", "report.html"))
    page = (out / "report.html").read_text()
    assert page.count("data:image/png;base64,") == len(PNGS)  # self-contained
    assert 'src="http' not in page and "src='http" not in page


def test_summary_numbers_are_finite_and_consistent(demo_report):
    _, summary = demo_report
    bad = [(where, v) for where, v in _numbers(summary) if v is None or not math.isfinite(v)]
    assert not bad
    assert summary["latent"]["latent_dim"] == 2
    assert summary["latent"]["n_codes"] == 40
    ratio = summary["geodesic_to_linear_ratio"]
    assert 0.5 < ratio["min"] <= ratio["mean"] <= ratio["max"] <= 1.0 + 1e-6
    for pair in summary["geodesics"]["pairs"]:
        assert pair["geodesic_length"] <= pair["linear_length"] * (1 + 1e-6)
        assert pair["ratio"] == pytest.approx(pair["geodesic_length"] / pair["linear_length"])
    mag = summary["magnification"]["grid"]
    assert 0 < mag["min"] <= mag["median"] <= mag["max"]
    curv = summary["curvature"]
    # d = 2: scalar curvature is twice the (only) sectional curvature
    assert curv["scalar"]["mean"] == pytest.approx(2 * curv["coordinate_plane_mean"][0][1],
                                                   rel=1e-6)
    sep = summary["separability"]
    for key in ("knn_accuracy_geodesic", "knn_accuracy_euclidean"):
        assert 0.0 <= sep[key] <= 1.0
    for key in ("silhouette_geodesic", "silhouette_euclidean"):
        assert -1.0 <= sep[key] <= 1.0


def test_summary_agrees_with_the_library(demo_report):
    """Recompute a distance, a ratio, a curvature and an analogy from the saved model."""
    from geomstats_gen.measures import geodesic_to_linear_ratio
    from geomstats_gen.models import VAE
    from geomstats_gen.transport import analogy

    out, summary = demo_report
    model = VAE.load(out / "model.pt")
    space = model.manifold_
    pair = summary["geodesics"]["pairs"][0]
    a = torch.tensor(pair["start"], dtype=torch.float64)
    b = torch.tensor(pair["end"], dtype=torch.float64)
    assert float(space.metric.dist(a, b)) == pytest.approx(pair["geodesic_length"], rel=1e-4)
    # the report measures lengths on a float64 copy of the float32 decoder
    assert "float64 copy" in summary["geodesic_to_linear_ratio"]["precision"]
    ratio = geodesic_to_linear_ratio(space.to_dtype(torch.float64), a, b)
    assert float(ratio.linear_length) == pytest.approx(pair["linear_length"], rel=1e-6)
    check = summary["curvature"]["check"]
    code = torch.tensor(check["code"], dtype=torch.float64)
    assert float(space.metric.scalar_curvature(code)) == pytest.approx(
        check["scalar_curvature"], rel=1e-4, abs=1e-8
    )
    row = summary["analogies"]["rows"][0]
    za, zb, zc = (torch.tensor(row[k], dtype=torch.float64) for k in ("a", "b", "c"))
    lin = analogy(space, za, zb, zc, method="linear")
    np.testing.assert_allclose(lin.numpy(), row["d_linear"], atol=1e-6)
    # the magnification factor at a code is sqrt(det G)
    G = space.metric.metric_matrix(a)
    assert float(torch.linalg.det(G).sqrt()) > 0
    lo, hi = summary["magnification"]["grid"]["min"], summary["magnification"]["grid"]["max"]
    extent = summary["magnification"]["extent"]
    if extent[0] <= a[0] <= extent[1] and extent[2] <= a[1] <= extent[3]:
        assert 0.5 * lo <= float(torch.linalg.det(G).sqrt()) <= 2 * hi


def test_train_then_analyze(tmp_path, capsys):
    model_path = tmp_path / "bvae.pt"
    assert main(["train", "--dataset", "digits", "--model", "beta-vae", "--beta", "2",
                 "--latent-dim", "3", "--epochs", "2", "--n-samples", "300", "--quiet",
                 "--out", str(model_path)]) == 0
    assert model_path.is_file()
    from geomstats_gen.datasets import load_dataset
    from geomstats_gen.models import VAE

    X_train = load_dataset("digits", n_samples=300)[0]
    units = VAE.load(model_path).active_units(X_train)
    collapsed = [int(i) for i in np.flatnonzero(~units["active"])]
    err = capsys.readouterr().err
    assert ("posterior collapse" in err) == bool(collapsed)
    if collapsed:
        assert f"inactive {collapsed}" in err
    out = tmp_path / "report"
    assert main(["analyze", str(model_path), "--dataset", "digits", "--n-samples", "300",
                 "--fast", "--quiet", "--n-codes", "30", "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["run"]["model"] == "BetaVAE"
    assert summary["latent"]["latent_dim"] == 3
    assert "PC1" in summary["latent"]["plane"]  # d > 2: a 2-D slice, said so
    assert len(summary["curvature"]["per_axis_abs_mean"]) == 3
    listed = summary["latent"]["active_units"]
    assert sorted(listed["active_dims"] + listed["collapsed_dims"]) == [0, 1, 2]
    assert all((out / name).is_file() for name in PNGS)
    assert "report.html" in capsys.readouterr().out


def test_train_on_a_numpy_file(tmp_path, capsys):
    rng = np.random.default_rng(0)
    data = tmp_path / "data.npz"
    np.savez(data, X=rng.random((60, 4, 4)).astype(np.float32), y=np.arange(60) % 3)
    model_path = tmp_path / "m.pt"
    assert main(["train", "--dataset", str(data), "--epochs", "1", "--batch-size", "16",
                 "--hidden-sizes", "8", "--quiet", "--out", str(model_path)]) == 0
    from geomstats_gen.models import VAE

    assert VAE.load(model_path).n_features_in_ == 16
    other = tmp_path / "other.npz"
    np.savez(other, pixels=rng.random((60, 16)).astype(np.float32))
    assert main(["train", "--dataset", str(other), "--epochs", "1", "--quiet",
                 "--out", str(tmp_path / "n.pt")]) == 2
    assert "array named X, x, data or images" in capsys.readouterr().err


def test_cli_errors(tmp_path, capsys):
    assert main([]) == 2
    with pytest.raises(SystemExit) as info:
        main(["demo", "--device", "nonsense"])
    assert info.value.code == 2
    assert "--device" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        main(["train", "--model", "gan"])
    assert info.value.code == 2
    assert "--model" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        main(["train", "--epochs", "-3"])
    assert info.value.code == 2
    assert "--epochs" in capsys.readouterr().err
    missing = tmp_path / "missing.pt"
    assert main(["analyze", str(missing), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "MODEL" in err and "missing.pt" in err
    assert main(["train", "--dataset", str(tmp_path / "nope.npy"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "--dataset" in err and "nope.npy" in err
    assert main(["train", "--model", "vae", "--beta", "2", "--quiet",
                 "--out", str(tmp_path / "x.pt")]) == 2
    assert "--beta" in capsys.readouterr().err
    not_a_model = tmp_path / "junk.pt"
    not_a_model.write_bytes(b"not a model")
    assert main(["analyze", str(not_a_model), "--quiet"]) == 2
    assert "MODEL" in capsys.readouterr().err
    assert main(["train", "--quiet", "--out", str(tmp_path)]) == 2
    assert "--out" in capsys.readouterr().err


def test_analyze_rejects_a_dataset_of_another_size(demo_report, tmp_path, capsys):
    out, _ = demo_report
    data = tmp_path / "small.npy"
    np.save(data, np.zeros((20, 5, 5), dtype=np.float32))
    assert main(["analyze", str(out / "model.pt"), "--dataset", str(data), "--quiet",
                 "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert "--dataset" in err and "25 features" in err and "64" in err


def test_help_lists_the_commands(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    for command in ("demo", "train", "analyze"):
        assert command in out


def test_help_imports_neither_torch_nor_geomstats():
    """``geomstats-gen --help`` (and ``train --help``) load only the parser."""
    import subprocess
    import sys

    code = ("import sys\nfrom geomstats_gen.cli import main\n"
            "for argv in (['--help'], ['train', '--help']):\n"
            "    try:\n        main(argv)\n    except SystemExit:\n        pass\n"
            "print('torch' in sys.modules, 'geomstats' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "False False"
    assert "--beta" in out.stdout and "vae" in out.stdout


def test_fast_mode_from_the_environment(monkeypatch):
    from geomstats_gen import cli

    class Args:
        fast = False

    monkeypatch.setenv(cli.FAST_ENV, "1")
    assert cli._fast(Args())
    monkeypatch.setenv(cli.FAST_ENV, "0")
    assert not cli._fast(Args())
    os.environ.pop(cli.FAST_ENV, None)


# ----------------------------------------------------------------------
# The report's numbers on decoders with known geometry
# ----------------------------------------------------------------------
class _CodesModel:
    """A 'model' whose data are already latent codes (transform = identity)."""

    def __init__(self, space):
        self.manifold_ = space

    def transform(self, X):
        return np.asarray(X, dtype=np.float64)


FAST_SETTINGS = dict(n_codes=40, n_pairs=2, n_ratio_pairs=4, n_analogies=2, n_strip=4,
                     grid_size=12, n_planes=2, graph_neighbors=5, analogy_transport="projection")


def test_report_numbers_on_the_sphere_chart(sphere_space):
    from conftest import sphere_points

    from geomstats_gen.report import analyze

    codes = sphere_points(12, seed=3).numpy()
    labels = (codes[:, 0] > 1.55).astype(int)
    # few of everything: the sphere chart pays torch.func's per-call overhead
    summary, arrays = analyze(
        _CodesModel(sphere_space), codes, labels, n_codes=12, n_pairs=1, n_ratio_pairs=2,
        n_analogies=0, n_strip=2, grid_size=8, n_planes=2, graph_neighbors=3, knn_neighbors=3,
    )
    assert "note" in summary["analogies"]
    # sqrt(det G) = r^2 sin(theta) on the grid (theta on the horizontal axis)
    expected = 4.0 * np.sin(arrays["grid_u"])[None, :].repeat(len(arrays["grid_v"]), 0)
    np.testing.assert_allclose(arrays["magnification"], expected, rtol=1e-10)
    # geodesic lengths: r arccos(<g(p), g(q)> / r^2)
    for pair in summary["geodesics"]["pairs"]:
        p, q = (torch.tensor(pair[k], dtype=torch.float64) for k in ("start", "end"))
        gp, gq = sphere_space.immersion(p), sphere_space.immersion(q)
        exact = 2.0 * float(torch.arccos((gp @ gq / 4.0).clamp(-1, 1)))
        assert pair["geodesic_length"] == pytest.approx(exact, rel=1e-6)
        assert pair["ratio"] <= 1.0 + 1e-9
    # K = 1 / r^2, scalar curvature 2 / r^2
    assert summary["curvature"]["sectional"]["min"] == pytest.approx(0.25, rel=1e-6)
    assert summary["curvature"]["sectional"]["max"] == pytest.approx(0.25, rel=1e-6)
    assert summary["curvature"]["scalar"]["mean"] == pytest.approx(0.5, rel=1e-6)
    assert summary["curvature"]["per_axis_abs_mean"] == pytest.approx([0.25, 0.25], rel=1e-6)
    # a graph distance is the length of a curve: never below the geodesic distance,
    # and exact between latent nearest neighbours (joined by an edge)
    g = sphere_space.immersion(torch.as_tensor(arrays["codes"]))
    exact = 2.0 * torch.arccos((g @ g.T / 4.0).clamp(-1, 1)).numpy()
    dist = arrays["distances"]
    assert np.all(dist >= exact - 1e-6)
    latent = np.linalg.norm(arrays["codes"][:, None] - arrays["codes"][None], axis=-1)
    nearest = np.argmin(np.where(np.eye(len(dist), dtype=bool), np.inf, latent), axis=1)
    np.testing.assert_allclose(dist[np.arange(len(dist)), nearest],
                               exact[np.arange(len(dist)), nearest], rtol=1e-6, atol=1e-9)


def test_report_numbers_on_a_linear_decoder_in_3d(linear_space, linear_matrix):
    from geomstats_gen.report import analyze

    gen = torch.Generator().manual_seed(5)
    codes = torch.randn(40, 3, generator=gen, dtype=torch.float64).numpy()
    labels = np.arange(40) % 3
    summary, arrays = analyze(_CodesModel(linear_space), codes, labels, **FAST_SETTINGS)
    basis = torch.tensor(summary["latent"]["slice_basis"], dtype=torch.float64).T  # [3, 2]
    assert "principal directions" in summary["latent"]["plane"]
    # flat: sqrt(det(B^T A^T A B)) everywhere, ratios 1, zero curvature,
    # geodesic analogies = latent arithmetic
    plane_metric = basis.T @ linear_matrix.T @ linear_matrix @ basis
    expected = float(torch.linalg.det(plane_metric).sqrt())
    np.testing.assert_allclose(arrays["magnification"], expected, rtol=1e-10)
    ratio = summary["geodesic_to_linear_ratio"]
    assert ratio["min"] == pytest.approx(1.0, abs=1e-6)
    assert ratio["max"] == pytest.approx(1.0, abs=1e-6)
    for pair in summary["geodesics"]["pairs"]:
        diff = torch.tensor(pair["end"], dtype=torch.float64) - torch.tensor(
            pair["start"], dtype=torch.float64)
        assert pair["geodesic_length"] == pytest.approx(float((linear_matrix @ diff).norm()),
                                                        rel=1e-8)
    assert summary["curvature"]["sectional_abs_mean"] == pytest.approx(0.0, abs=1e-10)
    assert summary["analogies"]["latent_gap_mean"] == pytest.approx(0.0, abs=1e-6)
    assert arrays["analogy_images"].shape == (2, 5, 1, 5)


def test_analysis_counts_its_warnings_and_does_not_hide_them(sphere_space):
    """A solver capped at one iteration warns in the geodesic steps: the
    warnings are counted per step and kind in the summary and still reach
    the caller; the transport steps are passed, not set on the solver."""
    from conftest import sphere_points

    from geomstats_gen import ConvergenceWarning
    from geomstats_gen.report import analyze

    sphere_space.metric.log_solver.max_iter = 1
    codes = sphere_points(12, seed=3).numpy()
    labels = (codes[:, 0] > 1.55).astype(int)
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        summary, _ = analyze(
            _CodesModel(sphere_space), codes, labels, n_codes=12, n_pairs=1,
            n_ratio_pairs=2, n_analogies=1, n_strip=2, grid_size=4, n_planes=1,
            graph_neighbors=3, knn_neighbors=3, transport_steps=3,
        )
    counted = summary["warnings"]
    for step in ("geodesics", "ratios"):
        entry = counted[step]["ConvergenceWarning"]
        assert entry["count"] >= 1 and "did not converge" in entry["messages"][0]
    for step in ("encode", "magnification"):  # no solve there (pytest.warns shows all kinds)
        assert "ConvergenceWarning" not in counted.get(step, {})
    assert summary["analogies"]["transport_steps"] == 3
    assert sphere_space.metric.exp_solver.n_steps == 100  # untouched


def test_a_failing_step_leaves_a_partial_report(demo_report, tmp_path, monkeypatch, capsys):
    """A step that raises is recorded and left out; the other sections, the
    figures that do not need it, summary.json and report.html are written,
    and the CLI exits 0 with a warning line."""
    from geomstats_gen.report import analysis

    def broken(ctx):
        raise FloatingPointError("exp: the geodesic ODE blew up")

    sections = tuple((s, k, broken if s == "curvature" else f) for s, k, f in analysis.SECTIONS)
    monkeypatch.setattr(analysis, "SECTIONS", sections)
    folder, _ = demo_report
    out = tmp_path / "partial"
    with pytest.warns(RuntimeWarning, match="'curvature' failed"):
        status = main(["analyze", str(folder / "model.pt"), "--out", str(out), "--fast",
                       "--quiet"])
    assert status == 0
    assert "report is partial" in capsys.readouterr().err
    summary = json.loads((out / "summary.json").read_text())
    assert summary["failed_steps"] == {"curvature": "FloatingPointError: exp: the geodesic ODE blew up"}
    assert summary["curvature"] == {"failed": summary["failed_steps"]["curvature"]}
    assert "knn_accuracy_geodesic" in summary["separability"]  # later steps still ran
    assert not (out / "curvature.png").exists() and (out / "magnification.png").exists()
    assert "Partial report" in (out / "report.html").read_text()


@pytest.mark.parametrize("metric", ["expected", "fisher-rao"])
def test_analyze_under_another_metric(demo_report, tmp_path, metric):
    """``--metric``: the report of the same model under the expected metric
    (a variance network fitted to the data) or the Fisher-Rao metric; the
    images are still the mean decoder's."""
    folder, pullback = demo_report
    out = tmp_path / metric
    assert main(["analyze", str(folder / "model.pt"), "--metric", metric, "--fast", "--quiet",
                 "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["run"]["metric"] == metric and summary["latent"]["metric"] == metric
    assert summary["latent"]["image_shape"] == pullback["latent"]["image_shape"]
    assert summary["failed_steps"] == {}
    assert all((out / name).is_file() for name in PNGS)
    # another metric, other lengths: the magnification differs from the pullback's
    assert summary["magnification"]["at_codes"]["mean"] != pytest.approx(
        pullback["magnification"]["at_codes"]["mean"], rel=1e-3)


def test_train_an_ensemble_then_analyze_its_metric(tmp_path):
    model_path = tmp_path / "ens.pt"
    assert main(["train", "--dataset", "digits", "--n-decoders", "2", "--epochs", "2",
                 "--n-samples", "300", "--hidden-sizes", "32", "--quiet",
                 "--out", str(model_path)]) == 0
    out = tmp_path / "report"
    assert main(["analyze", str(model_path), "--metric", "ensemble", "--n-samples", "300",
                 "--fast", "--quiet", "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["latent"]["metric"] == "ensemble" and summary["failed_steps"] == {}


def test_metrics_side_by_side(demo_report, tmp_path, capsys):
    """``--metric pullback,expected``: a full report per metric in its folder,
    and a page comparing them (the same codes and pairs under both)."""
    folder, _ = demo_report
    out = tmp_path / "both"
    assert main(["analyze", str(folder / "model.pt"), "--metric", "pullback,expected",
                 "--fast", "--quiet", "--out", str(out)]) == 0
    comparison = json.loads((out / "comparison.json").read_text())
    assert set(comparison["metrics"]) == {"pullback", "expected"}
    for name in ("pullback", "expected"):
        assert (out / name / "report.html").is_file() and (out / name / "magnification.png").is_file()
    pairs = {name: [(p["start"], p["end"]) for p in s["geodesics"]["pairs"]]
             for name, s in comparison["metrics"].items()}
    assert pairs["pullback"] == pairs["expected"]  # the same pairs, compared
    ratio = comparison["table"]["geodesic / straight line, mean"]
    assert ratio["pullback"] != ratio["expected"]
    page = (out / "report.html").read_text()
    assert "Latent metrics compared" in page and page.count("<figure>") == 2
    assert "side by side" in capsys.readouterr().out
    with pytest.raises(SystemExit) as info:
        main(["analyze", str(folder / "model.pt"), "--metric", "pullback,nope"])
    assert info.value.code == 2
    assert "expected metric names" in capsys.readouterr().err


def test_the_report_leaves_matplotlib_alone():
    """Drawing the figures does not switch Matplotlib's backend."""
    import subprocess
    import sys

    code = ("import matplotlib; matplotlib.use('svg'); import geomstats_gen.report.plots; "
            "print(matplotlib.get_backend())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "svg"


def test_ratios_of_a_tiny_scale_float32_decoder_are_not_rounding_artefacts():
    """A flat float32 decoder at the scale of a collapsed model (decoded
    differences near float32 rounding): the true ratio is 1 everywhere; in
    float32 the decoded straight lines measured up to 30 % long. The report
    measures on a float64 copy."""
    from geomstats_gen import GeneratedManifold, LinearDecoder
    from geomstats_gen.measures import geodesic_to_linear_ratio
    from geomstats_gen.report import analyze

    gen = torch.Generator().manual_seed(0)
    matrix = (torch.randn(64, 2, generator=gen, dtype=torch.float64) * 1e-5).float()
    space = GeneratedManifold(LinearDecoder(matrix, torch.full((64,), 0.5)), 2)
    codes = torch.randn(30, 2, generator=gen, dtype=torch.float64).numpy()
    raw = geodesic_to_linear_ratio(space, torch.as_tensor(codes[:8]), torch.as_tensor(codes[8:16]))
    assert float((raw.ratio - 1).abs().max()) > 0.05  # the artefact this guards against
    summary, arrays = analyze(
        _CodesModel(space), codes, (codes[:, 0] > 0).astype(int), n_codes=30, n_pairs=2,
        n_ratio_pairs=8, n_analogies=0, n_strip=2, grid_size=4, n_planes=1,
        graph_neighbors=3, knn_neighbors=3,
    )
    ratio = summary["geodesic_to_linear_ratio"]
    assert "float64 copy" in ratio["precision"]
    np.testing.assert_allclose(arrays["ratios"], 1.0, atol=1e-6)
    for pair in summary["geodesics"]["pairs"]:
        assert pair["ratio"] == pytest.approx(1.0, abs=1e-6)
    assert space.work_dtype == torch.float32  # the user's decoder is untouched


def test_analyze_rejects_bad_settings(linear_space):
    from geomstats_gen.report import analyze

    codes = np.zeros((10, 3))
    with pytest.raises(ValueError, match="n_codes"):
        analyze(_CodesModel(linear_space), codes, n_codes=2)
    with pytest.raises(TypeError, match="model"):
        analyze(object(), codes)


def test_dataset_from_idx_files_with_labels_beside(tmp_path):
    import struct

    from geomstats_gen.cli import load_dataset

    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, size=(7, 3, 4), dtype=np.uint8)
    labels = np.arange(7, dtype=np.uint8) % 2
    (tmp_path / "train-images-idx3-ubyte").write_bytes(
        struct.pack(">BBBBIII", 0, 0, 8, 3, 7, 3, 4) + images.tobytes())
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(
        struct.pack(">BBBBI", 0, 0, 8, 1, 7) + labels.tobytes())
    X, y, shape, _ = load_dataset(str(tmp_path / "train-images-idx3-ubyte"))
    assert X.shape == (7, 12) and shape == (3, 4)
    np.testing.assert_allclose(X, images.reshape(7, 12) / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(y, labels)
