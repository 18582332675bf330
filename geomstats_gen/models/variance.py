r"""A variance network whose uncertainty grows away from the data.

Arvanitidis, Hansen & Hauberg (ICLR 2018, "Latent space oddity"): the
precision of the decoder is an RBF network on the latent codes,

.. math::
    \beta(z) = W^T v(z) + \zeta, \qquad
    v_k(z) = \exp(-\gamma_k |z - c_k|^2), \qquad \sigma(z) = \beta(z)^{-1/2},

with centres ``c_k`` from k-means on the training codes, bandwidths from the
clusters' spreads, non-negative weights ``W`` fitted to the decoder's
reconstruction residuals, and a floor ``zeta``: far from every centre
``v(z) -> 0`` and ``sigma -> zeta^{-1/2}``, large. The expected metric of
``x = mu(z) + sigma(z) eps`` (:class:`~geomstats_gen.StochasticDecoder`)
then grows away from the data, and its geodesics follow the data.
"""

import numpy as np
import torch
from torch import nn

from geomstats_gen.core.checks import check_int, check_number

__all__ = ["RBFVarianceNetwork", "fit_variance_network"]


class RBFVarianceNetwork(nn.Module):
    r"""``z -> sigma(z) = (W^T v(z) + zeta)^{-1/2}``, per output dimension.

    Parameters
    ----------
    centers : torch.Tensor, shape=[K, d]
    gammas : torch.Tensor, shape=[K]
        Bandwidths (``v_k = exp(-gamma_k |z - c_k|^2)``).
    weights : torch.Tensor, shape=[K, D]
        Non-negative.
    floor : float
        ``zeta``: the precision far from the data (``sigma`` there is
        ``floor^{-1/2}``).
    """

    def __init__(self, centers, gammas, weights, floor):
        super().__init__()
        self.register_buffer("centers", centers)
        self.register_buffer("gammas", gammas)
        self.register_buffer("weights", weights)
        self.register_buffer("floor", torch.as_tensor(floor, dtype=centers.dtype).clone())

    def precision(self, z):
        """``beta(z)``, shape ``[n, D]``."""
        sq = ((z[:, None, :] - self.centers[None]) ** 2).sum(-1)  # [n, K]
        return torch.exp(-self.gammas * sq) @ self.weights + self.floor

    def forward(self, z):
        """``sigma(z)``, shape ``[n, D]``."""
        return torch.rsqrt(self.precision(z))


def _kmeans(codes, n_centers, seed):
    from sklearn.cluster import KMeans

    km = KMeans(n_clusters=n_centers, n_init=4, random_state=seed).fit(codes)
    return km.cluster_centers_, km.labels_


def fit_variance_network(codes, residuals, n_centers=32, bandwidth=1.0, floor=1e-3,
                         steps=500, learning_rate=0.05, random_state=0):
    r"""Fit an :class:`RBFVarianceNetwork` to reconstruction residuals.

    Parameters
    ----------
    codes : array-like, shape=[n, d]
        Latent codes of the training data (the encoder's means).
    residuals : array-like, shape=[n, D]
        ``x - mu(z)`` of the same samples.
    n_centers : int
        ``K``, the k-means clusters (at most ``n``).
    bandwidth : float
        Scale of the RBF widths relative to the clusters' spreads:
        ``gamma_k = 1 / (2 (bandwidth * s_k)^2)`` with ``s_k`` the root mean
        squared distance of cluster ``k``'s codes to its centre (larger:
        smoother, the metric grows farther from the data).
    floor : float
        ``zeta``, the precision far from the data.
    steps, learning_rate : int, float
        Adam on the Gaussian negative log-likelihood of the residuals, with
        ``W = softplus(parameters)`` kept non-negative.
    random_state : int

    Returns
    -------
    network : RBFVarianceNetwork
        float32, on the CPU.
    """
    codes = np.asarray(codes, dtype=np.float64)
    residuals = np.asarray(residuals, dtype=np.float64)
    if codes.ndim != 2 or residuals.ndim != 2 or len(codes) != len(residuals):
        raise ValueError("`codes` [n, d] and `residuals` [n, D] must have the same n rows.")
    n_centers = min(check_int(n_centers, "n_centers"), len(codes))
    bandwidth = check_number(bandwidth, "bandwidth")
    floor = check_number(floor, "floor")
    steps = check_int(steps, "steps")
    centers, labels = _kmeans(codes, n_centers, random_state)
    spread = np.array([
        np.sqrt(((codes[labels == k] - centers[k]) ** 2).sum(-1).mean())
        if np.any(labels == k) else 0.0
        for k in range(n_centers)
    ])
    spread = np.maximum(spread, 1e-3 * max(float(spread.max()), 1e-12))
    gammas = 0.5 / (bandwidth * spread) ** 2
    z = torch.as_tensor(codes)
    r2 = torch.as_tensor(residuals) ** 2
    centers_t = torch.as_tensor(centers)
    gammas_t = torch.as_tensor(gammas)
    features = torch.exp(-gammas_t * ((z[:, None] - centers_t[None]) ** 2).sum(-1))  # [n, K]
    # start at the precision of the overall residual variance, spread over the centres
    start = 1.0 / max(float(r2.mean()), 1e-12)
    inverse = float(np.log(np.expm1(start))) if start < 30 else start  # softplus^-1
    raw = torch.full((n_centers, residuals.shape[1]), inverse, dtype=torch.float64,
                     requires_grad=True)
    optimizer = torch.optim.Adam([raw], lr=learning_rate)
    for _ in range(steps):
        beta = features @ nn.functional.softplus(raw) + floor
        loss = (r2 * beta - torch.log(beta)).mean()  # Gaussian NLL up to constants
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    weights = nn.functional.softplus(raw).detach()
    return RBFVarianceNetwork(centers_t.float(), gammas_t.float(), weights.float(), float(floor))
