"""Reading input points and writing results safely (used by the command-line interface).

Reading
-------
:func:`read_points` loads an ``(n_samples, n_features)`` array from ``.npy``, ``.npz`` or a
delimited text file (``.csv``, ``.tsv``, ``.txt``/``.dat``) and, optionally, ground-truth labels
(the CLI's ``--truth``). Only numpy and the standard library are used.

Error policy: every problem with an input is raised as a :class:`GraphclustError` with a one-line,
actionable message (the CLI prints it without a traceback). The two file-access errors are raised
as :class:`InputFileNotFoundError` and :class:`InputPermissionError`, which subclass *both*
``GraphclustError`` and the built-in ``FileNotFoundError`` / ``PermissionError``, so callers may
catch either family.

Writing
-------
:func:`check_output_dir` verifies (before any computation) that results can be written.
All writers are atomic: data go to a temporary file in the target's directory which is flushed,
fsync'ed and then moved over the target with :func:`os.replace`; on any failure the temporary file
is removed and an existing target is left untouched, so a crash never leaves a half-written file.
Problems creating or replacing the file are raised as ``GraphclustError``; errors raised by the
content itself (e.g. a ``TypeError`` from an object ``json`` cannot encode) propagate unchanged.

This module never imports matplotlib (:func:`atomic_savefig` only calls ``fig.savefig``).
"""
from __future__ import annotations

import contextlib
import csv
import json
import math
import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Iterator, Mapping

import numpy as np

from graphclust._validation import GraphclustError, check_points

__all__ = [
    "PointsData",
    "InputFileNotFoundError",
    "InputPermissionError",
    "read_points",
    "read_labels",
    "check_output_dir",
    "atomic_open",
    "atomic_write_text",
    "atomic_write_bytes",
    "write_json",
    "write_labels_csv",
    "atomic_savefig",
]

TEXT_SUFFIXES = (".csv", ".tsv", ".txt", ".dat")
SUPPORTED_SUFFIXES = (".npy", ".npz") + TEXT_SUFFIXES
# Field values read as "missing" (become NaN, which check_points then reports by row).
_MISSING = frozenset({"", "na", "n/a", "nan", "null", "none", "?", "-"})
# Column names that suggest a label column.
_LABEL_NAMES = frozenset({
    "label", "labels", "class", "classes", "target", "targets", "y", "truth", "cluster",
    "clusters", "category", "species", "group", "digit", "type", "ground_truth",
})


class InputFileNotFoundError(GraphclustError, FileNotFoundError):
    """An input file does not exist (a ``GraphclustError`` and a ``FileNotFoundError``)."""


class InputPermissionError(GraphclustError, PermissionError):
    """An input file cannot be read (a ``GraphclustError`` and a ``PermissionError``)."""


@dataclass(frozen=True, eq=False)
class PointsData:
    """Points read by :func:`read_points`.

    Attributes
    ----------
    X : ndarray of shape (n_samples, n_features), float64
        Finite feature values (C-contiguous).
    columns : list of str
        Feature names: the header names, or ``x1, x2, ...`` (1-based file positions) when the
        input has no header.
    truth : ndarray of shape (n_samples,) or None
        Ground-truth labels, as int64 codes. Integer-valued labels keep their values; other labels
        (strings, non-integral numbers) are encoded as ``0..C-1`` in sorted order, and their
        original values are in ``truth_names``.
    source : str
        The input path as given (for messages and reports).
    truth_names : tuple of str or None
        ``truth_names[c]`` is the original label of code ``c`` when labels were encoded.
    truth_source : str or None
        Where the labels came from, e.g. ``"column 'species'"`` or ``"labels.npy"``.
    """

    X: np.ndarray
    columns: list[str]
    truth: np.ndarray | None
    source: str
    truth_names: tuple[str, ...] | None = None
    truth_source: str | None = None

    @property
    def n_samples(self) -> int:
        return int(self.X.shape[0])

    @property
    def n_features(self) -> int:
        return int(self.X.shape[1])


# --------------------------------------------------------------------------------------------
# file access
# --------------------------------------------------------------------------------------------

def _check_readable(path: Path, what: str = "input file") -> None:
    """Raise a one-line error if ``path`` is missing, a directory or not readable."""
    try:
        st = path.stat()
    except FileNotFoundError:
        parent = path.parent
        hint = "" if parent.is_dir() else f" (directory {str(parent)!r} does not exist either)"
        raise InputFileNotFoundError(f"{what} not found: {str(path)!r}{hint}.") from None
    except PermissionError:
        raise InputPermissionError(f"cannot access {what} {str(path)!r}: permission denied.") from None
    except OSError as exc:
        raise GraphclustError(f"cannot access {what} {str(path)!r}: {exc.strerror or exc}.") from None
    if stat.S_ISDIR(st.st_mode):
        raise GraphclustError(f"{what} {str(path)!r} is a directory; give a file path.")
    try:
        with open(path, "rb"):
            pass
    except PermissionError:
        raise InputPermissionError(
            f"cannot read {what} {str(path)!r}: permission denied (check the file's permissions)."
        ) from None
    except OSError as exc:
        raise GraphclustError(f"cannot read {what} {str(path)!r}: {exc.strerror or exc}.") from None


