"""Disentanglement scores of latent codes against known generating factors."""


import numpy as np
from sklearn.metrics import mutual_info_score

from geomstats_gen.core.checks import check_int

__all__ = ["mig_score", "mutual_information_matrix"]


def _check_codes_factors(codes, factors):
    codes = np.asarray(codes)
    factors = np.asarray(factors)
    if codes.dtype == object or not np.issubdtype(codes.dtype, np.number):
        raise TypeError(f"`codes` must be an array of numbers, got dtype {codes.dtype}.")
    if codes.ndim != 2:
        raise ValueError(f"`codes` must have shape [n, d], got {codes.shape}.")
    if factors.ndim == 1:
        factors = factors[:, None]
    if factors.ndim != 2:
        raise ValueError(f"`factors` must have shape [n, K] or [n], got {factors.shape}.")
    if len(codes) != len(factors):
        raise ValueError(
            f"`codes` and `factors` must have the same number of rows, got "
            f"{len(codes)} and {len(factors)}."
        )
    if len(codes) < 2:
        raise ValueError(f"At least 2 samples are needed, got {len(codes)}.")
    codes = codes.astype(np.float64)
    if not np.isfinite(codes).all():
        raise ValueError("`codes` contains non-finite values (NaN or inf).")
    return codes, factors


def _discretize(column, n_bins):
    """Equal-width histogram bin of each value, labels in ``0..n_bins-1``."""
    edges = np.histogram_bin_edges(column, bins=n_bins)
    return np.digitize(column, edges[1:-1])


def mutual_information_matrix(codes, factors, n_bins=20):
    """Mutual information between discretised codes and discrete factors.

    Parameters
    ----------
    codes : array-like, shape=[n, d]
        Latent codes (e.g. ``model.transform(X)``), each dimension
        discretised into ``n_bins`` equal-width bins.
    factors : array-like, shape=[n, K] or [n]
        Discrete generating factors: each distinct value is one class (pass
        level indices, such as ``make_shapes(...).factor_classes``).
    n_bins : int
        Number of bins per code dimension.

    Returns
    -------
    mutual_info : ndarray, shape=[d, K]
        In nats.
    entropy : ndarray, shape=[K]
        Entropy of each factor, in nats.
    """
    codes, factors = _check_codes_factors(codes, factors)
    n_bins = check_int(n_bins, "n_bins", minimum=2)
    binned = [_discretize(codes[:, j], int(n_bins)) for j in range(codes.shape[1])]
    labels = [np.unique(factors[:, k], return_inverse=True)[1] for k in range(factors.shape[1])]
    mutual_info = np.array([[mutual_info_score(f, c) for f in labels] for c in binned])
    entropy = np.array([mutual_info_score(f, f) for f in labels])
    return mutual_info.reshape(codes.shape[1], factors.shape[1]), entropy


def mig_score(codes, factors, n_bins=20, return_per_factor=False):
    r"""Mutual Information Gap (Chen et al. 2018) of latent codes.

    For each factor :math:`v_k`, the gap between the two largest mutual
    informations :math:`I(z_j; v_k)` over the (discretised) code dimensions,
    normalised by the factor's entropy :math:`H(v_k)`, averaged over the
    factors that vary:

    .. math::
        \mathrm{MIG} = \frac{1}{K} \sum_k \frac{I(z_{j_k}; v_k) -
        \max_{j \neq j_k} I(z_j; v_k)}{H(v_k)}.

    1 when each factor is captured by one code dimension alone, 0 when the
    codes carry no information on the factors (up to the positive bias of
    plug-in mutual information on finite samples). Codes are discretised as
    in ``disentanglement_lib`` (equal-width histogram bins); with a single
    code dimension the second largest mutual information is taken as 0.

    Parameters
    ----------
    codes : array-like, shape=[n, d]
        Latent codes.
    factors : array-like, shape=[n, K] or [n]
        Discrete generating factors (each distinct value is one class).
    n_bins : int
        Number of bins per code dimension. A factor with more levels than
        ``n_bins`` cannot be captured fully by one binned dimension.
    return_per_factor : bool
        Also return the gap of each factor (NaN for constant factors).

    Returns
    -------
    mig : float
        In [0, 1].
    per_factor : ndarray, shape=[K]
        If ``return_per_factor`` is True.
    """
    mutual_info, entropy = mutual_information_matrix(codes, factors, n_bins=n_bins)
    varying = entropy > 0
    if not varying.any():
        raise ValueError("Every factor is constant: the MIG is undefined.")
    ordered = np.sort(mutual_info, axis=0)[::-1]
    second = ordered[1] if len(ordered) > 1 else np.zeros_like(ordered[0])
    per_factor = np.full(len(entropy), np.nan)
    per_factor[varying] = (ordered[0][varying] - second[varying]) / entropy[varying]
    mig = float(np.mean(per_factor[varying]))
    if return_per_factor:
        return mig, per_factor
    return mig
