"""Reader for the TU graph-classification format (Morris et al. 2020), no download.

A TU dataset ``DS`` is a folder of comma-separated text files (1-based ids)::

    DS_A.txt                 m lines "row, col": directed edges over global node ids 1..n
    DS_graph_indicator.txt   n lines: the graph id (1..N) of node i
    DS_graph_labels.txt      N lines: the class label of graph i
    DS_node_labels.txt       n lines (optional): a categorical label per node
    DS_edge_labels.txt       m lines (optional): a categorical label per edge
    DS_node_attributes.txt   n lines (optional): comma-separated real attributes per node
    DS_edge_attributes.txt   m lines (optional): comma-separated real attributes per edge

Two layers, as elsewhere in graphclust: :func:`read_tu_arrays` parses and validates with numpy
only (every malformed file gets a :class:`GraphclustError` naming the file, the line, the rule
and the value), and :func:`load_tu_dataset` turns the validated arrays into one
``torch_geometric.data.Data`` per graph:

* ``x``: one-hot node labels (``max - min + 1`` columns, offset by the smallest label, as
  PyTorch Geometric's ``TUDataset`` does) followed by the node attributes; a graph without either
  gets a constant feature ``1``;
* ``edge_index``: ``(2, m_g)`` int64, 0-based ids local to the graph (both directions as stored);
* ``edge_attr``: one-hot edge labels followed by edge attributes, when present;
* ``y``: the class code, an index into ``GraphDataset.class_values`` (sorted original labels;
  MUTAG's -1 / +1 become 0 / 1);
* ``graph_id``: the graph's 0-based position in the dataset;
* with ``edge_features=True``: ``x`` gains, per node, the sum of ``edge_attr`` over its outgoing
  edges (for MUTAG: how many aromatic / single / double / triple bonds the atom has), so models
  that ignore ``edge_attr`` (GCN) still see bond types; ``node_label`` keeps the node's label
  column (an index into ``node_label_values``) for plots.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from graphclust._validation import GraphclustError

__all__ = ["TUArrays", "GraphDataset", "read_tu_arrays", "load_tu_dataset", "tu_name",
           "with_edge_features"]

_REQUIRED = ("A", "graph_indicator", "graph_labels")
_OPTIONAL = ("node_labels", "edge_labels", "node_attributes", "edge_attributes")


@dataclass(frozen=True, eq=False)
class TUArrays:
    """Validated arrays of a TU dataset (0-based ids; see the module docstring).

    Attributes
    ----------
    name : str
    edge_index : ndarray (2, m) int64, global 0-based node ids.
    graph_indicator : ndarray (n,) int64, 0-based graph id per node, non-decreasing.
    graph_labels : ndarray (N,) int64, original label values.
    node_labels, edge_labels : ndarray (n,) / (m,) int64 or None.
    node_attributes, edge_attributes : ndarray (n, d) / (m, d) float64 or None.
    """

    name: str
    edge_index: np.ndarray
    graph_indicator: np.ndarray
    graph_labels: np.ndarray
    node_labels: np.ndarray | None = None
    edge_labels: np.ndarray | None = None
    node_attributes: np.ndarray | None = None
    edge_attributes: np.ndarray | None = None

    @property
    def n_graphs(self) -> int:
        return int(self.graph_labels.shape[0])

    @property
    def n_nodes(self) -> int:
        return int(self.graph_indicator.shape[0])

    @property
    def n_edges(self) -> int:
        return int(self.edge_index.shape[1])


@dataclass(frozen=True, eq=False)
class GraphDataset:
    """A list of ``torch_geometric.data.Data`` graphs with their class metadata.

    Attributes
    ----------
    name : str
    graphs : list of Data
        ``graphs[i].y`` is a (1,) int64 tensor holding a class code in ``0..num_classes-1``.
    class_values : tuple of int
        ``class_values[c]`` is the original label of class code ``c``.
    node_label_values : tuple of int
        Original node labels, one per one-hot column (empty without node labels).
    """

    name: str
    graphs: list
    class_values: tuple
    node_label_values: tuple = ()

    def __len__(self) -> int:
        return len(self.graphs)

    def __getitem__(self, index):
        return self.graphs[index]

    def __iter__(self):
        return iter(self.graphs)

    @property
    def num_classes(self) -> int:
        return len(self.class_values)

    @property
    def num_node_features(self) -> int:
        return int(self.graphs[0].x.shape[1])

    @property
    def y(self) -> np.ndarray:
        """Class codes of all graphs, ``(N,)`` int64."""
        return np.array([int(g.y) for g in self.graphs], dtype=np.int64)

    @property
    def n_nodes(self) -> int:
        return int(sum(g.num_nodes for g in self.graphs))

    @property
    def n_edges(self) -> int:
        return int(sum(g.edge_index.shape[1] for g in self.graphs))


# --------------------------------------------------------------------------------------------
# parsing
# --------------------------------------------------------------------------------------------

def tu_name(folder: str | os.PathLike) -> str:
    """The dataset name ``DS`` of a TU folder (the prefix of its single ``DS_A.txt``)."""
    root = Path(os.fspath(folder)).expanduser()
    if not root.exists():
        raise GraphclustError(f"TU dataset folder {str(root)!r} does not exist.")
    if not root.is_dir():
        raise GraphclustError(f"TU dataset path {str(root)!r} is not a folder; give the folder "
                              "that holds DS_A.txt, DS_graph_indicator.txt, DS_graph_labels.txt.")
    names = sorted(p.name[: -len("_A.txt")] for p in root.glob("*_A.txt"))
    if not names:
        raise GraphclustError(f"no TU dataset in {str(root)!r}: no file named DS_A.txt found "
                              "(expected DS_A.txt, DS_graph_indicator.txt, DS_graph_labels.txt).")
    if len(names) > 1:
        raise GraphclustError(f"{str(root)!r} holds several TU datasets ({', '.join(names)}); "
                              "pass name= to choose one.")
    return names[0]


def _parse(path: Path, *, kind: type, columns: int | None) -> np.ndarray:
    """Parse a comma-separated numeric file into a 2-D array; errors name file and line."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise GraphclustError(f"{path.name}: not a UTF-8 text file.") from None
    except OSError as exc:
        raise GraphclustError(f"cannot read {str(path)!r}: {exc.strerror or exc}.") from None
    rows: list[list] = []
    width = columns
    for lineno, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        fields = [f.strip() for f in line.split(",")]
        if width is None:
            width = len(fields)
        if len(fields) != width:
            raise GraphclustError(f"{path.name} line {lineno}: expected {width} comma-separated "
                                  f"value(s), got {len(fields)} ({line!r}).")
        try:
            if kind is int:
                rows.append([int(f) for f in fields])
            else:
                rows.append([float(f) for f in fields])
        except ValueError:
            what = "integers" if kind is int else "numbers"
            raise GraphclustError(f"{path.name} line {lineno}: expected {what}, got {line!r}.") from None
    dtype = np.int64 if kind is int else np.float64
    if not rows:
        return np.zeros((0, width or 1), dtype=dtype)
    arr = np.asarray(rows, dtype=dtype)
    if kind is float and not np.isfinite(arr).all():
        bad = int(np.flatnonzero(~np.isfinite(arr).all(axis=1))[0])
        raise GraphclustError(f"{path.name}: non-finite value on data row {bad + 1}.")
    return arr


