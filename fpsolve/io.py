"""HDF5 output: the dataset of :func:`fpsolve.dataset.describe` (fields with named dimensions
(z, mu, p), the case and version), plus ``/diagnostics`` and ``/coefficients`` groups.

Layout (all datasets float64, every dataset with an HDF5 Fletcher-32 checksum):

* ``/z``, ``/mu``, ``/p`` (cell centres; HDF5 dimension scales) and ``/z_edges``, ``/mu_edges``,
  ``/p_edges``; physical cases also ``z_pc``, ``z_edges_pc``, ``p_tev``, ``p_edges_tev`` (CF
  auxiliary coordinates) and the gradient fields in the case's units;
* fields ``f (z, mu, p)`` (cell means), ``f_slope (z, mu, p)`` (half-slope of the linear-
  discontinuous representation), ``F (z, p)``, ``g (z, mu, p)``, ``g_da (z, mu, p)`` (Eq. 7 with
  the numerical gradients), ``delta (z, p)`` (Eq. 11, signed), ``streaming_flux (z, p)``,
  ``dF_dz (z, p)``, ``dF_dp (z, p)`` — without the ``z`` axis for homogeneous problems; every
  variable carries CF ``units`` and ``long_name`` attributes;
* ``/diagnostics``: ``residual_history``, ``pseudo_time_steps``, attributes for the balance,
  min f, timings and solver; root attributes ``converged``, ``trustworthy``, ``case_text``,
  ``case_resolved``, ``fpsolve_version``, ``method``, ``rtol``, ``summary``;
* ``/coefficients``: ``d_mumu``, ``d_mup``, ``d_pp`` on the (mu, p) cell centres (code units), so
  that a file of a user coefficient model (``table``, ``python``) is complete without its files.

Reading never executes code: :func:`read_result` rebuilds the case from the stored resolved
values (no coefficient module is imported, no table file opened).

The root group is exactly ``Result.to_xarray()`` (one description, :mod:`fpsolve.dataset`):
``xarray.open_dataset(path, engine="h5netcdf")`` reads it back equal, apart from ``complete``.

Writing (:func:`_atomic`): the whole file is built in memory, then written to a temporary name in
the target folder (``.NAME.XXXXXXXX.tmp``), flushed to disk and renamed over the target; an
``O_EXCL`` lock file ``.NAME.lock`` next to the target keeps a second writer (another run with
the same ``-o``) out.  A failed write (disk full, read-only file system) raises
:class:`OutputError` with one line; the previous file at the path is untouched and no temporary
file is left.  Readers refuse a temporary file by its name, whatever its attributes say (a writer
killed between finishing the temporary file and the rename leaves a complete-looking one), a file
without the ``complete`` attribute, and any dataset whose checksum fails (:class:`FileFormatError`).
Checkpoints of the pseudo-time march use the same route.
"""
from __future__ import annotations

import contextlib
import errno
import io
import logging
import os
import re
import stat
import tempfile
from pathlib import Path

import h5py
import numpy as np

from .dataset import FIELDS, Z_ONLY, describe, internal

log = logging.getLogger(__name__)

__all__ = ["write_result", "read_result", "write_atomic", "write_hdf5", "checksummed", "save_figure", "write_checkpoint", "read_checkpoint", "describe_file", "FileFormatError",
           "OutputError", "OutputPathError", "check_output_path", "check_output_dir", "output_lock"]


class FileFormatError(ValueError):
    """Not an fpsolve file, an incomplete or corrupted one, or the wrong kind (checkpoint/result)."""


class OutputPathError(ValueError):
    """An output path that cannot be used (checked before any work); the message is one line."""


class OutputError(OSError):
    """The output could not be written (disk full, read-only file system, ...); one line; the
    previous file at the path is unchanged."""


#: Names of the temporary files of :func:`_atomic` (``.NAME.XXXXXXXX.tmp``).
TEMP_NAME = re.compile(r"^\..+\.[A-Za-z0-9_]{8}\.tmp$")


