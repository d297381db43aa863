"""Shared pieces of the validation problems: the check record, runners, figure style."""
from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

plt.rcParams.update({"axes.titlesize": 10, "axes.labelsize": 10, "legend.fontsize": 7})
import numpy as np  # noqa: E402

import fpsolve  # noqa: E402


@dataclass
class Check:
    """One validated number: computed vs reference within a tolerance (relative unless ``absolute``)."""

    problem: str
    name: str
    quantity: str
    computed: float
    reference: float
    tolerance: float
    reason: str
    absolute: bool = False
    kind: str = "check"  # "check" (pass/fail) or "info" (reported, e.g. the printed form's miss)

    @property
    def error(self) -> float:
        d = abs(self.computed - self.reference)
        return d if self.absolute else d / abs(self.reference) if self.reference else float("inf")

    @property
    def passed(self) -> bool:
        return self.kind == "info" or bool(np.isfinite(self.error) and self.error <= self.tolerance)

    def record(self) -> dict:
        d = asdict(self)
        d.update(error=self.error, passed=self.passed)
        return d


def solve_case(case, overrides=(), out: Path | None = None, tag: str | None = None):
    """Solve a case — a bundled name or a path with ``overrides`` (``fpsolve.load_case``), or a
    :class:`fpsolve.Case` — and (optionally) write it to ``out/tag.h5``."""
    if not isinstance(case, fpsolve.Case):
        case = fpsolve.load_case(case, list(overrides))
    result = fpsolve.solve(case)
    if out is not None and tag is not None:
        fpsolve.write(result, out / f"{tag}.h5")
    return result


def odd(x):
    return 0.5 * (np.asarray(x) - np.asarray(x)[::-1])


def even(x):
    return 0.5 * (np.asarray(x) + np.asarray(x)[::-1])


def figure(size=(6.0, 4.2)):
    fig, ax = plt.subplots(figsize=size)
    ax.tick_params(direction="in", which="both", top=True, right=True)
    return fig, ax


def save(fig, path: Path):
    fig.tight_layout()
    fig.savefig(path, dpi=150)
    plt.close(fig)
    return path


def main_for(module_run, name: str):
    """Command line of a problem module (``python -m fpsolve.validation.NAME [--quick] [--out DIR]``):
    run, print the checks, exit non-zero on failure."""
    import argparse

    ap = argparse.ArgumentParser(description=f"validation problem {name}")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", default=f"validation-out/{name}")
    a = ap.parse_args()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    checks = module_run(out, quick=a.quick)
    (out / "checks.json").write_text(json.dumps([c.record() for c in checks], indent=1))
    for c in checks:
        print(f"{'INFO' if c.kind == 'info' else 'PASS' if c.passed else 'FAIL'} {c.name}: {c.computed:.6g} vs {c.reference:.6g} "
              f"(error {c.error:.2e}, tolerance {c.tolerance:.1e})")
    sys.exit(0 if all(c.passed for c in checks) else 1)
