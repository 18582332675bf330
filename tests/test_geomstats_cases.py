"""Geomstats' own metric test cases on GeneratedManifold.

The test *methods* are Geomstats 2.8.0's (``PullbackMetricTestCase``, i.e.
``RiemannianMetricTestCase`` + ``ConnectionTestCase`` + the distance and
geodesic mixins); the *data* are ours: Geomstats runs a method only when the
data class has ``<method>_test_data`` (``DataBasedParametrizer``), see
``geomstats_cases_support``. Three decoders:

* ``SphereChart(2)``: spherical coordinates on the sphere of radius 2;
  closed forms for everything (metric, Christoffels, curvature, distance,
  exp, log, geodesics, mean curvature vector);
* ``TorusChart(2, 1)``: closed-form metric, Christoffels, geodesic equation
  and curvature; exp/log only through the identities;
* a smooth random MLP ``2 -> 8 -> 5`` (tanh, float64): identities only.

Random data are drawn in each chart's safe region (``BoxDataGenerator``):
sphere ``theta in [0.7, 2.4]``, ``phi in [-1.2, 1.2]`` (shortest geodesics
stay in the chart); torus the patch ``|u| <= 0.4``, ``|v| <= 0.5`` on the
outer equator (distances < 2.6 < pi, the injectivity radius bound from
the meridians); MLP the square ``[-0.5, 0.5]^2`` (on ``[-1, 1]^2`` the
longest pairs have latent geodesic lengths ~2.4 where RK4(20) is off by
2e-5 and the log's initial velocity by ~1e-6). Tangent vectors have latent
coordinates at most 0.5 (sphere, torus) or 0.4 (MLP) in absolute value.
``trials = 1``: Geomstats' default retries a failed random test three
times with new data.

Solver settings and tolerances
------------------------------
* log (default settings: discrete energy, 16 / 32 nodes, Richardson
  extrapolation, tol 1e-10): lengths are accurate to ~2e-7 over the whole
  sphere region (O(T^-4) extrapolation error, measured), initial
  velocities to ~1e-9 for the short vectors used here. Distance identities
  (symmetry, triangle inequality, ``dist == |log|``) get ``atol = 1e-6``.
* exp: classical RK4 with 20 steps instead of the default adaptive
  Dormand-Prince (``rtol = 1e-10``, ``atol = 1e-11`` for float64 decoders,
  at most ``max_steps = 1000`` accepted steps), which takes several times
  more evaluations of the geodesic field than these tolerances need.
  RK4's global error is O((L / 20)^4): measured <= 6e-7 for latent lengths
  <= 2 on the sphere, ~1e-9 for the short vectors (|v| <= 0.7). Hence
  ``atol = 1e-5`` where exp follows a log between random points (exp after
  log, boundary points, reversed geodesics) and ``1e-6`` for short vectors.
* Metric, Christoffels, curvature: autodiff, exact to rounding (1e-10).

Skipped (data with a skip mark, so they show in the report):
parallel transport (no closed form; ``Connection.parallel_transport`` raises
``NotImplementedError``, only ``ladder_parallel_transport`` exists) and
injectivity radius (not implemented in Geomstats for a general metric).
Not activated at all: covariant derivative of the curvature (Geomstats
raises ``NotImplementedError``), ``diameter``/``normal_basis``/
``hamiltonian`` (no closed form worth checking), and the comparison test
cases against the stock ``PullbackMetric`` (``test_stock_agreement.py``).
"""

import math

import pytest
import torch
from geomstats_cases_support import BoxDataGenerator, drop_inactive_tests, geomstats_marks

import known_geometry as known
from geomstats_gen import GeneratedManifold

# One thread (tiny LAPACK calls: ~12 ms each with two threads on a busy 2-core machine).
pytestmark = pytest.mark.usefixtures("one_torch_thread")

with geomstats_marks():
    from geomstats.test.data import TestData
    from geomstats.test.parametrizers import DataBasedParametrizer
    from geomstats.test_cases.geometry.pullback_metric import PullbackMetricTestCase

