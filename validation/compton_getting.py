r"""Compton–Getting anisotropy (Eqs. 39-44, paper Fig. 2) and its second-order even part.

Equation: homogeneous (mu, p) problem, Eq. (27) coefficients with s = 5/3, eps = V_A/c = 1e-2,
source S ∝ p^-4.7, catastrophic losses T_c = 10 (they keep F ∝ p^-Gamma with Gamma ~ 5);
probe at p = 100 m c (cases/compton_getting.toml), H_c in {-0.8, -0.2, 0.3, 0.5, 1}.
References: the odd part of g/F against Eq. (7) with the exact coefficients (exact through
O(eps^2), ERRATA §5); Fig. 2's straight lines g_odd/(eps Gamma) = H_c mu (Eq. 40) up to O(eps);
the even part against Eq. (7) + eps^2 G_2 (ERRATA §5), with Eq. (7) alone, the printed O(eps)
term of Eq. (39) and its ERRATA correction reported beside it; the 4 TeV statement
delta_c = Gamma |H_c| V_A/c ~ 1e-3 for V_A = 62 km/s (Eqs. 43-44) from a physical-units run.
"""
from __future__ import annotations

import numpy as np

from fpsolve.case import unset
from fpsolve.physics import compton_getting_closed
from fpsolve.physics.anisotropy import catastrophic_loss_correction, second_order_even_term
from fpsolve.physics.units import C_LIGHT

from .common import Check, even, figure, main_for, odd, save, solve_case

NAME = "compton_getting"
HC = (-0.8, -0.2, 0.3, 0.5, 1.0)
#: Eq. (7) is exact through O(eps^2) in the odd part; the catastrophic-loss correction is
#: 1/(4(2-s) D_0 T_c) ~ 8e-4 of it: measured 1.9e-4 (H_c = 0.5) to 8.1e-4 (H_c = 1); 2e-3 is 2.5x the
#: largest.  The comparison is blind to the mu resolution (4.6e-4 at 4 mu cells, 4.0e-4 at 64 for
#: H_c = -0.8: the conductances make Eq. 7 exact at the mu centres); what it measures is the physics
#: beyond Eq. 7, which the loss-term check below attributes.
ODD_TOL = 2e-3
#: Fig. 2 lines: corrections are O(eps) = 1e-2 in units of eps Gamma.
LINE_TOL = 1e-2
#: Even part vs Eq. 7 + eps^2 G_2: the remainder is O(eps^3 Gamma^3)/O(eps^2 Gamma^2) ~ eps Gamma ~ 5%
#: of the even part; measured 0.3-0.9%.
EVEN_TOL = 5e-2
#: delta_c at 4 TeV vs Gamma |H_c| V_A/c: O(eps) = 2e-4 and the mu extrapolation to +-1: 1%.
DELTA_TOL = 1e-2
#: the paper's "about 1e-3": its 0.62 follows from the rounded 1.6e-3; exact Gamma V_A/c = 9.72e-4.
PAPER_TOL = 5e-2
#: strong catastrophic losses (T_c = 0.3, D_0 T_c = 29): the ERRATA §5 term is the leading loss effect
#: on the odd part, so adding it must at least halve the error of Eq. (7) (measured: 2.2% -> 0.45%).
LOSS_IMPROVEMENT = 0.5


