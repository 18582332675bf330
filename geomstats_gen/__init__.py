"""geomstats-gen: the latent space of a generative model as a Geomstats manifold.

Importing this package selects Geomstats' pytorch backend (when no backend
was chosen) before Geomstats is imported; it raises ImportError if Geomstats
already runs on another backend.
"""

from geomstats_gen._backend import select_pytorch_backend

select_pytorch_backend()

from geomstats_gen.core.chart import DecoderChart  # noqa: E402
from geomstats_gen.decoders import (  # noqa: E402
    LinearDecoder,
    SphereChart,
    TorusChart,
    make_mlp,
)
from geomstats_gen.exceptions import (  # noqa: E402
    ConvergenceWarning,
    ImmersionWarning,
    OutsideDomainWarning,
    PiecewiseLinearWarning,
)
from geomstats_gen.geometry.log import GeodesicResult  # noqa: E402
from geomstats_gen.manifold import GeneratedManifold  # noqa: E402
from geomstats_gen.metric import DecoderPullbackMetric  # noqa: E402
from geomstats_gen.transport import analogy  # noqa: E402

__version__ = "0.1.0"

__all__ = [
    "ConvergenceWarning",
    "DecoderChart",
    "DecoderPullbackMetric",
    "GeodesicResult",
    "ImmersionWarning",
    "OutsideDomainWarning",
    "PiecewiseLinearWarning",
    "GeneratedManifold",
    "LinearDecoder",
    "SphereChart",
    "TorusChart",
    "analogy",
    "make_mlp",
    "__version__",
]
