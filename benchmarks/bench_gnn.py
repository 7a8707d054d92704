"""Graph classification on MUTAG: community pooling against the issue's baselines, side by side.

Every model runs the same protocol (graphclust.gnn.cv.cross_validate): the same stratified
outer folds, per (fold, seed) the same inner validation split for early stopping, ``--seeds``
seeds per fold; accuracy = mean over seeds per fold, then mean ± std over folds. Each model's
evaluation is timed on its own (wall clock, ``--jobs`` worker processes), so the "10-fold x 3-seed
in <= 10 minutes on 2 cores" bar can be read per model. The paired per-fold comparison of the
community model against every other model comes last.

    .venv/bin/python benchmarks/bench_gnn.py --json /tmp/gnn_all.json --markdown /tmp/gnn.md

Options ``--community-params JSON`` (e.g. '{"k": 3, "similarity": "neg_sq_euclidean"}') and
``--models`` select what runs; ``--json PATH`` keeps every run, the timings and the load (written
after every model); ``--report A.json B.json`` composes the tables from saved records (e.g. the
baselines and the community model run separately on the same folds).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO, load, machine, md_table  # noqa: E402

DEFAULT_MODELS = ["majority", "counts", "base", "gcn-sum", "gcn-mean-sum", "gin", "gine", "community"]
LABELS = {
    "majority": "majority class",
    "counts": "structure-blind: logistic regression on atom-type counts",
    "base": "base GCN, mean pooling (the notebook's)",
    "gcn-sum": "GCN, sum pooling",
    "gcn-mean-sum": "GCN, mean+sum pooling",
    "gin": "GIN (sum, jumping knowledge)",
    "gine": "GINE (GIN with bond types in the messages)",
    "community": "community pooling (AP subgraphs + top-k attention)",
}


def _uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    except OSError:  # pragma: no cover
        return load()


def _run(args, argv) -> dict:
    """Run every model of ``args.models``; return the JSON-able record of the run."""
    from graphclust.gnn.cv import cross_validate
    from graphclust.gnn.tu import load_tu_dataset
    from graphclust.gnn.training import TrainConfig

    models = [m.strip() for m in args.models.split(",") if m.strip()]
    ds = load_tu_dataset(args.data, edge_features=args.edge_features)
    config = TrainConfig(epochs=args.epochs, lr=args.lr, batch_size=args.batch_size,
                         patience=args.patience, select_by=args.select_by,
                         lr_schedule=args.lr_schedule)
    community = {"hidden": args.hidden, **json.loads(args.community_params)}
    cmd = "    .venv/bin/python benchmarks/bench_gnn.py " + " ".join(argv)
    print(f"machine: {machine()}")
    record = {"command": cmd.rstrip(), "machine": machine(),
              "versions": {"torch": __import__("torch").__version__,
                           "torch_geometric": __import__("torch_geometric").__version__},
              "jobs": args.jobs, "folds": args.folds, "seeds": args.seeds,
              "split_seed": args.split_seed, "inner_folds": args.inner_folds,
              "train": dict(config.__dict__),
              "hidden": args.hidden, "community_params": community,
              "edge_features": bool(args.edge_features), "models": {}}
    for m in models:
        params = {m: (community if m == "community" else {"hidden": args.hidden})}
        load_start = _uptime()
        t0 = time.perf_counter()
        res = cross_validate(ds, [m], folds=args.folds, seeds=range(args.seeds),
                             split_seed=args.split_seed, inner_folds=args.inner_folds,
                             config=config, model_params=params, n_jobs=args.jobs)
        wall = time.perf_counter() - t0
        load_end = _uptime()
        s = res.summary[m]
        record["models"][m] = {"summary": s, "runs": res.runs, "wall": wall,
                               "load_start": load_start, "load_end": load_end,
                               "n_test": [int(len(f)) for f in res.folds]}
        print(f"{m:<13} {s['mean']:.4f} ± {s['std']:.4f} (runs {s['run_mean']:.4f} ± "
              f"{s['run_std']:.4f}); wall {wall:.1f} s; {load_end}", flush=True)
        if args.json is not None:  # after every model, so a long run keeps what it finished
            args.json.write_text(json.dumps(record, indent=1, default=float))
    return record


def _selection(rec: dict) -> str:
    k = rec.get("inner_folds")
    if not k:
        return "validation split 10 % of each fold's training graphs"
    return (f"neural runs are inner-CV ensembles of {k} members (one per stratified inner fold "
            "of the fold's training graphs, each selecting its epoch on its own inner fold)")


def _markdown(records: list[dict]) -> str:
    """The tables of RESULTS_gnn.md from one or more run records (models merged in order)."""
    from graphclust.gnn.cv import paired_comparison

    merged, origin = {}, {}
    for i, rec in enumerate(records):
        for m, r in rec["models"].items():
            merged[m] = r
            origin[m] = i
    models = [m for m in DEFAULT_MODELS if m in merged] + \
        [m for m in merged if m not in DEFAULT_MODELS]
    first = records[0]
    folds = first["folds"]
    for rec in records[1:]:
        if (rec["folds"], rec["split_seed"], rec["seeds"]) != (folds, first["split_seed"],
                                                                first["seeds"]):
            raise SystemExit("records use different folds / split seed / seeds; not comparable")
    fm = {m: np.array(merged[m]["summary"]["fold_means"]) for m in models}
    ref = "community" if "community" in models else models[-1]
    comps = [paired_comparison(fm[ref], fm[m], ref, m) for m in models if m != ref]
    n_test = merged[models[0]]["n_test"]

    lines = ["Command(s):", ""]
    lines += [f"{rec['command']}" for rec in records]
    lines += ["", f"Machine: {first['machine']}; torch {first['versions']['torch']}, "
              f"torch_geometric {first['versions']['torch_geometric']}; {first['jobs']} worker "
              "process(es), 1 torch thread each.", ""]
    for i, rec in enumerate(records):
        t = rec["train"]
        lines.append(f"Run {i + 1}: {rec['folds']}-fold stratified CV (split seed "
                     f"{rec['split_seed']}), {rec['seeds']} seeds per fold; {_selection(rec)}; "
                     f"at most {t['epochs']} epochs, patience {t['patience']}, Adam lr {t['lr']} ({t.get('lr_schedule', 'constant')}), weight decay {t['weight_decay']}, batch "
                     f"{t['batch_size']}, hidden {rec['hidden']}, epoch selected by validation "
                     f"{t.get('select_by', 'accuracy')}; node features: atom type"
                     f"{' + bond-type counts' if rec.get('edge_features') else ''}; community "
                     f"parameters `{json.dumps(rec['community_params'])}`.")
    lines += ["", "### Accuracy and time per model", "",
              md_table(["model", "what", "run", "accuracy (mean ± std over folds)",
                        "accuracy (over all runs)", "wall time (s)", "CPU time of the runs (s)",
                        "load (uptime) at start / end"],
                       [[m, LABELS.get(m, m), origin[m] + 1,
                         f"{merged[m]['summary']['mean']:.4f} ± {merged[m]['summary']['std']:.4f}",
                         f"{merged[m]['summary']['run_mean']:.4f} ± "
                         f"{merged[m]['summary']['run_std']:.4f}",
                         f"{merged[m]['wall']:.1f}", _cpu(merged[m]),
                         f"{_short(merged[m]['load_start'])} / {_short(merged[m]['load_end'])}"]
                        for m in models]),
              "", "### Per-fold test accuracy (mean over seeds)", "",
              md_table(["fold", "n_test", *models],
                       [[f + 1, n_test[f], *[f"{fm[m][f]:.4f}" for m in models]]
                        for f in range(folds)]),
              "", f"### Paired per-fold comparison: {ref} against each model", "",
              md_table(["versus", "mean difference", "wins / ties / losses", "paired t-test p",
                        "Wilcoxon p"],
                       [[c["versus"], f"{c['mean_difference']:+.4f}",
                         f"{c['wins']} / {c['ties']} / {c['losses']}",
                         "n/a" if c["t_test_p"] is None else f"{c['t_test_p']:.3g}",
                         "n/a" if c["wilcoxon_p"] is None else f"{c['wilcoxon_p']:.3g}"]
                        for c in comps]), ""]
    neural = [m for m in models if m not in ("majority", "counts")]
    if neural:
        lines += ["### Model selection inside the folds (validation split, never the test fold)",
                  "",
                  md_table(["model", "mean validation accuracy of the kept epoch",
                            "mean kept epoch", "mean epochs run"],
                           [[m, f"{np.mean([r['val_accuracy'] for r in merged[m]['runs']]):.4f}",
                             f"{np.mean([r['best_epoch'] for r in merged[m]['runs']]):.1f}",
                             f"{np.mean([r['epochs_run'] for r in merged[m]['runs']]):.1f}"]
                            for m in neural]), ""]
    if "community" in merged:
        conv = [r.get("community_convergence") for r in merged["community"]["runs"]]
        conv = [c for c in conv if c is not None]
        if conv:
            lines += [f"Affinity propagation converged on {100 * np.mean(conv):.1f} % of the "
                      "graphs on average (per epoch, training + validation graphs); the others "
                      "used the fallback (connected components).", ""]
    return "\n".join(lines)


def _cpu(record: dict) -> str:
    """Total CPU time of a model's runs (the worker processes' own time, load-independent)."""
    cpu = [r.get("cpu_seconds") for r in record["runs"]]
    return "n/a" if any(c is None for c in cpu) else f"{sum(cpu):.1f}"


def _short(uptime: str) -> str:
    return uptime.split("load average:")[-1].strip() if "load average" in uptime else uptime


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(REPO.parent / "shared" / "data" / "MUTAG"))
    ap.add_argument("--models", default=",".join(DEFAULT_MODELS))
    ap.add_argument("--folds", type=int, default=10)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--split-seed", type=int, default=0)
    ap.add_argument("--epochs", type=int, default=100)
    ap.add_argument("--patience", type=int, default=30)
    ap.add_argument("--lr", type=float, default=0.01)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--lr-schedule", choices=["constant", "cosine"], default="constant",
                    help="Adam step size per epoch: constant, or cosine-annealed towards 0 over "
                         "--epochs")
    ap.add_argument("--select-by", choices=["accuracy", "loss"], default="accuracy",
                    help="validation score that picks the kept epoch")
    ap.add_argument("--edge-features", action="store_true",
                    help="append each atom's bond-type counts to its features (every model)")
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--inner-folds", type=int, default=None,
                    help="neural runs become inner-CV ensembles of this many members "
                         "(cross_validate(inner_folds=...)) instead of one validation split")
    ap.add_argument("--community-params", default="{}",
                    help="JSON of CommunityGCN parameters (k, similarity, readout, ...)")
    ap.add_argument("--jobs", type=int, default=2, help="worker processes per model")
    ap.add_argument("--markdown", type=Path, default=None, help="write the tables here")
    ap.add_argument("--json", type=Path, default=None,
                    help="write the run record (every run, timings, loads) here")
    ap.add_argument("--report", type=Path, nargs="+", default=None,
                    help="only compose the markdown from these saved --json records "
                         "(later records override earlier ones model by model)")
    argv = list(sys.argv[1:] if argv is None else argv)
    args = ap.parse_args(argv)

    if args.report:
        records = [json.loads(p.read_text()) for p in args.report]
    else:
        records = [_run(args, argv)]
    text = _markdown(records)
    print("\n" + text)
    if args.markdown is not None:
        args.markdown.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
