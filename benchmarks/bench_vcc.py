"""VCC against the simple strong baselines, side by side, with one metric code (graphclust.metrics).

Methods (``--methods``, comma-separated):

``kmeans``        best-of-10 k-means (graphclust.kmeans_best_of) on the input pixels
``umap-gmm``      UMAP (n_neighbors 10, min_dist 0, K dimensions) -> full-covariance GMM, best
                  of 10 starts by likelihood (graphclust.deep.pseudo_labels.umap_gmm_labels)
``ae-kmeans``     MLP autoencoder D-500-500-2000-K (Adam, ``--ae-epochs``) -> k-means
``n2d``           the N2D recipe: the same autoencoder -> UMAP (20 neighbours, min_dist 0,
                  K dimensions) -> GMM (best of 10, as above)
``vcc``           graphclust.deep.VCC with ``--preset``; stops at ``--vcc-budget`` seconds of
                  training or ``--vcc-epochs``; its per-epoch ACC/NMI give the accuracy-versus-time
                  curve
``vcc-ablation``  the same without L_c and L_e (the paper's Table 4, last row)
``dgg``           graphclust.deep.DGG with its ``fast`` preset, cold (no pretraining cache), so
                  the DGG issue's figures sit in the same run as these baselines

Usage::

    .venv/bin/python benchmarks/bench_vcc.py --dataset mnist-test --threads 2 \\
        --markdown benchmarks/RESULTS_vcc.md

Needs ``pip install 'graphclust[deep]'`` (torch, umap-learn). Never run as a test.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import EpochBudget, load, machine, md_table  # noqa: E402

METHODS = ("kmeans", "umap-gmm", "ae-kmeans", "n2d", "vcc", "vcc-ablation", "dgg")
DATASETS = {"mnist-test": "test", "mnist": "all"}


def _scores(y, labels):
    from graphclust.metrics import evaluate

    m = evaluate(y, labels)
    return {"acc": m["acc"], "nmi": m["nmi"], "ari": m["ari"]}


def run_kmeans(X, y, K, args):
    from graphclust.spectral.kmeans import kmeans_best_of

    t = time.perf_counter()
    km = kmeans_best_of(X.astype(np.float64), K, n_init=10, random_state=args.seed, n_jobs=args.threads)
    return {"seconds": time.perf_counter() - t, **_scores(y, km.labels), "notes": "best of 10, raw pixels"}


def _umap_gmm(Z, K, n_neighbors, seed):
    """UMAP (min_dist 0, K dims) + full-covariance GMM, best of 10 starts by likelihood."""
    from graphclust.deep.pseudo_labels import umap_gmm_labels

    return umap_gmm_labels(Z, K, n_neighbors=n_neighbors, n_init=10, random_state=seed)


def run_umap_gmm(X, y, K, args):
    t = time.perf_counter()
    labels = _umap_gmm(X, K, 10, args.seed)
    return {"seconds": time.perf_counter() - t, **_scores(y, labels),
            "notes": "UMAP 10 nbrs, min_dist 0, K dims; GMM full, best of 10 by likelihood"}


_AE_CACHE: dict = {}


def _autoencoder(X, K, args):
    key = (X.shape, K)
    if key not in _AE_CACHE:
        from graphclust.deep.autoencoder import train_autoencoder

        t = time.perf_counter()
        codes, _, hist = train_autoencoder(X, code_dim=K, epochs=args.ae_epochs, batch_size=256,
                                           device=args.device, n_jobs=args.threads,
                                           random_state=args.seed)
        _AE_CACHE[key] = (codes, time.perf_counter() - t, float(hist[-1]["reconstruction"]))
    return _AE_CACHE[key]


def run_ae_kmeans(X, y, K, args):
    from graphclust.spectral.kmeans import kmeans_best_of

    codes, ae_s, mse = _autoencoder(X, K, args)
    t = time.perf_counter()
    km = kmeans_best_of(codes.astype(np.float64), K, n_init=10, random_state=args.seed, n_jobs=args.threads)
    return {"seconds": ae_s + time.perf_counter() - t, **_scores(y, km.labels),
            "notes": f"AE {args.ae_epochs} epochs ({ae_s:.0f} s, MSE {mse:.4f}) + k-means"}


def run_n2d(X, y, K, args):
    codes, ae_s, mse = _autoencoder(X, K, args)
    t = time.perf_counter()
    labels = _umap_gmm(codes, K, 20, args.seed)
    return {"seconds": ae_s + time.perf_counter() - t, **_scores(y, labels),
            "notes": f"AE {args.ae_epochs} epochs ({ae_s:.0f} s) + UMAP 20 nbrs + GMM best of 10"}


def _notes(items, extra) -> str:
    parts = list(items or ()) + [f"{k}={v}" for k, v in extra.items()]
    return (" + " + ", ".join(parts)) if parts else ""


def _run_vcc(X, y, K, args, **extra):
    from graphclust.deep import VCC

    budget = EpochBudget(args.vcc_budget)
    params = dict(random_state=args.seed, n_jobs=args.threads, device=args.device,
                  callbacks=[budget])
    if args.vcc_epochs:
        params["epochs"] = args.vcc_epochs
    params.update(_overrides(args.vcc_set))
    params.update(extra)
    model = VCC.preset(args.preset, **params)
    budget.start()
    model.fit(X, y)
    total = time.perf_counter() - budget.t0
    graph_s = model.timings_.get("vcc: latent graph", 0.0)
    curve, elapsed = [], graph_s
    for r in model.history_:
        elapsed += r["seconds"]
        if "acc" in r:
            curve.append({"epoch": r["epoch"], "seconds": round(elapsed, 1), "acc": r["acc"],
                          "nmi": r["nmi"], "loss": r["loss"], "cpu_s": budget.cpu_at.get(r["epoch"])})
    res = {"seconds": total, **_scores(y, model.labels_),
           "notes": f"preset {args.preset}{_notes(args.vcc_set, extra)}, {model.n_epochs_} epochs, stop: {model.stop_reason_}; "
                    f"graph {graph_s:.1f} s",
           "curve": curve, "device": str(model.device_)}
    return res


def _overrides(items) -> dict:
    """``--vcc-set name=value`` pairs (values parsed as Python literals where possible)."""
    import ast

    out = {}
    for item in items or ():
        name, _, value = item.partition("=")
        try:
            out[name.strip()] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            out[name.strip()] = value
    return out


def run_vcc(X, y, K, args):
    return _run_vcc(X, y, K, args)


def run_vcc_ablation(X, y, K, args):
    return _run_vcc(X, y, K, args, contraction=False, expansion=False)


def run_dgg(X, y, K, args):
    from graphclust.deep import DGG

    t = time.perf_counter()
    m = DGG.preset("fast", n_clusters=K, n_jobs=args.threads, device=args.device,
                   random_state=args.seed, cache_dir=None).fit(X, y)
    pre = sum(v for k, v in m.timings_.items() if k in ("dgg: pretraining", "dgg: affinity graph"))
    curve, elapsed = [], pre
    for r in m.history_:
        elapsed += r["seconds"]
        curve.append({"epoch": r["epoch"], "seconds": round(elapsed, 1), "acc": r["acc"],
                      "nmi": r["nmi"]})
    return {"seconds": time.perf_counter() - t, **_scores(y, m.labels_), "curve": curve,
            "notes": f"DGG fast preset, cold, {m.n_epochs_} epochs; start ACC "
                     f"{_scores(y, m.start_labels_)['acc']:.4f}"}


RUNNERS = {"kmeans": run_kmeans, "umap-gmm": run_umap_gmm, "ae-kmeans": run_ae_kmeans,
           "n2d": run_n2d, "vcc": run_vcc, "vcc-ablation": run_vcc_ablation, "dgg": run_dgg}


def curve_table(res: dict, every: int) -> str:
    rows = [[c["epoch"], c["seconds"], round(c["cpu_s"]) if c.get("cpu_s") is not None else "-",
             round(c["acc"], 4), round(c["nmi"], 4)]
            for i, c in enumerate(res.get("curve", [])) if i % every == 0 or i == len(res["curve"]) - 1]
    return md_table(["epoch", "seconds (incl. graph)", "CPU s", "ACC", "NMI"], rows)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", action="append", choices=sorted(DATASETS), default=None)
    p.add_argument("--methods", default=",".join(METHODS))
    p.add_argument("--preset", default="paper", choices=["paper", "fast"])
    p.add_argument("--vcc-budget", type=float, default=1200.0, help="seconds of VCC training at most")
    p.add_argument("--vcc-epochs", type=int, default=None, help="override the preset's epochs")
    p.add_argument("--vcc-set", action="append", default=[], metavar="NAME=VALUE",
                   help="override one VCC parameter (repeatable), e.g. --vcc-set temperature=auto")
    p.add_argument("--ae-epochs", type=int, default=100)
    p.add_argument("--n-samples", type=int, default=None, help="first N rows only (quick checks)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--device", default="cpu")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--curve-every", type=int, default=5, help="rows of the curve table: every Nth epoch")
    p.add_argument("--markdown", default=None, help="write the result tables to this file")
    p.add_argument("--json", default=None, help="write all results (with curves) as JSON")
    args = p.parse_args(argv)
    datasets = args.dataset or ["mnist-test"]
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    bad = [m for m in methods if m not in RUNNERS]
    if bad:
        p.error(f"unknown method(s) {bad}; choose from {', '.join(METHODS)}")

    import torch

    from graphclust.datasets.loaders import load_mnist

    torch.set_num_threads(args.threads)
    start_load, started = load(), time.strftime("%Y-%m-%d %H:%M:%S")
    command = "python benchmarks/bench_vcc.py " + " ".join(sys.argv[1:] if argv is None else argv)
    results = []
    for ds in datasets:
        X, y = load_mnist(DATASETS[ds], n_samples=args.n_samples)
        K = int(np.unique(y).size)
        for m in methods:
            print(f"[{time.strftime('%H:%M:%S')}] {ds} n={len(X)}: {m} ...", flush=True)
            cpu = time.process_time()
            try:
                res = RUNNERS[m](X, y, K, args)
                res["cpu_s"] = time.process_time() - cpu  # all threads of this process
            except Exception as exc:  # keep the other methods' results
                res = {"error": f"{type(exc).__name__}: {exc}"}
            res.update(dataset=ds, n=int(len(X)), method=m)
            results.append(res)
            print(f"    {json.dumps({k: v for k, v in res.items() if k != 'curve'}, default=str)}", flush=True)
            if args.json:
                Path(args.json).write_text(json.dumps({"command": command, "results": results}, indent=1))
    end_load = load()
    rows = []
    for r in results:
        if "error" in r:
            rows.append([r["dataset"], r["n"], r["method"], "-", "-", "-", "-", "-", r["error"]])
        else:
            rows.append([r["dataset"], r["n"], r["method"], round(r["acc"], 4), round(r["nmi"], 4),
                         round(r["ari"], 4), round(r["seconds"], 1), round(r.get("cpu_s", float("nan"))),
                         r.get("notes", "")])
    text = [f"Command: `{command}`", "",
            f"Machine: {machine()}; torch {torch.__version__}, {args.threads} threads, device {args.device}.",
            f"Started {started}; {start_load} at the start, {end_load} at the end.", "",
            md_table(["dataset", "n", "method", "ACC", "NMI", "ARI", "seconds", "CPU s", "notes"], rows)]
    for r in results:
        if r.get("curve"):
            text += ["", f"Accuracy versus time: {r['method']} on {r['dataset']} (n={r['n']})", "",
                     curve_table(r, args.curve_every)]
    out = "\n".join(text) + "\n"
    print(out)
    if args.markdown:
        Path(args.markdown).write_text(out)
    if args.json:
        Path(args.json).write_text(json.dumps({"command": command, "start_load": start_load,
                                               "end_load": end_load, "results": results}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
