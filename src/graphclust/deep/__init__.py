"""Deep clustering with PyTorch (``pip install 'graphclust[deep]'``).

Importing this package does **not** import torch: the estimators and the training foundation
load on first use, and a missing torch raises ImportError naming the extra to install.

Public names
------------
``VCC``                Very Compact Clusters (Ma & Kim): an MLP embedding trained on a softmax
                       kNN graph with boundary-point separation, contraction, expansion and a
                       DEC clustering loss.
``resolve_device``     "auto" | "cpu" | "cuda[:i]" -> torch.device (clear error for missing CUDA).
``make_generator``     a seeded ``torch.Generator`` on a device.
``build_mlp``          a ReLU MLP with seeded initialisation.
``TrainingLoop``       the shared epoch loop: progress, history, label-change early stopping,
                       checkpoints and resume, failure on non-finite losses.
``History``            per-epoch records (losses, times, ACC/NMI when labels are known).
"""
from __future__ import annotations

from graphclust._lazy import lazy_names

_LAZY = {
    "VCC": "graphclust.deep.vcc",
    "DGG": "graphclust.deep.dgg",
    "DGG_PRESETS": "graphclust.deep.dgg",
    "VCC_PRESETS": "graphclust.deep.vcc",
    "latent_graph": "graphclust.deep.vcc",
    "LatentGraph": "graphclust.deep.vcc",
    "resolve_device": "graphclust.deep._torch",
    "make_generator": "graphclust.deep._torch",
    "build_mlp": "graphclust.deep._torch",
    "require_torch": "graphclust.deep._torch",
    "TrainingLoop": "graphclust.deep.training",
    "History": "graphclust.deep.training",
    "TrainingDiverged": "graphclust.deep.training",
}

__getattr__, __dir__, __all__ = lazy_names("graphclust.deep", globals(), _LAZY)
