"""Deterministic, parallel approximate k-nearest neighbours (Euclidean) for large n.

Algorithm: a random-projection forest (each node split by the hyperplane half-way between two
random points of the node, as in Annoy / pynndescent) gives exact kNN within each leaf, merged
over the trees; then synchronous NN-descent: each iteration samples, from a snapshot of the
graph, up to ``max_candidates`` new and old neighbours + reverse neighbours per point, computes
the distances of all new-new and new-old candidate pairs (the "local join") and keeps the
improvements, until fewer than ``delta * n * k`` entries change. Distances are computed in
float32. Imported lazily by ``graphclust.graph.neighbors`` only for the approximate method.

Parallelism: the kernels are serial ``@njit(nogil=True)`` functions over a range of rows (or
leaves, or trees) and run on ``numba.get_num_threads()`` Python threads. (Serial kernels
compile ~4x faster than ``parallel=True`` ones, and the explicit ranges make the ownership
rules below easy to see.)

Determinism: the same ``random_state`` gives bit-identical output for any number of threads.

* Every random choice is a counter-based hash of one integer seed and the indices involved
  (tree, node, point, iteration), never a stateful generator.
* No two threads ever write the same row: each tree is built by one thread; the leaves of one
  tree are disjoint (trees are merged one after another); every scatter (reverse neighbours,
  join results) is applied by the task that owns the target row, reading the candidates in a
  fixed order. So each row sees the same sequence of updates however the rows are split.
* Each iteration's candidate lists are a snapshot taken at its start; join pairs are generated
  block by block (the block size depends on ``n`` and ``k`` only) and applied after each block.

Memory: O(n * k) (graph: 8 bytes per entry; candidates: 16 * max_candidates bytes per point;
a fixed ~48 MB join buffer), a float32 copy of X reordered by the first tree (so that near
points are near in memory), and at most ``n_threads`` trees at a time (8 bytes per point each).
Never n x n.
"""
from __future__ import annotations

import math
import time
from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np
from llvmlite import ir as llir
from numba import njit
from numba.core import types
from numba.extending import intrinsic

