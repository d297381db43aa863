"""HDF5 files of physical-time runs (:class:`fpsolve.transient.TimeSeriesResult`), their
checkpoints, and the ``fpsolve run`` branch for cases with ``[time]``.

Layout (root attribute ``kind = "timeseries"``; xarray-readable with ``engine="h5netcdf"``, every
dimension a dimension scale, CF ``units`` on every variable):

* coordinates ``time`` (output times, L/c), ``z``, ``mu``, ``p`` (cell centres, code units) and ``*_edges``, ``probe``
  (index), ``step`` (accepted step number);
* ``time_case (time)`` (the output times in the case's unit, yr for physical cases),
  ``F (time, z, p)`` (Eq. 5), ``f (time, z, mu, p)`` and ``f_slope (time, z, mu, p)`` (cell means
  and DG half-slopes; only when stored, see :mod:`fpsolve.transient`), ``moment_N``,
  ``moment_z``, ``moment_z2``, ``moment_zmu``, ``moment_mu``, ``moment_mu2 (time, p)``;
* probes: ``probe_z``, ``probe_p``, ``probe_amplitude_eq38 (probe)``, ``probe_F``,
  ``probe_delta``, ``probe_delta_da``, ``probe_amplitude``, ``probe_rel_err_da (time, probe)``,
  ``probe_g_over_F``, ``probe_g_da_over_F (time, probe, mu)``;
* per step: ``step_t``, ``step_dt``, ``step_error``, ``step_min_f``, ``step_max_f``,
  ``step_content``, ``step_injected``, ``step_lost``, ``step_balance_defect (step)``;
* attributes: ``kind``, ``completed``, ``trustworthy``, ``case_text``, ``case_resolved``,
  ``case_source``, ``fpsolve_version``, ``summary``, ``balance_*``, ``info_*``, ``time_*``
  (timings), ``peak_memory_mb``, and ``complete`` (set last, :func:`fpsolve.io._atomic`).
"""
from __future__ import annotations

import sys
import time as _time
from dataclasses import replace
from pathlib import Path

import h5py
import numpy as np

from ._version import __version__
from .dataset import Description, Variable, internal, output
from .io import FileFormatError, _atomic, _open_valid, _write_description

__all__ = ["describe_timeseries", "to_xarray", "write_timeseries", "read_timeseries", "is_timeseries",
           "write_time_checkpoint", "read_time_checkpoint", "run_cli"]

KIND = "timeseries"
CHECKPOINT_KIND = "time_checkpoint"
HISTORY = ("t", "dt", "error", "min_f", "max_f", "content", "injected", "lost", "balance_defect")
MOMENTS = ("N", "z", "z2", "zmu", "mu", "mu2")


def _time_first(a):
    """(nt, np, z, mu) internal per output -> (time, z, mu, p)."""
    return np.ascontiguousarray(np.stack([output(x) for x in a])) if len(a) else np.zeros((0,))


