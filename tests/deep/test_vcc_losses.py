"""VCC's latent graph, sampling rates and loss terms against hand computations and naive code."""
import math

import numpy as np
import pytest
import torch

from graphclust.deep.vcc import (
    auto_temperature,
    kl_div,
    latent_graph,
    latent_graph_from_knn,
    sampling_rates,
    similarity_logs,
    soft_assignment,
    target_distribution,
    vcc_losses,
)


def naive_latent_graph(D, I, tau):
    """Dense, loop-based F~ (paper eqs. 1-2) for a tiny graph."""
    n, M = I.shape
    F = np.zeros((n, n))
    for i in range(n):
        e = [math.exp(-D[i, k] / tau) for k in range(M)]
        s = sum(e)
        for k in range(M):
            F[i, I[i, k]] = e[k] / s
    Ft = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            Ft[i, j] = F[i, j] + F[j, i] - F[i, j] * F[j, i]
    return Ft


def test_latent_graph_matches_naive_fuzzy_union():
    # 5 points on a line: 0, 1, 3, 6, 10; M = 2 neighbours each
    x = np.array([0.0, 1.0, 3.0, 6.0, 10.0])
    I = np.array([[1, 2], [0, 2], [1, 0], [2, 1], [3, 2]])
    D = np.abs(x[:, None] - x[I])
    G = latent_graph_from_knn(D, I, temperature=1.0)
    dense = naive_latent_graph(D, I, 1.0)
    got = np.zeros((5, 5))
    got[G.rows, G.cols] = G.weights
    assert np.all(G.rows < G.cols)
    np.testing.assert_allclose(got, np.triu(dense, 1), rtol=1e-12, atol=0)
    # one hand value: point 0's row is softmax(-[1, 3]) and point 1's is softmax(-[1, 2])
    f01 = 1 / (1 + math.exp(-2.0))
    f10 = 1 / (1 + math.exp(-1.0))
    assert got[0, 1] == pytest.approx(f01 + f10 - f01 * f10, rel=1e-12)


def test_latent_graph_temperature_auto_is_scale_free():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(80, 4))
    g1 = latent_graph(X, 5, temperature="auto")
    g2 = latent_graph(1000.0 * X, 5, temperature="auto")
    np.testing.assert_array_equal(g1.rows, g2.rows)
    np.testing.assert_allclose(g1.weights, g2.weights, rtol=1e-9)
    assert g2.temperature == pytest.approx(1000.0 * g1.temperature)


def test_auto_temperature_is_median_spread():
    D = np.array([[1.0, 2.0, 4.0], [0.5, 0.5, 1.5], [2.0, 2.5, 2.5]])
    assert auto_temperature(D) == pytest.approx(1.0)  # spreads 3, 1, 0.5


def naive_rates(w, cap):
    wmax, wmean = max(w), sum(w) / len(w)
    minus, plus = [], []
    for x in w:
        minus.append(min(int(math.floor(wmax / x)), cap))
        plus.append(min(int(math.floor(x / wmean)), cap))
    return minus, plus


@pytest.mark.parametrize("seed", range(5))
def test_sampling_rates_match_naive(seed):
    rng = np.random.default_rng(seed)
    w = rng.uniform(1e-4, 1.0, size=200)
    w[rng.integers(0, 200, 5)] = 1e-6  # tiny weights hit the cap
    r_minus, r_plus = sampling_rates(w, max_rate=100)
    m, p = naive_rates(w.tolist(), 100)
    np.testing.assert_array_equal(r_minus, m)
    np.testing.assert_array_equal(r_plus, p)
    assert r_minus.min() >= 1 and r_minus.max() == 100
    assert r_minus[np.argmax(w)] == 1


def test_sampling_rates_hand_values():
    w = np.array([0.8, 0.4, 0.1, 0.05])  # max 0.8, mean 0.3375
    r_minus, r_plus = sampling_rates(w, max_rate=None)
    np.testing.assert_array_equal(r_minus, [1, 2, 8, 16])
    np.testing.assert_array_equal(r_plus, [2, 1, 0, 0])
    r_minus, _ = sampling_rates(w, max_rate=10)
    np.testing.assert_array_equal(r_minus, [1, 2, 8, 10])


def test_multiset_draw_is_exact_augmented_edge_set():
    """Mapping every multiset position through cumsum + searchsorted yields R_ij copies of ij."""
    r = np.array([1, 3, 0, 2, 5])
    cum = torch.as_tensor(np.cumsum(r))
    pos = torch.arange(int(r.sum()))
    edge = torch.searchsorted(cum, pos, right=True).numpy()
    np.testing.assert_array_equal(np.bincount(edge, minlength=r.size), r)
    naive = np.concatenate([[i] * k for i, k in enumerate(r)])
    np.testing.assert_array_equal(edge, naive)


