"""One registry of decoders with known geometry, shared by the test suites.

The property suite, Geomstats' own metric test cases, the stock-agreement
tests and the closed-form tests take their decoders, closed forms and
tolerances from here (design.md lists the manifolds).
"""

import torch

from geomstats_gen import LinearDecoder, SphereChart, TorusChart, make_mlp

F64, F32 = torch.float64, torch.float32

SPHERE_RADIUS = 2.0
TORUS_RADII = (2.0, 1.0)  # major R, minor r

#: Tolerances by working dtype, by kind of quantity:
#: ``exact``: autodiff quantities (metric, Christoffels, curvature entries);
#: ``sym``: symmetry of solved distances, relative;
#: ``curv``: sectional curvature, absolute;
#: ``dist``: solved distances against closed forms, relative;
#: ``dist_abs``: identities between solved distances, absolute;
#: ``inner``: inner products and metric entries after solves, relative;
#: ``point``: latent points after a solve (coordinates of size about 1);
#: ``exp_short`` / ``exp_long``: exp after log along short / long geodesics.
TOL = {
    F64: dict(exact=1e-10, sym=1e-9, curv=1e-8, dist=1e-5, dist_abs=1e-6, inner=1e-5,
              point=1e-4, exp_short=1e-6, exp_long=1e-5),
    F32: dict(exact=1e-4, sym=2e-4, curv=2e-3, dist=2e-4, dist_abs=2e-4, inner=2e-3,
              point=2e-3, exp_short=2e-3, exp_long=2e-3),
}


class Chart32(SphereChart):
    """The sphere chart computing in float32 (a float32 buffer sets the dtype)."""

    def __init__(self, radius=SPHERE_RADIUS):
        super().__init__(radius)
        self.register_buffer("anchor", torch.zeros(1, dtype=F32))


def sphere(radius=SPHERE_RADIUS, dtype=F64):
    """Spherical coordinates on the sphere of ``radius``: K = 1 / r^2."""
    return SphereChart(radius) if dtype == F64 else Chart32(radius)


def torus(radii=TORUS_RADII):
    """The torus of revolution: K = cos v / (r (R + r cos v))."""
    return TorusChart(*radii)


def mlp(sizes, seed, dtype=F64, first_layer_scale=1.0):
    """A tanh MLP; ``first_layer_scale > 1`` saturates its units (visibly curved)."""
    decoder = make_mlp(sizes, activation="tanh", dtype=dtype, seed=seed)
    if first_layer_scale != 1.0:
        with torch.no_grad():
            decoder[0].weight.mul_(first_layer_scale)
    return decoder


def linear(matrix, offset=None):
    """An affine decoder: flat, straight geodesics, d = |A (z1 - z0)|."""
    return LinearDecoder(matrix, offset)


def sphere_distance(space, a, b, radius=SPHERE_RADIUS):
    """Great-circle distance ``r arccos(<g(a), g(b)> / r^2)`` between latent points."""
    ga, gb = space.immersion(a), space.immersion(b)
    cos = ((ga * gb).sum(-1) / radius**2).clamp(-1, 1)
    return radius * torch.arccos(cos)


def torus_curvature(v, radii=TORUS_RADII):
    """Gaussian curvature of the torus at angle ``v``."""
    major, minor = radii
    return torch.cos(v) / (minor * (major + minor * torch.cos(v)))
