"""Graph construction: kNN search, kernels, symmetrisation (scipy.sparse CSR out)."""
from graphclust.graph.kernels import (
    SYMMETRIZE,
    dense_kernel_bytes,
    dense_self_tuning_affinity,
    gaussian_affinity,
    local_scales,
    self_tuning_affinity,
    symmetrize,
)
from graphclust.graph.neighbors import KNN_METHODS, KNNResult, knn, knn_graph, neighbors_to_csr

__all__ = [
    "KNNResult", "knn", "knn_graph", "neighbors_to_csr", "KNN_METHODS",
    "self_tuning_affinity", "gaussian_affinity", "local_scales", "symmetrize",
    "dense_self_tuning_affinity", "dense_kernel_bytes", "SYMMETRIZE",
]
