"""k-nearest neighbours: exact (KD-tree or blocked BLAS) and approximate (NN-descent, HNSW).

All methods return the ``n_neighbors`` nearest *other* points of every point (the point itself
is never its own neighbour, even among duplicates), sorted by ascending Euclidean distance.

Methods
-------
``"kdtree"``     exact, scipy's cKDTree; fastest in low dimension (d <= 8).
``"brute"``      exact, blocked matrix products + a numba top-k merge; memory bounded by the
                 block (never n x n), deterministic (ties keep the lower index).
``"exact"``      ``"kdtree"`` for d <= 8, else ``"brute"``.
``"nndescent"``  approximate, graphclust's own synchronous NN-descent (numba): deterministic for
                 any thread count, recall@k >= 0.95 on the benchmark sets.
``"hnsw"``       approximate, hnswlib (``pip install graphclust[ann]``); fast, but its parallel
                 index build depends on thread scheduling, so results are not bit-reproducible.
``"auto"``       exact below ``APPROX_MIN_SAMPLES`` points (or in low dimension), else nndescent.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from graphclust._threads import resolve_n_jobs, thread_limits
from graphclust._validation import check_choice, check_int, check_points, check_random_state

__all__ = ["KNNResult", "knn", "knn_graph", "KNN_METHODS", "APPROX_MIN_SAMPLES", "LOW_DIM"]

KNN_METHODS = ("auto", "exact", "kdtree", "brute", "nndescent", "hnsw")
#: ``method="auto"`` switches to the approximate backend at this many points (d > LOW_DIM).
APPROX_MIN_SAMPLES = 15_000
#: Dimensions up to which a KD-tree is the fastest exact method.
LOW_DIM = 8
#: Bytes of distance tile the brute-force search may hold at once.
_TILE_BYTES = 64 * 1024**2


@dataclass(frozen=True)
class KNNResult:
    """Neighbour lists of every point.

    Attributes
    ----------
    distances : ndarray (n, k), float64, ascending Euclidean distances.
    indices : ndarray (n, k), int64, neighbour indices (never the point itself).
    method : str, the method that produced them.
    """

    distances: np.ndarray
    indices: np.ndarray
    method: str

    @property
    def n_neighbors(self) -> int:
        return self.indices.shape[1]

    def first(self, k: int) -> "KNNResult":
        """The first ``k`` neighbours of every point (a view)."""
        return KNNResult(self.distances[:, :k], self.indices[:, :k], self.method)


def knn(X, n_neighbors: int = 10, *, method: str = "auto", n_jobs=None, random_state=None,
        block_size: int | None = None) -> KNNResult:
    """Find the ``n_neighbors`` nearest neighbours of every row of ``X``.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    n_neighbors : int, 1 <= n_neighbors < n_samples
    method : {"auto", "exact", "kdtree", "brute", "nndescent", "hnsw"}, see the module docstring.
    n_jobs : int or None, threads (None = all cores).
    random_state : int, Generator or None; used by the approximate methods.
    block_size : int or None, rows per tile for ``"brute"`` (default: a 64 MiB tile).

    Returns
    -------
    KNNResult
    """
    X = check_points(X)
    n, d = X.shape
    k = check_int(n_neighbors, "n_neighbors", low=1, high=n - 1,
                  hint=f"X has {n} samples, so at most {n - 1} neighbours exist; lower n_neighbors.")
    method = check_choice(method, "method", KNN_METHODS)
    n_jobs = resolve_n_jobs(n_jobs)
    if block_size is not None:
        block_size = check_int(block_size, "block_size", low=1)
    resolved = _resolve_method(method, n, d)
    if resolved == "kdtree":
        dist, idx = _knn_kdtree(X, k, n_jobs)
    elif resolved == "brute":
        dist, idx = _knn_brute(X, k, n_jobs, block_size)
    elif resolved == "nndescent":
        from graphclust.graph._nndescent import nndescent_knn

        with thread_limits(n_jobs):
            dist, idx = nndescent_knn(X, k, random_state=check_random_state(random_state))
        dist = np.asarray(dist, dtype=np.float64)
        idx = np.asarray(idx, dtype=np.int64)
    else:
        dist, idx = _knn_hnsw(X, k, n_jobs, check_random_state(random_state))
    return KNNResult(dist, idx, resolved)


def _resolve_method(method: str, n: int, d: int) -> str:
    if method == "auto":
        if d <= LOW_DIM:
            return "kdtree"
        return "brute" if n < APPROX_MIN_SAMPLES else "nndescent"
    if method == "exact":
        return "kdtree" if d <= LOW_DIM else "brute"
    return method


def _drop_self(idx: np.ndarray, dist: np.ndarray, k: int):
    """From k+1 candidates per row, remove the row's own index (or the last one if absent)."""
    n = idx.shape[0]
    drop = idx == np.arange(n)[:, None]
    # keep only the first occurrence of self (it appears at most once anyway)
    no_self = ~drop.any(axis=1)
    drop[no_self, -1] = True
    keep = ~drop
    return (dist[keep].reshape(n, k), idx[keep].reshape(n, k))


