"""Conformance with Gonum's graph/community tests (the reference implementation).

Graphs and expected values are transcribed from gonum/gonum ``graph/community``:
``louvain_test.go`` (graphs), ``louvain_undirected_test.go``, ``louvain_directed_test.go``,
``louvain_undirected_multiplex_test.go``, ``louvain_directed_multiplex_test.go`` and
``k_communities_test.go``. Gonum's Louvain levels come from best-of-20 runs with Go's random
source; the top partition and Q are reproduced here with best-of-20 runs over our seeds, and the
reference's intermediate partitions are checked through their Q values (they depend on Go's
random stream, which is not reproduced).
"""
import math
import warnings

import numpy as np
import pytest

from graphclust.community import ModularityWarning, Multiplex, Network, k_clique_communities, louvain, modularity
from graphclust.community._louvain import _aggregated_q, _move_gains

# ------------------------------------------------------------------------ graphs (louvain_test.go)
UNCONNECTED = {5: []}  # nodes 0-5, no edges
SMALL_DUMBELL = {0: [1, 2], 1: [2], 2: [3], 3: [4, 5], 4: [5], 5: []}
DUMBELL_REPULSION = {0: [4], 1: [5], 2: [], 3: [], 4: [], 5: []}
REPULSION = {0: [3, 4, 5], 1: [3, 4, 5], 2: [3, 4, 5], 3: [0, 1, 2], 4: [0, 1, 2], 5: [0, 1, 2]}
SIMPLE_DIRECTED = {0: [1], 1: [0, 4], 2: [1], 3: [0, 4], 4: [2]}
ME_FRIENDS = {0: [], 1: [5, 7, 9, 12], 2: [11], 3: [4, 5, 10], 4: [3, 5, 10], 5: [1, 3, 4, 8, 10, 12],
              6: [], 7: [1, 12], 8: [5, 9, 11], 9: [1, 8, 12], 10: [3, 4, 5], 11: [2, 8], 12: [1, 5, 7, 9]}
ME_ENEMIES = {0: [1, 3, 5, 6, 7, 8, 9, 10, 11, 12], 1: [0, 2, 3, 6, 10, 11], 2: [1, 6, 7, 10, 12],
              3: [0, 1, 6, 7, 9, 12], 4: [6, 7, 9, 11, 12], 5: [0, 6, 7, 9, 11],
              6: [0, 1, 2, 3, 4, 5, 7, 8, 9, 10, 11, 12], 7: [0, 2, 3, 4, 5, 6, 8, 10],
              8: [0, 6, 7], 9: [0, 3, 4, 5, 6, 10], 10: [0, 1, 2, 6, 7, 9, 11, 12],
              11: [0, 1, 4, 5, 6, 10], 12: [0, 2, 3, 4, 6, 10]}
ZACHARY = {0: [], 1: [0, 2], 2: [0, 32], 3: [0, 1, 2], 4: [0, 6, 10], 5: [0, 6], 6: [0, 5],
           7: [0, 1, 2, 3], 8: [0, 2, 32, 33], 9: [2, 33], 10: [0, 5], 11: [0], 12: [0, 3],
           13: [0, 1, 2, 3, 33], 14: [32, 33], 15: [32, 33], 16: [5, 6], 17: [0, 1], 18: [32, 33],
           19: [0, 1, 33], 20: [32, 33], 21: [0, 1], 22: [32, 33], 23: [32, 33], 24: [27, 31],
           25: [23, 24, 31], 26: [29, 33], 27: [2, 23, 33], 28: [2, 31, 33], 29: [23, 32, 33],
           30: [1, 8, 32, 33], 31: [0, 32, 33], 32: [33], 33: []}
BLONDEL = {0: [2], 1: [2, 4, 7], 2: [], 3: [0, 7], 4: [0, 2, 10], 5: [0, 2, 7, 11], 6: [2, 7, 11],
           7: [], 8: [10], 9: [8], 10: [], 11: [8, 10], 12: [9, 10], 13: [10, 11], 14: [8, 9, 10], 15: [8]}

ZACHARY_4 = [[0, 1, 2, 3, 7, 11, 12, 13, 17, 19, 21], [4, 5, 6, 10, 16],
             [8, 9, 14, 15, 18, 20, 22, 26, 29, 30, 32, 33], [23, 24, 25, 27, 28, 31]]
