"""Tests for graphclust.metrics (sklearn is used only as a reference implementation)."""
from __future__ import annotations

import itertools
import subprocess
import sys
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from graphclust import metrics
from graphclust._validation import GraphclustError
from graphclust.metrics import (
    acc,
    adjusted_rand_index,
    ari,
    clustering_accuracy,
    evaluate,
    nmi,
    normalized_mutual_info,
    sse,
)


def brute_force_acc(y_true, y_pred) -> float:
    """ACC by trying every injective map between the smaller and the larger label set."""
    classes, clusters = np.unique(y_true), np.unique(y_pred)
    table = np.array([[np.sum((y_true == c) & (y_pred == k)) for k in clusters] for c in classes])
    if table.shape[0] > table.shape[1]:
        table = table.T
    best = 0
    for cols in itertools.permutations(range(table.shape[1]), table.shape[0]):
        best = max(best, sum(table[i, j] for i, j in enumerate(cols)))
    return best / len(y_true)


@st.composite
def labelings(draw, max_n=80):
    n = draw(st.integers(1, max_n))
    k_true = draw(st.integers(1, 7))
    k_pred = draw(st.integers(1, 9))
    y_true = draw(st.lists(st.integers(0, k_true - 1), min_size=n, max_size=n))
    # Negative and gappy cluster ids, like noise labels from density-based methods.
    y_pred = draw(st.lists(st.integers(-1, 2 * k_pred), min_size=n, max_size=n))
    return np.array(y_true), np.array(y_pred)


# ----------------------------------------------------------------------------- reference values


@settings(max_examples=100, deadline=None)
@given(labelings())
def test_nmi_and_ari_match_sklearn(pair):
    y_true, y_pred = pair
    assert abs(normalized_mutual_info(y_true, y_pred)
               - normalized_mutual_info_score(y_true, y_pred)) <= 1e-12
    assert abs(adjusted_rand_index(y_true, y_pred) - adjusted_rand_score(y_true, y_pred)) <= 1e-12


@settings(max_examples=60, deadline=None)
@given(labelings(max_n=12))
def test_acc_matches_brute_force(pair):
    y_true, y_pred = pair
    assert clustering_accuracy(y_true, y_pred) == pytest.approx(brute_force_acc(y_true, y_pred))


@pytest.mark.parametrize("seed", range(5))
def test_random_labelings_match_sklearn_larger(seed):
    rng = np.random.default_rng(seed)
    n = 20_000
    y_true = rng.integers(0, 10, n)
    # Partly informative prediction with a different number of clusters.
    y_pred = np.where(rng.random(n) < 0.6, y_true * 3 + 7, rng.integers(0, 25, n))
    assert abs(nmi(y_true, y_pred) - normalized_mutual_info_score(y_true, y_pred)) <= 1e-12
    assert abs(ari(y_true, y_pred) - adjusted_rand_score(y_true, y_pred)) <= 1e-12


def test_one_million_labels_fast_and_exact():
    rng = np.random.default_rng(0)
    n = 1_000_000
    y_true = rng.integers(0, 10, n)
    y_pred = np.where(rng.random(n) < 0.5, y_true, rng.integers(0, 12, n))
    start = time.perf_counter()
    res = evaluate(y_true, y_pred)
    elapsed = time.perf_counter() - start
    assert elapsed < 10.0  # about 0.2 s on a laptop; generous for a loaded machine
    assert abs(res["nmi"] - normalized_mutual_info_score(y_true, y_pred)) <= 1e-12
    assert abs(res["ari"] - adjusted_rand_score(y_true, y_pred)) <= 1e-12
    assert 0.5 < res["acc"] < 0.6
    assert (res["n_classes"], res["n_clusters"]) == (10, 12)


# ----------------------------------------------------------------------------- known values


def test_perfect_match_up_to_relabelling():
    y_true = np.array([0, 0, 1, 1, 2, 2, 2])
    y_pred = np.array([5, 5, 9, 9, -1, -1, -1])
    assert clustering_accuracy(y_true, y_pred) == 1.0
    assert normalized_mutual_info(y_true, y_pred) == pytest.approx(1.0, abs=1e-15)
    assert adjusted_rand_index(y_true, y_pred) == pytest.approx(1.0, abs=1e-15)


