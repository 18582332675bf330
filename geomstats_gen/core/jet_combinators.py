"""Jets of decoders made of other decoders (see :func:`~geomstats_gen.core.jets.jet_of`).

A module whose output is built from other decoders' outputs opts in with a
method ``make_jet(jet_of)`` that returns one of these (or None when a part
has no jet): :class:`ConcatJet` (outputs side by side, times a factor:
the expected metric of a stochastic decoder, an ensemble's),
:class:`MeanJet` (their average: an ensemble's mean image) and
:class:`MapJet` (an elementwise map of one decoder's output: Fisher-Rao
coordinates). Their values are computed as the modules' forwards compute
them, so the jet's value is the decoder's output to the last bit.
"""

import torch

from geomstats_gen.core.jet_layers import elementwise_step
from geomstats_gen.core.jets import Jet, hooked

__all__ = ["ConcatJet", "MapJet", "MeanJet"]


class _Combined(Jet):
    def __init__(self, module, parts):
        self.module = module
        self.parts = list(parts)

    @classmethod
    def of(cls, module, parts, *args):
        """The combined jet, or None when a part has none."""
        parts = list(parts)
        return None if any(p is None for p in parts) else cls(module, parts, *args)

    def usable(self):
        """Usable when the module has no hooks and every part is usable."""
        return not hooked(self.module) and all(p.usable() for p in self.parts)

    def _parts(self, z, tangents, vs, ws):
        return [p.propagate(z, tangents, vs, ws) for p in self.parts]


class ConcatJet(_Combined):
    """Outputs of several decoders concatenated (flattened), times ``factor``."""

    def __init__(self, module, parts, factor=None):
        super().__init__(module, parts)
        self.factor = factor

    def propagate(self, z, tangents, vs=None, ws=None, value=True):
        """See :meth:`SequentialJet.propagate`."""
        outs = self._parts(z, tangents, vs, ws)
        joined = [
            None if vs is None and i == 2 else torch.cat([o[i] for o in outs], dim=-1)
            for i in range(3)
        ]
        if self.factor is not None:
            joined = [None if x is None else x * self.factor for x in joined]
        return tuple(joined)


class MeanJet(_Combined):
    """The average of several decoders' outputs (flattened)."""

    def propagate(self, z, tangents, vs=None, ws=None, value=True):
        """See :meth:`SequentialJet.propagate`."""
        outs = self._parts(z, tangents, vs, ws)
        return tuple(
            None if vs is None and i == 2 else torch.stack([o[i] for o in outs]).mean(0)
            for i in range(3)
        )


class MapJet(_Combined):
    """An elementwise map of one decoder's (flattened) output.

    ``transform(out) -> (y, d1, d2)``: the mapped values and the map's first
    and second derivatives at ``out``, each ``[n, D]`` (``d2`` None for an
    affine map).
    """

    def __init__(self, module, parts, transform):
        super().__init__(module, parts)
        self.transform = transform

    def propagate(self, z, tangents, vs=None, ws=None, value=True):
        """See :meth:`SequentialJet.propagate`."""
        (x, t, s), = self._parts(z, tangents, vs, ws)
        y, d1, d2 = self.transform(x)
        # (the part's second derivatives are zeros, not None, whenever ``vs`` is given)
        t, s = elementwise_step(d1, d2, t, s, vs, ws)
        return y, t, s
