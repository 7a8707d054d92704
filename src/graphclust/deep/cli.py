"""``graphclust vcc``: Very Compact Clusters on points.

Registration (in ``graphclust/cli.py``)::

    from graphclust.deep import cli as deep_cli
    deep_cli.add_parser(subparsers)         # adds the "vcc" subcommand (func=run)

Importing this module does not import torch; ``run`` does (a missing torch is a one-line
error naming ``pip install 'graphclust[deep]'``, exit status 2).

Outputs in ``--out`` (checked before any computation): ``labels.csv`` (index, label, and the
truth when given), ``embedding.npy`` (latent coordinates H), ``summary.json`` (parameters,
graph, per-epoch history, metrics, timings), ``latent.png`` (H coloured by cluster; projected
when latent_dim > 2) and ``training.png`` (losses and ACC/NMI per epoch).
"""
from __future__ import annotations

import argparse
import sys
import time
import warnings

from graphclust._argtypes import positive_float as _positive_float
from graphclust._argtypes import positive_int as _positive_int

__all__ = ["add_parser", "run"]

PRESETS = ("default", "paper", "fast")


def _temperature(text):
    return "auto" if text == "auto" else _positive_float(text)


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``vcc`` subcommand to an argparse subparsers object; returns its parser."""
    p = subparsers.add_parser(
        "vcc",
        help="deep clustering: Very Compact Clusters (needs graphclust[deep])",
        description=(
            "VCC (Ma & Kim): an MLP embeds the points so that a softmax kNN graph's weak edges "
            "are separated, strong edges contracted and non-edges expanded, with a DEC "
            "clustering loss on learnable centres. Writes labels.csv, embedding.npy, "
            "summary.json, latent.png and training.png. Options left unset take the preset's "
            "value (default: the paper's network and SGD with lr 1e-3 instead of 0.01, which "
            "was unstable on small data, and an automatic softmax temperature)."),
    )
    p.add_argument("input", help="points: .npy, .npz, .csv, .tsv or .txt (header detected)")
    p.add_argument("--n-clusters", "-k", type=_positive_int, default=10, help="number of clusters K (default 10)")
    p.add_argument("--preset", choices=PRESETS, default="default",
                   help="parameter set: default, paper (softmax(-D) as written, 100 epochs) or "
                        "fast (the best CPU setting measured: narrower network, 10-D latent, "
                        "UMAP-style L_bps, 10 passes per epoch, 40 epochs)")
    p.add_argument("--epochs", type=_positive_int, default=None, help="training epochs")
    p.add_argument("--latent-dim", type=_positive_int, default=None, help="dimension of the latent space (2 for plots)")
    p.add_argument("--n-neighbors", type=_positive_int, default=None, help="M, neighbours per point in the latent graph")
    p.add_argument("--temperature", type=_temperature, default=None, help="softmax temperature, or 'auto'")
    p.add_argument("--batch-size", type=_positive_int, default=None, help="edges per step from each of E- and E+")
    p.add_argument("--lr", type=_positive_float, default=None, help="learning rate")
    p.add_argument("--optimizer", choices=["sgd", "adam"], default=None)
    p.add_argument("--similarity", choices=["exp", "umap", "student"], default=None,
                   help="latent similarity curve (the paper: exp)")
    p.add_argument("--bps-repulsion", choices=["pair", "negatives"], default=None,
                   help="L_bps repulsion on the E- edge itself (pair, eq. 5) or on random non-edges "
                        "(negatives, UMAP-style)")
    p.add_argument("--no-contraction", action="store_true", help="ablation: drop L_c")
    p.add_argument("--no-expansion", action="store_true", help="ablation: drop L_e")
    p.add_argument("--tol", type=float, default=None, help="early stop when fewer labels change (0: never)")
    p.add_argument("--knn-method", default=None, help="kNN method (auto, exact, brute, kdtree, nndescent, hnsw)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:<i> (default auto)")
    p.add_argument("--threads", type=_positive_int, default=None, help="CPU threads (default: torch's)")
    p.add_argument("--seed", type=int, default=0, help="random seed (same seed, same labels on the CPU)")
    p.add_argument("--truth", default=None,
                   help="ground truth: a column of INPUT, an .npz key, a label file, or FILE:COLUMN")
    p.add_argument("--checkpoint", default=None,
                   help="checkpoint file (default: OUT/vcc_checkpoint.pt when --resume is given)")
    p.add_argument("--checkpoint-every", type=_positive_int, default=5, help="epochs between checkpoints")
    p.add_argument("--resume", action="store_true", help="continue from the checkpoint")
    p.add_argument("--out", default="vcc_output", help="output directory (created; checked first)")
    p.add_argument("--no-plots", action="store_true", help="skip latent.png and training.png")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress messages")
    p.set_defaults(func=run)
    return p


def _params_from_args(args) -> dict:
    from graphclust.deep.vcc import VCC_PRESETS

    params = {} if args.preset == "default" else dict(VCC_PRESETS[args.preset])
    flags = {"epochs": args.epochs, "latent_dim": args.latent_dim, "n_neighbors": args.n_neighbors,
             "temperature": args.temperature, "batch_size": args.batch_size, "lr": args.lr,
             "optimizer": args.optimizer, "similarity": args.similarity, "tol": args.tol,
             "knn_method": args.knn_method, "bps_repulsion": args.bps_repulsion}
    params.update({k: v for k, v in flags.items() if v is not None})
    if args.no_contraction:
        params["contraction"] = False
    if args.no_expansion:
        params["expansion"] = False
    return params


def run(args) -> int:
    """Run ``graphclust vcc`` from parsed arguments; returns the exit status."""
    import numpy as np

    from graphclust import __version__, _progress
    from graphclust._validation import GraphclustError
    from graphclust.io import check_output_dir, read_points, write_json, write_labels_csv

    timings: dict = {}
    t_start = time.perf_counter()
    out = check_output_dir(args.out)  # before any computation
    try:
        from graphclust.deep.vcc import VCC
    except ImportError as exc:
        raise GraphclustError(str(exc)) from None
    if getattr(args, "quiet", False):
        _progress.set_progress(False)
    with _progress.stage("read input", timings):
        data = read_points(args.input, truth=args.truth)
    checkpoint = args.checkpoint
    if checkpoint is None and args.resume:
        checkpoint = str(out / "vcc_checkpoint.pt")
    params = _params_from_args(args)
    model = VCC(args.n_clusters, device=args.device, n_jobs=args.threads, random_state=args.seed,
                checkpoint=checkpoint, checkpoint_every=args.checkpoint_every, **params)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        t0 = time.perf_counter()
        model.fit(data.X, data.truth, resume=args.resume)
        fit_seconds = time.perf_counter() - t0
    notes = [str(w.message) for w in caught]
    for note in notes:
        print(f"graphclust: warning: {note}", file=sys.stderr)
    timings.update(model.timings_)
    timings["fit total"] = fit_seconds
    labels = model.labels_
    from graphclust.metrics import evaluate

    metrics = evaluate(data.truth, labels) if data.truth is not None else None
    with _progress.stage("write outputs", timings):
        extra = {"truth": data.truth} if data.truth is not None else None
        write_labels_csv(out / "labels.csv", labels, extra_columns=extra)
        from graphclust.io import atomic_open

        with atomic_open(out / "embedding.npy", "wb") as fh:
            np.save(fh, model.embedding_)
    outputs = ["labels.csv", "embedding.npy", "summary.json"]
    if not args.no_plots:
        from graphclust.deep._plot import plot_training_history
        from graphclust.plot import plot_clusters

        with _progress.stage("plots", timings):
            title = f"VCC latent space: K = {args.n_clusters}, n = {data.X.shape[0]}"
            if metrics:
                title += f", ACC {metrics['acc']:.3f}, NMI {metrics['nmi']:.3f}"
            H = model.embedding_
            plot_clusters(H, labels, out / "latent.png", title=title, truth=data.truth,
                          projection="auto", random_state=args.seed,
                          feature_names=[f"h{j + 1}" for j in range(H.shape[1])])
            plot_training_history(model.history_, out / "training.png",
                                  title=f"VCC training ({model.n_epochs_} epochs, {model.device_})")
        outputs += ["latent.png", "training.png"]
    timings["total"] = time.perf_counter() - t_start
    g = model.graph_
    summary = {
        "graphclust_version": __version__,
        "command": "vcc",
        "input": str(data.source),
        "n_samples": int(data.X.shape[0]),
        "n_features": int(data.X.shape[1]),
        "preset": args.preset,
        "parameters": {k: v for k, v in model.get_params().items() if k != "callbacks"},
        "device": str(model.device_),
        "graph": {"n_edges": g.n_edges, "temperature": g.temperature,
                  "E_minus": int(model._task.r_minus_total), "E_plus": int(model._task.r_plus_total),
                  "steps_per_epoch": int(model._task.steps_per_epoch)},
        "n_epochs": int(model.n_epochs_),
        "stop_reason": model.stop_reason_,
        "cluster_sizes": np.bincount(labels, minlength=args.n_clusters).tolist(),
        "metrics": metrics,
        "history": model.history_.to_list(),
        "timings_seconds": {k: round(float(v), 6) for k, v in timings.items()},
        "warnings": notes,
        "outputs": outputs,
    }
    write_json(out / "summary.json", summary)
    line = (f"{data.X.shape[0]} points -> {len(np.unique(labels))} clusters in {fit_seconds:.1f} s "
            f"({model.n_epochs_} epochs on {model.device_})")
    if metrics:
        line += f"; ACC {metrics['acc']:.4f} NMI {metrics['nmi']:.4f} ARI {metrics['ari']:.4f}"
    print(line)
    print(f"wrote {', '.join(outputs)} to {out}")
    return 0
