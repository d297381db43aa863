"""HDF5 output: the dataset of :func:`fpsolve.dataset.describe` (fields with named dimensions
(z, mu, p), the case and version), plus a ``/diagnostics`` group.

Layout (all datasets float64):

* ``/z``, ``/mu``, ``/p`` (cell centres; HDF5 dimension scales) and ``/z_edges``, ``/mu_edges``,
  ``/p_edges``;
* fields ``f (z, mu, p)`` (cell means), ``f_slope (z, mu, p)`` (half-slope of the linear-
  discontinuous representation), ``F (z, p)``, ``g (z, mu, p)``, ``g_da (z, mu, p)`` (Eq. 7 with
  the numerical gradients), ``delta (z, p)`` (Eq. 11, signed), ``streaming_flux (z, p)``,
  ``dF_dz (z, p)``, ``dF_dp (z, p)`` — without the ``z`` axis for homogeneous problems;
* ``/diagnostics``: ``residual_history``, ``pseudo_time_steps``, attributes for the balance,
  min f, timings and solver; root attributes ``converged``, ``trustworthy``, ``case_text``,
  ``case_resolved``, ``fpsolve_version``, ``method``, ``rtol``, ``summary``.

The root group is exactly ``Result.to_xarray()`` (one description, :mod:`fpsolve.dataset`):
``xarray.open_dataset(path, engine="h5netcdf")`` reads it back equal, apart from ``complete``.
The file is written to a temporary name in the target folder (``.NAME.*.tmp``) and renamed on
success, so a crash never leaves a partial file under the requested name; the root attribute
``complete`` is set last, so even a leftover temporary file never reads as valid
(:func:`read_result` refuses it).  Checkpoints of the pseudo-time march use the same route.
"""
from __future__ import annotations

import os
import tempfile
from dataclasses import replace
from pathlib import Path

import h5py
import numpy as np

from .dataset import FIELDS, describe, internal

__all__ = ["write_result", "read_result", "write_checkpoint", "read_checkpoint", "FileFormatError"]


class FileFormatError(ValueError):
    """Not an fpsolve file, or an incomplete one."""


def _atomic(path: Path, fill):
    """Write via ``fill(h5)`` into a temporary file next to ``path``, mark complete, rename."""
    path = Path(path)
    for stale in path.parent.glob(f".{path.name}.*.tmp"):  # leftovers of killed writers
        stale.unlink(missing_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or ".")
    os.close(fd)
    try:
        with h5py.File(tmp, "w") as h5:
            h5.attrs["complete"] = False
            fill(h5)
            h5.attrs["complete"] = True
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def _write_description(h5, d) -> None:
    """Coordinates as dimension scales (each its own dimension), variables attached to them, attributes."""
    scales = {}
    for c in d.coords:
        ds = h5.create_dataset(c.name, data=c.data)
        ds.make_scale(c.name)
        scales[c.name] = ds
    for v in d.variables:
        ds = h5.create_dataset(v.name, data=v.data)
        for axis, dim in enumerate(v.dims):
            ds.dims[axis].attach_scale(scales[dim])
        ds.attrs.update(v.attrs)
    h5.attrs.update(d.attrs)


def write_result(result, path) -> Path:
    """Write a :class:`~fpsolve.result.Result` atomically to ``path`` (HDF5)."""
    description = describe(result)

    def fill(h5):
        _write_description(h5, description)
        info = result.info
        diag = h5.create_group("diagnostics")
        diag.create_dataset("residual_history", data=np.asarray(info.residual_history, dtype=float))
        diag.create_dataset("pseudo_time_steps", data=np.asarray(info.pseudo_time_steps, dtype=float))
        diag.create_dataset("corrections", data=np.asarray(info.corrections, dtype=float))
        for prefix, values in (("balance_", result.balance), ("min_f_", result.min_f), ("time_", result.timings)):
            for k, v in values.items():
                diag.attrs[prefix + k] = v
        diag.attrs.update(peak_memory_mb=result.peak_memory_mb, iterations=info.iterations,
                          factorizations=info.factorizations, residual=info.residual,
                          roundoff_floor=info.roundoff_floor, forward_error=info.forward_error,
                          message=info.message)

    return _atomic(path, fill)


def _open_valid(path):
    path = Path(path)
    try:
        h5 = h5py.File(path, "r")
    except OSError as err:
        raise FileFormatError(f"{path}: not an HDF5 file ({err})") from None
    if not h5.attrs.get("complete", False):
        h5.close()
        raise FileFormatError(f"{path}: incomplete file (the writer did not finish); not used")
    return h5


