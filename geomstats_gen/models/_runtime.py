"""Where a model runs: its device and its CPU threads."""

import contextlib
import functools
import numbers
import os

import torch

__all__ = ["resolve_device", "threads", "with_threads"]


def resolve_device(device):
    """A torch.device from ``"cpu"``, ``"cuda[:k]"``, ``"auto"`` or a torch.device."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ValueError(
            f"`device` must be 'cpu', 'cuda', 'cuda:<k>', 'auto' or a torch.device, "
            f"got {device!r}."
        ) from err
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"`device` is {device!r} but CUDA is not available here.")
    return resolved


@contextlib.contextmanager
def threads(n_jobs):
    """Set torch's number of CPU threads for a block (None: unchanged)."""
    if n_jobs is None:
        yield
        return
    wanted = (os.cpu_count() or 1) if n_jobs == -1 else int(n_jobs)
    previous = torch.get_num_threads()
    torch.set_num_threads(wanted)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def with_threads(method):
    """Run an estimator method under its ``n_jobs`` thread setting."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        n_jobs = getattr(self, "n_jobs", None)
        if not (n_jobs is None or n_jobs == -1 or (
            isinstance(n_jobs, numbers.Integral) and not isinstance(n_jobs, bool) and n_jobs >= 1
        )):
            n_jobs = None  # reported by the parameter checks of fit
        with threads(n_jobs):
            return method(self, *args, **kwargs)

    return wrapper
