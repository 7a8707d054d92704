"""MNIST-PCA50 (all 70,000 points, K=10): graphclust's quality and time against n_neighbors.

    python benchmarks/sweep_mnist_neighbors.py            # n_neighbors 10 12 13 15 20, sigma_rank 7

One fit per setting (random_state=0), default everything else; prints ACC/NMI/ARI and seconds.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--neighbors", type=int, nargs="+", default=[10, 12, 13, 15, 20])
    ap.add_argument("--sigma-rank", type=int, default=7)
    a = ap.parse_args()
    from graphclust import SpectralClustering
    from graphclust.datasets import load_mnist
    from graphclust.metrics import evaluate

    X, y = load_mnist("all", n_components=50, random_state=0)
    print(f"load average at start: {os.getloadavg()}")
    for nn in a.neighbors:
        t = time.perf_counter()
        m = SpectralClustering(10, n_neighbors=nn, sigma_rank=a.sigma_rank, random_state=0).fit(X)
        dt = time.perf_counter() - t
        e = evaluate(y, m.labels_)
        print(f"n_neighbors={nn:3d} sigma_rank={a.sigma_rank}  {dt:6.2f} s  ACC {e['acc']:.3f}  "
              f"NMI {e['nmi']:.3f}  ARI {e['ari']:.3f}", flush=True)
    print(f"load average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
