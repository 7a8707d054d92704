"""``graphclust dgg`` end to end on tiny data (through deep.dgg_cli.add_parser / run)."""
import argparse
import json

import numpy as np
import pytest

from .conftest import make_blobs
from graphclust._validation import GraphclustError
from graphclust.deep import dgg_cli

FAST = ["--epochs", "3", "--pretrain-epochs", "3", "--threads", "1", "--batch-size", "64",
        "--hidden", "32,32", "--latent-dim", "3", "--n-neighbors", "5"]


def run_cli(*argv):
    parser = argparse.ArgumentParser(prog="graphclust")
    sub = parser.add_subparsers(dest="command")
    dgg_cli.add_parser(sub)
    args = parser.parse_args(["dgg", *map(str, argv)])
    return args.func(args)


@pytest.fixture
def blobs_csv(tmp_path):
    X, y = make_blobs(n=150, d=5)
    path = tmp_path / "blobs.csv"
    rows = ["a,b,c,d,e,species"] + [",".join(f"{v:.6f}" for v in x) + f",s{c}" for x, c in zip(X, y)]
    path.write_text("\n".join(rows) + "\n")
    return path, y


def test_cli_end_to_end(blobs_csv, tmp_path, capsys):
    path, _ = blobs_csv
    out = tmp_path / "out"
    cache = tmp_path / "cache"
    args = [path, "-k", "3", "--truth", "species", "--out", out, "--cache-dir", cache,
            "--sample", "4", "--lam", "1.0", *FAST]
    assert run_cli(*args) == 0
    printed = capsys.readouterr().out
    assert "150 points -> " in printed and "ACC" in printed
    for name in ("labels.csv", "embedding.npy", "summary.json", "latent.png", "training.png",
                 "samples.npy"):
        assert (out / name).is_file(), name
    assert not (out / "samples.png").exists()  # 5 features: not 28 x 28 images
    summary = json.loads((out / "summary.json").read_text())
    assert summary["command"] == "dgg" and summary["likelihood"] == "gaussian"
    assert summary["parameters"]["hidden"] == [32, 32]
    assert summary["graph"] == {"kind": "gaussian", "n_neighbors": 5}
    assert summary["pretraining"]["cache_hit"] is False
    assert len(summary["history"]) == summary["n_epochs"] == 3
    assert summary["metrics"]["ari"] >= 0.9
    assert np.load(out / "samples.npy").shape == (12, 5)
    assert np.load(out / "embedding.npy").shape == (150, 3)
    assert (out / "labels.csv").read_text().splitlines()[0] == "index,label,truth"
    # a rerun reads the cached pretraining and gives the same labels
    out2 = tmp_path / "out2"
    assert run_cli(*[a if a != out else out2 for a in args], "--no-plots") == 0
    assert "pretraining from cache" in capsys.readouterr().out
    assert (out / "labels.csv").read_text() == (out2 / "labels.csv").read_text()
    # --lam auto: the estimate is reported next to the parameter
    out3 = tmp_path / "out3"
    auto = [a if a != out else out3 for a in args]
    auto[auto.index("1.0")] = "auto"
    assert run_cli(*auto, "--no-plots", "--pseudo-labels", "umap-gmm", "--graph-space",
                   "latent", "--covariance", "full") == 0
    s3 = json.loads((out3 / "summary.json").read_text())
    assert s3["parameters"]["graph_space"] == "latent"
    assert s3["parameters"]["covariance"] == "full"
    assert summary["parameters"]["graph_space"] == "input"
    assert s3["parameters"]["lam"] == "auto" and 0 < s3["lam"] < float("inf")
    assert s3["parameters"]["pseudo_labels"] == "umap-gmm"
    assert summary["parameters"]["pseudo_labels"] == "kmeans"
    assert summary["lam"] == 1.0


def test_cli_image_samples_and_vade(tmp_path):
    rng = np.random.default_rng(0)
    protos = (rng.random((2, 784)) > 0.7).astype(float)
    X = np.clip(protos[np.arange(60) % 2] + 0.1 * rng.standard_normal((60, 784)), 0, 1)
    path = tmp_path / "imgs.npy"
    np.save(path, X)
    out = tmp_path / "out"
    assert run_cli(path, "-k", "2", "--out", out, "--sample", "3", "--graph-weight", "0",
                   "--no-plots", "--no-cache", *FAST) == 0
    assert (out / "samples.png").is_file()
    gen = np.load(out / "samples.npy")
    assert gen.shape == (6, 784) and gen.min() >= 0 and gen.max() <= 1
    summary = json.loads((out / "summary.json").read_text())
    assert summary["likelihood"] == "bernoulli" and summary["graph"] is None


def test_cli_bad_input(blobs_csv, tmp_path):
    path, _ = blobs_csv
    with pytest.raises(GraphclustError, match="likelihood='gaussian'"):
        run_cli(path, "-k", "3", "--truth", "species", "--likelihood", "bernoulli", "--out",
                tmp_path / "o", "--no-cache", *FAST)
    with pytest.raises(SystemExit):
        run_cli(path, "--n-neighbors", "-1")
    with pytest.raises(GraphclustError, match="--hidden"):
        run_cli(path, "--truth", "species", "--hidden", "a,b", "--out", tmp_path / "o2", "--no-cache")
