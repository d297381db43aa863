r"""Physical-time runs: case -> problem -> TR-BDF2 -> :class:`TimeSeriesResult`.

The semi-discrete equation is the steady operator with the mass of the cells,

.. math::  M\,\frac{df}{dt} + A f = a(t)\, b ,

(the time-dependent form of Eq. 3 integrated over each cell; :mod:`fpsolve.problem` gives
``A``, ``b`` and ``M``, :mod:`fpsolve.timestepping` integrates it).  ``a(t)`` is the source's time
profile (``[time] profile``: constant, switch on/off, table, Python function; ``burst``: ``a = 0``
and the burst is the initial state ``f(0) = M^{-1} b`` — the source's spatial shape and spectrum,
isotropic in mu, holding exactly the number the source injects per unit time, with the exact
first z moment of a point source).  ``[time] scattering = false`` drops the pitch-angle/momentum
diffusion term (free streaming; a validation mode only — D_mumu = 0 is refused elsewhere).

What is stored (the choice, and why).  At every output time: ``F(z, p, t)`` (Eq. 5; small:
``nz x np`` per output) and the moments of each momentum plane (``N``, ``<z>``, ``<z^2>``,
``<z mu>``, ``<mu>``, ``<mu^2>``; integrals of the DG representation ``f = a + b xi`` over each z
cell, with the mu-cell centres as weights — the discrete mu operator maps ``mu_c`` to
``-2D mu_c`` exactly, see :mod:`validation.transient`); ``f`` itself (cell means and slopes) only
while all outputs together fit in ``[time] store_f_mb`` (default 256 MB), else only F and the
probes — a 1M-unknown run with 100 outputs would need 800 MB.  At every probe (z, p):
``F``, the kinetic ``g(mu)/F`` and the diffusion-approximation ``g_DA(mu)/F`` (Eq. 7 with the
numerical gradients of the kinetic F — :func:`fpsolve.probes.evaluate_probes`), the maximum
anisotropy ``delta`` (Eq. 11, signed, from the mu-end extrapolation as in
:func:`fpsolve.result.compute_fields`) of both, and the streaming amplitude (least-squares
coefficient of the Eq. 38 shape over F'/F) with Eq. (38).

Positivity.  DG-1 streaming has no limiter, and a light front that a z cell does not resolve (f
jumping from O(1) to 0 within a cell) makes it undershoot; the remedy that keeps the accuracy is
resolution, and the trust rule below says when it is missing.  Measured on the README's quick runs:
``burst_hard_sphere`` on 60 z cells over [-0.3, 0.3] (dz = sigma) reached cell means of -3.8e-4 max f
and a kinetic delta of 1.015 at the probe (flagged); on 240 cells -6.8e-15, trustworthy, 2116 steps
instead of 4068; ``nearby_source_burst`` on 150 z cells -7.9e-4 (flagged), on 500 cells -3.4e-15,
trustworthy, 3 s.  Two opt-in repairs exist, neither a source of trust:

* ``[time] positivity_limiter`` (:func:`fpsolve.kernels.positivity_redistribute`): after every
  accepted step, negative cell means are set to zero and their deficit is taken from the positive
  pitch cells of the same z cell (F of the cell unchanged), or, where F itself is negative, from the
  nearest z cells with positive content (the window grows until they cover it) — conservative to
  round-off in every momentum plane, so the particle balance is untouched; every output's cell means
  are >= 0 (F >= 0, |delta| <= 1; the DG-1 traces can still undershoot, as min f reports).  The functionals are integrated with
  the step's own stages, and the next step's error test asks no accuracy below the change the
  limiter made (:func:`fpsolve.timestepping.integrate`).  Measured: the burst in the public slab on
  50 z cells (dz = 4 lambda, dt = 1/32), against 400 cells (F(0, t = 1) = 0.009387, delta = -0.32277):
  limited F 0.010611 (+13%), delta -0.32286 (3e-4); plain F 0.009900 (+5.5%), delta -0.33662 (4.3%);
  the fix-up below F 0.0355 (3.8 x).  The limiter keeps the diffusion limit (no first-order
  transport), but the front stays unresolved.  Each step's fresh undershoot is small once
  the previous one is removed, so with the limiter the steady rule no longer sees an unresolved
  front (quick nearby_source_burst: 0 flagged cells limited, 48 plain, early-time F at the Sun 1e3 x
  the resolved value either way).  A limited run is therefore vouched for only if the limiter
  changed no mean by more than round-off and the step's error tolerance (``step_limiter_beyond_tol``,
  :attr:`~fpsolve.timeseries.TimeSeriesResult.limiter_acted`).  It costs steps where it acts: the
  clipped states relax on the scattering time, which the error control follows (quick
  nearby_source_burst 197 -> 3341 steps, 3 -> 37 s).
* ``[time] positivity_fixup`` (the steady run's fix-up, per step; first order where it acts).
  Measured against refinement, it is not an accuracy-preserving limiter: the same 50-cell burst
  gives F = 0.0355, 0.0260, 0.0123 at dt = 1/32, 1/128 and adaptive steps -- first-order upwind in
  thick cells (dz > lambda) adds a numerical diffusion that loses the diffusion limit.  A run in
  which it switched cells is positive but flagged (:attr:`fpsolve.timeseries.TimeSeriesResult.trustworthy`).
  As in steady runs (:mod:`fpsolve.terms.streaming`,
  :func:`~fpsolve.terms.streaming.positive_solution`) cells are *stepped* (transported by their
  mean: first-order upwind, an M-matrix row), detected a posteriori (as MOOD schemes do): every step
  that passed the error test is inspected, the (p, z, mu) cells whose mean is below
  ``-(1e-13 max f + atol)`` (round-off and the step's error tolerance) are switched, and the step is
  recomputed from the same state with the new operator (:func:`fpsolve.timestepping.integrate`'s
  ``fixup``).  A switched cell that is still negative grows the set to its upwind z neighbour and
  its mu neighbours (the cells feeding it).  Within a step the set only grows (a step is recomputed
  finitely often); a switched cell is released (DG-1 from the next step) once both its DG-1 traces
  are >= 0 and its mean exceeds ``RELEASE_TOL`` max f.  The set is kept in checkpoints and written
  to the file (``stepped``; per step ``step_stepped``).  The fix-up is nonlinear, so the exact
  discrete moment hierarchy of plain DG-1 (``d<z>/dt = v<mu>``; validation/transient.py) no longer
  holds in switched cells (on a burst narrower than two cells <z^2> moved by up to 24%).

The moment and order studies run with both off (they measure the time integration of the linear
scheme).

Trust (as the steady run's :func:`fpsolve.result.negative_cells`): at every accepted step the cell
means below minus their discretisation-error estimate (|slope| and a quarter of the neighbour
differences) minus the step's absolute error tolerance (``atol`` x max f) are counted
(``step_negative_cells``); a run with any is flagged NOT TRUSTWORTHY.  Negative traces with a
non-negative mean are the representation's own error (reported as min f, never flagged).

Per accepted step: ``t``, ``dt``, the error estimate, min and max f (what the scheme transports:
cell means and outflow traces), the smallest cell mean, the flagged cell count, the number of
switched cells, the particle content ``N = 1_mean^T M f`` and the time-integrated
balance ``N(0) + int injected - int (escaped + lost) - N(t)``.  The integrals are the integrator's
stage-weighted integrals of the linear functionals ``injected = 1_mean^T b(t)`` and the terms'
channels (:meth:`fpsolve.problem.Problem.leaving`); since ``1_mean^T A f = sum of the channels``
for every f, the defect is round-off plus the linear solves' residual at every step size.

Files: :func:`write_timeseries` (the description of :mod:`fpsolve.timeseries`, written atomically),
:func:`write_time_checkpoint` / :func:`read_time_checkpoint` (a :class:`~fpsolve.timestepping.TimeState`
plus the outputs collected so far: a continued run equals the uninterrupted one bit for bit) and
:func:`run_cli` (``fpsolve run`` of a case with ``[time]``).
"""
from __future__ import annotations

