"""Deterministic, parallel approximate k-nearest neighbours (Euclidean) for large n.

Random-projection forest for the initial graph, then synchronous NN-descent (local joins of
neighbours and reverse neighbours). Written in numba; imported lazily by
``graphclust.graph.neighbors`` only when the approximate method is used.

Determinism
-----------
Same ``random_state`` gives bit-identical output whatever ``numba.set_num_threads`` is:

* every random choice is a counter-based hash of one integer seed and the indices involved
  (tree, node, point, iteration), never a stateful per-thread generator;
* no two threads ever write the same row: trees are built one per task, leaves of one tree are
  disjoint, and every scatter (reverse neighbours, join updates) is applied by the thread that
  owns the target row, reading the candidates in a fixed order. Each row therefore sees the same
  sequence of updates with 1 or many threads;
* each iteration's candidate lists are a snapshot taken at its start; joins are generated block
  by block (the block size depends on ``n`` and ``k`` only) and applied before the next block.

Memory is O(n * k) for the graph and candidate lists plus the forest (``n_trees * n`` int32).
"""
from __future__ import annotations

import math
import time

import numba
import numpy as np
from numba import njit, prange

from graphclust._validation import (
    check_float,
    check_int,
    check_points,
    check_random_state,
    seed_from,
)

__all__ = ["nndescent_knn"]

_GOLD = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_EMPTY_PRI = np.uint32(0xFFFFFFFF)  # priorities are 31-bit, so a real one never equals this
_JOIN_BUFFER_ENTRIES = 4_000_000  # pairs buffered per join block (12 bytes each)


# --------------------------------------------------------------------------------------------
# counter-based hashing (splitmix64 finaliser): random numbers without state
# --------------------------------------------------------------------------------------------
@njit(cache=True, nogil=True)
def _mix64(z):
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


@njit(cache=True, nogil=True)
def _hash3(seed, a, b):
    """64-bit hash of (seed, a, b); a, b non-negative integers."""
    h = _mix64(np.uint64(seed) + _GOLD * np.uint64(a + 1))
    return _mix64(h + _GOLD * np.uint64(b + 1))


@njit(cache=True, nogil=True)
def _randint(seed, a, b, m):
    """Deterministic integer in [0, m) from (seed, a, b)."""
    return np.int64(_hash3(seed, a, b) >> np.uint64(1)) % m


# --------------------------------------------------------------------------------------------
# distances and heaps
# --------------------------------------------------------------------------------------------
@njit(cache=True, nogil=True, fastmath=True)
def _sqdist(x, y):
    s = np.float32(0.0)
    for t in range(x.shape[0]):
        diff = x[t] - y[t]
        s += diff * diff
    return s


@njit(cache=True, nogil=True)
def _gt(d1, i1, d2, i2):
    """(d1, i1) > (d2, i2) lexicographically: ties in distance go to the lower index."""
    return d1 > d2 or (d1 == d2 and i1 > i2)


@njit(cache=True, nogil=True)
def _heap_push(dist, ind, flag, row, d, j, f):
    """Insert (d, j) into row's bounded max-heap (root = worst) unless it is not better or
    already present. Returns 1 when inserted."""
    k = dist.shape[1]
    if not _gt(dist[row, 0], ind[row, 0], d, j):
        return 0
    for s in range(k):
        if ind[row, s] == j:
            return 0
    pos = 0
    while True:
        c1 = 2 * pos + 1
        if c1 >= k:
            break
        c2 = c1 + 1
        sw = c1
        if c2 < k and _gt(dist[row, c2], ind[row, c2], dist[row, c1], ind[row, c1]):
            sw = c2
        if _gt(dist[row, sw], ind[row, sw], d, j):
            dist[row, pos] = dist[row, sw]
            ind[row, pos] = ind[row, sw]
            flag[row, pos] = flag[row, sw]
            pos = sw
        else:
            break
    dist[row, pos] = d
    ind[row, pos] = j
    flag[row, pos] = f
    return 1


