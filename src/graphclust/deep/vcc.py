"""VCC: Very Compact Clusters (Ma & Kim, "Separating Boundary Points via Structural
Regularization for Very Compact Clusters").

The method, with the decisions the paper leaves open (see ``docs/vcc.md`` for the reasons)::

    latent graph   kNN (M = n_neighbors) in the input space (Euclidean, or cosine with
                   metric="cosine"), built once, never rebuilt;
                   F_i: = softmax(-D_i: / tau)   (tau = temperature; "auto" = median over rows of
                   D_iM - D_i1, which is ~1.0 on MNIST scaled to [0, 1], the paper's setting)
                   F~_ij = F_ij + F_ji - F_ij F_ji                    (fuzzy union, i < j kept)
    rates          R-_ij = min(floor(F~max / F~_ij), max_rate)        (global max over edges)
                   R+_ij = min(floor(F~_ij / F~mean), max_rate)       (global mean over edges)
                   E- / E+ are the multisets with R-_ij / R+_ij copies of edge ij; drawing a
                   uniform element of the multiset = drawing edge ij with probability
                   R_ij / sum(R) (exact; no multiset is materialised).
    similarity     F°_ij = exp(-d(H_i, H_j)), d Euclidean (default) or squared; optional
                   curves "umap" (1 / (1 + a d^2b)) and "student" (1 / (1 + d^2)).
    losses         L_bps = -mean_{E-} [log F° + log(1 - F°)]      (bps_repulsion="pair", eq. 5)
                         or -mean_{E-} log F° - negative_rate mean_{neg} log(1 - F°)
                         with random non-edges of the E- edges' first endpoints ("negatives",
                         UMAP-style)
                   L_c   = -mean_{E+} log F°
                   L_e   = -mean over (edge endpoint, uniform random node) pairs that are not
                           edges of log(1 - F°)
                   L_clu = KL(P || Q), Q Student-t to learnable centres C, P the DEC target
                   L = w L_bps + L_c + L_e + beta L_clu, beta = gamma * epoch (0-based),
                   w = bps_weight (1 in the paper)
    one step       batch_size edges from E-, batch_size from E+, negative_nodes uniform nodes;
                   all endpoints go through the MLP in one forward pass.
    one epoch      edges_per_epoch draws from each of E- and E+ ("auto" = n_samples, i.e. about
                   one visit per point; "10n" = 10 n_samples; "multiset" = |E-|, a pass over the
                   paper's E-).
    network start  random weights (init="random"), or init="spectral": the network is first
                   regressed (MSE, Adam, init_epochs passes) onto the Laplacian eigenmap of G_lg,
                   scaled as UMAP scales its initial layout (each axis spans 10).
    centres        k-means (best of n_init) on H after warmup_epochs; then trained with the
                   network (SGD, no weight decay on C).
    target P       recomputed from Q on all points at every epoch start (DEC), or per batch.
    labels         argmax_j Q_ij.
"""
from __future__ import annotations

import hashlib
import math
import warnings
from dataclasses import dataclass

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

__all__ = ["VCC", "VCC_PRESETS", "LatentGraph", "latent_graph", "sampling_rates",
           "similarity_logs", "vcc_losses", "soft_assignment", "target_distribution"]

SIMILARITIES = ("exp", "umap", "student")
METRICS = ("euclidean", "cosine")
DISTANCES = ("euclidean", "sqeuclidean")
TARGET_UPDATES = ("epoch", "batch")
BPS_REPULSIONS = ("pair", "negatives")
INITS = ("random", "spectral")
LR_SCHEDULES = ("constant", "linear")
#: span of every coordinate of the spectral layout (UMAP's convention: each axis spans 10)
_SPECTRAL_SPAN = 10.0
#: UMAP's curve 1 / (1 + a d^(2b)) for min_dist = 0.1, spread = 1 (UMAP's defaults).
UMAP_AB = (1.576943460405378, 0.8950608781227859)
_EPS = 1e-4
_EVAL_CHUNK = 8192

#: Named parameter sets (``VCC(**VCC_PRESETS["paper"])`` or ``VCC.preset("paper")``).
VCC_PRESETS = {
    # The paper's implementation details: D-500-500-2000-2, M = 10, SGD lr 0.01, momentum 0.9,
    # weight decay 5e-4, batch 200, gamma 0.01, softmax(-D) with no temperature.
    "paper": dict(latent_dim=2, hidden=(500, 500, 2000), n_neighbors=10, temperature=1.0,
                  batch_size=200, lr=0.01, momentum=0.9, weight_decay=5e-4, gamma=0.01,
                  epochs=100),
    # The best setting measured within the CPU budget (benchmarks/RESULTS_vcc.md, Addendum 8):
    # a narrower network, a 10-D latent space, UMAP-style L_bps (negatives) at a tenth of the
    # paper's weight, UMAP's similarity curve, the spectral start, the step size annealed to 0,
    # 10 passes over the points per epoch, and the centres placed after 20 of the 40 epochs,
    # once the annealed layout has settled.
    "fast": dict(latent_dim=10, hidden=(256, 256, 512), n_neighbors=10, temperature="auto",
                 similarity="umap", bps_repulsion="negatives", bps_weight=0.1, init="spectral",
                 batch_size=256, lr=0.01, lr_schedule="linear", momentum=0.9, weight_decay=5e-4,
                 gamma=0.01, edges_per_epoch="10n", epochs=40, warmup_epochs=20),
}


