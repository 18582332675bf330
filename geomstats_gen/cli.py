"""Command line of geomstats-gen: ``geomstats-gen demo|train|analyze|experiment`` (or ``python -m geomstats_gen``).

* ``demo``: trains a VAE with a 2-D latent space on the embedded digits,
  analyses its latent geometry and writes the report (the main job).
* ``train``: trains a model on a dataset and saves it.
* ``analyze``: writes the report of a saved model on a dataset.
* ``experiment``: reproduces Shao et al.'s or Shukla et al.'s study on real
  data (:mod:`geomstats_gen.experiments`).

A fast mode (``--fast``, or the environment variable
``GEOMSTATS_GEN_FAST=1``) trains for a few epochs and analyses few codes:
for tests and smoke runs, not for conclusions.
"""

import contextlib
import os
import sys
import time

from geomstats_gen._cli_parser import DEFAULT_REPORT_DIR, FAST_ENV
from geomstats_gen._cli_parser import build_parser as _build_parser
from geomstats_gen._model_names import MODEL_NAMES

#: Options of ``train`` that only some models take: option -> parameter.
MODEL_SPECIFIC = {"beta": "beta", "alpha": "alpha", "gamma": "gamma", "lambda_od": "lambda_od",
                  "lambda_d": "lambda_d", "dip_type": "dip_type"}

#: Analysis settings: full and fast.
ANALYSIS = {
    "full": dict(n_codes=250, n_pairs=4, n_ratio_pairs=32, n_analogies=3, n_strip=10,
                 grid_size=120, n_planes=8, graph_neighbors=8),
    "fast": dict(n_codes=40, n_pairs=2, n_ratio_pairs=4, n_analogies=2, n_strip=6,
                 grid_size=40, n_planes=2, graph_neighbors=5, analogy_transport="projection"),
}


class CLIError(Exception):
    """A usage error: printed as ``geomstats-gen: error: ...``, exit status 2."""


def _fast(args):
    env = os.environ.get(FAST_ENV, "").strip().lower() not in ("", "0", "false", "no")
    return bool(getattr(args, "fast", False)) or env


# ----------------------------------------------------------------------
# Datasets
# ----------------------------------------------------------------------
def load_dataset(spec, n_samples=None, image_size=32, seed=0):
    """:func:`geomstats_gen.datasets.load_dataset`, its errors as usage errors of ``--dataset``."""
    from geomstats_gen.datasets import load_dataset as _load

    try:
        return _load(spec, n_samples=n_samples, image_size=image_size, seed=seed)
    except (FileNotFoundError, ValueError) as err:
        raise CLIError(f"--dataset {spec}: {err}") from err


# ----------------------------------------------------------------------
# Models
# ----------------------------------------------------------------------
def _model_params(args, fast):
    params = dict(
        n_components=args.latent_dim,
        epochs=3 if fast and args.epochs is None else (args.epochs or 150),
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        hidden_sizes=tuple(args.hidden_sizes),
        architecture=args.architecture,
        likelihood=args.likelihood,
        device=args.device,
        n_jobs=args.threads,
        random_state=args.seed,
        verbose=not args.quiet,
        n_decoders=getattr(args, "n_decoders", 1),
    )
    cls = _model_class(args.model)
    accepted = cls().get_params()
    for option, name in MODEL_SPECIFIC.items():
        value = getattr(args, option, None)
        if value is None:
            continue  # the model's own default
        if name not in accepted:
            takers = ", ".join(
                cli for cli in MODEL_NAMES if name in _model_class(cli)().get_params()
            )
            raise CLIError(f"--{option.replace('_', '-')}: not a parameter of --model "
                           f"{args.model} (use {takers}).")
        params[name] = value
    return params


def _model_class(name):
    from geomstats_gen.models import MODELS

    return MODELS[name]


def _fit(args, X, image_shape, fast):
    cls = _model_class(args.model)
    params = _model_params(args, fast)
    if image_shape is not None and len(image_shape) == 2:
        params["image_shape"] = tuple(image_shape)
    model = cls(**params)
    t0 = time.perf_counter()
    try:
        model.fit(X)
    except ValueError as err:  # bad data for the model (range, shape, NaN...)
        raise CLIError(f"training {cls.__name__} on --dataset failed: {err}") from err
    return model, time.perf_counter() - t0


