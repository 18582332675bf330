"""The disentangling variants of the VAE: beta-VAE, beta-TCVAE, DIP-VAE.

Each differs from :class:`~geomstats_gen.models.base.VAE` only by its latent
penalty (:mod:`geomstats_gen.models.objectives`) and the hyper-parameters
that weigh it. Their ``__init__`` spell out every parameter, as
scikit-learn's ``get_params`` requires.
"""

import numbers

from sklearn.utils._param_validation import Interval, StrOptions

from geomstats_gen.models._docs import fill_doc
from geomstats_gen.models.base import COMMON_CONSTRAINTS, VAE
from geomstats_gen.models.objectives import dip_penalty, tc_penalty
from geomstats_gen.models.persistence import register

__all__ = ["BetaTCVAE", "BetaVAE", "DIPVAE"]

_NON_NEGATIVE = Interval(numbers.Real, 0, None, closed="left")


@register
@fill_doc
class BetaVAE(VAE):
    """beta-VAE (Higgins et al. 2017): the KL term weighted by ``beta``.

    Loss ``-E_q[log p(x|z)] + beta KL(q(z|x) || p(z))``; ``beta > 1``
    favours disentangled codes, ``beta = 1`` is the :class:`VAE`.

    Parameters
    ----------
%(common_params)s
    beta : float
        Weight of the KL term, >= 0.

%(common_attributes)s
    """

    def __init__(
        self,
        n_components=2,
        *,
        beta=4.0,
        architecture="mlp",
        hidden_sizes=(256, 128),
        channels=None,
        activation="softplus",
        likelihood="bernoulli",
        obs_std=None,
        image_shape=None,
        epochs=30,
        batch_size=128,
        learning_rate=1e-3,
        device="cpu",
        n_jobs=None,
        random_state=None,
        verbose=False,
        n_decoders=1,
        warm_start=False,
    ):
        super().__init__(
            n_components,
            architecture=architecture,
            hidden_sizes=hidden_sizes,
            channels=channels,
            activation=activation,
            likelihood=likelihood,
            obs_std=obs_std,
            image_shape=image_shape,
            epochs=epochs,
            batch_size=batch_size,
            learning_rate=learning_rate,
            device=device,
            n_jobs=n_jobs,
            random_state=random_state,
            verbose=verbose,
            n_decoders=n_decoders,
            warm_start=warm_start,
        )
        self.beta = beta

    _parameter_constraints = {
        **COMMON_CONSTRAINTS,
        "beta": [Interval(numbers.Real, 0, None, closed="left")],
    }

    def _regulariser(self, kl, mean, logvar, z, dataset_size):
        return float(self.beta) * kl.mean()


@register
@fill_doc
class BetaTCVAE(VAE):
    """beta-TCVAE (Chen et al. 2018): the KL split and reweighted.

    Loss ``-E_q[log p(x|z)] + alpha MI + beta TC + gamma DWKL`` (see
    :func:`~geomstats_gen.models.objectives.tc_decomposition`), implemented as ``KL + (alpha - 1) MI +
    (beta - 1) TC + (gamma - 1) DWKL`` with the analytic KL (as in
    ``disentanglement_lib``), so ``alpha = beta = gamma = 1`` is exactly
    the :class:`VAE` loss. The aggregate posterior is estimated by
    minibatch stratified sampling with the training set size ``n_train_``.

    Parameters
    ----------
%(common_params)s
    alpha : float
        Weight of the index-code mutual information.
    beta : float
        Weight of the total correlation (the disentangling term).
    gamma : float
        Weight of the dimension-wise KL.

%(common_attributes)s
    """

    def __init__(
        self,
        n_components=2,
        *,
        alpha=1.0,
        beta=6.0,
        gamma=1.0,
        architecture="mlp",
        hidden_sizes=(256, 128),
        channels=None,
        activation="softplus",
        likelihood="bernoulli",
        obs_std=None,
        image_shape=None,
        epochs=30,
        batch_size=128,
        learning_rate=1e-3,
        device="cpu",
        n_jobs=None,
        random_state=None,
        verbose=False,
        n_decoders=1,
        warm_start=False,
    ):
        super().__init__(
            n_components,
            architecture=architecture,
            hidden_sizes=hidden_sizes,
            channels=channels,
            activation=activation,
            likelihood=likelihood,
            obs_std=obs_std,
            image_shape=image_shape,
            epochs=epochs,
            batch_size=batch_size,
            learning_rate=learning_rate,
            device=device,
            n_jobs=n_jobs,
            random_state=random_state,
            verbose=verbose,
            n_decoders=n_decoders,
            warm_start=warm_start,
        )
        self.alpha = alpha
        self.beta = beta
        self.gamma = gamma

    _parameter_constraints = {
        **COMMON_CONSTRAINTS,
        "alpha": [_NON_NEGATIVE],
        "beta": [_NON_NEGATIVE],
        "gamma": [_NON_NEGATIVE],
    }

    def _regulariser(self, kl, mean, logvar, z, dataset_size):
        return tc_penalty(kl, mean, logvar, z, dataset_size, self.alpha, self.beta, self.gamma)


