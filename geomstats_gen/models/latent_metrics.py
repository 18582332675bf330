"""The latent metrics of a fitted model: ``model.manifold(metric=...)``."""

import numpy as np
from sklearn.utils.validation import check_is_fitted

from geomstats_gen._model_names import METRIC_NAMES
from geomstats_gen.augmented import EnsembleDecoder, FisherRaoDecoder, StochasticDecoder
from geomstats_gen.core.checks import check_choice
from geomstats_gen.manifold import GeneratedManifold
from geomstats_gen.models.variance import fit_variance_network

__all__ = ["METRICS", "LatentMetricsMixin"]

#: The metrics ``manifold`` knows.
METRICS = METRIC_NAMES


class LatentMetricsMixin:
    """The latent space of a fitted model under several metrics."""

    def fit_variance(self, X, n_centers=32, bandwidth=1.0, floor=1e-3, random_state=0):
        """Fit the variance network of the expected metric to ``X`` (Arvanitidis et al. 2018).

        An RBF network on the codes of ``X`` whose precision is fitted to the
        reconstruction residuals ``x - mu(z)`` and decays to ``floor`` away
        from the data (:func:`~geomstats_gen.models.variance.fit_variance_network`).

        Parameters
        ----------
        X : array-like, shape=[n, D] or [n, H, W]
            Training data.
        n_centers, bandwidth, floor, random_state
            See :func:`~geomstats_gen.models.variance.fit_variance_network`.

        Returns
        -------
        self
            With ``variance_net_`` (saved and loaded with the model; a new
            ``fit`` drops it).
        """
        check_is_fitted(self, "net_")
        array, _ = self._validate_X(X, reset=False)
        codes = self.transform(array)
        residuals = array - self.inverse_transform(codes)
        net = fit_variance_network(codes, residuals, n_centers=n_centers, bandwidth=bandwidth,
                                   floor=floor, random_state=random_state)
        self.variance_net_ = net.to(self.device_).eval()
        return self

    def manifold(self, metric="pullback"):
        """The latent space with a metric.

        Parameters
        ----------
        metric : {"pullback", "expected", "fisher-rao", "ensemble"}
            ``"pullback"``: of the mean decoder (``manifold_``);
            ``"expected"``: of the stochastic decoder ``mu + sigma eps``
            with the variance network (call :meth:`fit_variance` first);
            ``"fisher-rao"``: of the likelihood (Bernoulli from the logits,
            or from the ensemble's mean probabilities; Gaussian with the
            model's observation standard deviation); ``"ensemble"``: the
            expected metric of the decoders of a model fitted with
            ``n_decoders >= 2``.

        Returns
        -------
        space : GeneratedManifold
        """
        check_is_fitted(self, "net_")
        check_choice(metric, "metric", METRICS)
        latent_dim = int(self.n_components)
        if metric == "pullback":
            return self.manifold_
        if metric == "expected":
            if getattr(self, "variance_net_", None) is None:
                raise ValueError(
                    "metric='expected' needs the variance network: call "
                    "model.fit_variance(X) with the training data first."
                )
            return GeneratedManifold(StochasticDecoder(self.mean_decoder_, self.variance_net_),
                                     latent_dim)
        if metric == "ensemble":
            members = self.net_.member_mean_decoders()
            if len(members) < 2:
                raise ValueError(
                    "metric='ensemble' needs a model fitted with n_decoders >= 2 (this one "
                    f"has {len(members)} decoder)."
                )
            return GeneratedManifold(EnsembleDecoder(members), latent_dim)
        if self.likelihood == "bernoulli" and len(self.net_.decoders) > 1:
            decoder = FisherRaoDecoder(self.mean_decoder_, "bernoulli")  # mean probabilities
        elif self.likelihood == "bernoulli":
            decoder = FisherRaoDecoder(self.net_.decoder, "bernoulli", logits=True)
        else:
            scale = float(np.exp(float(self.net_.log_std)))
            decoder = FisherRaoDecoder(self.mean_decoder_, "gaussian", scale=scale)
        return GeneratedManifold(decoder, latent_dim)
