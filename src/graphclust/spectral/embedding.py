"""Spectral embedding (Ng-Jordan-Weiss) and the eigengap choice of K."""
from __future__ import annotations

import numpy as np

from graphclust._validation import GraphclustError, check_int
from graphclust.spectral.eigen import EigenResult, smallest_eigenpairs
from graphclust.spectral.laplacian import check_affinity

__all__ = ["spectral_embedding", "normalize_rows", "eigengap"]


def normalize_rows(U: np.ndarray) -> np.ndarray:
    """Scale every row to unit Euclidean length (rows of zeros stay zero)."""
    norms = np.linalg.norm(U, axis=1, keepdims=True)
    return np.divide(U, norms, out=np.zeros_like(U), where=norms > 0)


def eigengap(eigenvalues, *, min_clusters: int = 2, max_clusters: int | None = None,
             relative: bool = True):
    """Choose K by the eigengap of the ascending eigenvalues lambda_1 <= lambda_2 <= ...

    ``relative=True`` (default) maximises 1 - lambda_K / lambda_{K+1}: it is 1 exactly when
    lambda_K = 0 < lambda_{K+1}, so a graph with c connected components gives K = c, and on a
    connected graph it finds the largest ratio jump. The absolute gap lambda_{K+1} - lambda_K
    (``relative=False``, von Luxburg 2007) fails on elongated clusters such as spirals, whose
    second eigenvalue is tiny.

    Returns ``(K, gaps)`` where ``gaps[K-1]`` is the gap after the K-th eigenvalue.
    """
    lam = np.asarray(eigenvalues, dtype=np.float64)
    if lam.ndim != 1 or lam.size < 2:
        raise GraphclustError("eigengap needs at least 2 eigenvalues.")
    lam = np.maximum(lam, 0.0)
    if relative:
        nxt = lam[1:]
        gaps = np.divide(nxt - lam[:-1], nxt, out=np.zeros_like(nxt), where=nxt > 0)
    else:
        gaps = np.diff(lam)
    hi = gaps.size if max_clusters is None else min(gaps.size, max_clusters)
    lo = max(1, min_clusters)
    if lo > hi:
        raise GraphclustError(f"no K in [{lo}, {hi}] to choose from; compute more eigenvalues.")
    K = lo + int(np.argmax(gaps[lo - 1:hi]))
    return K, gaps


def spectral_embedding(W, n_components: int, *, eigen_solver: str = "auto", random_state=None,
                       tol: float | None = None, normalize: bool = True):
    """Embed the nodes of affinity ``W`` with the ``n_components`` smallest eigenvectors of L_sym.

    Returns ``(embedding, eigen)`` where ``embedding`` is (n, n_components), rows scaled to unit
    length when ``normalize`` (Ng-Jordan-Weiss), and ``eigen`` the :class:`EigenResult`.
    """
    W = check_affinity(W)
    k = check_int(n_components, "n_components", low=1, high=W.shape[0])
    eig: EigenResult = smallest_eigenpairs(W, k, eigen_solver=eigen_solver,
                                           random_state=random_state, tol=tol)
    U = normalize_rows(eig.vectors) if normalize else eig.vectors
    return U, eig
