"""Louvain modularity optimisation for undirected, directed and multiplex graphs.

The algorithm is Gonum's ``graph/community`` Louvain (Blondel et al. 2008, with the directed
modularity of Leicht & Newman and the multiplex weighting of Traag), rewritten around one numba
kernel: CSR adjacency plus per-community running degree totals, so evaluating a move costs
O(degree) instead of O(community size). Every graph kind goes through the same kernel: an
undirected graph is a directed one whose matrix is symmetric, a single graph a one-layer
multiplex whose layer weight normalises Q (see ``docs/louvain.md``).

Per level: nodes are visited in a fresh random order each pass; each moves to the neighbouring
community (or, with ``all_communities`` and a negative layer, any community) of largest gain,
ties to the lowest community index, if the gain exceeds 1e-15 (in the units of Q); passes repeat
until one moves nothing. If the level moved anything, communities become the nodes of the next
level (weights summed, internal weight as self weight); the run ends at a level that moves
nothing.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from graphclust import _progress
from graphclust._validation import GraphclustError, check_choice, check_int, check_random_state
from graphclust.community._problem import Problem, prepare, warn_undefined

__all__ = ["LouvainLevel", "LouvainResult", "louvain", "Louvain", "GAIN_TOL"]

#: A node moves only when the gain exceeds this (in the units of Q: normalised for a single
#: graph, unnormalised for a multiplex), as the reference specifies.
GAIN_TOL = 1e-15


@dataclass(frozen=True)
class LouvainLevel:
    """One level of the Louvain hierarchy.

    Attributes
    ----------
    membership : ndarray of int, shape (n_nodes_below,)
        The community (at this level) of every node of the level below; level 0's nodes are the
        original nodes and its membership is the identity. This is the level's expansion.
    labels : ndarray of int, shape (n_nodes,)
        The community of every original node at this level.
    modularity : float
        Q of this level's partition (sum over layers for a multiplex).
    modularity_layers : ndarray, shape (n_layers,)
        Q per layer (one entry for a single graph).
    """

    membership: np.ndarray
    labels: np.ndarray
    modularity: float
    modularity_layers: np.ndarray

    @property
    def n_communities(self) -> int:
        return int(self.labels.max()) + 1 if self.labels.size else 0

    def communities(self) -> list[np.ndarray]:
        """Original node indices of each community, in label order."""
        return _groups(self.labels)


@dataclass(frozen=True)
class LouvainResult:
    """Result of :func:`louvain`.

    Attributes
    ----------
    labels : ndarray of int, shape (n_nodes,)
        Community of every original node at the top level; communities are numbered in order of
        their first node (node 0 is in community 0).
    levels : tuple of LouvainLevel
        Bottom (level 0: every node alone) to top; ``levels[-1].labels`` is ``labels``.
    modularity : float
        Q of the top level (sum over layers for a multiplex).
    node_ids : ndarray
        The original node ids; ``labels[i]`` belongs to ``node_ids[i]``.
    timings : dict
        Seconds per stage (``prepare``, ``compile`` (numba, first call only), ``louvain``).
    """

    labels: np.ndarray
    levels: tuple
    modularity: float
    node_ids: np.ndarray
    timings: dict = field(default_factory=dict, compare=False)

    @property
    def n_communities(self) -> int:
        return self.levels[-1].n_communities if self.levels else 0

    @property
    def modularity_layers(self) -> np.ndarray:
        return self.levels[-1].modularity_layers

    @property
    def communities(self) -> list:
        """Node ids of each top-level community."""
        return [self.node_ids[idx] for idx in _groups(self.labels)]

    def to_dict(self) -> dict:
        """Map node id -> top-level community."""
        return dict(zip(self.node_ids.tolist(), self.labels.tolist()))


def _groups(labels: np.ndarray) -> list[np.ndarray]:
    if labels.size == 0:
        return []
    order = np.argsort(labels, kind="stable")
    cuts = np.flatnonzero(np.diff(labels[order])) + 1
    return np.split(order, cuts)


def _canonical(labels: np.ndarray) -> np.ndarray:
    """Renumber communities in order of first appearance (node 0 -> 0)."""
    if labels.size == 0:
        return labels.astype(np.int64)
    _, first = np.unique(labels, return_index=True)
    rank = np.empty(first.shape[0], dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(first.shape[0])
    _, inv = np.unique(labels, return_inverse=True)
    return rank[inv.reshape(-1)]


# --------------------------------------------------------------------------- level graphs
@dataclass
class _Level:
    """One level's graph in kernel layout (see ``_kernels`` docstring)."""

    indptr: np.ndarray
    indices: np.ndarray
    data: np.ndarray          # (nnz, L) magnitudes, no diagonal
    self_w: np.ndarray        # (n, L)
    t_indptr: np.ndarray
    t_indices: np.ndarray
    t_data: np.ndarray

    @property
    def n(self) -> int:
        return self.indptr.shape[0] - 1


