"""numba kernels of the distributed pipeline (imported lazily; nothing compiles at import)."""
from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(parallel=True, cache=True, nogil=True)
def exact_distances_rows(X, row0, idx, out):  # pragma: no cover - compiled
    """Euclidean distances from rows row0 + i of X to X[idx[i, :]] (same arithmetic as the
    serial ``graphclust.graph._select.exact_distances``)."""
    n, k = idx.shape
    d = X.shape[1]
    for i in prange(n):
        for p in range(k):
            j = idx[i, p]
            s = 0.0
            for t in range(d):
                diff = np.float64(X[row0 + i, t]) - np.float64(X[j, t])
                s += diff * diff
            out[i, p] = np.sqrt(s)


# -- k-means: the serial kernels' arithmetic, shared (graphclust.spectral._kmeans_kernels) --------
from graphclust.spectral._kmeans_kernels import _sqdist, nearest_centre  # noqa: E402


@njit(cache=True, nogil=True)
def rng_seed(seed):  # pragma: no cover - compiled
    np.random.seed(seed)


@njit(cache=True, nogil=True)
def rng_randint(n):  # pragma: no cover - compiled
    return np.random.randint(n)


@njit(cache=True, nogil=True)
def rng_random():  # pragma: no cover - compiled
    return np.random.random()


@njit(parallel=True, cache=True, nogil=True, fastmath=True)
def closest_to(X, C, c, out):  # pragma: no cover - compiled
    for i in prange(X.shape[0]):
        out[i] = _sqdist(X, i, C, c)


@njit(parallel=True, cache=True, nogil=True, fastmath=True)
def update_closest(X, C, c, closest):  # pragma: no cover - compiled
    for i in prange(X.shape[0]):
        s = _sqdist(X, i, C, c)
        if s < closest[i]:
            closest[i] = s


@njit(parallel=True, cache=True, nogil=True, fastmath=True)
def candidate_potentials(X, closest, cands, out):  # pragma: no cover - compiled
    """out[t] = sum_i min(closest[i], |x_i - cands[t]|^2) over the local rows."""
    n, d = X.shape
    m = cands.shape[0]
    part = np.empty((m, n))
    for i in prange(n):
        for t in range(m):
            s = 0.0
            for q in range(d):
                diff = X[i, q] - cands[t, q]
                s += diff * diff
            part[t, i] = min(closest[i], s)
    for t in range(m):
        out[t] = part[t].sum()


@njit(parallel=True, cache=True, nogil=True, fastmath=True)
def assign(X, C, labels, dist):  # pragma: no cover - compiled
    """Nearest centre of every local row (first minimum); returns the number of changed labels."""
    n = X.shape[0]
    changed = np.zeros(n, dtype=np.int64)
    for i in prange(n):
        best, bd = nearest_centre(X, i, C)
        if labels[i] != best:
            changed[i] = 1
            labels[i] = best
        dist[i] = bd
    return changed.sum()


@njit(parallel=True, cache=True, nogil=True, fastmath=True)
def dist_to_own(X, C, labels, out):  # pragma: no cover - compiled
    for i in prange(X.shape[0]):
        out[i] = _sqdist(X, i, C, labels[i])


@njit(parallel=True, cache=True, nogil=True)
def csr_spmm(indptr, indices, data, X, out):  # pragma: no cover - compiled
    """out = A @ X for CSR A, rows in parallel; each row summed in stored order (as scipy)."""
    m = indptr.shape[0] - 1
    b = X.shape[1]
    for i in prange(m):
        acc = np.zeros(b)
        for p in range(indptr[i], indptr[i + 1]):
            a = data[p]
            j = np.uintp(indices[p])  # unsigned: no negative-index wraparound branch
            for c in range(b):
                acc[c] += a * X[j, c]
        for c in range(b):
            out[i, c] = acc[c]
