#!/usr/bin/env bash
# The GPU verification in one go (issue "The GPU path, verified"): the test
# suite with CUDA available, the device benchmark mode of the four benchmark
# scripts, and examples/04_gpu.py. About 10 minutes on one H200; every step
# has its own time limit, so one slow step cannot eat the others' time.
#
# Usage (repository root, on the GPU machine):
#     bash benchmarks/gpu_check.sh [all|tests|bench] [OUT_DIR]
# "tests" (about 5 minutes) and "bench" (about 6) fit one 10-minute device
# call each; run them back to back while the machine is warm.
# Results: OUT_DIR (default $OUT, else gpu-check/) holds device.txt,
# tests.txt, bench_<kind>.txt and example.txt; put the tables in the README
# (GPU name, torch version, date).
#
# Python packages: a machine without geomstats (or with numpy >= 2.4, which
# Geomstats 2.8.0 does not support) takes them from wheels in .whl/, made
# beforehand on a machine with a package registry by
# `bash benchmarks/gpu_wheels.sh` (git ignores .whl/; the device tool
# carries it with carry=[".whl"]).
set -u
PART=${1:-all}
OUT_DIR=${2:-${OUT:-gpu-check}}
mkdir -p "$OUT_DIR"
PY=${PYTHON:-python3}
export PYTHONUNBUFFERED=1 PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"

if ! "$PY" -c "import geomstats, numpy; assert tuple(map(int, numpy.__version__.split('.')[:2])) < (2, 4)" 2>/dev/null; then
    if ls .whl/*.whl >/dev/null 2>&1; then
        "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
            --target /tmp/gg-site .whl/*.whl || exit 1
        export PYTHONPATH="/tmp/gg-site:$PYTHONPATH"
    else
        echo "geomstats (or numpy < 2.4) is missing and there is no .whl/: run benchmarks/gpu_wheels.sh first" >&2
        exit 1
    fi
fi

step() {  # step NAME SECONDS COMMAND...: run with a time limit, log to OUT_DIR/NAME.txt
    local name=$1 limit=$2
    shift 2
    echo "== $name (limit ${limit}s)"
    local start=$SECONDS
    timeout "$limit" "$@" >"$OUT_DIR/$name.txt" 2>&1
    local rc=$?
    echo "   exit $rc after $((SECONDS - start)) s"
    tail -n 25 "$OUT_DIR/$name.txt"
}

{
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>&1
    "$PY" -c "import torch, numpy, geomstats; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'available', torch.cuda.is_available(), torch.cuda.get_device_name() if torch.cuda.is_available() else ''); print('numpy', numpy.__version__, 'geomstats', geomstats.__version__)"
    date -u
} >"$OUT_DIR/device.txt" 2>&1
cat "$OUT_DIR/device.txt"

# 1. The suite with CUDA available: the cuda-marked cases run (tests/test_device.py,
#    the CUDA failure-mode tests), the others as on CI.
if [ "$PART" != bench ]; then
    step tests 420 "$PY" -m pytest -q -m "not slow" -p no:cacheprovider tests
fi
[ "$PART" = tests ] && exit 0
# 2. Device throughput mode of the benchmarks (float32 and float64; each row
#    checks its result against the CPU float64 decoder).
step bench_geodesics 150 "$PY" benchmarks/bench_geodesics.py --device cuda
step bench_metric 60 "$PY" benchmarks/bench_metric.py --device cuda
step bench_curvature 90 "$PY" benchmarks/bench_curvature.py --device cuda
step bench_learning 150 "$PY" benchmarks/bench_learning.py --device cuda
# 3. The example: a VAE trained on CUDA and its report.
step example 90 "$PY" examples/04_gpu.py --out "$OUT_DIR/gpu-report"
