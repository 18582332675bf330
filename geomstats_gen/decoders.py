"""Decoders with known geometry, and the reference MLP decoders.

The analytic charts give manifolds whose metric, geodesics, transport and
curvature are known in closed form (each class's docstring gives them); the
test suite checks the library against them, and users can do the same.

All modules act row-wise on batches ``[n, d] -> [n, D]`` and compute in the
dtype and on the device of their input (they have no parameters), except the
MLPs and :class:`LinearDecoder`, which hold weights.

The wrappers whose pullback is the expected metric of a stochastic decoder,
the Fisher-Rao metric or the metric of an ensemble
(:class:`StochasticDecoder`, :class:`FisherRaoDecoder`,
:class:`EnsembleDecoder`) are defined in :mod:`geomstats_gen.augmented` and
importable from here.
"""


import math

import torch
from torch import nn

from geomstats_gen.augmented import (  # noqa: F401  (public from here too)
    EnsembleDecoder,
    FisherRaoDecoder,
    StochasticDecoder,
)
from geomstats_gen.core.checks import as_tensor, check_number

ACTIVATIONS = {
    "tanh": nn.Tanh,
    "elu": nn.ELU,
    "softplus": nn.Softplus,
    "silu": nn.SiLU,
    "sigmoid": nn.Sigmoid,
    "relu": nn.ReLU,
}


def _positive_float(value, name):
    """``float(value)``, checked to be finite and positive."""
    return check_number(value, name)


def _stack_derivatives(value, columns, seconds):
    """``(value [n, D], jac [n, D, 2], hess [n, D, 2, 2])`` from component lists.

    ``columns``: the two first partial derivatives; ``seconds``: the
    second ones ``(d_00, d_01, d_11)``; each a list of ``[n]`` tensors, one
    per output coordinate.
    """
    n_out = len(columns[0])
    jac = torch.stack([c for row in zip(*columns) for c in row], dim=-1)
    d00, d01, d11 = seconds
    hess = torch.stack([c for row in zip(d00, d01, d01, d11) for c in row], dim=-1)
    shape = value.shape[:-1] + (n_out, 2)
    return value, jac.reshape(shape), hess.reshape(shape + (2,))


class LinearDecoder(nn.Module):
    """Affine decoder ``g(z) = A z + c``: a flat manifold.

    Pullback metric ``G = A^T A``, zero Christoffel symbols and curvature,
    straight geodesics, ``d(z0, z1) = ||A (z1 - z0)||``.

    Parameters
    ----------
    matrix : array-like, shape=[D, d]
        The matrix ``A``; needs full column rank for an immersion.
    offset : array-like, shape=[D], optional
        The offset ``c``. Default: zero.
    """

    def __init__(self, matrix, offset=None):
        super().__init__()
        matrix = as_tensor(matrix, "matrix")
        if matrix.ndim != 2:
            raise ValueError(
                f"`matrix` must have shape [D, d], got {tuple(matrix.shape)}."
            )
        if offset is None:
            offset = matrix.new_zeros(matrix.shape[0])
        offset = as_tensor(offset, "offset").to(matrix.dtype)
        if offset.shape != matrix.shape[:1]:
            raise ValueError(
                f"`offset` must have shape [{matrix.shape[0]}], got "
                f"{tuple(offset.shape)}."
            )
        self.register_buffer("matrix", matrix.clone())
        self.register_buffer("offset", offset.clone())

    def forward(self, z):
        """Map ``[n, d]`` latent points to ``[n, D]``."""
        return z @ self.matrix.T + self.offset

    def closed_form_derivatives(self, z):
        """Value ``[n, D]``, Jacobian ``A`` ``[n, D, d]`` and Hessian (None: zero)."""
        return self(z), self.matrix.expand(z.shape[0], -1, -1), None


