"""``spectral_clustering_mpi``: the self-tuning spectral pipeline on MPI ranks (row blocks)."""
from __future__ import annotations

import numbers
import os
import resource
import warnings
import zlib
from dataclasses import dataclass, field

import numpy as np

from graphclust._validation import (
    GraphclustError,
    check_choice,
    check_float,
    check_int,
    check_random_state,
    seed_from,
)

__all__ = ["MPIResult", "spectral_clustering_mpi", "DIST_EIGEN_SOLVERS"]

#: ``"auto"``/``"lanczos"``: distributed thick-restart Lanczos; ``"chebyshev"``: distributed
#: Chebyshev-filtered block subspace iteration; ``"gather"``: the graph is gathered on
#: rank 0 and solved by the serial per-component solver (``gather:arpack`` etc. picks it).
DIST_EIGEN_SOLVERS = ("auto", "lanczos", "chebyshev", "gather", "gather:auto", "gather:dense",
                      "gather:arpack", "gather:lobpcg", "gather:shift-invert")
#: ``eigen_solver="auto"`` falls back to gathering (with a warning) when the graph has more
#: connected components than clusters and has at most this many stored entries.
GATHER_FALLBACK_MAX_NNZ = 50_000_000


@dataclass
class MPIResult:
    """Outcome of :func:`spectral_clustering_mpi` (on every rank).

    labels : (n,) int64 canonical labels (on every rank, rank 0 only, or None; see ``labels_on``)
    labels_local : this rank's rows' labels; rows : (r0, r1) the rank's rows
    n_clusters : K used; eigenvalues : ascending eigenvalues of L_sym computed
    inertia, inertias, n_iter : best SSE, every restart's SSE, Lloyd iterations of the best
    embedding_local : this rank's rows of the row-normalised embedding
    sigma : (n,) local scales (replicated)
    timings : seconds per stage on this rank; timings_max : the slowest rank's per stage
    bytes_sent : bytes this rank sent per stage; bytes_total : summed over ranks, per stage
    peak_rss : peak resident memory of every rank (bytes); graph_nnz : stored entries of every
    rank's rows of W; halo : ghost rows every rank fetches per product
    eigen_solver : solver used; eigen_info : iterations, products, residuals
    """

    labels: np.ndarray | None
    labels_local: np.ndarray
    rows: tuple
    n_clusters: int
    eigenvalues: np.ndarray
    inertia: float
    inertias: np.ndarray
    n_iter: int
    embedding_local: np.ndarray
    sigma: np.ndarray
    n_edges: int
    n_graph_components: int | None
    eigen_solver: str
    knn_method: str
    n_ranks: int
    threads: int
    timings: dict = field(default_factory=dict)
    timings_max: dict = field(default_factory=dict)
    bytes_sent: dict = field(default_factory=dict)
    bytes_total: dict = field(default_factory=dict)
    peak_rss: list = field(default_factory=list)
    graph_nnz: list = field(default_factory=list)
    halo: list = field(default_factory=list)
    eigen_info: dict = field(default_factory=dict)
    warnings: list = field(default_factory=list)


def _peak_rss() -> int:
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


