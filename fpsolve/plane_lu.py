r"""The linear solves of a physical-time step: ``(M + d h A) x = r`` by momentum planes.

:mod:`fpsolve.timestepping` asks a *factory* for ``solve(rhs)`` of ``M + d h A`` once per step
size and calls it three times a step (two implicit stages and the error filter).  Momentum is the
slowest index, so the matrix is a ``nk x nk`` block matrix of (z, mu) planes.  This module keeps the
sparse LU factors of the plane-diagonal blocks only (SuperLU, COLAMD; the factors are copied out
into flat CSR arrays and the SuperLU objects freed in the thread that made them), and solves with
numba kernels:

* planes uncoupled (eps = 0, no losses): each plane on its own, the planes in parallel threads;
* planes coupled one way (eps = 0 with continuous losses: block triangular): one block forward
  substitution over the planes in the direction of the coupling — exact, as a whole-matrix LU;
* planes coupled both ways (eps > 0: V_A gives the D_mup and D_pp terms of Eq. 3): GMRES on
  the whole matrix, right-preconditioned by one block Gauss–Seidel sweep over the planes (the
  plane factors), started from that sweep's answer.  Its target relative residual is

  .. math::  \tau = \max\bigl(\min(10^{-3}\,\mathrm{rtol},\ 10^{-5}\,\mathrm{BALANCE\_TOL}),\ \epsilon_r\bigr),
             \quad \epsilon_r = \epsilon\,\| |M + dhA|\,|x| \|_2 / \|r\|_2 :

  far below the local error the integrator accepts (``rtol``), and — since the time-integrated
  particle balance closes only to the linear solves' residual — 1e-5 below the ``BALANCE_TOL`` flag
  (room for ~1e3 steps of three solves with a margin of 30); never below the round-off ``eps_r`` of
  evaluating the residual itself (an absolute threshold below it would only burn iterations).
  A solve whose GMRES estimate stagnates (less than halved twice running) stops there if its
  true residual is within the round-off floor of :func:`fpsolve.solvers._krylov`,
  ``max(tau, 80 eps_r)`` (= 10 x 8 eps ||A||x||); one that misses that within ``GMRES_MAXITER``
  iterations falls back to a whole-matrix SuperLU of that matrix (made once, kept for the step
  size; counted in :attr:`PlaneStepSolver.fallbacks`).

When the planes couple both ways the choice between the whole-matrix LU and the plane-wise GMRES is
made by size (:func:`choose_step_solver`): below ``COUPLED_PLANES_MIN_UNKNOWNS`` unknowns the
whole-matrix LU is as cheap and exact; above, its fill across the (z, mu, p) box makes its memory
and time the wall, while the plane factors grow like N.  Measured (``scripts/bench_transient.py
--coupled --solver ...``, burst_slab with V_A = 0.01, CPU time per step on a shared machine):
8,000 unknowns 28 (LU) vs 29 ms (GMRES); 32,000: 177 vs 119 ms, peak 436 vs 245 MB.
"""
from __future__ import annotations

import os

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from numba import njit, prange

__all__ = ["PlaneStepSolver", "plane_step_factory", "choose_step_solver", "plane_coupling",
           "COUPLED_PLANES_MIN_UNKNOWNS", "GMRES_MAXITER", "GMRES_RESTART", "LINEAR_RTOL_FACTOR",
           "LINEAR_BALANCE_FACTOR"]

#: Two-way coupled planes: the plane-wise GMRES from this many unknowns on (see the module docstring).
COUPLED_PLANES_MIN_UNKNOWNS = 20_000
#: GMRES iterations per solve before the whole-matrix LU fallback (restarted every GMRES_RESTART).
GMRES_MAXITER = 90
GMRES_RESTART = 30
#: Threads that factorise the planes (SuperLU releases the GIL while it factorises).
FACTOR_WORKERS = min(2, os.cpu_count() or 1)
#: The linear residual target relative to the integrator's rtol, and relative to BALANCE_TOL.
LINEAR_RTOL_FACTOR = 1e-3
LINEAR_BALANCE_FACTOR = 1e-5


