"""Graph classifiers: the base GCN, GIN, and the community-pooling GCN.

Every model maps a batch ``(x (n, F_in), edge_index (2, m), batch (n,))`` to class logits
``(B, num_classes)``; ``forward`` takes the number of graphs ``B`` explicitly where it can be
read from the batch so that empty trailing graphs cannot change shapes.

* :class:`GCN` — ``layers`` GCN convolutions (Kipf & Welling) with ReLU, a readout
  (``"mean"``, ``"sum"`` or ``"mean+sum"``) and a two-layer MLP head. With ``readout="mean"``
  it is the reference notebook's base model.
* :class:`GIN` — ``layers`` GIN convolutions (Xu et al. 2019, sum aggregation, two-layer MLPs)
  with the sum readout of every layer concatenated (jumping knowledge), then the MLP head.
  ``conv="gine"`` (the ``"gine"`` model) uses GINE layers (Hu et al. 2020), whose neighbour
  messages ``ReLU(h_j + W e_ij)`` carry the edge features ``edge_attr`` (MUTAG: bond types).
* :class:`CommunityGCN` — the issue's model: two GCN layers give node embeddings ``h``;
  :class:`~graphclust.gnn.pooling.CommunityPooling` splits each graph into affinity-propagation
  communities of the detached ``h`` (select), keeps the intra-community edges (connect), runs two
  more GCN layers on them and takes the mean per community (reduce). An attention step, with the
  query from the graph's readout ``g`` and keys/values from its community embeddings, scores the
  communities; the ``k`` best are kept, each as its value vector weighted by its softmax weight
  (so the query and key maps get gradients; a plain top-k selection would give them none), in
  decreasing score order; a graph with fewer than ``k`` communities gets zero slots. The slots are
  concatenated with ``g`` and classified by the MLP head. ``conv="gin"`` makes all four layers
  GIN layers; ``conv="gine"`` GINE layers, and the subgraph layers then get the features of the
  intra-community edges.

Every ``forward`` takes ``edge_attr=None``; only GINE layers read it.
"""
from __future__ import annotations

import math

from graphclust._validation import GraphclustError, check_choice, check_float, check_int
from graphclust.gnn._deps import require
from graphclust.gnn.pooling import CommunityPooling, SelectOutput, global_communities

torch = require("torch")
_pyg_nn = require("torch_geometric.nn")
_pyg_utils = require("torch_geometric.utils")

__all__ = ["READOUTS", "NEURAL_MODELS", "GCN", "GIN", "CommunityGCN", "build_model",
           "edge_dim_of", "readout"]

READOUTS = ("mean", "sum", "mean+sum")
#: message-passing layers: "gcn" and "gin" (Xu et al. 2019: sum of the neighbours, a two-layer
#: MLP, learnable epsilon) ignore edge features; "gine" (GIN with edge features, Hu et al. 2020)
#: adds a linear map of each edge's features to the neighbour's message.
CONVS = ("gcn", "gin", "gine")


def _conv(kind: str, in_channels: int, out_channels: int, edge_dim: int | None):
    if kind == "gcn":
        return _pyg_nn.GCNConv(in_channels, out_channels)
    mlp = torch.nn.Sequential(torch.nn.Linear(in_channels, out_channels), torch.nn.ReLU(),
                              torch.nn.Linear(out_channels, out_channels))
    if kind == "gin":
        return _pyg_nn.GINConv(mlp, train_eps=True)
    return _pyg_nn.GINEConv(mlp, train_eps=True, edge_dim=edge_dim)


def _check_edge_dim(kind: str, edge_dim):
    """``edge_dim`` for layers of ``kind`` that read edge features ("gine"), else None."""
    if kind != "gine":
        return None
    if edge_dim is None:
        raise GraphclustError(
            "conv='gine' uses edge features, but the graphs have none (no edge_attr): use a "
            "dataset with edge labels or attributes (TU *_edge_labels.txt), or layers that do "
            "not read them (the 'gin' model, or conv='gcn' for the community model).")
    return check_int(edge_dim, "edge_dim", low=1)


