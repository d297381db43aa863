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

The file is written to a temporary name in the target folder and renamed on success, so a
crash never leaves a partial file under the requested name.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import h5py
import numpy as np

__all__ = ["write_result"]


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
    path = Path(path)
    grid, fl = result.grid, result.fields
    hom = grid.homogeneous
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or ".")
    os.close(fd)
    try:
        with h5py.File(tmp, "w") as h5:
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
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path
