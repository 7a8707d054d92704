"""``graphclust dgg``: Gaussian-mixture VAE with stochastic graph embedding on points.

Registration (in ``graphclust/cli.py``)::

    from graphclust.deep import dgg_cli
    dgg_cli.add_parser(subparsers)          # adds the "dgg" subcommand (func=run)

Importing this module does not import torch; ``run`` does (a missing torch is a one-line
error naming ``pip install 'graphclust[deep]'``).

Outputs in ``--out`` (checked before any computation): ``labels.csv`` (index, label, and the
truth when given), ``embedding.npy`` (latent means), ``summary.json`` (parameters, graph,
pretraining, GMM, per-epoch history, metrics, timings), ``latent.png`` and ``training.png``
unless ``--no-plots``; with ``--sample N``: ``samples.npy`` (N generated points per cluster,
cluster-major) and, when the input has 784 = 28 x 28 features, ``samples.png`` (one row per
cluster).
"""
from __future__ import annotations

import argparse
import sys
import time
import warnings

from graphclust._argtypes import nonneg_float as _nonneg_float
from graphclust._argtypes import nonneg_int as _nonneg_int
from graphclust._argtypes import positive_float as _positive_float
from graphclust._argtypes import positive_int as _positive_int

__all__ = ["add_parser", "run"]

PRESETS = ("default", "paper", "fast")


