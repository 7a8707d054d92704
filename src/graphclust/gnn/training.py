"""Training loop with validation-based model selection and early stopping.

:func:`train_model` trains on ``train`` graphs and selects, on ``val`` graphs only, the epoch to
keep (best validation accuracy, ties broken by lower validation loss); training stops after
``patience`` epochs without improvement and the selected weights are loaded back. Adam's step
size is set at the start of every epoch by ``TrainConfig.lr_schedule`` (cosine-annealed by
default). The test graphs of a cross-validation fold never enter this function.

For a model with ``uses_communities`` (community pooling), the communities of the training and
validation graphs are computed once per epoch by a :class:`~graphclust.gnn.pooling.CommunityCache`,
from the weights at the start of the epoch; validation is scored first with those weights and
communities (so a checkpoint's communities are exactly what the model computes for itself at
prediction time), then the epoch's batches are trained with the same cached communities.

Randomness (weight initialisation, dropout, batch order) comes from one seed, inside
``torch.random.fork_rng`` so the caller's global torch RNG is untouched: the same seed gives the
same weights and predictions on CPU.
"""
from __future__ import annotations

import contextlib
import copy
import math
import time
from dataclasses import dataclass, field

from graphclust._validation import check_choice, check_float, check_int
from graphclust.gnn._deps import require, torch_threads

torch = require("torch")
_loader = require("torch_geometric.loader")
_data = require("torch_geometric.data")

SELECT_BY = ("accuracy", "loss")
LR_SCHEDULES = ("constant", "cosine")

__all__ = ["SELECT_BY", "LR_SCHEDULES", "TrainConfig", "FitResult", "seeded", "train_model",
           "predict_logits", "member_seed", "train_members", "mean_probabilities"]


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings.

    Attributes
    ----------
    epochs : int, default 150
        Maximum number of epochs.
    lr : float, default 0.003
        Adam learning rate (the starting one with ``lr_schedule="cosine"``).
    weight_decay : float, default 0.0
    batch_size : int, default 32
    patience : int, default 150
        Stop after this many epochs without a better validation score (the default, equal to
        ``epochs``, trains every epoch and keeps the best one).
    select_by : {"accuracy", "loss"}, default "accuracy"
        Which validation score picks the kept epoch: the accuracy (ties broken by the lower
        loss), or the cross-entropy loss alone (continuous, so less noisy on small validation
        splits).
    lr_schedule : {"constant", "cosine"}, default "cosine"
        "cosine" anneals the step size of epoch ``e`` (0-based) to
        ``lr * (1 + cos(pi * e / epochs)) / 2``, which falls towards 0 over ``epochs``, so the late
        epochs, which validation then tends to keep, change the weights little.

    The defaults are the setting of benchmarks/RESULTS_gnn.md, Addendum 5: against the earlier
    lr 0.01 (constant), 100-200 epochs and patience 30-50, every neural model gained 0.014-0.071
    of 10-fold accuracy on MUTAG (the constant large step left the training loss at 0.35-0.4
    and the validation curve jumping from epoch to epoch).
    """

    epochs: int = 150
    lr: float = 0.003
    weight_decay: float = 0.0
    batch_size: int = 32
    patience: int = 150
    select_by: str = "accuracy"
    lr_schedule: str = "cosine"

    def __post_init__(self):
        check_int(self.epochs, "epochs", low=1)
        check_float(self.lr, "lr", low=0.0, low_open=True)
        check_float(self.weight_decay, "weight_decay", low=0.0)
        check_int(self.batch_size, "batch_size", low=1)
        check_int(self.patience, "patience", low=1)
        check_choice(self.select_by, "select_by", SELECT_BY)
        check_choice(self.lr_schedule, "lr_schedule", LR_SCHEDULES)

    def step_size(self, epoch: int) -> float:
        """Learning rate of training epoch ``epoch`` (0-based)."""
        if self.lr_schedule == "cosine":
            return self.lr * 0.5 * (1.0 + math.cos(math.pi * epoch / self.epochs))
        return self.lr


@dataclass(frozen=True, eq=False)
class FitResult:
    """What :func:`train_model` did.

    Attributes
    ----------
    best_epoch : int
        Number of training epochs behind the kept weights (0 = the initial weights).
    epochs_run : int
    val_accuracy, val_loss : float
        Validation scores of the kept weights (NaN without validation graphs).
    seconds : float
    community_convergence : float or None
        Mean share of graphs whose affinity propagation converged, over the epochs (community
        models only).
    history : list of dict
        Per epoch: ``epoch``, ``train_loss``, ``val_accuracy``, ``val_loss``.
    """

    best_epoch: int
    epochs_run: int
    val_accuracy: float
    val_loss: float
    seconds: float
    community_convergence: float | None = None
    history: list = field(default_factory=list)


@contextlib.contextmanager
def seeded(seed: int):
    """Seed torch's global CPU RNG inside a fork, restoring the caller's state afterwards."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        yield


def _batches(graphs, batch_size, shuffle=False, generator=None):
    return _loader.DataLoader(graphs, batch_size=batch_size, shuffle=shuffle, generator=generator)


def _forward(model, b, cache=None):
    communities = cache.lookup(b) if cache is not None else None
    return model(b.x, b.edge_index, b.batch, num_graphs=b.num_graphs, communities=communities,
                 edge_attr=getattr(b, "edge_attr", None))