import logging
import resource
import sys
import time as _time
from pathlib import Path

import numpy as np

from ._version import __version__
from .build import build_grid, build_physics
from .case import Case, CaseError
from .io import FileFormatError, _atomic, _open_valid, _write_description
from .problem import Problem, kinetic_layout, kinetic_terms
from .probes import evaluate_probes
from .result import end_values, compute_fields, negative_cells
from .terms import CHANNELS, MuPDiffusion, SourceTerm, Streaming
from .timeseries import BALANCE_TOL, NEGATIVE_TOL, ProbeSeries, TimeSeriesResult, describe_timeseries
from .timestepping import TRBDF2, TimeState, integrate

__all__ = ["TimeSeriesResult", "ProbeSeries", "build_transient", "run_transient", "initial_state", "write_timeseries",
           "write_time_checkpoint", "read_time_checkpoint", "run_cli", "NEGATIVE_TOL",
           "output_times", "plane_moments", "probe_delta", "transported_range", "plane_factory", "choose_factory",
           "BALANCE_TOL", "RELEASE_TOL", "PROBE_RESOLVED"]

#: A switched cell is released (DG-1 again from the next step) when both its DG-1 traces are >= 0
#: and its mean is above ``RELEASE_TOL * max f`` (module docstring, Positivity).
RELEASE_TOL = 1e-6

#: The probes' ratios (g/F, g_DA/F, delta, delta_DA, the streaming amplitude) are recorded only where
#: the probe's F exceeds this many times the step's absolute error tolerance (``atol x max f``):
#: below ``atol`` an entry is controlled only absolutely, so a ratio's error allowed per step is
#: ``atol/F`` (<= 1% here).  Below it they are NaN (F itself is kept).  Measured: the probe ahead of
#: the quick hard-sphere burst had F = -1.4e-16 (round-off; max f 38, atol 3.4e-13) and a "delta" of
#: 1.014; nearby_source_burst's 1 PeV probe at 3000 yr (F = 360 atol) has delta -0.1806 on the full
#: grid and -0.1829 on the quick one (1.3%).
PROBE_RESOLVED = 1e2

