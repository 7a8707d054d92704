"""Numba kernels for Louvain: one local-moving pass and one aggregation, for every graph kind.

This module is imported lazily (at the first Louvain call), so ``import graphclust`` never
loads numba. Kernels are compiled on first use and cached on disk (``cache=True``).

Graph layout (one level of the hierarchy), shared by all kernels
-----------------------------------------------------------------
``n`` nodes; the union of the active layers' edges as CSR without the diagonal:

* ``indptr`` (n + 1,) int64, ``indices`` (nnz,) int32 — out-neighbours of each node;
* ``data`` (nnz, L) float64 — the edge magnitude |B^l_ij| in every layer l (0 where absent);
* ``self_w`` (n, L) float64 — the diagonal (self weight) of every node in every layer.

A directed level also has the transpose (in-neighbours) ``t_indptr, t_indices, t_data``; an
undirected level is stored as a symmetric matrix and its transpose is itself (``symmetric``).

The objective is ``sum_l lw_l * sum_ij [B^l_ij - gamma_l kout^l_i kin^l_j / T_l] delta(c_i, c_j)``
with ``lw_l`` the layer coefficient (``w_l / T_l`` for a single graph, ``w_l`` for a multiplex),
so one kernel serves undirected, directed, single and multiplex graphs. The closed form of the
gain is derived in ``docs/louvain.md``.
"""
from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def move_nodes(order, indptr, indices, ew, t_indptr, t_indices, t_ew, symmetric,
               kout, kin, coef, membership, tot_out, tot_in, search_all, tol,
               link, seen, touched):
    """One local-moving pass over ``order``; returns the number of nodes moved.

    ``ew`` / ``t_ew`` are the per-edge combined weights ``sum_l lw_l B^l`` (out / in CSR);
    ``coef[l] = lw_l * gamma_l / T_l`` (0 for skipped layers). ``tot_out`` / ``tot_in`` (n, L)
    are the running per-community degree totals, updated in place with ``membership``.
    ``link``, ``seen``, ``touched`` are scratch arrays of length n (``seen`` all False on entry
    and on exit). For a symmetric level ``tot_in`` is ``tot_out`` and ``kin`` is ``kout``.
    """
    n = membership.shape[0]
    n_layers = coef.shape[0]
    link_factor = 2.0 if symmetric else 1.0
    n_moved = 0
    for a in order:
        alpha = membership[a]
        nt = 0
        seen[alpha] = True
        touched[nt] = alpha
        link[alpha] = 0.0
        nt += 1
        for p in range(indptr[a], indptr[a + 1]):
            c = membership[indices[p]]
            if not seen[c]:
                seen[c] = True
                touched[nt] = c
                link[c] = 0.0
                nt += 1
            link[c] += ew[p]
        if not symmetric:
            for p in range(t_indptr[a], t_indptr[a + 1]):
                c = membership[t_indices[p]]
                if not seen[c]:
                    seen[c] = True
                    touched[nt] = c
                    link[c] = 0.0
                    nt += 1
                link[c] += t_ew[p]

        # Cost of staying: links to the rest of alpha minus the null model without a itself.
        penalty = 0.0
        for ell in range(n_layers):
            if coef[ell] != 0.0:
                penalty += coef[ell] * (kin[a, ell] * (tot_out[alpha, ell] - kout[a, ell])
                                        + kout[a, ell] * (tot_in[alpha, ell] - kin[a, ell]))
        remove = link_factor * link[alpha] - penalty

        best = -np.inf
        best_c = -1
        if search_all:
            for c in range(n):
                if c == alpha:
                    continue
                penalty = 0.0
                for ell in range(n_layers):
                    if coef[ell] != 0.0:
                        penalty += coef[ell] * (kin[a, ell] * tot_out[c, ell]
                                                + kout[a, ell] * tot_in[c, ell])
                add = -penalty
                if seen[c]:
                    add += link_factor * link[c]
                if add > best:
                    best = add
                    best_c = c
        else:
            for t in range(1, nt):
                c = touched[t]
                penalty = 0.0
                for ell in range(n_layers):
                    if coef[ell] != 0.0:
                        penalty += coef[ell] * (kin[a, ell] * tot_out[c, ell]
                                                + kout[a, ell] * tot_in[c, ell])
                add = link_factor * link[c] - penalty
                if add > best or (add == best and c < best_c):
                    best = add
                    best_c = c
        for t in range(nt):
            seen[touched[t]] = False

        if best_c >= 0 and best - remove > tol:
            for ell in range(n_layers):
                tot_out[alpha, ell] -= kout[a, ell]
                tot_out[best_c, ell] += kout[a, ell]
                if not symmetric:
                    tot_in[alpha, ell] -= kin[a, ell]
                    tot_in[best_c, ell] += kin[a, ell]
            membership[a] = best_c
            n_moved += 1
    return n_moved


