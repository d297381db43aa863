"""The ``fpsolve`` command.

``fpsolve run CASE [-o OUT.h5] [--plot] [section.key=value ...]`` (CASE: a TOML file, or a
bundled case by name, e.g. ``slab_streaming``) solves the kinetic
equation, prints the summary and writes the HDF5 file; exit status 3 when not converged
(nothing written unless ``--keep-partial``, then the file says ``converged = false``; a
physical-time run interrupted by SIGINT/SIGTERM with ``--keep-partial`` writes its series so far,
``complete_in_time = 0``, :func:`fpsolve.transient.run_cli`).
Checkpoints of long marches: ``--checkpoint-every N`` / ``--checkpoint-minutes M`` (file
``--checkpoint PATH``); ``--restart PATH`` continues one.  NaN/Inf stops the run (exit 4)
naming the step and the first bad cell.
``fpsolve info OUT.h5`` and ``fpsolve plot OUT.h5 [--what g,F,delta,residual]`` read files.
``fpsolve validate [--quick]``, ``fpsolve converge CASE --refine z,mu,p`` and
``fpsolve sweep CASE key=v1,v2`` run the validation suite and studies.
``fpsolve report CASE.toml [section.key=value ...]`` prints the physics report of a case
(transport coefficients and anisotropy predictions, quadrature vs closed forms).
Bad input: one line on stderr naming the file and key, exit status 2
(``--debug`` shows the traceback).

Hostile conditions, shared by every command (helpers below, applied command by command):
output paths are checked before any work (:func:`check_output_path`, :func:`check_output_dir`;
exit 2); an output that cannot be written (disk full, read-only file system) exits 5 with one
line and the previous file intact; SIGINT/SIGTERM (:func:`interruptible`) stop a run with one
line — a march flushes a checkpoint and names the ``--restart`` command — and study commands
terminate their worker processes; exit 128 + the signal number (130, 143).  A closed stdout
(``fpsolve info X.h5 | head``) ends quietly with status 141.  A grid whose estimated memory exceeds
what the process can get (address-space limit or RAM, :func:`check_memory`) is refused before
any work, and memory running out during a run is one line (exit 6, both).

Output levels (:func:`configure_logging`): ``-q`` the one-line verdict on stdout, errors on stderr;
default the summary, warnings; ``-v`` timestamped progress of the solve from fpsolve's loggers
(``fpsolve.run``, ``fpsolve.solvers``, ``fpsolve.timestepping``); ``-vv`` their debug lines.
"""
from __future__ import annotations

import argparse
import contextlib
import importlib
import importlib.util
import logging
import math
import multiprocessing
import os
import re
import signal
import sys
import threading
from pathlib import Path

from ._version import __version__
from .case import CaseError, check_run_limits, load_case, resolve_case_path
from .io import OutputError, OutputPathError, check_output_dir, check_output_path, output_lock, restart_command
from .report import format_report, physics_report

log = logging.getLogger("fpsolve")


EXIT_OK, EXIT_BAD_INPUT, EXIT_NOT_CONVERGED, EXIT_NUMERICAL, EXIT_OUTPUT, EXIT_MEMORY = 0, 2, 3, 4, 5, 6


class OutOfMemory(Exception):
    """A grid whose estimated memory exceeds what this process can get (exit 6, one line)."""


def _meminfo_gb(field: str):
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024.0**2
    except (OSError, ValueError, IndexError):
        pass
    return None


def _vm_size_gb():
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmSize:"):
                return int(line.split()[1]) / 1024.0**2
    except (OSError, ValueError, IndexError):
        pass
    return 0.0


def memory_available_gb():
    """``(GB, what)``: the memory a run of this process can still get — the address-space limit
    (``ulimit -v``, RLIMIT_AS) less the address space already mapped, or else the machine's RAM
    (MemTotal); ``(None, "")`` when neither is known."""
    import resource

    soft, _hard = resource.getrlimit(resource.RLIMIT_AS)
    if soft != resource.RLIM_INFINITY:
        return soft / 1024.0**3 - _vm_size_gb(), f"address-space limit {soft / 1024.0**3:.3g} GB (ulimit -v)"
    total = _meminfo_gb("MemTotal")
    return (total, "RAM") if total is not None else (None, "")


