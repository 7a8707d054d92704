"""Property and invariant tests for modularity and Louvain on random graphs (all seeded)."""
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from graphclust.community import Louvain, Multiplex, Network, louvain, modularity
from graphclust.community._louvain import _aggregated_q, _move_gains

nx = pytest.importorskip("networkx")


def random_graph(seed, n=None, p=None, directed=False, self_loops=False, zero_weights=False):
    rng = np.random.default_rng(seed)
    n = n or int(rng.integers(2, 25))
    p = p or float(rng.uniform(0.1, 0.6))
    mask = rng.random((n, n)) < p
    if not self_loops:
        np.fill_diagonal(mask, False)
    W = np.where(mask, rng.uniform(0.1, 5.0, (n, n)), 0.0)
    if zero_weights:
        W[mask & (rng.random((n, n)) < 0.2)] = 0.0
    if not directed:
        W = np.triu(W)
        W = W + np.triu(W, 1).T
    return W


def dense_q(W, labels, gamma=1.0, directed=False):
    """Independent brute force of the reference formulas on a dense matrix (A_ii = self weight)."""
    T = W.sum()
    kout, kin = W.sum(1), W.sum(0)
    same = labels[:, None] == labels[None, :]
    return float(((W - gamma * np.outer(kout, kin) / T) * same).sum() / T)


def to_nx(W, directed):
    G = nx.DiGraph() if directed else nx.Graph()
    G.add_nodes_from(range(W.shape[0]))
    r, c = np.nonzero(W)
    for i, j in zip(r, c):
        if directed or i <= j:
            G.add_edge(int(i), int(j), weight=float(W[i, j]))
    return G


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), directed=st.booleans(), gamma=st.floats(0.2, 3.0))
def test_modularity_matches_networkx(seed, directed, gamma):
    W = random_graph(seed, directed=directed)
    if W.sum() == 0:
        return
    rng = np.random.default_rng(seed + 1)
    labels = rng.integers(0, int(rng.integers(1, 6)), W.shape[0])
    ours = modularity(sp.csr_array(W), labels, gamma, directed=directed)
    comms = [set(np.flatnonzero(labels == c).tolist()) for c in np.unique(labels)]
    theirs = nx.community.modularity(to_nx(W, directed), comms, weight="weight", resolution=gamma)
    assert ours == pytest.approx(theirs, abs=1e-12)
    assert ours == pytest.approx(dense_q(W, labels, gamma), abs=1e-12)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), directed=st.booleans())
def test_modularity_with_self_loops_follows_the_matrix(seed, directed):
    """Self-loops: A_ii = s, counted once in the degree (Gonum's Q), checked by brute force."""
    W = random_graph(seed, directed=directed, self_loops=True)
    if W.sum() == 0:
        return
    labels = np.random.default_rng(seed).integers(0, 3, W.shape[0])
    assert modularity(sp.csr_array(W), labels, directed=directed) == pytest.approx(dense_q(W, labels), abs=1e-12)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), directed=st.booleans(), self_loops=st.booleans(),
       gamma=st.floats(0.3, 2.5))
def test_predicted_gain_equals_change(seed, directed, self_loops, gamma):
    W = random_graph(seed, n=12, directed=directed, self_loops=self_loops, zero_weights=True)
    if W.sum() == 0:
        return
    A = sp.csr_array(W)
    labels = np.random.default_rng(seed).integers(0, 4, 12)
    _, labels = np.unique(labels, return_inverse=True)
    before = modularity(A, labels, gamma, directed=directed)
    for node in range(12):
        gains = _move_gains(A, labels, node, resolution=gamma, directed=directed)
        for c in range(labels.max() + 1):
            if c != labels[node]:
                moved = labels.copy()
                moved[node] = c
                assert gains[c] == pytest.approx(modularity(A, moved, gamma, directed=directed) - before, abs=1e-12)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), directed=st.booleans(), self_loops=st.booleans())
def test_reduction_preserves_q(seed, directed, self_loops):
    W = random_graph(seed, directed=directed, self_loops=self_loops)
    if W.sum() == 0:
        return
    labels = np.random.default_rng(seed).integers(0, 5, W.shape[0])
    A = sp.csr_array(W)
    assert _aggregated_q(A, labels, directed=directed) == pytest.approx(
        modularity(A, labels, directed=directed), abs=1e-12)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("directed", [False, True])
def test_louvain_levels_rise_and_report_true_q(seed, directed):
    """Q never decreases over levels, and each level's Q is the modularity of its labels
    (self-loops included: graphclust's Louvain optimises the Q it reports)."""
    W = random_graph(seed, n=60, p=0.08, directed=directed, self_loops=True)
    A = sp.csr_array(W)
    r = louvain(A, random_state=seed, directed=directed)
    qs = [lev.modularity for lev in r.levels]
    assert all(b > a for a, b in zip(qs, qs[1:]))
    for lev in r.levels:
        assert lev.modularity == pytest.approx(modularity(A, lev.labels, directed=directed), abs=1e-12)
        assert lev.n_communities == len(np.unique(lev.labels))
    # membership is each level's expansion to the one below
    for below, above in zip(r.levels, r.levels[1:]):
        np.testing.assert_array_equal(above.membership[below.labels], above.labels)