def _level0(problem: Problem, kernels) -> _Level:
    """Union adjacency of the layers with nonzero weight, diagonal split off as self weights."""
    n, L = problem.n, problem.n_layers
    self_w = np.zeros((n, L))
    parts = []
    for ell, B in enumerate(problem.layers):
        rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(B.indptr))
        cols = B.indices
        diag = rows == cols
        if diag.any():
            np.add.at(self_w[:, ell], rows[diag], B.data[diag])
        if problem.union_layers[ell]:
            off = ~diag
            parts.append((ell, rows[off], cols[off], B.data[off]))
    if len(parts) == 1 and L == 1:
        # CSR order is already grouped by row: keep it (no sort needed).
        _, rows, cols, vals = parts[0]
        data = vals.reshape(-1, 1)
    elif parts:
        keys = np.concatenate([r * n + c.astype(np.int64) for _, r, c, _ in parts])
        uniq, inv = np.unique(keys, return_inverse=True)
        inv = inv.reshape(-1)
        data = np.zeros((uniq.shape[0], L))
        start = 0
        for ell, r, _, v in parts:
            data[inv[start:start + r.shape[0]], ell] += v
            start += r.shape[0]
        rows, cols = uniq // max(n, 1), uniq % max(n, 1)
    else:
        rows = cols = np.zeros(0, dtype=np.int64)
        data = np.zeros((0, L))
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n), out=indptr[1:])
    indices = np.ascontiguousarray(cols, dtype=_index_dtype(n))
    data = np.ascontiguousarray(data, dtype=np.float64)
    return _with_transpose(problem, kernels, indptr, indices, data, self_w)


def _index_dtype(n: int):
    """int32 node indices (half the memory traffic) unless the graph is too large for them."""
    return np.int32 if n < 2**31 - 1 else np.int64


def _with_transpose(problem, kernels, indptr, indices, data, self_w) -> _Level:
    if problem.directed:
        t_indptr, t_indices, t_data = kernels.transpose(indptr.shape[0] - 1, indptr, indices, data)
    else:
        t_indptr, t_indices, t_data = indptr, indices, data
    return _Level(indptr, indices, data, self_w, t_indptr, t_indices, t_data)


def _degrees(level: _Level, kernels, directed: bool):
    kout = level.self_w + kernels.row_sums(level.indptr, level.data)
    kin = level.self_w + kernels.row_sums(level.t_indptr, level.t_data) if directed else kout
    return kout, kin


def _level_q(problem: Problem, self_w, kout, kin) -> np.ndarray:
    """Q per layer of the partition 'every node of this level alone'."""
    out = np.zeros(problem.n_layers)
    for ell in range(problem.n_layers):
        if problem.lw[ell] == 0.0:
            continue
        raw = self_w[:, ell].sum() - problem.gamma[ell] * float(np.dot(kout[:, ell], kin[:, ell])) / problem.total[ell]
        out[ell] = problem.lw[ell] * raw
    return out


# --------------------------------------------------------------------------- driver
_WARM = False


