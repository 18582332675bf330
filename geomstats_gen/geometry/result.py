"""What a batch of connecting-geodesic solves returns, and how failures are reported."""

import dataclasses
import warnings

import torch

from geomstats_gen.exceptions import ConvergenceWarning
from geomstats_gen.geometry.dense import resample

__all__ = ["GeodesicResult", "ResultBuilder", "rounding_bias", "warn_unconverged"]


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
        """Results of consecutive flat batches as one (paths at the finest resolution)."""
        n_out = max(p.path.shape[1] for p in parts) - 1
        fields = {
            f.name: torch.cat([getattr(p, f.name) for p in parts])
            for f in dataclasses.fields(cls)
            if f.name != "path"
        }
        return cls(path=torch.cat([resample(p.path, n_out) for p in parts]), **fields)


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
            "between layers of a folded surface, or nodes too sparse to follow the "
            "path near a singularity of the chart)."
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


class ResultBuilder:
    """Per-pair results, filled in as pairs are resolved (or capped)."""

    def __init__(self, chart, z_start, n_segments):
        n_pairs = z_start.shape[0]
        self.chart = chart
        self.z_start = z_start
        self.groups = []
        zeros = z_start.new_zeros(n_pairs)
        self.fields = dict(
            log=torch.zeros_like(z_start),
            length=zeros,
            length_error=zeros.clone(),
            length_tolerance=zeros.clone(),
            log_error=zeros.clone(),
            chord_length=zeros.clone(),
            energy=zeros.clone(),
            iterations=torch.zeros(n_pairs, dtype=torch.int64, device=z_start.device),
            n_segments=torch.zeros(n_pairs, dtype=torch.int64, device=z_start.device),
            shortcut=torch.zeros(n_pairs, dtype=torch.bool, device=z_start.device),
            converged=torch.ones(n_pairs, dtype=torch.bool, device=z_start.device),
        )
        self.n_out = n_segments

    def record(self, index, z_start, fields, n_segments, jacobian=None):
        """Store the pairs ``index`` solved with ``n_segments`` segments.

        ``jacobian``: the chart's Jacobians at ``z_start`` ``[k, D, d]``,
        when known (else the velocities are pushed forward by the decoder).
        """
        if index.numel() == 0:
            return
        nodes = fields.pop("nodes")
        # Rescale the velocity so that its metric norm is the distance.
        if jacobian is None:
            _, pushed = self.chart.pushforward(z_start.contiguous(), fields["log"])
        else:
            pushed = (jacobian @ fields["log"][..., None]).squeeze(-1)
        speed = torch.linalg.vector_norm(pushed, dim=-1).clamp_min(torch.finfo(pushed.dtype).tiny)
        fields["log"] = fields["log"] * (fields["length"] / speed)[:, None]
        fields["log_error"] = fields["log_error"] * (fields["length"] / speed)
        for name, value in fields.items():
            self.fields[name][index] = value
        self.fields["n_segments"][index] = n_segments
        self.groups.append((index, nodes))
        self.n_out = max(self.n_out, n_segments)

    def result(self):
        """The GeodesicResult, every path at the finest resolution of the batch."""
        n_pairs, dim = self.z_start.shape
        path = self.z_start[:, None].expand(n_pairs, self.n_out + 1, dim).clone()
        for index, nodes in self.groups:
            path[index] = resample(nodes, self.n_out)
        return GeodesicResult(path=path, **self.fields)


def rounding_bias(n_segments, noise, length):
    """Expected excess of a polygon's length from the rounding of its decoded points.

    A chord of length ``s`` between two decoded points, each off by about
    ``noise = eps |g|`` (independently), measures about
    ``s + noise^2 / (2 s)`` on average; over ``T`` chords of a path of
    length ``L`` that is ``T^2 noise^2 / (2 L)``. It grows as the path is
    refined: a short geodesic of a float32 decoder (a length of ``1e-4``
    against ``|g| = 10``) measures 1 % long with 32 segments and 80 % long
    with 256, so refining past the point where the discretisation error
    falls under it only makes the length worse. Negligible in float64.

    Parameters
    ----------
    n_segments : int
    noise : torch.Tensor, shape=[p]
        ``eps max |g|`` along each path.
    length : torch.Tensor, shape=[p]

    Returns
    -------
    bias : torch.Tensor, shape=[p]
    """
    return n_segments**2 * noise**2 / (2 * length.clamp_min(torch.finfo(length.dtype).tiny))
