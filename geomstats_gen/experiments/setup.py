"""Data, model settings and resumable training of the papers' experiments.

Two datasets (Fashion-MNIST 28x28 and the dSprites-like shapes 32x32), four
models with the settings of the disentanglement literature, convolutional
networks, several seeds. Every model is saved after each block of epochs with
its training record, so an interrupted run resumes where it stopped and a
finished model is loaded, not retrained.
"""

import json
import os
import time
from dataclasses import asdict, dataclass, replace

import numpy as np

from geomstats_gen.datasets import load_fashion_mnist, make_shapes
from geomstats_gen.models import DIPVAE, VAE, BetaTCVAE, BetaVAE

__all__ = ["DATASETS", "FULL", "MODELS", "QUICK", "Plan", "load_data", "train_model"]

#: The four models and their hyper-parameters: beta = 4 (Higgins et al. 2017
#: on dSprites), beta-TCVAE's TC weight 6 (Chen et al. 2018 on dSprites),
#: DIP-VAE-I with lambda_od = 10 and lambda_d = 10 lambda_od (Kumar et al.
#: 2018).
MODELS = {
    "VAE": (VAE, {}),
    "beta-VAE": (BetaVAE, {"beta": 4.0}),
    "beta-TCVAE": (BetaTCVAE, {"beta": 6.0}),
    "DIP-VAE-I": (DIPVAE, {"lambda_od": 10.0, "lambda_d": 100.0, "dip_type": "i"}),
}

#: Convolutional networks per dataset: stride-2 4x4 convolutions, then one
#: dense layer (the models' own "conv" architecture, narrowed for a CPU).
DATASETS = {
    "fashion-mnist": {"channels": (16, 32), "hidden_sizes": (128,)},
    "shapes": {"channels": (16, 32, 32), "hidden_sizes": (128,)},
}


@dataclass(frozen=True)
class Plan:
    """Sizes of one run of the experiments.

    Attributes
    ----------
    n_train, n_test : int
        Training images, held-out images (ELBO, MIG, the classifier's test).
    n_eval : int
        Held-out codes (balanced over the classes) of the geometric measures.
    seeds : tuple of int
    latent_dim : int
    block_epochs, min_epochs, max_epochs : int
        Training runs in blocks of ``block_epochs``; it stops once at least
        ``min_epochs`` are done and the last block raised the held-out ELBO
        by less than ``flat_tol`` of its magnitude, or at ``max_epochs``.
    flat_tol : float
    graph_neighbors : int
        Neighbours of the geodesic graph of the distance matrices.
    n_pairs, n_analogies, n_planes : int
        Interpolation pairs, analogies, random curvature planes per code.
    image_size : int
        Side of the shapes.
    """

    n_train: int
    n_test: int
    n_eval: int
    seeds: tuple
    latent_dim: int
    block_epochs: int
    min_epochs: int
    max_epochs: int
    flat_tol: float
    graph_neighbors: int
    n_pairs: int
    n_analogies: int
    n_planes: int
    log_rtol: float
    log_max_nodes: int
    log_n_nodes: int = 8
    log_tol: float = 1e-3
    transport_steps: object = None
    tiny_networks: bool = False
    image_size: int = 32

    def to_dict(self):
        """The plan as plain JSON values."""
        out = asdict(self)
        out["seeds"] = list(self.seeds)
        return out


#: The documented run (docs/experiments.md).
FULL = Plan(
    n_train=12000, n_test=2000, n_eval=64, seeds=(0, 1, 2), latent_dim=8,
    block_epochs=5, min_epochs=15, max_epochs=60, flat_tol=0.005,
    graph_neighbors=5, n_pairs=16, n_analogies=12, n_planes=8, transport_steps=20,
    log_rtol=1e-3, log_max_nodes=16, log_n_nodes=4,
)
#: The smoke run of the tests: every table, tiny numbers.
QUICK = replace(
    FULL, n_train=300, n_test=120, n_eval=24, seeds=(0,), latent_dim=3,
    block_epochs=2, min_epochs=2, max_epochs=2, graph_neighbors=3, n_pairs=3,
    n_analogies=4, n_planes=2, log_rtol=1e-2, log_max_nodes=16, log_n_nodes=4,
    transport_steps=8, tiny_networks=True, image_size=16,
)


