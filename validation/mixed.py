r"""Maximum anisotropies (Eqs. 11-14, 35-36) and the split g = g_s + g_c of a mixed case (Eq. 7).

Equation: cases/full_alfvenic.toml — eps = 0.01, H_c = 0.5, lambda = 0.02 at p = 10, momentum
diffusion, pion and catastrophic losses, layer source, free escape; probe z = 0.5 (outside the
layer), p = 10 and 100.  References: g against g_s + g_c of Eq. (7) (exact coefficients, kinetic
gradients); delta (Eq. 11) against delta_s + delta_c of Eqs. (13)-(14); the closed forms (35)-(36)
are reported (they differ at O(eps^{2-s}) with the Eq. 27 coefficients, ERRATA §4).
"""
from __future__ import annotations

import numpy as np

from fpsolve.physics import delta_c_coefficient_closed, delta_s_coefficient_closed, pitch_integrals

from .common import Check, figure, main_for, save, solve_case

NAME = "mixed"
#: Eq. (95) drops O(eps^2) and O(g/(D_0 T)) terms and the probe sits lambda/L = 0.02 from gradients'
#: changes: measured 1.1% and 1.4%; 3%.
SPLIT_TOL = 3e-2
#: delta uses the mu extrapolation to +-1 of the cell means (second order) on top: 3%.
DELTA_TOL = 3e-2


def run(out, quick=False):
    checks = []
    r = solve_case("full_alfvenic", ["grid.z_cells=20", "grid.p_cells=32"] if quick else [], out, "mixed")
    g, model = r.grid, r.problem.physics.model
    fig, ax = figure()
    i = int(np.argmin(np.abs(g.z - 0.5)))
    for pr in r.probes:
        k = int(np.argmin(np.abs(g.p - pr.p)))
        checks.append(Check(NAME, f"g = g_s + g_c p={pr.p:.3g}", "max|g - Eq.7|/max|Eq.7|", pr.rel_err_da, 0.0,
                            SPLIT_TOL, "Eq. 7", absolute=True))
        ints = pitch_integrals(model, np.array([g.p[k]]))
        F = r.fields.F[k, i]
        ds = float(ints.delta_s_coefficient[0]) * r.fields.dF_dz[k, i] / F
        dc = float(ints.delta_c_coefficient[0]) * r.fields.dF_dp[k, i] / F
        delta = float(r.fields.delta[k, i])
        checks.append(Check(NAME, f"delta = delta_s + delta_c p={pr.p:.3g}", "delta (Eq. 11, signed)", delta, ds + dc,
                            DELTA_TOL, "Eqs. 12-14"))
        eps, d0, v = float(model.eps(g.p[k])), float(model.d0(g.p[k])), float(model.velocity(g.p[k]))
        closed = (delta_s_coefficient_closed(s=model.s, d0=d0, v=v) * r.fields.dF_dz[k, i] / F
                  + delta_c_coefficient_closed(eps=eps, p=g.p[k], hc=model.hc) * r.fields.dF_dp[k, i] / F)
        checks.append(Check(NAME, f"delta vs Eqs. 35-36 p={pr.p:.3g}", "delta", delta, closed, 0.0,
                            "info: leading order in eps", kind="info"))
        checks.append(Check(NAME, f"delta_c/delta_s p={pr.p:.3g}", "ratio", dc / ds, 0.0, 0.0,
                            "info: both parts matter here", kind="info"))
        ax.plot(g.mu, (r.fields.g[k, i]) / F, "o", ms=3, label=f"kinetic, p = {g.p[k]:.3g}")
        ax.plot(g.mu, r.fields.g_da[k, i] / F, "-", color=ax.lines[-1].get_color(), lw=1, label="$g_s + g_c$, Eq. (7)")
        ax.plot(g.mu, r.fields.a_s[k] * r.fields.dF_dz[k, i] / F, ":", color=ax.lines[-1].get_color(), lw=1,
                label="$g_s$")
    ax.set_xlabel(r"pitch-angle cosine $\mu$")
    ax.set_ylabel(r"$g(\mu)/F$ at $z = 0.5$")
    ax.set_title(r"mixed case: $\epsilon = 0.01$, $H_c = 0.5$, spatial and momentum gradients")
    ax.legend(fontsize=7)
    save(fig, out / "mixed.png")
    return checks


if __name__ == "__main__":
    main_for(run, NAME)
