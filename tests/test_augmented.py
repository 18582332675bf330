"""Metrics beyond the deterministic pullback, against their known answers (float64)."""

import math

import pytest
import torch

from geomstats_gen import (
    EnsembleDecoder,
    FisherRaoDecoder,
    GeneratedManifold,
    LinearDecoder,
    StochasticDecoder,
    make_mlp,
)

F64 = torch.float64


def _gen(seed):
    return torch.Generator().manual_seed(seed)


class _ExpStd(torch.nn.Module):
    """``sigma(z) = c exp(b^T z)``: ``J_sigma = c exp(b^T z) b^T``."""

    def __init__(self, c, b):
        super().__init__()
        self.register_buffer("c", c)
        self.register_buffer("b", b)

    def forward(self, z):
        return self.c * torch.exp(z @ self.b)[:, None]


def test_stochastic_decoder_expected_metric():
    """``G = A^T A + |c|^2 exp(2 b^T z) b b^T``."""
    gen = _gen(0)
    A = torch.randn(6, 3, generator=gen, dtype=F64)
    c = torch.randn(4, generator=gen, dtype=F64)
    b = torch.randn(3, generator=gen, dtype=F64) * 0.5
    space = GeneratedManifold(StochasticDecoder(LinearDecoder(A), _ExpStd(c, b)), 3)
    z = torch.randn(5, 3, generator=gen, dtype=F64)
    expected = A.T @ A + (c @ c) * torch.exp(2 * z @ b)[:, None, None] * torch.outer(b, b)
    torch.testing.assert_close(space.metric.metric_matrix(z), expected, atol=1e-10, rtol=0)
    assert space.embedding_dim == 10


def test_ensemble_of_identical_decoders_is_the_decoder():
    decoder = make_mlp([2, 8, 5], dtype=F64, seed=3)
    single = GeneratedManifold(decoder, 2)
    ensemble = GeneratedManifold(EnsembleDecoder([decoder, decoder, decoder]), 2)
    z = torch.randn(4, 2, generator=_gen(1), dtype=F64)
    torch.testing.assert_close(ensemble.metric.metric_matrix(z), single.metric.metric_matrix(z),
                               atol=1e-10, rtol=0)
    torch.testing.assert_close(ensemble.metric.scalar_curvature(z),
                               single.metric.scalar_curvature(z), atol=1e-10, rtol=0)


def test_ensemble_of_linear_decoders_is_the_mean_metric():
    gen = _gen(2)
    mats = [torch.randn(5, 3, generator=gen, dtype=F64) for _ in range(4)]
    space = GeneratedManifold(EnsembleDecoder([LinearDecoder(m) for m in mats]), 3)
    expected = sum(m.T @ m for m in mats) / 4
    z = torch.randn(2, 3, generator=gen, dtype=F64)
    torch.testing.assert_close(space.metric.metric_matrix(z), expected.expand(2, 3, 3),
                               atol=1e-10, rtol=0)
    # flat: straight geodesics, d = |sqrt(mean A^T A) (b - a)|
    a, b = z
    dist = torch.sqrt((b - a) @ expected @ (b - a))
    assert float(space.metric.dist(a, b)) == pytest.approx(float(dist), rel=1e-10)


def _bernoulli_decoder(seed):
    """``p(z) = sigmoid(W2 tanh(W1 z + c1) + c2)``, inside (0, 1)."""
    net = make_mlp([2, 6, 7], dtype=F64, seed=seed)
    return torch.nn.Sequential(net, torch.nn.Sigmoid())


@pytest.mark.parametrize("logits", [False, True])
def test_fisher_rao_bernoulli_is_the_fisher_information(logits):
    """``J_p^T diag(1 / (p (1 - p))) J_p`` of the (squeezed) probabilities."""
    eps = 1e-3
    probs = _bernoulli_decoder(4)
    decoder = probs[0] if logits else probs  # the logits, or the probabilities
    space = GeneratedManifold(FisherRaoDecoder(decoder, "bernoulli", logits=logits, eps=eps), 2)
    plain = GeneratedManifold(probs, 2)
    z = torch.randn(5, 2, generator=_gen(5), dtype=F64)
    jac = plain.jacobian_immersion(z) * (1 - 2 * eps)
    p = eps + (1 - 2 * eps) * plain.immersion(z)
    fisher = jac.transpose(-1, -2) @ (jac / (p * (1 - p))[..., None])
    torch.testing.assert_close(space.metric.metric_matrix(z), fisher, atol=1e-10, rtol=1e-10)


