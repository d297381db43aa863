"""The ``fpsolve`` command.

``fpsolve run CASE [-o OUT.h5] [--plot] [section.key=value ...]`` (CASE: a TOML file, or a
bundled case by name, e.g. ``slab_streaming``) solves the kinetic
equation, prints the summary and writes the HDF5 file; exit status 3 when not converged
(nothing written unless ``--keep-partial``, then the file says ``converged = false``).
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
"""
from __future__ import annotations

import argparse
import importlib
import importlib.util
import logging
import re
import sys
from pathlib import Path

from ._version import __version__
from .case import CaseError, load_case
from .report import format_report, physics_report

log = logging.getLogger("fpsolve")


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="fpsolve", description="Cosmic-ray Fokker–Planck transport beyond "
                                 "the diffusion approximation (Schlickeiser et al. 2019).")
    ap.add_argument("--version", action="version", version=f"fpsolve {__version__}")
    def common(p, default):
        p.add_argument("--debug", action="store_true", default=default(False), help="show tracebacks")
        p.add_argument("-v", "--verbose", action="count", default=default(0), help="more log output (-vv: debug)")
        p.add_argument("-q", "--quiet", action="store_true", default=default(False),
                       help="no progress bar, warnings and errors only")

    common(ap, lambda d: d)
    # the same options after the sub-command; SUPPRESS keeps the sub-parser from resetting them
    shared = argparse.ArgumentParser(add_help=False)
    common(shared, lambda d: argparse.SUPPRESS)
    sub = ap.add_subparsers(dest="command", required=True)

    def command(name, **kw):
        return sub.add_parser(name, parents=[shared], **kw)

    run = command("run", help="solve the kinetic equation for a case, write HDF5")
    run.add_argument("case", help="case file (TOML) or bundled case name; section.key=value overrides may "
                     "follow anywhere")
    run.add_argument("-o", "--output", help="HDF5 output (default: CASE name with .h5 in the current folder)")
    run.add_argument("--plot", action="store_true", help="write PNG figures next to the output")
    run.add_argument("--keep-partial", action="store_true", help="write a non-converged result, marked as such")
    run.add_argument("--checkpoint", help="checkpoint file of the march (default: OUTPUT.checkpoint.h5)")
    run.add_argument("--checkpoint-every", type=int, default=0, metavar="N", help="checkpoint every N march steps")
    run.add_argument("--checkpoint-minutes", type=float, default=0.0, metavar="M", help="checkpoint every M minutes")
    run.add_argument("--restart", metavar="CHECKPOINT", help="continue a march from a checkpoint")
    run.add_argument("--progress", action="store_true", help="progress bar even when stdout is not a terminal")
    val = command("validate", help="run the validation problems, write a Markdown/JSON report")
    val.add_argument("--quick", action="store_true", help="coarse subset (CI)")
    val.add_argument("--only", default=None, help="comma list of problems")
    val.add_argument("--out", default="validation-out", help="report folder")
    con = command("converge", help="refinement ladder: observed orders, Richardson values")
    con.add_argument("case")
    con.add_argument("--refine", default="z", help="comma list of z, mu, p")
    con.add_argument("--levels", type=int, default=4)
    con.add_argument("--ratio", type=float, default=2.0)
    con.add_argument("--out", default="converge-out")
    con.add_argument("--scheduler", default=None, help="dask.distributed scheduler address")
    con.add_argument("--workers", type=int, default=None, help="local processes (default: cores)")
    con.add_argument("--progress", action="store_true", help="progress bar even when stdout is not a terminal")
    swp = command("sweep", help="runs over section.key=v1,v2,... (product)")
    swp.add_argument("case")
    swp.add_argument("--out", default="sweep-out")
    swp.add_argument("--scheduler", default=None)
    swp.add_argument("--workers", type=int, default=None)
    swp.add_argument("--progress", action="store_true", help="progress bar even when stdout is not a terminal")
    inf = command("info", help="summary of an output file")
    inf.add_argument("file")
    plo = command("plot", help="standard figures of an output file")
    plo.add_argument("file")
    plo.add_argument("--what", default="g,F,delta,residual", help="comma list of g, F, delta, residual")
    plo.add_argument("-o", "--outdir", default=None, help="folder of the PNG files (default: next to the file)")
    rep = command("report", help="physics report of a case: coefficients, moments, anisotropy")
    rep.add_argument("case", help="case file (TOML); section.key=value overrides may follow anywhere")
    return ap


