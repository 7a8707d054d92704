"""Figures of ``graphclust gnn``: accuracy per fold per model, and one molecule's communities."""
from __future__ import annotations

import os

import numpy as np

__all__ = ["MUTAG_ATOMS", "plot_cv", "molecule_layout"]

MUTAG_ATOMS = ("C", "N", "O", "F", "I", "Cl", "Br")


def molecule_layout(edge_index, n: int, seed: int = 0) -> np.ndarray:
    """2-D node positions: Kamada-Kawai (networkx, when installed) or a spectral layout."""
    ei = np.asarray(edge_index, dtype=np.int64).reshape(2, -1)
    try:
        import networkx as nx

        g = nx.Graph()
        g.add_nodes_from(range(n))
        g.add_edges_from(zip(ei[0].tolist(), ei[1].tolist()))
        pos = nx.kamada_kawai_layout(g) if n > 1 else {0: (0.0, 0.0)}
        return np.array([pos[i] for i in range(n)], dtype=float)
    except ImportError:
        A = np.zeros((n, n))
        A[ei[0], ei[1]] = 1.0
        A = np.maximum(A, A.T)
        L = np.diag(A.sum(1)) - A
        _, vecs = np.linalg.eigh(L)
        return vecs[:, 1:3] if n > 2 else np.zeros((n, 2))


def plot_cv(result, path: str | os.PathLike, *, node_names=None, title: str | None = None):
    """Save the two-panel figure: per-fold accuracy of every model, and the example molecule.

    Parameters
    ----------
    result : CVResult
    path : str or path-like (``.png``)
    node_names : sequence of str, optional
        Names of the node-label columns (e.g. :data:`MUTAG_ATOMS`).
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    from graphclust.io import atomic_savefig

    has_example = result.example is not None
    fig, axes = plt.subplots(1, 2 if has_example else 1, figsize=(13 if has_example else 7.5, 5),
                             squeeze=False)
    ax = axes[0, 0]
    n_folds = len(result.folds)
    folds = np.arange(1, n_folds + 1)
    for j, name in enumerate(result.models):
        s = result.summary[name]
        offset = (j - (len(result.models) - 1) / 2) * 0.06
        ax.plot(folds + offset, s["fold_means"], marker="o", lw=1.2,
                label=f"{name}: {s['mean']:.3f} ± {s['std']:.3f}", color=f"C{j}")
        for r in result.runs:
            if r["model"] == name:
                ax.scatter(r["fold"] + 1 + offset, r["test_accuracy"], s=8, alpha=0.35,
                           color=f"C{j}")
    ax.set_xticks(folds)
    ax.set_xlabel("outer fold")
    ax.set_ylabel("test accuracy (line: mean over seeds; dots: runs)")
    ax.set_ylim(0.0, 1.05)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower left", title="mean ± std over folds", title_fontsize=8)
    ax.set_title(title or f"{n_folds}-fold CV, {len(result.seeds)} seed(s) per fold")

    if has_example:
        ex = result.example
        ax = axes[0, 1]
        ei = np.asarray(ex["edge_index"], dtype=np.int64).reshape(2, -1)
        comm = np.asarray(ex["communities"])
        n = comm.shape[0]
        pos = molecule_layout(ei, n)
        for s, t in zip(ei[0], ei[1]):
            if s < t:
                inside = comm[s] == comm[t]
                ax.plot(pos[[s, t], 0], pos[[s, t], 1], color="0.2" if inside else "0.75",
                        lw=2.2 if inside else 1.0, ls="-" if inside else "--", zorder=1)
        cmap = plt.get_cmap("tab10")
        ax.scatter(pos[:, 0], pos[:, 1], s=380, c=[cmap(c % 10) for c in comm], edgecolors="k",
                   zorder=2)
        names = node_names or ()
        for i in range(n):
            lab = ex["node_labels"][i]
            text = names[lab] if lab < len(names) else str(lab)
            ax.text(pos[i, 0], pos[i, 1], text, ha="center", va="center", fontsize=8, zorder=3)
        att = ex.get("attention") or []
        desc = ", ".join(f"{c}: {a:.2f}" for c, a in enumerate(att))
        ax.set_title(f"test graph {ex['graph_id']}: {int(comm.max()) + 1} communities"
                     f"{'' if ex['converged'] else ' (fallback)'}; true {ex['true']}, "
                     f"predicted {ex['predicted']}\nattention per community: {desc}", fontsize=9)
        ax.set_axis_off()
        ax.set_aspect("equal")
    fig.tight_layout()
    try:
        atomic_savefig(fig, path, dpi=110)
    finally:
        plt.close(fig)
    return path