# --- kernels (plain arrays) -------------------------------------------------------------------
@njit(cache=True, inline="always")
def _plane_lu_solve(k, bs, Lp, Li, Lx, Up, Ui, Ux, Ud, pr, pc, r, x, y):
    """``x[k bs:(k+1) bs] = (Pr^T L U Pc^T)^{-1} r`` for plane k (``r``: the plane's right-hand
    side, length bs; ``y``: scratch of length bs).  L unit lower (diagonal last in its CSR row),
    U upper (diagonal first, its inverse in ``Ud``: a product, not a division, per row); row pointers global (plane k's rows at ``k bs``), columns local."""
    o = k * bs
    for i in range(bs):
        y[pr[o + i]] = r[i]
    for i in range(bs):
        s = y[i]
        for q in range(Lp[o + i], Lp[o + i + 1] - 1):
            s -= Lx[q] * y[Li[q]]
        y[i] = s
    for i in range(bs - 1, -1, -1):
        q0 = Up[o + i]
        s = y[i]
        for q in range(q0 + 1, Up[o + i + 1]):
            s -= Ux[q] * y[Ui[q]]
        y[i] = s * Ud[o + i]
    for i in range(bs):
        x[o + i] = y[pc[o + i]]


@njit(cache=True, parallel=True)
def planes_independent(nk, bs, Lp, Li, Lx, Up, Ui, Ux, Ud, pr, pc, rhs, x):
    """Block-diagonal solve: every plane on its own (planes in parallel)."""
    for k in prange(nk):
        y = np.empty(bs)
        _plane_lu_solve(k, bs, Lp, Li, Lx, Up, Ui, Ux, Ud, pr, pc, rhs[k * bs:(k + 1) * bs], x, y)


@njit(cache=True)
def planes_sweep(order, bs, Lp, Li, Lx, Up, Ui, Ux, Ud, pr, pc, Op, Oi, Ox, rhs, x):
    """One block Gauss–Seidel sweep over the planes in ``order``, starting from ``x = 0``:
    plane k solves ``D_k x_k = rhs_k - sum_{j != k} O_kj x_j`` with the planes done so far
    (exact block substitution when the planes couple one way, in that direction).  ``O``: the
    off-plane-diagonal part, CSR with global columns."""
    x[:] = 0.0
    r = np.empty(bs)
    y = np.empty(bs)
    for k in order:
        o = k * bs
        for i in range(bs):
            s = rhs[o + i]
            for q in range(Op[o + i], Op[o + i + 1]):
                s -= Ox[q] * x[Oi[q]]
            r[i] = s
        _plane_lu_solve(k, bs, Lp, Li, Lx, Up, Ui, Ux, Ud, pr, pc, r, x, y)


@njit(cache=True)
def _dot(a, b):
    s = 0.0
    for i in range(a.size):
        s += a[i] * b[i]
    return s


@njit(cache=True)
def _axpy(alpha, x, y):
    """``y += alpha x`` in place."""
    for i in range(x.size):
        y[i] += alpha * x[i]


def _norm(v) -> float:
    return float(np.sqrt(_dot(v, v)))


def warm_up():
    """Compile (or load from the cache) the kernels on a 2-plane problem of 2 unknowns each."""
    mat = sp.csr_matrix(np.array([[2.0, 1, 0.5, 0], [1, 3, 0, 0.5], [0.5, 0, 2, 1], [0, 0.5, 1, 3]]))
    PlaneStepSolver(mat, 2, coupling="two-way", rtol=1e-6)(np.ones(4))
    PlaneStepSolver(mat.multiply(np.kron(np.eye(2), np.ones((2, 2)))), 2, coupling="none")(np.ones(4))


# --- the solver ---------------------------------------------------------------------------------
def plane_coupling(A, nk: int) -> str:
    """How the ``nk`` momentum planes of ``A`` couple: ``"none"``, ``"lower"`` (plane k depends on
    planes below), ``"upper"`` or ``"two-way"``."""
    if nk <= 1:
        return "none"
    coo = sp.coo_matrix(A)
    bs = A.shape[0] // nk
    nz = coo.data != 0.0
    rb, cb = coo.row[nz] // bs, coo.col[nz] // bs
    lower, upper = bool(np.any(cb < rb)), bool(np.any(cb > rb))
    return {(False, False): "none", (True, False): "lower", (False, True): "upper"}.get((lower, upper), "two-way")


