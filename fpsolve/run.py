"""Case -> kinetic solution -> Result (fields, balance, probes, solver record); the main job."""
from __future__ import annotations

import resource
import time
from dataclasses import dataclass, field

import numpy as np

from . import __version__, kernels
from .build import build_grid, build_physics, probe_momenta, probe_positions
from .case import Case
from .operator import SteadyProblem, build_problem
from .physics import compton_getting_closed, pitch_integrals, streaming_amplitude_closed, streaming_shape_closed
from .result import Fields, balance_closed, cell_means_at, compute_fields, min_f, particle_balance
from .solvers import SolveInfo, solve_steady

__all__ = ["Result", "Probe", "solve", "compile_kernels"]


@dataclass
class Probe:
    """Kinetic anisotropy at (z, p) against the diffusion approximation."""

    z: float | None
    p: float
    F: float
    g_over_F: np.ndarray  # kinetic g(mu)/F at the grid's mu
    g_da_over_F: np.ndarray  # Eq. (7) with the numerical gradients
    rel_err_da: float  # max |g - g_da| / max |g_da|
    streaming_amplitude: float  # kinetic: fit of g/(F'|mu|^{2-s} sgn mu) (z problems)
    streaming_amplitude_eq38: float  # -(4-s) kappa_zz / v (Eq. 38, quadrature kappa)
    g_eq39_over_F: np.ndarray | None  # Eq. (39) corrected (Eq. 28 form) / F


