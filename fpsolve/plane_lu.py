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
* planes coupled both ways (eps > 0: V_A gives D_mup and D_pp, Eqs. 17–19 of the paper): GMRES on
  the whole matrix, preconditioned by one block Gauss–Seidel sweep over the planes (the plane
  factors), stopped at a relative residual

  .. math::  \tau = \max\bigl(\min(10^{-3}\,\mathrm{rtol},\ 10^{-3}\,\mathrm{BALANCE\_TOL}),\ 10\,\varepsilon_{\mathrm{floor}}\bigr),
             \quad \varepsilon_{\mathrm{floor}} = 8\,\epsilon\,\| |M + dhA|\,|x| \| / \|r\|

  (far below the local error the integrator accepts, ``rtol``; the time-integrated particle
  balance closes to the linear solves' residual, so the residual must also stay 1e-3 below the
  ``BALANCE_TOL`` flag; never below ten times the round-off of ``(M + d h A) x`` itself — the same
  floor :func:`fpsolve.solvers._krylov` uses).  A solve that misses ``tau`` within
  ``GMRES_MAXITER`` iterations falls back to a whole-matrix SuperLU of that matrix (made once,
  kept for the step size; counted in :attr:`PlaneStepSolver.fallbacks`).

When the planes couple both ways the choice between the whole-matrix LU and the plane-wise GMRES is
made by size (:func:`choose_step_solver`): below ``COUPLED_PLANES_MIN_UNKNOWNS`` unknowns the
whole-matrix LU is cheap (its fill across the planes is still small) and exact; above, its memory
(fill ~ N^{1.4} across the (z, mu, p) box) and factorisation time are the wall, while the plane
factors grow like N.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from numba import njit, prange

__all__ = ["PlaneStepSolver", "plane_step_factory", "choose_step_solver", "plane_coupling",
           "COUPLED_PLANES_MIN_UNKNOWNS", "GMRES_MAXITER", "LINEAR_RTOL_FACTOR"]

#: Two-way coupled planes: the plane-wise GMRES from this many unknowns on (measured in
#: scripts/bench_transient.py --coupled: the whole-matrix LU's factor memory and time grow faster than N).
COUPLED_PLANES_MIN_UNKNOWNS = 200_000
#: GMRES iterations per solve before the whole-matrix LU fallback (restarted every GMRES_RESTART).
GMRES_MAXITER = 90
GMRES_RESTART = 30
#: The linear residual target relative to the integrator's rtol (and to BALANCE_TOL).
LINEAR_RTOL_FACTOR = 1e-3


# --- kernels (plain arrays) -------------------------------------------------------------------
@njit(cache=True, inline="always")
def _plane_lu_solve(k, bs, Lp, Li, Lx, Up, Ui, Ux, pr, pc, r, x, y):
    """``x[k bs:(k+1) bs] = (Pr^T L U Pc^T)^{-1} r`` for plane k (``r``: the plane's right-hand
    side, length bs; ``y``: scratch of length bs).  L unit lower (diagonal last in its CSR row),
    U upper (diagonal first); row pointers global (plane k's rows at ``k bs``), columns local."""
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
        y[i] = s / Ux[q0]
    for i in range(bs):
        x[o + i] = y[pc[o + i]]


@njit(cache=True, parallel=True)
def planes_independent(nk, bs, Lp, Li, Lx, Up, Ui, Ux, pr, pc, rhs, x):
    """Block-diagonal solve: every plane on its own (planes in parallel)."""
    for k in prange(nk):
        y = np.empty(bs)
        _plane_lu_solve(k, bs, Lp, Li, Lx, Up, Ui, Ux, pr, pc, rhs[k * bs:(k + 1) * bs], x, y)


