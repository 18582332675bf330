"""The latent space of a decoder as a Geomstats manifold (a thin façade).

:class:`GeneratedManifold` owns a :class:`~geomstats_gen.core.chart.DecoderChart`
(attribute ``chart``), which does all the computation; this class adds the
Geomstats ``ImmersedSet`` API on top of it.
"""

import copy

import torch
from geomstats.geometry.base import ImmersedSet
from geomstats.geometry.euclidean import Euclidean

from geomstats_gen.core.chunking import DEFAULT_MAX_ELEMENTS
from geomstats_gen.core.chart import DecoderChart
from geomstats_gen.core.checks import (
    as_points,
    as_tensor,
    broadcast_batch,
    check_number,
    check_positive_int,
)
from geomstats_gen.exceptions import ImmersionWarning, OutsideDomainWarning
from geomstats_gen.metric import DecoderPullbackMetric

__all__ = ["GeneratedManifold", "ImmersionWarning", "OutsideDomainWarning"]


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
        :func:`geomstats_gen.core.checks.default_cond_limit`); ``math.inf``
        turns the check off.
    dtype, device : torch.dtype, torch.device, optional
        Where a decoder without floating parameters or buffers (a function,
        or a wrapper around a module) computes. Default: the dtype and
        device of the input, or float32 for a function that fails on
        float64 codes and runs on float32 ones.

    Raises
    ------
    TypeError
        If ``decoder`` is not callable, returns no floating tensor, or
        computes in float16 or bfloat16 (not supported: convert it with
        ``decoder.float()``).
    ValueError
        If ``latent_dim``, ``chunk_size``, ``max_elements``,
        ``domain_radius`` or ``cond_limit`` is not a positive number, the
        decoder fails on a probe batch, is on the ``meta`` device, or is a
        module in training mode with dropout or batch norm (call
        ``decoder.eval()``: the manifold never changes the user's module).

    Notes
    -----
    Memory: every derivative computation is split into chunks of points so
    that its largest intermediate tensor holds at most ``max_elements``
    numbers (``chunk_size`` points if given), e.g. ``max_elements / (D d)``
    points per chunk for Jacobians; the log solver likewise solves at most
    ``max_elements / (4 n_nodes D d)`` pairs at a time (fewer at
    the finer resolutions of refined pairs). Peak memory per call
    is therefore a few times ``max_elements`` times the size of the working
    dtype, whatever the batch size; chunked and unchunked results agree to
    rounding.

    Attributes
    ----------
    chart : DecoderChart
        The decoder evaluator that does the computation (placement,
        chunking, derivatives, checks); the attributes below read through
        to it.
    decoder : callable
    latent_dim : int
    embedding_dim : int
        ``D``, the size of the flattened decoder output.
    output_shape : tuple of int
        Shape of one decoder output before flattening.
    work_dtype, work_device : torch.dtype or None, torch.device or None
        Where the decoder computes (from its first floating parameter or
        buffer, read at every call: moving or converting the decoder after
        the manifold is built is fine); None when it has none.
    """

    def __init__(
        self,
        decoder,
        latent_dim,
        chunk_size=None,
        max_elements=DEFAULT_MAX_ELEMENTS,
        domain_radius=None,
        equip=True,
        cond_limit=None,
        dtype=None,
        device=None,
    ):
        # ImmersedSet.__init__ calls _define_embedding_space: the chart first.
        self.chart = DecoderChart(
            decoder,
            latent_dim,
            chunk_size=chunk_size,
            max_elements=max_elements,
            domain_radius=domain_radius,
            cond_limit=cond_limit,
            dtype=dtype,
            device=device,
        )
        super().__init__(dim=self.chart.latent_dim, equip=equip)

    @staticmethod
    def default_metric():
        """Metric to equip the space with if equip is True."""
        return DecoderPullbackMetric

    def _define_embedding_space(self):
        return Euclidean(self.embedding_dim)

    # The chart's settings and placement, read through (placement is live).
    decoder = property(lambda self: self.chart.decoder, doc="The decoder.")
    latent_dim = property(lambda self: self.chart.latent_dim, doc="``d``.")
    embedding_dim = property(lambda self: self.chart.embedding_dim, doc="``D``.")
    output_shape = property(lambda self: self.chart.output_shape, doc="One output's shape.")
    chunk_size = property(lambda self: self.chart.chunk_size, doc="Points per chunk.")
    max_elements = property(lambda self: self.chart.max_elements, doc="Chunk memory bound.")
    domain_radius = property(lambda self: self.chart.domain_radius, doc="Trusted radius.")
    cond_limit = property(lambda self: self.chart.cond_limit, doc="Immersion check limit.")
    work_dtype = property(lambda self: self.chart.work_dtype, doc="The decoder's dtype, live.")
    work_device = property(
        lambda self: self.chart.work_device, doc="The decoder's device, live."
    )

    def to_dtype(self, dtype):
        """The same manifold computed in another dtype (a copy; this one is untouched).

        A module decoder is deep-copied and converted (``copy.to(dtype)``); a
        decoder without parameters is told the dtype. The chart's settings
        and the log and exp solvers' settings are kept. A float64 copy of a
        float32 decoder measures lengths that float32 rounding would
        swamp (tiny-scale or collapsed models) at the cost of slower solves.

        Parameters
        ----------
        dtype : torch.dtype
            A floating dtype (float32 or float64).

        Returns
        -------
        space : GeneratedManifold
        """
        if not (isinstance(dtype, torch.dtype) and dtype.is_floating_point):
            raise TypeError(f"`dtype` must be a floating torch.dtype, got {dtype!r}.")
        chart = self.chart
        if isinstance(chart.decoder, torch.nn.Module) and chart.placement() != (
            chart.dtype, chart.device
        ):
            return self._copy(decoder=copy.deepcopy(chart.decoder).to(dtype))
        return self._copy(dtype=dtype)

    def with_domain(self, domain_radius):
        """The same manifold (sharing the decoder) with another ``domain_radius``.

        Points beyond it warn, and geodesics of the exp map stop where they
        leave it (:class:`~geomstats_gen.geometry.exp.GeodesicODEExpSolver`).

        Parameters
        ----------
        domain_radius : float or None

        Returns
        -------
        space : GeneratedManifold
        """
        return self._copy(domain_radius=domain_radius)

    def _copy(self, **changes):
        """A new manifold with the chart's and the solvers' settings, some changed."""
        chart = self.chart
        settings = dict(
            decoder=chart.decoder, latent_dim=chart.latent_dim, chunk_size=chart.chunk_size,
            max_elements=chart.max_elements, domain_radius=chart.domain_radius,
            cond_limit=chart.cond_limit, dtype=chart.dtype, device=chart.device,
        )
        settings.update(changes)
        space = GeneratedManifold(**settings)
        for solver in ("log_solver", "exp_solver"):
            source, target = getattr(self.metric, solver), getattr(space.metric, solver)
            for key, value in vars(source).items():
                if key not in ("chart", "exp_solver") and not key.startswith("_"):
                    setattr(target, key, value)
        return space

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
        return self.chart.evaluate(self.chart.decode, point=point)

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
        return self.chart.evaluate(
            lambda v, z: self.chart.pushforward(z, v)[1],
            tangent_vec=tangent_vec,
            base_point=base_point,
        )

    def jacobian_immersion(self, base_point):
        """Jacobian of the decoder, batched, forward mode, chunked.

        Parameters
        ----------
        base_point : array-like, shape=[..., d]

        Returns
        -------
        jacobian : torch.Tensor, shape=[..., D, d]
        """
        return self.chart.evaluate(self.chart.jacobian, base_point=base_point)

    def hessian_immersion(self, base_point):
        """Hessian of each decoder output, batched, forward-over-forward, chunked.

        Parameters
        ----------
        base_point : array-like, shape=[..., d]

        Returns
        -------
        hessian : torch.Tensor, shape=[..., D, d, d]
        """
        return self.chart.evaluate(self.chart.hessian, base_point=base_point)

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
        bound = check_number(bound, "bound")
        samples = (torch.rand(n_samples, self.latent_dim, dtype=torch.float64) * 2 - 1) * bound
        return samples[0] if n_samples == 1 else samples