# --- building ---------------------------------------------------------------------------------
def build_transient(case: Case):
    """``(problem, grid, physics)`` of a physical-time run (``scattering = false``: no
    pitch-angle/momentum diffusion term)."""
    grid = build_grid(case)
    physics = build_physics(case)
    terms = kinetic_terms(grid, physics)
    if not case.transient.scattering:
        terms = [t for t in terms if not isinstance(t, MuPDiffusion)]
    b = SourceTerm(physics.source).kinetic_vector(grid)
    return Problem.from_terms(kinetic_layout(grid), terms, b, physics), grid, physics


def initial_state(case: Case, problem: Problem) -> np.ndarray:
    """``f(0)``: zero, the burst ``M^{-1} b`` (isotropic; its L2 projection on the DG-1 z
    representation, number exact), and/or a steady result file on the same grid."""
    tm = case.transient
    y = np.zeros(problem.layout.size)
    if tm.initial.startswith("steady:"):
        from .io import read_result

        path = case.initial_path()
        r = read_result(path)
        if getattr(r, "kind", "") == "timeseries":
            raise CaseError(f"{case.origin}: [time] initial = {tm.initial!r}: {path} is a physical-time series; "
                            f"allowed: a steady result file (fpsolve run of the case without [time], or fpsolve.solve)")
        g = problem.grid
        same = r.grid.shape == g.shape and all(np.allclose(getattr(r.grid, n), getattr(g, n), rtol=1e-12, atol=0)
                                               for n in ("mu_edges", "p_edges") + (() if g.homogeneous else ("z_edges",)))
        if not same:
            raise CaseError(f"{case.origin}: [time] initial = {tm.initial!r}: the file's grid {r.grid.shape} differs "
                            f"from the case's {g.shape}; allowed: a result on the same grid")
        y = y + np.asarray(r.f, dtype=float).ravel()
    if tm.initial == "burst" or tm.profile == "burst":
        y = y + problem.b / problem.mass
    return y


def output_times(case: Case) -> np.ndarray:
    """Output times in code units: ``output_times``, a cadence, or 20 log-spaced times in
    [end/1000, end]; the end is always one."""
    tm = case.transient
    end = float(case.time(tm.end))
    if tm.output_times is not None:
        ts = np.array([float(case.time(t)) for t in tm.output_times])
    elif tm.output_cadence is not None:
        dt = float(case.time(tm.output_cadence))
        ts = dt * np.arange(1, int(np.floor(end / dt * (1 + 1e-12))) + 1)
    else:
        ts = np.geomspace(end * 1e-3, end, 20)
    ts = np.unique(np.append(np.minimum(ts, end), end))
    return ts


def transported_range(grid, y, stepped=None) -> tuple[float, float]:
    """(min, max) of what the scheme transports: cell means and outflow traces (as
    :func:`fpsolve.result.min_f`; a stepped cell transports its mean)."""
    if grid.homogeneous:
        return float(y.min()), float(y.max())
    f = y.reshape(grid.shape)
    if stepped is None:  # one pass (numba): this is asked at every step
        from .kernels import dg_ranges

        amin, amax, tmin, tmax, _ = dg_ranges(f, np.ascontiguousarray(grid.mu > 0))
        return float(min(amin, tmin)), float(max(amax, tmax))
    a, b = f[..., 0], np.where(stepped, 0.0, f[..., 1])  # the fix-up's stepped cells transport their mean
    out = np.where(grid.mu > 0, a + b, a - b)
    return float(min(a.min(), out.min())), float(max(a.max(), out.max()))


def plane_moments(grid, f) -> dict:
    r"""Moments of each momentum plane of the DG representation: ``N``, ``<z>``, ``<z^2>``,
    ``<z mu>``, ``<mu>``, ``<mu^2>`` with ``<X> = N^{-1} int dz sum_j dmu_j/2 X f`` (Eq. 5's mu
    quadrature; ``mu`` = the cell centres).  Exact integrals of ``f = a + b xi`` over each z cell:
    ``int z f = h (a z_c + b h/6)``, ``int z^2 f = h [a (z_c^2 + h^2/12) + b z_c h/3]``."""
    f = np.asarray(f).reshape(grid.shape)
    w0 = 0.5 * grid.dmu
    w1 = w0 * grid.mu
    w2 = w1 * grid.mu
    if grid.homogeneous:
        n = f @ w0
        return {"N": n, "z": np.zeros_like(n), "z2": np.zeros_like(n), "zmu": np.zeros_like(n),
                "mu": (f @ w1) / n, "mu2": (f @ w2) / n}
    a, b = f[..., 0], f[..., 1]
    h, zc = grid.dz[None, :, None], grid.z[None, :, None]
    i0 = h * a
    i1 = h * (a * zc + b * h / 6.0)
    i2 = h * (a * (zc**2 + h**2 / 12.0) + b * zc * h / 3.0)
    n = np.einsum("kij,j->k", i0, w0)
    return {"N": n, "z": np.einsum("kij,j->k", i1, w0) / n, "z2": np.einsum("kij,j->k", i2, w0) / n,
            "zmu": np.einsum("kij,j->k", i1, w1) / n, "mu": np.einsum("kij,j->k", i0, w1) / n,
            "mu2": np.einsum("kij,j->k", i0, w2) / n}


