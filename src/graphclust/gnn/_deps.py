"""Optional-dependency guard for :mod:`graphclust.gnn` (torch and torch_geometric).

Every module of ``gnn/`` that needs torch imports it through :func:`require`, so that a missing
dependency fails with one message naming the extra to install instead of a bare
``ModuleNotFoundError`` from deep inside an import chain.
"""
from __future__ import annotations

import importlib

EXTRA_HINT = 'install the "gnn" extra: pip install "graphclust[gnn]" (torch and torch_geometric)'


def require(module: str):
    """Import and return ``module`` or raise ImportError naming the ``gnn`` extra."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:  # pragma: no cover - exercised with a fake import in the tests
        raise ImportError(
            f"graphclust.gnn needs {module.split('.')[0]!r}, which could not be imported ({exc}); "
            f"{EXTRA_HINT}."
        ) from exc


def check_available() -> None:
    """Raise the ImportError above unless torch and torch_geometric import."""
    require("torch")
    require("torch_geometric")


class torch_threads:
    """Context manager: run torch ops with ``n`` intra-op threads, then restore the old value.

    The graphs of graph classification are tiny (MUTAG: 28 nodes at most); torch's OpenMP
    reductions over such tensors gain nothing from threads and, on a loaded machine, can stall
    for seconds at a barrier waiting for a descheduled thread. ``None`` leaves the setting alone.
    """

    def __init__(self, n: int | None):
        self.n = n
        self.old = None

    def __enter__(self):
        if self.n is not None:
            torch = require("torch")
            self.old = torch.get_num_threads()
            torch.set_num_threads(int(self.n))
        return self

    def __exit__(self, *exc):
        if self.old is not None:
            require("torch").set_num_threads(self.old)
        return False
