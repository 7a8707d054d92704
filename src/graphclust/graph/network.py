"""Network and Multiplex containers: one node set, weighted edges, any hashable node ids.

A :class:`Network` is a square scipy.sparse CSR adjacency (``A[i, j]`` = weight of the edge
i -> j; an undirected network stores both directions and a self-loop once on the diagonal) plus
the original node ids, so results computed on indices 0..n-1 map back to the user's ids.
A :class:`Multiplex` is a stack of networks over the same node set, each with a layer weight
(negative weights allowed: a layer whose links should keep nodes apart).

Conversions: edge lists (:meth:`Network.from_edges`, :meth:`Multiplex.from_edges`,
:func:`read_edge_list`), scipy.sparse and dense arrays, networkx and igraph graphs
(:func:`as_network`, :func:`as_multiplex`), and back (``to_scipy``, ``to_networkx``,
``to_igraph``, ``to_edges``). Zero-weight edges are kept (stored explicitly): they still make
their end points neighbours.
"""
from __future__ import annotations

import numbers
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import scipy.sparse as sp

from graphclust._validation import GraphclustError

__all__ = [
    "Network",
    "Multiplex",
    "DuplicateEdgeWarning",
    "as_network",
    "as_multiplex",
    "as_graph",
    "read_edge_list",
]


class DuplicateEdgeWarning(UserWarning):
    """An edge list named the same edge more than once; the weights were summed."""


# --------------------------------------------------------------------------- node ids
def _ids_array(ids: Iterable[Any]) -> np.ndarray:
    """A 1-D array of node ids; numeric/str ids keep their dtype, others become objects."""
    ids = list(ids)
    try:
        arr = np.asarray(ids)
    except (ValueError, TypeError):
        arr = None
    if arr is None or arr.ndim != 1 or arr.dtype == object or arr.shape[0] != len(ids):
        arr = np.empty(len(ids), dtype=object)
        for i, x in enumerate(ids):
            arr[i] = x
    return arr


def _index_nodes(src: np.ndarray, dst: np.ndarray, nodes: Sequence | None):
    """Map edge end points to 0..n-1; return (node_ids, src_idx, dst_idx).

    Without ``nodes`` the ids are sorted when they can be (numbers, strings), else kept in
    order of first appearance; with ``nodes`` that order is used and unknown ids are an error.
    """
    if nodes is not None:
        node_ids = _ids_array(nodes)
        lookup = {}
        for i, x in enumerate(node_ids.tolist()):
            if x in lookup:
                raise GraphclustError(f"nodes lists node {x!r} twice; node ids must be unique.")
            lookup[x] = i
        try:
            s = np.fromiter((lookup[x] for x in src.tolist()), dtype=np.int64, count=src.shape[0])
            d = np.fromiter((lookup[x] for x in dst.tolist()), dtype=np.int64, count=dst.shape[0])
        except KeyError as exc:
            raise GraphclustError(
                f"edge end point {exc.args[0]!r} is not in nodes; add it to nodes or drop the edge."
            ) from None
        return node_ids, s, d
    if src.dtype != object and dst.dtype != object and src.dtype.kind in "biufUS" and dst.dtype.kind in "biufUS":
        both = np.concatenate([src, dst])
        try:
            node_ids, inv = np.unique(both, return_inverse=True)
            inv = inv.reshape(-1)
            return node_ids, inv[: src.shape[0]].astype(np.int64), inv[src.shape[0]:].astype(np.int64)
        except TypeError:
            pass
    both = list(src.tolist()) + list(dst.tolist())
    try:
        order = sorted(set(both))
    except TypeError:
        order = list(dict.fromkeys(both))
    lookup = {x: i for i, x in enumerate(order)}
    idx = np.fromiter((lookup[x] for x in both), dtype=np.int64, count=len(both))
    return _ids_array(order), idx[: src.shape[0]], idx[src.shape[0]:]


def _check_weights(weight, n_edges: int) -> np.ndarray:
    w = np.asarray(weight, dtype=np.float64).reshape(-1)
    if w.shape[0] != n_edges:
        raise GraphclustError(f"weight has {w.shape[0]} values but there are {n_edges} edges; "
                              "give one weight per edge.")
    return w


