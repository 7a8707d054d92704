"""Cross-validation protocol for graph classification, with baselines and paired comparisons.

Protocol (:func:`cross_validate`):

1. **Outer split**: stratified ``folds``-fold CV (shuffled with ``split_seed``). The same folds
   are used for every model, so models can be compared fold by fold.
2. **Inner split**: for every fold and every seed, a stratified ``val_fraction`` of the fold's
   training graphs is held out for model selection and early stopping (a different validation
   split per seed). The test fold is used once, to score the selected model.

   With ``inner_folds=K`` the fold's training graphs are instead split into ``K`` stratified
   inner folds, and a neural model becomes an **inner-CV ensemble** of ``K`` members: member
   ``j`` trains on the other ``K - 1`` inner folds and selects its epoch on inner fold ``j``;
   the test graphs are classified by the mean of the members' class probabilities. Every
   training graph then serves for model selection once (not 10 % of them), and averaging the
   members damps the noise of each member's epoch choice. The run's ``val_accuracy`` is the
   members' mean, i.e. the out-of-fold accuracy over all of the fold's training graphs. It costs
   ``K`` trainings per run.
3. **Seeds**: each (fold, seed) is one run with its own initialisation, dropout, batch order and
   validation split (or inner folds). A fold's accuracy is the mean over its seeds.
4. **Summary**: mean ± std over the folds of the per-fold accuracies (std with ``ddof=0``, as in
   the GNN literature's tables); the mean ± std over all runs is also reported.
5. **Paired comparison** (:func:`paired_comparison`): per-fold differences between two models,
   their mean, wins / ties / losses, and the paired t-test and Wilcoxon signed-rank p-values.

Models: the neural models of :data:`graphclust.gnn.models.NEURAL_MODELS` and two baselines
that need no torch training:

* ``"majority"`` — the most frequent class of the training graphs;
* ``"counts"`` — structure-blind: logistic regression on the summed node features (atom-type
  counts for MUTAG), standardised, with ``C`` from ``COUNTS_C_GRID`` chosen by a stratified
  5-fold CV inside the fold's training graphs (train + validation, never the test fold) and
  refit on them: the linear model is cheap enough for the less noisy inner CV.
"""
from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from graphclust._validation import GraphclustError, check_float, check_int

__all__ = ["BASELINES", "MODEL_CHOICES", "CVResult", "cross_validate", "paired_comparison",
           "fold_table", "stratified_inner_folds", "COUNTS_C_GRID"]

BASELINES = ("majority", "counts")
COUNTS_C_GRID = (0.01, 0.1, 1.0, 10.0, 100.0)
COUNTS_INNER_FOLDS = 5


def _neural_names() -> tuple:
    return ("base", "gcn-sum", "gcn-mean-sum", "gin", "gine", "community")

MODEL_CHOICES = BASELINES + _neural_names()


@dataclass(frozen=True, eq=False)
class CVResult:
    """Result of :func:`cross_validate`.

    Attributes
    ----------
    runs : list of dict
        One row per (model, fold, seed): ``model, fold, seed, test_accuracy, val_accuracy,
        val_loss, best_epoch, epochs_run, seconds`` (wall clock), ``cpu_seconds`` (CPU time of
        the process running it), ``n_train, n_val, n_test`` (and ``community_convergence`` for
        the community model, ``C`` for the counts baseline). For an inner-CV ensemble
        (``inner_folds``) the neural rows add ``members`` and give the members' means of
        ``val_accuracy, val_loss, best_epoch, epochs_run``; ``n_train, n_val`` are member 0's.
    folds : list of ndarray
        Test indices of each outer fold.
    models : tuple of str
    seeds : tuple of int
    summary : dict
        Per model: ``mean, std`` (over folds), ``fold_means``, ``run_mean, run_std``,
        ``seconds`` and ``cpu_seconds`` (totals over the runs), ``n_runs``.
    comparisons : list of dict
        :func:`paired_comparison` of the first neural model against every other model.
    example : dict or None
        For the community model: one test molecule of fold 0 (seed ``seeds[0]``) with its
        communities (``graph_id``, ``edge_index``, ``node_labels``, ``communities``,
        ``converged``, ``attention``, ``predicted``, ``true``).
    """

    runs: list
    folds: list
    models: tuple
    seeds: tuple
    summary: dict
    comparisons: list
    example: dict | None = None
    settings: dict = field(default_factory=dict)


