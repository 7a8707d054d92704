"""The torch foundation shared by the deep estimators (VCC, DGG).

* :func:`require_torch` imports torch or raises ImportError naming the ``deep`` extra.
* :func:`resolve_device` turns ``"auto" | "cpu" | "cuda" | "cuda:1" | torch.device`` into a
  ``torch.device``; an explicit CUDA request without CUDA is an error (only ``"auto"`` falls
  back to the CPU).
* :func:`make_generator` gives a seeded ``torch.Generator`` on a device; all randomness of a fit
  (weight initialisation, edge sampling) is drawn from such generators, never from torch's
  global RNG, so a fit does not disturb the caller's random state.
* :func:`build_mlp` builds ``Linear-ReLU-...-Linear`` with a seeded initialisation.
* :func:`torch_runtime` fixes the intra-op thread count and (on the CPU) switches on
  ``torch.use_deterministic_algorithms`` for the duration of a fit, restoring both afterwards.
"""
from __future__ import annotations

import contextlib
import math
import os
from typing import Iterator, Sequence

from graphclust._validation import GraphclustError

__all__ = ["require_torch", "resolve_device", "make_generator", "build_mlp", "torch_runtime",
           "DEEP_EXTRA_HINT"]

DEEP_EXTRA_HINT = "pip install 'graphclust[deep]'"


def require_torch():
    """Import and return torch, or raise ImportError naming the extra to install."""
    try:
        import torch
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            f"graphclust's deep clustering (VCC, DGG) needs PyTorch, which is not installed "
            f"({exc}). Install it with: {DEEP_EXTRA_HINT}"
        ) from None
    return torch


def resolve_device(device="auto"):
    """Return the ``torch.device`` to train on.

    Parameters
    ----------
    device : {"auto", "cpu", "cuda"} or "cuda:<index>" or torch.device
        ``"auto"``: the first CUDA device when torch sees one, else the CPU. An explicit CUDA
        device that does not exist is an error (no silent fallback).

    Raises
    ------
    GraphclustError
        Unknown device string, or CUDA requested where none is available.
    """
    torch = require_torch()
    if isinstance(device, torch.device):
        dev = device
    elif isinstance(device, str):
        text = device.strip().lower()
        if text == "auto":
            return torch.device("cuda:0" if torch.cuda.is_available() else "cpu")
        try:
            dev = torch.device(text)
        except RuntimeError:
            raise GraphclustError(
                f"device must be 'auto', 'cpu', 'cuda' or 'cuda:<index>', got {device!r}."
            ) from None
    else:
        raise GraphclustError(
            f"device must be 'auto', 'cpu', 'cuda', 'cuda:<index>' or a torch.device; got {device!r}."
        )
    if dev.type == "cpu":
        return torch.device("cpu")
    if dev.type != "cuda":
        raise GraphclustError(f"device {device!r}: only 'cpu' and 'cuda' devices are supported.")
    if not torch.cuda.is_available():
        build = "a CPU-only build" if torch.version.cuda is None else f"CUDA {torch.version.cuda}"
        raise GraphclustError(
            f"device={device!r} was requested but torch sees no CUDA device (torch "
            f"{torch.__version__}, {build}). Use device='cpu', or device='auto' to fall back to "
            "the CPU automatically."
        )
    index = 0 if dev.index is None else dev.index
    count = torch.cuda.device_count()
    if index >= count:
        raise GraphclustError(
            f"device={device!r}: CUDA device {index} does not exist (torch sees {count}); use "
            f"an index from 0 to {count - 1}."
        )
    return torch.device("cuda", index)


def make_generator(seed: int, device=None):
    """A ``torch.Generator`` on ``device`` (default CPU) seeded with ``seed``."""
    torch = require_torch()
    dev = torch.device("cpu") if device is None else torch.device(device)
    gen = torch.Generator(device=dev)
    gen.manual_seed(int(seed))
    return gen


def build_mlp(dims: Sequence[int], *, generator=None, activation: str = "relu",
              final_activation: bool = False):
    """``Linear(d0, d1) - act - ... - Linear(d_{L-1}, d_L)`` with a seeded initialisation.

    Parameters
    ----------
    dims : sequence of int, length >= 2
        Layer widths, input first (e.g. ``(784, 500, 500, 2000, 2)`` for VCC's encoder).
    generator : torch.Generator, optional
        Source of the initial weights (PyTorch's default Linear initialisation: Kaiming-uniform
        weights with ``a = sqrt(5)``, uniform biases in ``±1/sqrt(fan_in)``). Without it the
        global RNG is used.
    activation : {"relu", "elu", "gelu"}
    final_activation : bool
        Apply the activation after the last layer too.

    Returns
    -------
    torch.nn.Sequential
    """
    torch = require_torch()
    dims = [int(d) for d in dims]
    if len(dims) < 2 or min(dims) < 1:
        raise GraphclustError(f"dims must list at least two positive widths, got {dims}.")
    acts = {"relu": torch.nn.ReLU, "elu": torch.nn.ELU, "gelu": torch.nn.GELU}
    if activation not in acts:
        raise GraphclustError(f"activation must be one of {sorted(acts)}, got {activation!r}.")
    layers = []
    for i, (a, b) in enumerate(zip(dims[:-1], dims[1:])):
        # nn.Linear draws a default initialisation from the global RNG: fork it so that the
        # caller's random state is untouched, then re-initialise from ``generator``.
        with torch.random.fork_rng(devices=[]):
            lin = torch.nn.Linear(a, b)
        with torch.no_grad():
            torch.nn.init.kaiming_uniform_(lin.weight, a=math.sqrt(5), generator=generator)
            bound = 1.0 / math.sqrt(a)
            torch.nn.init.uniform_(lin.bias, -bound, bound, generator=generator)
        layers.append(lin)
        if i < len(dims) - 2 or final_activation:
            layers.append(acts[activation]())
    return torch.nn.Sequential(*layers)


@contextlib.contextmanager
def torch_runtime(n_jobs=None, *, deterministic: bool = True, device=None) -> Iterator[None]:
    """Fix torch's CPU thread count and deterministic mode inside the block; restore after.

    ``n_jobs`` None keeps torch's current thread count; a positive int sets it (results on the
    CPU are reproducible for a fixed thread count). ``deterministic`` switches on
    ``torch.use_deterministic_algorithms`` for CPU fits (CUDA fits stay non-deterministic:
    atomics in the backward pass make bit-identical GPU runs impractical).
    """
    torch = require_torch()
    old_threads = torch.get_num_threads()
    old_det = torch.are_deterministic_algorithms_enabled()
    old_warn = torch.is_deterministic_algorithms_warn_only_enabled()
    on_cpu = device is None or torch.device(device).type == "cpu"
    try:
        if n_jobs is not None:
            if n_jobs == -1:
                n_jobs = os.cpu_count() or 1
            torch.set_num_threads(int(n_jobs))
        if deterministic and on_cpu:
            torch.use_deterministic_algorithms(True)
        yield
    finally:
        torch.set_num_threads(old_threads)
        torch.use_deterministic_algorithms(old_det, warn_only=old_warn)