def _py(x):
    """A numpy scalar as the plain Python value (for messages)."""
    return x.item() if isinstance(x, np.generic) else x


def _check_finite_edges(rows, cols, w, node_ids, what: str) -> None:
    bad = ~np.isfinite(w)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        u, v = _py(node_ids[rows[i]]), _py(node_ids[cols[i]])
        raise GraphclustError(
            f"{what} has {int(bad.sum())} NaN or infinite edge weight(s), first on edge "
            f"({u!r}, {v!r}) = {w[i]}; drop those edges or give them a finite weight."
        )


# --------------------------------------------------------------------------- Network
@dataclass(frozen=True, eq=False)
class Network:
    """A weighted network over nodes 0..n-1 with original ids ``node_ids``.

    Attributes
    ----------
    adjacency : scipy.sparse.csr_array, shape (n, n), float64
        ``adjacency[i, j]`` is the weight of the edge i -> j. Undirected networks are
        symmetric; a self-loop of weight w is ``adjacency[i, i] = w`` (counted once).
        Explicit zeros are edges of weight 0.
    directed : bool
    node_ids : ndarray, shape (n,)
        The original node ids (0..n-1 when built from a matrix).
    weighted : bool
        False when every edge got the implicit weight 1 (no weights were given).
    """

    adjacency: sp.csr_array
    directed: bool = False
    node_ids: np.ndarray = field(default=None)  # type: ignore[assignment]
    weighted: bool = True

    def __post_init__(self):
        A = self.adjacency
        if not isinstance(A, sp.csr_array) or A.dtype != np.float64:
            A = sp.csr_array(A, dtype=np.float64)
            object.__setattr__(self, "adjacency", A)
        if A.ndim != 2 or A.shape[0] != A.shape[1]:
            raise GraphclustError(f"adjacency must be square (n, n), got shape {A.shape}.")
        if self.node_ids is None:
            object.__setattr__(self, "node_ids", np.arange(A.shape[0]))
        else:
            ids = _ids_array(self.node_ids)
            if ids.shape[0] != A.shape[0]:
                raise GraphclustError(f"node_ids has {ids.shape[0]} ids for {A.shape[0]} nodes; "
                                      "give one id per row of the adjacency.")
            object.__setattr__(self, "node_ids", ids)
        object.__setattr__(self, "directed", bool(self.directed))

    # ---------------------------------------------------------------- basic properties
    @property
    def n_nodes(self) -> int:
        return int(self.adjacency.shape[0])

    @property
    def n_edges(self) -> int:
        """Number of edges (undirected: each pair once, self-loops once)."""
        A = self.adjacency
        if self.directed:
            return int(A.nnz)
        diag = int(np.count_nonzero(_diag_mask(A)))
        return (int(A.nnz) - diag) // 2 + diag

    @property
    def total_weight(self) -> float:
        """Sum of all edge weights (undirected: each edge once)."""
        A = self.adjacency
        if self.directed:
            return float(A.data.sum())
        d = A.data[_diag_mask(A)].sum()
        return float((A.data.sum() - d) / 2 + d)

    def __repr__(self) -> str:
        kind = "directed" if self.directed else "undirected"
        return f"Network({self.n_nodes} nodes, {self.n_edges} edges, {kind})"

    # ---------------------------------------------------------------- constructors
    @classmethod
    def from_edges(cls, source, target, weight=None, *, directed: bool = False,
                   nodes: Sequence | None = None, warn_duplicates: bool = True) -> "Network":
        """Build from an edge list; duplicate edges are summed with a warning.

        ``source``/``target`` hold node ids of any hashable type; ``weight`` one number per
        edge (default 1). For an undirected network (u, v) and (v, u) are the same edge.
        ``nodes`` fixes the node order (and adds isolated nodes).
        """
        src = _ids_array(source)
        dst = _ids_array(target)
        if src.shape[0] != dst.shape[0]:
            raise GraphclustError(f"source has {src.shape[0]} entries but target has {dst.shape[0]}; "
                                  "give one source and one target per edge.")
        node_ids, s, d = _index_nodes(src, dst, nodes)
        w = np.ones(s.shape[0]) if weight is None else _check_weights(weight, s.shape[0])
        _check_finite_edges(s, d, w, node_ids, "the edge list")
        A = _coo_to_csr(s, d, w, node_ids.shape[0], directed, warn_duplicates, node_ids)
        return cls(A, directed=directed, node_ids=node_ids, weighted=weight is not None)

    def to_scipy(self) -> sp.csr_array:
        return self.adjacency.copy()

    def to_edges(self):
        """Edge list ``(source_ids, target_ids, weights)``; undirected edges once (i <= j)."""
        A = self.adjacency.tocoo()
        r, c, w = A.row, A.col, A.data
        if not self.directed:
            keep = r <= c
            r, c, w = r[keep], c[keep], w[keep]
        return self.node_ids[r], self.node_ids[c], w.copy()

    def to_networkx(self):
        nx = _require("networkx", "networkx")
        G = nx.DiGraph() if self.directed else nx.Graph()
        G.add_nodes_from(self.node_ids.tolist())
        s, t, w = self.to_edges()
        G.add_weighted_edges_from(zip(s.tolist(), t.tolist(), w.tolist()))
        return G

    def to_igraph(self):
        ig = _require("igraph", "igraph")
        A = self.adjacency.tocoo()
        r, c, w = A.row, A.col, A.data
        if not self.directed:
            keep = r <= c
            r, c, w = r[keep], c[keep], w[keep]
        g = ig.Graph(n=self.n_nodes, edges=np.column_stack([r, c]).tolist(), directed=self.directed)
        g.es["weight"] = w.tolist()
        g.vs["name"] = self.node_ids.tolist()
        return g


