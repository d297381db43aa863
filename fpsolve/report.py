"""Physics report of a case: transport coefficients and anisotropy predictions.

For each momentum of the case: quadrature of the exact coefficient set (Eqs. 9, 10, 13,
14, 33) beside the closed small-eps forms (Eqs. 30, 32, 33, 35, 36, with the corrections
of ERRATA.md), and their relative difference (``fpsolve report CASE``).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .case import Case
from .physics import (
    boundary_layer_j,
    convection_speed,
    convection_speed_closed,
    delta_c_coefficient_closed,
    delta_s_coefficient_closed,
    kappa_pp_closed,
    kappa_zz_closed,
    pitch_integrals,
)
from .physics.units import C_LIGHT

__all__ = ["ReportRow", "physics_report", "format_report"]


@dataclass(frozen=True)
class ReportRow:
    p: float
    quantity: str
    unit: str
    quadrature: float
    closed: float
    reference: str
    #: The size the row's values are measured against where the closed form vanishes (e.g. V_A for
    #: U = H_c V_A at H_c = 0); 0: none (the difference is then only 0 or not).
    scale: float = 0.0
    scale_name: str = ""

    @property
    def absolute(self) -> bool:
        """Compared absolutely, ``(quadrature - closed)/scale``: the closed form is below ROUNDOFF of
        the row's scale (a relative difference to ~0 would be round-off over zero: inf)."""
        return self.scale > 0.0 and abs(self.closed) <= ROUNDOFF * self.scale

    @property
    def rel_diff(self) -> float:
        if self.absolute:
            return (self.quadrature - self.closed) / self.scale
        if self.closed == 0.0:
            return 0.0 if self.quadrature == 0.0 else np.inf
        return self.quadrature / self.closed - 1.0


#: A closed form below this fraction of its row's scale is "zero" (double round-off, times 1e3
#: for the quadrature's accumulated sums): then the difference is reported relative to the scale.
ROUNDOFF = 1e3 * np.finfo(float).eps


def physics_report(case: Case) -> list[ReportRow]:
    """Rows (one per quantity and momentum) comparing quadrature with the closed forms."""
    model = case.turbulence_model()
    if not hasattr(model, "s"):
        from .case import CaseError

        raise CaseError(f"{case.origin}: [turbulence] model = {case.turbulence.model!r}: the report "
                        f"compares with the slab closed forms; allowed: model = 'slab'")
    p = case.momenta()
    p = p[np.asarray(model.d0(p)) > 0]  # above p_m no wave resonates (D_0 = 0): no table (format_report says so)
    if p.size == 0:
        return []
    ints = pitch_integrals(model, p)
    u_conv = convection_speed(model, p)
    v, eps, d0 = ints.v, model.eps(p), model.d0(p)
    s, hc = model.s, model.hc
    rows = []
    for i, pi in enumerate(p):
        kw = dict(s=s, d0=d0[i], v=v[i])
        kzz_lead = kappa_zz_closed(**kw)
        rows += [
            ReportRow(pi, "kappa_zz", "L c", ints.kappa_zz[i], kzz_lead, "Eq. 9 vs Eq. 30"),
            ReportRow(pi, "lambda = 3 kappa_zz/v", "L", ints.mean_free_path[i], 3 * kzz_lead / v[i],
                      "Eq. 9 vs Eq. 30"),
        ]
        if eps[i] > 0 and model.form != "small_eps" and s > 1 and boundary_layer_j(s, hc) != 0:
            rows.append(ReportRow(pi, "kappa_zz (+J eps^(2-s))", "L c", ints.kappa_zz[i],
                                  kappa_zz_closed(**kw, eps=eps[i], hc=hc, correction="eq27"),
                                  "Eq. 9 vs ERRATA §4"))
        rows += [
            ReportRow(pi, "kappa_pp", "(m c)^2 c/L", ints.kappa_pp[i],
                      kappa_pp_closed(s=s, d0=d0[i], eps=eps[i], p=pi, hc=hc), "Eq. 9 vs Eq. 32 (ERRATA)"),
            ReportRow(pi, "U = net convection speed", "c", u_conv[i],
                      convection_speed_closed(hc=hc, va=model.va), "Eq. 33 (d/dp H_0) vs H_c V_A",
                      scale=model.va, scale_name="V_A"),
            ReportRow(pi, "delta_s / (dlnF/dz)", "L", ints.delta_s_coefficient[i],
                      delta_s_coefficient_closed(**kw), "Eq. 13 vs Eq. 35"),
            ReportRow(pi, "delta_c / (dlnF/dlnp)", "", ints.delta_c_coefficient[i] / pi,
                      delta_c_coefficient_closed(eps=eps[i], p=1.0, hc=hc), "Eq. 14 vs Eq. 36"),
        ]
    return rows


