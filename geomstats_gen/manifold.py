"""The latent space of a decoder as a Geomstats manifold."""

import contextlib
import math
import warnings

import torch
from geomstats.geometry.base import ImmersedSet
from geomstats.geometry.euclidean import Euclidean

from geomstats_gen import autodiff
from geomstats_gen._checks import (
    HALF_DTYPES,
    ImmersionWarning,
    as_points,
    as_tensor,
    broadcast_batch,
    check_decoder_dtype,
    check_positive_int,
    default_cond_limit,
    result_like,
    warn_if_not_immersion,
)

__all__ = ["GeneratedManifold", "ImmersionWarning", "OutsideDomainWarning"]

_POINT_ARGUMENTS = frozenset(
    {"point", "base_point", "point_a", "point_b", "position", "initial_point", "end_point"}
)


class OutsideDomainWarning(UserWarning):
    """Latent points lie outside the region where the decoder is trusted."""


_STOCHASTIC_LAYERS = (
    torch.nn.modules.dropout._DropoutNd,
    torch.nn.modules.batchnorm._BatchNorm,
)


class GeneratedManifold(ImmersedSet):
    r"""Latent space of a generative model with the pullback metric.

    The decoder :math:`g: \mathbb{R}^d \to \mathbb{R}^D` (its output
    flattened) is the immersion; the space is embedded in ``Euclidean(D)``
    and equipped with :class:`~geomstats_gen.DecoderPullbackMetric`,
    :math:`G(z) = J(z)^T J(z)`. Points are latent codes of shape ``[..., d]``
    in intrinsic coordinates, so Geomstats' algorithms (``FrechetMean``,
    ``RiemannianKMeans``, ``TangentPCA``, ...) run on it unchanged.

    Device and dtype: the decoder stays where it is. Latent points are moved
    to the decoder's device and dtype for the computation (Geomstats' points
    are CPU float64), and results come back in the caller's dtype and on the
    caller's device. A decoder without parameters or buffers computes in the
    dtype and on the device of its input.

    Parameters
    ----------
    decoder : callable
        A ``torch.nn.Module`` (or any callable on tensors) mapping a batch of
        latent codes ``[n, d]`` to outputs ``[n, ...]``, each row on its own
        (put modules with dropout or batch norm in ``eval()`` mode). Its output
        is flattened to ``[n, D]``.
    latent_dim : int
        Dimension ``d`` of the latent space.
    chunk_size : int, optional
        Number of points per chunk of derivative computations. Default: chosen
        so that the largest tensor of a chunk holds at most ``max_elements``
        numbers.
    max_elements : int
        Memory bound used when ``chunk_size`` is None. Default ``2**24``
        (128 MiB in float64).
    domain_radius : float, optional
        Radius of the latent region where the decoder is trusted (for a VAE,
        where its training codes lie, e.g. 3 or 4 for a standard normal
        prior). Points farther from the origin than this trigger an
        :class:`OutsideDomainWarning`: the geometry there is an
        extrapolation of the decoder. Default: no check.
    equip : bool
        Equip the space with :class:`~geomstats_gen.DecoderPullbackMetric`.
    cond_limit : float, optional
        Largest condition number of the decoder's Jacobian at the points
        given to the metric before an :class:`ImmersionWarning` is emitted
        (the decoder is then numerically not an immersion: the metric is
        degenerate and solves use a pseudo-inverse). Default: about ``6.7e6``
        for float64 decoders and ``8.4e4`` for float32 ones (see
        :func:`geomstats_gen._checks.default_cond_limit`); ``math.inf``
        turns the check off.

    Raises
    ------
    TypeError
        If ``decoder`` is not callable, returns no floating tensor, or
        computes in float16 or bfloat16 (not supported: convert it with
        ``decoder.float()``).
    ValueError
        If ``latent_dim``, ``chunk_size``, ``max_elements``,
        ``domain_radius`` or ``cond_limit`` is not a positive number, or the
        decoder fails on a probe batch.

    Notes
    -----
    Memory: every derivative computation is split into chunks of points so
    that its largest intermediate tensor holds at most ``max_elements``
    numbers (``chunk_size`` points if given), e.g. ``max_elements / (D d)``
    points per chunk for Jacobians; the log solver likewise solves at most
    ``max_elements / (2 n_nodes D d)`` pairs at a time. Peak memory per call
    is therefore a few times ``max_elements`` times the size of the working
    dtype, whatever the batch size; chunked and unchunked results agree to
    rounding.

    Attributes
    ----------
    decoder : callable
    latent_dim : int
    embedding_dim : int
        ``D``, the size of the flattened decoder output.
    output_shape : tuple of int
        Shape of one decoder output before flattening.
    work_dtype, work_device : torch.dtype or None, torch.device or None
        Where the decoder computes (from its first floating parameter or
        buffer); None when it has none.
    """

    def __init__(
        self,
        decoder,
        latent_dim,
        chunk_size=None,
        max_elements=autodiff.DEFAULT_MAX_ELEMENTS,
        domain_radius=None,
        equip=True,
        cond_limit=None,
    ):
        if not callable(decoder):
            raise TypeError(
                "`decoder` must be a callable torch module mapping latent codes "
                f"[n, d] to outputs [n, ...], got {type(decoder).__name__}."
            )
        self.latent_dim = check_positive_int(latent_dim, "latent_dim")
        self.chunk_size = check_positive_int(chunk_size, "chunk_size", allow_none=True)
        self.max_elements = check_positive_int(max_elements, "max_elements")
        if domain_radius is not None:
            domain_radius = float(domain_radius)
            if not math.isfinite(domain_radius) or domain_radius <= 0:
                raise ValueError(
                    f"`domain_radius` must be a positive number, got {domain_radius!r}."
                )
        self.domain_radius = domain_radius
        if cond_limit is not None:
            try:
                cond_limit = float(cond_limit)
            except (TypeError, ValueError) as err:
                raise ValueError(
                    f"`cond_limit` must be a number > 1, got {cond_limit!r}."
                ) from err
            if not cond_limit > 1:
                raise ValueError(f"`cond_limit` must be a number > 1, got {cond_limit!r}.")
        self.decoder = decoder
        self.work_dtype, self.work_device = _decoder_placement(decoder)
        check_decoder_dtype(self.work_dtype)
        self.cond_limit = cond_limit
        _warn_if_training(decoder)
        self.output_shape = self._probe_output_shape()
        self.embedding_dim = math.prod(self.output_shape)
        super().__init__(dim=self.latent_dim, equip=equip)

    @staticmethod
    def default_metric():
        """Metric to equip the space with if equip is True."""
        from geomstats_gen.metric import DecoderPullbackMetric

        return DecoderPullbackMetric

    def _define_embedding_space(self):
        return Euclidean(self.embedding_dim)

    # ------------------------------------------------------------------
    # Helpers shared with the metric
    # ------------------------------------------------------------------
    def _probe_output_shape(self):
        dtype = self.work_dtype or torch.float64
        probe = torch.zeros(2, self.latent_dim, dtype=dtype, device=self.work_device)
        try:
            with torch.no_grad():
                out = self.decoder(probe)
        except Exception as err:  # noqa: BLE001 - re-raised with context
            raise ValueError(
                f"`decoder` failed on a batch of latent codes of shape "
                f"[2, {self.latent_dim}] (latent_dim={self.latent_dim}): {err}"
            ) from err
        if not isinstance(out, torch.Tensor):
            raise TypeError(
                "`decoder` must return a torch.Tensor, got "
                f"{type(out).__name__}."
            )
        if out.ndim < 2 or out.shape[0] != 2:
            raise ValueError(
                "`decoder` output cannot be flattened to [n, D]: for a batch of "
                f"2 latent codes it returned shape {tuple(out.shape)}; expected "
                "[2, ...]."
            )
        if not out.is_floating_point():
            raise TypeError(
                f"`decoder` must return floating point values, got {out.dtype}."
            )
        check_decoder_dtype(out.dtype)
        return tuple(out.shape[1:])

    def flat_decoder(self, z):
        """Decoder with its output flattened: ``[n, d] -> [n, D]``.

        ``z`` must already be in the working dtype and on the working device.
        """
        out = self.decoder(z)
        return out.reshape(out.shape[0], self.embedding_dim)

    def _chunk(self, elements_per_point):
        if self.chunk_size is not None:
            return self.chunk_size
        return autodiff.chunk_size_for(elements_per_point, self.max_elements)

    def to_work(self, tensor):
        """Move a tensor to the decoder's device and dtype.

        For a decoder without parameters, half-precision inputs are computed
        in float32 (results still come back in the caller's dtype).
        """
        dtype = self.work_dtype or tensor.dtype
        if dtype in HALF_DTYPES:
            dtype = torch.float32
        return tensor.to(dtype=dtype, device=self.work_device or tensor.device)

    def prepare(self, **named):
        """Check, broadcast and flatten latent arrays for a computation.

        Parameters
        ----------
        **named : array-like, shape=[..., d]
            Latent points or tangent vectors, by argument name.

        Returns
        -------
        flat : list of torch.Tensor, shape=[n, d]
            On the working device, in the working dtype.
        batch_shape : tuple of int
            Broadcast batch shape of the inputs.
        like : torch.Tensor
            A tensor in the result dtype (the promoted dtype of the inputs)
            on the device of the first input.
        """
        tensors = {
            name: as_points(value, name, self.latent_dim) for name, value in named.items()
        }
        first = next(iter(tensors.values()))
        dtype = first.dtype
        for tensor in tensors.values():
            dtype = torch.promote_types(dtype, tensor.dtype)
        like = first.new_empty((), dtype=dtype)
        if self.domain_radius is not None:
            for name, tensor in tensors.items():
                if name in _POINT_ARGUMENTS:
                    self._check_domain(tensor, name)
        expanded, batch_shape = broadcast_batch(tensors, self.latent_dim)
        flat = [self.to_work(t.reshape(-1, self.latent_dim)).contiguous() for t in expanded]
        return flat, tuple(batch_shape), like

    def _check_domain(self, tensor, name):
        norms = torch.linalg.vector_norm(tensor, dim=-1)
        outside = norms > self.domain_radius
        if bool(outside.any()):
            warnings.warn(
                f"`{name}`: {int(outside.sum())} of {outside.numel()} latent points lie "
                f"outside the decoder's domain (norm up to {float(norms.max()):.3g} > "
                f"domain_radius={self.domain_radius:g}); the geometry there "
                "extrapolates the decoder.",
                OutsideDomainWarning,
                stacklevel=4,
            )

    def immersion_cond_limit(self, dtype):
        """Condition-number limit of the Jacobian for a working ``dtype``."""
        return self.cond_limit if self.cond_limit is not None else default_cond_limit(dtype)

    def check_immersion(self, jac, name="base_point"):
        """Warn where the decoder is not an immersion.

        Parameters
        ----------
        jac : torch.Tensor, shape=[n, D, d]
            Jacobians at the points of argument ``name``.
        name : str
            Argument named in the :class:`ImmersionWarning`.

        Returns
        -------
        cond : torch.Tensor, shape=[n], float64
            Condition numbers of the Jacobians (``inf`` where rank is lost).
        """
        return warn_if_not_immersion(
            jac, name, self.immersion_cond_limit(jac.dtype), stacklevel=4
        )

    def check_immersion_at(self, **points):
        """Compute Jacobians at flat work points and :meth:`check_immersion` them.

        All the points go through one Jacobian call; the warning names the
        argument each group of points came from.

        Parameters
        ----------
        **points : torch.Tensor, shape=[n_k, d]
            Flat work points (see :meth:`to_work`), keyed by argument name.
        """
        sizes = [part.shape[0] for part in points.values()]
        if self.cond_limit == math.inf or sum(sizes) == 0:
            return
        with torch.no_grad():
            jac = self.work_jacobian(torch.cat(list(points.values())).detach().contiguous())
        limit = self.immersion_cond_limit(jac.dtype)
        for name, part in zip(points, jac.split(sizes)):
            if part.shape[0]:
                warn_if_not_immersion(part, name, limit, stacklevel=5)

    @staticmethod
    def finish(tensor, batch_shape, like):
        """Reshape a flat result to the batch shape and the caller's dtype."""
        return result_like(tensor.reshape(tuple(batch_shape) + tuple(tensor.shape[1:])), like)

    @staticmethod
    def grad_mode(*tensors):
        """Autograd only where the caller asks for it.

        Derivatives are tracked when grad mode is on and an input requires
        grad; otherwise computations run without building a graph through the
        decoder's weights (so results convert to NumPy, as scikit-learn
        needs). To differentiate through the geometry with respect to the
        decoder's weights, pass latent points with ``requires_grad=True``.
        """
        track = torch.is_grad_enabled() and any(
            isinstance(t, torch.Tensor) and t.requires_grad for t in tensors
        )
        return contextlib.nullcontext() if track else torch.no_grad()

    # ------------------------------------------------------------------
    # Immersion and its derivatives
    # ------------------------------------------------------------------
    def immersion(self, point):
        """Decode latent points, output flattened.

        Parameters
        ----------
        point : array-like, shape=[..., d]

        Returns
        -------
        immersed : torch.Tensor, shape=[..., D]
        """
        (z,), batch, like = self.prepare(point=point)
        with self.grad_mode(point):
            out = self.flat_decoder(z)
        return self.finish(out, batch, like)

    def tangent_immersion(self, tangent_vec, base_point):
        """Push tangent vectors forward, ``J(z) v``, with one JVP each.

        Parameters
        ----------
        tangent_vec : array-like, shape=[..., d]
        base_point : array-like, shape=[..., d]

        Returns
        -------
        tangent_vec_emb : torch.Tensor, shape=[..., D]
        """
        (v, z), batch, like = self.prepare(tangent_vec=tangent_vec, base_point=base_point)
        with self.grad_mode(tangent_vec, base_point):
            _, out = autodiff.pushforward(
                self.flat_decoder, z, v, chunk_size=self._chunk(self.embedding_dim)
            )
        return self.finish(out, batch, like)

    def jacobian_immersion(self, base_point):
        """Jacobian of the decoder, batched, forward mode, chunked.

        Parameters
        ----------
        base_point : array-like, shape=[..., d]

        Returns
        -------
        jacobian : torch.Tensor, shape=[..., D, d]
        """
        (z,), batch, like = self.prepare(base_point=base_point)
        with self.grad_mode(base_point):
            jac = self.work_jacobian(z)
        return self.finish(jac, batch, like)

    def work_jacobian(self, z):
        """Jacobian at flat points already in the working dtype, ``[n, D, d]``."""
        return autodiff.jacobian(
            self.flat_decoder, z, chunk_size=self._chunk(self.embedding_dim * self.latent_dim)
        )

    def work_hessian(self, z):
        """Hessian at flat points already in the working dtype, ``[n, D, d, d]``."""
        return autodiff.hessian(
            self.flat_decoder,
            z,
            chunk_size=self._chunk(self.embedding_dim * self.latent_dim**2),
        )

    def hessian_immersion(self, base_point):
        """Hessian of each decoder output, batched, forward-over-forward, chunked.

        Parameters
        ----------
        base_point : array-like, shape=[..., d]

        Returns
        -------
        hessian : torch.Tensor, shape=[..., D, d, d]
        """
        (z,), batch, like = self.prepare(base_point=base_point)
        with self.grad_mode(base_point):
            hess = self.work_hessian(z)
        return self.finish(hess, batch, like)

    # ------------------------------------------------------------------
    # Manifold API left abstract by Geomstats' ImmersedSet
    # ------------------------------------------------------------------
    def belongs(self, point, atol=None):
        """Evaluate if points belong to the manifold.

        Every finite latent code of the right dimension is a point (the
        manifold is the whole latent space in intrinsic coordinates).

        Parameters
        ----------
        point : array-like, shape=[..., d]
        atol : float, optional
            Unused; kept for Geomstats' signature.

        Returns
        -------
        belongs : torch.Tensor of bool, shape=[...]
        """
        point = as_tensor(point, "point")
        if point.ndim == 0 or point.shape[-1] != self.latent_dim:
            batch = point.shape[:-1] if point.ndim > 1 else ()
            return torch.zeros(batch, dtype=torch.bool, device=point.device)
        return torch.isfinite(point).all(dim=-1)

    def is_tangent(self, vector, base_point, atol=None):
        """Check whether vectors are tangent at base points.

        Every finite vector of the right dimension is tangent, at every point
        of the manifold (intrinsic coordinates).

        Parameters
        ----------
        vector : array-like, shape=[..., d]
        base_point : array-like, shape=[..., d]
        atol : float, optional
            Unused; kept for Geomstats' signature.

        Returns
        -------
        is_tangent : torch.Tensor of bool, shape=[...]
        """
        vector = as_tensor(vector, "vector")
        base_point = as_tensor(base_point, "base_point")
        try:
            return self.belongs(vector) & self.belongs(base_point)
        except RuntimeError as err:
            raise ValueError(
                "The batch shapes do not broadcast together: `vector` "
                f"{tuple(vector.shape[:-1])}, `base_point` "
                f"{tuple(base_point.shape[:-1])}."
            ) from err

    def projection(self, point):
        """Project latent codes to the manifold: the identity.

        Parameters
        ----------
        point : array-like, shape=[..., d]
            Latent codes (intrinsic coordinates).

        Returns
        -------
        projected : torch.Tensor, shape=[..., d]
            A copy of ``point``.
        """
        return as_points(point, "point", self.latent_dim).clone()

    def to_tangent(self, vector, base_point):
        """Project vectors to tangent spaces: the identity, broadcast.

        Parameters
        ----------
        vector : array-like, shape=[..., d]
        base_point : array-like, shape=[..., d]

        Returns
        -------
        tangent_vec : torch.Tensor, shape=[..., d]
            ``vector`` broadcast to the batch shape of ``base_point`` (and of
            ``vector``).
        """
        vector = as_points(vector, "vector", self.latent_dim)
        base_point = as_points(base_point, "base_point", self.latent_dim)
        (vector, _), _ = broadcast_batch(
            {"vector": vector, "base_point": base_point}, self.latent_dim
        )
        return vector.clone()

    def random_point(self, n_samples=1, bound=1.0):
        """Sample latent codes uniformly in the cube ``[-bound, bound]^d``.

        Drawn from torch's global random generator (seed it with
        ``torch.manual_seed`` for reproducibility), as CPU float64 tensors
        like Geomstats' points.

        Parameters
        ----------
        n_samples : int
            Number of samples.
        bound : float
            Half side of the cube.

        Returns
        -------
        samples : torch.Tensor, shape=[n_samples, d] or [d] if n_samples == 1
        """
        n_samples = check_positive_int(n_samples, "n_samples")
        bound = float(bound)
        if not math.isfinite(bound) or bound <= 0:
            raise ValueError(f"`bound` must be a positive number, got {bound!r}.")
        samples = (torch.rand(n_samples, self.latent_dim, dtype=torch.float64) * 2 - 1) * bound
        return samples[0] if n_samples == 1 else samples


def _decoder_placement(decoder):
    """Dtype and device of the first floating parameter or buffer, if any."""
    if isinstance(decoder, torch.nn.Module):
        for tensor in list(decoder.parameters()) + list(decoder.buffers()):
            if tensor.is_floating_point():
                return tensor.dtype, tensor.device
    return None, None


def _warn_if_training(decoder):
    if not isinstance(decoder, torch.nn.Module) or not decoder.training:
        return
    if any(isinstance(m, _STOCHASTIC_LAYERS) for m in decoder.modules()):
        warnings.warn(
            "`decoder` is in training mode and has dropout or batch-norm layers: "
            "its output is random or mixes the rows of a batch, so the metric is "
            "not well defined. Call decoder.eval() first.",
            UserWarning,
            stacklevel=3,
        )
