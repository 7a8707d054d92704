"""Approximate kNN-graph benchmark: graphclust's NN-descent against its peers, one process.

For every data set and k, each method builds the full kNN graph of all n points (index build +
query of every point, the point itself excluded) and is scored by

* seconds (build + query, wall clock),
* recall@k against exact neighbours (all points for n <= --exact-max, else --sample random
  queries against brute force); tie-aware: a returned neighbour counts when its distance is
  <= the true k-th distance,
* peak RSS of the process during the method (and its rise over the RSS before it),
* time ratio to graphclust on the same n and k.

Data: MNIST pixels / 255 -> PCA 50 (sklearn, random_state=0), the first n rows for each n in
--sizes (PCA fitted on all 70,000), from ../shared/data/images/mnist.npz relative to the
repository root; with --million also ``gaussian_mixture(1_000_000, 50, 10, random_state=0)``.

Peers are imported lazily; a missing one is reported as "not installed". JIT methods
(graphclust, pynndescent) report their first call in the process (compilation or cache load
included) as a separate row from a second, warm call.

    python benchmarks/bench_knn.py --sizes 20000 70000 --k 10
    python benchmarks/bench_knn.py --sizes 70000 --million --k 10 30
"""
from __future__ import annotations

import argparse
import gc
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / ".." / "shared" / "data"
MNIST = DATA / "images" / "mnist.npz"
sys.path.insert(0, str(ROOT / "src"))  # run from a checkout without installing