def _is_fpsolve_file(path: Path) -> bool:
    try:
        with h5py.File(path, "r") as h5:
            return "fpsolve_version" in h5.attrs
    except Exception:  # noqa: BLE001 - anything unreadable is not an fpsolve file
        return False


def _probe_writable(folder: Path, what: str) -> None:
    """Create and remove a scratch file in ``folder``: catches permissions, read-only file systems."""
    try:
        fd, name = tempfile.mkstemp(prefix=".fpsolve-probe.", dir=folder)
    except OSError as err:
        raise OutputPathError(f"{what}: folder {folder} is not writable ({err.strerror}); "
                              f"allowed: a writable folder") from None
    os.close(fd)
    os.unlink(name)


def check_output_path(path, *, inputs=(), must_be_fpsolve=True, option="-o") -> Path:
    """Check an output file before any work: its folder exists and is writable; the target is
    absent or a regular (fpsolve) file, never a directory, device, FIFO or one of ``inputs`` (the
    case file, a restart file); no other process is writing it.  Raises :class:`OutputPathError`."""
    path = Path(path)
    what = f"{option} {path}"
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.exists():
        raise OutputPathError(f"{what}: folder {parent} does not exist; allowed: a path in an existing folder")
    if not parent.is_dir():
        raise OutputPathError(f"{what}: {parent} is not a folder; allowed: a path in an existing folder")
    if path.exists() or path.is_symlink():
        try:
            st = os.stat(path)
        except OSError as err:
            raise OutputPathError(f"{what}: cannot be used ({err.strerror}); allowed: a new file") from None
        if stat.S_ISDIR(st.st_mode):
            example = f" (e.g. {path / 'out.h5'})" if option == "-o" else ""
            raise OutputPathError(f"{what}: is a folder; allowed: a file name{example}")
        if not stat.S_ISREG(st.st_mode):
            raise OutputPathError(f"{what}: is not a regular file (device, FIFO or socket); allowed: a file name")
        for other in inputs:
            if other is not None and Path(other).exists() and os.path.samefile(path, other):
                raise OutputPathError(f"{what}: is the input file {other}; allowed: a different file name")
        if must_be_fpsolve and not _is_fpsolve_file(path):
            raise OutputPathError(f"{what}: exists and is not an fpsolve file; allowed: a new name, or an "
                                  f"fpsolve output to replace")
    _probe_writable(parent, what)
    lock = _lock_path(path)
    holder = _lock_holder(lock)
    if holder is not None and holder != os.getpid():
        raise OutputPathError(f"{what}: another fpsolve process (pid {holder}) is writing this file; "
                              f"allowed: a different output path, or wait")
    return path


def check_output_dir(path, *, option="--out") -> Path:
    """Check an output folder before any work: absent (its parent exists and is writable) or an
    existing writable folder.  Raises :class:`OutputPathError`; creates nothing."""
    path = Path(path)
    what = f"{option} {path}"
    if path.exists():
        if not path.is_dir():
            raise OutputPathError(f"{what}: exists and is not a folder; allowed: a folder name")
        _probe_writable(path, what)
        return path
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise OutputPathError(f"{what}: folder {parent} does not exist; allowed: a path in an existing folder")
    _probe_writable(parent, what)
    return path


def _lock_path(path: Path) -> Path:
    return path.parent / f".{path.name}.lock"


