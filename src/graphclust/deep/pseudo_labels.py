"""Pseudo-labels for starting a deep clustering model from a pretrained latent space.

DGG's Algorithm 1 (and VaDE, DEC) start from k-means on the autoencoder's latent means. On
MNIST that start is poor: the lowest-SSE 10-partition of the codes is not the digits (ACC
0.61-0.63 on MNIST-test), and the model cannot recover from it. :func:`umap_gmm_labels` is the
N2D recipe (McConville et al. 2020) used as the start instead: UMAP of the codes (20
neighbours, ``min_dist=0``, K dimensions) and a full-covariance Gaussian mixture on it, the best
of ``n_init`` starts by likelihood. Measured on MNIST-test (benchmarks/RESULTS_dgg.md): ACC 0.95
for the pseudo-labels of DGG's ``fast`` pretraining, where k-means gives 0.63.

Why the mixture and not k-means on the UMAP layout: on UMAP layouts of MNIST the k-means
partition with the lowest SSE splits the elongated cluster of the 1s and merges 4 with 9 (ACC
0.80), while the mixture with the highest likelihood recovers the digits (0.93) on every UMAP
seed tried (RESULTS_dgg.md). The choice among starts uses no labels.

``umap-learn`` is imported only when this function runs (it is in the ``deep`` extra).
"""
from __future__ import annotations

import warnings

import numpy as np

from graphclust._validation import GraphclustError, check_int, check_random_state, seed_from

__all__ = ["PSEUDO_LABELS", "umap_gmm_labels"]

#: the ways a deep model's clusters can be started
PSEUDO_LABELS = ("kmeans", "umap-gmm")


def _require_umap():
    try:
        import umap
    except ImportError as exc:  # pragma: no cover - umap-learn is in the test extra
        raise GraphclustError(
            "pseudo_labels='umap-gmm' needs umap-learn: pip install 'graphclust[deep]' "
            "(or pip install umap-learn), or use pseudo_labels='kmeans'.") from exc
    return umap


def umap_gmm_labels(Z, n_clusters: int, *, n_neighbors: int = 20, n_init: int = 10,
                    random_state=None) -> np.ndarray:
    """Cluster ``Z`` by UMAP (``n_neighbors``, ``min_dist=0``, ``n_clusters`` dimensions) and a
    full-covariance Gaussian mixture on the layout (best of ``n_init`` by likelihood).

    Returns labels in ``0..n_clusters-1``, every label used: a component that ends with no
    point takes the point it is most responsible for.
    """
    from sklearn.mixture import GaussianMixture

    Z = np.asarray(Z, dtype=np.float64)
    n = Z.shape[0]
    K = check_int(n_clusters, "n_clusters", low=1, high=n)
    n_init = check_int(n_init, "n_init", low=1)
    if n < K + 2 or n < 4:
        raise GraphclustError(
            f"pseudo_labels='umap-gmm' needs at least max(4, n_clusters + 2) = {max(4, K + 2)} "
            f"points (got {n}); use pseudo_labels='kmeans'.")
    if K == 1:
        return np.zeros(n, dtype=np.int64)
    rng = check_random_state(random_state)
    umap_seed, gmm_seed = seed_from(rng), seed_from(rng)
    umap = _require_umap()
    with warnings.catch_warnings():
        # umap-learn warns that a fixed random_state disables its parallelism: that is the point
        warnings.filterwarnings("ignore", message=".*random_state.*", category=UserWarning)
        layout = umap.UMAP(n_neighbors=min(n_neighbors, n - 1), min_dist=0.0, n_components=K,
                           random_state=umap_seed).fit_transform(Z)
    gmm = GaussianMixture(K, covariance_type="full", n_init=n_init, reg_covar=1e-4,
                          random_state=gmm_seed).fit(layout)
    resp = gmm.predict_proba(layout)
    labels = resp.argmax(axis=1).astype(np.int64)
    for k in np.flatnonzero(np.bincount(labels, minlength=K) == 0):
        order = np.argsort(-resp[:, k], kind="stable")
        counts = np.bincount(labels, minlength=K)
        i = next(i for i in order if counts[labels[i]] > 1)  # never empty another component
        labels[i] = k
    return labels
