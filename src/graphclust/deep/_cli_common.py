"""What ``graphclust vcc`` and ``graphclust dgg`` share: the run options, the fit with its
warnings captured, the common outputs (labels, embedding, plots, summary) and the report line.

Importing this module does not import torch.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

from graphclust._argtypes import positive_int as _positive_int

__all__ = ["add_run_arguments", "DeepRun", "fit_from_args", "write_outputs", "plot_outputs", "finish"]


def add_run_arguments(p, name: str) -> None:
    """Options every deep subcommand has: device, threads, seed, truth, checkpoints, output."""
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:<i> (default auto)")
    p.add_argument("--threads", type=_positive_int, default=None, help="CPU threads (default: torch's)")
    p.add_argument("--seed", type=int, default=0, help="random seed (same seed, same labels on the CPU)")
    p.add_argument("--truth", default=None,
                   help="ground truth: a column of INPUT, an .npz key, a label file, or FILE:COLUMN")
    p.add_argument("--checkpoint", default=None,
                   help=f"checkpoint file (default: OUT/{name}_checkpoint.pt when --resume is given)")
    p.add_argument("--checkpoint-every", type=_positive_int, default=5, help="epochs between checkpoints")
    p.add_argument("--resume", action="store_true", help="continue from the checkpoint")
    p.add_argument("--out", default=f"{name}_output", help="output directory (created; checked first)")
    p.add_argument("--no-plots", action="store_true", help="skip latent.png and training.png")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress messages")


@dataclass
class DeepRun:
    """One CLI fit: where it writes, what it read, the fitted model and its bookkeeping."""

    name: str
    out: object
    data: object
    model: object
    fit_seconds: float
    t_start: float
    timings: dict
    notes: list
    metrics: dict | None
    outputs: list = field(default_factory=lambda: ["labels.csv", "embedding.npy", "summary.json"])


def fit_from_args(args, name: str, estimator, params: dict) -> DeepRun:
    """Check ``--out`` first, import the estimator (a missing torch is a GraphclustError naming
    the extra), read the input, fit with UserWarnings captured and echoed to stderr, and score
    against the truth when given. ``estimator`` is a zero-argument callable returning the class."""
    from graphclust import _progress
    from graphclust._validation import GraphclustError
    from graphclust.cli import fit_reporting_warnings
    from graphclust.io import check_output_dir, read_points
    from graphclust.metrics import evaluate

    timings: dict = {}
    t_start = time.perf_counter()
    out = check_output_dir(args.out)  # before any computation
    try:
        cls = estimator()
    except ImportError as exc:
        raise GraphclustError(str(exc)) from None
    if getattr(args, "quiet", False):
        _progress.set_progress(False)
    with _progress.stage("read input", timings):
        data = read_points(args.input, truth=args.truth)
    checkpoint = args.checkpoint
    if checkpoint is None and args.resume:
        checkpoint = str(out / f"{name}_checkpoint.pt")
    model = cls(args.n_clusters, device=args.device, n_jobs=args.threads, random_state=args.seed,
                checkpoint=checkpoint, checkpoint_every=args.checkpoint_every, **params)
    fit_seconds, notes = fit_reporting_warnings(model.fit, data.X, data.truth, resume=args.resume)
    timings.update(model.timings_)
    timings["fit total"] = fit_seconds
    metrics = evaluate(data.truth, model.labels_) if data.truth is not None else None
    return DeepRun(name, out, data, model, fit_seconds, t_start, timings, notes, metrics)


def write_outputs(run: DeepRun) -> None:
    """labels.csv (index, label[, truth]) and embedding.npy, atomically."""
    import numpy as np

    from graphclust import _progress
    from graphclust.io import atomic_open, write_labels_csv

    with _progress.stage("write outputs", run.timings):
        extra = {"truth": run.data.truth} if run.data.truth is not None else None
        write_labels_csv(run.out / "labels.csv", run.model.labels_, extra_columns=extra)
        with atomic_open(run.out / "embedding.npy", "wb") as fh:
            np.save(fh, run.model.embedding_)


def plot_outputs(args, run: DeepRun, what: str, axis: str) -> None:
    """latent.png (the embedding coloured by cluster, projected when its dimension is > 2) and
    training.png (losses and ACC/NMI per epoch), unless ``--no-plots``."""
    if args.no_plots:
        return
    from graphclust import _progress
    from graphclust.deep._plot import plot_training_history
    from graphclust.plot import plot_clusters

    model, data = run.model, run.data
    with _progress.stage("plots", run.timings):
        title = f"{what}: K = {args.n_clusters}, n = {data.X.shape[0]}"
        if run.metrics:
            title += f", ACC {run.metrics['acc']:.3f}, NMI {run.metrics['nmi']:.3f}"
        H = model.embedding_
        plot_clusters(H, model.labels_, run.out / "latent.png", title=title, truth=data.truth,
                      projection="auto", random_state=args.seed,
                      feature_names=[f"{axis}{j + 1}" for j in range(H.shape[1])])
        plot_training_history(model.history_, run.out / "training.png",
                              title=f"{run.name.upper()} training ({model.n_epochs_} epochs, "
                                    f"{model.device_})")
    run.outputs += ["latent.png", "training.png"]


def finish(args, run: DeepRun, specific: dict, *, note: str = "") -> int:
    """Write summary.json (the common fields around ``specific``) and print the report line."""
    import numpy as np

    from graphclust import __version__
    from graphclust.io import write_json

    model, data = run.model, run.data
    labels = model.labels_
    run.timings["total"] = time.perf_counter() - run.t_start
    summary = {
        "graphclust_version": __version__,
        "command": run.name,
        "input": str(data.source),
        "n_samples": int(data.X.shape[0]),
        "n_features": int(data.X.shape[1]),
        "preset": args.preset,
        **specific,
        "n_epochs": int(model.n_epochs_),
        "stop_reason": model.stop_reason_,
        "cluster_sizes": np.bincount(labels, minlength=args.n_clusters).tolist(),
        "metrics": run.metrics,
        "history": model.history_.to_list(),
        "timings_seconds": {k: round(float(v), 6) for k, v in run.timings.items()},
        "warnings": run.notes,
        "outputs": run.outputs,
    }
    write_json(run.out / "summary.json", summary)
    line = (f"{data.X.shape[0]} points -> {len(np.unique(labels))} clusters in "
            f"{run.fit_seconds:.1f} s ({model.n_epochs_} epochs on {model.device_}{note})")
    if run.metrics:
        m = run.metrics
        line += f"; ACC {m['acc']:.4f} NMI {m['nmi']:.4f} ARI {m['ari']:.4f}"
    print(line)
    print(f"wrote {', '.join(run.outputs)} to {run.out}")
    return 0
