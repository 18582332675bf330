"""Geomstats' tangent PCA, working on torch tensors.

Geomstats 2.8.0's ``TangentPCA.fit`` hands torch tensors to scikit-learn's
``svd_flip``, which scikit-learn >= 1.6 refuses ("Cannot interpret
'torch.float64' as a data type"), for every space. :class:`TangentPCA` is
Geomstats' class with the same sign convention computed in torch: during its
own fit, and only then, Geomstats' reference to ``svd_flip`` is swapped for
:func:`svd_flip_torch` (under a lock, restored afterwards). Scikit-learn and
every other caller are untouched.

Note that Geomstats' tangent PCA runs a Euclidean SVD on the latent
coordinates of the log vectors: it ignores the metric at the base point. For
principal components in the geometry of the decoder, use
:class:`~geomstats_gen.learning.LatentLogMap` (normal coordinates in a
``G``-orthonormal frame) followed by scikit-learn's ``PCA``.
"""

import threading

import geomstats.learning.pca as _geomstats_pca
import torch

__all__ = ["TangentPCA", "svd_flip_torch"]

_LOCK = threading.RLock()


def svd_flip_torch(u, v):
    """scikit-learn's sign convention of an SVD, on torch tensors.

    Each singular pair is flipped so that the entry of largest absolute
    value of the column of ``u`` is positive (``u_based_decision=True``).

    Parameters
    ----------
    u : torch.Tensor, shape=[n, k]
    v : torch.Tensor, shape=[k, m]

    Returns
    -------
    u, v : torch.Tensor
    """
    rows = torch.argmax(u.abs(), dim=0)
    signs = torch.sign(u[rows, torch.arange(u.shape[1], device=u.device)])
    signs = torch.where(signs == 0, torch.ones_like(signs), signs)
    return u * signs, v * signs[:, None]


class TangentPCA(_geomstats_pca.TangentPCA):
    """Geomstats' ``TangentPCA`` that fits on torch tensors (scikit-learn >= 1.6).

    Same parameters, attributes and results as
    :class:`geomstats.learning.pca.TangentPCA` (see the module docstring for
    what is changed, and for a metric-aware alternative).

    Parameters
    ----------
    space : GeneratedManifold
    n_components : int, optional
    """

    def _fit(self, X, base_point=None):
        with _LOCK:
            original = _geomstats_pca.svd_flip
            _geomstats_pca.svd_flip = svd_flip_torch
            try:
                return super()._fit(X, base_point=base_point)
            finally:
                _geomstats_pca.svd_flip = original
