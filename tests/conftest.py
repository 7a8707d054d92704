import os
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("GRAPHCLUST_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def blobs(n=300, centers=3, d=2, std=0.3, seed=0):
    """Well-separated Gaussian blobs (numpy only)."""
    r = np.random.default_rng(seed)
    C = r.uniform(-10, 10, size=(centers, d))
    y = np.arange(n) % centers
    return C[y] + std * r.standard_normal((n, d)), y
