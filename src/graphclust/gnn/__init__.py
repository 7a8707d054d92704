"""Graph classification with GCNs and affinity-propagation community pooling (torch_geometric).

Needs the ``gnn`` extra (``pip install "graphclust[gnn]"``: torch and torch_geometric). Nothing
heavy is imported by ``import graphclust`` or ``import graphclust.gnn``: every name below is
resolved on first use, and a missing dependency then raises ImportError naming the extra.

Pieces (one module each):

* :func:`read_tu_arrays`, :func:`load_tu_dataset` — TU-format reader (``tu``);
* :func:`batched_affinity_propagation` — affinity propagation over a padded batch (``affinity``);
* :class:`CommunityPooling`, :class:`CommunityCache` — select / connect / reduce (``pooling``);
* :class:`GCN`, :class:`GIN`, :class:`CommunityGCN` — the models (``models``);
* :func:`train_model`, :class:`TrainConfig` — training with validation early stopping
  (``training``);
* :func:`cross_validate`, :func:`paired_comparison` — the evaluation protocol with baselines
  (``cv``);
* :class:`GraphClassifier` — fit / predict / score (``estimator``);
* ``graphclust gnn`` — the command line (``cli``).
"""
from __future__ import annotations

from graphclust._lazy import lazy_names

_LAZY = {
    "read_tu_arrays": "graphclust.gnn.tu",
    "load_tu_dataset": "graphclust.gnn.tu",
    "GraphDataset": "graphclust.gnn.tu",
    "TUArrays": "graphclust.gnn.tu",
    "batched_affinity_propagation": "graphclust.gnn.affinity",
    "similarity_matrix": "graphclust.gnn.affinity",
    "CommunityPooling": "graphclust.gnn.pooling",
    "CommunityCache": "graphclust.gnn.pooling",
    "SelectOutput": "graphclust.gnn.pooling",
    "GCN": "graphclust.gnn.models",
    "GIN": "graphclust.gnn.models",
    "CommunityGCN": "graphclust.gnn.models",
    "build_model": "graphclust.gnn.models",
    "TrainConfig": "graphclust.gnn.training",
    "FitResult": "graphclust.gnn.training",
    "train_model": "graphclust.gnn.training",
    "predict_logits": "graphclust.gnn.training",
    "cross_validate": "graphclust.gnn.cv",
    "paired_comparison": "graphclust.gnn.cv",
    "CVResult": "graphclust.gnn.cv",
    "GraphClassifier": "graphclust.gnn.estimator",
}

__getattr__, __dir__, __all__ = lazy_names("graphclust.gnn", globals(), _LAZY)
