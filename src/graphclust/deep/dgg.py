"""DGG: deep Gaussian-mixture VAE with stochastic graph embedding (Yang et al., ICCV 2019).

The model and the decisions the paper leaves open (the reasons are in ``docs/dgg.md``)::

    generative      c ~ Cat(pi_i),  z | c ~ N(mu_c, diag sigma_c^2)  (covariance="diag", the
                                                      paper; "full": N(mu_c, L_c L_c^T))
                    x | z ~ Bernoulli(g(z))            (likelihood="bernoulli", X in [0, 1])
                        or N(g(z), lam I)              (likelihood="gaussian", lam = variance;
                                                        lam="auto": its maximum-likelihood value,
                                                        the pretrained autoencoder's mean squared
                                                        residual)
    inference       q(z|x) = N(mu~, diag sigma~^2), [mu~, log sigma~^2] = f1(x)
                    q(c|z) = softmax(f2(z))            (posterior="classifier", the paper)
                          or softmax(log pi + log N(z | mu_c, sigma_c^2))
                                                       (posterior="analytic", VaDE's gamma)
    ELBO terms      L(x_i)      = E_q(z|x_i)[log p(x_i|z)] + E[log p(z|c)] + E[log pi_i/gamma]
                                  + H[q(z|x_i)]                                       (eq. 21)
                    L(x_i, x_j) = the same with z, gamma, mu~, sigma~ of x_j, but x_i as the
                                  target and x_i's prior pi_i                            (eq. 26)
                    (eq. 21 as printed drops the 1/2 of the Gaussian cross-entropy; the exact
                    expectation, with the 1/2 and the log 2 pi constants, is used.)
    objective       J_i = (L(x_i) + a sum_j w_ij L(x_i, x_j)) / (1 + a), a = graph_weight;
                    a = 1 is the paper's eq. 19, a = 0 (or n_neighbors = 0) is plain VaDE.
    neighbour sum   per step, ``neighbor_samples`` neighbours j ~ w_i. (with replacement):
                    the mean of L(x_i, x_j) over them is an unbiased estimate of
                    sum_j w_ij L(x_i, x_j); "all" evaluates the sum exactly.
    pi_i            closed form maximiser of eq. 30: pi_ik ∝ gamma_ik + a sum_j w_ij gamma_jk
                    (eq. 31 as printed has gamma_ik in its numerator, a typo: its values do not
                    sum to 1); updated for the batch after every step (Algorithm 1, line 8) and
                    for every point at each epoch end. Without a graph ("plain VaDE") one global
                    pi = mean_i gamma_i, updated at each epoch end.
    affinity        kNN (N_s = n_neighbors) in the input space (or, graph_space="latent", on the
                    pretrained latent means); weights "gaussian" (eq. 32,
                    s_i = median distance of x_i's N_s neighbours), "uniform" (1/N_s) or
                    "siamese" (a contrastive Siamese MLP trained on nearest-neighbour pairs;
                    N_s drawn at random among the ``siamese_candidates`` nearest in its space,
                    eq. 32 there). Rows sum to 1.
    pretraining     autoencoder (mu~ path, likelihood loss, optional input dropout noise) ->
                    k-means on mu~ -> GMM means = centres, variances = unbiased per-cluster
                    estimate -> f2 trained on the k-means pseudo-labels. Cached on disk per
                    (data, configuration, seed).
    training        Adam, lr decayed x lr_decay every lr_decay_every epochs; sigma_c^2 clamped
                    at var_floor after every step (the clamps are counted in the history).
    labels          argmax of q(c | z = mu~) (the per-sample prior pi_i for the analytic
                    posterior on training points; the mean prior for new points).
"""
from __future__ import annotations

import hashlib
import math
import os
import time
import warnings
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from graphclust import _progress
from graphclust._validation import (
    GraphclustError,
    check_choice,
    check_float,
    check_int,
    check_points,
    check_random_state,
    seed_from,
)
from graphclust.deep.pseudo_labels import PSEUDO_LABELS, umap_gmm_labels
from graphclust.deep._torch import (
    build_mlp,
    make_generator,
    require_torch,
    resolve_device,
    torch_runtime,
)

torch = require_torch()

from graphclust.deep.training import History, TrainingLoop  # noqa: E402

try:
    from sklearn.base import BaseEstimator, ClusterMixin
except ImportError:  # pragma: no cover
    BaseEstimator, ClusterMixin = object, object

__all__ = ["DGG", "DGG_PRESETS", "DGGGraph", "dgg_affinity", "elbo_terms", "pi_update",
           "analytic_posterior", "half_circles"]

LIKELIHOODS = ("auto", "bernoulli", "gaussian")
POSTERIORS = ("classifier", "analytic")
AFFINITIES = ("gaussian", "uniform", "siamese")
GRAPH_SPACES = ("input", "latent")
COVARIANCES = ("diag", "full")
PI_MODES = ("auto", "per_sample", "global")
LOG2PI = math.log(2.0 * math.pi)
_EVAL_CHUNK = 4096
_LOGVAR_CLIP = (-20.0, 10.0)
_MIN_CLASSIFIER_STEPS = 300
#: q(z|x) starts with variance _QVAR_INIT x the median component variance (see _pretrain).
_QVAR_INIT = 0.01
CACHE_FORMAT = "graphclust-dgg-pretrain/2"  # /2: the start labels are cached too

#: Named parameter sets (``DGG.preset("paper")`` or ``DGG(**DGG_PRESETS["fast"])``).
DGG_PRESETS = {
    # Section 4.2: D-500-500-2000-10, Siamese affinity (20 of 100), Adam decayed 0.9 / 10, with
    # one deviation: lr 2e-3, not the paper's 0.02, which collapses this implementation in the
    # first epoch on MNIST (MNIST-test: 2 of 10 clusters left, ACC 0.18 after 10 epochs, with
    # either posterior; 2e-3 gives 0.68; benchmarks/RESULTS_dgg.md). lr=0.02 restores it.
    "paper": dict(hidden=(500, 500, 2000), latent_dim=10, n_neighbors=20, affinity="siamese",
                  siamese_candidates=100, posterior="classifier", lr=2e-3, lr_decay=0.9,
                  lr_decay_every=10, epochs=300, pretrain_epochs=50, neighbor_samples=1),
    # The same network with the Gaussian affinity (no Siamese net), fewer epochs, the UMAP +
    # Gaussian-mixture start and full-covariance components: the budget preset for MNIST on a
    # CPU. MNIST-test: ACC 0.9525 in 6.0 min cold on 2 cores; with diagonal components 0.916 (they
    # read the 0.953 start as 0.89 before any training); with the k-means start
    # (pseudo_labels="kmeans") 0.705 in 7.6 min. 100 pretraining epochs matter for k-means: 10
    # gave it a start at ACC 0.2-0.34, 30 at 0.62.
    "fast": dict(hidden=(500, 500, 2000), latent_dim=10, n_neighbors=20, affinity="gaussian",
                 lr=2e-3, lr_decay=0.9, lr_decay_every=10, epochs=50, pretrain_epochs=100,
                 neighbor_samples=1, pseudo_labels="umap-gmm", covariance="full"),
}


# ============================================================================ functional core


def half_circles(n_per_class: int = 2000, *, distance: float = 0.0, noise: float = 0.08,
                 random_state=None):
    """Two interleaved half circles in 2-D (the paper's Fig. 1 data).

    The upper half circle (radius 1, centre (0, 0)) and the lower one (centre (1, 0.5 -
    distance)); ``distance`` > 0 moves them apart, ``noise`` is the Gaussian jitter.

    Returns
    -------
    X : ndarray (2 n_per_class, 2), float64
    y : ndarray (2 n_per_class,), int64
    """
    rng = check_random_state(random_state)
    n = check_int(n_per_class, "n_per_class", low=1)
    t = rng.uniform(0.0, np.pi, size=n)
    upper = np.c_[np.cos(t), np.sin(t)]
    t = rng.uniform(0.0, np.pi, size=n)
    lower = np.c_[1.0 - np.cos(t), 0.5 - np.sin(t) - distance]
    X = np.vstack([upper, lower]) + noise * rng.standard_normal((2 * n, 2))
    y = np.repeat(np.arange(2, dtype=np.int64), n)
    return X, y


def _log_lik(x, out, likelihood: str, lam: float):
    """log p(x | z) per row: ``out`` is the decoder output (logits or means)."""
    if likelihood == "bernoulli":
        return -torch.nn.functional.binary_cross_entropy_with_logits(out, x, reduction="none").sum(1)
    return -0.5 * (((x - out) ** 2) / lam + math.log(lam) + LOG2PI).sum(1)