@dataclass
class Result:
    """A kinetic solution with everything needed to judge it; also what :func:`fpsolve.read` returns
    (then ``problem`` is None: the operator is not stored)."""

    case: Case
    grid: object
    f: np.ndarray
    info: SolveInfo
    fields: Fields
    balance: dict
    min_f: dict
    probes: list
    timings: dict = field(default_factory=dict)
    peak_memory_mb: float = 0.0
    version: str = __version__
    problem: SteadyProblem | None = None

    def to_xarray(self):
        """The fields as an ``xarray.Dataset`` with dimensions (z, mu, p) (xarray must be installed)."""
        try:
            import xarray as xr
        except ImportError as err:  # pragma: no cover - xarray is in the test extra
            raise ImportError("Result.to_xarray needs xarray (pip install xarray)") from err
        g, fl = self.grid, self.fields
        full = ("mu", "p") if g.homogeneous else ("z", "mu", "p")
        iso = ("p",) if g.homogeneous else ("z", "p")

        def out(a):
            return np.moveaxis(np.asarray(a), 0, -1)

        data = {"f": (full, out(fl.f)), "F": (iso, out(fl.F)), "g": (full, out(fl.g)), "g_da": (full, out(fl.g_da)),
                "delta": (iso, out(fl.delta)), "streaming_flux": (iso, out(fl.streaming_flux)),
                "dF_dp": (iso, out(fl.dF_dp))}
        coords = {"mu": g.mu, "p": g.p}
        if not g.homogeneous:
            data["dF_dz"] = (iso, out(fl.dF_dz))
            data["f_slope"] = (full, out(self.f[..., 1]))
            coords["z"] = g.z
        attrs = {"converged": int(self.info.converged), "trustworthy": int(self.trustworthy),
                 "method": self.info.method, "fpsolve_version": self.version, "case_text": self.case.text}
        return xr.Dataset(data, coords=coords, attrs=attrs)

    @property
    def trustworthy(self) -> bool:
        """Converged, balance closed (1e-10 or its round-off bound), f >= -1e-6 max f; else flagged."""
        return self.info.converged and balance_closed(self.balance) and not self.negative_f

    @property
    def negative_f(self) -> bool:
        return self.min_f["value"] < -1e-6 * self.min_f["max"]

    def summary(self) -> str:
        g, i, b, m = self.grid, self.info, self.balance, self.min_f
        dims = f"{g.np_} p" if g.homogeneous else f"{g.nz} z x2 (linear-discontinuous)"
        lines = [
            f"fpsolve {self.version} run: {self.case.source}",
            f"grid: {dims}, {g.nmu} mu, {g.np_} p -> {g.size} unknowns"
            + (f", {self.problem.A.nnz} non-zeros" if self.problem is not None else ""),
            f"solver: {i.message}; {i.iterations} iterations, {i.factorizations} factorizations",
            f"time: coefficients {self.timings.get('coefficients_s', 0):.3f} s, assembly "
            f"{self.timings.get('assembly_s', 0):.3f} s (kernel compile {self.timings.get('compile_s', 0):.3f} s), "
            f"solve {i.wall_s:.3f} s; peak memory {self.peak_memory_mb:.0f} MB",
            f"balance: injected {b['injected']:.6e} = escape {b['escape_z_min']:.4e} + {b['escape_z_max']:.4e}"
            f" + p_min {b['outflow_p_min']:.4e} + p_max {b['outflow_p_max']:.4e} + catastrophic "
            f"{b['catastrophic']:.4e};  closure {b['closure']:.2e} (round-off bound "
            f"{b['closure_roundoff_bound']:.1e})",
            f"min f: {m['value']:.4e} ({m['value'] / m['max']:.2e} of max) at z = {m['z']:.4g}, "
            f"mu = {m['mu']:.4g}, p = {m['p']:.4g}" + ("   ** NEGATIVE f **" if self.negative_f else ""),
        ]
        if not i.converged:
            lines.append(f"** NOT CONVERGED: {i.message} **")
        if not balance_closed(b):
            lines.append(f"** particle balance not closed: {b['closure']:.2e} **")
        for pr in self.probes:
            where = "homogeneous" if pr.z is None else f"z = {pr.z:.6g}"
            lines.append(f"probe {where}, p = {pr.p:.6g}: F = {pr.F:.6e}, max|g/F| = "
                         f"{np.max(np.abs(pr.g_over_F)):.4e}, |g - g_Eq7|/|g_Eq7| = {pr.rel_err_da:.3e}")
            if pr.z is not None and np.isfinite(pr.streaming_amplitude) and pr.g_eq39_over_F is None:
                lines.append(f"    streaming amplitude g/(F' |mu|^(2-s) sgn mu): kinetic {pr.streaming_amplitude:.6e}, "
                             f"Eq. 38 {pr.streaming_amplitude_eq38:.6e} "
                             f"(rel. diff {pr.streaming_amplitude / pr.streaming_amplitude_eq38 - 1:.3e})")
            if pr.g_eq39_over_F is not None and pr.z is None:
                err = np.max(np.abs(pr.g_over_F - pr.g_eq39_over_F)) / np.max(np.abs(pr.g_eq39_over_F))
                lines.append(f"    Compton–Getting: |g/F - Eq. 39 (corrected)|/max = {err:.3e}")
        return "\n".join(lines)


def compile_kernels() -> float:
    """Compile (or load from cache) the numba kernels on a tiny problem; returns the seconds taken."""
    t0 = time.perf_counter()
    # one momentum cell, one z cell, two mu cells; an empty (mu, p) operator (3 row pointers)
    args = (np.zeros(3, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0), 1, 1, 2,
            np.ones((1, 2)), np.array([[-1.0, 1.0]]), 0, 0, np.array([1, 0], dtype=np.int64))
    counts = kernels.count_z_problem(*args)
    indptr = np.cumsum(counts)
    kernels.fill_z_problem(*args, indptr, np.empty(indptr[-1], np.int64), np.empty(indptr[-1]))
    kernels.residual_compensated(np.array([0, 1]), np.array([0], dtype=np.int32), np.ones(1), np.ones(1),
                                 np.ones(1), np.empty(1))
    return time.perf_counter() - t0


