"""The ``SpectralClustering`` estimator: graph -> L_sym eigenvectors -> rows normalised -> best-of-M k-means."""
from __future__ import annotations

import numbers
import warnings

import numpy as np

from graphclust import _progress
from graphclust._validation import (
    GraphclustError,
    check_choice,
    check_float,
    check_int,
    check_points,
    check_random_state,
    seed_from,
)

__all__ = ["SpectralClustering", "spectral_clustering"]

KERNELS = ("self-tuning", "gaussian")
AFFINITIES = ("knn", "dense", "precomputed")

try:  # scikit-learn is a dependency, but keep the import cheap and optional for type reasons
    from sklearn.base import BaseEstimator, ClusterMixin
except ImportError:  # pragma: no cover
    BaseEstimator, ClusterMixin = object, object


class SpectralClustering(ClusterMixin, BaseEstimator):
    """Self-tuning spectral clustering on a sparse kNN graph (scikit-learn API).

    Pipeline (Ng, Jordan & Weiss 2002 with Zelnik-Manor & Perona's local scaling):

    1. kNN graph with W_ij = exp(-|x_i - x_j|^2 / (sigma_i sigma_j)), sigma_i = distance to the
       ``sigma_rank``-th neighbour, W_ii = 0, symmetrised (``kernel="gaussian"``: fixed sigma).
    2. L_sym = I - D^-1/2 W D^-1/2; its ``n_clusters`` smallest eigenvectors, solved per
       connected component (exact for disconnected graphs), rows scaled to unit length.
    3. Best-of-``n_init`` k-means (k-means++ seeding) on the rows; the lowest SSE wins.

    Parameters
    ----------
    n_clusters : int or "auto", default="auto"
        Number of clusters; "auto" picks K by the largest eigengap among the first
        ``max_clusters`` + 1 eigenvalues.
    n_neighbors : int, default=10
        Edges per point in the kNN graph (before symmetrisation).
    sigma_rank : int, default=7
        sigma_i is the distance to this neighbour (7 in the reference report).
    kernel : {"self-tuning", "gaussian"}, default="self-tuning"
    sigma : float or None, default=None
        Bandwidth of the Gaussian kernel (None: median distance to the n_neighbors-th neighbour).
    affinity : {"knn", "dense", "precomputed"}, default="knn"
        "dense" is the report's all-pairs kernel (O(n^2) memory, checked against available
        memory first); "precomputed" means ``fit`` receives a symmetric affinity matrix.
    symmetrize : {"union", "mutual", "mean"}, default="union"
    knn_method : {"auto", "exact", "kdtree", "brute", "nndescent", "hnsw"}, default="auto"
    eigen_solver : {"auto", "dense", "arpack", "lobpcg", "shift-invert"}, default="auto"
    eigen_tol : float or None, default=None
    n_init : int, default=10
        k-means restarts (M in the report).
    max_iter : int, default=300
    max_clusters : int, default=20
        Upper bound for ``n_clusters="auto"``.
    random_state : int, Generator or None
        Seeds the approximate kNN, the eigensolver start vectors and the k-means restarts.
    n_jobs : int or None
        Threads (None = all cores). The labels do not depend on it.

    Attributes
    ----------
    labels_ : (n,) int64, clusters numbered by first appearance.
    n_clusters_ : int, the number of clusters used (chosen by eigengap for "auto").
    affinity_matrix_ : (n, n) scipy.sparse CSR (ndarray for affinity="dense").
    embedding_ : (n, n_clusters_) row-normalised spectral embedding.
    eigenvalues_ : ascending eigenvalues of L_sym that were computed.
    inertia_ : float, SSE of the best k-means run.
    inertias_ : (n_init,) SSE of every k-means run.
    cluster_centers_ : (n_clusters_, n_clusters_) k-means centres in the embedding.
    n_iter_ : int, Lloyd iterations of the best k-means run.
    sigma_ : (n,) local scales (None for precomputed affinities).
    n_graph_components_ : int, connected components of the graph.
    timings_ : dict, seconds per stage ("knn", "affinity", "eigen", "kmeans").
    eigen_solver_ : str, the solver(s) actually used.
    knn_method_ : str or None, the kNN method actually used.

    Notes
    -----
    If the graph has more connected components than ``n_clusters``, the eigenvalue 0 is
    degenerate (any grouping of whole components has a normalized cut of 0). graphclust then
    groups whole components by single linkage on their smallest scaled gap
    min |x_i - x_j|^2 / (sigma_i sigma_j) -- the grouping the connected kernel prefers -- and
    warns. See :mod:`graphclust.spectral.components`.
    """

    def __init__(self, n_clusters="auto", *, n_neighbors=10, sigma_rank=7, kernel="self-tuning",
                 sigma=None, affinity="knn", symmetrize="union", knn_method="auto",
                 eigen_solver="auto", eigen_tol=None, n_init=10, max_iter=300, max_clusters=20,
                 random_state=None, n_jobs=None):
        self.n_clusters = n_clusters
        self.n_neighbors = n_neighbors
        self.sigma_rank = sigma_rank
        self.kernel = kernel
        self.sigma = sigma
        self.affinity = affinity
        self.symmetrize = symmetrize
        self.knn_method = knn_method
        self.eigen_solver = eigen_solver
        self.eigen_tol = eigen_tol
        self.n_init = n_init
        self.max_iter = max_iter
        self.max_clusters = max_clusters
        self.random_state = random_state
        self.n_jobs = n_jobs

    # -- validation -------------------------------------------------------------------------
    def _check_params(self, n: int):
        from graphclust.graph import KNN_METHODS, SYMMETRIZE
        from graphclust.spectral.eigen import EIGEN_SOLVERS

        check_choice(self.kernel, "kernel", KERNELS)
        check_choice(self.affinity, "affinity", AFFINITIES)
        check_choice(self.symmetrize, "symmetrize", SYMMETRIZE)
        check_choice(self.knn_method, "knn_method", KNN_METHODS)
        check_choice(self.eigen_solver, "eigen_solver", EIGEN_SOLVERS)
        check_int(self.n_init, "n_init", low=1)
        check_int(self.max_iter, "max_iter", low=1)
        if self.eigen_tol is not None:
            check_float(self.eigen_tol, "eigen_tol", low=0.0)
        if self.sigma is not None:
            check_float(self.sigma, "sigma", low=0.0, low_open=True)
        if self.affinity != "precomputed":
            hint = f"X has {n} samples, so a point has at most {n - 1} neighbours."
            check_int(self.n_neighbors, "n_neighbors", low=1, high=n - 1, hint=hint)
            check_int(self.sigma_rank, "sigma_rank", low=1, high=n - 1, hint=hint)
        if isinstance(self.n_clusters, str):
            if self.n_clusters != "auto":
                raise GraphclustError(f"n_clusters must be a positive integer or 'auto', got {self.n_clusters!r}.")
            check_int(self.max_clusters, "max_clusters", low=2)
        elif isinstance(self.n_clusters, numbers.Integral) and not isinstance(self.n_clusters, bool):
            check_int(self.n_clusters, "n_clusters", low=1, high=n,
                      hint=f"there are only {n} samples to cluster.")
        else:
            raise GraphclustError(f"n_clusters must be a positive integer or 'auto', got {self.n_clusters!r}.")

    # -- fitting ----------------------------------------------------------------------------
    def fit(self, X, y=None):
        """Cluster ``X`` (n_samples, n_features), or a precomputed affinity if affinity="precomputed"."""
        from graphclust.graph import KNNResult, dense_self_tuning_affinity, gaussian_affinity, knn, self_tuning_affinity
        from graphclust.spectral.components import component_gaps, group_components
        from graphclust.spectral.embedding import eigengap, normalize_rows
        from graphclust.spectral.eigen import smallest_eigenpairs
        from graphclust.spectral.kmeans import canonical_labels, kmeans_best_of
        from graphclust.spectral.laplacian import check_affinity

        timings: dict = {}
        rng = check_random_state(self.random_state)
        knn_seed, eig_seed, km_seed, merge_seed = (seed_from(rng) for _ in range(4))
        sigma = None
        self.knn_method_ = None
        if self.affinity == "precomputed":
            with _progress.stage("affinity", timings):
                W = check_affinity(X, name="X (precomputed affinity)")
            n = W.shape[0]
            self._check_params(n)
            X = None
        else:
            X = check_points(X)
            n = X.shape[0]
            self._check_params(n)
            if self.affinity == "dense":
                with _progress.stage("affinity", timings):
                    W, sigma = dense_self_tuning_affinity(X, sigma_rank=self.sigma_rank, return_scales=True)
            else:
                need = max(self.n_neighbors, self.sigma_rank if self.kernel == "self-tuning" else 0)
                with _progress.stage("knn", timings):
                    res: KNNResult = knn(X, need, method=self.knn_method, n_jobs=self.n_jobs,
                                         random_state=knn_seed)
                self.knn_method_ = res.method
                with _progress.stage("affinity", timings):
                    if self.kernel == "self-tuning":
                        W, sigma = self_tuning_affinity(
                            knn_result=res, n_neighbors=self.n_neighbors, sigma_rank=self.sigma_rank,
                            symmetrize_how=self.symmetrize, return_scales=True)
                    else:
                        W, sigma = gaussian_affinity(
                            knn_result=res, n_neighbors=self.n_neighbors, sigma=self.sigma,
                            symmetrize_how=self.symmetrize, return_scales=True)
        auto = isinstance(self.n_clusters, str)
        n_eig = min(n, (self.max_clusters + 1) if auto else int(self.n_clusters))
        from graphclust._threads import thread_limits

        with _progress.stage("eigen", timings), thread_limits(self.n_jobs, numba=False):
            eig = smallest_eigenpairs(W, n_eig, eigen_solver=self.eigen_solver,
                                      random_state=eig_seed, tol=self.eigen_tol)
        if auto:
            K, _ = eigengap(eig.values, min_clusters=2, max_clusters=self.max_clusters)
        else:
            K = int(self.n_clusters)
        U = normalize_rows(eig.vectors[:, :K])
        n_comp = eig.n_components
        if n_comp > K and X is not None and K > 1:
            warnings.warn(
                f"the kNN graph has {n_comp} connected components but n_clusters={K}: whole "
                "components were grouped by their smallest scaled gap (single linkage). Increase "
                "n_neighbors to connect them, or set n_clusters to the number of components.",
                UserWarning, stacklevel=2)
            with _progress.stage("merge-components", timings):
                groups = group_components(component_gaps(X, eig.component_labels, sigma,
                                                         random_state=merge_seed), K)
                labels, _ = canonical_labels(groups[eig.component_labels])
            # SSE of this partition in the embedding, reported in place of k-means' SSE
            centers = np.stack([U[labels == c].mean(axis=0) for c in range(labels.max() + 1)])
            inertia = float(((U - centers[labels]) ** 2).sum())
            self.inertias_ = np.array([inertia])
            self.inertia_ = inertia
            self.cluster_centers_ = centers
            self.n_iter_ = 0
        else:
            with _progress.stage("kmeans", timings):
                km = kmeans_best_of(U, K, n_init=self.n_init, max_iter=self.max_iter,
                                    random_state=km_seed, n_jobs=self.n_jobs)
            labels = km.labels
            self.inertia_ = km.inertia
            self.inertias_ = km.inertias
            self.cluster_centers_ = km.centers
            self.n_iter_ = km.n_iter
        self.labels_ = labels
        self.n_clusters_ = K
        self.affinity_matrix_ = W
        self.embedding_ = U
        self.eigenvalues_ = eig.values
        self.sigma_ = sigma
        self.n_graph_components_ = n_comp
        self.eigen_solver_ = eig.solver
        self.timings_ = timings
        self.n_features_in_ = X.shape[1] if X is not None else n
        return self

    def fit_predict(self, X, y=None):
        """Fit and return ``labels_``."""
        return self.fit(X).labels_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.pairwise = self.affinity == "precomputed"
        return tags


def spectral_clustering(X, n_clusters="auto", **params) -> np.ndarray:
    """Functional form: ``SpectralClustering(n_clusters, **params).fit_predict(X)``."""
    return SpectralClustering(n_clusters, **params).fit_predict(X)
