"""geomstats-gen: the latent space of a generative model as a Geomstats manifold.

Importing this package selects Geomstats' pytorch backend (when no backend
was chosen) before Geomstats is imported; it raises ImportError if Geomstats
already runs on another backend. The names below are imported on first use
(so that ``geomstats-gen --help`` and light submodules load fast).
"""

import importlib

from geomstats_gen._backend import select_pytorch_backend

select_pytorch_backend()

__version__ = "0.1.0"

#: Public name -> module that defines it (imported on first access).
_EXPORTS = {
    "ConvergenceWarning": "geomstats_gen.exceptions",
    "ImmersionWarning": "geomstats_gen.exceptions",
    "OutsideDomainWarning": "geomstats_gen.exceptions",
    "PiecewiseLinearWarning": "geomstats_gen.exceptions",
    "DecoderChart": "geomstats_gen.core.chart",
    "LinearDecoder": "geomstats_gen.decoders",
    "ConeChart": "geomstats_gen.decoders",
    "RollChart": "geomstats_gen.decoders",
    "SphereChart": "geomstats_gen.decoders",
    "TorusChart": "geomstats_gen.decoders",
    "make_mlp": "geomstats_gen.decoders",
    "EnsembleDecoder": "geomstats_gen.augmented",
    "FisherRaoDecoder": "geomstats_gen.augmented",
    "StochasticDecoder": "geomstats_gen.augmented",
    "GeodesicResult": "geomstats_gen.geometry.log",
    "DecoderPullbackMetric": "geomstats_gen.metric",
    "GeneratedManifold": "geomstats_gen.manifold",
    "analogy": "geomstats_gen.transport",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'geomstats_gen' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_EXPORTS))
