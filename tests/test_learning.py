"""geomstats_gen.learning: batched geodesic distances, estimators, measures.

Known answers: a linear decoder ``g(z) = A z + c`` (distances
``||A (x - y)||``, so every estimator must agree with its Euclidean
scikit-learn counterpart on the data ``x A^T``), the sphere chart of radius 2
(``d = r arccos(<g(p), g(q)> / r^2)``, Gaussian curvature ``1 / r^2``) and
the torus.
"""

import math
import warnings

import geomstats_gen  # noqa: F401  (selects the pytorch backend first)
import numpy as np
import pytest
import torch
from conftest import sphere_points
from sklearn.base import clone
from sklearn.cluster import DBSCAN, KMeans, SpectralClustering
from sklearn.linear_model import LogisticRegression
from sklearn.manifold import MDS, Isomap
from sklearn.metrics import adjusted_rand_score
from sklearn.model_selection import GridSearchCV
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from geomstats_gen import GeneratedManifold, LinearDecoder, TorusChart
from geomstats_gen.learning import (
    GeodesicDistanceTransformer,
    GeodesicKMedoids,
    GeodesicKNeighborsClassifier,
    LatentLogMap,
    class_separability,
    compare_models,
    interpolation_smoothness,
    pairwise_geodesic_distances,
    separating_direction_curvature,
)

F64 = torch.float64


def euclidean(a, b):
    return np.linalg.norm(a[:, None, :] - b[None, :, :], axis=-1)


def sphere_distances(space, p, q, radius=2.0):
    gp, gq = space.immersion(torch.as_tensor(p)), space.immersion(torch.as_tensor(q))
    cos = (gp @ gq.T / radius**2).clamp(-1, 1)
    return (radius * torch.arccos(cos)).numpy()


def cap_points(n, angle=0.9, seed=0):
    """Chart coordinates of points uniform on a spherical cap of the given
    angular radius around (1, 0, 0) (a geodesically convex region)."""
    gen = torch.Generator().manual_seed(seed)
    cos = 1 - torch.rand(n, generator=gen, dtype=F64) * (1 - math.cos(angle))
    psi = 2 * math.pi * torch.rand(n, generator=gen, dtype=F64)
    sin = torch.sqrt(1 - cos**2)
    x, y, z = cos, sin * torch.cos(psi), sin * torch.sin(psi)
    return torch.stack([torch.arccos(z), torch.atan2(y, x)], dim=-1)


@pytest.fixture
def linear_space(linear_space):
    """The linear decoder with the coarsest log solver: its geodesics are
    straight, so 2 segments without extrapolation are already exact."""
    linear_space.metric.log_solver.n_nodes = 2
    linear_space.metric.log_solver.extrapolate = False
    return linear_space


@pytest.fixture
def blobs():
    """Three well separated 3-D blobs, 20 points each, with labels."""
    rng = np.random.default_rng(0)
    centers = np.array([[2.0, 0.0, 0.0], [-2.0, 1.0, 0.0], [0.0, -2.0, 2.0]])
    X = np.concatenate([c + 0.4 * rng.normal(size=(20, 3)) for c in centers])
    y = np.repeat(np.arange(3), 20)
    return X, y


# ----------------------------------------------------------------------
# pairwise_geodesic_distances
# ----------------------------------------------------------------------
def test_linear_distances_equal_norm_of_mapped_difference(linear_space, linear_matrix, blobs):
    X, _ = blobs
    A = linear_matrix.numpy()
    dist = pairwise_geodesic_distances(linear_space, X)
    assert isinstance(dist, np.ndarray) and dist.shape == (60, 60)
    np.testing.assert_allclose(dist, euclidean(X @ A.T, X @ A.T), atol=1e-9)
    assert np.array_equal(dist, dist.T) and np.all(np.diag(dist) == 0)
    cross = pairwise_geodesic_distances(linear_space, X[:7], X[7:20])
    np.testing.assert_allclose(cross, euclidean(X[:7] @ A.T, X[7:20] @ A.T), atol=1e-9)


