"""How much of its start can DGG's mixture hold? (MNIST-test, the ``fast`` preset's start)

Fits the ``fast`` preset with diagonal components for one epoch at lr 1e-12: the networks and
the mixture do not move, only the per-sample pi_i are set in closed form, so the labels are
DGG's posterior reading of its start (a diagonal Gaussian mixture with the start clusters'
moments in the latent space). Then reads the same start labels in the same latent space with a
quadratic discriminant (each start cluster's mean and diagonal, or full, covariance; priors =
cluster shares) and with a 10-NN classifier (5-fold cross-validated), for comparison.

Usage::

    .venv/bin/python benchmarks/check_dgg_start_readout.py [CACHE_DIR]
    # 2026-12-07: start 0.9534; DGG's reading 0.8969 (agreement 0.9145);
    #             diagonal QDA 0.8876, full QDA 0.9414, 10-NN 0.9455

Never run as a test.
"""
import sys

import numpy as np

from graphclust.datasets import load_mnist
from graphclust.deep import DGG
from graphclust.metrics import evaluate


def _qda(Z, labels, K, full):
    from scipy.stats import multivariate_normal

    L = np.empty((Z.shape[0], K))
    for k in range(K):
        Zk = Z[labels == k]
        C = np.cov(Zk, rowvar=False) if full else np.diag(Zk.var(axis=0, ddof=1))
        L[:, k] = np.log((labels == k).mean()) + multivariate_normal(
            Zk.mean(axis=0), C + 1e-6 * np.eye(Z.shape[1])).logpdf(Z)
    return L.argmax(axis=1)


def main():
    from sklearn.model_selection import cross_val_predict
    from sklearn.neighbors import KNeighborsClassifier

    cache = sys.argv[1] if len(sys.argv) > 1 else "auto"
    X, y = load_mnist("test")
    m = DGG.preset("fast", covariance="diag", epochs=1, lr=1e-12, tol=0, n_jobs=2,
                   random_state=0, cache_dir=cache).fit(X, y)
    s = m.start_labels_
    print(f"start ACC {evaluate(y, s)['acc']:.4f}; DGG's reading of it "
          f"{evaluate(y, m.labels_)['acc']:.4f}; agreement {(m.labels_ == s).mean():.4f}")
    Z = m.embedding_.astype(np.float64)  # the pretrained latent means (lr 1e-12: unchanged)
    for full in (False, True):
        lab = _qda(Z, s, m.n_clusters, full)
        print(f"{'full' if full else 'diagonal'} QDA reading {evaluate(y, lab)['acc']:.4f}; "
              f"agreement {(lab == s).mean():.4f}")
    p = cross_val_predict(KNeighborsClassifier(10), Z, s, cv=5)
    print(f"10-NN reading {evaluate(y, p)['acc']:.4f}; agreement {(p == s).mean():.4f}")


if __name__ == "__main__":
    main()
