"""Variational auto-encoders as scikit-learn estimators.

:class:`VAE` (Kingma & Welling 2014), :class:`BetaVAE` (Higgins et al.
2017), :class:`BetaTCVAE` (Chen et al. 2018) and :class:`DIPVAE` (Kumar et
al. 2018, types I and II), trained with Adam on CPU or GPU. After ``fit``,
``manifold_`` is the latent space as a
:class:`~geomstats_gen.GeneratedManifold` of the mean decoder.
"""

import contextlib
import functools
import math
import numbers
import os
import tempfile
import warnings

import numpy as np
import torch
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from geomstats_gen.decoders import ACTIVATIONS
from geomstats_gen.manifold import GeneratedManifold
from geomstats_gen.models._networks import (
    F32,
    VAENet,
    build_networks,
    conv_depth,
    reset_parameters,
)

__all__ = ["VAE", "BetaVAE", "BetaTCVAE", "DIPVAE"]

FILE_FORMAT = "geomstats_gen.models"
FILE_VERSION = 1
_DEFAULT_CHANNELS = (32, 32, 64, 64)
_CHUNK = 4096  # rows per forward pass outside training
_SCORE_SEED = 0
_LOG_2PI = math.log(2 * math.pi)

_REGISTRY = {}

_COMMON_PARAMS_DOC = """
    n_components : int
        Dimension ``d`` of the latent space (scikit-learn's name, as in
        ``PCA``).
    architecture : {"mlp", "conv"}
        Fully connected networks, or stride-2 4x4 convolutions (images only)
        followed by the dense layers ``hidden_sizes``; the decoder mirrors
        the encoder.
    hidden_sizes : tuple of int
        Sizes of the dense hidden layers of the encoder, from the input
        side; the decoder uses them reversed. May be empty (a linear
        decoder, whose latent space is flat).
    channels : tuple of int, optional
        Channels of the convolutions ("conv"). Default: as many of
        ``(32, 32, 64, 64)`` as halvings fit the image while both sides stay
        even and at least 4 pixels (64x64 -> 4 layers, 28x28 -> 2, 8x8 -> 1).
        The image sides must be divisible by ``2 ** len(channels)``.
    activation : str
        Hidden activation, one of ``"softplus"`` (default), ``"elu"``,
        ``"silu"``, ``"tanh"``, ``"sigmoid"``, ``"relu"``. Prefer a smooth
        one: the decoder's curvature comes from its second derivatives, which
        vanish almost everywhere for ReLU (and ELU's jump at 0).
    likelihood : {"bernoulli", "gaussian"}
        Observation model: Bernoulli pixels (data in [0, 1]; the decoder
        outputs logits and the mean decoder ends with a sigmoid) or
        Gaussian pixels with standard deviation ``obs_std``.
    obs_std : float, optional
        Standard deviation of the Gaussian likelihood; None learns one
        scalar. Ignored for a Bernoulli likelihood.
    image_shape : tuple of int, optional
        ``(H, W)`` of images passed flat (``[n, H*W]``), for "conv". Taken
        from ``X`` when it is ``[n, H, W]``; inferred as square when
        ``H*W`` is a perfect square.
    epochs : int
        Passes over the data (0 gives the initialised, untrained model).
    batch_size : int
        Largest mini-batch size. Each epoch the shuffled data is split into
        ``ceil(n / batch_size)`` batches of near-equal sizes (every sample is
        used). If ``n < batch_size``, the batch size becomes ``n`` with a
        warning (``batch_size_``); at least 2 samples are needed.
    learning_rate : float
        Adam's learning rate.
    device : str or torch.device
        Where to train and keep the model: ``"cpu"``, ``"cuda"``,
        ``"cuda:1"``, ... or ``"auto"`` (CUDA when available). Weights and
        computations are float32.
    n_jobs : int, optional
        Number of CPU threads torch uses while this model trains, encodes or
        decodes (``torch.set_num_threads``, restored afterwards; -1: all
        cores). None leaves torch's setting alone. 1 is often fastest for
        small networks, and on a busy machine.
    random_state : int, RandomState instance or None
        Seeds weight initialisation, shuffling and the reparametrisation
        noise through private torch generators (torch's global random state
        is left untouched). The same integer gives the same weights on CPU.
    verbose : bool or int
        Show a tqdm progress bar over epochs with the running loss (printed
        lines if tqdm is not installed).
"""