def test_fisher_rao_categorical_and_gaussian():
    gen = _gen(6)
    logits = make_mlp([2, 6, 4], dtype=F64, seed=6)
    space = GeneratedManifold(FisherRaoDecoder(logits, "categorical", logits=True, eps=0), 2)
    plain = GeneratedManifold(torch.nn.Sequential(logits, torch.nn.Softmax(dim=-1)), 2)
    z = torch.randn(3, 2, generator=gen, dtype=F64)
    jac, p = plain.jacobian_immersion(z), plain.immersion(z)
    fisher = jac.transpose(-1, -2) @ (jac / p[..., None])  # sum_k dp_k^2 / p_k
    torch.testing.assert_close(space.metric.metric_matrix(z), fisher, atol=1e-10, rtol=1e-10)
    A = torch.randn(5, 2, generator=gen, dtype=F64)
    gauss = GeneratedManifold(FisherRaoDecoder(LinearDecoder(A), "gaussian", scale=0.5), 2)
    torch.testing.assert_close(gauss.metric.metric_matrix(z[0]), A.T @ A / 0.25, atol=1e-10,
                               rtol=0)
    with pytest.raises(ValueError, match="`scale`"):
        FisherRaoDecoder(LinearDecoder(A), "gaussian")
    with pytest.raises(ValueError, match="`likelihood`"):
        FisherRaoDecoder(LinearDecoder(A), "poisson")


class _SineSquared(torch.nn.Module):
    """``p(z) = sin^2((theta0 + B z) / 2)``: the Fisher-Rao coordinates
    ``2 arcsin(sqrt(p)) = theta0 + B z`` are affine, so the space is flat."""

    def __init__(self, theta0, B):
        super().__init__()
        self.register_buffer("theta0", theta0)
        self.register_buffer("B", B)

    def forward(self, z):
        return torch.sin((self.theta0 + z @ self.B.T) / 2) ** 2


def test_fisher_rao_distance_between_bernoulli_vectors():
    """``d(p, q) = 2 |arcsin(sqrt(p)) - arcsin(sqrt(q))|`` along a path the
    decoder reaches."""
    gen = _gen(7)
    theta0 = 0.5 + 2.0 * torch.rand(6, generator=gen, dtype=F64)  # inside (0, pi)
    B = 0.2 * torch.randn(6, 2, generator=gen, dtype=F64)
    decoder = _SineSquared(theta0, B)
    space = GeneratedManifold(FisherRaoDecoder(decoder, "bernoulli", eps=0), 2)
    a = torch.tensor([0.3, -0.2], dtype=F64)
    b = torch.tensor([-0.4, 0.5], dtype=F64)
    p, q = decoder(a[None])[0], decoder(b[None])[0]
    exact = 2 * torch.linalg.vector_norm(torch.arcsin(p.sqrt()) - torch.arcsin(q.sqrt()))
    assert float(space.metric.dist(a, b)) == pytest.approx(float(exact), rel=1e-9)


def _riemann_from_christoffels(metric, z, step=1e-5):
    r"""``R^l_{ijk} = d_j G^l_{ki} - d_k G^l_{ji} + G^l_{jm} G^m_{ki} - G^l_{km} G^m_{ji}``
    with central differences of the Christoffel symbols (Geomstats' order
    ``[i, j, k, l]``; ``christoffels[l, i, j]`` has the contravariant index first)."""
    dim = z.shape[-1]
    gamma = metric.christoffels(z)  # [l, i, j]
    deriv = torch.stack([
        (metric.christoffels(z + step * e) - metric.christoffels(z - step * e)) / (2 * step)
        for e in torch.eye(dim, dtype=z.dtype)
    ])  # [a, l, i, j] = d_a Gamma^l_{ij}
    first = torch.einsum("jlki->ijkl", deriv) - torch.einsum("klji->ijkl", deriv)
    second = torch.einsum("ljm,mki->ijkl", gamma, gamma) - torch.einsum("lkm,mji->ijkl", gamma, gamma)
    return first + second


def test_curvature_of_the_augmented_immersion_matches_the_christoffels():
    """The Gauss equation holds for the augmented immersion: the Riemann
    tensor of a stochastic decoder's expected metric equals the one from
    finite differences of its Christoffel symbols."""
    mean = make_mlp([2, 6, 5], dtype=F64, seed=8)
    std = torch.nn.Sequential(make_mlp([2, 4, 3], dtype=F64, seed=9), torch.nn.Softplus())
    space = GeneratedManifold(StochasticDecoder(mean, std), 2)
    z = torch.tensor([0.3, -0.1], dtype=F64)
    ours = space.metric.riemann_tensor(z)
    reference = _riemann_from_christoffels(space.metric, z)
    assert float(reference.abs().max()) > 1e-3  # curved: the check is not vacuous
    torch.testing.assert_close(ours, reference, atol=1e-7 * float(reference.abs().max()), rtol=0)
    k = space.metric.sectional_curvature(torch.tensor([1.0, 0.0], dtype=F64),
                                         torch.tensor([0.0, 1.0], dtype=F64), z)
    g = space.metric.metric_matrix(z)
    # K(e0, e1) = <R(e0, e1) e1, e0> / det G, with R(e_j, e_k) e_i = R^l_{ijk} e_l
    numerator = reference[1, 0, 1] @ g[:, 0]
    assert math.isfinite(float(k))
    assert float(k) == pytest.approx(float(numerator / torch.linalg.det(g)), rel=1e-5)


