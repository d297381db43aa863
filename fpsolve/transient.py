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

Per accepted step: ``t``, ``dt``, the error estimate, min and max f (what the scheme transports:
cell means and outflow traces), the particle content ``N = 1_mean^T M f`` and the time-integrated
balance ``N(0) + int injected - int (escaped + lost) - N(t)``.  The integrals are the integrator's
stage-weighted integrals of the linear functionals ``injected = 1_mean^T b(t)`` and the terms'
channels (:meth:`fpsolve.problem.Problem.leaving`); since ``1_mean^T A f = sum of the channels``
for every f, the defect is round-off plus the linear solves' residual at every step size.

Restart: :class:`~fpsolve.timestepping.TimeState` plus the outputs collected so far
(:mod:`fpsolve.timeseries` writes both), so a continued run equals the uninterrupted one bit for bit.
"""
from __future__ import annotations

import resource
import time as _time
from dataclasses import dataclass, field

import numpy as np

from ._version import __version__
from .build import build_grid, build_physics
from .case import Case, CaseError
from .problem import Problem, kinetic_layout, kinetic_terms
from .probes import evaluate_probes
from .result import _end_values, compute_fields
from .terms import CHANNELS, MuPDiffusion, SourceTerm
from .timestepping import TRBDF2, TimeInfo, TimeState, integrate

__all__ = ["TimeSeriesResult", "ProbeSeries", "build_transient", "run_transient", "initial_state",
           "output_times", "plane_moments", "probe_delta", "transported_range", "plane_factory", "choose_factory",
           "BALANCE_TOL"]

#: The time-integrated balance closes to round-off plus the solves' residual (SuperLU on these
#: matrices: ~1e-15 relative per step); 1e-10 relative to max(N(0) + injected) is the flag.
BALANCE_TOL = 1e-10
#: ``f`` below ``-NEGATIVE_TOL * max f`` flags a run (as the steady result's ``negative_f``).
NEGATIVE_TOL = 1e-6


@dataclass
class ProbeSeries:
    """A probe (z, p) over the output times (arrays with a leading time axis)."""

    z: float
    p: float
    F: np.ndarray  # (nt,)
    g_over_F: np.ndarray  # (nt, nmu) kinetic
    g_da_over_F: np.ndarray  # (nt, nmu) Eq. (7) with the numerical gradients of the kinetic F
    delta: np.ndarray  # (nt,) Eq. (11), signed, kinetic
    delta_da: np.ndarray  # (nt,) Eq. (11) of F + g_DA
    amplitude: np.ndarray  # (nt,) kinetic streaming amplitude (Eq. 38 shape fit / (F'/F))
    amplitude_eq38: float  # -(4 - s) kappa_zz/v (Eq. 38)
    rel_err_da: np.ndarray  # (nt,) max|g - g_DA| / max|g_DA|


@dataclass
class TimeSeriesResult:
    """A physical-time run; also what :func:`fpsolve.read` returns for a time-series file
    (then ``problem`` and ``state`` are None)."""

    case: Case
    grid: object
    times: np.ndarray  # output times, code units (L/c)
    F: np.ndarray  # (nt, np, nz) or (nt, np) homogeneous
    f: np.ndarray | None  # (nt, *grid.shape) or None (not stored: see the module docstring)
    moments: dict  # name -> (nt, np)
    probes: list  # ProbeSeries
    history: dict  # per accepted step: name -> array
    balance: dict  # final: content_0, content, injected, each channel, defect, relative
    info: TimeInfo
    timings: dict = field(default_factory=dict)
    peak_memory_mb: float = 0.0
    version: str = __version__
    problem: Problem | None = None
    state: TimeState | None = None
    stored_summary: str = ""
    kind = "timeseries"

    @property
    def time_unit(self) -> tuple[str, float]:
        """(name, code units per case unit): ("yr", L/c per yr) for physical cases, else ("L/c", 1)."""
        return ("yr", float(self.case.time(1.0))) if self.case.system == "physical" else ("L/c", 1.0)

    @property
    def balance_ok(self) -> bool:
        return abs(self.balance.get("relative", np.inf)) <= BALANCE_TOL

    @property
    def negative_f(self) -> bool:
        lo, hi = np.asarray(self.history.get("min_f", [0.0])), np.asarray(self.history.get("max_f", [1.0]))
        return bool(lo.size and np.min(lo / np.maximum(hi, 1e-300)) < -NEGATIVE_TOL)

    @property
    def trustworthy(self) -> bool:
        """Completed, balance closed to BALANCE_TOL, f >= -1e-6 max f at every step."""
        return bool(self.info.completed and self.balance_ok and not self.negative_f)

    def summary(self) -> str:
        return self.stored_summary or summary_text(self)

    def to_xarray(self):
        """The time series as an ``xarray.Dataset`` (the root group of the file, :mod:`fpsolve.timeseries`)."""
        from .timeseries import to_xarray

        return to_xarray(self)


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


def transported_range(grid, y) -> tuple[float, float]:
    """(min, max) of what the scheme transports: cell means and outflow traces (as
    :func:`fpsolve.result.min_f`)."""
    if grid.homogeneous:
        return float(y.min()), float(y.max())
    f = y.reshape(grid.shape)
    a, b = f[..., 0], f[..., 1]
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
    lo, hi = _end_values(1.0 + np.asarray(g_over_F), mu)
    return float((hi - lo) / (hi + lo))


# --- the linear solver of a step ---------------------------------------------------------------
def plane_factory(nplanes: int):
    """Factory of ``M + d h A`` (for :class:`~fpsolve.timestepping.TRBDF2`) when the momentum planes
    (contiguous blocks: momentum is the slowest index) couple one way only (eps = 0 with losses:
    block-triangular) or not at all: one SuperLU per plane and a sweep over the planes — the fill
    of a whole-matrix LU across the planes is avoided.  Returns None if the matrix is not
    block-triangular (then the whole-matrix LU is used)."""
    import scipy.sparse as sp
    import scipy.sparse.linalg as spla

    def factory(matrix):
        a = sp.csr_matrix(matrix)
        n = a.shape[0]
        bs = n // nplanes
        coo = a.tocoo()
        rb, cb = coo.row // bs, coo.col // bs
        if np.all(cb <= rb):
            order = range(nplanes)
        elif np.all(cb >= rb):
            order = range(nplanes - 1, -1, -1)
        else:
            raise ValueError("momentum planes coupled both ways")
        diag = rb == cb
        blocks = []
        for k in range(nplanes):
            sel = diag & (rb == k)
            blk = sp.csc_matrix((coo.data[sel], (coo.row[sel] - k * bs, coo.col[sel] - k * bs)), shape=(bs, bs))
            blocks.append(spla.splu(blk, permc_spec="COLAMD"))
        off = sp.csr_matrix((coo.data[~diag], (coo.row[~diag], coo.col[~diag])), shape=(n, n))
        rows = [off[k * bs:(k + 1) * bs] for k in range(nplanes)]

        def solve(rhs):
            x = np.zeros(n)
            for k in order:
                r = rhs[k * bs:(k + 1) * bs]
                if rows[k].nnz:
                    r = r - rows[k] @ x
                x[k * bs:(k + 1) * bs] = blocks[k].solve(r)
            return x
        return solve

    return factory


def choose_factory(problem: Problem):
    """``("planes", factory)`` for block-triangular momentum coupling of a multi-plane problem,
    else ``("splu", splu_factory)`` (whole-matrix SuperLU)."""
    from .timestepping import splu_factory

    grid = problem.grid
    nk = grid.np_
    if nk > 1:
        coo = problem.A.tocoo()
        bs = problem.layout.size // nk
        rb, cb = coo.row // bs, coo.col // bs
        if np.all(cb <= rb) or np.all(cb >= rb):
            return "planes", plane_factory(nk)
    return "splu", splu_factory


# --- the run ----------------------------------------------------------------------------------
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
    rows = problem.layout.mean_rows() > 0  # sums, not BLAS dots (threaded ddot stalls on a loaded machine)

    def total(v):
        return float(np.sum(v[rows]))
    zero = np.zeros_like(b)
    scale = float(np.max(np.abs(y0)))
    if scale <= 0.0:
        scale = float(np.max(np.abs(b / m))) * t_end
    scale = scale if scale > 0 else 1.0
    factory_name, factory = choose_factory(problem)
    opts = _options(case, scale, factory)
    n_out = outs.size
    store_f = n_out * problem.layout.size * 8 <= tm.store_f_mb * 1e6

    def source(t, side):
        a = amplitude(t, side)
        return zero if a == 0.0 else a * b

    def functionals(t, y, bt):
        out = {"injected": total(bt)}
        out.update(problem.leaving(y))
        return out

    def check(y):
        return transported_range(grid, y)

    if restart is not None:
        state, collected = restart
        col = _Collector({k: list(v) for k, v in collected.items()})
    else:
        state, col = None, _Collector()
    content0 = total(m * y0)

    def on_output(t, y):
        with np.errstate(divide="ignore", invalid="ignore"):  # F = 0 before arrival: NaN ratios, recorded as such
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
            col.add(f"probe{i}_g", pr.g_over_F)
            col.add(f"probe{i}_gda", pr.g_da_over_F)
            col.add(f"probe{i}_delta", probe_delta(pr.g_over_F, grid.mu))
            col.add(f"probe{i}_delta_da", probe_delta(pr.g_da_over_F, grid.mu))
            col.add(f"probe{i}_amp", pr.streaming_amplitude)
            col.add(f"probe{i}_amp38", pr.streaming_amplitude_eq38)
            col.add(f"probe{i}_rel", pr.rel_err_da)
            col.add(f"probe{i}_zp", [np.nan if pr.z is None else pr.z, pr.p])

    def step_done(st):
        hist = st.history
        content = total(m * st.y)
        inj = st.integrals.get("injected", 0.0)
        lost = sum(st.integrals.get(ch, 0.0) for ch in CHANNELS)
        hist.setdefault("content", []).append(content)
        hist.setdefault("injected", []).append(inj)
        hist.setdefault("lost", []).append(lost)
        hist.setdefault("balance_defect", []).append(content0 + inj - lost - content)
        return bool(callback(st, col.data)) if callback is not None else False

    state, info = integrate(problem.A, m, source, y0, 0.0, t_end, options=opts, output_times=outs,
                            breakpoints=breakpoints, functionals=functionals, check=check,
                            on_output=on_output, callback=step_done, state=state)
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
    content = total(m * state.y)
    inj = integ.get("injected", 0.0)
    lost = {ch: integ.get(ch, 0.0) for ch in CHANNELS}
    defect = content0 + inj - sum(lost.values()) - content
    ref = max(abs(content0) + abs(inj), abs(content), 1e-300)
    balance = dict(content_0=content0, content=content, injected=inj, **lost, defect=defect, relative=defect / ref,
                   max_step_defect=float(np.max(np.abs(history.get("balance_defect", [0.0])))) / ref)
    moments = {k[len("moment_"):]: np.array(v) for k, v in d.items() if k.startswith("moment_")}
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    timings = dict(problem.timings, compile_s=compile_s, integrate_s=info.wall_s,
                   total_s=_time.perf_counter() - wall0)
    info.message += f"; linear solver: {factory_name}"
    return TimeSeriesResult(case, grid, times, np.array(d.get("F", [])), np.array(d["f"]) if store_f and "f" in d else None,
                            moments, probes, history, balance, info, timings, peak, problem=problem, state=state)


# --- summary ----------------------------------------------------------------------------------
def summary_text(r: TimeSeriesResult) -> str:
    """The run summary: grid, steps, balance, min f, probes at a few output times."""
    unit, per = r.time_unit
    g = r.grid
    h = r.history
    lines = [f"physical-time run: {'homogeneous' if g.homogeneous else f'{g.nz} z'} x {g.nmu} mu x {g.np_} p cells",
             f"  TR-BDF2 to t = {r.times[-1] / per if r.times.size else float('nan'):.6g} {unit}: "
             f"{'completed' if r.info.completed else 'NOT COMPLETED'}, {int(r.info.accepted)} steps "
             f"({int(r.info.rejected)} rejected by error, {int(r.info.positivity_rejected)} by positivity), "
             f"{int(r.info.factorizations)} factorizations",
             f"  steps: dt from {np.min(h['dt']) / per:.3g} to {np.max(h['dt']) / per:.3g} {unit}" if h.get('dt', []).size
             else "  steps: none",
             f"  particle balance: N(0) = {r.balance['content_0']:.6g}, injected {r.balance['injected']:.6g}, "
             f"escaped {r.balance['escape_z_min'] + r.balance['escape_z_max']:.6g}, lost "
             f"{r.balance['outflow_p_min'] + r.balance['outflow_p_max'] + r.balance['catastrophic']:.6g}, "
             f"N(end) = {r.balance['content']:.6g}; defect {r.balance['relative']:.2e} relative "
             f"(every step <= {r.balance['max_step_defect']:.2e})" + ("" if r.balance_ok else "   ** NOT CLOSED **")]
    if h.get("min_f", np.array([])).size:
        ratio = np.min(h["min_f"] / np.maximum(h["max_f"], 1e-300))
        lines.append(f"  min f / max f over the steps: {ratio:.3e}" + ("   ** NEGATIVE **" if r.negative_f else ""))
    for pr in r.probes:
        where = "" if not np.isfinite(pr.z) else f"z = {pr.z:.6g}, "
        lines.append(f"  probe {where}p = {pr.p:.6g} m c (code units):      t [{unit}]          F     delta  delta_DA(Eq.7)  "
                     f"amplitude (Eq. 38: {pr.amplitude_eq38:.4g})")
        idx = sorted(set(np.linspace(0, r.times.size - 1, min(6, r.times.size)).astype(int)))
        for i in idx:
            lines.append(f"      {r.times[i] / per:16.6g} {pr.F[i]:12.5g} {pr.delta[i]:9.4g} {pr.delta_da[i]:12.4g}"
                         f"     {pr.amplitude[i]:.4g}")
    lines.append(f"  wall: {r.timings.get('total_s', 0.0):.2f} s (integration {r.info.wall_s:.2f} s), "
                 f"peak memory {r.peak_memory_mb:.0f} MB; f stored at the outputs: {'yes' if r.f is not None else 'no'}")
    if not r.trustworthy:
        lines.append("  ** NOT TRUSTWORTHY: " + ", ".join(
            x for x, bad in (("not completed", not r.info.completed), ("balance not closed", not r.balance_ok),
                             ("negative f", r.negative_f)) if bad) + " **")
    return "\n".join(lines)
