"""The epoch loop shared by graphclust's deep estimators.

A *task* (duck-typed; VCC's is :class:`graphclust.deep.vcc._VCCTask`) owns the model, the data
on the device and the optimiser, and exposes::

    n_steps(epoch) -> int                 optimisation steps in this epoch
    begin_epoch(epoch) -> None            e.g. refresh the DEC target distribution
    step(epoch, step) -> dict[str, Tensor]  one optimisation step; detached scalar losses
                                           ("loss" is the total)
    end_epoch(epoch) -> dict              evaluation: may hold "labels" (ndarray) and scalars
    tolerance_active(epoch) -> bool       whether label-change early stopping may fire
    state_dict() / load_state_dict(d)     everything needed to resume bit-identically
    fingerprint() -> str                  identifies data + parameters (checked on resume)

:class:`TrainingLoop` runs epochs, sums the losses on the device (one host sync per
``check_every`` steps), fails with :class:`TrainingDiverged` on a non-finite loss, records a
:class:`History`, reports progress, stops early when fewer than ``tol`` of the labels changed
for ``patience`` consecutive epochs (as DEC does), and writes checkpoints atomically. On
``KeyboardInterrupt`` the state at the end of the last completed epoch is written to the
checkpoint (when one is configured) before the interrupt propagates, so ``resume`` continues
exactly where an uninterrupted run would be.
"""
from __future__ import annotations

import copy
import os
import time
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from graphclust import _progress
from graphclust._validation import GraphclustError
from graphclust.deep._torch import require_torch

torch = require_torch()

__all__ = ["TrainingLoop", "History", "TrainingDiverged", "save_checkpoint", "load_checkpoint",
           "CHECKPOINT_FORMAT"]

CHECKPOINT_FORMAT = "graphclust-deep-checkpoint/1"


class TrainingDiverged(GraphclustError, FloatingPointError):
    """A loss became NaN or infinite; training stopped instead of producing garbage."""


class History:
    """Per-epoch training records (a list of flat dicts of numbers).

    Every record has ``epoch`` (1-based, completed epochs), ``seconds`` (wall time of the epoch
    including its evaluation), the mean of each loss term over the epoch's steps, and whatever
    the task's evaluation returned (e.g. ``label_change``, ``acc``, ``nmi``, ``beta``).
    """

    def __init__(self, records: Sequence[dict] | None = None):
        self.records: list[dict] = [dict(r) for r in (records or [])]

    def append(self, record: dict) -> None:
        self.records.append(dict(record))

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, i):
        return self.records[i]

    def __iter__(self):
        return iter(self.records)

    def keys(self) -> list[str]:
        seen: dict[str, None] = {}
        for r in self.records:
            for k in r:
                seen.setdefault(k, None)
        return list(seen)

    def column(self, name: str) -> np.ndarray:
        """Values of one field per epoch (NaN where an epoch lacks it)."""
        return np.array([float(r.get(name, np.nan)) if r.get(name) is not None else np.nan
                         for r in self.records])

    def to_list(self) -> list[dict]:
        return [dict(r) for r in self.records]

    def __repr__(self) -> str:
        return f"History({len(self.records)} epochs, fields={self.keys()})"


