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

from graphclust._argtypes import nonneg_float as _non_negative_float
from graphclust._argtypes import positive_float as _positive_float
from graphclust._argtypes import positive_int as _positive_int
from graphclust.deep._cli_common import (add_run_arguments, finish, fit_from_args, plot_outputs,
                                         write_outputs)

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
                        "UMAP's curve, spectral start, annealed step, UMAP-style L_bps at "
                        "weight 0.1, 10 passes per epoch, 40 epochs, centres after 20)")
    p.add_argument("--epochs", type=_positive_int, default=None, help="training epochs")
    p.add_argument("--latent-dim", type=_positive_int, default=None, help="dimension of the latent space (2 for plots)")
    p.add_argument("--n-neighbors", type=_positive_int, default=None, help="M, neighbours per point in the latent graph")
    p.add_argument("--metric", choices=["euclidean", "cosine"], default=None,
                   help="distance of the latent graph's kNN search (default euclidean)")
    p.add_argument("--temperature", type=_temperature, default=None, help="softmax temperature, or 'auto'")
    p.add_argument("--batch-size", type=_positive_int, default=None, help="edges per step from each of E- and E+")
    p.add_argument("--lr", type=_positive_float, default=None, help="learning rate")
    p.add_argument("--optimizer", choices=["sgd", "adam"], default=None)
    p.add_argument("--similarity", choices=["exp", "umap", "student"], default=None,
                   help="latent similarity curve (the paper: exp)")
    p.add_argument("--bps-repulsion", choices=["pair", "negatives"], default=None,
                   help="L_bps repulsion on the E- edge itself (pair, eq. 5) or on random non-edges "
                        "(negatives, UMAP-style)")
    p.add_argument("--bps-weight", type=_non_negative_float, default=None,
                   help="weight of L_bps in the total loss (the paper: 1)")
    p.add_argument("--lr-schedule", choices=["constant", "linear"], default=None,
                   help="constant step size (the paper) or annealed linearly to 0 (UMAP)")
    p.add_argument("--init", choices=["random", "spectral"], default=None,
                   help="how the network starts: random weights (default) or fitted to the "
                        "spectral layout of the latent graph first")
    p.add_argument("--no-contraction", action="store_true", help="ablation: drop L_c")
    p.add_argument("--no-expansion", action="store_true", help="ablation: drop L_e")
    p.add_argument("--tol", type=float, default=None, help="early stop when fewer labels change (0: never)")
    p.add_argument("--knn-method", default=None, help="kNN method (auto, exact, brute, kdtree, nndescent, hnsw)")
    add_run_arguments(p, "vcc")
    p.set_defaults(func=run)
    return p


def _params_from_args(args) -> dict:
    from graphclust.deep.vcc import VCC_PRESETS

    params = {} if args.preset == "default" else dict(VCC_PRESETS[args.preset])
    flags = {"epochs": args.epochs, "latent_dim": args.latent_dim, "n_neighbors": args.n_neighbors,
             "temperature": args.temperature, "batch_size": args.batch_size, "lr": args.lr,
             "optimizer": args.optimizer, "similarity": args.similarity, "tol": args.tol,
             "knn_method": args.knn_method, "bps_repulsion": args.bps_repulsion, "init": args.init,
             "bps_weight": args.bps_weight, "lr_schedule": args.lr_schedule,
             "metric": args.metric}
    params.update({k: v for k, v in flags.items() if v is not None})
    if args.no_contraction:
        params["contraction"] = False
    if args.no_expansion:
        params["expansion"] = False
    return params


def run(args) -> int:
    """Run ``graphclust vcc`` from parsed arguments; returns the exit status."""
    def estimator():
        from graphclust.deep.vcc import VCC

        return VCC

    run_ = fit_from_args(args, "vcc", estimator, _params_from_args(args))
    write_outputs(run_)
    plot_outputs(args, run_, "VCC latent space", "h")
    model = run_.model
    g = model.graph_
    specific = {
        "parameters": {k: v for k, v in model.get_params().items() if k != "callbacks"},
        "device": str(model.device_),
        "graph": {"n_edges": g.n_edges, "temperature": g.temperature,
                  "E_minus": int(model._task.r_minus_total), "E_plus": int(model._task.r_plus_total),
                  "steps_per_epoch": int(model._task.steps_per_epoch)},
    }
    return finish(args, run_, specific)