def _import_kernels(timings: dict):
    """Import the numba kernels and compile them (or load them from the cache) once per process.

    The time of that first call is reported as ``timings["compile"]``.
    """
    global _WARM
    t0 = time.perf_counter()
    from graphclust.community import _kernels

    if not _WARM:
        for directed in (False, True):
            tiny = prepare(np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 1.0], [0.0, 1.0, 0.0]]), directed=directed)
            _run_levels(tiny, np.random.default_rng(0), False, None, _kernels)
        _WARM = True
        timings["compile"] = time.perf_counter() - t0
    return _kernels


def _run(problem: Problem, rng: np.random.Generator, search_all: bool, max_levels: int | None,
         timings: dict):
    kernels = _import_kernels(timings)
    return _run_levels(problem, rng, search_all, max_levels, kernels)


def _run_levels(problem: Problem, rng, search_all, max_levels, kernels):
    directed = problem.directed
    level = _level0(problem, kernels)
    kout, kin = _degrees(level, kernels, directed)
    coef = np.where(problem.lw != 0.0, problem.lw * problem.gamma / np.where(problem.total > 0, problem.total, 1.0), 0.0)
    active = bool(problem.active.any())
    memberships = []
    q_layers = [_level_q(problem, level.self_w, kout, kin)]
    search_all = bool(search_all and np.any(problem.layer_weights[problem.lw != 0] < 0))
    while active and level.n > 1 and (max_levels is None or len(memberships) < max_levels):
        n = level.n
        membership = np.arange(n, dtype=_index_dtype(n))
        tot_out = kout.copy()
        tot_in = kin.copy() if directed else tot_out
        ew = kernels.combine(level.data, problem.lw)
        t_ew = kernels.combine(level.t_data, problem.lw) if directed else ew
        link = np.zeros(n)
        seen = np.zeros(n, dtype=np.bool_)
        touched = np.empty(n, dtype=_index_dtype(n))
        changed = False
        n_passes = 0
        while True:
            order = rng.permutation(n)
            moved = kernels.move_nodes(order, level.indptr, level.indices, ew, level.t_indptr,
                                       level.t_indices, t_ew, not directed, kout, kin, coef,
                                       membership, tot_out, tot_in, search_all, GAIN_TOL,
                                       link, seen, touched)
            n_passes += 1
            if moved == 0:
                break
            changed = True
        if not changed:
            break
        compact, n_comm = _compact(membership)
        memberships.append(compact)
        _progress.message(f"louvain level {len(memberships)}: {n} -> {n_comm} nodes "
                          f"in {n_passes} passes")
        indptr, indices, data, self_w = kernels.aggregate(level.indptr, level.indices, level.data,
                                                          level.self_w, compact, n_comm)
        level = _with_transpose(problem, kernels, indptr, indices, data, self_w)
        kout, kin = _degrees(level, kernels, directed)
        q_layers.append(_level_q(problem, level.self_w, kout, kin))
    return memberships, q_layers


def _compact(membership: np.ndarray):
    """Renumber used community slots 0..k-1 in ascending slot order (linear time)."""
    used = np.zeros(membership.shape[0], dtype=bool)
    used[membership] = True
    new_id = np.cumsum(used) - 1
    return new_id[membership].astype(_index_dtype(membership.shape[0])), int(used.sum())


def _build_result(problem: Problem, memberships, q_layers, timings) -> LouvainResult:
    n = problem.n
    nan_q = not problem.active.any()
    labels_raw = np.arange(n, dtype=np.int64)
    prev_labels = labels_raw
    levels = []
    for depth, ql in enumerate(q_layers):
        if depth > 0:
            labels_raw = memberships[depth - 1][labels_raw]
        labels = _canonical(labels_raw)
        below = n if depth == 0 else int(prev_labels.max()) + 1
        membership = np.empty(below, dtype=np.int64)
        membership[prev_labels] = labels
        if nan_q:
            ql = np.where(problem.layer_weights != 0, np.nan, 0.0)
        total = float(np.sum(ql))
        levels.append(LouvainLevel(membership, labels, total, np.asarray(ql, dtype=float)))
        prev_labels = labels
    return LouvainResult(labels=levels[-1].labels, levels=tuple(levels),
                         modularity=levels[-1].modularity, node_ids=problem.node_ids,
                         timings=timings)


