"""DGG's functional core: the ELBO terms (eqs. 21 / 26), the pi_i update (eqs. 30-31), the graph."""
import math

import numpy as np
import pytest
import torch
from scipy.optimize import minimize

from graphclust.deep.dgg import (
    analytic_posterior,
    component_factors,
    dgg_affinity,
    elbo_terms,
    half_circles,
    pi_update,
)

LOG2PI = math.log(2 * math.pi)


def t(a):
    return torch.as_tensor(np.asarray(a, dtype=np.float64))


def test_gaussian_terms_match_hand_computation():
    # one point, D = 2, M = 2, K = 2; every number below is worked out by hand in numpy
    x = np.array([[0.3, -1.2]])
    g = np.array([[0.1, -1.0]])
    lam = 0.5
    mu_q, logvar_q = np.array([[0.2, -0.4]]), np.log(np.array([[0.25, 0.5]]))
    mu_c = np.array([[0.0, 0.0], [1.0, -1.0]])
    var_c = np.array([[1.0, 2.0], [0.5, 0.25]])
    gamma = np.array([[0.7, 0.3]])
    pi = np.array([[0.4, 0.6]])
    terms = elbo_terms(t(x), t(g), t(mu_q), t(logvar_q), t(gamma), t(np.log(pi)), t(mu_c),
                       t(np.log(var_c)), likelihood="gaussian", lam=lam)
    recon = -0.5 * (((x - g) ** 2) / lam + math.log(lam) + LOG2PI).sum()
    vq = np.exp(logvar_q[0])
    e_log = [-0.5 * (LOG2PI + np.log(var_c[k]) + (vq + (mu_q[0] - mu_c[k]) ** 2) / var_c[k]).sum()
             for k in range(2)]
    prior = 0.7 * e_log[0] + 0.3 * e_log[1]
    cat = 0.7 * math.log(0.4 / 0.7) + 0.3 * math.log(0.6 / 0.3)
    entropy = 0.5 * (2 * (LOG2PI + 1) + logvar_q.sum())
    assert terms["recon"].item() == pytest.approx(recon, rel=1e-12)
    assert terms["prior"].item() == pytest.approx(prior, rel=1e-12)
    assert terms["cat"].item() == pytest.approx(cat, rel=1e-12)
    assert terms["entropy"].item() == pytest.approx(entropy, rel=1e-12)


def test_prior_plus_entropy_is_minus_the_gaussian_kl_and_matches_monte_carlo():
    rng = np.random.default_rng(3)
    mu_q, var_q = rng.normal(size=(1, 3)), rng.uniform(0.2, 2.0, size=(1, 3))
    mu_c, var_c = rng.normal(size=(1, 3)), rng.uniform(0.2, 2.0, size=(1, 3))
    x = np.zeros((1, 1))
    terms = elbo_terms(t(x), t(x), t(mu_q), t(np.log(var_q)), t([[1.0]]), t([[0.0]]), t(mu_c),
                       t(np.log(var_c)), likelihood="gaussian")
    kl = 0.5 * (np.log(var_c / var_q) + (var_q + (mu_q - mu_c) ** 2) / var_c - 1).sum()
    assert (terms["prior"] + terms["entropy"]).item() == pytest.approx(-kl, rel=1e-10)
    # E_q[log N(z | mu_c, var_c)] by sampling z ~ q
    z = mu_q + np.sqrt(var_q) * rng.standard_normal((400_000, 3))
    vals = (-0.5 * (LOG2PI + np.log(var_c) + (z - mu_c) ** 2 / var_c)).sum(1)
    se = vals.std() / math.sqrt(vals.size)
    assert abs(terms["prior"].item() - vals.mean()) < 5 * se


