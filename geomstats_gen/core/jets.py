"""Forward jets of sequential decoders: derivatives by plain tensor algebra.

A decoder built as a ``torch.nn.Sequential`` of affine layers (linear,
2-D convolutions and transposed convolutions, reshapes) and elementwise
activations has derivatives that follow the layers: an affine layer maps
tangents ``t`` and second-order terms ``s`` by its linear part, an
activation ``y = sigma(a)`` maps them as

``t -> sigma'(a) t``,  ``s -> sigma'(a) s + sigma''(a) t_v t_w``

(with ``t_v``, ``t_w`` the tangents along the two directions of ``s``).
One pass through the layers gives the decoded value, ``m`` first
derivatives (the ``d`` columns of the Jacobian, or given directions) and
``k`` second directional derivatives, at the cost of ``1 + m + k`` decoder
passes of batched matrix products: no autograd graph, no ``torch.func``
transform (whose Python decompositions dominate small batches on CPU),
and on the MLP reference decoders 1.7-4x cheaper than the autograd paths
of :mod:`~geomstats_gen.core.autodiff` and :mod:`~geomstats_gen.core.reverse`
(the benchmarks' cost model). The formulas are exact (the same
derivatives up to rounding) and differentiable.

A module is taken only when every layer is of a known type (subclasses may
override ``forward``) and, at each call, no forward hook or pre-hook is set
on it or globally and no dropout layer is in training mode; any other
decoder keeps the autograd paths.
"""

import math

import torch
from torch import nn
from torch.nn import functional as F

from geomstats_gen.core.jet_layers import ACTIVATIONS, elementwise_step

__all__ = ["ACTIVATIONS", "ClosedFormJet", "Jet", "SequentialJet", "elementwise_step", "jet_of"]

#: Module types whose forward is a linear map of the last axis, no bias:
#: their linear part is the module itself (registered by other core
#: modules, e.g. :class:`~geomstats_gen.core.isometry.TriangularLinear`).
LINEAR_MODULES = set()


def _shifted(dim):
    """A layer's feature dimension, in a tensor with one more leading axis."""
    return dim + 1 if dim > 0 else dim


def _linear_part(layer, t):
    """The linear part of affine ``layer`` on stacked tangents ``[n, m, ...]``."""
    kind = type(layer)
    if kind is nn.Linear:
        return F.linear(t, layer.weight)
    if kind is nn.Flatten:
        return t.flatten(_shifted(layer.start_dim), _shifted(layer.end_dim))
    if kind is nn.Unflatten:
        return t.unflatten(_shifted(layer.dim), layer.unflattened_size)
    if kind in (nn.Identity, nn.Dropout):
        return t
    if kind in LINEAR_MODULES:
        return layer(t)
    flat = t.reshape((-1,) + tuple(t.shape[2:]))
    if kind is nn.Conv2d:
        out = F.conv2d(flat, layer.weight, None, layer.stride, layer.padding,
                       layer.dilation, layer.groups)
    else:  # nn.ConvTranspose2d
        out = F.conv_transpose2d(flat, layer.weight, None, layer.stride, layer.padding,
                                 layer.output_padding, layer.groups, layer.dilation)
    return out.reshape(t.shape[:2] + out.shape[1:])


def _fusable(kind):
    """Whether a layer of type ``kind`` takes its value and tangent rows in one product."""
    return kind is nn.Linear or kind in LINEAR_MODULES


def _affine_ok(layer):
    """Whether ``layer`` is an affine layer :func:`_linear_part` handles exactly."""
    kind = type(layer)
    if kind is nn.Conv2d:
        return layer.padding_mode == "zeros" and not isinstance(layer.padding, str)
    if kind is nn.ConvTranspose2d:
        return layer.padding_mode == "zeros"
    if kind is nn.Flatten:
        return layer.start_dim != 0 and layer.end_dim != 0
    if kind is nn.Unflatten:
        return isinstance(layer.dim, int) and layer.dim != 0
    return kind in (nn.Linear, nn.Identity, nn.Dropout) or kind in LINEAR_MODULES