def _default_threads(comm) -> int:
    """Cores of this node shared evenly by the ranks on it."""
    try:
        from mpi4py import MPI

        local = comm.Split_type(MPI.COMM_TYPE_SHARED).Get_size()
    except Exception:  # pragma: no cover
        local = 1
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover
        cores = os.cpu_count() or 1
    return max(1, cores // max(local, 1))


def _fingerprint(X: np.ndarray) -> int:
    step = max(1, X.shape[0] // 4096)
    return zlib.crc32(np.ascontiguousarray(X[::step]).tobytes())


def _load_input(net, X_or_path, truth=None):
    """X on every rank. A path is read by rank 0 (a .npy file is memory-mapped by every rank
    instead); an array given on every rank is checked for the same shape and content; an array
    given on rank 0 only (None elsewhere) is broadcast. Errors are reported once, collectively."""
    from graphclust._validation import check_points

    is_path = isinstance(X_or_path, (str, os.PathLike))
    kinds = net.allgather_obj("path" if is_path else ("none" if X_or_path is None else "array"))
    truth_out = None
    if len(set(kinds)) > 1 and not (set(kinds) <= {"array", "none"} and kinds[0] == "array"):
        net.agree(f"ranks were given different kinds of input ({kinds}); pass the same path or "
                  "array on every rank, or an array on rank 0 and None elsewhere.")
    if kinds[0] == "path":
        paths = net.allgather_obj(os.fspath(X_or_path))
        if len(set(paths)) > 1:
            net.agree(f"ranks were given different input paths: {sorted(set(paths))}.")
        path = paths[0]
        err, X, meta = None, None, None
        if str(path).endswith(".npy") and truth is None:
            try:
                X = check_points(np.load(path, mmap_mode="r"), name=f"{path}")
            except (OSError, ValueError, GraphclustError) as exc:
                err = _read_error(path, exc)
            net.agree(err)
            return X, None
        if net.rank == 0:
            try:
                from graphclust.io import read_points

                data = read_points(path, truth=truth)
                X = np.ascontiguousarray(data.X, dtype=np.float64)
                truth_out = data.truth
                meta = (X.shape, X.dtype.str)
            except (OSError, ValueError, GraphclustError) as exc:
                err = _read_error(path, exc)
        net.agree(net.bcast_obj(err))
        meta = net.bcast_obj(meta)
        if net.rank != 0:
            X = np.empty(meta[0], dtype=np.dtype(meta[1]))
        net.Bcast(X)
        return X, truth_out
    if kinds[0] == "array" and "none" in kinds:
        err, meta = None, None
        if net.rank == 0:
            try:
                X = check_points(X_or_path)
                meta = (X.shape, X.dtype.str)
            except GraphclustError as exc:
                err = str(exc)
        net.agree(net.bcast_obj(err))
        meta = net.bcast_obj(meta)
        X = np.ascontiguousarray(X) if net.rank == 0 else np.empty(meta[0], dtype=np.dtype(meta[1]))
        net.Bcast(X)
        return X, None
    err = None
    try:
        X = check_points(X_or_path)
    except GraphclustError as exc:
        X, err = None, str(exc)
    net.agree(err)
    shapes = net.allgather_obj((X.shape, X.dtype.str, _fingerprint(X)))
    if len({s[0] for s in shapes}) > 1:
        detail = ", ".join(f"rank {r}: {s[0][0]} x {s[0][1]}" for r, s in enumerate(shapes))
        net.agree(f"the ranks hold different data ({detail}): every rank must pass the same X "
                  "(or pass X on rank 0 and None on the others, or a file path).")
    if len({s[1:] for s in shapes}) > 1:
        net.agree("the ranks hold arrays of the same shape but different contents or dtypes: "
                  "every rank must pass the same X (or X on rank 0 and None elsewhere).")
    return X, None


def _read_error(path, exc) -> str:
    if isinstance(exc, GraphclustError):
        return str(exc)
    if isinstance(exc, FileNotFoundError):
        return f"input file not found: {path}"
    return f"could not read {path}: {exc}"


def spectral_clustering_mpi(X_or_path, n_clusters="auto", *, n_neighbors: int = 10,
                            sigma_rank: int = 7, kernel: str = "self-tuning", sigma=None,
                            symmetrize: str = "union", knn_method: str = "auto",
                            eigen_solver: str = "auto", eigen_tol=None, n_init: int = 10,
                            max_iter: int = 300, max_clusters: int = 20, random_state=None,
                            n_jobs=None, labels_on: str = "all", comm=None, truth=None,
                            precomputed_knn=None, _return_graph: bool = False) -> MPIResult:
    """Self-tuning spectral clustering with the data distributed over MPI ranks by row blocks.

    Call it on every rank of ``comm`` (default MPI.COMM_WORLD) with the same arguments, e.g.
    under ``mpiexec -n P python script.py``. For a given ``random_state`` the labels equal those
    of ``SpectralClustering(..., knn_method="exact")`` up to the solvers' tolerance (identical
    kNN graph, sigma and W; eigenvectors to ``eigen_tol``; the same k-means draws).

    Parameters are those of :class:`graphclust.spectral.SpectralClustering`, except:

    X_or_path : array (n, d) on every rank (checked to be the same), an array on rank 0 and None
        elsewhere (broadcast), or a path (a .npy file is memory-mapped by every rank; other
        formats are read by rank 0 and broadcast).
    knn_method : {"auto", "exact", "kdtree", "brute"} -- exact kNN only.
    eigen_solver : "auto"/"lanczos" (distributed thick-restart Lanczos), "chebyshev"
        (distributed Chebyshev-filtered block subspace iteration; no rank holds more than its
        rows with either) or "gather[:serial solver]" (the graph is gathered on rank 0, for
        graphs that fit).
    n_jobs : threads per rank (None: the node's cores divided by the ranks on the node).
    labels_on : "all" (labels on every rank), "root" (rank 0 only) or "local" (rows only).
    precomputed_knn : optional (distances, indices) arrays of shape (n, >= max(n_neighbors,
        sigma_rank)), sorted by distance, e.g. memory-mapped ``.npy`` files; each rank reads its
        rows only (the "knn" stage is then skipped). For benchmarking the later stages at sizes
        where exact kNN is too slow.
    """
    from graphclust._threads import thread_limits
    from graphclust.distributed._comm import Net, block_offsets, get_comm

    comm = get_comm(comm)
    net = Net(comm)
    threads = int(n_jobs) if n_jobs is not None else _default_threads(comm)
    with thread_limits(threads):
        res = _pipeline(net, X_or_path, n_clusters, n_neighbors, sigma_rank, kernel, sigma,
                        symmetrize, knn_method, eigen_solver, eigen_tol, n_init, max_iter,
                        max_clusters, random_state, threads, labels_on, truth, block_offsets,
                        _return_graph, precomputed_knn)
    return res


def _pipeline(net, X_or_path, n_clusters, n_neighbors, sigma_rank, kernel, sigma, symmetrize,
              knn_method, eigen_solver, eigen_tol, n_init, max_iter, max_clusters, random_state,
              threads, labels_on, truth, block_offsets, return_graph, precomputed_knn=None):
    from graphclust.distributed import graph as G
    from graphclust.distributed.kmeans import kmeans_best_of_dist
    from graphclust.graph import SYMMETRIZE
    notes: list[str] = []
    # -- parameters (identical on every rank, so every rank raises the same error) -------------
    check_choice(kernel, "kernel", ("self-tuning", "gaussian"))
    check_choice(symmetrize, "symmetrize", SYMMETRIZE)
    check_choice(eigen_solver, "eigen_solver", DIST_EIGEN_SOLVERS)
    check_choice(labels_on, "labels_on", ("all", "root", "local"))
    check_int(n_init, "n_init", low=1)
    check_int(max_iter, "max_iter", low=1)
    if eigen_tol is not None:
        check_float(eigen_tol, "eigen_tol", low=0.0, low_open=True)
    if sigma is not None:
        check_float(sigma, "sigma", low=0.0, low_open=True)
    with net.stage("read input"):
        X, truth_arr = _load_input(net, X_or_path, truth)
    n, d = X.shape
    hint = f"X has {n} samples, so a point has at most {n - 1} neighbours."
    check_int(n_neighbors, "n_neighbors", low=1, high=n - 1, hint=hint)
    check_int(sigma_rank, "sigma_rank", low=1, high=n - 1, hint=hint)
    auto = isinstance(n_clusters, str)
    if auto:
        if n_clusters != "auto":
            raise GraphclustError(f"n_clusters must be a positive integer or 'auto', got {n_clusters!r}.")
        check_int(max_clusters, "max_clusters", low=2)
    elif isinstance(n_clusters, numbers.Integral) and not isinstance(n_clusters, bool):
        check_int(n_clusters, "n_clusters", low=1, high=n, hint=f"there are only {n} samples to cluster.")
    else:
        raise GraphclustError(f"n_clusters must be a positive integer or 'auto', got {n_clusters!r}.")
    if n < 2 * net.size:
        raise GraphclustError(f"{n} points are too few for {net.size} MPI ranks: each rank needs at "
                              "least 2 rows; use fewer ranks (mpiexec -n).")
    method = G.resolve_knn_method(knn_method, d)
    rng = check_random_state(random_state)
    # the serial estimator draws its seeds in this order: kNN, eigensolver, k-means, merge
    _knn_seed, eig_seed, km_seed, _merge_seed = (seed_from(rng) for _ in range(4))
    offsets = block_offsets(n, net.size)
    counts = np.diff(offsets)
    r0, r1 = int(offsets[net.rank]), int(offsets[net.rank + 1])
    need = max(n_neighbors, sigma_rank if kernel == "self-tuning" else 0)

    if precomputed_knn is not None:
        pd, pi = precomputed_knn
        if pd.shape[0] != n or pi.shape != pd.shape or pd.shape[1] < need:
            raise GraphclustError(f"precomputed_knn must be two (n={n}, >= {need}) arrays, got "
                                  f"{pd.shape} and {pi.shape}.")
        with net.stage("knn (precomputed)"):
            dist = np.asarray(pd[r0:r1, :need], dtype=np.float64)
            idx = np.asarray(pi[r0:r1, :need], dtype=np.int64)
        method = "precomputed"
    else:
        with net.stage("knn"):
            dist, idx = G.knn_rows(X, r0, r1, need, method=method, n_jobs=threads)
    with net.stage("affinity"):
        if kernel == "self-tuning":
            sig = G.local_scales_rows(net, dist, sigma_rank, counts)
            fixed = None
        else:
            if sigma is None:
                col = net.allgatherv(dist[:, n_neighbors - 1].copy(), counts)
                fixed = float(np.median(col))
                fixed = fixed if fixed > 0 else 1.0
            else:
                fixed = float(sigma)
            sig = np.full(n, fixed)
        Wd = G.kernel_rows(dist[:, :n_neighbors], idx[:, :n_neighbors], sig, r0, n,
                           kernel=kernel, fixed_sigma=fixed)
        del dist, idx
        W = G.symmetrize_rows(net, Wd, offsets, symmetrize)
        del Wd
    graph_nnz = net.allgather_obj(int(W.nnz))
    n_edges = int(sum(graph_nnz) // 2)
    n_eig = min(n, (max_clusters + 1) if auto else int(n_clusters) + 1)
    solver = eigen_solver
    n_comp = None
    labels_from_components = None
    halo_sizes = []
    info: dict = {}
    serial_n_eig = min(n, (max_clusters + 1) if auto else int(n_clusters))
    if solver == "auto" and 2 * max(serial_n_eig + 8, 2 * serial_n_eig + 4) > n:
        solver = "gather"  # far too small a graph for a Krylov basis
    if solver in ("auto", "lanczos", "chebyshev"):
        method = "chebyshev" if solver == "chebyshev" else "lanczos"
        with net.stage("eigen"):
            out = _distributed_eigen(net, W, offsets, n, n_eig, auto, n_clusters, max_clusters,
                                     eig_seed, eigen_tol, X, sig, _merge_seed, notes, method)
        vals, U_local, K, n_comp, labels_from_components, info, halo_sizes = out
        solver = method if info.get("iterations") else "components"
    if solver.startswith("gather"):
        serial_solver = solver.split(":", 1)[1] if ":" in solver else "auto"
        with net.stage("eigen (gather)"):
            vals, U_local, K, n_comp, labels_from_components = _gather_eigen(
                net, W, X, sig, n, counts, n_eig, auto, n_clusters, max_clusters,
                serial_solver, eig_seed, eigen_tol, _merge_seed, threads, notes)
        info = {"solver": f"gather:{serial_solver}"}
    if labels_from_components is not None:
        labels_local = labels_from_components
        inertia, inertias, n_iter = _partition_sse(net, U_local, labels_local, K)
    else:
        with net.stage("kmeans"):
            labels_local, _C, inertia, inertias, n_iter, _best = kmeans_best_of_dist(
                net, U_local, K, n=n, r0=r0, n_init=n_init, max_iter=max_iter,
                random_state=km_seed)
    with net.stage("labels"):
        if labels_on == "local":
            labels = None
        elif labels_on == "root":
            labels = net.gatherv(labels_local, counts)
        else:
            labels = net.allgatherv(labels_local, counts)
    timings = dict(net.timings)
    all_t = net.allgather_obj(timings)
    timings_max = {k: max(t.get(k, 0.0) for t in all_t) for k in timings}
    all_b = net.allgather_obj(dict(net.bytes_sent))
    bytes_total = {}
    for b in all_b:
        for k, v in b.items():
            bytes_total[k] = bytes_total.get(k, 0) + v
    peak = net.allgather_obj(_peak_rss())
    result = MPIResult(
        labels=labels, labels_local=labels_local, rows=(r0, r1), n_clusters=int(K),
        eigenvalues=vals, inertia=float(inertia), inertias=np.asarray(inertias), n_iter=int(n_iter),
        embedding_local=U_local, sigma=sig, n_edges=n_edges, n_graph_components=n_comp,
        eigen_solver=solver, knn_method=method, n_ranks=net.size, threads=threads,
        timings=timings, timings_max=timings_max, bytes_sent=dict(net.bytes_sent),
        bytes_total=bytes_total, peak_rss=peak, graph_nnz=graph_nnz, halo=halo_sizes,
        eigen_info=info, warnings=notes)
    if return_graph:
        result.W_local = W
    result.truth = truth_arr
    result.X = X
    for note in notes:
        if net.rank == 0:
            warnings.warn(note, UserWarning, stacklevel=3)
    return result


def _distributed_eigen(net, W, offsets, n, n_eig, auto, n_clusters, max_clusters, eig_seed,
                       eigen_tol, X, sigma, merge_seed, notes, method="lanczos"):
    """Per-component spectrum without gathering: components found distributively, their null
    vectors D^1/2 1 written down, and the remaining (non-trivial) eigenpairs found by the
    distributed solver (``method``: thick-restart Lanczos on the complement of the null space,
    or Chebyshev subspace iteration started from it), as the serial solver decomposes it."""
    from graphclust.distributed._comm import GraphclustCollectiveError
    from graphclust.distributed.eigen import (DistMatrix, chebyshev_eigs, chunk_random,
                                              connected_components_dist, fix_signs,
                                              lanczos_eigs, trivial_vectors)
    from graphclust.spectral.embedding import eigengap, normalize_rows

    r0 = int(offsets[net.rank])
    Mx = DistMatrix(net, W, offsets)
    halo_sizes = net.allgather_obj(int(Mx.n_halo))
    deg = np.asarray(W.sum(axis=1)).ravel()
    s = np.zeros_like(deg)
    s[deg > 0] = 1.0 / np.sqrt(deg[deg > 0])
    Mx.scale_symmetric(s)
    d_sqrt = np.sqrt(np.maximum(deg, 0.0))
    n_comp, comp = connected_components_dist(net, Mx)
    sizes = net.allsum(np.bincount(comp, minlength=n_comp).astype(np.float64))
    comp_order = np.lexsort((np.arange(n_comp), -sizes))
    serial_n_eig = min(n, (max_clusters + 1) if auto else int(n_clusters))
    n_triv = min(n_comp, serial_n_eig)
    T = trivial_vectors(net, comp, n_comp, d_sqrt, comp_order[:n_triv])
    extra = serial_n_eig - n_triv
    info = {"n_components": n_comp}
    vals = np.zeros(n_triv)
    V = T
    if extra > 0:
        # n_comp < serial_n_eig here, so T holds the null vectors of every component (exact
        # eigenvectors, eigenvalue 1 of M): Lanczos works on their complement, Chebyshev
        # starts its block from them.
        tol = 1e-10 if eigen_tol is None else float(eigen_tol)
        if method == "lanczos":
            v0 = chunk_random(eig_seed, Mx.r0, Mx.r1, 1)
            theta, Vx, kinfo = lanczos_eigs(net, Mx.matmat, Mx.m, extra, v0=v0, deflate=T,
                                            tol=tol, restart_seed=eig_seed, offsets=offsets)
            theta = np.concatenate([np.ones(n_triv), theta])
            Vx = np.concatenate([T, Vx], axis=1)
        else:
            keep = max(serial_n_eig + 8, 2 * serial_n_eig + 4)
            if 2 * keep > n:
                raise GraphclustCollectiveError(
                    f"the graph ({n} nodes) is too small for the Chebyshev solver's block of "
                    f"{keep} vectors; use eigen_solver='gather'.")
            X0 = chunk_random(eig_seed, Mx.r0, Mx.r1, keep)
            X0[:, :n_triv] = T
            theta, Vx, kinfo = chebyshev_eigs(net, Mx.matmat, Mx.m, serial_n_eig, X0=X0,
                                              tol=tol, keep=keep)
        info.update(kinfo)
        lam = np.clip(1.0 - theta, 0.0, 2.0)
        lam[np.abs(lam) < 1e-12] = 0.0
        vals = lam[n_triv:]
        order = np.argsort(vals, kind="stable")
        vals = np.concatenate([np.zeros(n_triv), vals[order]])
        # the null space (any rotation of T) comes first; the rest ascending, signs fixed
        V = np.concatenate([Vx[:, :n_triv], fix_signs(net, Vx[:, n_triv:][:, order], r0)], axis=1)
    K = eigengap(vals, min_clusters=2, max_clusters=max_clusters)[0] if auto else int(n_clusters)
    U_local = normalize_rows(V[:, :K])
    labels = None
    if n_comp > K and K > 1:
        from graphclust.spectral.components import component_gaps, group_components
        from graphclust.spectral.kmeans import canonical_labels

        notes.append(
            f"the kNN graph has {n_comp} connected components but n_clusters={K}: whole "
            "components were grouped by their smallest scaled gap (single linkage). Increase "
            "n_neighbors to connect them, or set n_clusters to the number of components.")
        counts = np.diff(offsets)
        comp_all = net.allgatherv(comp, counts)
        groups = None
        if net.rank == 0:
            groups = group_components(component_gaps(X, comp_all, sigma, random_state=merge_seed), K)
        groups = net.bcast_obj(groups)
        lab_all, _ = canonical_labels(groups[comp_all])
        labels = lab_all[r0:r0 + comp.size]
    return vals, U_local, K, n_comp, labels, info, halo_sizes


def _partition_sse(net, U, labels, K):
    d = U.shape[1]
    part = np.zeros((K, d + 1))
    for t in range(d):
        part[:, t] = np.bincount(labels, weights=U[:, t], minlength=K)
    part[:, d] = np.bincount(labels, minlength=K)
    tot = net.allsum(part)
    C = tot[:, :d] / np.maximum(tot[:, d:], 1)
    sse = float(net.allsum(np.array([((U - C[labels]) ** 2).sum()]))[0])
    return sse, np.array([sse]), 0


def _gather_eigen(net, W, X, sigma, n, counts, n_eig, auto, n_clusters, max_clusters,
                  serial_solver, eig_seed, eigen_tol, merge_seed, threads, notes):
    """The explicit single-rank option: gather W on rank 0, run the serial per-component solver
    (and, with more components than clusters, the serial component grouping), scatter rows."""
    import scipy.sparse as sp

    from graphclust._threads import thread_limits
    from graphclust.spectral.components import component_gaps, group_components
    from graphclust.spectral.eigen import smallest_eigenpairs
    from graphclust.spectral.embedding import eigengap, normalize_rows
    from graphclust.spectral.kmeans import canonical_labels

    nnz_counts = np.asarray(net.allgather_obj(int(W.nnz)), dtype=np.int64)
    indptr_parts = net.gatherv(np.diff(W.indptr).astype(np.int64), counts)
    indices = net.gatherv(W.indices.astype(np.int64), nnz_counts)
    data = net.gatherv(W.data, nnz_counts)
    payload = None
    if net.rank == 0:
        Wf = sp.csr_matrix((data, indices, np.concatenate([[0], np.cumsum(indptr_parts)])),
                           shape=(n, n))
        with thread_limits(threads, numba=False):
            serial_n_eig = min(n, (max_clusters + 1) if auto else int(n_clusters))
            eig = smallest_eigenpairs(Wf, serial_n_eig,
                                      eigen_solver=serial_solver, random_state=eig_seed,
                                      tol=eigen_tol)
        K = eigengap(eig.values, min_clusters=2, max_clusters=max_clusters)[0] if auto else int(n_clusters)
        U = normalize_rows(eig.vectors[:, :K])
        labels = None
        if eig.n_components > K and K > 1:
            notes.append(
                f"the kNN graph has {eig.n_components} connected components but n_clusters={K}: "
                "whole components were grouped by their smallest scaled gap (single linkage).")
            groups = group_components(component_gaps(X, eig.component_labels, sigma,
                                                      random_state=merge_seed), K)
            labels, _ = canonical_labels(groups[eig.component_labels])
        payload = (eig.values, K, eig.n_components, labels is not None, list(notes))
        full_U, full_labels = U, labels
    vals, K, n_comp, has_labels, notes_root = net.bcast_obj(payload)
    notes[:] = notes_root
    U_local = net.scatterv(full_U if net.rank == 0 else None, counts, (K,))
    labels_local = None
    if has_labels:
        labels_local = net.scatterv(full_labels if net.rank == 0 else None, counts, (),
                                    dtype=np.int64)
    return vals, U_local, K, n_comp, labels_local