def probe_delta(g_over_F, mu) -> float:
    """Eq. (11), signed: ``(f(1) - f(-1))/(f(1) + f(-1))`` of ``f/F = 1 + g/F`` extrapolated to mu = +-1."""
    lo, hi = end_values(1.0 + np.asarray(g_over_F), mu)
    return float((hi - lo) / (hi + lo))


# --- the linear solver of a step ---------------------------------------------------------------
def plane_factory(nplanes: int, rtol: float = 1e-6):
    """Factory of ``M + d h A`` (for :class:`~fpsolve.timestepping.TRBDF2`) by momentum planes
    (contiguous blocks: momentum is the slowest index): LU factors of the plane-diagonal blocks
    only, exact block substitution when the planes couple one way or not at all, GMRES
    preconditioned by a plane sweep when they couple both ways (:mod:`fpsolve.plane_lu`)."""
    from .plane_lu import plane_step_factory

    return plane_step_factory(nplanes, rtol=rtol)


def choose_factory(problem: Problem, rtol: float = 1e-6, stats: dict | None = None):
    """``(name, factory)`` of the step solve (:func:`fpsolve.plane_lu.choose_step_solver`):
    ``"planes"`` (uncoupled or one-way coupled momentum planes), ``"planes-gmres"`` (coupled both
    ways, large), else ``"splu"`` (whole-matrix SuperLU)."""
    from .plane_lu import choose_step_solver

    from .solvers import _plane_shape

    return choose_step_solver(problem.A, problem.grid.np_, rtol=rtol, stats=stats, plane_shape=_plane_shape(problem))


# --- the run ----------------------------------------------------------------------------------
class _PlainDp(logging.Filter):
    """Collects :func:`fpsolve.result.log_gradient`'s "plain differences in p" warnings of the outputs
    of a time run (F = 0 ahead of a front is expected there, at every output) into one line at the
    end, with the first output time in the case's unit."""

    def __init__(self):
        super().__init__()
        self.t = 0.0
        self.hits = []  # the output times (code units) that fell back

    def filter(self, record):
        if record.getMessage().startswith("dF/dp:"):
            self.hits.append(self.t)
            return False
        return True

    def attach(self):
        logging.getLogger("fpsolve.result").addFilter(self)

    def detach(self):
        logging.getLogger("fpsolve.result").removeFilter(self)

    def report(self, case, n_out):
        if not self.hits:
            return
        unit, per = case.time_unit()
        when = f"t = {self.hits[0] / per:.4g} {unit}"
        logging.getLogger(__name__).warning(
            "dF/dp: F <= 0 in the log-space stencil at %d of %d outputs (F = 0 ahead of a front; the first at "
            "%s): plain differences in p used there", len(self.hits), n_out, when)


class _Collector:
    """The outputs of a run so far (plain lists; a checkpoint stores them)."""

    def __init__(self, data=None):
        self.data = data if data is not None else {}

    def add(self, key, value):
        self.data.setdefault(key, []).append(np.asarray(value, dtype=float))


def _options(case: Case, scale: float, factory) -> TRBDF2:
    tm = case.transient

    def t(x):
        return None if x is None else float(case.time(x))

    return TRBDF2(rtol=tm.rtol, atol=tm.atol * scale, first_step=t(tm.first_step), max_step=float(case.time(tm.max_step)),
                  fixed_step=t(tm.fixed_step), positivity_tol=tm.positivity_tol, factory=factory)


