"""Graph inputs (Network / Multiplex conversions, node ids) and bad input for community/."""
import numpy as np
import pytest
import scipy.sparse as sp

from graphclust._validation import GraphclustError
from graphclust.community import (
    DuplicateEdgeWarning,
    Louvain,
    Multiplex,
    Network,
    louvain,
    modularity,
    read_edge_list,
)
from graphclust.graph.network import as_network


def two_triangles(ids=None, weight=None):
    src = [0, 1, 2, 3, 4, 5, 2]
    dst = [1, 2, 0, 4, 5, 3, 3]
    if ids is not None:
        src, dst = [ids[i] for i in src], [ids[i] for i in dst]
    return Network.from_edges(src, dst, weight)


@pytest.mark.parametrize("ids", [
    ["a", "b", "c", "d", "e", "f"],
    [("x", 1), ("x", 2), ("y", 1), ("y", 2), ("z", 0), ("z", 9)],
    [10, 20, 30, 40, 50, 60],
    [2.5, -1.0, 7.0, 3.0, 0.0, 9.5],
])
def test_any_hashable_ids_map_back(ids):
    g = two_triangles(ids)
    r = louvain(g, random_state=0)
    d = r.to_dict()
    assert set(d) == set(ids)
    assert d[ids[0]] == d[ids[1]] == d[ids[2]] != d[ids[3]] == d[ids[4]] == d[ids[5]]
    comms = sorted(sorted(map(str, c.tolist())) for c in r.communities)
    assert comms == sorted(sorted(str(ids[i]) for i in tri) for tri in ([0, 1, 2], [3, 4, 5]))


def test_conversions_agree():
    nx = pytest.importorskip("networkx")
    ig = pytest.importorskip("igraph")
    g = two_triangles(weight=[1, 2, 3, 4, 5, 6, 0.5])
    want = modularity(g, [0, 0, 0, 1, 1, 1])
    for other in (g.to_networkx(), g.to_igraph(), g.to_scipy(), g.to_scipy().toarray(),
                  sp.coo_matrix(g.to_scipy())):
        h = as_network(other)
        assert modularity(h, [0, 0, 0, 1, 1, 1]) == pytest.approx(want, abs=1e-14)
        assert h.n_edges == 7 and h.total_weight == pytest.approx(21.5)
    G = nx.karate_club_graph()
    r = louvain(G, random_state=0)
    assert set(r.to_dict()) == set(G.nodes())
    assert modularity(G, r.labels) == pytest.approx(
        nx.community.modularity(G, [set(c.tolist()) for c in r.communities]), abs=1e-12)
    D = nx.DiGraph([("a", "b"), ("b", "c"), ("c", "a")])
    assert as_network(D).directed and as_network(ig.Graph.Erdos_Renyi(20, 0.2, directed=True)).directed


def test_duplicate_edges_are_summed_with_a_warning():
    with pytest.warns(DuplicateEdgeWarning, match="1 edge.*summed"):
        g = Network.from_edges([0, 1, 1], [1, 2, 0], [1.0, 1.0, 2.0])
    assert g.adjacency[0, 1] == 3.0 and g.adjacency[1, 0] == 3.0
    d = Network.from_edges([0, 1, 1], [1, 2, 0], directed=True)  # not duplicates when directed
    assert d.adjacency[0, 1] == 1.0 and d.adjacency[1, 0] == 1.0


def test_self_loops_are_counted_once():
    g = Network.from_edges([0, 0, 1], [0, 1, 2], [2.0, 1.0, 1.0])
    assert g.adjacency[0, 0] == 2.0 and g.total_weight == 4.0
    # Q by hand: 2m = 2 + 2*1 + 2*1 = 6, k = [3, 2, 1], all in one community gives 0
    assert modularity(g, [0, 0, 0]) == pytest.approx(0.0, abs=1e-15)
    assert modularity(g, [0, 1, 1]) == pytest.approx((2 - 9 / 6 + 2 - 9 / 6) / 6)


def test_read_edge_list_formats(tmp_path):
    p = tmp_path / "e.csv"
    p.write_text("source,target,weight\na,b,1\nb,c,2\nc,a,1\nd,e,1\n")
    g = read_edge_list(p)
    assert isinstance(g, Network) and g.node_ids.tolist() == ["a", "b", "c", "d", "e"] and g.weighted
    t = tmp_path / "m.tsv"
    t.write_text("1\t2\t1\tfriend\n2\t3\t1\tfriend\n1\t3\t-1\tfoe\n")
    m = read_edge_list(t, layer_weights=[-1, 1])
    assert isinstance(m, Multiplex) and m.layer_names == ("foe", "friend") and m.node_ids.tolist() == [1, 2, 3]
    with pytest.raises(GraphclustError, match="does not exist"):
        read_edge_list(tmp_path / "missing.csv")
    bad = tmp_path / "bad.csv"
    bad.write_text("source,target,weight\na,b,x\n")
    with pytest.raises(GraphclustError, match="weight column.*numeric"):
        read_edge_list(bad)


# ------------------------------------------------------------------------ bad input
def test_negative_weight_in_single_graph_names_the_edge():
    g = Network.from_edges(["a", "b"], ["b", "c"], [1.0, -2.0])
    with pytest.raises(GraphclustError, match=r"negative edge weight.*\('b', 'c'\) = -2.0.*Multiplex"):
        louvain(g)
    with pytest.raises(GraphclustError, match="nonnegative weights"):
        modularity(g, [0, 0, 1])


