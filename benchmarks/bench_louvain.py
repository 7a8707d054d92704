"""Louvain speed and quality against peers, in one run on one machine.

    .venv/bin/python benchmarks/bench_louvain.py                 # full: 100k and 1M planted graphs
    .venv/bin/python benchmarks/bench_louvain.py --sizes 10000   # quick check of the script

Peers (installed into the venv with pip; each is optional and skipped when missing):
python-igraph ``community_multilevel`` (Louvain, C), NetworKit ``PLM`` (parallel Louvain, C++,
OpenMP), networkx ``louvain_communities`` (Python; also the only peer with directed Louvain),
leidenalg (Leiden, C++; also multiplex). Every partition is scored with graphclust's
``modularity`` (the same formula for all) and NMI against the planted groups.

Planted-partition graphs: ``n`` nodes in groups of 100; ``n * 10`` node pairs are drawn (80 %
inside a group, 20 % between groups, i.e. mean degree ~20 and mixing 0.2 before duplicates are
merged), giving ~0.93 M edges at n = 100 000 and ~9.3 M at n = 1 000 000. Directed variants give
every edge a random direction; the multiplex variant splits the edges at random into two layers.

numba compile time is measured separately in subprocesses: once with an empty cache directory
(cold compile) and once with the filled cache (what every later run pays).
"""
from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from graphclust.community import Multiplex, Network, louvain, modularity  # noqa: E402
from graphclust.metrics import normalized_mutual_info  # noqa: E402

DATA = ROOT.parent / "shared" / "data"


