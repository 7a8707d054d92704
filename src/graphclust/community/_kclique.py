"""k-clique percolation communities (Palla et al. 2005), as Gonum's ``KCliqueCommunities``.

Communities are unions of maximal cliques of at least k nodes joined through overlaps of at
least k - 1 nodes; communities may overlap. Nodes in no such community are returned as
singleton communities. ``k = 1`` gives one community of all nodes, ``k = 2`` the connected
components.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from graphclust._validation import GraphclustError, check_int
from graphclust.graph.network import as_network

__all__ = ["k_clique_communities"]


def k_clique_communities(graph, k: int) -> list[np.ndarray]:
    """k-clique communities of an undirected graph, as arrays of node ids.

    Each community's nodes are in node order; communities are sorted by their node indices.
    """
    k = check_int(k, "k", low=1, hint="k-clique communities need k >= 1.")
    net = as_network(graph)
    if net.directed:
        raise GraphclustError("k-clique communities are defined for undirected graphs; symmetrise "
                              "the graph first (e.g. as_network(A + A.T)).")
    n = net.n_nodes
    ids = net.node_ids
    if n == 0:
        return []
    if k == 1:
        return [ids.copy()]
    A = net.adjacency.tocsr()
    if k == 2:
        _, comp = sp.csgraph.connected_components(A, directed=False)
        groups = [np.flatnonzero(comp == c) for c in range(int(comp.max()) + 1)]
        return [ids[g] for g in sorted(groups, key=lambda g: g.tolist())]
    nbrs = [set(A.indices[A.indptr[i]:A.indptr[i + 1]].tolist()) - {i} for i in range(n)]
    cliques = [c for c in _maximal_cliques(nbrs) if len(c) >= k]
    # Union-find over cliques sharing at least k - 1 nodes.
    parent = list(range(len(cliques)))

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    by_node: dict[int, list[int]] = {}
    for ci, c in enumerate(cliques):
        for v in c:
            by_node.setdefault(v, []).append(ci)
    for ci, c in enumerate(cliques):
        others = {cj for v in c for cj in by_node[v] if cj > ci}
        for cj in others:
            if len(c & cliques[cj]) >= k - 1:
                ra, rb = find(ci), find(cj)
                if ra != rb:
                    parent[rb] = ra
    merged: dict[int, set] = {}
    for ci, c in enumerate(cliques):
        merged.setdefault(find(ci), set()).update(c)
    groups = [sorted(s) for s in merged.values()]
    covered = set().union(*merged.values()) if merged else set()
    groups += [[v] for v in range(n) if v not in covered]
    groups.sort()
    return [ids[np.asarray(g, dtype=np.int64)] for g in groups]


def _maximal_cliques(nbrs: list[set]):
    """Maximal cliques (Bron-Kerbosch with pivoting, iterative), each as a frozenset."""
    out = []
    n = len(nbrs)
    for start in range(n):
        # Degeneracy-free variant: cliques whose smallest node is ``start``.
        P = {v for v in nbrs[start] if v > start}
        X = {v for v in nbrs[start] if v < start}
        stack = [({start}, P, X)]
        while stack:
            R, P, X = stack.pop()
            if not P and not X:
                out.append(frozenset(R))
                continue
            if not P:
                continue
            pivot = max(P | X, key=lambda u: len(nbrs[u] & P))
            for v in list(P - nbrs[pivot]):
                stack.append((R | {v}, P & nbrs[v], X & nbrs[v]))
                P = P - {v}
                X = X | {v}
    return out