F64 = torch.float64
RADIUS = known.SPHERE_RADIUS
MAJOR, MINOR = known.TORUS_RADII

EXACT = known.TOL[F64]["exact"]  # autodiff quantities (metric, Christoffels, curvature)
DIST_ATOL = known.TOL[F64]["dist_abs"]  # log solver: lengths to ~2e-7
EXP_SHORT_ATOL = known.TOL[F64]["exp_short"]  # RK4(20) on |v| <= 0.7: ~1e-9
EXP_LONG_ATOL = known.TOL[F64]["exp_long"]  # RK4(20) on latent lengths <= 2: <= 6e-7

SKIP_TRANSPORT = pytest.mark.skip(
    reason="no parallel transport: DecoderPullbackMetric has no closed form and "
    "Geomstats' Connection.parallel_transport raises NotImplementedError "
    "(only the approximate ladder_parallel_transport exists)"
)
SKIP_INJECTIVITY = pytest.mark.skip(
    reason="injectivity radius: not implemented in Geomstats for a general metric"
)


def _space(decoder):
    space = GeneratedManifold(decoder, 2)
    space.metric.exp_solver.method = "rk4"
    space.metric.exp_solver.n_steps = 20
    return space


def _box(n, low, high, seed):
    gen = torch.Generator().manual_seed(seed)
    low = torch.tensor(low, dtype=F64)
    high = torch.tensor(high, dtype=F64)
    return low + (high - low) * torch.rand(n, len(low), generator=gen, dtype=F64)


