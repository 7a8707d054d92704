"""Row-block kNN graph: each rank owns rows r0:r1 of the self-tuning affinity W.

The arithmetic is the serial pipeline's (``graphclust.graph``), restricted to a block of rows,
so the distributed W equals the serial W entry for entry:

1. exact kNN of the rank's rows against all points (KD-tree for d <= 8, else blocked BLAS tiles
   merged by the serial numba top-k kernel ``merge_tile``), distances recomputed directly;
2. sigma_i for the rank's rows, all-gathered (Allgatherv), with the serial duplicate-point fix
   (which needs the global median, hence a second all-gather only when a sigma is 0);
3. the rank's rows of the directed kernel, then the symmetric part: every off-rank entry
   (i, j, w) is sent to the owner of j as (j, i, w) in one Alltoallv, and each rank combines its
   rows with the transposed entries it receives (union: max, mutual: min, mean: average).
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from graphclust._threads import thread_limits
from graphclust._validation import GraphclustError
from graphclust.graph.neighbors import LOW_DIM, _TILE_BYTES, _row_lexsort

__all__ = ["knn_rows", "local_scales_rows", "kernel_rows", "symmetrize_rows", "resolve_knn_method"]

DIST_KNN_METHODS = ("auto", "exact", "kdtree", "brute")


def resolve_knn_method(method: str, d: int) -> str:
    if method not in DIST_KNN_METHODS:
        raise GraphclustError(
            f"knn_method={method!r} is not available with MPI: the distributed pipeline uses exact "
            f"kNN (one of {DIST_KNN_METHODS}); approximate NN-descent/HNSW are whole-data "
            "algorithms. Use knn_method='exact' (CLI --knn-method exact)."
        )
    if method in ("auto", "exact"):
        return "kdtree" if d <= LOW_DIM else "brute"
    return method


def _drop_self_rows(idx, dist, k, row0):
    n = idx.shape[0]
    drop = idx == (row0 + np.arange(n))[:, None]
    no_self = ~drop.any(axis=1)
    drop[no_self, -1] = True
    keep = ~drop
    return dist[keep].reshape(n, k), idx[keep].reshape(n, k)


def knn_rows(X, r0: int, r1: int, k: int, *, method: str = "brute", n_jobs=None,
             block_size: int | None = None):
    """The k nearest other points of rows r0:r1 of X among all rows: (dist, idx), sorted."""
    n, d = X.shape
    kk = k + 1
    if method == "kdtree":
        from scipy.spatial import cKDTree

        tree = cKDTree(X, leafsize=16, balanced_tree=False, compact_nodes=False)
        from graphclust._threads import resolve_n_jobs

        dist, idx = tree.query(X[r0:r1], k=kk, workers=resolve_n_jobs(n_jobs))
        idx = idx.astype(np.int64, copy=False)
        order = _row_lexsort(dist, idx)
        dist = np.take_along_axis(dist, order, axis=1)
        idx = np.take_along_axis(idx, order, axis=1)
        return _drop_self_rows(idx, dist, k, r0)
    from graphclust.distributed._kernels import exact_distances_rows
    from graphclust.graph._select import merge_tile

    dtype = X.dtype
    m = r1 - r0
    sq = np.einsum("ij,ij->i", X, X)
    A = np.empty((m, d + 1), dtype=dtype)
    A[:, :d] = X[r0:r1]
    A[:, d] = 1.0
    B = np.empty((n, d + 1), dtype=dtype)
    np.multiply(X, -2.0, out=B[:, :d])
    B[:, d] = sq
    del sq
    best_d = np.full((m, kk), np.inf, dtype=dtype)
    best_i = np.full((m, kk), -1, dtype=np.int64)
    itemsize = np.dtype(dtype).itemsize
    if block_size is None:
        block_size = max(256, min(n, _TILE_BYTES // (itemsize * n)))
    with thread_limits(n_jobs):
        for b0 in range(0, m, block_size):
            G = A[b0:b0 + block_size] @ B.T
            merge_tile(G, 0, best_d, best_i, b0)
        del G, B, A
        dist = np.empty((m, kk), dtype=np.float64)
        exact_distances_rows(X, r0, best_i, dist)
    order = _row_lexsort(dist, best_i)
    dist = np.take_along_axis(dist, order, axis=1)
    idx = np.take_along_axis(best_i, order, axis=1)
    return _drop_self_rows(idx, dist, k, r0)


def local_scales_rows(net, dist_local, sigma_rank: int, counts) -> np.ndarray:
    """Global sigma (n,) on every rank: the serial ``local_scales`` for the rank's rows, shared
    by Allgatherv (the duplicate-point fallback needs the global median of the raw sigma)."""
    raw = dist_local[:, sigma_rank - 1].astype(np.float64, copy=True)
    sigma = net.allgatherv(raw, counts)
    n_zero = int(net.allsum(np.array([float((raw <= 0).sum())]))[0])
    if n_zero == 0:
        return sigma
    zero_all = sigma <= 0
    fallback = np.median(sigma[~zero_all]) if (~zero_all).any() else 1.0
    zero = raw <= 0
    D = dist_local[zero]
    pos = np.where(D > 0, D, np.inf).min(axis=1)
    pos[~np.isfinite(pos)] = fallback if fallback > 0 else 1.0
    raw[zero] = pos
    return net.allgatherv(raw, counts)


def kernel_rows(dist, idx, sigma, r0: int, n: int, *, kernel: str = "self-tuning",
                fixed_sigma: float | None = None) -> sp.csr_matrix:
    """The rank's rows of the directed kNN kernel as a (rows, n) CSR (the serial _kernel_csr)."""
    m, k = idx.shape
    if kernel == "self-tuning":
        s_rows = sigma[r0:r0 + m]
        data = np.exp(-(dist * dist) / (s_rows[:, None] * sigma[idx]))
    else:
        data = np.exp(-(dist * dist) / (2.0 * fixed_sigma * fixed_sigma))
    np.maximum(data, np.finfo(np.float64).tiny, out=data)
    indptr = np.arange(0, m * k + 1, k, dtype=np.int64)
    return sp.csr_matrix((data.ravel(), idx.ravel(), indptr), shape=(m, n))


