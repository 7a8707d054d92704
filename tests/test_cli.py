import json
import subprocess
import sys

import numpy as np
import pytest

from graphclust.cli import main

from conftest import blobs


@pytest.fixture
def points_csv(tmp_path):
    X, y = blobs(n=240, centers=3, d=2, std=0.4, seed=0)
    path = tmp_path / "points.csv"
    with open(path, "w") as fh:
        fh.write("x,y,kind\n")
        for (a, b), label in zip(X, y):
            fh.write(f"{a:.6f},{b:.6f},type{label}\n")
    return path


def test_spectral_end_to_end(points_csv, tmp_path, capsys):
    out = tmp_path / "out"
    rc = main(["spectral", str(points_csv), "--n-clusters", "3", "--truth", "kind",
               "--out", str(out), "--seed", "1", "--quiet"])
    assert rc == 0
    for name in ("labels.csv", "summary.json", "clusters.png", "spectrum.png"):
        assert (out / name).stat().st_size > 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n_samples"] == 240 and summary["n_features"] == 2
    assert summary["metrics"]["ari"] == 1.0
    assert summary["kmeans"]["best_sse"] == min(summary["kmeans"]["sses"])
    assert {"knn", "affinity", "eigen", "kmeans", "total"} <= set(summary["timings_seconds"])
    assert len(summary["eigenvalues"]) >= 3
    labels = np.loadtxt(out / "labels.csv", delimiter=",", skiprows=1, dtype=int)
    assert labels.shape == (240, 2) and set(labels[:, 1]) == {0, 1, 2}
    assert "ARI 1.0000" in capsys.readouterr().out
    # no temporary files left behind
    assert not [p for p in out.iterdir() if p.name.startswith(".")]


def test_same_seed_same_labels(points_csv, tmp_path):
    for run in ("a", "b"):
        assert main(["spectral", str(points_csv), "--truth", "kind", "--out", str(tmp_path / run),
                     "--seed", "7", "--no-plots", "-q"]) == 0
    assert (tmp_path / "a" / "labels.csv").read_text() == (tmp_path / "b" / "labels.csv").read_text()


def test_auto_k_on_npy(tmp_path):
    X, _ = blobs(n=400, centers=4, d=5, std=0.3, seed=3)
    np.save(tmp_path / "x.npy", X)
    assert main(["spectral", str(tmp_path / "x.npy"), "--out", str(tmp_path / "o"), "--no-plots", "-q"]) == 0
    assert json.loads((tmp_path / "o" / "summary.json").read_text())["n_clusters"] == 4


def test_missing_file(tmp_path, capsys):
    rc = main(["spectral", str(tmp_path / "nope.csv"), "--out", str(tmp_path / "o")])
    assert rc == 2
    err = capsys.readouterr().err
    assert "nope.csv" in err and "Traceback" not in err


def test_non_numeric_column_named(points_csv, tmp_path, capsys):
    rc = main(["spectral", str(points_csv), "--out", str(tmp_path / "o")])
    assert rc == 2
    assert "kind" in capsys.readouterr().err


def test_unwritable_out_checked_before_computing(points_csv, tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    rc = main(["spectral", str(points_csv), "--truth", "kind", "--out", str(blocker / "sub")])
    assert rc == 2
    assert "output directory" in capsys.readouterr().err


def test_bad_parameters_exit_2(points_csv, tmp_path, capsys):
    rc = main(["spectral", str(points_csv), "--truth", "kind", "--n-neighbors", "500",
               "--out", str(tmp_path / "o")])
    assert rc == 2
    assert "n_neighbors must be <= 239" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["spectral", str(points_csv), "--n-clusters", "0"])
    assert exc.value.code == 2


def test_dense_affinity_too_big_is_a_clear_error(tmp_path, capsys, monkeypatch):
    import graphclust.graph.kernels as kernels

    monkeypatch.setattr(kernels, "available_memory_bytes", lambda: 10**6)
    X, _ = blobs(n=300, centers=3, seed=4)
    np.save(tmp_path / "x.npy", X)
    rc = main(["spectral", str(tmp_path / "x.npy"), "--affinity", "dense", "--out", str(tmp_path / "o")])
    assert rc == 2
    assert "--affinity knn" in capsys.readouterr().err


def test_demo_small(tmp_path, capsys):
    assert main(["demo", "--n", "2700", "--repeats", "1", "--no-plots", "--out", str(tmp_path / "d")]) == 0
    out = capsys.readouterr().out
    assert "scenario" in out and "default" in out
    summary = json.loads((tmp_path / "d" / "demo_summary.json").read_text())
    default = next(r for r in summary["scenarios"] if r["scenario"] == "default")
    assert default["ari_9_components"] >= 0.99


def test_module_entry_point_and_version():
    out = subprocess.run([sys.executable, "-m", "graphclust", "--version"], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.startswith("graphclust ")
    out = subprocess.run([sys.executable, "-m", "graphclust", "spectral", "--help"], capture_output=True, text=True)
    assert "--n-clusters" in out.stdout and "--truth" in out.stdout