def read_tu_arrays(folder: str | os.PathLike, name: str | None = None) -> TUArrays:
    """Read and validate the TU files in ``folder`` (numpy only).

    Parameters
    ----------
    folder : str or path-like
        The folder holding ``DS_A.txt`` and the other files.
    name : str, optional
        ``DS``; inferred from the single ``*_A.txt`` in the folder when omitted.

    Raises
    ------
    GraphclustError
        Missing required files; unparsable lines; node ids outside ``1..n``; graph ids outside
        ``1..N``; nodes not grouped by graph; graphs without nodes; edges joining two graphs;
        label or attribute files whose line count differs from the nodes or edges.
    """
    root = Path(os.fspath(folder)).expanduser()
    if name is None:
        name = tu_name(root)
    elif not root.is_dir():
        raise GraphclustError(f"TU dataset folder {str(root)!r} does not exist or is not a folder.")
    files = {key: root / f"{name}_{key}.txt" for key in _REQUIRED + _OPTIONAL}
    missing = [files[k].name for k in _REQUIRED if not files[k].is_file()]
    if missing:
        raise GraphclustError(f"TU dataset {name!r} in {str(root)!r}: missing required file(s) "
                              f"{', '.join(missing)}.")

    indicator = _parse(files["graph_indicator"], kind=int, columns=1)[:, 0]
    graph_labels = _parse(files["graph_labels"], kind=int, columns=1)[:, 0]
    A = _parse(files["A"], kind=int, columns=2)
    n, n_graphs = indicator.shape[0], graph_labels.shape[0]
    fi, fa = files["graph_indicator"].name, files["A"].name
    if n == 0:
        raise GraphclustError(f"{fi} is empty: the dataset has no nodes.")
    if n_graphs == 0:
        raise GraphclustError(f"{files['graph_labels'].name} is empty: the dataset has no graphs.")

    bad = np.flatnonzero((indicator < 1) | (indicator > n_graphs))
    if bad.size:
        i = int(bad[0])
        raise GraphclustError(f"{fi} line {i + 1}: graph id {int(indicator[i])} is out of range "
                              f"1..{n_graphs} (the number of lines of "
                              f"{files['graph_labels'].name}).")
    dec = np.flatnonzero(np.diff(indicator) < 0)
    if dec.size:
        i = int(dec[0]) + 1
        raise GraphclustError(f"{fi} line {i + 1}: graph id {int(indicator[i])} follows "
                              f"{int(indicator[i - 1])}; nodes must be grouped by graph in "
                              "increasing graph order.")
    counts = np.bincount(indicator - 1, minlength=n_graphs)
    empty = np.flatnonzero(counts == 0)
    if empty.size:
        raise GraphclustError(f"{fi}: graph {int(empty[0]) + 1} has no nodes "
                              f"({empty.size} graph(s) without nodes); every graph id 1..{n_graphs} "
                              "must appear.")

    bad = np.flatnonzero(((A < 1) | (A > n)).any(axis=1))
    if bad.size:
        i = int(bad[0])
        raise GraphclustError(f"{fa} line {i + 1}: node id out of range 1..{n} (the number of "
                              f"lines of {fi}); got ({int(A[i, 0])}, {int(A[i, 1])}).")
    edge_index = (A - 1).T.copy()
    graph_of = indicator - 1
    cross = np.flatnonzero(graph_of[edge_index[0]] != graph_of[edge_index[1]])
    if cross.size:
        i = int(cross[0])
        s, t = int(edge_index[0, i]), int(edge_index[1, i])
        raise GraphclustError(f"{fa} line {i + 1}: edge ({s + 1}, {t + 1}) joins graph "
                              f"{int(graph_of[s]) + 1} and graph {int(graph_of[t]) + 1}; edges "
                              f"must stay inside one graph ({cross.size} such edge(s)).")

    def optional(key: str, kind: type, length: int, what: str):
        path = files[key]
        if not path.is_file():
            return None
        arr = _parse(path, kind=kind, columns=1 if kind is int else None)
        if arr.shape[0] != length:
            raise GraphclustError(f"{path.name} has {arr.shape[0]} line(s) but there are {length} "
                                  f"{what}; one line per {what[:-1]} is needed.")
        return arr[:, 0] if kind is int else arr

    m = edge_index.shape[1]
    return TUArrays(
        name=name, edge_index=edge_index, graph_indicator=graph_of, graph_labels=graph_labels,
        node_labels=optional("node_labels", int, n, "nodes"),
        edge_labels=optional("edge_labels", int, m, "edges"),
        node_attributes=optional("node_attributes", float, n, "nodes"),
        edge_attributes=optional("edge_attributes", float, m, "edges"),
    )