def _g(x) -> str:
    return f"{x:.6e}" if np.isfinite(x) else str(x)


def format_report(case: Case, rows: list[ReportRow]) -> str:
    """Plain-text tables, one per momentum, plus the case's scales."""
    model = case.turbulence_model()
    lines = [f"fpsolve physics report: {case.origin}",
             f"turbulence: slab Alfvén, {model.equation}, s = {model.s:.6g}, H_c = {model.hc:g}, "
             f"sigma_f = {model.sigma_f:g}, sigma_b = {model.sigma_b:g}, V_A/c = {model.va:.6g}"]
    if case.system == "physical":
        setup = case.physical_setup()
        lines.append(f"units: L = {setup.length_unit_pc:g} pc, m c = {setup.momentum_unit_tev:.6g} TeV/c, "
                     f"L/c = {setup.time_unit_s:.6g} s; V_A = {setup.va_cm_s / 1e5:.4g} km/s; "
                     f"p_m = {model.p_m * setup.momentum_unit_tev:.5g} TeV/c")
    head = f"  {'quantity':<26} {'unit':<12} {'quadrature':>14} {'closed form':>14} {'rel. diff':>11}   reference"
    tev = case.physical_setup().momentum_unit_tev if case.system == "physical" else None
    for p in sorted(set(float(x) for x in case.momenta()) | {r.p for r in rows}):
        if not float(model.d0(p)) > 0:
            pm = f"{model.p_m * tev:.5g} TeV/c" if tev else f"{model.p_m:.6g} m c"
            lines += ["", f"p = {p:.6g} m c" + (f" = {p * tev:.5g} TeV/c" if tev else "") + f": above p_m = {pm}, "
                          "no Alfvén wave resonates (D_0 = 0): no pitch-angle scattering, kappa_zz is infinite and "
                          "the diffusion approximation does not apply (no table)"]
            continue
        eps = float(model.eps(p))
        lines += ["", f"p = {p:.6g} m c   (v/c = {float(model.velocity(p)):.8g}, eps = V_A/v = {eps:.4g}, "
                      f"D_0 = {float(model.d0(p)):.6g} c/L)", head]
        for r in (r for r in rows if r.p == p):
            diff = f"{r.rel_diff:.3e}" + ("*" if r.absolute else " ")
            lines.append(f"  {r.quantity:<26} {r.unit:<12} {_g(r.quadrature):>14} {_g(r.closed):>14} "
                         f"{diff:>12}  {r.reference}")
        if case.system == "physical":
            setup = case.physical_setup()
            kzz = next(r.quadrature for r in rows if r.p == p and r.quantity == "kappa_zz")
            lam = next(r.quadrature for r in rows if r.p == p and r.quantity.startswith("lambda"))
            lines.append(f"  physical: kappa_zz = {kzz * setup.length_unit_cm * C_LIGHT:.4e} cm^2/s, "
                         f"lambda = {lam * setup.length_unit_pc:.4e} pc")
    starred = sorted({r.scale_name for r in rows if r.absolute})
    if starred:
        lines += ["", "* the closed form is 0 (to round-off): the difference is (quadrature - closed)/"
                  + ", ".join(starred) + " (the size of the term), not a relative one"]
    lines += ["", "closed forms: leading order in eps (Eqs. 30-36); kappa_pp and the sign of U as corrected in "
                  "ERRATA.md §1; quadrature: exact coefficients of the chosen form."]
    return "\n".join(lines)
