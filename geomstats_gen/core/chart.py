"""The decoder evaluator at the bottom of the library.

:class:`DecoderChart` wraps a decoder ``g: R^d -> R^D`` and is the only
object the geometry kernels talk to. It owns:

- placement: the decoder's dtype and device, read live from its parameters
  at every call (``decoder.float()`` or ``decoder.to(device)`` after the
  chart is built just works);
- the round trip of every public computation: check and broadcast the
  caller's latent arrays, move them to the decoder's dtype and device
  (:meth:`prepare`), compute on flat ``[n, d]`` tensors, and return results
  in the caller's dtype and on the caller's device (:meth:`finish`);
  :meth:`evaluate` does the three steps around a kernel;
- memory: chunking of derivative computations under ``max_elements``;
- derivatives of the flattened decoder on flat work tensors (Jacobians,
  pushforwards, second directional derivatives, Hessians; the methods of
  :class:`~geomstats_gen.core.derivatives.ChartDerivatives`);
- the checks of the points themselves: immersion (condition number of the
  Jacobian) and the trusted latent domain.
"""

import contextlib
import math
import warnings

import torch

from geomstats_gen.core.chunking import DEFAULT_MAX_ELEMENTS, chunk_size_for
from geomstats_gen.core.checks import (
    HALF_DTYPES,
    as_points,
    broadcast_batch,
    check_decoder_dtype,
    check_number,
    check_positive_int,
    default_cond_limit,
    promote_like,
    result_like,
    warn_if_not_immersion,
)
from geomstats_gen.core.derivatives import ChartDerivatives
from geomstats_gen.core.isometry import IsometricReduction
from geomstats_gen.core.jets import ClosedFormJet, jet_of
from geomstats_gen.core.placement import decoder_placement, refuse_training_mode
from geomstats_gen.core.twin import LowPrecisionTwin
from geomstats_gen.exceptions import OutsideDomainWarning

__all__ = ["DecoderChart", "as_chart", "decoder_placement"]

#: Arguments that are latent points (checked against ``domain_radius``),
#: as opposed to tangent vectors.
POINT_ARGUMENTS = frozenset(
    {
        "point",
        "base_point",
        "point_a",
        "point_b",
        "point_c",
        "position",
        "initial_point",
        "end_point",
        "center",
        "codes",
        "path",
    }
)


