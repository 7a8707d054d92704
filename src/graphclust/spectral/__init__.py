"""Spectral clustering: Laplacian, per-component eigensolvers, embedding, best-of-M k-means."""
from graphclust.spectral.eigen import EIGEN_SOLVERS, EigenResult, smallest_eigenpairs
from graphclust.spectral.embedding import eigengap, normalize_rows, spectral_embedding
from graphclust.spectral.estimator import SpectralClustering, spectral_clustering
from graphclust.spectral.kmeans import KMeansResult, canonical_labels, kmeans_best_of
from graphclust.spectral.laplacian import normalized_adjacency, normalized_laplacian

__all__ = [
    "SpectralClustering", "spectral_clustering", "spectral_embedding", "smallest_eigenpairs",
    "EigenResult", "EIGEN_SOLVERS", "eigengap", "normalize_rows", "kmeans_best_of",
    "KMeansResult", "canonical_labels", "normalized_adjacency", "normalized_laplacian",
]