def _apply(conv, x, edge_index, edge_attr):
    """Run one layer; GINE layers get the edge features, others ignore them."""
    if isinstance(conv, _pyg_nn.GINEConv):
        if edge_attr is None:
            raise GraphclustError("this model was built with edge features (conv='gine'); the "
                                  "graphs given to it carry no edge_attr.")
        return conv(x, edge_index, edge_attr.to(x.dtype))
    return conv(x, edge_index)


def readout(h, batch, num_graphs: int, kind: str):
    """Graph readout ``(B, F)`` (or ``(B, 2F)`` for ``"mean+sum"``)."""
    if kind == "mean":
        return _pyg_nn.global_mean_pool(h, batch, num_graphs)
    if kind == "sum":
        return _pyg_nn.global_add_pool(h, batch, num_graphs)
    return torch.cat([_pyg_nn.global_mean_pool(h, batch, num_graphs),
                      _pyg_nn.global_add_pool(h, batch, num_graphs)], dim=1)


def _width(kind: str, hidden: int) -> int:
    return 2 * hidden if kind == "mean+sum" else hidden


class _Head(torch.nn.Module):
    """Linear -> ReLU -> dropout -> Linear."""

    def __init__(self, in_features: int, hidden: int, num_classes: int, dropout: float):
        super().__init__()
        self.lin1 = torch.nn.Linear(in_features, hidden)
        self.lin2 = torch.nn.Linear(hidden, num_classes)
        self.dropout = dropout

    def forward(self, z):
        z = torch.nn.functional.dropout(z, p=self.dropout, training=self.training)
        z = self.lin1(z).relu()
        z = torch.nn.functional.dropout(z, p=self.dropout, training=self.training)
        return self.lin2(z)


def _check_common(in_channels, num_classes, hidden, dropout):
    check_int(in_channels, "in_channels", low=1)
    check_int(num_classes, "num_classes", low=2)
    check_int(hidden, "hidden", low=1)
    check_float(dropout, "dropout", low=0.0, high=0.95)


class GCN(torch.nn.Module):
    """Base GCN graph classifier.

    Parameters
    ----------
    in_channels, num_classes : int
    hidden : int, default 64
    layers : int, default 3
    readout : {"mean", "sum", "mean+sum"}, default "mean"
    dropout : float, default 0.5
    edge_dim : int or None
        Accepted for a uniform interface and ignored: GCN layers do not read edge features.
    """

    uses_communities = False

    def __init__(self, in_channels: int, num_classes: int, hidden: int = 64, layers: int = 3,
                 readout: str = "mean", dropout: float = 0.5, edge_dim: int | None = None):
        super().__init__()
        _check_common(in_channels, num_classes, hidden, dropout)
        check_int(layers, "layers", low=1)
        self.readout = check_choice(readout, "readout", READOUTS)
        self.convs = torch.nn.ModuleList(
            [_pyg_nn.GCNConv(in_channels if i == 0 else hidden, hidden) for i in range(layers)])
        self.head = _Head(_width(readout, hidden), hidden, num_classes, dropout)

    def embed(self, x, edge_index):
        for i, conv in enumerate(self.convs):
            x = conv(x, edge_index)
            if i < len(self.convs) - 1:
                x = x.relu()
        return x

    def forward(self, x, edge_index, batch, num_graphs: int | None = None, communities=None,
                edge_attr=None):
        B = int(batch.max()) + 1 if num_graphs is None else num_graphs
        return self.head(readout(self.embed(x, edge_index), batch, B, self.readout))