def _passes(spec: str) -> float:
    """The x of an ``edges_per_epoch="<x>n"`` spec (x passes over the points per epoch)."""
    try:
        x = float(spec[:-1]) if spec.endswith("n") else float("nan")
    except ValueError:
        x = float("nan")
    if not (math.isfinite(x) and x > 0):
        raise GraphclustError(
            f"edges_per_epoch={spec!r} is not understood: use an int (draws per epoch), "
            "'auto' (n_samples), 'multiset' (a pass over E-) or '<x>n' such as '10n' "
            "(x times n_samples).")
    return x


# ============================================================================ latent graph


@dataclass(frozen=True)
class LatentGraph:
    """The paper's latent graph G_lg (undirected, each edge once with i < j).

    Attributes
    ----------
    rows, cols : ndarray (m,), int64, endpoints with rows < cols, sorted by (row, col).
    weights : ndarray (m,), float64, F~_ij in (0, 1].
    temperature : float, the softmax temperature used.
    n_samples : int
    """

    rows: np.ndarray
    cols: np.ndarray
    weights: np.ndarray
    temperature: float
    n_samples: int

    @property
    def n_edges(self) -> int:
        return int(self.rows.size)


def _softmax_rows(D: np.ndarray, temperature: float) -> np.ndarray:
    Z = -(D - D[:, :1]) / temperature  # the row minimum shift leaves softmax unchanged
    np.exp(Z, out=Z)
    Z /= Z.sum(axis=1, keepdims=True)
    return Z


def auto_temperature(distances: np.ndarray) -> float:
    """Median over points of (distance to the M-th neighbour - distance to the 1st).

    Scale-free (it scales with the data), and about 1.0 on MNIST with pixels in [0, 1], where the
    paper's plain softmax(-D) was used.
    """
    spread = distances[:, -1] - distances[:, 0]
    tau = float(np.median(spread))
    if not np.isfinite(tau) or tau <= 0:
        positive = spread[spread > 0]
        tau = float(np.median(positive)) if positive.size else 1.0
    return tau


def latent_graph_from_knn(distances: np.ndarray, indices: np.ndarray, temperature="auto") -> LatentGraph:
    """Build G_lg from kNN lists (``distances`` ascending per row, no self neighbours)."""
    n, M = indices.shape
    tau = auto_temperature(distances) if temperature == "auto" else float(temperature)
    F = _softmax_rows(np.asarray(distances, dtype=np.float64), tau)
    rows = np.repeat(np.arange(n, dtype=np.int64), M)
    A = sp.csr_matrix((F.ravel(), (rows, indices.ravel().astype(np.int64))), shape=(n, n))
    A.sum_duplicates()
    At = A.T.tocsr()
    Ft = (A + At - A.multiply(At)).tocsr()
    U = sp.triu(Ft, k=1).tocoo()
    order = np.lexsort((U.col, U.row))
    r, c, w = U.row[order].astype(np.int64), U.col[order].astype(np.int64), U.data[order]
    keep = w > 0
    return LatentGraph(r[keep], c[keep], w[keep].astype(np.float64), tau, n)


def latent_graph(X, n_neighbors: int = 10, *, temperature="auto", knn_method: str = "auto",
                 random_state=None, n_jobs=None) -> LatentGraph:
    """The latent graph of points ``X`` (graphclust's kNN, then softmax + fuzzy union)."""
    from graphclust.graph.neighbors import knn

    res = knn(X, n_neighbors, method=knn_method, random_state=random_state, n_jobs=n_jobs)
    return latent_graph_from_knn(res.distances, res.indices, temperature)


def sampling_rates(weights: np.ndarray, max_rate: int | None = 100) -> tuple[np.ndarray, np.ndarray]:
    """R-_ij = floor(F~max / F~_ij) and R+_ij = floor(F~_ij / F~mean), both capped at max_rate.

    F~max and F~mean are global (over all edges of the latent graph). R- >= 1 for every edge;
    R+ is 0 for edges weaker than the mean (they are never drawn for the contraction loss).
    """
    w = np.asarray(weights, dtype=np.float64)
    r_minus = np.floor(w.max() / w)
    r_plus = np.floor(w / w.mean())
    if max_rate is not None:
        np.minimum(r_minus, max_rate, out=r_minus)
        np.minimum(r_plus, max_rate, out=r_plus)
    return r_minus.astype(np.int64), r_plus.astype(np.int64)


# ============================================================================ loss terms


def similarity_logs(d2, similarity: str = "exp", distance: str = "euclidean", ab=UMAP_AB):
    """``(log F°, log(1 - F°))`` for squared latent distances ``d2`` (tensors), computed stably.

    exp:      F° = exp(-d) with d = |h_i - h_j| (``distance="euclidean"``) or d = |h_i - h_j|^2.
    umap:     F° = 1 / (1 + a |h_i - h_j|^(2b)).
    student:  F° = 1 / (1 + |h_i - h_j|^2).
    ``log(1 - F°)`` is kept finite by flooring the distance at 1e-4 (coincident points).
    """
    if similarity == "exp":
        if distance == "euclidean":
            d = torch.sqrt(d2 + _EPS * _EPS)
        else:
            d = d2 + _EPS
        return -d, torch.log(-torch.expm1(-d))
    a, b = (1.0, 1.0) if similarity == "student" else ab
    t = a * torch.pow(d2 + _EPS * _EPS, b)
    log1p_t = torch.log1p(t)
    return -log1p_t, torch.log(t) - log1p_t


def vcc_losses(log_f_minus, log1m_f_minus, log_f_plus, log1m_f_neg, reduction: str = "mean"):
    """The three structural terms from per-pair similarity logs.

    L_bps = -sum_{E-} [log F° + log(1-F°)], L_c = -sum_{E+} log F°, L_e = -sum_{neg} log(1-F°);
    ``reduction="mean"`` divides each by its number of pairs (even contributions).
    """
    red = torch.mean if reduction == "mean" else torch.sum
    zero = log_f_minus.new_zeros(())
    bps = -red(log_f_minus + log1m_f_minus) if log_f_minus.numel() else zero
    con = -red(log_f_plus) if log_f_plus is not None and log_f_plus.numel() else zero
    exp_ = -red(log1m_f_neg) if log1m_f_neg is not None and log1m_f_neg.numel() else zero
    return bps, con, exp_