def _layers(module):
    """The layers of a (nested) ``nn.Sequential`` in order; None if any is unknown."""
    if type(module) is nn.Sequential:
        out = []
        for child in module:
            inner = _layers(child)
            if inner is None:
                return None
            out += inner
        return out + [module]  # the container itself, for its hooks
    if type(module) in ACTIVATIONS:
        if type(module) is nn.GELU and module.approximate != "none":
            return None
        return [module]
    return [module] if _affine_ok(module) else None


def _global_hooks():
    hooks = torch.nn.modules.module
    return any(
        getattr(hooks, name, None)
        for name in ("_global_forward_hooks", "_global_forward_pre_hooks")
    )


def _own_hooks(module):
    return bool(module._forward_hooks or module._forward_pre_hooks)


def hooked(module):
    """Whether forward hooks on ``module``, or global ones, change what its forward computes."""
    return _own_hooks(module) or _global_hooks()


def jet_of(decoder):
    """The jet of ``decoder``, or None.

    A :class:`SequentialJet`, a :class:`ClosedFormJet`, or what the
    decoder's own ``make_jet(jet_of)`` builds from its parts' jets (the
    combinators of :mod:`~geomstats_gen.core.jet_combinators`).
    """
    make = getattr(decoder, "make_jet", None)
    if callable(make):
        return make(jet_of)
    return SequentialJet.of(decoder) or ClosedFormJet.of(decoder)


class Jet:
    """The derivatives every jet derives from its :meth:`propagate` (and ``usable``)."""

    #: ``weighted_hessian(z, weights)`` where it beats autograd's double
    #: backward (the closed forms); a sequential jet's (a forward sweep with
    #: ``d`` tangents and a reverse one) measured 1.4-2x dearer on the MLPs.
    weighted_hessian = None

    def _basis(self, z):
        """The tangents of a Jacobian: the latent basis."""
        dim = z.shape[-1]
        return torch.eye(dim, dtype=z.dtype, device=z.device).expand(z.shape[0], dim, dim)

    def value_and_jacobian(self, z):
        """``g(z) [n, D]`` and ``J(z) [n, D, d]``."""
        value, first, _ = self.propagate(z, self._basis(z))
        return value, first.transpose(1, 2)

    def pushforward_many(self, z, vs):
        """``g(z) [n, D]`` and ``J(z) v_j [n, k, D]`` for ``vs [n, k, d]``."""
        value, first, _ = self.propagate(z, vs)
        return value, first

    def second_derivatives(self, z, vs, ws, value=True):
        """``g(z)``, ``J(z) [n, D, d]`` and ``d^2 g[v_j, w_j] [n, k, D]`` for ``vs, ws [n, k, d]``.

        With ``value=False`` the value may be None (skipped where no layer needs it).
        """
        value, first, second = self.propagate(z, self._basis(z), vs, ws, value=value)
        return value, first.transpose(1, 2), second

    def second_derivative(self, z, v, w):
        """``(g(z), J v, d^2 g[v, w])``, each ``[n, D]``, for ``v, w [n, d]``."""
        if v is w:
            one = z.new_ones((z.shape[0], 1, 1))
            value, first, second = self.propagate(z, v[:, None], one, one)
            return value, first[:, 0], second[:, 0]
        pick = torch.eye(2, dtype=z.dtype, device=z.device).expand(z.shape[0], 2, 2)
        value, first, second = self.propagate(
            z, torch.stack([v, w], dim=1), pick[:, :1], pick[:, 1:]
        )
        return value, first[:, 0], second[:, 0]

    def hessian(self, z):
        """Hessian ``[n, D, d, d]`` of the decoder (``d (d + 1) / 2`` second-order rows)."""
        n_points, dim = z.shape
        rows, cols = torch.triu_indices(dim, dim, device=z.device)
        basis = torch.eye(dim, dtype=z.dtype, device=z.device)
        pairs_v = basis[rows].expand(n_points, -1, -1)
        pairs_w = basis[cols].expand(n_points, -1, -1)
        _, _, second = self.propagate(z, self._basis(z), pairs_v, pairs_w)
        hess = second.new_empty((n_points, second.shape[-1], dim, dim))
        hess[:, :, rows, cols] = second.transpose(1, 2)
        hess[:, :, cols, rows] = second.transpose(1, 2)
        return hess


