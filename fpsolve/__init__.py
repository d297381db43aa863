"""fpsolve: the cosmic-ray Fokker–Planck equation without the diffusion approximation.

Layers (data flows one way, nothing imports upwards):

- :mod:`fpsolve.physics` — coefficients, transport moments, diffusion-approximation
  anisotropy, the SWK solution, physical units (pure numpy/scipy);
- :mod:`fpsolve.case` — case files (TOML) validated into frozen dataclasses;
- :mod:`fpsolve.grid`, :mod:`fpsolve.face_coefficients`, :mod:`fpsolve.operator`,
  :mod:`fpsolve.kernels` — the discrete problem A f = b;
- :mod:`fpsolve.solvers` — steady-state solvers; :mod:`fpsolve.result`, :mod:`fpsolve.run` —
  diagnostics and the main job; :mod:`fpsolve.io`, :mod:`fpsolve.plotting` — files and figures;
- :mod:`fpsolve.report` — the physics report of a case;
- :mod:`fpsolve.cli` — the ``fpsolve`` command.

Python API (mirrors the command line)::

    import fpsolve
    case = fpsolve.load_case("cases/slab_streaming.toml", ["grid.z_cells=100"])
    result = fpsolve.solve(case)          # Result: f, fields, balance, min_f, probes, info
    print(result.summary())
    fpsolve.write(result, "slab.h5")      # atomic HDF5
    again = fpsolve.read("slab.h5")       # Result from the file
    ds = again.to_xarray()                # dims (z, mu, p)
"""
from importlib.metadata import PackageNotFoundError, version as _version

try:
    __version__ = _version("fpsolve")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"

from .case import Case, CaseError, load_case  # noqa: E402


def solve(case, **kwargs):
    """Solve a :class:`Case` (see :func:`fpsolve.run.solve`)."""
    from .run import solve as _solve

    return _solve(case, **kwargs)


def read(path):
    """Read an fpsolve HDF5 result file into a Result (see :func:`fpsolve.io.read_result`)."""
    from .io import read_result

    return read_result(path)


def write(result, path):
    """Write a Result atomically to an HDF5 file (see :func:`fpsolve.io.write_result`)."""
    from .io import write_result

    return write_result(result, path)


__all__ = ["Case", "CaseError", "load_case", "solve", "read", "write", "__version__"]
