"""Which of VCC's terms and settings hold the MNIST-test layout back? (one setting per run)

Fits ``VCC.preset("fast")`` with the JSON overrides given on the command line and, after every
epoch, reads the latent layout H by k-means *started at the true class means* (diagnosis only:
the best a centroid read-out of that layout can do, so it measures the layout, not the centres
VCC picked). At the end it prints VCC's own labels (argmax Q; k-means best of ``n_init`` on H
when the run ends before the warm-up) and a full-covariance Gaussian mixture (best of 3 starts
by likelihood) on H.

``{"layout": "umap"}`` is a diagnosis of its own: the network is first regressed (as with
``init="spectral"``) onto a UMAP layout of the pixels (10 neighbours, ``min_dist`` 0, 10-D,
UMAP's spectral start) instead of the eigenmap, to see whether VCC's loss keeps a good layout.

Usage::

    .venv/bin/python benchmarks/check_vcc_layout.py '{"epochs": 20, "warmup_epochs": 50}'
    # the Addendum 8 table (benchmarks/RESULTS_vcc.md) lists every override set measured

Never run as a test.
"""
import json
import sys
import time

import numpy as np

import graphclust.deep.vcc as vcc_module
from graphclust.datasets import load_mnist
from graphclust.metrics import clustering_accuracy


def main():
    from sklearn.cluster import KMeans
    from sklearn.mixture import GaussianMixture

    cfg = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    layout = cfg.pop("layout", None)
    X, y = load_mnist("test")
    t0 = time.perf_counter()

    def true_means_acc(H):
        means = np.stack([H[y == c].mean(axis=0) for c in range(10)])
        return clustering_accuracy(y, KMeans(10, init=means, n_init=1).fit(H).labels_)

    if layout == "umap":
        import umap

        Y = umap.UMAP(n_neighbors=10, min_dist=0.0, n_components=10, random_state=0).fit_transform(X)
        Y = (Y - Y.mean(axis=0)).astype(np.float32)
        print(f"UMAP layout: true-means k-means ACC {true_means_acc(Y):.4f}", flush=True)
        vcc_module.spectral_layout = lambda graph, n_components, random_state=None: Y
        cfg["init"] = "spectral"
    elif layout is not None:
        raise SystemExit(f"layout={layout!r}: only 'umap' is known")

    original_end = vcc_module._VCCTask.end_epoch

    def end_epoch(task, epoch):
        record = original_end(task, epoch)
        H = task.H.cpu().numpy()
        own = "-" if task.labels is None else f"{clustering_accuracy(y, task.labels):.4f}"
        print(f"epoch {epoch:3d} {time.perf_counter() - t0:7.1f} s  true-means k-means "
              f"{true_means_acc(H):.4f}  argmax Q {own}", flush=True)
        return record

    vcc_module._VCCTask.end_epoch = end_epoch
    model = vcc_module.VCC.preset("fast", n_clusters=10, random_state=0, n_jobs=2, device="cpu",
                                  **cfg)
    model.fit(X)
    H = model.embedding_
    gmm = GaussianMixture(10, covariance_type="full", n_init=3, reg_covar=1e-4,
                          random_state=0).fit(H)
    print(json.dumps({"overrides": sys.argv[1:], "acc": clustering_accuracy(y, model.labels_),
                      "gmm_acc": clustering_accuracy(y, gmm.predict(H)),
                      "seconds": round(time.perf_counter() - t0, 1)}))


if __name__ == "__main__":
    main()
