"""The distributed eigensolvers on one rank (a stand-in communicator) against scipy's eigsh."""
import numpy as np
import pytest
import scipy.sparse as sp
from scipy.sparse.linalg import eigsh

from graphclust.distributed.eigen import chebyshev_eigs, chunk_random, lanczos_eigs


class OneRank:
    rank, size = 0, 1

    def allsum(self, a):
        return np.array(a, dtype=np.float64, copy=True)


def _normalized_adjacency(n=600, seed=0):
    """M = D^-1/2 W D^-1/2 of a connected random geometric-like graph, and D^1/2 1 / norm."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 3))
    from graphclust import knn_graph

    W = knn_graph(X, 8, random_state=0)
    W = ((W + W.T) * 0.5).tocsr()
    d = np.asarray(W.sum(axis=1)).ravel()
    s = 1.0 / np.sqrt(d)
    M = sp.diags(s) @ W @ sp.diags(s)
    t = np.sqrt(d) / np.linalg.norm(np.sqrt(d))
    return M.tocsr(), t[:, None]


@pytest.mark.parametrize("n_eig", [1, 5, 12])
def test_lanczos_matches_eigsh_on_the_deflated_operator(n_eig):
    M, T = _normalized_adjacency()
    n = M.shape[0]
    theta, Y, info = lanczos_eigs(OneRank(), lambda X: M @ X, n, n_eig,
                                  v0=chunk_random(1, 0, n, 1), deflate=T, tol=1e-10)
    ref = np.sort(eigsh(M, k=n_eig + 1, which="LA")[0])[::-1]
    assert np.allclose(ref[0], 1.0)  # the deflated null vector of L_sym
    np.testing.assert_allclose(theta, ref[1:n_eig + 1], atol=1e-9)
    # orthonormal, orthogonal to the deflated vector, and eigenvectors
    np.testing.assert_allclose(Y.T @ Y, np.eye(n_eig), atol=1e-8)
    assert np.abs(T.T @ Y).max() < 1e-8
    assert np.abs(M @ Y - Y * theta).max() < 1e-8
    assert info["matvecs"] < 1000


def test_lanczos_and_chebyshev_agree():
    M, T = _normalized_adjacency(seed=2)
    n = M.shape[0]
    th_l, _, info_l = lanczos_eigs(OneRank(), lambda X: M @ X, n, 6,
                                   v0=chunk_random(0, 0, n, 1), deflate=T)
    X0 = chunk_random(0, 0, n, 16)
    X0[:, :1] = T
    th_c, _, info_c = chebyshev_eigs(OneRank(), lambda X: M @ X, n, 7, X0=X0, keep=16)
    np.testing.assert_allclose(th_l, th_c[1:], atol=1e-9)
    assert info_l["matvecs"] < info_c["matvecs"]  # the point of Lanczos: fewer products


def test_lanczos_refuses_a_too_small_graph():
    from graphclust.distributed._comm import GraphclustCollectiveError

    M = sp.identity(8, format="csr")
    with pytest.raises(GraphclustCollectiveError, match="too small"):
        lanczos_eigs(OneRank(), lambda X: M @ X, 8, 8, v0=np.ones(8))
