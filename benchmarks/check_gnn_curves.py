"""Diagnosis only: the mean test accuracy of a model at every epoch, over the 10 outer folds.

Each (fold, seed) trains on *all* of the fold's training graphs with no validation split and
no epoch selection, and scores its test fold after every epoch; the script prints the curve
averaged over folds and seeds, the training loss, and the epoch where the mean curve peaks.
It answers "how good can a fixed training length be with these settings?", i.e. whether a model
is held back by its optimisation or by the selection of the epoch. It reads the test folds at
every epoch, so it must never be used to pick a setting that is then reported (RESULTS_gnn.md
Addendum 5 used it on split seed 1 to find the cause; the reported settings were picked by the
validation criterion and measured on split seed 0).

The folds are cross_validate's (StratifiedKFold, shuffled with the split seed); bond types are
on (``edge_features=True``). Training settings start from lr 0.01 constant, batch 32 (the
first reports' schedule) and take the JSON overrides given.

Usage::

    .venv/bin/python benchmarks/check_gnn_curves.py MODEL 'TRAIN_JSON' 'MODEL_JSON' SPLIT_SEED SEEDS EPOCHS
    .venv/bin/python benchmarks/check_gnn_curves.py gine '{"lr": 0.001, "lr_schedule": "cosine"}' '{}' 1 2 300

Never run as a test.
"""
import json
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "MUTAG"
REPORT_AT = (5, 10, 20, 30, 50, 75, 100, 150, 200, 300)


def _task(args):
    model_name, train_cfg, params, split, fold, seed, epochs = args
    import torch
    from sklearn.model_selection import StratifiedKFold

    from graphclust.gnn.models import build_model, edge_dim_of
    from graphclust.gnn.training import TrainConfig, predict_logits, seeded, train_model
    from graphclust.gnn.tu import load_tu_dataset

    graphs = list(load_tu_dataset(DATA, edge_features=True).graphs)
    y = np.array([int(g.y) for g in graphs])
    skf = StratifiedKFold(10, shuffle=True, random_state=split)
    tr, te = list(skf.split(np.zeros(len(y)), y))[fold]
    train, test = [graphs[i] for i in tr], [graphs[i] for i in te]
    y_test = torch.tensor(y[te])
    with seeded(seed):
        model = build_model(model_name, graphs[0].x.shape[1], 2, edge_dim=edge_dim_of(graphs),
                            **{"hidden": 64, **params})
    acc, loss = [], []

    def after_epoch(epoch, record):
        acc.append(float((predict_logits(model, test).argmax(1) == y_test).float().mean()))
        loss.append(record.get("train_loss", float("nan")))

    cfg = {"epochs": epochs, "patience": epochs + 1, "lr": 0.01, "lr_schedule": "constant",
           "batch_size": 32, **train_cfg}
    train_model(model, train, [], TrainConfig(**cfg), seed=seed, progress=after_epoch)
    return acc, loss


def main():
    model, train_cfg, params = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
    split, n_seeds, epochs = int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
    t0 = time.time()
    jobs = [(model, train_cfg, params, split, f, s, epochs) for f in range(10) for s in range(n_seeds)]
    with ProcessPoolExecutor(2) as ex:
        out = list(ex.map(_task, jobs))
    curve = np.array([o[0] for o in out]).mean(0)  # index e: after e training epochs
    train_loss = np.array([o[1][:-1] for o in out]).mean(0)  # index e-1: loss of epoch e
    at = [e for e in REPORT_AT if e < len(curve)]
    print(json.dumps({
        "model": model, "train": train_cfg, "params": params, "split_seed": split,
        "seeds": n_seeds, "best_fixed_epoch": int(curve.argmax()),
        "best_fixed_accuracy": round(float(curve.max()), 4),
        "test_accuracy_at": {e: round(float(curve[e]), 3) for e in at},
        "train_loss_at": {e: round(float(train_loss[e - 1]), 3) for e in at},
        "wall_s": round(time.time() - t0, 1)}))


if __name__ == "__main__":
    main()
