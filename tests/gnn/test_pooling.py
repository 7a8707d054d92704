"""Community pooling (select / connect / reduce) and the per-epoch community cache."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("torch_geometric")
from torch_geometric.data import Batch, Data  # noqa: E402

from graphclust._validation import GraphclustError  # noqa: E402
from graphclust.gnn.pooling import (  # noqa: E402
    CommunityCache, CommunityPooling, community_mean, global_communities, intra_community_edges)


def two_triangles():
    """Triangles {0,1,2} and {3,4,5} joined by the bridge 2-3; embeddings differ per triangle."""
    und = [(0, 1), (1, 2), (0, 2), (3, 4), (4, 5), (3, 5), (2, 3)]
    ei = torch.tensor(und + [(b, a) for a, b in und]).T
    x = torch.tensor([[1.0, 0.0], [0.9, 0.1], [0.8, 0.2],
                      [0.0, 1.0], [0.1, 0.9], [0.2, 0.8]])
    return x, ei


@pytest.mark.parametrize("similarity", ["cosine", "neg_sq_euclidean"])
def test_two_triangles(similarity):
    x, ei = two_triangles()
    batch = torch.zeros(6, dtype=torch.long)
    pool = CommunityPooling(similarity)
    sel = pool.select(x, ei, batch)
    assert sel.local.tolist() == [0, 0, 0, 1, 1, 1]
    assert sel.counts.tolist() == [2] and bool(sel.converged.all())
    pooled, cluster, cluster_batch, sub = pool(x, ei, batch, sel)
    # connect: every edge but the bridge
    assert sub.shape[1] == ei.shape[1] - 2
    assert not ((sub[0] == 2) & (sub[1] == 3)).any()
    # reduce: the mean of each triangle
    np.testing.assert_allclose(pooled.numpy(), [[0.9, 0.1], [0.1, 0.9]], atol=1e-6)
    assert cluster_batch.tolist() == [0, 0]


def test_global_ids_connect_reduce_in_a_batch():
    local = torch.tensor([0, 0, 1, 0, 1, 2, 0])
    counts = torch.tensor([2, 3, 1])
    batch = torch.tensor([0, 0, 0, 1, 1, 1, 2])
    cluster, cluster_batch = global_communities(local, counts, batch)
    assert cluster.tolist() == [0, 0, 1, 2, 3, 4, 5]
    assert cluster_batch.tolist() == [0, 0, 1, 1, 1, 2]
    ei = torch.tensor([[0, 1, 1, 2, 3, 4], [1, 0, 2, 1, 4, 3]])
    assert intra_community_edges(ei, cluster).tolist() == [[0, 1], [1, 0]]
    x = torch.arange(7, dtype=torch.float32)[:, None]
    np.testing.assert_allclose(community_mean(x, cluster, 6)[:, 0].numpy(), [0.5, 2, 3, 4, 5, 6])


def test_fallback_when_not_converged():
    x, ei = two_triangles()
    # two components: drop the bridge
    keep = ~(((ei[0] == 2) & (ei[1] == 3)) | ((ei[0] == 3) & (ei[1] == 2)))
    ei = ei[:, keep]
    batch = torch.zeros(6, dtype=torch.long)
    sel = CommunityPooling(max_iter=1, fallback="components").select(x, ei, batch)
    assert not bool(sel.converged[0])
    assert sel.local.tolist() == [0, 0, 0, 1, 1, 1]
    sel = CommunityPooling(max_iter=1, fallback="single").select(x, ei, batch)
    assert sel.local.tolist() == [0] * 6 and sel.counts.tolist() == [1]


def test_parameter_errors():
    with pytest.raises(GraphclustError, match=r"similarity must be one of"):
        CommunityPooling("dot")
    with pytest.raises(GraphclustError, match=r"fallback must be one of 'components', 'single'"):
        CommunityPooling(fallback="none")
    with pytest.raises(GraphclustError, match=r"damping must be in \[0.5, 1\)"):
        CommunityPooling(damping=1.0)
    with pytest.raises(GraphclustError, match=r"max_iter must be >= 1"):
        CommunityPooling(max_iter=0)


class _Identity(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.pool = CommunityPooling()

    def embed(self, x, edge_index, edge_attr=None):
        return x


def test_cache_matches_on_the_fly():
    x, ei = two_triangles()
    graphs = []
    for gid, perm in enumerate([None, [3, 4, 5, 0, 1, 2]]):
        xx = x if perm is None else x[perm]
        graphs.append(Data(x=xx, edge_index=ei, graph_id=torch.tensor([gid + 10])))
    graphs.append(Data(x=torch.ones(2, 2), edge_index=torch.tensor([[0, 1], [1, 0]]),
                       graph_id=torch.tensor([3])))
    model = _Identity()
    cache = CommunityCache.build(model, graphs)
    assert cache.convergence_rate == 1.0
    for order in ([0, 1, 2], [2, 0], [1]):
        b = Batch.from_data_list([graphs[i] for i in order])
        got = cache.lookup(b)
        direct = model.pool.select(b.x, b.edge_index, b.batch, num_graphs=b.num_graphs)
        assert torch.equal(got.local, direct.local) and torch.equal(got.counts, direct.counts)
    missing = Batch.from_data_list([Data(x=x, edge_index=ei, graph_id=torch.tensor([4]))])
    with pytest.raises(GraphclustError, match=r"not in the community cache"):
        cache.lookup(missing)
