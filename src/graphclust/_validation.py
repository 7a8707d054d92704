"""One place for input checks, random-state handling and error helpers.

Public functions validate their arguments here once and then call private cores that assume
valid input. Every error names the parameter, the rule, the value received and the fix.
"""
from __future__ import annotations

import numbers
import os
from typing import Any

import numpy as np

__all__ = [
    "GraphclustError",
    "GraphclustTypeError",
    "check_points",
    "check_int",
    "check_float",
    "check_choice",
    "check_random_state",
    "seed_from",
    "available_memory_bytes",
    "format_bytes",
]


class GraphclustError(ValueError):
    """A clear, user-facing error about bad input or parameters."""


class GraphclustTypeError(GraphclustError, TypeError):
    """Input of the wrong kind (e.g. non-numeric values where numbers are needed)."""


def check_points(X: Any, *, name: str = "X", min_samples: int = 2, dtype=None) -> np.ndarray:
    """Validate a 2-D array of finite numbers; return it as a C-contiguous float array.

    Raises a ``GraphclustError`` naming the first offending rows for NaN/inf values, and a clear
    message for empty, 1-D, non-numeric or too-small input.
    """
    if hasattr(X, "toarray") and not isinstance(X, np.ndarray):
        raise GraphclustError(
            f"{name} is a sparse matrix; graphclust's point-based methods need a dense (n_samples, "
            f"n_features) array. Convert it with {name}.toarray() or reduce it first (e.g. PCA/SVD)."
        )
    try:
        arr = np.asarray(X)
    except Exception as exc:  # pragma: no cover - exotic objects
        raise GraphclustError(f"{name} could not be converted to an array: {exc}") from None
    if arr.dtype == object:
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise GraphclustTypeError(
                f"{name} must hold numbers ({exc}). Remove or encode non-numeric columns."
            ) from None
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise GraphclustError(
            f"{name} must hold numbers, got dtype {arr.dtype}. Remove or encode non-numeric columns."
        )
    if np.iscomplexobj(arr):
        raise GraphclustError(f"{name}: Complex data not supported (got {arr.dtype}); pass real values.")
    if arr.ndim != 2:
        hint = " Use X.reshape(-1, 1) for a single feature." if arr.ndim == 1 else ""
        raise GraphclustError(
            f"{name} must be 2-D (n_samples, n_features), got {arr.ndim} dimension(s) with shape "
            f"{arr.shape}.{hint}"
        )
    n, d = arr.shape
    if n == 0:
        raise GraphclustError(f"{name} is empty: 0 sample(s) (shape={arr.shape}) while a minimum of "
                              f"{min_samples} is required.")
    if d == 0:
        raise GraphclustError(f"{name} is empty: 0 feature(s) (shape={arr.shape}) while a minimum of "
                              "1 is required.")
    if n < min_samples:
        raise GraphclustError(f"{name} has {n} sample(s); at least {min_samples} are needed.")
    if dtype is None:
        dtype = arr.dtype if arr.dtype in (np.float32, np.float64) else np.float64
    arr = np.ascontiguousarray(arr, dtype=dtype)
    finite = np.isfinite(arr)
    if not finite.all():
        bad_rows = np.flatnonzero(~finite.all(axis=1))
        shown = ", ".join(str(int(r)) for r in bad_rows[:5])
        more = f" and {bad_rows.size - 5} more" if bad_rows.size > 5 else ""
        raise GraphclustError(
            f"{name} contains NaN or infinite values in {bad_rows.size} row(s): {shown}{more}. "
            "Drop or impute those rows before clustering."
        )
    return arr


def check_int(value: Any, name: str, *, low: int | None = None, high: int | None = None,
              hint: str = "") -> int:
    """Check an integer parameter against inclusive bounds."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise GraphclustError(f"{name} must be an integer, got {value!r} ({type(value).__name__}).")
    value = int(value)
    if low is not None and value < low:
        raise GraphclustError(f"{name} must be >= {low}, got {value}.{(' ' + hint) if hint else ''}")
    if high is not None and value > high:
        raise GraphclustError(f"{name} must be <= {high}, got {value}.{(' ' + hint) if hint else ''}")
    return value


def check_float(value: Any, name: str, *, low: float | None = None, high: float | None = None,
                low_open: bool = False) -> float:
    """Check a real-valued parameter (finite) against bounds."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise GraphclustError(f"{name} must be a number, got {value!r} ({type(value).__name__}).")
    value = float(value)
    if not np.isfinite(value):
        raise GraphclustError(f"{name} must be finite, got {value}.")
    if low is not None and (value <= low if low_open else value < low):
        raise GraphclustError(f"{name} must be {'>' if low_open else '>='} {low}, got {value}.")
    if high is not None and value > high:
        raise GraphclustError(f"{name} must be <= {high}, got {value}.")
    return value


def check_choice(value: Any, name: str, choices) -> str:
    """Check a string option against the allowed values."""
    if value not in choices:
        allowed = ", ".join(repr(c) for c in choices)
        raise GraphclustError(f"{name} must be one of {allowed}; got {value!r}.")
    return value


def check_random_state(random_state) -> np.random.Generator:
    """Turn ``None``, an int, a ``Generator`` or a legacy ``RandomState`` into a ``Generator``."""
    if random_state is None:
        return np.random.default_rng()
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(random_state.randint(0, 2**31 - 1))
    if isinstance(random_state, (numbers.Integral, np.integer)) and not isinstance(random_state, bool):
        if random_state < 0:
            raise GraphclustError(f"random_state must be a non-negative integer, got {random_state}.")
        return np.random.default_rng(int(random_state))
    raise GraphclustError(
        f"random_state must be None, an int, or a numpy Generator; got {random_state!r}."
    )


def seed_from(rng: np.random.Generator) -> int:
    """Draw a 31-bit integer seed from a generator (for numba kernels and other libraries)."""
    return int(rng.integers(0, 2**31 - 1))


def available_memory_bytes() -> int:
    """Memory the OS reports as available (MemAvailable), or total physical memory as fallback."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        return 8 * 1024**3


def format_bytes(n: float) -> str:
    """Human-readable bytes (binary units)."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"  # pragma: no cover