# ----------------------------------------------------------------------
# Test data shared by the three decoders: the identities
# ----------------------------------------------------------------------
class GeneratedMetricTestData(TestData):
    """Random-data identities of a Riemannian metric, for any decoder."""

    trials = 1
    N_VEC_REPS = [2]
    N_RANDOM_POINTS = [1, 3]
    N_TIME_POINTS = [3]

    tolerances = {
        "metric_matrix_is_spd": {"atol": EXACT},
        "inner_product_is_symmetric": {"atol": EXACT},
        "normalize_is_unitary": {"atol": EXACT},
        "dist_point_to_itself_is_zero": {"atol": EXACT},
        "dist_is_symmetric": {"atol": DIST_ATOL},
        "dist_is_positive": {"atol": 0.0},
        "squared_dist_is_symmetric": {"atol": DIST_ATOL},
        "dist_triangle_inequality": {"atol": DIST_ATOL},
        "dist_is_log_norm": {"atol": DIST_ATOL},
        "log_after_exp": {"atol": EXP_SHORT_ATOL},
        "exp_after_log": {"atol": EXP_LONG_ATOL},
        "exp_geodesic_ivp": {"atol": EXACT},
        "geodesic_boundary_points": {"atol": EXP_LONG_ATOL},
        "geodesic_bvp_reverse": {"atol": EXP_LONG_ATOL},
        "metric_matrix_vec": {"atol": EXACT},
        "christoffels_vec": {"atol": EXACT},
        "inner_product_vec": {"atol": EXACT},
        "norm_vec": {"atol": EXACT},
        "geodesic_equation_vec": {"atol": EXACT},
        "log_vec": {"atol": DIST_ATOL},
        "dist_vec": {"atol": DIST_ATOL},
        "covariant_riemann_tensor_is_skew_symmetric_1": {"atol": EXACT},
        "covariant_riemann_tensor_is_skew_symmetric_2": {"atol": EXACT},
        "covariant_riemann_tensor_bianchi_identity": {"atol": EXACT},
        "covariant_riemann_tensor_is_interchange_symmetric": {"atol": EXACT},
    }

    def _points(self, *n_points):
        return self.generate_tests([dict(n_points=n) for n in n_points])

    # -- metric tensor and norms (cheap) --------------------------------
    def metric_matrix_is_spd_test_data(self):
        return self._points(1, 5)

    def inner_product_is_symmetric_test_data(self):
        return self._points(1, 5)

    def norm_is_positive_test_data(self):
        return self._points(1, 5)

    def normalize_is_unitary_test_data(self):
        return self._points(1, 5)

    def metric_matrix_vec_test_data(self):
        return self.generate_vec_data()

    def christoffels_vec_test_data(self):
        return self.generate_vec_data()

    def inner_product_vec_test_data(self):
        return self.generate_vec_data()

    def norm_vec_test_data(self):
        return self.generate_vec_data()

    def geodesic_equation_vec_test_data(self):
        return self.generate_vec_data()

    # -- curvature (autodiff of the Christoffel symbols) -----------------
    def covariant_riemann_tensor_is_skew_symmetric_1_test_data(self):
        return self._points(2)

    def covariant_riemann_tensor_is_skew_symmetric_2_test_data(self):
        return self._points(2)

    def covariant_riemann_tensor_bianchi_identity_test_data(self):
        return self._points(2)

    def covariant_riemann_tensor_is_interchange_symmetric_test_data(self):
        return self._points(2)

    # -- distances (log solver) ------------------------------------------
    def dist_point_to_itself_is_zero_test_data(self):
        return self._points(1, 3)

    def dist_is_symmetric_test_data(self):
        return self._points(1, 3)

    def dist_is_positive_test_data(self):
        return self._points(3)

    def squared_dist_is_symmetric_test_data(self):
        return self._points(3)

    def dist_triangle_inequality_test_data(self):
        return self._points(4)

    def dist_is_log_norm_test_data(self):
        return self._points(1, 3)

    def log_is_tangent_test_data(self):
        return self._points(3)

    def log_vec_test_data(self):
        return self.generate_vec_data()

    def dist_vec_test_data(self):
        return self.generate_vec_data()

    # -- exp (geodesic ODE) and geodesics ---------------------------------
    def exp_belongs_test_data(self):
        return self._points(3)

    def log_after_exp_test_data(self):
        return self._points(1, 3)

    def exp_after_log_test_data(self):
        return self._points(1, 3)

    def exp_geodesic_ivp_test_data(self):
        return self._points(3)

    def geodesic_boundary_points_test_data(self):
        return self._points(3)

    def geodesic_bvp_reverse_test_data(self):
        return self.generate_tests([dict(n_points=3, n_times=3)])

    def geodesic_ivp_belongs_test_data(self):
        return self.generate_tests([dict(n_points=2, n_times=3)])

    # -- not applicable ----------------------------------------------------
    def parallel_transport_ivp_norm_test_data(self):
        return self.generate_tests([dict(n_points=1)], marks=SKIP_TRANSPORT)

    def parallel_transport_bvp_norm_test_data(self):
        return self.generate_tests([dict(n_points=1)], marks=SKIP_TRANSPORT)

    def injectivity_radius_test_data(self):
        return self.generate_tests(
            [dict(base_point=None, expected=None)], marks=SKIP_INJECTIVITY
        )


class GeneratedMetricCase(PullbackMetricTestCase):
    """Geomstats' metric test case with our seeded data generator."""

    region = None  # dict(low=..., high=..., vec_scale=...)

    def setup_method(self):
        self.data_generator = BoxDataGenerator(self.space, seed=7, **self.region)

    @pytest.fixture(autouse=True)
    def _seed_global_rng(self):
        # Geomstats draws the random times of the geodesic tests from the
        # global RNG: make them reproducible, and leave the state as it was.
        with torch.random.fork_rng():
            torch.manual_seed(2024)
            yield


# ----------------------------------------------------------------------
# Sphere chart: closed forms
# ----------------------------------------------------------------------
SPHERE_LOW, SPHERE_HIGH = (0.7, -1.2), (2.4, 1.2)


def _sphere_frame(point):
    """Unit position and unit coordinate directions e_theta, e_phi."""
    theta, phi = point[..., 0], point[..., 1]
    st, ct, sp, cp = torch.sin(theta), torch.cos(theta), torch.sin(phi), torch.cos(phi)
    x = torch.stack([st * cp, st * sp, ct], dim=-1)
    e_theta = torch.stack([ct * cp, ct * sp, -st], dim=-1)
    e_phi = torch.stack([-sp, cp, torch.zeros_like(sp)], dim=-1)
    return x, e_theta, e_phi


