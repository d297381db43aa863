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
    #: "check": pass/fail against a reference independent of the scheme (can fail under too coarse a
    #: resolution); "patch": a comparison that holds by construction of the scheme (e.g. Eq. 7 at the mu
    #: centres, made exact by the mu conductances), pass/fail at a round-off tolerance — it guards the
    #: construction, says nothing about resolution; "info": reported only (e.g. the printed form's miss).
    kind: str = "check"

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


#: Uniform mu grids of the mu-converged semi-analytic reference (Richardson over the last three; the
#: reference F(0) converges at order 2.0 in mu, validation/semianalytic.py).
REFERENCE_MU_CELLS = (64, 128, 256)


def mu_converged_slab(result, z=0.0, cells=REFERENCE_MU_CELLS) -> dict:
    """F(z) and the escape fractions (escape at z_min, z_max / injected) of the slab of a kinetic ``result``
    (eps = 0, no losses, free escape or mirror walls) from the semi-analytic reference of
    :mod:`fpsolve.reference`: exact in z (eigenmodes of the mu-discretised pencil), solved on the uniform
    mu grids ``cells`` and Richardson-extrapolated in mu — the kinetic equation's own values, sharing no
    discretisation with the run.  Returns ``{name: (value, observed mu order)}``."""
    from fpsolve.grid import uniform_edges
    from fpsolve.reference import pitch_operator, shape_from_source, slab_modes, solve_slab, source_strength

    from .semianalytic import richardson

    grid, physics = result.grid, result.problem.physics
    pe = grid.p_edges[0:2]
    shape = shape_from_source(physics.source, float(grid.z_edges[0]), float(grid.z_edges[-1]))
    seq = {"F": [], "escape_z_min": [], "escape_z_max": []}
    for n in cells:
        op = pitch_operator(physics.model, float(grid.p[0]), uniform_edges(-1.0, 1.0, n), p_edges=pe)
        sol = solve_slab(slab_modes(op), shape, source_strength(physics.source, pe), left=physics.z_left)
        seq["F"].append(float(sol.F(np.array([z]))[0]))
        seq["escape_z_min"].append(sol.escape_z_min / sol.injected)
        seq["escape_z_max"].append(sol.escape_z_max / sol.injected)
    return {k: richardson(v)[::-1] for k, v in seq.items()}


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
    """Through :func:`fpsolve.io.save_figure` (temporary name, fsync, rename)."""
    from fpsolve.io import save_figure

    fig.tight_layout()
    try:
        save_figure(fig, path, dpi=150)
    finally:
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
    from fpsolve.io import write_atomic

    write_atomic(out / "checks.json", json.dumps([c.record() for c in checks], indent=1))
    for c in checks:
        label = "INFO" if c.kind == "info" else ("PASS" if c.passed else "FAIL")
        label += " (patch test)" if c.kind == "patch" else ""
        print(f"{label} {c.name}: {c.computed:.6g} vs {c.reference:.6g} "
              f"(error {c.error:.2e}, tolerance {c.tolerance:.1e})")
    sys.exit(0 if all(c.passed for c in checks) else 1)
