"""The argument parser of ``geomstats-gen`` (no heavy import: ``--help`` is instant)."""

import argparse

from geomstats_gen._model_names import METRIC_NAMES, MODEL_NAMES

__all__ = ["DEFAULT_REPORT_DIR", "FAST_ENV", "build_parser"]

DEFAULT_REPORT_DIR = "geomstats-gen-report"
FAST_ENV = "GEOMSTATS_GEN_FAST"


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _positive_float(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def _int_list(text):
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated positive integers, e.g. 256,128, got {text!r}"
        ) from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated positive integers, e.g. 256,128, got {text!r}"
        )
    return values


def _metric_list(text):
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in METRIC_NAMES]
    if not names or unknown or len(set(names)) != len(names):
        raise argparse.ArgumentTypeError(
            f"expected metric names from {', '.join(METRIC_NAMES)}, each once, comma-separated; "
            f"got {text!r}"
        )
    return names


def _metric_option(parser):
    parser.add_argument(
        "--metric", type=_metric_list, default=["pullback"], metavar="NAME[,NAME...]",
        help="latent metric(s) analysed: pullback of the mean decoder (default), expected "
        "(a stochastic decoder with a variance network fitted to the data, Arvanitidis et "
        "al. 2018), fisher-rao (of the likelihood), ensemble (of a model trained with "
        "--n-decoders); several, comma-separated, give one report each and a page "
        "comparing them side by side",
    )


def _common(parser, out_help):
    group = parser.add_argument_group("common options")
    group.add_argument("--out", metavar="PATH", help=out_help)
    group.add_argument("--seed", type=int, default=0, help="random seed of everything (default 0)")
    group.add_argument("--device", default="cpu",
                       help="torch device: cpu (default), cuda, cuda:1 or auto (GPU if any)")
    group.add_argument("--threads", type=_positive_int, default=1, metavar="N",
                       help="torch CPU threads (default 1: fastest for these small networks, "
                       "and much faster than 2 on a busy machine)")
    group.add_argument("--fast", action="store_true",
                       help=f"tiny training and few codes, for tests (also: {FAST_ENV}=1)")
    group.add_argument("--quiet", action="store_true", help="no progress bars")


def _model_options(parser):
    group = parser.add_argument_group("model and training")
    group.add_argument("--model", choices=sorted(MODEL_NAMES), default="vae",
                       help="model family (default vae)")
    group.add_argument("--n-decoders", type=_positive_int, default=1, metavar="M",
                       help="decoders trained with the one encoder: an ensemble, for "
                       "'analyze --metric ensemble' (default 1)")
    group.add_argument("--latent-dim", type=_positive_int, default=2, metavar="D",
                       help="latent dimension (default 2)")
    group.add_argument("--epochs", type=_positive_int, default=None,
                       help="training epochs (default 150; 3 in fast mode)")
    group.add_argument("--batch-size", type=_positive_int, default=128, help="(default 128)")
    group.add_argument("--learning-rate", type=_positive_float, default=1e-3,
                       help="Adam learning rate (default 1e-3)")
    group.add_argument("--hidden-sizes", type=_int_list, default=[256, 128], metavar="H1,H2",
                       help="hidden layer sizes of the MLP encoder/decoder (default 256,128)")
    group.add_argument("--architecture", choices=("mlp", "conv"), default="mlp",
                       help="(default mlp)")
    group.add_argument("--likelihood", choices=("bernoulli", "gaussian"), default="bernoulli",
                       help="(default bernoulli)")
    group = parser.add_argument_group(
        "model-specific options", "default: the model's own (see its docstring, e.g. "
        "help(geomstats_gen.models.BetaVAE)); an option the model does not take is an error")
    group.add_argument("--beta", type=_positive_float, default=None,
                       help="KL weight of beta-vae, total-correlation weight of beta-tcvae")
    group.add_argument("--alpha", type=_positive_float, default=None,
                       help="mutual-information weight of beta-tcvae")
    group.add_argument("--gamma", type=_positive_float, default=None,
                       help="dimension-wise KL weight of beta-tcvae")
    group.add_argument("--lambda-od", type=_positive_float, default=None,
                       help="off-diagonal weight of dip-vae")
    group.add_argument("--lambda-d", type=_positive_float, default=None,
                       help="diagonal weight of dip-vae")
    group.add_argument("--dip-type", choices=("i", "ii"), default=None, help="dip-vae type")


def _dataset_options(parser, required):
    group = parser.add_argument_group("data")
    group.add_argument(
        "--dataset", default=None if required else "digits", required=required,
        metavar="NAME|FILE",
        help="digits (embedded 8x8), shapes (dSprites-like, rendered), fashion-mnist "
        "(IDX files under /usr/share/datasets/fashion-mnist), or a file: IDX "
        "(*.idx*, *ubyte*), .npy ([n, D] or [n, H, W]) or .npz (arrays X and y)"
        + ("" if required else "; default digits"),
    )
    group.add_argument("--n-samples", type=_positive_int, default=None, metavar="N",
                       help="use a random subset of N samples (shapes: number rendered, "
                       "default 5000)")
    group.add_argument("--image-size", type=_positive_int, default=32, metavar="S",
                       help="side of the shapes images (default 32)")