BLONDEL_2 = [list(range(8)), list(range(8, 16))]
BLONDEL_4 = [[0, 1, 2, 4, 5], [3, 6, 7], [8, 9, 10, 12, 14, 15], [11, 13]]
DUMBELL_2 = [[0, 1, 2], [3, 4, 5]]
ME_4 = [[0, 6], [1, 7, 9, 12], [2, 8, 11], [3, 4, 5, 10]]


def graph(adj, *, directed=False, weight=1.0):
    n = max(max(adj), max((v for vs in adj.values() for v in vs), default=0)) + 1
    pairs = [(u, v) for u, vs in adj.items() for v in vs]
    if not directed:
        pairs = sorted({(min(u, v), max(u, v)) for u, v in pairs})
    src = [u for u, _ in pairs]
    dst = [v for _, v in pairs]
    return Network.from_edges(src, dst, [weight] * len(pairs) if pairs else None, directed=directed,
                              nodes=range(n))


def multiplex(layers, directed=False):
    """layers: list of (adjacency, edge weight, layer weight), as Gonum's layer{g, edgeWeight, weight}."""
    nets = [graph(adj, directed=directed, weight=ew) for adj, ew, _ in layers]
    return Multiplex(tuple(nets), [w for _, _, w in layers])


def labels_of(communities, n):
    lab = np.full(n, -1)
    for i, c in enumerate(communities):
        lab[list(c)] = i
    assert (lab >= 0).all()
    return lab


def best_of(g, runs=20, **kw):
    best = None
    for seed in range(runs):
        r = louvain(g, random_state=seed, **kw)
        qs = [lev.modularity for lev in r.levels]
        assert all(b >= a - 1e-12 for a, b in zip(qs, qs[1:])), f"Q decreased over levels: {qs}"
        if best is None or r.modularity > best.modularity:
            best = r
    return best


def sorted_communities(result):
    return sorted(sorted(c.tolist()) for c in result.communities)


# ------------------------------------------------------------------------ Q of given partitions
UNDIRECTED_Q = [  # (graph, resolution, partition, want, tol) from louvain_undirected_test.go
    (SMALL_DUMBELL, 1.0, DUMBELL_2, 0.357, 1e-3),
    (SMALL_DUMBELL, 1.0, [range(6)], 0.0, 1e-14),
    (ZACHARY, 1.0, ZACHARY_4, 0.4198, 1e-4),
    (ZACHARY, 0.5, [[0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 16, 17, 19, 21],
                    [8, 14, 15, 18, 20, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33]], 0.6218, 1e-3),
    (ZACHARY, 2.0, [[14, 18, 20, 22, 32, 33, 15], [0, 1, 11, 17, 19, 21], [2, 3, 7, 9, 12, 13],
                    [4, 5, 6, 10, 16], [24, 25, 28, 31], [23, 26, 27, 29], [8, 30]], 0.1645, 1e-3),
    (BLONDEL, 1.0, BLONDEL_2, 0.3922, 1e-4),
    # Level Q values Gonum reports (exact floats), for the partitions it lists.
    (SMALL_DUMBELL, 1.0, DUMBELL_2, 0.35714285714285715, 1e-15),
    (ZACHARY, 1.0, ZACHARY_4, 0.4197896120973044, 1e-15),
    (ZACHARY, 1.0, [[0, 1, 2, 3, 7, 11, 12, 13, 17, 19, 21], [4, 10], [5, 6, 16],
                    [8, 9, 14, 15, 18, 20, 22, 30, 32, 33], [23, 25], [24, 27], [26, 29], [28, 31]],
     0.3496877054569362, 1e-15),
    (ZACHARY, 1.0, [[0, 1, 2, 3, 7, 11, 12, 13, 17, 19, 21], [4, 10], [5, 6, 16],
                    [8, 9, 14, 15, 18, 20, 22, 26, 29, 30, 32, 33], [23, 24, 25, 27, 28, 31]],
     0.39907955292570674, 1e-15),
    (BLONDEL, 1.0, BLONDEL_2, 0.39221938775510207, 1e-15),
    (BLONDEL, 1.0, BLONDEL_4, 0.3463010204081633, 1e-15),
    (SMALL_DUMBELL, 1.0, None, -0.17346938775510204, 1e-15),
    (ZACHARY, 1.0, None, -0.04980276134122286, 1e-15),
    (BLONDEL, 1.0, None, -0.07142857142857144, 1e-15),
]