def _cholesky(logvar_c, tril_c):
    """L_c = diag(exp(logvar_c / 2)) + strictly-lower(tril_c), (K, M, M)."""
    return torch.diag_embed(torch.exp(0.5 * logvar_c)) + torch.tril(tril_c, diagonal=-1)


def component_factors(logvar_c, tril_c):
    """Inverse Cholesky factors A_c = L_c^-1 (K, M, M) of full-covariance components.

    L_c = diag(exp(logvar_c / 2)) + strictly-lower(tril_c), Sigma_c = L_c L_c^T, so
    log |Sigma_c| = sum(logvar_c) and (v^T Sigma_c^-1 v) = |A_c v|^2.
    """
    L = _cholesky(logvar_c, tril_c)
    eye = torch.eye(L.shape[-1], dtype=L.dtype, device=L.device).expand_as(L)
    return torch.linalg.solve_triangular(L, eye, upper=False)


def _mahalanobis(A, z, mu_c):
    """(z_n - mu_k)^T Sigma_k^-1 (z_n - mu_k) for every row and component, (n, K), from A_c."""
    w = torch.einsum("kij,nkj->nki", A, z[:, None, :] - mu_c[None])
    return (w ** 2).sum(2)


def elbo_terms(x, out, mu_q, logvar_q, gamma, log_pi, mu_c, logvar_c, *,
               likelihood: str = "bernoulli", lam: float = 1.0, tril_c=None):
    """The four terms of the ELBO (eqs. 21 / 26), one value per row.

    Parameters (tensors; n rows, K components, M latent dims, D features)
    -------------------------------------------------------------------
    x : (n, D) the target (x_i for both L(x_i) and L(x_i, x_j)).
    out : (n, D) decoder output g(z) for z drawn from q(z | x_source): logits (Bernoulli) or
        means (Gaussian).
    mu_q, logvar_q : (n, M) q(z | x_source).
    gamma : (n, K) q(c | z).
    log_pi : (n, K) or (K,) log prior of the target.
    mu_c, logvar_c : (K, M) the Gaussian components.
    tril_c : (K, M, M) or None
        Full covariances: the strictly lower part of each Cholesky factor, whose diagonal is
        exp(logvar_c / 2) (see :func:`component_factors`); None: diagonal covariances.

    Returns
    -------
    dict with ``recon`` = log p(x | z) (one sample), ``prior`` = E_q[log p(z | c)] (exact),
    ``cat`` = sum_k gamma_k (log pi_k - log gamma_k), ``entropy`` = H[q(z | x_source)]; the
    ELBO estimate is their sum.
    """
    recon = _log_lik(x, out, likelihood, lam)
    var_q = logvar_q.exp()  # (n, M)
    # E_q[log N(z | mu_c, Sigma_c)] for every component: (n, K)
    if tril_c is None:
        var_c = logvar_c.exp()  # (K, M)
        quad = (var_q[:, None, :] + (mu_q[:, None, :] - mu_c[None]) ** 2) / var_c[None]
        e_log_pz = -0.5 * (LOG2PI + logvar_c[None] + quad).sum(2)
    else:  # -1/2 [M log 2pi + log|S| + tr(S^-1 diag var_q) + (mu_q - mu_c)^T S^-1 (mu_q - mu_c)]
        A = component_factors(logvar_c, tril_c)
        trace = var_q @ (A ** 2).sum(1).T
        e_log_pz = -0.5 * (mu_c.shape[1] * LOG2PI + logvar_c.sum(1)[None] + trace
                           + _mahalanobis(A, mu_q, mu_c))
    prior = (gamma * e_log_pz).sum(1)
    log_gamma = torch.log(gamma.clamp_min(1e-12))
    cat = (gamma * (log_pi - log_gamma)).sum(1)
    entropy = 0.5 * (LOG2PI + 1.0 + logvar_q).sum(1)
    return {"recon": recon, "prior": prior, "cat": cat, "entropy": entropy}


def log_gaussians(z, mu_c, logvar_c, tril_c=None):
    """log N(z | mu_k, Sigma_k) for every row and component: (n, K); Sigma_k = diag var_k, or
    full with ``tril_c`` (see :func:`component_factors`)."""
    if tril_c is None:
        return -0.5 * (LOG2PI + logvar_c[None] + (z[:, None, :] - mu_c[None]) ** 2
                       / logvar_c.exp()[None]).sum(2)
    A = component_factors(logvar_c, tril_c)
    return -0.5 * (mu_c.shape[1] * LOG2PI + logvar_c.sum(1)[None] + _mahalanobis(A, z, mu_c))


def analytic_posterior(z, log_pi, mu_c, logvar_c, tril_c=None):
    """VaDE's responsibilities gamma_k ∝ pi_k N(z | mu_k, Sigma_k): (n, K)."""
    return torch.softmax(log_pi + log_gaussians(z, mu_c, logvar_c, tril_c), dim=1)


def pi_update(gamma_self, gamma_neighbors=None, weights=None, graph_weight: float = 1.0,
              floor: float = 1e-6):
    """Closed-form per-sample mixture weights (the maximiser of eq. 30).

    pi_ik ∝ gamma_ik + a sum_j w_ij gamma_jk, with ``gamma_neighbors`` (n, s, K) and
    ``weights`` (n, s) (rows summing to 1; ``None`` = equal weights over the s neighbours);
    entries are floored at ``floor`` and renormalised. Works on tensors or ndarrays.
    """
    lib = torch if isinstance(gamma_self, torch.Tensor) else np
    acc = gamma_self * 1.0
    if gamma_neighbors is not None and graph_weight > 0:
        if weights is None:
            nb = gamma_neighbors.mean(1) if lib is torch else gamma_neighbors.mean(axis=1)
        else:
            nb = (weights[..., None] * gamma_neighbors).sum(1) if lib is torch else \
                (weights[..., None] * gamma_neighbors).sum(axis=1)
        acc = acc + graph_weight * nb
    if lib is torch:
        acc = acc.clamp_min(0.0)
        acc = acc / acc.sum(1, keepdim=True).clamp_min(1e-30)
        acc = acc.clamp_min(floor)
        return acc / acc.sum(1, keepdim=True)
    acc = np.maximum(acc, 0.0)
    acc = acc / np.maximum(acc.sum(1, keepdims=True), 1e-30)
    acc = np.maximum(acc, floor)
    return acc / acc.sum(1, keepdims=True)


# ============================================================================ affinity


class DGGGraph:
    """The directed affinity graph: ``indices`` (n, N_s) and ``weights`` (n, N_s), rows sum to 1.

    ``matrix()`` gives it as a scipy.sparse CSR W (row i holds w_ij).
    """

    def __init__(self, indices: np.ndarray, weights: np.ndarray, kind: str):
        self.indices = np.ascontiguousarray(indices, dtype=np.int64)
        self.weights = np.ascontiguousarray(weights, dtype=np.float64)
        self.kind = kind

    @property
    def n_neighbors(self) -> int:
        return int(self.indices.shape[1])

    def matrix(self):
        n, s = self.indices.shape
        rows = np.repeat(np.arange(n), s)
        return sp.csr_matrix((self.weights.ravel(), (rows, self.indices.ravel())), shape=(n, n))

    def __repr__(self) -> str:
        return f"DGGGraph(n={self.indices.shape[0]}, N_s={self.n_neighbors}, kind={self.kind!r})"


def _kernel_weights(dist: np.ndarray, kind: str) -> np.ndarray:
    """Row-normalised weights from neighbour distances: eq. 32 (gaussian) or uniform."""
    n, s = dist.shape
    if kind == "uniform":
        return np.full((n, s), 1.0 / s)
    scale = np.median(dist, axis=1, keepdims=True)
    pos = scale[scale > 0]
    fallback = float(np.median(pos)) if pos.size else 1.0
    scale = np.where(scale > 0, scale, fallback)
    # subtract the row's smallest exponent (cancels in the normalisation; avoids underflow)
    expo = -(dist ** 2) / (2.0 * scale ** 2)
    expo -= expo.max(axis=1, keepdims=True)
    w = np.exp(expo)
    return w / w.sum(axis=1, keepdims=True)


