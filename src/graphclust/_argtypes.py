"""argparse value types shared by every subcommand (one message style for bad numbers)."""
from __future__ import annotations

import argparse
import math

__all__ = ["positive_int", "nonneg_int", "nonneg_float", "positive_float"]


def _number(text, cast, what):
    try:
        return cast(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None


def positive_int(text) -> int:
    v = _number(text, int, "a positive integer")
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {v}")
    return v


def nonneg_int(text) -> int:
    v = _number(text, int, "an integer >= 0")
    if v < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {v}")
    return v


def nonneg_float(text) -> float:
    v = _number(text, float, "a number >= 0")
    if not v >= 0 or not math.isfinite(v):
        raise argparse.ArgumentTypeError(f"expected a finite number >= 0, got {v}")
    return v


def positive_float(text) -> float:
    v = _number(text, float, "a positive number")
    if not v > 0 or not math.isfinite(v):
        raise argparse.ArgumentTypeError(f"expected a finite positive number, got {v}")
    return v
