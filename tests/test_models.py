"""Tests of the model zoo (geomstats_gen.models): training, geometry, I/O, MIG.

Tiny models (one hidden layer of 32, 1-3 epochs, 200 digits) on one CPU
thread (``n_jobs=1``) keep the module fast.
"""

import os
import warnings

import geomstats_gen  # noqa: F401  (selects the pytorch backend first)
import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from geomstats_gen import GeneratedManifold
from geomstats_gen.datasets import load_digits, make_shapes
from geomstats_gen.models import (
    VAE,
    BetaTCVAE,
    BetaVAE,
    DIPVAE,
    mig_score,
    mutual_information_matrix,
    tc_decomposition,
)

F32 = torch.float32
F64 = torch.float64
MODELS = [VAE, BetaVAE, BetaTCVAE, DIPVAE]
SMALL = dict(hidden_sizes=(32,), batch_size=50, learning_rate=3e-3, n_jobs=1)


@pytest.fixture(scope="module")
def digits():
    X, _ = load_digits(return_X_y=True)
    return X[:200]


@pytest.fixture(scope="module")
def fitted(digits):
    return {cls: cls(2, epochs=3, random_state=0, **SMALL).fit(digits) for cls in MODELS}


def _weights(model):
    return {k: v.detach().clone() for k, v in model.net_.state_dict().items()}


# ----------------------------------------------------------------------
# Training
# ----------------------------------------------------------------------
@pytest.mark.parametrize("cls", MODELS)
def test_training_improves_elbo(cls, digits, fitted):
    model = fitted[cls]
    untrained = cls(2, epochs=0, random_state=0, **SMALL).fit(digits)
    assert untrained.history_ == []
    assert model.score(digits) > untrained.score(digits) + 1.0
    assert len(model.history_) == 3
    assert model.history_[-1] < model.history_[0]
    assert model.batch_size_ == 50 and model.n_train_ == 200


def test_fitted_weights_are_constants_for_the_geometry(digits, fitted, tmp_path):
    # Geomstats' gradient-based estimators (GeodesicRegression) differentiate
    # exp and squared_dist in the latent codes and call loss.backward(): the
    # fitted weights get no gradient (no wasted work, no .grad left on them).
    model = fitted[VAE]
    assert not any(p.requires_grad for p in model.net_.parameters())
    space = model.manifold()
    codes = torch.as_tensor(model.transform(digits[:3]), dtype=F64)

    def grad_in_codes():
        v = torch.tensor([[0.2, -0.1]], dtype=F64, requires_grad=True)
        space.metric.squared_dist(space.metric.exp(v, codes[0]), codes[1:]).sum().backward()
        return v.grad

    frozen = grad_in_codes()
    assert all(p.grad is None for p in model.net_.parameters())
    # the same gradient in the codes as with the weights tracked, to the last bit
    model.net_.requires_grad_(True)
    try:
        tracked = grad_in_codes()
        assert any(p.grad is not None for p in model.net_.parameters())
    finally:
        model.net_.requires_grad_(False).zero_grad(set_to_none=True)
    assert float(frozen.abs().sum()) > 0
    torch.testing.assert_close(frozen, tracked, rtol=0, atol=0)
    model.save(tmp_path / "vae.pt")
    loaded = VAE.load(tmp_path / "vae.pt")
    assert not any(p.requires_grad for p in loaded.net_.parameters())


@pytest.mark.parametrize("cls", MODELS)
def test_transform_and_inverse_transform_shapes(cls, digits, fitted):
    model = fitted[cls]
    codes = model.transform(digits)
    assert codes.shape == (200, 2) and codes.dtype == np.float32
    assert np.isfinite(codes).all()
    np.testing.assert_array_equal(model.transform(digits.reshape(200, 8, 8)), codes)
    np.testing.assert_array_equal(model.transform(torch.as_tensor(digits)), codes)
    images = model.inverse_transform(codes[:7])
    assert images.shape == (7, 64) and images.dtype == np.float32
    assert (images > 0).all() and (images < 1).all()
    np.testing.assert_array_equal(model.fit_transform(digits), codes)  # refit, same seed
    assert model.n_features_in_ == 64 and model.image_shape_ is None


