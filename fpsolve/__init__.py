"""fpsolve: the cosmic-ray Fokker–Planck equation without the diffusion approximation.

Layers (data flows one way, nothing imports upwards):

- :mod:`fpsolve.physics` — coefficients, transport moments, diffusion-approximation
  anisotropy, the SWK solution, physical units (pure numpy/scipy);
- :mod:`fpsolve.case` — case files (TOML) validated into a frozen :class:`Case` of typed
  sections (the one validator); :mod:`fpsolve.build` — case -> grid and physics;
- :mod:`fpsolve.grid`, :mod:`fpsolve.face_coefficients`, :mod:`fpsolve.terms` (one object per
  term: its block and its boundary fluxes), :mod:`fpsolve.problem` (terms -> A, b, mass, balance),
  :mod:`fpsolve.kernels` — the discrete problem A f = b; :mod:`fpsolve.warmup` — kernel compilation;
  :mod:`fpsolve.reference` — the exact-in-z semi-analytic slab reference (validation);
- :mod:`fpsolve.solvers` — steady-state solvers; :mod:`fpsolve.timestepping` — physical time; :mod:`fpsolve.result` — the :class:`Result` and
  its diagnostics; :mod:`fpsolve.probes` — probe physics; :mod:`fpsolve.summary` — the summary
  text; :mod:`fpsolve.run` — the main job;
- :mod:`fpsolve.dataset` — the one dataset description behind :mod:`fpsolve.io` (HDF5) and
  ``Result.to_xarray``; :mod:`fpsolve.plotting` — figures;
- :mod:`fpsolve.report` — the physics report of a case; :mod:`fpsolve.studies` — ladders, sweeps;
- :mod:`fpsolve.cli` — the ``fpsolve`` command; ``fpsolve.validation`` — the validation problems.

Python API (mirrors the command line; a case is a path or a bundled name)::

    import fpsolve
    case = fpsolve.load_case("slab_streaming", ["grid.z_cells=100"])
    result = fpsolve.solve(case)          # Result: f, fields, balance, min_f, probes, info
    print(result.summary())
    fpsolve.write(result, "slab.h5")      # atomic HDF5
    again = fpsolve.read("slab.h5")       # Result from the file
    ds = again.to_xarray()                # dims (z, mu, p)
"""
from ._version import __version__
from .case import Case, CaseError, load_case, parse_case


def solve(case, **kwargs):
    """Solve a :class:`Case` (see :func:`fpsolve.run.solve`).  For a case with ``[time]`` this is its
    steady problem (the same operator and source, always on); its physical-time series is
    :func:`run_transient`."""
    from .run import solve as _solve

    return _solve(case, **kwargs)


def run_transient(case, **kwargs):
    """Integrate a case with ``[time]`` in physical time -> ``TimeSeriesResult`` (see
    :func:`fpsolve.transient.run_transient`)."""
    from .transient import run_transient as _run

    return _run(case, **kwargs)


def read(path):
    """Read an fpsolve HDF5 result file into a Result (see :func:`fpsolve.io.read_result`)."""
    from .io import read_result

    return read_result(path)


def write(result, path):
    """Write a Result (or a physical-time ``TimeSeriesResult``) atomically to an HDF5 file
    (:func:`fpsolve.io.write_result`, :func:`fpsolve.transient.write_timeseries`)."""
    if getattr(result, "kind", "") == "timeseries":
        from .transient import write_timeseries

        return write_timeseries(result, path)
    from .io import write_result

    return write_result(result, path)


__all__ = ["Case", "CaseError", "load_case", "parse_case", "solve", "run_transient", "read", "write", "__version__"]