_OVERRIDE = re.compile(r"^[A-Za-z_]\w*\.[A-Za-z_]\w*=")


def main(argv=None) -> int:
    parser = _parser()
    args, extra = parser.parse_known_args(argv)
    bad = [x for x in extra if not _OVERRIDE.match(x)]
    if bad:
        parser.error(f"unrecognized arguments: {' '.join(bad)}")
    args.overrides = extra
    logging.basicConfig(level=logging.WARNING if args.quiet else (logging.DEBUG if args.verbose > 1 else
                        logging.INFO if args.verbose else logging.WARNING), format="fpsolve: %(message)s")
    from .solvers import NumericalError

    try:
        if args.command == "report":
            case = load_case(args.case, args.overrides)
            print(format_report(case, physics_report(case)))
        elif args.command == "run":
            return _run(args)
        elif args.command == "info":
            return _info(args)
        elif args.command == "validate":
            return _validate(args)
        elif args.command == "converge":
            from .studies import converge

            load_case(args.case, [o for o in args.overrides if "," not in o.split("=", 1)[1]])  # validate first
            rows = converge(args.case, args.overrides, [x.strip() for x in args.refine.split(",")], args.levels,
                            args.ratio, args.out, args.scheduler, args.workers, _want_bar(args))
            for row in rows:
                print(f"{row['quantity']:40s} order {row['order']:6.3f}  Richardson {row['extrapolated']:.10g}"
                      f"  +- {row['error']:.2e}  ({row['digits']:.1f} digits) {row['note']}")
            print(f"wrote {Path(args.out) / 'converge.md'}")
        elif args.command == "sweep":
            from .studies import sweep

            sweeps = [o for o in args.overrides if "," in o.split("=", 1)[1]]
            fixed = [o for o in args.overrides if o not in sweeps]
            records = sweep(args.case, sweeps, fixed, args.out, args.scheduler, args.workers, _want_bar(args))
            print(f"{len(records)} runs; wrote {Path(args.out) / 'sweep.md'}")
        elif args.command == "plot":
            return _plot(args)
        return 0
    except NumericalError as err:
        if args.debug:
            raise
        print(f"fpsolve: numerical error: {err}", file=sys.stderr)
        return 4
    except (CaseError, ValueError) as err:
        if args.debug:
            raise
        print(f"fpsolve: error: {err}", file=sys.stderr)
        return 2


def _want_bar(args) -> bool:
    """A progress bar (on stderr) for a person at a terminal, or when asked with --progress."""
    return not args.quiet and (getattr(args, "progress", False) or sys.stdout.isatty())


def _progress(args, case, out, case_key):
    """Callback for the march: tqdm bar (terminal or --progress) and checkpoints; None if neither."""
    import time

    from .io import write_checkpoint

    want_bar = _want_bar(args)
    every, minutes = args.checkpoint_every, args.checkpoint_minutes
    if not (want_bar or every or minutes):
        return None, None
    ck_path = Path(args.checkpoint) if args.checkpoint else out.with_suffix(".checkpoint.h5")
    bar = None
    if want_bar:
        from tqdm import tqdm

        bar = tqdm(total=case.solver.max_steps, desc="march", unit="step", file=sys.stderr)
    last = [time.monotonic()]

    def callback(state):
        if bar is not None:
            bar.update(1)
            bar.set_postfix(residual=f"{state.res:.2e}", dtau=f"{state.pseudo_time_steps[-1]:.2e}")
        due = (every and state.step % every == 0) or (minutes and time.monotonic() - last[0] >= 60 * minutes)
        if due:
            write_checkpoint(ck_path, state, case_key, case.resolved_text(), __version__)
            last[0] = time.monotonic()
            log.info("checkpoint at step %d: %s", state.step, ck_path)
        return False

    return callback, bar