def _fold_means(runs, model, n_folds):
    acc = np.full(n_folds, np.nan)
    for f in range(n_folds):
        vals = [r["test_accuracy"] for r in runs if r["model"] == model and r["fold"] == f]
        if vals:
            acc[f] = float(np.mean(vals))
    return acc


def paired_comparison(a: np.ndarray, b: np.ndarray, name_a: str, name_b: str) -> dict:
    """Per-fold paired comparison of accuracies ``a`` and ``b`` (same folds, same order)."""
    from scipy import stats

    a, b = np.asarray(a, float), np.asarray(b, float)
    d = a - b
    out = {"model": name_a, "versus": name_b, "mean_difference": float(d.mean()),
           "std_difference": float(d.std(ddof=1)) if d.size > 1 else 0.0,
           "wins": int((d > 1e-12).sum()), "ties": int((np.abs(d) <= 1e-12).sum()),
           "losses": int((d < -1e-12).sum()), "t_test_p": None, "wilcoxon_p": None}
    if d.size > 1 and np.any(np.abs(d) > 1e-12):
        # nearly equal differences (e.g. 2 folds) make scipy warn about precision; the p-value
        # is still returned, and a clear NaN becomes None below
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            t = stats.ttest_rel(a, b)
        out["t_test_p"] = float(t.pvalue) if np.isfinite(t.pvalue) else None
        try:
            out["wilcoxon_p"] = float(stats.wilcoxon(a, b, zero_method="zsplit").pvalue)
        except ValueError:
            pass
    return out


def stratified_inner_folds(idx: np.ndarray, codes: np.ndarray, k: int, random_state: int, *,
                           what: str = "graphs", where: str = "") -> list:
    """``(train, val)`` pairs of a shuffled stratified ``k``-fold split of ``idx`` (``codes``:
    their class codes 0..C-1): the members of an inner-CV ensemble. A class with fewer than
    ``k`` graphs is a clear error (``what`` and ``where`` word it for the caller)."""
    from sklearn.model_selection import StratifiedKFold

    fewest = int(np.bincount(codes).min())
    if fewest < k:
        raise GraphclustError(f"inner_folds={k} is more than the {fewest} {what} of the smallest "
                              f"class{where}; use inner_folds <= {fewest}.")
    folds = StratifiedKFold(n_splits=k, shuffle=True, random_state=random_state)
    return [(idx[a], idx[b]) for a, b in folds.split(np.zeros(len(idx)), codes)]


def _majority(y_train, n_test):
    values, counts = np.unique(y_train, return_counts=True)
    return np.full(n_test, values[np.argmax(counts)])


def _counts_features(graphs):
    return np.stack([g.x.sum(0).numpy() for g in graphs]).astype(np.float64)


