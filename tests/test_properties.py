"""Property-based tests (hypothesis) of the geometry, over several decoders.

Decoders: the sphere chart (radius 2) in float64 and float32, the torus
(R = 2, r = 1), and random tanh MLPs with latent dimensions 1 to 5 in float64
and float32. Properties: exp after log, log after exp (short vectors),
symmetry of the distance, triangle inequality, ``d = ||log||_G``, parallel
transport preserves inner products, sectional curvature symmetric in its
arguments and a function of the plane only, and the invariances of
``design.md`` section 6: an orthogonal map or zero padding of the decoder
output changes nothing; a latent reparametrisation ``z = A w + b`` changes
coordinates (metric ``A^T G A``) but not distances or curvature.

Profiles (registered in ``conftest.py``): each test runs once with the loaded
profile ("ci" by default: 10 examples, derandomized) and once, marked
``slow``, with the "thorough" profile (200 examples). The costly properties
(those integrating the geodesic ODE) use a third of the profile's examples.

Tolerances per working dtype are in ``TOL`` below; exp and transport use RK4
with ``N_STEPS`` steps here (error about 1e-6 on these geodesics; the exp-log
round trip uses the default adaptive exp), the log map its defaults (8, 16 and 32 segments, Richardson extrapolation, rtol 1e-6 or 1e-5).
"""

import dataclasses
import functools
import math
import warnings

import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import known_geometry as known
from geomstats_gen import GeneratedManifold
from geomstats_gen.geometry.exp import GeodesicODEExpSolver
from known_geometry import TOL as KNOWN_TOL
from geomstats_gen import transport

F64, F32 = torch.float64, torch.float32

#: RK4 steps of exp and parallel transport in this suite.
N_STEPS = 16

#: Tolerances by working dtype (the shared table of ``known_geometry``).
TOL = KNOWN_TOL


@dataclasses.dataclass(frozen=True)
class Case:
    name: str
    dim: int
    dtype: torch.dtype
    low: tuple
    high: tuple

    def __repr__(self):
        return self.name


def _box(dim, half):
    return (-half,) * dim, (half,) * dim


def _mlp_case(dim, dtype):
    tag = "f64" if dtype == F64 else "f32"
    return Case(f"mlp{dim}-{tag}", dim, dtype, *_box(dim, 1.2))


SPHERE64 = Case("sphere-f64", 2, F64, (0.7, -1.2), (2.4, 1.2))
SPHERE32 = Case("sphere-f32", 2, F32, (0.7, -1.2), (2.4, 1.2))
TORUS = Case("torus-f64", 2, F64, (-0.8, -0.8), (0.8, 0.8))
MLPS = [_mlp_case(d, dt) for d in range(1, 6) for dt in (F64, F32)]
ALL = [SPHERE64, SPHERE32, TORUS] + MLPS
#: Cases of the properties that solve boundary value problems (a log solve
#: per example).
SOLVES = [SPHERE64, SPHERE32, TORUS] + [
    _mlp_case(1, F64), _mlp_case(2, F32), _mlp_case(3, F64), _mlp_case(4, F32), _mlp_case(5, F64)
]
#: Cases run in CI for the cheap properties; the others are marked slow.
CORE = SOLVES


def cases(selection):
    return [c if c in CORE else pytest.param(c, marks=pytest.mark.slow) for c in selection]


#: Cases of the properties that integrate the geodesic ODE as well.
ODES = [SPHERE64, _mlp_case(2, F32), _mlp_case(5, F64)]


def _base_decoder(case):
    if case.name.startswith("sphere"):
        return known.sphere(2.0, case.dtype)
    if case.name.startswith("torus"):
        return known.torus((2.0, 1.0))
    # A tanh MLP with its first layer scaled by 1.5, so that the tanh units
    # saturate in the box and the geometry is visibly curved (a random MLP
    # with the default scale is nearly flat).
    return known.mlp([case.dim, 16, case.dim + 4], case.dim, case.dtype, first_layer_scale=1.5)