def symmetrize_rows(net, Wd: sp.csr_matrix, offsets, how: str = "union") -> sp.csr_matrix:
    """Rows r0:r1 of the serial ``symmetrize(W, how)`` from the rows r0:r1 of the directed W.

    Every entry (i, j, w) goes to the owner of j as (j, i, w) (one Alltoallv; entries whose j is
    local are transposed in place), then the serial elementwise rule is applied to the rows.
    """
    r0 = int(offsets[net.rank])
    m, n = Wd.shape
    Wd = sp.csr_matrix(Wd)
    rows = np.repeat(np.arange(r0, r0 + m, dtype=np.int64), np.diff(Wd.indptr))
    cols = Wd.indices.astype(np.int64)
    owner = np.searchsorted(offsets, cols, side="right") - 1
    order = np.argsort(owner, kind="stable")
    counts = np.bincount(owner, minlength=net.size)
    idx_dtype = np.int32 if n < 2**31 else np.int64
    pairs = np.empty((cols.size, 2), dtype=idx_dtype)
    pairs[:, 0] = cols[order]          # the transposed entry's row (owned by the receiver)
    pairs[:, 1] = rows[order]          # and its column
    vals = Wd.data[order]
    rpairs, _ = net.alltoallv(pairs, counts)
    rvals, _ = net.alltoallv(vals, counts)
    T = sp.csr_matrix((rvals, (rpairs[:, 0].astype(np.int64) - r0, rpairs[:, 1].astype(np.int64))),
                      shape=(m, n))
    T.sum_duplicates()
    if how == "union":
        S = Wd.maximum(T)
    elif how == "mutual":
        S = Wd.minimum(T)
    else:
        S = (Wd + T) * 0.5
    S = sp.csr_matrix(S)
    # the diagonal of these rows sits at column r0 + i
    if S.nnz:
        srows = np.repeat(np.arange(m), np.diff(S.indptr))
        diag = S.indices == srows + r0
        if diag.any():
            S.data[diag] = 0.0
    S.eliminate_zeros()
    S.sort_indices()
    return S
