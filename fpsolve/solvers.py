r"""Steady-state solvers for ``A f = b``; one interface, a registry, one result object.

Stopping test (all methods): a **forward-error estimate**, not the plain residual.  Every
method ends with iterative refinement ``f += S(r)``, where ``r = b - A f`` is computed in
compensated (double-double) arithmetic and ``S`` is the method's approximate inverse (LU of A,
the march's ``M/dtau + A``, the plane sweep, or preconditioned GMRES).  The size of a
correction, ``eta = ||S(r)||/||f||``, estimates the forward error of the iterate it corrects.
A run is converged when the last correction is below ``rtol`` and the corrections were
contracting (the last at most half the one before, or two successive corrections below
``rtol``).  Why not the residual: in the thick diffusion limit every row of A cancels flux
terms ~dz/lambda times larger than the net flux, so even the correctly rounded solution has a
residual of ``8 eps ||(|A| |f|)||`` (reported as ``roundoff_floor``, 3.7e-3 of ||b|| for the
slab at lambda = 1e-5, dz = 2000 lambda); a test relaxed to that floor accepted a pseudo-time
march 1% from the direct answer.  The forward-error test cannot be relaxed by round-off: it
asks the approximate inverse how far the iterate still is from the solution.

* ``direct`` — sparse LU of A (SuperLU, COLAMD ordering), then refinement.
* ``march`` — implicit pseudo-time march, backward Euler in correction form with the
  compensated residual: ``f_{n+1} = f_n + (M/dtau + A)^{-1} r_n``.  A target step grows by
  switched evolution relaxation (``x ||r_{n-1}||/||r_n||``, at least x2 and at most x10 per
  step; halved if the residual doubles); the step used is the target rounded down to a power of
  4, so the LU factorisation is reused while it stays constant.  The corrections are the
  forward-error estimate once ``dtau`` is large (then the step is a refinement step).
* Plane factors (sweep and Krylov): a momentum plane of a kinetic z problem is factorised by its
  upwind structure (:class:`UpwindPlaneLU`: each z cell eliminated locally, then a block-tridiagonal
  system of the ``nmu`` streaming traces per face), ~4x fewer operations than SuperLU's LU of the
  2-D (z, mu) pattern (B3 plane: 0.065-0.09 s CPU against SuperLU's 0.42-0.66 s); planes without that structure
  (periodic z, other layouts) take SuperLU.
* ``sweep`` — exact block solve when A couples a momentum plane only to the plane above it
  (eps = 0, continuous losses only): planes are solved from p_max down, each factorised once,
  refined with its own compensated residual while its factors are alive, and discarded (memory
  of ``SWEEP_WORKERS + 1`` (z, mu) planes' factors, whatever the grid: no second factorisation
  pass).  The next planes are factorised ahead in worker threads while the current one is
  refined; each factor is freed in the thread that made it (scipy's SuperLU never returns the
  memory of a factor freed in another thread: 0.4–0.55 GB lost on swk_point).  The plane row
  blocks are views of A, and the per-plane residuals and norms run on one thread (a threaded call on a
  12.8k-unknown plane waits tens of ms for the other core of a loaded machine: 42 s -> 9 s on
  swk_point at load 9).
* ``krylov`` — GMRES preconditioned by that plane sweep (exact (z, mu)-plane LU solves swept
  downward in p in the direction of the losses), as the inner solver of iterative refinement
  (GMRES-IR): each correction is solved to ``KRYLOV_INNER_RTOL`` of its residual, never to an
  absolute threshold below round-off.  ``max_steps`` is a budget of GMRES *iterations*
  (whole restart cycles of ``KRYLOV_RESTART``); a run over budget falls back to ``direct``
  when its estimated LU memory (:func:`estimated_direct_lu_gb`) fits the caller's
  ``memory_limit_gb`` (the case's ``[solver] memory_limit_gb`` in a run), else it is reported
  as not converged, ``info.fallback`` naming the estimate and the limit.
* ``auto`` — ``sweep`` if A is block upper-triangular in p; ``direct`` for a single momentum
  plane or a homogeneous problem (a 2-D (z, mu) or (mu, p) pattern: the LU fill is modest,
  819k unknowns of the slab take seconds) up to ``DIRECT_MAX_UNKNOWNS``; else ``krylov``
  (the whole-matrix LU of a p-coupled z problem fills badly: 61k unknowns of
  ``full_alfvenic`` take 19 s and 1.4 GB direct, 0.6 s and 0.26 GB Krylov).
"""
from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

__all__ = ["SolveInfo", "solve_steady", "METHODS", "NoSteadyState", "DIRECT_MAX_UNKNOWNS", "UpwindPlaneLU",
           "estimated_direct_lu_gb"]

#: Progress of long solves (``fpsolve -v``): factorisations, refinement steps, planes, GMRES iterations.
log = logging.getLogger(__name__)