def _run(args) -> int:
    import time

    from .io import read_checkpoint, write_result
    from .run import solve

    case = load_case(args.case, args.overrides)
    if not case.has_grid:
        raise CaseError(f"{args.case}: [grid] section missing; allowed: a run case with [grid] (see README)")
    if case.has_time:  # physical-time run (fpsolve.transient)
        from .transient import run_cli

        return run_cli(args, case)
    out = Path(args.output) if args.output else Path(Path(args.case).stem + ".h5")
    key = case.digest(solver=False)  # a checkpoint may be continued with another [solver] budget
    state = read_checkpoint(args.restart, key) if args.restart else None
    callback, bar = _progress(args, case, out, key)
    t0 = time.perf_counter()
    try:
        result = solve(case, restart=state, callback=callback)
    finally:
        if bar is not None:
            bar.close()
    print(result.summary())
    if not result.info.converged:
        steps = len(result.info.residual_history)
        print(f"fpsolve: not converged after {steps} steps in {time.perf_counter() - t0:.1f} s: "
              f"residual {result.info.residual:.3e} (rtol {result.info.rtol:.1e})"
              + ("" if args.keep_partial else "; nothing written (use --keep-partial)"), file=sys.stderr)
        if not args.keep_partial:
            return 3
    write_result(result, out)
    print(f"wrote {out}" + ("" if result.trustworthy else "   (flagged: not trustworthy, see above)"))
    if args.plot:
        from .plotting import standard_figures

        for png in standard_figures(result, out.with_suffix("")):
            print(f"wrote {png}")
    return 0 if result.info.converged else 3


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
    validation_package()
    from fpsolve.validation.report import run_all

    only = [x.strip() for x in args.only.split(",")] if args.only else None
    checks = run_all(args.out, quick=args.quick, only=only)
    failed = [c for c in checks if not c.passed]
    for c in failed:
        print(f"FAIL {c.problem}: {c.name}: {c.computed:.6g} vs {c.reference:.6g} (tolerance {c.tolerance:.1e})")
    n = sum(c.kind == "check" for c in checks)
    print(f"validation: {n - len(failed)} of {n} checks passed; report {Path(args.out) / 'report.md'}")
    return 1 if failed else 0


def _info(args) -> int:
    from . import read

    r = read(args.file)
    if getattr(r, "kind", "") == "timeseries":
        print(f"{args.file}: physical-time run, " + ("COMPLETED" if r.info.completed else "NOT COMPLETED") +
              ("" if r.trustworthy else " — NOT TRUSTWORTHY (see the flags below)"))
        print(r.summary())
        return 0
    first = ("CONVERGED" if r.info.converged else "NOT CONVERGED (partial result)") + \
        ("" if r.trustworthy else " — NOT TRUSTWORTHY (see the flags below)")
    print(f"{args.file}: {first}")
    print(r.summary())
    print(f"written by fpsolve {r.version}")
    return 0


def _plot(args) -> int:
    from . import read
    from .plotting import file_figures

    r = read(args.file)
    outdir = Path(args.outdir) if args.outdir else Path(args.file).parent
    outdir.mkdir(parents=True, exist_ok=True)
    if getattr(r, "kind", "") == "timeseries":
        from .plot_time import time_figures

        what = [w.strip() for w in args.what.split(",")] if args.what != "g,F,delta,residual" else ("F", "g", "delta")
        for png in time_figures(r, outdir / Path(args.file).stem, what):
            print(f"wrote {png}")
        return 0
    for png in file_figures(r, outdir / Path(args.file).stem, [w.strip() for w in args.what.split(",")]):
        print(f"wrote {png}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
