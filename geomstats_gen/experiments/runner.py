"""Run the papers' experiments end to end, resumably: train, measure, tabulate.

Layout of ``out_dir``::

    models/<dataset>/<model>-seed<k>.pt, .json    weights and training record
    records/<dataset>/<model>-seed<k>.json        the measures of the model
    records/<dataset>/<model>-seed<k>-analogies.json
    results.json, tables.md, figures.png          every record, the tables, the figure

Anything already on disk is reused, so an interrupted run picks up where it
stopped, and adding a seed trains only the new models.
"""

import functools
import json
import os
import platform
import time

import numpy as np
import torch

from geomstats_gen.experiments.figures import plot_results
from geomstats_gen.experiments.measures import (
    METRICS,
    analogy_scores,
    latent_space,
    shukla_measures,
)
from geomstats_gen.experiments.setup import (
    DATASETS,
    MODELS,
    _read_json,
    load_data,
    model_path,
    train_model,
    write_json,
)
from geomstats_gen.experiments.tables import render_tables

__all__ = ["STUDIES", "run_experiments"]

#: The studies, the models each compares, and whether it scores analogies.
STUDIES = {
    "shao": (("VAE",), True),
    "shukla": (tuple(MODELS), False),
    "all": (tuple(MODELS), True),
}


def _classifier(data, seed=0):
    """A pixel classifier (logistic regression) that labels decoded images."""
    from sklearn.linear_model import LogisticRegression

    X = data["X_train"].reshape(len(data["X_train"]), -1)
    clf = LogisticRegression(max_iter=300, C=0.1, random_state=seed)
    clf.fit(X, data["y_train"])
    test = data["X_test"].reshape(len(data["X_test"]), -1)
    return clf, float((clf.predict(test) == data["y_test"]).mean())


def _analogies(model, data, plan, seed, classifier):
    """Analogy scores of a model; ``classifier`` caches the dataset's classifier."""
    if not classifier:
        classifier["model"], classifier["accuracy"] = _classifier(data)
    index = data["eval_index"]
    codes = np.asarray(model.transform(data["X_test"][index]), dtype=np.float64)
    scores = analogy_scores(model, latent_space(model, "pullback", plan), codes,
                            data["y_test"][index], classifier["model"], plan.n_analogies, seed,
                            transport_steps=plan.transport_steps)
    return {"classifier_accuracy": classifier["accuracy"], **scores}


def _cached(path, compute):
    if os.path.exists(path):
        return _read_json(path)
    record = compute()
    write_json(path, record)
    return record


def run_experiments(study, out_dir, plan, datasets=tuple(DATASETS), device="cpu", n_jobs=1,
                    fashion_path=None, metrics=METRICS, log=print):
    """Train and measure every model of a study on every dataset; write the tables.

    Parameters
    ----------
    study : {"shao", "shukla", "all"}
        Shao et al. (2017): the VAE's curvature at the data's scale, linear
        paths against geodesics, analogies by transport. Shukla et al.
        (2019): the four models' MIG, curvature per latent axis and of the
        class-distinguishing plane, separability and interpolation under
        each metric. ``"all"``: both.
    out_dir : str
    plan : Plan
        :data:`~geomstats_gen.experiments.setup.FULL` or ``QUICK``.
    datasets : sequence of str
        Among ``"fashion-mnist"`` and ``"shapes"``.
    device : str
        Where models train and the geometry runs (``"auto"``: CUDA when
        available).
    n_jobs : int
        Torch CPU threads of the models.
    fashion_path : str, optional
        Folder of the Fashion-MNIST IDX files.
    metrics : sequence of str
        Riemannian metrics compared with Euclidean distances.
    log : callable

    Returns
    -------
    results : dict
        ``plans`` (the plan and metrics of each dataset), ``metrics`` (all
        of them), ``machine``, ``seconds_this_call``, ``records`` (one dict
        per dataset, model and seed: training record, measures, analogies).
        ``results.json`` keeps the records of datasets measured by earlier
        calls into the same ``out_dir``.
    """
    if study not in STUDIES:
        raise ValueError(f"`study` must be one of {', '.join(STUDIES)}, got {study!r}.")
    unknown = [name for name in datasets if name not in DATASETS]
    if unknown or not datasets:
        raise ValueError(f"`datasets` must be among {', '.join(DATASETS)}, got {datasets!r}.")
    names, with_analogies = STUDIES[study]
    start = time.perf_counter()
    records = []
    for dataset in datasets:
        data = load_data(dataset, plan, path=fashion_path)
        classifier = {}
        log(f"{dataset}: {len(data['X_train'])} training and {len(data['X_test'])} held-out "
            f"images, {len(data['eval_index'])} codes for the geometry")
        for seed in plan.seeds:  # seed-major: an interrupted run has every model of a seed
            for name in names:
                model, training = train_model(out_dir, dataset, name, seed, data, plan,
                                              device=device, n_jobs=n_jobs, log=log)
                base = model_path(out_dir, dataset, name, seed, kind="records")
                record = {"dataset": dataset, "model": name, "seed": seed,
                          "n_codes": len(data["eval_index"]), **training}
                torch.manual_seed(seed)
                tick = time.perf_counter()
                record.update(_cached(base + ".json", functools.partial(
                    shukla_measures, model, data, plan, seed, metrics)))
                if with_analogies and name == "VAE":
                    record.update(_cached(base + "-analogies.json", functools.partial(
                        _analogies, model, data, plan, seed, classifier)))
                log(f"  measured {dataset} {name} seed {seed} "
                    f"({time.perf_counter() - tick:.0f} s)")
                records.append(record)
    results_file = os.path.join(out_dir, "results.json")
    plans = {dataset: {**plan.to_dict(), "metrics": list(metrics)} for dataset in datasets}
    all_metrics = list(metrics)
    if os.path.exists(results_file):  # keep the other datasets' records of earlier calls
        earlier = load_results(results_file)
        records = [r for r in earlier["records"] if r["dataset"] not in datasets] + records
        plans = {**{k: v for k, v in earlier.get("plans", {}).items() if k not in datasets},
                 **plans}
        all_metrics = list(dict.fromkeys(earlier.get("metrics", []) + all_metrics))
    results = {
        "study": study,
        "plans": plans,
        "metrics": all_metrics,
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(),
                    "torch_threads": n_jobs, "device": str(device),
                    "torch": torch.__version__},
        "seconds_this_call": time.perf_counter() - start,
        "records": records,
    }
    write_json(results_file, results)
    with open(os.path.join(out_dir, "tables.md"), "w", encoding="utf-8") as handle:
        handle.write(render_tables(results))
    plot_results(results, os.path.join(out_dir, "figures.png"))
    return results


def load_results(path):
    """The results written by :func:`run_experiments` (its ``results.json``)."""
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)
