"""``graphclust louvain``: Louvain communities of a network, a multiplex or a kNN graph of points.

Registration (in ``graphclust/cli.py``)::

    from graphclust.community import cli as louvain_cli
    louvain_cli.add_parser(subparsers)      # adds the "louvain" subcommand
    ...
    return args.func(args)                  # add_parser sets func=run

Inputs: an edge list (``.csv``, ``.tsv``, ``.txt``, ``.edges``: source, target, optional weight
and layer columns), an ``.npz`` edge archive (keys ``src``, ``dst``, optional ``weight``,
``layer``, ``layer_names``, ``n_nodes``, ``directed``, ``node_ids``, ``labels`` as in
``shared/data/networks`` and ``shared/data/multiplex``), or points (the inputs of
``graphclust spectral``) with ``--n-neighbors``.

Outputs in ``--out``: ``communities.csv`` (node id, top community, and with ``--levels`` one
column per level), ``summary.json`` (Q per level and per layer, number of communities, timings,
NMI/ARI/ACC against ``--truth``) and ``louvain.png`` (the network coloured by community for
small graphs; community sizes and Q per level otherwise).
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from graphclust._validation import GraphclustError

__all__ = ["add_parser", "run"]

EDGE_SUFFIXES = (".csv", ".tsv", ".txt", ".edges", ".edgelist", ".el")
SMALL_GRAPH = 500


def _float_list(text: str) -> list[float]:
    try:
        vals = [float(x) for x in str(text).split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number or comma-separated numbers, got {text!r}") from None
    if not vals:
        raise argparse.ArgumentTypeError(f"expected at least one number, got {text!r}")
    return vals


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``louvain`` subcommand to an argparse subparsers object; returns its parser."""
    p = subparsers.add_parser(
        "louvain",
        help="Louvain communities of a network, multiplex or kNN graph of points",
        description="Louvain modularity communities (undirected, directed or multiplex graphs; "
                    "Gonum graph/community semantics).",
    )
    p.add_argument("input", help="edge list (.csv/.tsv/.txt: source,target[,weight][,layer]), "
                                 ".npz edge archive, or points with --n-neighbors")
    p.add_argument("--directed", action="store_true", help="read edges as directed (source -> target)")
    p.add_argument("--resolution", type=_float_list, default=[1.0], metavar="γ|γ1,γ2,…",
                   help="resolution: one value, or one per layer (default 1)")
    p.add_argument("--layer-weights", type=_float_list, default=None, metavar="w1,w2,…",
                   help="multiplex layer weights (negative: repulsive layer); write --layer-weights=-1,1 when the first is negative")
    p.add_argument("--all-communities", action="store_true",
                   help="with a negative layer, consider every community when moving a node")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--levels", action="store_true", help="write the communities of every level")
    p.add_argument("--truth", default=None,
                   help="ground truth: a labels file (FILE or FILE:COLUMN; node order), or for an "
                        ".npz input a key in it (default: its 'labels' when present)")
    p.add_argument("--n-neighbors", type=int, default=None,
                   help="treat INPUT as points and cluster their kNN graph with this many neighbours")
    p.add_argument("--out", default="louvain_output", help="output folder (default louvain_output)")
    p.add_argument("--no-plot", action="store_true", help="skip the plot")
    p.set_defaults(func=run)
    return p


def _load(args):
    """Return (graph, truth or None, node_ids, kind)."""
    from graphclust.graph.network import Multiplex, Network, read_edge_list

    path = Path(args.input).expanduser()
    if not path.exists():
        raise GraphclustError(f"input file {str(path)!r} does not exist.")
    truth = None
    if args.n_neighbors is not None:
        from graphclust.community._louvain import points_knn_graph
        from graphclust.io import read_points

        data = read_points(path, truth=args.truth)
        graph = Network(points_knn_graph(data.X, args.n_neighbors, random_state=args.seed))
        return graph, data.truth, graph.node_ids, "points"
    suffix = path.suffix.lower()
    if suffix == ".npz":
        with np.load(path, allow_pickle=False) as z:
            keys = set(z.files)
            if not {"src", "dst"} <= keys:
                raise GraphclustError(
                    f"{str(path)!r} has no 'src'/'dst' edge arrays (keys: {sorted(keys)}). For points "
                    "pass --n-neighbors."
                )
            directed = bool(args.directed or ("directed" in keys and bool(z["directed"])))
            n_nodes = int(z["n_nodes"]) if "n_nodes" in keys else int(max(z["src"].max(), z["dst"].max()) + 1)
            nodes = z["node_ids"] if "node_ids" in keys else np.arange(n_nodes)
            src, dst = nodes[z["src"]], nodes[z["dst"]]
            weight = z["weight"] if "weight" in keys else None
            if "layer" in keys:
                names = z["layer_names"].tolist() if "layer_names" in keys else None
                layer = np.asarray(names, dtype=object)[z["layer"]] if names else z["layer"]
                graph = Multiplex.from_edges(src, dst, layer, weight, directed=directed, nodes=nodes,
                                             layers=names)
            else:
                graph = Network.from_edges(src, dst, weight, directed=directed, nodes=nodes)
            key = args.truth if args.truth is not None else ("labels" if "labels" in keys else None)
            if key is not None and key in keys:
                truth = np.asarray(z[key])
            elif args.truth is not None:
                truth = _read_truth(args.truth, graph.n_nodes)
        return graph, truth, graph.node_ids, "multiplex" if isinstance(graph, Multiplex) else "network"
    if suffix in EDGE_SUFFIXES or suffix == "":
        graph = read_edge_list(path, directed=args.directed)
        if args.truth is not None:
            truth = _read_truth(args.truth, graph.n_nodes, graph.node_ids)
        return graph, truth, graph.node_ids, "multiplex" if isinstance(graph, Multiplex) else "network"
    raise GraphclustError(
        f"cannot read {str(path)!r}: use an edge list (.csv/.tsv/.txt), an .npz edge archive, or "
        "points with --n-neighbors."
    )