class SequentialJet(Jet):
    """Forward jets of an ``nn.Sequential`` decoder (see the module docstring).

    Use :meth:`of` to build one; :meth:`usable` says whether it may be used
    at this call (hooks, dropout in training mode).

    Parameters
    ----------
    layers : list of torch.nn.Module
        The layers in order, then the containers (for the hook check).
    """

    def __init__(self, layers):
        self._all = layers
        self.layers = [layer for layer in layers if type(layer) is not nn.Sequential]
        self._last_activation = max(
            (i for i, layer in enumerate(self.layers) if type(layer) in ACTIVATIONS), default=-1
        )

    @classmethod
    def of(cls, decoder):
        """The jet of ``decoder``, or None when it is not a sequential of known layers."""
        if not isinstance(decoder, nn.Module):
            return None
        layers = _layers(decoder)
        return None if layers is None else cls(layers)

    def usable(self):
        """Whether the jet computes what the module's forward does, now."""
        if _global_hooks():  # once, not per layer: this runs at every derivative call
            return False
        return not any(
            _own_hooks(layer) or (type(layer) is nn.Dropout and layer.training and layer.p > 0)
            for layer in self._all
        )

    def propagate(self, z, tangents, vs=None, ws=None, value=True):
        """Value, first and second directional derivatives in one pass.

        Parameters
        ----------
        z : torch.Tensor, shape=[n, d]
        tangents : torch.Tensor, shape=[n, m, d]
            Directions of the first derivatives.
        vs, ws : torch.Tensor, shape=[n, k, m], optional
            Second derivatives ``d^2 g[v_j, w_j]`` along combinations of the
            tangents: ``v_j = sum_i vs[:, j, i] tangents[:, i]`` (``ws``
            may be ``vs``, for ``d^2 g[v_j, v_j]``).
        value : bool
            False: the value may come back None (the layers after the last
            activation then skip it).

        Returns
        -------
        value : torch.Tensor, shape=[n, D], or None
        first : torch.Tensor, shape=[n, m, D]
        second : torch.Tensor, shape=[n, k, D] or None
            None without ``vs``.
        """
        x, t, s = z, tangents, None
        # The rows (value, tangents, second-order terms) of the next linear
        # layer's one product, when the last activation wrote them into one
        # tensor: no copy before the product.
        stacked = None
        for i, layer in enumerate(self.layers):
            kind = type(layer)
            if kind not in ACTIVATIONS:
                if not value and i > self._last_activation:
                    x = None  # no activation needs it from here on
                if s is not None and _fusable(kind):  # one product
                    lead, m = int(x is not None), t.shape[1]
                    if stacked is None or stacked.shape[1] != lead + m + s.shape[1]:
                        stacked = torch.cat([t, s] if x is None else [x.unsqueeze(1), t, s], dim=1)
                    out = _linear_part(layer, stacked)
                    t, s = out[:, lead : lead + m], out[:, lead + m :]
                    if x is not None:
                        bias = getattr(layer, "bias", None)
                        x = out[:, 0] if bias is None else out[:, 0] + bias
                    stacked = None
                    continue
                stacked = None
                x = None if x is None else layer(x)
                t = _linear_part(layer, t)
                s = None if s is None else _linear_part(layer, s)
                continue
            y = layer(x)
            d1, d2 = ACTIVATIONS[kind](layer, x, y)
            stacked, out = None, None
            after = self.layers[i + 1] if i + 1 < len(self.layers) else None
            if (
                vs is not None and (s is not None or d2 is not None) and _fusable(type(after))
                and not torch.is_grad_enabled()  # out= arguments take no autograd
            ):
                lead = int(value or i + 1 <= self._last_activation)
                stacked = y.new_empty((y.shape[0], lead + t.shape[1] + vs.shape[1]) + y.shape[1:])
                out = stacked[:, lead:]
                if lead:
                    stacked[:, 0] = y
            t, s = elementwise_step(d1, d2, t, s, vs, ws, out=out)
            x = y
        n_points = z.shape[0]
        n_out = math.prod(t.shape[2:])
        value = None if x is None else x.reshape(n_points, n_out)
        first = t.reshape(n_points, t.shape[1], n_out)
        if vs is None:
            return value, first, None
        if s is None:  # no curvature anywhere (affine or piecewise linear)
            return value, first, first.new_zeros((n_points, vs.shape[1], first.shape[-1]))
        return value, first, s.reshape(n_points, s.shape[1], n_out)


