"""Tests for the synthetic 'hybrid' dataset."""
from __future__ import annotations

import numpy as np
import pytest

from graphclust._validation import GraphclustError
from graphclust.datasets import HYBRID_COMPONENTS, hybrid


def test_hybrid_shape_and_labels():
    X, y = hybrid(900, random_state=0)
    assert X.shape == (900, 2) and X.dtype == np.float64 and np.isfinite(X).all()
    assert y.shape == (900,) and y.dtype == np.int64
    assert np.unique(y).tolist() == list(range(9)) == list(range(len(HYBRID_COMPONENTS)))
    assert np.bincount(y).min() >= 10


def test_hybrid_is_deterministic_per_seed():
    X1, y1 = hybrid(500, random_state=42)
    X2, y2 = hybrid(500, random_state=42)
    assert np.array_equal(X1, X2) and np.array_equal(y1, y2)
    X3, _ = hybrid(500, random_state=43)
    assert not np.allclose(X1, X3)


def test_hybrid_needs_at_least_90_points():
    assert hybrid(90, random_state=0)[0].shape == (90, 2)
    with pytest.raises(GraphclustError, match="n must be >= 90, got 89"):
        hybrid(89)