def test_torch_in_torch_out(linear_space, blobs):
    X = torch.as_tensor(blobs[0][:10], dtype=torch.float32)
    dist = pairwise_geodesic_distances(linear_space, X)
    assert isinstance(dist, torch.Tensor) and dist.dtype == torch.float32
    assert dist.shape == (10, 10)


def test_sphere_distance_matrix_matches_closed_form(sphere_space):
    points = sphere_points(25, seed=1)
    dist = pairwise_geodesic_distances(sphere_space, points.numpy())
    np.testing.assert_allclose(
        dist, sphere_distances(sphere_space, points, points) * (1 - np.eye(25)), atol=1e-6
    )


def test_graph_method_error_bound(sphere_space):
    """Graph distances (kNN graph, k=20, exact edge lengths) on 150 codes
    uniform on a cap of angular radius 0.9 of the sphere of radius 2.

    Stated bound, measured with seeds 0 and 1: relative error median <= 1 %,
    95th percentile <= 6 %, max <= 40 %; never below the exact distance
    (a graph path is a curve). Refinement makes it exact."""
    points = cap_points(150, seed=0)
    exact = sphere_distances(sphere_space, points, points)
    graph = pairwise_geodesic_distances(sphere_space, points, method="graph", n_neighbors=20)
    iu = np.triu_indices(150, 1)
    rel = (graph.numpy()[iu] - exact[iu]) / exact[iu]
    assert rel.min() > -1e-6
    assert np.median(rel) < 0.01
    assert np.percentile(rel, 95) < 0.06
    assert rel.max() < 0.4
    # with Y: graph on the union, refine keeps the shorter (exact) length
    refined = pairwise_geodesic_distances(
        sphere_space, points[:5], points[100:110], method="graph", n_neighbors=20, refine=True
    )
    np.testing.assert_allclose(refined.numpy(), exact[:5, 100:110], rtol=1e-6)


def test_graph_method_handles_disconnected_codes(linear_space, linear_matrix):
    """Two far clusters: the kNN graph is joined by an extra edge; on a
    linear decoder every graph distance is at least the exact one."""
    rng = np.random.default_rng(1)
    X = np.concatenate([rng.normal(size=(15, 3)), 50 + rng.normal(size=(15, 3))])
    A = linear_matrix.numpy()
    graph = pairwise_geodesic_distances(linear_space, X, method="graph", n_neighbors=3)
    exact = euclidean(X @ A.T, X @ A.T)
    assert np.isfinite(graph).all()
    assert np.all(graph >= exact - 1e-9)
    assert np.max(graph / np.where(exact > 0, exact, 1)) < 3


@pytest.mark.parametrize(
    "kwargs, error",
    [
        (dict(method="fast"), ValueError),
        (dict(chunk_size=0), ValueError),
        (dict(progress="yes"), TypeError),
        (dict(method="graph", n_neighbors=0), ValueError),
    ],
)
def test_distance_argument_errors(linear_space, kwargs, error):
    with pytest.raises(error):
        pairwise_geodesic_distances(linear_space, np.zeros((3, 3)), **kwargs)


def test_distance_input_errors(linear_space):
    with pytest.raises(ValueError, match="X"):
        pairwise_geodesic_distances(linear_space, np.zeros((3, 2)))
    with pytest.raises(TypeError, match="space"):
        pairwise_geodesic_distances("sphere", np.zeros((3, 3)))


# ----------------------------------------------------------------------
# Estimators against their Euclidean counterparts (linear decoder)
# ----------------------------------------------------------------------
def test_knn_classifier_agrees_with_sklearn(linear_space, linear_matrix, blobs):
    X, y = blobs
    rng = np.random.default_rng(3)
    X = X + 1.5 * rng.normal(size=X.shape)  # overlapping classes: votes matter
    A = linear_matrix.numpy()
    train, test = np.arange(0, 60, 2), np.arange(1, 60, 2)
    for weights in ("uniform", "distance"):
        ours = GeodesicKNeighborsClassifier(linear_space, n_neighbors=5, weights=weights)
        ours.fit(X[train], y[train])
        ref = KNeighborsClassifier(n_neighbors=5, weights=weights).fit(X[train] @ A.T, y[train])
        np.testing.assert_array_equal(ours.predict(X[test]), ref.predict(X[test] @ A.T))
        np.testing.assert_allclose(
            ours.predict_proba(X[test]), ref.predict_proba(X[test] @ A.T), atol=1e-9
        )
    dist, ind = ours.kneighbors(X[test], n_neighbors=3)
    ref_dist, ref_ind = ref.kneighbors(X[test] @ A.T, n_neighbors=3)
    np.testing.assert_array_equal(ind, ref_ind)
    np.testing.assert_allclose(dist, ref_dist, atol=1e-9)


