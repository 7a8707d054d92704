"""numba kernels for exact kNN: merge a tile of (shifted) squared distances into running top-k.

Imported lazily (only when the blocked exact search runs); nothing compiles at import.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(parallel=True, cache=True, nogil=True)
def merge_tile(G, col0, best_d, best_i, row0):  # pragma: no cover - compiled
    """Merge tile ``G`` (rows row0.., columns col0..) into the sorted top-k lists.

    ``G[r, j]`` is ``|x_j|^2 - 2 x_r.x_j`` (the squared distance minus ``|x_r|^2``), so ranking
    by it ranks by distance. Lists are kept sorted ascending; ties keep the lower column index
    (strict comparisons), so the result is deterministic for any thread count.
    """
    b, m = G.shape
    k = best_d.shape[1]
    for r in prange(b):
        row = G[r]
        bd = best_d[row0 + r]
        bi = best_i[row0 + r]
        worst = bd[k - 1]
        j0 = 0
        while j0 < m:
            j1 = min(j0 + 64, m)
            lo = row[j0]
            for j in range(j0 + 1, j1):  # vectorisable block minimum: most blocks are skipped
                lo = min(lo, row[j])
            if lo < worst:
                for j in range(j0, j1):
                    d = row[j]
                    if d < worst:
                        p = k - 1
                        while p > 0 and bd[p - 1] > d:
                            bd[p] = bd[p - 1]
                            bi[p] = bi[p - 1]
                            p -= 1
                        bd[p] = d
                        bi[p] = col0 + j
                        worst = bd[k - 1]
            j0 = j1


@njit(parallel=True, cache=True, nogil=True)
def exact_distances(X, idx, out):  # pragma: no cover - compiled
    """Euclidean distances from each row i to the points idx[i, :], computed directly."""
    n, k = idx.shape
    d = X.shape[1]
    for i in prange(n):
        for p in range(k):
            j = idx[i, p]
            s = 0.0
            for t in range(d):
                diff = np.float64(X[i, t]) - np.float64(X[j, t])
                s += diff * diff
            out[i, p] = np.sqrt(s)
