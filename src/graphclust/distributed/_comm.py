"""MPI plumbing: a communicator wrapper that counts bytes per stage, and fault handling.

Every collective used by the distributed pipeline goes through :class:`Net`, which records the
bytes *this rank sends* in the logical pattern of the operation (the MPI library may move more
or fewer bytes internally):

* ``bcast``: the root sends ``nbytes * (P - 1)``;
* ``allgatherv``: every rank sends its part to the ``P - 1`` others;
* ``alltoallv``: every rank sends what it addresses to other ranks (not to itself);
* ``allsum`` (Reduce to rank 0, then Bcast): non-roots send ``nbytes``, the root ``nbytes (P-1)``.

Reductions are Reduce + Bcast rather than Allreduce so that every rank holds *bit-identical*
results: the block eigensolver diagonalises the reduced Gram matrices on every rank, and a
last-bit difference inside a degenerate eigenspace would rotate the ranks' rows differently.
"""
from __future__ import annotations

import contextlib
import sys
import time
import traceback

import numpy as np

from graphclust._validation import GraphclustError

__all__ = ["Net", "get_comm", "block_offsets"]


def get_comm(comm=None):
    """``comm`` or MPI.COMM_WORLD (mpi4py imported here, lazily)."""
    try:
        from mpi4py import MPI
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError(
            "the MPI pipeline needs mpi4py and an MPI library: pip install 'graphclust[mpi]' "
            "(mpi4py + MPICH from PyPI), then run with mpiexec -n P ..."
        ) from None
    return MPI.COMM_WORLD if comm is None else comm


def block_offsets(n: int, size: int) -> np.ndarray:
    """Row offsets of an even 1-D block distribution: rank r owns rows off[r]:off[r+1]."""
    counts = np.full(size, n // size, dtype=np.int64)
    counts[: n % size] += 1
    return np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)


