"""The time series of a physical-time run: :class:`TimeSeriesResult`, its dataset description
(the HDF5 file and ``to_xarray()``), reading it back, and its summary text.  Writing (atomic, via
:func:`fpsolve.io._atomic`), checkpoints and the ``fpsolve run`` branch are in :mod:`fpsolve.transient`;
this module imports neither :mod:`fpsolve.io` nor :mod:`fpsolve.transient`, so that
:func:`fpsolve.io.read_result` can dispatch here without an import cycle.

Layout (root attribute ``kind = "timeseries"``; xarray-readable with ``engine="h5netcdf"``, every
dimension a dimension scale, CF ``units`` on every variable):

* coordinates ``time`` (output times, L/c), ``z``, ``mu``, ``p`` (cell centres, code units) and ``*_edges``, ``probe``
  (number; its ``description`` lists each probe's z and p) with the auxiliary coordinates ``probe_z``, ``probe_p``,
  ``step`` (accepted step number, integer); physical cases add ``time_yr``, ``z_pc``, ``p_tev`` (and edges),
  ``probe_z_pc``, ``probe_p_tev`` (units :data:`TS_UNITS`, long names on every variable);
* ``time_case (time)`` (the output times in the case's unit, yr for physical cases),
  ``F (time, z, p)`` (Eq. 5), ``f (time, z, mu, p)`` and ``f_slope (time, z, mu, p)`` (cell means
  and DG half-slopes; only when stored, see :mod:`fpsolve.transient`), ``moment_N``,
  ``moment_z``, ``moment_z2``, ``moment_zmu``, ``moment_mu``, ``moment_mu2 (time, p)``;
* probes: ``probe_amplitude_eq38 (probe)``, ``probe_F``,
  ``probe_delta``, ``probe_delta_da``, ``probe_amplitude``, ``probe_rel_err_da (time, probe)``,
  ``probe_g_over_F``, ``probe_g_da_over_F (time, probe, mu)``;
* per step: ``step_t``, ``step_dt``, ``step_error``, ``step_min_f``, ``step_max_f``, ``step_min_mean``,
  ``step_negative_cells``, ``step_stepped`` (integers), ``step_content``, ``step_injected``, ``step_lost``,
  ``step_balance_defect (step)``; ``stepped (z, mu, p)`` (int8: the cells switched to first-order upwind
  at the end, :mod:`fpsolve.transient`);
* attributes: ``kind``, ``completed`` and ``complete_in_time`` (0: a partial run, interrupted and written with
  ``--keep-partial``; ``t_reached``, ``t_reached_case``: where it stopped, ``t_end``: the end asked for,
  L/c and the case's unit), ``trustworthy``, ``case_text``, ``case_resolved``,
  ``case_source``, ``fpsolve_version``, ``summary``, ``balance_*``, ``info_*``, ``time_*``
  (timings), ``peak_memory_mb``, and ``complete`` (set last, :func:`fpsolve.io._atomic`).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import h5py
import numpy as np

from ._version import __version__
from .dataset import Description, Variable, internal, output, probe_label
from .timestepping import TimeInfo, TimeState

__all__ = ["TimeSeriesResult", "ProbeSeries", "TimeSeriesFormatError", "describe_timeseries", "to_xarray",
           "read_timeseries", "is_timeseries", "summary_text", "BALANCE_TOL", "NEGATIVE_TOL"]

KIND = "timeseries"
HISTORY = ("t", "dt", "error", "min_f", "max_f", "min_mean", "negative_cells", "stepped", "content", "injected", "lost",
           "balance_defect", "limiter_moved", "limiter_zeroed", "limiter_unrepaired", "limiter_beyond_tol")
#: per-step counts (integer variables in the file)
COUNTS = ("negative_cells", "stepped", "limiter_zeroed", "limiter_unrepaired", "limiter_beyond_tol")
MOMENTS = ("N", "z", "z2", "zmu", "mu", "mu2")


class TimeSeriesFormatError(ValueError):
    """Not an fpsolve time-series file, or an incomplete one."""


#: The time-integrated balance closes to round-off plus the solves' residual (SuperLU on these
#: matrices: ~1e-15 relative per step); 1e-10 relative to max(N(0) + injected) is the flag.
BALANCE_TOL = 1e-10
#: Files written before the per-step negative-cell count (``step_negative_cells``, the steady rule of
#: :func:`fpsolve.result.negative_cells`) are judged by ``min f < -NEGATIVE_TOL * max f``.
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
    stepped: np.ndarray | None = None  # (np, nz, nmu) bool: cells switched to first-order upwind (positivity)
    t_reached: float | None = None  # code units: where the integration stopped (None: the end, or the last output)
    kind = "timeseries"

    @property
    def time_unit(self) -> tuple[str, float]:
        """(name, code units per case unit): ("yr", L/c per yr) for physical cases, else ("L/c", 1)."""
        return self.case.time_unit()

    @property
    def t_end(self) -> float:
        """The end of the run (``[time] end``), code units."""
        return float(self.case.time(self.case.transient.end))

    @property
    def reached(self) -> float:
        """The time the integration reached, code units (a partial run: where it stopped)."""
        if self.t_reached is not None:
            return float(self.t_reached)
        return self.t_end if self.info.completed else (float(self.times[-1]) if self.times.size else 0.0)

    @property
    def partial(self) -> bool:
        """Stopped before ``[time] end`` (an interrupted run written with ``--keep-partial``)."""
        return not self.info.completed

    def stop_text(self, counts: bool = True) -> str:
        """``PARTIAL: stopped at t = X of end Y`` (case units); ``counts``: with the outputs and steps reached."""
        unit, per = self.time_unit
        return (f"PARTIAL: stopped at t = {self.reached / per:.6g} {unit} of end {self.t_end / per:.6g} {unit}"
                + (f" ({self.times.size} outputs, {int(self.info.accepted)} steps)" if counts else ""))

    @property
    def balance_ok(self) -> bool:
        return abs(self.balance.get("relative", np.inf)) <= BALANCE_TOL

    @property
    def negative_f(self) -> bool:
        """Some cell mean below minus its discretisation-error estimate and the step's error tolerance
        at some step (the steady rule, :func:`fpsolve.result.negative_cells`; older files:
        ``min f < -NEGATIVE_TOL max f``)."""
        if "negative_cells" in self.history:
            return bool(np.any(np.asarray(self.history["negative_cells"]) > 0))
        lo, hi = np.asarray(self.history.get("min_f", [0.0])), np.asarray(self.history.get("max_f", [1.0]))
        return bool(lo.size and np.min(lo / np.maximum(hi, 1e-300)) < -NEGATIVE_TOL)

    @property
    def fixup_cells(self) -> int:
        """The most cells first-order upwind at one step (the positivity fix-up; 0: DG-1 throughout)."""
        st = np.asarray(self.history.get("stepped", []))
        return int(st.max()) if st.size else 0

    @property
    def limiter_moved(self) -> tuple[float, float]:
        """(total, largest at one step) content moved by the positivity limiter, relative to the
        particle content at that step (0, 0: it never acted or was off)."""
        m = np.asarray(self.history.get("limiter_moved", []))
        return (float(m.sum()), float(m.max())) if m.size else (0.0, 0.0)

    @property
    def limiter_unrepaired(self) -> int:
        """Steps at which the limiter met a momentum plane of negative content (left negative)."""
        u = np.asarray(self.history.get("limiter_unrepaired", []))
        return int(np.sum(u > 0)) if u.size else 0

    @property
    def limiter_acted(self) -> int:
        """Steps at which the positivity limiter changed a mean by more than round-off and the
        step's absolute error tolerance (``-(1e-13 max f + atol)``).  The limiter makes every output
        admissible (f >= 0, |delta| <= 1); it is never a source of trust: each step's own result
        then passes the steady rule (measured: the quick nearby_source_burst, 150 z cells, whose
        early-time F at the Sun is 1e3 x the resolved run's, had no mean beyond its error estimate
        at any step with the limiter on, 48 without), so a run is vouched for only if the limiter
        acted at round-off level."""
        u = np.asarray(self.history.get("limiter_beyond_tol", []))
        return int(np.sum(u > 0)) if u.size else 0

    @property
    def trustworthy(self) -> bool:
        """Completed, balance closed to BALANCE_TOL, no cell mean negative beyond its error estimate
        at any step (:attr:`negative_f`), and second order everywhere: a run in which the positivity
        fix-up switched cells to first-order upwind is not vouched for (:attr:`fixup_cells`; measured:
        a burst on a coarse grid, dz = 4 lambda, came out 30% to 3.8x off in F at the probe while
        positive; the fix-up is opt-in, ``[time] positivity_fixup``)."""
        return bool(self.info.completed and self.balance_ok and not self.negative_f and self.fixup_cells == 0
                    and self.limiter_unrepaired == 0 and self.limiter_acted == 0)

    def flags(self) -> list[str]:
        """Why the run is not vouched for, most basic first (empty when :attr:`trustworthy`)."""
        return [x for x, bad in ((self.stop_text(), not self.info.completed), ("balance not closed", not self.balance_ok),
                                 ("negative f", self.negative_f),
                                 ("first-order fix-up acted", self.fixup_cells > 0),
                                 ("limiter could not repair a plane", self.limiter_unrepaired > 0),
                                 ("positivity limiter acted beyond tolerance", self.limiter_acted > 0)) if bad]

    def trust_failures(self) -> list[str]:
        """As :meth:`flags` (the name :func:`fpsolve.cli.verdict` asks steady results for)."""
        return self.flags()

    def summary(self) -> str:
        return self.stored_summary or summary_text(self)

    def to_xarray(self):
        """The time series as an ``xarray.Dataset`` (the root group of the file, :mod:`fpsolve.timeseries`)."""
        return to_xarray(self)




def _time_first(a):
    """(nt, np, z, mu) internal per output -> (time, z, mu, p)."""
    return np.ascontiguousarray(np.stack([output(x) for x in a])) if len(a) else np.zeros((0,))


#: CF ``units`` and ``long_name`` of the time-series variables (code units as :data:`fpsolve.dataset.UNITS`:
#: f and F in the normalisation of the source, "1"; a number of particles ``int dz sum dmu/2 f`` in L,
#: the content ``1^T M f`` (with ``int p^2 dp``) in L (m c)3).
TS_UNITS = {
    "time": ("L/c", "output time"), "time_case": (None, "output time in the case's unit"),
    "step": ("1", "accepted step number"), "probe": ("1", "probe number (probe_z, probe_p: where)"),
    "probe_z": ("L", "probe position z"), "probe_p": ("m c", "probe momentum p"),
    "F": ("1", "isotropic part F, Eq. (5), cell means"), "f": ("1", "distribution f0 (cell means)"),
    "f_slope": ("1", "half-slope of f0 in z"),
    "stepped": ("1", "cell switched to first-order upwind (positivity fix-up), 1 = yes"),
    "moment_N": ("L", "particle number of the momentum plane, int dz sum dmu/2 f"),
    "moment_z": ("L", "mean position <z>"), "moment_z2": ("L2", "mean square position <z^2>"),
    "moment_zmu": ("L", "<z mu>"), "moment_mu": ("1", "<mu>"), "moment_mu2": ("1", "<mu^2>"),
    "probe_amplitude_eq38": ("1", "streaming amplitude of Eq. (38), -(4-s) kappa_zz/v"),
    "probe_F": ("1", "isotropic part F at the probe"),
    "probe_delta": ("1", "maximum anisotropy delta (Eq. 11), kinetic, signed"),
    "probe_delta_da": ("1", "maximum anisotropy delta (Eq. 11) of the diffusion approximation (Eq. 7)"),
    "probe_amplitude": ("1", "kinetic streaming amplitude (Eq. 38 shape fit of g/F over F'/F)"),
    "probe_rel_err_da": ("1", "max|g - g_DA|/max|g_DA| at the probe"),
    "probe_g_over_F": ("1", "kinetic anisotropy g(mu)/F at the probe"),
    "probe_g_da_over_F": ("1", "diffusion-approximation anisotropy g_DA(mu)/F (Eq. 7, kinetic gradients)"),
    "step_t": ("L/c", "time at the end of the step"), "step_dt": ("L/c", "step size"),
    "step_error": ("1", "local error estimate / tolerance (accepted: <= 1)"),
    "step_min_f": ("1", "smallest transported value of f (cell means and outflow traces)"),
    "step_max_f": ("1", "largest transported value of f"), "step_min_mean": ("1", "smallest cell mean of f"),
    "step_negative_cells": ("1", "cell means negative beyond their error estimate (trust flag)"),
    "step_stepped": ("1", "cells switched to first-order upwind during the step"),
    "step_limiter_moved": ("1", "content moved by the positivity limiter at the step / particle content"),
    "step_limiter_zeroed": ("1", "cell means set to zero by the positivity limiter at the step"),
    "step_limiter_unrepaired": ("1", "momentum planes the limiter could not make positive (negative content)"),
    "step_limiter_beyond_tol": ("1", "means the limiter changed by more than round-off and the step's atol (trust flag)"),
    "step_content": ("L (m c)3", "particle content 1^T M f"),
    "step_injected": ("L (m c)3", "particles injected since t = 0"),
    "step_lost": ("L (m c)3", "particles escaped or lost since t = 0"),
    "step_balance_defect": ("L (m c)3", "N(0) + injected - lost - N(t)"),
}


def _a(name, doc=None, units=None):
    u, long_name = TS_UNITS[name]
    out = {"units": units or u, "long_name": long_name}
    if doc:
        out["description"] = doc
    return out


def describe_timeseries(r) -> Description:
    """Coordinates, variables and attributes of a :class:`~fpsolve.transient.TimeSeriesResult`
    (CF ``units`` and ``long_name`` everywhere; physical cases carry ``time_yr``, ``z_pc``, ``p_tev``,
    ``probe_z_pc``, ``probe_p_tev`` as auxiliary coordinates, as the steady dataset)."""
    from .dataset import UNITS, physical_scales

    g = r.grid
    unit, per = r.time_unit
    nt = r.times.size
    coords = [Variable("time", ("time",), np.asarray(r.times, float), _a("time"))]
    for name, c, e in (("mu", g.mu, g.mu_edges), ("p", g.p, g.p_edges)) + \
            (() if g.homogeneous else (("z", g.z, g.z_edges),)):
        for nm, data in ((name, c), (f"{name}_edges", e)):
            coords.append(Variable(nm, (nm,), np.asarray(data, float), {"units": UNITS[nm][0], "long_name": UNITS[nm][1]}))
    zd = () if g.homogeneous else ("z",)
    var0 = [Variable("time_case", ("time",), np.asarray(r.times, float) / per, _a("time_case", units=unit))]
    nstep = len(r.history.get("t", []))
    coords.append(Variable("step", ("step",), np.arange(1, nstep + 1, dtype=np.int64), _a("step")))
    P = r.probes
    if P:
        labels = "; ".join(f"{j}: z = {x.z:.6g} L, p = {x.p:.6g} m c" for j, x in enumerate(P))
        coords += [Variable("probe", ("probe",), np.arange(len(P), dtype=np.int64), _a("probe", labels)),
                   Variable("probe_z", ("probe",), np.array([x.z for x in P], float), _a("probe_z")),
                   Variable("probe_p", ("probe",), np.array([x.p for x in P], float), _a("probe_p"))]
    scales = physical_scales(r.case)
    if scales is not None:
        pc, tev = scales
        coords.append(Variable("time_yr", ("time",), np.asarray(r.times, float) / per, {"units": "yr", "long_name": "output time"}))
        extra = [("p", g.p, g.p_edges, tev, "tev", "TeV/c")] + ([] if g.homogeneous else [("z", g.z, g.z_edges, pc, "pc", "pc")])
        for name, c, e, k, suffix, u in extra:
            coords.append(Variable(f"{name}_{suffix}", (name,), np.asarray(c, float) * k, {"units": u, "long_name": UNITS[name][1]}))
            coords.append(Variable(f"{name}_edges_{suffix}", (f"{name}_edges",), np.asarray(e, float) * k,
                                   {"units": u, "long_name": UNITS[f"{name}_edges"][1]}))
        if P:
            coords.append(Variable("probe_z_pc", ("probe",), np.array([x.z for x in P], float) * pc,
                                   {"units": "pc", "long_name": "probe position z"}))
            coords.append(Variable("probe_p_tev", ("probe",), np.array([x.p for x in P], float) * tev,
                                   {"units": "TeV/c", "long_name": "probe momentum p"}))
    var = var0 + [Variable("F", ("time",) + zd + ("p",), _time_first(r.F) if nt else np.zeros((0,) + (g.nz,) * bool(zd) + (g.np_,)),
                           _a("F"))]
    if r.f is not None and nt:
        if g.homogeneous:
            var.append(Variable("f", ("time", "mu", "p"), _time_first(r.f), _a("f")))
        else:
            var.append(Variable("f", ("time", "z", "mu", "p"), _time_first(r.f[..., 0]), _a("f")))
            var.append(Variable("f_slope", ("time", "z", "mu", "p"), _time_first(r.f[..., 1]),
                                _a("f_slope", "half-slope b of f = a + b xi, xi = 2(z - z_i)/dz")))
    for k in MOMENTS:
        if k in r.moments:
            var.append(Variable(f"moment_{k}", ("time", "p"), np.asarray(r.moments[k], float).reshape(nt, g.np_),
                                _a(f"moment_{k}", "of each momentum plane (mu: the cell centres)")))
    if P:
        var.append(Variable("probe_amplitude_eq38", ("probe",), np.array([x.amplitude_eq38 for x in P]),
                            _a("probe_amplitude_eq38")))
        for name, attr in (("F", "F"), ("delta", "delta"), ("delta_da", "delta_da"), ("amplitude", "amplitude"),
                           ("rel_err_da", "rel_err_da")):
            var.append(Variable(f"probe_{name}", ("time", "probe"), np.stack([getattr(x, attr) for x in P], axis=1),
                                _a(f"probe_{name}")))
        for name, attr in (("g_over_F", "g_over_F"), ("g_da_over_F", "g_da_over_F")):
            var.append(Variable(f"probe_{name}", ("time", "probe", "mu"), np.stack([getattr(x, attr) for x in P], axis=1),
                                _a(f"probe_{name}")))
    for k in HISTORY:
        if k in r.history:
            var.append(Variable(f"step_{k}", ("step",), np.asarray(r.history[k], np.int64 if k in COUNTS else float),
                                _a(f"step_{k}")))
    if r.stepped is not None and not g.homogeneous:
        var.append(Variable("stepped", ("z", "mu", "p"), output(np.asarray(r.stepped, dtype=float)).astype(np.int8),
                            _a("stepped")))
    case, info = r.case, r.info
    attrs = {"kind": KIND, "completed": int(info.completed), "trustworthy": int(r.trustworthy),
             "case_text": case.text, "case_resolved": case.resolved_text(), "case_source": str(case.origin),
             "fpsolve_version": str(r.version), "summary": r.summary(), "peak_memory_mb": float(r.peak_memory_mb),
             "time_unit": unit, "time_unit_in_code": per,
             # a partial run (``--keep-partial``, interrupted): complete_in_time = 0 and where it stopped
             "complete_in_time": int(info.completed), "t_reached": r.reached, "t_reached_case": r.reached / per,
             "t_end": r.t_end}
    attrs.update({f"balance_{k}": float(v) for k, v in r.balance.items()})
    attrs.update({f"info_{k}": getattr(info, k) for k in ("accepted", "rejected", "positivity_rejected",
                                                          "negative_steps", "fixup_resolves", "factorizations", "wall_s",
                                                          "message")})
    attrs.update({f"time_{k}": float(v) for k, v in r.timings.items()})
    return Description(coords, var, attrs)


def to_xarray(r):
    import xarray as xr

    d = describe_timeseries(r)
    return xr.Dataset({v.name: (v.dims, v.data, v.attrs) for v in d.variables},
                      coords={c.name: (c.dims, c.data, c.attrs) for c in d.coords}, attrs=d.attrs)


def _open(path):
    """The file, if complete (the ``complete`` attribute is set last by the atomic writer)."""
    try:
        h5 = h5py.File(path, "r")
    except OSError as err:
        raise TimeSeriesFormatError(f"{path}: not an HDF5 file ({err})") from None
    if not h5.attrs.get("complete", False):
        h5.close()
        raise TimeSeriesFormatError(f"{path}: incomplete file (the writer did not finish); not used")
    return h5


def is_timeseries(path) -> bool:
    try:
        with h5py.File(path, "r") as h5:
            return h5.attrs.get("kind") == KIND
    except OSError:
        return False


def read_timeseries(path):
    """A time-series file back into a :class:`~fpsolve.transient.TimeSeriesResult`
    (``problem``/``state`` None; ``summary()`` is the stored one)."""
    from .case import parse_case
    from .grid import Grid

    with _open(path) as h5:
        if h5.attrs.get("kind") != KIND:
            raise TimeSeriesFormatError(f"{path}: not an fpsolve time-series file")
        a = h5.attrs
        case = replace(parse_case(str(a["case_resolved"]), str(a["case_source"])), text=str(a["case_text"]))
        homogeneous = "z" not in h5
        grid = Grid(None if homogeneous else h5["z_edges"][...], h5["mu_edges"][...], h5["p_edges"][...])
        times = h5["time"][...]

        def back(x):  # (time, z, mu, p) -> (nt, p, z, mu)
            return np.stack([internal(v) for v in x]) if len(x) else x

        F = back(h5["F"][...])
        f = None
        if "f" in h5:
            f = back(h5["f"][...])
            if not homogeneous:
                f = np.stack([f, back(h5["f_slope"][...])], axis=-1)
        moments = {k: h5[f"moment_{k}"][...] for k in MOMENTS if f"moment_{k}" in h5}
        probes = []
        if "probe" in h5:
            for i in range(h5["probe"].shape[0]):
                probes.append(ProbeSeries(float(h5["probe_z"][i]), float(h5["probe_p"][i]), h5["probe_F"][:, i],
                                          h5["probe_g_over_F"][:, i, :], h5["probe_g_da_over_F"][:, i, :],
                                          h5["probe_delta"][:, i], h5["probe_delta_da"][:, i],
                                          h5["probe_amplitude"][:, i], float(h5["probe_amplitude_eq38"][i]),
                                          h5["probe_rel_err_da"][:, i]))
        history = {k: h5[f"step_{k}"][...] for k in HISTORY if f"step_{k}" in h5}
        stepped = internal(h5["stepped"][...]).astype(bool) if "stepped" in h5 else None

        def pick(prefix):
            return {k[len(prefix):]: (v.item() if hasattr(v, "item") else v) for k, v in a.items() if k.startswith(prefix)}

        inf = pick("info_")
        info = TimeInfo(accepted=int(inf["accepted"]), rejected=int(inf["rejected"]),
                        positivity_rejected=int(inf["positivity_rejected"]), negative_steps=int(inf["negative_steps"]),
                        factorizations=int(inf["factorizations"]), wall_s=float(inf["wall_s"]),
                        fixup_resolves=int(inf.get("fixup_resolves", 0)),
                        completed=bool(a["completed"]), message=str(inf["message"]))
        return TimeSeriesResult(case, grid, times, F, f, moments, probes, history, pick("balance_"), info,
                                {k: v for k, v in pick("time_").items() if k not in ("unit", "unit_in_code")},
                                float(a["peak_memory_mb"]), str(a["fpsolve_version"]),
                                stored_summary=str(a.get("summary", "")), stepped=stepped,
                                t_reached=float(a["t_reached"]) if "t_reached" in a else None)




# --- summary ----------------------------------------------------------------------------------
def summary_text(r: TimeSeriesResult) -> str:
    """The run summary: grid, steps, balance, min f, probes at a few output times."""
    unit, per = r.time_unit
    g = r.grid
    h = r.history
    lines = [f"physical-time run: {'homogeneous' if g.homogeneous else f'{g.nz} z'} x {g.nmu} mu x {g.np_} p cells",
             (f"  TR-BDF2 to t = {r.times[-1] / per if r.times.size else float('nan'):.6g} {unit}: completed, "
              if r.info.completed else f"  TR-BDF2, {r.stop_text(counts=False)}, {r.times.size} outputs: ")
             + f"{int(r.info.accepted)} steps "
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
        text = f"  min f / max f over the steps: {ratio:.3e} (transported values)"
        if "min_mean" in h:
            mm = np.asarray(h["min_mean"]) / np.maximum(h["max_f"], 1e-300)
            nbad = np.asarray(h["negative_cells"])
            text += (f"; min cell mean / max f {np.min(mm):.3e}"
                     + (" (each step's own result, before the limiter)" if "limiter_moved" in h else "")
                     + "; cell means negative beyond their error estimate: "
                     f"{int(np.max(nbad))} (at {int(np.sum(nbad > 0))} steps)")
        lines.append(text + ("   ** NEGATIVE **" if r.negative_f else ""))
    if h.get("stepped", np.array([])).size:
        total = g.np_ * g.nz * g.nmu
        lines.append(f"  positivity fix-up: up to {r.fixup_cells} of {total} cells first-order upwind at one step "
                     f"({int(h['stepped'][-1])} at the end; {int(getattr(r.info, 'fixup_resolves', 0))} steps "
                     "recomputed)" + ("   ** FIRST ORDER WHERE IT ACTED: not vouched for (compare with "
                                      "positivity_fixup = false, or refine z until no cell is switched) **"
                                      if r.fixup_cells else ""))
    if h.get("limiter_moved", np.array([])).size:
        tot, big = r.limiter_moved
        nact = int(np.sum(np.asarray(h["limiter_moved"]) > 0))
        lines.append(f"  positivity limiter: acted at {nact} of {h['limiter_moved'].size} steps, moved {tot:.2e} of the "
                     f"content in all (at most {big:.2e} at one step; "
                     f"{int(np.max(h['limiter_zeroed']))} means zeroed at most)"
                     + (f"   ** {r.limiter_unrepaired} steps with a plane of negative content **"
                        if r.limiter_unrepaired else "")
                     + (f"   ** it changed means beyond the step's tolerance at {r.limiter_acted} steps: the "
                        "undershoot of an unresolved front, not vouched for (refine z) **" if r.limiter_acted else ""))
    for pr in r.probes:
        lines.append(f"  probe {probe_label(r.case, pr.z, pr.p)}:      t [{unit}]          F     delta  delta_DA(Eq.7)  "
                     f"amplitude (Eq. 38: {pr.amplitude_eq38:.4g}; nan: F below 100 atol, not resolved)")
        idx = sorted(set(np.linspace(0, r.times.size - 1, min(6, r.times.size)).astype(int)))
        for i in idx:
            lines.append(f"      {r.times[i] / per:16.6g} {pr.F[i]:12.5g} {pr.delta[i]:9.4g} {pr.delta_da[i]:12.4g}"
                         f"     {pr.amplitude[i]:.4g}")
    lines.append(f"  wall: {r.timings.get('total_s', 0.0):.2f} s (integration {r.info.wall_s:.2f} s), "
                 f"peak memory {r.peak_memory_mb:.0f} MB; f stored at the outputs: {'yes' if r.f is not None else 'no'}")
    if not r.trustworthy:
        lines.append("  ** NOT TRUSTWORTHY: " + ", ".join(r.flags()) + " **")
    return "\n".join(lines)
