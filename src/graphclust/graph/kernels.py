"""Affinity kernels on kNN graphs (and the report's dense all-pairs kernel for small n).

Self-tuning kernel (Zelnik-Manor & Perona 2004, as in the reference report)::

    W_ij = exp(-|x_i - x_j|^2 / (sigma_i sigma_j)),   sigma_i = distance from x_i to its
                                                      ``sigma_rank``-th nearest neighbour,
    W_ii = 0.

On a kNN graph W_ij is evaluated only for the edges of the graph (i's ``n_neighbors`` nearest),
then symmetrised. The kernel is symmetric in (i, j), so where both directions exist they carry
the same weight and the symmetrisation choice only decides what happens to one-sided edges.

Duplicate points: sigma_i = 0 is replaced by the distance to i's nearest neighbour at a positive
distance (or, if all its neighbours coincide with it, the median positive sigma), so identical
points get weight exp(0) = 1 and no NaN can arise.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from graphclust._validation import (
    GraphclustError,
    available_memory_bytes,
    check_choice,
    check_float,
    check_int,
    check_points,
    format_bytes,
)
from graphclust.graph.neighbors import KNNResult, knn

__all__ = [
    "self_tuning_affinity",
    "gaussian_affinity",
    "local_scales",
    "symmetrize",
    "dense_self_tuning_affinity",
    "dense_kernel_bytes",
    "SYMMETRIZE",
]

SYMMETRIZE = ("union", "mutual", "mean")


def local_scales(res: KNNResult, sigma_rank: int) -> np.ndarray:
    """sigma_i = distance to the ``sigma_rank``-th nearest neighbour, with the duplicate-point fix."""
    sigma = res.distances[:, sigma_rank - 1].astype(np.float64, copy=True)
    zero = sigma <= 0
    if zero.any():
        D = res.distances[zero]
        pos = np.where(D > 0, D, np.inf).min(axis=1)
        fallback = np.median(sigma[~zero]) if (~zero).any() else 1.0
        pos[~np.isfinite(pos)] = fallback if fallback > 0 else 1.0
        sigma[zero] = pos
    return sigma


def symmetrize(W: sp.spmatrix, how: str = "union") -> sp.csr_matrix:
    """Make a directed kNN affinity symmetric.

    ``"union"``: keep an edge if either endpoint lists the other (max of the two weights);
    ``"mutual"``: keep only edges listed by both endpoints (min); ``"mean"``: (W + W^T) / 2, so a
    one-sided edge keeps half its weight.
    """
    how = check_choice(how, "symmetrize", SYMMETRIZE)
    W = sp.csr_matrix(W)
    Wt = W.T.tocsr()
    if how == "union":
        S = W.maximum(Wt)
    elif how == "mutual":
        S = W.minimum(Wt)
    else:
        S = (W + Wt) * 0.5
    S = sp.csr_matrix(S)
    S.setdiag(0)
    S.eliminate_zeros()
    S.sort_indices()
    return S


def _kernel_csr(res: KNNResult, n_neighbors: int, weights_fn) -> sp.csr_matrix:
    n = res.indices.shape[0]
    idx = res.indices[:, :n_neighbors]
    dist = res.distances[:, :n_neighbors]
    data = weights_fn(dist, idx)
    # Keep every listed edge in the structure even if its weight underflows to 0, so a far
    # outlier is never silently disconnected: floor at the smallest normal double.
    np.maximum(data, np.finfo(np.float64).tiny, out=data)
    indptr = np.arange(0, n * n_neighbors + 1, n_neighbors, dtype=np.int64)
    return sp.csr_matrix((data.ravel(), idx.ravel(), indptr), shape=(n, n))


def _neighbors_for(X, knn_result, n_needed, method, n_jobs, random_state):
    if knn_result is not None:
        if not isinstance(knn_result, KNNResult):
            raise GraphclustError("knn_result must be a graphclust.graph.KNNResult from graphclust.knn().")
        if knn_result.n_neighbors < n_needed:
            raise GraphclustError(
                f"knn_result has {knn_result.n_neighbors} neighbours per point but {n_needed} are "
                "needed (max of n_neighbors and sigma_rank); recompute it with more neighbours."
            )
        return knn_result
    return knn(X, n_needed, method=method, n_jobs=n_jobs, random_state=random_state)


def self_tuning_affinity(X=None, n_neighbors: int = 10, *, sigma_rank: int = 7,
                         symmetrize_how: str = "union", knn_result: KNNResult | None = None,
                         method: str = "auto", n_jobs=None, random_state=None,
                         return_scales: bool = False):
    """Sparse self-tuning affinity on the kNN graph, symmetric, zero diagonal (CSR).

    Parameters
    ----------
    X : array (n, d), or None when ``knn_result`` is given.
    n_neighbors : int, edges per point before symmetrisation.
    sigma_rank : int, the neighbour whose distance is sigma_i (7 in the reference).
    symmetrize_how : {"union", "mutual", "mean"}
    knn_result : precomputed neighbours (at least max(n_neighbors, sigma_rank) per point).
    method, n_jobs, random_state : passed to :func:`graphclust.knn`.
    return_scales : also return sigma (n,).
    """
    n_neighbors = check_int(n_neighbors, "n_neighbors", low=1)
    sigma_rank = check_int(sigma_rank, "sigma_rank", low=1)
    if X is None and knn_result is None:
        raise GraphclustError("self_tuning_affinity needs X or knn_result.")
    if X is not None and knn_result is None:
        X = check_points(X)
        n = X.shape[0]
        for name, v in (("n_neighbors", n_neighbors), ("sigma_rank", sigma_rank)):
            check_int(v, name, high=n - 1,
                      hint=f"X has {n} samples, so at most {n - 1} neighbours exist.")
    res = _neighbors_for(X, knn_result, max(n_neighbors, sigma_rank), method, n_jobs, random_state)
    sigma = local_scales(res, sigma_rank)

    def weights(dist, idx):
        return np.exp(-(dist * dist) / (sigma[:, None] * sigma[idx]))

    W = symmetrize(_kernel_csr(res, n_neighbors, weights), symmetrize_how)
    return (W, sigma) if return_scales else W


def gaussian_affinity(X=None, n_neighbors: int = 10, *, sigma: float | None = None,
                      symmetrize_how: str = "union", knn_result: KNNResult | None = None,
                      method: str = "auto", n_jobs=None, random_state=None,
                      return_scales: bool = False):
    """Fixed-sigma Gaussian affinity W_ij = exp(-|x_i - x_j|^2 / (2 sigma^2)) on the kNN graph.

    ``sigma=None`` uses the median distance to the ``n_neighbors``-th neighbour.
    """
    n_neighbors = check_int(n_neighbors, "n_neighbors", low=1)
    if X is not None and knn_result is None:
        X = check_points(X)
        check_int(n_neighbors, "n_neighbors", high=X.shape[0] - 1,
                  hint=f"X has {X.shape[0]} samples.")
    res = _neighbors_for(X, knn_result, n_neighbors, method, n_jobs, random_state)
    if sigma is None:
        sigma = float(np.median(res.distances[:, n_neighbors - 1]))
        if sigma <= 0:
            sigma = 1.0
    sigma = check_float(sigma, "sigma", low=0.0, low_open=True)

    def weights(dist, idx):
        return np.exp(-(dist * dist) / (2.0 * sigma * sigma))

    W = symmetrize(_kernel_csr(res, n_neighbors, weights), symmetrize_how)
    return (W, np.full(W.shape[0], sigma)) if return_scales else W


def dense_kernel_bytes(n: int) -> int:
    """Peak bytes of the dense all-pairs kernel: the n x n float64 matrix plus one block of work."""
    return int(8 * n * n * 1.25 + 64 * 1024**2)


def dense_self_tuning_affinity(X, *, sigma_rank: int = 7, memory_limit: int | None = None,
                               return_scales: bool = False):
    """The report's dense all-pairs self-tuning kernel (n x n ndarray), for small n.

    The memory it needs (8 n^2 bytes and a block of work) is checked against ``memory_limit``
    (default: 80 % of the memory the OS reports available) before anything is allocated.
    """
    X = check_points(X)
    n = X.shape[0]
    sigma_rank = check_int(sigma_rank, "sigma_rank", low=1, high=n - 1,
                           hint=f"X has {n} samples.")
    need = dense_kernel_bytes(n)
    limit = int(0.8 * available_memory_bytes()) if memory_limit is None else int(memory_limit)
    if need > limit:
        raise GraphclustError(
            f"the dense all-pairs kernel for n={n} needs about {format_bytes(need)}, more than the "
            f"{format_bytes(limit)} available. Use the sparse kNN graph instead (affinity='knn', "
            "CLI --affinity knn), which needs O(n * n_neighbors) memory."
        )
    res = knn(X, sigma_rank, method="exact")
    sigma = local_scales(res, sigma_rank)
    sq = np.einsum("ij,ij->i", X, X)
    W = np.empty((n, n), dtype=np.float64)
    block = max(1, (32 * 1024**2) // (8 * n))
    for r0 in range(0, n, block):
        r1 = min(n, r0 + block)
        D2 = sq[r0:r1, None] + sq[None, :] - 2.0 * (X[r0:r1] @ X.T)
        np.maximum(D2, 0.0, out=D2)
        D2 /= sigma[r0:r1, None] * sigma[None, :]
        np.exp(-D2, out=W[r0:r1])
    np.fill_diagonal(W, 0.0)
    return (W, sigma) if return_scales else W
