"""Run validation problems and write the report: Markdown table, JSON record, figures, HDF5 fields."""
from __future__ import annotations

import importlib
import json
import logging
import time
from pathlib import Path

from fpsolve import markdown
from fpsolve.io import write_atomic

from . import PROBLEMS

log = logging.getLogger("fpsolve.validation")  # one line per problem at INFO (``fpsolve -v validate``)


def run_all(out, quick=False, only=None):
    """Run the problems (all, or ``only``), write ``report.md`` and ``checks.json``; return the checks."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    names = PROBLEMS if not only else [n for n in PROBLEMS if n in only]
    unknown = set(only or ()) - set(PROBLEMS)
    if unknown:
        raise ValueError(f"--only {','.join(sorted(unknown))}: unknown problem; allowed: {', '.join(PROBLEMS)}")
    checks, times = [], {}
    for name in names:
        module = importlib.import_module(f".{name}", __package__)
        sub = out / name
        sub.mkdir(exist_ok=True)
        t0 = time.perf_counter()
        new = module.run(sub, quick=quick)
        checks += new
        times[name] = time.perf_counter() - t0
        log.info("validation %s: %d of %d checks passed in %.1f s", name, sum(c.passed for c in new), len(new),
                 times[name])
    write_atomic(out / "checks.json", json.dumps([c.record() for c in checks], indent=1))
    counted = [c for c in checks if c.kind == "check"]
    patches = [c for c in checks if c.kind == "patch"]
    lines = [f"# fpsolve validation report{' (quick)' if quick else ''}", "",
             f"{sum(c.passed for c in counted)} of {len(counted)} checks passed (against references independent "
             f"of the scheme); {sum(c.passed for c in patches)} of {len(patches)} patch tests passed (comparisons "
             f"that hold by construction of the scheme, at round-off tolerance: they guard the construction and "
             f"say nothing about resolution); {sum(c.kind == 'info' for c in checks)} informational rows (printed "
             f"forms of the paper, measured values).", ""]
    rows = []
    for c in checks:
        result = "info" if c.kind == "info" else ("pass" if c.passed else "**FAIL**")
        tol = "—" if c.kind == "info" else f"{c.tolerance:.1e}"
        kind = {"patch": "patch test"}.get(c.kind, c.kind)
        rows.append([c.problem, kind, c.name, c.quantity, f"{c.computed:.6g}", f"{c.reference:.6g}", f"{c.error:.2e}",
                     tol, result, c.reason])
    lines += markdown.table(["problem", "kind", "check", "quantity", "computed", "reference", "error", "tolerance",
                             "result", "reason"], rows)
    lines += ["", "Wall time per problem: " + ", ".join(f"{k} {v:.1f} s" for k, v in times.items()), "",
              "Figures:"] + [f"- `{p.relative_to(out)}`" for p in sorted(out.rglob("*.png"))]
    write_atomic(out / "report.md", "\n".join(lines) + "\n")
    return checks