def describe_timeseries(r) -> Description:
    """Coordinates, variables and attributes of a :class:`~fpsolve.transient.TimeSeriesResult`."""
    g = r.grid
    unit, per = r.time_unit
    nt = r.times.size
    coords = [Variable("time", ("time",), np.asarray(r.times, float), {"units": "L/c", "long_name": "output time"})]
    for name, c, e, u in (("mu", g.mu, g.mu_edges, "1"), ("p", g.p, g.p_edges, "m c")) + \
            (() if g.homogeneous else (("z", g.z, g.z_edges, "L"),)):
        coords.append(Variable(name, (name,), np.asarray(c, float), {"units": u}))
        coords.append(Variable(f"{name}_edges", (f"{name}_edges",), np.asarray(e, float), {"units": u}))
    zd = () if g.homogeneous else ("z",)
    var0 = [Variable("time_case", ("time",), np.asarray(r.times, float) / per, {"units": unit,
                                                                             "description": "output time, case unit"})]
    nstep = len(r.history.get("t", []))
    coords.append(Variable("step", ("step",), np.arange(1, nstep + 1, dtype=float), {"units": "1"}))
    if r.probes:
        coords.append(Variable("probe", ("probe",), np.arange(len(r.probes), dtype=float), {"units": "1"}))
    var = var0 + [Variable("F", ("time",) + zd + ("p",), _time_first(r.F) if nt else np.zeros((0,) + (g.nz,) * bool(zd) + (g.np_,)),
                    {"units": "code (per L dmu/2 (m c)^3)", "description": "isotropic part, Eq. (5), cell means"})]
    if r.f is not None and nt:
        if g.homogeneous:
            var.append(Variable("f", ("time", "mu", "p"), _time_first(r.f), {"units": "code", "description": "f"}))
        else:
            var.append(Variable("f", ("time", "z", "mu", "p"), _time_first(r.f[..., 0]),
                                {"units": "code", "description": "cell means of f0(z, mu, p)"}))
            var.append(Variable("f_slope", ("time", "z", "mu", "p"), _time_first(r.f[..., 1]),
                                {"units": "code", "description": "half-slope b of f = a + b xi"}))
    for k in MOMENTS:
        if k in r.moments:
            u = {"N": "code", "z": "L", "z2": "L^2", "zmu": "L"}.get(k, "1")
            var.append(Variable(f"moment_{k}", ("time", "p"), np.asarray(r.moments[k], float).reshape(nt, g.np_),
                                {"units": u, "description": f"<{k}> of each momentum plane (N: number)"}))
    if r.probes:
        P = r.probes
        var += [Variable("probe_z", ("probe",), np.array([x.z for x in P]), {"units": "L"}),
                Variable("probe_p", ("probe",), np.array([x.p for x in P]), {"units": "m c"}),
                Variable("probe_amplitude_eq38", ("probe",), np.array([x.amplitude_eq38 for x in P]),
                         {"units": "1", "description": "-(4-s) kappa_zz/v, Eq. (38)"})]
        for name, attr, u, doc in (("F", "F", "code", "F at the probe"),
                                   ("delta", "delta", "1", "kinetic Eq. (11), signed"),
                                   ("delta_da", "delta_da", "1", "Eq. (11) of F + g_DA (Eq. 7, kinetic gradients)"),
                                   ("amplitude", "amplitude", "1", "Eq. (38) shape fit of g/F over F'/F"),
                                   ("rel_err_da", "rel_err_da", "1", "max|g - g_DA|/max|g_DA|")):
            var.append(Variable(f"probe_{name}", ("time", "probe"), np.stack([getattr(x, attr) for x in P], axis=1),
                                {"units": u, "description": doc}))
        for name, attr in (("g_over_F", "g_over_F"), ("g_da_over_F", "g_da_over_F")):
            var.append(Variable(f"probe_{name}", ("time", "probe", "mu"), np.stack([getattr(x, attr) for x in P], axis=1),
                                {"units": "1"}))
    units = {"t": "L/c", "dt": "L/c", "error": "1", "min_f": "code", "max_f": "code", "content": "code",
             "injected": "code", "lost": "code", "balance_defect": "code"}
    for k in HISTORY:
        if k in r.history:
            var.append(Variable(f"step_{k}", ("step",), np.asarray(r.history[k], float), {"units": units[k]}))
    case, info = r.case, r.info
    attrs = {"kind": KIND, "completed": int(info.completed), "trustworthy": int(r.trustworthy),
             "case_text": case.text, "case_resolved": case.resolved_text(), "case_source": str(case.origin),
             "fpsolve_version": str(r.version), "summary": r.summary(), "peak_memory_mb": float(r.peak_memory_mb),
             "time_unit": unit, "time_unit_in_code": per}
    attrs.update({f"balance_{k}": float(v) for k, v in r.balance.items()})
    attrs.update({f"info_{k}": getattr(info, k) for k in ("accepted", "rejected", "positivity_rejected",
                                                          "negative_steps", "factorizations", "wall_s", "message")})
    attrs.update({f"time_{k}": float(v) for k, v in r.timings.items()})
    return Description(coords, var, attrs)


def to_xarray(r):
    import xarray as xr

    d = describe_timeseries(r)
    return xr.Dataset({v.name: (v.dims, v.data, v.attrs) for v in d.variables},
                      coords={c.name: (c.dims, c.data, c.attrs) for c in d.coords}, attrs=d.attrs)


