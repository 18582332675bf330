"""Shao, Kumar & Fletcher (2017), *The Riemannian Geometry of Deep Generative Models*.

On a VAE trained on the embedded digits (2-D latent space):

1. geodesics against straight latent lines (lengths, ratio);
2. parallel translation of a tangent vector along a geodesic (the ODE scheme
   against Shao et al.'s projection scheme; the norm is preserved);
3. analogies A:B :: C:D by parallel transport against latent arithmetic;
4. how flat the learned manifold is: the geodesic/linear length ratio and the
   sectional curvature at the codes.

Run: ``python examples/02_shao2017.py`` (``--fast`` or ``GEOMSTATS_GEN_FAST=1``
for a smoke run).
"""

import os
import sys
import time
import warnings

import numpy as np
import torch

import geomstats_gen as gg
from geomstats_gen.datasets import load_digits
from geomstats_gen.measures import curvature_statistics, geodesic_to_linear_ratio
from geomstats_gen.models import VAE
from geomstats_gen.transport import parallel_transport

FAST = "--fast" in sys.argv or os.environ.get("GEOMSTATS_GEN_FAST", "0") not in ("", "0")
warnings.simplefilter("ignore", gg.ConvergenceWarning)


def main():
    t0 = time.perf_counter()
    torch.set_num_threads(1)  # small networks: one CPU thread is fastest (and on a busy machine)
    X, y = load_digits(return_X_y=True)
    vae = VAE(n_components=2, epochs=3 if FAST else 150, n_jobs=1, random_state=0).fit(X)
    space = vae.manifold_
    if FAST:
        space.metric.exp_solver.n_steps = 20  # RK4 steps of parallel transport (default 100)
    codes = torch.as_tensor(vae.transform(X), dtype=torch.float64)
    print(f"VAE on digits, 2-D latent space, trained in {time.perf_counter() - t0:.1f} s")

    # 1. Geodesics against straight lines between class representatives.
    rng = np.random.default_rng(0)
    n_pairs = 4 if FAST else 24
    idx = rng.choice(len(codes), size=2 * n_pairs, replace=False)
    a, b = codes[idx[:n_pairs]], codes[idx[n_pairs:]]
    ratio = geodesic_to_linear_ratio(space, a, b)
    print(f"\n[1] geodesic vs straight latent line, {n_pairs} random pairs of codes")
    print("    pair  geodesic  straight  ratio")
    for k in range(min(n_pairs, 5)):
        print(f"    {k:4d}  {float(ratio.geodesic_length[k]):8.4f}  "
              f"{float(ratio.linear_length[k]):8.4f}  {float(ratio.ratio[k]):.4f}")
    print(f"    mean ratio {float(ratio.ratio.mean()):.4f}: geodesics are "
          f"{100 * (1 - float(ratio.ratio.mean())):.2f}% shorter on average")

    # 2. Parallel translation along the geodesic from a[0] to b[0].
    vec = torch.tensor([1.0, 0.0], dtype=torch.float64)
    ode = parallel_transport(space, vec, a[0], end_point=b[0], method="ode")
    proj = parallel_transport(space, vec, a[0], end_point=b[0], method="projection")
    n0 = float(space.metric.norm(vec, a[0]))
    print("\n[2] parallel translation of e1 along a geodesic")
    print(f"    |v| at start {n0:.5f}; transported (ODE, RK4) {ode.numpy().round(4)}, norm "
          f"{float(space.metric.norm(ode, b[0])):.5f}; projection scheme "
          f"{proj.numpy().round(4)}, norm {float(space.metric.norm(proj, b[0])):.5f}")
    print(f"    the two schemes differ by {float((ode - proj).norm()):.2e} (first-order "
          "projection vs fourth-order ODE)")

    # 3. Analogies: A:B :: C:D.
    n_an = 2 if FAST else 6
    trip = rng.choice(len(codes), size=(n_an, 3), replace=False)
    za, zb, zc = (codes[trip[:, j]] for j in range(3))
    d_geo = gg.analogy(space, za, zb, zc, method="geodesic")
    d_lin = gg.analogy(space, za, zb, zc, method="linear")
    img_geo, img_lin = space.immersion(d_geo), space.immersion(d_lin)
    print(f"\n[3] analogies A:B :: C:D on {n_an} random triples (classes of A, B, C)")
    for k in range(n_an):
        print(f"    {y[trip[k]].tolist()}: |D_geo - D_lin| latent "
              f"{float((d_geo[k] - d_lin[k]).norm()):.4f}, decoded "
              f"{float((img_geo[k] - img_lin[k]).norm()):.4f}")

    # 4. How flat is the learned manifold?
    sub = codes[rng.choice(len(codes), size=40 if FAST else 300, replace=False)]
    stats = curvature_statistics(space, sub, n_planes=4, random_state=0)
    mag = torch.linalg.det(space.metric.metric_matrix(sub)).sqrt()
    print("\n[4] flatness")
    print(f"    sectional curvature at {len(sub)} codes: mean "
          f"{float(stats['sectional_mean']):.4f}, |K| mean {float(stats['sectional_abs_mean']):.4f}, "
          f"range [{float(stats['sectional_min']):.3f}, {float(stats['sectional_max']):.3f}]")
    print(f"    magnification factor sqrt(det G): {float(mag.min()):.3f} to "
          f"{float(mag.max()):.3f}; curvature radius 1/sqrt(|K|) ~ "
          f"{1 / max(float(stats['sectional_abs_mean']), 1e-12) ** 0.5:.2f} against geodesic "
          f"lengths ~ {float(ratio.geodesic_length.mean()):.2f}")
    print(f"    Shao et al.'s reading: ratio close to 1 => nearly flat; here "
          f"{float(ratio.ratio.mean()):.4f}")
    print(f"\ndone in {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
