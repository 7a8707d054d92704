"""One progress helper for long stages (kNN build, eigensolve, k-means restarts, epochs).

Library code reports through :func:`stage`; nothing is shown unless progress is switched on
(the CLI does this when stderr is a terminal, unless ``--quiet``). Timings are always recorded
so that callers can report per-stage times.
"""
from __future__ import annotations

import contextlib
import sys
import time
from typing import Iterator

_enabled = False
_stream = sys.stderr


def set_progress(enabled: bool, stream=None) -> None:
    """Turn progress messages on or off (off by default for library use)."""
    global _enabled, _stream
    _enabled = bool(enabled)
    _stream = stream if stream is not None else sys.stderr


def progress_enabled() -> bool:
    return _enabled


def message(text: str) -> None:
    """Show a one-line progress message when progress is enabled."""
    if _enabled:
        print(f"[graphclust] {text}", file=_stream, flush=True)


@contextlib.contextmanager
def stage(name: str, timings: dict | None = None) -> Iterator[None]:
    """Time a named stage; record seconds into ``timings[name]`` and report it if enabled."""
    if _enabled:
        print(f"[graphclust] {name} ...", file=_stream, flush=True)
    t0 = time.perf_counter()
    try:
        yield
    finally:
        dt = time.perf_counter() - t0
        if timings is not None:
            timings[name] = timings.get(name, 0.0) + dt
        if _enabled:
            print(f"[graphclust] {name} done in {dt:.3f} s", file=_stream, flush=True)