class DecoderChart(ChartDerivatives):
    """A decoder as a chart of the latent space: evaluation and derivatives.

    Parameters
    ----------
    decoder : callable
        Maps latent codes ``[n, d]`` to outputs ``[n, ...]``, each row on its
        own; flattened to ``[n, D]``.
    latent_dim : int
        ``d``.
    chunk_size : int, optional
        Points per chunk of derivative computations. Default: from
        ``max_elements``.
    max_elements : int
        Bound on the elements of the largest tensor of one chunk.
    domain_radius : float, optional
        Latent radius beyond which points trigger an
        :class:`~geomstats_gen.exceptions.OutsideDomainWarning`.
    cond_limit : float, optional
        Condition number of the Jacobian beyond which an
        :class:`~geomstats_gen.exceptions.ImmersionWarning` is emitted.
        Default: :func:`~geomstats_gen.core.checks.default_cond_limit` of the
        working dtype; ``math.inf`` turns the check off.
    dtype : torch.dtype, optional
        Dtype to compute in, for a decoder without floating parameters or
        buffers (a function, or a wrapper around a module). Default: that
        of the input; when the decoder fails on float64 codes but runs on
        float32 ones (a float32 module inside a plain function), float32.
    device : torch.device or str, optional
        Device to compute on, for a decoder without floating parameters or
        buffers. Default: that of the input.

    Raises
    ------
    ValueError
        For a module in training mode with dropout or batch norm (its output
        would be random, or the probe would change its running statistics:
        call ``decoder.eval()``), a decoder on the ``meta`` device, or a
        decoder that fails on a probe batch (the message says what to pass).

    Attributes
    ----------
    output_shape : tuple of int
        Shape of one decoder output.
    embedding_dim : int
        ``D``.
    """

    def __init__(
        self,
        decoder,
        latent_dim,
        chunk_size=None,
        max_elements=DEFAULT_MAX_ELEMENTS,
        domain_radius=None,
        cond_limit=None,
        dtype=None,
        device=None,
    ):
        if not callable(decoder):
            raise TypeError(
                "`decoder` must be a callable torch module mapping latent codes "
                f"[n, d] to outputs [n, ...], got {type(decoder).__name__}."
            )
        self.latent_dim = check_positive_int(latent_dim, "latent_dim")
        self.chunk_size = check_positive_int(chunk_size, "chunk_size", allow_none=True)
        self.max_elements = check_positive_int(max_elements, "max_elements")
        self.domain_radius = check_number(domain_radius, "domain_radius", allow_none=True)
        if cond_limit is not None and cond_limit != math.inf:
            cond_limit = check_number(cond_limit, "cond_limit", low=1)
        self.cond_limit = cond_limit
        if dtype is not None and not (isinstance(dtype, torch.dtype) and dtype.is_floating_point):
            raise TypeError(f"`dtype` must be a floating torch.dtype, got {dtype!r}.")
        self.dtype = dtype
        try:
            self.device = None if device is None else torch.device(device)
        except (RuntimeError, TypeError) as err:
            raise ValueError(f"`device` must be a torch device, got {device!r}.") from err
        self.decoder = decoder
        self._twin = LowPrecisionTwin(decoder)
        self._jet = jet_of(decoder)
        self._isometry = IsometricReduction.of(self._jet)
        check_decoder_dtype(self.work_dtype)
        refuse_training_mode(decoder)
        if self.work_device is not None and self.work_device.type == "meta":
            raise ValueError(
                "`decoder` is on the 'meta' device: it holds no weights and computes no "
                "values. Load or move its weights first (e.g. decoder.to_empty(device=...) "
                "and load_state_dict)."
            )
        self.output_shape = self._probe_output_shape()
        self.embedding_dim = math.prod(self.output_shape)
        if isinstance(self._jet, ClosedFormJet):
            dtype, device = self.placement()
            self._jet.check(self.latent_dim, self.embedding_dim, dtype or torch.float64, device)

    # ------------------------------------------------------------------
    # Placement, read live from the decoder
    # ------------------------------------------------------------------
    def placement(self):
        """``(dtype, device)`` the decoder computes in, read now.

        From the decoder's first floating parameter or buffer; for a decoder
        without any, the ``dtype`` and ``device`` given to the chart (None:
        those of the input).
        """
        dtype, device = decoder_placement(self.decoder)
        if dtype is None:
            return self.dtype, self.device
        return dtype, device

    @property
    def work_dtype(self):
        """Dtype the decoder computes in (None: that of its input)."""
        return self.placement()[0]

    @property
    def work_device(self):
        """Device the decoder computes on (None: that of its input)."""
        return self.placement()[1]

    def to_work(self, tensor, placement=None):
        """Move a tensor to the decoder's device and dtype.

        For a decoder without parameters, half-precision inputs are computed
        in float32 (results still come back in the caller's dtype).
        ``placement``: the decoder's ``(dtype, device)`` when the caller has
        just read it (:func:`decoder_placement`).
        """
        dtype, device = placement or self.placement()
        check_decoder_dtype(dtype)
        dtype = dtype or tensor.dtype
        if dtype in HALF_DTYPES:
            dtype = torch.float32
        return tensor.to(dtype=dtype, device=device or tensor.device)

    def _probe(self, dtype, device):
        probe = torch.zeros(2, self.latent_dim, dtype=dtype, device=device)
        with torch.no_grad():
            return self.decoder(probe)

    def _probe_output_shape(self):
        dtype, device = self.placement()
        try:
            out = self._probe(dtype or torch.float64, device)
        except Exception as err:  # noqa: BLE001 - re-raised with context
            hint = ""
            if dtype is None:  # no parameters: maybe a float32 module inside a function
                try:
                    self._probe(torch.float32, device)
                except Exception:  # noqa: BLE001 - the first error is the one reported
                    pass
                else:
                    self.dtype = torch.float32
                    return self._probe_output_shape()
                hint = (" (a decoder without parameters computes in the dtype and on the "
                        "device of its input: pass dtype= and device= to say which)")
            raise ValueError(
                f"`decoder` failed on a batch of latent codes of shape "
                f"[2, {self.latent_dim}] (latent_dim={self.latent_dim}){hint}: {err}"
            ) from err
        if not isinstance(out, torch.Tensor):
            raise TypeError(f"`decoder` must return a torch.Tensor, got {type(out).__name__}.")
        if out.ndim < 2 or out.shape[0] != 2:
            raise ValueError(
                "`decoder` output cannot be flattened to [n, D]: for a batch of "
                f"2 latent codes it returned shape {tuple(out.shape)}; expected "
                "[2, ...]."
            )
        if not out.is_floating_point():
            raise TypeError(f"`decoder` must return floating point values, got {out.dtype}.")
        check_decoder_dtype(out.dtype)
        return tuple(out.shape[1:])

    def chunk(self, elements_per_point):
        """Points per chunk for a computation with this many elements per point."""
        if self.chunk_size is not None:
            return self.chunk_size
        return chunk_size_for(elements_per_point, self.max_elements)

    # ------------------------------------------------------------------
    # The round trip of a public computation
    # ------------------------------------------------------------------
    def prepare(self, **named):
        """Check, broadcast and flatten latent arrays for a computation.

        Parameters
        ----------
        **named : array-like, shape=[..., d]
            Latent points or tangent vectors, by argument name (the name is
            used in errors; points named as in :data:`POINT_ARGUMENTS` are
            checked against ``domain_radius``).

        Returns
        -------
        flat : list of torch.Tensor, shape=[n, d]
            On the working device, in the working dtype, contiguous.
        batch_shape : tuple of int
            Broadcast batch shape of the inputs.
        like : torch.Tensor
            A 0-dim tensor in the result dtype (promoted over the inputs) on
            the device of the first input.
        """
        tensors = {
            name: as_points(value, name, self.latent_dim) for name, value in named.items()
        }
        like = promote_like(*tensors.values())
        if self.domain_radius is not None:
            for name, tensor in tensors.items():
                if name in POINT_ARGUMENTS:
                    self.check_domain(tensor, name)
        expanded, batch_shape = broadcast_batch(tensors, self.latent_dim)
        placement = self.placement()
        flat = [
            self.to_work(t.reshape(-1, self.latent_dim), placement).contiguous()
            for t in expanded
        ]
        return flat, tuple(batch_shape), like

    @staticmethod
    def finish(tensor, batch_shape, like):
        """Reshape a flat result ``[n, ...]`` to the batch shape, caller's dtype and device."""
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

    def evaluate(self, kernel, **named):
        """Run ``kernel`` on flat work tensors: :meth:`prepare`, then :meth:`finish`.

        Parameters
        ----------
        kernel : callable
            ``kernel(*flat) -> torch.Tensor of shape [n, ...]``, called with
            the flat work tensors of ``named`` in order, under
            :meth:`grad_mode`.
        **named : array-like, shape=[..., d]

        Returns
        -------
        result : torch.Tensor, shape=[..., ...]
        """
        flat, batch, like = self.prepare(**named)
        with self.grad_mode(*named.values()):
            out = kernel(*flat)
        return self.finish(out, batch, like)

    def check_domain(self, tensor, name):
        """Warn (:class:`OutsideDomainWarning`) about points beyond ``domain_radius``."""
        if self.domain_radius is None or tensor.numel() == 0:
            return
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

    # ------------------------------------------------------------------
    # Immersion checks
    # ------------------------------------------------------------------
    def immersion_cond_limit(self, dtype):
        """Condition-number limit of the Jacobian for a working ``dtype``."""
        return self.cond_limit if self.cond_limit is not None else default_cond_limit(dtype)

    def check_immersion(self, jac, name="base_point"):
        """Warn where the Jacobians ``jac [n, D, d]`` of argument ``name`` lose rank.

        Returns
        -------
        cond : torch.Tensor, shape=[n], float64
            Condition numbers (``inf`` where rank is lost).
        """
        return warn_if_not_immersion(
            jac, name, self.immersion_cond_limit(jac.dtype), stacklevel=4
        )

    def metric_chart(self):
        """A chart with this one's pullback geometry and a smaller output, for solvers.

        With grad mode off, for a decoder ending with a linear layer wider
        than its input, the chart of ``R h`` (:mod:`~geomstats_gen.core.isometry`):
        the same metric, chords and energies, a cheaper last layer; else
        this chart. Its outputs are not the decoder's images: use it for
        the geometry only.
        """
        if self._isometry is None or torch.is_grad_enabled() or self.jet() is None:
            return self
        return self._isometry.chart(
            lambda module: DecoderChart(
                module, self.latent_dim, chunk_size=self.chunk_size,
                max_elements=self.max_elements, cond_limit=self.cond_limit,
            )
        )

    def check_immersion_at(self, **points):
        """Validate latent arrays and check the immersion there, one Jacobian call.

        Parameters
        ----------
        **points : array-like, shape=[..., d]
            Keyed by argument name (named in errors and warnings).
        """
        tensors = {name: as_points(v, name, self.latent_dim) for name, v in points.items()}
        placement = self.placement()
        flat = [self.to_work(t.reshape(-1, self.latent_dim), placement) for t in tensors.values()]
        sizes = [part.shape[0] for part in flat]
        if self.cond_limit == math.inf or sum(sizes) == 0:
            return
        with torch.no_grad():
            jac = self.jacobian(torch.cat(flat).detach().contiguous())
        limit = self.immersion_cond_limit(jac.dtype)
        for name, part in zip(tensors, jac.split(sizes)):
            if part.shape[0]:
                warn_if_not_immersion(part, name, limit, stacklevel=5)


def as_chart(space):
    """The :class:`DecoderChart` of ``space`` (a chart, or an object owning one).

    Lets the geometry kernels take a chart or a
    :class:`~geomstats_gen.GeneratedManifold` without importing the façade.
    """
    if isinstance(space, DecoderChart):
        return space
    chart = getattr(space, "chart", None)
    if isinstance(chart, DecoderChart):
        return chart
    raise TypeError(
        "`space` must be a geomstats_gen.GeneratedManifold or a DecoderChart, got "
        f"{type(space).__name__}."
    )