def _report(model, X, y, image_shape, out_dir, args, fast, run_info):
    from geomstats_gen.report import write_report

    settings = dict(ANALYSIS["fast" if fast else "full"])
    if getattr(args, "n_codes", None) is not None:
        if args.n_codes < 6:
            raise CLIError(f"--n-codes: at least 6 codes are needed, got {args.n_codes}.")
        settings["n_codes"] = args.n_codes
    metrics = list(getattr(args, "metric", ["pullback"]))
    if "expected" in metrics:  # the variance network, fitted to the data at hand
        model.fit_variance(X, random_state=args.seed)
    common = dict(image_shape=image_shape, random_state=args.seed, progress=not args.quiet,
                  **settings)
    try:
        if len(metrics) > 1:
            from geomstats_gen.report import write_comparison

            comparison = write_comparison(model, X, y, out_dir, metrics=metrics,
                                          run_info=run_info, **common)
            return {name: (summary, os.path.join(out_dir, name))
                    for name, summary in comparison["metrics"].items()}
        summary = write_report(model, X, y, out_dir, run_info={**run_info, "metric": metrics[0]},
                               metric=metrics[0], **common)
    except ValueError as err:
        if "n_decoders" in str(err):  # --metric ensemble on a single-decoder model
            raise CLIError(f"--metric: {err}") from err
        raise
    return {metrics[0]: (summary, out_dir)}


def _print_summary(summary, out_dir):
    lines = [
        f"latent dimension {summary['latent']['latent_dim']}, "
        f"{summary['latent']['n_codes']} codes analysed",
    ]
    units = summary["latent"].get("active_units") or {}
    if units.get("collapsed_dims"):
        lines.append(f"active latent dimensions {units['active_dims']}; collapsed "
                     f"{units['collapsed_dims']}")
    grid = summary.get("magnification", {}).get("grid", {})
    if grid.get("min") is not None:
        lines.append(f"magnification factor sqrt(det G) on the plotted plane: "
                     f"{grid['min']:.3g} to {grid['max']:.3g}")
    ratio = summary.get("geodesic_to_linear_ratio", {})
    if ratio.get("mean") is not None:
        lines.append(f"geodesic / straight-line length over {ratio['n_pairs']} random pairs: "
                     f"mean {ratio['mean']:.4f} (min {ratio['min']:.4f})")
    curv = summary.get("curvature", {})
    if "sectional" in curv:
        lines.append(f"sectional curvature: mean {curv['sectional']['mean']:.3g}, "
                     f"range [{curv['sectional']['min']:.3g}, {curv['sectional']['max']:.3g}]")
    sep = summary.get("separability", {})
    if "knn_accuracy_geodesic" in sep:
        lines.append(
            f"{sep['knn_neighbors']}-NN accuracy geodesic {sep['knn_accuracy_geodesic']:.3f} / "
            f"Euclidean {sep['knn_accuracy_euclidean']:.3f}; silhouette geodesic "
            f"{sep['silhouette_geodesic']:.3f} / Euclidean {sep['silhouette_euclidean']:.3f}"
        )
    lines.append(f"report: {os.path.join(out_dir, 'report.html')} "
                 f"(+ summary.json and {len(summary['files']) - 2} PNGs in {out_dir}/)")
    print("\n".join("  " + line for line in lines))
    failed = summary.get("failed_steps") or {}
    if failed:
        print(f"warning: the report is partial: {len(failed)} step(s) failed "
              f"({', '.join(failed)}); see 'Partial report' in report.html", file=sys.stderr)