# --------------------------------------------------------------------------------------------
# conversion to torch_geometric
# --------------------------------------------------------------------------------------------

def _one_hot(values: np.ndarray) -> tuple[np.ndarray, tuple]:
    lo, hi = int(values.min()), int(values.max())
    out = np.zeros((values.shape[0], hi - lo + 1), dtype=np.float32)
    out[np.arange(values.shape[0]), values - lo] = 1.0
    return out, tuple(range(lo, hi + 1))


def _features(labels, attributes, length) -> tuple[np.ndarray | None, tuple]:
    parts, values = [], ()
    if labels is not None:
        oh, values = _one_hot(labels)
        parts.append(oh)
    if attributes is not None:
        parts.append(attributes.astype(np.float32))
    if not parts:
        return None, ()
    return np.concatenate(parts, axis=1), values


def arrays_to_dataset(arrays: TUArrays) -> GraphDataset:
    """Split validated :class:`TUArrays` into one ``Data`` per graph."""
    from graphclust.gnn._deps import require

    torch = require("torch")
    Data = require("torch_geometric.data").Data

    x, node_values = _features(arrays.node_labels, arrays.node_attributes, arrays.n_nodes)
    if x is None:
        x = np.ones((arrays.n_nodes, 1), dtype=np.float32)
    edge_attr, _ = _features(arrays.edge_labels, arrays.edge_attributes, arrays.n_edges)
    class_values, y = np.unique(arrays.graph_labels, return_inverse=True)

    gi = arrays.graph_indicator
    node_ptr = np.concatenate([[0], np.cumsum(np.bincount(gi, minlength=arrays.n_graphs))])
    edge_graph = gi[arrays.edge_index[0]]
    order = np.argsort(edge_graph, kind="stable")
    ei = arrays.edge_index[:, order]
    ea = None if edge_attr is None else edge_attr[order]
    edge_ptr = np.concatenate([[0], np.cumsum(np.bincount(edge_graph, minlength=arrays.n_graphs))])

    graphs = []
    for g in range(arrays.n_graphs):
        a, b = node_ptr[g], node_ptr[g + 1]
        e0, e1 = edge_ptr[g], edge_ptr[g + 1]
        kw = {}
        if ea is not None:
            kw["edge_attr"] = torch.from_numpy(np.ascontiguousarray(ea[e0:e1]))
        graphs.append(Data(
            x=torch.from_numpy(np.ascontiguousarray(x[a:b])),
            edge_index=torch.from_numpy(np.ascontiguousarray(ei[:, e0:e1] - a)),
            y=torch.tensor([int(y[g])], dtype=torch.long),
            graph_id=torch.tensor([g], dtype=torch.long),
            num_nodes=int(b - a),
            **kw,
        ))
    return GraphDataset(name=arrays.name, graphs=graphs,
                        class_values=tuple(int(v) for v in class_values),
                        node_label_values=node_values)