def _sphere_to_chart(x):
    return torch.stack([torch.acos(x[..., 2].clamp(-1, 1)), torch.atan2(x[..., 1], x[..., 0])], -1)


def sphere_exp(tangent_vec, base_point):
    """Closed-form exp in (theta, phi): a great circle on the unit sphere."""
    x, e_theta, e_phi = _sphere_frame(base_point)
    sin_t = torch.sin(base_point[..., 0])
    u = tangent_vec[..., :1] * e_theta + (tangent_vec[..., 1:] * sin_t[..., None]) * e_phi
    angle = torch.linalg.vector_norm(u, dim=-1, keepdim=True)
    y = torch.cos(angle) * x + torch.sin(angle) * u / angle
    return _sphere_to_chart(y)


def sphere_log(point, base_point):
    """Closed-form log in (theta, phi)."""
    x, e_theta, e_phi = _sphere_frame(base_point)
    y, _, _ = _sphere_frame(point)
    cos = (x * y).sum(-1, keepdim=True).clamp(-1, 1)
    normal = y - cos * x
    w = torch.acos(cos) * normal / torch.linalg.vector_norm(normal, dim=-1, keepdim=True)
    sin_t = torch.sin(base_point[..., 0])
    return torch.stack([(w * e_theta).sum(-1), (w * e_phi).sum(-1) / sin_t], dim=-1)


def sphere_dist(point_a, point_b):
    x, _, _ = _sphere_frame(point_a)
    y, _, _ = _sphere_frame(point_b)
    return RADIUS * torch.acos((x * y).sum(-1).clamp(-1, 1))


def sphere_geodesic(initial_point, end_point, time):
    """Closed-form minimising geodesic (slerp), shape [n_times, 2]."""
    x, _, _ = _sphere_frame(initial_point)
    y, _, _ = _sphere_frame(end_point)
    omega = torch.acos((x * y).sum(-1).clamp(-1, 1))
    t = time[:, None]
    path = (torch.sin((1 - t) * omega) * x + torch.sin(t * omega) * y) / torch.sin(omega)
    return _sphere_to_chart(path)


def sphere_metric(point):
    s2 = torch.sin(point[..., 0]) ** 2
    zero = torch.zeros_like(s2)
    r2 = RADIUS**2
    return torch.stack(
        [torch.stack([r2 + zero, zero], -1), torch.stack([zero, r2 * s2], -1)], -2
    )


def sphere_christoffels(point):
    s, c = torch.sin(point[..., 0]), torch.cos(point[..., 0])
    gamma = torch.zeros(point.shape[:-1] + (2, 2, 2), dtype=point.dtype)
    gamma[..., 0, 1, 1] = -s * c
    gamma[..., 1, 0, 1] = c / s
    gamma[..., 1, 1, 0] = c / s
    return gamma