def ring_of_cliques(n_cliques=8, size=6):
    src, dst = [], []
    for c in range(n_cliques):
        base = c * size
        for i in range(size):
            for j in range(i + 1, size):
                src.append(base + i)
                dst.append(base + j)
        src.append(base)
        dst.append(((c + 1) % n_cliques) * size + 1)
    return np.array(src), np.array(dst)


def test_same_seed_same_result_and_edge_order_does_not_matter():
    W = random_graph(3, n=200, p=0.03)
    a = louvain(sp.csr_array(W), random_state=7)
    b = louvain(sp.csr_array(W), random_state=7)
    np.testing.assert_array_equal(a.labels, b.labels)
    assert a.modularity == b.modularity
    src, dst = ring_of_cliques()
    perm = np.random.default_rng(0).permutation(src.shape[0])
    r1 = louvain(Network.from_edges(src, dst), random_state=1)
    r2 = louvain(Network.from_edges(dst[perm], src[perm]), random_state=1)
    np.testing.assert_array_equal(r1.labels, r2.labels)


@pytest.mark.parametrize("seed", range(3))
def test_relabelling_nodes_permutes_the_result(seed):
    src, dst = ring_of_cliques()
    n = max(src.max(), dst.max()) + 1
    perm = np.random.default_rng(seed).permutation(n)
    r1 = louvain(Network.from_edges(src, dst), random_state=seed)
    r2 = louvain(Network.from_edges(perm[src], perm[dst]), random_state=seed)
    assert r1.modularity == pytest.approx(r2.modularity, abs=1e-12)
    mapped = dict(zip(perm.tolist(), r1.labels.tolist()))  # node perm[i] had r1.labels[i]
    pairs = {(mapped[i], r2.labels[i]) for i in range(n)}
    assert len(pairs) == r1.n_communities == r2.n_communities == 8  # a bijection of the cliques


def test_undirected_is_directed_with_both_arcs():
    """One kernel: an undirected graph equals the directed graph holding both arcs."""
    W = random_graph(11, n=40, p=0.1)
    und = louvain(sp.csr_array(W), random_state=3)
    for lev in und.levels:
        assert modularity(sp.csr_array(W), lev.labels, directed=True) == pytest.approx(lev.modularity, abs=1e-12)
    single = louvain(Multiplex((Network(sp.csr_array(W)),)), random_state=3)
    np.testing.assert_array_equal(single.labels, und.labels)  # same moves, Q only rescaled
    assert single.modularity == pytest.approx(und.modularity * W.sum(), rel=1e-12)


def test_multiplex_negative_layer_splits_what_positive_joins():
    """Two cliques joined into one positive clique; a negative layer cuts them apart."""
    n = 12
    src, dst = np.triu_indices(n, 1)
    halves = np.arange(n) // 6
    cross = halves[src] != halves[dst]
    pos = Network.from_edges(src, dst, nodes=range(n))
    neg = Network.from_edges(src[cross], dst[cross], -np.ones(cross.sum()), nodes=range(n))
    assert louvain(pos, random_state=0).n_communities == 1
    g = Multiplex((pos, neg), layer_weights=[1.0, -1.0])
    for all_c in (False, True):
        r = louvain(g, all_communities=all_c, random_state=0)
        assert r.n_communities == 2
        assert len({(a, b) for a, b in zip(halves, r.labels)}) == 2
        q = modularity(g, r.labels)
        assert q[1] > 0 and r.modularity == pytest.approx(q.sum(), abs=1e-12)


def test_isolated_nodes_and_zero_weight_edges():
    g = Network.from_edges([0, 1, 2, 3, 4], [1, 2, 0, 4, 5], [1, 1, 1, 0, 0], nodes=range(8))
    r = louvain(g, random_state=0)
    assert r.labels[6] != r.labels[7] and r.labels[6] not in r.labels[:6]
    # nodes 3, 4, 5 are joined only by zero-weight edges: neighbours, but no gain to merge
    assert len(set(r.labels[[3, 4, 5]].tolist())) == 3
    assert r.n_communities == 6


def test_estimator_on_graph_and_points():
    src, dst = ring_of_cliques()
    A = Network.from_edges(src, dst)
    est = Louvain(random_state=0).fit(A)
    assert est.labels_.shape == (48,) and est.modularity_ == est.levels_[-1].modularity
    np.testing.assert_array_equal(est.fit_predict(A), est.labels_)
    assert est.get_params()["resolution"] == 1.0 and "Louvain(" in repr(est)
    rng = np.random.default_rng(0)
    centers = np.array([[0, 0], [10, 0], [0, 10]])
    X = np.concatenate([c + rng.normal(size=(60, 2)) for c in centers])
    y = np.repeat(np.arange(3), 60)
    lab = Louvain(affinity="knn", n_neighbors=10, resolution=0.5, random_state=0).fit_predict(X)
    from graphclust.metrics import evaluate

    assert evaluate(y, lab)["nmi"] > 0.9