#: Above this many unknowns ``auto`` prefers the Krylov path to a whole-matrix LU of a single
#: momentum plane or homogeneous problem (2-D patterns: measured 819k slab unknowns direct in
#: a few seconds; the limit keeps the LU of the largest 2-D problems within a few GB).
DIRECT_MAX_UNKNOWNS = 4_000_000
#: Corrections of refinement (all methods but the march, which refines as it marches).
REFINEMENT_STEPS = 6
#: Relative tolerance of each GMRES correction solve (GMRES-IR): three outer steps reach 1e-12.
KRYLOV_INNER_RTOL = 1e-6
KRYLOV_RESTART = 50
#: Threads that factorise planes (the sweep's look-ahead; the Krylov preconditioner's set-up).
SWEEP_WORKERS = min(2, os.cpu_count() or 1)
#: A correction below this many eps of ||f|| is at the round-off of the iterate itself.
ROUNDOFF_CORRECTION = 16


class NoSteadyState(ValueError):
    """The problem has no steady state (no escape and no losses).

    Raised by :func:`solve_steady` before any work (:func:`check_steady_state`): the sum of the
    mean rows of ``A f = b`` is ``sum of the channels(f) = injected``; when no term removes
    particles from the positive ``f = 1`` (every channel 0: periodic or mirror z ends, zero-flux
    p ends, no losses) the operator conserves particles, its columns sum to zero, ``A`` is
    singular and a non-zero injection cannot be balanced.  The LU does not see this (rounding
    leaves pivots ~eps instead of 0: measured, every method then ends "not converged" at
    corrections 0.3-0.6), hence the structural test.
    """


#: A channel total of f = 1 at or below this fraction of the mean rows' sum of |A| is zero:
#: closed problems give exactly 0 (measured); an open one loses at least one boundary cell's
#: |streaming| (or loss rate) out of the sum over all cells, >= 1e-8 of it for any grid that fits.
CLOSED_RTOL = 1e-13


def check_steady_state(problem):
    """Raise :class:`NoSteadyState` if ``problem`` (with ``leaving`` and ``layout``) removes no
    particles from ``f = 1`` while its source injects some."""
    leaving = getattr(problem, "leaving", None)
    layout = getattr(problem, "layout", None)
    if leaving is None or layout is None:
        return
    w = layout.mean_rows()
    injected = float(w @ problem.b)
    if injected == 0.0:
        return
    ones = np.ones(problem.A.shape[0])
    out = sum(leaving(ones).values())
    scale = float(w @ (abs(problem.A) @ ones))
    if abs(out) <= CLOSED_RTOL * scale:
        if out != 0.0:  # open, but numerically closed: the conserving terms dwarf what leaves
            raise NoSteadyState(f"no steady state to double precision: the particles leaving for f = 1 "
                                f"({out:.1e}) are {abs(out) / scale:.1e} of the operator's size ({scale:.1e}; "
                                f"below {CLOSED_RTOL:g} the solve cannot resolve them) while the source injects "
                                f"{injected:.6g}: a rate (e.g. pitch-angle scattering, mean_free_path far below "
                                f"the cell size) dwarfs escape and losses; allowed: rates within 1e13 of each other")
        raise NoSteadyState(f"no steady state: no term removes particles (escape {out:.1e} for f = 1: closed z "
                            f"ends, zero-flux p ends, no losses) while the source injects {injected:.6g}; "
                            f"allowed: an escape boundary, a zero-value p boundary or a loss term")


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
    corrections: list = field(default_factory=list)  # forward-error estimates ||df||/||f|| per step


@dataclass
class SolveInfo:
    """What the solver did: method, convergence, residual and correction histories, counters, timings."""

    method: str
    rtol: float
    converged: bool = False
    state: object = None  # MarchState after the last pseudo-time step (march only)
    residual: float = np.inf  # final ||b - A f|| / ||b||, compensated
    roundoff_floor: float = 0.0  # 8 eps ||(|A| |f|)|| / ||b||: no double vector does better (reported only)
    forward_error: float = np.inf  # the last correction ||df|| / ||f||
    residual_history: list = field(default_factory=list)
    corrections: list = field(default_factory=list)
    pseudo_time_steps: list = field(default_factory=list)
    iterations: int = 0
    factorizations: int = 0
    wall_s: float = 0.0
    message: str = ""
    fallback: str = ""


def roundoff_floor(A, f, bnorm):
    """``8 eps ||(|A| |f|)||_2 / ||b||_2``: the relative residual of round-off alone."""
    return float(8 * np.finfo(float).eps * np.linalg.norm(abs(A) @ np.abs(f)) / bnorm)


def accurate_residual(A, f, b):
    """``b - A f`` in compensated (double-double) arithmetic (numba kernel)."""
    from . import kernels

    A = sp.csr_matrix(A)
    out = np.empty_like(b)
    kernels.residual_compensated(A.indptr, A.indices, A.data, np.ascontiguousarray(f), b, out)
    return out


