"""MPI scaling benchmark: P = 1 vs P = 2 ranks (and the P = 1..4 correctness check).

Cases
-----
``mnist20k``  MNIST-PCA50, first 20,000 rows, K = 10: labels for every P vs the serial
              pipeline (``SpectralClustering(knn_method="exact")``), ARI must be 1.0.
``mnist70k``  MNIST-PCA50, all 70,000 rows, K = 10, exact kNN inside the MPI pipeline.
``gmm1m``     gaussian_mixture(1_000_000, 50, 10, random_state=0), K = 10. Exact kNN at 1M
              points (O(n^2 d) = 5e13 flop) takes hours on 2 cores, so the neighbours are
              computed once by the serial NN-descent and each rank reads its rows from a
              memory-mapped file (stage "knn (precomputed)"); every later stage runs distributed.

Usage::

    python benchmarks/bench_mpi.py --case mnist70k --ranks 1 2 --threads 1
    python benchmarks/bench_mpi.py --case mnist20k --ranks 1 2 3 4 --serial

Each configuration runs as ``mpiexec -n P python bench_mpi.py --worker ...``; the results
(per-stage times of the slowest rank, bytes sent per stage summed over ranks, peak RSS per rank,
machine load before and after) are appended as JSON lines to benchmarks/_cache/mpi_results.jsonl
and printed as a Markdown table.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import CACHE, REPO, load, machine, md_table  # noqa: E402

RESULTS = CACHE / "mpi_results.jsonl"


def data(case):
    if case.startswith("mnist"):
        f = CACHE / "mnist_pca50.npz"
        if not f.exists():
            from graphclust.datasets import load_mnist

            X, y = load_mnist("all", n_components=50)
            np.savez(f, X=X, y=y)
        d = np.load(f)
        n = 20000 if case == "mnist20k" else 70000
        return np.ascontiguousarray(d["X"][:n]), d["y"][:n]
    from graphclust.datasets import gaussian_mixture

    return gaussian_mixture(1_000_000, 50, 10, random_state=0)


def knn_files(case):
    return CACHE / f"{case}_knn_dist.npy", CACHE / f"{case}_knn_idx.npy"


def prepare(case):
    """Precomputed neighbours for gmm1m (serial NN-descent, cached)."""
    if case != "gmm1m":
        return None
    fd, fi = knn_files(case)
    if not fd.exists():
        from graphclust import knn

        X, _ = data(case)
        t0 = time.perf_counter()
        res = knn(X, 10, method="nndescent", random_state=0)
        print(f"NN-descent 1M: {time.perf_counter() - t0:.1f} s", flush=True)
        np.save(fi, res.indices)
        np.save(fd, res.distances)
    return fd, fi


def _solver_tag(solver):
    """File-name suffix of a run's labels: none for the default solver (Lanczos)."""
    return "" if solver in ("lanczos", "components", "auto") else "_" + solver.replace(":", "-")


def worker(a):
    from mpi4py import MPI

    from graphclust.distributed import spectral_clustering_mpi

    comm = MPI.COMM_WORLD
    X = y = None
    if comm.rank == 0:
        X, y = data(a.case)
    pre = None
    if a.case == "gmm1m":
        fd, fi = knn_files(a.case)
        pre = (np.load(fd, mmap_mode="r"), np.load(fi, mmap_mode="r"))
    comm.Barrier()
    t0 = time.perf_counter()
    res = spectral_clustering_mpi(X, 10, random_state=0, n_jobs=a.threads, labels_on="root",
                                  precomputed_knn=pre, eigen_solver=a.eigen_solver)
    wall = time.perf_counter() - t0
    if comm.rank != 0:
        return
    from graphclust.metrics import evaluate

    out = {"case": a.case, "ranks": res.n_ranks, "threads": res.threads, "wall_s": wall,
           "timings_max": res.timings_max, "bytes_total": res.bytes_total,
           "peak_rss": res.peak_rss, "graph_nnz": res.graph_nnz, "halo": res.halo,
           "eigen_solver": res.eigen_solver,
           "eigen_info": {k: (v.tolist() if hasattr(v, "tolist") else v)
                          for k, v in res.eigen_info.items()},
           "n_edges": res.n_edges, "ari_truth": evaluate(y, res.labels)["ari"]}
    np.save(CACHE / f"mpi_labels_{a.case}_P{res.n_ranks}{_solver_tag(res.eigen_solver)}.npy",
            res.labels)
    if a.serial:
        from graphclust.spectral import SpectralClustering

        t1 = time.perf_counter()
        m = SpectralClustering(10, random_state=0, knn_method="exact", n_jobs=a.threads).fit(X)
        out["serial_s"] = time.perf_counter() - t1
        out["serial_timings"] = m.timings_
        out["ari_vs_serial"] = evaluate(m.labels_, res.labels)["ari"]
    print("RESULT " + json.dumps(out), flush=True)


