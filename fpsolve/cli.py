"""The ``fpsolve`` command.

``fpsolve run CASE.toml [-o OUT.h5] [--plot] [section.key=value ...]`` solves the kinetic
equation, prints the summary and writes the HDF5 file; exit status 3 when not converged
(nothing written).
``fpsolve report CASE.toml [section.key=value ...]`` prints the physics report of a case
(transport coefficients and anisotropy predictions, quadrature vs closed forms).
Bad input: one line on stderr naming the file and key, exit status 2
(``--debug`` shows the traceback).
"""
from __future__ import annotations

import argparse
import re
import sys

from . import __version__
from .case import CaseError, load_case
from .report import format_report, physics_report


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="fpsolve", description="Cosmic-ray Fokker–Planck transport beyond "
                                 "the diffusion approximation (Schlickeiser et al. 2019).")
    ap.add_argument("--version", action="version", version=f"fpsolve {__version__}")
    ap.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = ap.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="solve the kinetic equation for a case, write HDF5")
    run.add_argument("case", help="case file (TOML); section.key=value overrides may follow anywhere")
    run.add_argument("-o", "--output", help="HDF5 output (default: CASE name with .h5 in the current folder)")
    run.add_argument("--plot", action="store_true", help="write PNG figures next to the output")
    rep = sub.add_parser("report", help="physics report of a case: coefficients, moments, anisotropy")
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
    try:
        if args.command == "report":
            case = load_case(args.case, args.overrides)
            print(format_report(case, physics_report(case)))
        elif args.command == "run":
            return _run(args)
        return 0
    except (CaseError, ValueError) as err:
        if args.debug:
            raise
        print(f"fpsolve: error: {err}", file=sys.stderr)
        return 2


def _run(args) -> int:
    from pathlib import Path

    from .io import write_result
    from .run import solve

    case = load_case(args.case, args.overrides)
    if not case.has_grid:
        raise CaseError(f"{args.case}: [grid] section missing; allowed: a run case with [grid] (see README)")
    result = solve(case)
    print(result.summary())
    if not result.info.converged:
        print(f"fpsolve: not converged, nothing written: {result.info.message}", file=sys.stderr)
        return 3
    out = Path(args.output) if args.output else Path(Path(args.case).stem + ".h5")
    write_result(result, out)
    print(f"wrote {out}" + ("" if result.trustworthy else "   (flagged: not trustworthy, see above)"))
    if args.plot:
        from .plotting import standard_figures

        for png in standard_figures(result, out.with_suffix("")):
            print(f"wrote {png}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