def _samples_arg(text):
    return "all" if text == "all" else _positive_int(text)


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``dgg`` subcommand to an argparse subparsers object; returns its parser."""
    p = subparsers.add_parser(
        "dgg",
        help="deep clustering: Gaussian-mixture VAE with graph embedding (needs graphclust[deep])",
        description=(
            "DGG (Yang et al., ICCV 2019): a VAE with a Gaussian-mixture prior where every point "
            "is also reconstructed from its kNN neighbours' posteriors. --graph-weight 0 is plain "
            "VaDE. The pretraining (autoencoder, k-means, classifier) is cached in --cache-dir. "
            "Writes labels.csv, embedding.npy, summary.json, latent.png, training.png and, with "
            "--sample N, samples.npy (+ samples.png for 28x28 images)."),
    )
    p.add_argument("input", help="points: .npy, .npz, .csv, .tsv or .txt (header detected)")
    p.add_argument("--n-clusters", "-k", type=_positive_int, default=10, help="number of clusters K (default 10)")
    p.add_argument("--preset", choices=PRESETS, default="default",
                   help="parameter set: default, paper (Siamese affinity, lr 0.02, 300 epochs) or "
                        "fast (Gaussian affinity, 100 pretraining and 50 training epochs)")
    p.add_argument("--epochs", type=_positive_int, default=None, help="training epochs")
    p.add_argument("--pretrain-epochs", type=_nonneg_int, default=None, help="autoencoder pretraining epochs")
    p.add_argument("--latent-dim", type=_positive_int, default=None, help="dimension M of z")
    p.add_argument("--hidden", default=None,
                   help="encoder widths, comma-separated (default 500,500,2000; decoder mirrors)")
    p.add_argument("--n-neighbors", type=_nonneg_int, default=None,
                   help="N_s, neighbours per point (0: no graph, plain VaDE)")
    p.add_argument("--neighbor-samples", type=_samples_arg, default=None,
                   help="neighbours drawn per point and step, or 'all'")
    p.add_argument("--affinity", choices=["gaussian", "uniform", "siamese"], default=None)
    p.add_argument("--graph-weight", type=_nonneg_float, default=None,
                   help="weight a of the neighbour term (1: the paper, 0: VaDE)")
    p.add_argument("--posterior", choices=["classifier", "analytic"], default=None,
                   help="q(c|z) from the classifier network or VaDE's responsibilities")
    p.add_argument("--likelihood", choices=["auto", "bernoulli", "gaussian"], default=None)
    p.add_argument("--lam", type=_positive_float, default=None, help="variance of the Gaussian likelihood")
    p.add_argument("--batch-size", type=_positive_int, default=None)
    p.add_argument("--lr", type=_positive_float, default=None, help="Adam learning rate")
    p.add_argument("--tol", type=_nonneg_float, default=None, help="early stop when fewer labels change (0: never)")
    p.add_argument("--knn-method", default=None, help="kNN method (auto, exact, brute, kdtree, nndescent, hnsw)")
    p.add_argument("--cache-dir", default="auto",
                   help="pretraining cache folder ('auto': $GRAPHCLUST_CACHE/dgg or ~/.cache/graphclust/dgg)")
    p.add_argument("--no-cache", action="store_true", help="do not read or write the pretraining cache")
    p.add_argument("--sample", type=_nonneg_int, default=0, metavar="N",
                   help="also generate N points per cluster (samples.npy; samples.png for 28x28 input)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:<i> (default auto)")
    p.add_argument("--threads", type=_positive_int, default=None, help="CPU threads (default: torch's)")
    p.add_argument("--seed", type=int, default=0, help="random seed (same seed, same labels on the CPU)")
    p.add_argument("--truth", default=None,
                   help="ground truth: a column of INPUT, an .npz key, a label file, or FILE:COLUMN")
    p.add_argument("--checkpoint", default=None,
                   help="checkpoint file (default: OUT/dgg_checkpoint.pt when --resume is given)")
    p.add_argument("--checkpoint-every", type=_positive_int, default=5)
    p.add_argument("--resume", action="store_true", help="continue from the checkpoint")
    p.add_argument("--out", default="dgg_output", help="output directory (created; checked first)")
    p.add_argument("--no-plots", action="store_true", help="skip latent.png and training.png")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress messages")
    p.set_defaults(func=run)
    return p


def _params_from_args(args) -> dict:
    from graphclust._validation import GraphclustError
    from graphclust.deep.dgg import DGG_PRESETS

    params = {} if args.preset == "default" else dict(DGG_PRESETS[args.preset])
    hidden = None
    if args.hidden is not None:
        try:
            hidden = tuple(int(h) for h in args.hidden.split(",") if h.strip())
        except ValueError:
            raise GraphclustError(f"--hidden must be comma-separated integers, got {args.hidden!r}.") from None
    flags = {"epochs": args.epochs, "pretrain_epochs": args.pretrain_epochs,
             "latent_dim": args.latent_dim, "hidden": hidden, "n_neighbors": args.n_neighbors,
             "neighbor_samples": args.neighbor_samples, "affinity": args.affinity,
             "graph_weight": args.graph_weight, "posterior": args.posterior,
             "likelihood": args.likelihood, "lam": args.lam, "batch_size": args.batch_size,
             "lr": args.lr, "tol": args.tol, "knn_method": args.knn_method}
    params.update({k: v for k, v in flags.items() if v is not None})
    params["cache_dir"] = None if args.no_cache else args.cache_dir
    return params


def _image_grid(images, path, *, side=28, title=None):
    """Rows of side x side grey images (one row per cluster) as a PNG."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    from graphclust.io import atomic_savefig

    K, n = images.shape[:2]
    grid = images.reshape(K, n, side, side).transpose(0, 2, 1, 3).reshape(K * side, n * side)
    fig, ax = plt.subplots(figsize=(max(2.0, 0.5 * n), max(2.0, 0.5 * K)), dpi=100)
    ax.imshow(grid, cmap="gray_r", vmin=0.0, vmax=1.0, interpolation="nearest")
    ax.set_yticks([side * (k + 0.5) for k in range(K)])
    ax.set_yticklabels([f"c{k}" for k in range(K)])
    ax.set_xticks([])
    if title:
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    atomic_savefig(fig, path)
    plt.close(fig)


