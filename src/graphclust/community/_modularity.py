"""Modularity Q of a partition: undirected, directed (Leicht-Newman) and multiplex graphs.

Conventions follow Gonum's ``graph/community`` (see ``docs/louvain.md``):

* undirected: ``Q = 1/(2m) sum_ij [A_ij - gamma k_i k_j / (2m)] delta(c_i, c_j)``;
* directed:   ``Q = 1/m sum_ij [A_ij - gamma k^out_i k^in_j / m] delta(c_i, c_j)``;
* multiplex:  per layer ``Q_l = w_l sum_ij [|A^l_ij| - gamma_l k_i k_j / (2 m_l)] delta(c_i, c_j)``
  (directed: ``k^out k^in / m_l``), **not** divided by the layer's total weight.

A self-loop of weight s is ``A_ii = s`` and adds s (once) to the node's degree; ``2m`` is the sum
of all entries of the (symmetric) adjacency matrix.
"""
from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from graphclust._validation import GraphclustError
from graphclust.community._problem import ModularityWarning, Problem, prepare

__all__ = ["modularity"]


def modularity(graph, labels=None, resolution=1.0, *, layer_weights=None, directed=None):
    """Modularity Q of a partition of a graph.

    Parameters
    ----------
    graph : Network, Multiplex, scipy.sparse matrix, square array, networkx or igraph graph,
        or a list of graphs (the layers of a multiplex).
    labels : None, array-like of shape (n_nodes,), dict, or list of communities
        ``None``: every node in its own community (the "unclustered" score). An array gives the
        community label of every node (in the graph's node order); a dict maps node id -> label
        (every node needed). A list of communities (each an iterable of node ids) may be partial
        or overlapping: Q sums exactly the communities given (nodes left out contribute
        nothing); an empty list gives 0.
    resolution : float or sequence of float
        Reichardt-Bornholdt gamma; one value, or one per layer of a multiplex.
    layer_weights : sequence of float, optional
        Multiplex only: the weight of each layer (default: the Multiplex's own, ones).
    directed : bool, optional
        How to read a matrix input (default undirected); other inputs carry their own.

    Returns
    -------
    float for a single network (normalised); ndarray of shape (n_layers,) for a multiplex (the
    weighted, unnormalised Q of each layer, as Gonum's ``QMultiplex``; sum it for the total).
    Zero total edge weight gives NaN with a :class:`ModularityWarning`.
    """
    problem = prepare(graph, resolution=resolution, layer_weights=layer_weights, directed=directed)
    per_layer = _modularity_layers(problem, labels)
    if problem.multiplex:
        return per_layer
    return float(per_layer[0])


def _modularity_layers(problem: Problem, labels) -> np.ndarray:
    n = problem.n
    if n and not problem.active.any():
        warnings.warn("modularity is undefined (NaN) for a graph with zero total edge weight.",
                      ModularityWarning, stacklevel=3)
        out = np.zeros(problem.n_layers)
        out[problem.layer_weights != 0] = np.nan
        return out
    communities = _as_communities(problem, labels)
    out = np.zeros(problem.n_layers)
    for ell, B in enumerate(problem.layers):
        if problem.lw[ell] == 0.0:
            continue
        kout = np.asarray(B.sum(axis=1)).ravel()
        kin = np.asarray(B.sum(axis=0)).ravel()
        g, T = problem.gamma[ell], problem.total[ell]
        if isinstance(communities, np.ndarray):
            lab = communities
            coo = B.tocoo()
            internal = float(coo.data[lab[coo.row] == lab[coo.col]].sum())
            k = int(lab.max()) + 1 if lab.size else 0
            tout = np.bincount(lab, weights=kout, minlength=k)
            tin = np.bincount(lab, weights=kin, minlength=k)
            raw = internal - g * float(np.dot(tout, tin)) / T
        else:
            raw = 0.0
            for idx in communities:
                if idx.size == 0:
                    continue
                internal = float(B[idx][:, idx].sum())
                raw += internal - g * float(kout[idx].sum()) * float(kin[idx].sum()) / T
        out[ell] = problem.lw[ell] * raw
    return out


def _as_communities(problem: Problem, labels: Any):
    """An int label array (0..k-1) for a partition, or a list of index arrays for a list."""
    n = problem.n
    if labels is None:
        return np.arange(n)
    if isinstance(labels, dict):
        lookup = labels
        try:
            values = [lookup[x] for x in problem.node_ids.tolist()]
        except KeyError as exc:
            raise GraphclustError(f"labels has no entry for node {exc.args[0]!r}; a labels dict must "
                                  "cover every node (use a list of communities for a partial one).") from None
        return _encode(values, n)
    if isinstance(labels, (list, tuple)) and (len(labels) == 0 or all(
            isinstance(c, (list, tuple, set, frozenset, np.ndarray)) for c in labels)):
        pos = {x: i for i, x in enumerate(problem.node_ids.tolist())}
        out = []
        for ci, c in enumerate(labels):
            try:
                idx = sorted({pos[x] for x in c})
            except KeyError as exc:
                raise GraphclustError(f"community {ci} names node {exc.args[0]!r}, which is not in the "
                                      "graph.") from None
            except TypeError:
                raise GraphclustError(f"community {ci} holds an unhashable node id.") from None
            out.append(np.asarray(idx, dtype=np.int64))
        return out
    return _encode(labels, n)


def _encode(values, n: int) -> np.ndarray:
    arr = np.asarray(values) if not isinstance(values, np.ndarray) else values
    if arr.ndim != 1 or arr.shape[0] != n:
        raise GraphclustError(f"labels must have one entry per node: expected shape ({n},), got "
                              f"{np.shape(values)}. For a partial partition pass a list of communities.")
    try:
        _, inv = np.unique(arr, return_inverse=True)
        return inv.reshape(-1).astype(np.int64)
    except TypeError:
        lookup: dict = {}
        return np.fromiter((lookup.setdefault(x, len(lookup)) for x in arr.tolist()),
                           dtype=np.int64, count=n)