@pytest.mark.parametrize("cls", [VAE, DIPVAE])
def test_manifold_metric_is_spd_at_codes(cls, digits, fitted):
    model = fitted[cls]
    space = model.manifold_
    assert isinstance(space, GeneratedManifold)
    assert space.latent_dim == 2 and space.embedding_dim == 64
    assert isinstance(model.mean_decoder_[-1], torch.nn.Sigmoid)
    assert not model.mean_decoder_.training
    assert space.work_dtype == F32 and space.work_device == torch.device("cpu")
    codes = torch.as_tensor(model.transform(digits[:10]), dtype=F64)
    metric = space.metric.metric_matrix(codes)
    assert metric.shape == (10, 2, 2) and metric.dtype == F64
    torch.testing.assert_close(metric, metric.transpose(-1, -2), rtol=0, atol=1e-7)
    assert torch.linalg.eigvalsh(metric).min() > 0
    # The manifold's immersion is the mean image of inverse_transform.
    immersed = space.immersion(codes).numpy()
    np.testing.assert_allclose(immersed, model.inverse_transform(codes.numpy()), atol=1e-6)
    # Geomstats' machinery runs on it: a norm and a short geodesic.
    norm = space.metric.norm(torch.ones(2, dtype=F64), codes[0])
    assert torch.isfinite(norm) and norm > 0


def test_same_random_state_same_weights(digits):
    first = VAE(2, epochs=2, random_state=3, **SMALL).fit(digits)
    second = VAE(2, epochs=2, random_state=3, **SMALL).fit(digits)
    other = VAE(2, epochs=2, random_state=4, **SMALL).fit(digits)
    a, b, c = _weights(first), _weights(second), _weights(other)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)
    assert first.history_ == second.history_
    assert all(v.dtype == F32 for v in a.values())


def test_fit_leaves_global_rng_alone(digits):
    state = torch.random.get_rng_state()
    VAE(2, epochs=1, random_state=0, **SMALL).fit(digits)
    assert torch.equal(state, torch.random.get_rng_state())
    assert torch.get_default_dtype() == F64  # Geomstats' default is untouched


def test_n_jobs_restores_threads(digits):
    threads = torch.get_num_threads()
    VAE(2, epochs=1, random_state=0, **{**SMALL, "n_jobs": 1}).fit(digits)
    assert torch.get_num_threads() == threads


def test_sample_is_seeded(fitted):
    model = fitted[VAE]
    images, codes = model.sample(5, random_state=1, return_latent=True)
    assert images.shape == (5, 64) and codes.shape == (5, 2)
    np.testing.assert_array_equal(images, model.sample(5, random_state=1))
    assert not np.array_equal(images, model.sample(5, random_state=2))
    np.testing.assert_array_equal(images, model.inverse_transform(codes))


def test_score_is_deterministic_and_matches_score_samples(fitted, digits):
    model = fitted[BetaVAE]
    per_sample = model.score_samples(digits)
    assert per_sample.shape == (200,) and (per_sample < 0).all()
    assert model.score(digits) == pytest.approx(per_sample.mean())
    assert model.score(digits) == model.score(digits)


# ----------------------------------------------------------------------
# Losses
# ----------------------------------------------------------------------
@pytest.mark.parametrize(
    "cls, neutral, active",
    [
        (BetaVAE, dict(beta=1.0), dict(beta=4.0)),
        (BetaTCVAE, dict(alpha=1.0, beta=1.0, gamma=1.0), dict(beta=6.0)),
        (BetaTCVAE, dict(alpha=1.0, beta=1.0, gamma=1.0), dict(alpha=0.0, beta=1.0)),
        (DIPVAE, dict(lambda_od=0.0, lambda_d=0.0), dict(lambda_od=1.0)),
        (DIPVAE, dict(lambda_od=0.0, lambda_d=0.0, dip_type="ii"),
         dict(lambda_od=1.0, dip_type="ii")),
    ],
)
def test_losses_reduce_to_vae(cls, neutral, active, digits):
    reference = VAE(2, epochs=0, random_state=5, **SMALL).fit(digits)
    model = cls(2, epochs=0, random_state=5, **SMALL, **neutral).fit(digits)
    changed = cls(2, epochs=0, random_state=5, **SMALL, **active).fit(digits)
    loss = reference.objective(digits, random_state=2)
    assert model.objective(digits, random_state=2) == loss
    assert changed.objective(digits, random_state=2) != loss
    # And the neutral model trains like the VAE.
    vae = VAE(2, epochs=2, random_state=5, **SMALL).fit(digits)
    same = cls(2, epochs=2, random_state=5, **SMALL, **neutral).fit(digits)
    np.testing.assert_allclose(same.history_, vae.history_, rtol=1e-5)