def test_bernoulli_reconstruction_and_neighbour_term():
    x_i = np.array([[1.0, 0.0, 0.25]])
    logits_j = np.array([[2.0, -1.0, 0.5]])  # g(z_j): x_i is reconstructed from its neighbour
    p = 1 / (1 + np.exp(-logits_j))
    hand = (x_i * np.log(p) + (1 - x_i) * np.log(1 - p)).sum()
    z = np.zeros((1, 1))
    terms = elbo_terms(t(x_i), t(logits_j), t(z), t(z), t([[1.0]]), t([[0.0]]), t(z), t(z),
                       likelihood="bernoulli")
    assert terms["recon"].item() == pytest.approx(hand, rel=1e-12)


def test_analytic_posterior_is_bayes_rule():
    z = np.array([[0.5, -0.5]])
    mu_c = np.array([[0.0, 0.0], [1.0, -1.0]])
    var_c = np.array([[1.0, 1.0], [0.5, 2.0]])
    pi = np.array([0.3, 0.7])
    dens = [pi[k] * np.prod(np.exp(-0.5 * (z[0] - mu_c[k]) ** 2 / var_c[k])
                            / np.sqrt(2 * np.pi * var_c[k])) for k in range(2)]
    g = analytic_posterior(t(z), t(np.log(pi)), t(mu_c), t(np.log(var_c))).numpy()[0]
    np.testing.assert_allclose(g, np.array(dens) / sum(dens), rtol=1e-12)


def _full_components(rng, K, M):
    """Random full-covariance components as (mu_c, logvar_c, tril_c, Sigma_c)."""
    mu_c = rng.normal(size=(K, M))
    L = np.tril(rng.normal(scale=0.5, size=(K, M, M)), -1)
    d = rng.uniform(0.5, 1.5, size=(K, M))
    L = L + np.stack([np.diag(v) for v in d])
    return mu_c, 2 * np.log(d), L - np.stack([np.diag(v) for v in d]), L @ L.transpose(0, 2, 1)


def test_full_covariance_prior_term_matches_the_closed_form_and_monte_carlo():
    rng = np.random.default_rng(5)
    K, M, n = 3, 4, 2
    mu_c, logvar_c, tril_c, S = _full_components(rng, K, M)
    A = component_factors(t(logvar_c), t(tril_c)).numpy()
    np.testing.assert_allclose(A @ np.linalg.cholesky(S), np.broadcast_to(np.eye(M), (K, M, M)),
                               atol=1e-12)
    mu_q, var_q = rng.normal(size=(n, M)), rng.uniform(0.2, 1.0, size=(n, M))
    gamma = rng.dirichlet(np.ones(K), size=n)
    x = np.zeros((n, 1))
    terms = elbo_terms(t(x), t(x), t(mu_q), t(np.log(var_q)), t(gamma), t(np.log(gamma)),
                       t(mu_c), t(logvar_c), likelihood="gaussian", tril_c=t(tril_c))
    # -1/2 [M log 2pi + log|S| + tr(S^-1 diag var_q) + (mu_q - mu_c)^T S^-1 (mu_q - mu_c)]
    e_log = np.empty((n, K))
    for i in range(n):
        for k in range(K):
            Si = np.linalg.inv(S[k])
            dv = mu_q[i] - mu_c[k]
            e_log[i, k] = -0.5 * (M * LOG2PI + np.linalg.slogdet(S[k])[1]
                                  + np.trace(Si @ np.diag(var_q[i])) + dv @ Si @ dv)
    np.testing.assert_allclose(terms["prior"].numpy(), (gamma * e_log).sum(1), rtol=1e-10)
    # by sampling z ~ q for one (row, component)
    from scipy.stats import multivariate_normal

    z = mu_q[0] + np.sqrt(var_q[0]) * rng.standard_normal((200_000, M))
    vals = multivariate_normal(mu_c[1], S[1]).logpdf(z)
    assert abs(e_log[0, 1] - vals.mean()) < 5 * vals.std() / math.sqrt(vals.size)
    # a zero strictly-lower part is the diagonal model exactly
    diag = elbo_terms(t(x), t(x), t(mu_q), t(np.log(var_q)), t(gamma), t(np.log(gamma)),
                      t(mu_c), t(logvar_c), likelihood="gaussian")
    zero = elbo_terms(t(x), t(x), t(mu_q), t(np.log(var_q)), t(gamma), t(np.log(gamma)),
                      t(mu_c), t(logvar_c), likelihood="gaussian", tril_c=t(np.zeros((K, M, M))))
    np.testing.assert_allclose(zero["prior"].numpy(), diag["prior"].numpy(), rtol=1e-12)