class GIN(torch.nn.Module):
    """GIN graph classifier with a jumping-knowledge sum readout.

    Parameters
    ----------
    in_channels, num_classes : int
    hidden : int, default 64
    layers : int, default 3
    dropout : float, default 0.5
    conv : {"gin", "gine"}, default "gin"
        "gine" adds each edge's features to its message (needs ``edge_dim``).
    edge_dim : int or None
        Width of ``edge_attr`` (only used with ``conv="gine"``).
    """

    uses_communities = False

    def __init__(self, in_channels: int, num_classes: int, hidden: int = 64, layers: int = 3,
                 dropout: float = 0.5, conv: str = "gin", edge_dim: int | None = None):
        super().__init__()
        _check_common(in_channels, num_classes, hidden, dropout)
        check_int(layers, "layers", low=1)
        check_choice(conv, "conv", ("gin", "gine"))
        edge_dim = _check_edge_dim(conv, edge_dim)
        self.convs = torch.nn.ModuleList(
            [_conv(conv, in_channels if i == 0 else hidden, hidden, edge_dim)
             for i in range(layers)])
        self.head = _Head(hidden * layers, hidden, num_classes, dropout)

    def forward(self, x, edge_index, batch, num_graphs: int | None = None, communities=None,
                edge_attr=None):
        B = int(batch.max()) + 1 if num_graphs is None else num_graphs
        outs = []
        for conv in self.convs:
            x = _apply(conv, x, edge_index, edge_attr).relu()
            outs.append(_pyg_nn.global_add_pool(x, batch, B))
        return self.head(torch.cat(outs, dim=1))