def _probes(case, grid, model, fields, f) -> list:
    out = []
    s = getattr(model, "s", None)  # closed forms (Eqs. 38, 39) only for slab Alfvén waves
    zs = [None] if grid.homogeneous else (probe_positions(case) if probe_positions(case) is not None else [])
    for p0 in probe_momenta(case):
        k = int(np.argmin(np.abs(np.log(grid.p / p0))))
        pk = grid.p[k]
        kzz = float(pitch_integrals(model, np.array([pk])).kappa_zz[0])
        v = float(model.velocity(pk))
        amp38 = streaming_amplitude_closed(s=s, kappa_zz=kzz, v=v) if s is not None else np.nan
        eps = float(model.eps(pk)) if hasattr(model, "eps") else 0.0
        for z in zs:
            if z is None:
                fz, F = fields.f[k], fields.F[k]
                g = fz - F
                gda = fields.g_da[k]
                amp = np.nan
            else:
                fz = cell_means_at(grid, f, z)[k]
                F = 0.5 * np.sum(fz * grid.dmu)
                g = fz - F
                # gradients interpolated the same way as the cell means
                i = int(np.clip(np.searchsorted(grid.z, z) - 1, 0, max(grid.nz - 2, 0)))
                t = float(np.clip((z - grid.z[i]) / (grid.z[i + 1] - grid.z[i]), 0, 1)) if grid.nz > 1 else 0.0
                dfdz = (1 - t) * fields.dF_dz[k, i] + t * fields.dF_dz[k, min(i + 1, grid.nz - 1)]
                dfdp_z = (1 - t) * fields.dF_dp[k, i] + t * fields.dF_dp[k, min(i + 1, grid.nz - 1)]
                gda = fields.a_s[k] * dfdz + fields.a_c[k] * dfdp_z
                if s is not None:
                    shape = streaming_shape_closed(grid.mu, s=s)
                    fit = np.sum(g * shape * grid.dmu) / np.sum(shape**2 * grid.dmu)
                    amp = fit / dfdz if dfdz != 0 else np.nan
                else:
                    amp = np.nan
            cg = None
            if eps > 0:
                dfdp = fields.dF_dp[k] if grid.homogeneous else dfdp_z
                cg = compton_getting_closed(grid.mu, eps=eps, p=pk, hc=model.hc, s=s, form="eq28") * dfdp / F
            rel = float(np.max(np.abs(g - gda)) / np.max(np.abs(gda))) if np.any(gda) else float("nan")
            out.append(Probe(z, pk, float(F), g / F, gda / F, rel, float(amp), float(amp38), cg))
    return out


def case_hash(case: Case) -> str:
    """Hash of the resolved case values (file text and overrides alike): identifies a checkpoint."""
    import hashlib
    import json

    values = {sec: {k: (list(v) if isinstance(v, tuple) else v) for k, v in keys.items()}
              for sec, keys in case.values.items() if sec != "solver"}
    return hashlib.sha256(json.dumps(values, sort_keys=True, default=str).encode()).hexdigest()


def solve(case: Case, *, restart=None, callback=None) -> Result:
    """Build, solve and diagnose a case; returns a :class:`Result` (never writes files).

    ``restart``: a :class:`~fpsolve.solvers.MarchState` to continue (the march then resumes
    exactly); ``callback(state)``: called after every pseudo-time step (progress, checkpoints).
    Raises ``CaseError`` for bad input and ``NumericalError`` if NaN/Inf appears.
    """
    t0 = time.perf_counter()
    compile_s = compile_kernels()
    grid = build_grid(case)
    physics = build_physics(case)
    problem = build_problem(grid, physics)
    sv = case.values["solver"]
    method = "march" if restart is not None else sv["method"]
    f, info = solve_steady(problem, method=method, rtol=sv["rtol"], max_steps=sv["max_steps"],
                           state=restart, callback=callback)
    f = f.reshape(grid.shape)
    t1 = time.perf_counter()
    fields = compute_fields(grid, physics.model, f)
    balance = particle_balance(problem, f)
    mf = min_f(grid, f)
    probes = _probes(case, grid, physics.model, fields, f)
    timings = dict(problem.timings, compile_s=compile_s, solve_s=info.wall_s,
                   diagnostics_s=time.perf_counter() - t1, total_s=time.perf_counter() - t0)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    return Result(case, grid, f, info, fields, balance, mf, probes, timings, peak, problem=problem)
