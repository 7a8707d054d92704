import subprocess
import sys
import warnings

import numpy as np
import pytest

import graphclust as gc
from graphclust import GraphclustError, SpectralClustering
from graphclust.datasets import hybrid
from graphclust.metrics import adjusted_rand_index

from conftest import blobs


@pytest.fixture(scope="module")
def hybrid_set():
    return hybrid(7500, random_state=0)


def test_hybrid_k9_quality_floor(hybrid_set):
    X, y = hybrid_set
    m = SpectralClustering(9, random_state=0).fit(X)
    assert adjusted_rand_index(y, m.labels_) >= 0.99
    assert m.n_graph_components_ == 9 and m.inertias_.shape == (10,)
    assert m.embedding_.shape == (7500, 9) and m.eigenvalues_.shape == (9,)
    assert set(m.timings_) == {"knn", "affinity", "eigen", "kmeans"}


def test_hybrid_auto_k_finds_nine(hybrid_set):
    X, y = hybrid_set
    m = SpectralClustering("auto", random_state=0).fit(X)
    assert m.n_clusters_ == 9
    assert adjusted_rand_index(y, m.labels_) >= 0.99


def test_more_components_than_clusters_groups_whole_components(hybrid_set):
    X, y = hybrid_set
    family = np.array([0, 0, 0, 1, 1, 2, 2, 3, 3])[y]  # blobs, circles, moons, spirals
    with pytest.warns(UserWarning, match=r"\d+ connected components but n_clusters=4"):
        m = SpectralClustering(4, n_neighbors=7, random_state=0).fit(X)
    assert adjusted_rand_index(family, m.labels_) == 1.0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_same_seed_same_labels_and_thread_independence(seed):
    X, _ = blobs(n=3000, centers=6, d=5, std=3.0, seed=seed)
    a = SpectralClustering(6, random_state=seed, n_jobs=1).fit_predict(X)
    b = SpectralClustering(6, random_state=seed, n_jobs=2).fit_predict(X)
    np.testing.assert_array_equal(a, b)


def test_permutation_invariance():
    X, y = blobs(n=900, centers=3, d=4, std=2.0, seed=7)
    perm = np.random.default_rng(0).permutation(len(X))
    a = SpectralClustering(3, random_state=0).fit_predict(X)
    b = SpectralClustering(3, random_state=0).fit_predict(X[perm])
    assert adjusted_rand_index(a[perm], b) == 1.0


def test_dense_affinity_matches_report_on_small_data():
    X, y = blobs(n=400, centers=4, d=2, std=0.5, seed=8)
    m = SpectralClustering(4, affinity="dense", random_state=0).fit(X)
    assert isinstance(m.affinity_matrix_, np.ndarray)
    assert adjusted_rand_index(y, m.labels_) == 1.0


def test_precomputed_affinity():
    X, y = blobs(n=300, centers=3, seed=9)
    W = gc.self_tuning_affinity(X, 10)
    labels = SpectralClustering(3, affinity="precomputed", random_state=0).fit_predict(W)
    assert adjusted_rand_index(y, labels) == 1.0


def test_gaussian_kernel_runs():
    X, y = blobs(n=300, centers=3, seed=10)
    m = SpectralClustering(3, kernel="gaussian", random_state=0).fit(X)
    assert adjusted_rand_index(y, m.labels_) == 1.0


@pytest.mark.parametrize("params,match", [
    ({"n_clusters": 0}, "n_clusters must be >= 1"),
    ({"n_clusters": 1000}, "n_clusters must be <= 300"),
    ({"n_clusters": "many"}, "positive integer or 'auto'"),
    ({"n_neighbors": 300}, "n_neighbors must be <= 299"),
    ({"kernel": "rbf"}, "kernel must be one of"),
    ({"eigen_solver": "magic"}, "eigen_solver must be one of"),
    ({"n_init": 0}, "n_init must be >= 1"),
])
def test_bad_parameters(params, match):
    X, _ = blobs(n=300, centers=3, seed=11)
    with pytest.raises(GraphclustError, match=match):
        SpectralClustering(**params).fit(X)


def test_constant_features_are_fine():
    X, y = blobs(n=300, centers=3, seed=12)
    Xc = np.c_[X, np.full(len(X), 5.0)]
    assert adjusted_rand_index(y, SpectralClustering(3, random_state=0).fit_predict(Xc)) == 1.0


def test_functional_form():
    X, y = blobs(n=200, centers=2, seed=13)
    assert adjusted_rand_index(y, gc.spectral_clustering(X, 2, random_state=0)) == 1.0


def test_sklearn_estimator_checks():
    from sklearn.utils.estimator_checks import check_estimator

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_estimator(SpectralClustering(3, n_neighbors=5, sigma_rank=3, random_state=0))


def test_import_is_light():
    code = ("import sys, graphclust; heavy = [m for m in ('torch', 'torch_geometric', 'mpi4py', "
            "'matplotlib', 'numba', 'sklearn', 'pyamg') if m in sys.modules]; print(','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_approximate_knn_path_is_thread_independent():
    # n >= 15,000 and d > 8: knn_method="auto" uses graphclust's NN-descent
    X, y = blobs(n=16000, centers=8, d=12, std=3.0, seed=21)
    a = SpectralClustering(8, random_state=3, n_jobs=1).fit(X)
    b = SpectralClustering(8, random_state=3, n_jobs=2).fit(X)
    assert a.knn_method_ == "nndescent"
    np.testing.assert_array_equal(a.labels_, b.labels_)
    assert adjusted_rand_index(y, a.labels_) >= 0.99