def _process_start(pid: int):
    """Start time of a process (clock ticks since boot, /proc/PID/stat field 22); None without /proc."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rsplit(")", 1)[1].split()[19]


def _lock_text() -> str:
    pid = os.getpid()
    return f"{pid} {_process_start(pid) or ''}".strip()


def _lock_holder(lock: Path):
    """The pid in a lock file if that process is alive (and is the same process: its start time
    matches, so a reused pid does not hold the lock); None if there is no (live) lock."""
    try:
        parts = lock.read_text().split()
        pid = int(parts[0])
    except (OSError, ValueError, IndexError):
        return None
    if pid <= 0:
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None  # a writer that died (SIGKILL): a stale lock
    except PermissionError:
        pass
    start = _process_start(pid)
    if len(parts) > 1 and start is not None and parts[1] != start:
        return None  # the pid was reused by another process
    return pid


_HELD: dict = {}


@contextlib.contextmanager
def output_lock(path):
    """Hold ``.NAME.lock`` (created with ``O_EXCL``, holding the pid) next to ``path`` for the
    duration; a live lock of another process raises :class:`OutputPathError`, a stale one (dead
    pid) is taken over.  Re-entrant within a process."""
    path = Path(path)
    lock = _lock_path(path)
    key = os.path.abspath(lock)
    if key in _HELD:
        _HELD[key] += 1
        try:
            yield lock
        finally:
            _HELD[key] -= 1
        return
    for _ in range(3):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            holder = _lock_holder(lock)
            if holder is not None and holder != os.getpid():
                raise OutputPathError(f"{path}: another fpsolve process (pid {holder}) is writing this file; "
                                      f"allowed: a different output path, or wait") from None
            with contextlib.suppress(FileNotFoundError):
                lock.unlink()  # stale
            continue
        except OSError as err:
            raise OutputError(f"{path}: cannot create the lock file {lock} ({err.strerror})") from None
        with os.fdopen(fd, "w") as fh:
            fh.write(_lock_text())
        break
    else:  # pragma: no cover - three stale-lock races in a row
        raise OutputPathError(f"{path}: lock file {lock} keeps reappearing; allowed: a different output path")
    _HELD[key] = 1
    try:
        yield lock
    finally:
        del _HELD[key]
        with contextlib.suppress(OSError):
            lock.unlink()


def _dataset(group, name, data):
    """A dataset with a Fletcher-32 checksum (chunked; empty arrays get an extendable chunk)."""
    data = np.asarray(data)
    if data.ndim == 0:
        data = data.reshape(1)
    if data.size == 0:
        return group.create_dataset(name, data=data, fletcher32=True, chunks=(1,) * data.ndim,
                                    maxshape=(None,) * data.ndim)
    return group.create_dataset(name, data=data, fletcher32=True)


def _image(fill) -> bytes:
    """The file built in memory: ``fill(h5)``, then the ``complete`` attribute last."""
    buf = io.BytesIO()
    with h5py.File(buf, "w", libver="latest") as h5:  # latest: checksummed object headers too
        h5.attrs["complete"] = False
        fill(h5)
        h5.attrs["complete"] = True
    return buf.getvalue()


def _atomic(path: Path, fill):
    """Build the file in memory, write it to a temporary file next to ``path``, fsync, rename."""
    return write_atomic(path, _image(fill))


def write_hdf5(path, fill) -> Path:
    """An HDF5 file of any fpsolve output (results, checkpoints, study files such as ``converge.h5``):
    ``fill(h5)`` builds it in memory (use :func:`checksummed` for datasets; the ``complete``
    attribute is set last), then :func:`write_atomic`."""
    return _atomic(Path(path), fill)


def checksummed(group, name, data):
    """A dataset with a Fletcher-32 checksum (for ``fill`` functions of :func:`write_hdf5`)."""
    return _dataset(group, name, data)


def write_atomic(path, data, *, lock: bool = True) -> Path:
    """The one writer of fpsolve's output files: ``data`` (bytes, or text written as UTF-8) goes to a
    temporary file next to ``path`` (``.NAME.XXXXXXXX.tmp``), is fsynced and renamed over ``path``;
    the folder is fsynced.  A failure raises :class:`OutputError` (one line; the previous file is
    unchanged, no temporary file is left).  ``lock``: hold ``.NAME.lock`` (:func:`output_lock`) and
    remove temporaries of killed writers; ``lock=False`` for files that several processes may write
    with the same content at once (the study cache): the last rename wins, nothing is removed."""
    path = Path(path)
    if isinstance(data, str):
        data = data.encode("utf-8")
    folder = path.parent if str(path.parent) else Path(".")
    with output_lock(path) if lock else contextlib.nullcontext():
        if lock:
            for stale in folder.glob(f".{path.name}.*.tmp"):  # leftovers of killed writers (we hold the lock)
                stale.unlink(missing_ok=True)
        try:
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
        except OSError as err:
            raise OutputError(f"{path}: could not be written ({err.strerror}); nothing changed") from None
        try:
            umask = os.umask(0)
            os.umask(umask)
            os.fchmod(fd, 0o666 & ~umask)  # mkstemp makes 0600; outputs are ordinary files
            with os.fdopen(fd, "wb") as fh:
                view = memoryview(data)
                while view:
                    view = view[os.write(fh.fileno(), view):]
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException as err:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            if isinstance(err, OSError):
                reason = err.strerror or str(err)
                if err.errno == errno.ENOSPC:
                    reason = "no space left on the device"
                raise OutputError(f"{path}: could not be written ({reason}); the previous file, if any, is "
                                  f"unchanged and no temporary file is left") from None
            raise
    with contextlib.suppress(OSError):  # the rename itself on disk
        dfd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    log.debug("wrote %s (%d bytes, atomically)", path, len(data))
    return path


def save_figure(fig, path, dpi=150) -> Path:
    """A matplotlib figure as PNG through :func:`write_atomic` (never a half-written PNG)."""
    buf = io.BytesIO()
    fig.savefig(buf, dpi=dpi, format="png")
    return write_atomic(path, buf.getvalue())


def _write_description(h5, d) -> None:
    """Coordinates as dimension scales (each its own dimension), variables attached to them, attributes;
    auxiliary coordinates (physical units) are named in the variables' CF ``coordinates`` attribute."""
    scales = {}
    aux = []
    for c in d.coords:
        ds = _dataset(h5, c.name, c.data)
        ds.attrs.update(c.attrs)
        if c.dims == (c.name,):
            ds.make_scale(c.name)
            scales[c.name] = ds
        else:
            aux.append(c)
    for c in aux:
        for axis, dim in enumerate(c.dims):
            h5[c.name].dims[axis].attach_scale(scales[dim])
    for name, scale in scales.items():  # edges: named on their own scale (no variable uses them)
        mine = [c.name for c in aux if c.dims == (name,) and not any(set(c.dims) <= set(v.dims) for v in d.variables)]
        if mine:
            scale.attrs["coordinates"] = " ".join(mine)
    for v in d.variables:
        ds = _dataset(h5, v.name, v.data)
        for axis, dim in enumerate(v.dims):
            ds.dims[axis].attach_scale(scales[dim])
        ds.attrs.update(v.attrs)
        mine = [c.name for c in aux if set(c.dims) <= set(v.dims)]
        if mine:
            ds.attrs["coordinates"] = " ".join(mine)
    h5.attrs.update(d.attrs)