def run_transient(case: Case, *, restart=None, callback=None) -> TimeSeriesResult:
    """Integrate a case with ``[time]`` to its end; returns a :class:`TimeSeriesResult`.

    ``restart``: ``(TimeState, collected outputs)`` of a checkpoint (:func:`fpsolve.timeseries.read_checkpoint`);
    ``callback(state, collected)`` after each accepted step, True stops (the pair is then a checkpoint).
    """
    if not case.has_time:
        raise CaseError(f"{case.origin}: [time] section missing; allowed: a physical-time case with [time]")
    from .warmup import compile_kernels

    wall0 = _time.perf_counter()
    compile_s = compile_kernels()
    problem, grid, physics = build_transient(case)
    model = physics.model
    tm = case.transient
    t_end = float(case.time(tm.end))
    outs = output_times(case)
    amplitude, breakpoints = case.source_profile()
    y0 = initial_state(case, problem)
    m = problem.mass
    b = problem.b
    # sums over the mean rows (the first DG mode of each cell) as a strided view: no copy of a mask's
    # selection; numpy sums, not BLAS dots (a threaded ddot stalls on a loaded machine)
    modes = problem.layout.shape[-1] if problem.layout.lift else 1

    def total(v):
        return float(np.sum(v.reshape(-1, modes)[:, 0]))

    mass_mean = np.ascontiguousarray(problem.mass.reshape(-1, modes)[:, 0])

    def content_of(y):
        return float(np.sum(mass_mean * y.reshape(-1, modes)[:, 0]))
    zero = np.zeros_like(b)
    scale = float(np.max(np.abs(y0)))
    if scale <= 0.0:
        scale = float(np.max(np.abs(b / m))) * t_end
    scale = scale if scale > 0 else 1.0
    step_stats: dict = {}
    factory_name, factory = choose_factory(problem, rtol=tm.rtol, stats=step_stats)
    step_solvers = step_stats.setdefault("solvers", [])
    opts = _options(case, scale, factory)
    n_out = outs.size
    store_f = n_out * problem.layout.size * 8 <= tm.store_f_mb * 1e6

    def source(t, side):
        a = amplitude(t, side)
        return zero if a == 0.0 else a * b

    def functionals(t, y, bt):
        out = {"injected": total(bt)}
        out.update(cur[0].leaving(y))
        return out

    if restart is not None:
        state, collected = restart
        col = _Collector({k: list(v) for k, v in collected.items()})
    else:
        state, col = None, _Collector()
    content0 = content_of(y0)
    k_stream = next((n for n, t in enumerate(problem.terms) if isinstance(t, Streaming)), None)
    cur = [problem]  # the operator in use: the switched set grows during the run

    nxt = [None]  # the operator of the next step when cells are released
    atol_abs = opts.atol  # the step's absolute error tolerance (the "solve error" of the trust rule)

    def with_set(cells):
        """The current problem with exactly ``cells`` stepped (rebuilt from its terms: deterministic)."""
        pb = cur[0]
        terms = list(pb.terms)
        t = terms[k_stream]
        terms[k_stream] = type(t)(t.grid, t.velocity, t.z_min, t.z_max, stepped=cells)
        return Problem.from_terms(pb.layout, terms, pb.b, pb.physics, pb.timings)

    def record_set():
        sd = cur[0].terms[k_stream].stepped
        col.data["stepped_cells"] = [np.zeros(grid.shape[:3]) if sd is None else sd.astype(float)]

    if k_stream is not None and col.data.get("stepped_cells"):
        cur[0] = with_set(np.asarray(col.data["stepped_cells"][-1]) > 0.5)  # restart: the checkpoint's set

    def stepped():
        return None if k_stream is None else cur[0].terms[k_stream].stepped

    def check(y):
        return transported_range(grid, y, stepped())

    def fix(t, y):
        f = y.reshape(grid.shape)
        a = f[..., 0]
        fmax = max(float(a.max()), 0.0)
        old = stepped()
        # a posteriori detection (as MOOD): a cell mean below round-off and the step's error tolerance
        bad = a < -(1e-13 * fmax + atol_abs)
        new = bad.copy()
        if old is not None:
            # switched and still negative: fed by a neighbour's negative trace; the switched region
            # grows to the upwind z neighbour and the mu neighbours
            still = bad & old
            if still.any():
                up = grid.mu > 0
                new[:, :-1, :] |= still[:, 1:, :] & up  # mu > 0: the cell below feeds it
                new[:, 1:, :] |= still[:, :-1, :] & ~up  # mu < 0: the cell above feeds it
                new[:, :, 1:] |= still[:, :, :-1]
                new[:, :, :-1] |= still[:, :, 1:]
            new &= ~old
        if new.any():  # switch them and recompute the step
            cur[0] = with_set(new if old is None else old | new)
            record_set()
            return cur[0].A, True
        if old is None:
            return None
        # release the switched cells whose own DG-1 traces are both >= 0 and whose mean is resolved
        # above the release level (hysteresis: the far tail stays switched)
        free = old & (a - np.abs(f[..., 1]) >= 0.0) & (a > RELEASE_TOL * fmax)
        if not free.any():
            return None
        nxt[0] = with_set(old & ~free)
        return nxt[0].A, False


    use_limiter = bool(tm.positivity_limiter)
    weights = mass_mean.reshape(grid.shape[:-1] if not grid.homogeneous else grid.shape)
    pre: dict = {}  # the accepted step's own (pre-limiter) statistics, for step_done

    def limit(t, y):
        """The conservative positivity limiter (module docstring, Positivity); the trust rule is
        applied to the step's own result first."""
        from .kernels import positivity_redistribute

        f = y.reshape(grid.shape)
        a = f if grid.homogeneous else f[..., 0]
        pre["neg"] = negative_cells(grid, f, atol_abs)
        pre["min_mean"] = float(a.min())
        pre["moved"], pre["zeroed"], pre["unrepaired"] = 0.0, 0, 0
        # means the limiter changes by more than round-off and the step's error tolerance
        pre["beyond"] = int(np.count_nonzero(a < -(1e-13 * max(float(a.max()), 0.0) + atol_abs)))
        if pre["min_mean"] >= 0.0:
            return y
        y = y.copy()
        f = y.reshape(grid.shape)
        if grid.homogeneous:
            aa = np.ascontiguousarray(f.reshape(f.shape[0], 1, -1))
            bb = np.zeros_like(aa)
            moved, zeroed, unrep = positivity_redistribute(aa, bb, np.ascontiguousarray(weights.reshape(aa.shape)))
            f[...] = aa.reshape(f.shape)
        else:
            aa, bb = np.ascontiguousarray(f[..., 0]), np.ascontiguousarray(f[..., 1])
            moved, zeroed, unrep = positivity_redistribute(aa, bb, np.ascontiguousarray(weights))
            f[..., 0], f[..., 1] = aa, bb
        pre["moved"], pre["zeroed"], pre["unrepaired"] = float(moved), int(zeroed), int(unrep)
        return y

    plain_dp = _PlainDp()  # dF/dp by plain differences where F <= 0 (ahead of a front): one line at the end

    def on_output(t, y):
        with np.errstate(divide="ignore", invalid="ignore"):  # F = 0 before arrival: NaN ratios, recorded as such
            plain_dp.t = t
            _output(t, y)

    def _output(t, y):
        f = y.reshape(grid.shape)
        fields = compute_fields(grid, model, f)
        col.add("time", t)
        col.add("F", fields.F)
        if store_f:
            col.add("f", f)
        for name, v in plane_moments(grid, f).items():
            col.add("moment_" + name, v)
        for i, pr in enumerate(evaluate_probes(case, grid, model, fields, f)):
            col.add(f"probe{i}_F", pr.F)
            nan = np.nan if not pr.F > PROBE_RESOLVED * atol_abs else 1.0  # ratios of an unresolved F: NaN
            col.add(f"probe{i}_g", nan * pr.g_over_F)
            col.add(f"probe{i}_gda", nan * pr.g_da_over_F)
            col.add(f"probe{i}_delta", nan * probe_delta(pr.g_over_F, grid.mu))
            col.add(f"probe{i}_delta_da", nan * probe_delta(pr.g_da_over_F, grid.mu))
            col.add(f"probe{i}_amp", nan * pr.streaming_amplitude)
            col.add(f"probe{i}_amp38", pr.streaming_amplitude_eq38)
            col.add(f"probe{i}_rel", nan * pr.rel_err_da)
            col.add(f"probe{i}_zp", [np.nan if pr.z is None else pr.z, pr.p])

    def step_done(st):
        hist = st.history
        content = content_of(st.y)
        inj = st.integrals.get("injected", 0.0)
        lost = sum(st.integrals.get(ch, 0.0) for ch in CHANNELS)
        hist.setdefault("content", []).append(content)
        hist.setdefault("injected", []).append(inj)
        hist.setdefault("lost", []).append(lost)
        hist.setdefault("balance_defect", []).append(content0 + inj - lost - content)
        f = st.y.reshape(grid.shape)
        if use_limiter:  # the step's own result, before the limiter
            neg, min_mean = pre["neg"], pre["min_mean"]
            hist.setdefault("limiter_moved", []).append(pre["moved"] / max(abs(content), 1e-300))
            hist.setdefault("limiter_zeroed", []).append(pre["zeroed"])
            hist.setdefault("limiter_unrepaired", []).append(pre["unrepaired"])
            hist.setdefault("limiter_beyond_tol", []).append(pre["beyond"])
        else:
            neg = negative_cells(grid, f, atol_abs)  # the steady rule; the step's error tolerance as solve error
            min_mean = float((f if grid.homogeneous else f[..., 0]).min())
        hist.setdefault("min_mean", []).append(min_mean)
        hist.setdefault("negative_cells", []).append(neg["count"])
        sd = stepped()
        hist.setdefault("stepped", []).append(0 if sd is None else int(sd.sum()))
        if nxt[0] is not None:  # cells released: the next step's operator (the integrator swaps too)
            cur[0], nxt[0] = nxt[0], None
            record_set()
        return bool(callback(st, col.data)) if callback is not None else False

    cpu0 = _time.process_time()
    plain_dp.attach()
    try:
        state, info = integrate(cur[0].A, m, source, y0, 0.0, t_end, options=opts, output_times=outs,
                                breakpoints=breakpoints, functionals=functionals, check=check,
                                on_output=on_output, callback=step_done, state=state,
                                fixup=fix if (tm.positivity_fixup and k_stream is not None) else None,
                                limit=limit if use_limiter else None)
    finally:
        plain_dp.detach()
    plain_dp.report(case, outs.size)
    integrate_cpu = _time.process_time() - cpu0  # all threads of the process (the machine may be shared)
    problem = cur[0]
    d = col.data
    times = np.array([float(x) for x in d.get("time", [])])
    nprobe = len([k for k in d if k.startswith("probe") and k.endswith("_F")])
    probes = []
    for i in range(nprobe):
        g = f"probe{i}_"
        zp = d[g + "zp"][0]
        probes.append(ProbeSeries(float(zp[0]), float(zp[1]), np.array(d[g + "F"]), np.array(d[g + "g"]),
                                  np.array(d[g + "gda"]), np.array(d[g + "delta"]), np.array(d[g + "delta_da"]),
                                  np.array(d[g + "amp"]), float(d[g + "amp38"][0]), np.array(d[g + "rel"])))
    info.accepted = state.step  # all accepted steps, including those before a restart
    history = {k: np.asarray(v, dtype=float) for k, v in state.history.items()}
    integ = dict(state.integrals)
    content = content_of(state.y)
    inj = integ.get("injected", 0.0)
    lost = {ch: integ.get(ch, 0.0) for ch in CHANNELS}
    defect = content0 + inj - sum(lost.values()) - content
    ref = max(abs(content0) + abs(inj), abs(content), 1e-300)
    balance = dict(content_0=content0, content=content, injected=inj, **lost, defect=defect, relative=defect / ref,
                   max_step_defect=float(np.max(np.abs(history.get("balance_defect", [0.0])))) / ref)
    moments = {k[len("moment_"):]: np.array(v) for k, v in d.items() if k.startswith("moment_")}
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    timings = dict(problem.timings, compile_s=compile_s, integrate_s=info.wall_s, integrate_cpu_s=integrate_cpu,
                   factor_cpu_s=step_stats.get("factor_cpu_s", 0.0),
                   total_s=_time.perf_counter() - wall0)
    info.message += f"; linear solver: {factory_name}"
    if factory_name == "planes-gmres":
        its, nsol = sum(s.iterations for s in step_solvers), sum(s.solves for s in step_solvers)
        res = max((s.max_residual for s in step_solvers), default=0.0)
        info.message += (f" ({its / max(nsol, 1):.1f} GMRES iterations per solve, residual <= {res:.1e}, "
                         f"{sum(s.fallbacks for s in step_solvers)} whole-LU fallbacks)")
    return TimeSeriesResult(case, grid, times, np.array(d.get("F", [])), np.array(d["f"]) if store_f and "f" in d else None,
                            moments, probes, history, balance, info, timings, peak, problem=problem, state=state,
                            stepped=stepped(), t_reached=float(state.t))




