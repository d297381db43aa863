r"""Beyond the diffusion approximation: Knudsen-number sweep (slab) and eps sweep (Compton–Getting).

Knudsen sweep: the public slab (s = 5/3, eps = 0, free escape at z = +-1, Gaussian source at
z = 0.3) for Kn = lambda/L from 1e-3 to 1 (L = 1, the half-width).  Measured where the
approximation can fail:
  * F(0) against the diffusion solution of Eq. (34), -kappa F'' = S, with F = 0 at the walls
    (the naive diffusion model) and at Milne-extrapolated walls (this operator's Milne length,
    fpsolve.reference.milne_length; 0.674 lambda for s = 5/3 on fine mu grids);
  * g(mu) at z = 0 against Eq. (7) with the kinetic F' (in the source-free stretch F linear plus
    Eq. 38 is exact at any lambda, so this stays small) and next to the wall (z = 0.95 L).
SWK sweep: the point source with pion losses in code units, s = 5/3, v = c, L_d = 0.5 fixed while
lambda varies (tau_0 = 3 L_d^2 eta / lambda), z_i = 1, so x_c = 1 and Kn = lambda(x=1)/z_c(1) = lambda;
F(0, x) and d ln F/dz at z = 0 against the corrected SWK solution (Eqs. 64, 69) at x = 0.3..3,
where diffusion competes with the losses (96 p cells: the comparison floor is 0.35% at Kn -> 0;
48 cells would leave 1.9%, the loss upwinding's p resolution).
eps sweep: cases/compton_getting.toml with V_A/c = eps from 1e-3 to 0.3: the odd and full g/F
against Eq. (7).  The thresholds where the errors pass 1% and 10% are reported (log-interpolated).

Thresholds that a theory independent of the kinetic scheme predicts are checks with bands:
  * F(0) against diffusion with F = 0 at the walls: the kinetic F(0) is diffusion with walls moved
    out by the Milne length z0 = 0.674 lambda (exact up to O(Kn^2) outside the wall layers and to
    1e-6 against the exact-in-z reference, validation/semianalytic.py), so the naive model's error is
    F_diff(z0)/F_diff(0) - 1 (~ z0/(0.7 + z0) for the source at 0.3): it passes 1% at Kn = 0.0105 and 10%
    at Kn = 0.115.  The kinetic crossings must lie within 10% of these: the log-log interpolation between
    sweep points (a factor 3, quick: 10, apart) of an error ~ Kn/(1 + 0.96 Kn) errs by <= 3%, and the
    kinetic's own departure from Milne-wall diffusion (4e-4 of F at 32 mu cells: the discrete kappa_zz)
    moves the 1% crossing by 4% (measured 0.00995 against 0.0104).  At 8 mu cells (F(0) 0.6% off) it
    would move by ~60%: the check sees the mu resolution;
  * g(mu) at z = 0.95 against Eq. (7) is reported beside the same error from the semi-analytic
    reference, exact in z on the same mu grid (fpsolve.reference; cell mean of f, cell-mean gradient of
    F).  Not a check: the kinetic reads F' from the DG slope of the cell, the reference from the cell
    ends, and in the wall layer these differ (Kn = 0.3: 2.7% against 3.0%; Kn = 0.1: 6.4e-4 against
    7.5e-5), which moves a log-interpolated crossing by ~10%, the size of any band one could state;
  * full g_c against Eq. (7): what Eq. (7) misses is the even eps^2 G_2 of ERRATA §5 and its odd
    catastrophic-loss term (1/(4(2-s) D_0 T_c) ~ 8e-4 of the odd part at T_c = 10), so the error is
    max|eps^2 G_2 + loss term|/max|g_Eq7| (~ eps, with the kinetic Gamma) up to O(eps Gamma) relative: the 1%
    crossing must agree with the one of that prediction on the same eps points within 15% (eps Gamma ~
    0.07 at the crossing, twice for the margin).  The 10% crossing (eps Gamma ~ 1: the expansion
    fails) and the others are reported only.
"""
from __future__ import annotations

import numpy as np
from scipy.integrate import quad
from scipy.optimize import brentq

