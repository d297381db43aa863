"""Case -> Grid + Physics (+ probes), converting physical units and checking consistency.

Physical cases give lengths in pc, momenta in TeV/c and times in yr; they are converted to
code units (L = ``length_unit_pc``, m c, L/c) here.  Every inconsistency is a one-line
``CaseError`` naming the file and the key.
"""
from __future__ import annotations

import numpy as np

from .case import Case, CaseError
from .grid import Grid, graded_mu_edges, log_edges, snap_to_resonances, uniform_edges
from .operator import Physics, Source
from .physics.units import PARSEC, YEAR, tau_pion

__all__ = ["build_grid", "build_physics", "probe_positions", "probe_momenta", "check_run_case"]


def _length(case: Case, x):
    if x is None:
        return None
    if case.system == "physical":
        return np.asarray(x, dtype=float) * PARSEC / case.physical_setup().length_unit_cm
    return np.asarray(x, dtype=float)


def _momentum(case: Case, p):
    if p is None:
        return None
    if case.system == "physical":
        return np.asarray(p, dtype=float) / case.physical_setup().momentum_unit_tev
    return np.asarray(p, dtype=float)


def _time(case: Case, t):
    if t is None or not np.isfinite(t):
        return t
    if case.system == "physical":
        return t * YEAR / case.physical_setup().time_unit_s
    return t


def build_grid(case: Case) -> Grid:
    g = case.values["grid"]
    nz = g["z_cells"]
    if g["z_edges"] is not None:
        z = _length(case, g["z_edges"])
    else:
        z = None if nz == 0 else uniform_edges(float(_length(case, g["z_min"])), float(_length(case, g["z_max"])), nz)
    if g["mu_edges"] is not None:
        mu = np.asarray(g["mu_edges"], dtype=float)
    elif g["mu_grid"] in ("graded", "resonance"):
        mu = graded_mu_edges(g["mu_cells"], 2.0 - case.values["turbulence"]["s"])
        if g["mu_grid"] == "resonance":  # +-eps at the middle momentum of the grid on cell faces
            model = case.turbulence_model()
            p_mid = float(_momentum(case, np.sqrt(g["p_min"] * g["p_max"])))
            mu = snap_to_resonances(mu, float(model.eps(p_mid)) if hasattr(model, "eps") else 0.0)
    else:
        mu = uniform_edges(-1.0, 1.0, g["mu_cells"])
    if g["p_edges"] is not None:
        p = _momentum(case, g["p_edges"])
    else:
        p = log_edges(float(_momentum(case, g["p_min"])), float(_momentum(case, g["p_max"])), g["p_cells"])
    try:
        return Grid(z, mu, p)
    except ValueError as err:
        raise CaseError(f"{case.source}: [grid]: {err}") from None


def loss_rate(case: Case):
    """``b(p) = |p_dot|``: pion (p/tau_0, Eq. 54) plus a power law; None without continuous losses."""
    lo = case.values["losses"]
    tau0 = _time(case, lo["pion_time"]) if lo["pion_time"] is not None else None
    if lo["pion_density_cm3"] is not None:
        tau0 = tau_pion(lo["pion_density_cm3"]) / case.physical_setup().time_unit_s
    rate, index = lo["power_law_rate"], lo["power_law_index"]
    if tau0 is None and rate == 0.0:
        return None

    def b(p):
        p = np.asarray(p, dtype=float)
        out = np.zeros_like(p)
        if tau0 is not None:
            out = out + p / tau0
        if rate:
            out = out + rate * p**index
        return out

    return b


def build_physics(case: Case) -> Physics:
    src = case.values["source"]
    bd = case.values["boundaries"]
    source = Source(kind=src["kind"], amplitude=src["amplitude"], q=src["spectral_index"],
                    p0=float(_momentum(case, src["p0"])), centre=float(_length(case, src["centre"])),
                    width=float(_length(case, src["width"])))
    return Physics(model=case.turbulence_model(), source=source, loss_rate=loss_rate(case),
                   tau_c=float(_time(case, case.values["losses"]["catastrophic_time"])),
                   p_slope_ref=float(src["spectral_index"]), loss_scheme=case.values["losses"]["scheme"],
                   z_left=bd["z_min"], z_right=bd["z_max"], p_diffusion_bc=bd["p_diffusion"])


def probe_positions(case: Case):
    z = case.values["probes"]["z"]
    return None if z is None else np.atleast_1d(_length(case, z))


def probe_momenta(case: Case):
    p = case.values["probes"]["p"]
    if p is None:
        g = case.values["grid"]
        return np.atleast_1d(_momentum(case, np.sqrt(g["p_min"] * g["p_max"])))
    return np.atleast_1d(_momentum(case, p))


