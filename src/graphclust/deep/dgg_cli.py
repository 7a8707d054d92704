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

from graphclust._argtypes import nonneg_float as _nonneg_float
from graphclust._argtypes import nonneg_int as _nonneg_int
from graphclust._argtypes import positive_float as _positive_float
from graphclust._argtypes import positive_int as _positive_int
from graphclust.deep._cli_common import (add_run_arguments, finish, fit_from_args, plot_outputs,
                                         write_outputs)

__all__ = ["add_parser", "run"]

PRESETS = ("default", "paper", "fast")


def _samples_arg(text):
    return "all" if text == "all" else _positive_int(text)


def _lam_arg(text):
    return "auto" if text == "auto" else _positive_float(text)


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
                   help="parameter set: default, paper (Siamese affinity, 300 epochs; lr 2e-3, not the paper's 0.02) or "
                        "fast (Gaussian affinity, UMAP + mixture start, full covariances, 100 "
                        "pretraining and 50 training epochs)")
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
    p.add_argument("--graph-space", choices=["input", "latent"], default=None,
                   help="build the kNN graph on the input (the paper) or on the pretrained "
                        "latent means")
    p.add_argument("--graph-weight", type=_nonneg_float, default=None,
                   help="weight a of the neighbour term (1: the paper, 0: VaDE)")
    p.add_argument("--posterior", choices=["classifier", "analytic"], default=None,
                   help="q(c|z) from the classifier network or VaDE's responsibilities")
    p.add_argument("--covariance", choices=["diag", "full"], default=None,
                   help="covariances of the mixture components: diagonal (the paper) or full")
    p.add_argument("--pseudo-labels", choices=["kmeans", "umap-gmm"], default=None,
                   help="how the pretrained latent means are clustered to start the GMM: k-means "
                        "(the paper) or UMAP + Gaussian mixture (needs umap-learn)")
    p.add_argument("--likelihood", choices=["auto", "bernoulli", "gaussian"], default=None)
    p.add_argument("--lam", type=_lam_arg, default=None,
                   help="variance of the Gaussian likelihood, or 'auto' (the pretrained "
                        "autoencoder's mean squared residual)")
    p.add_argument("--batch-size", type=_positive_int, default=None)
    p.add_argument("--lr", type=_positive_float, default=None, help="Adam learning rate")
    p.add_argument("--tol", type=_nonneg_float, default=None, help="early stop when fewer labels change (0: never)")
    p.add_argument("--knn-method", default=None, help="kNN method (auto, exact, brute, kdtree, nndescent, hnsw)")
    p.add_argument("--cache-dir", default="auto",
                   help="pretraining cache folder ('auto': $GRAPHCLUST_CACHE/dgg or ~/.cache/graphclust/dgg)")
    p.add_argument("--no-cache", action="store_true", help="do not read or write the pretraining cache")
    p.add_argument("--sample", type=_nonneg_int, default=0, metavar="N",
                   help="also generate N points per cluster (samples.npy; samples.png for 28x28 input)")
    add_run_arguments(p, "dgg")
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
             "graph_space": args.graph_space, "covariance": args.covariance,
             "graph_weight": args.graph_weight, "posterior": args.posterior,
             "pseudo_labels": args.pseudo_labels,
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

    from graphclust.io import atomic_open

    def estimator():
        from graphclust.deep.dgg import DGG

        return DGG

    run_ = fit_from_args(args, "dgg", estimator, _params_from_args(args))
    model = run_.model
    write_outputs(run_)
    if args.sample:
        K, n = args.n_clusters, args.sample
        gen = np.stack([model.sample(n, cluster=k, random_state=args.seed + k) for k in range(K)])
        with atomic_open(run_.out / "samples.npy", "wb") as fh:
            np.save(fh, gen.reshape(K * n, -1))
        run_.outputs.append("samples.npy")
        if run_.data.X.shape[1] == 784:
            imgs = gen if model.likelihood_ == "bernoulli" else np.clip(gen, 0.0, 1.0)
            _image_grid(imgs, run_.out / "samples.png",
                        title=f"DGG samples: {n} per cluster (rows = clusters)")
            run_.outputs.append("samples.png")
    plot_outputs(args, run_, "DGG latent means", "z")
    g = model.graph_
    specific = {
        "parameters": {k: (str(v) if k == "cache_dir" and v is not None else v)
                       for k, v in model.get_params().items() if k != "callbacks"},
        "likelihood": model.likelihood_,
        "device": str(model.device_),
        "graph": None if g is None else {"kind": g.kind, "n_neighbors": g.n_neighbors},
        "pretraining": model.pretrain_,
        "gmm": {"means": model.means_, "variances": model.variances_, "weights": model.weights_},
        "variance_clamps": model.n_variance_clamps_,
        "lam": model.lam_ if model.likelihood_ == "gaussian" else None,
    }
    note = ", pretraining from cache" if model.pretrain_.get("cache_hit") else ""
    return finish(args, run_, specific, note=note)
