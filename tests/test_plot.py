"""Tests for graphclust.plot (small inputs; t-SNE only on a few dozen points)."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from graphclust._validation import GraphclustError
from graphclust.plot import plot_clusters, plot_kmeans_sse, plot_spectrum, project_2d

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def blobs(n=60, d=5, k=3, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(scale=8.0, size=(k, d))
    y = np.arange(n) % k
    return centers[y] + rng.normal(size=(n, d)), y


def assert_png(path, width, height):
    from matplotlib.image import imread

    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE and len(data) > 5000
    img = imread(path)
    assert img.shape[:2] == (height, width)
    assert img[..., :3].std() > 0.01  # not a blank image
    assert [p.name for p in path.parent.iterdir() if ".tmp" in p.name] == []


# ------------------------------------------------------------------------------ project_2d

def test_project_identity_and_pad():
    X, _ = blobs(d=2)
    Y, used = project_2d(X)
    assert used == "identity"
    np.testing.assert_array_equal(Y, X)
    Y, used = project_2d(X[:, :1])
    assert used.startswith("pad") and Y.shape == (60, 2) and np.all(Y[:, 1] == 0)


def test_project_pca_deterministic_sign():
    X, _ = blobs(n=200, d=6)
    Y, used = project_2d(X, method="pca")
    assert used == "pca" and Y.shape == (200, 2)
    Y2, _ = project_2d(-X, method="pca")  # flipped data: same picture up to the mirrored data
    np.testing.assert_allclose(np.abs(Y), np.abs(Y2), atol=1e-8)
    Y3, _ = project_2d(X.copy(), method="pca")
    np.testing.assert_array_equal(Y, Y3)
    np.testing.assert_allclose(Y.mean(axis=0), 0, atol=1e-9)
    assert Y[:, 0].var() >= Y[:, 1].var()


def test_project_auto_falls_back_to_pca_above_max_tsne():
    X, _ = blobs(n=50, d=4)
    Y, used = project_2d(X, max_tsne=20)
    assert used.startswith("pca") and "max_tsne=20" in used and Y.shape == (50, 2)


def test_project_explicit_tsne_subsample_needs_index():
    X, _ = blobs(n=40, d=4)
    with pytest.raises(GraphclustError, match="return_index=True"):
        project_2d(X, method="tsne", max_tsne=20)
    Y, used, index = project_2d(X, method="tsne", max_tsne=20, return_index=True)
    assert used.startswith("tsne") and "subsample of 20 of 40" in used
    assert Y.shape == (20, 2) and index.shape == (20,) and np.all(np.diff(index) > 0)
    _, _, index2 = project_2d(X, method="tsne", max_tsne=20, return_index=True)
    np.testing.assert_array_equal(index, index2)  # seeded


def test_project_bad_method():
    with pytest.raises(GraphclustError, match="method"):
        project_2d(np.zeros((5, 3)), method="umap")


# ------------------------------------------------------------------------------ plots

def test_plot_clusters_2d(tmp_path):
    X, y = blobs(n=300, d=2, k=4)
    out = plot_clusters(X, y, tmp_path / "c.png", figsize=(6, 4), dpi=80)
    assert out == tmp_path / "c.png"
    assert_png(out, 480, 320)


def test_plot_clusters_5d_pca_with_truth(tmp_path):
    X, y = blobs(n=300, d=5, k=4)
    labels = (y + 1) % 4
    out = plot_clusters(X, labels, tmp_path / "c.png", truth=np.array(list("abcd"))[y], projection="pca",
                        title="test", figsize=(10, 4), dpi=60)
    assert_png(out, 600, 240)


def test_plot_clusters_5d_tsne_small(tmp_path):
    X, y = blobs(n=45, d=5, k=3)
    out = plot_clusters(X, y, tmp_path / "t.png", projection="tsne", figsize=(5, 4), dpi=60)
    assert_png(out, 300, 240)


def test_plot_clusters_many_clusters_noise_and_subsample(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(3000, 3))
    labels = rng.integers(-1, 30, size=3000)
    out = plot_clusters(X, labels, tmp_path / "m.png", projection="pca", max_points=1000,
                        figsize=(5, 4), dpi=60)
    assert_png(out, 300, 240)


def test_plot_clusters_precomputed_projection_and_errors(tmp_path):
    X, y = blobs(n=30, d=4)
    out = plot_clusters(X, y, tmp_path / "p.png", projection=X[:, :2] * 2, figsize=(4, 3), dpi=50)
    assert_png(out, 200, 150)
    with pytest.raises(GraphclustError, match=r"shape \(30,\)"):
        plot_clusters(X, y[:-1], tmp_path / "bad.png")
    with pytest.raises(GraphclustError, match="projection"):
        plot_clusters(X, y, tmp_path / "bad.png", projection="umap")
    assert not (tmp_path / "bad.png").exists()


def test_plot_spectrum(tmp_path):
    ev = np.array([0.0, 0.001, 0.004, 0.31, 0.4, 0.52, 0.6, 0.71])
    out = plot_spectrum(ev, tmp_path / "s.png", n_clusters=3, figsize=(6, 4), dpi=70)
    assert_png(out, 420, 280)
    plot_spectrum(ev[::-1], tmp_path / "s2.png", gap_index=7, title="gap near the end", figsize=(6, 4), dpi=70)
    assert_png(tmp_path / "s2.png", 420, 280)
    plot_spectrum(ev, tmp_path / "s3.png", figsize=(6, 4), dpi=70)  # no gap marked
    assert_png(tmp_path / "s3.png", 420, 280)
    with pytest.raises(GraphclustError, match="gap_index"):
        plot_spectrum(ev, tmp_path / "bad.png", gap_index=8)


def test_plot_kmeans_sse(tmp_path):
    out = plot_kmeans_sse([12.0, 10.5, 11.0, 10.9], tmp_path / "k.png", figsize=(5, 3), dpi=60)
    assert_png(out, 300, 180)


def test_plot_failure_keeps_existing_file(tmp_path):
    target = tmp_path / "c.png"
    target.write_bytes(b"old")
    with pytest.raises(GraphclustError):
        plot_clusters(np.zeros((3, 2)), [0, 1], target)
    assert target.read_bytes() == b"old"


def test_no_pyplot_state():
    code = (
        "import sys, numpy as np, tempfile, os\n"
        "from graphclust.plot import plot_spectrum\n"
        "assert 'matplotlib' not in sys.modules\n"
        "d = tempfile.mkdtemp(); plot_spectrum([0, 0.1, 0.5], os.path.join(d, 's.png'), n_clusters=2)\n"
        "assert 'matplotlib.pyplot' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
