"""The numbers of the latent-geometry report of a fitted generative model.

:func:`analyze` takes a fitted :mod:`geomstats_gen.models` model (or any
object with ``transform`` and ``manifold_``) and labelled data, and returns
``(summary, arrays)``: ``summary`` holds only JSON-ready values (finite
floats, ints, strings, lists) and goes to ``summary.json``; ``arrays`` holds
the tensors the plots need (grids, paths, decoded images). The sections
themselves are in :mod:`geomstats_gen.report.sections`.

Warnings are never silenced: the user warnings emitted during a step (a
geodesic solve that did not converge, a decoder that is not an immersion at
some codes...) are counted per step and per kind into
``summary["warnings"]``, shown in the report, and emitted once each (per
kind and message) after the analysis. Other kinds of warnings (deprecations
of dependencies...) follow the caller's warning filters.

The distance matrix of the separability table is bounded by ``n_codes`` (a
stratified subset) and approximated by shortest paths in a
k-nearest-neighbour graph whose edges are exact geodesics
(:func:`geomstats_gen.learning.pairwise_geodesic_distances`,
``method="graph"``).
"""

import time
import warnings

import numpy as np

from geomstats_gen.core.checks import check_choice, check_int
from geomstats_gen.geometry.transport import TRANSPORT_METHODS
from geomstats_gen.report.context import encode, latent_slice
from geomstats_gen.report.sections import SECTIONS

__all__ = ["analyze", "latent_slice"]

#: The steps of the analysis, in order (keys of ``summary["timings_s"]``).
STEPS = ("encode",) + tuple(step for step, _, _ in SECTIONS)

#: How many distinct messages of one kind a step keeps in the summary.
MAX_MESSAGES = 3


class _Steps:
    """A tqdm bar over the named steps of the analysis (stderr)."""

    def __init__(self, names, progress):
        self.bar = None
        self.times = {}
        if progress:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=len(names), desc="analysis", unit="step")
        self._t = None
        self._name = None

    def start(self, name):
        self._finish()
        self._name = name
        self._t = time.perf_counter()
        if self.bar is not None:
            self.bar.set_postfix_str(name)

    def _finish(self):
        if self._name is not None:
            self.times[self._name] = round(time.perf_counter() - self._t, 3)
            if self.bar is not None:
                self.bar.update(1)
        self._name = None

    def close(self):
        self._finish()
        if self.bar is not None:
            self.bar.close()


class _WarningLog:
    """Counts the warnings of each step per kind, without hiding them."""

    def __init__(self):
        self.records = []

    def record(self, step):
        """Context manager that catches the warnings of ``step``."""
        log = self

        class _Catch(warnings.catch_warnings):
            def __enter__(self):
                self.caught = super().__enter__()
                # every user-facing warning, each time (the library's own
                # warnings are UserWarnings); other kinds keep the filters
                warnings.simplefilter("always", UserWarning)
                return self

            def __exit__(self, *exc):
                log.records.extend((step, w) for w in self.caught)
                return super().__exit__(*exc)

        return _Catch(record=True)

    def summary(self):
        """``{step: {kind: {"count": n, "messages": [...]}}}`` (JSON-ready)."""
        out = {}
        for step, w in self.records:
            entry = out.setdefault(step, {}).setdefault(
                w.category.__name__, {"count": 0, "messages": []}
            )
            entry["count"] += 1
            text = str(w.message)
            if text not in entry["messages"] and len(entry["messages"]) < MAX_MESSAGES:
                entry["messages"].append(text)
        return out

    def reemit(self):
        """Emit each distinct (kind, message) once, as the caller's warnings."""
        seen = set()
        for _, w in self.records:
            key = (w.category, str(w.message))
            if key not in seen:
                seen.add(key)
                warnings.warn(str(w.message), w.category, stacklevel=3)