def test_string_and_mixed_dtype_labels():
    y_true = ["cat", "cat", "dog", "dog", "bird", "bird"]
    y_pred = np.array([1, 1, 2, 2, 2, 3])
    # best matching: cat->1 (2), dog->2 (2), bird->3 (1) = 5/6
    assert clustering_accuracy(y_true, y_pred) == pytest.approx(5 / 6)
    assert nmi(y_true, y_pred) == pytest.approx(normalized_mutual_info_score(y_true, y_pred), abs=1e-12)
    assert ari(y_true, y_pred) == pytest.approx(adjusted_rand_score(y_true, y_pred), abs=1e-12)


def test_acc_more_clusters_than_classes_and_vice_versa():
    y_true = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    y_pred = np.array([0, 0, 1, 1, 2, 2, 3, 3])  # each class split in two
    assert clustering_accuracy(y_true, y_pred) == 0.5
    assert clustering_accuracy(y_pred, y_true) == 0.5
    # all in one cluster: only the largest class can be matched
    assert clustering_accuracy([0, 0, 0, 1, 2], [7, 7, 7, 7, 7]) == pytest.approx(3 / 5)


def test_acc_sparse_assignment_agrees_with_dense():
    rng = np.random.default_rng(3)
    for _ in range(20):
        n = int(rng.integers(1, 400))
        y_true = rng.integers(0, rng.integers(1, 15), n)
        y_pred = rng.integers(0, rng.integers(1, 40), n)
        table = metrics._contingency(y_true, y_pred)
        assert metrics._acc_from_table(table, force_sparse=True) == metrics._acc_from_table(table)


