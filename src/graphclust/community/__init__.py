"""Community detection: modularity Q and Louvain for undirected, directed and multiplex graphs.

Importing this package loads numpy and scipy only; the numba kernels load (and compile, or come
from the on-disk cache) at the first Louvain call.
"""
from graphclust.community._problem import ModularityWarning
from graphclust.community._kclique import k_clique_communities
from graphclust.community._louvain import Louvain, LouvainLevel, LouvainResult, louvain
from graphclust.community._modularity import modularity
from graphclust.community._profile import (
    ResolutionInterval,
    ResolutionSweep,
    plot_resolution_sweep,
    resolution_profile,
    resolution_sweep,
)
from graphclust.graph.network import DuplicateEdgeWarning, Multiplex, Network, read_edge_list

__all__ = [
    "Louvain", "LouvainLevel", "LouvainResult", "louvain", "modularity",
    "resolution_sweep", "ResolutionSweep", "plot_resolution_sweep",
    "resolution_profile", "ResolutionInterval", "k_clique_communities",
    "Network", "Multiplex", "read_edge_list", "ModularityWarning", "DuplicateEdgeWarning",
]
