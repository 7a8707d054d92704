"""Loaders for the real datasets in ``shared/data`` (see ``shared/data/SOURCES.md``).

The data folder is found by :func:`data_dir`: the ``GRAPHCLUST_DATA`` environment variable if it
is set, else ``<repository root>/../shared/data`` (for a source checkout in src layout), else
``./shared/data`` or ``../shared/data`` relative to the current directory. Nothing is read or
imported at import time; scikit-learn is imported only when PCA is requested.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from graphclust._validation import GraphclustError, check_choice, check_int, check_random_state

__all__ = [
    "BENCHMARK_BATTERIES",
    "data_dir",
    "load_mnist",
    "load_scrna",
    "list_benchmarks",
    "load_benchmark",
]

#: Batteries of Gagolewski's clustering benchmark suite v1 available in ``clustering_benchmarks/``.
BENCHMARK_BATTERIES = ("wut", "fcps", "other", "g2mg")

_ENV_VAR = "GRAPHCLUST_DATA"
_MNIST_FILE = ("images", "mnist.npz")
_SCRNA_FILE = ("scrna", "cite_cbmc_top2000.npz")
_MNIST_N_TRAIN = 60000
_MNIST_N_TOTAL = 70000
_MNIST_N_PIXELS = 784


def _candidate_dirs() -> list[Path]:
    env = os.environ.get(_ENV_VAR)
    if env:
        return [Path(env).expanduser()]
    candidates = []
    here = Path(__file__).resolve()
    # .../<repo>/src/graphclust/datasets/loaders.py -> parents[2] is src, parents[3] the repo root.
    if len(here.parents) > 3 and here.parents[2].name == "src":
        candidates.append(here.parents[3].parent / "shared" / "data")
    cwd = Path.cwd()
    for path in (cwd / "shared" / "data", cwd.parent / "shared" / "data"):
        if path not in candidates:
            candidates.append(path)
    return candidates


def data_dir() -> Path:
    """Locate the shared data folder.

    Returns
    -------
    pathlib.Path
        The first existing folder among: ``$GRAPHCLUST_DATA`` (if the variable is set, it is the
        only candidate), ``<repository root>/../shared/data``, ``./shared/data`` and
        ``../shared/data``.

    Raises
    ------
    FileNotFoundError
        If none of the candidate folders exists; the message lists the paths tried.
    """
    tried = _candidate_dirs()
    for path in tried:
        if path.is_dir():
            return path
    listed = "\n  ".join(str(p) for p in tried)
    if os.environ.get(_ENV_VAR):
        raise FileNotFoundError(
            f"{_ENV_VAR} is set but does not name an existing folder:\n  {listed}\n"
            f"Point {_ENV_VAR} at the folder that holds images/, scrna/ and clustering_benchmarks/."
        )
    raise FileNotFoundError(
        f"Could not find the graphclust data folder; tried:\n  {listed}\n"
        f"Set the {_ENV_VAR} environment variable to the folder that holds images/, scrna/ and "
        "clustering_benchmarks/."
    )


def _data_file(*parts: str) -> Path:
    root = data_dir()
    path = root.joinpath(*parts)
    if not path.is_file():
        raise FileNotFoundError(
            f"Data file {'/'.join(parts)} not found: {path} does not exist. Check the data folder "
            f"({root}) or set {_ENV_VAR} to a folder that contains it."
        )
    return path


def _pca(X: np.ndarray, n_components: int, random_state) -> np.ndarray:
    """Deterministic PCA to ``n_components`` dimensions, float32 output.

    For tall, narrow data (n_features <= 1000 and n_samples >= 10 * n_features, e.g. MNIST) the
    exact ``covariance_eigh`` solver is used when the installed scikit-learn has it (>= 1.5);
    otherwise the randomized solver with a fixed seed (fast for wide data such as 2000 genes).
    Both are deterministic for a given ``random_state``; component signs are fixed by sklearn.
    """
    import sklearn
    from sklearn.decomposition import PCA

    n, d = X.shape
    version = tuple(int(v) for v in sklearn.__version__.split(".")[:2] if v.isdigit())
    solver = "randomized"
    if version >= (1, 5) and d <= 1000 and n >= 10 * d:
        solver = "covariance_eigh"
    seed = int(check_random_state(random_state).integers(0, 2**31 - 1))
    Z = PCA(n_components=n_components, svd_solver=solver, random_state=seed).fit_transform(X)
    return np.ascontiguousarray(Z, dtype=np.float32)


def load_mnist(subset: str = "all", *, scale: bool = True, n_components: int | None = None,
               n_samples: int | None = None, random_state=0):
    """MNIST handwritten digits (70,000 images of 28 x 28 pixels).

    Parameters
    ----------
    subset : {"all", "train", "test"}, default="all"
        ``"train"``: the official 60,000 training images (rows 0..59999); ``"test"``: the 10,000
        test images; ``"all"``: both, training block first.
    scale : bool, default=True
        Divide the pixels by 255 (values in [0, 1]); otherwise raw 0..255 as float32.
    n_components : int, optional
        If given, project onto this many principal components, fitted on the loaded rows
        (after ``n_samples`` is applied).
    n_samples : int, optional
        Keep only the **first** ``n_samples`` rows of the subset (not a random sample), so that
        benchmarks are reproducible. Must not exceed the size of the subset.
    random_state : int, Generator or None, default=0
        Seed for the randomized PCA solver (only used if that solver is chosen).

    Returns
    -------
    X : ndarray of shape (n, 784) or (n, n_components), float32
    y : ndarray of shape (n,), int64
        Digit 0..9.

    Raises
    ------
    FileNotFoundError
        If the data folder or ``images/mnist.npz`` is missing.
    GraphclustError
        For an unknown ``subset`` or an out-of-range ``n_samples`` / ``n_components``.
    """
    check_choice(subset, "subset", ("all", "train", "test"))
    # Validate everything before the (relatively slow) decompression of the archive.
    n_rows = {"all": _MNIST_N_TOTAL, "train": _MNIST_N_TRAIN,
              "test": _MNIST_N_TOTAL - _MNIST_N_TRAIN}[subset]
    if n_samples is not None:
        n_rows = check_int(n_samples, "n_samples", low=1, high=n_rows,
                           hint=f"The {subset!r} subset has {n_rows} images.")
    if n_components is not None:
        n_components = check_int(n_components, "n_components", low=1,
                                 high=min(n_rows, _MNIST_N_PIXELS))
    path = _data_file(*_MNIST_FILE)
    with np.load(path) as data:
        X, y = data["X"], data["y"]
    if X.shape != (_MNIST_N_TOTAL, _MNIST_N_PIXELS):
        raise GraphclustError(
            f"{path} holds an array of shape {X.shape}; expected ({_MNIST_N_TOTAL}, "
            f"{_MNIST_N_PIXELS}) (see SOURCES.md)."
        )
    start = _MNIST_N_TRAIN if subset == "test" else 0
    X, y = X[start:start + n_rows], y[start:start + n_rows]
    out = X.astype(np.float32)
    if scale:
        np.divide(out, np.float32(255.0), out=out)
    if n_components is not None:
        out = _pca(out, n_components, random_state)
    return out, y.astype(np.int64)


def load_scrna(*, preprocess: bool = True, n_components: int | None = 50, random_state=0):
    """CITE-seq cord-blood mononuclear cells (Stoeckius et al. 2017): 8,617 cells, 15 types.

    Parameters
    ----------
    preprocess : bool, default=True
        Library-size normalise every cell to the median total count, apply ``log1p`` and (if
        ``n_components`` is not None) PCA. ``False`` returns the raw UMI counts of the 2000
        selected genes as float32.
    n_components : int or None, default=50
        Number of principal components when ``preprocess`` is True; None skips the PCA and
        returns the normalised log counts (8617, 2000).
    random_state : int, Generator or None, default=0
        Seed for the randomized PCA solver.

    Returns
    -------
    X : ndarray of shape (8617, n_components) (or (8617, 2000)), float32
    y : ndarray of shape (8617,), int64
        Cell-type code 0..14 (cell-type names are not part of the source file).

    Raises
    ------
    FileNotFoundError
        If the data folder or ``scrna/cite_cbmc_top2000.npz`` is missing.
    GraphclustError
        If ``n_components`` is out of range.
    """
    path = _data_file(*_SCRNA_FILE)
    with np.load(path) as data:
        counts, y = data["X"], data["labels"]
    y = y.astype(np.int64)
    if not preprocess:
        return counts.astype(np.float32), y
    if n_components is not None:
        n_components = check_int(n_components, "n_components", low=1, high=min(counts.shape))
    X = counts.astype(np.float64)
    totals = X.sum(axis=1)
    target = float(np.median(totals))
    # Cells with no counts stay all-zero instead of producing NaN.
    scale = np.divide(target, totals, out=np.zeros_like(totals), where=totals > 0)
    X *= scale[:, None]
    np.log1p(X, out=X)
    X = X.astype(np.float32)
    if n_components is not None:
        X = _pca(X, n_components, random_state)
    return X, y


def _benchmark_file(battery: str) -> Path:
    check_choice(battery, "battery", BENCHMARK_BATTERIES)
    return _data_file("clustering_benchmarks", f"clustering_benchmarks_v1_{battery}.npz")


def list_benchmarks(battery: str) -> list[str]:
    """Names of the datasets in one battery of the clustering benchmark suite.

    Parameters
    ----------
    battery : {"wut", "fcps", "other", "g2mg"}
        Battery of Gagolewski's *Benchmark Suite for Clustering Algorithms* v1.

    Returns
    -------
    list of str
        Dataset names in stored order (e.g. ``"atom"``, ``"hepta"`` for ``"fcps"``).

    Raises
    ------
    GraphclustError
        For an unknown battery (the message lists the valid ones).
    FileNotFoundError
        If the battery's ``.npz`` file is missing.
    """
    path = _benchmark_file(battery)
    with np.load(path) as data:
        return [str(name) for name in data["names"]]


def load_benchmark(battery: str, name: str, labels: int = 0):
    """One dataset of Gagolewski's clustering benchmark suite v1, with a reference partition.

    Parameters
    ----------
    battery : {"wut", "fcps", "other", "g2mg"}
        Battery holding the dataset (see :func:`list_benchmarks`).
    name : str
        Dataset name within the battery.
    labels : int, default=0
        Which reference partition to return (``labels0``, ``labels1``, ...); several datasets
        provide alternative ground truths.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features), float64
    y : ndarray of shape (n_samples,), int64
        Reference labels **as stored by the suite**: clusters are ``1..k`` and ``0`` marks
        noise/outlier points (not a cluster). Drop or mask ``y == 0`` when scoring if needed.

    Raises
    ------
    GraphclustError
        For an unknown battery or dataset name, or a ``labels`` index the dataset does not
        provide (each message lists the valid values).
    FileNotFoundError
        If the battery's ``.npz`` file is missing.
    """
    path = _benchmark_file(battery)
    labels = check_int(labels, "labels", low=0)
    with np.load(path) as data:
        names = [str(n) for n in data["names"]]
        if name not in names:
            raise GraphclustError(
                f"Unknown dataset {name!r} in battery {battery!r}; valid names: {', '.join(names)}."
            )
        available = sorted(
            int(key[len(name) + len("__labels"):]) for key in data.files
            if key.startswith(f"{name}__labels")
        )
        if labels not in available:
            raise GraphclustError(
                f"Dataset {battery}/{name} has no reference partition labels={labels}; "
                f"available: {', '.join(map(str, available))}."
            )
        X = data[f"{name}__data"].astype(np.float64)
        y = data[f"{name}__labels{labels}"].astype(np.int64)
    return X, y