class PlaneStepSolver:
    """``solve(rhs)`` of a matrix with ``nk`` momentum planes from the LU factors of its
    plane-diagonal blocks (see the module docstring).  Callable: ``x = solver(rhs)``."""

    def __init__(self, matrix, nk: int, *, coupling: str | None = None, rtol: float = 1e-6,
                 balance_tol: float | None = None):
        if balance_tol is None:
            from .timeseries import BALANCE_TOL as balance_tol
        a = sp.csr_matrix(matrix)
        a.sum_duplicates()
        a.sort_indices()
        n = a.shape[0]
        if n % nk:
            raise ValueError(f"{n} unknowns do not split into {nk} planes")
        self.n, self.nk, self.bs = n, nk, n // nk
        self.coupling = coupling or plane_coupling(a, nk)
        self.tol = min(LINEAR_RTOL_FACTOR * rtol, LINEAR_BALANCE_FACTOR * balance_tol)
        self.iterations = 0  # GMRES iterations, all solves
        self.solves = 0
        self.fallbacks = 0
        self.max_residual = 0.0  # largest relative residual a GMRES solve ended with
        self._whole = None
        bs = self.bs
        rows = np.repeat(np.arange(n), np.diff(a.indptr))
        diag = (a.indices // bs) == (rows // bs)

        def factor(k):
            # in a worker thread: the SuperLU object is made and freed here (scipy's SuperLU does not
            # return the memory of a factor freed in another thread, see fpsolve.solvers._FactorWorkers)
            lo, hi = k * bs, (k + 1) * bs
            s, e = int(a.indptr[lo]), int(a.indptr[hi])
            sel = diag[s:e]
            blk = sp.csc_matrix((a.data[s:e][sel], (rows[s:e][sel] - lo, a.indices[s:e][sel] - lo)), shape=(bs, bs))
            lu = spla.splu(blk, permc_spec="COLAMD")
            out = [lu.perm_r.astype(np.int32), lu.perm_c.astype(np.int32)]
            for f, last in ((lu.L, True), (lu.U, False)):
                f = f.tocsr()
                f.sort_indices()
                ends = f.indptr[1:] - 1 if last else f.indptr[:-1]
                if not np.array_equal(f.indices[ends], np.arange(bs)):
                    raise ValueError("LU factor without its diagonal (singular plane block)")
                out += [f.indptr, f.indices.astype(np.int32), f.data]
            del lu
            return out

        Lp, Up = np.zeros(n + 1, np.int64), np.zeros(n + 1, np.int64)
        pr, pc = np.empty(n, np.int32), np.empty(n, np.int32)
        buf = {}  # L/U indices and values, grown as the planes arrive (no list-then-concatenate copy)
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=max(1, min(FACTOR_WORKERS, nk))) as pool:
            for k, (prk, pck, lptr, li, lx, uptr, ui, ux) in enumerate(pool.map(factor, range(nk))):
                lo, hi = k * bs, (k + 1) * bs
                pr[lo:hi], pc[lo:hi] = prk, pck
                for name, ptr, p_, idx, val in (("L", lptr, Lp, li, lx), ("U", uptr, Up, ui, ux)):
                    start = int(p_[lo])
                    p_[lo + 1:hi + 1] = start + ptr[1:]
                    end = start + idx.size
                    if name not in buf or buf[name][0].size < end:
                        cap = max(end, int(end * nk / (k + 1) * 1.05))
                        old = buf.get(name)
                        buf[name] = (np.empty(cap, np.int32), np.empty(cap))
                        if old is not None:
                            buf[name][0][:start], buf[name][1][:start] = old[0][:start], old[1][:start]
                        del old
                    buf[name][0][start:end], buf[name][1][start:end] = idx, val
        Li, Lx = (v[:Lp[-1]] for v in buf["L"])
        Ui, Ux = (v[:Up[-1]] for v in buf["U"])
        self.factors = (Lp, Li, Lx, Up, Ui, Ux, 1.0 / Ux[Up[:-1]], pr, pc)
        self.factor_nnz = int(Lp[-1] + Up[-1])
        off = ~diag
        self.off = sp.csr_matrix((a.data[off], a.indices[off], np.concatenate(([0], np.cumsum(
            np.bincount(rows[off], minlength=n))))), shape=(n, n)) if np.any(off) else None
        self.order = np.arange(nk - 1, -1, -1) if self.coupling == "upper" else np.arange(nk)
        self.matrix = a if self.coupling == "two-way" else None
        self.abs_matrix = abs(a) if self.coupling == "two-way" else None

    def sweep(self, rhs):
        """One block sweep from zero (exact for one-way coupling; block Gauss–Seidel otherwise)."""
        rhs = np.ascontiguousarray(rhs, dtype=float)
        x = np.empty(self.n)
        if self.off is None:
            planes_independent(self.nk, self.bs, *self.factors, rhs, x)
        else:
            o = self.off
            planes_sweep(self.order, self.bs, *self.factors, o.indptr, o.indices, o.data, rhs, x)
        return x

    def __call__(self, rhs):
        self.solves += 1
        if self.coupling != "two-way":
            return self.sweep(rhs)
        return self._gmres(np.asarray(rhs, dtype=float))

    def _gmres(self, rhs):
        """Restarted GMRES, right-preconditioned by :meth:`sweep` (so its residual estimate is the
        true residual's, up to round-off), from the sweep's answer; Arnoldi by modified Gram–Schmidt
        twice in numba kernels (no BLAS: threaded BLAS calls stall on a shared 2-core machine and
        their spinning threads eat the other core)."""
        a = self.matrix
        bnorm = _norm(rhs)
        if bnorm == 0.0:
            return np.zeros(self.n)
        x = self.sweep(rhs)
        eps_r = np.finfo(float).eps * _norm(self.abs_matrix @ np.abs(x)) / bnorm
        goal = max(self.tol, eps_r) * bnorm
        accept = max(self.tol, 80.0 * eps_r) * bnorm
        stagnated = False
        m = GMRES_RESTART
        res = np.inf
        for _cycle in range(max(1, GMRES_MAXITER // m)):
            r = rhs - a @ x
            beta = _norm(r)
            res = beta
            if beta <= goal or (stagnated and beta <= accept):
                break
            V = [r / beta]
            H = np.zeros((m + 1, m))
            g = np.zeros(m + 1)
            g[0] = beta
            cs, sn = np.zeros(m), np.zeros(m)
            k = slow = 0
            for j in range(m):
                w = a @ self.sweep(V[j])
                for _twice in range(2):
                    for i in range(j + 1):
                        c = _dot(V[i], w)
                        H[i, j] += c
                        _axpy(-c, V[i], w)
                hnext = _norm(w)
                H[j + 1, j] = hnext
                for i in range(j):  # the previous rotations
                    t = cs[i] * H[i, j] + sn[i] * H[i + 1, j]
                    H[i + 1, j] = -sn[i] * H[i, j] + cs[i] * H[i + 1, j]
                    H[i, j] = t
                d = np.hypot(H[j, j], H[j + 1, j])
                cs[j], sn[j] = (H[j, j] / d, H[j + 1, j] / d) if d > 0 else (1.0, 0.0)
                H[j, j], H[j + 1, j] = d, 0.0
                prev = abs(g[j])
                g[j + 1] = -sn[j] * g[j]
                g[j] = cs[j] * g[j]
                k = j + 1
                self.iterations += 1
                if abs(g[j + 1]) <= 0.5 * goal or hnext == 0.0:  # 0.5: room for the true residual's round-off
                    break
                slow = slow + 1 if abs(g[j + 1]) > 0.5 * prev else 0
                if slow >= 2 and abs(g[j + 1]) <= 0.5 * accept:
                    stagnated = True
                    break
                V.append(w / hnext)
            y = np.linalg.solve(np.triu(H[:k, :k]), g[:k]) if k else np.zeros(0)
            u = np.zeros(self.n)
            for i in range(k):
                _axpy(y[i], V[i], u)
            x = x + self.sweep(u)
            del V
        else:
            res = _norm(rhs - a @ x)
        if not res <= accept:
            if self._whole is None:
                self._whole = spla.splu(a.tocsc(), permc_spec="COLAMD")
            self.fallbacks += 1
            return self._whole.solve(rhs)
        self.max_residual = max(self.max_residual, res / bnorm)
        return x


def plane_step_factory(nk: int, *, coupling: str | None = None, rtol: float = 1e-6, stats: dict | None = None):
    """Factory for :class:`fpsolve.timestepping.TRBDF2`: ``matrix -> PlaneStepSolver`` (``stats``:
    see :func:`choose_step_solver`)."""

    def factory(matrix):
        return PlaneStepSolver(matrix, nk, coupling=coupling, rtol=rtol)

    return _recorded(factory, stats)


class UpwindPlanesSolver:
    """``solve(rhs)`` of ``M + d h A`` with uncoupled or one-way coupled momentum planes, each plane
    factorised by its upwind structure (:class:`fpsolve.solvers.UpwindPlaneLU`: z cells eliminated
    locally, the face traces by block Thomas; SuperLU for a plane without that structure) and a
    block substitution over the planes in the direction of their coupling: exact, like
    :class:`PlaneStepSolver`'s ``planes`` mode, with ~6x cheaper factors (B3 plane: 0.065 vs 0.42 s
    CPU) and cheaper solves (14 vs 21 ms)."""

    def __init__(self, matrix, nk: int, plane_shape):
        from .solvers import _plane_factor

        a = sp.csr_matrix(matrix)
        n = a.shape[0]
        bs = n // nk
        coo = a.tocoo()
        keep = coo.data != 0.0  # stored zeros couple nothing (as plane_coupling)
        coo = sp.coo_matrix((coo.data[keep], (coo.row[keep], coo.col[keep])), shape=a.shape)
        rb, cb = coo.row // bs, coo.col // bs
        if np.all(cb <= rb):
            self.order = range(nk)
        elif np.all(cb >= rb):
            self.order = range(nk - 1, -1, -1)
        else:
            raise ValueError("momentum planes coupled both ways")
        diag = rb == cb
        self.blocks = []
        for k in range(nk):
            sel = diag & (rb == k)
            blk = sp.csc_matrix((coo.data[sel], (coo.row[sel] - k * bs, coo.col[sel] - k * bs)), shape=(bs, bs))
            self.blocks.append(_plane_factor(blk, plane_shape))
        off = sp.csr_matrix((coo.data[~diag], (coo.row[~diag], coo.col[~diag])), shape=(n, n))
        self.rows = [off[k * bs:(k + 1) * bs] for k in range(nk)]
        self.n, self.bs = n, bs
        self.iterations = self.solves = self.fallbacks = 0
        self.max_residual = 0.0
        # uncoupled planes: solved side by side (the upwind kernels and SuperLU release the GIL)
        self.parallel = nk > 1 and not np.any(~diag) and FACTOR_WORKERS > 1

    def __call__(self, rhs):
        rhs = np.asarray(rhs, dtype=float)
        x = np.zeros(self.n)
        bs = self.bs
        if self.parallel:
            from concurrent.futures import ThreadPoolExecutor

            def one(k):
                x[k * bs:(k + 1) * bs] = self.blocks[k].solve(np.ascontiguousarray(rhs[k * bs:(k + 1) * bs]))

            with ThreadPoolExecutor(FACTOR_WORKERS) as pool:
                list(pool.map(one, range(len(self.blocks))))
            self.solves += 1
            return x
        for k in self.order:
            r = rhs[k * bs:(k + 1) * bs]
            if self.rows[k].nnz:
                r = r - self.rows[k] @ x
            x[k * bs:(k + 1) * bs] = self.blocks[k].solve(np.ascontiguousarray(r))
        self.solves += 1
        return x


def _recorded(factory, stats):
    """``factory`` that appends its solvers to ``stats["solvers"]`` and adds the CPU seconds of
    making them (all threads) to ``stats["factor_cpu_s"]``."""
    import time

    if stats is None:
        return factory

    def made(matrix):
        c0 = time.process_time()
        s = factory(matrix)
        stats["factor_cpu_s"] = stats.get("factor_cpu_s", 0.0) + time.process_time() - c0
        stats.setdefault("solvers", []).append(s)
        return s

    return made


def choose_step_solver(A, nk: int, *, rtol: float = 1e-6, stats: dict | None = None, force: str | None = None,
                       plane_shape=None):
    """``(name, factory)`` of the step solve of a matrix with ``nk`` momentum planes:

    * one plane: ``"splu"`` (whole-matrix SuperLU);
    * planes uncoupled or coupled one way: ``"planes"`` (plane factors, exact);
    * planes coupled both ways: ``"planes-gmres"`` from ``COUPLED_PLANES_MIN_UNKNOWNS`` unknowns on,
      else ``"splu"``.

    With ``plane_shape = (nz, nmu)`` (a kinetic z problem) a problem that is not coupled both ways
    takes ``"upwind-planes"`` instead (:class:`UpwindPlanesSolver`; one plane included).
    ``force`` (``"splu"``, ``"planes"``, ``"planes-gmres"``, ``"upwind-planes"``) overrides the rule
    (tests, benchmarks).
    ``stats``: a dict that collects the solvers made (``"solvers"``) and the CPU seconds spent
    making them (``"factor_cpu_s"``)."""
    from .timestepping import splu_factory

    coupling = plane_coupling(A, nk) if nk > 1 else "none"
    if force is None:
        if plane_shape is not None and coupling != "two-way":
            force = "upwind-planes"
        elif nk <= 1:
            force = "splu"
        elif coupling != "two-way":
            force = "planes"
        else:
            force = "planes-gmres" if A.shape[0] >= COUPLED_PLANES_MIN_UNKNOWNS else "splu"
    if force == "splu":
        return "splu", _recorded(splu_factory, stats)
    if force == "upwind-planes":
        if coupling == "two-way":
            raise ValueError("momentum planes coupled both ways: 'upwind-planes' is not exact; use 'planes-gmres'")
        return force, _recorded(lambda matrix: UpwindPlanesSolver(matrix, nk, plane_shape), stats)
    if force == "planes" and coupling == "two-way":
        raise ValueError("momentum planes coupled both ways: 'planes' is not exact; use 'planes-gmres'")
    return force, plane_step_factory(nk, coupling=coupling, rtol=rtol, stats=stats)
