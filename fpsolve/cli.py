"""The ``fpsolve`` command.

``fpsolve report CASE.toml [section.key=value ...]`` prints the physics report of a case
(transport coefficients and anisotropy predictions, quadrature vs closed forms).
Bad input: one line on stderr naming the file and key, exit status 2
(``--debug`` shows the traceback).
"""
from __future__ import annotations

import argparse
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
    rep = sub.add_parser("report", help="physics report of a case: coefficients, moments, anisotropy")
    rep.add_argument("case", help="case file (TOML)")
    rep.add_argument("overrides", nargs="*", help="section.key=value overrides")
    return ap


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "report":
            case = load_case(args.case, args.overrides)
            print(format_report(case, physics_report(case)))
        return 0
    except (CaseError, ValueError) as err:
        if args.debug:
            raise
        print(f"fpsolve: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