def _counts_model(X, y, X_te, seed: int = 0):
    """Logistic regression on counts; ``C`` chosen by an inner stratified CV on ``X, y``.

    ``X, y`` are all of the fold's training graphs (train + validation; never the test fold), in
    graph order, so the result depends on the set of training graphs and ``seed`` only, not on
    how a neural model splits them. The fold's validation split alone (17 graphs on MUTAG) made
    the choice of ``C`` noisy: it cost this baseline 2.5 points of accuracy on MUTAG (0.819
    against 0.846 with C fixed). A linear model is cheap, so ``C`` is chosen by stratified
    ``COUNTS_INNER_FOLDS``-fold CV on all of them, then refit on them.
    Returns ``(test predictions, inner CV accuracy of the chosen C, C)``.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    def make(C):
        return make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=5000))

    n_splits = int(min(COUNTS_INNER_FOLDS, np.bincount(y).min()))
    if n_splits < 2:
        raise GraphclustError("the counts baseline needs at least 2 training graphs of every "
                              "class in each fold; use fewer folds.")
    cv = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    best_c, best = COUNTS_C_GRID[0], -1.0
    for C in COUNTS_C_GRID:
        acc = float(cross_val_score(make(C), X, y, cv=cv).mean())
        if acc > best + 1e-12:
            best_c, best = C, acc
    model = make(best_c).fit(X, y)
    return model.predict(X_te), best, best_c


def cross_validate(graphs: Sequence, models: Sequence[str] = ("community",), *, folds: int = 10,
                   seeds: Sequence[int] = (0, 1, 2), split_seed: int = 0,
                   val_fraction: float = 0.1, inner_folds: int | None = None, config=None,
                   model_params: dict | None = None, n_threads: int | None = 1, n_jobs: int = 1,
                   progress: Callable[[str], None] | None = None) -> CVResult:
    """Run the protocol of the module docstring.

    Parameters
    ----------
    graphs : sequence of torch_geometric Data (or a :class:`~graphclust.gnn.tu.GraphDataset`)
        Each with ``x``, ``edge_index``, ``y`` and a unique ``graph_id``.
    models : sequence of str
        Names from :data:`MODEL_CHOICES`.
    folds : int, default 10
    seeds : sequence of int, default (0, 1, 2)
    split_seed : int, default 0
        Seed of the outer fold assignment.
    val_fraction : float, default 0.1
        Share of each fold's training graphs held out for model selection (ignored with
        ``inner_folds``).
    inner_folds : int or None, default None
        ``K >= 2``: each neural run is an ensemble of ``K`` members, one per stratified inner
        fold of the fold's training graphs (module docstring, step 2). None: one model and one
        validation split per run.
    config : TrainConfig, optional
    model_params : dict, optional
        ``{model name: {param: value}}`` passed to the model constructors.
    n_threads : int or None, default 1
        torch intra-op threads during the run (None: leave torch's setting).
    n_jobs : int, default 1
        Worker processes; each (fold, seed) is one task. Results do not depend on it.
    progress : callable, optional
        Receives one line of text per finished run.
    """
    from sklearn.model_selection import StratifiedKFold, train_test_split

    from graphclust.gnn.tu import GraphDataset

    graphs = list(graphs.graphs) if isinstance(graphs, GraphDataset) else list(graphs)
    models = tuple(models)
    if not models:
        raise GraphclustError("models is empty; name at least one of "
                              f"{', '.join(MODEL_CHOICES)}.")
    for m in models:
        if m not in MODEL_CHOICES:
            raise GraphclustError(f"unknown model {m!r}; choose from {', '.join(MODEL_CHOICES)}.")
    if len(set(models)) != len(models):
        raise GraphclustError(f"models lists a model twice: {', '.join(models)}.")
    folds = check_int(folds, "folds", low=2)
    seeds = tuple(check_int(s, "seed", low=0) for s in seeds)
    if not seeds:
        raise GraphclustError("seeds is empty; give at least one seed.")
    if len(set(seeds)) != len(seeds):
        raise GraphclustError(f"seeds repeats a seed: {list(seeds)}; give distinct seeds.")
    split_seed = check_int(split_seed, "split_seed", low=0)
    val_fraction = check_float(val_fraction, "val_fraction", low=0.0, low_open=True, high=0.5)
    if inner_folds is not None:
        inner_folds = check_int(inner_folds, "inner_folds", low=2)
    model_params = dict(model_params or {})
    if len(graphs) < folds:
        raise GraphclustError(f"folds={folds} needs at least {folds} graphs; got {len(graphs)}.")
    y = np.array([int(g.y) for g in graphs])
    classes, class_counts = np.unique(y, return_counts=True)
    if classes.size < 2:
        raise GraphclustError("all graphs have the same class; classification needs two or more.")
    if class_counts.min() < folds:
        raise GraphclustError(f"folds={folds} is more than the {int(class_counts.min())} graphs "
                              f"of the smallest class; use folds <= {int(class_counts.min())}.")
    ids = [int(g.graph_id) if getattr(g, "graph_id", None) is not None else None for g in graphs]
    if any(i is None for i in ids) or len(set(ids)) != len(ids):
        raise GraphclustError("every graph needs a unique graph_id (load_tu_dataset sets it).")

    neural = [m for m in models if m not in BASELINES]
    if neural:
        from graphclust.gnn.training import TrainConfig

        config = config or TrainConfig()
    n_jobs = check_int(n_jobs, "n_jobs", low=1)

    skf = StratifiedKFold(n_splits=folds, shuffle=True, random_state=split_seed)
    splits = list(skf.split(np.zeros(len(y)), y))
    tasks = []
    for f, (train_idx, test_idx) in enumerate(splits):
        for seed in seeds:
            if inner_folds is None:
                n_val = max(int(round(val_fraction * len(train_idx))), int(classes.size))
                members = [tuple(train_test_split(train_idx, test_size=n_val,
                                                  stratify=y[train_idx],
                                                  random_state=seed * 1000 + f))]
            else:
                members = stratified_inner_folds(train_idx, y[train_idx], inner_folds,
                                                 seed * 1000 + f, what="training graphs",
                                                 where=f" in outer fold {f + 1}")
            tasks.append((f, seed, members, test_idx))
    job = dict(models=models, config=config, model_params=model_params, n_threads=n_threads)
    runs: list[dict] = []
    example = None

    def collect(task, rows, ex):
        nonlocal example
        runs.extend(rows)
        if ex is not None and task[0] == 0 and task[1] == seeds[0]:
            example = ex
        if progress is not None:
            for row in rows:
                progress(f"fold {row['fold'] + 1}/{folds} seed {row['seed']} {row['model']}: test "
                         f"accuracy {row['test_accuracy']:.3f} (val {row['val_accuracy']:.3f}, "
                         f"{row['seconds']:.1f} s)")

    if n_jobs == 1 or len(tasks) == 1:
        for task in tasks:
            collect(task, *_run_task(graphs, y, task, want_example=task[:2] == (0, seeds[0]),
                                     **job))
    else:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        # spawn: a fresh interpreter per worker (forking a process that holds torch's thread
        # pools is unsafe); results are re-sorted below, so scheduling cannot change them
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=min(n_jobs, len(tasks)), mp_context=ctx) as pool:
            futures = [pool.submit(_run_task, graphs, y, task,
                                   want_example=task[:2] == (0, seeds[0]), **job) for task in tasks]
            for task, fut in zip(tasks, futures):
                collect(task, *fut.result())
    order = {m: i for i, m in enumerate(models)}
    runs.sort(key=lambda r: (r["fold"], seeds.index(r["seed"]), order[r["model"]]))

    summary = {}
    means = {}
    for name in models:
        fm = _fold_means(runs, name, folds)
        accs = np.array([r["test_accuracy"] for r in runs if r["model"] == name])
        means[name] = fm
        summary[name] = {"mean": float(fm.mean()), "std": float(fm.std(ddof=0)),
                         "fold_means": fm.tolist(), "run_mean": float(accs.mean()),
                         "run_std": float(accs.std(ddof=0)), "n_runs": int(accs.size),
                         "seconds": float(sum(r["seconds"] for r in runs if r["model"] == name)),
                         "cpu_seconds": float(sum(r["cpu_seconds"] for r in runs
                                                  if r["model"] == name))}
    ref = "community" if "community" in models else models[0]
    comparisons = [paired_comparison(means[ref], means[m], ref, m) for m in models if m != ref]
    settings = {"folds": folds, "seeds": list(seeds), "split_seed": split_seed,
                "val_fraction": None if inner_folds else val_fraction,
                "inner_folds": inner_folds, "model_params": model_params,
                "train": None if config is None else dict(config.__dict__)}
    return CVResult(runs=runs, folds=[np.asarray(t) for _, t in splits], models=models,
                    seeds=seeds, summary=summary, comparisons=comparisons, example=example,
                    settings=settings)


def _run_task(graphs, y, task, *, models, config, model_params, n_threads, want_example):
    """Every model on one (fold, seed): returns (rows, example or None).

    ``task`` is ``(fold, seed, members, test_idx)`` where ``members`` lists ``(train, val)``
    index pairs: one for the validation-split protocol, ``K`` for an inner-CV ensemble. The
    baselines use the union of the first pair, i.e. all of the fold's training graphs.
    """
    f, seed, members, test_idx = task
    tr, va = members[0]
    neural = [m for m in models if m not in BASELINES]
    if neural:
        from graphclust.gnn._deps import torch_threads
        from graphclust.gnn.models import build_model, edge_dim_of
        from graphclust.gnn.training import mean_probabilities, train_members
    else:
        from contextlib import nullcontext

        def torch_threads(_):
            return nullcontext()
    n_features = int(graphs[0].x.shape[1])
    edge_dim = edge_dim_of(graphs) if neural else None
    n_classes = int(y.max()) + 1
    rows, example = [], None
    with torch_threads(n_threads):
        for name in models:
            t0, c0 = time.perf_counter(), time.process_time()
            row = {"model": name, "fold": f, "seed": seed, "n_train": len(tr), "n_val": len(va),
                   "n_test": len(test_idx)}
            if name == "majority":
                pred = _majority(y[np.concatenate([tr, va])], len(test_idx))
                row.update(val_accuracy=float((_majority(y[tr], len(va)) == y[va]).mean()),
                           best_epoch=None, epochs_run=None)
            elif name == "counts":
                X = _counts_features(graphs)
                fit_idx = np.sort(np.concatenate([tr, va]))
                pred, vacc, C = _counts_model(X[fit_idx], y[fit_idx], X[test_idx], seed=seed)
                row.update(val_accuracy=vacc, best_epoch=None, epochs_run=None, C=C)
            else:
                params = dict(model_params.get(name, {}))
                test_graphs = [graphs[i] for i in test_idx]
                fitted, fits = train_members(
                    lambda: build_model(name, n_features, n_classes, edge_dim=edge_dim, **params),
                    graphs, members, config, seed=seed)
                pred = mean_probabilities(fitted, test_graphs).argmax(1).numpy()
                if len(fits) == 1:
                    row.update(val_accuracy=fits[0].val_accuracy, val_loss=fits[0].val_loss,
                               best_epoch=fits[0].best_epoch, epochs_run=fits[0].epochs_run)
                else:  # members' means; val_accuracy = out-of-fold accuracy on the training graphs
                    row.update({key: float(np.mean([getattr(r, key) for r in fits]))
                                for key in ("val_accuracy", "val_loss", "best_epoch",
                                            "epochs_run")}, members=len(fits))
                rates = [r.community_convergence for r in fits
                         if r.community_convergence is not None]
                if rates:
                    row["community_convergence"] = float(np.mean(rates))
                if name == "community" and want_example:
                    example = _example(fitted[0], test_graphs, pred)
            row["test_accuracy"] = float((pred == y[test_idx]).mean())
            row["seconds"] = time.perf_counter() - t0
            row["cpu_seconds"] = time.process_time() - c0
            rows.append(row)
    return rows, example


def _example(model, test_graphs, pred) -> dict:
    """One test molecule with its communities, for the plot (the largest of the first five)."""
    import torch

    from torch_geometric.data import Batch

    i = int(np.argmax([g.num_nodes for g in test_graphs[:5]]))
    g = test_graphs[i]
    b = Batch.from_data_list([g])
    with torch.no_grad():
        _, det = model(b.x, b.edge_index, b.batch, num_graphs=1, return_details=True,
                       edge_attr=getattr(b, "edge_attr", None))
    return {"graph_id": int(g.graph_id), "edge_index": g.edge_index.numpy().tolist(),
            "node_labels": (g.node_label if getattr(g, "node_label", None) is not None
                            else g.x.argmax(1)).numpy().tolist(),
            "communities": det["communities"].local.numpy().tolist(),
            "converged": bool(det["communities"].converged[0]),
            "attention": det["attention"].numpy().tolist(),
            "predicted": int(pred[i]), "true": int(g.y)}


def fold_table(result: CVResult) -> list[dict]:
    """Per-fold table: one row per fold, a column per model (accuracy averaged over seeds)."""
    rows = []
    for f in range(len(result.folds)):
        row = {"fold": f + 1, "n_test": int(len(result.folds[f]))}
        for name in result.models:
            row[name] = result.summary[name]["fold_means"][f]
        rows.append(row)
    return rows
