import numpy as np
import pytest
import scipy.sparse as sp

import graphclust as gc
from graphclust import GraphclustError
from graphclust.spectral import (
    eigengap,
    kmeans_best_of,
    normalized_laplacian,
    smallest_eigenpairs,
    spectral_embedding,
)
from graphclust.spectral.laplacian import check_affinity

from conftest import blobs


def _random_graph(n=120, seed=0, density=0.08):
    r = np.random.default_rng(seed)
    A = sp.random(n, n, density=density, random_state=r, data_rvs=lambda k: r.uniform(0.1, 1, k))
    A = sp.csr_matrix(A + A.T)
    A.setdiag(0)
    A.eliminate_zeros()
    return A


def test_laplacian_spectrum_properties():
    W = _random_graph()
    L = normalized_laplacian(W).toarray()
    lam = np.linalg.eigvalsh(L)
    assert np.allclose(L, L.T)
    assert lam.min() > -1e-10 and lam.max() < 2 + 1e-10  # spectrum of L_sym lies in [0, 2]
    n_comp = sp.csgraph.connected_components(W)[0]
    assert np.sum(np.abs(lam) < 1e-9) == n_comp  # multiplicity of 0 = number of components
    d = np.asarray(W.sum(1)).ravel()
    assert np.allclose(L @ np.sqrt(d), 0, atol=1e-10)  # D^1/2 1 is in the kernel


@pytest.mark.parametrize("solver", ["dense", "arpack", "lobpcg", "shift-invert"])
def test_solvers_agree_with_dense_reference(solver):
    X, _ = blobs(n=1800, centers=3, d=3, std=2.5, seed=1)  # one connected component
    W = gc.self_tuning_affinity(X, 10)
    ref = np.linalg.eigh(normalized_laplacian(W).toarray())
    res = smallest_eigenpairs(W, 5, eigen_solver=solver, random_state=0)
    np.testing.assert_allclose(res.values, ref[0][:5], atol=1e-6)
    # the subspace is the same: projections onto the reference subspace preserve the vectors
    P = ref[1][:, :5]
    np.testing.assert_allclose(np.linalg.norm(P.T @ res.vectors, axis=0), 1.0, atol=1e-4)


def test_disconnected_components_are_exact():
    X, y = blobs(n=600, centers=4, d=2, std=0.2, seed=2)
    W = gc.self_tuning_affinity(X, 8)
    res = smallest_eigenpairs(W, 6, random_state=0)
    assert res.n_components == 4
    assert np.all(res.values[:4] == 0) and res.values[4] > 0
    # each zero eigenvector is supported on exactly one component
    for j in range(4):
        support = np.unique(res.component_labels[np.abs(res.vectors[:, j]) > 1e-12])
        assert support.size == 1
    np.testing.assert_allclose(res.vectors.T @ res.vectors, np.eye(6), atol=1e-8)


def test_signs_fixed_and_seeded():
    W = gc.self_tuning_affinity(blobs(n=2000, centers=3, d=3, std=2.5, seed=3)[0], 10)
    a = smallest_eigenpairs(W, 4, eigen_solver="arpack", random_state=5).vectors
    b = smallest_eigenpairs(W, 4, eigen_solver="arpack", random_state=5).vectors
    np.testing.assert_array_equal(a, b)
    rows = np.argmax(np.abs(a), axis=0)
    assert np.all(a[rows, np.arange(4)] > 0)


def test_eigengap_relative_and_absolute():
    assert eigengap([0, 0, 0, 1e-5, 2e-5, 0.5])[0] == 3  # 3 components
    assert eigengap([0, 0.001, 0.002, 0.3, 0.31])[0] == 3
    assert eigengap([0, 0.001, 0.002, 0.3, 0.9], relative=False)[0] == 4
    with pytest.raises(GraphclustError, match="at least 2 eigenvalues"):
        eigengap([0.0])


def test_spectral_embedding_rows_unit_length():
    X, _ = blobs(n=300, centers=3, seed=4)
    U, eig = spectral_embedding(gc.self_tuning_affinity(X, 10), 3)
    np.testing.assert_allclose(np.linalg.norm(U, axis=1), 1.0)
    assert eig.values.shape == (3,)


def test_check_affinity_errors():
    with pytest.raises(GraphclustError, match="not symmetric"):
        check_affinity(np.array([[0, 1.0], [0, 0]]))
    with pytest.raises(GraphclustError, match="negative"):
        check_affinity(np.array([[0, -1.0], [-1.0, 0]]))
    with pytest.raises(GraphclustError, match="square"):
        check_affinity(np.zeros((2, 3)))


def test_kmeans_best_of_returns_lowest_sse_and_all_sses():
    X, y = blobs(n=500, centers=5, d=2, std=1.5, seed=5)
    km = kmeans_best_of(X, 5, n_init=12, random_state=0)
    assert km.inertias.shape == (12,) and km.inertia == km.inertias.min()
    # the SSE reported is the SSE of the labels and centres returned
    sse = ((X - km.centers[km.labels]) ** 2).sum()
    assert sse == pytest.approx(km.inertia, rel=1e-10)
    # labels are canonical: first appearance order
    _, first = np.unique(km.labels, return_index=True)
    assert np.all(np.diff(km.labels[np.sort(first)]) == 1)
    # never worse than scikit-learn's k-means with the same number of restarts
    from sklearn.cluster import KMeans
    sk = KMeans(5, n_init=12, random_state=0).fit(X)
    assert km.inertia <= sk.inertia_ * (1 + 1e-6)


def test_kmeans_thread_count_does_not_change_result():
    X, _ = blobs(n=400, centers=4, d=3, std=2.0, seed=6)
    a = kmeans_best_of(X, 4, n_init=6, random_state=1, n_jobs=1)
    b = kmeans_best_of(X, 4, n_init=6, random_state=1, n_jobs=2)
    np.testing.assert_array_equal(a.labels, b.labels)
    np.testing.assert_array_equal(a.inertias, b.inertias)


def test_kmeans_bad_k():
    with pytest.raises(GraphclustError, match="n_clusters must be <= 3"):
        kmeans_best_of(np.eye(3), 4)