def soft_assignment(H, centres):
    """Student-t assignments Q_ij = (1+|h_i-c_j|^2)^-1 / sum_k (1+|h_i-c_k|^2)^-1 (paper eq. 10)."""
    d2 = torch.cdist(H, centres).pow(2)
    q = 1.0 / (1.0 + d2)
    return q / q.sum(dim=1, keepdim=True)


def target_distribution(Q):
    """DEC's sharpened target P_ij = (Q_ij^2 / f_j) / sum_k (Q_ik^2 / f_k), f_j = sum_i Q_ij."""
    w = Q * Q / Q.sum(dim=0, keepdim=True).clamp_min(1e-12)
    return w / w.sum(dim=1, keepdim=True)


def kl_div(P, Q):
    """KL(P || Q) averaged over rows."""
    P = P.clamp_min(1e-12)
    return (P * (P.log() - Q.clamp_min(1e-12).log())).sum(dim=1).mean()


def spectral_layout(graph: LatentGraph, n_components: int, *, random_state=None) -> np.ndarray:
    """Laplacian-eigenmap layout of the latent graph, the target of ``init="spectral"``.

    The eigenvectors 2..n_components+1 of L_sym = I - D^-1/2 F~ D^-1/2 (the first, trivial one
    dropped), each coordinate then centred and scaled to span ``_SPECTRAL_SPAN`` (10), as UMAP
    initialises its layout. Returns (n_samples, n_components) float32.
    """
    from graphclust.spectral.embedding import spectral_embedding

    n = graph.n_samples
    if n < n_components + 2:
        raise GraphclustError(
            f"init='spectral' needs more than latent_dim + 1 = {n_components + 1} points "
            f"(got {n}); use init='random' or a smaller latent_dim.")
    W = sp.coo_matrix((graph.weights, (graph.rows, graph.cols)), shape=(n, n)).tocsr()
    W = (W + W.T).tocsr()
    U, _ = spectral_embedding(W, n_components + 1, normalize=False, random_state=random_state)
    Y = U[:, 1:].astype(np.float64)
    Y -= Y.mean(axis=0)
    span = Y.max(axis=0) - Y.min(axis=0)
    Y *= _SPECTRAL_SPAN / np.where(span > 0, span, 1.0)
    return Y.astype(np.float32)


# ============================================================================ training task


