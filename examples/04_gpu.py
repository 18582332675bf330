"""The same analysis on a GPU: train a VAE on CUDA and write the latent-geometry report.

The decoder lives on the GPU (float32); Geomstats' points stay CPU float64 and
the metric moves them to the decoder's device for the heavy work, so the
whole report (geodesics, curvature, separability) runs there. Without CUDA it
says so and runs on the CPU.

Run: ``python examples/04_gpu.py [--out DIR]`` (``--fast`` or
``GEOMSTATS_GEN_FAST=1`` for a smoke run).
"""

import os
import sys
import time

import torch

import geomstats_gen  # noqa: F401  (selects Geomstats' pytorch backend)
from geomstats_gen.datasets import load_digits
from geomstats_gen.models import VAE
from geomstats_gen.report import write_report

FAST = "--fast" in sys.argv or os.environ.get("GEOMSTATS_GEN_FAST", "0") not in ("", "0")


def main():
    out = sys.argv[sys.argv.index("--out") + 1] if "--out" in sys.argv else "gpu-report"
    if torch.cuda.is_available():
        device = torch.device("cuda")
        print(f"running on {torch.cuda.get_device_name(device)}")
    else:
        device = torch.device("cpu")
        torch.set_num_threads(1)  # small networks: one thread is fastest on a CPU
        print("CUDA is not available: falling back to the CPU (same code, same results)")
    t0 = time.perf_counter()
    data = load_digits()
    vae = VAE(n_components=2, epochs=3 if FAST else 150, n_jobs=1, random_state=0,
              device=device, image_shape=(8, 8)).fit(data.data)
    decoder_device = next(vae.mean_decoder_.parameters()).device
    print(f"VAE trained in {time.perf_counter() - t0:.1f} s; decoder on {decoder_device}")
    # One metric evaluation to show the device policy: CPU float64 in -> CPU float64 out.
    z = torch.zeros(1, 2, dtype=torch.float64)
    G = vae.manifold_.metric.metric_matrix(z)
    print(f"G(0) computed on {decoder_device}, returned as {G.dtype} on {G.device}: "
          f"{G[0].tolist()}")
    settings = dict(n_codes=40, n_pairs=2, n_ratio_pairs=4, n_analogies=2, n_strip=6,
                    grid_size=40, n_planes=2, graph_neighbors=5,
                    analogy_transport="projection") if FAST else {}
    t1 = time.perf_counter()
    summary = write_report(vae, data.data, data.target, out, image_shape=(8, 8),
                           run_info={"dataset": "digits", "device": str(device)}, **settings)
    sep = summary["separability"]
    print(f"report written to {out}/report.html in {time.perf_counter() - t1:.1f} s: "
          f"geodesic/linear ratio {summary['geodesic_to_linear_ratio']['mean']:.4f}, "
          f"mean sectional curvature {summary['curvature']['sectional']['mean']:.3g}, "
          f"kNN accuracy geodesic {sep['knn_accuracy_geodesic']:.3f} / Euclidean "
          f"{sep['knn_accuracy_euclidean']:.3f}")


if __name__ == "__main__":
    main()