def run(args) -> int:
    """Run ``graphclust dgg`` from parsed arguments; returns the exit status."""
    import numpy as np

    from graphclust import __version__, _progress
    from graphclust._validation import GraphclustError
    from graphclust.io import atomic_open, check_output_dir, read_points, write_json, write_labels_csv

    timings: dict = {}
    t_start = time.perf_counter()
    out = check_output_dir(args.out)  # before any computation
    try:
        from graphclust.deep.dgg import DGG
    except ImportError as exc:
        raise GraphclustError(str(exc)) from None
    if getattr(args, "quiet", False):
        _progress.set_progress(False)
    with _progress.stage("read input", timings):
        data = read_points(args.input, truth=args.truth)
    checkpoint = args.checkpoint
    if checkpoint is None and args.resume:
        checkpoint = str(out / "dgg_checkpoint.pt")
    params = _params_from_args(args)
    model = DGG(args.n_clusters, device=args.device, n_jobs=args.threads, random_state=args.seed,
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
    outputs = ["labels.csv", "embedding.npy", "summary.json"]
    with _progress.stage("write outputs", timings):
        extra = {"truth": data.truth} if data.truth is not None else None
        write_labels_csv(out / "labels.csv", labels, extra_columns=extra)
        with atomic_open(out / "embedding.npy", "wb") as fh:
            np.save(fh, model.embedding_)
        if args.sample:
            K, n = args.n_clusters, args.sample
            gen = np.stack([model.sample(n, cluster=k, random_state=args.seed + k) for k in range(K)])
            with atomic_open(out / "samples.npy", "wb") as fh:
                np.save(fh, gen.reshape(K * n, -1))
            outputs.append("samples.npy")
            if data.X.shape[1] == 784:
                imgs = gen if model.likelihood_ == "bernoulli" else np.clip(gen, 0.0, 1.0)
                _image_grid(imgs, out / "samples.png",
                            title=f"DGG samples: {n} per cluster (rows = clusters)")
                outputs.append("samples.png")
    if not args.no_plots:
        from graphclust.deep._plot import plot_training_history
        from graphclust.plot import plot_clusters

        with _progress.stage("plots", timings):
            title = f"DGG latent means: K = {args.n_clusters}, n = {data.X.shape[0]}"
            if metrics:
                title += f", ACC {metrics['acc']:.3f}, NMI {metrics['nmi']:.3f}"
            H = model.embedding_
            plot_clusters(H, labels, out / "latent.png", title=title, truth=data.truth,
                          projection="auto", random_state=args.seed,
                          feature_names=[f"z{j + 1}" for j in range(H.shape[1])])
            plot_training_history(model.history_, out / "training.png",
                                  title=f"DGG training ({model.n_epochs_} epochs, {model.device_})")
        outputs += ["latent.png", "training.png"]
    timings["total"] = time.perf_counter() - t_start
    g = model.graph_
    summary = {
        "graphclust_version": __version__,
        "command": "dgg",
        "input": str(data.source),
        "n_samples": int(data.X.shape[0]),
        "n_features": int(data.X.shape[1]),
        "preset": args.preset,
        "parameters": {k: (str(v) if k == "cache_dir" and v is not None else v)
                       for k, v in model.get_params().items() if k != "callbacks"},
        "likelihood": model.likelihood_,
        "device": str(model.device_),
        "graph": None if g is None else {"kind": g.kind, "n_neighbors": g.n_neighbors},
        "pretraining": model.pretrain_,
        "gmm": {"means": model.means_, "variances": model.variances_, "weights": model.weights_},
        "variance_clamps": model.n_variance_clamps_,
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
            f"({model.n_epochs_} epochs on {model.device_}"
            f"{', pretraining from cache' if model.pretrain_.get('cache_hit') else ''})")
    if metrics:
        line += f"; ACC {metrics['acc']:.4f} NMI {metrics['nmi']:.4f} ARI {metrics['ari']:.4f}"
    print(line)
    print(f"wrote {', '.join(outputs)} to {out}")
    return 0