@njit(cache=True, nogil=True)
def _cand_push(pri, ind, row, p, j):
    """Keep the max_candidates entries of smallest (priority, index) in row (max-heap)."""
    m = pri.shape[1]
    if p > pri[row, 0] or (p == pri[row, 0] and j >= ind[row, 0]):
        return
    for s in range(m):
        if ind[row, s] == j:
            return
    pos = 0
    while True:
        c1 = 2 * pos + 1
        if c1 >= m:
            break
        c2 = c1 + 1
        sw = c1
        if c2 < m and (pri[row, c2] > pri[row, c1]
                       or (pri[row, c2] == pri[row, c1] and ind[row, c2] > ind[row, c1])):
            sw = c2
        if pri[row, sw] > p or (pri[row, sw] == p and ind[row, sw] > j):
            pri[row, pos] = pri[row, sw]
            ind[row, pos] = ind[row, sw]
            pos = sw
        else:
            break
    pri[row, pos] = p
    ind[row, pos] = j


# --------------------------------------------------------------------------------------------
# random-projection forest
# --------------------------------------------------------------------------------------------
@njit(cache=True, nogil=True, fastmath=True)
def _build_tree(X, leaf_size, seed, perm, bounds):
    """Split indices recursively by the hyperplane between two random points until every leaf
    holds at most leaf_size points. Fills perm (leaf-ordered indices) and bounds (leaf starts,
    ascending, followed by n); returns the number of leaves."""
    n, d = X.shape
    for i in range(n):
        perm[i] = i
    side = np.empty(n, dtype=np.uint8)
    tmp = np.empty(n, dtype=np.int32)
    normal = np.empty(d, dtype=np.float32)
    st_s = np.empty(n + 1, dtype=np.int64)
    st_e = np.empty(n + 1, dtype=np.int64)
    top = 0
    st_s[0] = 0
    st_e[0] = n
    top = 1
    n_leaves = 0
    node = 0
    while top > 0:
        top -= 1
        s = st_s[top]
        e = st_e[top]
        m = e - s
        if m <= leaf_size:
            bounds[n_leaves] = s
            n_leaves += 1
            continue
        node += 1
        a = s + _randint(seed, node, 0, m)
        b = s + _randint(seed, node, 1, m - 1)
        if b >= a:
            b += 1
        xa = X[perm[a]]
        xb = X[perm[b]]
        off = np.float32(0.0)
        for t in range(d):
            normal[t] = xa[t] - xb[t]
            off += normal[t] * (xa[t] + xb[t]) * np.float32(0.5)
        n_left = 0
        for p in range(s, e):
            i = perm[p]
            xi = X[i]
            margin = -off
            for t in range(d):
                margin += normal[t] * xi[t]
            if margin > 0:
                side[p] = 0
            elif margin < 0:
                side[p] = 1
            else:  # on the hyperplane (e.g. duplicates): a coin flip
                side[p] = np.uint8(_hash3(seed, node, i) & np.uint64(1))
            if side[p] == 0:
                n_left += 1
        if n_left == 0 or n_left == m:
            mid = s + m // 2  # degenerate split (all points coincide): halve in place
        else:
            lo = s
            hi = s + n_left
            for p in range(s, e):
                if side[p] == 0:
                    tmp[lo] = perm[p]
                    lo += 1
                else:
                    tmp[hi] = perm[p]
                    hi += 1
            for p in range(s, e):
                perm[p] = tmp[p]
            mid = s + n_left
        # push right first so leaves come out left to right (ascending starts)
        st_s[top] = mid
        st_e[top] = e
        top += 1
        st_s[top] = s
        st_e[top] = mid
        top += 1
    bounds[n_leaves] = n
    return n_leaves


@njit(cache=True, nogil=True, parallel=True)
def _build_forest(X, leaf_size, tree_seeds, perms, bounds, n_leaves):
    for t in prange(tree_seeds.shape[0]):
        n_leaves[t] = _build_tree(X, leaf_size, tree_seeds[t], perms[t], bounds[t])


@njit(cache=True, nogil=True, parallel=True, fastmath=True)
def _leaf_knn(X, perm, bounds, n_leaves, dist, ind, flag):
    """Exact kNN inside each leaf of one tree, merged into the heaps. Leaves of one tree are
    disjoint, so each row is written by one thread only."""
    d = X.shape[1]
    for leaf in prange(n_leaves):
        s = bounds[leaf]
        e = bounds[leaf + 1]
        m = e - s
        buf = np.empty((m, d), dtype=np.float32)
        for p in range(m):
            buf[p] = X[perm[s + p]]
        for p in range(m):
            i = perm[s + p]
            for q in range(p + 1, m):
                j = perm[s + q]
                dd = _sqdist(buf[p], buf[q])
                if dd <= dist[i, 0]:
                    _heap_push(dist, ind, flag, i, dd, j, 1)
                if dd <= dist[j, 0]:
                    _heap_push(dist, ind, flag, j, dd, i, 1)