class CommunityGCN(torch.nn.Module):
    """GCN with affinity-propagation community pooling and top-k attention (module docstring).

    Parameters
    ----------
    in_channels, num_classes : int
    hidden : int, default 64
    k : int, default 2
        Communities attended per graph.
    similarity : {"cosine", "neg_sq_euclidean"}, default "cosine"
    readout : {"mean", "sum", "mean+sum"}, default "mean+sum"
        Global readout ``g`` of the node embeddings (the attention query and the head's input);
        the mean is the notebook's, the sum keeps graph size and atom counts.
    dropout : float, default 0.3
    damping, max_iter, convergence_iter, preference, fallback, ap_seed
        Affinity propagation (see :class:`~graphclust.gnn.pooling.CommunityPooling`).
    input_readout : bool, default False
        Also concatenate the sum of the input features (for MUTAG: the atom-type counts) to
        ``g``, as GIN's jumping-knowledge readout does with its layer 0.
    conv : {"gcn", "gin", "gine"}, default "gcn"
        The four message-passing layers: GCN (the notebook's; ignores edge features), GIN
        (sum aggregation and two-layer MLPs; ignores edge features) or GINE (edge features,
        e.g. MUTAG's bond types, enter every message; the subgraph layers get the features of
        the intra-community edges).
    edge_dim : int or None
        Width of ``edge_attr`` (only used with ``conv="gine"``).
    """

    uses_communities = True

    def __init__(self, in_channels: int, num_classes: int, hidden: int = 64, k: int = 2,
                 similarity: str = "cosine", readout: str = "mean+sum", dropout: float = 0.3, *,
                 damping: float = 0.7, max_iter: int = 200, convergence_iter: int = 15,
                 preference: float | None = None, fallback: str = "components", ap_seed: int = 0,
                 input_readout: bool = False, conv: str = "gcn", edge_dim: int | None = None):
        super().__init__()
        _check_common(in_channels, num_classes, hidden, dropout)
        self.conv = check_choice(conv, "conv", CONVS)
        edge_dim = _check_edge_dim(self.conv, edge_dim)
        self.k = check_int(k, "k", low=1)
        self.input_readout = bool(input_readout)
        self.readout = check_choice(readout, "readout", READOUTS)
        self.hidden = hidden
        self.conv1 = _conv(self.conv, in_channels, hidden, edge_dim)
        self.conv2 = _conv(self.conv, hidden, hidden, edge_dim)
        self.sub_conv1 = _conv(self.conv, hidden, hidden, edge_dim)
        self.sub_conv2 = _conv(self.conv, hidden, hidden, edge_dim)
        self.pool = CommunityPooling(similarity, damping=damping, max_iter=max_iter,
                                     convergence_iter=convergence_iter, preference=preference,
                                     fallback=fallback, seed=ap_seed)
        width = _width(readout, hidden) + (in_channels if self.input_readout else 0)
        self.query = torch.nn.Linear(width, hidden)
        self.key = torch.nn.Linear(hidden, hidden)
        self.value = torch.nn.Linear(hidden, hidden)
        self.head = _Head(width + self.k * hidden, hidden, num_classes, dropout)

    def embed(self, x, edge_index, edge_attr=None):
        """Node embeddings ``h`` (n, hidden) whose detached copy defines the communities."""
        h = _apply(self.conv1, x, edge_index, edge_attr).relu()
        return _apply(self.conv2, h, edge_index, edge_attr)

    def attend(self, g, pooled, cluster_batch, counts):
        """Top-k attention: ``(B, k, hidden)`` slots and the softmax weight of every community."""
        B = g.shape[0]
        q = self.query(g)
        keys = self.key(pooled)
        values = self.value(pooled)
        score = (q[cluster_batch] * keys).sum(-1) / math.sqrt(self.hidden)
        alpha = _pyg_utils.softmax(score, cluster_batch, num_nodes=B)
        # rank communities within their graph by decreasing score (stable: ties keep id order)
        perm = torch.argsort(score.detach(), descending=True, stable=True)
        perm = perm[torch.argsort(cluster_batch[perm], stable=True)]
        sb = cluster_batch[perm]
        start = counts.cumsum(0) - counts
        rank = torch.arange(perm.shape[0]) - start[sb]
        keep = rank < self.k
        slots = torch.zeros(B, self.k, self.hidden, dtype=pooled.dtype)
        weighted = (alpha[:, None] * values)[perm]
        slots = slots.index_put((sb[keep], rank[keep]), weighted[keep])
        return slots, alpha

    def forward(self, x, edge_index, batch, num_graphs: int | None = None,
                communities: SelectOutput | None = None, return_details: bool = False,
                edge_attr=None):
        B = int(batch.max()) + 1 if num_graphs is None else num_graphs
        h = self.embed(x, edge_index, edge_attr)
        if communities is None:
            communities = self.pool.select(h, edge_index, batch, num_graphs=B)
        cluster, cluster_batch = global_communities(communities.local, communities.counts, batch)
        inside = cluster[edge_index[0]] == cluster[edge_index[1]]
        sub_edge_index = self.pool.connect(edge_index, cluster)
        sub_attr = None if edge_attr is None else edge_attr[inside]
        s = _apply(self.sub_conv1, h.relu(), sub_edge_index, sub_attr).relu()
        s = _apply(self.sub_conv2, s, sub_edge_index, sub_attr)
        pooled = self.pool.reduce(s, cluster, int(cluster_batch.shape[0]))
        g = readout(h, batch, B, self.readout)
        if self.input_readout:
            g = torch.cat([g, _pyg_nn.global_add_pool(x, batch, B)], dim=1)
        slots, alpha = self.attend(g, pooled, cluster_batch, communities.counts)
        logits = self.head(torch.cat([g, slots.reshape(B, -1)], dim=1))
        if return_details:
            return logits, {"communities": communities, "cluster": cluster,
                            "cluster_batch": cluster_batch, "attention": alpha}
        return logits


#: neural models by name: (class, fixed keyword arguments)
NEURAL_MODELS = {
    "base": (GCN, {"readout": "mean"}),
    "gcn-sum": (GCN, {"readout": "sum"}),
    "gcn-mean-sum": (GCN, {"readout": "mean+sum"}),
    "gin": (GIN, {}),
    "gine": (GIN, {"conv": "gine"}),
    "community": (CommunityGCN, {}),
}


def edge_dim_of(graphs) -> int | None:
    """Width of the graphs' ``edge_attr`` (None when they carry none): ``build_model``'s
    ``edge_dim``."""
    ea = getattr(graphs[0], "edge_attr", None) if len(graphs) else None
    return None if ea is None else int(ea.shape[1])


def build_model(name: str, in_channels: int, num_classes: int, edge_dim: int | None = None,
                **params):
    """Instantiate a neural model by name (see ``NEURAL_MODELS``) with extra ``params``;
    ``edge_dim`` is the width of the graphs' ``edge_attr`` (None: they have none)."""
    cls, fixed = NEURAL_MODELS[check_choice(name, "model", tuple(NEURAL_MODELS))]
    kwargs = {**fixed, **params}
    return cls(in_channels, num_classes, edge_dim=edge_dim, **kwargs)
