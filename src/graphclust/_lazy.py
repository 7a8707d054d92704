"""Lazy public names for a package: ``__getattr__`` / ``__dir__`` that import on first use.

Keeps ``import graphclust`` (and ``graphclust.deep``, ``graphclust.gnn``) free of numba, torch,
torch_geometric and friends until a name that needs them is touched.
"""
from __future__ import annotations

import importlib


def lazy_names(package: str, namespace: dict, names: dict, submodules=(), extra=()):
    """Return ``(__getattr__, __dir__, __all__)`` for ``package``.

    ``names`` maps a public name to the module that defines it; ``submodules`` are imported as
    ``package.<name>``. A resolved value is cached in ``namespace`` (the package's globals), so
    each name is imported once.
    """
    subs = frozenset(submodules)
    public = sorted(names) + sorted(subs) + list(extra)

    def __getattr__(name: str):
        if name in names:
            value = getattr(importlib.import_module(names[name]), name)
        elif name in subs:
            value = importlib.import_module(f"{package}.{name}")
        else:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        namespace[name] = value
        return value

    def __dir__():
        return public

    return __getattr__, __dir__, public
