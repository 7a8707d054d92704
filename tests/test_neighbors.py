import numpy as np
import pytest
from sklearn.neighbors import NearestNeighbors

import graphclust as gc
from graphclust import GraphclustError


def _reference(X, k):
    d, i = NearestNeighbors(n_neighbors=k + 1, algorithm="brute").fit(X).kneighbors(X)
    return d[:, 1:], i[:, 1:]


@pytest.mark.parametrize("method", ["brute", "kdtree", "exact"])
@pytest.mark.parametrize("d", [2, 12])
def test_exact_knn_matches_sklearn(method, d):
    X = np.random.default_rng(d).standard_normal((700, d))
    res = gc.knn(X, 8, method=method)
    dist, idx = _reference(X, 8)
    np.testing.assert_allclose(res.distances, dist, rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(res.indices, idx)


def test_brute_small_blocks_equal_one_block():
    X = np.random.default_rng(1).standard_normal((500, 20))
    a = gc.knn(X, 5, method="brute", block_size=7)
    b = gc.knn(X, 5, method="brute")
    np.testing.assert_array_equal(a.indices, b.indices)
    np.testing.assert_allclose(a.distances, b.distances)


@pytest.mark.parametrize("method", ["brute", "kdtree"])
def test_duplicates_never_list_self_and_are_deterministic(method):
    X = np.repeat(np.random.default_rng(2).standard_normal((30, 3)), 6, axis=0)  # 6 copies each
    res = gc.knn(X, 7, method=method)
    assert not (res.indices == np.arange(len(X))[:, None]).any()
    # the 5 other copies are at distance 0 and come first, in index order
    assert np.all(res.distances[:, :5] == 0)
    assert np.all(res.distances[:, 5:] > 0)
    assert np.all(np.diff(res.indices[:, :5], axis=1) > 0)
    np.testing.assert_array_equal(res.indices, gc.knn(X, 7, method=method).indices)


def test_knn_graph_csr():
    X = np.random.default_rng(3).standard_normal((50, 4))
    G = gc.knn_graph(X, 4)
    assert G.shape == (50, 50) and G.nnz == 200
    assert np.all(np.diff(G.indptr) == 4)
    C = gc.knn_graph(X, 4, mode="connectivity")
    assert set(np.unique(C.data)) == {1.0}


@pytest.mark.parametrize("bad,match", [
    (np.zeros((0, 3)), "0 sample"),
    (np.zeros(5), "2-D"),
    (np.array([[1.0, np.nan], [0, 1], [2, 2]]), "row.*0"),
])
def test_knn_bad_input(bad, match):
    with pytest.raises(GraphclustError, match=match):
        gc.knn(bad, 1)


def test_knn_too_many_neighbors():
    with pytest.raises(GraphclustError, match="n_neighbors must be <= 9"):
        gc.knn(np.random.default_rng(0).standard_normal((10, 2)), 10)


def test_knn_unknown_method():
    with pytest.raises(GraphclustError, match="method must be one of"):
        gc.knn(np.zeros((5, 2)) + np.arange(5)[:, None], 2, method="faiss")