def _diag_mask(A: sp.csr_array) -> np.ndarray:
    rows = np.repeat(np.arange(A.shape[0]), np.diff(A.indptr))
    return rows == A.indices


def _coo_to_csr(s, d, w, n, directed, warn_duplicates, node_ids) -> sp.csr_array:
    if directed:
        key = s * n + d
    else:
        key = np.minimum(s, d) * n + np.maximum(s, d)
    n_unique = np.unique(key).shape[0] if key.shape[0] else 0
    n_dup = key.shape[0] - n_unique
    if n_dup and warn_duplicates:
        how = "" if directed else " (in an undirected network (u, v) and (v, u) are the same edge)"
        warnings.warn(f"the edge list names {n_dup} edge(s) more than once{how}; their weights "
                      "were summed. Deduplicate the list to silence this warning.",
                      DuplicateEdgeWarning, stacklevel=3)
    if not directed:
        off = s != d
        s, d, w = np.concatenate([s, d[off]]), np.concatenate([d, s[off]]), np.concatenate([w, w[off]])
    A = sp.coo_array((w, (s, d)), shape=(n, n)).tocsr()  # sums duplicates, keeps explicit zeros
    A.sort_indices()
    return sp.csr_array(A, dtype=np.float64)


# --------------------------------------------------------------------------- Multiplex
@dataclass(frozen=True, eq=False)
class Multiplex:
    """Layers over one node set, each with a weight (negative: a repulsive layer).

    Attributes
    ----------
    layers : tuple of Network
        Same node ids (same order) and the same directedness in every layer.
    layer_weights : ndarray, shape (n_layers,)
        Default layer weights (1 each); ``louvain``/``modularity`` may override them.
    layer_names : tuple of str
    """

    layers: tuple
    layer_weights: np.ndarray = field(default=None)  # type: ignore[assignment]
    layer_names: tuple = field(default=None)  # type: ignore[assignment]

    def __post_init__(self):
        layers = tuple(self.layers)
        if not layers:
            raise GraphclustError("a Multiplex needs at least one layer; got none.")
        for i, layer in enumerate(layers):
            if not isinstance(layer, Network):
                raise GraphclustError(f"layer {i} is a {type(layer).__name__}, not a Network; "
                                      "use Multiplex.from_layers to convert graphs.")
        base = layers[0]
        for i, layer in enumerate(layers[1:], start=1):
            if layer.directed != base.directed:
                raise GraphclustError(f"layer {i} is {'directed' if layer.directed else 'undirected'} "
                                      f"but layer 0 is not; all layers must be of one kind.")
            if layer.n_nodes != base.n_nodes or not _same_ids(layer.node_ids, base.node_ids):
                raise GraphclustError(
                    f"layer node sets differ: layer {i} has {layer.n_nodes} nodes that do not "
                    f"match layer 0's {base.n_nodes} (layer ID mismatch between layers: {i}). Build "
                    "all layers over the same nodes (e.g. Multiplex.from_edges, or pass nodes=...)."
                )
        object.__setattr__(self, "layers", layers)
        weights = check_layer_weights(self.layer_weights, len(layers))
        object.__setattr__(self, "layer_weights", weights)
        names = self.layer_names
        if names is None:
            names = tuple(str(i) for i in range(len(layers)))
        names = tuple(str(x) for x in names)
        if len(names) != len(layers):
            raise GraphclustError(f"layer_names has {len(names)} names for {len(layers)} layers.")
        object.__setattr__(self, "layer_names", names)

    @property
    def n_layers(self) -> int:
        return len(self.layers)

    @property
    def n_nodes(self) -> int:
        return self.layers[0].n_nodes

    @property
    def node_ids(self) -> np.ndarray:
        return self.layers[0].node_ids

    @property
    def directed(self) -> bool:
        return self.layers[0].directed

    def __repr__(self) -> str:
        kind = "directed" if self.directed else "undirected"
        return (f"Multiplex({self.n_layers} layers, {self.n_nodes} nodes, "
                f"{sum(layer.n_edges for layer in self.layers)} edges, {kind})")

    @classmethod
    def from_layers(cls, layers: Sequence, layer_weights=None, *, layer_names=None,
                    directed: bool | None = None) -> "Multiplex":
        """Build from graphs of any supported kind; their node sets must be equal.

        Layers with the same node ids in a different order are aligned to layer 0's order.
        """
        nets = [as_network(g, directed=directed) for g in layers]
        if not nets:
            raise GraphclustError("a Multiplex needs at least one layer; got none.")
        base = nets[0]
        aligned = [base]
        for i, net in enumerate(nets[1:], start=1):
            if net.n_nodes == base.n_nodes and not _same_ids(net.node_ids, base.node_ids):
                pos = {x: j for j, x in enumerate(net.node_ids.tolist())}
                try:
                    perm = np.array([pos[x] for x in base.node_ids.tolist()])
                except KeyError:
                    perm = None
                if perm is not None:
                    A = net.adjacency[perm][:, perm]
                    net = Network(sp.csr_array(A), net.directed, base.node_ids, net.weighted)
            aligned.append(net)
        return cls(tuple(aligned), layer_weights, layer_names)

    @classmethod
    def from_edges(cls, source, target, layer, weight=None, *, directed: bool = False,
                   layer_weights=None, nodes: Sequence | None = None, layers: Sequence | None = None,
                   warn_duplicates: bool = True) -> "Multiplex":
        """Build from one edge list with a layer column; every layer gets the union node set.

        ``layers`` fixes the layer order (default: sorted layer labels).
        """
        src, dst, lay = _ids_array(source), _ids_array(target), _ids_array(layer)
        if not (src.shape[0] == dst.shape[0] == lay.shape[0]):
            raise GraphclustError(f"source, target and layer must have one entry per edge; got "
                                  f"{src.shape[0]}, {dst.shape[0]} and {lay.shape[0]}.")
        node_ids, s, d = _index_nodes(src, dst, nodes)
        w = np.ones(s.shape[0]) if weight is None else _check_weights(weight, s.shape[0])
        _check_finite_edges(s, d, w, node_ids, "the edge list")
        if layers is None:
            try:
                names = sorted(set(lay.tolist()))
            except TypeError:
                names = list(dict.fromkeys(lay.tolist()))
        else:
            names = list(layers)
        lookup = {x: i for i, x in enumerate(names)}
        try:
            li = np.fromiter((lookup[x] for x in lay.tolist()), dtype=np.int64, count=lay.shape[0])
        except KeyError as exc:
            raise GraphclustError(f"layer {exc.args[0]!r} is not in layers={names!r}.") from None
        n = node_ids.shape[0]
        nets = []
        for i in range(len(names)):
            m = li == i
            A = _coo_to_csr(s[m], d[m], w[m], n, directed, warn_duplicates, node_ids)
            nets.append(Network(A, directed, node_ids, weight is not None))
        return cls(tuple(nets), layer_weights, tuple(str(x) for x in names))


