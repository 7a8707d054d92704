"""Validation and preparation shared by ``modularity`` and ``louvain``.

Every graph kind becomes one description (:class:`Problem`): per-layer nonnegative magnitude
matrices ``B^l`` (directed form; an undirected layer is its symmetric matrix), a layer
coefficient ``lw_l`` and a resolution ``gamma_l``. The objective is

    Q = sum_l lw_l * sum_ij [B^l_ij - gamma_l kout^l_i kin^l_j / T_l] delta(c_i, c_j),

with ``T_l = sum_ij B^l_ij``; ``lw_l = 1 / T_l`` for a single network (normalised Q, as the
reference's ``Q``) and ``lw_l = w_l`` for a multiplex (the reference's unnormalised ``QMultiplex``).
"""
from __future__ import annotations

import numbers
import warnings
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from graphclust._validation import GraphclustError
from graphclust.graph.network import Multiplex, as_graph, check_layer_weights

__all__ = ["Problem", "prepare", "ModularityWarning"]


class ModularityWarning(UserWarning):
    """Modularity is undefined (zero total edge weight) or a layer was skipped."""


@dataclass(frozen=True)
class Problem:
    graph: object                 # the Network or Multiplex given (after conversion)
    multiplex: bool
    directed: bool
    n: int
    node_ids: np.ndarray
    layers: tuple                 # per layer: csr_array of magnitudes |B^l| (diagonal included)
    layer_weights: np.ndarray     # w_l as used (1 for a single network)
    gamma: np.ndarray             # per-layer resolution
    total: np.ndarray             # T_l
    lw: np.ndarray                # layer coefficient (0 for skipped layers)
    union_layers: np.ndarray      # bool: layer's edges make nodes neighbours (w_l != 0)

    @property
    def n_layers(self) -> int:
        return len(self.layers)

    @property
    def active(self) -> np.ndarray:
        return self.lw != 0.0


def check_resolution(resolution, n_layers: int) -> np.ndarray:
    """One global resolution or one per layer; each finite and >= 0."""
    if isinstance(resolution, (numbers.Real, np.floating, np.integer)) and not isinstance(resolution, bool):
        vals = np.full(n_layers, float(resolution))
    else:
        try:
            vals = np.asarray(resolution, dtype=np.float64).reshape(-1)
        except (TypeError, ValueError):
            raise GraphclustError(f"resolution must be a number or a sequence of numbers, got "
                                  f"{resolution!r}.") from None
        if vals.shape[0] == 1:
            vals = np.full(n_layers, vals[0])
        elif vals.shape[0] != n_layers:
            raise GraphclustError(
                f"resolution has {vals.shape[0]} values but the graph has {n_layers} layer(s); "
                "give one global resolution or one per layer."
            )
    if not np.all(np.isfinite(vals)) or np.any(vals < 0):
        raise GraphclustError(f"resolution must be finite and >= 0, got {vals.tolist()}.")
    return vals


def _first_bad_edge(A: sp.csr_array, mask_fn, directed: bool):
    """(row, col, weight, count) of the offending edges; undirected edges counted once."""
    coo = A.tocoo()
    keep = mask_fn(coo.data) & (True if directed else coo.row <= coo.col)
    bad = np.flatnonzero(keep)
    i = int(bad[0])
    return int(coo.row[i]), int(coo.col[i]), float(coo.data[i]), int(bad.shape[0])


def node_repr(ids: np.ndarray, i: int) -> str:
    x = ids[i]
    return repr(x.item() if isinstance(x, np.generic) else x)


def prepare(graph, *, resolution=1.0, layer_weights=None, directed=None) -> Problem:
    """Validate a graph and its parameters once; return the :class:`Problem`."""
    g = as_graph(graph, directed=directed)
    multiplex = isinstance(g, Multiplex)
    if multiplex:
        nets = g.layers
        weights = g.layer_weights if layer_weights is None else check_layer_weights(layer_weights, len(nets))
    else:
        if layer_weights is not None:
            raise GraphclustError("layer_weights applies to a Multiplex only; this graph is a single "
                                  "network (build a Multiplex to weight layers).")
        nets = (g,)
        weights = np.ones(1)
    gamma = check_resolution(resolution, len(nets))
    ids = nets[0].node_ids
    mags = []
    for ell, (net, w) in enumerate(zip(nets, weights)):
        A = net.adjacency
        if not multiplex:
            if A.nnz and A.data.min() < 0:
                r, c, v, k = _first_bad_edge(A, lambda d: d < 0, net.directed)
                raise GraphclustError(
                    f"the graph has {k} negative edge weight(s), first on edge ({node_repr(ids, r)}, {node_repr(ids, c)}) "
                    f"= {v}; modularity needs nonnegative weights. Put repulsive edges in a separate "
                    "layer of a Multiplex with a negative layer weight."
                )
        elif w != 0 and A.nnz and net.weighted:
            if w > 0 and A.data.min() < 0:
                r, c, v, k = _first_bad_edge(A, lambda d: d < 0, net.directed)
                raise GraphclustError(
                    f"layer {ell} has weight {w} > 0 but {k} negative edge weight(s), first on edge "
                    f"({node_repr(ids, r)}, {node_repr(ids, c)}) = {v}; edge signs must match the layer weight's sign. "
                    "Move those edges to a layer with a negative weight."
                )
            if w < 0 and A.data.max() > 0:
                r, c, v, k = _first_bad_edge(A, lambda d: d > 0, net.directed)
                raise GraphclustError(
                    f"layer {ell} has weight {w} < 0 but {k} positive edge weight(s), first on edge "
                    f"({node_repr(ids, r)}, {node_repr(ids, c)}) = {v}; edge signs must match the layer weight's sign "
                    "(a repulsive layer holds weights <= 0). Negate them or give the layer a "
                    "positive weight."
                )
        B = sp.csr_array((np.abs(A.data), A.indices, A.indptr), shape=A.shape)
        mags.append(B)
    total = np.array([float(B.data.sum()) for B in mags])
    if multiplex:
        lw = np.where((weights != 0) & (total > 0), weights, 0.0)
    else:
        lw = np.where(total > 0, 1.0 / np.where(total > 0, total, 1.0), 0.0)
    return Problem(graph=g, multiplex=multiplex, directed=bool(nets[0].directed), n=int(nets[0].n_nodes),
                   node_ids=ids, layers=tuple(mags), layer_weights=np.asarray(weights, dtype=float),
                   gamma=gamma, total=total, lw=lw.astype(np.float64),
                   union_layers=np.asarray(weights) != 0)


def warn_undefined(problem: Problem, what: str) -> None:
    """Warn once when no layer has weight (Q undefined) or when layers were skipped."""
    if problem.n == 0:
        return
    if not problem.active.any():
        warnings.warn(f"{what}: the graph has zero total edge weight in every weighted layer, so "
                      "modularity is undefined (NaN) and every node stays in its own community.",
                      ModularityWarning, stacklevel=3)
    elif problem.multiplex:
        skipped = np.flatnonzero((problem.layer_weights != 0) & (problem.total == 0))
        if skipped.size:
            warnings.warn(f"{what}: layer(s) {skipped.tolist()} have zero total edge weight and were "
                          "skipped (they contribute 0 to Q).", ModularityWarning, stacklevel=3)
