"""``graphclust vcc`` end to end on tiny data (through deep.cli.add_parser / run)."""
import argparse
import json

import numpy as np
import pytest

from .conftest import make_blobs
from graphclust._validation import GraphclustError
from graphclust.deep import cli

FAST = ["--epochs", "12", "--threads", "1", "--batch-size", "64"]


def run_cli(*argv):
    parser = argparse.ArgumentParser(prog="graphclust")
    sub = parser.add_subparsers(dest="command")
    cli.add_parser(sub)
    args = parser.parse_args(["vcc", *map(str, argv)])
    return args.func(args)


@pytest.fixture
def blobs_csv(tmp_path):
    X, y = make_blobs(n=240)
    path = tmp_path / "blobs.csv"
    rows = ["a,b,c,d,e,species"] + [",".join(f"{v:.6f}" for v in x) + f",s{c}" for x, c in zip(X, y)]
    path.write_text("\n".join(rows) + "\n")
    return path, y


def test_cli_end_to_end(blobs_csv, tmp_path, capsys):
    path, y = blobs_csv
    out = tmp_path / "out"
    code = run_cli(path, "-k", "3", "--truth", "species", "--out", out, "--preset", "fast", *FAST)
    assert code == 0
    printed = capsys.readouterr().out
    assert "240 points -> 3 clusters" in printed and "ACC" in printed
    for name in ("labels.csv", "embedding.npy", "summary.json", "latent.png", "training.png"):
        assert (out / name).is_file(), name
    summary = json.loads((out / "summary.json").read_text())
    assert summary["command"] == "vcc" and summary["preset"] == "fast"
    assert summary["parameters"]["hidden"] == [256, 256, 512]
    assert summary["parameters"]["bps_weight"] == 0.1  # the preset's, not the paper's 1
    assert summary["metrics"]["ari"] >= 0.95
    assert len(summary["history"]) == summary["n_epochs"] <= 12
    assert np.load(out / "embedding.npy").shape == (240, 10)  # the fast preset: 10-D latent
    header = (out / "labels.csv").read_text().splitlines()[0]
    assert header == "index,label,truth"


def test_cli_resume_and_ablation_flags(blobs_csv, tmp_path):
    path, _ = blobs_csv
    out = tmp_path / "out"
    args = [path, "-k", "3", "--truth", "species", "--out", out, "--no-plots",
            "--no-contraction", "--no-expansion", "--bps-repulsion", "negatives",
            "--init", "spectral", "--bps-weight", "0.5", "--lr-schedule", "linear",
            "--metric", "cosine",
            "--checkpoint", tmp_path / "ck.pt", *FAST]
    assert run_cli(*args) == 0
    first = json.loads((out / "summary.json").read_text())
    assert first["parameters"]["bps_weight"] == 0.5
    assert first["parameters"]["lr_schedule"] == "linear"
    assert first["parameters"]["metric"] == "cosine"
    assert first["parameters"]["contraction"] is False and first["parameters"]["expansion"] is False
    assert first["parameters"]["bps_repulsion"] == "negatives"
    assert first["parameters"]["init"] == "spectral"
    assert (tmp_path / "ck.pt").is_file()
    assert run_cli(*args, "--resume") == 0  # nothing left to train: same result
    again = json.loads((out / "summary.json").read_text())
    assert again["metrics"] == first["metrics"]


def test_cli_errors(tmp_path, blobs_csv):
    path, _ = blobs_csv
    with pytest.raises(GraphclustError, match="does not exist|not found|No such"):
        run_cli(tmp_path / "missing.csv", "--out", tmp_path / "o")
    with pytest.raises(GraphclustError, match="n_clusters must be <= 240"):
        run_cli(path, "-k", "500", "--truth", "species", "--out", tmp_path / "o", *FAST)
    with pytest.raises(SystemExit):
        run_cli(path, "--preset", "slow")
