"""Community pooling: affinity-propagation communities as a select / connect / reduce operator.

Following PyTorch Geometric's split of pooling into three steps, for a batch of ``B`` graphs with
``n`` nodes in total, node embeddings ``h`` ``(n, F)``, ``edge_index`` ``(2, m)`` and ``batch``
``(n,)``:

* **select** (:meth:`CommunityPooling.select`): for each graph, the similarity matrix of its
  *detached* node embeddings (cosine, or negative squared Euclidean) is clustered by affinity
  propagation (:func:`graphclust.gnn.affinity.batched_affinity_propagation`, all graphs at
  once). Output: a local community id per node ``(n,)`` (``0..K_b-1`` within graph ``b``) and
  ``K_b`` per graph ``(B,)``. Global ids are ``local + offset[batch]`` with
  ``offset = cumsum(K) - K`` (:func:`global_communities`).
* **connect** (:func:`intra_community_edges`): the edges whose two ends are in the same
  community, ``edge_index[:, cluster[src] == cluster[dst]]``.
* **reduce** (:func:`community_mean`): the mean embedding of each community, ``(C, F)`` with
  ``C = sum_b K_b``; row ``c`` belongs to graph ``cluster_batch[c]``.

**Fallback.** A graph on which affinity propagation does not converge within ``max_iter``
iterations (or finds no exemplar) gets the communities named by ``fallback``:
``"components"`` (default) — its connected components, which for a connected molecule is one
community, the whole graph; or ``"single"`` — one community holding every node. Which graphs fell
back is reported (``SelectOutput.converged``).

**Caching.** :class:`CommunityCache` stores the communities of a set of graphs (keyed by their
``graph_id``) computed once, e.g. at the start of every epoch, so that training batches look them
up instead of re-running affinity propagation per batch.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from graphclust._validation import GraphclustError, check_choice, check_float, check_int
from graphclust.gnn._deps import require
from graphclust.gnn.affinity import SIMILARITIES, batched_affinity_propagation, similarity_matrix

torch = require("torch")
_pyg_utils = require("torch_geometric.utils")

__all__ = ["FALLBACKS", "SelectOutput", "CommunityPooling", "CommunityCache",
           "global_communities", "intra_community_edges", "community_mean"]

FALLBACKS = ("components", "single")


@dataclass(frozen=True, eq=False)
class SelectOutput:
    """Communities of a batch of graphs.

    Attributes
    ----------
    local : LongTensor (n,)
        Community of each node within its graph, ``0..K_b-1``.
    counts : LongTensor (B,)
        ``K_b``, communities per graph.
    converged : BoolTensor (B,)
        False where affinity propagation did not converge and the fallback was used.
    """

    local: "torch.Tensor"
    counts: "torch.Tensor"
    converged: "torch.Tensor"


def global_communities(local: "torch.Tensor", counts: "torch.Tensor", batch: "torch.Tensor"):
    """Global community ids ``(n,)`` and the graph of each community ``(C,)``."""
    offset = counts.cumsum(0) - counts
    cluster = local + offset[batch]
    cluster_batch = torch.repeat_interleave(torch.arange(counts.shape[0]), counts)
    return cluster, cluster_batch


def intra_community_edges(edge_index: "torch.Tensor", cluster: "torch.Tensor") -> "torch.Tensor":
    """connect: the edges inside communities, ``(2, m')``, order kept."""
    keep = cluster[edge_index[0]] == cluster[edge_index[1]]
    return edge_index[:, keep]


def community_mean(x: "torch.Tensor", cluster: "torch.Tensor", num_clusters: int) -> "torch.Tensor":
    """reduce: mean of ``x`` ``(n, F)`` over each community, ``(num_clusters, F)``."""
    return _pyg_utils.scatter(x, cluster, dim=0, dim_size=num_clusters, reduce="mean")


def _components(edge_index: "torch.Tensor", batch: "torch.Tensor", n: int) -> "torch.Tensor":
    """Connected components as local ids per graph, ``(n,)``."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    ei = edge_index.numpy()
    adj = coo_matrix((np.ones(ei.shape[1]), (ei[0], ei[1])), shape=(n, n))
    _, comp = connected_components(adj, directed=True, connection="weak")
    comp = torch.from_numpy(comp.astype(np.int64))
    # components never span graphs and scipy numbers them in node order, so the components of
    # a graph are consecutive ids: subtract the graph's smallest
    first = _pyg_utils.scatter(comp, batch, dim=0, reduce="min")
    return comp - first[batch]


class CommunityPooling(torch.nn.Module):
    """Affinity-propagation community pooling (no trainable parameters).

    Parameters
    ----------
    similarity : {"cosine", "neg_sq_euclidean"}
    damping : float in [0.5, 1)
    max_iter, convergence_iter : int
    preference : float, optional
        Affinity propagation's preference; default the per-graph median similarity.
    fallback : {"components", "single"}
        Communities of a graph on which affinity propagation does not converge.
    seed : int
        Seed of affinity propagation's tie-breaking noise.
    """

    def __init__(self, similarity: str = "cosine", *, damping: float = 0.7, max_iter: int = 200,
                 convergence_iter: int = 15, preference: float | None = None,
                 fallback: str = "components", seed: int = 0):
        super().__init__()
        self.similarity = check_choice(similarity, "similarity", SIMILARITIES)
        self.damping = check_float(damping, "damping", low=0.5, high=1.0)
        if self.damping >= 1.0:
            raise GraphclustError(f"damping must be in [0.5, 1), got {damping}.")
        self.max_iter = check_int(max_iter, "max_iter", low=1)
        self.convergence_iter = check_int(convergence_iter, "convergence_iter", low=1)
        self.preference = None if preference is None else check_float(preference, "preference")
        self.fallback = check_choice(fallback, "fallback", FALLBACKS)
        self.seed = check_int(seed, "seed", low=0)

    def extra_repr(self) -> str:
        return (f"similarity={self.similarity!r}, damping={self.damping}, max_iter={self.max_iter}, "
                f"fallback={self.fallback!r}")

    @torch.no_grad()
    def select(self, x: "torch.Tensor", edge_index: "torch.Tensor", batch: "torch.Tensor",
               num_graphs: int | None = None) -> SelectOutput:
        """select: communities of every graph from the detached node embeddings ``x`` (n, F)."""
        x = x.detach()
        dense, mask = _pyg_utils.to_dense_batch(x, batch, batch_size=num_graphs)
        S = similarity_matrix(dense, mask, self.similarity)
        ap = batched_affinity_propagation(S, mask, damping=self.damping, max_iter=self.max_iter,
                                          convergence_iter=self.convergence_iter,
                                          preference=self.preference, seed=self.seed)
        local = ap.labels[mask]
        converged = ap.converged & (ap.n_clusters > 0)
        if not bool(converged.all()):
            bad = ~converged[batch]
            if self.fallback == "components":
                fb = _components(edge_index, batch, x.shape[0])
            else:
                fb = torch.zeros_like(local)
            local = torch.where(bad, fb, local)
        counts = _pyg_utils.scatter(local, batch, dim=0, dim_size=mask.shape[0], reduce="max") + 1
        return SelectOutput(local=local, counts=counts, converged=converged)

    def connect(self, edge_index: "torch.Tensor", cluster: "torch.Tensor") -> "torch.Tensor":
        """connect: edges inside communities."""
        return intra_community_edges(edge_index, cluster)

    def reduce(self, x: "torch.Tensor", cluster: "torch.Tensor", num_clusters: int) -> "torch.Tensor":
        """reduce: mean per community."""
        return community_mean(x, cluster, num_clusters)

    def forward(self, x, edge_index, batch, select: SelectOutput | None = None):
        """All three steps on ``x``: returns ``(pooled (C, F), cluster (n,), cluster_batch (C,),
        intra-community edge_index)``."""
        if select is None:
            select = self.select(x, edge_index, batch)
        cluster, cluster_batch = global_communities(select.local, select.counts, batch)
        sub = self.connect(edge_index, cluster)
        return self.reduce(x, cluster, int(cluster_batch.shape[0])), cluster, cluster_batch, sub


class CommunityCache:
    """Communities of a fixed set of graphs, computed once and looked up by ``graph_id``.

    Build it with :meth:`build` from a model exposing ``embed(x, edge_index, edge_attr)`` and ``pool`` (a
    :class:`CommunityPooling`); the model is run in eval mode without gradients.
    """

    def __init__(self, graph_ids, node_ptr, local, counts, converged):
        self.graph_ids = graph_ids
        self.node_ptr = node_ptr
        self.local = local
        self.counts = counts
        self.converged = converged
        size = int(graph_ids.max()) + 1 if graph_ids.numel() else 0
        self.row_of = torch.full((size,), -1, dtype=torch.long)
        self.row_of[graph_ids] = torch.arange(graph_ids.shape[0])

    @classmethod
    @torch.no_grad()
    def build(cls, model, graphs, batch_size: int = 512) -> "CommunityCache":
        Batch = require("torch_geometric.data").Batch
        was_training = model.training
        model.eval()
        try:
            ids, locs, cnts, convs, sizes = [], [], [], [], []
            for start in range(0, len(graphs), batch_size):
                chunk = graphs[start:start + batch_size]
                b = Batch.from_data_list(chunk)
                h = model.embed(b.x, b.edge_index, getattr(b, "edge_attr", None))
                sel = model.pool.select(h, b.edge_index, b.batch, num_graphs=b.num_graphs)
                ids.append(b.graph_id)
                locs.append(sel.local)
                cnts.append(sel.counts)
                convs.append(sel.converged)
                sizes.append(torch.bincount(b.batch, minlength=b.num_graphs))
        finally:
            model.train(was_training)
        graph_ids = torch.cat(ids)
        if torch.unique(graph_ids).numel() != graph_ids.numel():
            raise GraphclustError("graph_id values must be unique among the graphs of a cache.")
        sizes = torch.cat(sizes)
        node_ptr = torch.cat([torch.zeros(1, dtype=torch.long), sizes.cumsum(0)])
        return cls(graph_ids, node_ptr, torch.cat(locs), torch.cat(cnts), torch.cat(convs))

    def lookup(self, batch) -> SelectOutput:
        """The cached communities of the graphs of a ``Batch`` (which must carry ``graph_id``)."""
        gid = batch.graph_id
        if int(gid.max()) >= self.row_of.shape[0] or bool((self.row_of[gid] < 0).any()):
            raise GraphclustError("a graph of this batch is not in the community cache; rebuild "
                                  "the cache with every graph that is trained or evaluated.")
        rows = self.row_of[gid]
        pos = self.node_ptr[rows][batch.batch] + (torch.arange(batch.num_nodes) - batch.ptr[batch.batch])
        return SelectOutput(local=self.local[pos], counts=self.counts[rows],
                            converged=self.converged[rows])

    @property
    def convergence_rate(self) -> float:
        return float(self.converged.float().mean()) if self.converged.numel() else 1.0