_COMMON_ATTRIBUTES_DOC = """
    Attributes
    ----------
    net_ : torch.nn.Module
        The trained networks (``net_.encoder``: ``[n, D] -> [n, 2 d]``
        means and log-variances; ``net_.decoder``: ``[n, d] -> [n, D]``
        logits or means), float32, on ``device_``.
    mean_decoder_ : torch.nn.Module
        ``[n, d] -> [n, D]``, the mean image (ends with a sigmoid for a
        Bernoulli likelihood), in eval mode, sharing the weights of
        ``net_.decoder``.
    manifold_ : GeneratedManifold
        The latent space with the pullback metric of ``mean_decoder_``.
    history_ : list of float
        Mean training loss (negative ELBO plus the model's regulariser, per
        sample) of each epoch.
    n_features_in_ : int
        ``D``, the number of pixels.
    image_shape_ : tuple of int or None
        ``(H, W)`` when known.
    channels_ : tuple of int
        Convolution channels used (empty for "mlp").
    batch_size_ : int
        Batch size used.
    n_train_ : int
        Number of training samples (the dataset size of the TC estimator).
    device_ : torch.device
"""


def _doc(cls):
    cls.__doc__ = cls.__doc__.replace("%(common_params)s", _COMMON_PARAMS_DOC.strip("\n"))
    cls.__doc__ = cls.__doc__.replace(
        "%(common_attributes)s", _COMMON_ATTRIBUTES_DOC.strip("\n")
    )
    _REGISTRY[cls.__name__] = cls
    return cls


def _is_int(value, minimum):
    return not isinstance(value, bool) and isinstance(value, numbers.Integral) and value >= minimum


def _check_number(value, name, minimum=0.0, strict=False):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"`{name}` must be a real number, got {type(value).__name__}.")
    value = float(value)
    if not math.isfinite(value) or value < minimum or (strict and value == minimum):
        relation = ">" if strict else ">="
        raise ValueError(f"`{name}` must be a finite number {relation} {minimum}, got {value!r}.")
    return value


def _resolve_device(device):
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ValueError(
            f"`device` must be 'cpu', 'cuda', 'cuda:<k>', 'auto' or a torch.device, "
            f"got {device!r}."
        ) from err
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"`device` is {device!r} but CUDA is not available here.")
    return resolved


@contextlib.contextmanager
def _threads(n_jobs):
    """Set torch's number of CPU threads for a block (None: unchanged)."""
    if n_jobs is None:
        yield
        return
    wanted = (os.cpu_count() or 1) if n_jobs == -1 else int(n_jobs)
    previous = torch.get_num_threads()
    torch.set_num_threads(wanted)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _with_threads(method):
    """Run an estimator method under its ``n_jobs`` thread setting."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        n_jobs = getattr(self, "n_jobs", None)
        if not (n_jobs is None or _is_int(n_jobs, 1) or n_jobs == -1):
            n_jobs = None  # reported by _check_params in fit
        with _threads(n_jobs):
            return method(self, *args, **kwargs)

    return wrapper


def _plain(value):
    """A hyper-parameter as plain Python (what ``weights_only`` loading reads)."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, (tuple, list, np.ndarray)):
        return [_plain(v) for v in value]
    raise TypeError(
        f"Cannot save the hyper-parameter value {value!r} of type {type(value).__name__}."
    )


def _check_path(path):
    """``os.fspath(path)``, with a TypeError naming ``path`` otherwise."""
    try:
        return os.fspath(path)
    except TypeError as err:
        raise TypeError(
            f"`path` must be a str or os.PathLike, got {type(path).__name__}."
        ) from err


def _gaussian_log_density(z, mean, logvar):
    """Elementwise ``log N(z; mean, exp(logvar))``."""
    return -0.5 * (_LOG_2PI + logvar + (z - mean).square() * torch.exp(-logvar))


