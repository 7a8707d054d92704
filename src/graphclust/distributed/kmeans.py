"""Distributed best-of-M k-means: rows stay on their ranks, centres are replicated.

Each restart follows the serial kernels (``graphclust.spectral._kmeans_kernels``) step by step
with the same numba random stream, so from the same seed it picks the same k-means++ centres
and runs the same Lloyd iterations; only the sums over points are split into per-rank partial
sums (Reduce + Bcast), which changes them in the last bits at most.

* k-means++: the D^2 sampling draws r in [0, total); the rank whose prefix of the potential
  contains r picks the point locally; the candidate rows of all local trials are fetched in one
  reduction and their potentials summed in another.
* Lloyd: local assignment (threads), per-cluster sums and counts summed over ranks; an empty
  cluster takes the globally farthest point (lowest global index on ties), as serially.
* M restarts run one after another (all ranks together); the lowest SSE wins, and labels are
  renumbered by global first appearance.
"""
from __future__ import annotations

import numpy as np

__all__ = ["kmeans_plusplus_dist", "lloyd_dist", "kmeans_best_of_dist"]


def _fetch_rows(net, U, global_idx, r0):
    """Rows U[global_idx] (global indices) on every rank: owners fill, the rest add zeros."""
    m, d = U.shape
    buf = np.zeros((len(global_idx), d))
    for t, g in enumerate(global_idx):
        if r0 <= g < r0 + m:
            buf[t] = U[g - r0]
    return net.allsum(buf)


def kmeans_plusplus_dist(net, U, k: int, seed: int, n_local_trials: int, n: int, r0: int):
    from graphclust.distributed import _kernels as K

    m, d = U.shape
    K.rng_seed(seed)
    C = np.empty((k, d))
    first = K.rng_randint(n)
    C[0] = _fetch_rows(net, U, [first], r0)[0]
    closest = np.empty(m)
    K.closest_to(U, C, 0, closest)
    pot = net.allsum(np.array([closest.sum()]))[0]
    for c in range(1, k):
        cum = np.cumsum(closest)
        total_local = cum[-1] if m else 0.0
        totals = np.asarray(net.allgather_obj(float(total_local)))
        prefix = np.concatenate([[0.0], np.cumsum(totals)])
        grand = prefix[-1]
        picks = []
        for _ in range(n_local_trials):
            if pot > 0:
                r = K.rng_random() * grand
                q = int(np.searchsorted(prefix[1:], r, side="right"))
                q = min(q, net.size - 1)
                picks.append((q, r - prefix[q]))
            else:
                picks.append((-1, K.rng_randint(n)))
        # resolve the global index of every pick on its owner, then share them
        gidx = np.zeros(n_local_trials)
        for t, (q, val) in enumerate(picks):
            if q == -1:
                if net.rank == 0:
                    gidx[t] = val
            elif q == net.rank:
                li = int(np.searchsorted(cum, val, side="right"))
                gidx[t] = r0 + min(li, m - 1)
            # the last rank owning nothing (empty block) cannot happen: n >= 2 P is required
        gidx = net.allsum(gidx).astype(np.int64)
        cands = _fetch_rows(net, U, gidx, r0)
        p_local = np.empty(n_local_trials)
        K.candidate_potentials(U, closest, cands, p_local)
        p = net.allsum(p_local)
        best_pot = np.inf
        best_t = 0
        for t in range(n_local_trials):
            if p[t] < best_pot:
                best_pot = p[t]
                best_t = t
        C[c] = cands[best_t]
        K.update_closest(U, C, c, closest)
        pot = net.allsum(np.array([closest.sum()]))[0]
    return C