@njit(cache=True)
def move_gains(a, indptr, indices, ew, t_indptr, t_indices, t_ew, symmetric,
               kout, kin, coef, membership, tot_out, tot_in):
    """Gain of moving node ``a`` to every community 0..n-1 (own community: 0). For tests."""
    n = membership.shape[0]
    n_layers = coef.shape[0]
    link_factor = 2.0 if symmetric else 1.0
    link = np.zeros(n)
    for p in range(indptr[a], indptr[a + 1]):
        link[membership[indices[p]]] += link_factor * ew[p]
    if not symmetric:
        for p in range(t_indptr[a], t_indptr[a + 1]):
            link[membership[t_indices[p]]] += t_ew[p]
    alpha = membership[a]
    penalty = 0.0
    for ell in range(n_layers):
        penalty += coef[ell] * (kin[a, ell] * (tot_out[alpha, ell] - kout[a, ell])
                                + kout[a, ell] * (tot_in[alpha, ell] - kin[a, ell]))
    remove = link[alpha] - penalty
    gains = np.zeros(n)
    for c in range(n):
        if c == alpha:
            continue
        penalty = 0.0
        for ell in range(n_layers):
            penalty += coef[ell] * (kin[a, ell] * tot_out[c, ell] + kout[a, ell] * tot_in[c, ell])
        gains[c] = link[c] - penalty - remove
    return gains


@njit(cache=True)
def aggregate(indptr, indices, data, self_w, membership, n_comm):
    """Reduce a level by a partition (``membership`` in 0..n_comm-1, every id used).

    Returns the reduced level ``(indptr, indices, data, self_w)``: one node per community, the
    weights between communities summed per layer, the weight inside a community (both
    directions of every internal edge, plus the members' self weights) as its self weight.
    """
    n = membership.shape[0]
    n_layers = data.shape[1]
    # Members of each community, in node order (counting sort).
    comm_ptr = np.zeros(n_comm + 1, dtype=np.int64)
    for u in range(n):
        comm_ptr[membership[u] + 1] += 1
    for c in range(n_comm):
        comm_ptr[c + 1] += comm_ptr[c]
    fill = comm_ptr[:-1].copy()
    members = np.empty(n, dtype=np.int64)
    for u in range(n):
        c = membership[u]
        members[fill[c]] = u
        fill[c] += 1

    new_self = np.zeros((n_comm, n_layers))
    new_indptr = np.zeros(n_comm + 1, dtype=np.int64)
    new_indices = np.empty(indices.shape[0], dtype=indices.dtype)
    new_data = np.empty((indices.shape[0], n_layers))
    acc = np.zeros((n_comm, n_layers))
    seen = np.zeros(n_comm, dtype=np.bool_)
    touched = np.empty(n_comm, dtype=np.int64)
    nnz = 0
    for c in range(n_comm):
        nt = 0
        for q in range(comm_ptr[c], comm_ptr[c + 1]):
            u = members[q]
            for ell in range(n_layers):
                new_self[c, ell] += self_w[u, ell]
            for p in range(indptr[u], indptr[u + 1]):
                d = membership[indices[p]]
                if d == c:
                    for ell in range(n_layers):
                        new_self[c, ell] += data[p, ell]
                    continue
                if not seen[d]:
                    seen[d] = True
                    touched[nt] = d
                    nt += 1
                for ell in range(n_layers):
                    acc[d, ell] += data[p, ell]
        for t in range(nt):
            d = touched[t]
            new_indices[nnz] = d
            for ell in range(n_layers):
                new_data[nnz, ell] = acc[d, ell]
                acc[d, ell] = 0.0
            seen[d] = False
            nnz += 1
        new_indptr[c + 1] = nnz
    return new_indptr, new_indices[:nnz].copy(), new_data[:nnz].copy(), new_self


@njit(cache=True)
def transpose(n, indptr, indices, data):
    """CSR of the transpose (in-neighbours) of an n-node CSR with (nnz, L) data."""
    nnz = indices.shape[0]
    n_layers = data.shape[1]
    t_indptr = np.zeros(n + 1, dtype=np.int64)
    for p in range(nnz):
        t_indptr[indices[p] + 1] += 1
    for i in range(n):
        t_indptr[i + 1] += t_indptr[i]
    fill = t_indptr[:-1].copy()
    t_indices = np.empty(nnz, dtype=indices.dtype)
    t_data = np.empty((nnz, n_layers))
    for u in range(n):
        for p in range(indptr[u], indptr[u + 1]):
            v = indices[p]
            q = fill[v]
            t_indices[q] = u
            for ell in range(n_layers):
                t_data[q, ell] = data[p, ell]
            fill[v] += 1
    return t_indptr, t_indices, t_data


@njit(cache=True)
def row_sums(indptr, data):
    """Per-node, per-layer sums of a CSR's (nnz, L) data."""
    n = indptr.shape[0] - 1
    n_layers = data.shape[1]
    out = np.zeros((n, n_layers))
    for i in range(n):
        for p in range(indptr[i], indptr[i + 1]):
            for ell in range(n_layers):
                out[i, ell] += data[p, ell]
    return out


@njit(cache=True)
def combine(data, lw):
    """Per-edge combined weight ``sum_l lw_l * data[:, l]``."""
    nnz = data.shape[0]
    out = np.zeros(nnz)
    for p in range(nnz):
        s = 0.0
        for ell in range(lw.shape[0]):
            s += lw[ell] * data[p, ell]
        out[p] = s
    return out