class Net:
    """A communicator with byte accounting per stage and collective error handling."""

    def __init__(self, comm):
        from mpi4py import MPI

        self.MPI = MPI
        self.comm = comm
        self.rank = comm.Get_rank()
        self.size = comm.Get_size()
        self.stage_name = "bookkeeping"
        self.bytes_sent: dict[str, int] = {}
        self.timings: dict[str, float] = {}

    # -- accounting ---------------------------------------------------------------------------
    def _count(self, nbytes: int) -> None:
        self.bytes_sent[self.stage_name] = self.bytes_sent.get(self.stage_name, 0) + int(nbytes)

    @contextlib.contextmanager
    def stage(self, name: str):
        """Time a stage and attribute its messages to it. An exception on this rank while other
        ranks may be inside a collective cannot be recovered: it is printed with the rank and
        the stage, and the whole job is aborted (no hang). With one rank it is simply raised."""
        from graphclust import _progress

        previous = self.stage_name
        self.stage_name = name
        if self.rank == 0:
            _progress.message(f"{name} ...")
        t0 = time.perf_counter()
        try:
            yield
        except GraphclustCollectiveError:
            raise  # every rank raises it together
        except BaseException as exc:  # noqa: BLE001 - we must not hang the other ranks
            if self.size == 1:
                raise
            self.abort(exc, name)
        finally:
            self.timings[name] = self.timings.get(name, 0.0) + time.perf_counter() - t0
            self.stage_name = previous
        if self.rank == 0:
            _progress.message(f"{name} done in {self.timings[name]:.3f} s")

    def abort(self, exc: BaseException, where: str) -> None:  # pragma: no cover - kills the job
        kind = "error" if isinstance(exc, GraphclustError) else type(exc).__name__
        msg = f"graphclust: {kind} on MPI rank {self.rank} of {self.size} in stage '{where}': {exc}"
        if not isinstance(exc, GraphclustError):
            tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
            sys.stderr.write(tb)
        sys.stderr.write(msg + "\n")
        sys.stderr.flush()
        sys.stdout.flush()
        self.comm.Abort(2 if isinstance(exc, GraphclustError) else 1)

    def agree(self, error: str | None) -> None:
        """Collective check: if any rank passes an error message, every rank raises it (the
        lowest failing rank's message), so a bad input is reported once and nobody hangs."""
        errors = self.comm.allgather(error)
        bad = [(r, e) for r, e in enumerate(errors) if e is not None]
        if bad:
            r, e = bad[0]
            raise GraphclustCollectiveError(e if self.size == 1 or all(x == e for _, x in bad)
                                            else f"on MPI rank {r}: {e}")

    # -- collectives --------------------------------------------------------------------------
    def bcast_obj(self, obj, root: int = 0):
        import pickle

        if self.rank == root:
            self._count(len(pickle.dumps(obj)) * (self.size - 1))
        return self.comm.bcast(obj, root=root)

    def allgather_obj(self, obj):
        import pickle

        self._count(len(pickle.dumps(obj)) * (self.size - 1))
        return self.comm.allgather(obj)

    def Bcast(self, arr: np.ndarray, root: int = 0) -> np.ndarray:
        if self.size > 1:
            if self.rank == root:
                self._count(arr.nbytes * (self.size - 1))
            self.comm.Bcast(arr, root=root)
        return arr

    def allsum(self, arr) -> np.ndarray:
        """Sum over ranks, bit-identical on every rank (Reduce to 0 in rank order + Bcast)."""
        arr = np.ascontiguousarray(arr, dtype=np.float64)
        if self.size == 1:
            return arr.copy()
        out = np.empty_like(arr)
        self._count(arr.nbytes * (1 if self.rank else 0))
        self.comm.Reduce(arr, out, op=self.MPI.SUM, root=0)
        return self.Bcast(out)

    def allmin(self, arr) -> np.ndarray:
        arr = np.ascontiguousarray(arr)
        if self.size == 1:
            return arr.copy()
        out = np.empty_like(arr)
        self._count(arr.nbytes * (self.size - 1))
        self.comm.Allreduce(arr, out, op=self.MPI.MIN)
        return out

    def allgatherv(self, local: np.ndarray, counts) -> np.ndarray:
        """Concatenate every rank's ``local`` (first axis) in rank order, on every rank."""
        local = np.ascontiguousarray(local)
        counts = np.asarray(counts, dtype=np.int64)
        row = int(np.prod(local.shape[1:])) if local.ndim > 1 else 1
        out = np.empty((int(counts.sum()),) + local.shape[1:], dtype=local.dtype)
        if self.size == 1:
            out[...] = local
            return out
        self._count(local.nbytes * (self.size - 1))
        c = counts * row
        displ = np.concatenate([[0], np.cumsum(c)[:-1]])
        mpi_t = self.MPI._typedict[local.dtype.char]
        self.comm.Allgatherv([local, mpi_t], [out, (c, displ), mpi_t])
        return out

    def alltoallv(self, send: np.ndarray, send_counts) -> tuple[np.ndarray, np.ndarray]:
        """``send`` holds rows for rank 0, then rank 1, ... (``send_counts`` rows each); returns
        the rows received from every rank (in rank order) and their counts."""
        send = np.ascontiguousarray(send)
        send_counts = np.asarray(send_counts, dtype=np.int64)
        recv_counts = np.empty(self.size, dtype=np.int64)
        self.comm.Alltoall(send_counts, recv_counts)
        self._count(8 * (self.size - 1))
        row = int(np.prod(send.shape[1:])) if send.ndim > 1 else 1
        recv = np.empty((int(recv_counts.sum()),) + send.shape[1:], dtype=send.dtype)
        sc, rc = send_counts * row, recv_counts * row
        sd = np.concatenate([[0], np.cumsum(sc)[:-1]])
        rd = np.concatenate([[0], np.cumsum(rc)[:-1]])
        own = int(send_counts[self.rank]) * row * send.itemsize
        self._count(send.nbytes - own)
        mpi_t = self.MPI._typedict[send.dtype.char]
        self.comm.Alltoallv([send, (sc, sd), mpi_t], [recv, (rc, rd), mpi_t])
        return recv, recv_counts

    def gatherv(self, local: np.ndarray, counts, root: int = 0):
        local = np.ascontiguousarray(local)
        counts = np.asarray(counts, dtype=np.int64)
        row = int(np.prod(local.shape[1:])) if local.ndim > 1 else 1
        if self.size == 1:
            return local.copy()
        if self.rank != root:
            self._count(local.nbytes)
        mpi_t = self.MPI._typedict[local.dtype.char]
        if self.rank == root:
            out = np.empty((int(counts.sum()),) + local.shape[1:], dtype=local.dtype)
            c = counts * row
            displ = np.concatenate([[0], np.cumsum(c)[:-1]])
            self.comm.Gatherv([local, mpi_t], [out, (c, displ), mpi_t], root=root)
            return out
        self.comm.Gatherv([local, mpi_t], None, root=root)
        return None

    def scatterv(self, full, counts, shape_tail=(), dtype=np.float64, root: int = 0) -> np.ndarray:
        counts = np.asarray(counts, dtype=np.int64)
        row = int(np.prod(shape_tail)) if shape_tail else 1
        out = np.empty((int(counts[self.rank]),) + tuple(shape_tail), dtype=dtype)
        if self.size == 1:
            out[...] = full
            return out
        mpi_t = self.MPI._typedict[np.dtype(dtype).char]
        if self.rank == root:
            full = np.ascontiguousarray(full, dtype=dtype)
            self._count(full.nbytes - out.nbytes)
            c = counts * row
            displ = np.concatenate([[0], np.cumsum(c)[:-1]])
            self.comm.Scatterv([full, (c, displ), mpi_t], [out, mpi_t], root=root)
        else:
            self.comm.Scatterv(None, [out, mpi_t], root=root)
        return out


class GraphclustCollectiveError(GraphclustError):
    """A GraphclustError raised on every rank at once (collectively detected)."""
