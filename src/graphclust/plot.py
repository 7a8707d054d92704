"""Plots for the command-line interface: clusters in 2-D, the Laplacian spectrum, k-means SSEs.

matplotlib is imported only inside the functions, and figures are built with
``matplotlib.figure.Figure`` directly (not pyplot), so no global backend or pyplot state is
touched and no GUI is needed. Every plot is written with :func:`graphclust.io.atomic_savefig`.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from graphclust._validation import (
    GraphclustError,
    check_choice,
    check_int,
    check_points,
    check_random_state,
    seed_from,
)
from graphclust.io import atomic_savefig

__all__ = ["project_2d", "plot_clusters", "plot_spectrum", "plot_kmeans_sse"]

_PROJECTIONS = ("auto", "pca", "tsne")
_TSNE_MAX_DIM = 50  # t-SNE input is first reduced to this many principal components
_TSNE_SERIAL_MAX = 2000  # run t-SNE single-threaded up to this many points
_NOISE_COLOR = (0.62, 0.62, 0.62, 1.0)


# --------------------------------------------------------------------------------------------
# projection
# --------------------------------------------------------------------------------------------

def _pca(X: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """Scores on the first ``k`` principal components, with a deterministic sign.

    Each component is oriented so that its largest-magnitude loading is positive.
    """
    Xc = X - X.mean(axis=0)
    d = Xc.shape[1]
    if d <= 2048:
        w, V = np.linalg.eigh(Xc.T @ Xc)
        V = V[:, np.argsort(w)[::-1][:k]]
    else:
        from sklearn.decomposition import PCA

        V = PCA(n_components=k, svd_solver="randomized", random_state=seed_from(rng)).fit(Xc).components_.T
    big = np.argmax(np.abs(V), axis=0)
    V = V * np.where(V[big, np.arange(V.shape[1])] < 0, -1.0, 1.0)
    return Xc @ V


def _tsne(X: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, str]:
    from sklearn.manifold import TSNE
    from threadpoolctl import threadpool_limits

    n, d = X.shape
    note = ""
    if d > _TSNE_MAX_DIM:
        X = _pca(X, _TSNE_MAX_DIM, rng)
        note = f", after PCA to {_TSNE_MAX_DIM}-D"
    perplexity = float(min(30.0, max(1.0, (n - 1) / 3.0)))
    tsne = TSNE(n_components=2, init="pca", perplexity=perplexity, random_state=seed_from(rng))
    # For small inputs OpenMP threads only add overhead (and spin badly on busy machines).
    with threadpool_limits(limits=1 if n <= _TSNE_SERIAL_MAX else None):
        Y = tsne.fit_transform(X)
    return np.asarray(Y, dtype=np.float64), f"tsne (perplexity {perplexity:g}{note})"


def project_2d(X: Any, *, method: str = "auto", random_state: Any = 0, max_tsne: int = 10_000,
               return_index: bool = False):
    """Project points to 2-D for plotting.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    method : {"auto", "pca", "tsne"}
        Used only when ``n_features > 2`` (2-D data are returned as they are, 1-D data are padded
        with a zero column). ``"pca"``: the first two principal components (eigenvectors of the
        centred scatter matrix, sign fixed so the largest loading is positive: deterministic).
        ``"tsne"``: :class:`sklearn.manifold.TSNE` (``init="pca"``; data with more than 50
        features are first reduced to 50 principal components). ``"auto"``: t-SNE when
        ``n_samples <= max_tsne``, else PCA.
    random_state : int, numpy Generator or None
        Seeds t-SNE and the subsample below.
    max_tsne : int
        Largest number of points t-SNE is run on. With ``method="auto"`` and more points, PCA is
        used instead (and ``method_used`` says so). With ``method="tsne"`` and more points, t-SNE
        is run on a seeded random subsample of ``max_tsne`` points and only those rows are
        returned: this requires ``return_index=True`` (otherwise a ``GraphclustError`` is raised,
        so a caller can never mistake the rows of ``Y`` for the rows of ``X``).
    return_index : bool
        Also return ``index``, the rows of ``X`` that the rows of ``Y`` belong to (sorted;
        ``arange(n_samples)`` unless t-SNE was run on a subsample).

    Returns
    -------
    Y : ndarray of shape (m, 2)
        ``m == n_samples`` except in the t-SNE subsample case.
    method_used : str
        Starts with ``"identity"``, ``"pad"``, ``"pca"`` or ``"tsne"``, possibly followed by a
        note in parentheses, e.g. ``"pca (n=70000 > max_tsne=10000)"``.
    index : ndarray of int64, shape (m,)
        Only when ``return_index=True``.
    """
    X = check_points(X, name="X", min_samples=1, dtype=np.float64)
    check_choice(method, "method", _PROJECTIONS)
    max_tsne = check_int(max_tsne, "max_tsne", low=5)
    rng = check_random_state(random_state)
    n, d = X.shape
    index = np.arange(n, dtype=np.int64)
    if d == 2:
        Y, used = X.copy(), "identity"
    elif d == 1:
        Y, used = np.column_stack([X[:, 0], np.zeros(n)]), "pad (1-D data, zero second axis)"
    elif method == "pca" or (method == "auto" and n > max_tsne):
        Y = _pca(X, 2, rng)
        used = "pca" if method == "pca" else f"pca (n={n} > max_tsne={max_tsne})"
    elif n < 5:
        Y, used = _pca(X, 2, rng), "pca (too few points for t-SNE)"
    elif n > max_tsne:  # explicit t-SNE on many points: a seeded subsample
        if not return_index:
            raise GraphclustError(
                f"t-SNE on n={n} > max_tsne={max_tsne} points runs on a subsample and returns only "
                "those rows; call project_2d(..., return_index=True), raise max_tsne, or use "
                "method='pca'."
            )
        index = np.sort(rng.choice(n, size=max_tsne, replace=False)).astype(np.int64)
        Y, used = _tsne(X[index], rng)
        used = used[:-1] + f"; subsample of {max_tsne} of {n} points)"
    else:
        Y, used = _tsne(X, rng)
    return (Y, used, index) if return_index else (Y, used)


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------

def _figure(figsize, dpi):
    from matplotlib.figure import Figure

    return Figure(figsize=figsize, dpi=dpi, layout="constrained")


def _palette(k: int) -> np.ndarray:
    """``k`` distinct RGBA colours: tab10 (k <= 10), tab20 darks-then-lights (k <= 20), else
    a continuous colormap sampled at golden-ratio steps so that neighbouring ids differ."""
    from matplotlib import colormaps

    if k <= 10:
        cols = np.asarray(colormaps["tab10"].colors)[:k]
    elif k <= 20:
        tab20 = np.asarray(colormaps["tab20"].colors)
        cols = tab20[list(range(0, 20, 2)) + list(range(1, 20, 2))][:k]
    else:
        pos = (np.arange(k) * 0.6180339887498949) % 1.0
        return np.asarray(colormaps["turbo"](0.05 + 0.9 * pos))
    cols = np.asarray(cols, dtype=float).reshape(-1, 3)
    return np.column_stack([cols, np.ones(len(cols))])


def _encode(labels: np.ndarray):
    """Unique values (noise ``-1`` excluded), codes (-1 for noise) and counts."""
    try:
        uniq, codes = np.unique(labels, return_inverse=True)
    except TypeError:  # mixed object labels
        uniq, codes = np.unique(labels.astype(str), return_inverse=True)
    codes = codes.reshape(-1)
    noise = np.zeros(labels.shape[0], dtype=bool)
    if np.issubdtype(uniq.dtype, np.number) and uniq.size and uniq[0] == -1:
        noise = codes == 0
        uniq, codes = uniq[1:], codes - 1
    counts = np.bincount(codes[~noise], minlength=uniq.size)
    return uniq, codes, counts, noise


def _match_slots(c_codes, t_codes, kc: int, kt: int, mask) -> np.ndarray:
    """Colour slot of each truth class: the slot of its best-matching cluster (Hungarian
    matching on the contingency table), unmatched classes get the remaining slots."""
    from scipy.optimize import linear_sum_assignment

    slots = np.full(kt, -1, dtype=np.int64)
    if kc and kt:
        table = np.bincount(c_codes[mask] * kt + t_codes[mask], minlength=kc * kt).reshape(kc, kt)
        rows, cols = linear_sum_assignment(-table)
        slots[cols] = rows
    free = iter(range(kc, kc + kt))
    for j in range(kt):
        if slots[j] < 0:
            slots[j] = next(free)
    return slots


def _marker_size(n: int) -> float:
    """Marker area (pt^2): 30 up to 100 points, 1 from 100,000, log-linear in between."""
    t = np.clip((np.log10(max(n, 1)) - 2.0) / 3.0, 0.0, 1.0)
    return float(30.0 * (1.0 / 30.0) ** t)


def _axis_labels(used: str, feature_names: Sequence[str] | None) -> tuple[str, str]:
    if used.startswith("pca"):
        return "PC 1", "PC 2"
    if used.startswith("tsne"):
        return "t-SNE 1", "t-SNE 2"
    names = list(feature_names) if feature_names is not None else ["x1", "x2"]
    if used.startswith("pad"):
        return names[0], ""
    return names[0], names[1] if len(names) > 1 else "x2"


def _describe_projection(used: str, d: int) -> str:
    head, _, note = used.partition(" (")
    note = f" ({note}" if note else ""
    return {
        "identity": "2-D data, no projection",
        "pad": "1-D data on a line",
        "pca": f"PCA of {d}-D data{note}",
        "tsne": f"t-SNE of {d}-D data{note}",
    }.get(head, used)


def _scatter_panel(ax, Y, codes, noise, colors, order, size, alpha, uniq, counts, title, kind,
                   xlabel, ylabel, equal):
    from matplotlib.lines import Line2D

    rgba = np.where(noise[order, None], np.asarray(_NOISE_COLOR), colors[np.maximum(codes[order], 0)])
    ax.scatter(Y[order, 0], Y[order, 1], c=rgba, s=size, linewidths=0, alpha=alpha)
    ax.set_title(title, fontsize=11)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if not ylabel:
        ax.set_yticks([])
    if equal:
        ax.set_aspect("equal", adjustable="datalim")
    ax.grid(True, color="0.92", linewidth=0.6)
    ax.set_axisbelow(True)
    k = len(uniq)
    if k <= 20:
        handles = [
            Line2D([], [], linestyle="", marker="o", markersize=7, color=colors[i],
                   label=f"{_fmt_label(uniq[i])}  ({counts[i]:,})")
            for i in range(k)
        ]
        n_noise = int(noise.sum())
        if n_noise:
            handles.append(Line2D([], [], linestyle="", marker="o", markersize=7, color=_NOISE_COLOR,
                                  label=f"noise  ({n_noise:,})"))
        ax.legend(handles=handles, title=f"{kind} (size)", loc="upper left", bbox_to_anchor=(1.02, 1.0),
                  borderaxespad=0.0, frameon=False, fontsize=9, title_fontsize=9,
                  handletextpad=0.3, labelspacing=0.35)


def _fmt_label(v) -> str:
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        return str(int(v))
    return str(v)


def _labels_1d(values: Any, n: int, name: str) -> np.ndarray:
    arr = np.asarray(values)
    if arr.ndim != 1 or arr.shape[0] != n:
        raise GraphclustError(f"{name} must have shape ({n},) to match X, got {arr.shape}.")
    return arr


# --------------------------------------------------------------------------------------------
# public plots
# --------------------------------------------------------------------------------------------

def plot_clusters(X: Any, labels: Any, path: str | os.PathLike, *, title: str | None = None,
                  truth: Any = None, projection: Any = "auto", random_state: Any = 0,
                  max_points: int = 200_000, feature_names: Sequence[str] | None = None,
                  figsize: tuple[float, float] | None = None, dpi: int = 120) -> Path:
    """Scatter plot of the points coloured by cluster (and by ground truth, side by side).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    labels : array-like of shape (n_samples,)
        Cluster labels (any values; ``-1`` is drawn in grey as noise).
    path : str or path-like
        Output image (``.png`` recommended); written atomically.
    title : str, optional
        Figure title; default ``"K clusters, n = N"``.
    truth : array-like of shape (n_samples,), optional
        Ground-truth labels: adds a second panel. Truth classes are coloured like the cluster
        they best match (Hungarian matching), so agreement shows as equal colours.
    projection : {"auto", "pca", "tsne"} or ndarray of shape (n_samples, 2)
        How to get 2-D coordinates (see :func:`project_2d`), or precomputed coordinates.
    random_state : int, numpy Generator or None
        Seeds the drawing subsample, t-SNE and the drawing order.
    max_points : int
        At most this many points are drawn (a seeded random subsample; legend sizes still count
        all points). The projection is computed on the drawn points only.
    feature_names : sequence of str, optional
        Axis labels for 1-D/2-D data shown without projection.
    figsize : (float, float), optional
        Default ``(8, 6)`` for one panel, ``(15, 6)`` with ``truth``.
    dpi : int
        Image resolution; the PNG is ``figsize * dpi`` pixels.

    Returns
    -------
    pathlib.Path
    """
    X = check_points(X, name="X", min_samples=1, dtype=np.float64)
    n, d = X.shape
    labels = _labels_1d(labels, n, "labels")
    truth_arr = None if truth is None else _labels_1d(truth, n, "truth")
    max_points = check_int(max_points, "max_points", low=1)
    rng = check_random_state(random_state)

    given = not isinstance(projection, str)
    if given:
        Yfull = np.asarray(projection, dtype=np.float64)
        if Yfull.shape != (n, 2):
            raise GraphclustError(f"projection coordinates must have shape ({n}, 2), got {Yfull.shape}.")
    else:
        check_choice(projection, "projection", _PROJECTIONS)

    # labels are encoded on all points so that legend sizes are exact
    c_uniq, c_codes, c_counts, c_noise = _encode(labels)
    kc = len(c_uniq)
    if truth_arr is not None:
        t_uniq, t_codes, t_counts, t_noise = _encode(truth_arr)
        kt = len(t_uniq)
        slots = _match_slots(c_codes, t_codes, kc, kt, ~(c_noise | t_noise))
        colors = _palette(max(kc, kt, 1))
        t_colors = colors[slots] if kt else colors[:1]
    else:
        colors = _palette(max(kc, 1))

    draw = np.arange(n) if n <= max_points else np.sort(rng.choice(n, size=max_points, replace=False))
    if given:
        Y, used = Yfull[draw], "given"
    else:
        Y, used, sub = project_2d(X[draw], method=projection, random_state=rng, return_index=True)
        draw = draw[sub]
    m = len(draw)
    order = rng.permutation(m)
    size = _marker_size(m)
    alpha = 0.9 if m <= 5_000 else (0.7 if m <= 50_000 else 0.5)
    xlabel, ylabel = _axis_labels(used, feature_names) if not given else ("dim 1", "dim 2")
    equal = not used.startswith("pad")

    npanels = 1 if truth_arr is None else 2
    if figsize is None:
        figsize = (8.0, 6.0) if npanels == 1 else (15.0, 6.0)
    fig = _figure(figsize, dpi)
    axes = fig.subplots(1, npanels, squeeze=False)[0]
    _scatter_panel(axes[0], Y, c_codes[draw], c_noise[draw], colors, order, size, alpha, c_uniq,
                   c_counts, f"clusters (K = {kc})" if npanels == 2 else "", "cluster", xlabel, ylabel,
                   equal)
    if truth_arr is not None:
        _scatter_panel(axes[1], Y, t_codes[draw], t_noise[draw], t_colors, order, size, alpha, t_uniq,
                       t_counts, f"ground truth ({kt} classes)", "class", xlabel, ylabel, equal)
    fig.suptitle(title if title is not None else f"{kc} clusters, n = {n:,}", fontsize=13)
    note = "precomputed 2-D coordinates" if given else _describe_projection(used, d)
    if m < n:
        note += f"  ·  showing {m:,} of {n:,} points (random subsample)"
    if kc > 20:
        note += f"  ·  {kc} clusters: legend omitted"
    fig.supxlabel(note, fontsize=9, color="0.35")
    return atomic_savefig(fig, path, dpi=dpi)


def plot_spectrum(eigenvalues: Any, path: str | os.PathLike, *, n_clusters: int | None = None,
                  gap_index: int | None = None, title: str | None = None,
                  figsize: tuple[float, float] = (7.5, 4.5), dpi: int = 120) -> Path:
    """Plot the smallest eigenvalues of ``L_sym`` and mark the eigengap.

    Parameters
    ----------
    eigenvalues : array-like of shape (m,)
        Eigenvalues of the normalised Laplacian in ascending order (sorted here if not).
        Drawn against their 1-based number on a linear axis.
    path : str or path-like
        Output image; written atomically.
    n_clusters : int, optional
        The number of clusters chosen; used in the label, and as ``gap_index`` when that is not
        given.
    gap_index : int, optional
        The gap lies between ``eigenvalues[gap_index - 1]`` and ``eigenvalues[gap_index]``
        (0-based), i.e. ``gap_index`` eigenvalues lie below it, so ``K = gap_index``. When neither
        this nor ``n_clusters`` is given, no gap is marked.
    title : str, optional
    figsize, dpi
        Figure size (inches) and resolution.

    Returns
    -------
    pathlib.Path
    """
    ev = np.asarray(eigenvalues, dtype=np.float64).ravel()
    if ev.size == 0:
        raise GraphclustError("eigenvalues is empty; nothing to plot.")
    if not np.all(np.isfinite(ev)):
        raise GraphclustError("eigenvalues contain NaN or infinite values.")
    ev = np.sort(ev)
    m = ev.size
    if gap_index is None and n_clusters is not None:
        gap_index = n_clusters
    if gap_index is not None:
        gap_index = check_int(gap_index, "gap_index", low=1, high=max(m - 1, 1),
                              hint=f"There are {m} eigenvalues; the gap must lie between two of them.")
        if m < 2:
            gap_index = None
    k_label = n_clusters if n_clusters is not None else gap_index

    fig = _figure(figsize, dpi)
    ax = fig.subplots()
    x = np.arange(1, m + 1)
    msize = 6 if m <= 30 else (4 if m <= 100 else 2)
    ax.plot(x, ev, "-", color="0.6", linewidth=1.0, zorder=1)
    if gap_index is None:
        ax.plot(x, ev, "o", color="tab:blue", markersize=msize, zorder=2)
    else:
        g = gap_index
        ax.plot(x[:g], ev[:g], "o", color="tab:blue", markersize=msize, zorder=2,
                label=f"first {g} eigenvalue{'s' if g != 1 else ''} (kept)")
        ax.plot(x[g:], ev[g:], "o", color="0.55", markersize=msize, zorder=2, label="rest")
        lo, hi = ev[g - 1], ev[g]
        xc = g + 0.5
        ax.axhspan(lo, hi, color="tab:orange", alpha=0.12, linewidth=0, zorder=0)
        ax.axvline(xc, color="tab:orange", linestyle="--", linewidth=1.0, zorder=0)
        ax.annotate("", xy=(xc, hi), xytext=(xc, lo),
                    arrowprops=dict(arrowstyle="<->", color="tab:orange", linewidth=1.5,
                                    shrinkA=0, shrinkB=0))
        right = g < 0.7 * m
        ax.annotate(f"eigengap → K = {k_label}\n(gap = {hi - lo:.3g})",
                    xy=(xc, (lo + hi) / 2), xytext=(10 if right else -10, 0),
                    textcoords="offset points", ha="left" if right else "right", va="center",
                    fontsize=10, color="0.15",
                    bbox=dict(boxstyle="round,pad=0.3", facecolor="white", edgecolor="tab:orange",
                              alpha=0.9))
        ax.legend(loc="upper left", fontsize=9, frameon=False)
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlim(0.5, m + 0.5)
    span = max(ev[-1] - min(ev[0], 0.0), 1e-12)
    ax.set_ylim(min(ev[0], 0.0) - 0.04 * span, ev[-1] + 0.08 * span)
    ax.set_xlabel("eigenvalue number $i$ (ascending)")
    ax.set_ylabel(r"eigenvalue $\lambda_i$ of $L_{\mathrm{sym}}$")
    ax.grid(True, color="0.92", linewidth=0.6)
    ax.set_axisbelow(True)
    ax.set_title(title if title is not None else f"Spectrum of the normalised Laplacian ({m} smallest)",
                 fontsize=12)
    return atomic_savefig(fig, path, dpi=dpi)


def plot_kmeans_sse(sses: Any, path: str | os.PathLike, *, figsize: tuple[float, float] = (6.0, 3.5),
                    dpi: int = 120) -> Path:
    """Strip plot of the k-means restarts' SSE (sum of squared errors), the best one marked.

    Parameters
    ----------
    sses : array-like of shape (n_restarts,)
    path : str or path-like
        Output image; written atomically.
    figsize, dpi
        Figure size (inches) and resolution.

    Returns
    -------
    pathlib.Path
    """
    s = np.asarray(sses, dtype=np.float64).ravel()
    if s.size == 0 or not np.all(np.isfinite(s)):
        raise GraphclustError("sses must be a non-empty array of finite numbers.")
    best = int(np.argmin(s))
    x = np.arange(1, s.size + 1)
    fig = _figure(figsize, dpi)
    ax = fig.subplots()
    ax.vlines(x, s.min(), s, color="0.8", linewidth=1.0)
    ax.plot(x, s, "o", color="tab:blue", markersize=5)
    ax.plot([x[best]], [s[best]], "*", color="tab:red", markersize=14, label=f"best: restart {best + 1}")
    ax.set_xlabel("k-means restart")
    ax.set_ylabel("SSE")
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(loc="best", fontsize=9, frameon=False)
    ax.set_title(f"k-means restarts: SSE (best {s[best]:.4g}, worst {s.max():.4g})", fontsize=11)
    ax.grid(True, axis="y", color="0.92", linewidth=0.6)
    return atomic_savefig(fig, path, dpi=dpi)