class ClosedFormJet(Jet):
    """Jets of a decoder that gives its own derivatives in closed form.

    A decoder (an analytic chart, e.g. :class:`~geomstats_gen.SphereChart`)
    opts in by a method ``closed_form_derivatives(z)`` returning the value
    ``[n, D]``, the Jacobian ``[n, D, d]`` and the Hessian ``[n, D, d, d]``
    (or None where it vanishes) at flat points ``z [n, d]``; every
    derivative the geometry asks for is then a contraction of them.
    """

    def __init__(self, decoder):
        self.decoder = decoder

    def _basis(self, z):
        """None: :meth:`propagate` takes the Jacobian itself for the basis tangents."""
        return None

    @classmethod
    def of(cls, decoder):
        """The jet of ``decoder``, or None without ``closed_form_derivatives``."""
        has = callable(getattr(decoder, "closed_form_derivatives", None))
        return cls(decoder) if has else None

    def check(self, dim, out_dim, dtype, device):
        """Raise a ValueError naming ``closed_form_derivatives`` if its shapes are not the chart's.

        Parameters
        ----------
        dim, out_dim : int
            ``d`` and ``D``.
        dtype, device
            Of the probe codes (two of them).
        """
        z = torch.full((2, dim), 0.5, dtype=dtype, device=device)
        value, jac, hess = self.decoder.closed_form_derivatives(z)
        expected = {"value": (value, (2, out_dim)), "jacobian": (jac, (2, out_dim, dim))}
        if hess is not None:
            expected["hessian"] = (hess, (2, out_dim, dim, dim))
        for name, (tensor, shape) in expected.items():
            if not isinstance(tensor, torch.Tensor) or tuple(tensor.shape) != shape:
                got = tuple(tensor.shape) if isinstance(tensor, torch.Tensor) else type(tensor).__name__
                raise ValueError(
                    "`decoder.closed_form_derivatives(z)` must return the value [n, D], the "
                    "Jacobian [n, D, d] and the Hessian [n, D, d, d] (or None); for 2 codes "
                    f"of dimension {dim} its {name} is {got}, expected {shape}."
                )

    def usable(self):
        """Whether the closed forms stand for the decoder's forward now (no hooks)."""
        module = self.decoder
        return not (hooked(module) if isinstance(module, nn.Module) else _global_hooks())

    def propagate(self, z, tangents, vs=None, ws=None, value=True):
        """Value, first and second directional derivatives (see :meth:`SequentialJet.propagate`)."""
        value, jac, hess = self.decoder.closed_form_derivatives(z)
        basis = tangents is None
        first = jac.transpose(1, 2) if basis else tangents @ jac.transpose(1, 2)
        if vs is None:
            return value, first, None
        n_points, n_out, dim = jac.shape
        if hess is None:
            return value, first, first.new_zeros((n_points, vs.shape[1], n_out))
        t_v = vs if basis else vs @ tangents
        t_w = t_v if ws is vs else (ws if basis else ws @ tangents)
        # sum_ij H[a, i, j] v_i w_j by two batched products
        h_w = (hess.reshape(n_points, n_out * dim, dim) @ t_w.transpose(1, 2)).reshape(
            n_points, n_out, dim, t_w.shape[1]
        )
        return value, first, (h_w * t_v.transpose(1, 2)[:, None]).sum(2).transpose(1, 2)

    def weighted_hessian(self, z, weights):
        """Hessian ``[n, d, d]`` of ``z -> <weights, g(z)>``."""
        _, _, hess = self.decoder.closed_form_derivatives(z)
        if hess is None:
            return z.new_zeros((z.shape[0], z.shape[1], z.shape[1]))
        return torch.einsum("na,naij->nij", weights, hess)

    def hessian(self, z):
        """Hessian ``[n, D, d, d]`` of the decoder."""
        value, _, hess = self.decoder.closed_form_derivatives(z)
        if hess is None:
            return value.new_zeros(value.shape + (z.shape[1], z.shape[1]))
        return hess