class SphereChart(nn.Module):
    """Spherical coordinates on the sphere of radius ``r`` in R^3.

    ``g(theta, phi) = r (sin theta cos phi, sin theta sin phi, cos theta)``.
    Metric ``diag(r^2, r^2 sin^2 theta)``, sectional curvature ``1 / r^2``,
    distance ``r arccos(<g(p), g(q)> / r^2)``. An immersion for
    ``0 < theta < pi``.

    Parameters
    ----------
    radius : float
        Radius ``r`` of the sphere.
    """

    def __init__(self, radius=1.0):
        super().__init__()
        self.radius = _positive_float(radius, "radius")

    def _parts(self, z):
        """``r (sin, cos)(theta)``, its products with ``(cos, sin)(phi)``, and the value.

        Shapes ``[n, 2]``, ``[n, 4]`` (``x, y, r cos(theta) cos(phi), r
        cos(theta) sin(phi)``) and ``[n, 3]``. One sine and one cosine for
        both angles; :meth:`forward` and :meth:`closed_form_derivatives`
        share it, so their values agree to the last bit.
        """
        sin, cos = torch.sin(z), torch.cos(z)
        phi = torch.cat([cos[..., 1:], sin[..., 1:]], dim=-1)
        theta = torch.cat([sin[..., :1], cos[..., :1]], dim=-1)
        if self.radius != 1.0:
            # A product with a Python scalar runs Python decompositions under
            # torch.func transforms (torch 2.13): skipped for the unit sphere.
            theta = self.radius * theta
        products = (theta[..., :, None] * phi[..., None, :]).flatten(-2)
        return theta, products, torch.cat([products[..., :2], theta[..., 1:]], dim=-1)

    def forward(self, z):
        """Map ``[n, 2]`` points ``(theta, phi)`` to ``[n, 3]``."""
        return self._parts(z)[2]

    def closed_form_derivatives(self, z):
        """Value ``[n, 3]``, Jacobian ``[n, 3, 2]`` and Hessian ``[n, 3, 2, 2]``."""
        theta, products, value = self._parts(z)
        # Every entry of the Jacobian and the Hessian is one of the six
        # features, or its negative, or zero: one product with a signed
        # selection matrix (exact: one nonzero term per entry).
        features = torch.cat([products, theta], dim=-1)
        both = features @ _sphere_selection(features.dtype, features.device)
        shape = value.shape[:-1] + (3, 2)
        return value, both[..., :6].reshape(shape), both[..., 6:].reshape(shape + (2,))


# Entries of the sphere's derivatives, as (+-1 + feature index) of
# (x, y, r cos(theta) cos(phi), r cos(theta) sin(phi), r sin(theta),
# r cos(theta)), 0 for none. Jacobian rows (d_theta, d_phi) of x, y, z:
# (ct cp, -y), (ct sp, x), (-st, 0). Hessian (00, 01, 10, 11) of x, y, z:
# -g along theta twice, the turned d_theta across, -(x, y, 0) along phi twice.
_SPHERE_ENTRIES = (3, -2, 4, 1, -5, 0) + (-1, -4, -4, -1, -2, 3, 3, -2, -6, 0, 0, 0)
_SPHERE_SELECTIONS = {}


def _sphere_selection(dtype, device):
    """The ``[6, 18]`` matrix of :data:`_SPHERE_ENTRIES`, cached by dtype and device."""
    key = (dtype, device)
    if key not in _SPHERE_SELECTIONS:
        matrix = torch.zeros(6, len(_SPHERE_ENTRIES), dtype=dtype)
        for column, entry in enumerate(_SPHERE_ENTRIES):
            if entry:
                matrix[abs(entry) - 1, column] = math.copysign(1.0, entry)
        _SPHERE_SELECTIONS[key] = matrix.to(device)
    return _SPHERE_SELECTIONS[key]


class TorusChart(nn.Module):
    """Angle coordinates on a torus of revolution in R^3.

    ``g(u, v) = ((R + r cos v) cos u, (R + r cos v) sin u, r sin v)``.
    Metric ``diag((R + r cos v)^2, r^2)``, Gaussian curvature
    ``cos v / (r (R + r cos v))``.

    Parameters
    ----------
    major_radius : float
        ``R``, distance from the centre of the tube to the axis.
    minor_radius : float
        ``r``, radius of the tube; ``r < R``.
    """

    def __init__(self, major_radius=2.0, minor_radius=1.0):
        super().__init__()
        self.major_radius = _positive_float(major_radius, "major_radius")
        self.minor_radius = _positive_float(minor_radius, "minor_radius")
        if self.minor_radius >= self.major_radius:
            raise ValueError(
                f"`minor_radius` must be smaller than `major_radius` (a torus of "
                f"revolution), got {self.minor_radius} >= {self.major_radius}."
            )

    def forward(self, z):
        """Map ``[n, 2]`` points ``(u, v)`` to ``[n, 3]``."""
        u, v = z[..., 0], z[..., 1]
        ring = self.major_radius + self.minor_radius * torch.cos(v)
        return torch.stack(
            [ring * torch.cos(u), ring * torch.sin(u), self.minor_radius * torch.sin(v)],
            dim=-1,
        )

    def closed_form_derivatives(self, z):
        """Value ``[n, 3]``, Jacobian ``[n, 3, 2]`` and Hessian ``[n, 3, 2, 2]``."""
        r = self.minor_radius
        u, v = z[..., 0], z[..., 1]
        su, cu, sv, cv = torch.sin(u), torch.cos(u), torch.sin(v), torch.cos(v)
        ring = self.major_radius + r * cv
        zero = torch.zeros_like(u)
        value = torch.stack([ring * cu, ring * su, r * sv], dim=-1)
        columns = ([-ring * su, ring * cu, zero], [-r * sv * cu, -r * sv * su, r * cv])
        seconds = (
            [-ring * cu, -ring * su, zero],
            [r * sv * su, -r * sv * cu, zero],
            [-r * cv * cu, -r * cv * su, -r * sv],
        )
        return _stack_derivatives(value, columns, seconds)


