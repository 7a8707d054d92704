"""scikit-learn style estimator for graph classification: ``GraphClassifier``.

>>> from graphclust.gnn import GraphClassifier, load_tu_dataset     # doctest: +SKIP
>>> ds = load_tu_dataset("../shared/data/MUTAG")                      # doctest: +SKIP
>>> clf = GraphClassifier("community", k=2, random_state=0).fit(ds[:150])   # doctest: +SKIP
>>> clf.score(ds[150:])                                               # doctest: +SKIP

``fit`` holds out a stratified ``validation_fraction`` of the graphs it is given for early
stopping and epoch selection (see :mod:`graphclust.gnn.training`); with ``inner_folds=K`` it
fits an ensemble instead: one member per stratified fold of the graphs, each selecting its epoch
on its own fold, and ``predict_proba`` averages the members' probabilities (the protocol of
:func:`graphclust.gnn.cv.cross_validate` with ``inner_folds``). ``predict`` returns labels (values
of ``classes_``, the sorted labels seen in ``fit``).
"""
from __future__ import annotations

import numpy as np

from graphclust._validation import GraphclustError, check_choice, check_float, check_int

__all__ = ["GraphClassifier"]

_NEURAL = ("base", "gcn-sum", "gcn-mean-sum", "gin", "gine", "community")


def _as_graphs(graphs, name="graphs") -> list:
    from graphclust.gnn.tu import GraphDataset

    if isinstance(graphs, GraphDataset):
        graphs = graphs.graphs
    try:
        graphs = list(graphs)
    except TypeError:
        raise GraphclustError(f"{name} must be a sequence of torch_geometric Data objects, got "
                              f"{type(graphs).__name__}.") from None
    if not graphs:
        raise GraphclustError(f"{name} is empty; give at least one graph.")
    for i, g in enumerate(graphs):
        x = getattr(g, "x", None)
        ei = getattr(g, "edge_index", None)
        if x is None or ei is None:
            raise GraphclustError(f"{name}[{i}] needs node features 'x' and 'edge_index' "
                                  f"(got {type(g).__name__}).")
        if x.dim() != 2:
            raise GraphclustError(f"Expected 'x' of {name}[{i}] to be 2-D (got {x.dim()} dimensions).")
        if ei.dim() != 2 or ei.shape[0] != 2:
            raise GraphclustError(f"Expected 'edge_index' of {name}[{i}] to have shape (2, m) "
                                  f"(got {tuple(ei.shape)}).")
        if ei.numel() and (int(ei.min()) < 0 or int(ei.max()) >= x.shape[0]):
            raise GraphclustError(f"edge_index of {name}[{i}] refers to node ids outside "
                                  f"0..{x.shape[0] - 1}.")
    width = graphs[0].x.shape[1]
    for i, g in enumerate(graphs):
        if g.x.shape[1] != width:
            raise GraphclustError(f"{name}[{i}] has {g.x.shape[1]} node features, {name}[0] has "
                                  f"{width}; all graphs need the same features.")
    return graphs


def _with_ids(graphs) -> list:
    """Shallow copies carrying graph_id = position and float node features."""
    import torch

    out = []
    for i, g in enumerate(graphs):
        h = g.clone()
        h.graph_id = torch.tensor([i], dtype=torch.long)
        h.x = h.x.to(torch.float32)
        out.append(h)
    return out


