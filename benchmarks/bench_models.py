"""Benchmark of the model zoo: training time, test ELBO and disentanglement.

Not run in CI. Three parts:

* ``digits``: a VAE with a 2-D latent space on scikit-learn's 8x8 digits
  (80/20 split): test ELBO and training time (target: under 60 s on a
  2-core CPU);
* ``shapes``: a beta-VAE on 20k dSprites-like shapes at 64x64 (target:
  under 10 minutes on a 2-core CPU): test ELBO, MIG and time;
* ``mig``: VAE, beta-VAE, beta-TCVAE and DIP-VAE on the same shapes, their
  test ELBO and MIG (as in Shukla et al. 2019), as a table.

``--quick`` runs reduced versions (fewer, smaller shapes and epochs).

Usage::

    python benchmarks/bench_models.py                 # everything, full size
    python benchmarks/bench_models.py --quick         # reduced run
    python benchmarks/bench_models.py --part digits   # one part
    python benchmarks/bench_models.py --device cuda   # on a GPU
"""

import argparse
import os
import platform
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import geomstats_gen  # noqa: E402,F401  (selects the pytorch backend first)
import torch  # noqa: E402
from _timing import format_seconds, print_table  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

from geomstats_gen.datasets import load_digits, make_shapes  # noqa: E402
from geomstats_gen.models import VAE, BetaTCVAE, BetaVAE, DIPVAE, mig_score  # noqa: E402


def _header(args):
    print(
        f"# bench_models: torch {torch.__version__}, n_jobs={args.n_jobs} "
        f"(torch default {torch.get_num_threads()} threads), "
        f"device {args.device}, {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPUs, quick={args.quick}"
    )
    if hasattr(os, "getloadavg"):
        print(f"# load average at start: {os.getloadavg()[0]:.2f}", flush=True)


def _timed_fit(model, X):
    start = time.perf_counter()
    model.fit(X)
    return time.perf_counter() - start


def bench_digits(args):
    """VAE, 2-D latent, on the digits; test ELBO and time."""
    X, y = load_digits(return_X_y=True)
    X_train, X_test = train_test_split(X, test_size=0.2, random_state=0, stratify=y)
    epochs = 30 if args.quick else 150
    model = VAE(
        n_components=2,
        hidden_sizes=(128, 64),
        epochs=epochs,
        batch_size=64,
        learning_rate=2e-3,
        device=args.device,
        n_jobs=args.n_jobs,
        random_state=0,
        verbose=args.verbose,
    )
    seconds = _timed_fit(model, X_train)
    rows = [[
        "VAE d=2 (digits)",
        f"{len(X_train)}/{len(X_test)}",
        epochs,
        f"{model.score(X_train):.2f}",
        f"{model.score(X_test):.2f}",
        format_seconds(seconds),
    ]]
    print_table(
        ["model", "train/test", "epochs", "train ELBO", "test ELBO", "fit time"],
        rows,
        title="\n## Digits (8x8, Bernoulli likelihood, ELBO in nats per image)",
    )
    return model


def _shapes_config(args):
    if args.quick:
        return dict(n_samples=5000, image_size=32, epochs=10, hidden=(256, 128), latent=6)
    return dict(n_samples=20000, image_size=64, epochs=20, hidden=(512, 256), latent=10)


def _shapes_data(args):
    cfg = _shapes_config(args)
    start = time.perf_counter()
    train = make_shapes(cfg["n_samples"], image_size=cfg["image_size"], random_state=0)
    seconds = time.perf_counter() - start
    test = make_shapes(2000, image_size=cfg["image_size"], random_state=1)
    print(
        f"\n# make_shapes: {cfg['n_samples']} images of {cfg['image_size']}x"
        f"{cfg['image_size']} rendered in {format_seconds(seconds)}",
        flush=True,
    )
    return cfg, train, test


def _shapes_models(cfg, args):
    common = dict(
        n_components=cfg["latent"],
        hidden_sizes=cfg["hidden"],
        epochs=cfg["epochs"],
        batch_size=128,
        learning_rate=1e-3,
        device=args.device,
        n_jobs=args.n_jobs,
        random_state=0,
        verbose=args.verbose,
    )
    return {
        "VAE": VAE(**common),
        "BetaVAE (beta=4)": BetaVAE(beta=4.0, **common),
        "BetaTCVAE (beta=6)": BetaTCVAE(beta=6.0, **common),
        "DIPVAE-I (lod=10)": DIPVAE(lambda_od=10.0, dip_type="i", **common),
    }


def _evaluate(name, model, seconds, test, cfg):
    codes = model.transform(test.data)
    mig = mig_score(codes, test.factor_classes)
    return [
        name,
        cfg["epochs"],
        f"{model.score(test.data):.1f}",
        f"{mig:.3f}",
        format_seconds(seconds),
    ]


_SHAPES_HEADERS = ["model", "epochs", "test ELBO", "MIG", "fit time"]


def bench_shapes(args, data=None):
    """beta-VAE on the shapes: test ELBO, MIG and time."""
    cfg, train, test = data or _shapes_data(args)
    model = _shapes_models(cfg, args)["BetaVAE (beta=4)"]
    seconds = _timed_fit(model, train.data)
    row = _evaluate("BetaVAE (beta=4)", model, seconds, test, cfg)
    print_table(
        _SHAPES_HEADERS,
        [row],
        title=(
            f"\n## beta-VAE on {cfg['n_samples']} shapes {cfg['image_size']}x"
            f"{cfg['image_size']} (MLP {cfg['hidden']}, d={cfg['latent']})"
        ),
    )
    return row


def bench_mig(args, data=None, done=None):
    """The four models on the shapes: ELBO and MIG table."""
    cfg, train, test = data or _shapes_data(args)
    rows = []
    for name, model in _shapes_models(cfg, args).items():
        if done is not None and done[0] == name:
            rows.append(done)
            continue
        seconds = _timed_fit(model, train.data)
        rows.append(_evaluate(name, model, seconds, test, cfg))
        print(f"# {name}: done in {format_seconds(seconds)}", flush=True)
    print_table(
        _SHAPES_HEADERS,
        rows,
        title=(
            f"\n## Disentanglement on {cfg['n_samples']} shapes {cfg['image_size']}x"
            f"{cfg['image_size']} (MIG on 2000 held-out images, 20 bins)"
        ),
    )
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="reduced run")
    parser.add_argument(
        "--part", choices=("all", "digits", "shapes", "mig"), default="all"
    )
    parser.add_argument("--device", default="cpu", help="cpu, cuda, auto, ...")
    parser.add_argument(
        "--n-jobs",
        type=int,
        default=1,
        help="torch CPU threads while training (default 1: fastest for these small "
        "networks, and robust on a busy machine; 0 leaves torch's setting)",
    )
    parser.add_argument("--verbose", action="store_true", help="progress bars")
    args = parser.parse_args(argv)
    if args.n_jobs == 0:
        args.n_jobs = None
    _header(args)
    if args.part in ("all", "digits"):
        bench_digits(args)
    data = None
    beta_row = None
    if args.part in ("all", "shapes", "mig"):
        data = _shapes_data(args)
    if args.part in ("all", "shapes"):
        beta_row = bench_shapes(args, data)
    if args.part in ("all", "mig"):
        bench_mig(args, data, done=beta_row)
    return 0


if __name__ == "__main__":
    sys.exit(main())
