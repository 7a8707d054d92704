"""The UMAP + Gaussian-mixture start (pseudo_labels="umap-gmm") of the deep models."""
import numpy as np
import pytest

from .conftest import make_blobs
from graphclust._validation import GraphclustError
from graphclust.deep.dgg import DGG
from graphclust.deep.pseudo_labels import umap_gmm_labels
from graphclust.metrics import adjusted_rand_index, evaluate


def test_umap_gmm_labels_recover_blobs_and_are_reproducible():
    X, y = make_blobs(n=300, centers=4, d=5, std=1.0, seed=2)
    a = umap_gmm_labels(X, 4, n_init=3, random_state=0)
    b = umap_gmm_labels(X, 4, n_init=3, random_state=0)
    assert a.dtype == np.int64 and a.shape == (300,)
    np.testing.assert_array_equal(a, b)
    assert set(np.unique(a)) == {0, 1, 2, 3}
    assert adjusted_rand_index(y, a) >= 0.95


def test_umap_gmm_labels_prefers_the_gmm_over_an_elongated_split():
    # an elongated cluster next to two round ones: the lowest-SSE 3-partition cuts the long
    # one in two (k-means' failure on MNIST's 1s); the mixture keeps it whole
    rng = np.random.default_rng(0)
    long = np.c_[np.linspace(0, 12, 300), rng.normal(0, 0.3, 300)]
    r1 = rng.normal([4, 5], 0.4, (100, 2))
    r2 = rng.normal([8, 5], 0.4, (100, 2))
    X = np.vstack([long, r1, r2])
    y = np.repeat([0, 1, 2], [300, 100, 100])
    from graphclust.spectral.kmeans import kmeans_best_of

    assert adjusted_rand_index(y, kmeans_best_of(X, 3, n_init=10, random_state=0).labels) < 0.8
    assert adjusted_rand_index(y, umap_gmm_labels(X, 3, random_state=0)) >= 0.95


def test_umap_gmm_labels_bad_input():
    with pytest.raises(GraphclustError, match="needs at least"):
        umap_gmm_labels(np.random.default_rng(0).normal(size=(4, 3)), 3)
    with pytest.raises(GraphclustError, match="n_clusters"):
        umap_gmm_labels(np.zeros((10, 2)), 0)


def test_dgg_umap_gmm_start(tmp_path):
    X, y = make_blobs(n=150, centers=3, d=6, std=1.0, seed=1)
    X = (X - X.min()) / (X.max() - X.min())
    params = dict(latent_dim=3, hidden=(32, 32), epochs=4, pretrain_epochs=3, classifier_epochs=2,
                  n_neighbors=5, batch_size=64, n_jobs=1, n_init=2, cache_dir=tmp_path)
    a = DGG(3, pseudo_labels="umap-gmm", random_state=0, **params).fit(X, y)
    b = DGG(3, pseudo_labels="umap-gmm", random_state=0, **params).fit(X, y)
    assert a.pretrain_["cache_hit"] is False and b.pretrain_["cache_hit"] is True
    np.testing.assert_array_equal(a.labels_, b.labels_)
    assert evaluate(y, a.labels_)["ari"] > 0.9
    assert a.pretrain_["start_sse"] > 0
    assert "dgg: pseudo-labels + classifier" in a.timings_
    k = DGG(3, random_state=0, **params).fit(X)  # the k-means start is another cache entry
    assert k.pretrain_["cache_hit"] is False
    with pytest.raises(GraphclustError, match="pseudo_labels must be one of"):
        DGG(3, pseudo_labels="spectral", **params).fit(X)


def test_start_labels_are_kept_and_cached(tmp_path):
    X, y = make_blobs(n=150, centers=3, d=6, std=1.0, seed=1)
    X = (X - X.min()) / (X.max() - X.min())
    params = dict(latent_dim=3, hidden=(32, 32), epochs=3, pretrain_epochs=3, n_neighbors=5,
                  batch_size=64, n_jobs=1, n_init=2, cache_dir=tmp_path, random_state=0)
    cold = DGG(3, pseudo_labels="umap-gmm", **params).fit(X, y)
    warm = DGG(3, pseudo_labels="umap-gmm", **params).fit(X, y)  # start labels from the cache
    assert warm.pretrain_["cache_hit"] is True
    assert cold.start_labels_.shape == (150,) and cold.start_labels_.dtype == np.int64
    assert "start_labels" not in cold.pretrain_
    np.testing.assert_array_equal(cold.start_labels_, warm.start_labels_)
    np.testing.assert_array_equal(cold.labels_, warm.labels_)
    assert evaluate(y, cold.start_labels_)["ari"] > 0.9
    # the k-means start (the paper's) is kept the same way
    km = DGG(3, **dict(params, cache_dir=None, epochs=1)).fit(X)
    assert set(np.unique(km.start_labels_)) == {0, 1, 2}
