"""MNIST-test (10,000 images, K=10): DGG's `fast` preset with one setting changed at a time.

    python benchmarks/sweep_dgg_mnist_test.py '{}' '{"graph_space": "latent"}' \
        '{"graph_weight": 3}' '{"neighbor_samples": 5}' '{"likelihood": "gaussian", "lam": 0.5}'

Each argument is a JSON object of DGG parameters laid over ``DGG.preset("fast")`` (seed 0, 2
threads). All fits share one pretraining cache (``--cache-dir``; default a fresh temporary
folder), so only the first fit, and a setting that changes the pretraining (the likelihood,
the network), pay for the autoencoder and the start; the seconds printed include whatever the
fit did. One JSON line per setting: ACC/NMI/ARI, the start's ACC, seconds, and ACC every 5
epochs; ``--jsonl`` also appends them to a file.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("settings", nargs="+", help="JSON objects of DGG parameters")
    ap.add_argument("--cache-dir", default=None)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--jsonl", type=Path, default=None)
    a = ap.parse_args()
    from graphclust.datasets import load_mnist
    from graphclust.deep import DGG
    from graphclust.metrics import evaluate

    cache = a.cache_dir or tempfile.mkdtemp(prefix="dgg-sweep-cache-")
    X, y = load_mnist("test")
    for text in a.settings:
        over = json.loads(text)
        accs = []
        t0 = time.perf_counter()
        load = os.getloadavg()
        m = DGG.preset("fast", **over, n_jobs=a.threads, random_state=a.seed, cache_dir=cache,
                       callbacks=[lambda ep, rec: accs.append(round(rec["acc"], 4))]).fit(X, y)
        rec = {"setting": over, **{k: v for k, v in evaluate(y, m.labels_).items()
                                   if k in ("acc", "nmi", "ari")},
               "start_acc": evaluate(y, m.start_labels_)["acc"],
               "seconds": round(time.perf_counter() - t0, 1),
               "pretraining_cached": bool(m.pretrain_["cache_hit"]),
               "load_before": [round(v, 2) for v in load],
               "acc_every_5_epochs": accs[::5] + accs[-1:]}
        line = json.dumps(rec)
        print(line, flush=True)
        if a.jsonl is not None:
            with open(a.jsonl, "a", encoding="utf-8") as fh:
                fh.write(line + "\n")


if __name__ == "__main__":
    main()