def _coefficient_tables(result):
    """D_mumu, D_mup, D_pp on the (mu, p) cell centres (code units), from the run's model, or the
    tables a read result carried; None if neither is available."""
    stored = getattr(result, "coefficient_tables", None)
    if stored is not None:
        return stored
    model = getattr(getattr(result.problem, "physics", None), "model", None)
    if model is None:
        return None
    g = result.grid
    mu, p = np.meshgrid(g.mu, g.p)  # (p, mu)
    d = model.coefficients(mu, p)
    return {name: np.asarray(getattr(d, name), dtype=float) for name in ("d_mumu", "d_mup", "d_pp")}


def write_result(result, path) -> Path:
    """Write a :class:`~fpsolve.result.Result` atomically to ``path`` (HDF5); raises
    :class:`OutputError` if it cannot be written (the previous file stays)."""
    description = describe(result)
    tables = _coefficient_tables(result)

    def fill(h5):
        _write_description(h5, description)
        info = result.info
        diag = h5.create_group("diagnostics")
        _dataset(diag, "residual_history", np.asarray(info.residual_history, dtype=float))
        _dataset(diag, "pseudo_time_steps", np.asarray(info.pseudo_time_steps, dtype=float))
        _dataset(diag, "corrections", np.asarray(info.corrections, dtype=float))
        for prefix, values in (("balance_", result.balance), ("min_f_", result.min_f), ("time_", result.timings)):
            for k, v in values.items():
                diag.attrs[prefix + k] = v
        diag.attrs.update(peak_memory_mb=result.peak_memory_mb, iterations=info.iterations,
                          factorizations=info.factorizations, residual=info.residual,
                          roundoff_floor=info.roundoff_floor, forward_error=info.forward_error,
                          message=info.message)
        if tables is not None:
            coef = h5.create_group("coefficients")
            coef.attrs["description"] = "D_mumu, D_mup, D_pp at the (p, mu) cell centres, code units"
            coef.attrs["model"] = str(result.case.turbulence.model)
            for name, values in tables.items():
                _dataset(coef, name, values)

    return _atomic(path, fill)