@_doc
class VAE(TransformerMixin, BaseEstimator):
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

    # ------------------------------------------------------------------
    # Hyper-parameters
    # ------------------------------------------------------------------
    def _check_params(self):
        """Validate the hyper-parameters (raises ValueError/TypeError)."""
        if not _is_int(self.n_components, 1):
            raise ValueError(
                f"`n_components` (latent dimension) must be a positive integer, got "
                f"{self.n_components!r}."
            )
        if self.architecture not in ("mlp", "conv"):
            raise ValueError(
                f"`architecture` must be 'mlp' or 'conv', got {self.architecture!r}."
            )
        try:
            hidden = tuple(self.hidden_sizes)
        except TypeError as err:
            raise TypeError(
                f"`hidden_sizes` must be a sequence of positive integers, got "
                f"{self.hidden_sizes!r}."
            ) from err
        if not all(_is_int(h, 1) for h in hidden):
            raise ValueError(
                f"`hidden_sizes` must be a sequence of positive integers, got "
                f"{self.hidden_sizes!r}."
            )
        if self.channels is not None:
            try:
                channels = tuple(self.channels)
            except TypeError as err:
                raise TypeError(
                    f"`channels` must be None or a sequence of positive integers, got "
                    f"{self.channels!r}."
                ) from err
            if not channels or not all(_is_int(c, 1) for c in channels):
                raise ValueError(
                    "`channels` must be None or a non-empty sequence of positive "
                    f"integers, got {self.channels!r}."
                )
        if self.activation not in ACTIVATIONS:
            raise ValueError(
                f"`activation` must be one of {sorted(ACTIVATIONS)}, got {self.activation!r}."
            )
        if self.likelihood not in ("bernoulli", "gaussian"):
            raise ValueError(
                f"`likelihood` must be 'bernoulli' or 'gaussian', got {self.likelihood!r}."
            )
        if self.obs_std is not None:
            _check_number(self.obs_std, "obs_std", strict=True)
        if self.image_shape is not None:
            shape = self.image_shape
            shape = tuple(shape) if isinstance(shape, (tuple, list)) else None
            if shape is None or len(shape) != 2 or not all(_is_int(s, 1) for s in shape):
                raise ValueError(
                    f"`image_shape` must be None or (H, W), got {self.image_shape!r}."
                )
        if not _is_int(self.epochs, 0):
            raise ValueError(f"`epochs` must be a non-negative integer, got {self.epochs!r}.")
        if not _is_int(self.batch_size, 2):
            raise ValueError(f"`batch_size` must be an integer >= 2, got {self.batch_size!r}.")
        _check_number(self.learning_rate, "learning_rate", strict=True)
        _resolve_device(self.device)
        if self.n_jobs is not None and not (_is_int(self.n_jobs, 1) or self.n_jobs == -1):
            raise ValueError(
                f"`n_jobs` must be None, -1 or a positive integer, got {self.n_jobs!r}."
            )
        check_random_state(self.random_state)
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
        if isinstance(X, torch.Tensor):
            X = X.detach().cpu().numpy()
        try:
            array = np.asarray(X)
        except (TypeError, ValueError) as err:
            raise TypeError(f"`X` must be an array of numbers, got {type(X).__name__}.") from err
        if array.dtype == object or not (
            np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_
        ):
            raise TypeError(f"`X` must be an array of numbers, got dtype {array.dtype}.")
        if np.iscomplexobj(array):
            raise TypeError("`X` must be real, got complex values.")
        if array.ndim not in (2, 3):
            raise ValueError(
                "`X` must have shape [n, D] (flat) or [n, H, W] (images), got shape "
                f"{array.shape}."
            )
        if array.shape[0] == 0 or math.prod(array.shape[1:]) == 0:
            raise ValueError(f"`X` is empty (shape {array.shape}).")
        images = tuple(int(s) for s in array.shape[1:]) if array.ndim == 3 else None
        array = np.ascontiguousarray(array.reshape(len(array), -1), dtype=np.float32)
        if not np.isfinite(array).all():
            raise ValueError("`X` contains non-finite values (NaN or inf).")
        if self.likelihood == "bernoulli" and (array.min() < 0 or array.max() > 1):
            raise ValueError(
                "`X` must hold values in [0, 1] for likelihood='bernoulli', got "
                f"values in [{array.min():.4g}, {array.max():.4g}]; rescale the data "
                "or use likelihood='gaussian'."
            )
        n_features = array.shape[1]
        if reset:
            if images is None and self.image_shape is not None:
                images = tuple(int(s) for s in self.image_shape)
                if math.prod(images) != n_features:
                    raise ValueError(
                        f"`image_shape` {images} does not match the {n_features} "
                        "features of `X`."
                    )
            return array, images
        if n_features != self.n_features_in_:
            raise ValueError(
                f"`X` has {n_features} features (shape {tuple(np.shape(X))}) but the "
                f"model was fitted on {self.n_features_in_}."
            )
        if images is not None and self.image_shape_ is not None and images != self.image_shape_:
            raise ValueError(
                f"`X` holds images of shape {images} but the model was fitted on "
                f"{self.image_shape_}."
            )
        return array, images

    def _conv_layout(self, n_features, images):
        """Image shape and channels for the architecture (validated)."""
        if self.architecture == "mlp":
            return images, ()
        if images is None:
            side = math.isqrt(n_features)
            if side * side != n_features:
                raise ValueError(
                    f"architecture='conv' needs images: pass `X` as [n, H, W] or set "
                    f"`image_shape`; {n_features} features are not a square image."
                )
            images = (side, side)
        if self.channels is None:
            depth = conv_depth(images)
            if depth == 0:
                raise ValueError(
                    f"Images of shape {images} are too small or odd-sized for "
                    "architecture='conv' (need even sides >= 8); use 'mlp'."
                )
            channels = _DEFAULT_CHANNELS[:depth]
        else:
            channels = tuple(int(c) for c in self.channels)
            factor = 2 ** len(channels)
            if images[0] % factor or images[1] % factor:
                raise ValueError(
                    f"Image sides {images} must be divisible by 2**len(channels) = "
                    f"{factor} for `channels` {channels}."
                )
        return images, channels

    def _build_net(self, n_features, images, channels, generator):
        """Fresh networks, weights drawn from ``generator`` (on the CPU)."""
        with torch.random.fork_rng(devices=[]):
            encoder, decoder = build_networks(
                self.architecture,
                n_features,
                int(self.n_components),
                tuple(int(h) for h in self.hidden_sizes),
                self.activation,
                image_shape=images,
                channels=channels,
            )
            net = VAENet(
                encoder,
                decoder,
                int(self.n_components),
                self.likelihood,
                obs_std=None if self.obs_std is None else float(self.obs_std),
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
    @_with_threads
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
        array, images = self._validate_X(X, reset=True)
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
        images, channels = self._conv_layout(n_features, images)
        device = _resolve_device(self.device)
        seed = int(check_random_state(self.random_state).randint(0, 2**31 - 1))
        cpu_gen = torch.Generator().manual_seed(seed)
        noise_gen = torch.Generator(device=device).manual_seed(seed + 1)
        net = self._build_net(n_features, images, channels, cpu_gen).to(device)
        data = torch.as_tensor(array, dtype=F32).to(device)
        optimizer = torch.optim.Adam(net.parameters(), lr=float(self.learning_rate))
        # Near-equal batches of at most batch_size, and at least 2 samples each.
        n_batches = max(1, min(math.ceil(n_samples / batch_size), n_samples // 2))
        history = []
        net.train()
        try:
            for epoch in self._epochs():
                perm = torch.randperm(n_samples, generator=cpu_gen).to(device)
                total = 0.0
                for idx in torch.tensor_split(perm, n_batches):
                    loss, _ = self._loss(net, data[idx], noise_gen, n_samples)
                    optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                    optimizer.step()
                    total += float(loss.detach()) * len(idx)
                mean_loss = total / n_samples
                if not math.isfinite(mean_loss):
                    raise ValueError(
                        f"The training loss became non-finite at epoch {epoch + 1}; "
                        f"lower `learning_rate` (now {self.learning_rate})."
                    )
                history.append(mean_loss)
                self._report(epoch, mean_loss)
        finally:
            self._close_report()
        self._set_fitted(
            net,
            n_features=n_features,
            images=images,
            channels=channels,
            history=history,
            batch_size=batch_size,
            n_train=n_samples,
            device=device,
        )
        return self

    def _epochs(self):
        epochs = range(int(self.epochs))
        self._bar = None
        if self.verbose:
            try:
                from tqdm.auto import tqdm
            except ImportError:  # pragma: no cover - tqdm is optional
                return epochs
            self._bar = tqdm(epochs, desc=type(self).__name__, unit="epoch")
            return self._bar
        return epochs

    def _report(self, epoch, loss):
        if not self.verbose:
            return
        if self._bar is not None:
            self._bar.set_postfix(loss=f"{loss:.4g}")
        else:  # pragma: no cover - tqdm is optional
            print(f"{type(self).__name__} epoch {epoch + 1}/{self.epochs}: loss {loss:.4g}")

    def _close_report(self):
        bar = self.__dict__.pop("_bar", None)
        if bar is not None:
            bar.close()

    def _set_fitted(self, net, *, n_features, images, channels, history, batch_size,
                    n_train, device):
        net.eval()
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

    # ------------------------------------------------------------------
    # Inference
    # ------------------------------------------------------------------
    def _chunks(self, array):
        for start in range(0, len(array), _CHUNK):
            yield torch.as_tensor(array[start : start + _CHUNK], dtype=F32).to(self.device_)

    @_with_threads
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

    def _decode_means(self, z):
        with torch.no_grad():
            outs = [self.mean_decoder_(chunk).cpu() for chunk in self._chunks(z)]
        return torch.cat(outs).numpy()

    @_with_threads
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

    @_with_threads
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
        if not _is_int(n_samples, 1):
            raise ValueError(f"`n_samples` must be a positive integer, got {n_samples!r}.")
        rng = check_random_state(random_state)
        codes = rng.standard_normal((int(n_samples), int(self.n_components))).astype(np.float32)
        images = self._decode_means(codes)
        return (images, codes) if return_latent else images

    @_with_threads
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

    @_with_threads
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
        if not _is_int(random_state, 0):
            raise ValueError(
                f"`random_state` must be a non-negative integer, got {random_state!r}."
            )
        generator = torch.Generator(device=self.device_).manual_seed(int(random_state))
        x = torch.as_tensor(array, dtype=F32).to(self.device_)
        with torch.no_grad():
            loss, _ = self._loss(self.net_, x, generator, self.n_train_)
        return float(loss)

    # ------------------------------------------------------------------
    # Persistence
    # ------------------------------------------------------------------
    def save(self, path):
        """Save weights and configuration to a file, atomically.

        The file is written next to ``path`` under a temporary name and
        moved over ``path`` with :func:`os.replace`, so an existing file is
        never left half-written. It holds only tensors and plain Python
        values, read back with ``torch.load(weights_only=True)``.

        Parameters
        ----------
        path : str or os.PathLike

        Returns
        -------
        path : str
        """
        check_is_fitted(self, "net_")
        path = _check_path(path)
        params = self.get_params(deep=False)
        if not isinstance(params["random_state"], (numbers.Integral, type(None))):
            params["random_state"] = None  # a RandomState instance is not saved
        params["device"] = str(params["device"])
        params = {key: _plain(value) for key, value in params.items()}
        payload = {
            "format": FILE_FORMAT,
            "format_version": FILE_VERSION,
            "class": type(self).__name__,
            "params": params,
            "fitted": {
                "n_features_in_": self.n_features_in_,
                "image_shape_": None if self.image_shape_ is None else list(self.image_shape_),
                "channels_": list(self.channels_),
                "history_": list(self.history_),
                "batch_size_": self.batch_size_,
                "n_train_": self.n_train_,
                **self._fitted_extras(),
            },
            "state_dict": {
                key: value.detach().to("cpu", copy=True)
                for key, value in self.net_.state_dict().items()
            },
        }
        folder = os.path.dirname(os.path.abspath(path))
        fd, tmp = tempfile.mkstemp(
            prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=folder
        )
        try:
            with os.fdopen(fd, "wb") as handle:
                torch.save(payload, handle)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp, 0o644)  # mkstemp creates 0600 files
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        return path

    @classmethod
    def load(cls, path, device=None):
        """Load a model written by :meth:`save`.

        Read with ``torch.load(weights_only=True)``: no pickled code runs.
        Either a complete model is returned or an error is raised.

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

        Raises
        ------
        FileNotFoundError
            If ``path`` does not exist.
        ValueError
            If the file is truncated, corrupted, not written by :meth:`save`,
            or holds another model class than ``cls``.
        """
        path = _check_path(path)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"No model file at {path!r}.")
        try:
            payload = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as err:  # noqa: BLE001 - any failure means a bad file
            raise ValueError(
                f"{path!r} is not a readable geomstats_gen model file (truncated, "
                f"corrupted, or not written by save()): {type(err).__name__}: {err}"
            ) from err
        bad = f"{path!r} is not a geomstats_gen model file"
        if not isinstance(payload, dict) or payload.get("format") != FILE_FORMAT:
            raise ValueError(f"{bad} (no '{FILE_FORMAT}' format marker).")
        if payload.get("format_version") != FILE_VERSION:
            raise ValueError(
                f"{path!r} has format version {payload.get('format_version')!r}; this "
                f"version of geomstats_gen reads version {FILE_VERSION}."
            )
        name = payload.get("class")
        klass = _REGISTRY.get(name)
        if klass is None:
            raise ValueError(f"{bad}: unknown model class {name!r}.")
        if not issubclass(klass, cls):
            raise ValueError(
                f"{path!r} holds a {name}, not a {cls.__name__}; load it with "
                f"{name}.load or VAE.load."
            )
        params, fitted, state = (payload.get(k) for k in ("params", "fitted", "state_dict"))
        if not all(isinstance(v, dict) for v in (params, fitted, state)):
            raise ValueError(f"{bad}: missing params, fitted values or weights.")
        try:
            model = klass(**params)
            model._check_params()
            for key in ("image_shape", "hidden_sizes", "channels"):
                if getattr(model, key) is not None:
                    setattr(model, key, tuple(getattr(model, key)))
            images = fitted["image_shape_"]
            images = None if images is None else tuple(int(s) for s in images)
            channels = tuple(int(c) for c in fitted["channels_"])
            n_features = int(fitted["n_features_in_"])
            net = model._build_net(n_features, images, channels, torch.Generator().manual_seed(0))
            if not all(isinstance(v, torch.Tensor) for v in state.values()):
                raise TypeError("the weights are not all tensors")
            net.load_state_dict(state, strict=True)
            if not all(bool(torch.isfinite(t).all()) for t in net.state_dict().values()):
                raise ValueError("the weights hold non-finite values")
            if device is None:
                try:
                    target = _resolve_device(model.device)
                except ValueError:
                    target = torch.device("cpu")
            else:
                target = _resolve_device(device)
                model.device = device
            model._load_extras(fitted)
            model._set_fitted(
                net.to(target),
                n_features=n_features,
                images=images,
                channels=channels,
                history=[float(h) for h in fitted["history_"]],
                batch_size=int(fitted["batch_size_"]),
                n_train=int(fitted["n_train_"]),
                device=target,
            )
        except (KeyError, TypeError, ValueError, RuntimeError) as err:
            raise ValueError(f"{bad} or is corrupted: {type(err).__name__}: {err}") from err
        return model

    def _load_extras(self, fitted):
        """Restore what :meth:`_fitted_extras` saved."""


@_doc
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
        )
        self.beta = beta

    def _check_model_params(self):
        _check_number(self.beta, "beta")

    def _regulariser(self, kl, mean, logvar, z, dataset_size):
        return float(self.beta) * kl.mean()