def with_edge_features(dataset: GraphDataset) -> GraphDataset:
    """A copy of ``dataset`` whose node features also hold each node's summed edge features.

    ``x`` becomes ``[x, sum of edge_attr over the node's outgoing edges]`` (TU files store both
    directions of an undirected edge, so every incident edge counts once). Raises a
    :class:`GraphclustError` when the graphs carry no edge labels or attributes.
    """
    from graphclust.gnn._deps import require

    torch = require("torch")
    if not dataset.graphs or getattr(dataset.graphs[0], "edge_attr", None) is None:
        raise GraphclustError(f"{dataset.name} has no edge labels or edge attributes "
                              f"({dataset.name}_edge_labels.txt / _edge_attributes.txt), so "
                              "there are no edge features to add; drop the edge-features "
                              "option.")
    n_labels = len(dataset.node_label_values)
    graphs = []
    for g in dataset.graphs:
        ea = g.edge_attr.to(g.x.dtype)
        per_node = torch.zeros(g.num_nodes, ea.shape[1], dtype=g.x.dtype)
        per_node.index_add_(0, g.edge_index[0], ea)
        h = g.clone()
        h.x = torch.cat([g.x, per_node], dim=1)
        if n_labels:
            h.node_label = g.x[:, :n_labels].argmax(1)
        graphs.append(h)
    return GraphDataset(name=dataset.name, graphs=graphs, class_values=dataset.class_values,
                        node_label_values=dataset.node_label_values)


def load_tu_dataset(folder: str | os.PathLike, name: str | None = None, *,
                    edge_features: bool = False) -> GraphDataset:
    """Read a TU dataset folder into a :class:`GraphDataset` of ``torch_geometric`` graphs.

    ``edge_features=True`` appends each node's summed edge features to ``x``
    (:func:`with_edge_features`).

    Examples
    --------
    >>> ds = load_tu_dataset("../shared/data/MUTAG")            # doctest: +SKIP
    >>> len(ds), ds.n_nodes, ds.n_edges, ds.num_node_features   # doctest: +SKIP
    (188, 3371, 7442, 7)
    """
    ds = arrays_to_dataset(read_tu_arrays(folder, name))
    return with_edge_features(ds) if edge_features else ds


def stack_graphs(graphs: Sequence) -> list:
    """Return ``graphs`` as a plain list (accepts a :class:`GraphDataset` or any sequence)."""
    if isinstance(graphs, GraphDataset):
        return list(graphs.graphs)
    return list(graphs)