@njit(cache=True, nogil=True, parallel=True, fastmath=True)
def _fill_random(X, seed, dist, ind, flag):
    """Top up rows with fewer than k neighbours (tiny leaves) with random points."""
    n, k = ind.shape
    for i in prange(n):
        missing = 0
        for s in range(k):
            if ind[i, s] < 0:
                missing += 1
        attempt = 0
        while missing > 0 and attempt < 4 * k + 16:
            j = _randint(seed, i, attempt, n)
            attempt += 1
            if j != i:
                missing -= _heap_push(dist, ind, flag, i, _sqdist(X[i], X[j]), j, 1)
        step = 1
        while missing > 0 and step < n:  # fallback for tiny n: scan
            jj = (np.int64(i) + step) % n
            step += 1
            missing -= _heap_push(dist, ind, flag, i, _sqdist(X[i], X[jj]), jj, 1)


# --------------------------------------------------------------------------------------------
# NN-descent
# --------------------------------------------------------------------------------------------
@njit(cache=True, nogil=True, parallel=True)
def _build_candidates(ind, flag, seed, n_threads, new_c, new_p, old_c, old_p):
    """Sample up to max_candidates new and old (neighbour + reverse neighbour) candidates per
    point with hashed priorities; clear the 'new' flag of the sampled new neighbours."""
    n, k = ind.shape
    mc = new_c.shape[1]
    for i in prange(n):
        for s in range(mc):
            new_c[i, s] = -1
            old_c[i, s] = -1
            new_p[i, s] = _EMPTY_PRI
            old_p[i, s] = _EMPTY_PRI
    chunk = (n + n_threads - 1) // n_threads
    for t in prange(n_threads):
        lo = t * chunk
        hi = min(n, lo + chunk)
        for i in range(n):
            own_i = lo <= i < hi
            for s in range(k):
                j = ind[i, s]
                if j < 0:
                    continue
                own_j = lo <= j < hi
                if not (own_i or own_j):
                    continue
                a = min(i, j)
                b = max(i, j)
                p = np.uint32(_hash3(seed, a, b) >> np.uint64(33))
                if flag[i, s]:
                    if own_i:
                        _cand_push(new_p, new_c, i, p, j)
                    if own_j:
                        _cand_push(new_p, new_c, j, p, i)
                else:
                    if own_i:
                        _cand_push(old_p, old_c, i, p, j)
                    if own_j:
                        _cand_push(old_p, old_c, j, p, i)
    for i in prange(n):
        for s in range(k):
            if flag[i, s]:
                j = ind[i, s]
                for q in range(mc):
                    if new_c[i, q] == j:
                        flag[i, s] = 0
                        break


@njit(cache=True, nogil=True, parallel=True, fastmath=True)
def _local_join(X, dist, new_c, old_c, start, stop, buf_u, buf_v, buf_d, buf_n):
    """Distances between the candidates of each point in [start, stop) (new-new and new-old
    pairs); keep the pairs that may improve either end. Read-only on the graph."""
    mc = new_c.shape[1]
    for jj in prange(stop - start):
        j = start + jj
        cnt = 0
        for p in range(mc):
            u = new_c[j, p]
            if u < 0:
                continue
            xu = X[u]
            tu = dist[u, 0]
            for q in range(p + 1, mc):
                v = new_c[j, q]
                if v < 0:
                    continue
                dd = _sqdist(xu, X[v])
                if dd <= tu or dd <= dist[v, 0]:
                    buf_u[jj, cnt] = u
                    buf_v[jj, cnt] = v
                    buf_d[jj, cnt] = dd
                    cnt += 1
            for q in range(mc):
                v = old_c[j, q]
                if v < 0 or v == u:
                    continue
                dd = _sqdist(xu, X[v])
                if dd <= tu or dd <= dist[v, 0]:
                    buf_u[jj, cnt] = u
                    buf_v[jj, cnt] = v
                    buf_d[jj, cnt] = dd
                    cnt += 1
        buf_n[jj] = cnt


