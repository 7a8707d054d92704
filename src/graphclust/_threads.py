"""Thread control for one call: BLAS (threadpoolctl) and numba threads, restored afterwards."""
from __future__ import annotations

import contextlib
import os

from graphclust._validation import GraphclustError


def resolve_n_jobs(n_jobs) -> int:
    """``None`` or -1 → all cores; a positive int → that many threads."""
    cores = os.cpu_count() or 1
    if n_jobs is None or n_jobs == -1:
        return cores
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs == 0 or n_jobs < -1:
        raise GraphclustError(f"n_jobs must be a positive integer, -1 or None; got {n_jobs!r}.")
    return n_jobs


@contextlib.contextmanager
def thread_limits(n_jobs, *, numba: bool = True):
    """Limit BLAS and (if it is used) numba to ``n_jobs`` threads inside the block."""
    n = resolve_n_jobs(n_jobs)
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=n):
        if not numba:
            yield n
            return
        import numba as nb

        previous = nb.get_num_threads()
        nb.set_num_threads(min(n, nb.config.NUMBA_NUM_THREADS))
        try:
            yield n
        finally:
            nb.set_num_threads(previous)
