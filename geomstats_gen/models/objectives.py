"""The training objectives of the models: ELBO terms and latent penalties."""

import math

import torch

__all__ = ["dip_penalty", "gaussian_log_density", "tc_decomposition", "tc_penalty"]

_LOG_2PI = math.log(2 * math.pi)


def gaussian_log_density(z, mean, logvar):
    """Elementwise ``log N(z; mean, exp(logvar))``."""
    return -0.5 * (_LOG_2PI + logvar + (z - mean).square() * torch.exp(-logvar))


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
    log_q_pairs = gaussian_log_density(z[:, None, :], mean[None, :, :], logvar[None, :, :])
    log_q_z_given_x = gaussian_log_density(z, mean, logvar).sum(dim=1)
    log_q_z = torch.logsumexp(log_w + log_q_pairs.sum(dim=2), dim=1)
    log_q_marginals = torch.logsumexp(log_w[:, :, None] + log_q_pairs, dim=1).sum(dim=1)
    log_p_z = gaussian_log_density(z, torch.zeros_like(z), torch.zeros_like(z)).sum(dim=1)
    mi = (log_q_z_given_x - log_q_z).mean()
    tc = (log_q_z - log_q_marginals).mean()
    dwkl = (log_q_marginals - log_p_z).mean()
    return mi, tc, dwkl


def tc_penalty(kl, mean, logvar, z, dataset_size, alpha, beta, gamma):
    """beta-TCVAE penalty: ``KL + (alpha - 1) MI + (beta - 1) TC + (gamma - 1) DWKL``."""
    penalty = kl.mean()
    weights = (float(alpha) - 1.0, float(beta) - 1.0, float(gamma) - 1.0)
    if any(weights):
        terms = tc_decomposition(z, mean, logvar, dataset_size)
        for weight, term in zip(weights, terms):
            if weight:
                penalty = penalty + weight * term
    return penalty


def dip_penalty(kl, mean, logvar, lambda_od, lambda_d, dip_type):
    """DIP-VAE penalty: mean KL plus the covariance penalties of type "i" or "ii"."""
    penalty = kl.mean()
    if lambda_od == 0.0 and lambda_d == 0.0:
        return penalty
    centred = mean - mean.mean(dim=0, keepdim=True)
    cov = centred.T @ centred / mean.shape[0]
    if dip_type == "ii":
        cov = cov + torch.diag(torch.exp(logvar).mean(dim=0))
    diag = torch.diagonal(cov)
    off = cov - torch.diag(diag)
    return penalty + lambda_od * off.square().sum() + lambda_d * (diag - 1.0).square().sum()