def read_result(path):
    """Read a file written by :func:`write_result` back into a :class:`~fpsolve.result.Result`
    (``problem`` None, no probes; ``summary()`` is the one written with the file)."""
    from .case import parse_case
    from .grid import Grid
    from .result import Fields, Result
    from .solvers import SolveInfo
    from .timeseries import is_timeseries, read_timeseries

    if is_timeseries(path):  # a physical-time run (kind = "timeseries")
        return read_timeseries(path)
    with _open_valid(path) as h5:
        if "fpsolve_version" not in h5.attrs or "f" not in h5:
            raise FileFormatError(f"{path}: not an fpsolve result file")
        resolved = h5.attrs.get("case_resolved", h5.attrs["case_text"])  # older files: the file text only
        case = replace(parse_case(str(resolved), str(h5.attrs["case_source"])), text=str(h5.attrs["case_text"]))
        z = h5["z_edges"][...] if "z" in h5 else None
        grid = Grid(z, h5["mu_edges"][...], h5["p_edges"][...])
        var = {name: internal(h5[name][...]) if name in h5 else None for name, *_ in FIELDS}
        fields = Fields(var["f"], var["F"], var["g"], var["dF_dz"], var["dF_dp"], var["delta"],
                        var["streaming_flux"], var["g_da"])
        f = var["f"] if z is None else np.stack([var["f"], var["f_slope"]], axis=-1)
        d = h5["diagnostics"]
        info = SolveInfo(method=str(h5.attrs["method"]), rtol=float(h5.attrs["rtol"]),
                         converged=bool(h5.attrs["converged"]), residual=float(d.attrs["residual"]),
                         residual_history=list(d["residual_history"][...]),
                         pseudo_time_steps=list(d["pseudo_time_steps"][...]), iterations=int(d.attrs["iterations"]),
                         factorizations=int(d.attrs["factorizations"]), message=str(d.attrs["message"]))
        info.roundoff_floor = float(d.attrs["roundoff_floor"])
        info.forward_error = float(d.attrs.get("forward_error", np.inf))  # older files: not stored
        info.corrections = list(d["corrections"][...]) if "corrections" in d else []

        def pick(prefix):
            return {k[len(prefix):]: (v.item() if hasattr(v, "item") else v)
                    for k, v in d.attrs.items() if k.startswith(prefix)}

        return Result(case, grid, f, info, fields, pick("balance_"), pick("min_f_"), [], pick("time_"),
                      float(d.attrs["peak_memory_mb"]), str(h5.attrs["fpsolve_version"]),
                      stored_summary=str(h5.attrs.get("summary", "")))


def write_checkpoint(path, state, case_hash: str, case_text: str, version: str) -> Path:
    """March state (see :class:`fpsolve.solvers.MarchState`) with the case it belongs to."""
    def fill(h5):
        h5.create_dataset("f", data=state.f)
        h5.create_dataset("residual_history", data=np.asarray(state.residual_history, dtype=float))
        h5.create_dataset("pseudo_time_steps", data=np.asarray(state.pseudo_time_steps, dtype=float))
        h5.create_dataset("corrections", data=np.asarray(state.corrections, dtype=float))
        for k in ("step", "target", "res", "res_prev"):
            h5.attrs[k] = getattr(state, k)
        h5.attrs["case_hash"] = case_hash
        h5.attrs["case_text"] = case_text
        h5.attrs["fpsolve_version"] = version
        h5.attrs["kind"] = "checkpoint"

    return _atomic(path, fill)


def read_checkpoint(path, case_hash: str):
    """The march state of a checkpoint, after checking that it belongs to the same case."""
    from .solvers import MarchState

    with _open_valid(path) as h5:
        if h5.attrs.get("kind") != "checkpoint":
            raise FileFormatError(f"{path}: not an fpsolve checkpoint")
        if h5.attrs["case_hash"] != case_hash:
            raise FileFormatError(f"{path}: checkpoint of a different case (or overrides); allowed: the same case")
        return MarchState(h5["f"][...], int(h5.attrs["step"]), float(h5.attrs["target"]), float(h5.attrs["res"]),
                          float(h5.attrs["res_prev"]), list(h5["residual_history"][...]),
                          list(h5["pseudo_time_steps"][...]),
                          list(h5["corrections"][...]) if "corrections" in h5 else [])
