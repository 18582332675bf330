"""The numpydoc text the models share (parameters and attributes)."""

__all__ = ["fill_doc"]

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
    n_decoders : int
        Decoders trained with the one encoder (an ensemble, Syrota et al.
        2024): the reconstruction term is their mean log-likelihood, the
        mean image their average, and ``manifold("ensemble")`` the expected
        metric of the ensemble. 1 (default) is a plain VAE.
    warm_start : bool
        When True and the model is already fitted, ``fit`` continues
        training the current networks for ``epochs`` more epochs (new Adam
        state; same image size and architecture), and ``history_`` grows.
        False (default) trains fresh networks.
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
        sample) of each epoch (of every ``fit`` call with ``warm_start``).
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


def fill_doc(cls):
    """Fill a model class's ``%(common_params)s`` and ``%(common_attributes)s``."""
    cls.__doc__ = cls.__doc__.replace("%(common_params)s", _COMMON_PARAMS_DOC.strip("\n"))
    cls.__doc__ = cls.__doc__.replace(
        "%(common_attributes)s", _COMMON_ATTRIBUTES_DOC.strip("\n")
    )
    return cls
