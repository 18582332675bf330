"""Shukla et al. (2019), *Geometry of Deep Generative Models for Disentangled Representations*.

Trains a VAE, a beta-VAE, a beta-TCVAE and a DIP-VAE on the dSprites-like
shapes and on the embedded digits, then compares the geometry of their latent
spaces: curvature (sectional curvature of random planes and of the coordinate
planes at the codes) and class separability under geodesic versus Euclidean
latent distances (:func:`geomstats_gen.learning.compare_models`).

Run: ``python examples/03_shukla2019.py`` (a few minutes on 2 CPU cores;
``--fast`` or ``GEOMSTATS_GEN_FAST=1`` for a smoke run).
"""

import os
import sys
import time
import warnings

import numpy as np
import torch

import geomstats_gen as gg
from geomstats_gen.datasets import load_digits, make_shapes
from geomstats_gen.learning import compare_models
from geomstats_gen.measures import coordinate_plane_curvature, curvature_statistics
from geomstats_gen.models import DIPVAE, VAE, BetaTCVAE, BetaVAE

FAST = "--fast" in sys.argv or os.environ.get("GEOMSTATS_GEN_FAST", "0") not in ("", "0")
warnings.simplefilter("ignore", gg.ConvergenceWarning)
warnings.simplefilter("ignore", UserWarning)

LATENT_DIM = 2 if FAST else 4


def _datasets():
    digits = load_digits()
    shapes = make_shapes(300 if FAST else 2000, image_size=16 if FAST else 32, random_state=0)
    return {
        "digits": (digits.data, digits.target, 2 if FAST else 60),
        "shapes": (shapes.data, shapes.target, 1 if FAST else 20),
    }


def _models(epochs):
    common = dict(n_components=LATENT_DIM, epochs=epochs, n_jobs=1, random_state=0)
    if FAST:
        common["hidden_sizes"] = (32,)
    return {
        "VAE": VAE(**common),
        "beta-VAE (beta=4)": BetaVAE(beta=4.0, **common),
        "beta-TCVAE (beta=6)": BetaTCVAE(beta=6.0, **common),
        "DIP-VAE-I": DIPVAE(lambda_od=10.0, **common),
    }


def main():
    t0 = time.perf_counter()
    torch.set_num_threads(1)  # small networks: one CPU thread is fastest (and on a busy machine)
    n_codes = 30 if FAST else 200
    for name, (X, y, epochs) in _datasets().items():
        print(f"\n=== {name}: {X.shape[0]} images of {X.shape[1]} pixels, latent dimension "
              f"{LATENT_DIM}, {epochs} epochs ===")
        models = _models(epochs)
        for model in models.values():
            model.fit(X)
        rng = np.random.default_rng(0)
        pick = rng.choice(len(X), size=n_codes, replace=False)
        print("curvature at the codes")
        print(f"{'model':22s} {'mean K':>9s} {'|K| mean':>9s} {'min K':>9s} {'max K':>9s} "
              f"{'per-axis |K| (coordinate planes)':>34s}")
        for label, model in models.items():
            codes = torch.as_tensor(model.transform(X[pick]), dtype=torch.float64)
            space = model.manifold_
            stats = curvature_statistics(space, codes, n_planes=4, random_state=0)
            planes = coordinate_plane_curvature(space, codes).abs()
            per_axis = (planes.sum(-1) / max(LATENT_DIM - 1, 1)).mean(0).numpy()
            print(f"{label:22s} {float(stats['sectional_mean']):9.3g} "
                  f"{float(stats['sectional_abs_mean']):9.3g} {float(stats['sectional_min']):9.3g} "
                  f"{float(stats['sectional_max']):9.3g} {np.array2string(per_axis, precision=3):>34s}")
        records = compare_models(models, X, y, method="graph", graph_neighbors=6,
                                 max_samples=n_codes, n_pairs=4 if FAST else 16)
        print("class separability (kNN accuracy / silhouette), geodesic vs Euclidean")
        print(f"{'model':22s} {'kNN geo':>8s} {'kNN euc':>8s} {'sil geo':>8s} {'sil euc':>8s}")
        for rec in records:
            print(f"{rec['model']:22s} {rec['knn_accuracy_geodesic']:8.3f} "
                  f"{rec['knn_accuracy_euclidean']:8.3f} {rec['silhouette_geodesic']:8.3f} "
                  f"{rec['silhouette_euclidean']:8.3f}")
    print(f"\ndone in {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