@register
@fill_doc
class DIPVAE(VAE):
    """DIP-VAE (Kumar et al. 2018): decorrelate the aggregate posterior.

    Loss ``-ELBO + lambda_od sum_{i != j} C_ij^2 + lambda_d sum_i (C_ii -
    1)^2`` where ``C`` is the batch covariance of the posterior means
    (type "i") or of the aggregate posterior, ``Cov[mu] + E[diag
    sigma^2]`` (type "ii"). ``lambda_od = lambda_d = 0`` is the
    :class:`VAE`.

    Parameters
    ----------
%(common_params)s
    lambda_od : float
        Weight of the off-diagonal penalty, >= 0.
    lambda_d : float, optional
        Weight of the diagonal penalty. Default: ``10 * lambda_od`` for
        type "i" and ``lambda_od`` for type "ii" (as in the paper);
        resolved in ``lambda_d_``.
    dip_type : {"i", "ii"}
        Which covariance is penalised.

%(common_attributes)s
    lambda_d_ : float
        The diagonal weight used.
    """

    def __init__(
        self,
        n_components=2,
        *,
        lambda_od=10.0,
        lambda_d=None,
        dip_type="i",
        architecture="mlp",
        hidden_sizes=(256, 128),
        channels=None,
        activation="softplus",
        likelihood="bernoulli",
        obs_std=None,
        image_shape=None,
        epochs=30,
        batch_size=128,
        learning_rate=1e-3,
        device="cpu",
        n_jobs=None,
        random_state=None,
        verbose=False,
        n_decoders=1,
        warm_start=False,
    ):
        super().__init__(
            n_components,
            architecture=architecture,
            hidden_sizes=hidden_sizes,
            channels=channels,
            activation=activation,
            likelihood=likelihood,
            obs_std=obs_std,
            image_shape=image_shape,
            epochs=epochs,
            batch_size=batch_size,
            learning_rate=learning_rate,
            device=device,
            n_jobs=n_jobs,
            random_state=random_state,
            verbose=verbose,
            n_decoders=n_decoders,
            warm_start=warm_start,
        )
        self.lambda_od = lambda_od
        self.lambda_d = lambda_d
        self.dip_type = dip_type

    _parameter_constraints = {
        **COMMON_CONSTRAINTS,
        "lambda_od": [_NON_NEGATIVE],
        "lambda_d": [_NON_NEGATIVE, None],
        "dip_type": [StrOptions({"i", "ii"})],
    }

    def _resolved_lambda_d(self):
        if self.lambda_d is not None:
            return float(self.lambda_d)
        return float(self.lambda_od) * (10.0 if self.dip_type == "i" else 1.0)

    def _fitted_extras(self):
        return {"lambda_d_": self.lambda_d_}

    def _load_extras(self, fitted):
        self.lambda_d_ = float(fitted["lambda_d_"])

    def fit(self, X, y=None):  # noqa: D102 - documented by VAE.fit
        self._check_params()
        self.lambda_d_ = self._resolved_lambda_d()
        return super().fit(X, y)

    fit.__doc__ = VAE.fit.__doc__

    def _regulariser(self, kl, mean, logvar, z, dataset_size):
        return dip_penalty(
            kl, mean, logvar, float(self.lambda_od), self._resolved_lambda_d(), self.dip_type
        )