class RollChart(nn.Module):
    """A flat sheet rolled up along an Archimedean spiral (a Swiss roll).

    ``g(u, v) = (r(u) cos u, r(u) sin u, v)`` with ``r(u) = a + b u`` and
    ``b = gap / (2 pi)``: each turn lies ``gap`` outside the previous one.
    The surface is developable: it unrolls isometrically onto the
    half-plane ``(s(u), v)``, where
    ``s(u) = (b / 2) (x sqrt(1 + x^2) + asinh x)`` with ``x = r(u) / b`` is
    the arc length of the spiral, so distances are Euclidean there
    (:meth:`distance`), geodesics are straight lines of the unrolled sheet
    and the curvature is zero. An immersion for ``r(u) > 0``. With a small
    ``gap`` the layers lie close together, and a discrete path with chords
    longer than the gap can jump between them (a *shortcut*).

    Parameters
    ----------
    inner_radius : float
        ``a = r(0)``.
    gap : float
        Distance between consecutive turns.
    """

    def __init__(self, inner_radius=1.0, gap=0.3):
        super().__init__()
        self.inner_radius = _positive_float(inner_radius, "inner_radius")
        self.gap = _positive_float(gap, "gap")
        self.slope = self.gap / (2 * math.pi)

    def forward(self, z):
        """Map ``[n, 2]`` points ``(u, v)`` to ``[n, 3]``."""
        u, v = z[..., 0], z[..., 1]
        r = self.inner_radius + self.slope * u
        return torch.stack([r * torch.cos(u), r * torch.sin(u), v], dim=-1)

    def closed_form_derivatives(self, z):
        """Value ``[n, 3]``, Jacobian ``[n, 3, 2]`` and Hessian ``[n, 3, 2, 2]``."""
        b = self.slope
        u, v = z[..., 0], z[..., 1]
        r = self.inner_radius + b * u
        su, cu = torch.sin(u), torch.cos(u)
        zero, one = torch.zeros_like(u), torch.ones_like(u)
        value = torch.stack([r * cu, r * su, v], dim=-1)
        columns = ([b * cu - r * su, b * su + r * cu, zero], [zero, zero, one])
        seconds = ([-2 * b * su - r * cu, 2 * b * cu - r * su, zero], [zero] * 3, [zero] * 3)
        return _stack_derivatives(value, columns, seconds)

    def arc_length(self, u):
        """Arc length ``s(u)`` of the spiral, from the point where ``r = 0``."""
        x = (self.inner_radius + self.slope * as_tensor(u, "u")) / self.slope
        return 0.5 * self.slope * (x * torch.sqrt(1 + x * x) + torch.asinh(x))

    def distance(self, point_a, point_b):
        """Exact geodesic distance, ``[..., 2] x [..., 2] -> [...]``."""
        point_a, point_b = as_tensor(point_a, "point_a"), as_tensor(point_b, "point_b")
        ds = self.arc_length(point_b[..., 0]) - self.arc_length(point_a[..., 0])
        return torch.sqrt(ds * ds + (point_b[..., 1] - point_a[..., 1]) ** 2)