@torch.no_grad()
def predict_logits(model, graphs, batch_size: int = 256, cache=None) -> "torch.Tensor":
    """Logits ``(len(graphs), num_classes)`` in eval mode (communities computed by the model
    unless a cache is given)."""
    was = model.training
    model.eval()
    try:
        outs = [_forward(model, b, cache) for b in _batches(list(graphs), batch_size)]
    finally:
        model.train(was)
    return torch.cat(outs, dim=0)


def _evaluate(model, graphs, cache) -> tuple[float, float]:
    if not graphs:
        return float("nan"), float("nan")
    logits = predict_logits(model, graphs, cache=cache)
    y = torch.cat([g.y for g in graphs])
    loss = float(torch.nn.functional.cross_entropy(logits, y))
    acc = float((logits.argmax(1) == y).float().mean())
    return acc, loss


def train_model(model, train, val, config: TrainConfig = TrainConfig(), *, seed: int = 0,
                n_threads: int | None = 1, progress=None) -> FitResult:
    """Train ``model`` in place (see the module docstring); return a :class:`FitResult`.

    Parameters
    ----------
    model : torch.nn.Module
        A model of :mod:`graphclust.gnn.models` (already initialised by the caller, e.g. under
        :func:`seeded`).
    train, val : sequence of Data
        Graphs carrying ``y`` and, for community models, a unique ``graph_id``.
    config : TrainConfig
    seed : int
        Seeds dropout and the batch order.
    n_threads : int or None, default 1
        torch intra-op threads while training (see :class:`~graphclust.gnn._deps.torch_threads`;
        None leaves torch's setting).
    progress : callable, optional
        Called as ``progress(epoch, record)`` after every epoch.
    """
    train, val = list(train), list(val)
    t0 = time.perf_counter()
    history = []
    conv_rates = []
    with seeded(seed), torch_threads(n_threads):
        gen = torch.Generator().manual_seed(int(seed))
        opt = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
        best = (-1.0, float("inf"))
        best_state, best_epoch, since = copy.deepcopy(model.state_dict()), 0, 0
        best_scores = (float("nan"), float("nan"))
        epoch = 0
        for epoch in range(config.epochs + 1):
            cache = None
            if getattr(model, "uses_communities", False):
                from graphclust.gnn.pooling import CommunityCache

                cache = CommunityCache.build(model, train + val)
                conv_rates.append(cache.convergence_rate)
            if val:
                acc, loss = _evaluate(model, val, cache)
                if config.select_by == "loss":
                    better = loss < best[1]
                else:
                    better = acc > best[0] or (acc == best[0] and loss < best[1])
            else:  # no validation graphs: keep the last epoch
                acc, loss = float("nan"), float("nan")
                better = True
            if better:
                best = (acc, loss) if val else best
                best_state, best_epoch, since = copy.deepcopy(model.state_dict()), epoch, 0
                best_scores = (acc, loss)
            else:
                since += 1
            record = {"epoch": epoch, "val_accuracy": acc, "val_loss": loss}
            if epoch == config.epochs or since >= config.patience:
                history.append(record)
                if progress is not None:
                    progress(epoch, record)
                break
            for group in opt.param_groups:
                group["lr"] = config.step_size(epoch)
            model.train()
            total, count = 0.0, 0
            for b in _batches(train, config.batch_size, shuffle=True, generator=gen):
                opt.zero_grad()
                out = _forward(model, b, cache)
                loss_b = torch.nn.functional.cross_entropy(out, b.y)
                loss_b.backward()
                opt.step()
                total += float(loss_b.detach()) * b.num_graphs
                count += b.num_graphs
            record["train_loss"] = total / max(count, 1)
            history.append(record)
            if progress is not None:
                progress(epoch, record)
        model.load_state_dict(best_state)
        model.eval()
    return FitResult(best_epoch=best_epoch, epochs_run=epoch, val_accuracy=best_scores[0],
                     val_loss=best_scores[1], seconds=time.perf_counter() - t0,
                     community_convergence=(sum(conv_rates) / len(conv_rates)) if conv_rates else None,
                     history=history)


def member_seed(seed: int, j: int) -> int:
    """Seed of ensemble member ``j`` of a run with ``seed`` (member 0 keeps the run's seed, so a
    one-member ensemble is the single model)."""
    return int(seed) + 1_000_003 * int(j)


def train_members(build, graphs, splits, config: TrainConfig = TrainConfig(), *, seed: int = 0):
    """Train one model per ``(train, val)`` index pair of ``splits`` (indices into ``graphs``).

    ``build()`` returns a fresh model; it is called under :func:`seeded` with member ``j``'s
    :func:`member_seed`, which also seeds that member's training. Returns ``(models, fits)``.
    """
    models, fits = [], []
    for j, (tr, va) in enumerate(splits):
        s = member_seed(seed, j)
        with seeded(s):
            model = build()
        fits.append(train_model(model, [graphs[i] for i in tr], [graphs[i] for i in va], config,
                                seed=s))
        models.append(model)
    return models, fits


def mean_probabilities(models, graphs) -> "torch.Tensor":
    """The members' mean class probabilities ``(len(graphs), num_classes)`` (eval mode)."""
    graphs = list(graphs)
    return sum(torch.softmax(predict_logits(m, graphs), 1) for m in models) / len(models)