from graphclust._validation import (
    GraphclustError,
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
_EMPTY = np.uint64(0xFFFFFFFFFFFFFFFF)  # empty heap / candidate slot (larger than any key)
_LOW32 = np.uint64(0xFFFFFFFF)
_IDX_MASK = np.uint64(0x7FFFFFFF)
_KEY_IDX_BITS = np.uint64(0xFFFFFFFE)  # bits of a neighbour key that hold the index
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
# neighbour entries as one uint64 key: float32 bits of the squared distance (monotone for
# d >= 0) | index << 1 | "new" flag. Comparing keys compares (distance, index), so one integer
# comparison gives the tie-break by lower index, and a heap row is a single array.
# --------------------------------------------------------------------------------------------
@intrinsic
def _f32_bits(typingctx, x):
    if not (isinstance(x, types.Float) and x.bitwidth == 32):
        return None

    def codegen(context, builder, signature, args):
        return builder.zext(builder.bitcast(args[0], llir.IntType(32)), llir.IntType(64))

    return types.uint64(types.float32), codegen


@intrinsic
def _bits_f32(typingctx, x):
    if not (isinstance(x, types.Integer) and x.bitwidth == 64):
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(builder.trunc(args[0], llir.IntType(32)), llir.FloatType())

    return types.float32(x), codegen


@njit(cache=True, nogil=True)
def _make_key(dbits, j):
    """Key of neighbour j at squared distance with float bits dbits, flagged new."""
    return (dbits << np.uint64(32)) | (np.uint64(j) << np.uint64(1)) | np.uint64(1)


@njit(cache=True, nogil=True)
def _key_index(key):
    return np.int64((key >> np.uint64(1)) & _IDX_MASK)


@njit(cache=True, nogil=True, fastmath=True)
def _sqdist(x, y):
    s = np.float32(0.0)
    for t in range(x.shape[0]):
        diff = x[t] - y[t]
        s += diff * diff
    return s


@njit(cache=True, nogil=True)
def _sift_down(heap, row, key):
    """Put key at the root of row's max-heap (replacing the root) and restore the heap.
    Written with selects rather than branches: the comparisons are unpredictable."""
    k = heap.shape[1]
    pos = 0
    while True:
        c1 = 2 * pos + 1
        if c1 >= k:
            break
        sw = c1
        big = heap[row, c1]
        if c1 + 1 < k:
            v2 = heap[row, c1 + 1]
            sw = c1 + np.int64(v2 > big)
            big = max(big, v2)
        if big > key:
            heap[row, pos] = big
            pos = sw
        else:
            break
    heap[row, pos] = key


@njit(cache=True, nogil=True)
def _heap_push(heap, row, key):
    """Insert key into row's bounded max-heap (root = worst) unless it is not smaller than the
    root or its index is already there. Returns 1 when inserted."""
    if key >= heap[row, 0]:
        return 0
    j = key & _KEY_IDX_BITS
    dup = False
    for s in range(heap.shape[1]):
        dup |= (heap[row, s] & _KEY_IDX_BITS) == j
    if dup:
        return 0
    _sift_down(heap, row, key)
    return 1


@njit(cache=True, nogil=True)
def _cand_push(cand, row, key):
    """Keep the max_candidates smallest (priority << 32 | index) keys of row (max-heap)."""
    if key >= cand[row, 0]:
        return
    dup = False
    for s in range(cand.shape[1]):
        dup |= cand[row, s] == key
    if dup:
        return
    _sift_down(cand, row, key)


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
            i = np.int64(perm[p])
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


@njit(cache=True, nogil=True, fastmath=True)
def _leaf_knn(X, perm, bounds, leaf_lo, leaf_hi, heap):
    """Exact kNN inside leaves [leaf_lo, leaf_hi) of one tree, merged into the heaps. Leaves of
    one tree are disjoint, so concurrent calls on other leaves never touch the same row."""
    d = X.shape[1]
    buf = np.empty((0, d), dtype=np.float32)
    for leaf in range(leaf_lo, leaf_hi):
        s = bounds[leaf]
        m = bounds[leaf + 1] - s
        if buf.shape[0] < m:
            buf = np.empty((m, d), dtype=np.float32)
        for p in range(m):
            i = perm[s + p]
            for t in range(d):
                buf[p, t] = X[i, t]
        for p in range(m):
            i = np.int64(perm[s + p])
            for q in range(p + 1, m):
                j = np.int64(perm[s + q])
                bits = _f32_bits(_sqdist(buf[p], buf[q]))
                if bits <= heap[i, 0] >> np.uint64(32):
                    _heap_push(heap, i, _make_key(bits, j))
                if bits <= heap[j, 0] >> np.uint64(32):
                    _heap_push(heap, j, _make_key(bits, i))


@njit(cache=True, nogil=True, fastmath=True)
def _fill_random(X, seed, heap, lo, hi):
    """Top up rows [lo, hi) that have fewer than k neighbours (tiny leaves) with random
    points."""
    n, k = heap.shape
    for i in range(lo, hi):
        missing = 0
        for s in range(k):
            if heap[i, s] == _EMPTY:
                missing += 1
        attempt = 0
        while missing > 0 and attempt < 4 * k + 16:
            j = _randint(seed, i, attempt, n)
            attempt += 1
            if j != i:
                missing -= _heap_push(heap, i, _make_key(_f32_bits(_sqdist(X[i], X[j])), j))
        step = 1
        while missing > 0 and step < n:  # fallback for tiny n: scan
            j = (i + step) % n
            step += 1
            missing -= _heap_push(heap, i, _make_key(_f32_bits(_sqdist(X[i], X[j])), j))


# --------------------------------------------------------------------------------------------
# NN-descent
# --------------------------------------------------------------------------------------------
@njit(cache=True, nogil=True)
def _cand_key(seed, i, j):
    """Sampling key of the edge {i, j} for j: 31-bit symmetric hashed priority << 32 | j."""
    p = _hash3(seed, min(i, j), max(i, j)) >> np.uint64(33)
    return (p << np.uint64(32)) | np.uint64(j)


@njit(cache=True, nogil=True)
def _build_candidates(heap, seed, cnew, cold, lo, hi):
    """Candidate rows [lo, hi): up to max_candidates new and old neighbours and reverse
    neighbours each, sampled by hashed priority. Reads every edge (in a fixed order) and writes
    only rows [lo, hi), so calls on disjoint ranges may run concurrently."""
    n, k = heap.shape
    mc = cnew.shape[1]
    for i in range(lo, hi):
        for s in range(mc):
            cnew[i, s] = _EMPTY
            cold[i, s] = _EMPTY
    for i in range(n):
        own_i = lo <= i < hi
        for s in range(k):
            key = heap[i, s]
            if key == _EMPTY:
                continue
            j = _key_index(key)
            own_j = lo <= j < hi
            if not (own_i or own_j):
                continue
            if key & np.uint64(1):
                if own_i:
                    _cand_push(cnew, i, _cand_key(seed, i, j))
                if own_j:
                    _cand_push(cnew, j, _cand_key(seed, j, i))
            else:
                if own_i:
                    _cand_push(cold, i, _cand_key(seed, i, j))
                if own_j:
                    _cand_push(cold, j, _cand_key(seed, j, i))


@njit(cache=True, nogil=True)
def _clear_sampled_flags(heap, seed, cnew, lo, hi):
    """Mark the new neighbours that were sampled into the candidates as old (rows [lo, hi)).
    A candidate row holds exactly the mc smallest keys offered, so a neighbour was sampled iff
    its key is <= the row's root."""
    k = heap.shape[1]
    for i in range(lo, hi):
        root = cnew[i, 0]
        for s in range(k):
            key = heap[i, s]
            if key != _EMPTY and key & np.uint64(1):
                if _cand_key(seed, i, _key_index(key)) <= root:
                    heap[i, s] = key ^ np.uint64(1)


@njit(cache=True, nogil=True, fastmath=True)
def _local_join(X, heap, cnew, cold, start, lo, hi, buf_u, buf_v, buf_d, buf_n):
    """For points start+lo .. start+hi-1: distances between their candidates (new-new and
    new-old pairs); buffer the pairs that may improve either end. Read-only on the graph."""
    mc = cnew.shape[1]
    for jj in range(lo, hi):
        j = start + jj
        cnt = 0
        for p in range(mc):
            cu = cnew[j, p]
            if cu == _EMPTY:
                continue
            u = np.int64(cu & _LOW32)
            xu = X[u]
            tu = heap[u, 0] >> np.uint64(32)
            for q in range(p + 1, mc):
                cv = cnew[j, q]
                if cv == _EMPTY:
                    continue
                v = np.int64(cv & _LOW32)
                bits = _f32_bits(_sqdist(xu, X[v]))
                if bits <= tu or bits <= heap[v, 0] >> np.uint64(32):
                    buf_u[jj, cnt] = u
                    buf_v[jj, cnt] = v
                    buf_d[jj, cnt] = bits
                    cnt += 1
            for q in range(mc):
                cv = cold[j, q]
                if cv == _EMPTY:
                    continue
                v = np.int64(cv & _LOW32)
                if v == u:
                    continue
                bits = _f32_bits(_sqdist(xu, X[v]))
                if bits <= tu or bits <= heap[v, 0] >> np.uint64(32):
                    buf_u[jj, cnt] = u
                    buf_v[jj, cnt] = v
                    buf_d[jj, cnt] = bits
                    cnt += 1
        buf_n[jj] = cnt


@njit(cache=True, nogil=True)
def _apply_updates(heap, buf_u, buf_v, buf_d, buf_n, n_rows, lo, hi):
    """Push the buffered pairs into the heaps of their ends that lie in rows [lo, hi), reading
    the buffer in order (each row sees the same update sequence however rows are split).
    Returns the number of heap entries replaced."""
    c = 0
    for jj in range(n_rows):
        for r in range(buf_n[jj]):
            u = np.int64(buf_u[jj, r])
            v = np.int64(buf_v[jj, r])
            if lo <= u < hi:
                c += _heap_push(heap, u, _make_key(np.uint64(buf_d[jj, r]), v))
            if lo <= v < hi:
                c += _heap_push(heap, v, _make_key(np.uint64(buf_d[jj, r]), u))
    return c


@njit(cache=True, nogil=True)
def _finalize(heap, order, out_d, out_i, lo, hi):
    """Rows [lo, hi): map rows and indices back through order (row r is point order[r]), sort
    by (distance, original index), store Euclidean (not squared) distances."""
    k = heap.shape[1]
    keys = np.empty(k, dtype=np.uint64)
    for r in range(lo, hi):
        for a in range(k):
            key = heap[r, a]
            keys[a] = (((key >> np.uint64(32)) << np.uint64(32))
                       | np.uint64(order[_key_index(key)]))
        for a in range(1, k):  # insertion sort, k is small
            key = keys[a]
            b = a - 1
            while b >= 0 and keys[b] > key:
                keys[b + 1] = keys[b]
                b -= 1
            keys[b + 1] = key
        row = order[r]
        for a in range(k):
            out_d[row, a] = np.sqrt(_bits_f32(keys[a] >> np.uint64(32)))
            out_i[row, a] = np.int64(keys[a] & _LOW32)


# --------------------------------------------------------------------------------------------
# driver
# --------------------------------------------------------------------------------------------
def _default_n_trees(n: int) -> int:
    """~2 + n^(1/4) / 2, odd (tree 0 is built alone, the others in pairs): 9 trees at 20k,
    11 at 70k, 19 at 1M."""
    return int(min(31, max(5, round(2 + n ** 0.25 / 2)))) | 1


def _default_leaf_size(k: int) -> int:
    return int(max(48, 2 * (k + 1)))


def _default_max_candidates(k: int) -> int:
    return int(min(60, max(k, 16)))


def _padded_dim(d: int) -> int:
    """Columns for the working copy of X. numba/LLVM vectorises the distance loop 32 floats at
    a time and finishes with a scalar tail; zero columns that round a long tail up to a
    multiple of 32 make distances up to ~2x faster (d = 50 -> 64) and change nothing else."""
    return d if d < 24 or d % 32 <= 8 else -(-d // 32) * 32


def _reordered_padded(X, order, block: int = 65536):
    """float32 copy of X[order], zero-padded to _padded_dim columns (built in blocks)."""
    n, d = X.shape
    out = np.zeros((n, _padded_dim(d)), dtype=np.float32)
    for s in range(0, n, block):
        out[s:s + block, :d] = X[order[s:s + block]]
    return out


def _splits(n: int, parts: int):
    """[lo, hi) ranges cutting range(n) into `parts` near-equal pieces (empty ones dropped)."""
    edges = [n * p // parts for p in range(parts + 1)]
    return [(edges[p], edges[p + 1]) for p in range(parts) if edges[p + 1] > edges[p]]


class _Runner:
    """Runs nogil kernels on a list of argument tuples with `n_threads` Python threads (inline
    for one). The kernels write disjoint rows, so the split never changes the result."""

    def __init__(self, n_threads: int):
        self.n_threads = n_threads
        self.pool = ThreadPoolExecutor(n_threads) if n_threads > 1 else None

    def map(self, fn, tasks):
        if self.pool is None or len(tasks) == 1:
            return [fn(*a) for a in tasks]
        return list(self.pool.map(lambda a: fn(*a), tasks))

    def close(self):
        if self.pool is not None:
            self.pool.shutdown()


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
        output for any number of threads (``numba.get_num_threads()`` threads are used).
    n_trees : int, optional
        Trees in the random-projection forest (default grows slowly with n: 9 at 20,000
        points, 11 at 70,000, 19 at 1,000,000).
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
    if n >= 2**31 - 1:
        raise GraphclustError(f"X has {n} rows; nndescent_knn supports fewer than 2**31 - 1.")
    if n <= leaf_size:  # one leaf holds everything: exact brute force, nothing to refine
        n_trees, max_iters = 1, 0
    mc = min(_default_max_candidates(k), n - 1)
    n_threads = max(1, int(numba.get_num_threads()))
    runner = _Runner(n_threads)
    try:
        out = _nndescent(X, k, seed, n_trees, leaf_size, max_iters, delta, mc, runner)
    finally:
        runner.close()
    out_d, out_i, stats = out
    if not return_stats:
        return out_d, out_i
    stats.update(n_trees=n_trees, leaf_size=leaf_size, max_candidates=mc, max_iters=max_iters,
                 seed=seed, n_threads=n_threads, time_total=time.perf_counter() - t0)
    return out_d, out_i, stats


def _nndescent(X, k, seed, n_trees, leaf_size, max_iters, delta, mc, runner):
    n = X.shape[0]
    # fine-grained tasks for the embarrassingly parallel kernels (balance under load), one
    # range per thread for the kernels where every task scans all the edges or pairs
    row_chunks = _splits(n, 8 * runner.n_threads) if runner.n_threads > 1 else [(0, n)]
    owner_chunks = _splits(n, runner.n_threads)
    # every kernel seed derives from `seed` through the hash, never from a stateful generator
    tree_seeds = [np.uint64(_splitmix(seed, 1, t)) for t in range(n_trees)]
    heap = np.full((n, k), _EMPTY, dtype=np.uint64)

    # Trees are built in waves of n_threads (one tree per thread), and each tree's leaves are
    # merged into the heaps (in tree order; leaves of one tree are disjoint) before the next
    # wave, so the forest never holds more than n_threads trees.
    wave = runner.n_threads
    perms = np.empty((min(wave, n_trees), n), dtype=np.int32)
    bounds = np.empty((min(wave, n_trees), n + 1), dtype=np.int32)
    t_forest = t_leaves = 0.0

    def merge_leaves(X, perm, bound, nl):
        parts = _splits(nl, 8 * runner.n_threads) if runner.n_threads > 1 else [(0, nl)]
        runner.map(_leaf_knn, [(X, perm, bound, a, b, heap) for a, b in parts])

    # Tree 0 also fixes the memory order: points are renumbered by its leaf order so that near
    # points sit near each other in memory (far fewer cache misses in the other trees and in
    # the joins). Indices are mapped back, and ties re-broken by original index, at the end.
    t1 = time.perf_counter()
    nl = _build_tree(X, leaf_size, tree_seeds[0], perms[0], bounds[0])
    order = perms[0].copy()
    X = _reordered_padded(X, order)
    perms[0] = np.arange(n, dtype=np.int32)
    t2 = time.perf_counter()
    merge_leaves(X, perms[0], bounds[0], nl)
    t_forest += t2 - t1
    t_leaves += time.perf_counter() - t2
    for first in range(1, n_trees, wave):
        ts = list(range(first, min(n_trees, first + wave)))
        t1 = time.perf_counter()
        nls = runner.map(_build_tree, [(X, leaf_size, tree_seeds[t], perms[w], bounds[w])
                                       for w, t in enumerate(ts)])
        t2 = time.perf_counter()
        for w in range(len(ts)):
            merge_leaves(X, perms[w], bounds[w], int(nls[w]))
        t_forest += t2 - t1
        t_leaves += time.perf_counter() - t2
    del perms, bounds
    t2 = time.perf_counter()
    fill_seed = np.uint64(_splitmix(seed, 2, 0))
    runner.map(_fill_random, [(X, fill_seed, heap, a, b) for a, b in row_chunks])
    t3 = time.perf_counter()
    t_leaves += t3 - t2

    updates, pairs = [], []
    tcand = tjoin = tapply = 0.0
    converged = max_iters == 0
    if max_iters > 0:
        cnew = np.empty((n, mc), dtype=np.uint64)
        cold = np.empty((n, mc), dtype=np.uint64)
        cap = mc * (mc - 1) // 2 + mc * mc
        block = int(min(n, max(256, _JOIN_BUFFER_ENTRIES // cap)))
        buf_u = np.empty((block, cap), dtype=np.int32)
        buf_v = np.empty((block, cap), dtype=np.int32)
        buf_d = np.empty((block, cap), dtype=np.uint32)
        buf_n = np.empty(block, dtype=np.int64)
        threshold = delta * n * k
        for it in range(max_iters):
            ta = time.perf_counter()
            it_seed = np.uint64(_splitmix(seed, 3, it))
            runner.map(_build_candidates, [(heap, it_seed, cnew, cold, a, b)
                                           for a, b in owner_chunks])
            runner.map(_clear_sampled_flags, [(heap, it_seed, cnew, a, b) for a, b in row_chunks])
            tcand += time.perf_counter() - ta
            c = 0
            pairs.append(0)
            for start in range(0, n, block):
                rows = min(n, start + block) - start
                ta = time.perf_counter()
                join_parts = (_splits(rows, 4 * runner.n_threads) if runner.n_threads > 1
                              else [(0, rows)])
                runner.map(_local_join, [(X, heap, cnew, cold, start, a, b,
                                          buf_u, buf_v, buf_d, buf_n) for a, b in join_parts])
                tb = time.perf_counter()
                pairs[-1] += int(buf_n[:rows].sum())
                c += sum(runner.map(_apply_updates, [(heap, buf_u, buf_v, buf_d, buf_n, rows,
                                                      a, b) for a, b in owner_chunks]))
                tjoin += tb - ta
                tapply += time.perf_counter() - tb
            updates.append(c)
            if c <= threshold:
                converged = True
                break
        del cnew, cold, buf_u, buf_v, buf_d, buf_n
    t4 = time.perf_counter()

    out_d = np.empty((n, k), dtype=np.float32)
    out_i = np.empty((n, k), dtype=np.int64)
    runner.map(_finalize, [(heap, order, out_d, out_i, a, b) for a, b in row_chunks])
    stats = {
        "n_iters": len(updates), "updates": updates, "pairs": pairs, "converged": converged,
        "time_forest": t_forest, "time_leaves": t_leaves, "time_descent": t4 - t3,
        "time_candidates": tcand, "time_join": tjoin, "time_apply": tapply,
    }
    return out_d, out_i, stats


def _splitmix(seed: int, a: int, b: int) -> int:
    """Python twin of the kernels' _hash3, to derive sub-seeds from the one integer seed."""
    mask = (1 << 64) - 1

    def mix(z):
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
        return z ^ (z >> 31)

    h = mix((seed + 0x9E3779B97F4A7C15 * (a + 1)) & mask)
    return mix((h + 0x9E3779B97F4A7C15 * (b + 1)) & mask)
