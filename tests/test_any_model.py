"""The main job on any model a user trains: the report is always written.

Small models (a few epochs) of every type, latent dimensions 2, 4 and 8, on
the digits and the shapes, plus a deliberately collapsed beta-VAE: every
report is written, every number of summary.json is finite (JSON has no NaN;
``None`` marks a value left out), collapsed dimensions are listed, and the
warnings counted in the summary are the ones the caller saw.
"""

import json
import math
import warnings

import numpy as np
import pytest

from geomstats_gen.datasets import load_digits, make_shapes
from geomstats_gen.models import MODELS
from geomstats_gen.report import write_report

FAST = dict(n_codes=40, n_pairs=2, n_ratio_pairs=4, n_analogies=2, n_strip=4, grid_size=12,
            n_planes=2, graph_neighbors=5, analogy_transport="projection")


@pytest.fixture(scope="module")
def data():
    digits = load_digits(return_X_y=True)
    shapes = make_shapes(600, image_size=16, random_state=0, return_X_y=True)
    return {"digits": digits, "shapes": shapes}


def _numbers(value):
    if isinstance(value, dict):
        for item in value.values():
            yield from _numbers(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _numbers(item)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        yield value


def _report(model, X, y, out):
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        summary = write_report(model, X, y, str(out), **FAST)
    kinds_seen = {w.category.__name__ for w in seen}
    return summary, kinds_seen


def _check(summary, kinds_seen, out):
    for name in summary["files"]:
        assert (out / name).is_file(), name
    on_disk = json.loads((out / "summary.json").read_text())
    assert all(math.isfinite(v) for v in _numbers(on_disk))
    for step, kinds in summary["warnings"].items():
        assert set(kinds) <= kinds_seen, (step, kinds)  # counted and shown, never hidden
    units = summary["latent"]["active_units"]
    dim = summary["latent"]["latent_dim"]
    assert sorted(units["active_dims"] + units["collapsed_dims"]) == list(range(dim))


CASES = [
    (name, dataset, dim)
    for name in ("vae", "beta-vae", "beta-tcvae", "dip-vae")
    for dataset in ("digits", "shapes")
    for dim in (2, 4, 8)
]

@pytest.mark.parametrize(
    "name, dataset, dim",
    CASES,
)
def test_every_model_gets_a_complete_report(name, dataset, dim, data, tmp_path):
    X, y = data[dataset]
    model = MODELS[name](n_components=dim, hidden_sizes=(64, 32), epochs=4, batch_size=64,
                         n_jobs=1, random_state=0).fit(X)
    summary, kinds_seen = _report(model, X, y, tmp_path)
    _check(summary, kinds_seen, tmp_path)
    assert summary["failed_steps"] == {}


def test_a_convolutional_model_gets_a_complete_report(data, tmp_path):
    X, y = data["shapes"]
    model = MODELS["beta-tcvae"](n_components=4, architecture="conv", hidden_sizes=(32,),
                                 epochs=3, batch_size=64, n_jobs=1, random_state=0).fit(X)
    summary, kinds_seen = _report(model, X, y, tmp_path)
    _check(summary, kinds_seen, tmp_path)
    assert summary["failed_steps"] == {}


def test_a_collapsed_model_is_reported(data, tmp_path):
    """A beta-VAE with a huge KL weight collapses: the report lists the
    inactive dimensions, warns, and measures ratios in float64."""
    from geomstats_gen.exceptions import PosteriorCollapseWarning

    X, y = data["digits"]
    model = MODELS["beta-vae"](n_components=4, beta=200.0, hidden_sizes=(64, 32), epochs=4,
                               batch_size=64, n_jobs=1, random_state=0).fit(X)
    units = model.active_units(X)
    assert units["n_active"] < 4
    summary, kinds_seen = _report(model, X, y, tmp_path)
    _check(summary, kinds_seen, tmp_path)
    listed = summary["latent"]["active_units"]["collapsed_dims"]
    assert listed == [int(i) for i in np.flatnonzero(~units["active"])]
    assert "PosteriorCollapseWarning" in summary["warnings"]["encode"]
    assert PosteriorCollapseWarning.__name__ in kinds_seen
    assert "float64" in summary["geodesic_to_linear_ratio"]["precision"]
    status = summary["curvature"]["per_axis_status"]
    assert [i for i, s in enumerate(status) if s == "collapsed"] == listed
    assert "Latent dimensions" in (tmp_path / "report.html").read_text()