def _balanced(labels, n, rng):
    """Indices of ``n`` samples spread evenly over the classes (sorted)."""
    classes = np.unique(labels)
    per_class = max(1, n // len(classes))
    picked = [rng.permutation(np.flatnonzero(labels == c))[:per_class] for c in classes]
    return np.sort(np.concatenate(picked))


def load_data(dataset, plan, path=None):
    """Training and held-out data of a dataset, the same for every model and seed.

    Parameters
    ----------
    dataset : {"fashion-mnist", "shapes"}
    plan : Plan
    path : str, optional
        Folder of the Fashion-MNIST IDX files (default: Debian's
        ``dataset-fashion-mnist`` location).

    Returns
    -------
    data : dict
        ``X_train`` [n_train, H, W], ``X_test`` [n_test, H, W], ``y_train``,
        ``y_test``, ``eval_index`` (positions in the test set of the
        balanced evaluation codes), ``factors_test`` (shapes: level indices
        [n_test, 5]; None otherwise), ``target_names``, ``factor_names``.
    """
    rng = np.random.default_rng(0)
    if dataset == "fashion-mnist":
        train = load_fashion_mnist(path, subset="train")
        test = load_fashion_mnist(path, subset="test")
        tr = np.sort(rng.permutation(len(train.target))[: plan.n_train])
        te = _balanced(test.target, plan.n_test, rng)
        data = {
            "X_train": train.images[tr], "y_train": train.target[tr],
            "X_test": test.images[te], "y_test": test.target[te],
            "factors_test": None, "factor_names": None,
            "target_names": list(train.target_names),
        }
    elif dataset == "shapes":
        bunch = make_shapes(plan.n_train + plan.n_test, image_size=plan.image_size,
                            random_state=0)
        cut = plan.n_train
        data = {
            "X_train": bunch.images[:cut], "y_train": bunch.target[:cut],
            "X_test": bunch.images[cut:], "y_test": bunch.target[cut:],
            "factors_test": bunch.factor_classes[cut:],
            "factor_names": list(bunch.factor_names),
            "target_names": list(bunch.target_names),
        }
    else:
        raise ValueError(f"`dataset` must be one of {', '.join(DATASETS)}, got {dataset!r}.")
    data["eval_index"] = _balanced(data["y_test"], plan.n_eval, rng)
    return data


def _slug(name):
    return name.lower().replace(" ", "-")


def model_path(out_dir, dataset, name, seed, kind="models"):
    """Where a model's files go, without extension: ``kind="models"`` for its
    weights and training record (``.pt``, ``.json``), ``"records"`` for its
    measures."""
    return os.path.join(out_dir, kind, dataset, f"{_slug(name)}-seed{seed}")


def _read_json(path):
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def write_json(path, payload):
    """Write JSON atomically (a temporary file moved over ``path``)."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(payload, handle, indent=1, sort_keys=True)
    os.replace(tmp, path)


def train_model(out_dir, dataset, name, seed, data, plan, device="cpu", n_jobs=1, log=print):
    """Train a model until its held-out ELBO flattens, or load it when done.

    After every block of ``plan.block_epochs`` epochs the model and its
    record are saved; an unfinished record is continued (``warm_start``).

    Returns
    -------
    model : VAE
    record : dict
        ``epochs``, ``elbo_trace`` (held-out ELBO after each block),
        ``flattened`` (stopped by the ELBO criterion, not the cap),
        ``last_gain`` (relative ELBO gain of the last block), ``seconds``.
    """
    cls, params = MODELS[name]
    arch = dict(DATASETS[dataset])
    if plan.tiny_networks:
        arch = {"channels": (4, 8)[: len(arch["channels"])] + (8,) * (len(arch["channels"]) - 2),
                "hidden_sizes": (16,)}
    base = model_path(out_dir, dataset, name, seed)
    weights, record_file = base + ".pt", base + ".json"
    os.makedirs(os.path.dirname(base), exist_ok=True)
    if os.path.exists(weights) and os.path.exists(record_file):
        record = _read_json(record_file)
        model = cls.load(weights, device=device)
        if record["done"]:
            return model, record
        model.set_params(epochs=plan.block_epochs, warm_start=True, device=device, n_jobs=n_jobs)
    else:
        record = {"epochs": 0, "elbo_trace": [], "done": False, "flattened": False,
                  "last_gain": None, "seconds": 0.0}
        model = cls(
            n_components=plan.latent_dim, architecture="conv", activation="softplus",
            epochs=plan.block_epochs, warm_start=True, device=device, n_jobs=n_jobs,
            random_state=seed, **arch, **params,
        )
    X_train, X_test = data["X_train"], data["X_test"]
    while not record["done"]:
        start = time.perf_counter()
        model.fit(X_train)
        elbo = float(model.score(X_test))
        record["seconds"] += time.perf_counter() - start
        record["epochs"] = len(model.history_)
        trace = record["elbo_trace"] + [elbo]
        record["elbo_trace"] = trace
        if len(trace) >= 2:
            record["last_gain"] = (trace[-1] - trace[-2]) / abs(trace[-2])
        flat = record["last_gain"] is not None and record["last_gain"] < plan.flat_tol
        record["flattened"] = bool(flat and record["epochs"] >= plan.min_epochs)
        record["done"] = record["flattened"] or record["epochs"] >= plan.max_epochs
        model.save(weights)
        write_json(record_file, record)
        log(f"  {dataset} {name} seed {seed}: {record['epochs']} epochs, held-out ELBO "
            f"{elbo:.2f} ({record['seconds']:.0f} s)")
    return model, record