# ----------------------------------------------------------------------
# Subcommands
# ----------------------------------------------------------------------
def _cmd_demo(args):
    fast = _fast(args)
    out_dir = args.out or DEFAULT_REPORT_DIR
    t0 = time.perf_counter()
    print("geomstats-gen demo: the latent geometry of a VAE trained on the embedded digits"
          + (" (fast mode)" if fast else ""))
    X, y, image_shape, _ = load_dataset("digits", seed=args.seed)
    args.model = "vae"
    model, t_fit = _fit(args, X, image_shape, fast)
    os.makedirs(out_dir, exist_ok=True)
    model_path = model.save(os.path.join(out_dir, "model.pt"))
    elbo = float(model.score(X))
    print(f"  trained VAE (2-D latent, {model.epochs} epochs) in {t_fit:.1f} s: "
          f"ELBO {elbo:.2f} nats per image; saved {model_path}")
    run_info = {"command": "demo", "dataset": "digits", "epochs": int(model.epochs),
                "seed": args.seed, "device": str(model.device_), "fast": fast,
                "model_file": "model.pt", "train_s": round(t_fit, 2), "elbo": elbo}
    for name, (summary, folder) in _report(model, X, y, image_shape, out_dir, args, fast,
                                           run_info).items():
        if len(args.metric) > 1:
            print(f"  {name} metric:")
        _print_summary(summary, folder)
    if len(args.metric) > 1:
        print(f"  side by side: {os.path.join(out_dir, 'report.html')}")
    print(f"Done in {time.perf_counter() - t0:.1f} s.")
    return 0


def _cmd_train(args):
    fast = _fast(args)
    X, _, image_shape, name = load_dataset(args.dataset, args.n_samples, args.image_size,
                                           args.seed)
    out = args.out or "model.pt"
    if os.path.isdir(out):
        raise CLIError(f"--out: {out!r} is a folder; give the model file to write, "
                       "e.g. model.pt.")
    folder = os.path.dirname(os.path.abspath(out))
    if not os.path.isdir(folder):
        raise CLIError(f"--out: folder {folder!r} does not exist.")
    print(f"training {MODEL_NAMES[args.model]} on {name} ({X.shape[0]} samples, {X.shape[1]} "
          f"features), latent dimension {args.latent_dim}" + (" (fast mode)" if fast else ""))
    model, t_fit = _fit(args, X, image_shape, fast)
    model.save(out)
    print(f"  done in {t_fit:.1f} s: final loss {model.history_[-1]:.4g}, ELBO "
          f"{model.score(X):.2f} nats per sample; saved {out}")
    _warn_collapse(model, X)
    return 0


def _warn_collapse(model, X):
    """Say on stderr which latent dimensions collapsed (posterior collapse)."""
    units = model.active_units(X)
    collapsed = [int(i) for i, on in enumerate(units["active"]) if not on]
    if collapsed:
        print(
            f"warning: posterior collapse: {len(collapsed)} of {len(units['active'])} latent "
            f"dimensions are inactive {collapsed} (variance of the posterior means over the "
            f"data <= {units['threshold']:g}; largest {max(units['variance']):.3g}). Train "
            "longer, lower the KL weight (--beta) or use a smaller --latent-dim; the report "
            "lists the active dimensions.",
            file=sys.stderr,
        )


def _cmd_analyze(args):
    from geomstats_gen.models import VAE

    fast = _fast(args)
    if not os.path.isfile(args.model_file):
        raise CLIError(f"MODEL: no such file {args.model_file!r} (write one with "
                       "'geomstats-gen train').")
    try:
        model = VAE.load(args.model_file,
                         device=None if args.device == "auto" else args.device)
    except ValueError as err:
        raise CLIError(f"MODEL {args.model_file}: {err}") from err
    X, y, image_shape, name = load_dataset(args.dataset, args.n_samples, args.image_size,
                                           args.seed)
    if X.shape[1] != model.n_features_in_:
        raise CLIError(
            f"--dataset {name}: {X.shape[1]} features per sample, but the model was trained "
            f"on {model.n_features_in_}."
        )
    if image_shape is None and model.image_shape_ is not None:
        image_shape = model.image_shape_
    out_dir = args.out or DEFAULT_REPORT_DIR
    t0 = time.perf_counter()
    print(f"analysing {type(model).__name__} ({args.model_file}, latent dimension "
          f"{model.n_components}) on {name} ({len(X)} samples)" + (" (fast mode)" if fast else ""))
    run_info = {"command": "analyze", "dataset": name, "model_file": os.path.abspath(
        args.model_file), "seed": args.seed, "device": str(model.device_), "fast": fast}
    with _scheduler(args.scheduler):
        if args.scheduler:
            run_info["scheduler"] = args.scheduler
            print(f"  on the Dask cluster at {args.scheduler}")
        reports = _report(model, X, y, image_shape, out_dir, args, fast, run_info)
    for name, (summary, folder) in reports.items():
        if len(args.metric) > 1:
            print(f"  {name} metric:")
        _print_summary(summary, folder)
    if len(args.metric) > 1:
        print(f"  side by side: {os.path.join(out_dir, 'report.html')}")
    print(f"Done in {time.perf_counter() - t0:.1f} s.")
    return 0