def _knn_kdtree(X, k, n_jobs):
    from scipy.spatial import cKDTree

    tree = cKDTree(X, leafsize=16, balanced_tree=False, compact_nodes=False)
    dist, idx = tree.query(X, k=k + 1, workers=n_jobs)
    idx = idx.astype(np.int64, copy=False)
    # The KD-tree may list equally distant points in any order; sort (distance, index) for a
    # canonical, deterministic order.
    order = _row_lexsort(dist, idx)
    dist = np.take_along_axis(dist, order, axis=1)
    idx = np.take_along_axis(idx, order, axis=1)
    return _drop_self(idx, dist, k)


def _row_lexsort(dist, idx):
    # stable argsort by index, then stable argsort by distance == lexicographic (dist, idx)
    o1 = np.argsort(idx, axis=1, kind="stable")
    d1 = np.take_along_axis(dist, o1, axis=1)
    o2 = np.argsort(d1, axis=1, kind="stable")
    return np.take_along_axis(o1, o2, axis=1)


def _knn_brute(X, k, n_jobs, block_size):
    from graphclust.graph._select import exact_distances, merge_tile

    n, d = X.shape
    dtype = X.dtype
    kk = k + 1
    sq = np.einsum("ij,ij->i", X, X)
    # ranking key for row r, column j: |x_j|^2 - 2 x_r.x_j, produced by one matrix product of
    # A = [x_r, 1] with B = [-2 x_j, |x_j|^2]
    A = np.empty((n, d + 1), dtype=dtype)
    A[:, :d] = X
    A[:, d] = 1.0
    B = np.empty((n, d + 1), dtype=dtype)
    np.multiply(X, -2.0, out=B[:, :d])
    B[:, d] = sq
    best_d = np.full((n, kk), np.inf, dtype=dtype)
    best_i = np.full((n, kk), -1, dtype=np.int64)
    itemsize = np.dtype(dtype).itemsize
    if block_size is None:
        block_size = max(256, min(n, _TILE_BYTES // (itemsize * n)))
    with thread_limits(n_jobs):
        for r0 in range(0, n, block_size):
            G = A[r0:r0 + block_size] @ B.T
            merge_tile(G, 0, best_d, best_i, r0)
        idx_sorted = best_i
        # exact distances for the selected pairs (the expanded form loses precision)
        dist = np.empty((n, kk), dtype=np.float64)
        exact_distances(X, idx_sorted, dist)
    order = _row_lexsort(dist, idx_sorted)
    dist = np.take_along_axis(dist, order, axis=1)
    idx = np.take_along_axis(idx_sorted, order, axis=1)
    return _drop_self(idx, dist, k)


def _knn_hnsw(X, k, n_jobs, rng):
    try:
        import hnswlib
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError(
            "method='hnsw' needs hnswlib: pip install 'graphclust[ann]' (or use method='nndescent')."
        ) from None
    n, d = X.shape
    index = hnswlib.Index(space="l2", dim=d)
    index.init_index(max_elements=n, ef_construction=max(60, 2 * k), M=16,
                     random_seed=int(rng.integers(0, 2**31 - 1)))
    index.set_num_threads(n_jobs)
    index.add_items(X.astype(np.float32, copy=False), np.arange(n))
    index.set_ef(max(40, 2 * (k + 1)))
    idx, d2 = index.knn_query(X.astype(np.float32, copy=False), k=k + 1, num_threads=n_jobs)
    idx = idx.astype(np.int64)
    dist = np.sqrt(np.maximum(d2.astype(np.float64), 0.0))
    order = _row_lexsort(dist, idx)
    return _drop_self(np.take_along_axis(idx, order, 1), np.take_along_axis(dist, order, 1), k)


def knn_graph(X, n_neighbors: int = 10, *, mode: str = "distance", method: str = "auto",
              n_jobs=None, random_state=None) -> sp.csr_matrix:
    """Directed kNN graph as a CSR matrix: row i holds the ``n_neighbors`` nearest neighbours of i.

    ``mode="distance"`` stores Euclidean distances, ``"connectivity"`` stores ones. The matrix is
    not symmetric; see :func:`graphclust.graph.symmetrize`.
    """
    mode = check_choice(mode, "mode", ("distance", "connectivity"))
    res = knn(X, n_neighbors, method=method, n_jobs=n_jobs, random_state=random_state)
    return neighbors_to_csr(res, None if mode == "distance" else 1.0)


def neighbors_to_csr(res: KNNResult, values=None) -> sp.csr_matrix:
    """CSR matrix with row i holding i's neighbours; ``values`` (n, k) or a scalar, default distances."""
    n, k = res.indices.shape
    data = res.distances if values is None else np.broadcast_to(values, (n, k))
    indptr = np.arange(0, n * k + 1, k, dtype=np.int64)
    M = sp.csr_matrix((np.ascontiguousarray(data, dtype=np.float64).ravel(),
                       res.indices.ravel(), indptr), shape=(n, n))
    M.sort_indices()
    return M