def test_latent_log_map_linear_is_whitened_translation(linear_space, linear_matrix, blobs):
    X, _ = blobs
    A = linear_matrix.numpy()
    logmap = LatentLogMap(linear_space).fit(X)
    np.testing.assert_allclose(logmap.mean_, X.mean(0), atol=1e-12)
    L = logmap.frame_
    np.testing.assert_allclose(L @ L.T, A.T @ A, atol=1e-12)
    coords = logmap.transform(X)
    np.testing.assert_allclose(coords, (X - X.mean(0)) @ L, atol=1e-9)
    # the Euclidean counterpart: centring (scikit-learn), then the frame
    centred = StandardScaler(with_std=False).fit_transform(X)
    np.testing.assert_allclose(coords, centred @ L, atol=1e-9)
    # Euclidean norms of the coordinates = distances to the mean
    np.testing.assert_allclose(
        np.linalg.norm(coords, axis=1), np.linalg.norm((X - X.mean(0)) @ A.T, axis=1), atol=1e-9
    )
    np.testing.assert_allclose(logmap.inverse_transform(coords), X, atol=1e-9)


def test_latent_log_map_sphere_norms_are_distances_to_mean(sphere_space):
    points = sphere_points(12, seed=2).numpy()
    logmap = LatentLogMap(sphere_space).fit(points)
    coords = logmap.transform(points)
    mean = logmap.mean_[None]
    expected = sphere_distances(sphere_space, points, mean)[:, 0]
    np.testing.assert_allclose(np.linalg.norm(coords, axis=1), expected, atol=1e-6)
    np.testing.assert_allclose(logmap.inverse_transform(coords), points, atol=1e-6)
    # the Fréchet mean is stationary: the mean log vector vanishes
    np.testing.assert_allclose(coords.mean(0), 0.0, atol=1e-6)


def test_kmedoids_agrees_with_kmeans_partition(linear_space, linear_matrix, blobs):
    X, y = blobs
    A = linear_matrix.numpy()
    km = GeodesicKMedoids(linear_space, n_clusters=3, n_init=3, random_state=0).fit(X)
    ref = KMeans(n_clusters=3, n_init=3, random_state=0).fit(X @ A.T)
    assert adjusted_rand_score(km.labels_, ref.labels_) == 1.0
    assert adjusted_rand_score(km.labels_, y) == 1.0
    medoids = X[km.medoid_indices_]
    np.testing.assert_array_equal(km.cluster_centers_, medoids)
    expected_inertia = euclidean(X @ A.T, medoids @ A.T).min(axis=1).sum()
    assert km.inertia_ == pytest.approx(expected_inertia, rel=1e-9)
    # each medoid minimises the summed distance within its cluster
    D = euclidean(X @ A.T, X @ A.T)
    for k, index in enumerate(km.medoid_indices_):
        members = np.flatnonzero(km.labels_ == k)
        assert D[index, members].sum() == pytest.approx(D[np.ix_(members, members)].sum(1).min())
    np.testing.assert_array_equal(km.predict(X), km.labels_)
    np.testing.assert_allclose(
        km.transform(X[:4]), euclidean(X[:4] @ A.T, medoids @ A.T), atol=1e-9
    )


def test_kmedoids_is_pipeline_safe(linear_space, blobs):
    X, y = blobs
    pipe = Pipeline(
        [("km", GeodesicKMedoids(linear_space, n_clusters=3, random_state=0)),
         ("clf", LogisticRegression())]
    )
    assert pipe.fit(X, y).score(X, y) == 1.0