def _configure(space):
    space.metric.exp_solver.method = "rk4"
    space.metric.exp_solver.n_steps = N_STEPS
    return space


@functools.lru_cache(maxsize=None)
def space_of(case):
    """The space of a case, built once per session."""
    return _configure(GeneratedManifold(_base_decoder(case), case.dim))


class _RotatePad(torch.nn.Module):
    """``Q [g(z); 0]``: zero padding then an orthogonal map of the output."""

    def __init__(self, decoder, out_dim, pad, seed):
        super().__init__()
        self.inner = decoder
        self.pad = pad
        size = out_dim + pad
        gen = torch.Generator().manual_seed(seed)
        q, _ = torch.linalg.qr(torch.randn(size, size, dtype=F64, generator=gen))
        self.register_buffer("q", q)

    def forward(self, z):
        out = self.inner(z)
        out = out.reshape(out.shape[0], -1)
        padded = torch.cat([out, out.new_zeros(out.shape[0], self.pad)], dim=-1)
        return padded @ self.q.to(padded.dtype).T


class _Reparam(torch.nn.Module):
    """``g(A w + b)``: a latent reparametrisation."""

    def __init__(self, decoder, matrix, offset):
        super().__init__()
        self.inner = decoder
        self.register_buffer("matrix", matrix)
        self.register_buffer("offset", offset)

    def forward(self, w):
        return self.inner(w @ self.matrix.to(w.dtype).T + self.offset.to(w.dtype))


def reparam_matrix(case, seed):
    """An invertible ``A`` (singular values in [0.6, 1.5]) and an offset ``b``."""
    gen = torch.Generator().manual_seed(seed)
    q1, _ = torch.linalg.qr(torch.randn(case.dim, case.dim, dtype=F64, generator=gen))
    q2, _ = torch.linalg.qr(torch.randn(case.dim, case.dim, dtype=F64, generator=gen))
    scales = 0.6 + 0.9 * torch.rand(case.dim, dtype=F64, generator=gen)
    matrix = q1 @ torch.diag(scales) @ q2
    offset = 0.1 * torch.randn(case.dim, dtype=F64, generator=gen)
    return matrix, offset


@functools.lru_cache(maxsize=None)
def rotated_space(case, pad):
    base = space_of(case)
    decoder = _RotatePad(_base_decoder(case), base.embedding_dim, pad, seed=7)
    if case.dtype == F32:
        decoder = decoder.float()
    return _configure(GeneratedManifold(decoder, case.dim))


def reparam_space(case, seed):
    matrix, offset = reparam_matrix(case, seed)
    decoder = _Reparam(_base_decoder(case), matrix, offset)
    if case.dtype == F32:
        decoder = decoder.float()
    return GeneratedManifold(decoder, case.dim), matrix, offset


# ----------------------------------------------------------------------
# Strategies and the profile switch
# ----------------------------------------------------------------------
def points(case, n):
    """``n`` latent points in the case's box, as a float64 tensor ``[n, d]``."""
    unit = st.floats(0.0, 1.0, allow_nan=False, allow_infinity=False)
    low = torch.tensor(case.low, dtype=F64)
    high = torch.tensor(case.high, dtype=F64)
    return st.lists(unit, min_size=n * case.dim, max_size=n * case.dim).map(
        lambda xs: low + (high - low) * torch.tensor(xs, dtype=F64).reshape(n, case.dim)
    )


def vectors(case, n, scale=1.0):
    """``n`` latent vectors with entries in ``[-scale, scale]``."""
    entry = st.floats(-scale, scale, allow_nan=False, allow_infinity=False)
    return st.lists(entry, min_size=n * case.dim, max_size=n * case.dim).map(
        lambda xs: torch.tensor(xs, dtype=F64).reshape(n, case.dim)
    )


PROFILES = [
    pytest.param(None, id="ci"),
    pytest.param("thorough", id="thorough", marks=pytest.mark.slow),
]


