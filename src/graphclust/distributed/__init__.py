"""The spectral pipeline on MPI ranks (row blocks); needs ``pip install 'graphclust[mpi]'``.

mpi4py is imported only when a function here is called, so ``import graphclust`` (and even
``import graphclust.distributed``) works without MPI. Run under ``mpiexec -n P``::

    from graphclust.distributed import spectral_clustering_mpi
    res = spectral_clustering_mpi("points.npy", n_clusters=10, random_state=0)

or ``mpiexec -n P graphclust spectral INPUT --mpi ...``. See docs/mpi.md.
"""
from __future__ import annotations

__all__ = ["spectral_clustering_mpi", "MPIResult"]


def __getattr__(name):
    if name in __all__:
        from graphclust.distributed import pipeline

        return getattr(pipeline, name)
    raise AttributeError(f"module 'graphclust.distributed' has no attribute {name!r}")