def _open_valid(path):
    """Open an fpsolve file for reading: refuses missing files, temporary files of unfinished
    writes (by name, whatever their attributes), non-HDF5 and incomplete files."""
    path = Path(path)
    if not path.exists():
        raise FileFormatError(f"{path}: no such file")
    if path.is_dir():
        raise FileFormatError(f"{path}: is a folder; allowed: an fpsolve HDF5 file")
    if TEMP_NAME.match(path.name):
        raise FileFormatError(f"{path}: a temporary file of an unfinished write (never renamed); not used")
    try:
        h5 = h5py.File(path, "r")
    except OSError as err:
        reason = getattr(err, "strerror", None) or str(err).split("(")[0].strip()
        raise FileFormatError(f"{path}: not an HDF5 file ({reason}); allowed: an fpsolve output or checkpoint") \
            from None
    try:
        complete = bool(h5.attrs.get("complete", False))
    except Exception:  # noqa: BLE001 - a damaged attribute heap
        complete = False
    if not complete:
        h5.close()
        raise FileFormatError(f"{path}: incomplete file (the writer did not finish); not used")
    return h5


def _read(h5, path, name):
    """A whole dataset, its checksum verified by HDF5; a corrupted one raises :class:`FileFormatError`."""
    if name not in h5:
        raise FileFormatError(f"{path}: dataset {name!r} missing; not a complete fpsolve file")
    try:
        return h5[name][...]
    except (OSError, RuntimeError, ValueError) as err:
        raise FileFormatError(f"{path}: dataset {name!r} is corrupted (checksum or filter failure: {str(err).splitlines()[0]}); "
                              f"not used") from None


def _attr(obj, path, name, kind=None):
    try:
        value = obj.attrs[name]
    except KeyError:
        raise FileFormatError(f"{path}: attribute {name!r} missing; not a complete fpsolve file") from None
    except (OSError, RuntimeError) as err:
        raise FileFormatError(f"{path}: attribute {name!r} is corrupted ({err}); not used") from None
    return kind(value) if kind is not None else value


def _case_from_file(resolved: str, origin: str, text: str):
    """The case of a file from its stored resolved values, without running anything: no
    coefficient module is imported and no table read (the run validated these values; the
    consistency checks of :func:`fpsolve.case.parse_case` would build the user's model)."""
    import tomllib

    from .case import ATTR, SCHEMA, SECTIONS, Case, CaseError, _coerce

    try:
        raw = tomllib.loads(resolved)
        values = {ATTR.get(section, section): SECTIONS[section](**{name: _coerce(origin, section, name, keys[name], value, usable=False)
                                                for name, value in raw.get(section, {}).items()})
                  for section, keys in SCHEMA.items()}
    except (tomllib.TOMLDecodeError, CaseError, KeyError, TypeError) as err:
        raise FileFormatError(f"{origin}: stored case unreadable ({err}); not used") from None
    given = frozenset((section, name) for section, keys in raw.items() for name in keys)
    return Case(origin, text, **values, given=given, sections=frozenset(raw))


