r"""Steady-state solvers for ``A f = b``; one interface, a registry, one result object.

Stopping test (all methods): ``||A f - b||_2 <= max(rtol * ||b||_2, 8 eps_mach ||(|A| |f|)||_2)``.

The second bound is the round-off floor: the residual of any double-precision vector,
even the exactly rounded solution, is of that size.  Diffusive problems cancel large
flux terms in every row (``||(|A||f|)|| / ||b||`` reaches 1e6 on the public slab case),
so the floor can exceed ``rtol ||b||`` for rtol = 1e-10; such a run is reported as
converged *at the round-off floor*, with both numbers in :class:`SolveInfo`.

* ``direct`` — sparse LU of A (SuperLU, COLAMD ordering) and up to 3 steps of iterative
  refinement.
* ``march`` — implicit pseudo-time march, backward Euler with the cell-volume mass M:
  ``(M/dtau + A) f_{n+1} = b + M f_n/dtau``.  A target step grows by switched evolution
  relaxation (``x ||r_{n-1}||/||r_n||``, at least x2 and at most x10 per step; halved if the
  residual doubles); the step used is the target rounded down to a power of 4, so the
  LU factorisation is reused while it stays constant.
* ``sweep`` — exact block solve when A couples a momentum plane only to the plane above it
  (eps = 0, continuous losses only): planes are solved from p_max down, each factorised once
  and discarded (memory of one (z, mu) plane).
* ``krylov`` — GMRES preconditioned by that plane sweep (exact (z, mu)-plane LU solves swept
  downward in p in the direction of the losses); for grids too large to factor whole.
* ``auto`` — ``sweep`` if A is block upper-triangular in p; ``direct`` for a single momentum
  plane, homogeneous problems or up to ``DIRECT_MAX_UNKNOWNS`` unknowns of a z problem with
  one plane; else ``krylov`` (the whole-matrix LU of a p-coupled z problem fills badly:
  61k unknowns of ``full_alfvenic`` take 19 s and 1.4 GB direct, 0.6 s and 0.26 GB Krylov).
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

__all__ = ["SolveInfo", "solve_steady", "METHODS", "NoSteadyState", "DIRECT_MAX_UNKNOWNS"]

#: Above this many unknowns ``auto`` prefers the Krylov path to a whole-matrix LU.
DIRECT_MAX_UNKNOWNS = 400_000
#: The plane sweep keeps its LU factors (for refinement) up to this many unknowns.
KEEP_FACTORS_MAX_UNKNOWNS = 4_000_000


class NoSteadyState(ValueError):
    """The problem has no steady state (no escape and no losses)."""


class NumericalError(RuntimeError):
    """NaN or Inf appeared in the solution; the message names the step and the first bad cell."""


def _locate(problem, index) -> str:
    """Human-readable (z, mu, p) of a flat unknown index."""
    g = problem.grid
    if g.homogeneous:
        k, j = np.unravel_index(index, g.shape)
        return f"mu = {g.mu[j]:.6g}, p = {g.p[k]:.6g}"
    k, i, j, d = np.unravel_index(index, g.shape)
    return f"z = {g.z[i]:.6g}, mu = {g.mu[j]:.6g}, p = {g.p[k]:.6g} ({'mean' if d == 0 else 'slope'})"


def check_finite(problem, f, where: str):
    """Raise :class:`NumericalError` naming ``where`` and the first non-finite cell."""
    bad = ~np.isfinite(f)
    if np.any(bad):
        first = int(np.flatnonzero(bad)[0])
        raise NumericalError(f"{'NaN' if np.isnan(f[first]) else 'Inf'} in the solution at {where}, first at "
                             f"{_locate(problem, first)} ({int(bad.sum())} of {f.size} unknowns non-finite)")


@dataclass
class MarchState:
    """Everything the pseudo-time march needs to continue exactly where it stopped."""

    f: np.ndarray
    step: int
    target: float
    res: float
    res_prev: float
    residual_history: list
    pseudo_time_steps: list


@dataclass
class SolveInfo:
    """What the solver did: method, convergence, residual history, counters and timings."""

    method: str
    rtol: float
    converged: bool = False
    state: object = None  # MarchState after the last pseudo-time step (march only)
    residual: float = np.inf  # final ||A f - b|| / ||b||
    roundoff_floor: float = 0.0  # 8 eps ||(|A| |f|)|| / ||b||: no double vector does better
    residual_history: list = field(default_factory=list)
    pseudo_time_steps: list = field(default_factory=list)
    iterations: int = 0
    factorizations: int = 0
    wall_s: float = 0.0
    message: str = ""


def _rel_residual(A, f, b, bnorm):
    return float(np.linalg.norm(A @ f - b) / bnorm)


def roundoff_floor(A, f, bnorm):
    """``8 eps ||(|A| |f|)||_2 / ||b||_2``: the relative residual of round-off alone."""
    return float(8 * np.finfo(float).eps * np.linalg.norm(abs(A) @ np.abs(f)) / bnorm)


def _done(res, rtol, floor):
    return res <= max(rtol, floor)


def accurate_residual(A, f, b):
    """``b - A f`` in compensated (double-double) arithmetic (numba kernel)."""
    from . import kernels

    A = sp.csr_matrix(A)
    out = np.empty_like(b)
    kernels.residual_compensated(A.indptr, A.indices, A.data, np.ascontiguousarray(f), b, out)
    return out


#: Refinement steps with the compensated residual after a direct/sweep solve.
REFINEMENT_STEPS = 3


def refine(solve, A, b, f, info):
    """Iterative refinement ``f += solve(b - A f)`` with the compensated residual.

    Converges to the correctly rounded solution when cond(A) eps < 1; the loss channels of the
    particle balance (sums of positive face fluxes) then close to round-off even where the
    plain residual cannot drop below its floor.
    """
    bnorm = np.linalg.norm(b)
    previous = np.inf
    for _ in range(REFINEMENT_STEPS):
        r = accurate_residual(A, f, b)
        res = float(np.linalg.norm(r) / bnorm)
        if res > 0.5 * previous:  # stagnated at the round-off level: a further step buys nothing
            break
        previous = res
        step = solve(r)
        f = f + step
        info.residual_history.append(res)
        if np.linalg.norm(step) <= 4 * np.finfo(float).eps * np.linalg.norm(f):
            break
    return f


def _lu(M):
    try:
        return spla.splu(sp.csc_matrix(M), permc_spec="COLAMD")
    except RuntimeError as err:  # SuperLU: "Factor is exactly singular"
        raise NumericalError(f"sparse LU failed: {err} (no steady state, or a zero row of the operator)") from None


def _direct(problem, rtol, info, **_):
    A, b = problem.A, problem.b
    bnorm = np.linalg.norm(b)
    lu = _lu(A)
    info.factorizations = 1
    f = lu.solve(b)
    info.residual_history.append(_rel_residual(A, f, b, bnorm))
    f = refine(lu.solve, A, b, f, info)
    info.iterations = len(info.residual_history)
    return f


def _march(problem, rtol, info, max_steps=200, state: MarchState | None = None, callback=None, **_):
    """Backward-Euler pseudo-time march (see module docstring).

    ``state`` continues a previous march (checkpoint/restart): the result is the same, to the
    last bit, as that of the uninterrupted march.  ``callback(state)`` is called after every
    step (progress, checkpoints); it may return True to stop.
    """
    A, b, m = problem.A, problem.b, problem.mass
    bnorm = np.linalg.norm(b)
    if state is None:
        rate = np.abs(A.diagonal()) / m
        state = MarchState(np.zeros_like(b), 0, 1.0 / rate.max(), 1.0, 1.0, [], [])
    info.residual_history = list(state.residual_history)
    info.pseudo_time_steps = list(state.pseudo_time_steps)
    f, target, res, res_prev = state.f.copy(), state.target, state.res, state.res_prev
    step0 = state.step
    lu, lu_dtau = None, None
    absA = abs(A)
    for step in range(step0, step0 + max_steps):
        dtau = 4.0 ** np.floor(np.log(target) / np.log(4.0) + 1e-9)
        if lu_dtau != dtau:
            lu, lu_dtau = _lu(A + sp.diags(m / dtau)), dtau
            info.factorizations += 1
        f = lu.solve(b + m * f / dtau)
        check_finite(problem, f, f"pseudo-time step {step + 1}")
        res_prev, res = res, _rel_residual(A, f, b, bnorm)
        info.residual_history.append(res)
        info.pseudo_time_steps.append(dtau)
        done = _done(res, rtol, float(8 * np.finfo(float).eps * np.linalg.norm(absA @ np.abs(f)) / bnorm))
        if not done:
            # linear problem: backward Euler is stable at any step, so grow unless the residual
            # doubled (then halve: a sign of trouble worth slowing down for)
            ratio = res_prev / res
            target *= 0.5 if ratio < 0.5 else min(10.0, max(2.0, ratio))
        info.state = MarchState(f, step + 1, target, res, res_prev, list(info.residual_history),
                                list(info.pseudo_time_steps))
        if callback is not None and callback(info.state):
            break
        if done:
            break
    info.iterations = len(info.residual_history)
    return f


def _planes(problem):
    """Row ranges of the momentum planes (p slowest in the unknown ordering)."""
    nk = problem.grid.np_
    n = problem.A.shape[0] // nk
    return nk, n


def block_triangular_in_p(A, nk) -> bool:
    """True if no row couples to a plane below its own (A_{k,k-1} = 0): one downward sweep is exact."""
    n = A.shape[0] // nk
    coo = A.tocoo()
    below = (coo.col // n) < (coo.row // n)
    return not np.any(coo.data[below] != 0.0)


class PlaneSweep(spla.LinearOperator):
    """Block Gauss–Seidel sweep from p_max down: ``x_k = A_kk^{-1}(r_k - sum_{k'>k} A_{k,k'} x_{k'})``.

    Exact inverse when A is block upper-triangular in p; else a preconditioner.
    ``keep=False`` factorises each plane when needed and discards it (one sweep only).
    """

    def __init__(self, A, nk, keep=True):
        super().__init__(dtype=float, shape=A.shape)
        self.A, self.nk, self.n = A.tocsr(), nk, A.shape[0] // nk
        n = self.n
        self.rows = [self.A[k * n:(k + 1) * n] for k in range(nk)]  # row slices: cheap, made once
        self.keep = keep
        self.lus = {}
        self.factorizations = 0

    def prefactor(self, workers=None):
        """Factorise every plane up front, in parallel threads (SuperLU releases the GIL:
        1.75x on the 2-core machine for 16k-unknown planes).  Only when the factors are kept."""
        if not self.keep:
            return
        from concurrent.futures import ThreadPoolExecutor

        n = self.n
        workers = workers or min(4, os.cpu_count() or 1)
        with ThreadPoolExecutor(workers) as pool:
            lus = list(pool.map(lambda k: _lu(self.rows[k][:, k * n:(k + 1) * n]), range(self.nk)))
        self.lus = dict(enumerate(lus))
        self.factorizations += self.nk

    def _solve_plane(self, k, rhs):
        lu = self.lus.get(k)
        if lu is None:
            n = self.n
            lu = _lu(self.rows[k][:, k * n:(k + 1) * n])
            self.factorizations += 1
            if self.keep:
                self.lus[k] = lu
        return lu.solve(rhs)

    def _matvec(self, r):
        r = np.asarray(r).ravel()
        x = np.zeros_like(r)
        n = self.n
        for k in range(self.nk - 1, -1, -1):
            # x is still zero on planes <= k, so the full row product is the sum over planes above
            rhs = r[k * n:(k + 1) * n] - self.rows[k] @ x
            x[k * n:(k + 1) * n] = self._solve_plane(k, rhs)
        return x


def _sweep(problem, rtol, info, **_):
    nk, _ = _planes(problem)
    A, b = problem.A, problem.b
    if not block_triangular_in_p(A, nk):
        raise ValueError("method = 'sweep' needs a problem coupled only downward in p "
                         "(eps = 0, no momentum diffusion); allowed here: direct, march, krylov, auto")
    # keep the plane factors for refinement unless the planes are large (then re-factor)
    sweep = PlaneSweep(A, nk, keep=A.shape[0] <= KEEP_FACTORS_MAX_UNKNOWNS)
    sweep.prefactor()
    f = sweep.matvec(b)
    info.residual_history.append(_rel_residual(A, f, b, np.linalg.norm(b)))
    f = refine(sweep.matvec, A, b, f, info)
    info.factorizations = sweep.factorizations
    info.iterations = len(info.residual_history)
    return f


def _krylov(problem, rtol, info, max_steps=200, **_):
    nk, _ = _planes(problem)
    A, b = problem.A, problem.b
    bnorm = np.linalg.norm(b)
    pre = PlaneSweep(A, nk, keep=True)
    pre.prefactor()

    def record(_):
        info.iterations += 1

    f, _code = spla.gmres(A, b, M=pre, rtol=rtol, atol=0.0, restart=50, maxiter=max_steps,
                          callback=record, callback_type="pr_norm")
    info.factorizations = pre.factorizations
    info.residual_history.append(_rel_residual(A, f, b, bnorm))
    return f


METHODS = {"direct": _direct, "march": _march, "sweep": _sweep, "krylov": _krylov}


def choose_method(problem) -> str:
    nk, _ = _planes(problem)
    if nk > 1 and block_triangular_in_p(problem.A, nk):
        return "sweep"
    if nk == 1 or problem.grid.homogeneous:
        return "direct" if problem.A.shape[0] <= DIRECT_MAX_UNKNOWNS else "krylov"
    return "krylov"


def solve_steady(problem, *, method: str = "auto", rtol: float = 1e-10, max_steps: int = 200,
                 state: MarchState | None = None, callback=None):
    """Solve ``A f = b`` to ``||A f - b||_2 <= max(rtol ||b||_2, round-off floor)``; returns ``(f, SolveInfo)``.

    ``info.converged`` is False (and ``info.message`` says by how much it missed) when the
    stopping test is not met; the caller decides what to do with such a result.  ``state`` and
    ``callback`` apply to the march (restart from a checkpoint; progress and checkpoints).
    Raises :class:`NumericalError` if NaN or Inf appears.
    """
    if state is not None and method == "auto":
        method = "march"
    bad_rows = np.flatnonzero(~np.isfinite(np.add.reduceat(np.abs(problem.A.data), problem.A.indptr[:-1])
                                           if problem.A.nnz else np.zeros(0)))
    if bad_rows.size or not np.all(np.isfinite(problem.b)):
        first = int(bad_rows[0]) if bad_rows.size else int(np.flatnonzero(~np.isfinite(problem.b))[0])
        raise NumericalError(f"NaN/Inf in the {'operator A' if bad_rows.size else 'source b'} (assembly), first at "
                             f"{_locate(problem, first)}: check the coefficients and the source")
    if method == "auto":
        method = choose_method(problem)
    if method not in METHODS:
        raise ValueError(f"method = {method!r} is not allowed; allowed: auto, {', '.join(METHODS)}")
    info = SolveInfo(method=method, rtol=rtol)
    t0 = time.perf_counter()
    f = METHODS[method](problem, rtol, info, max_steps=max_steps, state=state, callback=callback)
    check_finite(problem, f, f"the end of the {method} solve")
    info.wall_s = time.perf_counter() - t0
    bnorm = np.linalg.norm(problem.b)
    info.residual = _rel_residual(problem.A, f, problem.b, bnorm) if np.all(np.isfinite(f)) else np.inf
    info.roundoff_floor = roundoff_floor(problem.A, f, bnorm) if np.isfinite(info.residual) else np.inf
    info.converged = bool(np.isfinite(info.residual) and _done(info.residual, rtol, info.roundoff_floor))
    if not info.converged and not info.message:
        info.message = (f"not converged: ||A f - b||/||b|| = {info.residual:.3e} > rtol = {rtol:.1e} "
                        f"(round-off floor {info.roundoff_floor:.1e}) after {info.iterations} iterations ({method})")
    elif info.converged and info.residual <= rtol:
        info.message = f"converged: ||A f - b||/||b|| = {info.residual:.3e} <= rtol = {rtol:.1e} ({method})"
    elif info.converged:
        info.message = (f"converged at the round-off floor: ||A f - b||/||b|| = {info.residual:.3e} <= "
                        f"8 eps |||A||f|||/||b|| = {info.roundoff_floor:.3e} (rtol {rtol:.1e}; {method})")
    return f, info