@njit(cache=True, nogil=True, parallel=True)
def _apply_updates(dist, ind, flag, buf_u, buf_v, buf_d, buf_n, n_rows, n_threads):
    """Push the buffered pairs into both ends' heaps; thread t owns a contiguous range of
    target rows and reads the buffer in order, so each row sees the same update sequence."""
    n = dist.shape[0]
    chunk = (n + n_threads - 1) // n_threads
    counts = np.zeros(n_threads, dtype=np.int64)
    for t in prange(n_threads):
        lo = t * chunk
        hi = min(n, lo + chunk)
        c = 0
        for jj in range(n_rows):
            for r in range(buf_n[jj]):
                u = buf_u[jj, r]
                v = buf_v[jj, r]
                dd = buf_d[jj, r]
                if lo <= u < hi and dd <= dist[u, 0]:
                    c += _heap_push(dist, ind, flag, u, dd, v, 1)
                if lo <= v < hi and dd <= dist[v, 0]:
                    c += _heap_push(dist, ind, flag, v, dd, u, 1)
        counts[t] = c
    total = 0
    for t in range(n_threads):
        total += counts[t]
    return total


@njit(cache=True, nogil=True, parallel=True)
def _finalize(dist, ind, out_d, out_i):
    """Sort each row by (distance, index); return Euclidean (not squared) distances."""
    n, k = ind.shape
    for i in prange(n):
        dd = dist[i].copy()
        ii = ind[i].copy()
        for a in range(1, k):  # insertion sort, k is small
            kd = dd[a]
            ki = ii[a]
            b = a - 1
            while b >= 0 and _gt(dd[b], ii[b], kd, ki):
                dd[b + 1] = dd[b]
                ii[b + 1] = ii[b]
                b -= 1
            dd[b + 1] = kd
            ii[b + 1] = ki
        for a in range(k):
            out_d[i, a] = np.sqrt(dd[a])
            out_i[i, a] = ii[a]


# --------------------------------------------------------------------------------------------
# public entry point
# --------------------------------------------------------------------------------------------
def _default_n_trees(n: int) -> int:
    return int(min(32, max(4, round(2 + n ** 0.25 / 2))))


def _default_leaf_size(k: int) -> int:
    return int(max(48, 2 * (k + 1)))


def _default_max_candidates(k: int) -> int:
    return int(min(60, max(k, 16)))