def _same_ids(a: np.ndarray, b: np.ndarray) -> bool:
    if a.shape != b.shape:
        return False
    if a.dtype != object and b.dtype != object:
        try:
            return bool(np.array_equal(a, b))
        except TypeError:  # pragma: no cover
            pass
    return a.tolist() == b.tolist()


def check_layer_weights(layer_weights, n_layers: int) -> np.ndarray:
    """Validate a layer-weight vector (None -> ones)."""
    if layer_weights is None:
        return np.ones(n_layers)
    if isinstance(layer_weights, numbers.Real) and n_layers == 1:
        layer_weights = [layer_weights]
    w = np.asarray(layer_weights, dtype=np.float64).reshape(-1)
    if w.shape[0] != n_layers:
        raise GraphclustError(
            f"layer_weights has {w.shape[0]} value(s) but the multiplex has {n_layers} layer(s); "
            "give one weight per layer."
        )
    if not np.all(np.isfinite(w)):
        raise GraphclustError(f"layer_weights must be finite numbers, got {w.tolist()}.")
    return w


# --------------------------------------------------------------------------- conversion
def _require(module: str, package: str):
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise ImportError(f"this conversion needs the optional package {package!r}; "
                          f"install it with `pip install {package}`.") from None


def _is_networkx(obj) -> bool:
    return type(obj).__module__.startswith("networkx") and hasattr(obj, "adj")


