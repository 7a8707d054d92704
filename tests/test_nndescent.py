"""Tests for the deterministic numba NN-descent backend (graphclust.graph._nndescent)."""
from __future__ import annotations

import numpy as np
import pytest

numba = pytest.importorskip("numba")

from graphclust._validation import GraphclustError  # noqa: E402
from graphclust.datasets import gaussian_mixture  # noqa: E402
from graphclust.graph._nndescent import nndescent_knn  # noqa: E402


def _exact_knn(X, k):
    """Brute-force kNN (float64) excluding the point itself: (distances, indices)."""
    X = np.asarray(X, dtype=np.float64)
    sq = (X * X).sum(1)
    D2 = np.maximum(sq[:, None] + sq[None, :] - 2.0 * X @ X.T, 0.0)
    np.fill_diagonal(D2, np.inf)
    idx = np.argpartition(D2, k - 1, axis=1)[:, :k]
    d = np.take_along_axis(D2, idx, axis=1)
    o = np.lexsort((idx, d), axis=1)  # by distance, ties by index
    idx = np.take_along_axis(idx, o, axis=1)
    return np.sqrt(np.take_along_axis(d, o, axis=1)), idx


def _recall(found, exact):
    k = exact.shape[1]
    return (found[:, :, None] == exact[:, None, :]).any(axis=2).sum() / (exact.shape[0] * k)


@pytest.fixture(scope="module")
def clustered():
    X, _ = gaussian_mixture(3000, 10, 6, separation=4.0, intrinsic_dim=None, random_state=0)
    return X


@pytest.fixture(scope="module")
def result(clustered):
    return nndescent_knn(clustered, 10, random_state=7, return_stats=True)


def test_recall_vs_brute_force(clustered, result):
    dist, ind, stats = result
    _, exact = _exact_knn(clustered, 10)
    assert stats["n_iters"] >= 1  # the descent really ran (n > leaf_size)
    assert _recall(ind, exact) >= 0.95


def test_recall_larger_k(clustered):
    _, ind = nndescent_knn(clustered, 25, random_state=0)
    _, exact = _exact_knn(clustered, 25)
    assert _recall(ind, exact) >= 0.95


def test_shapes_dtypes_sorted_and_distances_true(clustered, result):
    dist, ind, _ = result
    n = clustered.shape[0]
    assert dist.shape == ind.shape == (n, 10)
    assert dist.dtype == np.float32 and ind.dtype == np.int64
    assert ind.min() >= 0 and ind.max() < n
    assert not (ind == np.arange(n)[:, None]).any()  # never itself
    assert all(len(set(row)) == 10 for row in ind)  # no repeated neighbour
    assert (np.diff(dist, axis=1) >= 0).all()
    ties = np.diff(dist, axis=1) == 0
    assert (np.diff(ind, axis=1)[ties] > 0).all()  # ties by lower index
    true = np.linalg.norm(clustered[ind] - clustered[:, None, :], axis=2)  # not squared
    np.testing.assert_allclose(dist, true, rtol=1e-4, atol=1e-5)


def test_same_seed_identical(clustered, result):
    dist, ind, _ = result
    dist2, ind2 = nndescent_knn(clustered, 10, random_state=7)
    np.testing.assert_array_equal(ind, ind2)
    np.testing.assert_array_equal(dist, dist2)
    # float64 input is computed in float32: same answer
    dist3, ind3 = nndescent_knn(clustered.astype(np.float64), 10, random_state=7)
    np.testing.assert_array_equal(ind, ind3)
    np.testing.assert_array_equal(dist, dist3)


def test_thread_count_does_not_change_result(clustered):
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("numba was started with a single thread")
    old = numba.get_num_threads()
    try:
        out = {}
        for t in (1, 2):
            numba.set_num_threads(t)
            out[t] = nndescent_knn(clustered, 12, random_state=3, return_stats=True)
    finally:
        numba.set_num_threads(old)
    assert out[1][2]["n_threads"] == 1 and out[2][2]["n_threads"] == 2
    np.testing.assert_array_equal(out[1][1], out[2][1])
    np.testing.assert_array_equal(out[1][0], out[2][0])
    assert out[1][2]["updates"] == out[2][2]["updates"]


def test_duplicates():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(1000, 5)).astype(np.float32)
    X[:300] = X[0]  # 300 identical rows
    dist, ind = nndescent_knn(X, 10, random_state=0)
    assert not (ind == np.arange(1000)[:, None]).any()
    assert (dist[:300] == 0).all()  # 299 other copies: all ten neighbours at distance 0
    assert (ind[:300] < 300).all()
    assert (dist[300:, 0] > 0).all()
    # all points identical (every split is degenerate)
    Z = np.ones((200, 3))
    dist, ind = nndescent_knn(Z, 7, random_state=1)
    assert (dist == 0).all()
    assert not (ind == np.arange(200)[:, None]).any()
    assert all(len(set(row)) == 7 for row in ind)
    assert (np.diff(ind, axis=1) > 0).all()  # all tied: ascending index


def test_small_n_is_exact():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(40, 4))
    dist, ind = nndescent_knn(X, 6, random_state=0)
    d_ex, i_ex = _exact_knn(X, 6)
    np.testing.assert_array_equal(ind, i_ex)
    np.testing.assert_allclose(dist, d_ex, rtol=1e-5)


def test_tiny_n_equals_k_plus_one():
    X = np.arange(12, dtype=np.float64).reshape(6, 2)
    dist, ind = nndescent_knn(X, 5, random_state=0)
    for i in range(6):
        assert sorted(ind[i]) == [j for j in range(6) if j != i]
    assert (np.diff(dist, axis=1) >= 0).all()


def test_forest_only_and_stats(clustered):
    dist, ind, stats = nndescent_knn(clustered, 10, random_state=0, max_iters=0,
                                     n_trees=2, leaf_size=30, return_stats=True)
    assert stats["n_iters"] == 0 and stats["n_trees"] == 2 and stats["leaf_size"] == 30
    assert not (ind == np.arange(len(ind))[:, None]).any()
    assert np.isfinite(dist).all()


@pytest.mark.parametrize("bad", [{"n_neighbors": 0}, {"n_neighbors": 6}, {"n_neighbors": 2.5},
                                 {"n_neighbors": 2, "n_trees": 0},
                                 {"n_neighbors": 2, "delta": -1.0},
                                 {"n_neighbors": 2, "random_state": "x"}])
def test_bad_parameters(bad):
    X = np.random.default_rng(0).normal(size=(6, 2))
    with pytest.raises(GraphclustError):
        nndescent_knn(X, **bad)


def test_bad_input():
    X = np.random.default_rng(0).normal(size=(20, 3))
    X[4, 1] = np.nan
    with pytest.raises(GraphclustError, match="NaN"):
        nndescent_knn(X, 3)
    with pytest.raises(GraphclustError):
        nndescent_knn(np.zeros(10), 3)