class _VCCTask:
    """Model, data on the device, sampler and optimiser of one VCC fit (see training.py)."""

    def __init__(self, est: "VCC", X: np.ndarray, graph: LatentGraph, device, seeds: dict,
                 fingerprint: str):
        self.est = est
        self.device = device
        self.n = X.shape[0]
        self.graph = graph
        self._fingerprint = fingerprint
        self.X = torch.as_tensor(X, dtype=torch.float32).to(device)
        dims = (X.shape[1], *est._hidden, est.latent_dim)
        self.model = build_mlp(dims, generator=make_generator(seeds["init"])).to(device)
        self.gen = make_generator(seeds["sample"], device)
        self.kmeans_seed = seeds["kmeans"]
        rows = torch.as_tensor(graph.rows, device=device)
        cols = torch.as_tensor(graph.cols, device=device)
        self.rows, self.cols = rows, cols
        r_minus, r_plus = sampling_rates(graph.weights, est.max_rate)
        self.r_minus_total = int(r_minus.sum())
        self.r_plus_total = int(r_plus.sum())
        self.cum_minus = torch.as_tensor(np.cumsum(r_minus), device=device)
        self.cum_plus = torch.as_tensor(np.cumsum(r_plus), device=device) if self.r_plus_total else None
        # sorted keys of both orientations, to keep real edges out of the negatives
        keys = np.concatenate([graph.rows * self.n + graph.cols, graph.cols * self.n + graph.rows])
        self.edge_keys = torch.as_tensor(np.sort(keys), device=device)
        if est.optimizer == "sgd":
            self.optimizer = torch.optim.SGD(self.model.parameters(), lr=est.lr,
                                             momentum=est.momentum, weight_decay=est.weight_decay)
        else:
            self.optimizer = torch.optim.Adam(self.model.parameters(), lr=est.lr,
                                              weight_decay=est.weight_decay)
        self.centres = None
        self.P = None
        self.H = None
        self.labels = None
        bs = est.batch_size
        epe = est.edges_per_epoch
        if epe == "auto":
            epe = self.n
        elif epe == "multiset":
            epe = self.r_minus_total
        elif isinstance(epe, str):  # "<x>n": x passes over the points
            epe = max(1, round(_passes(epe) * self.n))
        self.steps_per_epoch = max(1, math.ceil(int(epe) / bs))

    # -- interface used by TrainingLoop
    def fingerprint(self) -> str:
        return self._fingerprint

    def n_steps(self, epoch: int) -> int:
        return self.steps_per_epoch

    def tolerance_active(self, epoch: int) -> bool:
        return self.centres is not None and epoch >= self.est.warmup_epochs + self.est.min_cluster_epochs

    def beta(self, epoch: int) -> float:
        return self.est.gamma * epoch if self.centres is not None else 0.0

    def lr_at(self, epoch: int) -> float:
        """The step size of ``epoch``: ``lr``, or with ``lr_schedule="linear"`` lr (1 - epoch /
        epochs), UMAP's annealing, so that the layout settles instead of jittering at the end."""
        if self.est.lr_schedule == "constant":
            return self.est.lr
        return self.est.lr * max(0.0, 1.0 - epoch / self.est.epochs)

    def begin_epoch(self, epoch: int) -> None:
        lr = self.lr_at(epoch)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        self.model.train()

    def _draw(self, cum, total, size):
        u = torch.randint(total, (size,), generator=self.gen, device=self.device)
        return torch.searchsorted(cum, u, right=True)

    def step(self, epoch: int, step: int) -> dict:
        est = self.est
        B = est.batch_size
        e_minus = self._draw(self.cum_minus, self.r_minus_total, B)
        parts = [self.rows[e_minus], self.cols[e_minus]]
        use_c = est.contraction and self.cum_plus is not None
        if use_c:
            e_plus = self._draw(self.cum_plus, self.r_plus_total, B)
            parts += [self.rows[e_plus], self.cols[e_plus]]
        n_neg = est.negative_nodes if est.negative_nodes != "auto" else B
        bps_neg = est.bps_repulsion == "negatives"
        need_random = est.expansion or bps_neg or (self.centres is not None)
        if need_random:
            rnd = torch.randint(self.n, (n_neg,), generator=self.gen, device=self.device)
            parts.append(rnd)
        idx = torch.cat(parts)
        H = self.model(self.X[idx])
        hm_i, hm_j = H[:B], H[B:2 * B]
        off = 2 * B
        lf_m, l1m_m = similarity_logs((hm_i - hm_j).pow(2).sum(1), est.similarity, est.distance)
        lf_p = None
        if use_c:
            hp_i, hp_j = H[off:off + B], H[off + B:off + 2 * B]
            off += 2 * B
            lf_p, _ = similarity_logs((hp_i - hp_j).pow(2).sum(1), est.similarity, est.distance)
        l1m_n = None
        if need_random:
            H_r = H[off:]
        if est.expansion or bps_neg:
            with_plus = use_c and est.expansion
            src_idx = torch.cat([parts[0]] + ([parts[2]] if with_plus else []))
            H_src = torch.cat([hm_i] + ([hp_i] if with_plus else []))
            d2 = torch.cdist(H_src, H_r).pow(2)
            keys = src_idx[:, None] * self.n + rnd[None, :]
            pos = torch.searchsorted(self.edge_keys, keys.reshape(-1)).clamp_max(self.edge_keys.numel() - 1)
            is_edge = (self.edge_keys[pos] == keys.reshape(-1)).reshape(keys.shape)
            mask = ~(is_edge | (src_idx[:, None] == rnd[None, :]))
            if est.expansion:
                _, l1m_n = similarity_logs(d2[mask], est.similarity, est.distance)
        if bps_neg:
            # UMAP-style L_bps: the E- edges attract; their repulsion log(1 - F°) is applied to
            # negative_rate random non-edges per E- edge (rows :B of the negative pairs)
            _, l1m_b = similarity_logs(d2[:B][mask[:B]], est.similarity, est.distance)
            red = torch.mean if est.reduction == "mean" else torch.sum
            bps_w = est.negative_rate if est.reduction == "mean" else 1.0
            bps = -red(lf_m) - (bps_w * red(l1m_b) if l1m_b.numel() else 0.0)
            _, con, exp_ = vcc_losses(lf_m[:0], l1m_m[:0], lf_p, l1m_n, est.reduction)
        else:
            bps, con, exp_ = vcc_losses(lf_m, l1m_m, lf_p, l1m_n, est.reduction)
        # negative_rate negatives per positive edge: in sum form L_e has negative_rate times as
        # many pairs as the edges it goes with, so its per-edge mean is weighted by that factor
        # (the batch's pairs are a lower-variance estimate of the same expectation).
        exp_w = est.negative_rate * (2 if use_c else 1) if est.reduction == "mean" else 1.0
        loss = est.bps_weight * bps + con + exp_w * exp_
        out = {"bps": bps.detach(), "contraction": con.detach(), "expansion": exp_.detach()}
        if self.centres is not None:
            beta = self.beta(epoch)
            Q = soft_assignment(H_r, self.centres)
            if est.target_update == "epoch":
                P = self.P[rnd]
            else:
                P = target_distribution(Q).detach()
            clu = kl_div(P, Q)
            loss = loss + beta * clu
            out["clustering"] = clu.detach()
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        out["loss"] = loss.detach()
        return out

    def fit_layout(self, Y: np.ndarray, passes: int, seed: int) -> float:
        """Regress the network onto the layout ``Y`` (MSE, Adam lr 1e-3, ``passes`` passes over
        the points in batches of ``batch_size``; its own optimiser, so VCC's SGD starts fresh).
        Returns the final mean squared error relative to the variance of ``Y``."""
        target = torch.as_tensor(Y, device=self.device)
        gen = make_generator(seed, self.device)
        opt = torch.optim.Adam(self.model.parameters(), lr=1e-3)
        bs = self.est.batch_size
        self.model.train()
        for _ in range(passes):
            perm = torch.randperm(self.n, generator=gen, device=self.device)
            for s in range(0, self.n, bs):
                idx = perm[s:s + bs]
                loss = (self.model(self.X[idx]) - target[idx]).pow(2).mean()
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
        H = self.embed()
        return float((H - target).pow(2).mean() / target.var(dim=0).mean().clamp_min(1e-12))

    @torch.no_grad()
    def embed(self, X=None):
        self.model.eval()
        X = self.X if X is None else X
        out = [self.model(X[s:s + _EVAL_CHUNK]) for s in range(0, X.shape[0], _EVAL_CHUNK)]
        return torch.cat(out) if out else X.new_zeros((0, self.est.latent_dim))

    def init_centres(self, H) -> None:
        from graphclust.spectral.kmeans import kmeans_best_of

        km = kmeans_best_of(H.cpu().double().numpy(), self.est.n_clusters, n_init=self.est.n_init,
                            random_state=self.kmeans_seed, n_jobs=1)
        C = torch.as_tensor(km.centers, dtype=torch.float32, device=self.device)
        self.centres = torch.nn.Parameter(C)
        self.optimizer.add_param_group({"params": [self.centres], "weight_decay": 0.0})

    @torch.no_grad()
    def end_epoch(self, epoch: int) -> dict:
        H = self.embed()
        self.H = H
        rec = {"beta": self.beta(epoch)}
        if self.centres is None and epoch + 1 >= self.est.warmup_epochs:
            self.init_centres(H)
        if self.centres is not None:
            Q = soft_assignment(H, self.centres)
            self.P = target_distribution(Q)
            labels = Q.argmax(dim=1).cpu().numpy()
            self.labels = labels
            rec["labels"] = labels
        return rec

    def state_dict(self) -> dict:
        return {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "centres": None if self.centres is None else self.centres.detach(),
            "P": self.P,
            "generator": self.gen.get_state(),
        }

    def load_state_dict(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])
        if state["centres"] is not None and self.centres is None:
            self.centres = torch.nn.Parameter(state["centres"].to(self.device).clone())
            self.optimizer.add_param_group({"params": [self.centres], "weight_decay": 0.0})
        self.optimizer.load_state_dict(state["optimizer"])
        self.P = None if state["P"] is None else state["P"].to(self.device)
        self.gen.set_state(state["generator"])