def lloyd_dist(net, U, C, max_iter: int, tol: float, r0: int):
    """Lloyd iterations from centres C (modified in place); returns local labels, SSE, n_iter."""
    from graphclust.distributed import _kernels as K

    m, d = U.shape
    k = C.shape[0]
    labels = np.full(m, -1, dtype=np.int64)
    dist = np.empty(m)
    it = 0
    for it in range(1, max_iter + 1):
        changed = K.assign(U, C, labels, dist)
        part = np.empty((k, d + 1))
        for t in range(d):
            part[:, t] = np.bincount(labels, weights=U[:, t], minlength=k)
        part[:, d] = np.bincount(labels, minlength=k)
        tot = net.allsum(np.concatenate([part.ravel(), [float(changed)]]))
        changed = tot[-1]
        sums = tot[:-1].reshape(k, d + 1)[:, :d]
        counts = tot[:-1].reshape(k, d + 1)[:, d]
        shift = 0.0
        for c in range(k):
            if counts[c] > 0:
                v = sums[c] / counts[c]
                shift += float(((v - C[c]) ** 2).sum())
                C[c] = v
            else:
                fd = np.empty(m)
                K.dist_to_own(U, C, labels, fd)
                if m:
                    li = int(np.argmax(fd))
                    mine = (float(fd[li]), -(r0 + li))
                else:
                    mine = (-1.0, 0)
                best = max(net.allgather_obj(mine))
                C[c] = _fetch_rows(net, U, [-best[1]], r0)[0]
                shift = np.inf
        if changed == 0 or shift <= tol:
            break
    K.assign(U, C, labels, dist)
    inertia = float(net.allsum(np.array([dist.sum()]))[0])
    return labels, inertia, it


def kmeans_best_of_dist(net, U, k: int, *, n: int, r0: int, n_init: int = 10, max_iter: int = 300,
                        tol: float = 1e-10, random_state=None, centers=None):
    """Best-of-M distributed k-means. Returns (local canonical labels, centres, SSE, SSEs,
    n_iter, best run). ``centers`` (k, d): run Lloyd from these centres instead (one run)."""
    import contextlib

    from graphclust._threads import thread_limits

    U = np.ascontiguousarray(U, dtype=np.float64)
    # tiny local blocks: a parallel region costs more than the work (and far more on a busy
    # machine), so run the kernels on one thread there
    small = U.shape[0] * max(k, 1) < 200_000
    with thread_limits(1) if small else contextlib.nullcontext():
        return _best_of(net, U, k, n, r0, n_init, max_iter, tol, random_state, centers)


def _best_of(net, U, k, n, r0, n_init, max_iter, tol, random_state, centers):
    from graphclust._validation import check_random_state

    if centers is not None:
        runs = [np.array(centers, dtype=np.float64, copy=True)]
        seeds = [None]
    else:
        rng = check_random_state(random_state)
        seeds = rng.integers(0, 2**31 - 1, size=n_init).astype(np.int64)
        runs = [None] * n_init
    n_local_trials = 2 + int(np.log(k))
    best = None
    inertias = []
    for r, (seed, C0) in enumerate(zip(seeds, runs)):
        C = C0 if C0 is not None else kmeans_plusplus_dist(net, U, k, int(seed), n_local_trials, n, r0)
        labels, inertia, it = lloyd_dist(net, U, C, max_iter, tol, r0)
        inertias.append(inertia)
        if best is None or inertia < best[1]:
            best = (labels, inertia, it, C.copy(), r)
    labels, inertia, it, C, r = best
    # canonical labels: clusters numbered by their first global appearance
    first = np.full(k, np.iinfo(np.int64).max, dtype=np.int64)
    if labels.size:
        uniq, pos = np.unique(labels, return_index=True)
        first[uniq] = r0 + pos
    first = net.allmin(first)
    used = first < np.iinfo(np.int64).max
    old_of_new = np.argsort(first, kind="stable")[: int(used.sum())]
    mapping = np.empty(k, dtype=np.int64)
    mapping[old_of_new] = np.arange(old_of_new.size)
    rest = np.flatnonzero(~used)
    mapping[rest] = np.arange(old_of_new.size, k)
    C = np.concatenate([C[old_of_new], C[rest]])
    return mapping[labels], C, inertia, np.asarray(inertias), it, r
