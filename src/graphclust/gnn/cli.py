"""``graphclust gnn``: cross-validated graph classification on a TU dataset folder.

Registration (in ``graphclust/cli.py``)::

    from graphclust.gnn import cli as gnn_cli
    gnn_cli.add_parser(subparsers)          # adds the "gnn" subcommand; sets func=run

This module imports neither torch nor torch_geometric at import time (building the parser stays
light); ``run`` imports them and a missing one raises ImportError naming the ``gnn`` extra.

Outputs in ``--out``: ``folds.csv`` (test accuracy per outer fold, one column per model, mean
over seeds), ``runs.csv`` (every model x fold x seed run), ``summary.json`` (settings, mean ± std
per model, paired comparisons, timings) and ``gnn.png`` (accuracy per fold per model, and one
test molecule coloured by its communities).
"""
from __future__ import annotations

import argparse
import csv
import sys
import time

from graphclust._argtypes import positive_int as _positive_int

__all__ = ["add_parser", "run"]

MODEL_HELP = ("comma-separated models: majority, counts (structure-blind logistic regression on "
              "summed node features), base (GCN, mean readout), gcn-sum, gcn-mean-sum, gin, "
              "gine (GIN with edge features), community; or 'all'")


def _models(text: str) -> list[str]:
    from graphclust.gnn.cv import MODEL_CHOICES

    names = [t.strip() for t in str(text).split(",") if t.strip()]
    if names == ["all"]:
        return list(MODEL_CHOICES)
    bad = [n for n in names if n not in MODEL_CHOICES]
    if bad or not names:
        shown = ", ".join(bad) if bad else repr(text)
        raise argparse.ArgumentTypeError(f"unknown model(s) {shown}; choose "
                                         f"from {', '.join(MODEL_CHOICES)} or 'all'")
    if len(set(names)) != len(names):
        raise argparse.ArgumentTypeError(f"a model is listed twice in {text!r}")
    return names


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``gnn`` subcommand to an argparse subparsers object; returns its parser."""
    p = subparsers.add_parser(
        "gnn",
        help="graph classification (GCN, GIN, community pooling) with cross-validation",
        description=(
            "Stratified k-fold cross-validation of graph classifiers on a TU-format dataset "
            "folder (e.g. MUTAG): a validation split inside each fold for early stopping, "
            "several seeds, mean ± std over folds and paired per-fold comparisons. Writes "
            "folds.csv, runs.csv, summary.json and gnn.png."),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("data_dir", help="TU dataset folder (DS_A.txt, DS_graph_indicator.txt, "
                                    "DS_graph_labels.txt, optional label/attribute files)")
    p.add_argument("--name", default=None, help="dataset name DS (default: from DS_A.txt)")
    p.add_argument("--model", type=_models, default=["majority", "counts", "base", "community"],
                   help=MODEL_HELP)
    p.add_argument("--folds", type=_positive_int, default=10, help="outer CV folds")
    p.add_argument("--seeds", type=_positive_int, default=3,
                   help="runs per fold (seeds 0..SEEDS-1: initialisation, batch order, "
                        "validation split)")
    p.add_argument("--seed", type=int, default=0, help="seed of the outer fold assignment")
    # training defaults: TrainConfig's, repeated because parsing must not import torch (a test
    # checks that the CLI, GraphClassifier and TrainConfig agree)
    p.add_argument("--epochs", type=_positive_int, default=150, help="maximum epochs per run")
    p.add_argument("--patience", type=_positive_int, default=150,
                   help="stop after this many epochs without a better validation score (the "
                        "default, = --epochs, trains every epoch and keeps the best one)")
    p.add_argument("--lr", type=float, default=0.003, help="Adam learning rate")
    p.add_argument("--lr-schedule", choices=["constant", "cosine"], default="cosine",
                   help="step size per epoch: cosine-annealed from --lr towards 0 over "
                        "--epochs, or constant (the defaults are benchmarks/RESULTS_gnn.md "
                        "Addendum 5's: +0.014 to +0.071 for every neural model on MUTAG against "
                        "lr 0.01 constant, 100 epochs, patience 30)")
    p.add_argument("--select-by", choices=["accuracy", "loss"], default="accuracy",
                   help="validation score that picks the kept epoch (accuracy: ties broken "
                        "by the lower loss)")
    p.add_argument("--edge-features", action="store_true",
                   help="append each node's summed edge labels/attributes to its features "
                        "(MUTAG: bond types), so GCN layers see them")
    p.add_argument("--batch-size", type=_positive_int, default=32)
    p.add_argument("--val-fraction", type=float, default=0.1,
                   help="share of each fold's training graphs held out for validation")
    p.add_argument("--inner-folds", type=_positive_int, default=None, metavar="K",
                   help="make every neural run an ensemble of K members, one per stratified "
                        "inner fold of the outer fold's training graphs (each selects its epoch "
                        "on its own inner fold; the test graphs get the members' mean "
                        "probabilities); replaces --val-fraction; K >= 2")
    p.add_argument("--hidden", type=_positive_int, default=64, help="hidden width of every model")
    p.add_argument("--k", type=_positive_int, default=2, help="communities attended (community)")
    p.add_argument("--similarity", choices=["cosine", "neg_sq_euclidean"], default="cosine",
                   help="node similarity for affinity propagation (community)")
    p.add_argument("--readout", choices=["mean", "sum", "mean+sum"], default="mean+sum",
                   help="graph readout of the community model")
    p.add_argument("--conv", choices=["gcn", "gin", "gine"], default="gcn",
                   help="message-passing layers of the community model: gcn (the notebook's), "
                        "gin (sum aggregation, two-layer MLPs) or gine (GIN whose messages carry "
                        "bond types / edge labels; needs edge labels or attributes)")
    p.add_argument("--fallback", choices=["components", "single"], default="components",
                   help="communities of a graph where affinity propagation does not converge")
    p.add_argument("--threads", type=_positive_int, default=1,
                   help="torch intra-op threads per process")
    p.add_argument("--jobs", type=_positive_int, default=1,
                   help="worker processes, one (fold, seed) each; results do not depend on it")
    p.add_argument("--out", default="gnn_output", help="output folder (created; checked first)")
    p.add_argument("--no-plot", action="store_true", help="skip gnn.png")
    p.add_argument("--quiet", "-q", action="store_true", help="no per-run progress lines")
    p.set_defaults(func=run)
    return p


def _write_csv(path, rows: list[dict], columns: list[str]) -> None:
    from graphclust.io import atomic_open

    with atomic_open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(columns)
        for r in rows:
            w.writerow(["" if r.get(c) is None else (f"{r[c]:.6f}" if isinstance(r.get(c), float)
                                                     else r[c]) for c in columns])


def run(args) -> int:
    from graphclust import __version__
    from graphclust._validation import GraphclustError, check_float
    from graphclust.io import check_output_dir, write_json

    out = check_output_dir(args.out)  # before any computation
    check_float(args.lr, "--lr", low=0.0, low_open=True)
    check_float(args.val_fraction, "--val-fraction", low=0.0, low_open=True, high=0.5)
    if args.seed < 0:
        raise GraphclustError(f"--seed must be >= 0, got {args.seed}.")
    if args.inner_folds is not None and args.inner_folds < 2:
        raise GraphclustError(f"--inner-folds must be >= 2 (or left out), got {args.inner_folds}.")

    from graphclust.gnn.cv import cross_validate, fold_table
    from graphclust.gnn.tu import load_tu_dataset

    t_start = time.perf_counter()
    ds = load_tu_dataset(args.data_dir, args.name, edge_features=args.edge_features)
    print(f"{ds.name}: {len(ds)} graphs, {ds.n_nodes} nodes, {ds.n_edges} directed edges, "
          f"{ds.num_node_features} node features, {ds.num_classes} classes "
          f"{list(ds.class_values)}")
    config = None
    neural = [m for m in args.model if m not in ("majority", "counts")]
    if neural:
        from graphclust.gnn.training import TrainConfig

        config = TrainConfig(epochs=args.epochs, lr=args.lr, batch_size=args.batch_size,
                             patience=args.patience, select_by=args.select_by,
                             lr_schedule=args.lr_schedule)
    params = {m: {"hidden": args.hidden} for m in neural}
    if "community" in params:
        params["community"].update(k=args.k, similarity=args.similarity, readout=args.readout,
                                   fallback=args.fallback, conv=args.conv)
    progress = None if args.quiet else (lambda line: print(line, file=sys.stderr, flush=True))
    result = cross_validate(ds, args.model, folds=args.folds, seeds=range(args.seeds),
                            split_seed=args.seed, val_fraction=args.val_fraction,
                            inner_folds=args.inner_folds, config=config,
                            model_params=params, n_threads=args.threads, n_jobs=args.jobs,
                            progress=progress)

    table = fold_table(result)
    _write_csv(out / "folds.csv", table, ["fold", "n_test", *result.models])
    run_cols = ["model", "fold", "seed", "test_accuracy", "val_accuracy", "val_loss",
                "best_epoch", "epochs_run", "n_train", "n_val", "n_test", "seconds",
                "cpu_seconds"]
    if any("community_convergence" in r for r in result.runs):
        run_cols.append("community_convergence")
    if any("members" in r for r in result.runs):
        run_cols.append("members")
    if any("C" in r for r in result.runs):
        run_cols.append("C")
    runs = [dict(r, fold=r["fold"] + 1) for r in result.runs]
    _write_csv(out / "runs.csv", runs, run_cols)
    outputs = ["folds.csv", "runs.csv", "summary.json"]
    if not args.no_plot:
        from graphclust.gnn.plot import MUTAG_ATOMS, plot_cv

        names = MUTAG_ATOMS if ds.name.upper() == "MUTAG" else None
        plot_cv(result, out / "gnn.png", node_names=names,
                title=f"{ds.name}: {args.folds}-fold CV, {args.seeds} seed(s)")
        outputs.append("gnn.png")
    total = time.perf_counter() - t_start
    summary = {
        "graphclust_version": __version__,
        "command": "gnn",
        "data_dir": str(args.data_dir),
        "dataset": {"name": ds.name, "graphs": len(ds), "nodes": ds.n_nodes,
                    "directed_edges": ds.n_edges, "node_features": ds.num_node_features,
                    "class_values": list(ds.class_values),
                    "edge_features": bool(args.edge_features)},
        "settings": result.settings,
        "protocol": ("stratified outer folds (split seed); per fold and seed "
                     + ("a stratified validation split of the training graphs for early "
                        "stopping and epoch selection" if args.inner_folds is None else
                        f"an ensemble of {args.inner_folds} members, one per stratified inner "
                        "fold of the training graphs (each member selects its epoch on its "
                        "inner fold; test prediction = mean of the members' probabilities)")
                     + "; test fold scored once; fold accuracy = mean over seeds; "
                     "mean ± std (ddof=0) over folds"),
        "models": {m: {k: v for k, v in s.items()} for m, s in result.summary.items()},
        "paired_comparisons": result.comparisons,
        "folds": table,
        "example_molecule": result.example,
        "seconds_total": total,
        "outputs": outputs,
    }
    write_json(out / "summary.json", summary)
    width = max(len(m) for m in result.models)
    for m in result.models:
        s = result.summary[m]
        print(f"{m:<{width}}  accuracy {s['mean']:.4f} ± {s['std']:.4f} over {args.folds} folds "
              f"({s['n_runs']} runs, {s['seconds']:.1f} s)")
    for c in result.comparisons:
        p = "n/a" if c["wilcoxon_p"] is None else f"{c['wilcoxon_p']:.3g}"
        print(f"{c['model']} vs {c['versus']}: {c['mean_difference']:+.4f} per fold "
              f"(wins/ties/losses {c['wins']}/{c['ties']}/{c['losses']}, Wilcoxon p {p})")
    print(f"wrote {', '.join(outputs)} to {out}")
    return 0
