"""Tests for graphclust.datasets.loaders on the real files in ../shared/data (see SOURCES.md)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from graphclust._validation import GraphclustError
from graphclust.datasets import (
    BENCHMARK_BATTERIES,
    data_dir,
    list_benchmarks,
    load_benchmark,
    load_mnist,
    load_scrna,
)
from graphclust.datasets import loaders

MNIST_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
SCRNA_COUNTS = [1791, 2293, 1248, 1089, 608, 350, 273, 230, 182, 119, 114, 105, 96, 70, 49]


@pytest.fixture(scope="module")
def real_data() -> Path:
    try:
        return data_dir()
    except FileNotFoundError as exc:  # pragma: no cover - only without the shared data
        pytest.skip(f"shared data not available: {exc}")


# ----------------------------------------------------------------------------- data_dir


def test_data_dir_finds_shared_data(real_data):
    assert (real_data / "SOURCES.md").is_file()
    assert (real_data / "images" / "mnist.npz").is_file()


def test_env_var_takes_precedence(tmp_path, monkeypatch):
    monkeypatch.setenv("GRAPHCLUST_DATA", str(tmp_path))
    assert data_dir() == tmp_path


def test_env_var_pointing_nowhere(tmp_path, monkeypatch):
    missing = tmp_path / "nope"
    monkeypatch.setenv("GRAPHCLUST_DATA", str(missing))
    with pytest.raises(FileNotFoundError, match="GRAPHCLUST_DATA is set") as info:
        data_dir()
    assert str(missing) in str(info.value)


def test_data_dir_not_found_lists_paths_tried(tmp_path, monkeypatch):
    # Pretend the package lives in <tmp>/repo/src/graphclust/datasets and run from <tmp>/repo.
    repo = tmp_path / "repo"
    fake = repo / "src" / "graphclust" / "datasets" / "loaders.py"
    fake.parent.mkdir(parents=True)
    monkeypatch.delenv("GRAPHCLUST_DATA", raising=False)
    monkeypatch.setattr(loaders, "__file__", str(fake))
    monkeypatch.chdir(repo)
    with pytest.raises(FileNotFoundError, match="Set the GRAPHCLUST_DATA") as info:
        data_dir()
    message = str(info.value)
    assert str(tmp_path / "shared" / "data") in message
    assert str(repo / "shared" / "data") in message
    # ... and <repo root>/../shared/data is found once it exists.
    (tmp_path / "shared" / "data").mkdir(parents=True)
    assert data_dir() == tmp_path / "shared" / "data"


@pytest.mark.parametrize(
    ("loader", "missing"),
    [
        (lambda: load_mnist(n_samples=10), "images/mnist.npz"),
        (lambda: load_scrna(), "scrna/cite_cbmc_top2000.npz"),
        (lambda: load_benchmark("fcps", "hepta"), "clustering_benchmarks_v1_fcps.npz"),
        (lambda: list_benchmarks("wut"), "clustering_benchmarks_v1_wut.npz"),
    ],
)
def test_missing_file_error_names_the_file(loader, missing, tmp_path, monkeypatch):
    monkeypatch.setenv("GRAPHCLUST_DATA", str(tmp_path))
    with pytest.raises(FileNotFoundError, match=missing.replace(".", r"\.")) as info:
        loader()
    assert str(tmp_path) in str(info.value)


# ----------------------------------------------------------------------------- MNIST


def test_mnist_all_raw(real_data):
    X, y = load_mnist(scale=False)
    assert X.shape == (70000, 784) and X.dtype == np.float32
    assert y.shape == (70000,) and y.dtype == np.int64
    assert X.min() == 0 and X.max() == 255 and np.array_equal(X[:50], np.round(X[:50]))
    assert np.bincount(y[:60000]).tolist() == MNIST_TRAIN_COUNTS
    assert np.bincount(y[60000:]).tolist() == MNIST_TEST_COUNTS


def test_mnist_subsets_and_first_n_samples(real_data):
    X_test, y_test = load_mnist("test")
    assert X_test.shape == (10000, 784) and X_test.dtype == np.float32
    assert 0.0 <= X_test.min() and X_test.max() == 1.0
    assert np.bincount(y_test).tolist() == MNIST_TEST_COUNTS
    X_tr, y_tr = load_mnist("train", n_samples=300, scale=False)
    X_all, y_all = load_mnist("all", n_samples=300, scale=False)
    assert X_tr.shape == (300, 784)
    assert np.array_equal(X_tr, X_all) and np.array_equal(y_tr, y_all)  # train block comes first
    assert np.allclose(X_test[:5] * 255, load_mnist("test", n_samples=5, scale=False)[0], atol=1e-4)


def test_mnist_pca_is_deterministic(real_data):
    Z, y = load_mnist(n_samples=1000, n_components=10)
    assert Z.shape == (1000, 10) and Z.dtype == np.float32 and y.shape == (1000,)
    assert np.allclose(Z.mean(axis=0), 0.0, atol=1e-4)
    var = Z.var(axis=0)
    assert np.all(np.diff(var) <= 1e-6)  # components in decreasing order of variance
    Z2, _ = load_mnist(n_samples=1000, n_components=10)
    assert np.array_equal(Z, Z2)


def test_mnist_bad_arguments(real_data):
    with pytest.raises(GraphclustError, match="subset must be one of"):
        load_mnist("validation")
    with pytest.raises(GraphclustError, match=r"n_samples must be <= 10000.*'test' subset"):
        load_mnist("test", n_samples=10001)
    with pytest.raises(GraphclustError, match="n_samples must be >= 1"):
        load_mnist(n_samples=0)
    with pytest.raises(GraphclustError, match="n_components must be <= 20"):
        load_mnist(n_samples=20, n_components=50)


# ----------------------------------------------------------------------------- scRNA


def test_scrna_raw_counts(real_data):
    X, y = load_scrna(preprocess=False)
    assert X.shape == (8617, 2000) and X.dtype == np.float32
    assert y.shape == (8617,) and y.dtype == np.int64
    assert X.min() == 0 and np.array_equal(X[:100], np.round(X[:100]))
    assert np.bincount(y).tolist() == SCRNA_COUNTS


def test_scrna_normalisation_without_pca(real_data):
    counts, _ = load_scrna(preprocess=False)
    X, y = load_scrna(n_components=None)
    assert X.shape == (8617, 2000) and X.dtype == np.float32
    totals = np.expm1(X.astype(np.float64)).sum(axis=1)
    target = np.median(counts.sum(axis=1))
    assert np.allclose(totals, target, rtol=1e-4)  # every cell rescaled to the median library size
    assert len(np.unique(y)) == 15


def test_scrna_pca(real_data):
    X, y = load_scrna(n_components=10)
    assert X.shape == (8617, 10) and X.dtype == np.float32
    assert np.isfinite(X).all() and np.bincount(y).tolist() == SCRNA_COUNTS
    assert np.allclose(X.mean(axis=0), 0.0, atol=1e-3)
    with pytest.raises(GraphclustError, match="n_components must be >= 1"):
        load_scrna(n_components=0)


# ----------------------------------------------------------------------------- benchmark suite


def test_list_benchmarks(real_data):
    sizes = {b: len(list_benchmarks(b)) for b in BENCHMARK_BATTERIES}
    assert sizes == {"wut": 22, "fcps": 9, "other": 8, "g2mg": 72}
    assert list_benchmarks("fcps") == ["atom", "chainlink", "engytime", "hepta", "lsun",
                                       "target", "tetra", "twodiamonds", "wingnut"]
    assert {"iris", "hdbscan", "chameleon_t4_8k"} <= set(list_benchmarks("other"))


def test_load_benchmark_shapes_and_labels(real_data):
    X, y = load_benchmark("fcps", "hepta")
    assert X.shape == (212, 3) and X.dtype == np.float64
    assert y.dtype == np.int64 and np.unique(y).tolist() == list(range(1, 8))
    # integer-valued g2mg data comes back as float64 too
    X, y = load_benchmark("g2mg", "g2mg_128_10")
    assert X.shape == (2048, 128) and X.dtype == np.float64 and np.array_equal(X, np.round(X))
    # alternative partition; 0 (noise) kept as stored
    _, y1 = load_benchmark("fcps", "target", labels=1)
    assert np.unique(y1).tolist() == [0, 1, 2]


def test_load_benchmark_errors(real_data):
    with pytest.raises(GraphclustError, match="battery must be one of 'wut', 'fcps', 'other', 'g2mg'"):
        load_benchmark("uci", "iris")
    with pytest.raises(GraphclustError, match="battery must be one of"):
        list_benchmarks("mnist")
    with pytest.raises(GraphclustError, match=r"Unknown dataset 'hepa'.*valid names: atom, .*hepta"):
        load_benchmark("fcps", "hepa")
    with pytest.raises(GraphclustError, match="no reference partition labels=2; available: 0, 1"):
        load_benchmark("fcps", "target", labels=2)