def _train_siamese(X, *, dims, positives, epochs, batch_size, lr, seed, device, margin=1.0):
    """Contrastive Siamese MLP (SpectralNet's recipe): kNN pairs close, random pairs >= margin."""
    from graphclust.deep.training import TrainingLoop as _Loop

    class _Task:
        def __init__(self):
            g = make_generator(seed)
            self.net = build_mlp(dims, generator=g).to(device)
            self.opt = torch.optim.Adam(self.net.parameters(), lr=lr)
            self.gen = make_generator(seed + 1, device)
            self.X = torch.as_tensor(X, dtype=torch.float32, device=device)
            self.pos = torch.as_tensor(positives, device=device)
            self.n = X.shape[0]

        def fingerprint(self):
            return "siamese"

        def n_steps(self, epoch):
            return math.ceil(self.n / batch_size)

        def tolerance_active(self, epoch):
            return False

        def begin_epoch(self, epoch):
            self.perm = torch.randperm(self.n, generator=self.gen, device=device)

        def step(self, epoch, step):
            i = self.perm[step * batch_size:(step + 1) * batch_size]
            b = i.numel()
            col = torch.randint(self.pos.shape[1], (b,), generator=self.gen, device=device)
            j = self.pos[i, col]
            r = torch.randint(self.n, (b,), generator=self.gen, device=device)
            H = self.net(self.X[torch.cat([i, j, r])])
            hi, hj, hr = H[:b], H[b:2 * b], H[2 * b:]
            d_pos = (hi - hj).pow(2).sum(1)
            d_neg = torch.sqrt((hi - hr).pow(2).sum(1) + 1e-12)
            loss = d_pos.mean() + torch.relu(margin - d_neg).pow(2).mean()
            self.opt.zero_grad(set_to_none=True)
            loss.backward()
            self.opt.step()
            return {"loss": loss.detach()}

        def end_epoch(self, epoch):
            return {}

        @torch.no_grad()
        def embed(self):
            self.net.eval()
            return torch.cat([self.net(self.X[s:s + _EVAL_CHUNK])
                              for s in range(0, self.n, _EVAL_CHUNK)]).cpu().numpy()

    task = _Task()
    _Loop(name="dgg siamese", epochs=epochs, tol=0).run(task)
    return task.embed()


def dgg_affinity(X, n_neighbors: int = 20, *, affinity: str = "gaussian", knn_method="auto",
                 siamese_candidates: int = 100, siamese_dims=(256, 256, 10), siamese_epochs=10,
                 siamese_positives: int = 2, random_state=None, n_jobs=None,
                 device="cpu") -> DGGGraph:
    """The DGG affinity graph of points ``X`` (kNN -> eq. 32 / uniform / Siamese), rows sum to 1."""
    from graphclust.graph.neighbors import knn

    X = check_points(X)
    n = X.shape[0]
    affinity = check_choice(affinity, "affinity", AFFINITIES)
    s = check_int(n_neighbors, "n_neighbors", low=1, high=n - 1,
                  hint=f"X has {n} samples, so at most {n - 1} neighbours exist; lower n_neighbors.")
    rng = check_random_state(random_state)
    if affinity != "siamese":
        res = knn(X, s, method=knn_method, random_state=seed_from(rng), n_jobs=n_jobs)
        return DGGGraph(res.indices, _kernel_weights(res.distances, affinity), affinity)
    cand = min(max(s, int(siamese_candidates)), n - 1)
    pos = knn(X, min(int(siamese_positives), n - 1), method=knn_method,
              random_state=seed_from(rng), n_jobs=n_jobs).indices
    dev = torch.device(device) if not isinstance(device, torch.device) else device
    H = _train_siamese(X.astype(np.float32), dims=(X.shape[1], *siamese_dims), positives=pos,
                       epochs=int(siamese_epochs), batch_size=256, lr=1e-3, seed=seed_from(rng),
                       device=dev)
    res = knn(H.astype(np.float64), cand, method=knn_method, random_state=seed_from(rng),
              n_jobs=n_jobs)
    # s of the `cand` nearest, drawn at random without replacement (the paper: 20 of 100)
    keys = rng.random((n, cand))
    pick = np.sort(np.argsort(keys, axis=1)[:, :s], axis=1)
    idx = np.take_along_axis(res.indices, pick, axis=1)
    dist = np.take_along_axis(res.distances, pick, axis=1)
    return DGGGraph(idx, _kernel_weights(dist, "gaussian"), "siamese")


# ============================================================================ networks


class _Nets:
    """f1 (encoder -> [mu~, log sigma~^2]), g (decoder), f2 (classifier) and the GMM."""

    def __init__(self, D, hidden, M, K, classifier_hidden, seed, device, full=False):
        g = make_generator(seed)
        self.encoder = build_mlp((D, *hidden, 2 * M), generator=g).to(device)
        self.decoder = build_mlp((M, *reversed(hidden), D), generator=g).to(device)
        self.classifier = build_mlp((M, *classifier_hidden, K), generator=g).to(device)
        self.mu_c = torch.nn.Parameter(torch.zeros(K, M, device=device))
        self.logvar_c = torch.nn.Parameter(torch.zeros(K, M, device=device))
        # full covariances: the strictly lower part of each component's Cholesky factor
        self.tril_c = torch.nn.Parameter(torch.zeros(K, M, M, device=device)) if full else None
        self.M = M

    def gmm_params(self):
        return [self.mu_c, self.logvar_c] + ([self.tril_c] if self.tril_c is not None else [])

    def covariances(self):
        """Sigma_c (K, M, M)."""
        if self.tril_c is None:
            return torch.diag_embed(self.logvar_c.exp())
        L = _cholesky(self.logvar_c, self.tril_c)
        return L @ L.transpose(1, 2)

    def modules(self):
        return {"encoder": self.encoder, "decoder": self.decoder, "classifier": self.classifier}

    def encode(self, x):
        h = self.encoder(x)
        return h[:, :self.M], h[:, self.M:].clamp(*_LOGVAR_CLIP)

    def train(self, flag=True):
        for m in self.modules().values():
            m.train(flag)

    def state_dict(self):
        out = {k: m.state_dict() for k, m in self.modules().items()}
        out["mu_c"] = self.mu_c.detach().clone()
        out["logvar_c"] = self.logvar_c.detach().clone()
        if self.tril_c is not None:
            out["tril_c"] = self.tril_c.detach().clone()
        return out

    def load_state_dict(self, s):
        for k, m in self.modules().items():
            m.load_state_dict(s[k])
        with torch.no_grad():
            self.mu_c.copy_(s["mu_c"])
            self.logvar_c.copy_(s["logvar_c"])
            if self.tril_c is not None:
                self.tril_c.copy_(s["tril_c"])


class _PretrainTask:
    """Autoencoder pretraining of f1's mean path and g with the likelihood loss."""

    def __init__(self, nets: _Nets, X, likelihood, lam, batch_size, lr, noise, seed, device):
        self.nets, self.X, self.n = nets, X, X.shape[0]
        self.likelihood, self.lam, self.noise = likelihood, lam, noise
        self.batch_size, self.device = batch_size, device
        params = list(nets.encoder.parameters()) + list(nets.decoder.parameters())
        self.opt = torch.optim.Adam(params, lr=lr)
        self.gen = make_generator(seed, device)

    def fingerprint(self):
        return "dgg-pretrain"

    def n_steps(self, epoch):
        return math.ceil(self.n / self.batch_size)

    def tolerance_active(self, epoch):
        return False

    def begin_epoch(self, epoch):
        self.nets.train(True)
        self.perm = torch.randperm(self.n, generator=self.gen, device=self.device)

    def step(self, epoch, step):
        x = self.X[self.perm[step * self.batch_size:(step + 1) * self.batch_size]]
        xin = x
        if self.noise > 0:  # denoising: input dropout
            keep = torch.rand(x.shape, generator=self.gen, device=self.device) >= self.noise
            xin = x * keep / (1.0 - self.noise)
        mu, _ = self.nets.encode(xin)
        loss = -_log_lik(x, self.nets.decoder(mu), self.likelihood, self.lam).mean()
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        return {"reconstruction": loss.detach(), "loss": loss.detach()}

    def end_epoch(self, epoch):
        return {}

    def state_dict(self):
        return {}

    def load_state_dict(self, s):
        pass


def _train_classifier(nets: _Nets, Z, labels, *, epochs, batch_size, lr, seed, device):
    """Fit f2 to the k-means pseudo-labels (cross-entropy on the latent means)."""
    opt = torch.optim.Adam(nets.classifier.parameters(), lr=lr)
    gen = make_generator(seed, device)
    y = torch.as_tensor(labels, device=device)
    n = Z.shape[0]
    nets.classifier.train(True)
    per_epoch = math.ceil(n / batch_size)
    # at least _MIN_CLASSIFIER_STEPS steps: on small data a few epochs are a handful of steps
    for _ in range(max(epochs, math.ceil(_MIN_CLASSIFIER_STEPS / per_epoch))):
        perm = torch.randperm(n, generator=gen, device=device)
        for s in range(0, n, batch_size):
            i = perm[s:s + batch_size]
            loss = torch.nn.functional.cross_entropy(nets.classifier(Z[i]), y[i])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    with torch.no_grad():
        nets.classifier.eval()
        pred = torch.cat([nets.classifier(Z[s:s + _EVAL_CHUNK]).argmax(1)
                          for s in range(0, n, _EVAL_CHUNK)])
    return float((pred == y).float().mean())


