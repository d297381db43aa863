"""Numba kernels: plain arrays in, counts and filled CSR arrays out.

The only module that imports numba.  Validation happens before the calls; the kernels raise
nothing.  ``tests/twins.py`` holds a slow numpy/scipy twin of each kernel for the tests.

Unknown ordering (z problems): ``idx = ((k*nz + i)*nmu + j)*2 + d`` — momentum cell ``k``
slowest, then z cell ``i``, pitch cell ``j``, and the linear-discontinuous mode ``d``
(0 = cell mean ``a``, 1 = half-slope ``b``).

``count_z_block`` / ``fill_z_block`` lift a local (mu, p) matrix per unit z mass (CSR arrays) to
every z cell and DG mode and add the DG-1 upwind streaming ``s = v mu dmu V``; the z boundaries
arrive as inflow stencils (``cell, j_map, w``; cell < 0: no inflow) built by the boundary
classes of :mod:`fpsolve.terms.zboundary` — the kernel has no notion of boundary kinds.
An optional ``theta`` (np, nz, nmu) weights the half-slope in the *transported* trace of each
(momentum, z, pitch) cell: its outflow face value is ``a + theta b`` (mu > 0) or ``a - theta b``
(mu < 0) — 1: DG-1; 0: first-order upwind (step) transport of that cell, whose ``b`` is then only
the DG-1 reconstruction of its slope row (the positivity fixup of
:mod:`fpsolve.terms.streaming`).
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

MAX_ROW = 32  # entries of one row before merging (L row <= 9, streaming <= 4)


@njit(cache=True, inline="always")
def _row(row, l_indptr, l_indices, l_data, nz, nmu, mass, stream, left_cell, left_j, left_w,
         right_cell, right_j, right_w, theta, cols, vals):
    """Entries of one row of the z-problem matrix, merged and sorted by column; returns their count.

    ``left_cell, left_j, left_w`` is the inflow stencil of the z_min face for mu > 0: the face
    value is ``left_w[0] a + left_w[1] theta b`` of z cell ``left_cell``, pitch cell ``left_j[j]``
    (``left_cell < 0``: no inflow); ``right_*`` likewise for mu < 0 at z_max.  ``theta`` (np, nz,
    nmu) or None (all 1): slope weight of each cell's transported trace (module docstring).
    """
    d = row % 2
    rest = row // 2
    j = rest % nmu
    rest //= nmu
    i = rest % nz
    k = rest // nz
    n = 0
    # local (mu, p) operator acting within the same z cell and mode, scaled by the mode's z mass
    m = mass[i, d]
    r = k * nmu + j
    for q in range(l_indptr[r], l_indptr[r + 1]):
        c = l_indices[q]
        kk = c // nmu
        jj = c - kk * nmu
        cols[n] = ((kk * nz + i) * nmu + jj) * 2 + d
        vals[n] = l_data[q] * m
        n += 1
    # upwind linear-discontinuous streaming, s = v mu dmu V
    s = stream[k, j]
    base = (k * nz + i) * nmu
    own = (base + j) * 2
    # slope weights of the transported traces: this cell's and the upwind cell's (1: DG-1)
    t_own = 1.0
    t_up = 1.0
    if s > 0.0:
        if theta is not None:
            t_own = theta[k, i, j]
            if i > 0:
                t_up = theta[k, i - 1, j]
            elif left_cell >= 0:
                t_up = theta[k, left_cell, left_j[j]]
        # d=0: s [(a+tb)_i - fhat_{i-1/2}];  d=1: s [-a_i + b_i + fhat_{i-1/2}];  fhat = a+tb upwind
        # (the slope row keeps the DG-1 trace a + b: it defines b, also where t = 0)
        if d == 0:
            cols[n] = own; vals[n] = s; n += 1
            cols[n] = own + 1; vals[n] = s * t_own; n += 1
            sign = -1.0
        else:
            cols[n] = own; vals[n] = -s; n += 1
            cols[n] = own + 1; vals[n] = s; n += 1
            sign = 1.0
        if i > 0:
            nb = ((k * nz + i - 1) * nmu + j) * 2
            cols[n] = nb; vals[n] = sign * s; n += 1
            cols[n] = nb + 1; vals[n] = sign * s * t_up; n += 1
        elif left_cell >= 0:
            nb = ((k * nz + left_cell) * nmu + left_j[j]) * 2
            cols[n] = nb; vals[n] = sign * s * left_w[0]; n += 1
            cols[n] = nb + 1; vals[n] = sign * s * left_w[1] * t_up; n += 1
    elif s < 0.0:
        if theta is not None:
            t_own = theta[k, i, j]
            if i < nz - 1:
                t_up = theta[k, i + 1, j]
            elif right_cell >= 0:
                t_up = theta[k, right_cell, right_j[j]]
        # d=0: s [fhat_{i+1/2} - (a-tb)_i];  d=1: s [fhat_{i+1/2} - a_i - b_i];  fhat = a-tb upwind
        if d == 0:
            cols[n] = own; vals[n] = -s; n += 1
            cols[n] = own + 1; vals[n] = s * t_own; n += 1
        else:
            cols[n] = own; vals[n] = -s; n += 1
            cols[n] = own + 1; vals[n] = -s; n += 1
        if i < nz - 1:
            nb = ((k * nz + i + 1) * nmu + j) * 2
            cols[n] = nb; vals[n] = s; n += 1
            cols[n] = nb + 1; vals[n] = -s * t_up; n += 1
        elif right_cell >= 0:
            nb = ((k * nz + right_cell) * nmu + right_j[j]) * 2
            cols[n] = nb; vals[n] = s * right_w[0]; n += 1
            cols[n] = nb + 1; vals[n] = s * right_w[1] * t_up; n += 1
    # insertion sort by column and merge duplicates
    for a in range(1, n):
        cc = cols[a]
        vv = vals[a]
        b = a - 1
        while b >= 0 and cols[b] > cc:
            cols[b + 1] = cols[b]
            vals[b + 1] = vals[b]
            b -= 1
        cols[b + 1] = cc
        vals[b + 1] = vv
    out = 0
    for a in range(n):
        if out > 0 and cols[out - 1] == cols[a]:
            vals[out - 1] += vals[a]
        else:
            cols[out] = cols[a]
            vals[out] = vals[a]
            out += 1
    return out


@njit(cache=True, parallel=True)
def _count(l_indptr, l_indices, l_data, nk, nz, nmu, mass, stream, left_cell, left_j, left_w,
           right_cell, right_j, right_w, theta):
    nrow = nk * nz * nmu * 2
    counts = np.zeros(nrow + 1, dtype=np.int64)
    for row in prange(nrow):
        cols = np.empty(MAX_ROW, dtype=np.int64)
        vals = np.empty(MAX_ROW, dtype=np.float64)
        counts[row + 1] = _row(row, l_indptr, l_indices, l_data, nz, nmu, mass, stream, left_cell, left_j,
                               left_w, right_cell, right_j, right_w, theta, cols, vals)
    return counts


@njit(cache=True, parallel=True)
def _fill(l_indptr, l_indices, l_data, nk, nz, nmu, mass, stream, left_cell, left_j, left_w,
          right_cell, right_j, right_w, theta, indptr, indices, data):
    nrow = nk * nz * nmu * 2
    for row in prange(nrow):
        cols = np.empty(MAX_ROW, dtype=np.int64)
        vals = np.empty(MAX_ROW, dtype=np.float64)
        n = _row(row, l_indptr, l_indices, l_data, nz, nmu, mass, stream, left_cell, left_j, left_w,
                 right_cell, right_j, right_w, theta, cols, vals)
        start = indptr[row]
        for a in range(n):
            indices[start + a] = cols[a]
            data[start + a] = vals[a]


_N_FIXED = 14  # arguments before the optional theta


def count_z_block(*args):
    """Pass 1: number of stored entries of every row of the z-problem matrix.

    ``args``: ``l_indptr, l_indices, l_data, nk, nz, nmu, mass, stream, left_cell, left_j, left_w,
    right_cell, right_j, right_w`` and optionally ``theta`` (np, nz, nmu) (absent or None: DG-1)."""
    fixed, rest = args[:_N_FIXED], args[_N_FIXED:]
    theta = rest[0] if rest else None
    return _count(*fixed, theta)


def fill_z_block(*args):
    """Pass 2: fill ``indices`` and ``data`` at the offsets ``indptr`` (the cumulated counts).

    ``args``: those of :func:`count_z_block` (with or without ``theta``), then ``indptr, indices,
    data``."""
    fixed, rest = args[:_N_FIXED], args[_N_FIXED:-3]
    theta = rest[0] if rest else None
    _fill(*fixed, theta, *args[-3:])


def warm_up():
    """Compile (or load from the cache) every kernel on a tiny problem."""
    args = (np.zeros(3, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0), 1, 1, 2,
            np.ones((1, 2)), np.array([[-1.0, 1.0]]), -1, np.arange(2, dtype=np.int64), np.zeros(2),
            -1, np.arange(2, dtype=np.int64), np.zeros(2))
    for extra in ((), (np.ones((1, 1, 2)),)):  # DG-1, and with the slope weights of the fixup
        counts = count_z_block(*args, *extra)
        indptr = np.cumsum(counts)
        fill_z_block(*args, *extra, indptr, np.empty(indptr[-1], np.int64), np.empty(indptr[-1]))
    residual_compensated(np.array([0, 1]), np.array([0], dtype=np.int32), np.ones(1), np.ones(1),
                         np.ones(1), np.empty(1))


@njit(cache=True, inline="always")
def _two_sum(a, b):
    s = a + b
    bb = s - a
    return s, (a - (s - bb)) + (b - bb)


@njit(cache=True, inline="always")
def _two_prod(a, b):
    # Dekker's product with Veltkamp splitting: a*b = p + e exactly
    p = a * b
    c = 134217729.0 * a  # 2^27 + 1
    ah = c - (c - a)
    al = a - ah
    c = 134217729.0 * b
    bh = c - (c - b)
    bl = b - bh
    e = ((ah * bh - p) + ah * bl + al * bh) + al * bl
    return p, e


@njit(cache=True, parallel=True)
def residual_compensated(indptr, indices, data, x, b, out):
    """``out = b - A x`` accumulated in double-double (error-free transformations), rounded once.

    Plain ``A @ x - b`` loses ``eps * sum |A_ij x_j|`` per row; in the thick diffusion limit each
    row cancels terms ~1e4 times larger than the result, so refinement needs this residual.
    """
    n = indptr.size - 1
    for i in prange(n):
        hi, lo = _two_sum(b[i], 0.0)
        for q in range(indptr[i], indptr[i + 1]):
            p, e = _two_prod(-data[q], x[indices[q]])
            hi, t = _two_sum(hi, p)
            lo += t + e
        out[i] = hi + lo
