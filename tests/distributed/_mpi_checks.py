"""Checks run under ``mpiexec -n P python _mpi_checks.py CHECK OUTFILE`` by test_mpi.py.

Rank 0 writes a JSON of results to OUTFILE; the tests assert on it. Not collected by pytest.
"""
import json
import sys

import numpy as np
from mpi4py import MPI

comm = MPI.COMM_WORLD
rank, size = comm.Get_rank(), comm.Get_size()
checks, outfile = sys.argv[1].split(","), sys.argv[2]
results = {}


def hybrid_data():
    from graphclust.datasets import hybrid

    return hybrid(1000, random_state=0)


def blobs(n=1000, d=10, k=4):
    from graphclust.datasets import gaussian_mixture

    X, y = gaussian_mixture(n, d, k, separation=6.0, intrinsic_dim=None, random_state=1,
                            dtype=np.float64)
    return X, y


def check_pipeline(out):
    from graphclust.distributed import spectral_clustering_mpi
    from graphclust.metrics import evaluate
    from graphclust.spectral import SpectralClustering

    for name, (X, y), K in (("hybrid", hybrid_data(), 9), ("blobs", blobs(), 4)):
        for solver in ("auto", "chebyshev", "gather") if size == 2 else ("auto",):
            res = spectral_clustering_mpi(X, K, random_state=3, n_jobs=1, eigen_solver=solver,
                                          n_init=3)
            if rank == 0:
                m = SpectralClustering(K, random_state=3, knn_method="exact", n_jobs=1,
                                       n_init=3).fit(X)
                out[f"{name}/{solver}"] = {
                    "ari_serial": evaluate(m.labels_, res.labels)["ari"],
                    "labels_equal": bool(np.array_equal(m.labels_, res.labels)),
                    "sigma_equal": bool(np.array_equal(m.sigma_, res.sigma)),
                    "eig_err": float(np.abs(m.eigenvalues_ - res.eigenvalues).max()),
                    "solver": res.eigen_solver,
                    "bytes": res.bytes_total,
                }
            all_labels = comm.gather(res.labels, root=0)
            if rank == 0:
                out[f"{name}/{solver}"]["ranks_agree"] = all(np.array_equal(a, all_labels[0])
                                                             for a in all_labels)

def check_graph(out):
    from graphclust.distributed import graph as G
    from graphclust.distributed._comm import Net, block_offsets
    from graphclust.graph import self_tuning_affinity

    net = Net(comm)
    X, _ = blobs(900, 6, 3)
    X[5] = X[7]  # duplicate points exercise the sigma fallback
    X[11] = X[7]
    n = X.shape[0]
    off = block_offsets(n, size)
    r0, r1 = int(off[rank]), int(off[rank + 1])
    for method in ("brute", "kdtree"):
        dist, idx = G.knn_rows(X, r0, r1, 10, method=method, n_jobs=1)
        sigma = G.local_scales_rows(net, dist, 7, np.diff(off))
        Wd = G.kernel_rows(dist, idx, sigma, r0, n)
        for how in ("union", "mutual", "mean"):
            W = G.symmetrize_rows(net, Wd, off, how)
            Ws, ss = self_tuning_affinity(X, 10, symmetrize_how=how, method=method,
                                          return_scales=True)
            Ws = Ws[r0:r1]
            same = (W.shape == Ws.shape and np.array_equal(W.indptr, Ws.indptr)
                    and np.array_equal(W.indices, Ws.indices) and np.array_equal(W.data, Ws.data))
            ok = comm.allgather(bool(same))
            sig_ok = comm.allgather(bool(np.array_equal(sigma, ss)))
            if rank == 0:
                out[f"{method}/{how}"] = {"W_equal": all(ok), "sigma_equal": all(sig_ok)}

def check_kmeans(out):
    from graphclust.distributed._comm import Net, block_offsets
    from graphclust.distributed.kmeans import kmeans_best_of_dist, kmeans_plusplus_dist
    from graphclust.spectral._kmeans_kernels import kmeans_plusplus, lloyd
    from graphclust.spectral.kmeans import canonical_labels

    net = Net(comm)
    X, _ = blobs(2000, 5, 6)
    n = X.shape[0]
    off = block_offsets(n, size)
    r0, r1 = int(off[rank]), int(off[rank + 1])
    rng = np.random.default_rng(0)
    C0 = X[rng.choice(n, 6, replace=False)].copy()
    labels_d, C_d, sse_d, _, it_d, _ = kmeans_best_of_dist(net, X[r0:r1], 6, n=n, r0=r0,
                                                          centers=C0, max_iter=300)
    all_labels = net.allgatherv(labels_d, np.diff(off))
    C_s = C0.copy()
    labels_s, sse_s, it_s = lloyd(X, C_s, 300, 1e-10)
    labels_s, old_of_new = canonical_labels(labels_s)
    k_trials = 2 + int(np.log(6))
    Cpp_d = kmeans_plusplus_dist(net, X[r0:r1], 6, 12345, k_trials, n, r0)
    Cpp_s = kmeans_plusplus(X, 6, 12345, k_trials)
    if rank == 0:
        out |= {"labels_equal": bool(np.array_equal(all_labels, labels_s)),
               "centers_err": float(np.abs(C_d - C_s[old_of_new]).max()),
               "sse_rel_err": abs(sse_d - sse_s) / sse_s, "iters": [int(it_d), int(it_s)],
               "kmeanspp_err": float(np.abs(Cpp_d - Cpp_s).max())}

def check_mismatch(out):
    from graphclust._validation import GraphclustError
    from graphclust.distributed import spectral_clustering_mpi

    X, _ = blobs(400, 4, 2)
    if rank == 1:
        X = X[:-1]
    try:
        spectral_clustering_mpi(X, 2, random_state=0, n_jobs=1)
        msg = None
    except GraphclustError as exc:
        msg = str(exc)
    msgs = comm.gather(msg, root=0)
    if rank == 0:
        out["messages"] = msgs

def check_fault(out):
    import graphclust.distributed.graph as G
    from graphclust.distributed import spectral_clustering_mpi

    if rank == size - 1:
        def broken(*args, **kwargs):
            raise RuntimeError("injected failure on the last rank")

        G.kernel_rows = broken
    X, _ = blobs(400, 4, 2)
    spectral_clustering_mpi(X, 2, random_state=0, n_jobs=1)
    out["finished"] = True

for name in checks:
    results[name] = {}
    globals()[f"check_{name}"](results[name])
if rank == 0:
    with open(outfile, "w") as fh:
        json.dump(results, fh, default=str)
