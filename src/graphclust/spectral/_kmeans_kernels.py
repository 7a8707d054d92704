"""numba kernels for best-of-M k-means (k-means++ seeding, Lloyd iterations).

Restarts run in parallel, one restart per thread at a time, each seeded with its own integer,
so the result is identical for any number of threads. Imported lazily; nothing compiles at import.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(cache=True, nogil=True, fastmath=True)
def _sqdist(X, i, C, c):  # pragma: no cover - compiled
    s = 0.0
    for t in range(X.shape[1]):
        diff = X[i, t] - C[c, t]
        s += diff * diff
    return s


@njit(cache=True, nogil=True, fastmath=True)
def kmeans_plusplus(X, k, seed, n_local_trials):  # pragma: no cover - compiled
    """Greedy k-means++ (as in Arthur & Vassilvitskii, with local trials like scikit-learn)."""
    np.random.seed(seed)
    n, d = X.shape
    C = np.empty((k, d))
    first = np.random.randint(n)
    C[0] = X[first]
    closest = np.empty(n)
    for i in range(n):
        closest[i] = _sqdist(X, i, C, 0)
    pot = closest.sum()
    cand_d = np.empty(n)
    for c in range(1, k):
        best_pot = np.inf
        best_idx = 0
        cum = np.cumsum(closest)
        for _ in range(n_local_trials):
            if pot > 0:
                r = np.random.random() * cum[-1]
                idx = np.searchsorted(cum, r, side="right")
                if idx >= n:
                    idx = n - 1
            else:
                idx = np.random.randint(n)
            p = 0.0
            for i in range(n):
                s = 0.0
                for t in range(d):
                    diff = X[i, t] - X[idx, t]
                    s += diff * diff
                cand_d[i] = min(closest[i], s)
                p += cand_d[i]
            if p < best_pot:
                best_pot = p
                best_idx = idx
        C[c] = X[best_idx]
        for i in range(n):
            s = _sqdist(X, i, C, c)
            if s < closest[i]:
                closest[i] = s
        pot = closest.sum()
    return C


@njit(cache=True, nogil=True, fastmath=True, inline="always")
def nearest_centre(X, i, C):  # pragma: no cover - compiled
    """(index, squared distance) of the centre nearest to X[i]; the first one on ties."""
    best = 0
    bd = _sqdist(X, i, C, 0)
    for c in range(1, C.shape[0]):
        dd = _sqdist(X, i, C, c)
        if dd < bd:
            bd = dd
            best = c
    return best, bd


@njit(cache=True, nogil=True, fastmath=True)
def lloyd(X, C, max_iter, tol):  # pragma: no cover - compiled
    """Lloyd iterations from centres C (modified in place). Returns labels, inertia, n_iter."""
    n, d = X.shape
    k = C.shape[0]
    labels = np.full(n, -1, dtype=np.int64)
    sums = np.zeros((k, d))
    counts = np.zeros(k, dtype=np.int64)
    it = 0
    inertia = 0.0
    for it in range(1, max_iter + 1):
        changed = 0
        inertia = 0.0
        sums[:] = 0.0
        counts[:] = 0
        for i in range(n):
            best, bd = nearest_centre(X, i, C)
            if labels[i] != best:
                changed += 1
                labels[i] = best
            inertia += bd
            counts[best] += 1
            for t in range(d):
                sums[best, t] += X[i, t]
        shift = 0.0
        for c in range(k):
            if counts[c] > 0:
                for t in range(d):
                    v = sums[c, t] / counts[c]
                    shift += (v - C[c, t]) ** 2
                    C[c, t] = v
            else:
                # empty cluster: move its centre to the point farthest from its centre
                far = 0
                fd = -1.0
                for i in range(n):
                    dd = _sqdist(X, i, C, labels[i])
                    if dd > fd:
                        fd = dd
                        far = i
                for t in range(d):
                    C[c, t] = X[far, t]
                shift = np.inf
        if changed == 0 or shift <= tol:
            break
    # final assignment and exact inertia for the returned centres
    inertia = 0.0
    for i in range(n):
        best, bd = nearest_centre(X, i, C)
        labels[i] = best
        inertia += bd
    return labels, inertia, it


@njit(parallel=True, cache=True, nogil=True)
def kmeans_restarts(X, k, seeds, max_iter, tol, n_local_trials):  # pragma: no cover - compiled
    """Run one k-means per seed (in parallel); return all labels, centres, inertias, iterations."""
    m = seeds.shape[0]
    n, d = X.shape
    all_labels = np.empty((m, n), dtype=np.int64)
    all_centers = np.empty((m, k, d))
    inertias = np.empty(m)
    n_iters = np.empty(m, dtype=np.int64)
    for r in prange(m):
        C = kmeans_plusplus(X, k, seeds[r], n_local_trials)
        labels, inertia, it = lloyd(X, C, max_iter, tol)
        all_labels[r] = labels
        all_centers[r] = C
        inertias[r] = inertia
        n_iters[r] = it
    return all_labels, all_centers, inertias, n_iters