DIRECTED_Q = [  # from louvain_directed_test.go ("louvain igraph returns Q unscaled")
    (SIMPLE_DIRECTED, [[0, 1], [2, 3, 4]], 0.5714285714285716 / 7, 1e-10),
    (ZACHARY, ZACHARY_4, 34.3417721519 / 79, 1e-4),
    (BLONDEL, BLONDEL_2, 11.1428571429 / 28, 1e-4),
    (SIMPLE_DIRECTED, None, -1.2857142857142856 / 7, 1e-15),
    (ZACHARY, ZACHARY_4, 0.43470597660631316, 1e-15),
    (ZACHARY, [[0, 1, 2, 3, 7, 11, 12, 13, 17, 19, 21], [4, 10], [5, 6, 16], [8, 30],
               [9, 14, 15, 18, 20, 22, 32, 33], [23, 24, 25, 27, 28, 31], [26, 29]], 0.3911232174331037, 1e-15),
    (ZACHARY, None, -0.014580996635154624, 1e-15),
    (BLONDEL, BLONDEL_2, 0.3979591836734694, 1e-15),
    (BLONDEL, [[0, 1, 2, 4, 5], [3, 6, 7], list(range(8, 16))], 0.36862244897959184, 1e-15),
    (BLONDEL, None, -0.022959183673469385, 1e-15),
]

MULTIPLEX = {  # name: (layers, [(partition, want, tol)], top Q, bottom Q) from the multiplex tests
    "small_dumbell": ([(SMALL_DUMBELL, 1, 1), (DUMBELL_REPULSION, -1, -1)],
                      [(DUMBELL_2, 7.0, 1e-10), ([range(6)], 0.0, 1e-14)], 7.0, -1.4285714285714284),
    "small_dumbell_twice": ([(SMALL_DUMBELL, 1, 0.5), (SMALL_DUMBELL, 1, 0.5)],
                            [(DUMBELL_2, 5.0, 1e-10), ([range(6)], 0.0, 1e-14)],
                            0.35714285714285715 * 14, -0.17346938775510204 * 14),
    "repulsion": ([(REPULSION, -1, -1)], [(DUMBELL_2, 9.0, 1e-10), ([[i] for i in range(6)], 3.0, 1e-14)],
                  9.0, 3.0),
    "middle_east": ([(ME_FRIENDS, 1, 1), (ME_ENEMIES, -1, -1)],
                    [(ME_4, 33.8180574555, 1e-9),
                     ([[0, 2, 3, 4, 5, 10], [1, 7, 9, 12], [6], [8, 11]], 30.92749658, 1e-7),
                     ([range(13)], 0.0, 1e-14)],
                    33.818057455540355, 3.8071135430916545),
}
MULTIPLEX_DIRECTED = {
    "simple_directed": ([(SIMPLE_DIRECTED, 1, 1)], [([[0, 1], [2, 3, 4]], 0.5714285714285716, 1e-10)],
                        0.5714285714285716, -1.2857142857142856),
    "simple_directed_twice": ([(SIMPLE_DIRECTED, 1, 0.5), (SIMPLE_DIRECTED, 1, 0.5)],
                              [([[0, 1], [2, 3, 4]], 0.5714285714285716, 1e-10)],
                              0.5714285714285716, -1.2857142857142856),
    "small_dumbell": ([(SMALL_DUMBELL, 1, 1), (DUMBELL_REPULSION, -1, -1)],
                      [(DUMBELL_2, 2.5714285714285716, 1e-10), ([range(6)], 0.0, 1e-14)],
                      2.5714285714285716, -0.857142857142857),
    "repulsion": MULTIPLEX["repulsion"],
    "middle_east": ([(ME_FRIENDS, 1, 1), (ME_ENEMIES, -1, -1)],
                    [(ME_4, 33.818057455540355, 1e-9),
                     ([[0, 2, 3, 4, 5, 10], [1, 7, 9, 12], [6], [8, 11]], 30.92749658, 1e-7),
                     ([range(13)], 0.0, 1e-14)],
                    33.818057455540355, 3.8071135430916545),
}