def test_distance_transformer_feeds_precomputed_estimators(linear_space, linear_matrix, blobs):
    X, y = blobs
    A = linear_matrix.numpy()
    XA = X @ A.T
    D = GeodesicDistanceTransformer(linear_space).fit_transform(X)
    np.testing.assert_allclose(D, euclidean(XA, XA), atol=1e-9)
    # DBSCAN
    labels = DBSCAN(eps=1.5, min_samples=4, metric="precomputed").fit_predict(D)
    np.testing.assert_array_equal(labels, DBSCAN(eps=1.5, min_samples=4).fit_predict(XA))
    # Isomap: same embedding up to the sign of each axis
    emb = Isomap(n_neighbors=25, n_components=2, metric="precomputed").fit_transform(D)
    ref = Isomap(n_neighbors=25, n_components=2).fit_transform(XA)
    np.testing.assert_allclose(np.abs(emb), np.abs(ref), atol=1e-6)
    # MDS: embedding distances reproduce the geodesic ones
    mds = MDS(n_components=3, metric="precomputed", random_state=0, n_init=1,
              max_iter=300, init="random")
    emb = mds.fit_transform(D)
    assert np.corrcoef(euclidean(emb, emb).ravel(), D.ravel())[0, 1] > 0.99
    # SpectralClustering on a Gaussian affinity of the distances
    affinity = np.exp(-(D**2) / (2 * np.median(D) ** 2))
    spec = SpectralClustering(n_clusters=3, affinity="precomputed", random_state=0)
    assert adjusted_rand_score(spec.fit_predict(affinity), y) == 1.0


def test_distance_transformer_in_pipeline_and_grid_search(linear_space, linear_matrix, blobs):
    X, y = blobs
    A = linear_matrix.numpy()
    train, test = np.arange(0, 60, 2), np.arange(1, 60, 2)
    pipe = Pipeline(
        [("d", GeodesicDistanceTransformer(linear_space)),
         ("knn", KNeighborsClassifier(n_neighbors=3, metric="precomputed"))]
    )
    pred = pipe.fit(X[train], y[train]).predict(X[test])
    ref = KNeighborsClassifier(n_neighbors=3).fit(X[train] @ A.T, y[train])
    np.testing.assert_array_equal(pred, ref.predict(X[test] @ A.T))
    search = GridSearchCV(pipe, {"knn__n_neighbors": [1, 3]}, cv=3).fit(X, y)
    assert search.best_score_ == 1.0


def test_estimators_clone_and_leave_space_unchanged(linear_space, blobs):
    X, y = blobs
    weights = [p.detach().clone() for p in linear_space.decoder.parameters()]
    weights += [b.detach().clone() for b in linear_space.decoder.buffers()]
    for est in (
        LatentLogMap(linear_space),
        GeodesicKNeighborsClassifier(linear_space),
        GeodesicKMedoids(linear_space, n_clusters=3, random_state=0),
        GeodesicDistanceTransformer(linear_space),
    ):
        twin = clone(est)
        assert twin.get_params()["space"] is not None
        est.fit(X, y)
    after = [p for p in linear_space.decoder.parameters()]
    after += [b for b in linear_space.decoder.buffers()]
    assert all(torch.equal(a, b) for a, b in zip(weights, after))


def test_fit_leaves_space_unchanged(linear_space, blobs):
    """What check_estimators_overwrite_params would check, without hashing."""
    before = {k: v.clone() for k, v in linear_space.decoder.state_dict().items()}
    GeodesicKMedoids(linear_space, n_clusters=3, random_state=0).fit(blobs[0])
    after = linear_space.decoder.state_dict()
    assert before.keys() == after.keys()
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_estimator_errors(linear_space, blobs):
    X, y = blobs
    with pytest.raises(TypeError, match="space"):
        LatentLogMap("not a space").fit(X)
    with pytest.raises(ValueError, match="3 features"):
        GeodesicKMedoids(linear_space, n_clusters=2).fit(X[:, :2])
    with pytest.raises(ValueError, match="n_clusters"):
        GeodesicKMedoids(linear_space, n_clusters=100).fit(X)
    with pytest.raises(ValueError, match="weights"):
        GeodesicKNeighborsClassifier(linear_space, weights="gauss").fit(X, y)
    with pytest.raises(ValueError, match="not fitted"):
        from geomstats_gen.models import VAE

        LatentLogMap(VAE()).fit(X)