def _read_truth(spec: str, n: int, node_ids=None) -> np.ndarray:
    """Labels in node order: a one-column file, or a two-column node,label file."""
    p = Path(spec).expanduser()
    if p.is_file() and p.suffix.lower() in (".csv", ".tsv", ".txt"):
        rows = [ln for ln in p.read_text().splitlines() if ln.strip() and not ln.startswith("#")]
        delim = "," if "," in rows[0] else ("\t" if "\t" in rows[0] else None)
        cells = [[c.strip() for c in (r.split(delim) if delim else r.split())] for r in rows]
        if len(cells[0]) == 2 and node_ids is not None:
            header = cells[0][0].lower() in ("node", "id", "index", "name") or (
                not _numberish(cells[0][1]) and _numberish(cells[-1][1]))
            body = cells[1:] if header else cells
            mapping = {c[0]: c[1] for c in body}
            try:
                return np.asarray([mapping[str(x)] for x in node_ids.tolist()])
            except KeyError as exc:
                raise GraphclustError(f"truth file {spec!r} has no label for node {exc.args[0]!r}.") from None
    from graphclust.io import read_labels

    labels, _ = read_labels(spec, n_expected=n)
    return labels


def _numberish(s: str) -> bool:
    try:
        float(s)
        return True
    except ValueError:
        return False


def run(args) -> int:
    """Run ``graphclust louvain`` from parsed arguments; returns the exit status."""
    from graphclust import _progress
    from graphclust.community._louvain import louvain
    from graphclust.graph.network import Multiplex

    timings: dict = {}
    t0 = time.perf_counter()
    graph, truth, node_ids, kind = _load(args)
    timings["read"] = time.perf_counter() - t0
    try:
        from graphclust.io import check_output_dir

        out = check_output_dir(args.out)
    except ImportError:  # pragma: no cover - io not there yet
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
    resolution = args.resolution[0] if len(args.resolution) == 1 else args.resolution
    _progress.message(f"louvain on {graph!r}")
    result = louvain(graph, resolution, layer_weights=args.layer_weights,
                     all_communities=args.all_communities, random_state=args.seed)
    timings.update({f"louvain_{k}": v for k, v in result.timings.items()})
    layer_names = list(graph.layer_names) if isinstance(graph, Multiplex) else None

    summary = {
        "input": str(args.input),
        "kind": kind,
        "directed": bool(graph.directed),
        "n_nodes": int(graph.n_nodes),
        "n_edges": int(sum(layer.n_edges for layer in graph.layers)) if isinstance(graph, Multiplex) else int(graph.n_edges),
        "resolution": args.resolution,
        "layer_weights": args.layer_weights,
        "layer_names": layer_names,
        "all_communities": bool(args.all_communities),
        "seed": args.seed,
        "n_communities": result.n_communities,
        "modularity": _num(result.modularity),
        "levels": [
            {"level": i, "n_communities": lev.n_communities, "modularity": _num(lev.modularity),
             "modularity_layers": [_num(x) for x in lev.modularity_layers]}
            for i, lev in enumerate(result.levels)
        ],
    }
    if truth is not None:
        truth = np.asarray(truth)
        if truth.shape[0] != result.labels.shape[0]:
            raise GraphclustError(f"--truth has {truth.shape[0]} labels but the graph has "
                                  f"{result.labels.shape[0]} nodes.")
        from graphclust.metrics import evaluate

        summary["metrics"] = {k: _num(v) for k, v in evaluate(truth, result.labels).items()}

    extra = {}
    if args.levels:
        for i, lev in enumerate(result.levels[1:], start=1):
            extra[f"level_{i}"] = lev.labels
    if truth is not None:
        extra["truth"] = truth
    ids = node_ids if node_ids.dtype != object else np.asarray([str(x) for x in node_ids.tolist()])
    t0 = time.perf_counter()
    _write_labels(out / "communities.csv", result.labels, ids, extra)
    if not args.no_plot:
        try:
            plot_louvain(graph, result, out / "louvain.png")
            summary["plot"] = "louvain.png"
        except ImportError as exc:  # pragma: no cover - matplotlib is a core dependency
            summary["plot_error"] = str(exc)
    timings["write"] = time.perf_counter() - t0
    summary["timings"] = {k: round(float(v), 6) for k, v in timings.items()}
    _write_json(out / "summary.json", summary)
    print(f"louvain: {result.n_communities} communities, Q = {result.modularity:.6g} "
          f"({len(result.levels) - 1} level(s)); wrote {out}")
    return 0