# ------------------------------------------------------------------------ graphs
def planted_partition(n: int, group: int = 100, mean_degree: float = 20.0, mixing: float = 0.2,
                      seed: int = 0):
    """Edges (lo, hi) with lo < hi, unique, and the planted group of every node."""
    rng = np.random.default_rng(seed)
    m = int(n * mean_degree / 2)
    m_out = int(m * mixing)
    m_in = m - m_out
    u = rng.integers(0, n, m_in)
    v = (u // group) * group + rng.integers(0, group - 1, m_in)
    v = np.where(v >= u, v + 1, v)
    a = rng.integers(0, n, m_out)
    b = rng.integers(0, n - group, m_out)
    b = np.where(b >= (a // group) * group, b + group, b)
    s, t = np.concatenate([u, a]), np.concatenate([v, b])
    key = np.unique(np.minimum(s, t).astype(np.int64) * n + np.maximum(s, t))
    return key // n, key % n, np.arange(n) // group


def sym_csr(lo, hi, n):
    r = np.concatenate([lo, hi])
    c = np.concatenate([hi, lo])
    return sp.csr_array((np.ones(r.shape[0]), (r, c)), shape=(n, n))


def dir_csr(src, dst, n):
    return sp.csr_array((np.ones(src.shape[0]), (src, dst)), shape=(n, n))


# ------------------------------------------------------------------------ runners
def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def run_ours(A, directed=False, seed=0):
    dt, r = timed(lambda: louvain(A, random_state=seed, directed=directed))
    return dt, r.labels


def run_igraph(lo, hi, n, seed=0):
    import random

    import igraph as ig

    g = ig.Graph(n=n, edges=np.column_stack([lo, hi]), directed=False)
    random.seed(seed)
    ig.set_random_number_generator(random)
    dt, c = timed(lambda: g.community_multilevel())
    return dt, np.asarray(c.membership)


def run_networkit(lo, hi, n, seed=0):
    import networkit as nk

    nk.engineering.setSeed(seed, True)
    g = nk.Graph(n, weighted=False, directed=False)
    g.addEdges((lo.astype(np.uint64), hi.astype(np.uint64)))
    dt, p = timed(lambda: nk.community.PLM(g, refine=False).run().getPartition())
    return dt, np.asarray(p.getVector())


def run_networkx(src, dst, n, directed=False, seed=0):
    import networkx as nx

    G = nx.DiGraph() if directed else nx.Graph()
    G.add_nodes_from(range(n))
    G.add_edges_from(zip(src.tolist(), dst.tolist()))
    dt, comms = timed(lambda: nx.community.louvain_communities(G, seed=seed))
    lab = np.empty(n, dtype=np.int64)
    for i, c in enumerate(comms):
        lab[list(c)] = i
    return dt, lab


def run_leiden(edge_layers, n, directed=False, seed=0):
    import igraph as ig
    import leidenalg as la

    graphs = [ig.Graph(n=n, edges=np.column_stack([s, t]), directed=directed) for s, t in edge_layers]
    if len(graphs) == 1:
        dt, p = timed(lambda: la.find_partition(graphs[0], la.ModularityVertexPartition, seed=seed))
        return dt, np.asarray(p.membership)
    parts = [la.ModularityVertexPartition(g) for g in graphs]
    opt = la.Optimiser()
    opt.set_rng_seed(seed)
    dt, _ = timed(lambda: opt.optimise_partition_multiplex(parts, layer_weights=[1.0] * len(parts)))
    return dt, np.asarray(parts[0].membership)


def compile_times():
    """numba compile: cold (empty cache dir) and warm (filled cache), each in a fresh process."""
    code = ("import time, numpy as np; t=time.perf_counter(); from graphclust.community import louvain; "
            "r=louvain(np.array([[0,1.],[1,0]])); print(r.timings.get('compile', float('nan')))")
    out = {}
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache, PYTHONPATH=str(ROOT / "src"))
        for label in ("cold", "warm"):
            res = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
            out[label] = float(res.stdout.strip().splitlines()[-1]) if res.returncode == 0 else float("nan")
    return out


# ------------------------------------------------------------------------ table
ROWS: list[dict] = []


def record(case, tool, dt, labels, graph, truth=None, ours_time=None, note=""):
    """Score a partition; ``ours_time`` (graphclust's time on the same case) gives the ratio."""
    q = float(np.sum(modularity(graph, labels)))
    nmi = normalized_mutual_info(truth, labels) if truth is not None else float("nan")
    ratio = ours_time / dt if ours_time else float("nan")
    row = dict(case=case, tool=tool, time=dt, q=q, nmi=nmi, k=int(len(np.unique(labels))),
               ratio=ratio, note=note)
    ROWS.append(row)
    print(f"{case:<34} {tool:<30} {dt:9.2f} s  Q={q:.6f}  NMI={nmi:.4f}  k={row['k']:<7} "
          f"ours/peer={'' if not ours_time else f'{ratio:.2f}'} {note}", flush=True)
    return row


def safe(fn, *a, **kw):
    try:
        return fn(*a, **kw)
    except ImportError as exc:
        print(f"  skipped: {exc}", flush=True)
        return None


def bench_planted(n, args):
    t0 = time.perf_counter()
    lo, hi, truth = planted_partition(n, seed=0)
    A = sym_csr(lo, hi, n)
    case = f"planted n={n:,} m={lo.shape[0]:,}"
    print(f"\n{case} (generated in {time.perf_counter() - t0:.1f} s)", flush=True)
    ours = []
    for seed in range(args.repeats):
        dt, lab = run_ours(A, seed=seed)
        ours.append(record(case, f"graphclust (seed {seed})", dt, lab, A, truth))
    t_ours = float(np.median([r["time"] for r in ours]))
    for name, fn in (("igraph multilevel", lambda: run_igraph(lo, hi, n)),
                     ("networkit PLM (2 threads)", lambda: run_networkit(lo, hi, n)),
                     ("leidenalg (Leiden)", lambda: run_leiden([(lo, hi)], n))):
        res = safe(fn)
        if res:
            record(case, name, res[0], res[1], A, truth, ours_time=t_ours)
    if n <= args.networkx_max:
        res = safe(run_networkx, lo, hi, n)
        if res:
            record(case, "networkx louvain", res[0], res[1], A, truth, ours_time=t_ours)

    # directed: random direction per edge
    flip = np.random.default_rng(1).random(lo.shape[0]) < 0.5
    src, dst = np.where(flip, hi, lo), np.where(flip, lo, hi)
    D = dir_csr(src, dst, n)
    dcase = f"directed planted n={n:,}"
    dt, lab = run_ours(D, directed=True)
    t_dir = dt
    record(dcase, "graphclust", dt, lab, Network(D, directed=True), truth)
    if n <= args.networkx_max:
        res = safe(run_networkx, src, dst, n, directed=True)
        if res:
            record(dcase, "networkx louvain (directed)", res[0], res[1], Network(D, directed=True), truth,
                   ours_time=t_dir)

    # multiplex: the edges split at random into two layers; both tools maximise the sum of the
    # layers' normalised modularities (graphclust: layer weights 1 / 2m_l).
    if n <= args.multiplex_max:
        half = np.random.default_rng(2).random(lo.shape[0]) < 0.5
        layers = [(lo[half], hi[half]), (lo[~half], hi[~half])]
        nets = [Network(sym_csr(s, t, n)) for s, t in layers]
        w = [1.0 / (2 * s.shape[0]) for s, _ in layers]
        M = Multiplex(tuple(nets), w)
        mcase = f"multiplex 2 layers n={n:,}"
        dt, r = timed(lambda: louvain(M, random_state=0))
        record(mcase, "graphclust", dt, r.labels, M, truth)
        t_mux = dt
        res = safe(run_leiden, layers, n)
        if res:
            record(mcase, "leidenalg multiplex (Leiden)", res[0], res[1], M, truth, ours_time=t_mux)


def bench_real():
    print("\nreal networks", flush=True)
    for name in ("karate", "football"):
        p = DATA / "networks" / f"{name}.npz"
        if not p.exists():
            continue
        z = np.load(p)
        n = int(z["labels"].shape[0])
        A = sym_csr(z["src"], z["dst"], n)  # unweighted, as the peers get it
        best = max((louvain(A, random_state=s) for s in range(10)), key=lambda r: r.modularity)
        dt, lab = run_ours(A)
        record(f"{name} (n={n}, m={z['src'].shape[0]})", "graphclust", dt, lab, A, z["labels"],
               note=f"best of 10 seeds: Q={best.modularity:.4f}")
        res = safe(run_igraph, z["src"], z["dst"], n)
        if res:
            record(f"{name} (n={n}, m={z['src'].shape[0]})", "igraph multilevel", res[0], res[1], A,
                   z["labels"], ours_time=dt)
    for name in ("ckm_physicians", "lazega_law_firm"):
        p = DATA / "multiplex" / f"{name}.npz"
        if not p.exists():
            continue
        z = np.load(p)
        n = int(z["n_nodes"])
        layers = [(z["src"][z["layer"] == i], z["dst"][z["layer"] == i]) for i in range(len(z["layer_names"]))]
        nets = [Network(dir_csr(s, t, n), directed=True) for s, t in layers]
        M = Multiplex(tuple(nets), [1.0 / s.shape[0] for s, _ in layers])
        case = f"{name} ({len(layers)} layers, n={n}, directed)"
        dt, r = timed(lambda: louvain(M, random_state=0))
        record(case, "graphclust", dt, r.labels, M, z["labels"])
        res = safe(run_leiden, layers, n, directed=True)
        if res:
            record(case, "leidenalg multiplex (Leiden)", res[0], res[1], M, z["labels"], ours_time=dt)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--repeats", type=int, default=2, help="graphclust runs (seeds) per graph")
    ap.add_argument("--networkx-max", type=int, default=100_000, help="largest n given to networkx")
    ap.add_argument("--multiplex-max", type=int, default=100_000)
    ap.add_argument("--no-real", action="store_true")
    ap.add_argument("--markdown", type=Path, default=None,
                    help="also write the table (with compile times) to this markdown file "
                         "(benchmarks/run_all.py passes it)")
    args = ap.parse_args(argv)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"python {platform.python_version()}")
    print("uptime:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    ct = compile_times()
    print(f"numba compile: cold {ct['cold']:.2f} s, from cache {ct['warm']:.2f} s")
    louvain(np.array([[0, 1.0], [1, 0]]))  # load the kernels outside the timings
    for n in args.sizes:
        bench_planted(n, args)
    if not args.no_real:
        bench_real()
    print("uptime:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    lines = [f"numba compile: cold {ct['cold']:.2f} s, from cache {ct['warm']:.2f} s (excluded below)", "",
             "| case | tool | time (s) | ours / peer time | Q | NMI | communities |",
             "|---|---|---:|---:|---:|---:|---:|"]
    for r in ROWS:
        ratio = "" if not np.isfinite(r["ratio"]) else f"{r['ratio']:.2f}"
        nmi = "" if not np.isfinite(r["nmi"]) else f"{r['nmi']:.4f}"
        note = f" ({r['note']})" if r["note"] else ""
        t = f"{r['time']:.2f}" if r["time"] >= 0.01 else "<0.01"
        lines.append(f"| {r['case']} | {r['tool']}{note} | {t} | {ratio} | {r['q']:.6f} | {nmi} | {r['k']} |")
    print("\n" + "\n".join(lines))
    if args.markdown is not None:
        args.markdown.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
