"""Distributed eigensolvers: the largest eigenpairs of M = D^-1/2 W D^-1/2 on row blocks.

:class:`DistMatrix` holds the rank's rows of M with columns renumbered to [own rows | ghost
rows]; a product with a vector or block X (rows on their ranks) first fetches the ghost rows
of X from their owners (one Alltoallv with a pattern fixed at setup: the halo), then multiplies
locally. :func:`lanczos_eigs` (the default) is thick-restart Lanczos: one product per Krylov
step, full re-orthogonalisation with fused reductions, about as many products as serial ARPACK.
:func:`chebyshev_eigs` is Chebyshev-filtered block subspace iteration: the block is multiplied
``degree`` times per iteration (halo exchanges only), then orthonormalised and Rayleigh-Ritz
projected; far more products, far fewer reductions. Small Gram matrices are summed over ranks
(identical on every rank). No rank ever holds more than its own rows of any vector.

Connected components are found distributively (:func:`connected_components_dist`) and their
null vectors D^1/2 1 are written down exactly, as in the serial per-component solver, so the
iteration never has to resolve the degenerate eigenvalue 0 of L_sym by itself.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp


__all__ = ["DistMatrix", "chebyshev_eigs", "lanczos_eigs", "chunk_random",
           "connected_components_dist",
           "trivial_vectors", "fix_signs"]


class DistMatrix:
    """Rows r0:r1 of a symmetric matrix distributed by row blocks, with a halo exchange."""

    def __init__(self, net, W_rows: sp.csr_matrix, offsets):
        self.net = net
        self.offsets = np.asarray(offsets, dtype=np.int64)
        self.r0 = int(offsets[net.rank])
        self.r1 = int(offsets[net.rank + 1])
        m = self.r1 - self.r0
        self.m = m
        cols = np.unique(W_rows.indices)
        ghost = cols[(cols < self.r0) | (cols >= self.r1)].astype(np.int64)
        self.ghost = ghost
        owner = np.searchsorted(self.offsets, ghost, side="right") - 1
        req_counts = np.bincount(owner, minlength=net.size)
        # tell every owner which of its rows we need (ghost is sorted, hence grouped by owner)
        self.send_idx, self.send_counts = net.alltoallv(ghost, req_counts)
        self.send_idx = self.send_idx - self.r0
        self.recv_counts = req_counts
        # renumber columns: own rows 0..m-1, ghosts m.. in sorted order
        glob = W_rows.indices.astype(np.int64)
        local = glob - self.r0
        is_ghost = (glob < self.r0) | (glob >= self.r1)
        local[is_ghost] = m + np.searchsorted(ghost, glob[is_ghost])
        self.A = sp.csr_matrix((W_rows.data.copy(), local, W_rows.indptr.copy()),
                               shape=(m, m + ghost.size))
        self.n_halo = ghost.size

    def halo(self, X: np.ndarray) -> np.ndarray:
        """The ghost rows of the distributed block X (rows of other ranks this rank needs)."""
        send = X[self.send_idx]
        recv, _ = self.net.alltoallv(send, self.send_counts)
        return recv

    def scale_symmetric(self, s_local: np.ndarray) -> None:
        """A <- diag(s) A diag(s) with s distributed like the rows (its ghosts are fetched)."""
        s_ext = np.concatenate([s_local, self.halo(s_local)])
        rows = np.repeat(np.arange(self.m), np.diff(self.A.indptr))
        # the serial order: data * s[row] * s[col]
        self.A.data = self.A.data * s_ext[rows] * s_ext[self.A.indices]

    def matmat(self, X: np.ndarray) -> np.ndarray:
        """A X for the distributed block X (this rank's rows); threaded numba SpMM whose rows
        are summed in stored order, so the product equals scipy's ``A @ X`` bit for bit."""
        from graphclust.distributed._kernels import csr_spmm

        X = np.ascontiguousarray(X, dtype=np.float64)
        ext = np.concatenate([X, self.halo(X)], axis=0) if self.net.size > 1 else X
        out = np.empty((self.m, X.shape[1]))
        if X.shape[1] == 1:  # one Krylov vector (Lanczos): scipy's CSR matvec, which was 2-4x
            out[:, 0] = self.A @ ext[:, 0]  # faster than a numba loop on a 1M-row kNN graph
        else:
            csr_spmm(self.A.indptr, self.A.indices, self.A.data, ext, out)
        return out


def chunk_random(seed: int, r0: int, r1: int, cols: int, chunk: int = 65536) -> np.ndarray:
    """Rows r0:r1 of a seeded (n, cols) standard normal matrix, independent of the block layout."""
    out = np.empty((r1 - r0, cols))
    c0 = r0 // chunk
    for c in range(c0, (r1 - 1) // chunk + 1 if r1 > r0 else c0):
        a = c * chunk
        block = np.random.default_rng([seed, c]).standard_normal((chunk, cols))
        lo, hi = max(a, r0), min(a + chunk, r1)
        out[lo - r0:hi - r0] = block[lo - a:hi - a]
    return out


def _orth(net, Z, Q=None, drop_tol=1e-10):
    """Orthonormalise the block Z (against Q first), dropping numerically dependent columns.

    Two passes of block Gram-Schmidt against Q and a rank-revealing (eigen-decomposed Gram)
    normalisation; every Gram matrix is a local product summed over ranks (identical on all).
    """
    if Z.shape[1] == 0:
        return Z
    norm0 = np.sqrt(net.allsum(np.einsum("ij,ij->j", Z, Z)))
    for _ in range(2):
        if Q is not None and Q.shape[1]:
            C = net.allsum(Q.T @ Z)
            Z = Z - Q @ C
        G = net.allsum(Z.T @ Z)
        G = 0.5 * (G + G.T)
        s, U = np.linalg.eigh(G)
        s = s[::-1]
        U = U[:, ::-1]
        keep = s > (drop_tol * max(norm0.max(), 1e-300)) ** 2
        keep &= s > 1e-24 * max(s[0], 1e-300) if s.size else keep
        Z = (Z @ U[:, keep]) / np.sqrt(s[keep])
        norm0 = np.ones(Z.shape[1])
        if Z.shape[1] == 0:
            break
    return Z


def fix_signs(net, V: np.ndarray, r0: int) -> np.ndarray:
    """Make each column's entry of largest magnitude positive (ties: lowest global row), as the
    serial solver does."""
    k = V.shape[1]
    if V.shape[0]:
        rows = np.argmax(np.abs(V), axis=0)
        best = np.abs(V[rows, np.arange(k)])
        sign = np.sign(V[rows, np.arange(k)])
    else:
        rows = np.zeros(k, dtype=np.int64)
        best = np.full(k, -1.0)
        sign = np.ones(k)
    allv = net.allgather_obj((best, rows + r0, sign))
    out_sign = np.ones(k)
    for c in range(k):
        cand = [(-a[0][c], a[1][c], a[2][c]) for a in allv]
        _, _, s = min(cand)
        out_sign[c] = 1.0 if s == 0 else s
    return V * out_sign


def connected_components_dist(net, Mx: DistMatrix):
    """Connected components of the distributed graph, numbered like scipy's (by smallest node).

    Each rank labels the components of its own block (scipy), represents each by its smallest
    global row, fetches the ghosts' representatives (one halo exchange), and all-gathers the
    distinct (representative, representative) pairs of its cross-rank edges; every rank then
    joins them (a small graph on representatives). Returns (n_comp, local component labels).
    """
    from scipy.sparse.csgraph import connected_components

    m = Mx.m
    local = Mx.A[:, :m]
    c, lab = connected_components(local, directed=False)
    rep = np.full(c, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(rep, lab, Mx.r0 + np.arange(m, dtype=np.int64))
    node_rep = rep[lab]
    ghost_rep = Mx.halo(node_rep) if net.size > 1 else np.empty(0, dtype=np.int64)
    A = Mx.A.tocoo()
    cross = A.col >= m
    pairs = np.stack([node_rep[A.row[cross]], ghost_rep[A.col[cross] - m]], axis=1)
    pairs = np.unique(pairs, axis=0) if pairs.size else np.empty((0, 2), dtype=np.int64)
    pcounts = net.allgather_obj(int(pairs.shape[0]))
    all_pairs = net.allgatherv(pairs.astype(np.int64), pcounts)
    rcounts = net.allgather_obj(int(rep.size))
    all_reps = np.sort(net.allgatherv(rep, rcounts))
    import scipy.sparse as sp

    R = all_reps.size
    a = np.searchsorted(all_reps, all_pairs[:, 0])
    b = np.searchsorted(all_reps, all_pairs[:, 1])
    Gr = sp.csr_matrix((np.ones(a.size), (a, b)), shape=(R, R))
    n_comp, root = connected_components(Gr, directed=False)
    # number the components by their smallest node (all_reps is sorted, so first occurrence)
    _, first = np.unique(root, return_index=True)
    order = np.argsort(first)
    renum = np.empty(n_comp, dtype=np.int64)
    renum[order] = np.arange(n_comp)
    comp_of_rep = renum[root]
    local_comp = comp_of_rep[np.searchsorted(all_reps, node_rep)]
    return int(n_comp), local_comp


def trivial_vectors(net, comp_local, n_comp: int, d_sqrt_local, comps):
    """Orthonormal null vectors D^1/2 1 restricted to each component in ``comps`` (this rank's
    rows), as the serial solver builds them."""
    sq = np.bincount(comp_local, weights=d_sqrt_local ** 2, minlength=n_comp)
    cnt = np.bincount(comp_local, minlength=n_comp).astype(np.float64)
    tot = net.allsum(np.concatenate([sq, cnt]))
    nrm = np.sqrt(tot[:n_comp])
    sizes = tot[n_comp:]
    T = np.zeros((comp_local.size, len(comps)))
    for j, c in enumerate(comps):
        rows = comp_local == c
        if nrm[c] > 0:
            T[rows, j] = d_sqrt_local[rows] / nrm[c]
        else:
            T[rows, j] = 1.0 / np.sqrt(sizes[c])
    return T


def chebyshev_eigs(net, op, m: int, n_eig: int, *, X0: np.ndarray, tol: float = 1e-10,
                   keep: int | None = None, degree: int = 16, lower: float = -1.0,
                   max_iter: int = 1000):
    """Chebyshev-filtered subspace iteration (Zhou & Saad) for the ``n_eig`` largest eigenpairs
    of a distributed symmetric operator with spectrum in [lower, 1].

    Each iteration applies a degree-``degree`` Chebyshev polynomial that damps [lower, cut]
    (cut = the smallest kept Ritz value) to the block: ``degree`` block products, each needing
    only a halo exchange, and no reductions. Then one orthonormalisation and one Rayleigh-Ritz
    step (small Gram matrices summed over ranks). Communication-avoiding: reductions per
    iteration are O(1) instead of O(degree).
    """
    keep = keep or n_eig + max(4, n_eig // 2)
    Y = _orth(net, X0)
    n_matvec = 0
    theta = None
    rnorm = None
    for it in range(max_iter):
        if theta is not None:
            cut = float(theta[-1])
            e = (cut - lower) / 2.0
            c = (cut + lower) / 2.0
            # scaled three-term recurrence (values of wanted directions grow, no overflow at
            # these degrees)
            sigma1 = e / (lower - c)
            sig = sigma1
            Y0 = Y
            Y1 = (op(Y) - c * Y) * (sig / e)
            n_matvec += Y.shape[1]
            for _ in range(2, degree + 1):
                sig_new = 1.0 / (2.0 / sigma1 - sig)
                Y2 = (op(Y1) - c * Y1) * (2.0 * sig_new / e) - (sig * sig_new) * Y0
                n_matvec += Y.shape[1]
                Y0, Y1, sig = Y1, Y2, sig_new
            Y = _orth(net, Y1)
        AY = op(Y)
        n_matvec += Y.shape[1]
        H = net.allsum(Y.T @ AY)
        H = 0.5 * (H + H.T)
        th, S = np.linalg.eigh(H)
        th, S = th[::-1], S[:, ::-1]
        Y = Y @ S
        AY = AY @ S
        theta = th
        R = AY[:, :n_eig] - Y[:, :n_eig] * theta[:n_eig]
        rnorm = np.sqrt(net.allsum(np.einsum("ij,ij->j", R, R)))
        if np.all(rnorm <= tol):
            break
    else:
        from graphclust.distributed._comm import GraphclustCollectiveError

        raise GraphclustCollectiveError(
            f"the distributed eigensolver did not reach tol={tol:g} in {max_iter} iterations "
            f"(largest residual {rnorm.max():.3g}); raise eigen_tol or use eigen_solver='gather'.")
    info = {"iterations": it + 1, "matvecs": n_matvec, "residuals": rnorm, "block": int(Y.shape[1]),
            "degree": degree}
    return theta[:n_eig], Y[:, :n_eig], info


def lanczos_eigs(net, op, m: int, n_eig: int, *, v0: np.ndarray, deflate: np.ndarray | None = None,
                 tol: float = 1e-10, ncv: int | None = None, max_restarts: int = 1000,
                 restart_seed: int = 0, offsets=None):
    """Thick-restart Lanczos (Wu & Simon) for the ``n_eig`` largest eigenpairs of a distributed
    symmetric operator, on the orthogonal complement of ``deflate`` (exact eigenvectors known in
    advance, e.g. the null vectors D^1/2 1 of each component).

    One operator application per Krylov step (a halo exchange), and one fused all-reduce per
    orthogonalisation pass (two passes, DGKS), so the number of products is about ARPACK's
    (the serial solver's) rather than the ``degree`` x block of Chebyshev subspace iteration.
    Memory per rank: ``ncv + 1`` vectors of the rank's rows. After each cycle the wanted Ritz
    vectors (and a few more) are kept; the projected matrix is then diagonal plus one arrow row,
    which the full reorthogonalisation recovers by itself.

    Returns ``(theta, Y, info)``: eigenvalues descending, this rank's rows of the Ritz vectors.
    """
    T = deflate if deflate is not None and deflate.shape[1] else None
    ncv = int(ncv or max(2 * n_eig + 10, 30))
    n_total = int(net.allsum(np.array([float(m)]))[0])
    ncv = min(ncv, n_total - (0 if T is None else T.shape[1]))
    from graphclust.distributed._comm import GraphclustCollectiveError

    if ncv <= n_eig:
        raise GraphclustCollectiveError(
            f"the graph is too small for the distributed Lanczos solver ({n_total} nodes, "
            f"{n_eig} eigenpairs wanted); use eigen_solver='gather'.")
    V = np.zeros((m, ncv + 1), order="F")  # columns contiguous: the Krylov vectors
    H = np.zeros((ncv, ncv))

    def project_out(w, j):
        """Classical Gram-Schmidt against V[:, :j] and T, one all-reduce per pass; a second
        pass only when the first removed most of w (the DGKS criterion, eta = 1/sqrt 2).
        Returns (w, coefficients on V[:, :j], |w|)."""
        coef = np.zeros(j)
        nrm_in = None
        for _ in range(2):
            parts = [V[:, :j].T @ w]
            if T is not None:
                parts.append(T.T @ w)
            if nrm_in is None:
                parts.append(np.array([w @ w]))
            c = net.allsum(np.concatenate(parts))
            if nrm_in is None:
                nrm_in = float(np.sqrt(c[-1]))
                c = c[:-1]
            w = w - V[:, :j] @ c[:j]
            if T is not None:
                w = w - T @ c[j:]
            coef += c[:j]
            nrm = float(np.sqrt(net.allsum(np.array([w @ w]))[0]))
            if nrm > 0.7071 * nrm_in:
                break
            nrm_in = nrm
        return w, coef, nrm

    def new_direction(j, attempt):
        """A random unit vector orthogonal to V[:, :j] and T (start, or after a breakdown)."""
        r0 = int(offsets[net.rank]) if offsets is not None else 0
        w = chunk_random(restart_seed + 7919 * (attempt + 1), r0, r0 + m, 1)[:, 0]
        w, _, nrm = project_out(w, j)
        return w / nrm if nrm > 0 else w

    w, _, nrm = project_out(np.asarray(v0, dtype=np.float64).reshape(-1), 0)
    V[:, 0] = w / nrm if nrm > 1e-300 else new_direction(0, 0)
    k = 0  # kept Ritz vectors at the start of the current cycle
    n_matvec = 0
    breakdowns = 0
    rnorm = None
    for cycle in range(max_restarts):
        for j in range(k, ncv):
            w = op(V[:, j][:, None])[:, 0]
            n_matvec += 1
            w, coef, beta = project_out(w, j + 1)
            H[:j + 1, j] = coef
            H[j, :j + 1] = coef
            if j + 1 < ncv:
                H[j + 1, j] = H[j, j + 1] = 0.0  # filled by the next column's coefficients
            if beta <= 1e-12 * max(1.0, abs(coef[j])):
                breakdowns += 1  # invariant subspace: continue with a fresh direction
                V[:, j + 1] = new_direction(j + 1, breakdowns)
                beta = 0.0
            else:
                V[:, j + 1] = w / beta
        Hs = 0.5 * (H + H.T)
        theta, S = np.linalg.eigh(Hs)
        theta, S = theta[::-1], S[:, ::-1]
        rnorm = np.abs(beta * S[ncv - 1, :n_eig])
        if np.all(rnorm <= tol):
            break
        # thick restart: keep the wanted Ritz vectors and half of the rest
        k = min(n_eig + max((ncv - n_eig) // 2, 1), ncv - 1)
        V[:, :k] = V[:, :ncv] @ S[:, :k]
        V[:, k] = V[:, ncv]
        H[:] = 0.0
        H[np.arange(k), np.arange(k)] = theta[:k]
        H[k, :k] = H[:k, k] = beta * S[ncv - 1, :k]
    else:
        raise GraphclustCollectiveError(
            f"the distributed Lanczos solver did not reach tol={tol:g} in {max_restarts} "
            f"restarts (largest residual {rnorm.max():.3g}); raise eigen_tol or use "
            "eigen_solver='gather'.")
    Y = V[:, :ncv] @ S[:, :n_eig]
    info = {"iterations": cycle + 1, "matvecs": n_matvec, "residuals": rnorm, "ncv": ncv,
            "breakdowns": breakdowns}
    return theta[:n_eig], Y, info