def run(profile, body, costly=False, **strategies):
    """Run ``body`` over examples of ``strategies`` under a hypothesis profile.

    ``profile`` None is the loaded profile (``HYPOTHESIS_PROFILE``, default
    "ci"); costly properties use a third of its examples (at least 3).
    """
    conf = settings() if profile is None else settings.get_profile(profile)
    if costly:
        conf = settings(conf, max_examples=max(3, conf.max_examples // 3))

    def quiet(**kwargs):
        with warnings.catch_warnings():
            # The geometry must be well posed on these decoders: no warning.
            warnings.simplefilter("error")
            warnings.filterwarnings("ignore", category=DeprecationWarning)
            body(**kwargs)

    settings(conf)(given(**strategies)(quiet))()


def well_separated(space, pts, u, v):
    """Whether the planes (u, v) are far from degenerate (the curvature of a
    nearly degenerate plane is ill-conditioned; it is 0 for parallel vectors),
    as the chart sees them: in its dtype (a float64 vector of subnormal size
    is zero in a float32 chart)."""
    dtype = space.chart.work_dtype
    u, v = u.to(dtype), v.to(dtype)
    gram = space.metric.metric_matrix(pts).to(dtype)
    uu = (u[:, None] @ gram @ u[:, :, None]).flatten()
    vv = (v[:, None] @ gram @ v[:, :, None]).flatten()
    uv = (u[:, None] @ gram @ v[:, :, None]).flatten()
    return bool((uu * vv - uv**2 > 1e-2 * uu * vv).all())


def close(actual, expected, atol, rtol=0.0, msg=None):
    torch.testing.assert_close(
        actual, expected, atol=atol, rtol=rtol, check_dtype=False, msg=msg
    )


# ----------------------------------------------------------------------
# Distances: symmetry, triangle inequality, d = ||log||_G
# ----------------------------------------------------------------------
@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("case", SOLVES, ids=repr)
def test_distance_axioms_and_log_norm(case, profile):
    space = space_of(case)
    tol = TOL[case.dtype]

    def body(pts):
        a, b, c = pts[0:1], pts[1:2], pts[2:3]
        # one batched solve: d(a,b), d(b,a), d(b,c), d(a,c)
        starts = torch.cat([a, b, b, a])
        ends = torch.cat([b, a, c, c])
        result = space.metric.connecting_geodesic(ends, starts)
        assert bool(result.converged.all())
        d_ab, d_ba, d_bc, d_ac = result.length.reshape(4, 1)
        scale = 1.0 + d_ab.abs()
        close(d_ab / scale, d_ba / scale, atol=tol["sym"] * 10)
        assert bool((d_ac <= d_ab + d_bc + tol["dist"] * (1 + d_ac)).all())
        assert bool((result.length >= 0).all())
        norms = space.metric.norm(result.log, starts)
        close(norms, result.length, atol=tol["dist"], rtol=tol["dist"])

    run(profile, body, pts=points(case, 3))


# ----------------------------------------------------------------------
# exp after log, log after exp
# ----------------------------------------------------------------------
@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("case", ODES, ids=repr)
def test_exp_log_round_trips(case, profile):
    space = space_of(case)
    tol = TOL[case.dtype]
    # The library's default, error-controlled exp: the suite's RK4 with 16
    # steps is off by 2e-4 on the most curved of these geodesics (a pair at
    # corners of the box of the 5-D MLP, found by the thorough profile).
    exp = GeodesicODEExpSolver(space.metric.chart).exp

    def body(pts, vecs):
        # pairs at most half the box apart: geodesics of length up to about 2
        a, b = pts[:2], 0.5 * (pts[:2] + pts[2:])
        # short tangent vectors: metric norm at most 0.5, so that the
        # geodesic stays in the region where the log is unique
        norms = space.metric.norm(vecs, a)
        assume(bool((norms > 1e-3).all()))
        short = vecs * (0.5 / norms.clamp_min(0.5))[:, None]
        log_ab = space.metric.log(b, a)
        ends = exp(torch.cat([log_ab, short]), torch.cat([a, a]))
        # Where the metric nearly degenerates (saturated tanh units at a
        # corner of the box: singular values 2e-4), a vector of metric norm
        # 0.5 can carry the geodesic far out of the box (to |z| ~ 40), where
        # the log between the two points is ill-posed: not a round trip
        # this property is about.
        low, high = torch.tensor(case.low, dtype=F64), torch.tensor(case.high, dtype=F64)
        margin = high - low
        far = ends[2:].to(F64)
        assume(bool(((far >= low - margin) & (far <= high + margin)).all()))
        close(ends[:2], b, atol=tol["point"], msg="exp(log(b, a), a) != b")
        back = space.metric.log(ends[2:], a)
        close(back, short, atol=tol["point"], msg="log(exp(v, a), a) != v")

    run(profile, body, costly=True, pts=points(case, 4), vecs=vectors(case, 2))


# ----------------------------------------------------------------------
# Parallel transport preserves inner products
# ----------------------------------------------------------------------
@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("case", ODES[:2], ids=repr)
def test_parallel_transport_preserves_inner_products(case, profile):
    space = space_of(case)
    tol = TOL[case.dtype]

    def body(pts, vecs):
        a, b = pts[:1], 0.5 * (pts[:1] + pts[1:])
        u, w = vecs[:1], vecs[1:]
        assume(bool((u.abs().amax() > 1e-3) & (w.abs().amax() > 1e-3)))
        direction = space.metric.log(b, a)
        moved = transport.parallel_transport(
            space, torch.cat([u, w]), a, direction=direction, n_steps=N_STEPS
        )
        end = space.metric.exp(direction, a)
        metric_a = space.metric.metric_matrix(a)[0]
        metric_end = space.metric.metric_matrix(end)[0]
        before = torch.stack([u[0] @ metric_a @ u[0], u[0] @ metric_a @ w[0], w[0] @ metric_a @ w[0]])
        pu, pw = moved
        after = torch.stack([pu @ metric_end @ pu, pu @ metric_end @ pw, pw @ metric_end @ pw])
        # relative to |u| |w| (Cauchy-Schwarz bounds <u, w> by it)
        scale = torch.sqrt(before[0] * before[2])
        norms = torch.stack([before[0], scale, before[2]])
        close(after / norms, before / norms, atol=tol["inner"])

    run(profile, body, costly=True, pts=points(case, 2), vecs=vectors(case, 2))


# ----------------------------------------------------------------------
# Sectional curvature: symmetric, a function of the plane only
# ----------------------------------------------------------------------
@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("case", cases([c for c in ALL if c.dim >= 2]), ids=repr)
def test_sectional_curvature_symmetric_and_plane_invariant(case, profile):
    space = space_of(case)
    tol = TOL[case.dtype]

    def body(pts, vecs, s, t, c):
        u, v = vecs[:2], vecs[2:]
        # another basis of the same plane: (s u, t v + c u)
        u2, v2 = s * u, t * v + c * u
        if case.dtype == F32:  # the planes as the float32 decoder sees them
            u, v, u2, v2 = (x.float().double() for x in (u, v, u2, v2))
        assume(well_separated(space, pts, u, v) and well_separated(space, pts, u2, v2))
        k_uv = space.metric.sectional_curvature(u, v, pts)
        k_vu = space.metric.sectional_curvature(v, u, pts)
        close(k_uv, k_vu, atol=tol["curv"], rtol=tol["curv"])
        k_plane = space.metric.sectional_curvature(u2, v2, pts)
        close(k_plane, k_uv, atol=tol["curv"] * 10, rtol=tol["curv"] * 10)

    nonzero = st.floats(0.2, 3.0) | st.floats(-3.0, -0.2)
    run(
        profile,
        body,
        pts=points(case, 2),
        vecs=vectors(case, 4),
        s=nonzero,
        t=nonzero,
        c=st.floats(-2.0, 2.0),
    )


@pytest.mark.parametrize("case", [c for c in MLPS if c.dim == 1], ids=repr)
def test_latent_dim_one_has_zero_curvature(case):
    """In dimension 1 every plane is degenerate: curvatures are exactly 0."""
    space = space_of(case)
    z = torch.linspace(-1, 1, 5, dtype=F64)[:, None]
    u = torch.ones(5, 1, dtype=F64)
    assert bool((space.metric.sectional_curvature(u, 2 * u, z) == 0).all())
    assert float(space.metric.scalar_curvature(z).abs().max()) < 1e-6
    assert float(space.metric.ricci_tensor(z).abs().max()) < 1e-6
    assert float(space.metric.riemann_tensor(z).abs().max()) < 1e-6


# ----------------------------------------------------------------------
# Invariances (design.md section 6)
# ----------------------------------------------------------------------
@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("case", cases(ALL), ids=repr)
def test_orthogonal_map_and_zero_padding_change_nothing(case, profile):
    space = space_of(case)
    other = rotated_space(case, pad=3)
    assert other.embedding_dim == space.embedding_dim + 3
    tol = TOL[case.dtype]

    def body(pts, vecs):
        u, v = vecs[:2], vecs[2:]
        metric = space.metric.metric_matrix(pts)
        scale = metric.abs().amax()
        close(other.metric.metric_matrix(pts) / scale, metric / scale, atol=tol["exact"])
        if case.dim >= 2 and well_separated(space, pts, u, v):
            close(
                other.metric.sectional_curvature(u, v, pts),
                space.metric.sectional_curvature(u, v, pts),
                atol=tol["curv"] * 10,
            )
        close(other.metric.inner_product(u, v, pts), space.metric.inner_product(u, v, pts),
              atol=tol["exact"] * scale * 10)

    run(profile, body, pts=points(case, 2), vecs=vectors(case, 4))


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("case", cases(ALL), ids=repr)
def test_reparametrisation_pulls_back_metric_and_curvature(case, profile):
    space = space_of(case)
    tol = TOL[case.dtype]

    def body(seed, pts, vecs):
        w_space, matrix, offset = reparam_space(case, seed)
        # latent points w whose images z = A w + b lie in the case's box
        w = torch.linalg.solve(matrix, (pts - offset).T).T
        z = w @ matrix.T + offset
        metric_z = space.metric.metric_matrix(z)
        expected = matrix.T @ metric_z @ matrix
        scale = expected.abs().amax()
        close(w_space.metric.metric_matrix(w) / scale, expected / scale, atol=tol["exact"] * 10)
        u, v = vecs[:2], vecs[2:]
        if case.dim >= 2 and well_separated(w_space, w, u, v):
            close(
                w_space.metric.sectional_curvature(u, v, w),
                space.metric.sectional_curvature(u @ matrix.T, v @ matrix.T, z),
                atol=tol["curv"] * 10,
                rtol=tol["curv"] * 10,
            )

    run(profile, body, seed=st.integers(0, 2**16), pts=points(case, 2), vecs=vectors(case, 4))


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("case", [TORUS, _mlp_case(3, F64), _mlp_case(2, F32)], ids=repr)
def test_distances_are_invariant(case, profile):
    """Same distances after rotating and padding the output, and in the
    coordinates ``w`` of a reparametrisation ``z = A w + b``."""
    space = space_of(case)
    rotated = rotated_space(case, pad=2)
    tol = TOL[case.dtype]

    def body(seed, pts):
        w_space, matrix, offset = reparam_space(case, seed)
        a, b = pts[:2], pts[2:]
        wa = torch.linalg.solve(matrix, (a - offset).T).T
        wb = torch.linalg.solve(matrix, (b - offset).T).T
        dist = space.metric.dist(a, b)
        close(rotated.metric.dist(a, b), dist, atol=tol["dist"], rtol=tol["dist"])
        close(w_space.metric.dist(wa, wb), dist, atol=tol["dist"] * 10, rtol=tol["dist"] * 10)

    run(profile, body, costly=True, seed=st.integers(0, 2**16), pts=points(case, 4))


def test_profiles_are_registered():
    ci = settings.get_profile("ci")
    assert ci.max_examples <= 20 and ci.derandomize and ci.deadline is None
    assert settings.get_profile("thorough").max_examples >= 200
    assert not math.isinf(ci.max_examples)