def estimated_memory_gb(case: Case) -> float:
    """Rough peak memory of a run, from the unknowns and the operator's non-zeros per row.

    Matrix (~12 bytes per non-zero; ~14 per row for z problems with eps = 0, ~30 with the
    mixed terms), plane LU factors (~4.5x the matrix, measured on the SWK planes), GMRES basis
    and work vectors (~60 vectors), times 1.5 for temporaries.  Measured B1 (1.05M unknowns):
    estimate 1.6 GB, peak 1.5 GB.
    """
    g = case.values["grid"]
    nz = g["z_cells"] if g["z_edges"] is None else len(g["z_edges"]) - 1
    nmu = g["mu_cells"] if g["mu_edges"] is None else len(g["mu_edges"]) - 1
    np_ = g["p_cells"] if g["p_edges"] is None else len(g["p_edges"]) - 1
    n = float(max(nz, 1)) * (2 if nz else 1) * nmu * np_
    t = case.values["turbulence"]
    if case.system == "physical":
        eps_positive = t["alfven_speed_kms"] is None or t["alfven_speed_kms"] > 0  # None: from B_0 and n
    else:
        eps_positive = t["alfven_speed"] > 0
    mixed = t["model"] != "slab" or eps_positive
    nnz = n * (30 if mixed else 14)
    return 1.5 * (nnz * 12 * 5.5 + n * 8 * 60) / 1e9


def check_run_case(case: Case) -> None:
    """Consistency of a run case: domain, source inside, probes inside, a steady state exists."""
    src, g, lo, bd = (case.values[k] for k in ("source", "grid", "losses", "boundaries"))
    where = case.source
    g = dict(g)
    if g["z_edges"] is not None:
        if len(g["z_edges"]) < 3:
            raise CaseError(f"{where}: [grid] z_edges: at least 3 edges (2 cells); allowed: strictly increasing list")
        g["z_min"], g["z_max"], g["z_cells"] = g["z_edges"][0], g["z_edges"][-1], len(g["z_edges"]) - 1
    if g["p_edges"] is not None:
        g["p_min"], g["p_max"] = g["p_edges"][0], g["p_edges"][-1]
    if g["z_max"] <= g["z_min"]:
        raise CaseError(f"{where}: [grid] z_max = {g['z_max']!r}: not above z_min = {g['z_min']!r}; allowed: > z_min")
    if g["p_max"] <= g["p_min"]:
        raise CaseError(f"{where}: [grid] p_max = {g['p_max']!r}: not above p_min = {g['p_min']!r}; allowed: > p_min")
    homogeneous = g["z_cells"] == 0
    if homogeneous and src["kind"] != "uniform":
        raise CaseError(f"{where}: [source] kind = {src['kind']!r}: a homogeneous problem (z_cells = 0) "
                        f"needs a z-independent source; allowed: 'uniform'")
    if not homogeneous:
        if src["kind"] in ("point", "gaussian") and not (g["z_min"] <= src["centre"] <= g["z_max"]):
            raise CaseError(f"{where}: [source] centre = {src['centre']!r}: outside the domain; "
                            f"allowed: [{g['z_min']:g}, {g['z_max']:g}]")
        if src["kind"] in ("layer", "gaussian") and src["width"] <= 0:
            raise CaseError(f"{where}: [source] width = {src['width']!r}: a {src['kind']} needs a width; allowed: > 0")
        if bd["z_min"] == "periodic" and bd["z_max"] != "periodic" or bd["z_max"] == "periodic" and bd["z_min"] != "periodic":
            raise CaseError(f"{where}: [boundaries] z_min = {bd['z_min']!r}, z_max = {bd['z_max']!r}: "
                            f"periodic must be set at both ends; allowed: both periodic or neither")
        for z in case.values["probes"]["z"] or ():
            if not (g["z_min"] <= z <= g["z_max"]):
                raise CaseError(f"{where}: [probes] z = {z!r}: outside the domain; "
                                f"allowed: [{g['z_min']:g}, {g['z_max']:g}]")
    for p in case.values["probes"]["p"] or ():
        if not (g["p_min"] <= p <= g["p_max"]):
            raise CaseError(f"{where}: [probes] p = {p!r}: outside the momentum range; "
                            f"allowed: [{g['p_min']:g}, {g['p_max']:g}]")
    need = estimated_memory_gb(case)
    limit = case.values["solver"]["memory_limit_gb"]
    if need > limit:
        raise CaseError(f"{where}: [grid] too large: estimated memory {need:.3g} GB exceeds [solver] "
                        f"memory_limit_gb = {limit:g}; allowed: fewer cells or a larger limit")
    grid = build_grid(case)  # edges given in the case are checked here, before any work
    model = case.turbulence_model()
    if hasattr(model, "eps"):
        try:
            model.eps(grid.p_edges)
        except ValueError as err:
            raise CaseError(f"{where}: [grid] p_min = {g['p_min']!r}: {err} (V_A must stay below v on the "
                            f"whole momentum grid); allowed: a larger p_min") from None
    escape = not homogeneous and "escape" in (bd["z_min"], bd["z_max"])
    losses = (lo["pion_time"] is not None or lo["pion_density_cm3"] is not None or lo["power_law_rate"] > 0
              or np.isfinite(lo["catastrophic_time"]) or bd["p_diffusion"] == "zero_value")
    if not (escape or losses):
        raise CaseError(f"{where}: no steady state: particles neither escape ([boundaries]) nor are lost "
                        f"([losses]); allowed: an escape boundary or a loss term")