def test_exp_similarity_and_loss_terms_by_hand():
    # H0 = (0, 0), H1 = (3, 4): d = 5 (euclidean), d^2 = 25
    d2 = torch.tensor([25.0], dtype=torch.float64)
    lf, l1m = similarity_logs(d2, "exp", "euclidean")
    assert lf.item() == pytest.approx(-5.0, abs=1e-8)
    assert l1m.item() == pytest.approx(math.log(1 - math.exp(-5.0)), rel=1e-6)
    lf2, l1m2 = similarity_logs(d2, "exp", "sqeuclidean")
    assert lf2.item() == pytest.approx(-25.0, abs=1e-3)
    assert l1m2.item() == pytest.approx(math.log(1 - math.exp(-25.0)), abs=1e-9)
    # two E- edges (d = 5 and d = ln 2), one E+ edge (d = 1), two negatives (d = 1, 2)
    dm = torch.tensor([25.0, math.log(2) ** 2], dtype=torch.float64)
    lf_m, l1m_m = similarity_logs(dm, "exp", "euclidean")
    lf_p, _ = similarity_logs(torch.tensor([1.0], dtype=torch.float64))
    _, l1m_n = similarity_logs(torch.tensor([1.0, 4.0], dtype=torch.float64))
    bps, con, exp_ = vcc_losses(lf_m, l1m_m, lf_p, l1m_n, "sum")
    want_bps = -((-5 + math.log(1 - math.exp(-5))) + (-math.log(2) + math.log(0.5)))
    want_con = 1.0
    want_exp = -(math.log(1 - math.exp(-1)) + math.log(1 - math.exp(-2)))
    assert bps.item() == pytest.approx(want_bps, rel=1e-6)
    assert con.item() == pytest.approx(want_con, rel=1e-6)
    assert exp_.item() == pytest.approx(want_exp, rel=1e-6)
    bps_m, con_m, exp_m = vcc_losses(lf_m, l1m_m, lf_p, l1m_n, "mean")
    assert bps_m.item() == pytest.approx(want_bps / 2, rel=1e-6)
    assert exp_m.item() == pytest.approx(want_exp / 2, rel=1e-6)


def test_bps_is_minimised_at_half_similarity():
    """-[log F + log(1-F)] is smallest at F = 1/2, i.e. d = ln 2 for exp(-d)."""
    d = torch.linspace(0.05, 3.0, 600, dtype=torch.float64)
    lf, l1m = similarity_logs(d * d, "exp", "euclidean")
    best = d[torch.argmin(-(lf + l1m))].item()
    assert best == pytest.approx(math.log(2), abs=0.01)


def test_umap_and_student_curves_by_hand():
    d2 = torch.tensor([4.0], dtype=torch.float64)
    lf, l1m = similarity_logs(d2, "student")
    assert math.exp(lf.item()) == pytest.approx(1 / 5, rel=1e-6)
    assert math.exp(l1m.item()) == pytest.approx(4 / 5, rel=1e-6)
    a, b = 1.5, 0.9
    lf, _ = similarity_logs(d2, "umap", ab=(a, b))
    assert math.exp(lf.item()) == pytest.approx(1 / (1 + a * 4.0 ** b), rel=1e-6)


def test_losses_stay_finite_for_coincident_points():
    d2 = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    for sim in ("exp", "umap", "student"):
        lf, l1m = similarity_logs(d2, sim)
        total = -(lf + l1m).sum()
        total.backward()
        assert torch.isfinite(total) and torch.isfinite(d2.grad).all()
        d2.grad = None


def test_soft_assignment_target_and_kl_by_hand():
    H = torch.tensor([[0.0, 0.0], [2.0, 0.0]], dtype=torch.float64)
    C = torch.tensor([[0.0, 0.0], [1.0, 0.0]], dtype=torch.float64)
    Q = soft_assignment(H, C)
    # row 0: distances^2 (0, 1) -> kernels (1, 1/2) -> (2/3, 1/3); row 1: (4, 1) -> (1/5, 1/2)
    np.testing.assert_allclose(Q.numpy(), [[2 / 3, 1 / 3], [2 / 7, 5 / 7]], rtol=1e-12)
    P = target_distribution(Q)
    q = Q.numpy()
    f = q.sum(0)
    w = q ** 2 / f
    np.testing.assert_allclose(P.numpy(), w / w.sum(1, keepdims=True), rtol=1e-12)
    p = P.numpy()
    want = np.mean(np.sum(p * np.log(p / q), axis=1))
    assert kl_div(P, Q).item() == pytest.approx(want, rel=1e-10)
    assert kl_div(Q, Q).item() == pytest.approx(0.0, abs=1e-12)


def test_spectral_layout_is_the_scaled_laplacian_eigenmap():
    from graphclust.deep.vcc import spectral_layout

    rng = np.random.default_rng(3)
    X = np.vstack([rng.normal(c, 0.4, size=(20, 3)) for c in (0.0, 1.5)])
    g = latent_graph(X, 8)
    n, d = g.n_samples, 3
    W = np.zeros((n, n))
    W[g.rows, g.cols] = g.weights
    W += W.T
    dinv = 1.0 / np.sqrt(W.sum(1))
    L = np.eye(n) - dinv[:, None] * W * dinv[None, :]
    vals, vecs = np.linalg.eigh(L)
    assert np.all(np.diff(vals[:d + 2]) > 1e-6)  # distinct: the eigenvectors are defined up to sign
    Y = spectral_layout(g, d, random_state=0)
    assert Y.shape == (n, d) and Y.dtype == np.float32
    for j in range(d):
        v = vecs[:, j + 1] - vecs[:, j + 1].mean()
        v *= 10.0 / (v.max() - v.min())
        col = Y[:, j].astype(float)
        sign = np.sign(col @ v)
        np.testing.assert_allclose(col, sign * v, atol=1e-3)
        assert abs((col.max() - col.min()) - 10.0) < 1e-4 and abs(col.mean()) < 1e-4
    # the two blobs sit on opposite sides of the first coordinate (the Fiedler vector)
    assert len({np.sign(Y[:20, 0]).sum() > 0, np.sign(Y[20:, 0]).sum() > 0}) == 2
