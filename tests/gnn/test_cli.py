"""``graphclust gnn`` end to end (a few folds and epochs), argument errors, lazy imports."""
import argparse
import csv
import json
import subprocess
import sys

import pytest

from .gnn_helpers import MUTAG, write_tu

from graphclust._validation import GraphclustError
from graphclust.gnn import cli as gnn_cli


def _parse(argv):
    parser = argparse.ArgumentParser(prog="graphclust")
    sub = parser.add_subparsers(dest="command")
    gnn_cli.add_parser(sub)
    return parser.parse_args(["gnn", *argv])


@pytest.mark.skipif(not MUTAG.is_dir(), reason="shared/data/MUTAG not present")
def test_end_to_end_on_mutag(tmp_path, capsys):
    pytest.importorskip("torch_geometric")
    out = tmp_path / "out"
    args = _parse([str(MUTAG), "--model", "majority,counts,base,community", "--folds", "2",
                   "--seeds", "1", "--epochs", "2", "--patience", "2", "--out", str(out), "-q"])
    assert args.func(args) == 0
    text = capsys.readouterr().out
    assert "MUTAG: 188 graphs, 3371 nodes, 7442 directed edges" in text
    assert "community vs counts" in text
    for name in ("folds.csv", "runs.csv", "summary.json", "gnn.png"):
        assert (out / name).stat().st_size > 0
    with open(out / "folds.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["fold"] for r in rows] == ["1", "2"]
    assert set(rows[0]) == {"fold", "n_test", "majority", "counts", "base", "community"}
    with open(out / "runs.csv") as fh:
        assert len(list(csv.DictReader(fh))) == 2 * 4
    summary = json.loads((out / "summary.json").read_text())
    assert summary["dataset"]["graphs"] == 188
    assert set(summary["models"]) == {"majority", "counts", "base", "community"}
    assert summary["settings"]["folds"] == 2 and summary["settings"]["seeds"] == [0]
    assert len(summary["paired_comparisons"]) == 3
    assert summary["example_molecule"]["communities"]


@pytest.mark.skipif(not MUTAG.is_dir(), reason="shared/data/MUTAG not present")
def test_edge_features_and_loss_selection_on_mutag(tmp_path, capsys):
    pytest.importorskip("torch_geometric")
    out = tmp_path / "out"
    args = _parse([str(MUTAG), "--model", "counts,gine,community", "--folds", "2", "--seeds", "1",
                   "--epochs", "2", "--patience", "2", "--edge-features", "--select-by", "loss",
                   "--conv", "gine", "--inner-folds", "2", "--out", str(out), "-q"])
    assert args.func(args) == 0
    assert "11 node features" in capsys.readouterr().out  # 7 atom types + 4 bond types
    summary = json.loads((out / "summary.json").read_text())
    assert summary["settings"]["inner_folds"] == 2 and "ensemble of 2 members" in summary["protocol"]
    with open(out / "runs.csv") as fh:
        runs = list(csv.DictReader(fh))
    assert {r["members"] for r in runs if r["model"] != "counts"} == {"2"}
    assert summary["dataset"]["node_features"] == 11 and summary["dataset"]["edge_features"]
    assert summary["settings"]["train"]["select_by"] == "loss"
    assert summary["settings"]["model_params"]["community"]["conv"] == "gine"
    assert set(summary["models"]) == {"counts", "gine", "community"}
    # the plotted molecule keeps its atom types (0..6), not the argmax of the widened features
    assert max(summary["example_molecule"]["node_labels"]) <= 6


def test_run_errors(tmp_path):
    args = _parse([str(tmp_path / "missing"), "--model", "majority", "--out", str(tmp_path / "o")])
    with pytest.raises(GraphclustError, match=r"does not exist"):
        args.func(args)
    bad = write_tu(tmp_path / "bad", A="1, 2\n2, 9\n")
    args = _parse([str(bad), "--model", "majority", "--out", str(tmp_path / "o2")])
    with pytest.raises(GraphclustError, match=r"TINY_A.txt line 2: node id out of range 1..5"):
        args.func(args)
    args = _parse([str(bad), "--model", "majority", "--inner-folds", "1",
                   "--out", str(tmp_path / "o3")])
    with pytest.raises(GraphclustError, match=r"--inner-folds must be >= 2"):
        args.func(args)
    (tmp_path / "file").write_text("x")
    args = _parse([str(bad), "--model", "majority", "--out", str(tmp_path / "file")])
    with pytest.raises(GraphclustError, match=r"cannot write to output directory"):
        args.func(args)


@pytest.mark.parametrize("argv, message", [
    (["d", "--model", "svm"], "unknown model(s) svm"),
    (["d", "--model", "base,base"], "listed twice"),
    (["d", "--folds", "0"], "expected a positive integer"),
])
def test_argument_errors(argv, message, capsys):
    with pytest.raises(SystemExit) as exc:
        _parse(argv)
    assert exc.value.code == 2
    assert message in capsys.readouterr().err


def test_imports_stay_light():
    """import graphclust, and building the gnn parser, load neither torch nor torch_geometric;
    a missing dependency raises ImportError naming the extra."""
    code = (
        "import sys, argparse, graphclust\n"
        "from graphclust.gnn import cli\n"
        "p = argparse.ArgumentParser(); cli.add_parser(p.add_subparsers())\n"
        "assert 'torch' not in sys.modules and 'torch_geometric' not in sys.modules, "
        "sorted(m for m in sys.modules if m.startswith('torch'))\n"
        "sys.modules['torch'] = None\n"  # as if the extra were missing (and no slow import)
        "try:\n"
        "    from graphclust.gnn import CommunityGCN\n"
        "except ImportError as exc:\n"
        "    assert 'graphclust[gnn]' in str(exc), exc\n"
        "    print('named the extra')\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "named the extra" in proc.stdout


def test_training_defaults_are_the_same_everywhere():
    """The CLI and GraphClassifier repeat TrainConfig's defaults (the CLI cannot import torch
    to read them); all three must agree."""
    pytest.importorskip("torch_geometric")
    import inspect

    from graphclust.gnn.estimator import GraphClassifier
    from graphclust.gnn.training import TrainConfig

    want = TrainConfig()
    args = _parse(["some_dir"])
    est = inspect.signature(GraphClassifier).parameters
    for name in ("epochs", "lr", "batch_size", "patience", "select_by", "lr_schedule"):
        assert getattr(args, name) == getattr(want, name), name
        assert est[name].default == getattr(want, name), name
    assert est["weight_decay"].default == want.weight_decay