@pytest.mark.parametrize("dip_type", ["i", "ii"])
def test_dip_penalty_matches_covariance_of_codes(dip_type, digits):
    vae = VAE(2, epochs=0, random_state=1, **SMALL).fit(digits)
    dip = DIPVAE(2, lambda_od=2.0, lambda_d=0.5, dip_type=dip_type, epochs=0,
                 random_state=1, **SMALL).fit(digits)
    codes = dip.transform(digits).astype(np.float64)
    cov = np.cov(codes.T, bias=True)
    if dip_type == "ii":
        with torch.no_grad():
            _, logvar = dip.net_.encode(torch.as_tensor(digits, dtype=F32))
        cov += np.diag(np.exp(logvar.numpy().astype(np.float64)).mean(axis=0))
    off = cov - np.diag(np.diag(cov))
    expected = 2.0 * (off**2).sum() + 0.5 * ((np.diag(cov) - 1) ** 2).sum()
    penalty = dip.objective(digits, random_state=0) - vae.objective(digits, random_state=0)
    assert penalty == pytest.approx(expected, rel=1e-3, abs=1e-4)
    assert DIPVAE(lambda_od=3.0, dip_type="i", epochs=0, **SMALL).fit(digits).lambda_d_ == 30.0
    assert DIPVAE(lambda_od=3.0, dip_type="ii", epochs=0, **SMALL).fit(digits).lambda_d_ == 3.0


def test_tc_decomposition_sums_to_monte_carlo_kl():
    gen = torch.Generator().manual_seed(0)
    mean = torch.randn(64, 3, generator=gen, dtype=F64)
    logvar = 0.3 * torch.randn(64, 3, generator=gen, dtype=F64)
    z = mean + torch.exp(0.5 * logvar) * torch.randn(64, 3, generator=gen, dtype=F64)
    mi, tc, dwkl = tc_decomposition(z, mean, logvar, dataset_size=1000)
    log_q = -0.5 * (np.log(2 * np.pi) + logvar + (z - mean) ** 2 / torch.exp(logvar)).sum(1)
    log_p = -0.5 * (np.log(2 * np.pi) + z**2).sum(1)
    torch.testing.assert_close(mi + tc + dwkl, (log_q - log_p).mean())
    # Independent coordinates: the total correlation is small compared to
    # that of perfectly correlated ones.
    corr = z[:, :1].expand(64, 3)
    _, tc_corr, _ = tc_decomposition(corr, mean[:, :1].expand(64, 3),
                                     logvar[:, :1].expand(64, 3), 1000)
    assert tc_corr > tc + 1.0


# ----------------------------------------------------------------------
# Architectures and likelihoods
# ----------------------------------------------------------------------
def test_conv_architecture_on_shapes():
    shapes = make_shapes(64, image_size=32, random_state=0)
    model = BetaVAE(3, architecture="conv", channels=(4, 8), hidden_sizes=(16,), epochs=1,
                    batch_size=32, random_state=0, n_jobs=1).fit(shapes.images)
    assert model.image_shape_ == (32, 32) and model.channels_ == (4, 8)
    codes = model.transform(shapes.data)  # flat input is accepted too
    assert codes.shape == (64, 3)
    assert model.inverse_transform(codes).shape == (64, 1024)
    metric = model.manifold_.metric.metric_matrix(torch.as_tensor(codes[:3], dtype=F64))
    assert metric.shape == (3, 3, 3)
    assert torch.linalg.eigvalsh(metric).min() > 0
    with pytest.raises(ValueError, match="images of shape"):
        model.transform(shapes.images.reshape(64, 16, 64))  # 1024 pixels, other shape


def test_conv_default_channels_and_bad_image_shapes(digits):
    model = VAE(2, architecture="conv", hidden_sizes=(16,), epochs=1, random_state=0,
                n_jobs=1).fit(digits)  # 64 features: inferred 8x8
    assert model.image_shape_ == (8, 8) and model.channels_ == (32,)
    with pytest.raises(ValueError, match="divisible"):
        VAE(2, architecture="conv", channels=(4, 4, 4, 4), epochs=0).fit(digits.reshape(-1, 8, 8))
    with pytest.raises(ValueError, match="square image"):
        VAE(2, architecture="conv", epochs=0).fit(digits[:, :60])
    with pytest.raises(ValueError, match="image_shape"):
        VAE(2, image_shape=(4, 4), epochs=0).fit(digits)