def test_wrappers_refuse_bad_arguments():
    with pytest.raises(TypeError, match="`mean`"):
        StochasticDecoder("mu", LinearDecoder(torch.eye(2, dtype=F64)))
    with pytest.raises(ValueError, match="`decoders`"):
        EnsembleDecoder([])
    with pytest.raises(ValueError, match="`eps`"):
        FisherRaoDecoder(LinearDecoder(torch.eye(2, dtype=F64)), eps=0.7)


@pytest.fixture(scope="module")
def digits_vae():
    from geomstats_gen.datasets import load_digits
    from geomstats_gen.models import VAE

    X, y = load_digits(return_X_y=True)
    return VAE(2, hidden_sizes=(64, 32), epochs=10, random_state=0, n_jobs=1).fit(X), X


def test_model_metrics(digits_vae):
    """``model.manifold(metric)``: the pullback one is ``manifold_``; the
    Fisher-Rao one is the Fisher information of the Bernoulli means; the
    expected one adds ``J_sigma^T J_sigma`` of the variance network, whose
    sigma grows away from the data."""
    vae, X = digits_vae
    assert vae.manifold("pullback") is vae.manifold_
    with pytest.raises(ValueError, match="fit_variance"):
        vae.manifold("expected")
    with pytest.raises(ValueError, match="`metric`"):
        vae.manifold("wasserstein")
    z = torch.as_tensor(vae.transform(X[:4]), dtype=F64)
    fisher = vae.manifold("fisher-rao").metric.metric_matrix(z)
    jac = vae.manifold_.jacobian_immersion(z)
    p = vae.manifold_.immersion(z)
    eps = 1e-6
    p_sq = eps + (1 - 2 * eps) * p
    expected_fisher = (1 - 2 * eps) ** 2 * jac.transpose(-1, -2) @ (jac / (p_sq * (1 - p_sq))[..., None])
    torch.testing.assert_close(fisher, expected_fisher, rtol=2e-4, atol=0)
    vae.fit_variance(X, n_centers=16)
    expected = vae.manifold("expected")
    sigma = GeneratedManifold(vae.variance_net_, 2)
    jac_sigma = sigma.jacobian_immersion(z)
    torch.testing.assert_close(
        expected.metric.metric_matrix(z),
        vae.manifold_.metric.metric_matrix(z) + jac_sigma.transpose(-1, -2) @ jac_sigma,
        rtol=1e-4, atol=1e-8,
    )
    far = torch.full((1, 2), 10.0, dtype=torch.float32)
    near = torch.as_tensor(vae.transform(X[:50]))
    assert float(vae.variance_net_(far).mean()) == pytest.approx(1e-3 ** -0.5, rel=1e-3)
    assert float(vae.variance_net_(near).mean()) < 0.2 * 1e-3 ** -0.5



def test_the_variance_network_is_saved_with_the_model(digits_vae, tmp_path):
    from geomstats_gen.models import VAE

    vae, X = digits_vae
    vae.fit_variance(X, n_centers=8)
    loaded = VAE.load(vae.save(tmp_path / "with_variance.pt"))
    z = torch.as_tensor(vae.transform(X[:20]))
    torch.testing.assert_close(loaded.variance_net_(z), vae.variance_net_(z), rtol=0, atol=0)
    zz = z.to(F64)
    torch.testing.assert_close(loaded.manifold("expected").metric.metric_matrix(zz),
                               vae.manifold("expected").metric.metric_matrix(zz))
    refit = VAE.load(tmp_path / "with_variance.pt").fit(X[:200])
    assert refit.variance_net_ is None  # a new fit drops it


def test_a_model_with_an_ensemble_of_decoders(tmp_path):
    """``n_decoders=3``: three decoders on one encoder; the mean image is their
    average, ``manifold("ensemble")`` the mean of their metrics; it saves and
    loads whole."""
    from geomstats_gen.datasets import load_digits
    from geomstats_gen.models import BetaVAE, VAE

    X, _ = load_digits(return_X_y=True)
    model = BetaVAE(2, beta=1.0, hidden_sizes=(32,), epochs=3, n_decoders=3, random_state=0,
                    n_jobs=1).fit(X)
    members = model.net_.member_mean_decoders()
    assert len(members) == 3
    z = torch.as_tensor(model.transform(X[:4]), dtype=F64)
    mean_image = torch.stack([m(z.float()) for m in members]).mean(0)
    torch.testing.assert_close(model.manifold_.immersion(z), mean_image.double(), atol=1e-6,
                               rtol=0)
    metrics = [GeneratedManifold(m, 2).metric.metric_matrix(z) for m in members]
    torch.testing.assert_close(model.manifold("ensemble").metric.metric_matrix(z),
                               sum(metrics) / 3, rtol=1e-4, atol=1e-9)
    path = model.save(tmp_path / "ensemble.pt")
    loaded = VAE.load(path)
    assert loaded.n_decoders == 3 and len(loaded.net_.decoders) == 3
    assert loaded.score(X[:50]) == pytest.approx(model.score(X[:50]), rel=1e-6)
    with pytest.raises(ValueError, match="n_decoders >= 2"):
        VAE(2, hidden_sizes=(8,), epochs=1, random_state=0).fit(X[:64]).manifold("ensemble")
