"""Training-curve plot for the deep estimators (matplotlib, imported on use)."""
from __future__ import annotations

import os

import numpy as np

__all__ = ["plot_training_history"]

_LOSS_KEYS = ("loss", "bps", "contraction", "expansion", "clustering", "reconstruction")


def plot_training_history(history, path: str | os.PathLike, *, title: str | None = None,
                          dpi: int = 120):
    """Loss terms per epoch (left axis, log scale) and ACC/NMI when recorded (right axis).

    ``history`` is a :class:`graphclust.deep.History` or a list of per-epoch dicts.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    from graphclust.io import atomic_savefig

    records = list(history)
    epochs = np.array([r.get("epoch", i + 1) for i, r in enumerate(records)], dtype=float)
    fig, ax = plt.subplots(figsize=(7.0, 4.0), dpi=dpi)
    for k in _LOSS_KEYS:
        vals = np.array([r.get(k, np.nan) for r in records], dtype=float)
        if np.isfinite(vals).any():
            ax.plot(epochs, vals, label=k, lw=2.0 if k == "loss" else 1.2)
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss (epoch mean)")
    positive = [ln.get_ydata() for ln in ax.get_lines()]
    if positive and all(np.nanmin(np.asarray(y, float)) > 0 for y in positive):
        ax.set_yscale("log")
    handles, labels = ax.get_legend_handles_labels()
    metric_keys = [k for k in ("acc", "nmi") if any(k in r for r in records)]
    if metric_keys:
        ax2 = ax.twinx()
        for k, style in zip(metric_keys, ("k-", "k--")):
            vals = np.array([r.get(k, np.nan) for r in records], dtype=float)
            ax2.plot(epochs, vals, style, label=k.upper(), lw=1.2)
        ax2.set_ylim(0, 1.02)
        ax2.set_ylabel("ACC / NMI")
        h2, l2 = ax2.get_legend_handles_labels()
        handles, labels = handles + h2, labels + l2
    if handles:
        ax.legend(handles, labels, fontsize=8, loc="best")
    ax.set_title(title or "training history")
    fig.tight_layout()
    atomic_savefig(fig, path, dpi=dpi)
    plt.close(fig)
    return path
