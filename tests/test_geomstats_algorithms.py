"""Geomstats' own learning algorithms run unchanged on a GeneratedManifold.

Each algorithm is checked against an exact answer:

* linear decoder ``g(z) = A z + c``: the latent space is flat, geodesics are
  straight lines, so the Frechet mean is the Euclidean mean of the latent
  codes and the tangent vectors at the mean are the centred codes;
* sphere chart of radius ``r``: the decoder is an isometry onto the round
  sphere, so every answer must equal the answer of Geomstats' own
  ``Hypersphere(2)`` on the decoded points divided by ``r`` (distances scale by
  ``r``, which changes neither the minimisers nor the neighbours).

The solvers keep their default settings (log: discrete energy with 16 / 32
nodes and Richardson extrapolation; exp: adaptive Dormand-Prince); only the
stopping tolerances of Geomstats' gradient descents are tightened where a
comparison to ~1e-6 needs it. Latent points stay in the part of the sphere
chart where shortest geodesics do not leave it (``sphere_points``).
"""

import numpy as np
import pytest
import torch
from conftest import F64, sphere_points
from geomstats.geometry.hypersphere import Hypersphere
from geomstats.learning.frechet_mean import FrechetMean
from geomstats.learning.kmeans import RiemannianKMeans
from geomstats.learning.knn import KNearestNeighborsClassifier
from geomstats.learning.mdm import RiemannianMinimumDistanceToMean
from sklearn.decomposition import PCA
from sklearn.utils.extmath import svd_flip

from geomstats_gen import GeneratedManifold, LinearDecoder, SphereChart
from geomstats_gen.learning.pca import TangentPCA, svd_flip_torch

# One thread (tiny LAPACK calls: ~12 ms each with two threads on a busy 2-core machine).
pytestmark = pytest.mark.usefixtures("one_torch_thread")

RADIUS = 2.0

# Gradient descent of FrechetMean stops when the squared metric norm of the
# mean of the logs is below ``epsilon * dim``. 1e-15 puts the tangent mean
# below ~5e-8, far below the 1e-5 the tests ask for; the iteration converges
# linearly with a rate ~ K * spread^2 (a few iterations here).
TIGHT = dict(epsilon=1e-15, max_iter=64)


# ----------------------------------------------------------------------
# Spaces and data
# ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def linear_decoder():
    gen = torch.Generator().manual_seed(11)
    matrix = torch.randn(5, 3, generator=gen, dtype=F64)
    assert torch.linalg.matrix_rank(matrix) == 3
    offset = torch.linspace(-1.0, 1.0, 5, dtype=F64)
    return LinearDecoder(matrix, offset)


@pytest.fixture(scope="module")
def linear(linear_decoder):
    return GeneratedManifold(linear_decoder, 3)


@pytest.fixture(scope="module")
def chart():
    return GeneratedManifold(SphereChart(radius=RADIUS), 2)


@pytest.fixture(scope="module")
def unit_sphere():
    return Hypersphere(dim=2)


def _latent_codes(n, seed, dim=3):
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(n, dim, generator=gen, dtype=F64)


def _cluster(center, spread, n, seed):
    """Latent points of the sphere chart around ``center = (theta, phi)``."""
    gen = torch.Generator().manual_seed(seed)
    noise = (2 * torch.rand(n, 2, generator=gen, dtype=F64) - 1) * spread
    return torch.tensor(center, dtype=F64) + noise


def _on_unit_sphere(chart, latent):
    """Decoded points, scaled onto Geomstats' unit sphere."""
    return chart.immersion(latent) / RADIUS


def _same_partition(labels, truth):
    labels = np.asarray(labels)
    truth = np.asarray(truth)
    return np.array_equal(labels, truth) or np.array_equal(labels, 1 - truth)


# ----------------------------------------------------------------------
# Frechet mean
# ----------------------------------------------------------------------
def test_frechet_mean_linear_is_euclidean_mean(linear):
    points = _latent_codes(12, seed=1)
    estimator = FrechetMean(linear)
    # Our metric is not a Geomstats EuclideanMetric: the generic gradient
    # descent (log, exp, squared_norm) runs, not the closed-form LinearMean.
    assert type(estimator) is FrechetMean
    estimator.fit(points)
    mean = estimator.estimate_
    assert mean.shape == (3,)
    torch.testing.assert_close(mean, points.mean(0), atol=1e-6, rtol=0)


def test_frechet_mean_weighted_linear(linear):
    points = _latent_codes(10, seed=2)
    weights = torch.linspace(0.5, 2.0, 10, dtype=F64)
    estimator = FrechetMean(linear).fit(points, weights=weights)
    expected = (weights[:, None] * points).sum(0) / weights.sum()
    torch.testing.assert_close(estimator.estimate_, expected, atol=1e-6, rtol=0)