def nndescent_knn(X, n_neighbors, *, random_state=None, n_trees=None, leaf_size=None,
                  max_iters=None, delta=0.001, return_stats=False):
    """Approximate k nearest neighbours (Euclidean) by RP-forest + NN-descent; deterministic.

    Parameters
    ----------
    X : array of shape (n, d), float32 or float64
        Points; computed in float32.
    n_neighbors : int
        k, the number of neighbours per point, not counting the point itself (1 <= k < n).
    random_state : int, Generator, RandomState or None
        Seed for the forest and the candidate sampling. The same seed gives bit-identical
        output for any number of numba threads.
    n_trees : int, optional
        Trees in the random-projection forest (default grows slowly with n: 4..32).
    leaf_size : int, optional
        Largest leaf of a tree; exact kNN is computed within each leaf
        (default ``max(48, 2 * (k + 1))``). When ``n <= leaf_size`` the result is exact.
    max_iters : int, optional
        Most NN-descent iterations (default ``max(5, round(log2 n))``; 0 = forest only).
    delta : float, default=0.001
        Stop when fewer than ``delta * n * k`` heap entries changed in an iteration.
    return_stats : bool, default=False
        Also return a dict with the parameters used, the updates per iteration and timings.

    Returns
    -------
    distances : ndarray (n, k), float32
        Euclidean distances, each row ascending (ties by lower index).
    indices : ndarray (n, k), int64
        Neighbour indices; a point never lists itself (duplicates appear at distance 0).
    stats : dict, only if ``return_stats``.
    """
    t0 = time.perf_counter()
    X = check_points(X, name="X", min_samples=2, dtype=np.float32)
    n, _ = X.shape
    k = check_int(n_neighbors, "n_neighbors", low=1, high=n - 1,
                  hint=f"Each of the {n} points can have at most n - 1 = {n - 1} neighbours "
                       "(the point itself is excluded).")
    n_trees = _default_n_trees(n) if n_trees is None else check_int(n_trees, "n_trees", low=1)
    leaf_size = (_default_leaf_size(k) if leaf_size is None
                 else check_int(leaf_size, "leaf_size", low=2))
    max_iters = (max(5, int(round(math.log2(n)))) if max_iters is None
                 else check_int(max_iters, "max_iters", low=0))
    delta = check_float(delta, "delta", low=0.0, high=1.0)
    seed = seed_from(check_random_state(random_state))
    if n <= leaf_size:  # one leaf holds everything: exact brute force, nothing to refine
        n_trees, max_iters = 1, 0
    mc = min(_default_max_candidates(k), n - 1)
    n_threads = max(1, int(numba.get_num_threads()))

    # all kernel seeds derive from `seed` through the hash, never from a stateful generator
    seeds = np.array([_splitmix(seed, 1, t) for t in range(n_trees)], dtype=np.uint64)
    fill_seed = np.uint64(_splitmix(seed, 2, 0))

    dist = np.full((n, k), np.inf, dtype=np.float32)
    ind = np.full((n, k), -1, dtype=np.int32)
    flag = np.zeros((n, k), dtype=np.uint8)

    t1 = time.perf_counter()
    perms = np.empty((n_trees, n), dtype=np.int32)
    bounds = np.empty((n_trees, n + 1), dtype=np.int32)
    n_leaves = np.empty(n_trees, dtype=np.int64)
    _build_forest(X, leaf_size, seeds, perms, bounds, n_leaves)
    t2 = time.perf_counter()
    for t in range(n_trees):
        _leaf_knn(X, perms[t], bounds[t], int(n_leaves[t]), dist, ind, flag)
    del perms, bounds
    _fill_random(X, fill_seed, dist, ind, flag)
    t3 = time.perf_counter()

    updates = []
    converged = max_iters == 0
    if max_iters > 0:
        new_c = np.empty((n, mc), dtype=np.int32)
        old_c = np.empty((n, mc), dtype=np.int32)
        new_p = np.empty((n, mc), dtype=np.uint32)
        old_p = np.empty((n, mc), dtype=np.uint32)
        cap = mc * (mc - 1) // 2 + mc * mc
        block = int(min(n, max(256, _JOIN_BUFFER_ENTRIES // cap)))
        buf_u = np.empty((block, cap), dtype=np.int32)
        buf_v = np.empty((block, cap), dtype=np.int32)
        buf_d = np.empty((block, cap), dtype=np.float32)
        buf_n = np.empty(block, dtype=np.int64)
        threshold = delta * n * k
        for it in range(max_iters):
            _build_candidates(ind, flag, np.uint64(_splitmix(seed, 3, it)), n_threads,
                              new_c, new_p, old_c, old_p)
            c = 0
            for start in range(0, n, block):
                stop = min(n, start + block)
                _local_join(X, dist, new_c, old_c, start, stop, buf_u, buf_v, buf_d, buf_n)
                c += int(_apply_updates(dist, ind, flag, buf_u, buf_v, buf_d, buf_n,
                                        stop - start, n_threads))
            updates.append(c)
            if c <= threshold:
                converged = True
                break
        del new_c, old_c, new_p, old_p, buf_u, buf_v, buf_d, buf_n
    t4 = time.perf_counter()

    out_d = np.empty((n, k), dtype=np.float32)
    out_i = np.empty((n, k), dtype=np.int64)
    _finalize(dist, ind, out_d, out_i)
    t5 = time.perf_counter()
    if not return_stats:
        return out_d, out_i
    stats = {
        "n_trees": n_trees, "leaf_size": leaf_size, "max_candidates": mc,
        "max_iters": max_iters, "n_iters": len(updates), "updates": updates,
        "converged": converged, "seed": seed, "n_threads": n_threads,
        "time_forest": t2 - t1, "time_leaves": t3 - t2, "time_descent": t4 - t3,
        "time_total": t5 - t0,
    }
    return out_d, out_i, stats


def _splitmix(seed: int, a: int, b: int) -> int:
    """Python twin of the kernels' hash, to derive sub-seeds from the one integer seed."""
    mask = (1 << 64) - 1

    def mix(z):
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
        return z ^ (z >> 31)

    h = mix((seed + 0x9E3779B97F4A7C15 * (a + 1)) & mask)
    return mix((h + 0x9E3779B97F4A7C15 * (b + 1)) & mask)