def test_gaussian_likelihood(digits):
    scaled = 4.0 * digits - 1.0  # outside [0, 1]: fine for a Gaussian likelihood
    model = VAE(2, likelihood="gaussian", epochs=3, random_state=0, **SMALL).fit(scaled)
    untrained = VAE(2, likelihood="gaussian", epochs=0, random_state=0, **SMALL).fit(scaled)
    assert model.score(scaled) > untrained.score(scaled)
    assert not any(isinstance(m, torch.nn.Sigmoid) for m in model.mean_decoder_.modules())
    assert "log_std" in dict(model.net_.named_parameters())  # learned
    assert float(model.net_.log_std) != float(untrained.net_.log_std)
    fixed = VAE(2, likelihood="gaussian", obs_std=0.5, epochs=1, random_state=0, **SMALL)
    fixed.fit(scaled)
    assert float(fixed.net_.log_std) == pytest.approx(np.log(0.5))
    assert "log_std" not in dict(fixed.net_.named_parameters())


def test_verbose_shows_progress(digits, capsys):
    VAE(2, epochs=2, verbose=True, random_state=0, **SMALL).fit(digits)
    err = capsys.readouterr().err
    assert "VAE" in err and "2/2" in err


def test_sklearn_conventions(digits):
    model = BetaTCVAE(3, beta=2.5, epochs=1, random_state=0, **SMALL)
    copy = clone(model)
    assert copy.get_params() == model.get_params()
    assert copy.get_params()["beta"] == 2.5 and copy.n_components == 3
    assert not hasattr(copy, "net_")
    assert model.fit(digits) is model
    with pytest.raises(NotFittedError):
        VAE().transform(digits)


# ----------------------------------------------------------------------
# Bad input
# ----------------------------------------------------------------------
def test_bad_data(digits, fitted):
    with pytest.raises(ValueError, match=r"\[n, D\] \(flat\) or \[n, H, W\]"):
        VAE(epochs=0).fit(digits[0])
    with pytest.raises(ValueError, match=r"\[n, D\] \(flat\) or \[n, H, W\]"):
        VAE(epochs=0).fit(digits.reshape(200, 4, 4, 4))
    with pytest.raises(ValueError, match=r"\[0, 1\] for likelihood='bernoulli'"):
        VAE(epochs=0).fit(digits * 2)
    bad = digits.copy()
    bad[3, 4] = np.nan
    with pytest.raises(ValueError, match="non-finite"):
        VAE(epochs=0).fit(bad)
    with pytest.raises(TypeError, match="`X`"):
        VAE(epochs=0).fit([["a", "b"], ["c", "d"]])
    with pytest.raises(ValueError, match="at least 2 samples"):
        VAE(epochs=0).fit(digits[:1])
    model = fitted[VAE]
    with pytest.raises(ValueError, match="fitted on 64"):
        model.transform(digits[:, :10])
    with pytest.raises(ValueError, match=r"\[n, 2\]"):
        model.inverse_transform(np.zeros((3, 5)))
    with pytest.raises(ValueError, match="non-finite"):
        model.inverse_transform(np.full((1, 2), np.inf))
    with pytest.raises(ValueError, match="n_samples"):
        model.sample(0)


def test_small_dataset_adapts_batch_size(digits):
    with pytest.warns(UserWarning, match="fewer than batch_size=128"):
        model = VAE(2, epochs=1, hidden_sizes=(8,), random_state=0, n_jobs=1).fit(digits[:20])
    assert model.batch_size_ == 20


def test_tiny_batches_never_hold_one_sample(digits):
    # 3 samples, batch_size 2: one batch of 3 rather than a batch of 1 (the
    # TC estimator and the DIP covariance need at least 2 samples).
    model = BetaTCVAE(2, batch_size=2, epochs=2, hidden_sizes=(4,), random_state=0,
                      n_jobs=1).fit(digits[:3])
    assert len(model.history_) == 2 and np.isfinite(model.history_).all()
    with pytest.raises(ValueError, match="at least 2"):
        tc_decomposition(*(torch.zeros(1, 2, dtype=F32),) * 3, dataset_size=10)