def test_frechet_mean_sphere_chart_matches_hypersphere(chart, unit_sphere):
    points = sphere_points(10, seed=4) * 0.5 + torch.tensor([0.8, 0.1], dtype=F64)
    ours = FrechetMean(chart).set(**TIGHT).fit(points).estimate_
    stock = FrechetMean(unit_sphere).set(**TIGHT).fit(_on_unit_sphere(chart, points))
    assert ours.shape == (2,)
    decoded = chart.immersion(ours)
    torch.testing.assert_close(decoded, RADIUS * stock.estimate_, atol=1e-5, rtol=0)
    # and it is a critical point of the variance: the logs average to zero
    logs = chart.metric.log(points, ours)
    assert float(chart.metric.norm(logs.mean(0), ours)) < 1e-6


# ----------------------------------------------------------------------
# K-means
# ----------------------------------------------------------------------
def test_kmeans_two_clusters_on_sphere_chart(chart):
    a = _cluster((1.2, -0.6), 0.15, 8, seed=5)
    b = _cluster((1.9, 0.7), 0.15, 8, seed=6)
    points = torch.cat([a, b])
    truth = np.repeat([0, 1], 8)
    # Deterministic start (Geomstats' 'random' and 'kmeans++' draw from
    # Python's global `random`): one point of each cluster, not its centre.
    init = points[[3, 12]].clone()
    kmeans = RiemannianKMeans(chart, n_clusters=2, init=init, tol=1e-4)
    kmeans.fit(points)
    assert _same_partition(kmeans.labels_, truth)
    # The centres are the Frechet means of the clusters (default FrechetMean
    # tolerance inside k-means: squared norm of the mean log < 2e-4).
    for label, cluster in ((kmeans.labels_[0], a), (kmeans.labels_[-1], b)):
        centre = kmeans.cluster_centers_[int(label)]
        logs = chart.metric.log(cluster, centre)
        assert float(chart.metric.norm(logs.mean(0), centre)) < 2e-2
    predicted = kmeans.predict(points)
    assert _same_partition(predicted, truth)


# ----------------------------------------------------------------------
# Tangent PCA
# ----------------------------------------------------------------------
@pytest.fixture
def tangent_pca_on_torch():
    """Geomstats 2.8.0's TangentPCA passes torch tensors to scikit-learn's
    ``svd_flip``, which scikit-learn >= 1.6 refuses: the tests use
    :class:`geomstats_gen.learning.TangentPCA`, which does not need a patch
    (see test_geomstats_tangent_pca_needs_the_wrapper)."""


def test_geomstats_tangent_pca_needs_the_wrapper(linear):
    """The failure the wrapper fixes, and that the wrapper leaves Geomstats'
    reference to scikit-learn's svd_flip as it found it."""
    import geomstats.learning.pca as gs_pca

    points = _latent_codes(8, seed=3)
    with pytest.raises(TypeError):
        gs_pca.TangentPCA(linear, n_components=2).fit(points)
    before = gs_pca.svd_flip
    ours = TangentPCA(linear, n_components=3).fit(points)
    assert gs_pca.svd_flip is before is svd_flip
    assert np.asarray(ours.explained_variance_ratio_).sum() == pytest.approx(1.0)
    u, v = torch.randn(6, 2, dtype=F64), torch.randn(2, 3, dtype=F64)
    flipped = svd_flip_torch(u, v)
    expected = svd_flip(u.numpy().copy(), v.numpy().copy())
    np.testing.assert_array_equal(flipped[0].numpy(), expected[0])
    np.testing.assert_array_equal(flipped[1].numpy(), expected[1])


def test_tangent_pca_linear_matches_pca_of_latent_codes(linear, tangent_pca_on_torch):
    points = _latent_codes(15, seed=7)
    tpca = TangentPCA(linear, n_components=3)
    tpca.mean_estimator.set(**TIGHT)
    tpca.fit(points)
    pca = PCA(n_components=3).fit(points.numpy())
    np.testing.assert_allclose(
        np.asarray(tpca.explained_variance_), pca.explained_variance_, rtol=1e-6
    )
    torch.testing.assert_close(tpca.base_point_, points.mean(0), atol=1e-6, rtol=0)


def test_tangent_pca_linear_isometric_decoder_matches_pca_of_outputs(tangent_pca_on_torch):
    """With ``A^T A = I`` the latent coordinates are orthonormal, and tangent
    PCA equals PCA of the decoded points ``A z + c``."""
    gen = torch.Generator().manual_seed(12)
    q, _ = torch.linalg.qr(torch.randn(5, 3, generator=gen, dtype=F64))
    space = GeneratedManifold(LinearDecoder(q, torch.ones(5, dtype=F64)), 3)
    points = _latent_codes(15, seed=8)
    tpca = TangentPCA(space, n_components=3)
    tpca.mean_estimator.set(**TIGHT)
    tpca.fit(points)
    decoded = space.immersion(points).numpy()
    pca = PCA(n_components=3).fit(decoded)
    np.testing.assert_allclose(
        np.asarray(tpca.explained_variance_), pca.explained_variance_, rtol=1e-6
    )