def write_timeseries(r, path) -> Path:
    """Write a time-series result atomically (temporary name, ``complete`` last, rename)."""
    d = describe_timeseries(r)
    return _atomic(path, lambda h5: _write_description(h5, d))


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
    from .timestepping import TimeInfo
    from .transient import ProbeSeries, TimeSeriesResult

    with _open_valid(path) as h5:
        if h5.attrs.get("kind") != KIND:
            raise FileFormatError(f"{path}: not an fpsolve time-series file")
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

        def pick(prefix):
            return {k[len(prefix):]: (v.item() if hasattr(v, "item") else v) for k, v in a.items() if k.startswith(prefix)}

        inf = pick("info_")
        info = TimeInfo(accepted=int(inf["accepted"]), rejected=int(inf["rejected"]),
                        positivity_rejected=int(inf["positivity_rejected"]), negative_steps=int(inf["negative_steps"]),
                        factorizations=int(inf["factorizations"]), wall_s=float(inf["wall_s"]),
                        completed=bool(a["completed"]), message=str(inf["message"]))
        return TimeSeriesResult(case, grid, times, F, f, moments, probes, history, pick("balance_"), info,
                                pick("time_"), float(a["peak_memory_mb"]), str(a["fpsolve_version"]),
                                stored_summary=str(a.get("summary", "")))


# --- checkpoints ------------------------------------------------------------------------------
def write_time_checkpoint(path, state, collected: dict, case_hash: str, case_text: str) -> Path:
    """A :class:`~fpsolve.timestepping.TimeState` and the outputs collected so far."""
    def fill(h5):
        h5.create_dataset("y", data=state.y)
        for k, v in state.history.items():
            h5.create_dataset(f"history/{k}", data=np.asarray(v, dtype=float))
        for k, v in collected.items():
            h5.create_dataset(f"collected/{k}", data=np.stack(v) if len(v) else np.zeros(0))
        g = h5.require_group("integrals")
        for k, v in state.integrals.items():
            g.attrs[k] = v
        h5.attrs.update(t=state.t, h=state.h, step=state.step, next_output=state.next_output, case_hash=case_hash,
                        case_text=case_text, fpsolve_version=__version__, kind=CHECKPOINT_KIND)

    return _atomic(path, fill)


def read_time_checkpoint(path, case_hash: str):
    """``(TimeState, collected)`` of a checkpoint of the same case."""
    from .timestepping import TimeState

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
                          integrals, history)
        return state, collected


# --- the command line branch ------------------------------------------------------------------
def run_cli(args, case) -> int:
    """``fpsolve run CASE`` for a case with ``[time]``: integrate, print the summary, write the
    time series (and PNG figures with ``--plot``); checkpoints with ``--checkpoint-every N``
    (accepted steps) / ``--checkpoint-minutes M``, ``--restart CHECKPOINT``."""
    from .transient import run_transient

    out = Path(args.output) if args.output else Path(Path(args.case).stem + ".h5")
    key = case.digest(solver=False)
    restart = read_time_checkpoint(args.restart, key) if args.restart else None
    every, minutes = getattr(args, "checkpoint_every", 0), getattr(args, "checkpoint_minutes", 0.0)
    ck = Path(args.checkpoint) if getattr(args, "checkpoint", None) else out.with_suffix(".checkpoint.h5")
    last = [_time.monotonic()]
    stop_after = getattr(args, "stop_after_steps", 0)  # tests: simulate an interrupted run

    def callback(state, collected):
        due = (every and state.step % every == 0) or (minutes and _time.monotonic() - last[0] >= 60 * minutes)
        if due or (stop_after and state.step >= stop_after):
            write_time_checkpoint(ck, state, collected, key, case.resolved_text())
            last[0] = _time.monotonic()
        return bool(stop_after and state.step >= stop_after)

    r = run_transient(case, restart=restart, callback=callback if (every or minutes or stop_after) else None)
    if not r.info.completed:
        print(f"stopped at t = {r.state.t:.6g} L/c after {r.state.step} steps; checkpoint {ck}")
        return 3
    print(r.summary())
    write_timeseries(r, out)
    print(f"wrote {out}" + ("" if r.trustworthy else "   (flagged: not trustworthy, see above)"), file=sys.stdout)
    if getattr(args, "plot", False):
        from .plot_time import time_figures

        for png in time_figures(r, out.with_suffix("")):
            print(f"wrote {png}")
    return 0
