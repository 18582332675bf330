"""The variational auto-encoder as a scikit-learn estimator: :class:`VAE`.

Kingma & Welling (2014), trained with Adam on CPU or GPU. After ``fit``,
``manifold_`` is the latent space as a
:class:`~geomstats_gen.GeneratedManifold` of the mean decoder. The variants
with other latent penalties are in :mod:`geomstats_gen.models.variants`;
their objectives in :mod:`geomstats_gen.models.objectives`, saving and
loading in :mod:`geomstats_gen.models.persistence`.
"""

import numbers
import warnings

import torch
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, Options, StrOptions

from geomstats_gen.decoders import ACTIVATIONS
from geomstats_gen.manifold import GeneratedManifold
from geomstats_gen.models._docs import fill_doc
from geomstats_gen.models._images import conv_layout, validate_images
from geomstats_gen.models._networks import F32, VAENet, build_networks, reset_parameters
from geomstats_gen.models._runtime import resolve_device, with_threads
from geomstats_gen.models.inference import InferenceMixin
from geomstats_gen.models.latent_metrics import LatentMetricsMixin
from geomstats_gen.models.persistence import load_model, register, save_model
from geomstats_gen.models.training import train_epochs

__all__ = ["VAE"]


#: Constraints of the hyper-parameters every model shares (scikit-learn's
#: declarative validation; the sequences are checked in ``_check_params``).
COMMON_CONSTRAINTS = {
    "n_components": [Interval(numbers.Integral, 1, None, closed="left")],
    "architecture": [StrOptions({"mlp", "conv"})],
    "hidden_sizes": "no_validation",
    "channels": "no_validation",
    "activation": [StrOptions(set(ACTIVATIONS))],
    "likelihood": [StrOptions({"bernoulli", "gaussian"})],
    "obs_std": [Interval(numbers.Real, 0, None, closed="neither"), None],
    "image_shape": "no_validation",
    "epochs": [Interval(numbers.Integral, 0, None, closed="left")],
    "batch_size": [Interval(numbers.Integral, 2, None, closed="left")],
    "learning_rate": [Interval(numbers.Real, 0, None, closed="neither")],
    "device": "no_validation",
    "n_jobs": [
        Interval(numbers.Integral, 1, None, closed="left"),
        Options(numbers.Integral, {-1}),
        None,
    ],
    "random_state": ["random_state"],
    "verbose": ["verbose"],
    "n_decoders": [Interval(numbers.Integral, 1, None, closed="left")],
    "warm_start": ["boolean"],
}


def _positive_ints(value, name, allow_empty=True):
    """A sequence of positive integers as a tuple, or an error naming ``name``."""
    what = "a sequence of positive integers"
    try:
        values = tuple(value)
    except TypeError as err:
        raise TypeError(f"`{name}` must be {what}, got {value!r}.") from err
    if (not values and not allow_empty) or not all(
        isinstance(v, numbers.Integral) and not isinstance(v, bool) and v >= 1 for v in values
    ):
        raise ValueError(f"`{name}` must be {what}, got {value!r}.")
    return values