def model(alpha=2e-6, beta=10e9, d=50, K=10, k=10):
    """Scaling model from the measured P = 1 runs (mpi_results.jsonl): time and memory per rank.

    Compute constants are per-core rates measured here (busy 2-core machine, so conservative);
    communication uses an assumed cluster network: latency ``alpha`` s, bandwidth ``beta`` B/s.
    """
    rows = [json.loads(x) for x in RESULTS.read_text().splitlines()]
    one = {}
    for r in rows:  # the last P = 1 run of each case, the default solver preferred
        if r["ranks"] == 1 and (r["eigen_solver"] == "lanczos" or r["case"] not in one
                                or one[r["case"]]["eigen_solver"] != "lanczos"):
            one[r["case"]] = r
    m70, g1m = one["mnist70k"], one["gmm1m"]
    n70, n1m = 70000, 1_000_000
    c_knn = m70["timings_max"]["knn"] / (n70 * n70 * 51)            # s per (pair x dim)
    epr = g1m["graph_nnz"][0] / n1m                                  # stored entries per row
    cols = g1m["eigen_info"]["matvecs"]                              # column products at 1M
    c_eig = g1m["timings_max"]["eigen"] / (g1m["graph_nnz"][0] * cols)  # s per entry-column
    c_aff = g1m["timings_max"]["affinity"] / n1m
    c_km = g1m["timings_max"]["kmeans"] / n1m
    iters = g1m["eigen_info"]["iterations"]
    lanczos = g1m["eigen_solver"] == "lanczos"
    if lanczos:  # one vector per product; ~3 small all-reduces per product (two CGS passes, norm)
        b, products, reductions = 1, cols, 3 * cols
        red_words = g1m["eigen_info"].get("ncv", 30)
        how = f"{cols} single-vector products in {iters} restart cycles (thick-restart Lanczos)"
    else:
        b = max(K + 8, 2 * K + 4)
        products, reductions, red_words = iters * 17, iters * 4, b * b
        how = f"{cols} column products = {iters} iterations at 1M, block {b} (Chebyshev)"
    out = [f"Constants (measured, P = 1): exact kNN {c_knn * 1e12:.2f} ps per pair-dimension; "
           f"eigen {c_eig * 1e9:.2f} ns per stored entry per column product ({how}); "
           f"affinity {c_aff * 1e6:.2f} us/point; "
           f"k-means {c_km * 1e6:.2f} us/point (10 restarts); {epr:.1f} stored entries per row. "
           f"Network assumed: {alpha * 1e6:.0f} us latency, {beta / 1e9:.0f} GB/s.", ""]
    hdr = ["n", "P", "kNN (exact) s", "affinity s", "eigen compute s", "eigen halo s",
           "k-means s", "halo rows/rank", "memory/rank GB", "of which replicated GB"]
    table = []
    for n in (1e6, 1e7, 1e8):
        for P in (1, 2, 16, 128, 1024):
            nl = n / P
            t_knn = c_knn * n * nl * (d + 1)
            t_aff = c_aff * nl + 16 * epr * nl * (P - 1) / P / beta + 8 * n / beta
            t_eig = c_eig * epr * nl * cols
            halo = 0 if P == 1 else min(n - nl, epr * nl)
            t_halo = products * (P > 1) * (halo * b * 8 / beta + alpha * min(P - 1, 64)) \
                + reductions * (alpha * np.log2(max(P, 2)) * 2 + red_words * 8 / beta)
            t_km = c_km * nl + 10 * 100 * 2 * np.log2(max(P, 2)) * alpha * (P > 1)
            repl = n * d * 4 * 2 + 8 * n * 2            # X and the BLAS copy, sigma, labels
            vecs = (red_words + 1) if lanczos else 6 * b        # Krylov basis or Chebyshev block
            local = 12 * epr * nl + 16 * (k + 1) * nl + vecs * 8 * nl + 2 * halo * b * 8
            table.append([f"{n:.0e}", P, f"{t_knn:.3g}", f"{t_aff:.3g}", f"{t_eig:.3g}",
                          f"{t_halo:.3g}", f"{t_km:.3g}", f"{halo:.3g}",
                          f"{(repl + local) / 1e9:.3g}", f"{repl / 1e9:.3g}"])
    out.append(md_table(hdr, table))
    return "\n".join(out)


