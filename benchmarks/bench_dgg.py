"""DGG (graphclust.deep.DGG) benchmarks: half circles (DGG vs VaDE), MNIST-test, the N_s ablation.

Parts (``--parts``, comma-separated):

``halfcircles``  the paper's Fig. 1: 2 x 2,000 points on two half circles (``--distances``),
                 2-20-20-2 networks, 40 neighbours (eq. 32), DGG vs graph_weight=0 (VaDE), for
                 each likelihood variance of ``--hc-lams`` and seed of ``--hc-seeds``; ARI,
                 and a figure (one row per fit) (data, latent means and clusters of both) in
                 ``benchmarks/figures/dgg_half_circles.png``
``mnist``        MNIST-test (10,000 images), preset ``--preset``, **cold**: a fresh, empty
                 pretraining cache, so the time includes pretraining, graph and training
``ablation``     the same with N_s = 0 (no graph: VaDE) and N_s = 20, pretraining shared through
                 the cache of the ``mnist`` part (the paper's Table 2)
``mnist70k``     all 70,000 images with ``--preset`` (long on a CPU)

Usage::

    .venv/bin/python benchmarks/bench_dgg.py --parts halfcircles,mnist,ablation --threads 2 \\
        --markdown benchmarks/RESULTS_dgg.md

Needs ``pip install 'graphclust[deep]' matplotlib``. Never run as a test.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO, EpochBudget, load, machine, md_table  # noqa: E402

FIG_DIR = REPO / "benchmarks" / "figures"


def _scores(y, labels):
    from graphclust.metrics import evaluate

    m = evaluate(y, labels)
    return {"acc": m["acc"], "nmi": m["nmi"], "ari": m["ari"]}


def _fit(X, y, **params):
    from graphclust.deep.dgg import DGG

    t, c = time.perf_counter(), time.process_time()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        m = DGG(**params).fit(X, y)
    res = {"seconds": time.perf_counter() - t, "cpu_seconds": time.process_time() - c,
           "epochs": m.n_epochs_, "stop_reason": m.stop_reason_, **_scores(y, m.labels_),
           "load_after": load(),
           "warnings": [str(w.message) for w in caught], "timings": m.timings_,
           "curve": [{k: r.get(k) for k in ("epoch", "acc", "nmi", "ari", "seconds")}
                     for r in m.history_]}
    return m, res


def part_halfcircles(args) -> dict:
    from graphclust.deep.dgg import half_circles

    out = {}
    rows = []
    fits = []
    for lam in args.hc_lams:
        for dist in args.distances:
            for seed in args.hc_seeds:
                X, y = half_circles(2000, distance=dist, noise=0.08, random_state=seed)
                common = dict(n_clusters=2, latent_dim=2, hidden=(20, 20), n_neighbors=40,
                              lam=lam, lr=0.01, epochs=args.hc_epochs, batch_size=32,
                              pretrain_epochs=20, n_jobs=args.threads, cache_dir=None, tol=0,
                              random_state=seed)
                m_dgg, r_dgg = _fit(X, y, **common)
                m_vade, r_vade = _fit(X, y, **dict(common, graph_weight=0.0))
                r_dgg["lam_"], r_vade["lam_"] = m_dgg.lam_, m_vade.lam_
                out[f"lam={lam},distance={dist},seed={seed}"] = {"dgg": r_dgg, "vade": r_vade}
                rows.append([lam, f"{m_dgg.lam_:.4g}", dist, seed, round(r_dgg["ari"], 4),
                             round(r_vade["ari"], 4), round(r_dgg["seconds"], 1),
                             round(r_vade["seconds"], 1)])
                fits.append((f"lam {lam}, d {dist}, seed {seed}", X, y, m_dgg, m_vade, r_dgg, r_vade))
                print(f"half circles lam={lam} (lam_={m_dgg.lam_:.4g}) d={dist} seed={seed}: "
                      f"DGG ARI {r_dgg['ari']:.4f}, VaDE ARI {r_vade['ari']:.4f}", flush=True)
    _figure(fits)
    out["table"] = md_table(["lam", "lam_ used", "distance", "seed", "DGG ARI", "VaDE ARI",
                             "DGG s", "VaDE s"], rows)
    return out


def _figure(fits):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from graphclust.io import atomic_savefig

    FIG_DIR.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(len(fits), 5, figsize=(17, 3.4 * len(fits)), squeeze=False)
    for row, (label, X, y, m_dgg, m_vade, r_dgg, r_vade) in zip(axes, fits):
        panels = [(X, y, f"data ({label})"),
                  (m_vade.embedding_, y, "VaDE latent means (truth)"),
                  (X, m_vade.labels_, f"VaDE clusters, ARI {r_vade['ari']:.3f}"),
                  (m_dgg.embedding_, y, "DGG latent means (truth)"),
                  (X, m_dgg.labels_, f"DGG clusters, ARI {r_dgg['ari']:.3f}")]
        for ax, (P, c, title) in zip(row, panels):
            ax.scatter(P[:, 0], P[:, 1], c=c, s=2, cmap="coolwarm")
            ax.set_title(title, fontsize=9)
            ax.set_xticks([])
            ax.set_yticks([])
    fig.suptitle("Two half circles (2 x 2,000 points): VaDE (graph_weight=0) vs DGG", fontsize=11)
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    atomic_savefig(fig, FIG_DIR / "dgg_half_circles.png", dpi=90)
    plt.close(fig)


def _mnist_params(args, cache_dir, **over):
    from graphclust.deep.dgg import DGG_PRESETS

    p = dict(DGG_PRESETS[args.preset])
    p.update(n_clusters=10, n_jobs=args.threads, random_state=args.seed, cache_dir=cache_dir,
             device=args.device)
    for item in args.set:
        k, v = item.split("=", 1)
        p[k] = json.loads(v)
    p.update(over)
    p["callbacks"] = [EpochBudget(args.budget)]  # timed from here: pretraining included
    return p


def part_mnist(args, cache_dir) -> dict:
    from graphclust.datasets import load_mnist

    X, y = load_mnist("test")
    t = time.perf_counter()
    _, res = _fit(X, y, **_mnist_params(args, cache_dir))
    res["total_seconds_incl_load"] = time.perf_counter() - t
    print(f"MNIST-test cold: ACC {res['acc']:.4f} in {res['seconds']:.0f} s ({load()})", flush=True)
    return res


def part_ablation(args, cache_dir) -> dict:
    from graphclust.datasets import load_mnist

    X, y = load_mnist("test")
    out = {}
    for ns in (0, 20):
        _, res = _fit(X, y, **_mnist_params(args, cache_dir, n_neighbors=ns))
        out[f"N_s={ns}"] = res
        print(f"MNIST-test N_s={ns}: ACC {res['acc']:.4f} ({res['seconds']:.0f} s, {load()})", flush=True)
    return out


def part_mnist70k(args, cache_dir) -> dict:
    from graphclust.datasets import load_mnist

    X, y = load_mnist("all")
    _, res = _fit(X, y, **_mnist_params(args, cache_dir))
    print(f"MNIST-70k: ACC {res['acc']:.4f} in {res['seconds']:.0f} s", flush=True)
    return res


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--parts", default="halfcircles,mnist,ablation")
    p.add_argument("--distances", type=lambda s: [float(v) for v in s.split(",")], default=[0.3, 0.0])
    p.add_argument("--hc-epochs", type=int, default=100)
    p.add_argument("--hc-lams", type=lambda s: [v if v == "auto" else float(v) for v in s.split(",")],
                   default=[0.1, "auto"], help="Gaussian likelihood variances (or 'auto') to compare")
    p.add_argument("--hc-seeds", type=lambda s: [int(v) for v in s.split(",")], default=[0])
    p.add_argument("--preset", default="fast", choices=["fast", "paper"])
    p.add_argument("--set", action="append", default=[], metavar="NAME=JSON",
                   help="override a DGG parameter for the MNIST parts (e.g. epochs=20)")
    p.add_argument("--budget", type=float, default=None,
                   help="MNIST parts: stop training at the first epoch end past this many wall "
                        "seconds since the fit began (pretraining included)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--device", default="cpu")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--cache-dir", default=None,
                   help="pretraining cache for the MNIST parts (default: a fresh temporary folder)")
    p.add_argument("--json", default=None)
    p.add_argument("--markdown", default=None)
    args = p.parse_args(argv)
    parts = [s.strip() for s in args.parts.split(",") if s.strip()]
    cache_dir = args.cache_dir or tempfile.mkdtemp(prefix="dgg-bench-cache-")
    results = {"machine": machine(), "load_before": load(), "parts": {}}
    for part in parts:
        t = time.perf_counter()
        if part == "halfcircles":
            results["parts"][part] = part_halfcircles(args)
        elif part == "mnist":
            results["parts"][part] = part_mnist(args, cache_dir)
        elif part == "ablation":
            results["parts"][part] = part_ablation(args, cache_dir)
        elif part == "mnist70k":
            results["parts"][part] = part_mnist70k(args, cache_dir)
        else:
            raise SystemExit(f"unknown part {part!r}")
        results["parts"][part]["wall_seconds"] = time.perf_counter() - t
        results["parts"][part]["load_after"] = load()
    results["load_after"] = load()
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1, default=str))
    print(json.dumps({k: v for k, v in results.items() if k != "parts"}))
    if args.markdown:
        print(f"(tables for {args.markdown} are written by hand from the JSON and the log)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
