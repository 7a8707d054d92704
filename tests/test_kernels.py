import numpy as np
import pytest
import scipy.sparse as sp

import graphclust as gc
from graphclust import GraphclustError
from graphclust.graph import dense_self_tuning_affinity, symmetrize


def _naive_self_tuning(X, n_neighbors, sigma_rank):
    """Direct transcription of W_ij = exp(-|xi-xj|^2/(sigma_i sigma_j)) on the kNN graph (union)."""
    n = len(X)
    D = np.sqrt(((X[:, None, :] - X[None, :, :]) ** 2).sum(-1))
    order = np.argsort(D + np.diag(np.full(n, np.inf)), axis=1, kind="stable")
    sigma = D[np.arange(n), order[:, sigma_rank - 1]]
    W = np.zeros((n, n))
    for i in range(n):
        for j in order[i, :n_neighbors]:
            W[i, j] = np.exp(-D[i, j] ** 2 / (sigma[i] * sigma[j]))
    return np.maximum(W, W.T), sigma


@pytest.mark.parametrize("n_neighbors,sigma_rank", [(10, 7), (5, 7), (3, 1)])
def test_self_tuning_matches_naive(n_neighbors, sigma_rank):
    X = np.random.default_rng(0).standard_normal((80, 3))
    W, sigma = gc.self_tuning_affinity(X, n_neighbors, sigma_rank=sigma_rank, return_scales=True)
    ref, ref_sigma = _naive_self_tuning(X, n_neighbors, sigma_rank)
    np.testing.assert_allclose(sigma, ref_sigma, rtol=1e-12)
    np.testing.assert_allclose(W.toarray(), ref, rtol=1e-12, atol=1e-300)
    assert (abs(W - W.T)).max() == 0 and W.diagonal().sum() == 0


def test_dense_kernel_matches_formula():
    X = np.random.default_rng(1).standard_normal((60, 2))
    W, sigma = dense_self_tuning_affinity(X, sigma_rank=7, return_scales=True)
    D2 = ((X[:, None] - X[None]) ** 2).sum(-1)
    ref = np.exp(-D2 / np.outer(sigma, sigma))
    np.fill_diagonal(ref, 0)
    np.testing.assert_allclose(W, ref, rtol=1e-10, atol=1e-14)


def test_dense_kernel_memory_guard():
    with pytest.raises(GraphclustError, match=r"needs about .*affinity='knn'"):
        dense_self_tuning_affinity(np.random.default_rng(0).standard_normal((500, 2)), memory_limit=10**6)


def test_duplicates_give_no_nan():
    X = np.vstack([np.zeros((20, 2)), np.random.default_rng(2).standard_normal((40, 2))])
    W, sigma = gc.self_tuning_affinity(X, 8, sigma_rank=7, return_scales=True)
    assert np.all(np.isfinite(W.data)) and np.all(sigma > 0)
    # identical points are maximally similar
    assert W[0, 1] == pytest.approx(1.0)


def test_all_identical_points():
    W = gc.self_tuning_affinity(np.ones((12, 3)), 4, sigma_rank=3)
    assert np.all(np.isfinite(W.data)) and np.allclose(W.data, 1.0)


def test_gaussian_affinity():
    X = np.random.default_rng(3).standard_normal((50, 2))
    W = gc.gaussian_affinity(X, 6, sigma=0.7)
    i, j = W.nonzero()
    d2 = ((X[i] - X[j]) ** 2).sum(1)
    np.testing.assert_allclose(np.asarray(W[i, j]).ravel(), np.exp(-d2 / (2 * 0.49)))


def test_symmetrize_modes():
    W = sp.csr_matrix(np.array([[0, 1.0, 0], [0, 0, 2.0], [0, 2.0, 0]]))
    assert symmetrize(W, "union").toarray().tolist() == [[0, 1, 0], [1, 0, 2], [0, 2, 0]]
    assert symmetrize(W, "mutual").toarray().tolist() == [[0, 0, 0], [0, 0, 2], [0, 2, 0]]
    assert symmetrize(W, "mean").toarray().tolist() == [[0, 0.5, 0], [0.5, 0, 2], [0, 2, 0]]
    with pytest.raises(GraphclustError, match="symmetrize must be one of"):
        symmetrize(W, "avg")


def test_sigma_rank_too_large():
    with pytest.raises(GraphclustError, match="sigma_rank must be <= 9"):
        gc.self_tuning_affinity(np.random.default_rng(0).standard_normal((10, 2)), 3, sigma_rank=10)