@register
@fill_doc
class VAE(LatentMetricsMixin, InferenceMixin, TransformerMixin, BaseEstimator):
    """Variational auto-encoder with a Gaussian latent space.

    Encoder ``q(z | x) = N(mu(x), diag(sigma^2(x)))``, prior ``N(0, I)``,
    decoder ``p(x | z)`` Bernoulli or Gaussian; trained by maximising the
    ELBO ``E_q[log p(x | z)] - KL(q(z | x) || p(z))`` (analytic KL, one
    reparametrised sample) with Adam.

    Parameters
    ----------
%(common_params)s

%(common_attributes)s

    Examples
    --------
    >>> from geomstats_gen.datasets import load_digits
    >>> from geomstats_gen.models import VAE
    >>> X, y = load_digits(return_X_y=True)
    >>> vae = VAE(n_components=2, epochs=50, random_state=0).fit(X)
    >>> codes = vae.transform(X)                  # [n, 2] latent means
    >>> G = vae.manifold_.metric.metric_matrix(codes[:5])  # [5, 2, 2]
    """

    def __init__(
        self,
        n_components=2,
        *,
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
        self.n_components = n_components
        self.architecture = architecture
        self.hidden_sizes = hidden_sizes
        self.channels = channels
        self.activation = activation
        self.likelihood = likelihood
        self.obs_std = obs_std
        self.image_shape = image_shape
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.device = device
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose
        self.n_decoders = n_decoders
        self.warm_start = warm_start

    # ------------------------------------------------------------------
    # Hyper-parameters
    # ------------------------------------------------------------------
    _parameter_constraints = dict(COMMON_CONSTRAINTS)

    def _check_params(self):
        """Validate the hyper-parameters (raises ValueError/TypeError naming one)."""
        self._validate_params()
        _positive_ints(self.hidden_sizes, "hidden_sizes")
        if self.channels is not None:
            _positive_ints(self.channels, "channels", allow_empty=False)
        if self.image_shape is not None:
            shape = self.image_shape if isinstance(self.image_shape, (tuple, list)) else ()
            if len(shape) != 2 or not all(
                isinstance(s, numbers.Integral) and not isinstance(s, bool) and s >= 1
                for s in shape
            ):
                raise ValueError(
                    f"`image_shape` must be None or (H, W), got {self.image_shape!r}."
                )
        resolve_device(self.device)
        self._check_model_params()

    def _check_model_params(self):
        """Validate the model's own weights; overridden by subclasses."""

    def _fitted_extras(self):
        """Resolved model-specific values to save with the model."""
        return {}

    # ------------------------------------------------------------------
    # Data
    # ------------------------------------------------------------------
    def _validate_X(self, X, reset):
        """Check ``X`` and return it as float32 ``[n, D]`` plus its image shape."""
        fitted = None if reset else (self.n_features_in_, self.image_shape_)
        return validate_images(X, self.likelihood, self.image_shape, fitted)

    def _conv_layout(self, n_features, images):
        """Image shape and channels for the architecture (validated)."""
        return conv_layout(self.architecture, self.channels, n_features, images)

    def _build_net(self, n_features, images, channels, generator):
        """Fresh networks, weights drawn from ``generator`` (on the CPU)."""
        with torch.random.fork_rng(devices=[]):
            built = [
                build_networks(
                    self.architecture,
                    n_features,
                    int(self.n_components),
                    tuple(int(h) for h in self.hidden_sizes),
                    self.activation,
                    image_shape=images,
                    channels=channels,
                )
                for _ in range(int(self.n_decoders))
            ]
            encoder, decoder = built[0]
            net = VAENet(
                encoder,
                decoder,
                int(self.n_components),
                self.likelihood,
                obs_std=None if self.obs_std is None else float(self.obs_std),
                extra_decoders=[d for _, d in built[1:]],
            )
        reset_parameters(net, generator)
        return net

    # ------------------------------------------------------------------
    # Objective
    # ------------------------------------------------------------------
    def _terms(self, net, x, generator):
        """Encode, sample, decode: ``(log p(x|z), KL, mean, logvar, z)``."""
        mean, logvar = net.encode(x)
        eps = torch.randn(mean.shape, generator=generator, dtype=F32, device=x.device)
        z = mean + torch.exp(0.5 * logvar) * eps
        rec = net.log_likelihood(x, z)
        kl = 0.5 * (mean.square() + torch.exp(logvar) - 1.0 - logvar).sum(dim=1)
        return rec, kl, mean, logvar, z

    def _regulariser(self, kl, mean, logvar, z, dataset_size):
        """The model's latent penalty on a batch (a scalar): the mean KL here."""
        return kl.mean()

    def _loss(self, net, x, generator, dataset_size):
        rec, kl, mean, logvar, z = self._terms(net, x, generator)
        loss = -rec.mean() + self._regulariser(kl, mean, logvar, z, dataset_size)
        return loss, rec - kl

    # ------------------------------------------------------------------
    # Fit
    # ------------------------------------------------------------------
    @with_threads
    def fit(self, X, y=None):
        """Train the model on images.

        Parameters
        ----------
        X : array-like, shape=[n, D] or [n, H, W]
            Training images, float; in [0, 1] for a Bernoulli likelihood.
            NumPy arrays or torch tensors.
        y : None
            Ignored.

        Returns
        -------
        self : object
            The fitted model.

        Raises
        ------
        ValueError
            Bad hyper-parameters or data (shape, NaN, range, fewer than 2
            samples), or the loss became non-finite during training.
        """
        self._check_params()
        warm = bool(self.warm_start) and hasattr(self, "net_")
        array, images = self._validate_X(X, reset=not warm)
        n_samples, n_features = array.shape
        if n_samples < 2:
            raise ValueError(f"`X` must hold at least 2 samples to train, got {n_samples}.")
        batch_size = int(self.batch_size)
        if n_samples < batch_size:
            warnings.warn(
                f"`X` holds {n_samples} samples, fewer than batch_size={batch_size}: "
                f"training with batches of {n_samples}.",
                UserWarning,
                stacklevel=3,
            )
            batch_size = n_samples
        seed = int(check_random_state(self.random_state).randint(0, 2**31 - 1))
        if warm:
            # Continue the fitted networks where they are; a new seed per
            # continuation keeps its shuffles different from the last call's.
            net, device = self.net_, self.device_
            images, channels, earlier = self.image_shape_, self.channels_, self.history_
            seed = (seed + 7919 * len(earlier)) % (2**31 - 1)
            net.train()
        else:
            images, channels = self._conv_layout(n_features, images)
            device = resolve_device(self.device)
            earlier = []
        cpu_gen = torch.Generator().manual_seed(seed)
        noise_gen = torch.Generator(device=device).manual_seed(seed + 1)
        if not warm:
            net = self._build_net(n_features, images, channels, cpu_gen).to(device)
        data = torch.as_tensor(array, dtype=F32).to(device)
        history = train_epochs(
            net,
            data,
            lambda batch: self._loss(net, batch, noise_gen, n_samples)[0],
            epochs=int(self.epochs),
            batch_size=batch_size,
            learning_rate=float(self.learning_rate),
            generator=cpu_gen,
            desc=type(self).__name__ if self.verbose else None,
        )
        self._set_fitted(
            net,
            n_features=n_features,
            images=images,
            channels=channels,
            history=[*earlier, *history],
            batch_size=batch_size,
            n_train=n_samples,
            device=device,
        )
        return self

    def _set_fitted(self, net, *, n_features, images, channels, history, batch_size,
                    n_train, device):
        # A fitted model's weights are constants: geometry differentiated in
        # the latent codes (Geomstats' gradient-based estimators) then skips
        # their gradients and leaves no ``.grad`` on them (``fit`` with
        # ``warm_start`` turns them back on to train).
        net.eval().requires_grad_(False)
        self.net_ = net
        self.mean_decoder_ = net.make_mean_decoder()
        self.n_features_in_ = int(n_features)
        self.image_shape_ = None if images is None else tuple(int(s) for s in images)
        self.channels_ = tuple(int(c) for c in channels)
        self.history_ = [float(h) for h in history]
        self.batch_size_ = int(batch_size)
        self.n_train_ = int(n_train)
        self.device_ = device
        self.manifold_ = GeneratedManifold(self.mean_decoder_, int(self.n_components))
        self.variance_net_ = None  # fitted on request (fit_variance)

    # ------------------------------------------------------------------
    # Persistence
    # ------------------------------------------------------------------
    def save(self, path):
        """Save weights and configuration to a file, atomically.

        See :func:`geomstats_gen.models.persistence.save_model`.

        Parameters
        ----------
        path : str or os.PathLike

        Returns
        -------
        path : str
        """
        return save_model(self, path)

    @classmethod
    def load(cls, path, device=None):
        """Load a model written by :meth:`save`.

        See :func:`geomstats_gen.models.persistence.load_model`.

        Parameters
        ----------
        path : str or os.PathLike
        device : str or torch.device, optional
            Where to put the model. Default: the saved ``device`` if
            available here, else the CPU.

        Returns
        -------
        model : VAE
            An instance of the saved class (``cls`` or a subclass).
        """
        return load_model(cls, path, device=device)

    def _load_extras(self, fitted):
        """Restore what :meth:`_fitted_extras` saved."""