def _read_text(path: Path) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        if b"\x00" in data[:4096]:
            raise GraphclustError(
                f"{str(path)!r} looks like a binary file, not {path.suffix or 'delimited'} text. "
                f"Supported formats: {', '.join(SUPPORTED_SUFFIXES)}."
            ) from None
        return data.decode("latin-1")


def _is_number(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return True


def _is_missing(s: str) -> bool:
    return s.strip().lower() in _MISSING


# --------------------------------------------------------------------------------------------
# delimited text
# --------------------------------------------------------------------------------------------

@dataclass
class _Table:
    """A delimited text file split into header and (unparsed) data lines."""

    source: str
    delimiter: str | None  # None: runs of whitespace
    header: list[str] | None
    n_cols: int
    lines: list[str]  # data lines (no blank/comment lines, no header)
    line_numbers: list[int]  # 1-based file line of each data line

    def names(self) -> list[str]:
        if self.header is not None:
            return [h if h else f"x{j + 1}" for j, h in enumerate(self.header)]
        return [f"x{j + 1}" for j in range(self.n_cols)]

    def describe(self, j: int) -> str:
        """Human name of column ``j`` (0-based): by header name, else by 1-based position."""
        if self.header is not None and self.header[j]:
            return f"column {self.header[j]!r} (column {j + 1})"
        return f"column {j + 1}"

    def split(self, line: str) -> list[str]:
        if self.delimiter is None:
            return line.split()
        if '"' in line:
            return next(csv.reader([line], delimiter=self.delimiter, skipinitialspace=True))
        return line.split(self.delimiter)

    def split_all(self) -> list[list[str]]:
        if self.delimiter is None:
            return [ln.split() for ln in self.lines]
        return list(csv.reader(self.lines, delimiter=self.delimiter, skipinitialspace=True))

    def column_strings(self, j: int) -> list[str]:
        try:
            col = np.loadtxt(self.lines, delimiter=self.delimiter, usecols=[j], dtype=str,
                             comments=None, quotechar='"' if self.delimiter is not None else None,
                             ndmin=1)
            return [v.strip() for v in col.tolist()]
        except ValueError:
            return [row[j].strip() if j < len(row) else "" for row in self.split_all()]


def _sniff_delimiter(suffix: str, first_line: str) -> str | None:
    if suffix == ".csv":
        return ","
    if suffix == ".tsv":
        return "\t"
    if "," in first_line:
        return ","
    if "\t" in first_line:
        return "\t"
    if ";" in first_line:
        return ";"
    return None


def _parse_table(path: Path, source: str) -> _Table:
    text = _read_text(path)
    raw = text.splitlines()
    kept = [(i, ln) for i, ln in enumerate(raw, 1) if ln.strip() and not ln.lstrip().startswith("#")]
    if not kept:
        raise GraphclustError(f"input file {source!r} is empty (no data lines).")
    delim = _sniff_delimiter(path.suffix.lower(), kept[0][1])
    probe = _Table(source, delim, None, 0, [], [])
    first = [f.strip() for f in probe.split(kept[0][1])]
    n_cols = len(first)
    header: list[str] | None = None
    if len(kept) >= 2:
        second = [f.strip() for f in probe.split(kept[1][1])]
        if any(not _is_number(a) and _is_number(b) for a, b in zip(first, second)):
            header = first
    elif not all(_is_number(f) for f in first):
        raise GraphclustError(
            f"input file {source!r} has only a header line ({', '.join(first)}) and no data rows."
        )
    data = kept[1:] if header is not None else kept
    if len(data) < 2:
        raise GraphclustError(
            f"input file {source!r} has only {len(data)} data row; at least 2 points are needed."
        )
    return _Table(
        source=source, delimiter=delim, header=header, n_cols=n_cols,
        lines=[ln for _, ln in data], line_numbers=[i for i, _ in data],
    )


def _table_numeric(table: _Table, usecols: list[int]) -> np.ndarray:
    """Parse the numeric columns ``usecols``; on failure raise a precise error."""
    if not usecols:
        raise GraphclustError(
            f"input file {table.source!r} has no feature columns left after removing the truth column."
        )
    subset = len(usecols) < table.n_cols
    if subset and not _rows_regular(table):  # loadtxt ignores extra fields when given usecols
        return _table_numeric_slow(table, usecols)
    try:
        return np.loadtxt(
            table.lines, delimiter=table.delimiter, usecols=usecols if subset else None,
            dtype=np.float64, ndmin=2,
            comments=None, quotechar='"' if table.delimiter is not None else None,
        )
    except ValueError:
        pass
    return _table_numeric_slow(table, usecols)


def _rows_regular(table: _Table) -> bool:
    """Whether every data line has ``table.n_cols`` fields."""
    d = table.delimiter
    if d is not None and not any('"' in ln for ln in table.lines):
        return all(ln.count(d) == table.n_cols - 1 for ln in table.lines)
    return all(len(row) == table.n_cols for row in table.split_all())


def _table_numeric_slow(table: _Table, usecols: list[int]) -> np.ndarray:
    """Field-by-field parse that pinpoints ragged rows and non-numeric columns.

    Missing values (empty, NA, nan, ...) become NaN; the caller reports them by row.
    """
    rows = table.split_all()
    for k, row in enumerate(rows):
        if len(row) != table.n_cols:
            what = "header" if table.header is not None else "first data line"
            raise GraphclustError(
                f"input file {table.source!r}: line {table.line_numbers[k]} has {len(row)} field(s) "
                f"but the {what} has {table.n_cols}"
                + ("" if table.delimiter is None else f" (delimiter {table.delimiter!r})")
                + ". Every row needs the same number of columns."
            )
    columns = list(zip(*rows))
    out = np.empty((len(rows), len(usecols)), dtype=np.float64)
    bad: list[tuple[int, str, int, int]] = []  # (column, example, n_bad, n_unique_bad)
    for c, j in enumerate(usecols):
        col = columns[j]
        try:
            out[:, c] = np.array(col, dtype=np.float64)
            continue
        except ValueError:
            pass
        values = np.empty(len(col), dtype=np.float64)
        bad_values: list[str] = []
        n_missing = 0
        for i, s in enumerate(col):
            try:
                values[i] = float(s)
            except ValueError:
                if _is_missing(s):
                    values[i] = np.nan
                    n_missing += 1
                else:
                    values[i] = np.nan
                    bad_values.append(s.strip())
        if bad_values:
            bad.append((j, bad_values[0], len(bad_values), len(set(bad_values))))
        elif n_missing == len(col):
            raise GraphclustError(
                f"input file {table.source!r}: {table.describe(j)} is empty in every row"
                + (" (a trailing delimiter at the end of each line?)" if j == table.n_cols - 1 else "")
                + ". Remove that column."
            )
        out[:, c] = values
    if bad:
        raise GraphclustError(_non_numeric_message(table, bad, n_rows=len(rows)))
    return out


def _non_numeric_message(table: _Table, bad, *, n_rows: int) -> str:
    j, example, n_bad, n_unique = bad[0]
    msg = (f"input file {table.source!r}: {table.describe(j)} is not numeric "
           f"(e.g. {example!r}; {n_bad} of {n_rows} values).")
    if len(bad) > 1:
        others = ", ".join(table.describe(b[0]) for b in bad[1:4])
        more = f" and {len(bad) - 4} more" if len(bad) > 4 else ""
        msg += f" Also non-numeric: {others}{more}."
    delims = [d for d in (",", "\t", ";") if d in example and d != table.delimiter]
    if delims:
        msg += (f" The value contains {delims[0]!r}: is the file's delimiter "
                f"{delims[0]!r} rather than {table.delimiter or 'whitespace'!r}?")
        return msg
    name = table.header[j] if table.header is not None and table.header[j] else None
    looks_like_labels = (name is not None and name.strip().lower() in _LABEL_NAMES) or (
        n_unique <= max(2, min(1000, n_rows // 2))
    )
    ref = name if name is not None else str(j + 1)
    if looks_like_labels and len(bad) == 1:
        msg += (f" If it holds class labels, pass --truth {ref} to use it as ground truth "
                "(it is then left out of the features); otherwise remove or encode it.")
    else:
        msg += " Remove or numerically encode non-numeric columns."
    return msg


def _find_column(table: _Table, key: str) -> int | None:
    """Index of the column named ``key`` (exact, then case-insensitive unique match)."""
    if table.header is None:
        return None
    names = [h.strip() for h in table.header]
    if key in names:
        return names.index(key)
    lowered = [h.lower() for h in names]
    if lowered.count(key.lower()) == 1:
        return lowered.index(key.lower())
    return None


def _column_position(table: _Table, key: str) -> int | None:
    """Interpret ``key`` as a 1-based column position (negative counts from the end)."""
    try:
        pos = int(key)
    except ValueError:
        return None
    if 1 <= pos <= table.n_cols:
        return pos - 1
    if -table.n_cols <= pos <= -1:
        return table.n_cols + pos
    return None


# --------------------------------------------------------------------------------------------
# numpy files
# --------------------------------------------------------------------------------------------

def _np_load(path: Path, source: str):
    try:
        return np.load(path, allow_pickle=False)
    except ValueError as exc:
        if "allow_pickle" in str(exc):
            raise GraphclustError(
                f"{source!r} holds Python objects (a pickled array); graphclust only loads plain "
                "numeric arrays. Re-save it with a numeric dtype, e.g. np.save(path, X.astype(float))."
            ) from None
        raise GraphclustError(f"cannot read {source!r} as {path.suffix}: {exc}") from None
    except (OSError, EOFError) as exc:
        raise GraphclustError(
            f"cannot read {source!r} as {path.suffix} (corrupt or not a numpy file): {exc}"
        ) from None


def _is_numeric_array(a: np.ndarray) -> bool:
    return np.issubdtype(a.dtype, np.number) or a.dtype == bool


def _npz_pick_X(npz, source: str, exclude: str | None) -> tuple[str, np.ndarray]:
    keys = list(npz.files)
    if "X" in keys and "X" != exclude:
        return "X", npz["X"]
    arrays = {k: npz[k] for k in keys if k != exclude}
    candidates = [k for k, a in arrays.items() if a.ndim == 2 and _is_numeric_array(a)]
    if len(candidates) == 1:
        return candidates[0], arrays[candidates[0]]
    listing = ", ".join(f"{k} {arrays[k].shape} {arrays[k].dtype}" for k in arrays) or "none"
    if not candidates:
        raise GraphclustError(
            f"{source!r} has no 2-D numeric array to cluster (arrays: {listing}). "
            "Store the points under the key 'X'."
        )
    raise GraphclustError(
        f"{source!r} holds several 2-D numeric arrays ({listing}); cannot tell which one holds the "
        "points. Store them under the key 'X' (np.savez(path, X=points, y=labels))."
    )


# --------------------------------------------------------------------------------------------
# labels
# --------------------------------------------------------------------------------------------

def _encode_labels(values: Any, what: str) -> tuple[np.ndarray, tuple[str, ...] | None]:
    """Turn label values into int64 codes (see :class:`PointsData`)."""
    arr = np.asarray(values)
    if arr.ndim == 2 and 1 in arr.shape:
        arr = arr.ravel()
    if arr.ndim != 1:
        raise GraphclustError(f"{what} must be 1-D (one label per point), got shape {arr.shape}.")
    if arr.dtype == bool or np.issubdtype(arr.dtype, np.integer):
        return arr.astype(np.int64), None
    if np.issubdtype(arr.dtype, np.floating):
        bad = np.flatnonzero(~np.isfinite(arr))
        if bad.size:
            shown = ", ".join(str(int(r)) for r in bad[:5])
            raise GraphclustError(
                f"{what} has missing/NaN labels at {bad.size} position(s): {shown}"
                f"{' ...' if bad.size > 5 else ''}. Give every point a label."
            )
        if np.all(arr == np.round(arr)) and np.all(np.abs(arr) < 2**62):
            return arr.astype(np.int64), None
        uniq, codes = np.unique(arr, return_inverse=True)
        return codes.astype(np.int64), tuple(repr(float(u)) for u in uniq)
    if np.issubdtype(arr.dtype, np.complexfloating):
        raise GraphclustError(f"{what} must hold labels, got complex numbers.")
    strings = [str(v).strip() for v in arr.tolist()]
    if strings and all(_is_number(s) for s in strings):
        return _encode_labels(np.array([float(s) for s in strings]), what)
    uniq, codes = np.unique(np.array(strings, dtype=str), return_inverse=True)
    return codes.astype(np.int64), tuple(str(u) for u in uniq)


def _split_file_key(spec: str) -> tuple[str, str] | None:
    """Split ``FILE:KEY`` at the last colon when the FILE part exists."""
    if ":" not in spec:
        return None
    file_part, key = spec.rsplit(":", 1)
    if file_part and key and Path(file_part).expanduser().is_file():
        return file_part, key
    return None


def read_labels(spec: str | os.PathLike, *, n_expected: int | None = None):
    """Read labels from a separate file.

    Parameters
    ----------
    spec : str or path-like
        ``FILE`` or ``FILE:COLUMN``. ``FILE`` may be ``.npy`` (a 1-D array), ``.npz`` (``KEY``, or
        the only 1-D array), or text/CSV with one label per line (optional header). For a text file
        with several columns, ``COLUMN`` (a header name or 1-based position) is required.
    n_expected : int, optional
        The number of points; used to recognise a header in an all-text single-column file (one
        line more than expected) and to check the length.

    Returns
    -------
    labels : ndarray of int64, shape (n,)
    names : tuple of str or None
        Original label values when they had to be encoded (see :class:`PointsData`).
    """
    spec = os.fspath(spec)
    split = None if Path(spec).expanduser().is_file() else _split_file_key(spec)
    file_part, key = split if split is not None else (spec, None)
    path = Path(file_part).expanduser()
    _check_readable(path, "truth file")
    suffix = path.suffix.lower()
    what = f"truth labels in {spec!r}"
    if suffix == ".npy":
        if key is not None:
            raise GraphclustError(f"{spec!r}: a .npy file holds one array; drop ':{key}'.")
        values = _np_load(path, file_part)
    elif suffix == ".npz":
        with _np_load(path, file_part) as npz:
            keys = list(npz.files)
            if key is not None:
                if key not in keys:
                    raise GraphclustError(f"{file_part!r} has no array {key!r}; keys: {', '.join(keys)}.")
                values = npz[key]
            else:
                one_d = [k for k in keys if npz[k].ndim == 1]
                preferred = [k for k in keys if k.lower() in _LABEL_NAMES]
                pick = one_d if len(one_d) == 1 else preferred
                if len(pick) != 1:
                    listing = ", ".join(f"{k} {npz[k].shape}" for k in keys)
                    raise GraphclustError(
                        f"{file_part!r} holds several arrays ({listing}); say which one holds the "
                        f"labels with --truth {file_part}:KEY."
                    )
                values = npz[pick[0]]
    elif suffix in TEXT_SUFFIXES or suffix == "":
        values = _read_label_text(path, file_part, key, n_expected)
    else:
        raise GraphclustError(
            f"truth file {file_part!r}: unsupported type {suffix!r}; use .npy, .npz, .csv, .tsv or .txt."
        )
    labels, names = _encode_labels(values, what)
    if n_expected is not None and labels.shape[0] != n_expected:
        raise GraphclustError(
            f"{what} has {labels.shape[0]} labels but the input has {n_expected} points; "
            "they must have the same length (one label per row, same order)."
        )
    return labels, names


def _read_label_text(path: Path, source: str, key: str | None, n_expected: int | None) -> list[str]:
    text = _read_text(path)
    kept = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    if not kept:
        raise GraphclustError(f"truth file {source!r} is empty.")
    delim = _sniff_delimiter(path.suffix.lower() if path.suffix.lower() != ".txt" else "", kept[0])
    table = _Table(source, delim, None, 0, [], [])
    first = [f.strip() for f in table.split(kept[0])]
    if len(first) == 1 and key is None:
        values = [ln.strip().strip('"') for ln in kept]
        has_header = (len(values) >= 2 and not _is_number(values[0]) and _is_number(values[1])) or (
            n_expected is not None and len(values) == n_expected + 1
            and not any(_is_number(v) for v in values)
        )
        return values[1:] if has_header else values
    if len(kept) < 2:
        raise GraphclustError(f"truth file {source!r} has fewer than 2 lines.")
    table = _Table(source, delim, None, len(first), kept, list(range(1, len(kept) + 1)))
    second = table.split(kept[1])
    if any(not _is_number(a) and _is_number(b.strip()) for a, b in zip(first, second)):
        table = _Table(source, delim, first, len(first), kept[1:], list(range(2, len(kept) + 1)))
    if key is None:
        cols = ", ".join(table.names())
        raise GraphclustError(
            f"truth file {source!r} has {len(first)} columns ({cols}); say which one holds the "
            f"labels with --truth {source}:COLUMN."
        )
    j = _find_column(table, key)
    if j is None:
        j = _column_position(table, key)
    if j is None:
        raise GraphclustError(
            f"truth file {source!r} has no column {key!r}; columns: {', '.join(table.names())}."
        )
    return table.column_strings(j)


# --------------------------------------------------------------------------------------------
# read_points
# --------------------------------------------------------------------------------------------

def read_points(path: str | os.PathLike, *, truth: Any = None) -> PointsData:
    """Read points (and optionally ground-truth labels) for clustering.

    Parameters
    ----------
    path : str or path-like
        ``.npy`` (a 2-D numeric array); ``.npz`` (the array ``"X"``, else the only 2-D numeric
        array); or delimited text: ``.csv`` (comma), ``.tsv`` (tab), ``.txt``/``.dat`` (sniffed from
        the first line: comma, tab, semicolon, else whitespace). Text files may have a header: the
        first row is taken as a header if one of its fields is not a number while the same field
        of the second row is. Blank lines and lines starting with ``#`` are ignored; missing values
        (empty, ``NA``, ``nan``, ...) become NaN and are reported by row.
    truth : str, path-like, array-like or None
        Ground-truth labels, resolved in this order:

        1. the name of a column of a text input (case-insensitive if unambiguous); the column is
           removed from ``X``; its values may be strings;
        2. a key of an ``.npz`` input (e.g. ``"y"``);
        3. a path to a separate file (see :func:`read_labels`);
        4. ``"FILE:COLUMN"`` (or ``"FILE.npz:KEY"``) for a column of a separate file;
        5. a 1-based column position of a text input (``"-1"`` is the last column);

        or an array of labels.

    Returns
    -------
    PointsData

    Raises
    ------
    InputFileNotFoundError, InputPermissionError
        The input (or truth) file is missing or unreadable.
    GraphclustError
        Unsupported format, empty input, a single row, 1-D data, non-numeric columns (named, with
        an example value), NaN/inf values (rows named), or labels whose length differs from the
        number of points.
    """
    source = os.fspath(path)
    p = Path(source).expanduser()
    _check_readable(p)
    suffix = p.suffix.lower()
    truth_labels: np.ndarray | None = None
    truth_names = None
    truth_source = None
    truth_spec = None if truth is None else (os.fspath(truth) if isinstance(truth, (str, os.PathLike)) else truth)
    truth_values: Any = None
    line_numbers: list[int] | None = None

    if suffix == ".npy":
        X = _np_load(p, source)
        columns = None
    elif suffix == ".npz":
        with _np_load(p, source) as npz:
            key_for_truth = truth_spec if isinstance(truth_spec, str) and truth_spec in npz.files else None
            xkey, X = _npz_pick_X(npz, source, exclude=key_for_truth)
            if key_for_truth is not None:
                truth_values = npz[key_for_truth]
                truth_source = f"{source}[{key_for_truth!r}]"
                truth_spec = None
        columns = None
    elif suffix in TEXT_SUFFIXES:
        table = _parse_table(p, source)
        truth_col = None
        if isinstance(truth_spec, str):
            truth_col = _find_column(table, truth_spec)
            if truth_col is None and not Path(truth_spec).expanduser().is_file() \
                    and _split_file_key(truth_spec) is None:
                truth_col = _column_position(table, truth_spec)
                if truth_col is None:  # say so before any non-numeric label column is reported
                    raise _truth_not_found(truth_spec, source, suffix, p, table)
        usecols = [j for j in range(table.n_cols) if j != truth_col]
        X = _table_numeric(table, usecols)
        names = table.names()
        columns = [names[j] for j in usecols]
        line_numbers = table.line_numbers
        if truth_col is not None:
            truth_values = table.column_strings(truth_col)
            truth_source = table.describe(truth_col)
            truth_spec = None
    else:
        raise GraphclustError(
            f"input file {source!r}: unsupported file type {p.suffix or '(no extension)'!r}. "
            f"Supported: {', '.join(SUPPORTED_SUFFIXES)}."
        )

    X = _check_X(X, source, line_numbers)
    n = X.shape[0]
    if columns is None:
        columns = [f"x{j + 1}" for j in range(X.shape[1])]

    if truth_values is not None:
        truth_labels, truth_names = _encode_labels(truth_values, f"truth labels ({truth_source})")
    elif isinstance(truth_spec, str):
        if Path(truth_spec).expanduser().is_file() or _split_file_key(truth_spec) is not None:
            truth_labels, truth_names = read_labels(truth_spec, n_expected=n)
            truth_source = truth_spec
        else:
            raise _truth_not_found(truth_spec, source, suffix, p)
    elif truth_spec is not None:
        truth_labels, truth_names = _encode_labels(truth_spec, "truth labels")
        truth_source = "array"
    if truth_labels is not None and truth_labels.shape[0] != n:
        raise GraphclustError(
            f"truth labels ({truth_source}) have {truth_labels.shape[0]} entries but the input has "
            f"{n} points; they must have the same length (one label per row, same order)."
        )
    return PointsData(X=X, columns=list(columns), truth=truth_labels, source=source,
                      truth_names=truth_names, truth_source=truth_source)


def _check_X(X: np.ndarray, source: str, line_numbers: list[int] | None) -> np.ndarray:
    X = np.asarray(X)
    if X.ndim == 1:
        raise GraphclustError(
            f"input {source!r} is 1-D (shape {X.shape}); points need shape (n_samples, n_features). "
            "For a single feature save it as a column: X.reshape(-1, 1)."
        )
    if X.ndim != 2:
        raise GraphclustError(f"input {source!r} must be 2-D (n_samples, n_features), got shape {X.shape}.")
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise GraphclustError(f"input {source!r} is empty (shape {X.shape}).")
    if X.shape[0] < 2:
        raise GraphclustError(f"input {source!r} has only {X.shape[0]} point; at least 2 are needed.")
    try:
        return check_points(X, name=f"input {source!r}", dtype=np.float64)
    except GraphclustError as exc:
        if line_numbers is None or not np.issubdtype(X.dtype, np.number):
            raise
        bad = np.flatnonzero(~np.isfinite(X).all(axis=1))
        if bad.size == 0:
            raise
        lines = ", ".join(str(line_numbers[i]) for i in bad[:5])
        more = " ..." if bad.size > 5 else ""
        raise GraphclustError(
            f"{exc} (Rows count data rows from 0; these are file line(s) {lines}{more}. Empty fields "
            "and NA/nan count as missing.)"
        ) from None


def _truth_not_found(spec: str, source: str, suffix: str, p: Path,
                     table: _Table | None = None) -> GraphclustError:
    tried = []
    if table is not None:
        cols = (f"columns: {', '.join(table.names())}" if table.header is not None
                else f"no header; give a 1-based position 1..{table.n_cols}")
        tried.append(f"not a column of {source!r} ({cols})")
    elif suffix == ".npz":
        with np.load(p, allow_pickle=False) as npz:
            tried.append(f"not a key of {source!r} ({', '.join(npz.files)})")
    looks_like_file = any(c in spec for c in "/\\.") or ":" in spec
    tried.append("not an existing file" + (" (nor FILE:COLUMN with an existing FILE)" if ":" in spec else ""))
    msg = f"--truth {spec!r}: " + "; ".join(tried) + "."
    if looks_like_file:
        return InputFileNotFoundError(msg)
    return GraphclustError(msg)


# --------------------------------------------------------------------------------------------
# output
# --------------------------------------------------------------------------------------------

def check_output_dir(path: str | os.PathLike) -> Path:
    """Create the output directory if needed and check that files can be written there.

    Writability is tested by actually creating and removing a temporary file, which also catches
    read-only mounts, full disks and ACLs that permission bits do not show. Call this before any
    computation.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    pathlib.Path
        The directory (absolute).

    Raises
    ------
    GraphclustError
        ``"cannot write to output directory ...: <reason>. Choose another --out."``
    """
    out = Path(os.fspath(path)).expanduser()

    def fail(reason: str) -> GraphclustError:
        return GraphclustError(f"cannot write to output directory {str(out)!r}: {reason}. Choose another --out.")

    if out.exists() and not out.is_dir():
        raise fail("it exists and is not a directory")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise fail("a part of the path exists and is not a directory") from None
    except OSError as exc:
        raise fail(_reason(exc)) from None
    try:
        fd, tmp = _make_temp(out / ".graphclust-write-test")
        os.close(fd)
        os.unlink(tmp)
    except OSError as exc:
        raise fail(_reason(exc)) from None
    return out.absolute()


def _reason(exc: OSError) -> str:
    return exc.strerror.lower() if exc.strerror else str(exc)


def _make_temp(path: Path) -> tuple[int, str]:
    """Create a new temp file next to ``path`` that keeps ``path``'s suffix.

    Created with mode 0o666 filtered by the umask (like a normal ``open``), unlike
    ``tempfile.mkstemp`` which would leave outputs readable only by their owner.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):
        tmp = path.parent / f".{path.stem}.{secrets.token_hex(4)}.tmp{path.suffix}"
        try:
            return os.open(tmp, flags, 0o666), str(tmp)
        except FileExistsError:  # pragma: no cover - astronomically unlikely
            continue
    raise FileExistsError(f"could not create a temporary file next to {path}")  # pragma: no cover


def _unlink_quiet(name: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(name)


def _replace(tmp: str, path: Path) -> None:
    with contextlib.suppress(OSError):
        os.chmod(tmp, stat.S_IMODE(os.stat(path).st_mode))  # keep an existing file's mode
    try:
        os.replace(tmp, path)
    except OSError as exc:
        raise GraphclustError(f"cannot write {str(path)!r}: {_reason(exc)}.") from None


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w", *, encoding: str | None = "utf-8",
                newline: str | None = None) -> Iterator[IO]:
    """Open a temporary file that replaces ``path`` only when the ``with`` block succeeds.

    Parameters
    ----------
    path : str or path-like
        The final file.
    mode : {"w", "wb"}
    encoding, newline
        As for :func:`open` (text mode only).

    Yields
    ------
    file object
        Writing to it writes the temporary file; on normal exit it is flushed, fsync'ed and moved
        over ``path``; on an exception it is deleted and ``path`` is left as it was.
    """
    if mode not in ("w", "wb"):
        raise GraphclustError(f"atomic_open mode must be 'w' or 'wb', got {mode!r}.")
    path = Path(os.fspath(path)).expanduser()
    try:
        fd, tmp = _make_temp(path)
    except OSError as exc:
        raise GraphclustError(f"cannot write {str(path)!r}: {_reason(exc)}.") from None
    try:
        if "b" in mode:
            fh = os.fdopen(fd, mode)
        else:
            fh = os.fdopen(fd, mode, encoding=encoding, newline=newline)
    except BaseException:
        os.close(fd)
        _unlink_quiet(tmp)
        raise
    try:
        with fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        _replace(tmp, path)
    except BaseException:
        _unlink_quiet(tmp)
        raise


def atomic_write_text(path: str | os.PathLike, text: str, *, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically; return the path."""
    with atomic_open(path, "w", encoding=encoding, newline="") as fh:
        fh.write(text)
    return Path(path)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; return the path."""
    with atomic_open(path, "wb") as fh:
        fh.write(data)
    return Path(path)


def _jsonable(obj: Any) -> Any:
    """Convert numpy types, paths and non-finite floats (to ``None``) for :mod:`json`."""
    if isinstance(obj, dict):
        return {(_jsonable(k) if not isinstance(k, str) else k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (set, frozenset)):
        items = [_jsonable(v) for v in obj]
        with contextlib.suppress(TypeError):
            items.sort()
        return items
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        return _jsonable(obj.item())
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    return obj


def write_json(path: str | os.PathLike, obj: Any) -> Path:
    """Write ``obj`` as indented JSON (``indent=2``) atomically; return the path.

    numpy scalars and arrays are converted to Python numbers and lists, paths to strings, sets to
    sorted lists, and NaN/inf to ``null``. Objects ``json`` cannot encode raise ``TypeError`` and
    leave any existing file unchanged.
    """
    data = _jsonable(obj)
    with atomic_open(path, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=2, allow_nan=False, ensure_ascii=False)
        fh.write("\n")
    return Path(path)


def _csv_column(values: Any, name: str, n: int) -> list:
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise GraphclustError(f"column {name!r} must be 1-D, got shape {arr.shape}.")
    if arr.shape[0] != n:
        raise GraphclustError(f"column {name!r} has {arr.shape[0]} values but there are {n} labels.")
    if np.issubdtype(arr.dtype, np.floating):
        obj = arr.astype(object)
        obj[~np.isfinite(arr)] = None  # written as an empty field
        return obj.tolist()
    return arr.tolist()


def write_labels_csv(path: str | os.PathLike, labels: Any, *, index: Any = None,
                     extra_columns: Mapping[str, Any] | None = None) -> Path:
    """Write cluster labels as CSV (header ``index,label`` then any extra columns) atomically.

    Parameters
    ----------
    path : str or path-like
    labels : array-like of shape (n,)
    index : array-like of shape (n,), optional
        Row identifiers; default ``0..n-1``.
    extra_columns : mapping of str to array-like of shape (n,), optional
        More columns, in mapping order (e.g. ``{"truth": y}``). Non-finite floats are written as
        empty fields.

    Returns
    -------
    pathlib.Path
    """
    lab = np.asarray(labels)
    if lab.ndim != 1:
        raise GraphclustError(f"labels must be 1-D, got shape {lab.shape}.")
    n = lab.shape[0]
    names = ["index", "label"]
    cols = [_csv_column(np.arange(n) if index is None else index, "index", n), _csv_column(lab, "label", n)]
    for name, values in (extra_columns or {}).items():
        name = str(name)
        if name in names:
            raise GraphclustError(f"extra column name {name!r} is already used; choose another.")
        names.append(name)
        cols.append(_csv_column(values, name, n))
    with atomic_open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(names)
        writer.writerows(zip(*cols))
    return Path(path)


def atomic_savefig(fig: Any, path: str | os.PathLike, **kwargs: Any) -> Path:
    """Save a matplotlib figure atomically; return the path.

    The temporary file keeps ``path``'s suffix (e.g. ``.png``) so matplotlib infers the format;
    ``format`` is also passed explicitly (from ``kwargs`` or the suffix, default ``png``).

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    path : str or path-like
    **kwargs
        Passed to ``fig.savefig`` (e.g. ``dpi``).
    """
    path = Path(os.fspath(path)).expanduser()
    fmt = kwargs.pop("format", None) or (path.suffix[1:].lower() if path.suffix else "png")
    try:
        fd, tmp = _make_temp(path)
    except OSError as exc:
        raise GraphclustError(f"cannot write {str(path)!r}: {_reason(exc)}.") from None
    os.close(fd)
    try:
        fig.savefig(tmp, format=fmt, **kwargs)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        _replace(tmp, path)
    except BaseException:
        _unlink_quiet(tmp)
        raise
    return path

