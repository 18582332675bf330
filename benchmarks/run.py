"""Run every ``benchmarks/bench_*.py`` script in turn (``make bench``).

Each script runs in its own Python process (no shared torch state, thread
settings or random seeds), in name order, with ``--quick`` passed through.
A script that fails to import an optional dependency (an ``ImportError`` for
a module outside ``geomstats_gen``) is skipped with the reason; any other
failure is reported and makes the exit status non-zero.

Usage::

    python benchmarks/run.py [--quick] [-k SUBSTRING]
"""

import argparse
import glob
import os
import runpy
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from _timing import print_table  # noqa: E402

#: Exit status of a child that hit an ImportError for an optional dependency.
SKIP_STATUS = 75
PROJECT_PACKAGES = ("geomstats_gen", "_timing", "benchmarks")


def discover(pattern=None):
    """Paths of the benchmark scripts, sorted by name."""
    scripts = sorted(glob.glob(os.path.join(HERE, "bench_*.py")))
    if pattern:
        scripts = [s for s in scripts if pattern in os.path.basename(s)]
    return scripts


def _is_optional_import_error(err):
    """Whether an ImportError is about a module outside this project."""
    name = getattr(err, "name", None)
    if not name:
        return False
    return name.split(".")[0] not in PROJECT_PACKAGES


def _run_child(script, script_args):
    """Run one script in this process (child mode); exit with its status."""
    sys.path.insert(0, os.path.dirname(script))
    sys.argv = [script, *script_args]
    try:
        runpy.run_path(script, run_name="__main__")
    except ImportError as err:
        if not _is_optional_import_error(err):
            raise
        print(f"SKIPPED {os.path.basename(script)}: {type(err).__name__}: {err}", flush=True)
        sys.exit(SKIP_STATUS)


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--child"]:
        _run_child(argv[1], argv[2:])
        return 0

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="passed to every script")
    parser.add_argument(
        "-k", dest="pattern", default=None, help="run only scripts whose name contains this"
    )
    args = parser.parse_args(argv)

    scripts = discover(args.pattern)
    if not scripts:
        print("No benchmark script found (benchmarks/bench_*.py).")
        return 1
    passthrough = ["--quick"] if args.quick else []
    summary, failed = [], False
    for script in scripts:
        name = os.path.basename(script)
        print(f"\n===== {name} {' '.join(passthrough)}".rstrip() + " =====", flush=True)
        start = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, os.path.abspath(__file__), "--child", script, *passthrough],
            check=False,
        )
        elapsed = time.perf_counter() - start
        if proc.returncode == 0:
            status = "ok"
        elif proc.returncode == SKIP_STATUS:
            status = "skipped (missing optional dependency)"
        else:
            status = f"FAILED (exit status {proc.returncode})"
            failed = True
        summary.append([name, status, f"{elapsed:.1f} s"])

    print()
    print_table(["script", "status", "time"], summary, align="llr", title="Benchmarks:")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