def test_acc_many_singleton_clusters_uses_sparse_path():
    rng = np.random.default_rng(1)
    n = 1_000_000
    y_true = rng.integers(0, 10, n)
    y_pred = np.arange(n)  # second half: singleton clusters (ids >= n/2)
    y_pred[: n // 2] = y_true[: n // 2]  # first half: 10 class-pure clusters
    table = metrics._contingency(y_true, y_pred)
    # 10 x 500,010 cells is above the dense limit, so the sparse matching runs.
    assert table.row_sums.size * table.col_sums.size > metrics._DENSE_ASSIGNMENT_MAX_CELLS
    # Each class is best matched to its pure cluster; a singleton could add at most 1 instead.
    assert clustering_accuracy(y_true, y_pred) == 0.5


def test_degenerate_cases_follow_sklearn():
    one = [3, 3, 3, 3]
    assert normalized_mutual_info(one, [1, 1, 1, 1]) == 1.0
    assert adjusted_rand_index(one, [1, 1, 1, 1]) == 1.0
    assert normalized_mutual_info(one, [0, 1, 2, 3]) == 0.0
    assert normalized_mutual_info_score(one, [0, 1, 2, 3]) == 0.0
    assert adjusted_rand_index(one, [0, 1, 2, 3]) == adjusted_rand_score(one, [0, 1, 2, 3])
    assert normalized_mutual_info([0, 1, 2, 3], [0, 1, 2, 3]) == 1.0
    assert adjusted_rand_index([7], [2]) == adjusted_rand_score([7], [2]) == 1.0
    assert clustering_accuracy([7], [2]) == 1.0
    assert adjusted_rand_index([0, 0, 1, 1], [0, 1, 0, 1]) == pytest.approx(-0.5)


def test_symmetry_of_nmi_and_ari():
    rng = np.random.default_rng(7)
    a, b = rng.integers(0, 4, 300), rng.integers(0, 6, 300)
    assert nmi(a, b) == pytest.approx(nmi(b, a), abs=1e-15)
    assert ari(a, b) == pytest.approx(ari(b, a), abs=1e-15)


def test_evaluate_and_aliases():
    y_true = np.array([0, 0, 1, 1, 1, 2])
    y_pred = np.array(["a", "a", "b", "b", "c", "c"])
    res = evaluate(y_true, y_pred)
    assert set(res) == {"acc", "nmi", "ari", "n_clusters", "n_classes"}
    assert res["acc"] == clustering_accuracy(y_true, y_pred) == pytest.approx(5 / 6)
    assert res["nmi"] == normalized_mutual_info(y_true, y_pred)
    assert res["ari"] == adjusted_rand_index(y_true, y_pred)
    assert res["n_clusters"] == 3 and res["n_classes"] == 3
    assert isinstance(res["n_clusters"], int) and isinstance(res["acc"], float)
    assert acc is clustering_accuracy and nmi is normalized_mutual_info and ari is adjusted_rand_index


# ----------------------------------------------------------------------------- sse


def test_sse_matches_kmeans_inertia():
    from sklearn.cluster import KMeans

    rng = np.random.default_rng(0)
    X = np.concatenate([rng.normal(c, 0.5, size=(100, 3)) for c in (0.0, 4.0, 8.0)])
    km = KMeans(3, n_init=1, random_state=0).fit(X)
    assert sse(X, km.labels_, km.cluster_centers_) == pytest.approx(km.inertia_, rel=1e-9)
    # the means are the optimal centres for a fixed partition
    assert sse(X, km.labels_) <= sse(X, km.labels_, km.cluster_centers_) + 1e-9


def test_sse_with_cluster_means_by_hand():
    X = np.array([[0.0, 0.0], [2.0, 0.0], [10.0, 10.0], [10.0, 12.0], [10.0, 14.0]])
    labels = ["a", "a", "b", "b", "b"]
    # cluster a: mean (1, 0) -> 1 + 1; cluster b: mean (10, 12) -> 4 + 0 + 4
    assert sse(X, labels) == pytest.approx(10.0)
    assert sse(X.astype(np.float32), np.array([0, 0, 1, 1, 1])) == pytest.approx(10.0)
    centers = np.array([[0.0, 0.0], [10.0, 10.0]])
    assert sse(X, [0, 0, 1, 1, 1], centers) == pytest.approx(4.0 + 0 + 4 + 16)
    assert sse(X, np.arange(5)) == 0.0


def test_sse_errors():
    X = np.zeros((4, 2))
    with pytest.raises(GraphclustError, match="one entry per row"):
        sse(X, [0, 1, 0])
    with pytest.raises(GraphclustError, match="same number of columns"):
        sse(X, [0, 1, 0, 1], np.zeros((2, 3)))
    with pytest.raises(GraphclustError, match=r"labels must lie in 0\.\.1"):
        sse(X, [0, 1, 2, 1], np.zeros((2, 2)))
    with pytest.raises(GraphclustError, match="integer row indices"):
        sse(X, ["a", "b", "a", "b"], np.zeros((2, 2)))
    with pytest.raises(GraphclustError, match="NaN or infinite"):
        sse(np.array([[0.0, np.nan], [1.0, 1.0]]), [0, 1])


# ----------------------------------------------------------------------------- validation


@pytest.mark.parametrize("func", [clustering_accuracy, normalized_mutual_info, adjusted_rand_index, evaluate])
def test_input_validation(func):
    with pytest.raises(GraphclustError, match="same length, got 3 and 2"):
        func([0, 1, 1], [0, 1])
    with pytest.raises(GraphclustError, match="y_true is empty"):
        func([], [])
    with pytest.raises(GraphclustError, match=r"y_pred must be 1-D.*\.ravel\(\)"):
        func([0, 1], np.array([[0], [1]]))
    with pytest.raises(GraphclustError, match="NaN or infinite"):
        func([0.0, np.nan], [0, 1])
    with pytest.raises(GraphclustError, match="cannot be compared"):
        func(np.array([1, "a", None], dtype=object), [0, 1, 1])


def test_import_does_not_load_sklearn_or_matplotlib():
    code = (
        "import sys, graphclust.metrics as m; m.evaluate([0, 1], [1, 0]);"
        "bad = [k for k in ('sklearn', 'matplotlib') if k in sys.modules];"
        "assert not bad, bad"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
