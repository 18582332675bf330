"""Small timing and table helpers shared by the benchmark scripts.

Wall-clock timings with :func:`time.perf_counter`, best of ``k`` runs after
a warm-up call. Torch's thread count is left at its default (the benchmarks
measure what a user gets out of the box).
"""

import time


class CountedField:
    """A field ``f(t, state)`` that counts its calls and the rows it evaluates.

    ``state`` is a tuple of ``[n, ...]`` tensors (ours) or one ``[n, ...]``
    tensor (torchdiffeq's); ``rows`` adds up ``n`` over the calls.
    """

    def __init__(self, field):
        self.field, self.calls, self.rows = field, 0, 0

    def __call__(self, t, state):
        self.calls += 1
        self.rows += (state[0] if isinstance(state, (tuple, list)) else state).shape[0]
        return self.field(t, state)


def best_of(fn, repeat=3, warmup=1):
    """Best wall-clock time of ``fn()`` over ``repeat`` runs, in seconds.

    Parameters
    ----------
    fn : callable
        Called with no argument; its result is discarded (kept alive until
        the clock stops, so lazy work is not hidden).
    repeat : int
        Number of timed runs; the minimum is returned.
    warmup : int
        Untimed calls made first (first-call overheads: lazy imports,
        allocator growth, torch.func transforms).

    Returns
    -------
    seconds : float
    """
    for _ in range(max(0, int(warmup))):
        fn()
    best = float("inf")
    for _ in range(max(1, int(repeat))):
        start = time.perf_counter()
        result = fn()
        elapsed = time.perf_counter() - start
        del result
        best = min(best, elapsed)
    return best


def time_per_item(fn, n_items, repeat=3, warmup=1):
    """Best wall-clock time of ``fn()`` divided by ``n_items``, in seconds."""
    return best_of(fn, repeat=repeat, warmup=warmup) / max(1, int(n_items))


def format_seconds(seconds):
    """A duration with a readable unit: ``'12.3 us'``, ``'4.56 ms'``, ``'1.23 s'``."""
    if seconds != seconds:  # NaN: not measured
        return "-"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.3g} us"
    if seconds < 1.0:
        return f"{seconds * 1e3:.3g} ms"
    return f"{seconds:.3g} s"


def format_table(headers, rows, align=None):
    """A plain-text table with aligned columns.

    Parameters
    ----------
    headers : sequence of str
    rows : sequence of sequences
        Cells are converted with ``str``.
    align : str, optional
        One character per column, ``'l'`` or ``'r'``. Default: the first
        column left-aligned, the others right-aligned.

    Returns
    -------
    table : str
    """
    headers = [str(h) for h in headers]
    rows = [[str(cell) for cell in row] for row in rows]
    n_cols = len(headers)
    for row in rows:
        if len(row) != n_cols:
            raise ValueError(
                f"Every row must have {n_cols} cells like the headers, got {len(row)}: {row}."
            )
    if align is None:
        align = "l" + "r" * (n_cols - 1)
    if len(align) != n_cols:
        raise ValueError(f"`align` must have {n_cols} characters, got {align!r}.")
    widths = [max([len(headers[i])] + [len(row[i]) for row in rows]) for i in range(n_cols)]

    def line(cells):
        parts = [
            cell.ljust(width) if how == "l" else cell.rjust(width)
            for cell, width, how in zip(cells, widths, align)
        ]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(headers), rule] + [line(row) for row in rows])


def print_table(headers, rows, align=None, title=None):
    """Print :func:`format_table`, with an optional title line above it."""
    if title:
        print(title)
    print(format_table(headers, rows, align=align), flush=True)


def interleaved_best(fns, rounds=3):
    """Best wall-clock time of each of ``fns`` over ``rounds`` rounds that call them in turn.

    Interleaving spreads a shared machine's slow spells over all the calls,
    so the ratios between their times hold better than those of separate
    best-of runs.

    Parameters
    ----------
    fns : sequence of callable
        Called with no argument, once per round each, in order.
    rounds : int

    Returns
    -------
    seconds : list of float
        One per callable.
    results : list
        What each callable returned in the last round.
    """
    best = [float("inf")] * len(fns)
    results = [None] * len(fns)
    for _ in range(max(1, int(rounds))):
        for k, fn in enumerate(fns):
            results[k], seconds = timed_call(fn)
            best[k] = min(best[k], seconds)
    return best, results


def timed_call(fn):
    """Run ``fn()`` once; return ``(result, seconds)``.

    For expensive baselines timed on a few inputs, whose result is reused
    (for instance to check agreement) rather than recomputed.
    """
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start
