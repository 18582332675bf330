"""What a fitted model computes: codes, decoded images, samples, ELBO.

The methods of :class:`~geomstats_gen.models.VAE` (and its variants) that
use the trained networks, in chunks of rows, without gradients.
"""

import numpy as np
import torch
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from geomstats_gen.core.checks import check_int, check_number
from geomstats_gen.models._networks import F32
from geomstats_gen.models._runtime import with_threads

__all__ = ["InferenceMixin"]

_CHUNK = 4096  # rows per forward pass outside training
_SCORE_SEED = 0


class InferenceMixin:
    """Encoding, decoding, sampling and scoring of a fitted model."""

    def _chunks(self, array):
        for start in range(0, len(array), _CHUNK):
            yield torch.as_tensor(array[start : start + _CHUNK], dtype=F32).to(self.device_)

    @with_threads
    def transform(self, X):
        """Latent means ``mu(x)`` of the encoder.

        Parameters
        ----------
        X : array-like, shape=[n, D] or [n, H, W]

        Returns
        -------
        codes : ndarray of float32, shape=[n, d]
        """
        check_is_fitted(self, "net_")
        array, _ = self._validate_X(X, reset=False)
        with torch.no_grad():
            means = [self.net_.encode(x)[0].cpu() for x in self._chunks(array)]
        return torch.cat(means).numpy()

    @with_threads
    def active_units(self, X, threshold=0.01):
        """Which latent dimensions the model uses: "active units" (Burda et al. 2016).

        A dimension ``u`` is active when the variance over the data of its
        posterior mean, ``Var_x(E_q[u | x])``, exceeds ``threshold``: the
        encoder moves it with the input. An inactive (collapsed) dimension
        has posterior ``q(u | x)`` close to the prior for every ``x``, its
        mean KL is near zero, and the decoder ignores it, so its latent
        directions carry no geometry of the data.

        Parameters
        ----------
        X : array-like, shape=[n, D] or [n, H, W]
        threshold : float
            Variance below which a dimension counts as collapsed (0.01, as
            in the VAE literature, for a standard normal prior).

        Returns
        -------
        units : dict
            ``"variance"`` (ndarray [d]: variance of the posterior means),
            ``"kl"`` (ndarray [d]: mean KL to the prior per dimension, nats),
            ``"active"`` (ndarray of bool [d]), ``"n_active"`` (int),
            ``"threshold"`` (float).
        """
        check_is_fitted(self, "net_")
        threshold = check_number(threshold, "threshold")
        array, _ = self._validate_X(X, reset=False)
        means, kls = [], []
        with torch.no_grad():
            for x in self._chunks(array):
                mean, logvar = self.net_.encode(x)
                means.append(mean.to(torch.float64).cpu())
                kl = 0.5 * (mean.square() + logvar.exp() - 1.0 - logvar)
                kls.append(kl.to(torch.float64).cpu())
        means, kls = torch.cat(means), torch.cat(kls)
        variance = means.var(dim=0, unbiased=False).numpy() if len(means) > 1 else np.zeros(
            means.shape[1])
        active = variance > threshold
        return {
            "variance": variance,
            "kl": kls.mean(dim=0).numpy(),
            "active": active,
            "n_active": int(active.sum()),
            "threshold": float(threshold),
        }

    def _decode_means(self, z):
        with torch.no_grad():
            outs = [self.mean_decoder_(chunk).cpu() for chunk in self._chunks(z)]
        return torch.cat(outs).numpy()

    @with_threads
    def inverse_transform(self, X):
        """Decode latent codes to mean images.

        Parameters
        ----------
        X : array-like, shape=[n, d]
            Latent codes (named ``X`` as in scikit-learn).

        Returns
        -------
        images : ndarray of float32, shape=[n, D]
            Mean images, flat (reshape with ``image_shape_``).
        """
        check_is_fitted(self, "net_")
        if isinstance(X, torch.Tensor):
            X = X.detach().cpu().numpy()
        try:
            codes = np.asarray(X, dtype=np.float32)
        except (TypeError, ValueError) as err:
            raise TypeError(
                f"`X` must be an array of latent codes [n, {self.n_components}], got "
                f"{type(X).__name__}."
            ) from err
        if codes.ndim != 2 or codes.shape[1] != self.n_components:
            raise ValueError(
                f"`X` must have shape [n, {self.n_components}] (latent codes), got "
                f"{codes.shape}."
            )
        if not np.isfinite(codes).all():
            raise ValueError("`X` contains non-finite values (NaN or inf).")
        return self._decode_means(codes)

    @with_threads
    def sample(self, n_samples=1, random_state=None, return_latent=False):
        """Decode codes drawn from the prior ``N(0, I)`` to mean images.

        Parameters
        ----------
        n_samples : int
            Number of images.
        random_state : int, RandomState instance or None
            Seed of the prior draws (NumPy; the same seed gives the same
            images).
        return_latent : bool
            Also return the latent codes.

        Returns
        -------
        images : ndarray of float32, shape=[n_samples, D]
        codes : ndarray of float32, shape=[n_samples, d]
            If ``return_latent`` is True.
        """
        check_is_fitted(self, "net_")
        n_samples = check_int(n_samples, "n_samples")
        rng = check_random_state(random_state)
        codes = rng.standard_normal((int(n_samples), int(self.n_components))).astype(np.float32)
        images = self._decode_means(codes)
        return (images, codes) if return_latent else images

    @with_threads
    def score_samples(self, X):
        """ELBO of each sample, ``log p(x|z) - KL(q(z|x) || p(z))``, in nats.

        One reparametrised sample per image from a generator with a fixed
        seed, so the result is deterministic.

        Parameters
        ----------
        X : array-like, shape=[n, D] or [n, H, W]

        Returns
        -------
        elbo : ndarray of float64, shape=[n]
        """
        check_is_fitted(self, "net_")
        array, _ = self._validate_X(X, reset=False)
        generator = torch.Generator(device=self.device_).manual_seed(_SCORE_SEED)
        out = []
        with torch.no_grad():
            for x in self._chunks(array):
                rec, kl, *_ = self._terms(self.net_, x, generator)
                out.append((rec - kl).cpu())
        return torch.cat(out).to(torch.float64).numpy()

    def score(self, X, y=None):
        """Mean ELBO per sample (higher is better), see :meth:`score_samples`.

        Parameters
        ----------
        X : array-like, shape=[n, D] or [n, H, W]
        y : None
            Ignored.

        Returns
        -------
        elbo : float
        """
        return float(np.mean(self.score_samples(X)))

    @with_threads
    def objective(self, X, random_state=0):
        """The training loss on ``X`` taken as one batch.

        Negative mean reconstruction log-likelihood plus the model's latent
        penalty (the mean KL for :class:`VAE`), with the TC estimator's
        dataset size ``n_train_``. No gradient is kept.

        Parameters
        ----------
        X : array-like, shape=[n, D] or [n, H, W]
        random_state : int
            Seed of the reparametrisation noise.

        Returns
        -------
        loss : float
        """
        check_is_fitted(self, "net_")
        array, _ = self._validate_X(X, reset=False)
        random_state = check_int(random_state, "random_state", minimum=0)
        generator = torch.Generator(device=self.device_).manual_seed(int(random_state))
        x = torch.as_tensor(array, dtype=F32).to(self.device_)
        with torch.no_grad():
            loss, _ = self._loss(self.net_, x, generator, self.n_train_)
        return float(loss)