def _is_igraph(obj) -> bool:
    return type(obj).__module__.startswith("igraph") and hasattr(obj, "get_edgelist")


def as_network(graph, *, directed: bool | None = None, weight: str = "weight") -> Network:
    """Convert a graph to a :class:`Network`.

    Accepts a Network, a scipy.sparse matrix or dense square array (``directed`` defaults to
    False and then the matrix must be symmetric), a networkx graph (node ids kept; edge
    attribute ``weight``, default 1), or an igraph graph (vertex attribute ``name`` as ids when
    present; edge attribute ``weight``).
    """
    if isinstance(graph, Network):
        if directed is not None and bool(directed) != graph.directed:
            if directed:
                return Network(graph.adjacency, True, graph.node_ids, graph.weighted)
            raise GraphclustError("the network is directed; cannot use it as undirected. Build an "
                                  "undirected Network (e.g. symmetrise A + A.T) first.")
        return graph
    if isinstance(graph, Multiplex):
        raise GraphclustError("expected a single network but got a Multiplex; use its layers or "
                              "pass it where a multiplex is accepted.")
    if _is_networkx(graph):
        return _from_networkx(graph, directed, weight)
    if _is_igraph(graph):
        return _from_igraph(graph, directed, weight)
    if sp.issparse(graph) or isinstance(graph, np.ndarray) or hasattr(graph, "__array__"):
        return _from_matrix(graph, directed)
    raise GraphclustError(
        f"cannot use a {type(graph).__name__} as a graph. Pass a Network, Multiplex, scipy.sparse "
        "matrix, square numpy array, networkx or igraph graph (edge lists: Network.from_edges)."
    )


def as_multiplex(graph, layer_weights=None, *, directed: bool | None = None) -> Multiplex:
    """Convert a Multiplex or a sequence of graphs to a :class:`Multiplex`."""
    if isinstance(graph, Multiplex):
        if layer_weights is None:
            return graph
        return Multiplex(graph.layers, layer_weights, graph.layer_names)
    if isinstance(graph, (list, tuple)):
        return Multiplex.from_layers(graph, layer_weights, directed=directed)
    net = as_network(graph, directed=directed)
    return Multiplex((net,), layer_weights)


