"""Synthetic data: the report's 9-component "hybrid" set and a large Gaussian mixture."""
from __future__ import annotations

import numpy as np

from graphclust._validation import check_float, check_int, check_random_state

__all__ = ["hybrid", "gaussian_mixture", "HYBRID_COMPONENTS"]

#: Names of the hybrid set's components, indexed by label.
HYBRID_COMPONENTS = (
    "blob-1", "blob-2", "blob-3",
    "circle-inner", "circle-outer",
    "moon-upper", "moon-lower",
    "spiral-a", "spiral-b",
)
# Share of the points per component (dense blobs; sparse rings; moons; spirals).
_SHARES = np.array([0.12, 0.12, 0.12, 0.08, 0.12, 0.11, 0.11, 0.11, 0.11])


def _split_counts(n: int) -> np.ndarray:
    counts = np.floor(_SHARES / _SHARES.sum() * n).astype(int)
    counts[np.argsort(-_SHARES, kind="stable")[: n - counts.sum()]] += 1
    return counts


def hybrid(n: int = 7500, *, noise: float = 1.0, random_state=None):
    """The report's adversarial 2-D set: 9 components of different shape and density.

    Three dense Gaussian blobs, two concentric circles (sparse rings), two interleaved moons and
    two intertwined spirals, each group in its own region of the plane so that all nine
    components are separated. k-means fails on it; a fixed-sigma Gaussian kernel fails on the
    sparse rings; a self-tuning kNN graph separates all nine.

    Parameters
    ----------
    n : int, default=7500
        Number of points (at least 90). Shares per component are fixed (see ``_SHARES``).
    noise : float, default=1.0
        Multiplier on every component's jitter (1.0 = the default layout; 0 = noise-free).
    random_state : int, Generator or None
        Seed for the point positions.

    Returns
    -------
    X : ndarray of shape (n, 2), float64
    y : ndarray of shape (n,), int64, labels 0..8 in the order of ``HYBRID_COMPONENTS``.
    """
    n = check_int(n, "n", low=90, hint="The hybrid set needs at least 10 points per component.")
    noise = check_float(noise, "noise", low=0.0)
    rng = check_random_state(random_state)
    c = _split_counts(n)
    parts = []

    # Three dense blobs, top row (centres 3 apart, std 0.25).
    for i, centre in enumerate([(-10.0, 7.0), (-6.0, 7.0), (-8.0, 10.0)]):
        parts.append(rng.normal(centre, 0.25 * noise if noise else 0.0, size=(c[i], 2)))

    # Two concentric rings (radii 1 and 2.5), bottom left; sparse compared with the blobs.
    for i, radius in ((3, 1.0), (4, 2.5)):
        t = rng.uniform(0, 2 * np.pi, c[i])
        r = radius + rng.normal(0, 0.06 * noise, c[i])
        parts.append(np.c_[r * np.cos(t), r * np.sin(t)] + (-8.0, -1.0))

    # Two interleaved moons (radius 1.5), top right.
    t = rng.uniform(0, np.pi, c[5])
    upper = np.c_[np.cos(t), np.sin(t)]
    t = rng.uniform(0, np.pi, c[6])
    lower = np.c_[1 - np.cos(t), 0.5 - np.sin(t)]
    for i, moon in ((5, upper), (6, lower)):
        parts.append(1.5 * moon + rng.normal(0, 0.06 * noise, moon.shape) + (3.0, 7.5))

    # Two intertwined Archimedean spirals r = a*theta, arms half a turn apart, bottom right.
    a = 0.45
    for i, phase in ((7, 0.0), (8, np.pi)):
        # sqrt-uniform angle -> roughly uniform density along the arm
        u = rng.uniform(0, 1, c[i])
        theta = np.pi * (0.5 + 2.5 * np.sqrt(u))
        r = a * theta
        arm = np.c_[r * np.cos(theta + phase), r * np.sin(theta + phase)]
        parts.append(arm + rng.normal(0, 0.05 * noise, arm.shape) + (5.0, -1.0))

    X = np.concatenate(parts)
    y = np.repeat(np.arange(9), c)
    order = rng.permutation(n)
    return X[order], y[order].astype(np.int64)


def gaussian_mixture(n: int = 100_000, n_features: int = 50, n_components: int = 10, *,
                     separation: float = 8.0, intrinsic_dim: int | None = 10,
                     dtype=np.float32, random_state=None):
    """A large Gaussian mixture for scaling benchmarks (e.g. 1,000,000 x 50).

    All components live in one random ``intrinsic_dim``-dimensional subspace of the
    ``n_features``-dimensional space (unit variance inside it, 0.1 in the other directions),
    like real embeddings; ``intrinsic_dim=None`` makes the mixture isotropic (the hardest case
    for approximate kNN). Component means lie in that subspace, two of them ``separation`` apart
    on average, while two points of one component are about sqrt(2 intrinsic_dim) apart, so at
    the default separation neighbouring components touch and the kNN graph is connected.
    Generated in blocks so memory stays at the output size.

    Returns ``(X, y)`` with ``X`` of shape (n, n_features) and ``y`` in 0..n_components-1.
    """
    n = check_int(n, "n", low=n_components)
    n_features = check_int(n_features, "n_features", low=1)
    n_components = check_int(n_components, "n_components", low=1)
    separation = check_float(separation, "separation", low=0.0)
    rng = check_random_state(random_state)
    if intrinsic_dim is None:
        basis = np.eye(n_features)
        off = 0.0
    else:
        intrinsic_dim = check_int(intrinsic_dim, "intrinsic_dim", low=1, high=n_features)
        basis = np.linalg.qr(rng.normal(size=(n_features, intrinsic_dim)))[0].T  # (q, d)
        off = 0.1
    q = basis.shape[0]
    means = rng.normal(0, separation / np.sqrt(2 * q), size=(n_components, q)) @ basis
    y = rng.integers(0, n_components, n).astype(np.int64)
    X = np.empty((n, n_features), dtype=dtype)
    block = 65536
    for s in range(0, n, block):
        yb = y[s:s + block]
        Xb = rng.normal(size=(yb.size, q)) @ basis
        if off:
            Xb += off * rng.normal(size=(yb.size, n_features))
        X[s:s + block] = Xb + means[yb]
    return X, y