@pytest.mark.parametrize(
    "cls, params, match",
    [
        (VAE, dict(n_components=0), "n_components"),
        (VAE, dict(architecture="rnn"), "architecture"),
        (VAE, dict(hidden_sizes=(32, -1)), "hidden_sizes"),
        (VAE, dict(activation="gelu"), "activation"),
        (VAE, dict(likelihood="poisson"), "likelihood"),
        (VAE, dict(epochs=-1), "epochs"),
        (VAE, dict(batch_size=1), "batch_size"),
        (VAE, dict(learning_rate=0.0), "learning_rate"),
        (VAE, dict(device="tpu:0"), "device"),
        (VAE, dict(n_jobs=0), "n_jobs"),
        (VAE, dict(obs_std=-1.0, likelihood="gaussian"), "obs_std"),
        (BetaVAE, dict(beta=-1.0), "beta"),
        (BetaTCVAE, dict(gamma=float("nan")), "gamma"),
        (DIPVAE, dict(dip_type="iii"), "dip_type"),
        (DIPVAE, dict(lambda_d=-2.0), "lambda_d"),
    ],
)
def test_bad_hyper_parameters(cls, params, match, digits):
    with pytest.raises(ValueError, match=match):
        cls(epochs=0, **params).fit(digits) if "epochs" not in params else cls(**params).fit(
            digits
        )


def test_non_number_hyper_parameter(digits):
    with pytest.raises(TypeError, match="beta"):
        BetaVAE(beta="big", epochs=0).fit(digits)


# ----------------------------------------------------------------------
# Save and load
# ----------------------------------------------------------------------
@pytest.mark.parametrize("cls", MODELS)
def test_save_load_round_trip_is_exact(cls, digits, fitted, tmp_path):
    model = fitted[cls]
    path = tmp_path / "model.pt"
    assert model.save(path) == str(path)
    loaded = cls.load(path)
    assert type(loaded) is cls
    assert loaded.get_params() == {
        k: tuple(v) if isinstance(v, list) else v for k, v in model.get_params().items()
    }
    np.testing.assert_array_equal(loaded.transform(digits), model.transform(digits))
    np.testing.assert_array_equal(
        loaded.inverse_transform(model.transform(digits[:5])),
        model.inverse_transform(model.transform(digits[:5])),
    )
    assert loaded.history_ == model.history_
    assert loaded.score(digits) == model.score(digits)
    assert isinstance(loaded.manifold_, GeneratedManifold)
    codes = torch.as_tensor(model.transform(digits[:3]), dtype=F64)
    torch.testing.assert_close(
        loaded.manifold_.metric.metric_matrix(codes), model.manifold_.metric.metric_matrix(codes),
        rtol=0, atol=0,
    )
    assert VAE.load(path).__class__ is cls  # the base class loads any model
    if cls is DIPVAE:
        assert loaded.lambda_d_ == model.lambda_d_


def test_save_numpy_typed_hyper_parameters(digits, tmp_path):
    model = BetaVAE(np.int64(2), beta=np.float64(2.0), hidden_sizes=np.array([8]), epochs=1,
                    random_state=np.int64(3), n_jobs=1).fit(digits)
    loaded = BetaVAE.load(model.save(tmp_path / "np.pt"))
    assert loaded.beta == 2.0 and loaded.random_state == 3 and loaded.hidden_sizes == (8,)
    np.testing.assert_array_equal(loaded.transform(digits), model.transform(digits))
    assert oct(os.stat(tmp_path / "np.pt").st_mode & 0o777) == oct(0o644)


def test_load_checks_the_class(fitted, tmp_path):
    path = fitted[VAE].save(tmp_path / "vae.pt")
    with pytest.raises(ValueError, match="holds a VAE, not a BetaVAE"):
        BetaVAE.load(path)