CASE_TITLES = {
    "mnist20k": "MNIST-PCA50, 20,000 rows, K = 10 (correctness: P = 1..4 vs serial)",
    "mnist70k": "MNIST-PCA50, 70,000 rows, K = 10, exact kNN",
    "gmm1m": "gaussian_mixture(1_000_000, 50, 10, random_state=0), K = 10, precomputed "
             "NN-descent neighbours (each rank reads its rows from a memory-mapped file)",
}


def report():
    """benchmarks/RESULTS_mpi.md from mpi_results.jsonl (the last run of each case and P)."""
    rows, by_solver = {}, {}
    for x in RESULTS.read_text().splitlines():
        r = json.loads(x)
        if r["eigen_solver"] in ("lanczos", "components"):
            rows[(r["case"], r["ranks"])] = r
        by_solver[(r["case"], r["ranks"], r["eigen_solver"])] = r
    parts = ["# MPI pipeline: measured results", "",
             "Generated by `python benchmarks/bench_mpi.py --report` from the runs of",
             "`python benchmarks/bench_mpi.py --case CASE --ranks ... --threads 1` (one thread per",
             "rank). Times are seconds on the slowest rank. Bytes are those sent by all ranks in the",
             "logical pattern of each collective. Memory is each rank's peak RSS, which includes",
             "the Python interpreter, numba, scipy and the replicated X (about 0.3 GB at P = 1 for",
             "the small cases). The machine has 2 cores; the load average before each run is",
             "given for every row (about 1-2: the per-case tables were measured on an otherwise idle",
             "machine), so P = 3 and 4 oversubscribe the cores and only show correctness.",
             "Eigensolver: the default distributed thick-restart Lanczos (one product per Krylov",
             "step); the last section compares it with Chebyshev-filtered block subspace iteration",
             "(`--eigen-solver chebyshev`), the first distributed solver.", ""]
    for case in ("mnist20k", "mnist70k", "gmm1m"):
        rs = [rows[k] for k in sorted(rows) if k[0] == case]
        if not rs:
            continue
        parts += [f"## {CASE_TITLES[case]}", "", f"Machine: {rs[0]['machine']}.", ""]
        stages = [s for s in rs[0]["timings_max"] if s != "labels"]
        hdr = ["P", "wall s"] + stages + ["eigen iters / column products", "ARI vs serial",
                                          "ARI vs truth", "load (1/5/15 min)"]
        body = []
        for r in rs:
            ei = r["eigen_info"]
            body.append([r["ranks"], f"{r['wall_s']:.1f}"]
                         + [f"{r['timings_max'].get(s, 0):.2f}" for s in stages]
                         + [f"{ei.get('iterations', '-')} / {ei.get('matvecs', '-')}",
                            r.get("ari_vs_serial", "n/a"), f"{r['ari_truth']:.4f}",
                            r["load_before"].replace("load average ", "")])
        parts += [md_table(hdr, body), ""]
        base = CACHE / f"mpi_labels_{case}_P1.npy"
        if base.exists():
            from graphclust.metrics import evaluate

            l1 = np.load(base)
            same = []
            for r in rs[1:]:
                f = CACHE / f"mpi_labels_{case}_P{r['ranks']}.npy"
                if f.exists():
                    lp = np.load(f)
                    same.append(f"P = {r['ranks']}: ARI {evaluate(l1, lp)['ari']:.6f}, "
                                f"identical labels: {bool(np.array_equal(l1, lp))}")
            if same:
                parts += ["Labels against P = 1: " + "; ".join(same) + ".", ""]
        hdr = ["P", "bytes sent per stage (all ranks)", "W entries per rank",
               "halo rows per rank", "peak RSS per rank MiB"]
        body = []
        for r in rs:
            b = ", ".join(f"{k}: {v / 1e6:.2f} MB" for k, v in r["bytes_total"].items() if v)
            body.append([r["ranks"], b or "0 (one rank)", " / ".join(map(str, r["graph_nnz"])),
                         " / ".join(map(str, r["halo"])) or "0",
                         " / ".join(f"{m / 2**20:.0f}" for m in r["peak_rss"])])
        parts += [md_table(hdr, body), ""]
        if any("serial_timings" in r for r in rs):
            r = rs[0]
            parts += ["Serial pipeline on the same data (`SpectralClustering(knn_method='exact')`, "
                      "1 thread): " + ", ".join(f"{k} {v:.2f} s" for k, v in r["serial_timings"].items()), ""]
    cmp_rows = []
    for (case, P, solver), r in sorted(by_solver.items()):
        quiet = float(r["load_before"].split()[2]) < 4  # 1-min load: runs on an idle machine
        if solver in ("lanczos", "chebyshev") and quiet:
            ei = r["eigen_info"]
            cmp_rows.append([case, P, solver, f"{r['timings_max']['eigen']:.2f}",
                             ei.get("matvecs", "-"), f"{r['bytes_total'].get('eigen', 0) / 1e6:.1f}",
                             r["load_before"].replace("load average ", ""),
                             r.get("serial_timings", {}).get("eigen", "")])
    if cmp_rows:
        parts += ["## Eigen stage: Lanczos vs Chebyshev subspace iteration", "",
                  "Same data, seed and ranks, runs on an idle machine only (1-minute load below 4); "
                  "`serial eigen s` is the serial pipeline's ARPACK (one thread) where that run "
                  "measured it.", "",
                  md_table(["case", "P", "solver", "eigen s", "column products",
                            "eigen MB sent", "load", "serial eigen s"],
                           [[c if not isinstance(c, float) else f"{c:.2f}" for c in row]
                            for row in cmp_rows]), ""]
    parts += ["## Scaling model (from these measurements)", "", model(), ""]
    (REPO / "benchmarks" / "RESULTS_mpi.md").write_text("\n".join(parts))
    print("wrote benchmarks/RESULTS_mpi.md")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--case", choices=["mnist20k", "mnist70k", "gmm1m"])
    ap.add_argument("--ranks", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--threads", type=int, default=1, help="threads per rank")
    ap.add_argument("--serial", action="store_true", help="also run the serial pipeline (ARI)")
    ap.add_argument("--eigen-solver", default="auto",
                    help="distributed eigensolver: auto (= lanczos), lanczos or chebyshev")
    ap.add_argument("--worker", action="store_true")
    ap.add_argument("--model", action="store_true", help="print the scaling model and exit")
    ap.add_argument("--report", action="store_true", help="write benchmarks/RESULTS_mpi.md")
    a = ap.parse_args()
    if a.model:
        print(model())
        return None
    if a.report:
        return report()
    if a.worker:
        return worker(a)
    prepare(a.case)
    mpiexec = str(Path(sys.executable).parent / "mpiexec")
    rows = []
    for P in a.ranks:
        before = load()
        cmd = [mpiexec, "-n", str(P), sys.executable, __file__, "--worker", "--case", a.case,
               "--threads", str(a.threads), "--eigen-solver", a.eigen_solver] \
            + (["--serial"] if a.serial else [])
        env = dict(os.environ, PYTHONPATH=str(REPO / "src"))
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
        after = load()
        line = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
        if proc.returncode or not line:
            print(proc.stdout[-2000:], proc.stderr[-4000:])
            raise SystemExit(f"P={P} failed")
        r = json.loads(line[0][7:])
        r["load_before"], r["load_after"], r["machine"] = before, after, machine()
        with open(RESULTS, "a") as fh:
            fh.write(json.dumps(r) + "\n")
        rows.append(r)
        print(json.dumps(r), flush=True)
    stages = [s for s in rows[0]["timings_max"]]
    print(md_table(["P", "wall s"] + stages + ["peak RSS/rank MiB", "ARI vs serial", "load"],
                   [[r["ranks"], f"{r['wall_s']:.1f}"] + [f"{r['timings_max'].get(s, 0):.2f}" for s in stages]
                    + [" / ".join(f"{m / 2**20:.0f}" for m in r["peak_rss"]),
                       r.get("ari_vs_serial", ""), r["load_before"]] for r in rows]))


if __name__ == "__main__":
    main()