# ----------------------------------------------------------------------
# Shukla et al.'s measures
# ----------------------------------------------------------------------
def test_class_separability_isometry_gives_equal_scores(blobs):
    """A linear decoder with orthogonal columns (scaled) is an isometry up to
    scale: geodesic and Euclidean scores coincide."""
    X, y = blobs
    q, _ = torch.linalg.qr(torch.randn(6, 3, generator=torch.Generator().manual_seed(0),
                                       dtype=F64))
    space = GeneratedManifold(LinearDecoder(3.0 * q), 3)
    scores = class_separability(space, X, y, n_neighbors=3, cv=3)
    assert set(scores) == {
        "knn_accuracy_geodesic", "knn_accuracy_euclidean",
        "silhouette_geodesic", "silhouette_euclidean",
    }
    assert scores["knn_accuracy_geodesic"] == scores["knn_accuracy_euclidean"] == 1.0
    assert scores["silhouette_geodesic"] == pytest.approx(scores["silhouette_euclidean"], abs=1e-9)
    assert scores["silhouette_geodesic"] > 0.5


def test_class_separability_uses_given_distances(linear_space, blobs):
    X, y = blobs
    D = pairwise_geodesic_distances(linear_space, X)
    a = class_separability(linear_space, X, y, distances=D)
    b = class_separability(linear_space, X, y)
    assert a == b
    with pytest.raises(ValueError, match="labels"):
        class_separability(linear_space, X, y[:-1])
    with pytest.raises(ValueError, match="distances"):
        class_separability(linear_space, X, y, distances=D[:-1])


def test_interpolation_smoothness_known_answers(linear_space, sphere_space, blobs):
    flat = interpolation_smoothness(linear_space, blobs[0], n_pairs=6)
    assert flat["step_cv_geodesic"] < 1e-9 and flat["step_cv_linear"] < 1e-9
    assert flat["length_ratio"] == pytest.approx(1.0, abs=1e-9)
    sphere = interpolation_smoothness(sphere_space, sphere_points(20), n_pairs=10)
    # discrete geodesics decode to equal steps; chart lines do not
    assert sphere["step_cv_geodesic"] < 1e-6
    assert sphere["step_cv_linear"] > 0.005
    assert sphere["length_ratio"] > 1.0


def test_separating_direction_curvature_known_answers(sphere_space, torus_space, linear_space,
                                                      blobs):
    points = sphere_points(30)
    labels = (points[:, 0] > 1.5).long()
    sphere = separating_direction_curvature(sphere_space, points, labels)
    assert sphere["curvature_mean"] == pytest.approx(0.25, abs=1e-8)
    assert sphere["curvature_median"] == pytest.approx(0.25, abs=1e-8)
    gen = torch.Generator().manual_seed(0)
    torus_pts = (2 * torch.rand(30, 2, generator=gen, dtype=F64) - 1) * 3
    torus = separating_direction_curvature(torus_space, torus_pts, labels)
    v = torus_pts[:, 1]
    gauss = torch.cos(v) / (1.0 * (2.0 + torch.cos(v)))
    assert torus["curvature_mean"] == pytest.approx(float(gauss.mean()), abs=1e-8)
    assert torus["curvature_abs_mean"] == pytest.approx(float(gauss.abs().mean()), abs=1e-8)
    flat = separating_direction_curvature(linear_space, *blobs)
    assert flat["curvature_abs_mean"] == pytest.approx(0.0, abs=1e-9)


