"""Select Geomstats' pytorch backend before Geomstats is imported.

Geomstats picks its backend once, from the ``GEOMSTATS_BACKEND`` environment
variable, the first time it is imported. geomstats-gen works on torch tensors
(decoders are torch modules), so it needs the pytorch backend.

Note that importing Geomstats with the pytorch backend sets torch's default
dtype to float64 for the whole process. Nothing in geomstats-gen relies on the
default dtype: every tensor is created from an input's dtype and device.
"""

import os
import sys

REQUIRED_BACKEND = "pytorch"


def _loaded_backend_name():
    """Return the name of the backend of an already imported Geomstats."""
    backend = sys.modules.get("geomstats._backend")
    if backend is not None and hasattr(backend, "BACKEND_NAME"):
        return backend.BACKEND_NAME
    gs_backend = sys.modules.get("geomstats.backend")
    if gs_backend is not None:
        return gs_backend.__name__.rsplit(".", 1)[-1]
    return None


def select_pytorch_backend():
    """Make sure Geomstats runs (or will run) on its pytorch backend.

    Raises
    ------
    ImportError
        If Geomstats was already imported with another backend, or if the
        user asked for another backend through ``GEOMSTATS_BACKEND``.
    """
    loaded = _loaded_backend_name()
    if loaded is not None:
        if loaded != REQUIRED_BACKEND:
            raise ImportError(
                "geomstats_gen needs Geomstats' 'pytorch' backend, but Geomstats "
                f"was already imported with the {loaded!r} backend. Import "
                "geomstats_gen before geomstats, or set "
                "GEOMSTATS_BACKEND=pytorch before starting Python."
            )
        return
    chosen = os.environ.get("GEOMSTATS_BACKEND")
    if chosen is None or chosen == "":
        os.environ["GEOMSTATS_BACKEND"] = REQUIRED_BACKEND
    elif chosen != REQUIRED_BACKEND:
        raise ImportError(
            "geomstats_gen needs Geomstats' 'pytorch' backend, but the "
            f"environment variable GEOMSTATS_BACKEND is {chosen!r}. Unset it or "
            "set it to 'pytorch'."
        )