@pytest.mark.parametrize("adj,gamma,partition,want,tol", UNDIRECTED_Q)
def test_q_undirected_matches_reference(adj, gamma, partition, want, tol):
    g = graph(adj)
    got = modularity(g, partition if partition is None else [list(c) for c in partition], gamma)
    assert math.isclose(got, want, rel_tol=tol, abs_tol=tol)
    if partition is not None:  # a label vector gives the same Q as the list of communities
        assert modularity(g, labels_of(partition, g.n_nodes), gamma) == pytest.approx(got, abs=1e-15)


@pytest.mark.parametrize("adj,partition,want,tol", DIRECTED_Q)
def test_q_directed_matches_reference(adj, partition, want, tol):
    got = modularity(graph(adj, directed=True), partition if partition is None else [list(c) for c in partition])
    assert math.isclose(got, want, rel_tol=tol, abs_tol=tol)


@pytest.mark.parametrize("directed", [False, True])
def test_q_multiplex_matches_reference(directed):
    table = MULTIPLEX_DIRECTED if directed else MULTIPLEX
    for name, (layers, structures, _, _) in table.items():
        g = multiplex(layers, directed)
        for partition, want, tol in structures:
            q = modularity(g, [list(c) for c in partition])
            assert q.shape == (len(layers),)
            assert math.isclose(q.sum(), want, rel_tol=tol, abs_tol=tol), name


def test_unconnected_q_is_nan_with_warning():
    g = graph(UNCONNECTED)
    assert g.n_nodes == 6
    with pytest.warns(ModularityWarning, match="zero total edge weight"):
        assert math.isnan(modularity(g, [[i] for i in range(6)]))
    with pytest.warns(ModularityWarning, match="undefined"):
        r = louvain(g, random_state=0)
    assert r.labels.tolist() == list(range(6)) and len(r.levels) == 1
    assert math.isnan(r.modularity)


# ------------------------------------------------------------------------ ΔQ, reduction
def _all_cases():
    for adj, gamma, partition, _, _ in UNDIRECTED_Q:
        if partition is not None:
            yield graph(adj), partition, {"resolution": gamma}
    for adj, partition, _, _ in DIRECTED_Q:
        if partition is not None:
            yield graph(adj, directed=True), partition, {}
    for directed, table in ((False, MULTIPLEX), (True, MULTIPLEX_DIRECTED)):
        for layers, structures, _, _ in table.values():
            for partition, _, _ in structures:
                yield multiplex(layers, directed), partition, {}


def test_predicted_gain_equals_change_in_q_for_every_move():
    """Gonum's TestCommunityDeltaQ*, for every node and *every* destination community."""
    n_checked = 0
    for g, partition, kw in _all_cases():
        n = g.n_nodes
        lab = labels_of(partition, n)
        before = np.sum(modularity(g, lab, **kw))
        k = lab.max() + 1
        for node in range(n):
            gains = _move_gains(g, lab, node, **kw)
            for c in range(k):
                if c == lab[node]:
                    continue
                moved = lab.copy()
                moved[node] = c
                after = np.sum(modularity(g, moved, **kw))
                assert gains[c] == pytest.approx(after - before, abs=1e-12), (node, c)
                n_checked += 1
    assert n_checked > 500


def test_q_is_preserved_by_reduction():
    """Gonum's TestReduceQConsistency*: Q of a partition == Q of the reduced graph's singletons."""
    for g, partition, kw in _all_cases():
        lab = labels_of(partition, g.n_nodes)
        assert _aggregated_q(g, lab, **kw) == pytest.approx(np.sum(modularity(g, lab, **kw)), abs=1e-12)
        singles = np.arange(g.n_nodes)
        assert _aggregated_q(g, singles, **kw) == pytest.approx(np.sum(modularity(g, None, **kw)), abs=1e-12)


# ------------------------------------------------------------------------ Louvain levels
@pytest.mark.parametrize("adj,want,top_q,bottom_q,n_levels", [
    (SMALL_DUMBELL, DUMBELL_2, 0.35714285714285715, -0.17346938775510204, 2),
    (ZACHARY, ZACHARY_4, 0.4197896120973044, -0.04980276134122286, 3),
    (BLONDEL, BLONDEL_2, 0.39221938775510207, -0.07142857142857144, 3),
])
def test_louvain_undirected_matches_reference(adj, want, top_q, bottom_q, n_levels):
    r = best_of(graph(adj))
    assert sorted_communities(r) == want
    assert r.modularity == pytest.approx(top_q, abs=1e-14)
    assert r.levels[0].modularity == pytest.approx(bottom_q, abs=1e-14)
    assert len(r.levels) == n_levels