class SphereChartMetricTestData(GeneratedMetricTestData):
    tolerances = {
        **GeneratedMetricTestData.tolerances,
        "metric_matrix": {"atol": EXACT},
        "cometric_matrix": {"atol": EXACT},
        "inner_product_derivative_matrix": {"atol": EXACT},
        "christoffels": {"atol": EXACT},
        "inner_product": {"atol": EXACT},
        "norm": {"atol": EXACT},
        "normalize": {"atol": EXACT},
        "geodesic_equation": {"atol": EXACT},
        "sectional_curvature": {"atol": EXACT},
        "scalar_curvature": {"atol": EXACT},
        "ricci_tensor": {"atol": EXACT},
        "mean_curvature_vector": {"atol": EXACT},
        "dist": {"atol": DIST_ATOL},
        "squared_dist": {"atol": 10 * DIST_ATOL},
        "log": {"atol": DIST_ATOL},
        "exp": {"atol": EXP_SHORT_ATOL},
        "geodesic": {"atol": EXP_LONG_ATOL},
        "exp_vec": {"atol": EXP_SHORT_ATOL},
        "geodesic_ivp_vec": {"atol": EXP_SHORT_ATOL},
    }

    def _base_points(self):
        return _box(4, SPHERE_LOW, SPHERE_HIGH, seed=31)

    def _vectors(self, n, seed):
        gen = torch.Generator().manual_seed(seed)
        return 0.5 * (2 * torch.rand(n, 2, generator=gen, dtype=F64) - 1)

    def metric_matrix_test_data(self):
        points = self._base_points()
        return self.generate_tests(
            [
                dict(base_point=points, expected=sphere_metric(points)),
                dict(base_point=points[0], expected=sphere_metric(points[0])),
            ]
        )

    def cometric_matrix_test_data(self):
        points = self._base_points()
        return self.generate_tests(
            [dict(base_point=points, expected=torch.linalg.inv(sphere_metric(points)))]
        )

    def inner_product_derivative_matrix_test_data(self):
        points = self._base_points()
        theta = points[..., 0]
        expected = torch.zeros(4, 2, 2, 2, dtype=F64)
        expected[:, 1, 1, 0] = 2 * RADIUS**2 * torch.sin(theta) * torch.cos(theta)
        return self.generate_tests([dict(base_point=points, expected=expected)])

    def christoffels_test_data(self):
        points = self._base_points()
        return self.generate_tests(
            [
                dict(base_point=points, expected=sphere_christoffels(points)),
                dict(base_point=points[1], expected=sphere_christoffels(points[1])),
            ]
        )

    def inner_product_test_data(self):
        points = self._base_points()
        a, b = self._vectors(4, 1), self._vectors(4, 2)
        expected = torch.einsum("...i,...ij,...j->...", a, sphere_metric(points), b)
        return self.generate_tests(
            [
                dict(tangent_vec_a=a, tangent_vec_b=b, base_point=points, expected=expected),
                # one vector at several points, broadcast
                dict(
                    tangent_vec_a=a[0],
                    tangent_vec_b=a[0],
                    base_point=points,
                    expected=torch.einsum("i,nij,j->n", a[0], sphere_metric(points), a[0]),
                ),
            ]
        )

    def norm_test_data(self):
        points = self._base_points()
        v = self._vectors(4, 3)
        expected = torch.einsum("...i,...ij,...j->...", v, sphere_metric(points), v).sqrt()
        return self.generate_tests([dict(vector=v, base_point=points, expected=expected)])

    def normalize_test_data(self):
        points = self._base_points()
        v = self._vectors(4, 4)
        norm = torch.einsum("...i,...ij,...j->...", v, sphere_metric(points), v).sqrt()
        return self.generate_tests(
            [dict(vector=v, base_point=points, expected=v / norm[:, None])]
        )

    def geodesic_equation_test_data(self):
        points = self._base_points()
        vel = self._vectors(4, 5)
        s, c = torch.sin(points[:, 0]), torch.cos(points[:, 0])
        acc = torch.stack(
            [s * c * vel[:, 1] ** 2, -2 * c / s * vel[:, 0] * vel[:, 1]], dim=-1
        )
        return self.generate_tests(
            [
                dict(
                    state=torch.stack([points, vel], dim=-2),
                    expected=torch.stack([vel, acc], dim=-2),
                )
            ]
        )

    def sectional_curvature_test_data(self):
        points = self._base_points()
        a, b = self._vectors(4, 6), self._vectors(4, 7)
        return self.generate_tests(
            [
                dict(
                    tangent_vec_a=a,
                    tangent_vec_b=b,
                    base_point=points,
                    expected=torch.full((4,), 1 / RADIUS**2, dtype=F64),
                )
            ]
        )

    def scalar_curvature_test_data(self):
        points = self._base_points()
        return self.generate_tests(
            [dict(base_point=points, expected=torch.full((4,), 2 / RADIUS**2, dtype=F64))]
        )

    def ricci_tensor_test_data(self):
        points = self._base_points()
        return self.generate_tests(
            [dict(base_point=points, expected=sphere_metric(points) / RADIUS**2)]
        )

    def mean_curvature_vector_test_data(self):
        # Trace of the second fundamental form: -(2 / r) times the unit
        # outward normal, i.e. -2 g(z) / r^2.
        points = self._base_points()
        x, _, _ = _sphere_frame(points)
        return self.generate_tests(
            [dict(base_point=points, expected=-2 * x / RADIUS)]
        )

    def dist_test_data(self):
        a = _box(5, SPHERE_LOW, SPHERE_HIGH, seed=41)
        b = _box(5, SPHERE_LOW, SPHERE_HIGH, seed=42)
        return self.generate_tests(
            [
                dict(point_a=a, point_b=b, expected=sphere_dist(a, b)),
                dict(point_a=a[0], point_b=b[0], expected=sphere_dist(a[0], b[0])),
                # one point against many (broadcast)
                dict(point_a=a[0], point_b=b, expected=sphere_dist(a[0], b)),
            ]
        )

    def squared_dist_test_data(self):
        a = _box(3, SPHERE_LOW, SPHERE_HIGH, seed=43)
        b = _box(3, SPHERE_LOW, SPHERE_HIGH, seed=44)
        return self.generate_tests([dict(point_a=a, point_b=b, expected=sphere_dist(a, b) ** 2)])

    def log_test_data(self):
        base = _box(4, SPHERE_LOW, SPHERE_HIGH, seed=45)
        point = _box(4, SPHERE_LOW, SPHERE_HIGH, seed=46)
        return self.generate_tests(
            [
                dict(point=point, base_point=base, expected=sphere_log(point, base)),
                dict(point=point[2], base_point=base[2], expected=sphere_log(point[2], base[2])),
            ]
        )

    def exp_test_data(self):
        base = self._base_points()
        vec = self._vectors(4, 8)
        return self.generate_tests(
            [
                dict(tangent_vec=vec, base_point=base, expected=sphere_exp(vec, base)),
                dict(tangent_vec=vec[3], base_point=base[3], expected=sphere_exp(vec[3], base[3])),
            ]
        )

    def geodesic_test_data(self):
        # Boundary value problem, checked along the whole great circle.
        start = torch.tensor([1.0, -0.9], dtype=F64)
        end = torch.tensor([2.2, 0.8], dtype=F64)
        time = torch.linspace(0.0, 1.0, 5, dtype=F64)
        return self.generate_tests(
            [
                dict(
                    initial_point=start,
                    end_point=end,
                    time=time,
                    expected=sphere_geodesic(start, end, time),
                )
            ]
        )

    def exp_vec_test_data(self):
        return self.generate_vec_data()

    def geodesic_ivp_vec_test_data(self):
        return self.generate_vec_data_with_time()