def check_memory(case) -> float:
    """Refuse before any work (:class:`OutOfMemory`, exit 6) a grid whose estimated memory exceeds
    what the process can get (:func:`memory_available_gb`); a warning when it exceeds the RAM
    available now (MemAvailable: other processes may free it).  Returns the estimate (GB)."""
    need = case.estimated_memory_gb()
    have, what = memory_available_gb()
    log.debug("memory: estimated %.3g GB for %s; available %s", need, case.origin,
              "unknown" if have is None else f"{have:.3g} GB ({what})")
    if have is not None and need > have:
        raise OutOfMemory(f"{case.origin}: not enough memory for this grid: estimated {need:.3g} GB, available "
                          f"{max(have, 0.0):.3g} GB ({what}); allowed: fewer cells ([grid]) or more memory")
    now = _meminfo_gb("MemAvailable")
    if now is not None and need > now:
        log.warning("estimated memory %.3g GB exceeds the RAM available now (%.3g GB): the run may swap or fail",
                    need, now)
    return need


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (no usage block): ``fpsolve: error: ...; see fpsolve CMD --help``."""

    def error(self, message):
        print(f"fpsolve: error: {message}; see `{self.prog} --help`", file=sys.stderr)
        sys.exit(EXIT_BAD_INPUT)


EXIT_TEXT = ("exit status: 0 success; 1 validate: a check failed; 2 bad input or unusable output path (nothing "
             "done); 3 not converged; 4 NaN/Inf; 5 output not written (disk full, I/O error); 6 not enough memory "
             "for the grid (estimate vs available, see README); 130/143 SIGINT/SIGTERM; 141 stdout closed")


def _count(lo):
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r}: not an integer; allowed: an integer >= {lo}") from None
        if value < lo:
            raise argparse.ArgumentTypeError(f"{text!r}: out of range; allowed: an integer >= {lo}")
        return value
    return parse


def _number(lo, *, open_lo=True):
    def parse(text):
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r}: not a number") from None
        if not math.isfinite(value) or value < lo or (open_lo and value == lo):
            raise argparse.ArgumentTypeError(f"{text!r}: out of range; allowed: a finite number "
                                             f"{'>' if open_lo else '>='} {lo:g}")
        return value
    return parse


def _parser() -> argparse.ArgumentParser:
    ap = _Parser(prog="fpsolve", description="Cosmic-ray Fokker–Planck transport beyond "
                                 "the diffusion approximation (Schlickeiser et al. 2019).", epilog=EXIT_TEXT)
    ap.add_argument("--version", action="version", version=f"fpsolve {__version__}")
    def common(p, default):
        p.add_argument("--debug", action="store_true", default=default(False), help="show tracebacks")
        p.add_argument("-v", "--verbose", action="count", default=default(0),
                       help="-v: progress of long solves on stderr, timestamped (stage timings, refinement steps "
                       "with their forward-error estimates, momentum planes, GMRES iterations, time steps); "
                       "-vv: also fpsolve's debug detail")
        p.add_argument("-q", "--quiet", action="store_true", default=default(False),
                       help="quiet: errors on stderr and the one-line verdict on stdout only (no summary, "
                       "no warnings, no progress bar)")

    common(ap, lambda d: d)
    # the same options after the sub-command; SUPPRESS keeps the sub-parser from resetting them
    shared = _Parser(add_help=False)
    common(shared, lambda d: argparse.SUPPRESS)
    sub = ap.add_subparsers(dest="command", required=True)

    def command(name, **kw):
        return sub.add_parser(name, parents=[shared], **kw)

    run = command("run", help="solve the kinetic equation for a case, write HDF5",
                  usage="fpsolve run CASE [section.key=value ...] [-o OUT.h5] [--plot] [options]",
                  description="Solves CASE (a TOML file, or a bundled case by name, e.g. slab_streaming), prints "
                  "the summary and writes the HDF5 result.  section.key=value overrides (no spaces) may follow "
                  "anywhere, e.g. grid.z_cells=400 solver.method=direct.",
                  epilog=EXIT_TEXT)
    run.add_argument("case", help="case file (TOML) or bundled case name; section.key=value overrides may "
                     "follow anywhere")
    run.add_argument("-o", "--output", help="HDF5 output (default: CASE name with .h5 in the current folder)")
    run.add_argument("--plot", action="store_true", help="write PNG figures next to the output")
    run.add_argument("--keep-partial", action="store_true",
                     help="write a non-converged result, marked as such; a physical-time run ([time]) stopped by "
                     "SIGINT/SIGTERM stops at the end of its current step and writes the time series so far, "
                     "marked complete_in_time = false with t_reached (PARTIAL in fpsolve info; a second signal "
                     "aborts without writing)")
    run.add_argument("--checkpoint", help="checkpoint file of the march (default: the --restart file, else "
                     "OUTPUT.checkpoint.h5); removed after a successful result")
    run.add_argument("--checkpoint-every", type=_count(1), default=0, metavar="N",
                     help="checkpoint every N march steps (N >= 1)")
    run.add_argument("--checkpoint-minutes", type=_number(0.0), default=0.0, metavar="M",
                     help="checkpoint every M minutes (M > 0)")
    run.add_argument("--restart", metavar="CHECKPOINT", help="continue a march from a checkpoint")
    run.add_argument("--keep-checkpoint", action="store_true",
                     help="keep the checkpoint file after a successful result (default: removed)")
    run.add_argument("--progress", action="store_true", help="progress bar even when stdout is not a terminal")
    val = command("validate", help="run the validation problems, write a Markdown/JSON report")
    val.add_argument("--quick", action="store_true", help="coarse subset (CI)")
    val.add_argument("--only", default=None, metavar="A,B,...", help="comma list of problems (default: all)")
    val.add_argument("--out", default="validation-out", metavar="DIR",
                     help="report folder: report.md, checks.json, figures (default: validation-out)")
    con = command("converge", help="refinement ladder: observed orders, Richardson values",
                  usage="fpsolve converge CASE [section.key=value ...] [--refine z,mu,p] [--levels N] "
                  "[--ratio R] [--out DIR] [options]",
                  description="Runs CASE at LEVELS refinement levels (the cell counts of the refined axes "
                  "times RATIO**level) and reports, for F, max|g/F| and the streaming amplitude at the probes "
                  "and the balance closure, the observed order, the Richardson value, its error estimate and "
                  "the converged digits.  section.key=value overrides (one value each) apply to every level.",
                  epilog="writes DIR/converge.md, converge.png, converge.h5 and a run cache DIR/cache/ "
                  "(a re-run skips finished levels).  Example: fpsolve converge slab_streaming --refine z "
                  "--levels 4")
    con.add_argument("case", help="case file (TOML) or bundled case name")
    con.add_argument("--refine", default="z", metavar="AXES",
                     help="comma list of the axes refined together: z, mu, p (cell counts) and t (the constant "
                     "time step of a [time] case) (default: z)")
    con.add_argument("--levels", type=_count(3), default=4, metavar="N",
                     help="number of grids, the case's own the coarsest (N >= 3: the order needs three; default 4)")
    con.add_argument("--ratio", type=_number(1.0), default=2.0, metavar="R",
                     help="cell-count ratio between successive levels (R > 1; default 2; mu counts kept even)")
    con.add_argument("--out", default="converge-out", metavar="DIR",
                     help="folder of converge.md/.png/.h5 and the run cache (default: converge-out)")
    con.add_argument("--scheduler", default=None, metavar="ADDRESS",
                     help="dask.distributed scheduler address (default: local processes)")
    con.add_argument("--workers", type=_count(1), default=None, metavar="N",
                     help="local processes (default: cores)")
    con.add_argument("--progress", action="store_true", help="progress bar even when stdout is not a terminal")
    swp = command("sweep", help="runs over section.key=v1,v2,... (product)",
                  usage="fpsolve sweep CASE section.key=v1,v2,... [section.key=v1,v2,... ...] "
                  "[section.key=value ...] [--out DIR] [options]",
                  description="One run for every combination (product) of the listed values: each argument "
                  "section.key=v1,v2,... (no spaces; at least one with two or more values) is an axis of the "
                  "sweep; section.key=value with one value applies to every run.  Every run is validated "
                  "before the first starts.",
                  epilog="writes DIR/sweep.md (one row per run) and a run cache DIR/cache/ (a re-run skips "
                  "finished runs).  Example: fpsolve sweep slab_streaming turbulence.cross_helicity=-0.5,0,0.5 "
                  "grid.z_cells=100")
    swp.add_argument("case", help="case file (TOML) or bundled case name")
    swp.add_argument("--out", default="sweep-out", metavar="DIR",
                     help="folder of sweep.md and the run cache (default: sweep-out)")
    swp.add_argument("--scheduler", default=None, metavar="ADDRESS",
                     help="dask.distributed scheduler address (default: local processes)")
    swp.add_argument("--workers", type=_count(1), default=None, metavar="N",
                     help="local processes (default: cores)")
    swp.add_argument("--progress", action="store_true", help="progress bar even when stdout is not a terminal")
    ani = command("anisotropy", help="kinetic anisotropy at the Sun vs measured dipoles (fpsolve/observable.py)",
                  usage="fpsolve anisotropy CASE [section.key=value ...] [--energies E1,E2,...] [--out DIR] "
                  "[options]",
                  epilog="writes DIR/anisotropy.md, anisotropy.h5, dipole.png, g_mu_4tev.png and a run cache. "
                  "Example: fpsolve anisotropy ism_dipole --energies 1,4,10")
    ani.add_argument("case", help="physical case file (TOML) or bundled case name (e.g. ism_dipole)")
    ani.add_argument("--energies", default=None, metavar="E1,E2,...",
                     help="comma list of kinetic energies in TeV (default: the case's [particle])")
    ani.add_argument("--out", default="anisotropy-out", metavar="DIR", help="report folder (default: anisotropy-out)")
    ani.add_argument("--scheduler", default=None, metavar="ADDRESS",
                     help="dask.distributed scheduler address (default: local processes)")
    ani.add_argument("--workers", type=_count(1), default=None, metavar="N", help="local processes (default: cores)")
    ani.add_argument("--progress", action="store_true", help="progress bar even when stdout is not a terminal")
    inf = command("info", help="summary of an output file",
                  description="First line: the file, CONVERGED or NOT CONVERGED and the trust flags "
                  "(trustworthy or NOT TRUSTWORTHY); then the stored summary.  A checkpoint: one line with its "
                  "step, residual and the `fpsolve run ... --restart` command that continues it.")
    inf.add_argument("file", help="result or checkpoint file (HDF5) written by fpsolve")
    plo = command("plot", help="standard figures of an output file")
    plo.add_argument("file", help="result file (HDF5) written by fpsolve run")
    plo.add_argument("--what", default="g,F,delta,residual", metavar="LIST",
                     help="comma list of g, F, delta, residual (default: all four); FILE_NAME.png each")
    plo.add_argument("-o", "--outdir", default=None, metavar="DIR",
                     help="folder of the PNG files (default: next to the file)")
    rep = command("report", help="physics report of a case: coefficients, moments, anisotropy",
                  usage="fpsolve report CASE [section.key=value ...] [options]",
                  description="Quadrature of the exact transport coefficients beside the closed small-eps forms "
                  "(Eqs. 9-14, 30-36), per momentum of the case; nothing is solved or written.")
    rep.add_argument("case", help="case file (TOML) or bundled case name; section.key=value overrides may "
                     "follow anywhere")
    return ap


_OVERRIDE = re.compile(r"^[A-Za-z_]\w*\.[A-Za-z_]\w*=")
_OVERRIDE_FORM = "allowed: section.key=value, no spaces (e.g. grid.z_cells=40)"


def _split_overrides(extra) -> list:
    """The ``section.key=value`` overrides among the arguments argparse did not take; anything else
    is refused with one line naming it and the form."""
    for x in extra:
        if _OVERRIDE.match(x):
            continue
        if x.startswith("-"):
            raise CaseError(f"unrecognized option {x!r}; allowed: the options of `fpsolve COMMAND --help` "
                            f"or overrides section.key=value")
        if re.match(r"^\s*[A-Za-z_]\w*\.[A-Za-z_]\w*\s*=", x):
            raise CaseError(f"override {x!r}: spaces around '='; {_OVERRIDE_FORM}")
        raise CaseError(f"argument {x!r}: not an override; {_OVERRIDE_FORM}")
    return list(extra)


class Interrupted(BaseException):
    """SIGINT or SIGTERM arrived (raised by :func:`interruptible` in the main thread)."""

    def __init__(self, signum):
        super().__init__(signum)
        self.signum = signum
        self.name = signal.Signals(signum).name


class DeferredStop:
    """``fpsolve run --keep-partial`` of a physical-time case: while ``armed`` (from the first accepted
    step until the integration returns) the first SIGINT/SIGTERM is only recorded (``signum``) and the
    run stops at the end of the current step, so that the series written is that of an accepted step
    (:func:`fpsolve.transient.run_cli`); a second signal interrupts at once (nothing written)."""

    def __init__(self):
        self.armed = False
        self.signum = None
        self.abort = None  # a second signal: stop without writing

    def check_abort(self):
        """Raise :class:`Interrupted` if a second signal came (called before anything is written)."""
        if self.abort is not None:
            raise Interrupted(self.abort)


@contextlib.contextmanager
def interruptible(*, children: bool = False, defer: DeferredStop | None = None):
    """SIGINT/SIGTERM raise :class:`Interrupted` inside the block (a second signal while the first is
    being handled is ignored: a checkpoint flush is not cut short).  ``children``: terminate this
    process's worker processes (multiprocessing) first, so that no worker outlives the command.
    ``defer``: a :class:`DeferredStop`; while it is armed the first signal is recorded there instead."""
    if threading.current_thread() is not threading.main_thread():  # signals reach the main thread only
        yield
        return
    fired = []
    in_hook = [False]

    def again(signum):  # the signal once more, 10 ms from now (from a timer thread; handled in this one)
        t = threading.Timer(0.01, os.kill, (os.getpid(), signum))
        t.daemon = True
        t.start()

    def handler(signum, frame):
        if defer is not None and defer.armed and defer.signum is None:
            defer.signum = signum  # the run stops at the end of its current step
            return
        if defer is not None and defer.signum is not None:
            defer.abort = signum  # a second signal: nothing is written
        if in_hook[0]:  # inside the unraisable hook below: what is raised here would be printed and lost
            again(signum)
            return
        if fired:
            return
        fired.append(signum)
        if children:
            _terminate_children()
        raise Interrupted(signum)

    def unraisable(u):
        # the handler ran inside a finaliser or a weakref callback, where Python swallows (and prints)
        # what it raises: the interrupt would be lost and later signals ignored.  Say nothing, forget
        # that it fired and deliver the signal again shortly (after this hook has returned: a signal
        # handled inside the hook is itself sent again, never raised here).
        if isinstance(u.exc_value, Interrupted):
            in_hook[0] = True
            try:
                fired.clear()
                again(u.exc_value.signum)
            finally:
                in_hook[0] = False
            return
        hook(u)

    hook = sys.unraisablehook
    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    sys.unraisablehook = unraisable
    try:
        yield
    finally:
        sys.unraisablehook = hook
        if children and fired:
            _terminate_children()
        for sig, old in previous.items():
            signal.signal(sig, old)


def _signal_of(err):
    """The :class:`Interrupted` behind ``err``: itself, or the cause of a ``SystemError`` from a compiled
    function (numba's dispatcher reports an exception raised by the signal handler during its call as
    "SystemError: ... returned a result with an exception set", the Interrupted as ``__cause__``);
    None if there is none."""
    while err is not None:
        if isinstance(err, Interrupted):
            return err
        if not isinstance(err, SystemError):
            return None
        err = err.__cause__
    return None


def _terminate_children(grace: float = 2.0) -> None:
    """SIGTERM to every live multiprocessing child, SIGKILL to those still alive after ``grace`` s."""
    kids = multiprocessing.active_children()
    for child in kids:
        with contextlib.suppress(Exception):
            child.terminate()
    for child in kids:
        child.join(grace)
        if child.is_alive():
            with contextlib.suppress(Exception):
                child.kill()
                child.join(1.0)


def _load(case, overrides):
    """:func:`load_case`, with a clear line for an empty case file."""
    try:
        return load_case(case, overrides)
    except CaseError:
        path = resolve_case_path(case)
        try:
            data = path.read_bytes() if path.is_file() else None
        except OSError:
            data = None
        if data is not None and not data.strip():
            raise CaseError(f"{path}: empty case file; allowed: a TOML case (see README; e.g. "
                            f"fpsolve run slab_streaming)") from None
        raise


_HANDLER: list = []


def configure_logging(verbose: int, quiet: bool) -> None:
    """The logging story of ``-q`` / default / ``-v`` / ``-vv`` (README "Output levels").

    fpsolve's loggers (``fpsolve.*``) write to stderr: ``-q`` errors only; default warnings;
    ``-v`` progress (INFO: stage timings, refinement steps, planes, GMRES iterations, time steps),
    timestamped; ``-vv`` fpsolve's debug detail.  Other libraries' loggers stay at WARNING (ERROR
    with ``-q``) whatever ``-v`` says: their debug output is not fpsolve's."""
    level = logging.ERROR if quiet else (logging.DEBUG if verbose > 1 else logging.INFO if verbose else
                                         logging.WARNING)
    pkg = logging.getLogger("fpsolve")
    for old in _HANDLER:
        pkg.removeHandler(old)
    _HANDLER.clear()
    handler = logging.StreamHandler(sys.stderr)
    stamp = "%(asctime)s.%(msecs)03d " if verbose and not quiet else ""
    handler.setFormatter(logging.Formatter(f"{stamp}fpsolve: %(message)s", datefmt="%H:%M:%S"))
    pkg.addHandler(handler)
    pkg.setLevel(level)
    pkg.propagate = False  # never twice, never through a root handler set to another level
    _HANDLER.append(handler)
    logging.getLogger().setLevel(logging.ERROR if quiet else logging.WARNING)
    logging.captureWarnings(quiet)  # -q: Python warnings go to logging (py.warnings), below ERROR: silent


