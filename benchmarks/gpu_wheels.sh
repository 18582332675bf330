#!/usr/bin/env bash
# Wheels that benchmarks/gpu_check.sh installs on a GPU machine without a
# package registry (its image has torch, scipy, scikit-learn, pandas,
# matplotlib, tqdm and joblib, but neither geomstats nor a numpy < 2.4).
# Run on a machine with pip access, in the repository root; the files land
# in .whl/ (ignored by git through .git/info/exclude).
set -eu
grep -qx '/.whl/' .git/info/exclude 2>/dev/null || echo /.whl/ >>.git/info/exclude
PY=${PYTHON:-python3}
"$PY" -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    -d .whl numpy==2.3.5 geomstats==2.8.0
ls -la .whl