with geomstats_marks():  # Geomstats marks inactive tests `ignore`
    @drop_inactive_tests
    class TestSphereChartMetric(GeneratedMetricCase, metaclass=DataBasedParametrizer):
        space = _space(known.sphere(RADIUS))
        region = dict(low=SPHERE_LOW, high=SPHERE_HIGH, vec_scale=0.5)
        testing_data = SphereChartMetricTestData()


# ----------------------------------------------------------------------
# Torus chart: closed-form metric, connection and curvature
# ----------------------------------------------------------------------
TORUS_LOW, TORUS_HIGH = (-0.4, -0.5), (0.4, 0.5)


def torus_metric(point):
    ring = MAJOR + MINOR * torch.cos(point[..., 1])
    zero = torch.zeros_like(ring)
    return torch.stack(
        [torch.stack([ring**2, zero], -1), torch.stack([zero, zero + MINOR**2], -1)], -2
    )


class TorusChartMetricTestData(GeneratedMetricTestData):
    tolerances = {
        **GeneratedMetricTestData.tolerances,
        "metric_matrix": {"atol": EXACT},
        "inner_product_derivative_matrix": {"atol": EXACT},
        "christoffels": {"atol": EXACT},
        "geodesic_equation": {"atol": EXACT},
        "sectional_curvature": {"atol": EXACT},
        "scalar_curvature": {"atol": EXACT},
    }

    def _base_points(self):
        # The whole torus, inner (negative curvature) side included: these
        # are pointwise formulas.
        return _box(5, (-math.pi, -math.pi), (math.pi, math.pi), seed=51)

    def metric_matrix_test_data(self):
        points = self._base_points()
        return self.generate_tests([dict(base_point=points, expected=torus_metric(points))])

    def inner_product_derivative_matrix_test_data(self):
        points = self._base_points()
        v = points[:, 1]
        expected = torch.zeros(5, 2, 2, 2, dtype=F64)
        expected[:, 0, 0, 1] = -2 * MINOR * torch.sin(v) * (MAJOR + MINOR * torch.cos(v))
        return self.generate_tests([dict(base_point=points, expected=expected)])

    def christoffels_test_data(self):
        points = self._base_points()
        v = points[:, 1]
        ring = MAJOR + MINOR * torch.cos(v)
        gamma = torch.zeros(5, 2, 2, 2, dtype=F64)
        gamma[:, 0, 0, 1] = -MINOR * torch.sin(v) / ring
        gamma[:, 0, 1, 0] = -MINOR * torch.sin(v) / ring
        gamma[:, 1, 0, 0] = ring * torch.sin(v) / MINOR
        return self.generate_tests([dict(base_point=points, expected=gamma)])

    def geodesic_equation_test_data(self):
        points = self._base_points()
        gen = torch.Generator().manual_seed(52)
        vel = 2 * torch.rand(5, 2, generator=gen, dtype=F64) - 1
        v = points[:, 1]
        ring = MAJOR + MINOR * torch.cos(v)
        acc = torch.stack(
            [
                2 * MINOR * torch.sin(v) / ring * vel[:, 0] * vel[:, 1],
                -ring * torch.sin(v) / MINOR * vel[:, 0] ** 2,
            ],
            dim=-1,
        )
        return self.generate_tests(
            [
                dict(
                    state=torch.stack([points, vel], dim=-2),
                    expected=torch.stack([vel, acc], dim=-2),
                )
            ]
        )

    def _curvature(self, points):
        v = points[:, 1]
        return torch.cos(v) / (MINOR * (MAJOR + MINOR * torch.cos(v)))

    def sectional_curvature_test_data(self):
        points = self._base_points()
        gen = torch.Generator().manual_seed(53)
        a, b = torch.randn(2, 5, 2, generator=gen, dtype=F64)
        return self.generate_tests(
            [
                dict(
                    tangent_vec_a=a,
                    tangent_vec_b=b,
                    base_point=points,
                    expected=self._curvature(points),
                )
            ]
        )

    def scalar_curvature_test_data(self):
        points = self._base_points()
        return self.generate_tests(
            [dict(base_point=points, expected=2 * self._curvature(points))]
        )


with geomstats_marks():  # Geomstats marks inactive tests `ignore`
    @drop_inactive_tests
    class TestTorusChartMetric(GeneratedMetricCase, metaclass=DataBasedParametrizer):
        space = _space(known.torus((MAJOR, MINOR)))
        region = dict(low=TORUS_LOW, high=TORUS_HIGH, vec_scale=0.5)
        testing_data = TorusChartMetricTestData()


# ----------------------------------------------------------------------
# Smooth random MLP: identities only
# ----------------------------------------------------------------------
class MLPMetricTestData(GeneratedMetricTestData):
    pass


with geomstats_marks():  # Geomstats marks inactive tests `ignore`
    @drop_inactive_tests
    class TestMLPMetric(GeneratedMetricCase, metaclass=DataBasedParametrizer):
        space = _space(known.mlp([2, 8, 5], 0, F64))
        region = dict(low=(-0.5, -0.5), high=(0.5, 0.5), vec_scale=0.4)
        testing_data = MLPMetricTestData()