def analyze(
    model,
    X,
    y=None,
    *,
    image_shape=None,
    n_codes=250,
    n_pairs=4,
    n_ratio_pairs=32,
    n_analogies=3,
    n_strip=10,
    grid_size=120,
    n_planes=8,
    graph_neighbors=8,
    knn_neighbors=5,
    analogy_transport="ode",
    transport_steps=25,
    random_state=0,
    progress=False,
    metric="pullback",
):
    """Compute the numbers and arrays of the report.

    Parameters
    ----------
    model : fitted model
        Needs ``transform(X) -> codes [n, d]`` and ``manifold_`` (a
        :class:`~geomstats_gen.GeneratedManifold` of the mean decoder), as
        the models of :mod:`geomstats_gen.models` have.
    X : array-like, shape=[n, D]
        Data, encoded with ``model.transform``.
    y : array-like, shape=[n], optional
        Class labels (the scatter's colours and the separability table);
        without labels every code is in class 0 and the table is skipped.
    image_shape : tuple of int, optional
        ``(H, W)`` of the decoded images; default: square when ``D`` is a
        square number, else ``(1, D)``.
    n_codes : int
        Codes (a stratified subset) for the scatter, the curvature and the
        geodesic distance matrix of the separability table.
    n_pairs : int
        Code pairs whose geodesics and straight lines are drawn.
    n_ratio_pairs : int
        Random code pairs of the geodesic/linear length ratio statistics.
    n_analogies : int
        Rows of the analogy grid (0: no analogies).
    n_strip : int
        Images per decoded strip.
    grid_size : int
        Grid points per side of the magnification-factor map.
    n_planes : int
        Random planes per code of the sectional-curvature statistics.
    graph_neighbors : int
        Neighbours per code of the graph of the geodesic distance matrix.
    knn_neighbors : int
        Neighbours of the kNN classifier of the separability table.
    analogy_transport : {"ode", "projection"}
        Parallel transport scheme of the geodesic analogies
        (:func:`geomstats_gen.transport.analogy`'s ``transport_method``):
        the fourth-order ODE, or Shao et al.'s first-order projection
        (cheaper; the fast mode uses it).
    transport_steps : int
        RK4 steps of the ODE transport of the analogies (passed to
        :func:`geomstats_gen.transport.analogy`; fourth order, so 25 steps
        are plenty along these short geodesics).
    random_state : int
        Seed of every random choice.
    progress : bool
        Show a progress bar over the steps (stderr).
    metric : str
        The latent metric analysed: ``"pullback"`` (``model.manifold_``), or
        any metric of ``model.manifold(metric)`` (``"expected"``,
        ``"fisher-rao"``, see :meth:`geomstats_gen.models.VAE.manifold`).

    Returns
    -------
    summary : dict
        JSON-ready numbers (see the keys in the report); ``"warnings"``
        counts the warnings of each step per kind, ``"timings_s"`` the
        seconds of each step, ``"failed_steps"`` maps the steps that raised
        to their error (their section holds ``{"failed": error}``; the
        others are complete). Only a failure to encode the data raises.
    arrays : dict
        NumPy arrays for :mod:`geomstats_gen.report.plots`.
    """
    for name, value, minimum in (("n_codes", n_codes, 6), ("n_pairs", n_pairs, 1),
                                 ("n_ratio_pairs", n_ratio_pairs, 1),
                                 ("n_analogies", n_analogies, 0), ("n_strip", n_strip, 2),
                                 ("grid_size", grid_size, 2), ("n_planes", n_planes, 1),
                                 ("graph_neighbors", graph_neighbors, 1),
                                 ("knn_neighbors", knn_neighbors, 1),
                                 ("transport_steps", transport_steps, 1)):
        check_int(value, name, minimum=minimum)
    check_choice(analogy_transport, "analogy_transport", TRANSPORT_METHODS)
    if not hasattr(model, "manifold_") or not hasattr(model, "transform"):
        raise TypeError(
            "`model` must be a fitted geomstats_gen model (with `transform` and `manifold_`), "
            f"got {type(model).__name__}."
        )
    space = model.manifold_ if metric == "pullback" else model.manifold(metric)
    settings = dict(
        n_pairs=n_pairs, n_ratio_pairs=n_ratio_pairs, n_analogies=n_analogies,
        n_strip=n_strip, grid_size=grid_size, n_planes=n_planes,
        graph_neighbors=graph_neighbors, knn_neighbors=knn_neighbors,
        analogy_transport=analogy_transport, transport_steps=transport_steps,
        random_state=random_state,
    )
    rng = np.random.default_rng(random_state)
    steps = _Steps(STEPS, progress)
    log = _WarningLog()
    summary, arrays, failed = {}, {}, {}
    try:
        steps.start("encode")
        with log.record("encode"):  # without codes nothing can be analysed: raise
            context, summary["latent"], part = encode(
                model, space, X, y, image_shape, n_codes, rng, settings
            )
        summary["latent"]["metric"] = metric
        arrays.update(part)
        for step, key, section in SECTIONS:
            steps.start(step)
            try:
                with log.record(step):
                    summary[key], part = section(context)
            except Exception as err:  # noqa: BLE001 - recorded; the other steps still run
                failed[step] = f"{type(err).__name__}: {err}"
                summary[key] = {"failed": failed[step]}
                warnings.warn(
                    f"analysis step {step!r} failed and is left out of the report: "
                    f"{failed[step]}",
                    RuntimeWarning,
                    stacklevel=2,
                )
                continue
            arrays.update(part)
    finally:
        steps.close()
        log.reemit()
    summary["failed_steps"] = failed
    summary["warnings"] = log.summary()
    summary["timings_s"] = dict(steps.times)
    return summary, arrays
