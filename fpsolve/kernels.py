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
    # the upwind plane factorisation on a 3-cell, 2-pitch-cell identity plane
    n = 12
    ok, kl, ku, band, low, up = upwind_plane_split(np.arange(n + 1, dtype=np.int32), np.arange(n, dtype=np.int32),
                                                   np.ones(n), 3, 2, 8)
    rank_one_blocks(low, 64 * 2.2e-16)
    band_factor(band, kl, ku)
    js, ps = np.array([1], dtype=np.int64), np.zeros((3, 1, 2))
    fac = upwind_plane_factor(band, kl, ku, js, ps, ps, js - 1, ps, ps)
    upwind_plane_solve(band, kl, ku, js, ps, ps, js - 1, ps, ps, *fac, np.ones(n))
    positivity_redistribute(np.array([[[1.0, -0.5], [1.0, 1.0]]]), np.zeros((1, 2, 2)), np.ones((1, 2, 2)))
    dg_ranges(np.ones((1, 2, 2, 2)), np.array([False, True]))


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


# --- the upwind plane factorisation (fpsolve.solvers.UpwindPlaneLU) -----------------------------
# A momentum plane of a kinetic z problem is block tridiagonal in z: cell blocks D_i of m = 2 nmu
# unknowns (pitch cell j, DG mode d), banded in (j, d); the z couplings A[i, i-1] and A[i, i+1]
# join equal pitch cells only, each a 2x2 block of rank one (the upwind trace a +- theta b of the
# neighbour, times the test functions), non-zero for mu > 0 (from the left) or mu < 0 (from the
# right) only.  Hence A[i, i-1] = P_i Ta_{i-1} with rL = #(mu > 0) columns and
# A[i, i+1] = Q_i Tc_{i+1} with rU = #(mu < 0): the planes exchange rL + rU = nmu traces per face,
# not 2 nmu unknowns per cell.  The kernels below eliminate each cell locally (banded LU of D_i),
# then solve the block-tridiagonal system of the face traces (see UpwindPlaneLU's docstring).
# nogil: the sweep factorises planes in worker threads while the main thread refines (like SuperLU,
# which releases the GIL).

