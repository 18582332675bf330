"""The examples run, in fast mode (GEOMSTATS_GEN_FAST=1), as subprocesses."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

CASES = {
    "01_quickstart.py": ("Fréchet mean", "tangent PCA", "Riemannian k-means: 100%"),
    "02_shao2017.py": ("[1] geodesic vs straight", "[2] parallel translation", "[3] analogies",
                       "[4] flatness"),
    "03_shukla2019.py": ("=== digits", "=== shapes", "DIP-VAE-I", "kNN geo"),
    "04_gpu.py": ("report written to",),
}


def _run(script, *args, cwd=None):
    env = dict(os.environ, GEOMSTATS_GEN_FAST="1", OMP_NUM_THREADS="1", MPLBACKEND="Agg")
    return subprocess.run(
        [sys.executable, str(EXAMPLES / script), *args], capture_output=True, text=True,
        env=env, timeout=300, cwd=cwd,
    )


def test_every_example_is_tested():
    assert sorted(p.name for p in EXAMPLES.glob("*.py")) == sorted(CASES)


@pytest.mark.parametrize("script", sorted(CASES))
def test_example_runs(script, tmp_path):
    args = ("--out", str(tmp_path / "report")) if script == "04_gpu.py" else ()
    done = _run(script, *args, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    for text in CASES[script]:
        assert text in done.stdout, (text, done.stdout[-2000:])
    if script == "04_gpu.py":
        assert (tmp_path / "report" / "report.html").is_file()
        assert "falling back to the CPU" in done.stdout or "running on" in done.stdout
