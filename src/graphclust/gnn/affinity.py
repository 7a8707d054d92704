"""Batched affinity propagation (Frey & Dueck 2007) over many small graphs at once.

Community pooling clusters the nodes of *every* graph of a batch, every epoch. Calling
scikit-learn's ``AffinityPropagation`` once per graph costs a Python round trip and ~100 small
numpy calls per iteration per graph; here all graphs of a batch are padded into one
``(B, N, N)`` similarity tensor and iterated together, each graph stopping (its messages frozen)
at the iteration where it converges. The updates, the convergence rule, the exemplar refinement
and the labelling follow scikit-learn's ``_affinity_propagation`` step by step, so on inputs
without ties the partitions are the same (a test checks this against scikit-learn).

Shapes: ``S`` is ``(B, N, N)`` float64, ``mask`` is ``(B, N)`` bool (True for real nodes of
graph ``b``; the real nodes of a graph come first). Padded rows and columns take no part:
their responsibilities are zeroed before the column sums, they never become exemplars, and
they get label ``-1``.

Two details differ from scikit-learn, both on purpose:

* **Tie-breaking noise** is a deterministic function of ``(seed, i, j)`` rather than a draw from
  a generator, so that a graph's noise, hence its communities, do not depend on the other
  graphs in its batch or on its position there (batching invariance). Its scale is
  scikit-learn's: ``(eps * S + 100 * tiny) * u`` with ``u`` in [-1, 1].
* **Non-convergence** is reported per graph (``converged``); scikit-learn still labels a graph
  that did not converge but found exemplars. The caller (:mod:`graphclust.gnn.pooling`) applies
  its declared fallback to every graph that did not converge.
"""
from __future__ import annotations

from dataclasses import dataclass

from graphclust._validation import GraphclustError
from graphclust.gnn._deps import require

torch = require("torch")

__all__ = ["SIMILARITIES", "APResult", "similarity_matrix", "batched_affinity_propagation"]

SIMILARITIES = ("cosine", "neg_sq_euclidean")
_BIG = 1e30


@dataclass(frozen=True, eq=False)
class APResult:
    """Output of :func:`batched_affinity_propagation`.

    Attributes
    ----------
    labels : LongTensor (B, N)
        Community of each node, ``0..K_b-1`` ordered by exemplar index; ``-1`` for padding and
        for every node of a graph that did not converge.
    n_clusters : LongTensor (B,)
        ``K_b`` (0 for graphs that did not converge).
    converged : BoolTensor (B,)
    n_iter : LongTensor (B,)
        Iterations run per graph.
    """

    labels: "torch.Tensor"
    n_clusters: "torch.Tensor"
    converged: "torch.Tensor"
    n_iter: "torch.Tensor"


def similarity_matrix(x: "torch.Tensor", mask: "torch.Tensor", kind: str = "cosine") -> "torch.Tensor":
    """Pairwise similarities of padded node embeddings.

    Parameters
    ----------
    x : Tensor (B, N, F)
    mask : BoolTensor (B, N)
    kind : {"cosine", "neg_sq_euclidean"}
        ``cos(x_i, x_j)`` (zero vectors have similarity 0 to everything but themselves, 1), or
        ``-||x_i - x_j||^2``.

    Returns
    -------
    Tensor (B, N, N) float64; entries touching padding are 0.
    """
    if kind not in SIMILARITIES:
        raise GraphclustError(f"similarity must be one of {', '.join(map(repr, SIMILARITIES))}; "
                              f"got {kind!r}.")
    x = x.to(torch.float64)
    if kind == "cosine":
        norm = x.norm(dim=-1, keepdim=True)
        xn = x / norm.clamp_min(1e-12)
        S = xn @ xn.transpose(1, 2)
        eye = torch.eye(x.shape[1], dtype=torch.bool)
        S = torch.where(eye, torch.ones((), dtype=S.dtype), S)
    else:
        sq = (x * x).sum(-1)
        S = -(sq[:, :, None] + sq[:, None, :] - 2.0 * (x @ x.transpose(1, 2))).clamp_min(0.0)
        eye = torch.eye(x.shape[1], dtype=torch.bool)
        S = torch.where(eye, torch.zeros((), dtype=S.dtype), S)
    pair = mask[:, :, None] & mask[:, None, :]
    return torch.where(pair, S, torch.zeros((), dtype=S.dtype))