class GraphClassifier:
    """Graph classifier with fit / predict / score.

    Parameters
    ----------
    model : {"community", "base", "gcn-sum", "gcn-mean-sum", "gin", "gine"}, default "community"
    hidden : int, default 64
    k : int, default 2
        Communities attended (community model only).
    similarity : {"cosine", "neg_sq_euclidean"}, default "cosine"
        Community model only.
    readout : {"mean", "sum", "mean+sum"}, default "mean+sum"
        Graph readout of the community model (the GCN models fix theirs by name).
    conv : {"gcn", "gin", "gine"}, default "gcn"
        Message-passing layers of the community model; "gine" feeds the graphs' ``edge_attr``
        (e.g. MUTAG's bond types) into every message.
    epochs, lr, weight_decay, batch_size, patience, select_by, lr_schedule
        See :class:`~graphclust.gnn.training.TrainConfig`. The defaults (150 epochs, Adam lr
        0.003 cosine-annealed, patience 150, i.e. every epoch trained and the best kept) are
        the setting measured in benchmarks/RESULTS_gnn.md, Addendum 5; a constant lr 0.01 with
        early stopping cost every neural model 0.014-0.071 of accuracy on MUTAG.
    validation_fraction : float, default 0.1
        Share of the graphs held out for epoch selection (ignored with ``inner_folds``).
    inner_folds : int or None, default None
        ``K >= 2``: fit ``K`` members, member ``j`` trained on the other folds of a stratified
        ``K``-fold split of the graphs and selecting its epoch on fold ``j``; predictions average
        the members' probabilities. Costs ``K`` fits; damps the noise of choosing an epoch on a
        small validation split.
    random_state : int, default 0
    n_threads : int or None, default 1
        torch intra-op threads while fitting / predicting (None: leave torch's setting).

    Attributes
    ----------
    models_ : list of torch.nn.Module
        The fitted model, or the ``inner_folds`` members.
    model_ : torch.nn.Module
        ``models_[0]``.
    classes_ : ndarray
        Sorted labels seen in ``fit`` (``y`` of the graphs, or the ``y`` argument).
    fit_results_ : list of FitResult
        One per model of ``models_``; ``fit_result_`` is the first.
    """

    def __init__(self, model: str = "community", *, hidden: int = 64, k: int = 2,
                 similarity: str = "cosine", readout: str = "mean+sum", conv: str = "gcn",
                 epochs: int = 150,
                 lr: float = 0.003, weight_decay: float = 0.0, batch_size: int = 32,
                 patience: int = 150, select_by: str = "accuracy",
                 lr_schedule: str = "cosine", validation_fraction: float = 0.1,
                 inner_folds: int | None = None,
                 random_state: int = 0, n_threads: int | None = 1):
        self.model = model
        self.hidden = hidden
        self.k = k
        self.similarity = similarity
        self.readout = readout
        self.conv = conv
        self.epochs = epochs
        self.lr = lr
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.patience = patience
        self.select_by = select_by
        self.lr_schedule = lr_schedule
        self.validation_fraction = validation_fraction
        self.inner_folds = inner_folds
        self.random_state = random_state
        self.n_threads = n_threads

    _PARAMS = ("model", "hidden", "k", "similarity", "readout", "conv", "epochs", "lr",
               "weight_decay", "batch_size", "patience", "select_by", "lr_schedule",
               "validation_fraction",
               "inner_folds", "random_state", "n_threads")

    def get_params(self, deep: bool = True) -> dict:
        return {p: getattr(self, p) for p in self._PARAMS}

    def set_params(self, **params):
        for key, value in params.items():
            if key not in self._PARAMS:
                raise GraphclustError(f"unknown parameter {key!r} for GraphClassifier; valid: "
                                      f"{', '.join(self._PARAMS)}.")
            setattr(self, key, value)
        return self

    def __repr__(self) -> str:
        return f"GraphClassifier(model={self.model!r}, random_state={self.random_state!r})"

    def _model_params(self) -> dict:
        p = {"hidden": check_int(self.hidden, "hidden", low=1)}
        if self.model == "community":
            p.update(k=check_int(self.k, "k", low=1), similarity=self.similarity,
                     readout=self.readout, conv=self.conv)
        return p

    def fit(self, graphs, y=None):
        """Fit on graphs (their ``y``, or the ``y`` argument: one label per graph)."""
        from sklearn.model_selection import train_test_split

        from graphclust.gnn._deps import torch_threads
        from graphclust.gnn.cv import stratified_inner_folds
        from graphclust.gnn.models import build_model, edge_dim_of
        from graphclust.gnn.training import TrainConfig, train_members

        check_choice(self.model, "model", _NEURAL)
        seed = check_int(self.random_state, "random_state", low=0)
        frac = check_float(self.validation_fraction, "validation_fraction", low=0.0, high=0.5)
        inner = None if self.inner_folds is None else check_int(self.inner_folds, "inner_folds",
                                                                low=2)
        graphs = _as_graphs(graphs)
        labels = self._labels(graphs, y)
        self.classes_, codes = np.unique(labels, return_inverse=True)
        if self.classes_.size < 2:
            raise GraphclustError("fit needs graphs of at least two classes; all have label "
                                  f"{self.classes_[0]!r}.")
        config = TrainConfig(epochs=self.epochs, lr=self.lr, weight_decay=self.weight_decay,
                             batch_size=self.batch_size, patience=self.patience,
                             select_by=self.select_by, lr_schedule=self.lr_schedule)
        import torch

        data = _with_ids(graphs)
        for g, c in zip(data, codes):
            g.y = torch.tensor([int(c)], dtype=torch.long)
        idx = np.arange(len(data))
        if inner is not None:
            splits = stratified_inner_folds(idx, codes, inner, seed)
        elif frac > 0:
            n_val = max(int(round(frac * len(data))), self.classes_.size)
            try:
                splits = [train_test_split(idx, test_size=n_val, stratify=codes,
                                           random_state=seed)]
            except ValueError:
                splits = [train_test_split(idx, test_size=n_val, random_state=seed)]
        else:
            splits = [(idx, idx[:0])]
        self.n_features_in_ = int(data[0].x.shape[1])
        params, edge_dim = self._model_params(), edge_dim_of(data)
        with torch_threads(self.n_threads):
            self.models_, self.fit_results_ = train_members(
                lambda: build_model(self.model, self.n_features_in_, int(self.classes_.size),
                                    edge_dim=edge_dim, **params),
                data, splits, config, seed=seed)
        self.model_, self.fit_result_ = self.models_[0], self.fit_results_[0]
        return self

    @staticmethod
    def _labels(graphs, y):
        if y is not None:
            labels = np.asarray(y)
            if labels.ndim != 1 or labels.shape[0] != len(graphs):
                raise GraphclustError(f"y must be 1-D with one label per graph ({len(graphs)}); "
                                      f"got shape {labels.shape}.")
            return labels
        missing = [i for i, g in enumerate(graphs) if getattr(g, "y", None) is None]
        if missing:
            raise GraphclustError(f"graph {missing[0]} has no 'y'; pass y= or set graph.y.")
        return np.array([int(g.y) for g in graphs])

    def _check_fitted(self):
        if not hasattr(self, "model_"):
            raise GraphclustError("this GraphClassifier is not fitted yet; call fit first.")

    def predict_proba(self, graphs) -> np.ndarray:
        """Class probabilities ``(n_graphs, n_classes)``."""
        from graphclust.gnn._deps import torch_threads
        from graphclust.gnn.training import mean_probabilities

        self._check_fitted()
        graphs = _as_graphs(graphs)
        if graphs[0].x.shape[1] != self.n_features_in_:
            raise GraphclustError(f"graphs have {graphs[0].x.shape[1]} node features; the model "
                                  f"was fitted with {self.n_features_in_}.")
        with torch_threads(self.n_threads):
            return mean_probabilities(self.models_, _with_ids(graphs)).numpy()

    def predict(self, graphs) -> np.ndarray:
        """Predicted labels (values of ``classes_``)."""
        proba = self.predict_proba(graphs)
        return self.classes_[proba.argmax(1)]

    def score(self, graphs, y=None) -> float:
        """Accuracy on graphs (their ``y``, or the ``y`` argument)."""
        graphs = _as_graphs(graphs)
        labels = self._labels(graphs, y)
        return float((self.predict(graphs) == labels).mean())