from fpsolve.case import parse_case
from fpsolve.grid import uniform_edges
from fpsolve.physics import SlabAlfven, pitch_integrals
from fpsolve.physics.anisotropy import catastrophic_loss_correction, second_order_even_term
from fpsolve.reference import milne_length, reference_for
from fpsolve.result import isotropic_at

from .common import Check, even, figure, main_for, odd, save, solve_case

NAME = "knudsen"
#: Band of the F(0)-naive-walls crossings around the Milne prediction (see the module docstring).
MILNE_CROSSING_BAND = 0.10
#: Band of the 1% crossing of the full g_c error around the ERRATA §5 prediction (module docstring).
G2_CROSSING_BAND = 0.15
#: mu cells of the (mu-converged to ~1e-4) Milne length of the prediction.
MILNE_MU_CELLS = 256

SWK_CASE = """title = "SWK point source in code units for the Knudsen sweep"
[particle]
ultrarelativistic = true
[turbulence]
form = "small_eps"
s = 1.6666666666666667
mean_free_path = 0.01
p_ref = 1.0
[grid]
z_min = -6.0
z_max = 8.0
z_cells = 280
mu_cells = 16
p_min = 0.1
p_max = 1000.0
p_cells = 96
[source]
kind = "point"
centre = 1.0
spectral_index = 4.7
p0 = 1.0
[losses]
pion_time = 1.0
[probes]
z = [0.0]
p = [1.0]
"""


def _diffusion_F0(kappa, ze):
    """F(0) of -kappa F'' = S (unit Gaussian at 0.3, sigma 0.02) with F(+-(1 + ze)) = 0."""
    L = 1.0 + ze
    S = lambda z0: np.exp(-((z0 - 0.3) ** 2) / (2 * 0.02**2)) / (np.sqrt(2 * np.pi) * 0.02)  # noqa: E731
    return quad(lambda z0: S(z0) * (L + 0.0) * (L - z0) / (2 * L * kappa), 0.1, 0.5, points=[0.3], limit=200)[0]


def milne_crossing(s, level):
    """Kn where diffusion with F = 0 at the walls misses F(0) of diffusion with Milne walls by ``level``
    (the kinetic F(0) to O(Kn^2)); kappa cancels in the ratio."""
    m1 = SlabAlfven.from_mean_free_path(1.0, s=s, ultrarelativistic=True, form="small_eps")
    z0 = milne_length(m1, 1.0, uniform_edges(-1.0, 1.0, MILNE_MU_CELLS)).z0_over_lambda
    naive = _diffusion_F0(1.0, 0.0)
    return brentq(lambda kn: _diffusion_F0(1.0, z0 * kn) / naive - 1 - level, 1e-5, 100.0, xtol=1e-12)


def crossing(x, y, level):
    """First x where y passes ``level`` (log-log interpolation); nan if it never does."""
    x, y = np.asarray(x), np.asarray(y)
    above = np.flatnonzero(y >= level)
    if not above.size:
        return float("nan")
    i = above[0]
    if i == 0:
        return float(x[0])
    t = (np.log(level) - np.log(y[i - 1])) / (np.log(y[i]) - np.log(y[i - 1]))
    return float(np.exp(np.log(x[i - 1]) + t * (np.log(x[i]) - np.log(x[i - 1]))))


def _report_sweep(out, stem, xlabel, title, x, columns, checks, xname):
    """Table ``stem.txt``, figure ``stem.png`` (1% and 10% lines) and the 1%/10% crossings as info rows."""
    header = " ".join([xname] + [name for name, _ in columns])
    rows = np.column_stack([x] + [y for _, y in columns])
    (out / f"{stem}.txt").write_text(header + "\n" + "\n".join(" ".join(f"{v:.4e}" for v in row) for row in rows) + "\n")
    fig, ax = figure()
    for name, y in columns:
        ax.loglog(x, np.maximum(y, 1e-16), "o-", label=name)
        for level in (0.01, 0.1):
            checks.append(Check(NAME, f"{xname} where {name} passes {level:.0%}", xname, crossing(x, y, level),
                                0.0, 0.0, "info", kind="info"))
    for level in (0.01, 0.1):
        ax.axhline(level, color="0.6", lw=0.5, ls="--")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("relative error of the diffusion approximation")
    ax.set_title(title)
    ax.legend(fontsize=7)
    save(fig, out / f"{stem}.png")


