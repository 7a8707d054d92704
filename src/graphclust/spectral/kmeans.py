"""Best-of-M k-means: M seeded k-means++/Lloyd runs, the lowest SSE kept (as in the report)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from graphclust._threads import thread_limits
from graphclust._validation import check_float, check_int, check_points, check_random_state

__all__ = ["KMeansResult", "kmeans_best_of", "canonical_labels"]


@dataclass(frozen=True)
class KMeansResult:
    """Outcome of best-of-M k-means.

    Attributes
    ----------
    labels : (n,) int64, canonical (cluster of point 0 is 0, next new cluster 1, ...).
    centers : (k, d) centres of the best run, ordered like the labels.
    inertia : SSE of the best run.
    inertias : (M,) SSE of every run, in seed order.
    n_iter : Lloyd iterations of the best run.
    best_run : index of the best run.
    """

    labels: np.ndarray
    centers: np.ndarray
    inertia: float
    inertias: np.ndarray
    n_iter: int
    best_run: int


def canonical_labels(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Relabel so clusters are numbered by first appearance; return (labels, old_of_new)."""
    labels = np.asarray(labels)
    _, first = np.unique(labels, return_index=True)
    old_of_new = labels[np.sort(first)]
    mapping = np.empty(labels.max() + 1, dtype=np.int64)
    mapping[old_of_new] = np.arange(old_of_new.size)
    return mapping[labels], old_of_new


def kmeans_best_of(X, n_clusters: int, *, n_init: int = 10, max_iter: int = 300, tol: float = 1e-10,
                   random_state=None, n_jobs=None) -> KMeansResult:
    """Run ``n_init`` independent k-means (k-means++ seeding) and keep the lowest SSE.

    Parameters
    ----------
    X : (n, d) points (e.g. the row-normalised spectral embedding).
    n_clusters : 1 <= k <= n.
    n_init : number of restarts M (the report uses 10 to 100).
    max_iter : Lloyd iterations per run; a run also stops when no label changes or the squared
        centre shift is at most ``tol``.
    random_state : seeds all restarts (restart r uses the r-th integer drawn from it).
    n_jobs : threads; restarts run in parallel and the result does not depend on the count.
    """
    X = check_points(X, min_samples=1, dtype=np.float64)
    n = X.shape[0]
    k = check_int(n_clusters, "n_clusters", low=1, high=n,
                  hint=f"there are only {n} points to cluster.")
    n_init = check_int(n_init, "n_init", low=1)
    max_iter = check_int(max_iter, "max_iter", low=1)
    tol = check_float(tol, "tol", low=0.0)
    rng = check_random_state(random_state)
    seeds = rng.integers(0, 2**31 - 1, size=n_init).astype(np.int64)
    from graphclust.spectral._kmeans_kernels import kmeans_restarts

    n_local_trials = 2 + int(np.log(k))
    with thread_limits(n_jobs):
        labels, centers, inertias, n_iters = kmeans_restarts(X, k, seeds, max_iter, tol, n_local_trials)
    best = int(np.argmin(inertias))
    lab, old_of_new = canonical_labels(labels[best])
    C = centers[best]
    used = np.zeros(k, dtype=bool)
    used[old_of_new] = True
    C = np.concatenate([C[old_of_new], C[~used]])  # empty clusters (if any) last
    return KMeansResult(lab, C, float(inertias[best]), inertias.copy(), int(n_iters[best]), best)