@njit(cache=True, nogil=True)
def upwind_plane_split(indptr, indices, data, nz, nmu, band_max):
    """Banded cell blocks and z couplings of a plane matrix (CSR, unknown (i*nmu + j)*2 + d).

    Returns ``(ok, kl, ku, band, low, up)``: ``band[i, r, ku + c - r] = D_i[r, c]``, ``low[i, j]``
    (2x2) = A[(i, j), (i-1, j)], ``up[i, j]`` = A[(i, j), (i+1, j)].  ``ok`` is False (and the
    arrays empty) if an entry couples non-neighbouring z cells, different pitch cells across a
    face, or lies outside a band of ``band_max`` in a cell block."""
    m = 2 * nmu
    n = nz * m
    kl = 0
    ku = 0
    for r in range(n):
        i = r // m
        rl = r - i * m
        for q in range(indptr[r], indptr[r + 1]):
            c = indices[q]
            ci = c // m
            cl = c - ci * m
            if ci == i:
                if rl - cl > kl:
                    kl = rl - cl
                if cl - rl > ku:
                    ku = cl - rl
            elif (ci != i - 1 and ci != i + 1) or rl // 2 != cl // 2:
                if data[q] != 0.0:
                    return False, 0, 0, np.zeros((0, 0, 0)), np.zeros((0, 0, 2, 2)), np.zeros((0, 0, 2, 2))
    if kl > band_max or ku > band_max:
        return False, kl, ku, np.zeros((0, 0, 0)), np.zeros((0, 0, 2, 2)), np.zeros((0, 0, 2, 2))
    band = np.zeros((nz, m, kl + ku + 1))
    low = np.zeros((nz, nmu, 2, 2))
    up = np.zeros((nz, nmu, 2, 2))
    for r in range(n):
        i = r // m
        rl = r - i * m
        for q in range(indptr[r], indptr[r + 1]):
            c = indices[q]
            ci = c // m
            cl = c - ci * m
            if ci == i:
                band[i, rl, ku + cl - rl] += data[q]
            elif ci == i - 1:
                low[i, rl // 2, rl % 2, cl % 2] += data[q]
            elif ci == i + 1:
                up[i, rl // 2, rl % 2, cl % 2] += data[q]
    return True, kl, ku, band, low, up


@njit(cache=True, nogil=True)
def rank_one_blocks(blocks, tol):
    """``blocks[i, j] = p[i, s] t[i, s]^T`` (2x2) for the pitch cells ``J`` (s-th entry) where some
    block is non-zero.  Returns ``(ok, J, p, t)``; ``ok`` is False if a block's rank-one remainder
    exceeds ``tol`` times its largest entry.  p is the column of the largest entry divided by it,
    t the row of the largest entry."""
    nz, nmu = blocks.shape[0], blocks.shape[1]
    used = np.zeros(nmu, dtype=np.bool_)
    for i in range(nz):
        for j in range(nmu):
            for a in range(2):
                for b in range(2):
                    if blocks[i, j, a, b] != 0.0:
                        used[j] = True
    J = np.flatnonzero(used).astype(np.int64)
    p = np.zeros((nz, J.size, 2))
    t = np.zeros((nz, J.size, 2))
    for i in range(nz):
        for s in range(J.size):
            B = blocks[i, J[s]]
            ra, cb, big = 0, 0, 0.0
            for a in range(2):
                for b in range(2):
                    if abs(B[a, b]) > big:
                        big, ra, cb = abs(B[a, b]), a, b
            if big == 0.0:
                continue
            piv = B[ra, cb]
            for a in range(2):
                p[i, s, a] = B[a, cb] / piv
                t[i, s, a] = B[ra, a]
            for a in range(2):
                for b in range(2):
                    if abs(B[a, b] - p[i, s, a] * t[i, s, b]) > tol * big:
                        return False, J, p, t
    return True, J, p, t


@njit(cache=True, nogil=True)
def band_factor(band, kl, ku):
    """In-place LU without pivoting of every cell block ``band[i]`` (banded storage, see
    :func:`upwind_plane_split`); returns the largest |multiplier| and the smallest |pivot| relative to
    its row's largest entry (the caller rejects a factor that needed pivoting)."""
    nc, m, _w = band.shape
    growth = 0.0
    small = np.inf
    for c in range(nc):
        for k in range(m):
            piv = band[c, k, ku]
            row = 0.0
            for col in range(max(0, k - kl), min(m, k + ku + 1)):
                row = max(row, abs(band[c, k, ku + col - k]))
            rel = abs(piv) / row if row > 0.0 else 0.0
            if rel < small:
                small = rel
            if piv == 0.0:
                return np.inf, 0.0
            for r in range(k + 1, min(m, k + kl + 1)):
                lm = band[c, r, ku + k - r] / piv
                band[c, r, ku + k - r] = lm
                if abs(lm) > growth:
                    growth = abs(lm)
                for col in range(k + 1, min(m, k + ku + 1)):
                    band[c, r, ku + col - r] -= lm * band[c, k, ku + col - k]
    return growth, small


@njit(cache=True, nogil=True, inline="always")
def _band_solve_cell(band, c, kl, ku, x):
    """``x[:, q] <- D_c^{-1} x[:, q]`` with the factor of :func:`band_factor`."""
    m = band.shape[1]
    nq = x.shape[1]
    for r in range(m):
        for k in range(max(0, r - kl), r):
            lm = band[c, r, ku + k - r]
            if lm != 0.0:
                for q in range(nq):
                    x[r, q] -= lm * x[k, q]
    for r in range(m - 1, -1, -1):
        for col in range(r + 1, min(m, r + ku + 1)):
            u = band[c, r, ku + col - r]
            if u != 0.0:
                for q in range(nq):
                    x[r, q] -= u * x[col, q]
        d = band[c, r, ku]
        for q in range(nq):
            x[r, q] /= d


@njit(cache=True, nogil=True)
def upwind_plane_factor(band, kl, ku, jl, pl, tl, ju, pu, tu):
    """Face-trace block-tridiagonal factorisation (after :func:`band_factor`).

    ``jl`` (rL pitch cells), ``pl[i, s]``, ``tl[i, s]`` (2-vectors): low[i, jl[s]] = pl tl^T;
    likewise ``ju, pu, tu`` for the up blocks.  Face f (between cells f and f+1) carries
    y_f = (a_f, c_{f+1}): a_f[s] = tl[f+1, s] . u_f[jl[s]], c_{f+1}[s] = tu[f, s] . u_{f+1}[ju[s]].
    Eliminating u_i = D_i^{-1}(b_i - P_i a_{i-1} - Q_i c_{i+1}) gives
    ``y_f + [TaE_f a_{f-1}; 0] + [0; TcF_f c_{f+2}] = g_f`` with the diagonal block
    ``S_f = [[I, TaF_f], [TcE_f, I]]``.  Block Thomas: ``S'_f = S_f - [0, TaE_f X_{f-1}[a]; 0, 0]``
    where ``X_f = S'_f^{-1} [0; TcF_f]``; each S'_f is solved by its Schur complement
    ``K_f = I - TcE_f A12_f`` (A12_f: the modified upper-right block).  Returns
    ``(a12, tce, tae, kinv, x)`` (see :func:`upwind_plane_solve`)."""
    nz, m, _w = band.shape
    rl = jl.size
    ru = ju.size
    nq = rl + ru
    nf = nz - 1
    taf = np.zeros((nf, rl, ru))
    tce = np.zeros((nf, ru, rl))
    tae = np.zeros((nf, rl, rl))  # tae[f]: a_f from a_{f-1} (f >= 1)
    tcf = np.zeros((nf, ru, ru))  # tcf[f]: c_{f+1} from c_{f+2} (f <= nf - 2)
    g = np.empty((m, nq))
    for i in range(nz):
        g[:, :] = 0.0
        for s in range(rl):
            g[2 * jl[s], s] = pl[i, s, 0]
            g[2 * jl[s] + 1, s] = pl[i, s, 1]
        for s in range(ru):
            g[2 * ju[s], rl + s] = pu[i, s, 0]
            g[2 * ju[s] + 1, rl + s] = pu[i, s, 1]
        _band_solve_cell(band, i, kl, ku, g)
        if i <= nz - 2:  # a_i = Ta_i u_i, the trace of the block A[i+1, i]
            for s in range(rl):
                t0 = tl[i + 1, s, 0]
                t1 = tl[i + 1, s, 1]
                r0 = 2 * jl[s]
                for q in range(ru):
                    taf[i, s, q] = -(t0 * g[r0, rl + q] + t1 * g[r0 + 1, rl + q])
                if i >= 1:
                    for q in range(rl):
                        tae[i, s, q] = -(t0 * g[r0, q] + t1 * g[r0 + 1, q])
        if i >= 1:  # c_i = Tc_i u_i, the trace of the block A[i-1, i]
            for s in range(ru):
                t0 = tu[i - 1, s, 0]
                t1 = tu[i - 1, s, 1]
                r0 = 2 * ju[s]
                for q in range(rl):
                    tce[i - 1, s, q] = -(t0 * g[r0, q] + t1 * g[r0 + 1, q])
                if i <= nz - 2:
                    for q in range(ru):
                        tcf[i - 1, s, q] = -(t0 * g[r0, rl + q] + t1 * g[r0 + 1, rl + q])
    # tae, taf, tce, tcf carry the minus sign of the elimination: the face equations are
    # a_f - taf_f c_{f+1} - tae_f a_{f-1} = Ta_f w_f and c_{f+1} - tce_f a_f - tcf_f c_{f+2} = Tc_{f+1} w_{f+1}
    # (w = D^{-1} b), i.e. S_f = [[I, -taf_f], [-tce_f, I]], Low_f = [[-tae_f, 0], [0, 0]], Up_f = [[0, 0], [0, -tcf_f]]
    a12 = np.empty((nf, rl, ru))
    kinv = np.empty((nf, ru, ru))
    x = np.zeros((nf, nq, ru))
    eye = np.eye(ru)
    for f in range(nf):
        a12[f] = -taf[f]
        if f > 0:
            # - Low_f S'^{-1}_{f-1} Up_{f-1}, Low_f = [[-tae_f, 0], [0, 0]]: adds +tae_f X_{f-1}[a]
            a12[f] += np.dot(np.ascontiguousarray(tae[f]), np.ascontiguousarray(x[f - 1, :rl]))
        kf = eye + np.dot(np.ascontiguousarray(tce[f]), np.ascontiguousarray(a12[f]))  # I - (-tce) a12
        kinv[f] = np.linalg.inv(kf)
        if f < nf - 1:
            # X_f = S'_f^{-1} [0; -tcf_f]: x2 = K^{-1}(-tcf), x1 = -a12 x2
            x2 = -np.dot(kinv[f], np.ascontiguousarray(tcf[f]))
            x[f, rl:] = x2
            x[f, :rl] = -np.dot(np.ascontiguousarray(a12[f]), x2)
    return a12, tce, tae, kinv, x


@njit(cache=True, nogil=True)
def upwind_plane_solve(band, kl, ku, jl, pl, tl, ju, pu, tu, a12, tce, tae, kinv, x, b):
    """``A^{-1} b`` for the factors of :func:`upwind_plane_factor` (one right-hand side)."""
    nz, m, _w = band.shape
    rl = jl.size
    ru = ju.size
    nq = rl + ru
    nf = nz - 1
    w = b.copy().reshape(nz, m, 1)
    for i in range(nz):
        _band_solve_cell(band, i, kl, ku, w[i])
    z = np.zeros((max(nf, 1), nq))
    r1 = np.empty(rl)
    r2 = np.empty(ru)
    for f in range(nf):
        for s in range(rl):
            r1[s] = tl[f + 1, s, 0] * w[f, 2 * jl[s], 0] + tl[f + 1, s, 1] * w[f, 2 * jl[s] + 1, 0]
        if f > 0:  # Low_f z_{f-1}: r1 -= (-tae_f) z_{f-1}[a]
            for s in range(rl):
                acc = 0.0
                for q in range(rl):
                    acc += tae[f, s, q] * z[f - 1, q]
                r1[s] += acc
        for s in range(ru):
            r2[s] = tu[f, s, 0] * w[f + 1, 2 * ju[s], 0] + tu[f, s, 1] * w[f + 1, 2 * ju[s] + 1, 0]
        # S' = [[I, a12], [-tce, I]]:  x2 = K^{-1}(r2 + tce r1), x1 = r1 - a12 x2
        for s in range(ru):
            acc = r2[s]
            for q in range(rl):
                acc += tce[f, s, q] * r1[q]
            r2[s] = acc
        for s in range(ru):
            acc = 0.0
            for q in range(ru):
                acc += kinv[f, s, q] * r2[q]
            z[f, rl + s] = acc
        for s in range(rl):
            acc = r1[s]
            for q in range(ru):
                acc -= a12[f, s, q] * z[f, rl + q]
            z[f, s] = acc
    for f in range(nf - 2, -1, -1):  # y_f = z_f - X_f y_{f+1}[c]
        for s in range(nq):
            acc = 0.0
            for q in range(ru):
                acc += x[f, s, q] * z[f + 1, rl + q]
            z[f, s] -= acc
    u = b.copy().reshape(nz, m, 1)
    for i in range(nz):
        if i >= 1:  # - P_i a_{i-1}
            for s in range(rl):
                a = z[i - 1, s]
                u[i, 2 * jl[s], 0] -= pl[i, s, 0] * a
                u[i, 2 * jl[s] + 1, 0] -= pl[i, s, 1] * a
        if i <= nz - 2:  # - Q_i c_{i+1}
            for s in range(ru):
                c = z[i, rl + s]
                u[i, 2 * ju[s], 0] -= pu[i, s, 0] * c
                u[i, 2 * ju[s] + 1, 0] -= pu[i, s, 1] * c
        _band_solve_cell(band, i, kl, ku, u[i])
    return u.reshape(nz * m)


@njit(cache=True, nogil=True)
def positivity_redistribute(a, b, w):
    """Conservative positivity limiter of the cell means ``a`` (np, nz, nmu), in place.

    ``w``: the content weight of each mean (its mass-matrix row: dz dmu/2, times the p-cell
    volume), ``b``: the DG-1 half-slopes (same shape; zeros for a problem without z).  Within each
    momentum plane (p is untouched: nothing moves in momentum):

    1. a z cell whose content ``c_i = sum_j w a`` is negative is emptied (``a = b = 0`` for all
       its pitch cells) and its deficit is taken from the nearest z cells with positive content,
       in proportion to their content — the window grows one cell each side until their content
       covers the deficit; a donor's positive means and their slopes are scaled by a common factor;
    2. within each z cell of non-negative content, negative means are set to zero (their slope
       too) and the positive means of the same cell scaled down by the same content.

    Step 2 leaves F of every z cell (Eq. 5) unchanged; step 1 changes F only where it was negative
    and in the donors; the content of each plane is conserved to round-off.  Returns
    ``(moved, zeroed, unrepaired)``: the content moved (the sum of the deficits), the number of
    means set to zero, the number of planes whose content is negative (left as they are).
    """
    npl, nz, nmu = a.shape
    moved = 0.0
    zeroed = 0
    unrepaired = 0
    c = np.empty(nz)
    for k in range(npl):
        for i in range(nz):
            s = 0.0
            for j in range(nmu):
                s += w[k, i, j] * a[k, i, j]
            c[i] = s
        for i in range(nz):
            if c[i] >= 0.0:
                continue
            d = -c[i]
            r = 1
            done = False
            while True:
                lo = max(i - r, 0)
                hi = min(i + r, nz - 1)
                pool = 0.0
                for m in range(lo, hi + 1):
                    if m != i and c[m] > 0.0:
                        pool += c[m]
                if pool >= d:
                    for m in range(lo, hi + 1):
                        if m != i and c[m] > 0.0:
                            take = d * (c[m] / pool)
                            pos = 0.0
                            for j in range(nmu):
                                if a[k, m, j] > 0.0:
                                    pos += w[k, m, j] * a[k, m, j]
                            fac = 1.0 - take / pos if pos > 0.0 else 1.0
                            if fac < 0.0:
                                fac = 0.0
                            for j in range(nmu):
                                if a[k, m, j] > 0.0:
                                    a[k, m, j] *= fac
                                    b[k, m, j] *= fac
                            c[m] -= take
                    for j in range(nmu):
                        if a[k, i, j] != 0.0:
                            zeroed += 1
                        a[k, i, j] = 0.0
                        b[k, i, j] = 0.0
                    c[i] = 0.0
                    moved += d
                    done = True
                    break
                if lo == 0 and hi == nz - 1:
                    break
                r += 1
            if not done:
                unrepaired += 1
                break  # the plane holds less than its deficits: leave it (reported)
        for i in range(nz):
            neg = 0.0
            pos = 0.0
            for j in range(nmu):
                x = w[k, i, j] * a[k, i, j]
                if x < 0.0:
                    neg -= x
                else:
                    pos += x
            if neg == 0.0 or pos < neg:
                continue
            fac = 1.0 - neg / pos
            for j in range(nmu):
                if a[k, i, j] < 0.0:
                    a[k, i, j] = 0.0
                    b[k, i, j] = 0.0
                    zeroed += 1
                elif a[k, i, j] > 0.0:
                    a[k, i, j] *= fac
                    b[k, i, j] *= fac
            moved += neg
    return moved, zeroed, unrepaired


@njit(cache=True, nogil=True)
def dg_ranges(f, up):
    """One pass over a DG-1 z field ``f`` (np, nz, nmu, 2) with ``up[j]`` = (mu_j > 0): the
    (min, max) of the cell means, the (min, max) of the outflow traces (``a + b`` for mu > 0,
    ``a - b`` for mu < 0: what the upwind scheme transports) and max |f| over means and slopes."""
    npl, nz, nmu = f.shape[0], f.shape[1], f.shape[2]
    amin = np.inf
    amax = -np.inf
    tmin = np.inf
    tmax = -np.inf
    big = 0.0
    for k in range(npl):
        for i in range(nz):
            for j in range(nmu):
                a = f[k, i, j, 0]
                b = f[k, i, j, 1]
                t = a + b if up[j] else a - b
                amin = min(amin, a)
                amax = max(amax, a)
                tmin = min(tmin, t)
                tmax = max(tmax, t)
                big = max(big, abs(a), abs(b))
    return amin, amax, tmin, tmax, big
