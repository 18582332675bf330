"""A float32 copy of a float64 decoder, for approximate Jacobians.

The log map's Gauss-Newton blocks (``J_i^T J_i``, ``J_i^T J_{i+1}``) only
precondition its iterations: their exact gradient comes from the float64
decoder, so blocks a few parts in ``1e7`` off change the path of the
iterations, never the answer. On CPU (and on most GPUs) a float32 Jacobian
costs about half a float64 one, and the coarsest resolution's Jacobians are
half of the log's decoder passes on a 10-D decoder.

The copy is made once and made again when the decoder's weights change (a
parameter or buffer replaced or modified in place: torch's version counter),
so a model trained further between calls never preconditions with stale
weights. A decoder that cannot be copied, or has no floating weights (an
analytic chart computes in whatever dtype it is given), has no twin.
"""

import copy
import itertools

import torch

from geomstats_gen.core import autodiff
from geomstats_gen.core.chunking import chunked
from geomstats_gen.core.jets import jet_of

__all__ = ["LowPrecisionTwin"]


def _weights(decoder):
    # parameters and buffers, lazily (not state_dict(), several times
    # dearer: this runs at every solve)
    tensors = itertools.chain(decoder.parameters(), decoder.buffers())
    return (t for t in tensors if t.is_floating_point())


class LowPrecisionTwin:
    """The float32 copy of a float64 ``torch.nn.Module``, kept in step with it.

    Parameters
    ----------
    decoder : callable
        The decoder; only a ``torch.nn.Module`` with float64 weights gets a
        twin.
    """

    def __init__(self, decoder):
        self.decoder = decoder
        self._key = None
        self._twin = None
        self._jet = None

    def __getstate__(self):  # the copy is not shipped (e.g. to Dask workers)
        return {"decoder": self.decoder, "_key": None, "_twin": None, "_jet": None}

    @property
    def available(self):
        """Whether :meth:`get` gives a twin."""
        return self.get() is not None

    def _version_key(self, weights):
        return tuple((t.data_ptr(), t._version, t.device) for t in weights)

    def get(self):
        """The float32 copy, or None where there is none to take.

        Returns
        -------
        twin : torch.nn.Module or None
        """
        decoder = self.decoder
        if not isinstance(decoder, torch.nn.Module):
            return None
        # the first floating weight decides for most decoders (float32 ones
        # at every solve), before the others are listed
        floating = _weights(decoder)
        first = next(floating, None)
        if first is None or first.dtype != torch.float64:
            return None
        weights = [first, *floating]
        if any(t.dtype != torch.float64 for t in weights):
            return None
        key = self._version_key(weights)
        if key != self._key:
            try:
                with torch.no_grad():
                    twin = copy.deepcopy(decoder).to(torch.float32)
            except (TypeError, RuntimeError, copy.Error):  # not copyable: no twin
                twin = None
            self._twin, self._key = twin, key
            self._jet = None if twin is None else jet_of(twin)
        return self._twin

    def jacobian(self, z, out_dim, chunk_size=None):
        """Jacobian ``[n, D, d]`` of the twin at ``z``, in ``z``'s dtype; None without a twin.

        Parameters
        ----------
        z : torch.Tensor, shape=[n, d]
        out_dim : int
            ``D`` (the outputs are flattened).
        chunk_size : int, optional
        """
        twin = self.get()
        if twin is None:
            return None
        jet = self._jet
        if jet is not None and jet.usable():
            return chunked(jet.value_and_jacobian, chunk_size, z.to(torch.float32))[1].to(
                z.dtype
            )

        def decode(x):
            return twin(x).reshape(x.shape[0], out_dim)

        jac = autodiff.jacobian(decode, z.to(torch.float32), chunk_size=chunk_size, out_dim=out_dim)
        return jac.to(z.dtype)