def _hash_noise(n: int, seed: int) -> "torch.Tensor":
    """Deterministic values in [-1, 1] for every (i, j) < n, independent of batch layout."""
    i = torch.arange(n, dtype=torch.int64)
    h = (i[:, None] * 73856093) ^ (i[None, :] * 19349663) ^ (int(seed) * 83492791 + 2654435761)
    h = (h ^ (h >> 13)) * 1274126177
    h = h ^ (h >> 16)
    return (h & 0xFFFFF).to(torch.float64) / float(0xFFFFF) * 2.0 - 1.0


def _masked_median(S: "torch.Tensor", pair: "torch.Tensor", counts: "torch.Tensor") -> "torch.Tensor":
    """numpy-style median (mean of the two middle values) of each graph's n x n block."""
    B = S.shape[0]
    flat = torch.where(pair, S, torch.full((), float("inf"), dtype=S.dtype)).reshape(B, -1)
    srt = flat.sort(dim=1).values
    m = (counts * counts).to(torch.int64)
    lo = ((m - 1) // 2).clamp_min(0)
    hi = m // 2
    return 0.5 * (srt.gather(1, lo[:, None]) + srt.gather(1, hi[:, None]))[:, 0]


def batched_affinity_propagation(S: "torch.Tensor", mask: "torch.Tensor", *, damping: float = 0.5,
                                 max_iter: int = 200, convergence_iter: int = 15,
                                 preference: float | None = None, seed: int = 0,
                                 noise: "torch.Tensor | None" = None) -> APResult:
    """Affinity propagation on every graph of a padded batch (see the module docstring).

    Parameters
    ----------
    S : Tensor (B, N, N)
        Similarities (higher = more similar); only the ``mask`` block of each graph is read.
    mask : BoolTensor (B, N)
        Real nodes, first ``n_b`` positions of each row.
    damping : float in [0.5, 1)
    max_iter, convergence_iter : int
        As in scikit-learn: a graph has converged when its exemplar set has not changed for
        ``convergence_iter`` iterations and is not empty.
    preference : float, optional
        Self-similarity of every node; default the median of the graph's similarities
        (diagonal included), per graph.
    seed : int
        Seed of the tie-breaking noise.
    noise : Tensor (B, N, N), optional
        Explicit tie-breaking values replacing the seeded ones (the conformance tests pass
        scikit-learn's draws here to reproduce it exactly).

    Returns
    -------
    APResult
    """
    S = S.to(torch.float64)
    B, N, _ = S.shape
    mask = mask.to(torch.bool)
    counts = mask.sum(1)
    pair = mask[:, :, None] & mask[:, None, :]
    eye = torch.eye(N, dtype=torch.bool)[None]
    if preference is None:
        pref = _masked_median(S, pair, counts)
    else:
        pref = torch.full((B,), float(preference), dtype=torch.float64)
    S = torch.where(eye, pref[:, None, None].expand(B, N, N), S)

    # degenerate graphs: one node, or all similarities and preferences equal (scikit-learn:
    # one cluster when the preference is not above the similarities, else one per node)
    off = pair & ~eye
    big = torch.full((), _BIG, dtype=torch.float64)
    smax = torch.where(off, S, -big).amax(dim=(1, 2))
    smin = torch.where(off, S, big).amin(dim=(1, 2))
    equal = (counts <= 1) | (smax == smin)
    own_cluster = equal & (counts > 1) & (pref > smax)

    eps = torch.finfo(torch.float64).eps
    tiny = torch.finfo(torch.float64).tiny
    u = _hash_noise(N, seed)[None] if noise is None else noise.to(torch.float64)
    S = S + (eps * S + tiny * 100.0) * u
    # padding: a padded node p is isolated and inert (S[p, p] = 0, -BIG to and from every other
    # node): its responsibilities to real nodes are hugely negative, so it adds exact zeros to
    # their availabilities, and no real node ever picks it
    S = torch.where(pair, S, torch.where(eye & ~mask[:, None, :], 0.0, -big))

    E = torch.zeros((B, N), dtype=torch.bool)
    converged = equal.clone()
    done_iter = torch.zeros(B, dtype=torch.int64)
    # only graphs still iterating are kept in the working tensors (compacted as they converge)
    idx = torch.nonzero(~equal).flatten()
    Sa, ma = S[idx], mask[idx]
    R = torch.zeros_like(Sa)
    A = torch.zeros_like(Sa)
    Ea = torch.zeros((idx.numel(), N), dtype=torch.bool)
    # scikit-learn's rule "every node's exemplar flag constant over the last convergence_iter
    # iterations" is kept as the run length of iterations with an unchanged exemplar set
    run = torch.zeros(idx.numel(), dtype=torch.int64)
    keep_frac = 1.0 - damping
    for it in range(max_iter):
        if idx.numel() == 0:
            break
        # responsibilities
        tmp = A + Sa
        Y, I = tmp.max(dim=2, keepdim=True)
        Y2 = tmp.scatter_(2, I, float("-inf")).amax(dim=2, keepdim=True)
        Rnew = Sa - Y
        Rnew.scatter_(2, I, Sa.gather(2, I) - Y2)
        R.mul_(damping).add_(Rnew, alpha=keep_frac)
        # availabilities
        tmp = R.clamp_min(0.0)
        tmp.diagonal(dim1=1, dim2=2).copy_(R.diagonal(dim1=1, dim2=2))
        tmp -= tmp.sum(dim=1, keepdim=True)
        dA = tmp.diagonal(dim1=1, dim2=2).clone()
        tmp.clamp_(min=0.0)
        tmp.diagonal(dim1=1, dim2=2).copy_(dA)
        A.mul_(damping).sub_(tmp, alpha=keep_frac)
        # convergence
        Enew = ((A.diagonal(dim1=1, dim2=2) + R.diagonal(dim1=1, dim2=2)) > 0) & ma
        run = torch.where((Enew == Ea).all(1), run + 1, torch.ones_like(run))
        Ea = Enew
        done_iter[idx] = it + 1
        if it >= convergence_iter:
            newly = (run >= convergence_iter) & Ea.any(1)
            if bool(newly.any()):
                E[idx[newly]] = Ea[newly]
                converged[idx[newly]] = True
                rest = ~newly
                idx, Sa, ma, R, A, Ea, run = (t[rest] for t in (idx, Sa, ma, R, A, Ea, run))
    S = torch.where(pair, S, torch.full((), -_BIG, dtype=S.dtype))

    labels = _labels_from_exemplars(S, E, mask, pair)
    ok = converged & ~equal & (E.sum(1) > 0)
    labels = torch.where(ok[:, None], labels, torch.full_like(labels, -1))
    # degenerate graphs
    one = equal & ~own_cluster
    labels = torch.where(one[:, None] & mask, torch.zeros_like(labels), labels)
    ar = torch.arange(N).expand(B, N)
    labels = torch.where(own_cluster[:, None] & mask, ar, labels)
    labels = torch.where(mask, labels, torch.full_like(labels, -1))
    n_clusters = torch.where(labels >= 0, labels + 1, 0).amax(1)
    return APResult(labels=labels, n_clusters=n_clusters, converged=converged,
                    n_iter=done_iter)


def _labels_from_exemplars(S, E, mask, pair):
    """scikit-learn's final assignment, exemplar refinement and gapless relabelling, batched."""
    B, N, _ = S.shape
    ninf = torch.full((), float("-inf"), dtype=S.dtype)
    ar = torch.arange(N)

    def assign(ex):
        c = torch.where(ex[:, None, :] & pair, S, ninf).argmax(dim=2)
        return torch.where(ex, ar.expand(B, N), c)

    c = assign(E)
    same = (c[:, :, None] == c[:, None, :]) & pair
    score = torch.where(same, S, 0.0).sum(dim=1)                      # (B, N): column sums
    best = torch.where(same, score[:, None, :], ninf).argmax(dim=2)   # refined exemplar per node
    ex = torch.zeros((B, N), dtype=torch.bool)
    rows = mask & E.any(1, keepdim=True)
    b_idx = torch.arange(B)[:, None].expand(B, N)[rows]
    ex[b_idx, best[rows]] = True
    c = assign(ex)
    rank = ex.to(torch.int64).cumsum(1) - 1
    labels = rank.gather(1, c)
    return torch.where(mask, labels, torch.full_like(labels, -1))
