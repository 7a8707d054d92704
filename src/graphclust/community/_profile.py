"""Resolution sweeps and Gonum-style resolution profiles.

* :func:`resolution_sweep` runs Louvain over a grid of resolutions and records Q and the number
  of communities (plot with :func:`plot_resolution_sweep`).
* :func:`resolution_profile` bisects a resolution range, as Gonum's ``Profile`` with
  ``ModularScore``, into intervals ``[low, high)`` over which a score is constant: ``"size"``
  (1 / number of communities) or ``"weight"`` (total weight inside communities). Scores must
  decrease with the resolution; the best of ``effort`` Louvain runs is kept per resolution and a
  score that keeps increasing is reported as an error.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from graphclust._validation import GraphclustError, check_choice, check_float, check_int, check_random_state
from graphclust.community._problem import prepare
from graphclust.community._louvain import LouvainResult, louvain

__all__ = ["ResolutionSweep", "resolution_sweep", "plot_resolution_sweep", "ResolutionInterval",
           "resolution_profile"]


@dataclass(frozen=True)
class ResolutionSweep:
    """Louvain over a grid of resolutions (best of ``n_runs`` per resolution).

    ``modularity[i]`` is Q at ``resolutions[i]`` (the objective optimised there);
    ``modularity_standard[i]`` is Q of the same partition at resolution 1.
    """

    resolutions: np.ndarray
    modularity: np.ndarray
    modularity_standard: np.ndarray
    n_communities: np.ndarray
    labels: tuple


def resolution_sweep(graph, resolutions=None, *, layer_weights=None, n_runs: int = 1,
                     all_communities: bool = False, random_state=None) -> ResolutionSweep:
    """Q and number of communities over a range of resolutions.

    ``resolutions`` defaults to 25 values log-spaced over [0.1, 10].
    """
    from graphclust.community._modularity import modularity

    if resolutions is None:
        resolutions = np.logspace(-1, 1, 25)
    res = np.asarray(resolutions, dtype=np.float64).reshape(-1)
    if res.size == 0 or not np.all(np.isfinite(res)) or np.any(res < 0):
        raise GraphclustError(f"resolutions must be a non-empty sequence of finite numbers >= 0, got "
                              f"{np.asarray(resolutions).tolist()!r}.")
    n_runs = check_int(n_runs, "n_runs", low=1)
    rng = check_random_state(random_state)
    problem_graph = prepare(graph, layer_weights=layer_weights).graph
    qs, q1, ks, labels = [], [], [], []
    for gamma in res:
        best = _best_of(problem_graph, float(gamma), layer_weights, all_communities, n_runs, rng)
        qs.append(best.modularity)
        std = modularity(problem_graph, best.labels, 1.0, layer_weights=layer_weights)
        q1.append(float(np.sum(std)))
        ks.append(best.n_communities)
        labels.append(best.labels)
    return ResolutionSweep(res, np.array(qs), np.array(q1), np.array(ks), tuple(labels))


def _best_of(graph, gamma, layer_weights, all_communities, n_runs, rng) -> LouvainResult:
    best = None
    for _ in range(n_runs):
        r = louvain(graph, gamma, layer_weights=layer_weights, all_communities=all_communities,
                    random_state=rng)
        if best is None or r.modularity > best.modularity:
            best = r
    return best


def plot_resolution_sweep(sweep: ResolutionSweep, path=None, *, ax=None, title=None):
    """Plot Q (left axis) and the number of communities (right axis) against the resolution."""
    import matplotlib

    if ax is None and path is not None:
        matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig = None
    if ax is None:
        fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(sweep.resolutions, sweep.modularity, "o-", color="C0", label="Q at resolution")
    ax.plot(sweep.resolutions, sweep.modularity_standard, "s--", color="C2", label="Q at resolution 1")
    ax.set_xscale("log" if np.all(sweep.resolutions > 0) else "linear")
    ax.set_xlabel("resolution γ")
    ax.set_ylabel("modularity Q")
    ax2 = ax.twinx()
    ax2.step(sweep.resolutions, sweep.n_communities, where="mid", color="C1", label="communities")
    ax2.set_ylabel("number of communities", color="C1")
    ax.legend(loc="best", fontsize="small")
    ax.set_title(title or "Louvain resolution sweep")
    if fig is not None:
        fig.tight_layout()
        if path is not None:
            _save(fig, path)
            plt.close(fig)
    return ax


def _save(fig, path) -> None:
    try:
        from graphclust.io import atomic_savefig

        atomic_savefig(fig, path)
    except ImportError:  # pragma: no cover - io not there yet
        fig.savefig(path, dpi=120)


@dataclass(frozen=True)
class ResolutionInterval:
    """Resolutions ``[low, high)`` with a common score and the best partition found there."""

    low: float
    high: float
    score: float
    labels: np.ndarray


class _NonDecreasing(Exception):
    pass


def resolution_profile(graph, low: float, high: float, *, score: str = "size", grain: float = 1e-3,
                       log: bool = True, effort: int = 1, layer_weights=None,
                       all_communities: bool = False, random_state=None) -> list[ResolutionInterval]:
    """Approximate resolution profile over ``[low, high)`` by bisection (Gonum's ``Profile``).

    Parameters
    ----------
    score : {"size", "weight"}
        ``"size"``: 1 / number of communities; ``"weight"``: total weight inside communities
        (for a multiplex, summed over layers with the sign of the layer weight).
    grain : float
        Stop bisecting an interval narrower than this (in log space when ``log``).
    log : bool
        Bisect at geometric (True, needs ``low > 0``) or arithmetic midpoints.
    effort : int
        Louvain runs per resolution; the best score is kept.

    Raises ``GraphclustError`` when the score does not reliably decrease with the resolution.
    """
    score = check_choice(score, "score", ("size", "weight"))
    low = check_float(low, "low", low=0.0)
    high = check_float(high, "high", low=0.0)
    grain = check_float(grain, "grain", low=0.0, low_open=True)
    effort = check_int(effort, "effort", low=1)
    if low >= high:
        raise GraphclustError(f"low must be below high (a non-empty [low, high) range), got "
                              f"low={low}, high={high}.")
    if log and low <= 0:
        raise GraphclustError("log=True bisects geometrically and needs low > 0; pass a positive low "
                              "or log=False.")
    rng = check_random_state(random_state)
    problem = prepare(graph, layer_weights=layer_weights)
    g = problem.graph
    signs = np.sign(problem.layer_weights)

    def fn(gamma: float):
        best_s, best_labels = -math.inf, None
        for _ in range(effort):
            r = louvain(g, gamma, layer_weights=layer_weights, all_communities=all_communities,
                        random_state=rng)
            if score == "size":
                s = 1.0 / r.n_communities
            else:
                s = _internal_weight(problem, r.labels, signs)
            if s > best_s:
                best_s, best_labels = s, r.labels
        return best_s, best_labels

    max_iter = int(1 / grain)

    def too_small(lo, hi):
        return (math.log(hi / lo) < grain) if log else (hi - lo < grain)

    def bisect(lo, s_lo, hi, s_hi, labels_lo, depth=0):
        if math.isnan(s_lo) or math.isnan(s_hi):
            return []
        n = 0
        while s_lo < s_hi:
            if n > max_iter:
                raise _NonDecreasing(n)
            s_lo, labels_lo = fn(lo)
            n += 1
        if s_lo == s_hi or too_small(lo, hi) or depth > 60:
            return [[lo, hi, s_lo, labels_lo]]
        mid = math.sqrt(lo * hi) if log else (lo + hi) / 2
        s_mid, labels_mid, n = -math.inf, None, 0
        while s_mid < s_hi:
            if n > max_iter:
                raise _NonDecreasing(n)
            s_mid, labels_mid = fn(mid)
            n += 1
        lower = bisect(lo, s_lo, mid, s_mid, labels_lo, depth + 1)
        higher = bisect(mid, s_mid, hi, s_hi, labels_mid, depth + 1)
        n = 0
        while lower and higher and lower[-1][2] < higher[0][2]:
            if n > max_iter:
                raise _NonDecreasing(n)
            lower[-1][2], lower[-1][3] = fn(lower[-1][0])
            n += 1
        if lower and higher and lower[-1][2] == higher[0][2]:
            higher[0][0] = lower[-1][0]
            lower = lower[:-1]
        return lower + higher

    try:
        s_low, labels_low = fn(low)
        s_high, _ = fn(high)
        for _ in range(1, max_iter):
            s_high = max(s_high, fn(high)[0])
            if _ >= 8:  # Gonum retries 1/grain times; a handful is enough to settle the maximum
                break
        intervals = bisect(low, s_low, high, s_high, labels_low)
    except _NonDecreasing as exc:
        raise GraphclustError(
            f"the {score!r} score does not reliably decrease with the resolution (tried {exc.args[0]} "
            "times); increase effort or narrow [low, high)."
        ) from None
    # Merge low-score discordant intervals into their lower-resolution neighbours (fix-up).
    out = list(intervals)
    best = out[-1][2] if out else -math.inf
    i = len(out) - 2
    while i >= 0:
        if out[i][2] > best:
            best = out[i][2]
        else:
            out[i + 1][0] = out[i][0]
            del out[i]
        i -= 1
    return [ResolutionInterval(float(a), float(b), float(s), np.asarray(lab)) for a, b, s, lab in out]


def _internal_weight(problem, labels: np.ndarray, signs: np.ndarray) -> float:
    total = 0.0
    for ell, B in enumerate(problem.layers):
        if signs[ell] == 0:
            continue
        coo = B.tocoo()
        total += signs[ell] * float(coo.data[labels[coo.row] == labels[coo.col]].sum())
    return total