@pytest.mark.xfail(
    strict=True,
    raises=AssertionError,
    reason="Geomstats' TangentPCA runs a Euclidean SVD on the coordinates of "
    "the log vectors and ignores the metric; latent coordinates of a general "
    "decoder are not orthonormal (G = A^T A != I), so its explained variance "
    "is that of the latent codes, not of the decoded points A z.",
)
def test_tangent_pca_linear_general_decoder_vs_pca_of_outputs(linear, tangent_pca_on_torch):
    points = _latent_codes(15, seed=7)
    tpca = TangentPCA(linear, n_components=3)
    tpca.mean_estimator.set(**TIGHT)
    tpca.fit(points)
    pca = PCA(n_components=3).fit(linear.immersion(points).numpy())
    np.testing.assert_allclose(
        np.asarray(tpca.explained_variance_), pca.explained_variance_, rtol=1e-6
    )


def test_tangent_pca_sphere_chart_matches_hypersphere(chart, unit_sphere, tangent_pca_on_torch):
    """Data symmetric under theta -> pi - theta: the Frechet mean lies on the
    equator, where ``J / r`` is an isometry of the chart's coordinates onto
    the tangent plane of the unit sphere. The chart's log vectors are then an
    orthonormal-frame image of the unit sphere's, and the two spectra agree
    (the unit sphere's third, normal direction has zero variance)."""
    half = _cluster((1.15, 0.3), 0.35, 6, seed=9)
    mirrored = torch.stack([torch.pi - half[:, 0], half[:, 1]], dim=-1)
    points = torch.cat([half, mirrored])

    ours = TangentPCA(chart, n_components=2)
    ours.mean_estimator.set(**TIGHT)
    ours.fit(points)
    assert abs(float(ours.base_point_[0]) - torch.pi / 2) < 1e-6

    stock = TangentPCA(unit_sphere, n_components=3)
    stock.mean_estimator.set(**TIGHT)
    stock.fit(_on_unit_sphere(chart, points))

    # Tolerance: both means are accurate to ~1e-7 (TIGHT); the variances are
    # smooth in the base point, and our logs are accurate to ~1e-9.
    np.testing.assert_allclose(
        np.asarray(ours.explained_variance_),
        np.asarray(stock.explained_variance_[:2]),
        rtol=1e-5,
        atol=1e-9,
    )
    assert float(stock.explained_variance_[2]) < 1e-10
    torch.testing.assert_close(
        chart.immersion(ours.base_point_) / RADIUS,
        stock.base_point_,
        atol=1e-6,
        rtol=0,
    )


# ----------------------------------------------------------------------
# Classifiers: KNN and minimum distance to mean
# ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def labelled():
    """Two overlapping classes on the sphere chart, and test points."""
    a = _cluster((1.3, -0.4), 0.35, 5, seed=13)
    b = _cluster((1.8, 0.4), 0.35, 5, seed=14)
    train = torch.cat([a, b])
    labels = torch.tensor([0] * 5 + [1] * 5)
    test = _cluster((1.55, 0.0), 0.5, 5, seed=15)
    return train, labels, test


def test_knn_sphere_chart_matches_hypersphere(chart, unit_sphere, labelled):
    train, labels, test = labelled
    ours = KNearestNeighborsClassifier(chart, n_neighbors=3)
    ours.fit(train, labels)
    stock = KNearestNeighborsClassifier(unit_sphere, n_neighbors=3)
    stock.fit(_on_unit_sphere(chart, train), labels)

    # scikit-learn calls the metric once per (test, train) pair: 50 log
    # solves, the slowest part of this module.
    predicted = np.asarray(ours.predict(test))
    expected = np.asarray(stock.predict(_on_unit_sphere(chart, test)))
    np.testing.assert_array_equal(predicted, expected)
    # Same neighbours because every distance is the radius times the unit
    # sphere's (checked in one batched solve).
    rows = test.repeat_interleave(len(train), dim=0)
    cols = train.repeat(len(test), 1)
    dist = chart.metric.dist(rows, cols)
    dist_s = unit_sphere.metric.dist(
        _on_unit_sphere(chart, rows), _on_unit_sphere(chart, cols)
    )
    torch.testing.assert_close(dist, RADIUS * dist_s, atol=1e-6, rtol=0)


def test_mdm_sphere_chart_matches_hypersphere(chart, unit_sphere, labelled):
    train, labels, test = labelled
    ours = RiemannianMinimumDistanceToMean(chart)
    ours.mean_estimator.set(**TIGHT)
    ours.fit(train, labels)
    stock = RiemannianMinimumDistanceToMean(unit_sphere)
    stock.mean_estimator.set(**TIGHT)
    stock.fit(_on_unit_sphere(chart, train), labels)

    torch.testing.assert_close(
        chart.immersion(ours.mean_estimates_) / RADIUS,
        stock.mean_estimates_,
        atol=1e-6,
        rtol=0,
    )
    predicted = np.asarray(ours.predict(test))
    expected = np.asarray(stock.predict(_on_unit_sphere(chart, test)))
    np.testing.assert_array_equal(predicted, expected)
    # Distances to the class means: radius times the unit sphere's.
    np.testing.assert_allclose(
        np.asarray(ours.transform(test)),
        RADIUS * np.asarray(stock.transform(_on_unit_sphere(chart, test))),
        atol=1e-5,
    )
