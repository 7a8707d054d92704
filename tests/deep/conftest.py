import numpy as np
import pytest


def make_blobs(n=300, centers=3, d=5, std=1.0, seed=0):
    """Gaussian blobs with centres drawn in [-10, 10]^d (numpy only)."""
    r = np.random.default_rng(seed)
    C = r.uniform(-10, 10, size=(centers, d))
    y = np.arange(n) % centers
    return C[y] + std * r.standard_normal((n, d)), y


@pytest.fixture
def blobs3():
    return make_blobs()


#: A small, quick VCC configuration for unit tests (the network is narrow, epochs few).
TINY = dict(hidden=(32, 32), epochs=14, warmup_epochs=7, min_cluster_epochs=2, batch_size=64, lr=0.01,
            n_jobs=1, n_init=3)