def louvain(graph, resolution=1.0, *, layer_weights=None, all_communities: bool = False,
            random_state=None, directed=None, max_levels: int | None = None) -> LouvainResult:
    """Louvain community detection on an undirected, directed or multiplex graph.

    Parameters
    ----------
    graph : Network, Multiplex, scipy.sparse matrix, square array, networkx or igraph graph,
        or a list of graphs (the layers of a multiplex).
    resolution : float or sequence of float
        Reichardt-Bornholdt gamma, global or one per layer. Larger gives more, smaller
        communities.
    layer_weights : sequence of float, optional
        Multiplex only: weight per layer (default the Multiplex's, ones). Negative weights make
        a layer repulsive: its edges (weights <= 0) keep their end points apart.
    all_communities : bool
        Multiplex with a negative layer: consider every community, not only the neighbours',
        when moving a node (Gonum's ``all``; O(n) per move, for small graphs).
    random_state : None, int or numpy Generator
        Seeds the visiting order; the same seed gives the same result.
    directed : bool, optional
        How to read a matrix input (default undirected).
    max_levels : int, optional
        Stop after this many aggregation levels.

    Returns
    -------
    LouvainResult
        ``labels``, ``levels`` (bottom to top, each with its membership and Q) and
        ``modularity`` (normalised for a single graph; unnormalised sum over layers for a
        multiplex, as Gonum's ``QMultiplex``).
    """
    timings: dict = {}
    if max_levels is not None:
        max_levels = check_int(max_levels, "max_levels", low=1)
    rng = check_random_state(random_state)
    t0 = time.perf_counter()
    problem = prepare(graph, resolution=resolution, layer_weights=layer_weights, directed=directed)
    timings["prepare"] = time.perf_counter() - t0
    if problem.n == 0:
        raise GraphclustError("the graph has no nodes; an empty graph has no communities.")
    warn_undefined(problem, "louvain")
    t0 = time.perf_counter()
    with _progress.stage("louvain", None):
        memberships, q_layers = _run(problem, rng, bool(all_communities), max_levels, timings)
    timings["louvain"] = time.perf_counter() - t0 - timings.get("compile", 0.0)
    return _build_result(problem, memberships, q_layers, timings)


# --------------------------------------------------------------------------- estimator
class Louvain:
    """Louvain community detection as a scikit-learn style estimator.

    Parameters
    ----------
    resolution : float or sequence of float, default 1.0
    layer_weights : sequence of float, optional (multiplex graphs)
    all_communities : bool, default False
    affinity : {"precomputed", "knn"}, default "precomputed"
        ``"precomputed"``: ``fit(graph)`` takes a graph (any kind :func:`louvain` accepts).
        ``"knn"``: ``fit(X)`` takes points (n_samples, n_features) and clusters their
        symmetrised kNN graph (the single-cell workflow: kNN graph -> Louvain at a resolution).
    n_neighbors : int, default 15
        Neighbours per point for ``affinity="knn"``.
    random_state : None, int or Generator

    Attributes
    ----------
    labels_ : ndarray (n_nodes,)
    levels_ : tuple of LouvainLevel
    modularity_ : float
    result_ : LouvainResult
    graph_ : the graph clustered (the kNN affinity for ``affinity="knn"``)
    """

    def __init__(self, resolution=1.0, *, layer_weights=None, all_communities=False,
                 affinity="precomputed", n_neighbors=15, random_state=None, directed=None):
        self.resolution = resolution
        self.layer_weights = layer_weights
        self.all_communities = all_communities
        self.affinity = affinity
        self.n_neighbors = n_neighbors
        self.random_state = random_state
        self.directed = directed

    def get_params(self, deep=True) -> dict:
        return {k: getattr(self, k) for k in ("resolution", "layer_weights", "all_communities",
                                              "affinity", "n_neighbors", "random_state", "directed")}

    def set_params(self, **params) -> "Louvain":
        valid = self.get_params()
        for k, v in params.items():
            if k not in valid:
                raise GraphclustError(f"Louvain has no parameter {k!r}; valid: {sorted(valid)}.")
            setattr(self, k, v)
        return self

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"Louvain({args})"

    def fit(self, X, y=None) -> "Louvain":
        affinity = check_choice(self.affinity, "affinity", ("precomputed", "knn"))
        rng = check_random_state(self.random_state)
        if affinity == "knn":
            graph = points_knn_graph(X, self.n_neighbors, random_state=rng)
        else:
            graph = X
        result = louvain(graph, self.resolution, layer_weights=self.layer_weights,
                         all_communities=self.all_communities, random_state=rng,
                         directed=self.directed)
        self.graph_ = graph
        self.result_ = result
        self.labels_ = result.labels
        self.levels_ = result.levels
        self.modularity_ = result.modularity
        return self

    def fit_predict(self, X, y=None) -> np.ndarray:
        return self.fit(X).labels_


