"""The command line: ``geomstats-gen demo``."""

import re

import pytest

from geomstats_gen.cli import main


def test_demo_runs_and_reports_the_closed_form(capsys):
    assert main(["demo", "--seed", "0"]) == 0
    out = capsys.readouterr().out
    found = re.search(r"geodesic distance ([0-9.]+)\s+closed form ([0-9.]+)", out)
    assert found is not None
    assert abs(float(found.group(1)) - float(found.group(2))) < 1e-6
    assert "converged=True" in out
    assert "Geomstats FrechetMean of 10 codes" in out


def test_cli_errors(capsys):
    assert main([]) == 2
    with pytest.raises(SystemExit):
        main(["demo", "--device", "nonsense"])
    assert "--device" in capsys.readouterr().err