def _num(x):
    x = float(x)
    return None if not np.isfinite(x) else x


def _write_labels(path, labels, ids, extra):
    try:
        from graphclust.io import write_labels_csv

        write_labels_csv(path, labels, index=ids, extra_columns=extra)
    except ImportError:  # pragma: no cover
        cols = [ids, labels] + list(extra.values())
        lines = [",".join(["index", "label"] + list(extra))]
        lines += [",".join(str(c[i]) for c in cols) for i in range(len(labels))]
        Path(path).write_text("\n".join(lines) + "\n")


def _write_json(path, obj):
    try:
        from graphclust.io import write_json

        write_json(path, obj)
    except ImportError:  # pragma: no cover
        Path(path).write_text(json.dumps(obj, indent=2))


def plot_louvain(graph, result, path, *, max_nodes: int = SMALL_GRAPH):
    """Network coloured by community (small graphs) or community sizes and Q per level."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    from graphclust.graph.network import Multiplex

    net = graph.layers[0] if isinstance(graph, Multiplex) else graph
    if net.n_nodes <= max_nodes:
        fig, ax = plt.subplots(figsize=(6, 6))
        xy = _layout(graph)
        A = sum(abs(layer.adjacency) for layer in graph.layers) if isinstance(graph, Multiplex) else abs(net.adjacency)
        coo = A.tocoo()
        keep = coo.row < coo.col if not net.directed else coo.row != coo.col
        segs = np.stack([xy[coo.row[keep]], xy[coo.col[keep]]], axis=1)
        from matplotlib.collections import LineCollection

        ax.add_collection(LineCollection(segs, colors="0.75", linewidths=0.6, zorder=1))
        ax.scatter(xy[:, 0], xy[:, 1], c=result.labels, cmap="tab20", s=40, zorder=2,
                   edgecolors="k", linewidths=0.3)
        ax.set_title(f"Louvain: {result.n_communities} communities, Q = {result.modularity:.4f}")
        ax.set_axis_off()
    else:
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4))
        sizes = np.bincount(result.labels)
        a1.hist(sizes, bins=min(50, max(5, sizes.size)), color="C0")
        a1.set_xlabel("community size")
        a1.set_ylabel("number of communities")
        a1.set_yscale("log")
        a1.set_title(f"{result.n_communities} communities")
        qs = [lev.modularity for lev in result.levels]
        a2.plot(range(len(qs)), qs, "o-")
        a2.set_xlabel("level")
        a2.set_ylabel("modularity Q")
        a2.set_title("Q per level")
    fig.tight_layout()
    try:
        from graphclust.io import atomic_savefig

        atomic_savefig(fig, path, dpi=110)
    except ImportError:  # pragma: no cover
        fig.savefig(path, dpi=110)
    plt.close(fig)


def _layout(graph) -> np.ndarray:
    """2-D positions: spectral start, then a few force-directed (Fruchterman-Reingold) steps."""
    from graphclust.graph.network import Multiplex

    layers = graph.layers if isinstance(graph, Multiplex) else (graph,)
    A = sum(abs(layer.adjacency) for layer in layers)
    A = ((A + A.T) > 0).astype(float).toarray()
    n = A.shape[0]
    rng = np.random.default_rng(0)
    if n <= 2:
        return rng.normal(size=(n, 2))
    deg = A.sum(1)
    L = np.diag(deg) - A
    _, vecs = np.linalg.eigh(L)
    pos = vecs[:, 1:3] + 1e-3 * rng.normal(size=(n, 2))
    pos /= np.abs(pos).max() + 1e-12
    k = 1.0 / np.sqrt(n)
    t = 0.1
    for _ in range(100):
        delta = pos[:, None, :] - pos[None, :, :]
        dist = np.sqrt((delta ** 2).sum(-1)) + 1e-9
        force = (k * k / dist ** 2 - A * dist / k)[:, :, None] * delta
        disp = force.sum(1)
        length = np.sqrt((disp ** 2).sum(1)) + 1e-9
        pos += disp / length[:, None] * np.minimum(length, t)[:, None]
        t *= 0.97
    return pos