def test_save_is_atomic(fitted, tmp_path, monkeypatch):
    path = tmp_path / "model.pt"
    fitted[VAE].save(path)
    before = path.read_bytes()

    def broken_save(obj, handle):
        handle.write(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        fitted[BetaVAE].save(path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["model.pt"]  # no temporary file left
    monkeypatch.undo()
    fitted[BetaVAE].save(path)  # overwriting an existing file works
    assert type(VAE.load(path)) is BetaVAE


def test_load_rejects_bad_files(fitted, tmp_path):
    good = tmp_path / "good.pt"
    fitted[VAE].save(good)
    raw = good.read_bytes()

    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ValueError, match="truncated, corrupted"):
        VAE.load(truncated)

    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"\x00" * 100)
    with pytest.raises(ValueError, match="not a readable geomstats_gen model"):
        VAE.load(garbage)

    foreign = tmp_path / "foreign.pt"
    torch.save({"weight": torch.zeros(3, dtype=F32)}, foreign)
    with pytest.raises(ValueError, match="format marker"):
        VAE.load(foreign)

    code = tmp_path / "code.pt"
    torch.save({"format": "geomstats_gen.models", "payload": warnings.WarningMessage}, code)
    with pytest.raises(ValueError, match="not a readable"):
        VAE.load(code)  # weights_only refuses pickled classes

    payload = torch.load(good, weights_only=True)
    payload["state_dict"].pop(next(iter(payload["state_dict"])))
    missing = tmp_path / "missing_weight.pt"
    torch.save(payload, missing)
    with pytest.raises(ValueError, match="corrupted"):
        VAE.load(missing)

    payload = torch.load(good, weights_only=True)
    payload["params"]["n_components"] = 3  # weights of the wrong shape
    wrong = tmp_path / "wrong_shape.pt"
    torch.save(payload, wrong)
    with pytest.raises(ValueError, match="corrupted"):
        VAE.load(wrong)

    payload = torch.load(good, weights_only=True)
    payload["class"] = "GAN"
    alien = tmp_path / "alien.pt"
    torch.save(payload, alien)
    with pytest.raises(ValueError, match="unknown model class 'GAN'"):
        VAE.load(alien)

    with pytest.raises(FileNotFoundError):
        VAE.load(tmp_path / "absent.pt")


# ----------------------------------------------------------------------
# MIG
# ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def shape_factors():
    return make_shapes(4000, image_size=8, random_state=0).factor_classes


def test_mig_is_one_for_factor_codes(shape_factors):
    rng = np.random.default_rng(0)
    codes = shape_factors[:, rng.permutation(5)] + 0.0
    mig = mig_score(codes, shape_factors, n_bins=64)
    assert mig > 0.95
    # Invariant to an affine change of the codes.
    assert mig_score(3.0 * codes - 7.0, shape_factors, n_bins=64) == pytest.approx(mig)
    # With fewer bins than levels, a factor cannot be fully captured.
    assert mig_score(codes, shape_factors, n_bins=8) < mig - 0.1


def test_mig_is_zero_for_random_codes(shape_factors):
    rng = np.random.default_rng(1)
    codes = rng.standard_normal((len(shape_factors), 6))
    assert mig_score(codes, shape_factors) < 0.05


def test_mig_penalises_shared_and_mixed_codes(shape_factors):
    codes = shape_factors.astype(float)
    mig, per_factor = mig_score(
        np.column_stack([codes, codes[:, 1]]), shape_factors, n_bins=64, return_per_factor=True
    )
    assert per_factor[1] == pytest.approx(0.0, abs=1e-12)  # scale captured twice
    assert per_factor[0] > 0.95
    rotated = codes[:, 3:5] @ np.array([[1.0, 1.0], [1.0, -1.0]])  # pos_x, pos_y mixed
    assert mig_score(rotated, shape_factors[:, 3:5]) < 0.3


def test_mutual_information_matrix_and_errors(shape_factors):
    mi, entropy = mutual_information_matrix(shape_factors[:, :2] + 0.0, shape_factors[:, :2],
                                            n_bins=64)
    assert mi.shape == (2, 2)
    np.testing.assert_allclose(entropy, [np.log(3), np.log(6)], rtol=0.01)
    np.testing.assert_allclose(np.diag(mi), entropy)
    with pytest.raises(ValueError, match="same number of rows"):
        mig_score(np.zeros((5, 2)), np.zeros((4, 2)))
    with pytest.raises(ValueError, match="constant"):
        mig_score(np.random.default_rng(0).random((5, 2)), np.zeros((5, 2)))
    with pytest.raises(ValueError, match="n_bins"):
        mig_score(np.zeros((5, 2)), np.arange(5), n_bins=1)
