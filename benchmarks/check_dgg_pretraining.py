"""How good a start does DGG's autoencoder pretraining give? (MNIST-test)

Fits DGG with one training epoch after ``PRETRAIN_EPOCHS`` of pretraining and prints the ACC/NMI
of that first epoch, which is essentially k-means on the pretrained latent means.

Usage::

    .venv/bin/python benchmarks/check_dgg_pretraining.py LIKELIHOOD NOISE PRETRAIN_EPOCHS
    .venv/bin/python benchmarks/check_dgg_pretraining.py bernoulli 0.1 30    # ACC 0.616
    .venv/bin/python benchmarks/check_dgg_pretraining.py gaussian 0.0 30     # ACC 0.646

Never run as a test.
"""
import json
import sys
import time

from graphclust.datasets import load_mnist
from graphclust.deep import DGG


def main(argv):
    lik, noise, ep = argv[0], float(argv[1]), int(argv[2])
    X, y = load_mnist("test")
    t, c = time.perf_counter(), time.process_time()
    m = DGG(10, epochs=1, pretrain_epochs=ep, likelihood=lik, pretrain_noise=noise,
            cache_dir=None, n_jobs=2, random_state=0, tol=0).fit(X, y)
    h = m.history_[0]
    print(json.dumps({"likelihood": lik, "noise": noise, "pretrain_epochs": ep,
                      "acc_epoch1": h.get("acc"), "nmi_epoch1": h.get("nmi"),
                      "wall": time.perf_counter() - t, "cpu": time.process_time() - c,
                      "timings": m.timings_}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
