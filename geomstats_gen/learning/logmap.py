"""The latent log map: normal coordinates at the Fréchet mean of the codes."""

import numbers

import numpy as np
import torch
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted

from geomstats_gen.learning._base import LatentEstimatorMixin

__all__ = ["LatentLogMap"]


def _mean_squared_norm(metric, logs, base_point):
    return float(metric.squared_norm(logs, base_point.expand_as(logs)).mean())


def _frechet_mean(metric, z, max_iter, tol, step_size):
    """Fréchet mean by Riemannian gradient descent with backtracking.

    ``mean <- Exp_mean(t * mean_i Log_mean(z_i))`` from the Euclidean mean;
    ``t`` starts at ``step_size`` and is halved while the mean squared
    distance (the Fréchet function) would increase. Stops when the
    Riemannian norm of the mean log is below ``tol`` times the root mean
    squared distance. Each iteration is one batched log over all the codes
    and one exp.

    Returns
    -------
    mean : torch.Tensor, shape=[d]
    n_iter : int
    """
    mean = z.mean(0)
    logs = metric.log(z, mean)
    value = _mean_squared_norm(metric, logs, mean)
    n_iter = 0
    for n_iter in range(1, max_iter + 1):
        grad = logs.mean(0)
        grad_norm = float(metric.norm(grad, mean))
        if grad_norm <= tol * max(value**0.5, np.finfo(np.float64).tiny):
            break
        step = step_size
        while True:
            candidate = metric.exp(step * grad, mean)
            cand_logs = metric.log(z, candidate)
            cand_value = _mean_squared_norm(metric, cand_logs, candidate)
            if cand_value <= value or step < 1e-3:
                break
            step *= 0.5
        if cand_value > value:
            break  # no decrease even with a tiny step: at the solver's noise floor
        mean, logs, value = candidate, cand_logs, cand_value
    return mean, n_iter


class LatentLogMap(LatentEstimatorMixin, TransformerMixin, BaseEstimator):
    r"""Riemannian normal coordinates at the Fréchet mean of the codes.

    ``fit`` computes the Fréchet mean :math:`\bar z` of the codes (batched
    gradient descent :math:`\bar z \leftarrow \mathrm{Exp}_{\bar z}(\eta\,
    \mathrm{mean}_i \mathrm{Log}_{\bar z} z_i)` from the Euclidean mean,
    halving :math:`\eta` while the mean squared distance would grow) and
    the Cholesky factor :math:`L` of :math:`G(\bar z) = L L^T`.
    ``transform`` gives :math:`c = L^T \mathrm{Log}_{\bar z}(z)`: the log map
    in a :math:`G`-orthonormal frame, so that :math:`\|c\|` is the geodesic
    distance to the mean. ``inverse_transform`` maps back with
    :math:`\mathrm{Exp}_{\bar z}(L^{-T} c)`.

    Parameters
    ----------
    space : GeneratedManifold or fitted geomstats_gen model
        With a model, ``X`` are data and ``inverse_transform`` decodes.
    max_iter : int
        Iterations of the Fréchet mean.
    tol : float
        Stop when the Riemannian norm of the mean log is below ``tol`` times
        the root mean squared distance to the mean.
    step_size : float
        Initial step :math:`\eta` of each Fréchet mean iteration, in (0, 1].

    Attributes
    ----------
    mean_ : ndarray, shape=[d]
        Fréchet mean of the training codes.
    frame_ : ndarray, shape=[d, d]
        Lower-triangular ``L`` with ``G(mean_) = L L^T``.
    n_iter_ : int
        Fréchet mean iterations run.
    n_features_in_ : int
    """

    _parameter_constraints = {
        "space": "no_validation",
        "max_iter": [Interval(numbers.Integral, 1, None, closed="left")],
        "tol": [Interval(numbers.Real, 0, None, closed="neither")],
        "step_size": [Interval(numbers.Real, 0, 1, closed="right")],
    }

    def __init__(self, space, max_iter=20, tol=1e-6, step_size=1.0):
        self.space = space
        self.max_iter = max_iter
        self.tol = tol
        self.step_size = step_size

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Fréchet mean of the codes and the orthonormal frame there.

        Parameters
        ----------
        X : array-like, shape=[n, d] (codes) or the model's data
        y : ignored

        Returns
        -------
        self
        """
        X, codes = self._validate(X, reset=True)
        manifold, _ = self._manifold()
        metric = manifold.metric
        z = torch.tensor(codes)
        mean, n_iter = _frechet_mean(
            manifold.metric, z, self.max_iter, float(self.tol), float(self.step_size)
        )
        gram = metric.metric_matrix(mean).to(torch.float64)
        self.mean_ = mean.detach().cpu().numpy()
        self.frame_ = torch.linalg.cholesky(gram).cpu().numpy()
        self.n_iter_ = int(n_iter)
        return self

    def transform(self, X):
        """Normal coordinates ``L^T Log_mean(z)``.

        Parameters
        ----------
        X : array-like, shape=[n, d] (codes) or the model's data

        Returns
        -------
        coords : ndarray, shape=[n, d]
        """
        check_is_fitted(self, "mean_")
        X, codes = self._validate(X, reset=False)
        manifold, _ = self._manifold()
        z = torch.tensor(codes)
        mean = torch.as_tensor(self.mean_, dtype=z.dtype)
        logs = manifold.metric.log(z, mean).to(torch.float64).cpu().numpy()
        return (logs @ self.frame_).astype(codes.dtype, copy=False)

    def inverse_transform(self, X):
        """Map normal coordinates back: ``Exp_mean(L^{-T} c)``.

        Parameters
        ----------
        X : array-like, shape=[n, d]
            Normal coordinates.

        Returns
        -------
        points : ndarray, shape=[n, d] (codes), or decoded data with a model
        """
        check_is_fitted(self, "mean_")
        manifold, model = self._manifold()
        coords = np.asarray(X.detach().cpu().numpy() if isinstance(X, torch.Tensor) else X)
        if coords.ndim != 2 or coords.shape[1] != manifold.latent_dim:
            raise ValueError(
                f"`X` must have shape [n, {manifold.latent_dim}] (normal coordinates), got "
                f"{coords.shape}."
            )
        if not np.issubdtype(coords.dtype, np.floating):
            coords = coords.astype(np.float64)
        # rows: v = c L^{-1}, i.e. v = L^{-T} c per point
        tangent = np.linalg.solve(self.frame_.T, coords.astype(np.float64).T).T
        mean = torch.as_tensor(self.mean_)
        points = manifold.metric.exp(torch.as_tensor(tangent, dtype=mean.dtype), mean)
        points = points.detach().cpu().numpy().astype(coords.dtype, copy=False)
        if model is not None:
            return model.inverse_transform(points)
        return points
