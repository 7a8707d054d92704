"""``graphclust spectral INPUT --mpi``: the spectral command on MPI ranks (only rank 0 writes).

Run as ``mpiexec -n P graphclust spectral INPUT --mpi [options]``. The options are the serial
command's; ``--knn-method`` must be exact (auto/exact/kdtree/brute), and ``--eigen-solver auto``
selects the distributed solver while a named serial solver (dense, arpack, lobpcg,
shift-invert) gathers the graph on rank 0 and solves it there (for graphs that fit).
"""
from __future__ import annotations

import sys
import time
import warnings


def run_spectral_mpi(args) -> int:
    from graphclust._validation import GraphclustError
    from graphclust.distributed._comm import get_comm

    comm = get_comm()
    rank = comm.Get_rank()
    try:
        return _run(args, comm)
    except GraphclustError as exc:  # raised collectively: report once
        if rank == 0:
            print(f"graphclust {args.command}: error: {exc}", file=sys.stderr, flush=True)
        return 2


def _run(args, comm) -> int:
    import numpy as np

    from graphclust import __version__, _progress
    from graphclust._validation import GraphclustError
    from graphclust.distributed._comm import Net
    from graphclust.distributed.pipeline import spectral_clustering_mpi
    from graphclust.io import check_output_dir, write_json, write_labels_csv
    from graphclust.metrics import evaluate
    from graphclust.spectral.embedding import eigengap

    net = Net(comm)
    rank = net.rank
    if rank != 0:
        _progress.set_progress(False)
    if args.affinity != "knn":
        raise GraphclustError("--affinity dense is not available with --mpi (the dense n x n kernel "
                              "is what the distributed kNN graph replaces); use --affinity knn.")
    t_start = time.perf_counter()
    err, out = None, None
    if rank == 0:
        try:
            out = check_output_dir(args.out)  # before any computation
        except (GraphclustError, OSError) as exc:
            err = str(exc)
    net.agree(net.bcast_obj(err))
    eigen_solver = "auto" if args.eigen_solver == "auto" else f"gather:{args.eigen_solver}"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        t0 = time.perf_counter()
        res = spectral_clustering_mpi(
            args.input, args.n_clusters, n_neighbors=args.n_neighbors, sigma_rank=args.sigma_rank,
            kernel=args.kernel, sigma=args.sigma, symmetrize=args.symmetrize,
            knn_method=args.knn_method, eigen_solver=eigen_solver, n_init=args.n_init,
            max_clusters=args.max_clusters, random_state=args.seed, n_jobs=args.threads,
            labels_on="root", comm=comm, truth=args.truth)
        fit_seconds = time.perf_counter() - t0
    if rank != 0:
        return 0
    notes = [str(w.message) for w in caught]
    for note in notes:
        print(f"graphclust: warning: {note}", file=sys.stderr)
    timings = dict(res.timings)
    timings["fit total"] = fit_seconds
    labels = res.labels
    X = res.X
    write_labels_csv(out / "labels.csv", labels)
    truth = res.truth
    metrics = evaluate(truth, labels) if truth is not None else None
    eigs = res.eigenvalues
    outputs = ["labels.csv", "summary.json"]
    if not args.no_plots:
        from graphclust.plot import plot_clusters, plot_spectrum

        t1 = time.perf_counter()
        title = f"graphclust spectral (MPI, {res.n_ranks} ranks): K = {res.n_clusters}, n = {X.shape[0]}"
        if metrics:
            title += f", ARI = {metrics['ari']:.3f}"
        plot_clusters(np.asarray(X), labels, out / "clusters.png", title=title, truth=truth,
                      projection=args.projection, random_state=args.seed)
        plot_spectrum(eigs, out / "spectrum.png", n_clusters=res.n_clusters,
                      gap_index=res.n_clusters, title="eigenvalues of L_sym")
        timings["plots"] = time.perf_counter() - t1
        outputs += ["clusters.png", "spectrum.png"]
    timings["total"] = time.perf_counter() - t_start
    summary = {
        "graphclust_version": __version__,
        "command": "spectral",
        "input": str(args.input),
        "n_samples": int(X.shape[0]),
        "n_features": int(X.shape[1]),
        "parameters": {
            "n_clusters": args.n_clusters, "n_neighbors": args.n_neighbors,
            "sigma_rank": args.sigma_rank, "kernel": args.kernel, "sigma": args.sigma,
            "affinity": "knn", "symmetrize": args.symmetrize, "knn_method": res.knn_method,
            "eigen_solver": eigen_solver, "n_init": args.n_init, "max_clusters": args.max_clusters,
            "random_state": args.seed, "n_jobs": args.threads,
        },
        "n_clusters": int(res.n_clusters),
        "n_clusters_requested": args.n_clusters,
        "cluster_sizes": [int(c) for c in np.bincount(labels)],
        "graph": {
            "kind": "knn",
            "knn_method": res.knn_method,
            "n_edges": int(res.n_edges),
            "n_connected_components": res.n_graph_components,
        },
        "eigen_solver": res.eigen_solver,
        "eigenvalues": [float(v) for v in eigs],
        "eigengap_k": int(eigengap(eigs, min_clusters=1)[0]) if len(eigs) >= 2 else None,
        "kmeans": {"best_sse": float(res.inertia), "sses": [float(v) for v in res.inertias],
                   "n_init": args.n_init},
        "timings_seconds": {k: round(float(v), 6) for k, v in timings.items()},
        "mpi": {
            "ranks": res.n_ranks,
            "threads_per_rank": res.threads,
            "timings_seconds_slowest_rank": {k: round(float(v), 6) for k, v in res.timings_max.items()},
            "bytes_sent_per_stage_all_ranks": res.bytes_total,
            "peak_rss_bytes_per_rank": res.peak_rss,
            "graph_entries_per_rank": res.graph_nnz,
            "halo_rows_per_rank": res.halo,
            "eigen": {k: (v.tolist() if hasattr(v, "tolist") else v) for k, v in res.eigen_info.items()},
        },
        "metrics": metrics,
        "warnings": notes,
        "outputs": outputs,
    }
    write_json(out / "summary.json", summary)
    line = (f"{X.shape[0]} points -> {res.n_clusters} clusters in {fit_seconds:.3f} s on "
            f"{res.n_ranks} MPI ranks (best SSE {res.inertia:.4g})")
    if metrics:
        line += f"; ACC {metrics['acc']:.4f} NMI {metrics['nmi']:.4f} ARI {metrics['ari']:.4f}"
    print(line)
    print(f"wrote {', '.join(outputs)} to {out}")
    return 0