CHECKPOINT_KIND = "time_checkpoint"


# --- files: the time series and its checkpoints (fpsolve.timeseries describes and reads them) ---
def write_timeseries(r, path):
    """Write a time-series result atomically (temporary name, ``complete`` last, rename)."""
    d = describe_timeseries(r)
    return _atomic(path, lambda h5: _write_description(h5, d))



def write_time_checkpoint(path, state, collected: dict, case_hash: str, case_text: str, command: str = "",
                          time_unit: tuple[str, float] = ("L/c", 1.0)) -> Path:
    """A :class:`~fpsolve.timestepping.TimeState` and the outputs collected so far; ``command``: the
    exact ``fpsolve run ... --restart`` line that continues it (``fpsolve info`` prints it);
    ``time_unit``: the case's (name, L/c per unit), for ``info``."""
    def fill(h5):
        h5.create_dataset("y", data=state.y)
        if state.y_own is not None:  # the positivity limiter's last change (the next step's error scale)
            h5.create_dataset("y_own", data=state.y_own)
        for k, v in state.history.items():
            h5.create_dataset(f"history/{k}", data=np.asarray(v, dtype=float))
        for k, v in collected.items():
            h5.create_dataset(f"collected/{k}", data=np.stack(v) if len(v) else np.zeros(0))
        g = h5.require_group("integrals")
        for k, v in state.integrals.items():
            g.attrs[k] = v
        h5.attrs.update(t=state.t, h=state.h, step=state.step, next_output=state.next_output, case_hash=case_hash,
                        case_text=case_text, fpsolve_version=__version__, kind=CHECKPOINT_KIND)
        if command:
            h5.attrs["restart_command"] = command
        h5.attrs["time_unit"], h5.attrs["time_per_unit"] = time_unit[0], float(time_unit[1])

    return _atomic(path, fill)