def points_knn_graph(X, n_neighbors: int = 15, *, random_state=None):
    """Symmetric (union) unit-weight kNN graph of points, via ``graphclust.graph.knn_graph``."""
    import scipy.sparse as sp

    from graphclust._validation import check_points
    from graphclust.graph import knn_graph

    X = check_points(X, name="X", min_samples=2)
    n_neighbors = check_int(n_neighbors, "n_neighbors", low=1, high=X.shape[0] - 1,
                            hint="It must be below the number of points.")
    try:
        K = knn_graph(X, n_neighbors, mode="connectivity", random_state=random_state)
    except TypeError:  # pragma: no cover - older contract without mode=
        K = knn_graph(X, n_neighbors, random_state=random_state)
    K = sp.csr_array(K, dtype=np.float64)
    K.data[:] = 1.0
    S = sp.csr_array(K.maximum(K.T))
    S.setdiag(0)
    S.eliminate_zeros()
    S.sort_indices()
    return S


# --------------------------------------------------------------------------- test hooks
def _partition_state(graph, labels, *, resolution=1.0, layer_weights=None, directed=None):
    """Level-0 kernel state for a given partition (used by the invariant tests)."""
    problem = prepare(graph, resolution=resolution, layer_weights=layer_weights, directed=directed)
    kernels = _import_kernels({})
    level = _level0(problem, kernels)
    kout, kin = _degrees(level, kernels, problem.directed)
    _, membership = np.unique(np.asarray(labels), return_inverse=True)
    membership = membership.reshape(-1).astype(_index_dtype(problem.n))
    return problem, kernels, level, kout, kin, membership


def _move_gains(graph, labels, node: int, **kw) -> np.ndarray:
    """Kernel-predicted change of Q for moving ``node`` into each community (by sorted label)."""
    problem, kernels, level, kout, kin, membership = _partition_state(graph, labels, **kw)
    n = problem.n
    tot_out = np.zeros((n, problem.n_layers))
    tot_in = np.zeros((n, problem.n_layers))
    np.add.at(tot_out, membership, kout)
    np.add.at(tot_in, membership, kin)
    coef = np.where(problem.lw != 0.0, problem.lw * problem.gamma / np.where(problem.total > 0, problem.total, 1.0), 0.0)
    ew = kernels.combine(level.data, problem.lw)
    t_ew = kernels.combine(level.t_data, problem.lw)
    gains = kernels.move_gains(node, level.indptr, level.indices, ew, level.t_indptr, level.t_indices,
                               t_ew, not problem.directed, kout, kin, coef, membership, tot_out, tot_in)
    return gains[: int(membership.max()) + 1]


def _aggregated_q(graph, labels, **kw) -> float:
    """Q of 'every node alone' on the graph reduced by ``labels`` (should equal Q(labels))."""
    problem, kernels, level, _, _, membership = _partition_state(graph, labels, **kw)
    indptr, indices, data, self_w = kernels.aggregate(level.indptr, level.indices, level.data,
                                                      level.self_w, membership, int(membership.max()) + 1)
    reduced = _with_transpose(problem, kernels, indptr, indices, data, self_w)
    kout, kin = _degrees(reduced, kernels, problem.directed)
    return float(np.sum(_level_q(problem, reduced.self_w, kout, kin)))