def as_graph(graph, *, directed: bool | None = None):
    """A Network, or a Multiplex for a Multiplex / list or tuple of graphs."""
    if isinstance(graph, Multiplex) or isinstance(graph, (list, tuple)):
        return as_multiplex(graph, directed=directed)
    return as_network(graph, directed=directed)


def _from_matrix(graph, directed) -> Network:
    if sp.issparse(graph):
        A = sp.csr_array(graph, dtype=np.float64)
    else:
        arr = np.asarray(graph)
        if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
            raise GraphclustError(f"the adjacency matrix must hold numbers, got dtype {arr.dtype}.")
        if arr.ndim != 2 or arr.shape[0] != arr.shape[1]:
            raise GraphclustError(
                f"a dense graph must be a square adjacency matrix (n, n), got shape {arr.shape}. "
                "For an edge list use Network.from_edges(source, target, weight)."
            )
        A = sp.csr_array(arr.astype(np.float64))
    if A.shape[0] != A.shape[1]:
        raise GraphclustError(f"the adjacency matrix must be square, got shape {A.shape}.")
    A.sum_duplicates()
    A.sort_indices()
    if not np.all(np.isfinite(A.data)):
        coo = A.tocoo()
        bad = np.flatnonzero(~np.isfinite(coo.data))[0]
        raise GraphclustError(
            f"the adjacency matrix has NaN or infinite weights, first at ({coo.row[bad]}, "
            f"{coo.col[bad]}); replace them with finite weights."
        )
    directed = bool(directed) if directed is not None else False
    if not directed:
        diff = abs(A - A.T)
        scale = max(1.0, float(abs(A).max()) if A.nnz else 1.0)
        if diff.nnz and float(diff.max()) > 1e-12 * scale:
            raise GraphclustError(
                "the adjacency matrix is not symmetric but directed=False; pass directed=True for "
                "a directed graph, or symmetrise it first (e.g. (A + A.T) / 2)."
            )
    return Network(A, directed=directed)


def _from_networkx(G, directed, weight) -> Network:
    if G.is_multigraph():
        raise GraphclustError("networkx multigraphs are not supported; collapse parallel edges "
                              "first (e.g. nx.Graph(G) with summed weights).")
    is_dir = bool(G.is_directed())
    if directed is not None and bool(directed) != is_dir:
        if directed:
            G = G.to_directed()
            is_dir = True
        else:
            raise GraphclustError("the networkx graph is directed but directed=False was asked; "
                                  "convert it with G.to_undirected() first.")
    nodes = list(G.nodes())
    n = len(nodes)
    pos = {x: i for i, x in enumerate(nodes)}
    rows, cols, ws = [], [], []
    weighted = False
    for u, v, data in G.edges(data=True):
        rows.append(pos[u])
        cols.append(pos[v])
        if weight in data:
            weighted = True
        ws.append(data.get(weight, 1.0))
    s = np.asarray(rows, dtype=np.int64)
    d = np.asarray(cols, dtype=np.int64)
    try:
        w = np.asarray(ws, dtype=np.float64)
    except (TypeError, ValueError):
        raise GraphclustError(f"edge attribute {weight!r} must be numeric.") from None
    ids = _ids_array(nodes)
    _check_finite_edges(s, d, w, ids, "the networkx graph")
    A = _coo_to_csr(s, d, w, n, is_dir, False, ids)
    return Network(A, directed=is_dir, node_ids=ids, weighted=weighted)


def _from_igraph(g, directed, weight) -> Network:
    is_dir = bool(g.is_directed())
    if directed is not None and bool(directed) != is_dir:
        raise GraphclustError(f"the igraph graph is {'directed' if is_dir else 'undirected'} but "
                              f"directed={directed} was asked; convert it with as_directed()/"
                              "as_undirected() first.")
    n = g.vcount()
    edges = np.asarray(g.get_edgelist(), dtype=np.int64).reshape(-1, 2)
    weighted = weight in g.es.attributes()
    w = np.asarray(g.es[weight], dtype=np.float64) if weighted else np.ones(edges.shape[0])
    ids = _ids_array(g.vs["name"]) if "name" in g.vs.attributes() else np.arange(n)
    _check_finite_edges(edges[:, 0], edges[:, 1], w, ids, "the igraph graph")
    A = _coo_to_csr(edges[:, 0], edges[:, 1], w, n, is_dir, True, ids)
    return Network(A, directed=is_dir, node_ids=ids, weighted=weighted)