def read_time_checkpoint(path, case_hash: str):
    """``(TimeState, collected)`` of a checkpoint of the same case."""
    with _open_valid(path) as h5:
        if h5.attrs.get("kind") != CHECKPOINT_KIND:
            raise FileFormatError(f"{path}: not an fpsolve physical-time checkpoint")
        if h5.attrs["case_hash"] != case_hash:
            raise FileFormatError(f"{path}: checkpoint of a different case (or overrides); allowed: the same case")
        history = {k: [float(x) for x in h5[f"history/{k}"][...]] for k in h5.get("history", {})}
        collected = {k: list(h5[f"collected/{k}"][...]) for k in h5.get("collected", {})}
        integrals = {k: float(v) for k, v in h5["integrals"].attrs.items()} if "integrals" in h5 else {}
        a = h5.attrs
        state = TimeState(float(a["t"]), h5["y"][...], float(a["h"]), int(a["step"]), int(a["next_output"]),
                          integrals, history, h5["y_own"][...] if "y_own" in h5 else None)
        return state, collected


# --- the command line branch ------------------------------------------------------------------
def run_cli(args, case) -> int:
    """``fpsolve run CASE`` for a case with ``[time]``: integrate, print the summary, write the
    time series (and PNG figures with ``--plot``); a progress bar in physical time on stderr (terminal
    or ``--progress``); checkpoints with ``--checkpoint-every N``
    (accepted steps) / ``--checkpoint-minutes M``, ``--restart CHECKPOINT``.

    ``--keep-partial`` (``args.keep_partial``; ``args.deferred_stop``: :class:`fpsolve.cli.DeferredStop`,
    armed from the first accepted step on): SIGINT/SIGTERM stop the integration at the end of the current
    step; the time series so far (the outputs reached, the per-step history, the balance at the stop) is
    written through :func:`write_timeseries`, marked ``complete_in_time = 0`` with ``t_reached`` (never
    trustworthy), with a checkpoint that continues it; exit 128 + the signal number.  A run stopped
    otherwise before its end (exit 3) is written the same way with ``--keep-partial``, else only its
    checkpoint."""
    out = Path(args.output) if args.output else Path(Path(args.case).stem + ".h5")
    key = case.digest(solver=False)
    restart = read_time_checkpoint(args.restart, key) if args.restart else None
    every, minutes = getattr(args, "checkpoint_every", 0), getattr(args, "checkpoint_minutes", 0.0)
    ck = Path(args.checkpoint) if getattr(args, "checkpoint", None) else out.with_suffix(".checkpoint.h5")
    from .io import restart_command

    command = restart_command(args, ck, out)
    last = [_time.monotonic()]
    stop_after = getattr(args, "stop_after_steps", 0)  # tests: simulate an interrupted run
    keep = getattr(args, "keep_partial", False)
    stop = getattr(args, "deferred_stop", None)  # --keep-partial: a signal stops at the end of the step
    unit, per = case.time_unit()

    bar = None
    if not getattr(args, "quiet", False) and (getattr(args, "progress", False) or sys.stdout.isatty()):
        from tqdm import tqdm

        t_end = float(case.time(case.transient.end))
        bar = tqdm(total=t_end / per, desc="time", unit=unit, file=sys.stderr,
                   bar_format="{l_bar}{bar}| {n:.4g}/{total:.4g} " + unit + " [{elapsed}<{remaining}{postfix}]")

    def callback(state, collected):
        if stop is not None:
            stop.armed = True  # a step is done: from now on a signal stops here and keeps the series
        if bar is not None:  # progress in physical time
            bar.n = state.t / per
            bar.set_postfix(step=state.step, dt=f"{state.history['dt'][-1] / per:.2e}", refresh=False)
            bar.refresh()
        due = (every and state.step % every == 0) or (minutes and _time.monotonic() - last[0] >= 60 * minutes)
        halt = bool(stop_after and state.step >= stop_after) or (stop is not None and stop.signum is not None)
        if due or halt:
            write_time_checkpoint(ck, state, collected, key, case.resolved_text(), command, (unit, per))
            last[0] = _time.monotonic()
        return halt

    try:
        r = run_transient(case, restart=restart,
                          callback=callback if (every or minutes or stop_after or bar or stop is not None) else None)
    finally:
        if stop is not None:
            stop.armed = False  # from here a signal interrupts at once (cli.interruptible)
        if bar is not None:
            bar.close()
    if stop is not None:
        stop.check_abort()  # a second signal: nothing is written
    signum = stop.signum if stop is not None else None
    unit, per = r.time_unit
    if signum is not None:
        import signal

        name = signal.Signals(signum).name
        r.info.message = f"interrupted by {name}; {r.info.message}"
    if not r.info.completed and not keep:
        if signum is not None:  # a checkpointing run stopped by a signal at the end of its step
            import contextlib

            with contextlib.suppress(ValueError):
                sys.stdout.flush()
            print(f"fpsolve: interrupted by {name} at t = {r.reached / per:.6g} {unit} of end {r.t_end / per:.6g} "
                  f"{unit} (step {r.state.step}); checkpoint {ck}; continue with: {command}", file=sys.stderr)
            return 128 + signum
        print(f"stopped at t = {r.state.t / per:.6g} {unit} after {r.state.step} steps; checkpoint {ck}")
        return 3
    if not getattr(args, "quiet", False):  # -q: the one-line verdict only
        print(r.summary(), flush=True)
    write_timeseries(r, out)
    if r.partial:
        print(f"wrote {out}: {r.stop_text()}, complete_in_time = false; NOT TRUSTWORTHY", file=sys.stdout)
    else:
        print(f"wrote {out}" + ((": trustworthy" if r.trustworthy else f": NOT TRUSTWORTHY ({', '.join(r.flags())})")
                                if getattr(args, "quiet", False) else
                                ("" if r.trustworthy else "   (flagged: not trustworthy, see above)")), file=sys.stdout)
    if getattr(args, "plot", False):
        from .plot_time import time_figures

        for png in time_figures(r, out.with_suffix("")):
            print(f"wrote {png}")
    if signum is not None or r.partial:
        import contextlib

        with contextlib.suppress(ValueError):
            sys.stdout.flush()  # the summary before the stderr line (as cli._flush_stdout)
        if signum is not None:
            print(f"fpsolve: interrupted by {name} at t = {r.reached / r.time_unit[1]:.6g} {r.time_unit[0]} of end "
                  f"{r.t_end / r.time_unit[1]:.6g} {r.time_unit[0]} (step {r.state.step}); "
                  + (f"partial time series {out}" if r.partial else f"the run had completed: {out}")
                  + (f"; checkpoint {ck}; continue with: {command}" if r.partial else ""), file=sys.stderr)
            return 128 + signum
        print(f"stopped at t = {r.state.t / per:.6g} {unit} after {r.state.step} steps; checkpoint {ck}")
        return 3
    if not getattr(args, "keep_checkpoint", False) and ck.is_file() and ck.resolve() != out.resolve():
        import h5py

        try:
            with h5py.File(ck, "r") as h5:
                ours = h5.attrs.get("kind") == CHECKPOINT_KIND
        except OSError:
            ours = False
        if ours:  # the series is written: the checkpoint is spent (as steady runs; --keep-checkpoint keeps it)
            ck.unlink()
    return 0
