"""HDF5 output: fields with named dimensions (z, mu, p), diagnostics, the case text and version.

Layout (all datasets float64):

* ``/z``, ``/mu``, ``/p`` (cell centres; HDF5 dimension scales) and ``/z_edges``, ``/mu_edges``,
  ``/p_edges``;
* fields ``f (z, mu, p)`` (cell means), ``f_slope (z, mu, p)`` (half-slope of the linear-
  discontinuous representation), ``F (z, p)``, ``g (z, mu, p)``, ``g_da (z, mu, p)`` (Eq. 7 with
  the numerical gradients), ``delta (z, p)`` (Eq. 11, signed), ``streaming_flux (z, p)``,
  ``dF_dz (z, p)``, ``dF_dp (z, p)`` — without the ``z`` axis for homogeneous problems;
* ``/diagnostics``: ``residual_history``, ``pseudo_time_steps``, attributes for the balance,
  min f, timings and solver; root attributes ``converged``, ``trustworthy``, ``case_text``,
  ``fpsolve_version``, ``method``.

The file is written to a temporary name in the target folder (``.NAME.*.tmp``) and renamed on
success, so a crash never leaves a partial file under the requested name; the root attribute
``complete`` is set last, so even a leftover temporary file never reads as valid
(:func:`read_result` refuses it).  Checkpoints of the pseudo-time march use the same route.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import h5py
import numpy as np

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


def _scale(h5, name, values, edges):
    ds = h5.create_dataset(name, data=values)
    ds.make_scale(name)
    e = h5.create_dataset(f"{name}_edges", data=edges)
    e.make_scale(f"{name}_edges")  # its own dimension, so readers see named axes only
    return ds


def _field(h5, name, data, dims, scales, attrs=None):
    ds = h5.create_dataset(name, data=data)
    for axis, dim in enumerate(dims):
        ds.dims[axis].attach_scale(scales[dim])
    for k, v in (attrs or {}).items():
        ds.attrs[k] = v
    return ds


def _zmp(arr, homogeneous):
    """Internal (p, z, mu) / (p, mu) / (p, z) -> output (z, mu, p) / (mu, p) / (z, p)."""
    arr = np.asarray(arr)
    if arr.ndim == 1:
        return arr
    return np.moveaxis(arr, 0, -1)


def write_result(result, path) -> Path:
    """Write a :class:`~fpsolve.run.Result` atomically to ``path`` (HDF5)."""
    grid, fl = result.grid, result.fields
    hom = grid.homogeneous

    def fill(h5):
        scales = {"mu": _scale(h5, "mu", grid.mu, grid.mu_edges), "p": _scale(h5, "p", grid.p, grid.p_edges)}
        if not hom:
            scales["z"] = _scale(h5, "z", grid.z, grid.z_edges)
        full = ("mu", "p") if hom else ("z", "mu", "p")
        iso = ("p",) if hom else ("z", "p")
        _field(h5, "f", _zmp(fl.f, hom), full, scales, {"description": "cell means of f0(z, mu, p)"})
        if not hom:
            _field(h5, "f_slope", _zmp(result.f[..., 1], hom), full, scales,
                   {"description": "half-slope b of f = a + b xi, xi = 2(z - z_i)/dz"})
            _field(h5, "dF_dz", _zmp(fl.dF_dz, hom), iso, scales)
        _field(h5, "F", _zmp(fl.F, hom), iso, scales, {"description": "isotropic part, Eq. (5)"})
        _field(h5, "g", _zmp(fl.g, hom), full, scales, {"description": "anisotropy f - F, Eq. (2)"})
        _field(h5, "g_da", _zmp(fl.g_da, hom), full, scales,
               {"description": "diffusion-approximation anisotropy, Eq. (7), numerical gradients"})
        _field(h5, "delta", _zmp(fl.delta, hom), iso, scales,
               {"description": "(f(1) - f(-1))/(f(1) + f(-1)), Eq. (11), signed"})
        _field(h5, "streaming_flux", _zmp(fl.streaming_flux, hom), iso, scales)
        _field(h5, "dF_dp", _zmp(fl.dF_dp, hom), iso, scales)
        diag = h5.create_group("diagnostics")
        info = result.info
        diag.create_dataset("residual_history", data=np.asarray(info.residual_history, dtype=float))
        diag.create_dataset("pseudo_time_steps", data=np.asarray(info.pseudo_time_steps, dtype=float))
        for k, v in result.balance.items():
            diag.attrs[f"balance_{k}"] = v
        for k, v in result.min_f.items():
            diag.attrs[f"min_f_{k}"] = v
        for k, v in result.timings.items():
            diag.attrs[f"time_{k}"] = v
        diag.attrs["peak_memory_mb"] = result.peak_memory_mb
        diag.attrs["iterations"] = info.iterations
        diag.attrs["factorizations"] = info.factorizations
        diag.attrs["residual"] = info.residual
        diag.attrs["roundoff_floor"] = info.roundoff_floor
        diag.attrs["message"] = info.message
        h5.attrs["converged"] = info.converged
        h5.attrs["trustworthy"] = result.trustworthy
        h5.attrs["method"] = info.method
        h5.attrs["rtol"] = info.rtol
        h5.attrs["case_text"] = result.case.text
        h5.attrs["case_source"] = str(result.case.source)
        h5.attrs["fpsolve_version"] = result.version
        h5.attrs["summary"] = result.summary()

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
    """Read a file written by :func:`write_result` back into a :class:`~fpsolve.run.Result`."""
    from .case import parse_case
    from .grid import Grid
    from .result import Fields
    from .run import Result
    from .solvers import SolveInfo

    with _open_valid(path) as h5:
        if "fpsolve_version" not in h5.attrs or "f" not in h5:
            raise FileFormatError(f"{path}: not an fpsolve result file")
        case = parse_case(str(h5.attrs["case_text"]), str(h5.attrs["case_source"]))
        z = h5["z_edges"][...] if "z" in h5 else None
        grid = Grid(z, h5["mu_edges"][...], h5["p_edges"][...])
        def back(name):
            return np.moveaxis(h5[name][...], -1, 0) if name in h5 else None

        fields = Fields(back("f"), back("F"), back("g"), back("dF_dz"), back("dF_dp"), back("delta"),
                        back("streaming_flux"), back("g_da"))
        f = back("f") if z is None else np.stack([back("f"), back("f_slope")], axis=-1)
        d = h5["diagnostics"]
        info = SolveInfo(method=str(h5.attrs["method"]), rtol=float(h5.attrs["rtol"]),
                         converged=bool(h5.attrs["converged"]), residual=float(d.attrs["residual"]),
                         residual_history=list(d["residual_history"][...]),
                         pseudo_time_steps=list(d["pseudo_time_steps"][...]), iterations=int(d.attrs["iterations"]),
                         factorizations=int(d.attrs["factorizations"]), message=str(d.attrs["message"]))
        info.roundoff_floor = float(d.attrs["roundoff_floor"])
        pick = lambda prefix: {k[len(prefix):]: (v.item() if hasattr(v, "item") else v)  # noqa: E731
                               for k, v in d.attrs.items() if k.startswith(prefix)}
        result = Result(case, grid, f, info, fields, pick("balance_"), pick("min_f_"), [], pick("time_"),
                        float(d.attrs["peak_memory_mb"]), str(h5.attrs["fpsolve_version"]))
        result.stored_summary = str(h5.attrs.get("summary", ""))
    return result


def write_checkpoint(path, state, case_hash: str, case_text: str, version: str) -> Path:
    """March state (see :class:`fpsolve.solvers.MarchState`) with the case it belongs to."""
    def fill(h5):
        h5.create_dataset("f", data=state.f)
        h5.create_dataset("residual_history", data=np.asarray(state.residual_history, dtype=float))
        h5.create_dataset("pseudo_time_steps", data=np.asarray(state.pseudo_time_steps, dtype=float))
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
                          list(h5["pseudo_time_steps"][...]))