# ============================================================================ training task


class _DGGTask:
    """Data, graph, networks, optimiser and per-sample priors of one DGG fit."""

    def __init__(self, est: "DGG", X: np.ndarray, graph: DGGGraph | None, nets: _Nets, device,
                 seeds: dict, fingerprint: str, likelihood: str, pi_mode: str):
        self.est, self.device, self.nets = est, device, nets
        self.n, self.K = X.shape[0], est.n_clusters
        self.X = torch.as_tensor(X, dtype=torch.float32, device=device)
        self._fingerprint = fingerprint
        self.likelihood, self.lam = likelihood, float(est.lam_)
        self.alpha = float(est.graph_weight) if graph is not None else 0.0
        self.graph = graph
        self.pi_mode = pi_mode
        if graph is not None:
            self.nb_idx = torch.as_tensor(graph.indices, device=device)
            self.nb_w = torch.as_tensor(graph.weights, dtype=torch.float32, device=device)
            self.W = graph.matrix()
        self.gen = make_generator(seeds["sample"], device)
        params = [p for m in nets.modules().values() for p in m.parameters()]
        self.optimizer = torch.optim.Adam([{"params": params},
                                           {"params": nets.gmm_params()}], lr=est.lr)
        if pi_mode == "per_sample":
            self.log_pi = torch.full((self.n, self.K), -math.log(self.K), device=device)
        else:
            self.log_pi = torch.full((self.K,), -math.log(self.K), device=device)
        self.log_var_floor = math.log(float(est.var_floor))
        self.labels = None
        self.clamped_total = 0
        self.clamped_epoch = 0
        s = est.neighbor_samples
        self.n_samples_nb = graph.n_neighbors if (graph is not None and s == "all") else \
            (int(s) if graph is not None else 0)

    # -- interface used by TrainingLoop
    def fingerprint(self) -> str:
        return self._fingerprint

    def n_steps(self, epoch: int) -> int:
        return math.ceil(self.n / self.est.batch_size)

    def tolerance_active(self, epoch: int) -> bool:
        return epoch + 1 >= self.est.min_epochs

    def begin_epoch(self, epoch: int) -> None:
        self.nets.train(True)
        lr = self.est.lr * self.est.lr_decay ** (epoch // self.est.lr_decay_every)
        for g in self.optimizer.param_groups:
            g["lr"] = lr
        self.perm = torch.randperm(self.n, generator=self.gen, device=self.device)
        self.clamped_epoch = 0

    def _log_pi_rows(self, idx):
        return self.log_pi[idx] if self.pi_mode == "per_sample" else self.log_pi.expand(idx.numel(), -1)

    def _gamma(self, z, log_pi):
        nets = self.nets
        if self.est.posterior == "classifier":
            return torch.softmax(nets.classifier(z), dim=1)
        return analytic_posterior(z, log_pi, nets.mu_c, nets.logvar_c, nets.tril_c)

    def step(self, epoch: int, step: int) -> dict:
        est, nets = self.est, self.nets
        B = est.batch_size
        idx = self.perm[step * B:(step + 1) * B]
        b = idx.numel()
        s = self.n_samples_nb
        if s:
            if est.neighbor_samples == "all":
                j = self.nb_idx[idx]                                            # (b, s)
                wj = self.nb_w[idx]
            else:
                pos = torch.multinomial(self.nb_w[idx], s, replacement=True, generator=self.gen)
                j = torch.gather(self.nb_idx[idx], 1, pos)                      # (b, s)
                wj = None
            src = torch.cat([idx, j.reshape(-1)])
        else:
            src = idx
        mu, logvar = nets.encode(self.X[src])
        eps = torch.randn(mu.shape, generator=self.gen, device=self.device)
        z = mu + torch.exp(0.5 * logvar) * eps
        out = nets.decoder(z)
        log_pi_i = self._log_pi_rows(idx)
        x_i = self.X[idx]
        g_self = self._gamma(z[:b], log_pi_i)
        t_self = elbo_terms(x_i, out[:b], mu[:b], logvar[:b], g_self, log_pi_i, nets.mu_c,
                            nets.logvar_c, likelihood=self.likelihood, lam=self.lam,
                            tril_c=nets.tril_c)
        L_self = sum(t_self.values())
        rec = {k: v.detach().mean() for k, v in t_self.items()}
        if s:
            lp_rep = log_pi_i.repeat_interleave(s, dim=0)
            g_nb = self._gamma(z[b:], lp_rep)
            t_nb = elbo_terms(x_i.repeat_interleave(s, dim=0), out[b:], mu[b:], logvar[b:], g_nb,
                              lp_rep, nets.mu_c, nets.logvar_c, likelihood=self.likelihood,
                              lam=self.lam, tril_c=nets.tril_c)
            L_nb = sum(t_nb.values()).reshape(b, s)
            L_pair = L_nb.mean(1) if wj is None else (wj * L_nb).sum(1)
            J = (L_self + self.alpha * L_pair) / (1.0 + self.alpha)
            rec["pair"] = L_pair.detach().mean()
        else:
            J = L_self
        loss = -J.mean()
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        with torch.no_grad():
            low = nets.logvar_c < self.log_var_floor
            n_low = low.sum()
            nets.logvar_c.clamp_(min=self.log_var_floor)
            self.clamped_epoch += int(n_low) if bool(n_low) else 0
            if self.pi_mode == "per_sample":  # Algorithm 1, line 8, for the batch
                gs = g_self.detach()
                gn = g_nb.detach().reshape(b, s, -1) if s else None
                self.log_pi[idx] = torch.log(pi_update(gs, gn, wj, self.alpha))
        rec["loss"] = loss.detach()
        return rec

    @torch.no_grad()
    def encode_all(self, X=None):
        self.nets.train(False)
        X = self.X if X is None else X
        mus, lvs = [], []
        for s in range(0, X.shape[0], _EVAL_CHUNK):
            mu, lv = self.nets.encode(X[s:s + _EVAL_CHUNK])
            mus.append(mu)
            lvs.append(lv)
        return torch.cat(mus), torch.cat(lvs)

    @torch.no_grad()
    def posterior_at_means(self, mu, log_pi):
        out = []
        for s in range(0, mu.shape[0], _EVAL_CHUNK):
            lp = log_pi if log_pi.dim() == 1 else log_pi[s:s + _EVAL_CHUNK]
            out.append(self._gamma(mu[s:s + _EVAL_CHUNK], lp.expand(mu[s:s + _EVAL_CHUNK].shape[0], -1)))
        return torch.cat(out)

    @torch.no_grad()
    def end_epoch(self, epoch: int) -> dict:
        mu, _ = self.encode_all()
        gamma = self.posterior_at_means(mu, self.log_pi)
        self.gamma = gamma
        if self.pi_mode == "per_sample":
            G = gamma.cpu().double().numpy()
            nb = self.W @ G if self.graph is not None else None
            acc = G + (self.alpha * nb if nb is not None else 0.0)
            pi = pi_update(acc, None, None, 0.0)
            self.log_pi = torch.log(torch.as_tensor(pi, dtype=torch.float32, device=self.device))
        else:
            pi = gamma.mean(0).clamp_min(1e-6)
            self.log_pi = torch.log(pi / pi.sum())
        labels = gamma.argmax(1).cpu().numpy()
        self.labels = labels
        self.clamped_total += self.clamped_epoch
        var = self.nets.logvar_c.exp()
        return {"labels": labels, "clamped_variances": self.clamped_epoch,
                "min_variance": float(var.min()), "lr": self.optimizer.param_groups[0]["lr"]}

    def state_dict(self) -> dict:
        return {"nets": self.nets.state_dict(), "optimizer": self.optimizer.state_dict(),
                "log_pi": self.log_pi.clone(), "generator": self.gen.get_state(),
                "clamped_total": torch.tensor(self.clamped_total)}

    def load_state_dict(self, state: dict) -> None:
        self.nets.load_state_dict(state["nets"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.log_pi = state["log_pi"].to(self.device)
        self.gen.set_state(state["generator"])
        self.clamped_total = int(state["clamped_total"])


def _cholesky_start(members: np.ndarray, var: np.ndarray, floor: float) -> np.ndarray:
    """Cholesky factor of a cluster's unbiased covariance + floor I (diagonal ``var`` when the
    cluster has too few points for a full estimate)."""
    M = members.shape[1]
    if members.shape[0] > M:
        cov = np.cov(members, rowvar=False, ddof=1) + floor * np.eye(M)
        try:
            return np.linalg.cholesky(cov)
        except np.linalg.LinAlgError:
            pass
    return np.diag(np.sqrt(var))


# ============================================================================ estimator


def _default_cache_dir() -> Path:
    env = os.environ.get("GRAPHCLUST_CACHE")
    if env:
        return Path(env).expanduser() / "dgg"
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "graphclust" / "dgg"


class DGG(ClusterMixin, BaseEstimator):
    """DGG: Gaussian-mixture VAE with stochastic graph embedding (Yang et al., ICCV 2019).

    A VAE whose latent prior is a mixture of K diagonal Gaussians. Every point x_i is
    reconstructed from its own posterior and from its graph neighbours' posteriors (eq. 19),
    which pushes connected points to the same latent region and the same component; the
    per-sample mixture weights pi_i follow in closed form (eq. 30). ``graph_weight=0`` (or
    ``n_neighbors=0``) is plain VaDE. See the module docstring for the exact formulas and
    ``docs/dgg.md`` for every choice made where the paper is silent.

    Parameters
    ----------
    n_clusters : int, default=10
    latent_dim : int, default=10
        M, dimension of z (the paper: 10; 2 for the half circles).
    hidden : tuple of int, default=(500, 500, 2000)
        Encoder widths (D-500-500-2000-M as in the paper); the decoder mirrors them.
    classifier_hidden : tuple of int or "auto", default="auto"
        Hidden widths of f2: "auto" is the paper's M-K when K >= M, M-K-K when K < M.
    posterior : {"analytic", "classifier"}, default="analytic"
        q(c | z): VaDE's responsibilities gamma ∝ pi_i N(z | mu_c, sigma_c^2) with the target's
        per-sample prior pi_i, or the classifier network f2 (the paper; its ``paper`` preset).
        With the analytic posterior the graph-smoothed pi_i enters gamma directly, and the
        two-half-circles experiment converges in a third of the epochs (docs/dgg.md).
    covariance : {"diag", "full"}, default="diag"
        The components' covariances: diagonal (the paper, VaDE) or full, parametrised by a
        Cholesky factor whose diagonal is clamped at sqrt(var_floor) and started from each
        start cluster's unbiased covariance. On MNIST-test the diagonal mixture with the start
        clusters' moments reads the 0.953 UMAP + mixture start as 0.888 (quadratic
        discriminant, before training), a full one as 0.941 (benchmarks/RESULTS_dgg.md).
    likelihood : {"auto", "bernoulli", "gaussian"}, default="auto"
        p(x | z): Bernoulli (X must lie in [0, 1]) or N(g(z), lam I). "auto": Bernoulli when
        every value of X is in [0, 1], else Gaussian.
    lam : float or "auto", default="auto"
        lambda, the variance of the Gaussian likelihood (in squared units of X). "auto": its
        maximum-likelihood estimate after pretraining, the mean squared reconstruction
        residual of the autoencoder at the latent means (floored at 1e-6 x the variance of X);
        the value used is ``lam_``. The paper sets lambda by hand (10 for STL-10 and Reuters,
        0.01 for HHAR). On the two half circles, lam=0.1 (15x the noise variance) leaves a
        tip of one curve in the other cluster, "auto" separates them (benchmarks/RESULTS_dgg.md).
    graph_weight : float, default=1.0
        a in J_i = (L(x_i) + a sum_j w_ij L(x_i, x_j)) / (1 + a): 1 is the paper, 0 is VaDE.
    n_neighbors : int, default=20
        N_s, neighbours per point in the affinity graph; 0 disables the graph (VaDE).
    affinity : {"gaussian", "uniform", "siamese"}, default="gaussian"
        Weights of the kNN graph: eq. 32 with s_i the median distance of x_i's N_s
        neighbours; 1/N_s; or eq. 32 in the space of a Siamese network (see ``siamese_*``).
    graph_space : {"input", "latent"}, default="input"
        Where the kNN graph is built: on X (the paper), or on the pretrained autoencoder's
        latent means (after pretraining, before training; the graph is not rebuilt).
    neighbor_samples : int or "all", default=1
        Neighbours drawn per point and step, with probability w_ij (an unbiased estimate of
        the neighbour sum); "all" evaluates the full sum (N_s times the decoder work).
    knn_method : str, default="auto"
        graphclust's kNN method (exact below 15,000 points, NN-descent above).
    siamese_candidates : int, default=100
        The Siamese affinity draws N_s neighbours at random among this many nearest.
    siamese_hidden : tuple of int, default=(256, 256)
    siamese_dim : int, default=10
    siamese_epochs : int, default=10
    siamese_positives : int, default=2
        Positive pairs of the contrastive loss: each point and one of its this-many nearest
        neighbours in X; negatives are uniform random pairs (margin 1).
    pi : {"auto", "per_sample", "global"}, default="auto"
        Mixture weights: per-sample pi_i (eq. 31) or one global pi (VaDE). "auto": per-sample
        with a graph, global without.
    epochs : int, default=50
    batch_size : int, default=256
        Points (anchors) per step; each brings ``neighbor_samples`` neighbours.
    lr : float, default=2e-4
        Adam learning rate (the paper: 0.02). With 2e-3, the D-500-500-2000-10 network put
        small easy sets (300-1,000 points of 3-5 Gaussian blobs) into one cluster in 2 of 3
        cases; 2e-4 separated all three (ARI 1.0). The ``fast`` preset keeps 2e-3 for MNIST.
    lr_decay : float, default=0.9
    lr_decay_every : int, default=10
        lr * lr_decay ** (epoch // lr_decay_every) (the paper: x0.9 every 10 epochs).
    var_floor : float, default=1e-4
        sigma_c^2 is clamped at this after every step; the number of clamped entries per
        epoch is ``history_[e]["clamped_variances"]``.
    pretrain_epochs : int, default=30
        Autoencoder epochs before the GMM initialisation (0: start from random weights).
    pretrain_lr : float, default=1e-3
    pretrain_noise : float, default=0.1
        Input dropout of the (denoising) autoencoder pretraining.
    classifier_epochs : int, default=10
        Epochs fitting f2 to the k-means pseudo-labels (Adam 1e-2, at least 300 steps); only
        with ``posterior="classifier"`` (0 skips it).
    pseudo_labels : {"kmeans", "umap-gmm"}, default="kmeans"
        How the pretrained latent means are clustered to start the GMM (means, unbiased
        variances) and f2: k-means (Algorithm 1 of the paper), or UMAP of the latent means and
        a full-covariance Gaussian mixture on that layout, the best of ``n_init`` starts by
        likelihood (the N2D recipe; needs umap-learn, in the ``deep`` extra; see
        :mod:`graphclust.deep.pseudo_labels`). On MNIST-test the k-means start is ACC 0.63
        and DGG ends at 0.705; the umap-gmm start is 0.95 and DGG ends at 0.92 with diagonal
        components, 0.95 with full ones (benchmarks/RESULTS_dgg.md). The ``fast`` preset uses
        "umap-gmm".
    n_init : int, default=10
        Restarts of the start's clustering (k-means, or the Gaussian mixture).
    cache_dir : path, "auto" or None, default="auto"
        Where pretrained networks are cached, keyed by a hash of X, the pretraining
        configuration and the seed: "auto" is $GRAPHCLUST_CACHE/dgg or ~/.cache/graphclust/dgg;
        None disables the cache.
    tol : float, default=1e-3
        Stop when fewer than this fraction of labels changed for ``patience`` epochs (from
        epoch ``min_epochs`` on); 0 disables.
    patience : int, default=5
    min_epochs : int, default=10
    device : str, default="auto"
    n_jobs : int or None, default=None
        CPU threads for torch and the kNN search.
    random_state : int, Generator or None, default=None
        Seeds everything (kNN, initialisation, pretraining, k-means, sampling). With an int seed
        and fixed ``n_jobs`` a CPU fit is reproducible bit for bit.
    checkpoint : path or None, default=None
    checkpoint_every : int, default=5
    callbacks : sequence of callables or None

    Attributes
    ----------
    labels_ : ndarray (n_samples,), int64
    soft_labels_ : ndarray (n_samples, n_clusters), q(c | mu~) of the training points.
    embedding_ : ndarray (n_samples, latent_dim), latent means mu~.
    means_, variances_ : ndarray (n_clusters, latent_dim), the GMM components (variances_: the
        diagonal of each covariance).
    covariances_ : ndarray (n_clusters, latent_dim, latent_dim), Sigma_c (diagonal matrices
        with ``covariance="diag"``).
    weights_ : ndarray (n_clusters,), the mean mixture weights.
    pi_ : ndarray (n_samples, n_clusters), per-sample pi_i (rows equal to ``weights_`` with a
        global pi).
    history_ : History, per epoch: loss, recon, prior, cat, entropy, pair, clamped_variances,
        min_variance, lr, label_change (and ACC/NMI/ARI when ``fit`` got ``y``).
    pretrain_ : dict, pretraining summary (cache hit, seconds, pseudo-label agreement of f2).
    start_labels_ : ndarray (n_samples,), int64, the pseudo-labels that started the GMM (k-means
        or UMAP + mixture, see ``pseudo_labels``).
    graph_ : DGGGraph or None
    likelihood_ : str
    lam_ : float, the Gaussian likelihood's variance used (``lam`` or its "auto" estimate).
    n_epochs_, stop_reason_, device_, timings_
    """

    def __init__(self, n_clusters=10, *, latent_dim=10, hidden=(500, 500, 2000),
                 classifier_hidden="auto", posterior="analytic", covariance="diag",
                 likelihood="auto", lam="auto", graph_weight=1.0, n_neighbors=20,
                 affinity="gaussian", graph_space="input", neighbor_samples=1, knn_method="auto",
                 siamese_candidates=100, siamese_hidden=(256, 256), siamese_dim=10,
                 siamese_epochs=10, siamese_positives=2, pi="auto", epochs=50,
                 batch_size=256, lr=2e-4, lr_decay=0.9, lr_decay_every=10, var_floor=1e-4,
                 pretrain_epochs=30, pretrain_lr=1e-3, pretrain_noise=0.1, classifier_epochs=10,
                 pseudo_labels="kmeans", n_init=10, cache_dir="auto", tol=1e-3, patience=5,
                 min_epochs=10, device="auto", n_jobs=None, random_state=None, checkpoint=None,
                 checkpoint_every=5, callbacks=None):
        self.n_clusters = n_clusters
        self.latent_dim = latent_dim
        self.hidden = hidden
        self.classifier_hidden = classifier_hidden
        self.posterior = posterior
        self.covariance = covariance
        self.likelihood = likelihood
        self.lam = lam
        self.graph_weight = graph_weight
        self.n_neighbors = n_neighbors
        self.affinity = affinity
        self.graph_space = graph_space
        self.neighbor_samples = neighbor_samples
        self.knn_method = knn_method
        self.siamese_candidates = siamese_candidates
        self.siamese_hidden = siamese_hidden
        self.siamese_dim = siamese_dim
        self.siamese_epochs = siamese_epochs
        self.siamese_positives = siamese_positives
        self.pi = pi
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.lr_decay = lr_decay
        self.lr_decay_every = lr_decay_every
        self.var_floor = var_floor
        self.pretrain_epochs = pretrain_epochs
        self.pretrain_lr = pretrain_lr
        self.pretrain_noise = pretrain_noise
        self.classifier_epochs = classifier_epochs
        self.pseudo_labels = pseudo_labels
        self.n_init = n_init
        self.cache_dir = cache_dir
        self.tol = tol
        self.patience = patience
        self.min_epochs = min_epochs
        self.device = device
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.checkpoint = checkpoint
        self.checkpoint_every = checkpoint_every
        self.callbacks = callbacks

    @classmethod
    def preset(cls, name: str, **overrides) -> "DGG":
        """A DGG with a named parameter set (``"paper"`` or ``"fast"``) and any overrides."""
        check_choice(name, "preset", tuple(DGG_PRESETS))
        params = dict(DGG_PRESETS[name])
        params.update(overrides)
        return cls(**params)

    # ------------------------------------------------------------------ validation
    def _validate(self, X):
        X = check_points(X, min_samples=2)
        n = X.shape[0]
        K = check_int(self.n_clusters, "n_clusters", low=1, high=n,
                      hint=f"X has {n} samples; there cannot be more clusters than samples.")
        M = check_int(self.latent_dim, "latent_dim", low=1)
        check_int(self.n_neighbors, "n_neighbors", low=0, high=n - 1,
                  hint=f"X has {n} samples, so at most {n - 1} neighbours exist; lower n_neighbors.")
        self._hidden = tuple(check_int(h, "hidden widths", low=1) for h in (self.hidden or ()))
        if self.classifier_hidden == "auto":
            self._cls_hidden = () if K >= M else (K,)
        else:
            self._cls_hidden = tuple(check_int(h, "classifier_hidden widths", low=1)
                                     for h in (self.classifier_hidden or ()))
        check_choice(self.posterior, "posterior", POSTERIORS)
        check_choice(self.covariance, "covariance", COVARIANCES)
        check_choice(self.likelihood, "likelihood", LIKELIHOODS)
        if isinstance(self.lam, str):
            if self.lam != "auto":
                raise GraphclustError(
                    f"lam must be a positive number (the Gaussian likelihood's variance) or "
                    f"'auto' (estimated after pretraining), got {self.lam!r}.")
        else:
            check_float(self.lam, "lam", low=0.0, low_open=True)
        check_float(self.graph_weight, "graph_weight", low=0.0)
        check_choice(self.affinity, "affinity", AFFINITIES)
        check_choice(self.graph_space, "graph_space", GRAPH_SPACES)
        if self.neighbor_samples != "all":
            check_int(self.neighbor_samples, "neighbor_samples", low=1,
                      hint="use an integer >= 1 or 'all' (the exact neighbour sum).")
        check_int(self.siamese_candidates, "siamese_candidates", low=1)
        check_int(self.siamese_epochs, "siamese_epochs", low=1)
        check_int(self.siamese_dim, "siamese_dim", low=1)
        check_int(self.siamese_positives, "siamese_positives", low=1)
        check_choice(self.pi, "pi", PI_MODES)
        check_int(self.epochs, "epochs", low=1)
        check_int(self.batch_size, "batch_size", low=1)
        check_float(self.lr, "lr", low=0.0, low_open=True)
        check_float(self.lr_decay, "lr_decay", low=0.0, low_open=True, high=1.0)
        check_int(self.lr_decay_every, "lr_decay_every", low=1)
        check_float(self.var_floor, "var_floor", low=0.0, low_open=True)
        check_int(self.pretrain_epochs, "pretrain_epochs", low=0)
        check_float(self.pretrain_lr, "pretrain_lr", low=0.0, low_open=True)
        check_float(self.pretrain_noise, "pretrain_noise", low=0.0)
        if self.pretrain_noise >= 1:
            raise GraphclustError(f"pretrain_noise must be < 1 (a dropout rate), got {self.pretrain_noise}.")
        check_int(self.classifier_epochs, "classifier_epochs", low=0)
        check_int(self.n_init, "n_init", low=1)
        check_choice(self.pseudo_labels, "pseudo_labels", PSEUDO_LABELS)
        check_float(self.tol, "tol", low=0.0)
        check_int(self.patience, "patience", low=1)
        check_int(self.min_epochs, "min_epochs", low=0)
        check_int(self.checkpoint_every, "checkpoint_every", low=1)
        if self.n_jobs is not None and self.n_jobs != -1:
            check_int(self.n_jobs, "n_jobs", low=1)
        if np.all(X.max(axis=0) == X.min(axis=0)):
            raise GraphclustError(
                "X has no varying column: every feature is constant, so all points are identical "
                "and there is nothing to cluster. Check the input.")
        lo, hi = float(X.min()), float(X.max())
        likelihood = self.likelihood
        if likelihood == "auto":
            likelihood = "bernoulli" if (lo >= 0.0 and hi <= 1.0) else "gaussian"
        elif likelihood == "bernoulli" and (lo < 0.0 or hi > 1.0):
            raise GraphclustError(
                f"likelihood='bernoulli' needs every value of X in [0, 1], but X ranges over "
                f"[{lo:.4g}, {hi:.4g}]. Use likelihood='gaussian' (with lam, the noise variance) "
                "for real-valued data, or rescale X to [0, 1] (e.g. pixels / 255).")
        self.likelihood_ = likelihood
        self._warn_capacity(n, K, M)
        return X

    @staticmethod
    def _warn_capacity(n, K, M):
        if K > 1 and K > 2 ** M:
            warnings.warn(
                f"n_clusters={K} is more than the latent space can support: with latent_dim={M} "
                f"at most 2**{M} = {2 ** M} diagonal Gaussian components can be told apart along "
                "the axes, so components will overlap. Raise latent_dim (e.g. to "
                f"{max(M + 1, math.ceil(math.log2(K)))}) or lower n_clusters.",
                UserWarning, stacklevel=3)
        elif n < 2 * K:
            warnings.warn(
                f"n_clusters={K} leaves fewer than 2 points per component on average (n={n}); "
                "the component variances cannot be estimated. Lower n_clusters.",
                UserWarning, stacklevel=3)

    def _pretrain_lam(self) -> float:
        """lambda of the pretraining loss: 1 with lam="auto" (the autoencoder's optimum does not
        depend on it; lam_ is estimated from its residual afterwards)."""
        return 1.0 if isinstance(self.lam, str) else float(self.lam)

    def _resolve_lam(self, nets: "_Nets", Xt, X) -> float:
        """lam_: the given lam, or with lam="auto" the autoencoder's mean squared residual."""
        if not isinstance(self.lam, str):
            return float(self.lam)
        if self.likelihood_ != "gaussian":
            return 1.0  # unused by the Bernoulli likelihood
        with torch.no_grad():
            nets.train(False)
            sse = 0.0
            for s in range(0, Xt.shape[0], _EVAL_CHUNK):
                x = Xt[s:s + _EVAL_CHUNK]
                sse += float(((nets.decoder(nets.encode(x)[0]) - x) ** 2).double().sum())
        mse = sse / Xt.numel()
        floor = 1e-6 * max(float(np.var(X)), 1e-12)
        return max(mse, floor)

    def _pi_mode(self, has_graph: bool) -> str:
        if self.pi != "auto":
            return self.pi
        return "per_sample" if has_graph else "global"

    # ------------------------------------------------------------------ pretraining
    def _pretrain_key(self, X, seeds) -> str:
        h = hashlib.blake2b(digest_size=16)
        h.update(str(X.shape).encode())
        h.update(np.ascontiguousarray(X, dtype=np.float32).view(np.uint8).data)
        cfg = (CACHE_FORMAT, self.n_clusters, self.latent_dim, self._hidden, self._cls_hidden,
               self.likelihood_, self._pretrain_lam(), self.pretrain_epochs, float(self.pretrain_lr),
               float(self.pretrain_noise), self.classifier_epochs, self.posterior, self.n_init, self.batch_size,
               self.pseudo_labels,
               seeds["init"], seeds["pretrain"], seeds["kmeans"])
        if self.covariance != "diag":  # diagonal entries keep their earlier keys
            cfg = cfg + (("covariance", self.covariance),)
        h.update(repr(cfg).encode())
        return h.hexdigest()

    def _cache_path(self, key: str) -> Path | None:
        if self.cache_dir is None:
            return None
        base = _default_cache_dir() if self.cache_dir == "auto" else Path(os.fspath(self.cache_dir)).expanduser()
        return base / f"pretrain-{key}.pt"

    def _pretrain(self, nets: _Nets, Xt, X, seeds, device, timings) -> dict:
        from graphclust.deep.training import save_checkpoint

        key = self._pretrain_key(X, seeds)
        path = self._cache_path(key)
        info = {"key": key, "cache": None if path is None else str(path), "cache_hit": False}
        if path is not None and path.is_file():
            try:
                payload = torch.load(path, map_location="cpu", weights_only=True)
                if payload.get("pretrain_format") != CACHE_FORMAT or payload.get("key") != key:
                    raise ValueError("stale cache entry")
                nets.load_state_dict(payload["nets"])
                start = np.asarray(payload["start_labels"].numpy(), dtype=np.int64)
                if start.shape != (X.shape[0],):
                    raise ValueError("start labels of another size")
                info.update(cache_hit=True, classifier_agreement=float(payload["agreement"]),
                            start_sse=float(payload["sse"]), start_labels=start)
                _progress.message(f"dgg: pretrained networks loaded from {path}")
                return info
            except Exception as exc:  # a broken cache entry is recomputed, never fatal
                _progress.message(f"dgg: ignoring cache entry {path} ({exc})")
        t0 = time.perf_counter()
        if self.pretrain_epochs > 0:
            task = _PretrainTask(nets, Xt, self.likelihood_, self._pretrain_lam(), self.batch_size,
                                 self.pretrain_lr, float(self.pretrain_noise), seeds["pretrain"], device)
            TrainingLoop(name="dgg pretrain", epochs=self.pretrain_epochs, tol=0).run(task)
        timings["dgg: pretrain autoencoder"] = time.perf_counter() - t0
        from graphclust.spectral.kmeans import kmeans_best_of

        t0 = time.perf_counter()
        with torch.no_grad():
            nets.train(False)
            Z = torch.cat([nets.encode(Xt[s:s + _EVAL_CHUNK])[0] for s in range(0, Xt.shape[0], _EVAL_CHUNK)])
        # Standardise the latent, exactly: z' = (z - m) / s with m the mean code and s the
        # overall standard deviation (one factor: k-means sees the autoencoder's geometry), folded into the encoder's mean rows and the decoder's first layer
        # (the autoencoder computes the same function), so that var_floor, the classifier's
        # input and the GMM live on one centred scale for any data. (s, over all entries around
        # the grand mean, also counts the spread of the per-dimension means: the centred codes'
        # overall scale is <= 1, not exactly 1; docs/dgg.md.)
        m = Z.mean(0)
        s = float(Z.std())
        if np.isfinite(s) and s > 0:
            M = self.latent_dim
            with torch.no_grad():
                dec0 = nets.decoder[0]
                dec0.bias.add_(dec0.weight @ m)
                dec0.weight.mul_(s)
                nets.encoder[-1].weight[:M].div_(s)
                nets.encoder[-1].bias[:M].sub_(m).div_(s)
                Z = (Z - m) / s
        Zn = Z.cpu().double().numpy()
        K = self.n_clusters
        if self.pseudo_labels == "kmeans":
            km = kmeans_best_of(Zn, K, n_init=self.n_init, random_state=seeds["kmeans"], n_jobs=1)
            labels, centers = np.asarray(km.labels, dtype=np.int64), np.asarray(km.centers)
        else:
            labels = umap_gmm_labels(Zn, K, n_init=self.n_init, random_state=seeds["kmeans"])
            centers = np.stack([Zn[labels == k].mean(axis=0) for k in range(K)])
        sse = float(((Zn - centers[labels]) ** 2).sum())
        var = np.empty((K, Zn.shape[1]))
        overall = Zn.var(axis=0) + float(self.var_floor)
        for k in range(K):
            members = Zn[labels == k]
            var[k] = members.var(axis=0, ddof=1) if members.shape[0] > 1 else overall
        var = np.maximum(var, float(self.var_floor))
        with torch.no_grad():
            nets.mu_c.copy_(torch.as_tensor(centers, dtype=torch.float32))
            if nets.tril_c is None:
                nets.logvar_c.copy_(torch.log(torch.as_tensor(var, dtype=torch.float32)))
            else:  # full: each cluster's unbiased covariance (+ var_floor I), as a Cholesky factor
                chol = np.stack([_cholesky_start(Zn[labels == k], var[k], float(self.var_floor))
                                 for k in range(K)])
                d = np.diagonal(chol, axis1=1, axis2=2)
                nets.logvar_c.copy_(torch.as_tensor(2.0 * np.log(d), dtype=torch.float32))
                nets.tril_c.copy_(torch.as_tensor(np.tril(chol, -1), dtype=torch.float32))
                var = d ** 2
            # q(z|x) starts narrow relative to the components: the log-variance head (untrained
            # by the autoencoder) outputs log(_QVAR_INIT * median component variance) for any x,
            # instead of ~log 1, which on a small-scale latent would swamp the prior term.
            last = nets.encoder[-1]
            M = self.latent_dim
            last.weight[M:].mul_(0.01)
            last.bias[M:].fill_(float(np.log(_QVAR_INIT * np.median(var))))
        agreement = float("nan")
        if self.classifier_epochs > 0 and self.posterior == "classifier":
            agreement = _train_classifier(nets, Z, labels, epochs=self.classifier_epochs,
                                          batch_size=self.batch_size, lr=1e-2,
                                          seed=seeds["classifier"], device=device)
        timings["dgg: pseudo-labels + classifier"] = time.perf_counter() - t0
        info.update(classifier_agreement=agreement, start_sse=sse, start_labels=labels)
        if path is not None:
            payload = {"format": "graphclust-deep-checkpoint/1", "pretrain_format": CACHE_FORMAT,
                       "key": key, "nets": {k: _to_cpu(v) for k, v in nets.state_dict().items()},
                       "agreement": agreement, "sse": sse,
                       "start_labels": torch.as_tensor(labels, dtype=torch.int64)}
            try:
                save_checkpoint(path, payload)
            except GraphclustError as exc:
                warnings.warn(f"DGG could not cache the pretraining ({exc}); continuing.",
                              UserWarning, stacklevel=4)
        return info

    # ------------------------------------------------------------------ fit
    def _fingerprint(self, X) -> str:
        h = hashlib.blake2b(digest_size=16)
        h.update(str(X.shape).encode())
        h.update(np.ascontiguousarray(X).view(np.uint8).data)
        skip = {"epochs", "device", "n_jobs", "checkpoint", "checkpoint_every", "callbacks", "tol",
                "patience", "cache_dir"}
        params = {k: v for k, v in self.get_params().items() if k not in skip}
        h.update(repr(sorted(params.items())).encode())
        return h.hexdigest()

    def fit(self, X, y=None, *, resume: bool = False):
        """Pretrain (or load the cached pretraining), build the graph, train.

        ``y`` is used only to record ACC/NMI/ARI per epoch in ``history_``.
        ``resume=True`` continues from ``checkpoint``.
        """
        timings: dict = {}
        X = self._validate(X)
        if resume and self.checkpoint is None:
            raise GraphclustError("resume=True needs checkpoint=PATH (the file to resume from).")
        device = resolve_device(self.device)
        self.device_ = device
        rng = check_random_state(self.random_state)
        seeds = {k: seed_from(rng) for k in ("knn", "init", "pretrain", "kmeans", "classifier", "sample")}
        D = X.shape[1]
        has_graph = self.n_neighbors > 0 and self.graph_weight > 0
        pi_mode = self._pi_mode(has_graph)
        with torch_runtime(self.n_jobs, device=device):
            Xt = torch.as_tensor(X, dtype=torch.float32, device=device)
            nets = _Nets(D, self._hidden, self.latent_dim, self.n_clusters, self._cls_hidden,
                         seeds["init"], device, full=self.covariance == "full")
            with _progress.stage("dgg: pretraining", timings):
                self.pretrain_ = self._pretrain(nets, Xt, X, seeds, device, timings)
                self.start_labels_ = self.pretrain_.pop("start_labels")
                self.lam_ = self._resolve_lam(nets, Xt, X)
                self.pretrain_["lam"] = self.lam_
            graph = None
            if has_graph:
                with _progress.stage("dgg: affinity graph", timings):
                    graph = dgg_affinity(
                        self._graph_points(nets, X, Xt), self.n_neighbors,
                        affinity=self.affinity, knn_method=self.knn_method,
                        siamese_candidates=self.siamese_candidates,
                        siamese_dims=(*self.siamese_hidden, self.siamese_dim),
                        siamese_epochs=self.siamese_epochs,
                        siamese_positives=self.siamese_positives, random_state=seeds["knn"],
                        n_jobs=self.n_jobs, device=device)
            self.graph_ = graph
            task = _DGGTask(self, X.astype(np.float32), graph, nets, device, seeds,
                            self._fingerprint(X), self.likelihood_, pi_mode)
            loop = TrainingLoop(name="dgg", epochs=self.epochs, tol=self.tol, patience=self.patience,
                                checkpoint=self.checkpoint, checkpoint_every=self.checkpoint_every,
                                truth=y, callbacks=self.callbacks or ())
            start, history, prev, stable = 0, History(), None, 0
            if resume:
                start, history, prev, stable = loop.resume_state(task)
            with _progress.stage("dgg: training", timings):
                history = loop.run(task, history=history, start_epoch=start, prev_labels=prev,
                                   stable=stable)
            mu, _ = task.encode_all()
            gamma = task.posterior_at_means(mu, task.log_pi)
        self._task = task
        self.history_ = history
        self.n_epochs_ = len(history)
        self.stop_reason_ = loop.stop_reason or "max epochs"
        self.embedding_ = mu.cpu().numpy()
        self.soft_labels_ = gamma.cpu().numpy()
        self.labels_ = self.soft_labels_.argmax(axis=1).astype(np.int64)
        pi = task.log_pi.exp().cpu().numpy()
        self.pi_ = pi if pi.ndim == 2 else np.tile(pi, (X.shape[0], 1))
        self.weights_ = self.pi_.mean(axis=0)
        self.means_ = nets.mu_c.detach().cpu().numpy().copy()
        cov = nets.covariances().detach().cpu().double().numpy()
        self.covariances_ = cov
        self.variances_ = np.diagonal(cov, axis1=1, axis2=2).copy()
        self.n_variance_clamps_ = int(task.clamped_total)
        self.timings_ = timings
        self._n_features = D
        self._warn_collapse()
        return self

    def _graph_points(self, nets: "_Nets", X, Xt) -> np.ndarray:
        """The points the affinity graph is built on: X, or the pretrained latent means."""
        if self.graph_space == "input":
            return X
        with torch.no_grad():
            nets.train(False)
            Z = torch.cat([nets.encode(Xt[s:s + _EVAL_CHUNK])[0]
                           for s in range(0, Xt.shape[0], _EVAL_CHUNK)])
        return Z.cpu().double().numpy()

    def _warn_collapse(self) -> None:
        floor = float(self.var_floor) * (1 + 1e-4)
        dead = [k for k in range(self.n_clusters) if np.all(self.variances_[k] <= floor)]
        if dead:
            warnings.warn(
                f"DGG: the variance of component(s) {dead} collapsed to var_floor={self.var_floor:g} "
                f"in every latent dimension (clamped {self.n_variance_clamps_} times; see "
                "history_[e]['clamped_variances']). Lower lr, raise var_floor or n_neighbors.",
                UserWarning, stacklevel=3)
        counts = np.bincount(self.labels_, minlength=self.n_clusters)
        used = int((counts > 0).sum())
        if used < self.n_clusters:
            warnings.warn(
                f"DGG: only {used} of {self.n_clusters} clusters are non-empty (sizes "
                f"{counts.tolist()}).", UserWarning, stacklevel=3)

    def fit_predict(self, X, y=None, **kwargs):
        return self.fit(X, y, **kwargs).labels_

    # ------------------------------------------------------------------ inference
    def _check_fitted(self):
        if not hasattr(self, "_task"):
            from sklearn.exceptions import NotFittedError

            raise NotFittedError("This DGG instance is not fitted yet; call fit(X) first.")

    def _to_tensor(self, X):
        X = check_points(X, min_samples=1)
        if X.shape[1] != self._n_features:
            raise GraphclustError(
                f"X has {X.shape[1]} features but DGG was fitted with {self._n_features}.")
        return torch.as_tensor(X.astype(np.float32), device=self._task.device)

    def transform(self, X):
        """Latent means mu~ of new points (n, latent_dim), float32."""
        self._check_fitted()
        t = self._to_tensor(X)
        with torch_runtime(self.n_jobs, device=self._task.device):
            mu, _ = self._task.encode_all(t)
        return mu.cpu().numpy()

    def predict_proba(self, X):
        """q(c | z = mu~) of new points (the mean prior ``weights_`` for the analytic posterior)."""
        self._check_fitted()
        t = self._to_tensor(X)
        task = self._task
        with torch_runtime(self.n_jobs, device=task.device):
            mu, _ = task.encode_all(t)
            log_pi = torch.log(torch.as_tensor(self.weights_, dtype=torch.float32, device=task.device))
            gamma = task.posterior_at_means(mu, log_pi)
        return gamma.cpu().numpy()

    def predict(self, X):
        return self.predict_proba(X).argmax(axis=1).astype(np.int64)

    def sample(self, n_samples: int = 1, *, cluster=None, random_state=None):
        """Generate ``n_samples`` points: z ~ N(mu_k, Sigma_k), x = decoder mean g(z).

        ``cluster`` None draws the component from ``weights_``; an int generates from that
        component only. Bernoulli models return pixel probabilities. Returns (n_samples, D).
        """
        self._check_fitted()
        n = check_int(n_samples, "n_samples", low=1)
        K = self.n_clusters
        rng = check_random_state(random_state)
        if cluster is None:
            comps = rng.choice(K, size=n, p=self.weights_ / self.weights_.sum())
        else:
            k = check_int(cluster, "cluster", low=0, high=K - 1,
                          hint=f"the model has {K} components, numbered 0..{K - 1}.")
            comps = np.full(n, k)
        eps = rng.standard_normal((n, self.latent_dim))
        if self.covariance == "full":
            chol = np.linalg.cholesky(self.covariances_)
            z = self.means_[comps] + np.einsum("nij,nj->ni", chol[comps], eps)
        else:
            z = self.means_[comps] + np.sqrt(self.variances_[comps]) * eps
        task = self._task
        with torch_runtime(self.n_jobs, device=task.device), torch.no_grad():
            task.nets.train(False)
            out = task.nets.decoder(torch.as_tensor(z, dtype=torch.float32, device=task.device))
            if self.likelihood_ == "bernoulli":
                out = torch.sigmoid(out)
        return out.cpu().numpy()


def _to_cpu(v):
    if isinstance(v, torch.Tensor):
        return v.detach().cpu().clone()
    if isinstance(v, dict):
        return {k: _to_cpu(x) for k, x in v.items()}
    return v