def run(out, quick=False):
    checks = []
    fig, ax = figure()
    for hc in HC:
        r = solve_case("compton_getting", [f"turbulence.cross_helicity={hc}"], out, f"cg_hc{hc:+.1f}")
        pr, mu = r.probes[0], r.grid.mu
        gamma = -pr.p * pr.dF_dp / pr.F  # at the probe momentum (interpolated between centres)
        eps = float(r.problem.physics.model.eps(pr.p))
        err_odd = np.max(np.abs(odd(pr.g_over_F) - odd(pr.g_da_over_F))) / np.max(np.abs(odd(pr.g_da_over_F)))
        checks.append(Check(NAME, f"odd part H_c={hc:+.1f}", "max|g_odd - Eq.7_odd|/max|Eq.7_odd|", err_odd, 0.0,
                            ODD_TOL, "Eq. 7 exact through O(eps^2) in the odd part; blind to the mu resolution "
                            "(exact at the mu centres by construction): measures the loss term beyond Eq. 7", absolute=True))
        slope = np.sum(odd(pr.g_over_F) * mu * r.grid.dmu) / np.sum(mu**2 * r.grid.dmu) / (gamma * eps)
        checks.append(Check(NAME, f"Fig. 2 line H_c={hc:+.1f}", "g_odd/(eps Gamma) per mu", slope, hc, LINE_TOL,
                            "Eq. 40 up to O(eps)", absolute=True))
        ev = even(pr.g_over_F)
        scale = np.max(np.abs(ev))
        pred = even(pr.g_da_over_F) + eps**2 * second_order_even_term(mu, s=5 / 3, hc=hc, gamma_index=gamma)
        checks.append(Check(NAME, f"even part H_c={hc:+.1f}", "max|g_even - (Eq.7 + eps^2 G_2)|/max|g_even|",
                            np.max(np.abs(ev - pred)) / scale, 0.0, EVEN_TOL, "ERRATA §5", absolute=True))
        checks.append(Check(NAME, f"even part, Eq. 7 alone H_c={hc:+.1f}", "max|g_even - Eq.7_even|/max|g_even|",
                            np.max(np.abs(ev - even(pr.g_da_over_F))) / scale, 0.0, 0.0, "info: misses G_2",
                            absolute=True, kind="info"))
        for form in ("printed", "eq28"):
            closed = even(compton_getting_closed(mu, eps=eps, p=1.0, hc=hc, form=form)) * (-gamma)
            checks.append(Check(NAME, f"even part, Eq. 39 {form} H_c={hc:+.1f}", "max|g_even - form|/max|g_even|",
                                np.max(np.abs(ev - closed)) / scale, 0.0, 0.0, "info", absolute=True, kind="info"))
        ax.plot(mu, odd(pr.g_over_F) / (gamma * eps), "o", ms=2.5, label=f"$H_c = {hc:+.1f}$")
        ax.plot(mu, hc * mu, "-", lw=0.8, color=ax.lines[-1].get_color())
    ax.set_xlabel(r"pitch-angle cosine $\mu$")
    ax.set_ylabel(r"$g_c/F$  [$\Gamma V_A/c$]")
    ax.set_title("paper Fig. 2: kinetic (dots) vs Eq. (40) (lines)")
    ax.legend(fontsize=7)
    save(fig, out / "compton_getting_fig2.png")

    # ERRATA §5: the catastrophic-loss term that Eq. (7) omits, seen under strong losses
    r = solve_case("compton_getting", ["turbulence.cross_helicity=0.5", "losses.catastrophic_time=0.3"], out, "cg_losses")
    pr, mu, model = r.probes[0], r.grid.mu, r.problem.physics.model
    gamma = -pr.p * pr.dF_dp / pr.F
    corr = catastrophic_loss_correction(mu, s=model.s, eps=float(model.eps(pr.p)), hc=0.5, gamma_index=gamma,
                                        d0=float(model.d0(pr.p)), tau_c=0.3)
    scale = np.max(np.abs(odd(pr.g_da_over_F)))
    plain = np.max(np.abs(odd(pr.g_over_F) - odd(pr.g_da_over_F))) / scale
    with_loss = np.max(np.abs(odd(pr.g_over_F) - odd(pr.g_da_over_F) - corr)) / scale
    checks.append(Check(NAME, "loss term T_c=0.3: error ratio", "err(Eq.7 + ERRATA §5 loss term)/err(Eq.7)",
                        with_loss / plain, 0.0, LOSS_IMPROVEMENT, "ERRATA §5: leading loss effect", absolute=True))
    checks.append(Check(NAME, "loss term T_c=0.3: Eq. 7 alone", "max|g_odd - Eq.7_odd|/max", plain, 0.0, 0.0,
                        "info", absolute=True, kind="info"))
    checks.append(Check(NAME, "loss term T_c=0.3: Eq. 7 + loss term", "max|g_odd - (Eq.7 + corr)_odd|/max", with_loss,
                        0.0, 0.0, "info", absolute=True, kind="info"))

    # the paper's 4 TeV statement (Eqs. 43-44): the same case in physical units, V_A = 62 km/s, H_c = 1
    over = [unset("turbulence.alfven_speed"), unset("turbulence.mean_free_path"), unset("turbulence.p_ref"),
            unset("particle.ultrarelativistic"), "units.system=\"physical\"", "turbulence.alfven_speed_kms=62.0",
            "turbulence.cross_helicity=1.0", "turbulence.b0_ug=3.0", "grid.p_min=0.4", "grid.p_max=40.0",
            "grid.p_cells=48", "probes.p=[4.0]", "losses.catastrophic_time=1e6", "source.p0=1.0"]
    r = solve_case("compton_getting", over, out, "cg_4tev")
    pr = r.probes[0]
    gamma = -pr.p * pr.dF_dp / pr.F
    delta = pr.delta
    va = 62e5
    checks.append(Check(NAME, "4 TeV delta_c", "delta_c (Eq. 11) at 4 TeV", abs(delta), gamma * va / C_LIGHT,
                        DELTA_TOL, "Eq. 43 with the kinetic Gamma"))
    checks.append(Check(NAME, "4 TeV delta_c vs paper", "delta_c at 4 TeV, V_A = 62 km/s", abs(delta), 1e-3,
                        PAPER_TOL, "Eq. 43-44: ~1e-3"))
    return checks


if __name__ == "__main__":
    main_for(run, NAME)