# --------------------------------------------------------------------------- files
def read_edge_list(path, *, directed: bool = False, source: str | None = None,
                   target: str | None = None, weight: str | None = None, layer: str | None = None,
                   delimiter: str | None = None, layer_weights=None):
    """Read a CSV/TSV edge list: columns source, target, optional weight and layer.

    The delimiter is guessed from the extension (``.tsv``/``.txt``: tab or whitespace) unless
    given. A header row is detected when the first row's weight field is not a number; column
    names ``source``/``src``/``from``, ``target``/``dst``/``to``, ``weight``/``w``, ``layer`` are
    recognised, otherwise the columns are taken in that order. Returns a Network, or a Multiplex
    when there is a layer column. Node ids that all look like integers become integers.
    """
    path = Path(path)
    if not path.exists():
        raise GraphclustError(f"edge list file {str(path)!r} does not exist.")
    text = path.read_text().splitlines()
    rows = [ln for ln in text if ln.strip() and not ln.lstrip().startswith("#")]
    if not rows:
        raise GraphclustError(f"edge list {str(path)!r} has no edges; an empty graph has no communities.")
    if delimiter is None:
        delimiter = "," if "," in rows[0] else ("\t" if "\t" in rows[0] else None)
    split = (lambda s: [x.strip() for x in s.split(delimiter)]) if delimiter else (lambda s: s.split())
    first = split(rows[0])
    aliases = {
        "source": ("source", "src", "from", "u", "node1", "i"),
        "target": ("target", "dst", "to", "v", "node2", "j"),
        "weight": ("weight", "w", "weights", "value"),
        "layer": ("layer", "layers", "relation", "type"),
    }
    lowered = [x.lower() for x in first]
    header = any(x in sum(aliases.values(), ()) for x in lowered) or any(
        x in lowered for x in (source, target, weight, layer) if x)
    cols: dict[str, int | None] = {}
    if header:
        for key, given in (("source", source), ("target", target), ("weight", weight), ("layer", layer)):
            names = (given.lower(),) if given else aliases[key]
            cols[key] = next((i for i, x in enumerate(lowered) if x in names), None)
            if given and cols[key] is None:
                raise GraphclustError(f"column {given!r} is not in the header {first!r} of {str(path)!r}.")
        if cols["source"] is None or cols["target"] is None:
            cols["source"], cols["target"] = 0, 1
        body = rows[1:]
    else:
        ncol = len(first)
        cols = {"source": 0, "target": 1, "weight": 2 if ncol >= 3 else None,
                "layer": 3 if ncol >= 4 else None}
        body = rows
    data = [split(r) for r in body]
    need = max(i for i in cols.values() if i is not None) + 1
    for lineno, r in enumerate(data, start=2 if header else 1):
        if len(r) < need:
            raise GraphclustError(f"line {lineno} of {str(path)!r} has {len(r)} field(s); "
                                  f"expected at least {need}.")
    src = _maybe_int([r[cols["source"]] for r in data])
    dst = _maybe_int([r[cols["target"]] for r in data])
    w = None
    if cols.get("weight") is not None:
        try:
            w = np.array([float(r[cols["weight"]]) for r in data])
        except ValueError as exc:
            raise GraphclustError(f"the weight column of {str(path)!r} must be numeric: {exc}.") from None
    if cols.get("layer") is not None:
        lay = _maybe_int([r[cols["layer"]] for r in data])
        return Multiplex.from_edges(src, dst, lay, w, directed=directed, layer_weights=layer_weights)
    return Network.from_edges(src, dst, w, directed=directed)


def _maybe_int(values: list[str]):
    try:
        return np.array([int(v) for v in values], dtype=np.int64)
    except ValueError:
        return _ids_array(values)