def test_edge_sign_must_match_layer_weight():
    pos = Network.from_edges([0, 1], [1, 2], [1.0, 1.0])
    neg = Network.from_edges([0, 1], [1, 2], [-1.0, 0.5])
    with pytest.raises(GraphclustError, match=r"layer 1 has weight -1.0 < 0 but 1 positive edge.*\(1, 2\) = 0.5"):
        louvain(Multiplex((pos, neg), [1, -1]))
    with pytest.raises(GraphclustError, match=r"layer 0 has weight 1.0 > 0 but 1 negative edge.*\(0, 1\) = -1.0"):
        modularity(Multiplex((neg, pos)), [0, 0, 1])
    # an unweighted layer counts each edge as 1 in magnitude, whatever the layer's sign
    unweighted = Network.from_edges([0, 1], [1, 2])
    assert louvain(Multiplex((pos, unweighted), [1, -1]), random_state=0).n_communities >= 1


def test_layers_over_different_node_sets():
    a = Network.from_edges([0, 1], [1, 2])
    b = Network.from_edges([0, 1], [1, 3])
    with pytest.raises(GraphclustError, match="layer node sets differ: layer 1.*ID mismatch between layers: 1"):
        Multiplex((a, b))
    nx = pytest.importorskip("networkx")
    with pytest.raises(GraphclustError, match="layer node sets differ"):
        louvain([nx.path_graph(3), nx.path_graph(4)])
    # same ids in another order are aligned, not rejected
    c = Network.from_edges([2, 1], [1, 0], nodes=[2, 1, 0])
    m = Multiplex.from_layers([a, c])
    assert m.layers[1].node_ids.tolist() == [0, 1, 2]


def test_wrong_length_weight_and_resolution_vectors():
    a = Network.from_edges([0, 1], [1, 2])
    m = Multiplex((a, a))
    with pytest.raises(GraphclustError, match="layer_weights has 3 value.*2 layer"):
        louvain(m, layer_weights=[1, 1, 1])
    with pytest.raises(GraphclustError, match="resolution has 3 values but the graph has 2 layer"):
        modularity(m, [0, 0, 1], resolution=[1, 1, 1])
    with pytest.raises(GraphclustError, match="layer_weights applies to a Multiplex only"):
        louvain(a, layer_weights=[1])
    with pytest.raises(GraphclustError, match="resolution must be finite and >= 0"):
        louvain(a, resolution=-1)
    with pytest.raises(GraphclustError, match="weight has 1 values but there are 2 edges"):
        Network.from_edges([0, 1], [1, 2], [1.0])


def test_nan_weights_and_bad_matrices():
    with pytest.raises(GraphclustError, match=r"NaN or infinite edge weight.*\(1, 2\) = nan"):
        Network.from_edges([0, 1], [1, 2], [1.0, np.nan])
    with pytest.raises(GraphclustError, match="NaN or infinite weights"):
        louvain(np.array([[0, np.inf], [np.inf, 0]]))
    with pytest.raises(GraphclustError, match="not symmetric but directed=False.*directed=True"):
        louvain(np.array([[0, 1.0], [0, 0]]))
    with pytest.raises(GraphclustError, match="square adjacency matrix.*Network.from_edges"):
        modularity(np.ones((3, 2)), None)
    with pytest.raises(GraphclustError, match="cannot use a str as a graph"):
        louvain("edges.csv")


def test_empty_and_zero_weight_graphs():
    with pytest.raises(GraphclustError, match="no nodes"):
        louvain(sp.csr_array((0, 0)))
    z = Network.from_edges([0, 1], [1, 2], [0.0, 0.0])
    assert z.n_edges == 2  # zero-weight edges are kept
    with pytest.warns(UserWarning, match="zero total edge weight"):
        r = louvain(z)
    assert r.labels.tolist() == [0, 1, 2] and np.isnan(r.modularity)
    m = Multiplex((Network.from_edges([0, 1], [1, 2]), z))
    with pytest.warns(UserWarning, match=r"layer\(s\) \[1\] have zero total edge weight"):
        rm = louvain(m, random_state=0)
    assert np.isfinite(rm.modularity) and rm.modularity_layers[1] == 0.0


def test_labels_forms_and_errors():
    g = two_triangles(["a", "b", "c", "d", "e", "f"])
    full = modularity(g, ["x", "x", "x", "y", "y", "y"])
    assert modularity(g, {"a": 0, "b": 0, "c": 0, "d": 1, "e": 1, "f": 1}) == pytest.approx(full)
    assert modularity(g, [["a", "b", "c"], ["d", "e", "f"]]) == pytest.approx(full)
    partial = modularity(g, [["a", "b", "c"]])
    assert 0 < partial < full and modularity(g, []) == 0.0
    with pytest.raises(GraphclustError, match="one entry per node: expected shape \\(6,\\)"):
        modularity(g, [0, 1])
    with pytest.raises(GraphclustError, match="no entry for node 'f'"):
        modularity(g, {"a": 0, "b": 0, "c": 0, "d": 1, "e": 1})
    with pytest.raises(GraphclustError, match="community 0 names node 'zz'"):
        modularity(g, [["a", "zz"]])


def test_estimator_errors():
    with pytest.raises(GraphclustError, match="affinity must be one of"):
        Louvain(affinity="rbf").fit(np.eye(3))
    with pytest.raises(GraphclustError, match="n_neighbors must be <= 2"):
        Louvain(affinity="knn", n_neighbors=5).fit(np.random.default_rng(0).normal(size=(3, 2)))
    with pytest.raises(GraphclustError, match="no parameter 'k'"):
        Louvain().set_params(k=3)
