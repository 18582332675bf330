"""Command line of geomstats-gen: ``geomstats-gen demo`` (or ``python -m geomstats_gen``)."""

import argparse
import sys
import time


def _demo(args):
    import torch
    from geomstats.learning.frechet_mean import FrechetMean

    from geomstats_gen import GeneratedManifold, SphereChart, make_mlp

    device = torch.device(args.device)
    t_start = time.perf_counter()
    print("geomstats-gen demo: the latent space of a decoder as a Geomstats manifold\n")

    # 1. A known answer first: the sphere of radius 2 in spherical coordinates.
    sphere = GeneratedManifold(SphereChart(2.0), 2)
    a = torch.tensor([0.9, -0.8], dtype=torch.float64)
    b = torch.tensor([2.1, 0.9], dtype=torch.float64)
    ga, gb = sphere.immersion(a), sphere.immersion(b)
    exact = 2.0 * torch.arccos((ga @ gb / 4.0).clamp(-1, 1))
    dist = sphere.metric.dist(a, b)
    print("[1] Sphere chart (radius 2), where the answers are known")
    print(f"    metric matrix at {a.tolist()}: {sphere.metric.metric_matrix(a).tolist()}")
    print(f"    geodesic distance {float(dist):.10f}  closed form {float(exact):.10f}")
    back = sphere.metric.exp(sphere.metric.log(b, a), a)
    print(f"    |exp(log(b)) - b| = {float((back - b).abs().max()):.2e}\n")

    # 2. A smooth random decoder 2 -> 32 -> 64 -> 64 (tanh), float32, on the chosen device.
    decoder = make_mlp([2, 32, 64, 64], activation="tanh", seed=args.seed, device=device)
    space = GeneratedManifold(decoder, 2)
    gen = torch.Generator().manual_seed(args.seed)
    points = 1.5 * torch.randn(10, 2, dtype=torch.float64, generator=gen)
    print(f"[2] Decoder 2 -> 32 -> 64 -> 64 (tanh, float32, {device})")
    g0 = space.metric.metric_matrix(points[0])
    print(f"    metric matrix G(z0) = {[[round(x, 4) for x in row] for row in g0.tolist()]}")
    result = space.metric.connecting_geodesic(points[1], points[0])
    t = torch.linspace(0, 1, 2001, dtype=torch.float64)
    line = points[0] + t[:, None] * (points[1] - points[0])
    decoded = space.immersion(line)
    line_len = (decoded[1:] - decoded[:-1]).norm(dim=-1).sum()
    print(
        f"    geodesic z0 -> z1: length {float(result.length):.5f}, straight latent line "
        f"{float(line_len):.5f} ({100 * (1 - float(result.length / line_len)):.2f}% shorter), "
        f"{int(result.iterations)} solver iterations, converged={bool(result.converged)}"
    )
    path = space.metric.geodesic(points[0], end_point=points[1])(torch.linspace(0, 1, 5))
    print(f"    geodesic at t = 0, 0.25, ..., 1: {[[round(x, 3) for x in p] for p in path.tolist()]}")
    mean = FrechetMean(space)
    mean.fit(points)
    print(f"    Geomstats FrechetMean of 10 codes: {[round(x, 4) for x in mean.estimate_.tolist()]}")
    print(f"    Euclidean mean of the codes:        {[round(x, 4) for x in points.mean(0).tolist()]}")
    print(f"\nDone in {time.perf_counter() - t_start:.1f} s.")
    return 0


def build_parser():
    """The argument parser of the ``geomstats-gen`` command."""
    parser = argparse.ArgumentParser(
        prog="geomstats-gen",
        description="Riemannian geometry of the latent spaces of generative models.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = sub.add_parser(
        "demo",
        help="build manifolds from a known chart and a small decoder; print their "
        "metric, a geodesic and a Geomstats Frechet mean",
    )
    demo.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    demo.add_argument(
        "--device", default="cpu", help="torch device of the decoder, e.g. cpu or cuda"
    )
    demo.set_defaults(func=_demo)
    return parser


def main(argv=None):
    """Entry point of the ``geomstats-gen`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return 2
    if getattr(args, "device", None) is not None:
        import torch

        try:
            device = torch.device(args.device)
        except RuntimeError as err:
            parser.error(f"--device: {err}")
        if device.type == "cuda" and not torch.cuda.is_available():
            parser.error("--device cuda: CUDA is not available on this machine")
    import geomstats_gen  # noqa: F401  (selects Geomstats' pytorch backend)

    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