class ConeChart(nn.Module):
    """Polar coordinates on a circular cone: a surface with a narrow neck.

    ``g(rho, phi) = rho (sin a cos phi, sin a sin phi, cos a)`` for the
    half-aperture ``a``: the circle at distance ``rho`` from the apex has
    circumference ``2 pi rho sin a``, so a narrow cone (small ``a``) is a
    long narrow neck that closes at the apex. Metric
    ``diag(1, rho^2 sin^2 a)``; the cone is flat (developable). It unrolls
    onto a plane sector where ``(rho, phi)`` become polar coordinates
    ``(rho, phi sin a)``, so the distance is
    ``sqrt(rho_1^2 + rho_2^2 - 2 rho_1 rho_2 cos(|phi_1 - phi_2| sin a))``
    while ``|phi_1 - phi_2| sin a <= pi`` (:meth:`distance`). An immersion
    for ``rho > 0``; the chart is singular at the apex.

    Parameters
    ----------
    half_aperture : float
        ``a`` in radians, in ``(0, pi / 2)``.
    """

    def __init__(self, half_aperture=0.2):
        super().__init__()
        self.half_aperture = _positive_float(half_aperture, "half_aperture")
        if self.half_aperture >= math.pi / 2:
            raise ValueError(
                f"`half_aperture` must be in (0, pi/2), got {self.half_aperture}."
            )
        self._sin, self._cos = math.sin(self.half_aperture), math.cos(self.half_aperture)

    def forward(self, z):
        """Map ``[n, 2]`` points ``(rho, phi)`` to ``[n, 3]``."""
        rho, phi = z[..., 0], z[..., 1]
        ring = self._sin * rho
        return torch.stack([ring * torch.cos(phi), ring * torch.sin(phi), self._cos * rho], dim=-1)

    def closed_form_derivatives(self, z):
        """Value ``[n, 3]``, Jacobian ``[n, 3, 2]`` and Hessian ``[n, 3, 2, 2]``."""
        rho, phi = z[..., 0], z[..., 1]
        sp, cp = torch.sin(phi), torch.cos(phi)
        ring = self._sin * rho
        zero = torch.zeros_like(rho)
        value = torch.stack([ring * cp, ring * sp, self._cos * rho], dim=-1)
        columns = ([self._sin * cp, self._sin * sp, zero + self._cos], [-ring * sp, ring * cp, zero])
        seconds = ([zero] * 3, [-self._sin * sp, self._sin * cp, zero], [-ring * cp, -ring * sp, zero])
        return _stack_derivatives(value, columns, seconds)

    def distance(self, point_a, point_b):
        """Exact geodesic distance, ``[..., 2] x [..., 2] -> [...]`` (see above)."""
        point_a, point_b = as_tensor(point_a, "point_a"), as_tensor(point_b, "point_b")
        r1, r2 = point_a[..., 0], point_b[..., 0]
        angle = (point_b[..., 1] - point_a[..., 1]).abs() * self._sin
        if bool((angle > math.pi).any()):
            raise ValueError("`distance` needs |phi_1 - phi_2| sin(a) <= pi.")
        return torch.sqrt((r1 * r1 + r2 * r2 - 2 * r1 * r2 * torch.cos(angle)).clamp_min(0))


def make_mlp(layer_sizes, activation="tanh", seed=0, dtype=torch.float32, device=None):
    """A multilayer perceptron decoder with a linear output layer.

    ``make_mlp([2, 64, 256, 784])`` is the reference decoder of the
    benchmarks (``2->64->256->784`` tanh, seed 0).

    Parameters
    ----------
    layer_sizes : sequence of int
        ``[d, hidden_1, ..., D]``, at least two sizes.
    activation : str
        One of ``"tanh"``, ``"elu"``, ``"softplus"``, ``"silu"``,
        ``"sigmoid"``, ``"relu"``. Prefer a smooth one: a ReLU network with a
        linear output is piecewise linear and has zero curvature almost
        everywhere.
    seed : int
        Seed of the weight initialisation (a private generator; the global
        random state is left untouched).
    dtype : torch.dtype
        Dtype of the weights.
    device : torch.device or str, optional
        Device of the weights.

    Returns
    -------
    decoder : torch.nn.Sequential
    """
    sizes = [int(s) for s in layer_sizes]
    if len(sizes) < 2 or min(sizes) < 1:
        raise ValueError(
            f"`layer_sizes` must hold at least two positive sizes, got {layer_sizes!r}."
        )
    if activation not in ACTIVATIONS:
        raise ValueError(
            f"`activation` must be one of {sorted(ACTIVATIONS)}, got {activation!r}."
        )
    generator = torch.Generator().manual_seed(int(seed))
    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        linear = nn.Linear(n_in, n_out, dtype=dtype)
        bound = 1.0 / n_in**0.5
        with torch.no_grad():
            linear.weight.copy_(
                (torch.rand(n_out, n_in, generator=generator, dtype=torch.float64) * 2 - 1)
                * bound
            )
            linear.bias.copy_(
                (torch.rand(n_out, generator=generator, dtype=torch.float64) * 2 - 1)
                * bound
            )
        layers.append(linear)
        if i < len(sizes) - 2:
            layers.append(ACTIVATIONS[activation]())
    return nn.Sequential(*layers).to(device=device).eval()
