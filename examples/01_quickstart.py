"""Quickstart: your own torch decoder as a Geomstats manifold.

Any ``torch.nn.Module`` mapping latent codes ``[n, d]`` to outputs ``[n, D]``
becomes a Geomstats manifold with the pullback metric ``G = J^T J``; Geomstats'
own Fréchet mean, tangent PCA and Riemannian k-means then run on it unchanged.

Run: ``python examples/01_quickstart.py`` (``--fast`` or ``GEOMSTATS_GEN_FAST=1``
for a smoke run).
"""

import os
import sys
import time

import numpy as np
import torch

import geomstats_gen as gg  # selects Geomstats' pytorch backend before Geomstats loads
from geomstats.learning.frechet_mean import FrechetMean
from geomstats.learning.kmeans import RiemannianKMeans
from geomstats_gen.learning import TangentPCA

FAST = "--fast" in sys.argv or os.environ.get("GEOMSTATS_GEN_FAST", "0") not in ("", "0")


def main():
    t0 = time.perf_counter()
    torch.set_num_threads(1)  # small networks: one CPU thread is fastest (and on a busy machine)
    torch.manual_seed(0)
    # 1. Your decoder: any torch module R^2 -> R^D (here a smooth MLP, float32).
    decoder = torch.nn.Sequential(
        torch.nn.Linear(2, 32), torch.nn.Tanh(),
        torch.nn.Linear(32, 64), torch.nn.Tanh(),
        torch.nn.Linear(64, 100),
    ).to(torch.float32)
    space = gg.GeneratedManifold(decoder, latent_dim=2)  # a Geomstats ImmersedSet

    # 2. Two clusters of latent codes (Geomstats points: CPU float64).
    gen = torch.Generator().manual_seed(0)
    n = 6 if FAST else 20
    codes = torch.cat([
        torch.tensor([-1.0, 0.5], dtype=torch.float64) + 0.3 * torch.randn(n, 2, generator=gen,
                                                                            dtype=torch.float64),
        torch.tensor([1.0, -0.5], dtype=torch.float64) + 0.3 * torch.randn(n, 2, generator=gen,
                                                                           dtype=torch.float64),
    ])
    print(f"decoder 2 -> 32 -> 64 -> 100 (tanh, float32); {len(codes)} codes in two clusters")
    print("metric matrix G(z0) = J^T J:\n", space.metric.metric_matrix(codes[0]).numpy().round(4))
    print(f"geodesic distance d(z0, z_last) = {float(space.metric.dist(codes[0], codes[-1])):.4f}"
          f"   decoded straight distance |g(z0) - g(z_last)| = "
          f"{float((space.immersion(codes[0]) - space.immersion(codes[-1])).norm()):.4f}")

    # 3. Geomstats' Fréchet mean, unchanged.
    mean = FrechetMean(space).fit(codes).estimate_
    print(f"Fréchet mean {mean.numpy().round(4)}  (Euclidean mean of the codes "
          f"{codes.mean(0).numpy().round(4)})")

    # 4. Tangent PCA at the Fréchet mean.
    # (geomstats_gen's TangentPCA: Geomstats' class, working on torch tensors
    # with scikit-learn >= 1.6)
    tpca = TangentPCA(space, n_components=2).fit(codes)
    ratio = np.asarray(tpca.explained_variance_ratio_)
    print(f"tangent PCA: explained variance ratio {ratio.round(4)}")

    # 5. Riemannian k-means (deterministic start: one code of each cluster).
    kmeans = RiemannianKMeans(space, n_clusters=2, init=codes[[0, -1]].clone(), tol=1e-3)
    kmeans.fit(codes)
    labels = np.asarray(kmeans.labels_)
    truth = np.repeat([0, 1], n)
    agree = max((labels == truth).mean(), (labels != truth).mean())
    print(f"Riemannian k-means: {agree:.0%} of the codes in their generating cluster; "
          f"centres {np.asarray(kmeans.cluster_centers_).round(3).tolist()}")
    print(f"done in {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