def _contracted(corrections, rtol) -> bool:
    """The forward-error test on the correction history (see the module docstring).

    Passed when the last correction is below ``rtol`` and the last or the one before it both
    is below ``rtol`` and halved its predecessor: a contraction that shows the approximate
    inverse is acting as an inverse (a pseudo-time step that is still small gives small
    corrections that grow with the step, never a halving), after which corrections may stagnate
    at the round-off of the iterate.  A correction below ``ROUNDOFF_CORRECTION`` eps passes.
    """
    if not corrections:
        return False
    c = corrections
    if c[-1] <= ROUNDOFF_CORRECTION * np.finfo(float).eps:
        return True
    if c[-1] > rtol:
        return False
    return any(c[j] <= rtol and c[j] <= 0.5 * c[j - 1] for j in (len(c) - 1, len(c) - 2) if j >= 1)


def problem_residual(problem):
    """The most accurate ``b - A f`` the problem offers: its own (e.g. flux-form) residual if it
    has one, else the compensated residual of the stored matrix."""
    own = getattr(problem, "accurate_residual", None)
    if own is not None:
        return own
    return lambda f: accurate_residual(problem.A, f, problem.b)


def refine(solve, residual, b, f, info, rtol, steps=REFINEMENT_STEPS, exhausted=None, patient=False):
    """Iterative refinement ``f += solve(residual(f))`` until the forward-error test holds, or
    ``steps`` corrections, or ``exhausted()``, or (unless ``patient``: an inexact inner solve
    may contract slowly) the corrections stop contracting."""
    bnorm = np.linalg.norm(b)
    for _ in range(steps):
        if exhausted is not None and exhausted():
            break
        r = residual(f)
        info.residual_history.append(float(np.linalg.norm(r) / bnorm))
        step = solve(r)
        f = f + step
        fn = np.linalg.norm(f)
        info.corrections.append(float(np.linalg.norm(step) / fn) if fn > 0 else 0.0)
        log.info("refinement step %d: residual before %.2e, forward-error estimate %.2e (rtol %.1e)",
                 len(info.corrections), info.residual_history[-1], info.corrections[-1], rtol)
        if _contracted(info.corrections, rtol):
            break
        if not patient and len(info.corrections) >= 2 and info.corrections[-1] > 0.5 * info.corrections[-2]:
            break  # not contracting: more steps buy nothing; the test reports it
    return f


def _lu(M):
    try:
        return spla.splu(sp.csc_matrix(M), permc_spec="COLAMD")
    except RuntimeError as err:  # SuperLU: "Factor is exactly singular"
        raise NumericalError(f"sparse LU failed: {err} (no steady state, or a zero row of the operator)") from None


#: Largest half-bandwidth of a z cell's block (in (pitch cell, DG mode) order) that the upwind plane
#: factorisation takes: DG-1 with nearest-neighbour pitch coupling has 3 (2x2 blocks, tridiagonal
#: in mu); a mirror z boundary (mu -> -mu inside the end cell) has ~2 nmu and goes to SuperLU.
UPWIND_BAND_MAX = 8
#: Largest |multiplier| allowed in the pivot-free LU of a z cell's block.  The cell blocks measured
#: (scattering + losses + outflow, every bundled case) are row diagonally dominant: multipliers
#: <= 1; a larger one means pivoting was needed and the plane goes to SuperLU instead.
UPWIND_GROWTH_MAX = 1e3
#: A z coupling's 2x2 block (fixed pitch cell) counts as rank one when its rank-one remainder is
#: below this many eps of its largest entry (the upwind trace times the test functions: exactly
#: rank one up to the rounding of the product, <= 2 eps measured).
UPWIND_RANK_TOL = 64