@njit(cache=True)
def planes_sweep(order, bs, Lp, Li, Lx, Up, Ui, Ux, pr, pc, Op, Oi, Ox, rhs, x):
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
        _plane_lu_solve(k, bs, Lp, Li, Lx, Up, Ui, Ux, pr, pc, r, x, y)


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
                 balance_tol: float = 1e-10):
        a = sp.csr_matrix(matrix)
        a.sum_duplicates()
        a.sort_indices()
        n = a.shape[0]
        if n % nk:
            raise ValueError(f"{n} unknowns do not split into {nk} planes")
        self.n, self.nk, self.bs = n, nk, n // nk
        self.coupling = coupling or plane_coupling(a, nk)
        self.tol = LINEAR_RTOL_FACTOR * min(rtol, balance_tol)
        self.iterations = 0  # GMRES iterations, all solves
        self.solves = 0
        self.fallbacks = 0
        self.max_residual = 0.0  # largest relative residual a GMRES solve ended with
        self._whole = None
        bs = self.bs
        rows = np.repeat(np.arange(n), np.diff(a.indptr))
        diag = (a.indices // bs) == (rows // bs)
        Lp, Up = np.zeros(n + 1, np.int64), np.zeros(n + 1, np.int64)
        Li, Lx, Ui, Ux, pr, pc = [], [], [], [], [], []
        for k in range(nk):
            lo, hi = k * bs, (k + 1) * bs
            s, e = int(a.indptr[lo]), int(a.indptr[hi])
            sel = diag[s:e]
            blk = sp.csc_matrix((a.data[s:e][sel], (rows[s:e][sel] - lo, a.indices[s:e][sel] - lo)), shape=(bs, bs))
            lu = spla.splu(blk, permc_spec="COLAMD")
            L, U = lu.L.tocsr(), lu.U.tocsr()
            pr.append(lu.perm_r.astype(np.int32))
            pc.append(lu.perm_c.astype(np.int32))
            del lu  # freed here, in the thread that made it (see fpsolve.solvers._FactorWorkers)
            for m_, p_, i_, x_, diag_at in ((L, Lp, Li, Lx, -1), (U, Up, Ui, Ux, 0)):
                m_.sort_indices()
                ends = m_.indptr[1:] - 1 if diag_at < 0 else m_.indptr[:-1]
                if not np.array_equal(m_.indices[ends], np.arange(bs)):
                    raise ValueError("LU factor without its diagonal (singular plane block)")
                p_[lo + 1:hi + 1] = p_[lo] + m_.indptr[1:]
                i_.append(m_.indices.astype(np.int32))
                x_.append(m_.data)
            del L, U
        self.factors = (Lp, np.concatenate(Li), np.concatenate(Lx), Up, np.concatenate(Ui), np.concatenate(Ux),
                        np.concatenate(pr), np.concatenate(pc))
        del Li, Lx, Ui, Ux
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
        a = self.matrix
        rnorm = float(np.sqrt(np.add.reduce(rhs * rhs)))
        if rnorm == 0.0:
            return np.zeros(self.n)
        x0 = self.sweep(rhs)
        eps = np.finfo(float).eps
        floor = 8 * eps * np.linalg.norm(self.abs_matrix @ np.abs(x0)) / rnorm
        tol = max(self.tol, 10.0 * floor)
        pre = spla.LinearOperator((self.n, self.n), matvec=self.sweep, dtype=float)
        count = [0]

        def record(_):
            count[0] += 1

        x, _code = spla.gmres(a, rhs, x0=x0, M=pre, rtol=tol, atol=0.0, restart=GMRES_RESTART,
                              maxiter=GMRES_MAXITER // GMRES_RESTART,
                              callback=record, callback_type="pr_norm")
        self.iterations += count[0]
        r = rhs - a @ x
        res = float(np.sqrt(np.add.reduce(r * r))) / rnorm
        if not res <= tol:
            if self._whole is None:
                self._whole = spla.splu(a.tocsc(), permc_spec="COLAMD")
            self.fallbacks += 1
            return self._whole.solve(rhs)
        self.max_residual = max(self.max_residual, res)
        return x


def plane_step_factory(nk: int, *, coupling: str | None = None, rtol: float = 1e-6, stats: list | None = None):
    """Factory for :class:`fpsolve.timestepping.TRBDF2`: ``matrix -> PlaneStepSolver`` (``stats``:
    a list the solvers are appended to, for the run's summary)."""

    def factory(matrix):
        s = PlaneStepSolver(matrix, nk, coupling=coupling, rtol=rtol)
        if stats is not None:
            stats.append(s)
        return s

    return factory


def choose_step_solver(A, nk: int, *, rtol: float = 1e-6, stats: list | None = None, force: str | None = None):
    """``(name, factory)`` of the step solve of a matrix with ``nk`` momentum planes:

    * one plane: ``"splu"`` (whole-matrix SuperLU);
    * planes uncoupled or coupled one way: ``"planes"`` (plane factors, exact);
    * planes coupled both ways: ``"planes-gmres"`` from ``COUPLED_PLANES_MIN_UNKNOWNS`` unknowns on,
      else ``"splu"``.

    ``force`` (``"splu"``, ``"planes"``, ``"planes-gmres"``) overrides the rule (tests, benchmarks)."""
    from .timestepping import splu_factory

    coupling = plane_coupling(A, nk) if nk > 1 else "none"
    if force is None:
        if nk <= 1:
            force = "splu"
        elif coupling != "two-way":
            force = "planes"
        else:
            force = "planes-gmres" if A.shape[0] >= COUPLED_PLANES_MIN_UNKNOWNS else "splu"
    if force == "splu":
        return "splu", splu_factory
    if force == "planes" and coupling == "two-way":
        raise ValueError("momentum planes coupled both ways: 'planes' is not exact; use 'planes-gmres'")
    return force, plane_step_factory(nk, coupling=coupling, rtol=rtol, stats=stats)