def build_parser(commands):
    """The argument parser of the ``geomstats-gen`` command.

    Parameters
    ----------
    commands : dict of str to callable
        The function of each subcommand (``demo``, ``train``, ``analyze``),
        stored as ``args.func``.
    """
    parser = argparse.ArgumentParser(
        prog="geomstats-gen",
        description="Riemannian geometry of the latent spaces of generative models: train a "
        "model, then analyse its latent space (magnification factor, geodesics, analogies, "
        "curvature, class separability) into a report folder with summary.json, report.html "
        "and PNGs.",
        epilog="Examples:\n"
        "  geomstats-gen demo                          # the main job: VAE on digits -> "
        f"{DEFAULT_REPORT_DIR}/\n"
        "  geomstats-gen train --dataset digits --model beta-vae --beta 4 --out bvae.pt\n"
        "  geomstats-gen analyze bvae.pt --dataset digits --out bvae-report\n"
        "  geomstats-gen experiment all --out experiments   # both papers on real data\n",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = sub.add_parser(
        "demo",
        help="train a VAE (2-D latent) on the embedded digits, analyse it, write the report",
        description="Train a VAE with a 2-D latent space on the embedded 8x8 digits (about "
        "10 s), analyse its latent geometry and write the report (summary.json, report.html, "
        f"PNGs) to --out (default {DEFAULT_REPORT_DIR}/), with the model as model.pt.",
    )
    _metric_option(demo)
    _common(demo, f"report folder (default {DEFAULT_REPORT_DIR})")
    demo.add_argument("--epochs", type=_positive_int, default=None,
                      help="training epochs (default 150; 3 in fast mode)")
    demo.add_argument("--n-codes", type=_positive_int, default=None, metavar="N",
                      help="codes analysed (default 250; 40 in fast mode)")
    demo.set_defaults(func=commands["demo"], latent_dim=2, batch_size=128, learning_rate=1e-3,
                      hidden_sizes=[256, 128], architecture="mlp", likelihood="bernoulli",
                      beta=None, model="vae")

    train = sub.add_parser(
        "train", help="train a model on a dataset and save it",
        description="Train a VAE-family model on a dataset and save it (weights and "
        "configuration, loaded with weights_only=True).",
    )
    _dataset_options(train, required=False)
    _model_options(train)
    _common(train, "model file to write (default model.pt)")
    train.set_defaults(func=commands["train"])

    analyze = sub.add_parser(
        "analyze", help="write the latent-geometry report of a saved model",
        description="Analyse the latent space of a saved model on a dataset and write the "
        "report folder.",
    )
    analyze.add_argument("model_file", metavar="MODEL", help="model file written by train/demo")
    _dataset_options(analyze, required=False)
    analyze.add_argument("--n-codes", type=_positive_int, default=None, metavar="N",
                         help="codes analysed (default 250; 40 in fast mode)")
    _metric_option(analyze)
    analyze.add_argument("--scheduler", default=None, metavar="ADDRESS",
                         help="run the distance matrices and curvature maps on the Dask "
                         "cluster at ADDRESS (e.g. tcp://host:8786; needs "
                         "geomstats-gen[dask])")
    _common(analyze, f"report folder (default {DEFAULT_REPORT_DIR})")
    analyze.set_defaults(func=commands["analyze"])

    experiment = sub.add_parser(
        "experiment", help="reproduce Shao et al. (2017) or Shukla et al. (2019) on real data",
        description="Train convolutional VAE, beta-VAE, beta-TCVAE and DIP-VAE models on "
        "Fashion-MNIST and the shapes (several seeds, until the held-out ELBO flattens), "
        "measure their latent geometry and write results.json and tables.md (with the "
        "verdict on each claim) to --out. Resumable: saved models and measures are reused.",
    )
    experiment.add_argument("study", choices=("shao", "shukla", "all"),
                            help="shao: the VAE's flatness, straight lines against geodesics, "
                            "analogies; shukla: the four models' MIG, curvature, "
                            "separability, interpolation; all: both")
    experiment.add_argument("--datasets", default="fashion-mnist,shapes", metavar="NAME[,NAME]",
                            help="among fashion-mnist and shapes (default both)")
    experiment.add_argument("--seeds", type=_positive_int, default=None, metavar="K",
                            help="number of seeds, 0..K-1 (default 3; 1 with --quick)")
    experiment.add_argument("--n-codes", type=_positive_int, default=None, metavar="N",
                            help="held-out codes of the geometric measures, balanced over "
                            "the classes (default 64; 24 with --quick)")
    experiment.add_argument("--metrics", type=_metric_list,
                            default=["pullback", "expected", "fisher-rao"],
                            metavar="NAME[,NAME...]",
                            help="Riemannian metrics whose geodesic distances are compared "
                            "with Euclidean ones (default pullback,expected,fisher-rao)")
    experiment.add_argument("--fashion-path", default=None, metavar="DIR",
                            help="folder of the Fashion-MNIST IDX files (default: Debian's "
                            "dataset-fashion-mnist location)")
    experiment.add_argument("--quick", action="store_true",
                            help="a few hundred images, one seed, two epochs: checks that "
                            "every table is produced, not for conclusions")
    _common(experiment, "results folder (default geomstats-gen-experiments)")
    experiment.set_defaults(func=commands["experiment"])
    return parser