def save_checkpoint(path, payload: dict) -> Path:
    """Write ``payload`` with ``torch.save`` atomically (temporary file, fsync, rename)."""
    path = Path(os.fspath(path)).expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as fh:
            torch.save(payload, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        try:
            tmp.unlink()
        except OSError:
            pass
        raise GraphclustError(f"cannot write checkpoint {str(path)!r}: {exc.strerror or exc}.") from None
    return path


def load_checkpoint(path) -> dict:
    """Read a checkpoint written by :func:`save_checkpoint` (tensors, numbers, strings only)."""
    path = Path(os.fspath(path)).expanduser()
    if not path.is_file():
        raise GraphclustError(f"checkpoint {str(path)!r} does not exist; nothing to resume from.")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise GraphclustError(f"checkpoint {str(path)!r} cannot be read ({exc}); delete it or "
                              "start without resume.") from None
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise GraphclustError(f"{str(path)!r} is not a graphclust deep checkpoint.")
    return payload


def _cpu_copy(obj):
    """Deep copy with every tensor cloned to the CPU (a snapshot independent of training)."""
    if isinstance(obj, torch.Tensor):
        return obj.detach().to("cpu", copy=True)
    if isinstance(obj, dict):
        return {k: _cpu_copy(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_cpu_copy(v) for v in obj)
    return copy.deepcopy(obj)


class TrainingLoop:
    """Run a task's epochs with progress, history, early stopping and checkpoints.

    Parameters
    ----------
    name : str
        Shown in progress messages and stored in checkpoints (e.g. ``"vcc"``).
    epochs : int
        Total number of epochs (a resumed run continues up to this number).
    tol : float
        Early stopping: the fraction of labels that changed since the previous epoch must stay
        below ``tol`` for ``patience`` consecutive epochs (only while the task says
        ``tolerance_active``). ``0`` disables early stopping.
    patience : int
    checkpoint : path or None
        Where checkpoints go; None disables them.
    checkpoint_every : int
        Write the checkpoint every this many epochs (and always after the last epoch and on
        an interrupt).
    truth : array-like or None
        Known labels, used **only** to report ACC/NMI/ARI per epoch in the history.
    callbacks : sequence of callables ``cb(epoch, record) -> bool | None``
        Called after each epoch (``epoch`` 1-based); returning True stops training.
    check_every : int
        Steps between host-side finiteness checks of the running loss sums.
    """

    def __init__(self, *, name: str, epochs: int, tol: float = 1e-3, patience: int = 1,
                 checkpoint=None, checkpoint_every: int = 1, truth=None,
                 callbacks: Sequence[Callable] = (), check_every: int = 25):
        self.name = name
        self.epochs = int(epochs)
        self.tol = float(tol)
        self.patience = max(1, int(patience))
        self.checkpoint = None if checkpoint is None else Path(os.fspath(checkpoint)).expanduser()
        self.checkpoint_every = max(1, int(checkpoint_every))
        self.truth = None if truth is None else np.asarray(truth)
        self.callbacks = list(callbacks)
        self.check_every = max(1, int(check_every))
        self.stop_reason: str | None = None
        self.n_epochs_run = 0

    # ------------------------------------------------------------------ checkpoints
    def _payload(self, task_state: dict, epoch: int, history: History, prev_labels, stable: int,
                 fingerprint: str) -> dict:
        return {
            "format": CHECKPOINT_FORMAT,
            "name": self.name,
            "epoch": int(epoch),
            "task": task_state,
            "history": history.to_list(),
            "prev_labels": None if prev_labels is None else torch.as_tensor(np.asarray(prev_labels)),
            "stable_epochs": int(stable),
            "fingerprint": fingerprint,
        }

    def resume_state(self, task) -> tuple[int, History, Any, int]:
        """Load ``self.checkpoint`` into ``task``; return (next epoch, history, labels, stable)."""
        if self.checkpoint is None:
            raise GraphclustError("resume=True needs a checkpoint path (checkpoint=...).")
        payload = load_checkpoint(self.checkpoint)
        if payload.get("name") != self.name:
            raise GraphclustError(f"checkpoint {str(self.checkpoint)!r} belongs to "
                                  f"{payload.get('name')!r}, not {self.name!r}.")
        if payload["fingerprint"] != task.fingerprint():
            raise GraphclustError(
                f"checkpoint {str(self.checkpoint)!r} was written for other data or other "
                "parameters (fingerprint mismatch); resume with the same X and parameters, or "
                "start without resume."
            )
        task.load_state_dict(payload["task"])
        prev = payload.get("prev_labels")
        prev = None if prev is None else prev.numpy()
        return int(payload["epoch"]), History(payload["history"]), prev, int(payload["stable_epochs"])

    # ------------------------------------------------------------------ the loop
    def run(self, task, *, history: History | None = None, start_epoch: int = 0,
            prev_labels=None, stable: int = 0) -> History:
        history = History() if history is None else history
        fingerprint = task.fingerprint() if self.checkpoint is not None else ""
        snapshot = None
        if self.checkpoint is not None:
            snapshot = self._payload(_cpu_copy(task.state_dict()), start_epoch, history,
                                     prev_labels, stable, fingerprint)
        self.stop_reason = None
        epoch = start_epoch
        try:
            while epoch < self.epochs:
                record = self._one_epoch(task, epoch)
                labels = record.pop("labels", None)
                if labels is not None:
                    labels = np.asarray(labels)
                    if prev_labels is not None:
                        change = float(np.mean(labels != prev_labels))
                        record["label_change"] = change
                    if self.truth is not None:
                        from graphclust.metrics import evaluate

                        m = evaluate(self.truth, labels)
                        record.update(acc=m["acc"], nmi=m["nmi"], ari=m["ari"])
                    record["n_nonempty"] = int(np.unique(labels).size)
                epoch += 1
                self.n_epochs_run += 1
                history.append(record)
                self._report(record)
                change = record.get("label_change")
                if (self.tol > 0 and change is not None and task.tolerance_active(epoch - 1)
                        and change < self.tol):
                    stable += 1
                else:
                    stable = 0
                prev_labels = labels if labels is not None else prev_labels
                stop = False
                for cb in self.callbacks:
                    if cb(epoch, record):
                        stop = True
                        self.stop_reason = "callback"
                if stable >= self.patience:
                    stop = True
                    self.stop_reason = (f"label change below tol={self.tol:g} for "
                                        f"{self.patience} epoch(s)")
                if self.checkpoint is not None:
                    snapshot = self._payload(_cpu_copy(task.state_dict()), epoch, history,
                                             prev_labels, stable, fingerprint)
                    if stop or epoch % self.checkpoint_every == 0 or epoch >= self.epochs:
                        save_checkpoint(self.checkpoint, snapshot)
                if stop:
                    _progress.message(f"{self.name}: stopping after epoch {epoch}: {self.stop_reason}")
                    break
            else:
                self.stop_reason = self.stop_reason or "max epochs"
        except KeyboardInterrupt:
            if snapshot is not None:
                save_checkpoint(self.checkpoint, snapshot)
                _progress.message(f"{self.name}: interrupted; state after epoch {snapshot['epoch']} "
                                  f"saved to {self.checkpoint} (fit again with resume=True)")
            raise
        return history

    def _one_epoch(self, task, epoch: int) -> dict:
        t0 = time.perf_counter()
        task.begin_epoch(epoch)
        n_steps = int(task.n_steps(epoch))
        sums: dict[str, Any] = {}
        for s in range(n_steps):
            losses = task.step(epoch, s)
            for k, v in losses.items():
                sums[k] = v if k not in sums else sums[k] + v
            if (s + 1) % self.check_every == 0:
                self._check_finite(sums, epoch, s)
        self._check_finite(sums, epoch, n_steps - 1)
        record: dict = {"epoch": epoch + 1}
        for k, v in sums.items():
            record[k] = float(v) / max(n_steps, 1)
        record.update(task.end_epoch(epoch))
        record["seconds"] = time.perf_counter() - t0
        return record

    def _check_finite(self, sums: dict, epoch: int, step: int) -> None:
        if not sums:
            return
        keys = list(sums)
        vals = torch.stack([torch.as_tensor(sums[k]).float().reshape(()) for k in keys]).cpu()
        finite = torch.isfinite(vals)
        if bool(finite.all()):
            return
        bad = [k for k, ok in zip(keys, finite.tolist()) if not ok]
        raise TrainingDiverged(
            f"{self.name}: the loss became NaN or infinite in epoch {epoch + 1} (by step "
            f"{step + 1}; term(s): {', '.join(bad)}). Training was stopped rather than return "
            "garbage. Lower the learning rate, standardise the input (huge feature values), or "
            "use similarity='student'."
        )

    def _report(self, record: dict) -> None:
        if not _progress.progress_enabled():
            return
        parts = [f"{self.name} epoch {record['epoch']}/{self.epochs}"]
        if "loss" in record:
            parts.append(f"loss {record['loss']:.4f}")
        for k in ("acc", "nmi"):
            if k in record:
                parts.append(f"{k.upper()} {record[k]:.4f}")
        if "label_change" in record:
            parts.append(f"changed {100 * record['label_change']:.2f}%")
        parts.append(f"{record['seconds']:.1f} s")
        _progress.message(", ".join(parts))
