"""Clustering quality metrics: ACC, NMI, ARI, the k-means objective and a one-call summary.

Every public function validates its input once, encodes the labels to ``0..k-1`` codes (any
integers or strings are accepted) and builds one sparse contingency table, so that all metrics
stay fast for millions of labels. Only numpy and scipy are imported; NMI and ARI are computed
from the contingency table with the same formulas (and the same degenerate-case conventions)
as :mod:`sklearn.metrics`.
"""
from __future__ import annotations

from math import log
from typing import Any, NamedTuple

import numpy as np
from scipy import sparse
from scipy.optimize import linear_sum_assignment

from graphclust._validation import GraphclustError, check_points

__all__ = [
    "clustering_accuracy",
    "normalized_mutual_info",
    "adjusted_rand_index",
    "sse",
    "evaluate",
    "acc",
    "nmi",
    "ari",
]

# Above this many contingency cells the Hungarian step runs on a sparse bipartite graph instead
# of a dense (n_classes, n_clusters) matrix.
_DENSE_ASSIGNMENT_MAX_CELLS = 4_000_000
# Row block for the k-means objective, so the temporary stays small for very large X.
_SSE_BLOCK = 65536


# --------------------------------------------------------------------------- label handling


def _check_labels(labels: Any, name: str) -> np.ndarray:
    """Return ``labels`` as a non-empty 1-D array of ints, strings, bools or finite floats."""
    try:
        arr = np.asarray(labels)
    except Exception as exc:  # pragma: no cover - exotic objects
        raise GraphclustError(f"{name} could not be converted to an array: {exc}") from None
    if arr.ndim != 1:
        hint = " Use .ravel() for a column vector." if arr.ndim == 2 and 1 in arr.shape else ""
        raise GraphclustError(
            f"{name} must be 1-D (n_samples,), got {arr.ndim} dimension(s) with shape {arr.shape}.{hint}"
        )
    if arr.size == 0:
        raise GraphclustError(f"{name} is empty; it needs at least one label.")
    if arr.dtype.kind == "c":
        raise GraphclustError(f"{name} must hold integers or strings, got complex dtype {arr.dtype}.")
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        bad = np.flatnonzero(~np.isfinite(arr))
        raise GraphclustError(
            f"{name} contains {bad.size} NaN or infinite label(s) (first at index {int(bad[0])}). "
            "Give every point a label (e.g. -1 for noise)."
        )
    if arr.dtype.kind not in "biufUSO":
        raise GraphclustError(f"{name} must hold integers or strings, got dtype {arr.dtype}.")
    return arr