def read_result(path):
    """Read a file written by :func:`write_result` back into a :class:`~fpsolve.result.Result`
    (``problem`` None, no probes; ``summary()`` is the one written with the file).  Nothing in the
    file is executed and no other file is opened.  Raises :class:`FileFormatError` (one line) for a
    missing, incomplete, corrupted or foreign file, or a checkpoint."""
    from .grid import Grid
    from .result import Fields, Result
    from .solvers import SolveInfo
    from .timeseries import is_timeseries, read_timeseries

    if is_timeseries(path):  # a physical-time run (kind = "timeseries")
        return read_timeseries(path)
    with _open_valid(path) as h5:
        if h5.attrs.get("kind") == "checkpoint":
            raise FileFormatError(f"{path}: a checkpoint of a march, not a result; continue it with "
                                  f"fpsolve run CASE --restart {path} (fpsolve info {path} describes it)")
        if "fpsolve_version" not in h5.attrs or "f" not in h5:
            raise FileFormatError(f"{path}: not an fpsolve result file")
        resolved = str(h5.attrs.get("case_resolved", h5.attrs.get("case_text", "")))
        case = _case_from_file(resolved, str(h5.attrs.get("case_source", path)), str(_attr(h5, path, "case_text")))
        z = _read(h5, path, "z_edges") if "z" in h5 else None
        try:
            grid = Grid(z, _read(h5, path, "mu_edges"), _read(h5, path, "p_edges"))
        except ValueError as err:
            raise FileFormatError(f"{path}: stored grid unusable ({err}); not used") from None
        for name in h5:  # every dataset once: checksums of all of them, not only of those used below
            if isinstance(h5[name], h5py.Dataset):
                _read(h5, path, name)
        var = {name: internal(_read(h5, path, name)) if z is not None or name not in Z_ONLY else None
               for name, *_ in FIELDS}  # _read: a missing field is a FileFormatError
        fields = Fields(var["f"], var["F"], var["g"], var["dF_dz"], var["dF_dp"], var["delta"],
                        var["streaming_flux"], var["g_da"])
        f = var["f"] if z is None else np.stack([var["f"], var["f_slope"]], axis=-1)
        if "diagnostics" not in h5:
            raise FileFormatError(f"{path}: group 'diagnostics' missing; not a complete fpsolve file")
        d = h5["diagnostics"]
        info = SolveInfo(method=str(_attr(h5, path, "method")), rtol=_attr(h5, path, "rtol", float),
                         converged=_attr(h5, path, "converged", bool), residual=_attr(d, path, "residual", float),
                         residual_history=list(_read(d, path, "residual_history")),
                         pseudo_time_steps=list(_read(d, path, "pseudo_time_steps")),
                         iterations=_attr(d, path, "iterations", int),
                         factorizations=_attr(d, path, "factorizations", int), message=str(_attr(d, path, "message")))
        info.roundoff_floor = _attr(d, path, "roundoff_floor", float)
        info.forward_error = float(d.attrs.get("forward_error", np.inf))  # older files: not stored
        info.corrections = list(_read(d, path, "corrections")) if "corrections" in d else []
        tables = None
        if "coefficients" in h5:
            tables = {name: _read(h5["coefficients"], path, name) for name in ("d_mumu", "d_mup", "d_pp")
                      if name in h5["coefficients"]}

        def pick(prefix):
            return {k[len(prefix):]: (v.item() if hasattr(v, "item") else v)
                    for k, v in d.attrs.items() if k.startswith(prefix)}

        result = Result(case, grid, f, info, fields, pick("balance_"), pick("min_f_"), [], pick("time_"),
                        _attr(d, path, "peak_memory_mb", float), str(h5.attrs["fpsolve_version"]),
                        stored_summary=str(h5.attrs.get("summary", "")))
        result.coefficient_tables = tables  # D's on the grid: what the file knows of the model
        return result


