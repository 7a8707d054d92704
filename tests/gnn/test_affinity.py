"""Batched affinity propagation: conformance with scikit-learn, batching, degenerate cases."""
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("torch_geometric")

from graphclust._validation import GraphclustError  # noqa: E402
from graphclust.gnn.affinity import batched_affinity_propagation, similarity_matrix  # noqa: E402


def _blobs_batch(seed, B=12, dim=6):
    rng = np.random.default_rng(seed)
    sizes = rng.integers(6, 25, B)
    N = int(sizes.max())
    X = np.zeros((B, N, dim))
    mask = np.zeros((B, N), bool)
    for b, n in enumerate(sizes):
        centres = rng.normal(size=(3, dim)) * 6
        X[b, :n] = centres[rng.integers(0, 3, n)] + 0.5 * rng.normal(size=(n, dim))
        mask[b, :n] = True
    return torch.tensor(X), torch.tensor(mask), sizes


def _same_partition(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return all(len(set(b[a == c])) == 1 for c in set(a)) and len(set(a)) == len(set(b))


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("kind", ["cosine", "neg_sq_euclidean"])
def test_matches_sklearn(seed, kind):
    from sklearn.cluster import AffinityPropagation

    X, mask, sizes = _blobs_batch(seed)
    S = similarity_matrix(X, mask, kind)
    # scikit-learn's tie-breaking draws (RandomState(0), one (n, n) draw per graph), padded
    noise = torch.zeros_like(S)
    for b, n in enumerate(sizes):
        noise[b, :n, :n] = torch.from_numpy(np.random.RandomState(0).standard_normal((n, n)))
    res = batched_affinity_propagation(S, mask, damping=0.7, max_iter=300, noise=noise)
    for b, n in enumerate(sizes):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref = AffinityPropagation(affinity="precomputed", damping=0.7, max_iter=300,
                                      random_state=0).fit(S[b, :n, :n].numpy())
        assert bool(res.converged[b])
        # the same messages up to floating-point summation order (torch vs numpy), so the
        # iteration at which the exemplar set settles may differ by one or two
        assert abs(int(res.n_iter[b]) - ref.n_iter_) <= 2
        assert _same_partition(res.labels[b, :n].numpy(), ref.labels_)
        assert (res.labels[b, n:] == -1).all()


@pytest.mark.parametrize("seed", [0, 1])
def test_seeded_noise_gives_the_same_partition_as_sklearn(seed):
    """With graphclust's own (hash) tie-breaking noise: same partitions wherever both converge;
    noise-sensitive graphs (oscillating messages) may converge in one and not the other."""
    from sklearn.cluster import AffinityPropagation

    X, mask, sizes = _blobs_batch(seed)
    S = similarity_matrix(X, mask, "neg_sq_euclidean")
    res = batched_affinity_propagation(S, mask, damping=0.7, max_iter=300)
    both = 0
    for b, n in enumerate(sizes):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            ref = AffinityPropagation(affinity="precomputed", damping=0.7, max_iter=300,
                                      random_state=0).fit(S[b, :n, :n].numpy())
        if any("converge" in str(w.message) for w in caught) or not bool(res.converged[b]):
            continue
        both += 1
        assert _same_partition(res.labels[b, :n].numpy(), ref.labels_)
    assert both >= len(sizes) - 2


def test_batch_and_padding_invariance():
    X, mask, sizes = _blobs_batch(5)
    S = similarity_matrix(X, mask)
    full = batched_affinity_propagation(S, mask)
    for b in (0, 3, 7):
        n = int(sizes[b])
        alone = batched_affinity_propagation(S[b:b + 1, :n, :n], mask[b:b + 1, :n])
        assert torch.equal(alone.labels[0], full.labels[b, :n])
        assert int(alone.n_iter[0]) == int(full.n_iter[b])
    # reversing the batch order changes nothing
    rev = batched_affinity_propagation(S.flip(0), mask.flip(0))
    assert torch.equal(rev.labels.flip(0), full.labels)


def test_degenerate_graphs():
    # one node; all nodes identical (one community); two far-apart pairs
    X = torch.zeros(3, 4, 2, dtype=torch.float64)
    mask = torch.zeros(3, 4, dtype=torch.bool)
    mask[0, :1] = True
    X[1, :3] = torch.tensor([1.0, 1.0])
    mask[1, :3] = True
    X[2] = torch.tensor([[0.0, 0.0], [0.0, 0.1], [10.0, 0.0], [10.0, 0.1]], dtype=torch.float64)
    mask[2] = True
    res = batched_affinity_propagation(similarity_matrix(X, mask, "neg_sq_euclidean"), mask)
    assert res.labels[0].tolist() == [0, -1, -1, -1]
    assert res.labels[1].tolist() == [0, 0, 0, -1]
    assert res.labels[2].tolist() == [0, 0, 1, 1]
    assert res.converged.all() and res.n_clusters.tolist() == [1, 1, 2]


def test_not_converged_is_reported():
    X, mask, _ = _blobs_batch(0, B=4)
    res = batched_affinity_propagation(similarity_matrix(X, mask), mask, max_iter=3)
    assert not res.converged.any()
    assert (res.labels == -1).all() and (res.n_clusters == 0).all()


def test_deterministic_and_seeded_noise():
    X, mask, _ = _blobs_batch(3)
    S = similarity_matrix(X, mask)
    a = batched_affinity_propagation(S, mask, seed=4)
    b = batched_affinity_propagation(S, mask, seed=4)
    assert torch.equal(a.labels, b.labels)


def test_similarity_kinds():
    x = torch.tensor([[[1.0, 0.0], [0.0, 2.0], [3.0, 0.0]]], dtype=torch.float64)
    mask = torch.ones(1, 3, dtype=torch.bool)
    cos = similarity_matrix(x, mask, "cosine")[0]
    np.testing.assert_allclose(cos.numpy(), [[1, 0, 1], [0, 1, 0], [1, 0, 1]], atol=1e-12)
    euc = similarity_matrix(x, mask, "neg_sq_euclidean")[0]
    np.testing.assert_allclose(euc.numpy(), [[0, -5, -4], [-5, 0, -13], [-4, -13, 0]], atol=1e-12)
    with pytest.raises(GraphclustError, match=r"similarity must be one of 'cosine'"):
        similarity_matrix(x, mask, "dot")