def test_compare_models_records(linear_space, sphere_space, blobs):
    X, y = blobs
    torus = GeneratedManifold(TorusChart(2.0, 1.0), 2)
    records = compare_models(
        {"linear": linear_space}, X, y, n_neighbors=3, cv=3, n_pairs=4
    )
    assert [r["model"] for r in records] == ["linear"]
    rec = records[0]
    assert rec["knn_accuracy_geodesic"] == 1.0 and rec["latent_dim"] == 3
    assert rec["curvature_abs_mean"] == pytest.approx(0.0, abs=1e-9)
    points = sphere_points(30).numpy()
    labels = (points[:, 0] > 1.5).astype(int)
    two = compare_models([sphere_space, torus], points, labels, method="graph", n_pairs=4, cv=3)
    assert [r["model"] for r in two] == ["GeneratedManifold", "GeneratedManifold_2"]
    assert two[0]["curvature_mean"] == pytest.approx(0.25, abs=1e-8)
    with pytest.raises(TypeError, match="models"):
        compare_models(linear_space, X, y)


# ----------------------------------------------------------------------
# A trained VAE on the digits
# ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def digits_vae():
    from geomstats_gen.datasets import load_digits
    from geomstats_gen.models import VAE

    X, y = load_digits(n_class=5, return_X_y=True)
    vae = VAE(n_components=2, epochs=20, random_state=0).fit(X)
    return vae, X, y


def test_pipeline_latent_log_map_on_digits(digits_vae):
    vae, X, y = digits_vae
    idx = np.random.default_rng(0).permutation(len(X))
    train, test = idx[:150], idx[150:250]
    pipe = Pipeline([("geo", LatentLogMap(vae)), ("clf", LogisticRegression())])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence notes of a few far solves
        score = pipe.fit(X[train], y[train]).score(X[test], y[test])
    assert score > 0.5  # 5 classes: chance is 0.2
    decoded = pipe[0].inverse_transform(pipe[0].transform(X[test[:3]]))
    assert decoded.shape == (3, 64)


def test_compare_models_on_vae(digits_vae):
    vae, X, y = digits_vae
    records = compare_models({"vae": vae}, X, y, method="graph", max_samples=60, n_pairs=4,
                             cv=3)
    rec = records[0]
    assert rec["model"] == "vae" and rec["n_samples"] == 60
    for key, value in rec.items():
        if key != "model":
            assert np.isfinite(value), key
    assert 0 <= rec["knn_accuracy_geodesic"] <= 1
    assert rec["step_cv_geodesic"] < rec["step_cv_linear"]


def test_model_selection_with_a_fitted_model_as_space(digits_vae):
    """``clone`` keeps a fitted model as ``space``: GridSearchCV and
    cross_val_score over a pipeline work, with the same scores as the
    estimator fitted by hand."""
    from sklearn.model_selection import KFold, cross_val_score

    vae, X, y = digits_vae
    X, y = X[:60], y[:60]
    knn = GeodesicKNeighborsClassifier(vae, n_neighbors=3, method="graph", graph_neighbors=6)
    copy = clone(knn)
    assert copy.space is vae and copy is not knn and copy.get_params()["n_neighbors"] == 3
    search = GridSearchCV(knn, {"n_neighbors": [3, 5]}, cv=KFold(2)).fit(X, y)
    assert search.best_params_["n_neighbors"] in (3, 5)
    assert hasattr(vae, "manifold_")  # still fitted
    halves = [np.arange(30), np.arange(30, 60)]
    by_hand = []
    for train, test in (halves, halves[::-1]):
        fitted = clone(knn).set_params(n_neighbors=search.best_params_["n_neighbors"])
        by_hand.append(fitted.fit(X[train], y[train]).score(X[test], y[test]))
    assert search.best_score_ == pytest.approx(np.mean(by_hand))
    pipe = Pipeline([
        ("dist", GeodesicDistanceTransformer(vae, method="graph", graph_neighbors=6)),
        ("clf", KNeighborsClassifier(n_neighbors=3, metric="precomputed")),
    ])
    scores = cross_val_score(pipe, X, y, cv=2)
    assert scores.shape == (2,) and np.all((scores >= 0) & (scores <= 1))
    assert scores.mean() > 0.4  # 5 classes: chance is 0.2