class UpwindPlaneLU:
    r"""Exact factorisation of one momentum plane of a kinetic z problem by its upwind structure.

    The plane (unknowns ``(i nmu + j) 2 + d``) is block tridiagonal in z: cell blocks ``D_i``
    (m = 2 nmu), banded in (j, d); the couplings ``A[i, i-1]`` (mu > 0 pitch cells) and
    ``A[i, i+1]`` (mu < 0) are, per pitch cell, the upwind trace of the neighbour (DG-1 streaming,
    paper Eq. (53)'s ``v mu d/dz``: ``a + b`` or ``a - b``, or ``a +- theta b`` in the positivity
    fix-up) times the test functions, a 2x2 block of rank one.  A face therefore carries
    ``nmu`` traces (the mu > 0 ones leaving cell i, the mu < 0 ones leaving cell i+1), not the
    ``2 nmu`` unknowns of a cell.  Each cell is eliminated locally (banded LU without pivoting;
    its block is diagonally dominant), leaving a block-tridiagonal system for the face traces with
    ``nmu x nmu`` blocks ``[[I, .], [., I]]``, solved by block Thomas through the ``nmu/2``-sized
    Schur complement of each block (:func:`fpsolve.kernels.upwind_plane_factor`).

    Cost, B3 plane (800 z x 64 mu, 102k unknowns; CPU s, scripts/BENCHMARKS.md): 0.065-0.09 s
    factor, 14 ms solve, 5.6M stored entries (45 MB), against SuperLU (COLAMD) 0.42-0.66 s, 21 ms,
    6.9M (83 MB): a sparse LU of a 2-D (z, mu) grid keeps the 2 nmu unknowns of its separators
    dense, here only the ``nmu`` traces of a face are.  The kernels release the GIL (the sweep
    factorises ahead in threads).
    :meth:`build` returns None when the plane does not have this structure (periodic or mirror
    z ends, a z coupling of rank two, a cell block needing pivots): the caller uses SuperLU.
    ``fill`` counts the stored factor entries (for the regression test against SuperLU's fill).
    """

    def __init__(self, args, perm=None):
        self._args = args
        self._perm = perm
        self.fill = int(sum(a.size for a in args if isinstance(a, np.ndarray) and a.dtype == float))
        self.shape = (args[0].shape[0] * args[0].shape[1],) * 2

    @classmethod
    def build(cls, M, nz, nmu):
        """The factor of plane ``M`` (``nz`` z cells, ``nmu`` pitch cells), or None (see the class
        docstring).  A mirror z end couples mu to -mu inside the end cell, far apart in the natural
        pitch order; the pitch cells are then taken folded (j, nmu-1-j, j+1, ...: mirror partners
        and mu neighbours within two cells) in every z cell."""
        from . import kernels

        M = sp.csr_matrix(M)
        if nz < 3 or M.shape[0] != 2 * nz * nmu:
            return None
        perm = None
        ok, kl, ku, band, low, up = kernels.upwind_plane_split(M.indptr, M.indices, M.data, nz, nmu, UPWIND_BAND_MAX)
        if not ok and kl + ku > 0:  # a wide cell block: try the folded pitch order
            j = np.arange(nmu)
            fold = np.stack([j[: (nmu + 1) // 2], j[::-1][: (nmu + 1) // 2]], axis=1).ravel()[:nmu]
            cells = (np.arange(nz)[:, None] * nmu + fold[None, :]).ravel()
            perm = (cells[:, None] * 2 + np.arange(2)).ravel()
            M = sp.csr_matrix(M[perm][:, perm])
            ok, kl, ku, band, low, up = kernels.upwind_plane_split(M.indptr, M.indices, M.data, nz, nmu,
                                                                   UPWIND_BAND_MAX)
        if not ok:
            return None
        tol = UPWIND_RANK_TOL * np.finfo(float).eps
        ok_lo, *lo = kernels.rank_one_blocks(low, tol)
        ok_hi, *hi = kernels.rank_one_blocks(up, tol)
        if not (ok_lo and ok_hi):
            return None
        growth, _small = kernels.band_factor(band, kl, ku)
        if not growth <= UPWIND_GROWTH_MAX:
            return None
        a12, tce, tae, kinv, x = kernels.upwind_plane_factor(band, kl, ku, *lo, *hi)
        if not (np.all(np.isfinite(kinv)) and np.all(np.isfinite(x))):
            return None
        return cls((band, kl, ku, *lo, *hi, a12, tce, tae, kinv, x), perm)

    def solve(self, rhs):
        from . import kernels

        rhs = np.asarray(rhs, dtype=float)
        if self._perm is None:
            return kernels.upwind_plane_solve(*self._args, np.ascontiguousarray(rhs))
        x = np.empty_like(rhs)
        x[self._perm] = kernels.upwind_plane_solve(*self._args, np.ascontiguousarray(rhs[self._perm]))
        return x


def _plane_factor(M, plane_shape=None):
    """The factor of a momentum plane ``M``: :class:`UpwindPlaneLU` when ``plane_shape = (nz, nmu)``
    is given and the plane has the upwind structure, else SuperLU (:func:`_lu`)."""
    if plane_shape is not None:
        f = UpwindPlaneLU.build(M, *plane_shape)
        if f is not None:
            return f
    return _lu(M)


def _plane_shape(problem):
    """``(nz, nmu)`` of the momentum planes of a kinetic z problem (lifted layout), else None."""
    layout = getattr(problem, "layout", None)
    g = problem.grid
    if layout is None or not getattr(layout, "lift", False) or g.homogeneous:
        return None
    return int(g.nz), int(g.nmu)


def _direct(problem, rtol, info, **_):
    A, b = problem.A, problem.b
    t0 = time.perf_counter()
    log.info("direct: sparse LU of %d unknowns (%d non-zeros) ...", A.shape[0], A.nnz)
    lu = _lu(A)
    info.factorizations += 1
    log.info("direct: LU done in %.2f s (%d non-zeros in L + U)", time.perf_counter() - t0, lu.L.nnz + lu.U.nnz)
    f = refine(lu.solve, problem_residual(problem), b, np.zeros_like(b), info, rtol)
    info.iterations = len(info.corrections)
    return f


def _march(problem, rtol, info, max_steps=200, state: MarchState | None = None, callback=None, **_):
    """Backward-Euler pseudo-time march in correction form (see the module docstring).

    ``state`` continues a previous march (checkpoint/restart): the result is the same, to the
    last bit, as that of the uninterrupted march.  ``callback(state)`` is called after every
    step (progress, checkpoints); it may return True to stop.
    """
    A, b, m = problem.A, problem.b, problem.mass
    bnorm = np.linalg.norm(b)
    if state is None:
        rate = np.abs(A.diagonal()) / m
        state = MarchState(np.zeros_like(b), 0, 1.0 / rate.max(), 1.0, 1.0, [], [], [])
    info.residual_history = list(state.residual_history)
    info.pseudo_time_steps = list(state.pseudo_time_steps)
    info.corrections = list(state.corrections)
    f, target, res, res_prev = state.f.copy(), state.target, state.res, state.res_prev
    step0 = state.step
    lu, lu_dtau = None, None
    residual = problem_residual(problem)
    for step in range(step0, step0 + max_steps):
        dtau = 4.0 ** np.floor(np.log(target) / np.log(4.0) + 1e-9)
        if lu_dtau != dtau:
            lu, lu_dtau = _lu(A + sp.diags(m / dtau)), dtau
            info.factorizations += 1
        r = residual(f)
        res_prev, res = res, float(np.linalg.norm(r) / bnorm)
        df = lu.solve(r)
        f = f + df
        check_finite(problem, f, f"pseudo-time step {step + 1}")
        fn = np.linalg.norm(f)
        info.residual_history.append(res)
        info.pseudo_time_steps.append(dtau)
        info.corrections.append(float(np.linalg.norm(df) / fn) if fn > 0 else 0.0)
        log.info("march step %d: dtau %.2e, residual %.2e, forward-error estimate %.2e", step + 1, dtau, res,
                 info.corrections[-1])
        # the correction estimates the forward error only once dtau dominates the slowest mode:
        # the contraction test (successive corrections halving) checks exactly that
        done = _contracted(info.corrections, rtol)
        if not done:
            # linear problem: backward Euler is stable at any step, so grow unless the residual
            # doubled (then halve: a sign of trouble worth slowing down for)
            ratio = res_prev / res if res > 0 else 10.0
            target *= 0.5 if ratio < 0.5 else min(10.0, max(2.0, ratio))
        info.state = MarchState(f, step + 1, target, res, res_prev, list(info.residual_history),
                                list(info.pseudo_time_steps), list(info.corrections))
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
    if sp.isspmatrix_csr(A) or isinstance(A, sp.csr_array):
        # fast path (no COO copy of a 40M-entry matrix): every row's smallest column is in or above
        # its own plane; if not, the exact test below decides (explicit zeros do not couple)
        full = np.flatnonzero(np.diff(A.indptr) > 0)
        if full.size == 0:
            return True
        low = np.minimum.reduceat(A.indices, A.indptr[full])
        if np.all(low >= (full // n) * n):
            return True
    coo = A.tocoo()
    below = (coo.col // n) < (coo.row // n)
    return not np.any(coo.data[below] != 0.0)


def _norm(v) -> float:
    """2-norm without BLAS threads (per-plane vectors: a threaded dot waits for a second core,
    tens of ms per call on a loaded machine, more than the work)."""
    return float(np.sqrt(np.add.reduce(v * v)))


def _row_block(A, lo, hi):
    """Rows ``lo:hi`` of a CSR matrix as a view sharing its data and indices (no copy of A)."""
    s, e = int(A.indptr[lo]), int(A.indptr[hi])
    block = sp.csr_matrix((hi - lo, A.shape[1]), dtype=A.dtype)
    # set directly: the constructor's format check "prunes" views of a larger array into copies
    block.data, block.indices, block.indptr = A.data[s:e], A.indices[s:e], (A.indptr[lo:hi + 1] - s).astype(
        A.indptr.dtype)
    return block


class _SingleThreaded:
    """numba kernels of this thread on one thread (the per-plane residuals are small: a parallel
    region costs a scheduling slice of the other core on a shared machine)."""

    def __enter__(self):
        import numba

        self._n = numba.get_num_threads()
        numba.set_num_threads(1)

    def __exit__(self, *exc):
        import numba

        numba.set_num_threads(self._n)


class _FactorWorkers:
    """Threads that factorise planes and free each factor in the thread that made it.

    SuperLU releases the GIL, so planes factorise in parallel (1.75x on the 2-core machine for
    16k-unknown planes).  But scipy's SuperLU (1.17) never returns the memory of a factor made in
    one thread and freed in another (measured: 5 MB per 12.8k-unknown plane, 0.4–0.55 GB for
    the 80 planes of swk_point), so each worker keeps the only lasting reference to its factors
    and drops it on ``free(k)`` (after the caller has dropped its own) or on ``close()``.
    """

    def __init__(self, make, workers):
        import queue
        import threading

        self._queue = queue.Queue
        self.make = make
        self.cmds = [queue.Queue() for _ in range(workers)]
        self.ready, self.owner = {}, {}
        self.threads = [threading.Thread(target=self._run, args=(c,), daemon=True) for c in self.cmds]
        for t in self.threads:
            t.start()
        self._next = 0

    def _run(self, cmds):
        held = {}
        while True:
            op, k, out = cmds.get()
            if op == "stop":
                held.clear()
                return
            if op == "make":
                try:
                    held[k] = self.make(k)
                    out.put(held[k])
                except BaseException as err:  # handed to the caller of get()
                    out.put(err)
            else:
                held.pop(k, None)

    def submit(self, k):
        w = self._next % len(self.cmds)
        self._next += 1
        self.ready[k], self.owner[k] = self._queue(1), w
        self.cmds[w].put(("make", k, self.ready[k]))

    def get(self, k):
        item = self.ready.pop(k).get()
        if isinstance(item, BaseException):
            raise item
        return item

    def free(self, k):
        self.cmds[self.owner.pop(k)].put(("free", k, None))

    def close(self):
        for c in self.cmds:
            c.put(("stop", None, None))
        for t in self.threads:
            t.join()


class PlaneSweep(spla.LinearOperator):
    """Block Gauss–Seidel sweep from p_max down: ``x_k = A_kk^{-1}(r_k - sum_{k'>k} A_{k,k'} x_{k'})``.

    Exact inverse when A is block upper-triangular in p; else a preconditioner.
    ``keep=False`` factorises each plane when needed and discards it (one sweep only).
    The row blocks of the planes are views of A (no second copy of the matrix).  Call
    :meth:`close` when done (frees the factors made in threads).
    """

    def __init__(self, A, nk, keep=True, workers=None, plane_shape=None):
        super().__init__(dtype=float, shape=A.shape)
        self.plane_shape = plane_shape
        self.A, self.nk, self.n = A.tocsr(), nk, A.shape[0] // nk
        n = self.n
        self.rows = [_row_block(self.A, k * n, (k + 1) * n) for k in range(nk)]
        self.keep = keep
        self.lus = {}
        self.factorizations = 0
        self.workers = workers or SWEEP_WORKERS
        self._pool = None

    def _plane_lu(self, k):
        n = self.n
        return _plane_factor(self.rows[k][:, k * n:(k + 1) * n], self.plane_shape)

    def prefactor(self, workers=None):
        """Factorise every plane up front, in parallel threads.  Only when the factors are kept."""
        if not self.keep:
            return
        self.close()
        self._pool = _FactorWorkers(self._plane_lu, workers or self.workers)
        for k in range(self.nk):
            self._pool.submit(k)
        self.lus = {k: self._pool.get(k) for k in range(self.nk)}
        self.factorizations += self.nk

    def close(self):
        """Drop the kept factors (in the threads that made them)."""
        self.lus = {}
        if self._pool is not None:
            self._pool.close()
            self._pool = None

    def _factor(self, k):
        lu = self.lus.get(k)
        if lu is None:
            lu = self._plane_lu(k)
            self.factorizations += 1
            if self.keep:
                self.lus[k] = lu
        return lu

    def _factors_downward(self):
        """``(k, LU of plane k)`` from p_max down; without ``keep`` the next ``workers`` planes
        are factorised ahead in threads while the caller uses the current one, and none is
        kept (at most ``workers + 1`` plane factors alive).  The caller drops its reference
        before asking for the next plane."""
        order = list(range(self.nk - 1, -1, -1))
        if self.keep or self.workers < 2 or self.nk < 2:
            for k in order:
                yield k, self._factor(k)
            return
        pool = _FactorWorkers(self._plane_lu, self.workers)
        try:
            for k in order[:self.workers]:
                pool.submit(k)
            for i, k in enumerate(order):
                if i + self.workers < len(order):
                    pool.submit(order[i + self.workers])
                lu = pool.get(k)
                self.factorizations += 1
                box = [lu]
                del lu
                yield k, box
                box.clear()  # the caller's reference is gone: the worker's is the last
                pool.free(k)
        finally:
            pool.close()

    def _matvec(self, r):
        r = np.asarray(r).ravel()
        x = np.zeros_like(r)
        n = self.n
        for k in range(self.nk - 1, -1, -1):
            # x is still zero on planes <= k, so the full row product is the sum over planes above
            rhs = r[k * n:(k + 1) * n] - self.rows[k] @ x
            x[k * n:(k + 1) * n] = self._factor(k).solve(rhs)
        return x

    def solve_refined(self, b, rtol, info, plane_residual=None):
        """Exact block back-substitution with each plane refined by ``plane_residual(k, x)`` (the problem's
        flux-form residual of plane k, if given) or else the compensated residual of its stored rows
        (over its whole rows, so the coupling to the planes above is included) while its factors
        are alive.  One factorisation per plane, none kept beyond its use unless ``keep``; the
        next planes are factorised in threads meanwhile."""
        x = np.zeros_like(b)
        n = self.n
        worst = []
        with _SingleThreaded():
            for k, lu in self._factors_downward():
                if isinstance(lu, list):  # a factor owned by a worker thread: see _factors_downward
                    lu = lu[0]
                sl = slice(k * n, (k + 1) * n)
                rows = self.rows[k]
                bk = b[sl]
                sub = SolveInfo(method="plane", rtol=rtol)
                for _ in range(REFINEMENT_STEPS):
                    rk = plane_residual(k, x) if plane_residual is not None else accurate_residual(rows, x, bk)
                    dx = lu.solve(rk)
                    x[sl] += dx
                    xn = _norm(x[sl])
                    sub.corrections.append(_norm(dx) / xn if xn > 0 else 0.0)
                    if len(sub.corrections) > 1 and _contracted(sub.corrections, rtol):
                        break
                    if len(sub.corrections) >= 3 and sub.corrections[-1] > 0.5 * sub.corrections[-2]:
                        break
                worst.append(sub.corrections)
                log.info("sweep: plane %d of %d done (p index %d), forward-error estimate %.2e",
                         len(worst), self.nk, k, sub.corrections[-1])
                del lu
        # report the plane whose last correction is largest
        info.corrections = max(worst, key=lambda c: c[-1]) if worst else []
        return x


def _sweep(problem, rtol, info, **_):
    nk, _ = _planes(problem)
    A, b = problem.A, problem.b
    if not block_triangular_in_p(A, nk):
        raise ValueError("method = 'sweep' needs a problem coupled only downward in p "
                         "(eps = 0, no momentum diffusion); allowed here: direct, march, krylov, auto")
    sweep = PlaneSweep(A, nk, keep=False, plane_shape=_plane_shape(problem))
    f = sweep.solve_refined(b, rtol, info, getattr(problem, "plane_residual", None))
    # the whole problem's residual of f goes into residual_history in solve_steady (computed once there)
    info.factorizations = sweep.factorizations
    info.iterations = len(info.corrections)
    return f


def _krylov(problem, rtol, info, max_steps=200, progress=None, **_):
    """GMRES-IR with the plane-sweep preconditioner; ``max_steps`` GMRES iterations in all."""
    nk, _ = _planes(problem)
    A, b = problem.A, problem.b
    pre = PlaneSweep(A, nk, keep=True, plane_shape=_plane_shape(problem))
    t0 = time.perf_counter()
    pre.prefactor()
    info.factorizations = pre.factorizations
    log.info("krylov: preconditioner of %d momentum planes factorised in %.2f s", nk, time.perf_counter() - t0)
    budget = [int(max_steps)]

    absA = abs(A)

    def inner(r):
        count = [0]

        def record(_):
            count[0] += 1

        # The residual GMRES can reach is bounded by the round-off of A x for the x it builds:
        # 8 eps ||(|A| |x|)|| (in the thick limit 1e-3 of ||r|| and more, where a 1e-6 target
        # would run the whole budget).  x is estimated by one preconditioner application (about
        # one iteration's cost); the tolerance is ten times that floor, at least KRYLOV_INNER_RTOL.
        # The outer refinement, with the compensated residual, then contracts by that factor per step.
        x_est = np.abs(pre.matvec(r))
        floor = 8 * np.finfo(float).eps * np.linalg.norm(absA @ x_est) / max(np.linalg.norm(r), 1e-300)
        tol = min(0.5, max(KRYLOV_INNER_RTOL, 10.0 * floor))
        cycles = max(1, -(-budget[0] // KRYLOV_RESTART))
        x, _code = spla.gmres(A, r, M=pre, rtol=tol, atol=0.0, restart=KRYLOV_RESTART,
                              maxiter=cycles, callback=record, callback_type="pr_norm")
        budget[0] -= count[0]
        info.iterations += count[0]
        log.info("krylov: GMRES %d iterations (inner rtol %.1e; %d in all, budget left %d)", count[0], tol,
                 info.iterations, max(budget[0], 0))
        if progress is not None:
            progress(info)
        return x

    try:
        return refine(inner, problem_residual(problem), b, np.zeros_like(b), info, rtol, steps=3 * REFINEMENT_STEPS,
                      exhausted=lambda: budget[0] <= 0, patient=True)
    finally:
        pre.close()


METHODS = {"direct": _direct, "march": _march, "sweep": _sweep, "krylov": _krylov}


def choose_method(problem) -> str:
    nk, _ = _planes(problem)
    if nk > 1 and block_triangular_in_p(problem.A, nk):
        return "sweep"
    if nk == 1 or problem.grid.homogeneous:
        return "direct" if problem.A.shape[0] <= DIRECT_MAX_UNKNOWNS else "krylov"
    return "krylov"


def estimated_direct_lu_gb(problem) -> float:
    """GB of a whole-matrix SuperLU of ``problem.A`` (14 bytes per L + U non-zero with SuperLU's work
    space), by the fill model of :meth:`fpsolve.case.Case.estimated_memory_gb` (direct branch):
    2-D patterns (one momentum plane, or homogeneous (mu, p)) 3.5 r^1.5 (w/64)^0.4 per unknown for
    r non-zeros per row and w unknowns across the short side; a p-coupled (z, mu, p) matrix twice
    the product of the two smallest of (2 nz, nmu, np) per unknown (0.75 times it when coupled
    one way in p).  From the matrix actually assembled (its r), before any factorisation."""
    A, g = problem.A, problem.grid
    n = A.shape[0]
    r = A.nnz / max(n, 1)
    nk = g.np_
    nz = 0 if g.homogeneous else g.nz
    if nk == 1 or g.homogeneous:
        w = 2.0 * min(g.nmu, nz) if not g.homogeneous else float(min(g.nmu, nk))
        fill = n * 3.5 * r ** 1.5 * max(w / 64.0, 0.25) ** 0.4
    else:
        a, b, _ = sorted((2.0 * max(nz, 1), float(g.nmu), float(nk)))
        fill = n * (0.75 if block_triangular_in_p(A, nk) else 2.0) * a * b
    return 14.0 * fill / 1e9


def solve_steady(problem, *, method: str = "auto", rtol: float = 1e-10, max_steps: int = 200,
                 state: MarchState | None = None, callback=None, fallback: bool = True,
                 memory_limit_gb: float | None = None):
    """Solve ``A f = b`` to a forward-error estimate ``<= rtol``; returns ``(f, SolveInfo)``.

    ``info.converged`` is False (and ``info.message`` says by how much it missed) when the
    test is not met; the caller decides what to do with such a result.  ``state`` and
    ``callback`` apply to the march (restart from a checkpoint; progress and checkpoints).
    A Krylov solve that exhausts its iteration budget falls back to ``direct`` (``fallback``),
    unless that LU's estimated memory (:func:`estimated_direct_lu_gb`) exceeds ``memory_limit_gb``:
    then the Krylov iterate is returned not converged and ``info.fallback`` says why.
    Raises :class:`NumericalError` if NaN or Inf appears, :class:`NoSteadyState` if no term
    removes particles while the source injects some (:func:`check_steady_state`).
    """
    if state is not None and method == "auto":
        method = "march"
    bad_rows = np.flatnonzero(~np.isfinite(np.add.reduceat(np.abs(problem.A.data), problem.A.indptr[:-1])
                                           if problem.A.nnz else np.zeros(0)))
    if bad_rows.size or not np.all(np.isfinite(problem.b)):
        first = int(bad_rows[0]) if bad_rows.size else int(np.flatnonzero(~np.isfinite(problem.b))[0])
        raise NumericalError(f"NaN/Inf in the {'operator A' if bad_rows.size else 'source b'} (assembly), first at "
                             f"{_locate(problem, first)}: check the coefficients and the source")
    check_steady_state(problem)
    if method == "auto":
        method = choose_method(problem)
        log.debug("method auto -> %s", method)
    if method not in METHODS:
        raise ValueError(f"method = {method!r} is not allowed; allowed: auto, {', '.join(METHODS)}")
    info = SolveInfo(method=method, rtol=rtol)
    t0 = time.perf_counter()
    f = METHODS[method](problem, rtol, info, max_steps=max_steps, state=state, callback=callback)
    check_finite(problem, f, f"the end of the {method} solve")
    failed = method == "krylov" and fallback and not _contracted(info.corrections, rtol)
    need = estimated_direct_lu_gb(problem) if failed and memory_limit_gb is not None else 0.0
    if failed and memory_limit_gb is not None and need > memory_limit_gb:
        missed = info.corrections[-1] if info.corrections else np.inf
        info.fallback = (f"krylov: {info.iterations} GMRES iterations, correction {missed:.1e} > rtol; direct "
                         f"fallback not tried: its LU needs an estimated {need:.2g} GB > memory_limit_gb = "
                         f"{memory_limit_gb:g}")
    elif failed:
        missed = info.corrections[-1] if info.corrections else np.inf
        info.fallback = (f"krylov: {info.iterations} GMRES iterations, correction {missed:.1e} > rtol; "
                         f"fell back to direct")
        log.warning("%s", info.fallback)
        iterations = info.iterations
        info.corrections, info.residual_history = [], []
        f = _direct(problem, rtol, info)
        info.method = "krylov->direct"
        info.iterations += iterations
    info.wall_s = time.perf_counter() - t0
    bnorm = np.linalg.norm(problem.b)
    r = problem_residual(problem)(f)
    info.residual = float(np.linalg.norm(r) / bnorm) if np.all(np.isfinite(r)) else np.inf
    if info.method == "sweep":  # the sweep refines plane by plane: its history is the final residual
        info.residual_history.append(info.residual)
    info.roundoff_floor = roundoff_floor(problem.A, f, bnorm) if np.isfinite(info.residual) else np.inf
    info.forward_error = info.corrections[-1] if info.corrections else np.inf
    info.converged = bool(np.isfinite(info.residual) and _contracted(info.corrections, rtol))
    tail = (f"forward-error estimate {info.forward_error:.1e} (last correction), residual "
            f"{info.residual:.1e} (round-off floor {info.roundoff_floor:.1e}); {info.method}")
    if info.converged:
        info.message = f"converged: {tail}; rtol {rtol:.1e}"
    else:
        stopped = info.method == "march" and len(info.pseudo_time_steps) >= max_steps
        trend = (" (stopped at max_steps = %d)" % max_steps if stopped else
                 " (corrections not contracting: the approximate inverse is too poor or the problem "
                 "too ill-conditioned)" if len(info.corrections) > 1 and info.corrections[-1] > 0.5 * info.corrections[-2]
                 else "")
        info.message = (f"not converged: {tail} > rtol = {rtol:.1e} after {info.iterations} iterations"
                        f"{trend}" + (f"; {info.fallback}" if info.fallback else ""))
    return f, info