@pytest.mark.parametrize("adj,want,top_q,bottom_q,n_levels", [
    (SIMPLE_DIRECTED, [[0, 1], [2, 3, 4]], 0.5714285714285716 / 7, -1.2857142857142856 / 7, 2),
    (ZACHARY, ZACHARY_4, 0.43470597660631316, -0.014580996635154624, 3),
    (BLONDEL, BLONDEL_2, 0.3979591836734694, -0.022959183673469385, 3),
])
def test_louvain_directed_matches_reference(adj, want, top_q, bottom_q, n_levels):
    r = best_of(graph(adj, directed=True))
    assert sorted_communities(r) == want
    assert r.modularity == pytest.approx(top_q, abs=1e-14)
    assert r.levels[0].modularity == pytest.approx(bottom_q, abs=1e-14)
    assert len(r.levels) == n_levels


@pytest.mark.parametrize("directed", [False, True])
def test_louvain_multiplex_matches_reference(directed):
    table = MULTIPLEX_DIRECTED if directed else MULTIPLEX
    for name, (layers, structures, top_q, bottom_q) in table.items():
        r = best_of(multiplex(layers, directed), all_communities=True)
        assert sorted_communities(r) == sorted(sorted(c) for c in structures[0][0]), name
        assert r.modularity == pytest.approx(top_q, abs=1e-12), name
        assert r.levels[0].modularity == pytest.approx(bottom_q, abs=1e-12), name
        assert len(r.levels) == 2, name


def test_all_communities_lets_a_repulsive_layer_split():
    """With only repulsive links a node has no helpful neighbour: ``all`` is needed to group."""
    g = multiplex([(REPULSION, -1, -1)])
    assert louvain(g, random_state=0).n_communities == 6
    r = louvain(g, all_communities=True, random_state=0)
    assert sorted_communities(r) == DUMBELL_2 and r.modularity == pytest.approx(9.0)


def test_non_contiguous_ids():
    """Gonum's TestNonContiguous*: ids 0, 1, 4, 5 (no 2, 3)."""
    g = Network.from_edges([0, 4], [1, 5])
    r = louvain(g, random_state=0)
    assert g.node_ids.tolist() == [0, 1, 4, 5]
    assert r.to_dict() == {0: 0, 1: 0, 4: 1, 5: 1}
    rm = louvain(Multiplex((g,)), all_communities=True, random_state=0)
    assert rm.to_dict() == r.to_dict()


# ------------------------------------------------------------------------ k-clique communities
BZ = {0: [], 1: [2, 3], 2: [4], 3: [4], 4: [5], 5: [], 6: [7, 8, 14], 7: [8, 11, 12, 14], 8: [14],
      9: [11], 10: [11], 11: [12], 12: [18], 13: [14, 15], 14: [15, 17], 15: [16, 17], 16: [],
      17: [18, 19, 20], 18: [19, 20], 19: [20], 20: []}


@pytest.mark.parametrize("adj,k,want", [
    ({0: [1, 2, 4, 6], 1: [2, 4, 6], 2: [3, 6], 3: [4, 5], 4: [6], 5: [], 6: []}, 3,
     [[0, 1, 2, 4, 6], [3], [5]]),
    (BZ, 3, [[0], [1], [2], [3], [4], [5], [6, 7, 8, 14], [7, 11, 12], [9], [10], [13, 14, 15, 17], [16],
             [17, 18, 19, 20]]),
    (BZ, 4, [[0], [1], [2], [3], [4], [5], [6, 7, 8, 14], [9], [10], [11], [12], [13], [15], [16],
             [17, 18, 19, 20]]),
])
def test_k_clique_communities_match_reference(adj, k, want):
    got = k_clique_communities(graph(adj), k)
    assert sorted(sorted(c.tolist()) for c in got) == want


def test_k_clique_small_k():
    g = graph(BZ)
    assert [c.tolist() for c in k_clique_communities(g, 1)] == [list(range(21))]
    comps = k_clique_communities(g, 2)
    assert [0] in [c.tolist() for c in comps] and len(comps) == 3
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match="k must be >= 1"):
            k_clique_communities(g, 0)