def test_full_covariance_posterior_is_bayes_rule():
    from scipy.stats import multivariate_normal

    rng = np.random.default_rng(6)
    K, M = 3, 3
    mu_c, logvar_c, tril_c, S = _full_components(rng, K, M)
    z = rng.normal(size=(5, M))
    pi = np.array([0.2, 0.5, 0.3])
    dens = np.stack([pi[k] * multivariate_normal(mu_c[k], S[k]).pdf(z) for k in range(K)], 1)
    g = analytic_posterior(t(z), t(np.log(pi)), t(mu_c), t(logvar_c), t(tril_c)).numpy()
    np.testing.assert_allclose(g, dens / dens.sum(1, keepdims=True), rtol=1e-10)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_pi_update_maximises_eq30(seed):
    rng = np.random.default_rng(seed)
    K, s = 4, 6
    g_i = rng.dirichlet(np.ones(K))
    g_j = rng.dirichlet(np.ones(K) * 0.5, size=s)
    w = rng.uniform(0.1, 1.0, size=s)
    w /= w.sum()

    def neg_eq30(theta):  # pi = softmax(theta) keeps the simplex constraint
        log_pi = theta - np.log(np.exp(theta).sum())
        return -sum(w[j] * ((g_i + g_j[j]) * log_pi).sum() for j in range(s))

    res = minimize(neg_eq30, np.zeros(K), method="BFGS", options={"gtol": 1e-10})
    numeric = np.exp(res.x) / np.exp(res.x).sum()
    closed = pi_update(g_i[None], g_j[None], w[None], graph_weight=1.0, floor=0.0)[0]
    np.testing.assert_allclose(closed, numeric, atol=1e-5)
    assert closed.sum() == pytest.approx(1.0)
    # the same on tensors, and the printed eq. 31 (gamma_ik in the numerator) is not normalised
    closed_t = pi_update(t(g_i[None]), t(g_j[None]), t(w[None]), 1.0, floor=0.0).numpy()[0]
    np.testing.assert_allclose(closed_t, closed, rtol=1e-12)
    printed = (w.sum() * g_i) / (w[:, None] * (g_i + g_j)).sum()
    assert printed.sum() == pytest.approx(0.5)


def test_affinity_rows_sum_to_one_and_are_neighbours():
    X, _ = half_circles(60, random_state=0)
    for kind in ("gaussian", "uniform"):
        G = dgg_affinity(X, 8, affinity=kind, random_state=0, n_jobs=1)
        assert G.indices.shape == G.weights.shape == (120, 8)
        np.testing.assert_allclose(G.weights.sum(1), 1.0)
        assert not np.any(G.indices == np.arange(120)[:, None])
        W = G.matrix()
        assert W.shape == (120, 120) and W.nnz == 120 * 8
    G = dgg_affinity(X, 8, affinity="gaussian", random_state=0, n_jobs=1)
    d = np.linalg.norm(X[G.indices] - X[:, None], axis=2)
    assert np.all(np.diff(G.weights, axis=1) <= 1e-12)  # nearer neighbours weigh more (eq. 32)
    assert np.all(np.diff(d, axis=1) >= -1e-12)
    S = dgg_affinity(X, 5, affinity="siamese", siamese_candidates=20, siamese_dims=(16, 4),
                     siamese_epochs=2, random_state=0, n_jobs=1)
    np.testing.assert_allclose(S.weights.sum(1), 1.0)
    assert S.kind == "siamese" and S.indices.shape == (120, 5)
