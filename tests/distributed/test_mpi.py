"""The MPI pipeline under ``mpiexec -n 2`` and ``-n 3`` (uneven blocks), run as subprocesses.

Skipped when mpi4py or mpiexec is missing (``pip install 'graphclust[mpi]'``).
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

HERE = Path(__file__).parent
CHECKS = HERE / "_mpi_checks.py"
REPO = HERE.parent.parent


def _mpiexec():
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return None
    cand = Path(sys.executable).parent / "mpiexec"
    if cand.exists():
        return str(cand)
    return shutil.which("mpiexec")


MPIEXEC = _mpiexec()
pytestmark = pytest.mark.skipif(
    MPIEXEC is None, reason="mpi4py/mpiexec not installed (pip install 'graphclust[mpi]')")


def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO / "src") + os.pathsep + env.get("PYTHONPATH", "")
    env.setdefault("OMP_NUM_THREADS", "1")
    env.setdefault("OPENBLAS_NUM_THREADS", "1")
    return env


def run_mpi(nprocs, args, timeout=180):
    return subprocess.run([MPIEXEC, "-n", str(nprocs), sys.executable, *args],
                          capture_output=True, text=True, timeout=timeout, env=_env())


_CACHE: dict = {}


def run_checks(nprocs, checks, tmp_path_factory):
    """One mpiexec launch runs several checks (a launch costs seconds of imports)."""
    key = (nprocs, checks)
    if key not in _CACHE:
        out = tmp_path_factory.mktemp("mpi") / "out.json"
        proc = run_mpi(nprocs, [str(CHECKS), checks, str(out)])
        assert proc.returncode == 0, proc.stderr[-3000:]
        _CACHE[key] = json.loads(out.read_text())
    return _CACHE[key]


CHECKS_BY_P = {2: "pipeline,graph,mismatch", 3: "pipeline,graph,kmeans"}


@pytest.mark.parametrize("nprocs", [2, 3])
def test_pipeline_matches_serial(nprocs, tmp_path_factory):
    res = run_checks(nprocs, CHECKS_BY_P[nprocs], tmp_path_factory)["pipeline"]
    keys = ["hybrid/auto", "blobs/auto"] + (
        ["hybrid/chebyshev", "blobs/chebyshev", "hybrid/gather", "blobs/gather"] if nprocs == 2
        else [])
    assert sorted(res) == sorted(keys)
    for key in keys:
        r = res[key]
        assert r["ari_serial"] == 1.0, (key, r)
        assert r["ranks_agree"], key
        assert r["sigma_equal"], key
        assert r["eig_err"] < 1e-8, (key, r["eig_err"])
    assert res["hybrid/auto"]["solver"] in ("components", "lanczos")
    assert res["blobs/auto"]["solver"] == "lanczos"  # connected graph: the iterative solver
    if nprocs == 2:
        assert res["blobs/chebyshev"]["solver"] == "chebyshev"
    assert res["blobs/auto"]["bytes"]["affinity"] > 0  # the transposed entries were exchanged
    if nprocs == 2:
        assert res["blobs/gather"]["solver"].startswith("gather")


@pytest.mark.parametrize("nprocs", [2, 3])
def test_sigma_and_symmetrisation_equal_serial(nprocs, tmp_path_factory):
    res = run_checks(nprocs, CHECKS_BY_P[nprocs], tmp_path_factory)["graph"]
    assert len(res) == 6
    for key, r in res.items():
        assert r["sigma_equal"], key
        assert r["W_equal"], key


def test_kmeans_equals_serial_from_same_centres(tmp_path_factory):
    r = run_checks(3, CHECKS_BY_P[3], tmp_path_factory)["kmeans"]
    assert r["labels_equal"]
    assert r["centers_err"] < 1e-12
    assert r["sse_rel_err"] < 1e-12
    assert r["iters"][0] == r["iters"][1]
    assert r["kmeanspp_err"] == 0.0  # same seed -> the same k-means++ centres


def test_mismatched_data_is_detected_on_every_rank(tmp_path_factory):
    msgs = run_checks(2, CHECKS_BY_P[2], tmp_path_factory)["mismatch"]["messages"]
    assert len(msgs) == 2 and msgs[0] == msgs[1]
    assert "rank 0: 400" in msgs[0] and "rank 1: 399" in msgs[0]


def test_failure_on_one_rank_ends_the_job_with_its_message(tmp_path):
    out = tmp_path / "fault.json"
    proc = run_mpi(2, [str(CHECKS), "fault", str(out)], timeout=120)
    assert proc.returncode != 0
    assert "injected failure on the last rank" in proc.stderr
    assert "rank 1 of 2" in proc.stderr and "affinity" in proc.stderr
    assert not out.exists()


def test_cli_mpi_writes_once_and_matches_serial(tmp_path):
    from graphclust.datasets import hybrid
    from graphclust.metrics import evaluate
    from graphclust.spectral import SpectralClustering

    X, _ = hybrid(800, random_state=0)
    np.save(tmp_path / "pts.npy", X)
    outdir = tmp_path / "out"
    proc = run_mpi(2, ["-m", "graphclust", "spectral", str(tmp_path / "pts.npy"), "--mpi", "-k", "9",
                       "--no-plots", "--seed", "1", "--threads", "1", "--n-init", "3", "--out", str(outdir)])
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.count("wrote labels.csv") == 1
    labels = np.loadtxt(outdir / "labels.csv", delimiter=",", skiprows=1, dtype=np.int64)
    labels = labels[:, -1] if labels.ndim == 2 else labels
    serial = SpectralClustering(9, random_state=1, knn_method="exact", n_jobs=1,
                                n_init=3).fit_predict(X)
    assert evaluate(serial, labels)["ari"] == 1.0
    summary = json.loads((outdir / "summary.json").read_text())
    assert summary["mpi"]["ranks"] == 2 and summary["n_clusters"] == 9


def test_cli_missing_input_reported_once(tmp_path):
    proc = run_mpi(2, ["-m", "graphclust", "spectral", str(tmp_path / "missing.csv"), "--mpi",
                       "--out", str(tmp_path / "o")], timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.count("missing.csv") == 1, proc.stderr


def test_import_graphclust_does_not_import_mpi4py():
    code = ("import sys, graphclust, graphclust.distributed; "
            "assert 'mpi4py' not in sys.modules, 'mpi4py imported'")
    subprocess.run([sys.executable, "-c", code], check=True, env=_env(), timeout=60)