@contextlib.contextmanager
def _scheduler(address):
    """Run the block's joblib work on the Dask cluster at ``address`` (if any)."""
    if not address:
        yield
        return
    try:
        import joblib
        from dask.distributed import Client
    except ImportError as err:
        raise CLIError(
            "--scheduler needs Dask: pip install 'geomstats-gen[dask]'"
        ) from err
    try:
        client = Client(address, timeout="30s")
    except OSError as err:
        raise CLIError(f"--scheduler {address}: cannot connect ({err}).") from err
    try:
        with joblib.parallel_config(backend="dask"):
            yield
    finally:
        client.close()


def _cmd_experiment(args):
    from dataclasses import replace

    from geomstats_gen.experiments.runner import run_experiments
    from geomstats_gen.experiments.setup import DATASETS, FULL, QUICK

    datasets = [name.strip() for name in args.datasets.split(",") if name.strip()]
    unknown = [name for name in datasets if name not in DATASETS]
    if unknown or not datasets:
        raise CLIError(f"--datasets: expected names among {', '.join(DATASETS)}, got "
                       f"{args.datasets!r}.")
    plan = QUICK if (args.quick or _fast(args)) else FULL
    if args.seeds is not None:
        plan = replace(plan, seeds=tuple(range(args.seeds)))
    if args.n_codes is not None:
        plan = replace(plan, n_eval=args.n_codes)
    out_dir = args.out or "geomstats-gen-experiments"
    try:
        results = run_experiments(
            args.study, out_dir, plan, datasets=datasets, device=args.device,
            n_jobs=args.threads, fashion_path=args.fashion_path, metrics=tuple(args.metrics),
            log=(lambda message: None) if args.quiet else print,
        )
    except FileNotFoundError as err:
        raise CLIError(str(err)) from err
    print(f"{len(results['records'])} model records; tables in "
          f"{os.path.join(out_dir, 'tables.md')}")
    return 0


# ----------------------------------------------------------------------
# Parser
# ----------------------------------------------------------------------
def build_parser():
    """The argument parser of the ``geomstats-gen`` command."""
    return _build_parser({"demo": _cmd_demo, "train": _cmd_train, "analyze": _cmd_analyze,
                          "experiment": _cmd_experiment})


def _check_device(parser, text):
    import torch

    if text == "auto":
        return
    try:
        device = torch.device(text)
    except RuntimeError as err:
        parser.error(f"--device: {err}")
    if device.type == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: CUDA is not available on this machine (use --device cpu)")


def main(argv=None):
    """Entry point of the ``geomstats-gen`` console script.

    Returns
    -------
    status : int
        0 on success, 2 on a usage error (missing file, wrong option).
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return 2
    _check_device(parser, args.device)
    import torch

    import geomstats_gen  # noqa: F401  (selects Geomstats' pytorch backend)

    threads = torch.get_num_threads()
    torch.set_num_threads(args.threads)
    try:
        return args.func(args)
    except CLIError as err:
        print(f"geomstats-gen {args.command}: error: {err}", file=sys.stderr)
        return 2
    finally:
        torch.set_num_threads(threads)


if __name__ == "__main__":
    sys.exit(main())