# ============================================================================ estimator


class VCC(ClusterMixin, BaseEstimator):
    """Very Compact Clusters: deep clustering on a softmax kNN graph (Ma & Kim).

    An MLP maps every point to a low-dimensional latent space H. Its training loss separates
    boundary points (weak edges drawn often), contracts strong edges, expands random non-edges
    and, from ``warmup_epochs`` on, pulls points to learnable centres with DEC's KL loss
    weighted by ``gamma * epoch``. Labels are argmax of the Student-t assignments Q.

    Parameters
    ----------
    n_clusters : int, default=10
    latent_dim : int, default=2
        Dimension of H (the paper uses 2; 2-100 behave alike).
    hidden : tuple of int, default=(500, 500, 2000)
        Hidden widths of the MLP (D-500-500-2000-latent_dim as in the paper).
    n_neighbors : int, default=10
        M, neighbours per point in the latent graph (the paper: 10; 70 for text).
    knn_method : str, default="auto"
        graphclust's kNN method (exact below 15,000 points, NN-descent above).
    metric : {"euclidean", "cosine"}, default="euclidean"
        Distance of the latent graph's kNN search and of D in F_i: = softmax(-D_i: / tau):
        Euclidean on X as given (the paper's default), or cosine, i.e. Euclidean on the rows of
        X scaled to unit length (the network still sees X). On MNIST-test the 10 nearest
        neighbours share the label 91.1 % of the time by Euclidean and 92.4 % by cosine.
    temperature : float or "auto", default="auto"
        Softmax temperature tau in F_i: = softmax(-D_i: / tau). 1.0 is the paper's literal
        softmax(-D); "auto" is the median spread D_iM - D_i1 (about 1.0 on MNIST in [0, 1],
        and invariant to the scale of X).
    max_rate : int or None, default=100
        Cap on R-_ij = floor(F~max/F~_ij) (and R+), which is unbounded for tiny weights.
    similarity : {"exp", "umap", "student"}, default="exp"
        Latent similarity: the paper's exp(-d), UMAP's 1/(1+a d^2b) or 1/(1+d^2).
    distance : {"euclidean", "sqeuclidean"}, default="euclidean"
        d in exp(-d) (ignored by the other curves).
    bps_repulsion : {"pair", "negatives"}, default="pair"
        Where L_bps's repulsion log(1 - F°) acts. "pair": on the E- edge itself, as eq. (5) is
        written (attraction and repulsion of the same pair balance at F° = 1/2). "negatives":
        UMAP-style, as the paper's remark "the imbalance of edges augmented by negative
        sampling" suggests: the E- edge attracts (log F°) and ``negative_rate`` random non-edges
        per E- edge repel (log(1 - F°)). Matters most for the ablation without L_c and L_e,
        where "pair" leaves no force between non-neighbours.
    bps_weight : float, default=1.0
        Weight w of L_bps in L = w L_bps + L_c + L_e + beta L_clu (the paper: 1). On MNIST-test
        L_bps pulls the clusters' weak boundary edges together and merges touching digits;
        see the ``fast`` preset and benchmarks/RESULTS_vcc.md for the measurements.
    contraction, expansion : bool, default=True
        Switch L_c and L_e off for the paper's ablation.
    batch_size : int, default=200
        Edges drawn from each of E- and E+ per step.
    negative_nodes : int or "auto", default="auto"
        Uniform random nodes per step ("auto" = batch_size); every (edge endpoint, random node)
        pair that is not an edge is a negative for L_e, and the random nodes carry L_clu.
    edges_per_epoch : int, "auto", "multiset" or "<x>n", default="auto"
        Draws from each of E- and E+ per epoch: "auto" = n_samples; "multiset" = |E-|;
        "<x>n" (e.g. "10n") = x times n_samples.
    epochs : int, default=100
    lr, momentum, weight_decay : float, default=1e-3, 0.9, 5e-4
        SGD (weight decay on the network only, not on the centres). The paper's lr 0.01 is kept
        by the ``paper`` and ``fast`` presets; as a default it was unstable on small data: on
        300-1,000 points of 3-5 Gaussian blobs the latent cloud kept spreading and, once the
        centres existed, every point fell into one cluster (ARI 0 on 2 of 3 sets), while 1e-3
        separated all three (ARI 1.0).
    lr_schedule : {"constant", "linear"}, default="constant"
        "constant": ``lr`` throughout (the paper). "linear": ``lr * (1 - epoch / epochs)``,
        annealed to 0 as UMAP anneals its layout, so the embedding settles at the end instead of
        jittering between epochs (an epoch-wise set of the optimiser's step size, so a resumed
        fit follows the same schedule).
    gamma : float, default=0.01
        beta = gamma * epoch weights the clustering loss.
    warmup_epochs : int, default=10
        Epochs before the centres are initialised by k-means on H.
    n_init : int, default=10
        k-means restarts for the centre initialisation.
    target_update : {"epoch", "batch"}, default="epoch"
        When DEC's target P is recomputed: from Q on all points at each epoch end, or per batch.
    reduction : {"mean", "sum"}, default="mean"
        How each structural term is reduced over its pairs.
    input_scale : "auto", float or None, default="auto"
        The network sees (X - offset) / scale. "auto": X unchanged when max|X| <= 10 (e.g. pixels
        in [0, 1]), else centred and divided by max|X - mean| (a single global factor). The kNN
        graph is always built on X as given.
    init : {"random", "spectral"}, default="random"
        How the network starts. "random": its initial weights (the paper). "spectral": before
        training, the network is regressed onto the spectral layout of the latent graph (the
        eigenvectors 2..latent_dim+1 of its normalised Laplacian, each axis scaled to span 10,
        UMAP's initial layout), so the global arrangement of the clusters starts from the
        graph rather than from random weights. On MNIST-test it helps only together with the
        annealed step and a lighter L_bps (the ``fast`` preset): with the paper's constant step
        and weights VCC's loss rearranges the layout within a few epochs (0.795 against 0.790;
        benchmarks/RESULTS_vcc.md, Addenda 6 and 8).
    init_epochs : int, default=20
        Passes over the points for the spectral regression (``init="spectral"`` only).
    tol : float, default=1e-3
        Stop when fewer than this fraction of labels changed for ``patience`` epochs (checked
        from ``warmup_epochs + min_cluster_epochs`` on); 0 disables.
    patience : int, default=5
    min_cluster_epochs : int, default=10
    device : str, default="auto"
        "auto" (CUDA when available, else CPU), "cpu", "cuda" or "cuda:<i>"; an explicit CUDA
        request without CUDA is an error.
    n_jobs : int or None, default=None
        CPU threads for torch (and the kNN search); None keeps torch's setting.
    random_state : int, Generator or None, default=None
        Seeds the kNN search, the weight initialisation, the sampling and k-means. With an int
        seed and a fixed ``n_jobs`` a CPU fit is bit-for-bit reproducible.
    checkpoint : path or None, default=None
        Checkpoint file (written atomically every ``checkpoint_every`` epochs, at the end and
        on KeyboardInterrupt). ``fit(X, resume=True)`` continues from it.
    checkpoint_every : int, default=5
    callbacks : sequence of callables or None
        ``cb(epoch, record) -> bool``: called after every epoch; True stops training.

    Attributes
    ----------
    labels_ : ndarray (n_samples,), int64
    embedding_ : ndarray (n_samples, latent_dim), float32, H of the training points.
    cluster_centers_ : ndarray (n_clusters, latent_dim), float32, C in the latent space.
    soft_labels_ : ndarray (n_samples, n_clusters), Q.
    history_ : graphclust.deep.History, per-epoch losses, label change, beta, seconds (and ACC,
        NMI, ARI when ``fit`` got ``y``).
    graph_ : LatentGraph
    n_epochs_ : int, epochs run (fewer than ``epochs`` after early stopping).
    stop_reason_ : str
    device_ : torch.device
    timings_ : dict, seconds per stage.
    init_error_ : float or None, mean squared error of the spectral regression relative to the
        layout's variance (None unless ``init="spectral"`` ran in this fit).
    """

    def __init__(self, n_clusters=10, *, latent_dim=2, hidden=(500, 500, 2000), n_neighbors=10,
                 knn_method="auto", metric="euclidean", temperature="auto", max_rate=100,
                 similarity="exp", distance="euclidean", bps_repulsion="pair", bps_weight=1.0,
                 contraction=True, expansion=True, batch_size=200, negative_nodes="auto",
                 negative_rate=5, edges_per_epoch="auto", epochs=100, optimizer="sgd", lr=1e-3,
                 lr_schedule="constant", momentum=0.9, weight_decay=5e-4, gamma=0.01,
                 warmup_epochs=10, n_init=10, target_update="epoch", reduction="mean",
                 input_scale="auto", init="random", init_epochs=20, tol=1e-3, patience=5,
                 min_cluster_epochs=10, device="auto", n_jobs=None, random_state=None,
                 checkpoint=None, checkpoint_every=5, callbacks=None):
        self.n_clusters = n_clusters
        self.latent_dim = latent_dim
        self.hidden = hidden
        self.n_neighbors = n_neighbors
        self.knn_method = knn_method
        self.metric = metric
        self.temperature = temperature
        self.max_rate = max_rate
        self.similarity = similarity
        self.distance = distance
        self.bps_repulsion = bps_repulsion
        self.bps_weight = bps_weight
        self.contraction = contraction
        self.expansion = expansion
        self.batch_size = batch_size
        self.negative_nodes = negative_nodes
        self.negative_rate = negative_rate
        self.edges_per_epoch = edges_per_epoch
        self.epochs = epochs
        self.optimizer = optimizer
        self.lr = lr
        self.lr_schedule = lr_schedule
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.gamma = gamma
        self.warmup_epochs = warmup_epochs
        self.n_init = n_init
        self.target_update = target_update
        self.reduction = reduction
        self.input_scale = input_scale
        self.init = init
        self.init_epochs = init_epochs
        self.tol = tol
        self.patience = patience
        self.min_cluster_epochs = min_cluster_epochs
        self.device = device
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.checkpoint = checkpoint
        self.checkpoint_every = checkpoint_every
        self.callbacks = callbacks

    @classmethod
    def preset(cls, name: str, **overrides) -> "VCC":
        """A VCC with a named parameter set (``"paper"`` or ``"fast"``) and any overrides."""
        check_choice(name, "preset", tuple(VCC_PRESETS))
        params = dict(VCC_PRESETS[name])
        params.update(overrides)
        return cls(**params)

    # ------------------------------------------------------------------ validation
    def _validate(self, X):
        X = check_points(X, min_samples=2)
        n = X.shape[0]
        self._k = check_int(self.n_clusters, "n_clusters", low=1, high=n,
                            hint=f"X has {n} samples; there cannot be more clusters than samples.")
        check_int(self.n_neighbors, "n_neighbors", low=1, high=n - 1,
                  hint=f"X has {n} samples, so at most {n - 1} neighbours exist; lower n_neighbors.")
        check_int(self.latent_dim, "latent_dim", low=1)
        hidden = tuple(self.hidden) if self.hidden is not None else ()
        for h in hidden:
            check_int(h, "hidden widths", low=1)
        if self.temperature != "auto":
            check_float(self.temperature, "temperature", low=0.0, low_open=True)
        if self.max_rate is not None:
            check_int(self.max_rate, "max_rate", low=1)
        check_choice(self.metric, "metric", METRICS)
        check_choice(self.similarity, "similarity", SIMILARITIES)
        check_choice(self.distance, "distance", DISTANCES)
        check_choice(self.bps_repulsion, "bps_repulsion", BPS_REPULSIONS)
        check_float(self.bps_weight, "bps_weight", low=0.0)
        check_int(self.batch_size, "batch_size", low=1)
        if self.negative_nodes != "auto":
            check_int(self.negative_nodes, "negative_nodes", low=1)
        check_float(self.negative_rate, "negative_rate", low=0.0)
        if isinstance(self.edges_per_epoch, str):
            if self.edges_per_epoch not in ("auto", "multiset"):
                _passes(self.edges_per_epoch)
        else:
            check_int(self.edges_per_epoch, "edges_per_epoch", low=1)
        check_int(self.epochs, "epochs", low=1)
        check_choice(self.optimizer, "optimizer", ("sgd", "adam"))
        check_float(self.lr, "lr", low=0.0, low_open=True)
        check_choice(self.lr_schedule, "lr_schedule", LR_SCHEDULES)
        check_float(self.momentum, "momentum", low=0.0, high=1.0)
        check_float(self.weight_decay, "weight_decay", low=0.0)
        check_float(self.gamma, "gamma", low=0.0)
        check_int(self.warmup_epochs, "warmup_epochs", low=0)
        check_int(self.n_init, "n_init", low=1)
        check_choice(self.target_update, "target_update", TARGET_UPDATES)
        check_choice(self.reduction, "reduction", ("mean", "sum"))
        check_choice(self.init, "init", INITS)
        check_int(self.init_epochs, "init_epochs", low=1)
        check_float(self.tol, "tol", low=0.0)
        check_int(self.patience, "patience", low=1)
        check_int(self.min_cluster_epochs, "min_cluster_epochs", low=0)
        check_int(self.checkpoint_every, "checkpoint_every", low=1)
        if self.n_jobs is not None and self.n_jobs != -1:
            check_int(self.n_jobs, "n_jobs", low=1)
        if np.all(X.max(axis=0) == X.min(axis=0)):
            raise GraphclustError(
                "X has no varying column: every feature is constant, so all points are identical "
                "and there is nothing to cluster. Check the input.")
        self._hidden = hidden
        return X

    def _graph_points(self, X: np.ndarray) -> np.ndarray:
        """The points the latent graph's kNN search sees: X, or X's rows at unit length."""
        if self.metric == "euclidean":
            return X
        from graphclust.spectral.embedding import normalize_rows

        zero = np.flatnonzero(~X.any(axis=1))
        if zero.size:
            raise GraphclustError(
                f"metric='cosine' is undefined for all-zero rows ({zero.size} of them, e.g. row "
                f"{int(zero[0])}); drop those rows or use metric='euclidean'.")
        return normalize_rows(X)

    def _input_transform(self, X: np.ndarray):
        spec = self.input_scale
        if spec is None:
            return 0.0, 1.0
        if spec == "auto":
            if float(np.abs(X).max()) <= 10.0:
                return 0.0, 1.0
            mean = X.mean(axis=0)
            scale = float(np.abs(X - mean).max())
            return mean, (scale if scale > 0 else 1.0)
        scale = check_float(spec, "input_scale", low=0.0, low_open=True)
        return 0.0, scale

    def _fingerprint(self, X: np.ndarray) -> str:
        h = hashlib.blake2b(digest_size=16)
        h.update(str(X.shape).encode())
        h.update(np.ascontiguousarray(X).view(np.uint8).data)
        skip = {"epochs", "device", "n_jobs", "checkpoint", "checkpoint_every", "callbacks", "tol",
                "patience"}
        params = {k: v for k, v in self.get_params().items() if k not in skip}
        h.update(repr(sorted(params.items())).encode())
        return h.hexdigest()

    # ------------------------------------------------------------------ fit
    def fit(self, X, y=None, *, resume: bool = False):
        """Train on ``X``.

        Parameters
        ----------
        X : array-like (n_samples, n_features)
        y : array-like (n_samples,), optional
            Ground truth, used **only** to record ACC/NMI/ARI per epoch in ``history_``; it
            never influences training.
        resume : bool
            Continue from ``checkpoint`` (same X and parameters; ``epochs`` may be larger).
        """
        timings: dict = {}
        X = self._validate(X)
        if resume and self.checkpoint is None:
            raise GraphclustError("resume=True needs checkpoint=PATH (the file to resume from).")
        device = resolve_device(self.device)
        self.device_ = device
        rng = check_random_state(self.random_state)
        seeds = {k: seed_from(rng) for k in ("knn", "init", "sample", "kmeans", "layout")}
        offset, scale = self._input_transform(X)
        self.input_offset_ = np.asarray(offset, dtype=np.float32)
        self.input_scale_ = float(scale)
        with torch_runtime(self.n_jobs, device=device):
            with _progress.stage("vcc: latent graph", timings):
                graph = latent_graph(self._graph_points(X), self.n_neighbors,
                                     temperature=self.temperature,
                                     knn_method=self.knn_method, random_state=seeds["knn"],
                                     n_jobs=self.n_jobs)
            self.graph_ = graph
            Xn = ((X - offset) / scale).astype(np.float32) if (scale != 1.0 or np.any(offset)) \
                else X.astype(np.float32)
            task = _VCCTask(self, Xn, graph, device, seeds, self._fingerprint(X))
            loop = TrainingLoop(name="vcc", epochs=self.epochs, tol=self.tol, patience=self.patience,
                                checkpoint=self.checkpoint, checkpoint_every=self.checkpoint_every,
                                truth=y, callbacks=self.callbacks or ())
            start, history, prev, stable = 0, History(), None, 0
            self.init_error_ = None
            if resume:
                start, history, prev, stable = loop.resume_state(task)
                _progress.message(f"vcc: resuming from {self.checkpoint} after epoch {start}")
            elif self.init == "spectral":
                with _progress.stage("vcc: spectral initialisation", timings):
                    layout = spectral_layout(graph, self.latent_dim, random_state=seeds["layout"])
                    self.init_error_ = task.fit_layout(layout, self.init_epochs, seeds["layout"])
            _progress.message(
                f"vcc: {X.shape[0]} points, {graph.n_edges} edges (tau {graph.temperature:.4g}), "
                f"|E-| = {task.r_minus_total}, |E+| = {task.r_plus_total}, "
                f"{task.steps_per_epoch} steps/epoch on {device}")
            with _progress.stage("vcc: training", timings):
                history = loop.run(task, history=history, start_epoch=start, prev_labels=prev,
                                   stable=stable)
            if task.centres is None:  # fewer epochs than the warm-up: cluster what we have
                H = task.embed()
                task.init_centres(H)
                task.H = H
            if task.H is None:
                task.H = task.embed()
            with torch.no_grad():
                Q = soft_assignment(task.H, task.centres)
        self._task = task
        self.history_ = history
        self.n_epochs_ = len(history)
        self.stop_reason_ = loop.stop_reason or "max epochs"
        self.embedding_ = task.H.cpu().numpy()
        self.cluster_centers_ = task.centres.detach().cpu().numpy()
        self.soft_labels_ = Q.cpu().numpy()
        self.labels_ = self.soft_labels_.argmax(axis=1).astype(np.int64)
        self.timings_ = timings
        self._warn_collapse()
        return self

    def _warn_collapse(self) -> None:
        counts = np.bincount(self.labels_, minlength=self._k)
        used = int((counts > 0).sum())
        n = self.labels_.size
        if used == 1 and self._k > 1:
            warnings.warn(
                f"VCC latent collapse: all {n} points fell into ONE cluster (asked for "
                f"{self._k}). The latent space carries no cluster structure; check the input "
                "scaling, lower lr, raise epochs or n_neighbors, or try similarity='umap'.",
                UserWarning, stacklevel=3)
        elif used < self._k:
            warnings.warn(
                f"VCC: only {used} of {self._k} clusters are non-empty (sizes "
                f"{counts.tolist()}); some centres attracted no points.", UserWarning, stacklevel=3)

    def fit_predict(self, X, y=None, **kwargs):
        return self.fit(X, y, **kwargs).labels_

    # ------------------------------------------------------------------ inference
    def _check_fitted(self):
        if not hasattr(self, "_task"):
            from sklearn.exceptions import NotFittedError

            raise NotFittedError("This VCC instance is not fitted yet; call fit(X) first.")

    def transform(self, X):
        """Latent coordinates H of new points (n, latent_dim), float32."""
        self._check_fitted()
        X = check_points(X, min_samples=1)
        d = self._task.X.shape[1]
        if X.shape[1] != d:
            raise GraphclustError(f"X has {X.shape[1]} features but VCC was fitted with {d}.")
        Xn = ((X - self.input_offset_) / self.input_scale_).astype(np.float32)
        t = torch.as_tensor(Xn, device=self._task.device)
        with torch_runtime(self.n_jobs, device=self._task.device):
            H = self._task.embed(t)
        return H.cpu().numpy()

    def predict_proba(self, X):
        """Soft assignments Q of new points (n, n_clusters)."""
        H = torch.as_tensor(self.transform(X), device=self._task.device)
        with torch.no_grad():
            return soft_assignment(H, self._task.centres.detach()).cpu().numpy()

    def predict(self, X):
        """Cluster of new points: argmax of Q in the latent space."""
        return self.predict_proba(X).argmax(axis=1).astype(np.int64)
