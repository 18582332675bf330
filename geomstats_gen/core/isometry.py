"""A smaller output with the same pullback metric, for decoders that end linearly.

A decoder ``g = W h + b`` whose last layer is linear with more outputs than
inputs (``W`` of shape ``[D, m]``, ``D > m``) pulls back the metric
``W^T W = R^T R`` from the ``m`` features ``h``, where ``W = Q R`` is the
thin QR factorisation (``R`` upper triangular, ``[m, m]``): ``g`` and
``g~ = R h`` differ by the isometry ``Q`` and the translation ``b``, so
``J^T J``, ``J^T d^2 g[u, v]``, chord lengths and path energies are the
same computed with ``g~``. The geodesic and transport equations need
nothing else, nor does the log map's energy minimisation, and the last
layer's products shrink from ``D`` to ``m`` rows (on the 2->64->256->784
reference MLP, 2.7x fewer multiplications per decoder pass; on the
10->256->512->784 one, 1.35x).

``R`` is factored in float64 on first use and again when the layer's weight
changes (its storage or torch's version counter), never pickled; the
reduction is only used with grad mode off (``R`` carries no gradient to
``W``).
"""

import torch
from torch import nn
from torch.nn import functional as F

from geomstats_gen.core.jets import LINEAR_MODULES, SequentialJet

__all__ = ["IsometricReduction", "TriangularLinear"]

#: Row blocks of ``R`` (each skips the zeros left of its diagonal block) for
#: a factor of at least :data:`BLOCKED_SIZE` rows: 62.5 % of a dense
#: product's multiplications with 4, and 27-32 % less time for the last
#: layer of the 10-D reference MLP (512 rows), measured; smaller factors
#: lose more to the extra products than they save.
N_BLOCKS = 4
BLOCKED_SIZE = 512

#: Layers after the last linear one that only reshape (the output is flattened).
_RESHAPES = (nn.Flatten, nn.Unflatten, nn.Identity, nn.Dropout)


class TriangularLinear(nn.Module):
    """``x -> x R^T`` for an upper triangular ``R`` ``[m, m]``, by row blocks.

    Row block ``k`` of ``R`` is zero left of column ``b_k``: its product
    takes ``x[..., b_k:]`` only.

    Parameters
    ----------
    factor : torch.Tensor, shape=[m, m]
        Upper triangular.
    n_blocks : int, optional
        Default: :data:`N_BLOCKS` for at least :data:`BLOCKED_SIZE` rows, else 1.
    """

    def __init__(self, factor, n_blocks=None):
        super().__init__()
        size = factor.shape[0]
        if n_blocks is None:
            n_blocks = N_BLOCKS if size >= BLOCKED_SIZE else 1
        self.in_features = self.out_features = size
        self.bounds = sorted({round(i * size / n_blocks) for i in range(n_blocks + 1)})
        for k, (lo, hi) in enumerate(zip(self.bounds[:-1], self.bounds[1:])):
            self.register_buffer(f"block{k}", factor[lo:hi, lo:].detach().clone())

    def forward(self, x):
        """``[..., m] -> [..., m]``."""
        if len(self.bounds) == 2:  # one block: one product, no slices
            return F.linear(x, self.block0)
        return torch.cat(
            [x[..., lo:] @ getattr(self, f"block{k}").T for k, lo in enumerate(self.bounds[:-1])],
            dim=-1,
        )


LINEAR_MODULES.add(TriangularLinear)


class IsometricReduction:
    """The decoder ``R h``, and its chart, for a :class:`SequentialJet` ending with a wide linear layer.

    Parameters
    ----------
    jet : SequentialJet
    """

    def __init__(self, jet):
        layers = list(jet.layers)
        while layers and type(layers[-1]) in _RESHAPES:
            layers.pop()
        last = layers[-1] if layers else None
        wide = type(last) is nn.Linear and last.out_features > last.in_features
        self._prefix = layers[:-1] if wide else None
        self._linear = last if wide else None
        self._key = None
        self._module = None
        self._chart = None

    @classmethod
    def of(cls, jet):
        """The reduction of ``jet``, or None where the decoder does not end with a wide linear layer."""
        if not isinstance(jet, SequentialJet):
            return None
        reduction = cls(jet)
        return reduction if reduction._linear is not None else None

    def __getstate__(self):  # the factor is not shipped (e.g. to Dask workers)
        return {**self.__dict__, "_key": None, "_module": None, "_chart": None}

    def module(self):
        """``nn.Sequential(*layers before the last, R)`` for the layer's current weight.

        It shares the layers before the last linear one with the decoder
        (their weights live); ``R`` is made again when the last weight changes.
        """
        weight = self._linear.weight
        key = (weight.data_ptr(), weight._version, weight.dtype, weight.device)
        if key != self._key:
            with torch.no_grad():
                factor = torch.linalg.qr(weight.detach().to(torch.float64), mode="r").R
                layer = TriangularLinear(factor.to(weight.dtype))
            self._module, self._chart = nn.Sequential(*self._prefix, layer).eval(), None
            self._key = key
        return self._module

    def chart(self, make_chart):
        """A chart of :meth:`module`, made by ``make_chart(module)`` when ``R`` changes."""
        module = self.module()
        if self._chart is None:
            self._chart = make_chart(module)
        return self._chart
