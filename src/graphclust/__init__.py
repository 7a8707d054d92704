"""graphclust: clustering anything through a graph.

``import graphclust`` loads numpy and scipy only; every public name below is resolved lazily on
first use, so optional heavy parts (numba kernels, matplotlib, torch, mpi4py) load only when the
feature that needs them is used.
"""
from __future__ import annotations

from graphclust._lazy import lazy_names
from typing import TYPE_CHECKING

__version__ = "0.1.0"

_LAZY = {
    # estimators
    "SpectralClustering": "graphclust.spectral",
    # functional core
    "spectral_clustering": "graphclust.spectral",
    "spectral_embedding": "graphclust.spectral",
    "knn": "graphclust.graph",
    "knn_graph": "graphclust.graph",
    "self_tuning_affinity": "graphclust.graph",
    "gaussian_affinity": "graphclust.graph",
    "kmeans_best_of": "graphclust.spectral",
    # community detection
    "Louvain": "graphclust.community",
    "LouvainResult": "graphclust.community",
    "louvain": "graphclust.community",
    "modularity": "graphclust.community",
    "resolution_sweep": "graphclust.community",
    "resolution_profile": "graphclust.community",
    "k_clique_communities": "graphclust.community",
    "Network": "graphclust.graph.network",
    "Multiplex": "graphclust.graph.network",
    # deep clustering and graph classification (need the `deep` / `gnn` extras; torch loads on use)
    "VCC": "graphclust.deep",
    "DGG": "graphclust.deep",
    "GraphClassifier": "graphclust.gnn",
    # helpers
    "set_progress": "graphclust._progress",
    "GraphclustError": "graphclust._validation",
}
_SUBMODULES = {"graph", "spectral", "community", "deep", "gnn", "metrics", "datasets", "io", "plot",
               "cli"}

__getattr__, __dir__, __all__ = lazy_names("graphclust", globals(), _LAZY, _SUBMODULES, ["__version__"])


if TYPE_CHECKING:  # pragma: no cover
    from graphclust._progress import set_progress
    from graphclust._validation import GraphclustError
    from graphclust.community import (
        Louvain,
        LouvainResult,
        k_clique_communities,
        louvain,
        modularity,
        resolution_profile,
        resolution_sweep,
    )
    from graphclust.graph import gaussian_affinity, knn, knn_graph, self_tuning_affinity
    from graphclust.graph.network import Multiplex, Network
    from graphclust.spectral import SpectralClustering, kmeans_best_of, spectral_clustering, spectral_embedding