def run(out, quick=False):
    checks = []
    kns = [1e-3, 1e-2, 1e-1, 1.0] if quick else [1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0]
    rows = []
    for kn in kns:
        nz = int(min(max(2.0 / kn, 100), 2000))  # dz <= lambda up to 2000 cells (DG-1 keeps the thick limit)
        r = solve_case("slab_streaming", [f"turbulence.mean_free_path={kn!r}", f"grid.z_cells={nz}",
                                          "grid.mu_cells=32"], None, None)
        g = r.grid
        kappa = float(pitch_integrals(r.problem.physics.model, g.p).kappa_zz[0])
        F0 = isotropic_at(g, r.f, r.fields, 0.0)[0][0]
        e_naive = abs(F0 / _diffusion_F0(kappa, 0.0) - 1)
        e_milne = abs(F0 / _diffusion_F0(kappa, milne_length(r.problem.physics.model, float(g.p[0]), g.mu_edges).z0) - 1)
        errs = []
        for z in (0.0, 0.95):
            i = int(np.argmin(np.abs(g.z - z)))
            gk = r.fields.g[0, i]
            gd = r.fields.g_da[0, i]
            errs.append(float(np.max(np.abs(gk - gd)) / np.max(np.abs(gd))))
        # the same at z = 0.95 from the exact-in-z reference: cell mean of f, cell-mean gradient of F
        ref = reference_for(g, r.problem.physics)
        edges = g.z_edges[i:i + 2]
        f_ref = ref.cell_means(edges)[0]
        F_ref = 0.5 * f_ref @ g.dmu
        dF_ref = float(np.diff(ref.F(edges))[0] / g.dz[i])
        gd_ref = r.fields.a_s[0] * dF_ref
        e_ref = float(np.max(np.abs(f_ref - F_ref - gd_ref)) / np.max(np.abs(gd_ref)))
        rows.append((kn, e_naive, e_milne, errs[0], errs[1], e_ref))
    rows = np.array(rows)
    names = ["F(0) vs diffusion, F=0 at walls", "F(0) vs diffusion, Milne walls", "g(z=0) vs Eq. 7",
             "g(z=0.95) vs Eq. 7"]
    _report_sweep(out, "knudsen", r"Knudsen number $\lambda/L$", "slab, s = 5/3: where the diffusion approximation fails",
                  rows[:, 0], [(n, rows[:, c]) for c, n in enumerate(names, start=1)]
                  + [("g(z=0.95) vs Eq. 7, exact-in-z reference", rows[:, 5])], checks, "Kn")
    model_s = float(r.problem.physics.model.s)
    for level in (0.01, 0.1):
        predicted = milne_crossing(model_s, level)
        checks.append(Check(NAME, f"Kn where F(0) vs diffusion (F=0 at walls) passes {level:.0%}", "Kn (sweep)",
                            crossing(rows[:, 0], rows[:, 1], level), predicted, MILNE_CROSSING_BAND,
                            "Milne-wall diffusion = kinetic F(0) to O(Kn^2): theory without the scheme"))
    # patch test: in the source-free stretch Eq. (38) with the kinetic F' is exact at any Kn where F is
    # linear, and the mu conductances make it exact at the mu centres; left: the solve's round-off
    # (forward error <= rtol = 1e-10 of f, seen in g ~ Kn F: <= 1e-8 of g; measured 6e-12)
    small = rows[:, 0] <= 0.1
    checks.append(Check(NAME, "g(z=0) vs Eq. 7 for Kn <= 0.1", "max relative error", float(rows[small, 3].max()), 0.0,
                        1e-8, "holds by construction: Eq. 38 exact where F is linear, conductances exact at the mu "
                        "centres", absolute=True, kind="patch"))

    # --- SWK point source: Kn = lambda/z_c with z_c and x_c fixed
    from fpsolve.physics.swk import SWK

    eta, l_d, z_i = 1.0 / 3.0, 0.5, 1.0
    srows = []
    for kn in ([1e-3, 1e-2, 0.1, 1.0] if quick else [1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0]):
        tau0 = 3 * l_d**2 * eta / kn
        r = solve_case(parse_case(SWK_CASE, "knudsen.SWK_CASE", [f"turbulence.mean_free_path={kn!r}",
                                                                   f"losses.pion_time={tau0!r}"]))
        g = r.grid
        m = SWK(eta=eta, k_diff=kn / 3.0, tau0=tau0)
        sel = (g.p > 0.3) & (g.p < 3.0)
        F0 = isotropic_at(g, r.f, r.fields, 0.0)[0]
        i = int(np.argmin(np.abs(g.z)))
        dlnf = r.fields.dF_dz[:, i] / r.fields.F[:, i]
        e_f = float(np.max(np.abs(F0[sel] / m.point_f(0.0, g.p[sel], z_i=z_i, q=4.7) - 1)))
        e_g = float(np.max(np.abs(dlnf[sel] / m.dlnf_dz_sun(g.p[sel], z_i=z_i, q=4.7) - 1)))
        srows.append((kn, e_f, e_g))
    srows = np.array(srows)
    _report_sweep(out, "swk_knudsen", r"Knudsen number $\lambda/z_c$ at $x = x_c$",
                  "SWK point source with pion losses, x = 0.3..3 around x_c = 1", srows[:, 0],
                  [("SWK F(0,x) vs Eq. 64", srows[:, 1]), ("SWK dlnF/dz(0,x) vs Eq. 69", srows[:, 2])], checks, "Kn")
    checks.append(Check(NAME, "SWK at Kn = 1e-3", "max relative error of F(0, x)", float(srows[0, 1]), 0.0, 2e-2,
                        "issue bound for the SWK comparison (2%)", absolute=True))

    eps_values = [1e-3, 1e-2, 0.1, 0.3] if quick else [1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.2, 0.3]
    erows = []
    for eps in eps_values:
        r = solve_case("compton_getting", [f"turbulence.alfven_speed={eps!r}", "grid.p_cells=64"], None, None)
        pr = r.probes[0]
        gd, gk = pr.g_da_over_F, pr.g_over_F
        gamma = -pr.p * pr.dF_dp / pr.F  # kinetic spectral index at the probe
        model = r.problem.physics.model
        g2 = eps**2 * even(second_order_even_term(r.grid.mu, s=model.s, hc=model.hc, gamma_index=gamma))
        g2 = g2 + odd(catastrophic_loss_correction(r.grid.mu, s=model.s, eps=eps, hc=model.hc, gamma_index=gamma,
                                                   d0=float(model.d0(pr.p)), tau_c=float(r.problem.physics.tau_c)))
        erows.append((eps, float(np.max(np.abs(odd(gk) - odd(gd))) / np.max(np.abs(odd(gd)))),
                      float(np.max(np.abs(gk - gd)) / np.max(np.abs(gd))), float(np.max(np.abs(g2)) / np.max(np.abs(gd)))))
    erows = np.array(erows)
    checks.append(Check(NAME, "eps where full g vs Eq. 7 passes 1%", "eps (sweep)", crossing(erows[:, 0], erows[:, 2], 0.01),
                        crossing(erows[:, 0], erows[:, 3], 0.01), G2_CROSSING_BAND,
                        "prediction: the eps^2 G_2 and the loss term that Eq. 7 omits (ERRATA §5), an expansion "
                        "without the scheme"))
    _report_sweep(out, "eps_sweep", r"$\epsilon = V_A/v$", "Compton–Getting anisotropy, H_c = 0.5: kinetic vs Eq. (7)",
                  erows[:, 0], [("odd g vs Eq. 7", erows[:, 1]), ("full g vs Eq. 7 (G_2 missing)", erows[:, 2])],
                  checks, "eps")
    return checks


if __name__ == "__main__":
    main_for(run, NAME)