# --------------------------------------------------------------------------------------------
# memory
# --------------------------------------------------------------------------------------------
def _status_kib(field: str) -> int | None:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def _reset_peak() -> bool:
    """Reset the kernel's peak-RSS counter (VmHWM) of this process (Linux >= 4.0)."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


class PeakRSS:
    """Peak RSS over a block: VmHWM after a reset, else ru_maxrss (monotone, marked '*')."""

    def __enter__(self):
        gc.collect()
        self.exact = _reset_peak()
        self.before = (_status_kib("VmRSS") or 0) * 1024
        return self

    def __exit__(self, *exc):
        hwm = _status_kib("VmHWM") if self.exact else None
        if hwm is None:
            self.exact = False
            hwm = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        self.peak = hwm * 1024
        return False


# --------------------------------------------------------------------------------------------
# data and exact neighbours
# --------------------------------------------------------------------------------------------
def load_mnist_pca50() -> np.ndarray:
    if not MNIST.exists():
        raise SystemExit(f"MNIST not found at {MNIST.resolve()} (expected ../shared/data).")
    from sklearn.decomposition import PCA

    X = np.load(MNIST)["X"].astype(np.float32) / np.float32(255.0)
    return np.ascontiguousarray(PCA(50, random_state=0).fit_transform(X), dtype=np.float32)


def exact_knn_rows(X: np.ndarray, rows: np.ndarray, k: int, block: int = 512) -> np.ndarray:
    """True k-th neighbour distance (self excluded) for the given query rows, brute force."""
    sq = np.einsum("ij,ij->i", X, X, dtype=np.float64)
    kth = np.empty(rows.size)
    for s in range(0, rows.size, block):
        r = rows[s:s + block]
        d2 = sq[r, None] + sq[None, :] - 2.0 * (X[r].astype(np.float64) @ X.T.astype(np.float64))
        d2[np.arange(r.size), r] = np.inf
        kth[s:s + block] = np.sqrt(np.maximum(np.partition(d2, k - 1, axis=1)[:, k - 1], 0.0))
    return kth


def exact_kth_from_flat(X, k, threads):
    """k-th neighbour distance of every point via faiss exact search (None if faiss missing)."""
    try:
        import faiss
    except ImportError:
        return None
    faiss.omp_set_num_threads(threads)
    index = faiss.IndexFlatL2(X.shape[1])
    index.add(X)
    _, ind = index.search(X, k + 1)
    ind = drop_self(ind, k)
    d = np.linalg.norm(X[ind].astype(np.float64) - X[:, None, :].astype(np.float64), axis=2)
    return d.max(axis=1)


def recall(X, ind, rows, kth, block: int = 8192) -> float:
    """Tie-aware recall@k: share of returned neighbours no farther than the true k-th."""
    k = ind.shape[1]
    hits = 0
    for s in range(0, rows.size, block):
        r = rows[s:s + block]
        nb = ind[r]
        d = np.linalg.norm(X[nb].astype(np.float64) - X[r].astype(np.float64)[:, None, :], axis=2)
        ok = (d <= kth[s:s + block, None] * (1 + 1e-5) + 1e-6) & (nb >= 0) & (nb != r[:, None])
        hits += int(np.minimum(ok.sum(axis=1), k).sum())
    return hits / (rows.size * k)


def drop_self(ind: np.ndarray, k: int) -> np.ndarray:
    """From k+1 columns, drop the point itself (or the last column if it is absent)."""
    n = ind.shape[0]
    is_self = ind == np.arange(n)[:, None]
    is_self[~is_self.any(axis=1), -1] = True
    return ind[~is_self].reshape(n, k)


# --------------------------------------------------------------------------------------------
# methods: each returns an (n, k) int array of neighbour indices (self excluded)
# --------------------------------------------------------------------------------------------
def m_graphclust(X, k, threads):
    import numba

    from graphclust.graph._nndescent import nndescent_knn

    numba.set_num_threads(threads)
    return nndescent_knn(X, k, random_state=0)[1]


def m_hnswlib(X, k, threads):
    import hnswlib

    n, d = X.shape
    index = hnswlib.Index(space="l2", dim=d)
    index.init_index(max_elements=n, ef_construction=60, M=16, random_seed=0)
    index.set_num_threads(threads)
    index.add_items(X)
    index.set_ef(max(40, k + 1))
    ind, _ = index.knn_query(X, k=k + 1)
    return drop_self(ind, k)


def m_faiss_hnsw(X, k, threads):
    import faiss

    faiss.omp_set_num_threads(threads)
    index = faiss.IndexHNSWFlat(X.shape[1], 16)
    index.hnsw.efConstruction = 60
    index.add(X)
    index.hnsw.efSearch = max(40, k + 1)
    _, ind = index.search(X, k + 1)
    return drop_self(ind, k)


def m_faiss_flat(X, k, threads):
    import faiss

    faiss.omp_set_num_threads(threads)
    index = faiss.IndexFlatL2(X.shape[1])
    index.add(X)
    _, ind = index.search(X, k + 1)
    return drop_self(ind, k)


def m_pynndescent(X, k, threads):
    import numba
    from pynndescent import NNDescent

    numba.set_num_threads(threads)
    index = NNDescent(X, n_neighbors=k + 1, random_state=0, n_jobs=threads, verbose=False)
    ind, _ = index.neighbor_graph
    return drop_self(ind, k)


METHODS = {  # name: (function, module that must import, JIT compiled in-process?)
    "graphclust nndescent": (m_graphclust, "numba", True),
    "hnswlib (M16 ef60/40)": (m_hnswlib, "hnswlib", False),
    "faiss HNSW (M16 ef60/40)": (m_faiss_hnsw, "faiss", False),
    "faiss flat (exact)": (m_faiss_flat, "faiss", False),
    "pynndescent": (m_pynndescent, "pynndescent", True),
}


def available(module: str) -> bool:
    try:
        __import__(module)
        return True
    except Exception:  # ImportError, or a broken install
        return False


# --------------------------------------------------------------------------------------------
def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="*", default=[20000, 70000],
                    help="MNIST-PCA50 sizes (first n rows; at most 70000)")
    ap.add_argument("--million", action="store_true",
                    help="add the 1,000,000 x 50 Gaussian mixture")
    ap.add_argument("--k", type=int, nargs="+", default=[10])
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--methods", nargs="*", default=None,
                    help=f"subset of: {', '.join(METHODS)} (match by prefix)")
    ap.add_argument("--exact-max", type=int, default=70000,
                    help="largest n scored against all points (larger: sampled queries)")
    ap.add_argument("--sample", type=int, default=1000, help="queries sampled for large n")
    ap.add_argument("--flat-max", type=int, default=100000,
                    help="largest n for which faiss flat (exact, O(n^2)) is run")
    ap.add_argument("--markdown", type=Path, default=None,
                    help="also write the table to this markdown file (benchmarks/run_all.py)")
    args = ap.parse_args(argv)

    sel = list(METHODS) if not args.methods else [
        m for m in METHODS if any(m.startswith(p) for p in args.methods)]
    data = []
    if args.sizes:
        if max(args.sizes) > 70000:
            raise SystemExit("--sizes: MNIST has 70000 points; use --million for larger n.")
        t = time.perf_counter()
        Z = load_mnist_pca50()
        print(f"# MNIST-PCA50 loaded in {time.perf_counter() - t:.1f} s", flush=True)
        data += [("mnist-pca50", np.ascontiguousarray(Z[:n])) for n in args.sizes]
    if args.million:
        from graphclust.datasets import gaussian_mixture

        Xg, _ = gaussian_mixture(1_000_000, 50, 10, random_state=0)
        data.append(("gmm-1M", Xg))

    load = os.getloadavg()
    print(f"# threads={args.threads}  load average at start: "
          f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}  (cpus: {os.cpu_count()})", flush=True)
    rows_out = []
    first_done = set()
    header = (f"{'method':34s} {'data':12s} {'n':>8s} {'k':>3s} {'seconds':>8s} {'recall':>7s} "
              f"{'peakRSS':>9s} {'+RSS':>8s} {'ratio':>6s} {'load':>5s}")
    print(header)
    print("-" * len(header), flush=True)
    for name, X in data:
        n = X.shape[0]
        for k in args.k:
            if n <= args.exact_max:
                rows = np.arange(n)
                kth = exact_kth_from_flat(X, k, args.threads)
                if kth is None:
                    kth = exact_knn_rows(X, rows, k)
            else:
                rows = np.sort(np.random.default_rng(0).choice(n, args.sample, replace=False))
                kth = exact_knn_rows(X, rows, k)
            base_time = None
            for meth in sel:
                fn, module, jit = METHODS[meth]
                label_runs = []
                if not available(module):
                    print(f"{meth:34s} {name:12s} {n:8d} {k:3d}   not installed", flush=True)
                    continue
                if meth.startswith("faiss flat") and n > args.flat_max:
                    print(f"{meth:34s} {name:12s} {n:8d} {k:3d}   skipped (n > --flat-max)",
                          flush=True)
                    continue
                if jit and meth not in first_done:
                    label_runs = [(meth + " (1st call)", True), (meth, False)]
                    first_done.add(meth)
                else:
                    label_runs = [(meth, False)]
                for label, is_first in label_runs:
                    load1 = os.getloadavg()[0]
                    with PeakRSS() as mem:
                        t = time.perf_counter()
                        try:
                            ind = fn(X, k, args.threads)
                        except Exception as exc:  # report and go on with the other peers
                            print(f"{label:34s} {name:12s} {n:8d} {k:3d}   failed: {exc!r}",
                                  flush=True)
                            ind = None
                        sec = time.perf_counter() - t
                    if ind is None:
                        continue
                    rec = recall(X, np.asarray(ind), rows, kth)
                    if meth.startswith("graphclust") and not is_first:
                        base_time = sec
                    ratio = f"{sec / base_time:6.2f}" if base_time else f"{'':6s}"
                    star = "" if mem.exact else "*"
                    print(f"{label:34s} {name:12s} {n:8d} {k:3d} {sec:8.2f} {rec:7.4f} "
                          f"{mem.peak / 2**20:8.0f}M{star} {(mem.peak - mem.before) / 2**20:7.0f}M "
                          f"{ratio} {load1:5.2f}", flush=True)
                    rows_out.append((label, name, n, k, sec, rec, mem.peak))
                    del ind
                    gc.collect()
    load = os.getloadavg()
    print(f"# load average at end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print("# recall: tie-aware recall@k vs exact (all points for n <= --exact-max, else "
          f"{args.sample} sampled queries); ratio: seconds / graphclust's (warm) seconds")
    if args.markdown is not None:
        base = {(r[1], r[2], r[3]): r[4] for r in rows_out if r[0] == "graphclust nndescent"}
        lines = [f"threads={args.threads}; load average at end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}",
                 "", "| method | data | n | k | seconds | recall@k | peak RSS (MiB) | time / graphclust |",
                 "|---|---|---:|---:|---:|---:|---:|---:|"]
        for label, name, n, k, sec, rec, peak in rows_out:
            b = base.get((name, n, k))
            ratio = f"{sec / b:.2f}" if b else ""
            lines.append(f"| {label} | {name} | {n} | {k} | {sec:.2f} | {rec:.4f} | "
                         f"{peak / 2**20:.0f} | {ratio} |")
        lines += ["", "recall: tie-aware recall@k against exact neighbours (all points for n <= "
                  f"{args.exact_max}, else {args.sample} sampled queries); JIT methods show their "
                  "first call in the process (compilation or cache load) as a separate row."]
        args.markdown.write_text("\n".join(lines) + "\n")
    return rows_out


if __name__ == "__main__":
    main()