def _log_importance_weights(batch, dataset_size, like):
    """Log-weights of minibatch stratified sampling (Chen et al. 2018), ``[M, M]``.

    Row ``i`` weighs the batch's posteriors to estimate ``q(z_i)``: ``1/N``
    for the sample's own posterior, ``(N - M + 1) / (N (M - 1))`` for one
    other sample and ``1 / (M - 1)`` for the rest (``N`` dataset size,
    ``M`` batch size).
    """
    n = max(int(dataset_size), batch)
    m = batch - 1
    weights = torch.full((batch, batch), 1.0 / m, dtype=like.dtype, device=like.device)
    strat = (n - m) / (n * m)
    index = torch.arange(batch, device=like.device)
    weights[index, index] = 1.0 / n
    weights[index, (index + 1) % batch] = strat
    return torch.log(weights)


def tc_decomposition(z, mean, logvar, dataset_size):
    """KL decomposition of Chen et al. (2018), minibatch stratified sampling.

    ``E[KL(q(z|x) || p(z))] = MI + TC + dimension-wise KL`` with
    ``MI = E[log q(z|x) - log q(z)]``, ``TC = E[log q(z) - sum_j log
    q(z_j)]``, ``DWKL = E[sum_j log q(z_j) - log p(z)]``; the aggregate
    posterior ``q(z)`` and its marginals are estimated on the batch by
    minibatch stratified sampling. The three terms add up to the Monte
    Carlo KL ``mean(log q(z|x) - log p(z))`` exactly.

    Parameters
    ----------
    z, mean, logvar : torch.Tensor, shape=[M, d]
        Samples and posterior parameters of a batch, ``M >= 2``.
    dataset_size : int
        ``N``, the size of the training set.

    Returns
    -------
    mi, tc, dwkl : torch.Tensor, shape=[]
        Batch means.
    """
    batch = z.shape[0]
    if batch < 2:
        raise ValueError(f"The TC decomposition needs a batch of at least 2, got {batch}.")
    log_w = _log_importance_weights(batch, dataset_size, z)
    log_q_pairs = _gaussian_log_density(z[:, None, :], mean[None, :, :], logvar[None, :, :])
    log_q_z_given_x = _gaussian_log_density(z, mean, logvar).sum(dim=1)
    log_q_z = torch.logsumexp(log_w + log_q_pairs.sum(dim=2), dim=1)
    log_q_marginals = torch.logsumexp(log_w[:, :, None] + log_q_pairs, dim=1).sum(dim=1)
    log_p_z = _gaussian_log_density(z, torch.zeros_like(z), torch.zeros_like(z)).sum(dim=1)
    mi = (log_q_z_given_x - log_q_z).mean()
    tc = (log_q_z - log_q_marginals).mean()
    dwkl = (log_q_marginals - log_p_z).mean()
    return mi, tc, dwkl


