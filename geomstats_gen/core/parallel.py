"""Independent chunks of work, in-process or spread by joblib (Dask included).

:func:`map_chunks` runs ``func(space, *chunk)`` for every chunk and returns
the results in order. With ``n_jobs=None`` outside any
:func:`joblib.parallel_config` it is a plain loop in this process, on the
caller's objects, exactly as before. Otherwise the chunks go through
:class:`joblib.Parallel`, so that::

    from dask.distributed import Client
    with Client(address), joblib.parallel_config(backend="dask"):
        pairwise_geodesic_distances(space, codes)

spreads them over a Dask cluster (any joblib backend works the same way).

The space (decoder included) travels once per worker, not once per chunk:
it is pickled once, into a NumPy byte array, which is broadcast to every
worker of a Dask cluster once per call (``scatter`` of joblib's Dask
backend); each worker process unpickles it once and keeps it in a small
cache keyed by the pickle's hash. A worker with a GPU moves the decoder
there when it loads it (:func:`worker_device`: a dask-cuda worker computes
on its own GPU, whatever device the caller's decoder is on); results come
back on the CPU. A worker that dies costs only its chunks:
Dask runs them again elsewhere, and the results are gathered in order, so
the output is always complete.
"""

import contextlib
import hashlib
import os
import pickle

import joblib
import numpy as np

__all__ = ["map_chunks", "uses_workers", "worker_device"]

#: Spaces kept per worker process (most recent last).
_CACHE_SIZE = 4
_CACHE = {}


def uses_workers(n_jobs):
    """Whether :func:`map_chunks` would leave this process for ``n_jobs``."""
    return joblib.effective_n_jobs(n_jobs) != 1


def _ship(obj):
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    return hashlib.sha1(data).hexdigest(), np.frombuffer(data, dtype=np.uint8)


def _stamped(payload):
    """The payload with 8 random trailing bytes (``pickle.loads`` ignores them).

    Dask keys scattered data by a hash of its content: broadcasting the same
    bytes again right after the previous call released them could find the
    key lost on the scheduler ("lost dependencies") or hang in ``scatter``.
    A stamp makes every call's key its own; the workers' cache still keys
    the space by its pickle's hash.
    """
    return np.concatenate([payload, np.frombuffer(os.urandom(8), dtype=np.uint8)])


def worker_device():
    """The device a worker computes on: its GPU when it has one, else None."""
    import torch

    return torch.device("cuda") if torch.cuda.is_available() else None


def _place(obj, device):
    """Move a manifold's decoder (or, without parameters, its chart) to ``device``."""
    chart = getattr(obj, "chart", None)
    if device is None or chart is None:
        return obj
    if any(True for _ in chart.decoder.parameters()) or any(True for _ in chart.decoder.buffers()):
        chart.decoder.to(device)
    else:
        chart.device = device
    return obj


def _load(key, payload):
    obj = _CACHE.pop(key, None)
    if obj is None:
        obj = _place(pickle.loads(payload.tobytes()), worker_device())
        while len(_CACHE) >= _CACHE_SIZE:
            _CACHE.pop(next(iter(_CACHE)))
    _CACHE[key] = obj
    return obj


def _call(func, key, payload, chunk):
    return func(_load(key, payload), *chunk)


def map_chunks(func, obj, chunks, n_jobs=None, progress=None, desc=None):
    """``[func(obj, *chunk) for chunk in chunks]``, possibly on other workers.

    Parameters
    ----------
    func : callable
        A module-level function (it is pickled by reference).
    obj : object
        Shared by every chunk (a manifold); shipped once per worker.
    chunks : sequence of tuple
        The other arguments of each call.
    n_jobs : int, optional
        As in scikit-learn: None means 1 unless inside a
        :func:`joblib.parallel_config` context (where the backend decides,
        e.g. every thread of a Dask cluster), -1 means all processors.
    progress : bool
        Wrap the results in a tqdm progress bar (one step per chunk).
    desc : str, optional
        Label of the progress bar.

    Returns
    -------
    results : list
        In the order of ``chunks``.
    """
    chunks = list(chunks)
    config = contextlib.nullcontext()
    if not uses_workers(n_jobs):
        results = (func(obj, *chunk) for chunk in chunks)
    else:
        key, payload = _ship(obj)
        if type(joblib.parallel.get_active_backend()[0]).__name__ == "DaskDistributedBackend":
            # A copy on every worker (broadcast): a worker that dies takes
            # no data with it that the others cannot serve.
            payload = _stamped(payload)
            config = joblib.parallel_config(backend="dask", scatter=[payload])
        results = _parallel(func, key, payload, chunks, n_jobs)
    with config:
        if progress:
            from tqdm.auto import tqdm

            results = tqdm(results, desc=desc, unit="chunk", total=len(chunks))
        return list(results)


def _parallel(func, key, payload, chunks, n_jobs):
    """The lazily started joblib run (it starts inside the caller's context)."""
    yield from joblib.Parallel(n_jobs=n_jobs, return_as="generator")(
        joblib.delayed(_call)(func, key, payload, chunk) for chunk in chunks
    )
