"""Normalized graph matrices.

L_sym = I - D^{-1/2} W D^{-1/2}. Its smallest eigenvectors are the largest eigenvectors of the
normalized adjacency M = D^{-1/2} W D^{-1/2}, which is what the sparse solvers iterate with.
A node of degree 0 gets d^{-1/2} = 0 (its row of M is empty, its L_sym row is the identity's).
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from graphclust._validation import GraphclustError

__all__ = ["check_affinity", "degrees", "normalized_adjacency", "normalized_laplacian"]


def check_affinity(W, *, name: str = "affinity") -> sp.csr_matrix | np.ndarray:
    """Validate a square, symmetric, non-negative, finite affinity (dense or sparse)."""
    if sp.issparse(W):
        W = sp.csr_matrix(W, dtype=np.float64)
        data = W.data
    else:
        W = np.asarray(W, dtype=np.float64)
        data = W
    if W.ndim != 2 or W.shape[0] != W.shape[1]:
        raise GraphclustError(f"{name} must be a square (n, n) matrix, got shape {W.shape}.")
    if W.shape[0] < 2:
        raise GraphclustError(f"{name} must have at least 2 nodes, got {W.shape[0]}.")
    if not np.isfinite(data).all():
        raise GraphclustError(f"{name} contains NaN or infinite weights; fix the graph first.")
    if (data < 0).any():
        raise GraphclustError(f"{name} has negative weights; spectral clustering needs W >= 0.")
    asym = abs(W - W.T)
    asym = asym.max() if not sp.issparse(asym) else (asym.data.max() if asym.nnz else 0.0)
    scale = data.max() if data.size else 1.0
    if asym > 1e-10 * max(scale, 1e-300):
        raise GraphclustError(
            f"{name} is not symmetric (max |W - W^T| = {asym:.3g}); symmetrize it, e.g. "
            "graphclust.graph.symmetrize(W, 'union') or (W + W.T) / 2."
        )
    return W


def degrees(W) -> np.ndarray:
    return np.asarray(W.sum(axis=1)).ravel()


def _inv_sqrt(d: np.ndarray) -> np.ndarray:
    out = np.zeros_like(d)
    pos = d > 0
    out[pos] = 1.0 / np.sqrt(d[pos])
    return out


def normalized_adjacency(W):
    """Return (M, d) with M = D^{-1/2} W D^{-1/2} (same sparsity/density as W) and degrees d."""
    d = degrees(W)
    s = _inv_sqrt(d)
    if sp.issparse(W):
        W = sp.csr_matrix(W)
        M = W.copy()
        # scale rows then columns in place: M.data *= s[row] * s[col]
        rows = np.repeat(np.arange(W.shape[0]), np.diff(W.indptr))
        M.data = M.data * s[rows] * s[M.indices]
        return M, d
    return (W * s[:, None]) * s[None, :], d


def normalized_laplacian(W):
    """L_sym = I - D^{-1/2} W D^{-1/2} (nodes of degree 0 keep L_ii = 1)."""
    M, _ = normalized_adjacency(W)
    n = W.shape[0]
    if sp.issparse(M):
        return (sp.identity(n, format="csr") - M).tocsr()
    return np.eye(n) - M