def write_checkpoint(path, state, case_hash: str, case_text: str, version: str, case_source: str = "",
                     command: str = "") -> Path:
    """March state (see :class:`fpsolve.solvers.MarchState`) with the case it belongs to; ``command``:
    the ``fpsolve run ... --restart`` line that continues it (the run's case, overrides and ``-o``),
    printed by ``fpsolve info``."""
    def fill(h5):
        _dataset(h5, "f", state.f)
        _dataset(h5, "residual_history", np.asarray(state.residual_history, dtype=float))
        _dataset(h5, "pseudo_time_steps", np.asarray(state.pseudo_time_steps, dtype=float))
        _dataset(h5, "corrections", np.asarray(state.corrections, dtype=float))
        for k in ("step", "target", "res", "res_prev"):
            h5.attrs[k] = getattr(state, k)
        h5.attrs["case_hash"] = case_hash
        h5.attrs["case_text"] = case_text
        h5.attrs["case_source"] = str(case_source)
        h5.attrs["fpsolve_version"] = version
        h5.attrs["kind"] = "checkpoint"
        if command:
            h5.attrs["restart_command"] = command

    return _atomic(path, fill)


def read_checkpoint(path, case_hash: str):
    """The march state of a checkpoint, after checking that it belongs to the same case."""
    from .solvers import MarchState

    with _open_valid(path) as h5:
        if h5.attrs.get("kind") != "checkpoint":
            raise FileFormatError(f"{path}: not an fpsolve checkpoint")
        if _attr(h5, path, "case_hash") != case_hash:
            raise FileFormatError(f"{path}: checkpoint of a different case (or overrides); allowed: the same case")
        return MarchState(_read(h5, path, "f"), _attr(h5, path, "step", int), _attr(h5, path, "target", float),
                          _attr(h5, path, "res", float), _attr(h5, path, "res_prev", float),
                          list(_read(h5, path, "residual_history")), list(_read(h5, path, "pseudo_time_steps")),
                          list(_read(h5, path, "corrections")) if "corrections" in h5 else [])


def describe_file(path) -> str | None:
    """One line for a file that is not a result (a checkpoint); None for a result file.  Raises
    :class:`FileFormatError` like the readers (missing, temporary, incomplete, corrupted)."""
    with _open_valid(path) as h5:
        kind = h5.attrs.get("kind")
        if kind == "time_checkpoint":  # fpsolve.transient.CHECKPOINT_KIND
            t = _attr(h5, path, 't', float)
            unit, per = str(h5.attrs.get("time_unit", "L/c")), float(h5.attrs.get("time_per_unit", 1.0))
            return (f"{path}: CHECKPOINT of a physical-time run at t = {t / per:.6g} {unit}, step "
                    f"{_attr(h5, path, 'step', int)}, fpsolve {h5.attrs.get('fpsolve_version', '?')}; continue with: "
                    + (str(h5.attrs.get("restart_command", "")) or
                       f"fpsolve run CASE --restart {path} (the case, overrides and -o of the interrupted run)"))
        if kind != "checkpoint":
            return None
        for name in h5:
            _read(h5, path, name)
        source = str(h5.attrs.get("case_source", "")) or "CASE"
        command = str(h5.attrs.get("restart_command", "")) or \
            f"fpsolve run {source} --restart {path} (the same overrides and -o)"
        return (f"{path}: CHECKPOINT of a pseudo-time march at step {_attr(h5, path, 'step', int)}, residual "
                f"{_attr(h5, path, 'res', float):.3e}, fpsolve {h5.attrs.get('fpsolve_version', '?')}; continue "
                f"with: {command}")


def restart_command(args, ck_path, out) -> str:
    """The exact ``fpsolve run ... --restart CHECKPOINT`` line that continues a run started with the
    parsed command line ``args`` (case, overrides, ``-o``, checkpoint cadence); stored in checkpoints."""
    import shlex

    flags = []
    if getattr(args, "checkpoint_every", 0):
        flags += ["--checkpoint-every", str(args.checkpoint_every)]
    if getattr(args, "checkpoint_minutes", 0.0):
        flags += ["--checkpoint-minutes", f"{args.checkpoint_minutes:g}"]
    if getattr(args, "keep_partial", False):  # the continuation keeps a partial result too
        flags.append("--keep-partial")
    return shlex.join(["fpsolve", "run", str(args.case), *args.overrides, "-o", str(out), *flags,
                       "--restart", str(ck_path)])
