"""Command-line interface: ``graphclust spectral``, ``graphclust demo`` (and the other methods).

Exit codes: 0 success, 2 bad input or parameters (a one-line message, no traceback), 1 an
unexpected internal error.
"""
from __future__ import annotations

import argparse
import sys
import time
import warnings

from graphclust import __version__
from graphclust._argtypes import positive_int as _positive_int

EPILOG = "Run 'graphclust COMMAND --help' for the options of a command."



def fit_reporting_warnings(fit, *args, **kwargs) -> tuple[float, list[str]]:
    """Call ``fit(*args, **kwargs)``, echo its UserWarnings to stderr as ``graphclust: warning:``
    lines and return ``(seconds, warning messages)`` (the messages go into summary.json)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        t0 = time.perf_counter()
        fit(*args, **kwargs)
        seconds = time.perf_counter() - t0
    notes = [str(w.message) for w in caught]
    for note in notes:
        print(f"graphclust: warning: {note}", file=sys.stderr)
    return seconds, notes

def _n_clusters(text):
    if text == "auto":
        return "auto"
    return _positive_int(text)


def add_spectral_parser(sub) -> argparse.ArgumentParser:
    from graphclust.graph.kernels import SYMMETRIZE
    from graphclust.graph.neighbors import KNN_METHODS
    from graphclust.spectral.eigen import EIGEN_SOLVERS

    p = sub.add_parser(
        "spectral",
        help="self-tuning spectral clustering of points",
        description=(
            "Self-tuning spectral clustering: kNN graph with W_ij = exp(-|xi-xj|^2/(sigma_i "
            "sigma_j)), the normalized Laplacian's smallest eigenvectors (rows normalised), "
            "best-of-M k-means. Writes labels.csv, summary.json, clusters.png and spectrum.png."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("input", help="points: .npy, .npz, .csv, .tsv or .txt (header detected)")
    p.add_argument("--n-clusters", "-k", type=_n_clusters, default="auto",
                   help="number of clusters K, or 'auto' (largest relative eigengap)")
    p.add_argument("--n-neighbors", type=_positive_int, default=10, help="kNN graph edges per point")
    p.add_argument("--sigma-rank", type=_positive_int, default=7,
                   help="sigma_i = distance to this neighbour (self-tuning kernel)")
    p.add_argument("--kernel", choices=["self-tuning", "gaussian"], default="self-tuning")
    p.add_argument("--sigma", type=float, default=None,
                   help="bandwidth of the gaussian kernel (default: median kNN distance)")
    p.add_argument("--affinity", choices=["knn", "dense"], default="knn",
                   help="sparse kNN graph, or the report's dense all-pairs kernel (small n only)")
    p.add_argument("--symmetrize", choices=SYMMETRIZE, default="union")
    p.add_argument("--knn-method", choices=KNN_METHODS, default="auto")
    p.add_argument("--eigen-solver", choices=EIGEN_SOLVERS, default="auto")
    p.add_argument("--n-init", type=_positive_int, default=10, help="k-means restarts (best SSE kept)")
    p.add_argument("--max-clusters", type=_positive_int, default=20, help="upper bound for --n-clusters auto")
    p.add_argument("--seed", type=int, default=0, help="random seed (same seed, same labels)")
    p.add_argument("--threads", type=_positive_int, default=None, help="threads (default: all cores)")
    p.add_argument("--truth", default=None,
                   help="ground truth: a column of INPUT, an .npz key, a label file, or FILE:COLUMN")
    p.add_argument("--out", default="graphclust_out", help="output directory (created; checked first)")
    p.add_argument("--projection", choices=["auto", "pca", "tsne"], default="auto",
                   help="2-D projection for clusters.png when the data has more than 2 dimensions")
    p.add_argument("--no-plots", action="store_true", help="skip clusters.png and spectrum.png")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress messages")
    p.add_argument("--mpi", action="store_true",
                   help="run on MPI ranks: mpiexec -n P graphclust spectral INPUT --mpi "
                        "(needs graphclust[mpi]; exact kNN; only rank 0 writes; see docs/mpi.md)")
    p.set_defaults(func=run_spectral)
    return p


def _spectrum_eigenvalues(model, n_total):
    """Eigenvalues for the spectrum plot: those computed, or a few more when K was fixed."""
    from graphclust.spectral.eigen import smallest_eigenpairs

    have = model.eigenvalues_
    want = min(n_total, max(model.n_clusters_ + 5, 2 * model.n_clusters_, have.size))
    if want <= have.size:
        return have
    return smallest_eigenpairs(model.affinity_matrix_, want, random_state=0).values


def run_spectral(args) -> int:
    if getattr(args, "mpi", False):
        from graphclust.distributed.cli import run_spectral_mpi

        return run_spectral_mpi(args)
    from graphclust import _progress
    from graphclust.io import check_output_dir, read_points, write_json, write_labels_csv
    from graphclust.metrics import evaluate
    from graphclust.spectral import SpectralClustering
    from graphclust.spectral.embedding import eigengap

    timings = {}
    t_start = time.perf_counter()
    out = check_output_dir(args.out)  # before any computation
    with _progress.stage("read input", timings):
        data = read_points(args.input, truth=args.truth)
    model = SpectralClustering(
        args.n_clusters, n_neighbors=args.n_neighbors, sigma_rank=args.sigma_rank,
        kernel=args.kernel, sigma=args.sigma, affinity=args.affinity, symmetrize=args.symmetrize,
        knn_method=args.knn_method, eigen_solver=args.eigen_solver, n_init=args.n_init,
        max_clusters=args.max_clusters, random_state=args.seed, n_jobs=args.threads)
    fit_seconds, notes = fit_reporting_warnings(model.fit, data.X)
    timings.update(model.timings_)
    timings["fit total"] = fit_seconds
    labels = model.labels_
    with _progress.stage("write labels", timings):
        write_labels_csv(out / "labels.csv", labels)
    metrics = evaluate(data.truth, labels) if data.truth is not None else None
    eigs = model.eigenvalues_
    outputs = ["labels.csv", "summary.json"]
    if not args.no_plots:
        from graphclust.plot import plot_clusters, plot_spectrum

        with _progress.stage("spectrum (for the plot)", timings):
            eigs = _spectrum_eigenvalues(model, data.X.shape[0])
        with _progress.stage("plots", timings):
            title = f"graphclust spectral: K = {model.n_clusters_}, n = {data.X.shape[0]}"
            if metrics:
                title += f", ARI = {metrics['ari']:.3f}"
            plot_clusters(data.X, labels, out / "clusters.png", title=title, truth=data.truth,
                          projection=args.projection, random_state=args.seed,
                          feature_names=data.columns)
            gap_k = model.n_clusters_
            plot_spectrum(eigs, out / "spectrum.png", n_clusters=model.n_clusters_, gap_index=gap_k,
                          title="eigenvalues of L_sym")
        outputs += ["clusters.png", "spectrum.png"]
    timings["total"] = time.perf_counter() - t_start
    W = model.affinity_matrix_
    summary = {
        "graphclust_version": __version__,
        "command": "spectral",
        "input": str(data.source),
        "n_samples": int(data.X.shape[0]),
        "n_features": int(data.X.shape[1]),
        "parameters": {k: v for k, v in model.get_params().items()},
        "n_clusters": int(model.n_clusters_),
        "n_clusters_requested": args.n_clusters,
        "cluster_sizes": [int(c) for c in __import__("numpy").bincount(labels)],
        "graph": {
            "kind": args.affinity,
            "knn_method": model.knn_method_,
            "n_edges": int(W.nnz // 2) if hasattr(W, "nnz") else int(W.shape[0] * (W.shape[0] - 1) // 2),
            "n_connected_components": int(model.n_graph_components_),
        },
        "eigen_solver": model.eigen_solver_,
        "eigenvalues": [float(v) for v in eigs],
        "eigengap_k": int(eigengap(eigs, min_clusters=1)[0]) if len(eigs) >= 2 else None,
        "kmeans": {"best_sse": float(model.inertia_),
                   "sses": [float(v) for v in model.inertias_],
                   "n_init": args.n_init},
        "timings_seconds": {k: round(float(v), 6) for k, v in timings.items()},
        "metrics": metrics,
        "warnings": notes,
        "outputs": outputs,
    }
    write_json(out / "summary.json", summary)
    line = (f"{data.X.shape[0]} points -> {model.n_clusters_} clusters in {fit_seconds:.3f} s "
            f"(best SSE {model.inertia_:.4g})")
    if metrics:
        line += f"; ACC {metrics['acc']:.4f} NMI {metrics['nmi']:.4f} ARI {metrics['ari']:.4f}"
    print(line)
    print(f"wrote {', '.join(outputs)} to {out}")
    return 0


def add_demo_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "demo",
        help="the reference report's hybrid set: scenarios A, B, C and graphclust's defaults",
        description=(
            "Generate the 9-component hybrid set (7,500 points: 3 blobs, 2 rings, 2 moons, 2 "
            "spirals) and cluster it as the report's scenarios A (K=9, kNN 7), B (K=4), C (K=6, "
            "kNN 10), then with graphclust's defaults at K=9 and K=auto. Prints ARI and per-stage "
            "times; saves the plots."),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--n", type=_positive_int, default=7500, help="number of points")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--repeats", type=_positive_int, default=5, help="timed runs per scenario (median)")
    p.add_argument("--threads", type=_positive_int, default=None)
    p.add_argument("--out", default="demo_output")
    p.add_argument("--no-plots", action="store_true")
    p.add_argument("--quiet", "-q", action="store_true")
    p.set_defaults(func=run_demo)
    return p


DEMO_SCENARIOS = (
    # name, description, n_clusters, n_neighbors, sigma_rank
    ("A", "report scenario A: K=9, kNN 7", 9, 7, 7),
    ("B", "report scenario B: K=4, kNN 7", 4, 7, 7),
    ("C", "report scenario C: K=6, kNN 10", 6, 10, 10),
    ("default", "graphclust defaults, K=9", 9, 10, 7),
    ("auto", "graphclust defaults, K=auto", "auto", 10, 7),
)


def run_demo(args) -> int:
    import numpy as np

    from graphclust.datasets import hybrid
    from graphclust.io import check_output_dir, write_json, write_labels_csv
    from graphclust.metrics import adjusted_rand_index
    from graphclust.spectral import SpectralClustering

    out = check_output_dir(args.out)
    X, y = hybrid(args.n, random_state=args.seed)
    family = np.array([0, 0, 0, 1, 1, 2, 2, 3, 3])[y]  # blobs, rings, moons, spirals
    t0 = time.perf_counter()
    SpectralClustering(9, random_state=args.seed, n_jobs=args.threads).fit(X)
    warmup = time.perf_counter() - t0
    print(f"hybrid set: n={len(X)}, 9 components; first call (numba compile or cache load) "
          f"{warmup:.2f} s")
    header = (f"{'scenario':<9}{'K':>5}{'kNN':>5}{'rank':>5}{'comp':>6}{'ARI-9':>8}{'ARI-4':>8}"
              f"{'knn':>8}{'affin':>8}{'eigen':>8}{'kmeans':>8}{'total':>8}")
    print(header)
    print("-" * len(header))
    rows = []
    for name, desc, K, nn, rank in DEMO_SCENARIOS:
        times = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            for _ in range(args.repeats):
                m = SpectralClustering(K, n_neighbors=nn, sigma_rank=rank, random_state=args.seed,
                                       n_jobs=args.threads)
                t = time.perf_counter()
                m.fit(X)
                times.append((time.perf_counter() - t, dict(m.timings_)))
        times.sort(key=lambda x: x[0])
        total, stages = times[len(times) // 2]
        ari9 = adjusted_rand_index(y, m.labels_)
        ari4 = adjusted_rand_index(family, m.labels_)
        st = {k: stages.get(k, 0.0) for k in ("knn", "affinity", "eigen", "kmeans")}
        st["kmeans"] += stages.get("merge-components", 0.0)
        print(f"{name:<9}{m.n_clusters_:>5}{nn:>5}{rank:>5}{m.n_graph_components_:>6}{ari9:>8.4f}"
              f"{ari4:>8.4f}{st['knn']:>8.4f}{st['affinity']:>8.4f}{st['eigen']:>8.4f}"
              f"{st['kmeans']:>8.4f}{total:>8.4f}")
        sdir = out / f"scenario_{name}"
        sdir.mkdir(exist_ok=True)
        write_labels_csv(sdir / "labels.csv", m.labels_)
        if not args.no_plots:
            from graphclust.plot import plot_clusters, plot_spectrum

            plot_clusters(X, m.labels_, sdir / "clusters.png",
                          title=f"{desc}: ARI {ari9:.3f} (9 components)")
            lam = _spectrum_eigenvalues(m, len(X))
            plot_spectrum(lam, sdir / "spectrum.png", n_clusters=m.n_clusters_,
                          gap_index=m.n_clusters_, title=f"scenario {name}: eigenvalues of L_sym")
        rows.append({"scenario": name, "description": desc, "n_clusters": int(m.n_clusters_),
                     "n_neighbors": nn, "sigma_rank": rank,
                     "graph_components": int(m.n_graph_components_),
                     "ari_9_components": float(ari9), "ari_4_shape_families": float(ari4),
                     "best_sse": float(m.inertia_), "median_seconds": float(total),
                     "stage_seconds": {k: float(v) for k, v in stages.items()}})
    write_json(out / "demo_summary.json", {"n": len(X), "seed": args.seed, "repeats": args.repeats,
                                           "first_call_seconds": warmup, "scenarios": rows})
    print("ARI-9: against the 9 components; ARI-4: against the 4 shape families "
          "(blobs, rings, moons, spirals). Times in seconds, median of "
          f"{args.repeats} runs after the first call.")
    print(f"wrote per-scenario labels{'' if args.no_plots else ' and plots'} to {out}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="graphclust",
        description="Clustering anything through a graph.",
        epilog=EPILOG,
    )
    parser.add_argument("--version", action="version", version=f"graphclust {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    add_spectral_parser(sub)
    from graphclust.community import cli as louvain_cli

    louvain_cli.add_parser(sub)
    from graphclust.deep import cli as deep_cli
    from graphclust.deep import dgg_cli
    from graphclust.gnn import cli as gnn_cli

    deep_cli.add_parser(sub)
    dgg_cli.add_parser(sub)
    gnn_cli.add_parser(sub)
    add_demo_parser(sub)
    return parser


def main(argv=None) -> int:
    from graphclust import _progress
    from graphclust._validation import GraphclustError

    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    _progress.set_progress(sys.stderr.isatty() and not getattr(args, "quiet", False))
    try:
        return int(args.func(args) or 0)
    except (GraphclustError, FileNotFoundError, PermissionError, IsADirectoryError) as exc:
        print(f"graphclust {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("graphclust: interrupted", file=sys.stderr)
        return 130
    except MemoryError:
        print(f"graphclust {args.command}: error: out of memory. Use the sparse kNN graph "
              "(--affinity knn) or fewer neighbours.", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