def _encode(arr: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Map labels to codes ``0..k-1`` (in sorted label order); return ``(codes, counts)``.

    Integer labels with a compact range (the usual case) take an O(n) ``bincount`` path;
    everything else goes through ``np.unique``.
    """
    n = arr.size
    if arr.dtype.kind in "biu":
        lo, hi = int(arr.min()), int(arr.max())
        span = hi - lo + 1
        if span <= max(2 * n, 1024) and hi <= np.iinfo(np.int64).max:
            shifted = arr.astype(np.int64) - lo if lo else arr.astype(np.intp, copy=False)
            counts = np.bincount(shifted, minlength=span)
            present = counts > 0
            if present.all():
                return shifted.astype(np.intp, copy=False), counts.astype(np.int64, copy=False)
            remap = np.cumsum(present, dtype=np.intp) - 1
            return remap[shifted], counts[present].astype(np.int64, copy=False)
    try:
        _, codes, counts = np.unique(arr, return_inverse=True, return_counts=True)
    except TypeError:
        raise GraphclustError(
            f"{name} mixes label types that cannot be compared (e.g. numbers and strings, or "
            "None); use one type for all labels."
        ) from None
    return codes.reshape(-1).astype(np.intp, copy=False), counts.astype(np.int64, copy=False)


class _Table(NamedTuple):
    """Sparse contingency table of two labelings (only the non-zero cells)."""

    n: int
    row_sums: np.ndarray  # (n_classes,) int64, class sizes
    col_sums: np.ndarray  # (n_clusters,) int64, cluster sizes
    row: np.ndarray  # (nnz,) class code of each non-zero cell
    col: np.ndarray  # (nnz,) cluster code of each non-zero cell
    count: np.ndarray  # (nnz,) int64, points in that cell


def _contingency(y_true: Any, y_pred: Any) -> _Table:
    """Validate both labelings once and build their sparse contingency table."""
    a = _check_labels(y_true, "y_true")
    b = _check_labels(y_pred, "y_pred")
    if a.shape[0] != b.shape[0]:
        raise GraphclustError(
            f"y_true and y_pred must have the same length, got {a.shape[0]} and {b.shape[0]}."
        )
    codes_a, sums_a = _encode(a, "y_true")
    codes_b, sums_b = _encode(b, "y_pred")
    n = a.shape[0]
    table = sparse.coo_array(
        (np.ones(n, dtype=np.int64), (codes_a, codes_b)), shape=(sums_a.size, sums_b.size)
    )
    table.sum_duplicates()
    return _Table(n, sums_a, sums_b, table.row, table.col, table.data.astype(np.int64, copy=False))


# --------------------------------------------------------------------------- cores on a table


def _acc_from_table(t: _Table, *, force_sparse: bool = False) -> float:
    k_true, k_pred = t.row_sums.size, t.col_sums.size
    if not force_sparse and k_true * k_pred <= _DENSE_ASSIGNMENT_MAX_CELLS:
        dense = np.zeros((k_true, k_pred), dtype=np.int64)
        dense[t.row, t.col] = t.count
        rows, cols = linear_sum_assignment(dense, maximize=True)
        matched = int(dense[rows, cols].sum())
    else:
        matched = _sparse_max_matching(t)
    return matched / t.n


def _sparse_max_matching(t: _Table) -> int:
    """Maximum-weight (not necessarily perfect) matching on the non-zero contingency cells.

    ``min_weight_full_bipartite_matching`` needs a perfect matching, so the bipartite graph is
    doubled: ``[[C, I], [I, C^T]]`` always has one (each node paired with its copy), and its
    best perfect matching weighs exactly twice the best matching of ``C``. Every edge weight is
    shifted by +1 (so the identity edges are stored) which adds the same constant to every
    perfect matching and leaves the optimum unchanged.
    """
    from scipy.sparse.csgraph import min_weight_full_bipartite_matching

    k1, k2 = t.row_sums.size, t.col_sums.size
    w = t.count.astype(np.float64) + 1.0
    rows = np.concatenate([t.row, np.arange(k1), k1 + np.arange(k2), k1 + t.col])
    cols = np.concatenate([t.col, k2 + np.arange(k1), np.arange(k2), k2 + t.row])
    data = np.concatenate([w, np.ones(k1 + k2), w])
    graph = sparse.csr_array((data, (rows, cols)), shape=(k1 + k2, k1 + k2))
    row_ind, col_ind = min_weight_full_bipartite_matching(graph, maximize=True)
    # Sum the counts of the matched cells in the first copy of C (rows < k1, columns < k2).
    keep = (row_ind < k1) & (col_ind < k2)
    cells = sparse.csr_array((t.count, (t.row, t.col)), shape=(k1, k2))
    return int(np.asarray(cells[row_ind[keep], col_ind[keep]]).sum())


def _entropy_from_counts(counts: np.ndarray) -> float:
    if counts.size == 1:
        return 0.0
    total = float(counts.sum())
    p = counts / total
    return float(-np.sum(p * (np.log(counts) - log(total))))


def _mutual_info_from_table(t: _Table) -> float:
    if t.row_sums.size == 1 or t.col_sums.size == 1:
        return 0.0
    n = float(t.n)
    nij = t.count.astype(np.float64)
    p = nij / n
    log_outer = (np.log(t.row_sums[t.row].astype(np.float64))
                 + np.log(t.col_sums[t.col].astype(np.float64)))
    terms = p * (np.log(nij) - log(n)) + p * (2.0 * log(n) - log_outer)
    # Same clean-up as sklearn: terms below machine epsilon are rounding noise.
    terms = np.where(np.abs(terms) < np.finfo(np.float64).eps, 0.0, terms)
    return float(max(terms.sum(), 0.0))


def _nmi_from_table(t: _Table) -> float:
    if t.row_sums.size == t.col_sums.size == 1:
        return 1.0  # neither labeling splits the data: a perfect (trivial) match
    mi = _mutual_info_from_table(t)
    if mi == 0.0:
        return 0.0
    h_true = _entropy_from_counts(t.row_sums)
    h_pred = _entropy_from_counts(t.col_sums)
    return float(mi / ((h_true + h_pred) / 2.0))


def _ari_from_table(t: _Table) -> float:
    # Pair-confusion counts (ordered pairs, as sklearn's pair_confusion_matrix), in Python ints.
    n = int(t.n)
    sum_sq = int(np.dot(t.count, t.count))
    sum_rows = int(np.dot(t.row_sums, t.row_sums))
    sum_cols = int(np.dot(t.col_sums, t.col_sums))
    tp = sum_sq - n
    fp = sum_cols - sum_sq
    fn = sum_rows - sum_sq
    tn = n * n - fp - fn - sum_sq
    if fn == 0 and fp == 0:
        return 1.0
    return 2.0 * (tp * tn - fn * fp) / ((tp + fn) * (fn + tn) + (tp + fp) * (fp + tn))


# --------------------------------------------------------------------------- public API


def clustering_accuracy(y_true, y_pred) -> float:
    """Clustering accuracy (ACC) under the best one-to-one matching of clusters to classes.

    The matching maximises the number of correctly assigned points and is found with the
    Hungarian algorithm (:func:`scipy.optimize.linear_sum_assignment`) on the contingency table.
    The numbers of clusters and classes may differ: surplus clusters (or classes) stay unmatched
    and their points count as errors.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Reference classes (any integers or strings).
    y_pred : array-like of shape (n_samples,)
        Predicted clusters (any integers or strings).

    Returns
    -------
    float
        Fraction of points in matched (class, cluster) pairs, in ``[0, 1]``.

    Raises
    ------
    GraphclustError
        If an input is not 1-D, is empty, or the lengths differ.
    """
    return _acc_from_table(_contingency(y_true, y_pred))


def normalized_mutual_info(y_true, y_pred) -> float:
    """Normalised mutual information with arithmetic-mean normalisation.

    ``NMI = MI(U, V) / ((H(U) + H(V)) / 2)`` with natural logarithms, as
    ``sklearn.metrics.normalized_mutual_info_score`` with its default
    ``average_method="arithmetic"``. Degenerate cases follow sklearn: when both labelings have a
    single cluster the result is 1.0; when the mutual information is 0 it is 0.0.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Reference classes (any integers or strings).
    y_pred : array-like of shape (n_samples,)
        Predicted clusters (any integers or strings).

    Returns
    -------
    float
        NMI in ``[0, 1]``; symmetric in its arguments and invariant to relabelling.

    Raises
    ------
    GraphclustError
        If an input is not 1-D, is empty, or the lengths differ.
    """
    return _nmi_from_table(_contingency(y_true, y_pred))


def adjusted_rand_index(y_true, y_pred) -> float:
    """Adjusted Rand index (Hubert & Arabie), computed from the contingency table.

    Same value as ``sklearn.metrics.adjusted_rand_score``: 1.0 for identical partitions (up to
    relabelling, including the case where both have a single cluster), about 0 for random
    labelings, and possibly negative. Pair counts are exact Python integers, so there is no
    overflow for millions of labels.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Reference classes (any integers or strings).
    y_pred : array-like of shape (n_samples,)
        Predicted clusters (any integers or strings).

    Returns
    -------
    float
        ARI in ``[-0.5, 1]``.

    Raises
    ------
    GraphclustError
        If an input is not 1-D, is empty, or the lengths differ.
    """
    return _ari_from_table(_contingency(y_true, y_pred))


def sse(X, labels, centers=None) -> float:
    """k-means objective: the sum of squared Euclidean distances of points to their centre.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        The points (finite numbers; accumulated in float64).
    labels : array-like of shape (n_samples,)
        Cluster of each point. Without ``centers`` any integers or strings are accepted and each
        cluster's centre is the mean of its points. With ``centers`` the labels must be integer
        row indices ``0..n_centers-1`` into ``centers``.
    centers : array-like of shape (n_centers, n_features), optional
        Given cluster centres (e.g. from k-means); by default the cluster means.

    Returns
    -------
    float
        ``sum_i ||X[i] - center[labels[i]]||^2`` (0.0 when every point sits on its centre).

    Raises
    ------
    GraphclustError
        If ``X`` is not a finite 2-D array, ``labels`` is not 1-D with one label per row, or
        ``centers`` has the wrong number of columns or too few rows for the labels.
    """
    X = check_points(X, name="X", min_samples=1)
    lab = _check_labels(labels, "labels")
    n, d = X.shape
    if lab.shape[0] != n:
        raise GraphclustError(
            f"labels must have one entry per row of X: X has {n} rows, labels has {lab.shape[0]}."
        )
    if centers is None:
        codes, counts = _encode(lab, "labels")
        sums = np.zeros((counts.size, d))
        for s in range(0, n, _SSE_BLOCK):
            block = X[s:s + _SSE_BLOCK].astype(np.float64)
            m = block.shape[0]
            indicator = sparse.csr_array(
                (np.ones(m), (codes[s:s + m], np.arange(m))), shape=(counts.size, m)
            )
            sums += indicator @ block
        C = sums / counts[:, None]
    else:
        C = check_points(centers, name="centers", min_samples=1, dtype=np.float64)
        if C.shape[1] != d:
            raise GraphclustError(
                f"centers must have the same number of columns as X ({d}), got shape {C.shape}."
            )
        if lab.dtype.kind not in "iub":
            raise GraphclustError(
                f"with centers given, labels must be integer row indices into centers, got dtype "
                f"{lab.dtype}."
            )
        lo, hi = int(lab.min()), int(lab.max())
        if lo < 0 or hi >= C.shape[0]:
            raise GraphclustError(
                f"labels must lie in 0..{C.shape[0] - 1} (one per row of centers), got values "
                f"{lo}..{hi}."
            )
        codes = lab.astype(np.intp, copy=False)
    total = 0.0
    for s in range(0, n, _SSE_BLOCK):
        diff = X[s:s + _SSE_BLOCK].astype(np.float64) - C[codes[s:s + _SSE_BLOCK]]
        total += float(np.einsum("ij,ij->", diff, diff))
    return total


def evaluate(y_true, y_pred) -> dict:
    """All label-based metrics at once (inputs validated and tabulated a single time).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Reference classes (any integers or strings).
    y_pred : array-like of shape (n_samples,)
        Predicted clusters (any integers or strings).

    Returns
    -------
    dict
        ``{"acc": float, "nmi": float, "ari": float, "n_clusters": int, "n_classes": int}``
        where ``n_clusters`` counts distinct values of ``y_pred`` and ``n_classes`` those of
        ``y_true``.

    Raises
    ------
    GraphclustError
        If an input is not 1-D, is empty, or the lengths differ.
    """
    t = _contingency(y_true, y_pred)
    return {
        "acc": _acc_from_table(t),
        "nmi": _nmi_from_table(t),
        "ari": _ari_from_table(t),
        "n_clusters": int(t.col_sums.size),
        "n_classes": int(t.row_sums.size),
    }


acc = clustering_accuracy
nmi = normalized_mutual_info
ari = adjusted_rand_index