def _flush_stdout() -> None:
    """Everything printed so far reaches stdout before a signal's exit line (stdout is block-buffered
    into a pipe or file: the summary would otherwise follow the stderr line, or be lost if the
    process is killed next)."""
    with contextlib.suppress(ValueError):  # a closed stdout: BrokenPipeError is main()'s
        sys.stdout.flush()


def main(argv=None) -> int:
    try:
        status = _main(argv)
        _flush_stdout()
        return status
    except BrokenPipeError:  # stdout closed early (`fpsolve info X.h5 | head`): end quietly
        with contextlib.suppress(OSError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        return 128 + signal.SIGPIPE


def _main(argv) -> int:
    parser = _parser()
    args, extra = parser.parse_known_args(argv)
    configure_logging(args.verbose, args.quiet)
    from .solvers import NumericalError

    try:
        with interruptible():
            try:
                return _dispatch(args, extra)
            except SystemError as err:  # a signal inside a compiled kernel: the Interrupted it wraps
                raise _signal_of(err) or err
    except (Interrupted, KeyboardInterrupt) as sig:
        if args.debug:
            raise
        signum = getattr(sig, "signum", signal.SIGINT)
        _flush_stdout()
        print(f"fpsolve: interrupted by {signal.Signals(signum).name}", file=sys.stderr)
        return 128 + signum
    except NumericalError as err:
        if args.debug:
            raise
        print(f"fpsolve: numerical error: {err}", file=sys.stderr)
        return EXIT_NUMERICAL
    except OutOfMemory as err:
        if args.debug:
            raise
        print(f"fpsolve: error: {_one_line(err)}", file=sys.stderr)
        return EXIT_MEMORY
    except (MemoryError, SystemError) as err:
        # SuperLU's gstrf reports a failed allocation as "SystemError: gstrf was called with invalid
        # arguments"; numpy raises MemoryError
        if args.debug or (isinstance(err, SystemError) and "gstrf" not in str(err)):
            raise
        _flush_stdout()
        need = getattr(args, "memory_estimate_gb", None)
        have, what = getattr(args, "memory_available", None) or memory_available_gb()
        print(f"fpsolve: error: out of memory during the run"
              + (f": estimated {need:.3g} GB" if need is not None else "")
              + (f", available {max(have, 0.0):.3g} GB ({what})" if have is not None else "")
              + "; allowed: fewer cells ([grid]) or more memory; nothing written", file=sys.stderr)
        return EXIT_MEMORY
    except (CaseError, ValueError) as err:  # FileFormatError, OutputPathError included
        if args.debug:
            raise
        print(f"fpsolve: error: {_one_line(err)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except BrokenPipeError:
        raise  # main(): a closed stdout ends quietly
    except OSError as err:  # OutputError: disk full, read-only file system, ...
        if args.debug:
            raise
        text = str(err) if isinstance(err, OutputError) else \
            f"{err.filename or ''}: could not be written ({err.strerror or err})"
        print(f"fpsolve: error: {_one_line(text)}", file=sys.stderr)
        return EXIT_OUTPUT


def _report(args) -> int:
    case = _load(args.case, args.overrides)
    print(format_report(case, physics_report(case)))
    return 0


def _dispatch(args, extra) -> int:
    """The sub-command's function (one per command; each applies the shared checks it needs)."""
    args.overrides = _split_overrides(extra)
    commands = {"report": _report, "run": _run, "info": _info, "validate": _validate, "converge": _converge,
                "sweep": _sweep, "plot": _plot, "anisotropy": _anisotropy}
    return commands[args.command](args)


def _one_line(err) -> str:
    return " ".join(str(err).split("\n")).strip()


def _want_bar(args) -> bool:
    """A progress bar (on stderr) for a person at a terminal, or when asked with --progress."""
    return not args.quiet and (getattr(args, "progress", False) or sys.stdout.isatty())


def _progress(args, case, ck_path, case_key, latest, marching=True):
    """Callback for the march: tqdm bar (terminal or --progress; only for a march: a direct, sweep or
    Krylov solve has no steps to count, its progress is ``-v``), checkpoints, and the latest state
    (``latest[0]``, for the checkpoint flushed on SIGINT/SIGTERM)."""
    import time

    from .io import write_checkpoint

    want_bar = _want_bar(args) and marching
    command = restart_command(args, ck_path, _output(args))
    every, minutes = args.checkpoint_every, args.checkpoint_minutes
    bar = None
    if want_bar:
        from tqdm import tqdm

        bar = tqdm(total=case.solver.max_steps, desc="march", unit="step", file=sys.stderr)
    last = [time.monotonic()]

    def callback(state):
        latest[0] = state
        if bar is not None:
            bar.update(1)
            bar.set_postfix(residual=f"{state.res:.2e}", dtau=f"{state.pseudo_time_steps[-1]:.2e}")
        due = (every and state.step % every == 0) or (minutes and time.monotonic() - last[0] >= 60 * minutes)
        if due:
            write_checkpoint(ck_path, state, case_key, case.resolved_text(), __version__, case.origin,
                             command=command)
            last[0] = time.monotonic()
            log.info("checkpoint at step %d: %s", state.step, ck_path)
        return False

    return callback, bar


#: What SuperLU's C code prints on a failed allocation (before scipy raises): replaced by our one line.
_C_NOISE = re.compile(r"malloc fails for [^\n]*?(\.|\n|$)|Can't expand MemType[^\n]*(\n|$)")


@contextlib.contextmanager
def _c_stderr_filtered():
    """Inside the block, file descriptor 2 (where C libraries write) goes to a temporary file, while
    Python's stderr (log lines, the progress bar) still reaches the terminal at once; afterwards the
    captured text is replayed without SuperLU's allocation-failure message (the out-of-memory
    exit prints one line of its own)."""
    import tempfile

    try:
        sys.stderr.flush()
        cap = tempfile.TemporaryFile()  # first: a full temporary folder means no filtering, not an error
    except (OSError, ValueError, AttributeError):
        yield
        return
    try:
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):
        cap.close()
        yield
        return
    # the terminal, for Python's writes meanwhile; it stays open while anything holds it (the
    # progress bar is closed after this block)
    real = os.fdopen(saved, "w", buffering=1)
    old = sys.stderr
    streams = [(h, h.stream) for h in _HANDLER]
    os.dup2(cap.fileno(), 2)
    sys.stderr = real
    for h in _HANDLER:
        h.setStream(real)
    try:
        yield
    finally:
        with contextlib.suppress(Exception):
            real.flush()
        os.dup2(saved, 2)
        sys.stderr = old
        for h, stream in streams:
            h.setStream(stream)
        cap.seek(0)
        text = _C_NOISE.sub("", cap.read().decode("utf-8", "replace"))
        cap.close()
        if text.strip():
            sys.stderr.write(text if text.endswith("\n") else text + "\n")
            sys.stderr.flush()


def _output(args) -> Path:
    return Path(args.output) if args.output else Path(Path(args.case).stem + ".h5")


def _run(args) -> int:
    import time

    from .io import read_checkpoint, write_checkpoint, write_result
    from .run import solve

    case = _load(args.case, args.overrides)
    if not case.has_grid:
        raise CaseError(f"{args.case}: [grid] section missing; allowed: a run case with [grid] (see README)")
    check_run_limits(case)
    if not case.has_time:
        args.memory_estimate_gb = check_memory(case)
        args.memory_available = memory_available_gb()  # before the run maps its own memory
    if case.has_time:  # physical-time run (fpsolve.transient)
        from .transient import run_cli

        out = Path(args.output) if args.output else Path(Path(args.case).stem + ".h5")
        check_output_path(out, inputs=[resolve_case_path(args.case), args.restart])
        # --keep-partial: a signal stops the integration at the end of its step and the series so far
        # is written, marked partial (exit 130/143 all the same)
        # (also with checkpoints: the signal's checkpoint is then that of a finished step, with its restart command)
        args.deferred_stop = (DeferredStop() if args.keep_partial or args.checkpoint_every or args.checkpoint_minutes
                              else None)
        with output_lock(out), interruptible(defer=args.deferred_stop):
            return run_cli(args, case)
    out = Path(args.output) if args.output else Path(Path(args.case).stem + ".h5")
    case_file = resolve_case_path(args.case)
    check_output_path(out, inputs=[case_file, args.restart])
    log.debug("output %s checked (folder writable, no other writer); case digest %s", out, case.digest()[:16])
    key = case.digest(solver=False)  # a checkpoint may be continued with another [solver] budget
    state = read_checkpoint(args.restart, key) if args.restart else None
    marching = args.restart is not None or case.solver.method == "march"
    # checkpoints: --checkpoint, else the file restarted from (one file per march), else OUT.checkpoint.h5
    ck_path = Path(args.checkpoint or args.restart or out.with_suffix(".checkpoint.h5"))
    if args.plot:  # the figures next to the output
        for png in ("anisotropy", "F"):
            check_output_path(out.with_name(f"{out.stem}_{png}.png"), inputs=[case_file], must_be_fpsolve=False,
                              option="--plot figure")
    if marching:
        check_output_path(ck_path, inputs=[case_file], option="--checkpoint")
        if ck_path.resolve() == out.resolve():
            raise OutputPathError(f"--checkpoint {ck_path}: the same file as the output; allowed: another name")
    with output_lock(out), interruptible():
        latest = [None]
        t0 = time.perf_counter()
        bar = None
        try:
            with _c_stderr_filtered():
                callback, bar = _progress(args, case, ck_path, key, latest, marching)
                result = solve(case, restart=state, callback=callback)
        except (Interrupted, SystemError) as caught:
            sig = _signal_of(caught)
            if sig is None:
                raise
            if bar is not None:
                bar.close()
            if latest[0] is None:
                raise
            write_checkpoint(ck_path, latest[0], key, case.resolved_text(), __version__, case.origin,
                             command=restart_command(args, ck_path, out))
            _flush_stdout()
            print(f"fpsolve: interrupted by {sig.name} at march step {latest[0].step}; checkpoint {ck_path}; "
                  f"continue with: {restart_command(args, ck_path, out)}", file=sys.stderr)
            return 128 + sig.signum
        finally:
            if bar is not None:
                bar.close()
        if not args.quiet:
            print(result.summary(), flush=True)
        if not result.info.converged:
            steps = len(result.info.residual_history)
            print(f"fpsolve: not converged after {steps} steps in {time.perf_counter() - t0:.1f} s: "
                  f"forward-error estimate {result.info.forward_error:.3e} (rtol {result.info.rtol:.1e}), "
                  f"residual {result.info.residual:.3e}"
                  + ("" if args.keep_partial else "; nothing written (use --keep-partial)"), file=sys.stderr)
            if not args.keep_partial:
                return EXIT_NOT_CONVERGED
        write_result(result, out)
        pngs = []
        if args.plot:
            from .plotting import standard_figures

            pngs = standard_figures(result, out.with_suffix(""))
        if args.quiet:  # the one-line verdict
            print(f"wrote {out}: {verdict(result, alone=True)}" + (f" (+ {len(pngs)} figures)" if pngs else ""))
        else:
            print(f"wrote {out}" + ("" if result.trustworthy else "   (flagged: not trustworthy, see above)"))
            for png in pngs:
                print(f"wrote {png}")
        if result.info.converged and marching and not args.keep_checkpoint:
            _remove_checkpoint(ck_path, out)
    return 0 if result.info.converged else EXIT_NOT_CONVERGED


def verdict(result, alone: bool = False) -> str:
    """CONVERGED / NOT CONVERGED and the trust flag, one line (``fpsolve -q run``, ``fpsolve info``);
    ``alone``: no summary follows (``-q``), so the first failed criterion is named here."""
    if getattr(result, "kind", "") == "timeseries":
        first = "physical-time run, " + ("COMPLETED" if result.info.completed else result.stop_text())
    else:
        first = "CONVERGED" if result.info.converged else "NOT CONVERGED (partial result)"
    if result.trustworthy:
        return f"{first}, trustworthy"
    failures = result.trust_failures() if hasattr(result, "trust_failures") else []
    if not alone:
        return f"{first} — NOT TRUSTWORTHY (see the flags below)"
    return f"{first} — NOT TRUSTWORTHY" + (f": {len(failures)} flag(s), first: {failures[0]}" if failures else "")


def _remove_checkpoint(path, out) -> None:
    """Remove this run's checkpoint file after a successful result (only an fpsolve checkpoint)."""
    import h5py

    if not path.is_file() or path.resolve() == out.resolve():
        return
    try:
        with h5py.File(path, "r") as h5:
            if h5.attrs.get("kind") != "checkpoint":
                return
    except OSError:
        return
    path.unlink()
    log.info("removed checkpoint %s (the result is written; --keep-checkpoint keeps it)", path)


def validation_package():
    """``fpsolve.validation``: installed with the package (from the repository's top-level
    ``validation/`` folder); in a source tree that is not installed, loaded from that folder."""
    try:
        return importlib.import_module("fpsolve.validation")
    except ModuleNotFoundError as err:
        if err.name != "fpsolve.validation":
            raise
    folder = Path(__file__).resolve().parents[1] / "validation"
    spec = importlib.util.spec_from_file_location("fpsolve.validation", folder / "__init__.py",
                                                  submodule_search_locations=[str(folder)])
    module = importlib.util.module_from_spec(spec)
    sys.modules["fpsolve.validation"] = module
    spec.loader.exec_module(module)
    return module


def _validate(args) -> int:
    package = validation_package()
    only = [x.strip() for x in args.only.split(",")] if args.only else None
    unknown = sorted(set(only or ()) - set(package.PROBLEMS))
    if unknown or (only is not None and not any(only)):
        raise CaseError(f"--only {','.join(unknown) or args.only}: unknown problem; allowed: "
                        f"{', '.join(package.PROBLEMS)}")
    check_output_dir(args.out)
    from fpsolve.validation.report import run_all

    with interruptible(children=True):
        checks = run_all(args.out, quick=args.quick, only=only)
    failed = [c for c in checks if not c.passed]
    for c in failed if not args.quiet else ():
        print(f"FAIL {c.problem}: {c.name}: {c.computed:.6g} vs {c.reference:.6g} (tolerance {c.tolerance:.1e})")
    n = sum(c.kind == "check" for c in checks)
    print(f"validation: {n - len(failed)} of {n} checks passed; report {Path(args.out) / 'report.md'}")
    return 1 if failed else 0


def _converge(args) -> int:
    from .studies import REFINE_KEYS, converge, ladder

    refine = [x.strip() for x in args.refine.split(",")]
    bad = sorted(set(refine) - set(REFINE_KEYS))
    if bad or not refine:
        raise CaseError(f"--refine {','.join(bad)}: unknown axis; allowed: {', '.join(REFINE_KEYS)}")
    listed = [o for o in args.overrides if "," in (v := o.split("=", 1)[1]) and not v.lstrip().startswith("[")]
    if listed:
        raise CaseError(f"override {listed[0]!r}: a list of values is for `fpsolve sweep`; {_OVERRIDE_FORM}")
    case = _load(args.case, args.overrides)
    if not case.has_grid:
        raise CaseError(f"{args.case}: [grid] section missing; allowed: a run case with [grid] (see README)")
    if "t" in refine and not case.has_time:
        raise CaseError(f"--refine t: {args.case} has no [time] section; allowed: z, mu, p for a steady case")
    for level in ladder(case, refine, args.levels, args.ratio):  # every level is a valid case before any run
        finest = _load(args.case, list(args.overrides) + level)
    check_memory(finest)  # the finest level fits in this machine's memory (exit 6)
    check_output_dir(args.out)
    with interruptible(children=True):
        rows = converge(args.case, args.overrides, refine, args.levels, args.ratio, args.out, args.scheduler,
                        args.workers, _want_bar(args))
    for row in rows if not args.quiet else ():
        print(f"{row['quantity']:40s} order {row['order']:6.3f}  Richardson {row['extrapolated']:.10g}"
              f"  +- {row['error']:.2e}  ({row['digits']:.1f} digits) {row['note']}")
    print(f"wrote {Path(args.out) / 'converge.md'}")
    return 0


def _anisotropy(args) -> int:
    from .observable import anisotropy

    try:
        energies = None if args.energies is None else [float(e) for e in args.energies.split(",")]
    except ValueError:
        raise CaseError(f"--energies {args.energies!r}: expected a comma list of numbers (TeV)") from None
    if energies is not None and not all(math.isfinite(e) and e > 0 for e in energies):
        raise CaseError(f"--energies {args.energies!r}: energies must be positive and finite (TeV)")
    _load(args.case, args.overrides)  # a valid case before any work
    check_output_dir(args.out)
    with interruptible(children=True):
        anisotropy(args.case, args.overrides, energies, args.out, args.scheduler, args.workers, _want_bar(args))
    print(f"wrote {Path(args.out) / 'anisotropy.md'}, anisotropy.h5, dipole.png, g_mu_4tev.png")
    return 0


def _sweep(args) -> int:
    import itertools

    from .studies import sweep

    sweeps = [o for o in args.overrides if "," in o.split("=", 1)[1]]
    fixed = [o for o in args.overrides if o not in sweeps]
    if not sweeps:
        raise CaseError(f"sweep {args.case}: no parameter to sweep; allowed: section.key=v1,v2,... "
                        f"(e.g. turbulence.cross_helicity=-0.5,0.5)")
    axes = []
    for a in sweeps:
        key, _, values = a.partition("=")
        items = [v.strip() for v in values.split(",")]
        if any(not v for v in items):
            raise CaseError(f"sweep {a!r}: an empty value; allowed: section.key=v1,v2,...")
        axes.append([f"{key}={v}" for v in items])
    case = _load(args.case, fixed)
    if not case.has_grid:
        raise CaseError(f"{args.case}: [grid] section missing; allowed: a run case with [grid] (see README)")
    for combo in itertools.product(*axes):  # every run is a valid case before the first one starts
        check_memory(_load(args.case, fixed + list(combo)))
    check_output_dir(args.out)
    with interruptible(children=True):
        records = sweep(args.case, sweeps, fixed, args.out, args.scheduler, args.workers, _want_bar(args))
    print(f"{len(records)} runs; wrote {Path(args.out) / 'sweep.md'}")
    return 0


def _info(args) -> int:
    from . import read
    from .io import describe_file

    line = describe_file(args.file)
    if line is not None:  # a checkpoint
        print(line)
        return 0
    r = read(args.file)
    if getattr(r, "kind", "") == "timeseries":
        print(f"{args.file}: {verdict(r, alone=args.quiet)}")
        if not args.quiet:
            print(r.summary())
        return 0
    print(f"{args.file}: {verdict(r, alone=args.quiet)}")
    if not args.quiet:
        print(r.summary())
        print(f"written by fpsolve {r.version}")
    return 0


def _plot(args) -> int:
    from . import read
    from .plotting import FIGURES, file_figures

    what = [w.strip() for w in args.what.split(",")]
    bad = sorted(set(what) - set(FIGURES))
    if bad:
        raise CaseError(f"--what {','.join(bad)}: unknown figure; allowed: {', '.join(FIGURES)}")
    r = read(args.file)
    outdir = Path(args.outdir) if args.outdir else Path(args.file).parent
    check_output_dir(outdir, option="-o")
    stem = outdir / Path(args.file).stem
    timeseries = getattr(r, "kind", "") == "timeseries"
    if timeseries and args.what == "g,F,delta,residual":
        what = ["F", "g", "delta"]  # the time-series figures (fpsolve.plot_time)
    elif timeseries:
        from .plot_time import TIME_FIGURES

        bad = sorted(set(what) - set(TIME_FIGURES))
        if bad:
            raise CaseError(f"--what {','.join(bad)}: not a figure of a physical-time file; allowed: "
                            f"{', '.join(TIME_FIGURES)}")
    if outdir.is_dir():
        from .plot_time import TIME_FIGURES

        for w in what:  # the names the figures will have
            suffix = TIME_FIGURES.get(w, w) if timeseries else w
            check_output_path(stem.with_name(f"{stem.name}_{suffix}.png"), inputs=[args.file], must_be_fpsolve=False,
                              option="figure")
    outdir.mkdir(exist_ok=True)
    with interruptible():
        if timeseries:
            from .plot_time import time_figures

            pngs = time_figures(r, stem, what)
        else:
            pngs = file_figures(r, stem, what)
        if args.quiet:
            print(f"wrote {len(pngs)} figures: " + ", ".join(str(x) for x in pngs))
        else:
            for png in pngs:
                print(f"wrote {png}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