@_doc
class BetaTCVAE(VAE):
    """beta-TCVAE (Chen et al. 2018): the KL split and reweighted.

    Loss ``-E_q[log p(x|z)] + alpha MI + beta TC + gamma DWKL`` (see
    :func:`tc_decomposition`), implemented as ``KL + (alpha - 1) MI +
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
        )
        self.alpha = alpha
        self.beta = beta
        self.gamma = gamma

    def _check_model_params(self):
        for name in ("alpha", "beta", "gamma"):
            _check_number(getattr(self, name), name)

    def _regulariser(self, kl, mean, logvar, z, dataset_size):
        penalty = kl.mean()
        weights = (float(self.alpha) - 1.0, float(self.beta) - 1.0, float(self.gamma) - 1.0)
        if any(weights):
            terms = tc_decomposition(z, mean, logvar, dataset_size)
            for weight, term in zip(weights, terms):
                if weight:
                    penalty = penalty + weight * term
        return penalty


@_doc
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
        )
        self.lambda_od = lambda_od
        self.lambda_d = lambda_d
        self.dip_type = dip_type

    def _check_model_params(self):
        _check_number(self.lambda_od, "lambda_od")
        if self.lambda_d is not None:
            _check_number(self.lambda_d, "lambda_d")
        if self.dip_type not in ("i", "ii"):
            raise ValueError(f"`dip_type` must be 'i' or 'ii', got {self.dip_type!r}.")

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
        penalty = kl.mean()
        lambda_od = float(self.lambda_od)
        lambda_d = self._resolved_lambda_d()
        if lambda_od == 0.0 and lambda_d == 0.0:
            return penalty
        centred = mean - mean.mean(dim=0, keepdim=True)
        cov = centred.T @ centred / mean.shape[0]
        if self.dip_type == "ii":
            cov = cov + torch.diag(torch.exp(logvar).mean(dim=0))
        diag = torch.diagonal(cov)
        off = cov - torch.diag(diag)
        return penalty + lambda_od * off.square().sum() + lambda_d * (diag - 1.0).square().sum()
