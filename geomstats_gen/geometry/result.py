"""What a batch of connecting-geodesic solves returns, and how failures are reported."""

import dataclasses
import warnings

import torch

from geomstats_gen.exceptions import ConvergenceWarning

__all__ = ["GeodesicResult", "warn_unconverged"]


@dataclasses.dataclass
class GeodesicResult:
    """Diagnostics of a batch of connecting geodesics.

    Attributes
    ----------
    path : torch.Tensor, shape=[..., n + 1, d]
        Nodes of the discrete geodesics at ``t = i / n``, where ``n`` is the
        largest of ``n_segments`` in the batch (paths solved with fewer
        segments are resampled from their interpolant,
        :mod:`geomstats_gen.geometry.dense`).
    log : torch.Tensor, shape=[..., d]
        Initial velocity: the Riemannian logarithm of the end point.
    length : torch.Tensor, shape=[...]
        Geodesic distance estimate (Richardson-extrapolated when
        ``extrapolate``).
    length_error : torch.Tensor, shape=[...]
        A-posteriori estimate of the absolute error of ``length``: from the
        difference between the extrapolated lengths of the last two
        resolutions (times a safety factor), and never below the rounding
        floor of the decoder's dtype.
    length_tolerance : torch.Tensor, shape=[...]
        The tolerance the pair was held to: ``rtol * length``, or the
        rounding floor when that is larger.
    log_error : torch.Tensor, shape=[...]
        Estimate of the error of ``log`` (latent Euclidean norm), from the
        same two resolutions.
    chord_length : torch.Tensor, shape=[...]
        Length of the decoded polygon of the finest solved path, without
        extrapolation.
    energy : torch.Tensor, shape=[...]
        Discrete energy of that path.
    iterations : torch.Tensor of int, shape=[...]
        Levenberg-Marquardt iterations used, all resolutions added.
    n_segments : torch.Tensor of int, shape=[...]
        Segments of the finest discrete geodesic solved for the pair.
    shortcut : torch.Tensor of bool, shape=[...]
        Whether a chord of that path leaves the manifold (its latent midpoint
        decodes far from the chord's midpoint): the path jumps between
        layers of a folded surface and its length is not a distance.
    converged : torch.Tensor of bool, shape=[...]
        Whether the pair is resolved: the energy minimiser converged, the
        error estimate is within ``length_tolerance``, no chord is a
        shortcut, and the decoded dense path is as long as ``length`` to
        within ``length_tolerance``.
    """

    path: torch.Tensor
    log: torch.Tensor
    length: torch.Tensor
    length_error: torch.Tensor
    length_tolerance: torch.Tensor
    log_error: torch.Tensor
    chord_length: torch.Tensor
    energy: torch.Tensor
    iterations: torch.Tensor
    n_segments: torch.Tensor
    shortcut: torch.Tensor
    converged: torch.Tensor

    def map(self, fn):
        """Apply ``fn`` to every tensor field."""
        return GeodesicResult(**{f.name: fn(getattr(self, f.name)) for f in dataclasses.fields(self)})

    @classmethod
    def concatenate(cls, parts):
        """Results of consecutive flat batches as one."""
        return cls(
            **{f.name: torch.cat([getattr(p, f.name) for p in parts]) for f in dataclasses.fields(cls)}
        )


def warn_unconverged(converged, batch_shape, what, shortcut=None):
    """Emit a :class:`ConvergenceWarning` naming the solves that did not converge.

    Parameters
    ----------
    converged : torch.Tensor of bool, shape=[...]
    batch_shape : tuple of int
        Batch shape the flat indices of the message refer to.
    what : str
        Name of the computation.
    shortcut : torch.Tensor of bool, shape=[...], optional
        Pairs whose path still had a chord leaving the manifold.
    """
    failed = (~converged.reshape(-1)).nonzero().squeeze(-1)
    if failed.numel():
        shown = failed[:10].tolist()
        more = "" if failed.numel() <= 10 else f" (and {failed.numel() - 10} more)"
        jumps = "" if shortcut is None else int(shortcut.reshape(-1)[failed].sum())
        jumps = (
            f" {jumps} of them still had a chord that leaves the manifold (a shortcut "
            "between layers of a folded surface: their lengths are too short)."
            if jumps
            else ""
        )
        warnings.warn(
            f"{what}: {failed.numel()} of {converged.numel()} geodesic solves did not "
            f"converge or did not meet their tolerance (flat indices over batch shape "
            f"{tuple(batch_shape)}: {shown}{more}).{jumps} Their results are flagged "
            "in GeodesicResult.converged. Increase max_nodes, max_iter or rtol, or "
            "check that the points lie in the region the decoder was trained on.",
            ConvergenceWarning,
            stacklevel=4,
        )
