r"""The anisotropy at the Sun (paper Sect. 4, Eqs. 41-44) from kinetic solutions over 1-100 TeV.

Equation: the homogeneous (mu, p) problem of the Compton–Getting runs of ``fpsolve anisotropy``
(:func:`fpsolve.observable.plan_compton_getting` on ``cases/ism_dipole.toml``: protons, s = 5/3,
B_0 = 3 uG, H_c = 1, uniform source p^-Gamma, escape time 1e5 yr, a 5-cell momentum window
around each energy); the probe is the middle momentum.  delta_c is the kinetic Eq. (11),
``(f(1) - f(-1))/(f(1) + f(-1))`` from the cell means extrapolated to mu = +-1.
References:

* Eq. (43): for a straight power law, delta_c = Gamma |H_c| V_A/c, the same at every momentum;
* Eq. (42): with spectral curvature, delta_c follows the local slope, ``(V_A/c) H_c (-dlnF/dlnp)``
  (its constant 3.3e-4 is V_A/c for V_A = 1e7 cm/s);
* Eq. (44): the V_A giving delta = 1e-3 with H_c = 1 and Gamma = 4.7: 0.6379e7 cm/s = 63.79 km/s
  (ERRATA.md: the printed 0.62 follows from the rounded 1.6e-3; reported beside it);
* the dipole moment d1 = (3/2) int mu g/F dmu that a detector sees (``fpsolve.observable``):
  3/(4-s) delta_s for the streaming shape of Eq. (38) (V_A = 0 z run of the case, s = 5/3 and 1),
  delta_c for the Compton–Getting shape mu (Eq. 39);
* the convection of F that the chain applies to the streaming run (``convection_at_sun``, Eq. 34 with
  U = H_c V_A): between the point source and the absorbing wall at H the gradient at the Sun is
  divided by (e^Pe - 1)/Pe, Pe = U H/kappa_zz (the steady convection-diffusion solution).
"""
from __future__ import annotations

import numpy as np

from fpsolve.observable import convection_at_sun, observable_task, plan_compton_getting, plan_streaming
from fpsolve.physics.units import C_LIGHT

from .common import Check, figure, main_for, save

NAME = "observable"
CASE = "ism_dipole"
ENERGIES = (1.0, 10.0, 100.0)
#: delta_c against Gamma |H_c| V_A/c: the O(eps) remainder (eps = 2e-4) and the linear extrapolation
#: of the cell means to mu = +-1 (g_c ~ mu is linear, so only the O(eps) even part enters): 1%, as the
#: compton_getting problem's 4 TeV check.
DELTA_TOL = 1e-2
#: spread of delta_c over 1-100 TeV for one straight power law: the grid and the operator are the same
#: in ln p at every energy, and eps = V_A/v changes by (1 - beta) < 5e-7 over 1-100 TeV; what is left
#: is the D_0 T_c dependence of the ERRATA §5 loss term, < 1e-4 (4(2-s) D_0 T_c > 1e4): bound 1e-3.
SPREAD_TOL = 1e-3
#: V_A for delta = 1e-3: the same 1% as DELTA_TOL (delta_c is linear in V_A to O(eps)).
VA_TOL = 1e-2
#: dipole moment of the streaming run (s = 5/3) against 3/(4-s) delta_s of Eq. (35): the mu cell means
#: resolve the |mu|^(1/3) shape at second order (measured 1.05% on the case's 16 graded cells, 0.26% on
#: 32); the diffusion approximation itself is good to lambda/L ~ 1e-4 here: 2%.
D1_STREAMING_TOL = 2e-2
#: the same for s = 1 (shape mu, resolved exactly by the slope on mu): round-off and lambda/L ~ 1e-6.
D1_LINEAR_TOL = 1e-6
#: dipole moment of the Compton–Getting run against Gamma |H_c| V_A/c: the slope on mu is exact for
#: g ~ mu, the O(eps) even part has no dipole; left is O(eps^2 Gamma) and the discrete F', < 1e-4: 1e-3.
D1_CG_TOL = 1e-3
#: gradient ratio of Eq. (34) against Pe/(e^Pe - 1): the cell-centred discretisation at U dz/kappa < 0.09
#: (measured 4e-4) and the interpolation in p: 2e-3.
CONVECTION_TOL = 2e-3


def _runs(energies, gammas, vas, quick):
    recs = []
    for o in plan_compton_getting(CASE, [], energies, gammas, vas):
        recs.append(observable_task(CASE, o, None))
    return np.array(recs, dtype=object).reshape(len(energies), len(vas))


def run(out, quick=False):
    checks = []
    eps62 = 62e5 / C_LIGHT

    # Eq. (43): a straight power law Gamma = 4.7, V_A = 62 km/s
    straight = _runs(ENERGIES, [4.7] * len(ENERGIES), [62.0], quick)[:, 0]
    dc = np.array([r["delta_eq11"] for r in straight])
    gam = np.array([r["Gamma"] for r in straight])
    for e, r in zip(ENERGIES, straight):
        checks.append(Check(NAME, f"Eq. 43 at {e:g} TeV", "kinetic delta_c (Eq. 11)", r["delta_eq11"],
                            r["Gamma"] * r["eps"], DELTA_TOL, "Gamma |H_c| V_A/v with the kinetic Gamma"))
    checks.append(Check(NAME, "Eq. 43: independent of momentum", "max/min - 1 of delta_c over 1-100 TeV",
                        float(dc.max() / dc.min() - 1.0), 0.0, SPREAD_TOL, "straight power law", absolute=True))
    checks.append(Check(NAME, "Gamma of the straight spectrum", "-dlnF/dlnp at the probe (info)", float(gam.mean()),
                        4.7, 0.0, "info: source index 4.7", kind="info"))

    # Eq. (42): curvature, local slopes 4.5, 4.7, 4.9 at 1, 10, 100 TeV
    curved_gamma = (4.5, 4.7, 4.9)
    curved = _runs(ENERGIES, curved_gamma, [62.0], quick)[:, 0]
    for e, r in zip(ENERGIES, curved):
        checks.append(Check(NAME, f"Eq. 42 at {e:g} TeV (Gamma {r['Gamma']:.2f})", "kinetic delta_c (Eq. 11)",
                            r["delta_eq11"], r["eps"] * r["hc"] * r["Gamma"], DELTA_TOL,
                            "(V_A/c) H_c (-dlnF/dlnp), the local slope"))
    ratio = curved[-1]["delta_eq11"] / curved[0]["delta_eq11"]
    checks.append(Check(NAME, "Eq. 42: delta_c follows the curvature", "delta_c(100 TeV)/delta_c(1 TeV)", ratio,
                        curved[-1]["Gamma"] / curved[0]["Gamma"], DELTA_TOL, "ratio of the local slopes"))

    # Eq. (44): V_A for delta = 1e-3, H_c = 1, Gamma = 4.7, from runs at 31, 62, 124 km/s
    vas = (31.0, 62.0, 124.0)
    lin = _runs(ENERGIES[:1] if quick else ENERGIES, [4.7] * (1 if quick else len(ENERGIES)), vas, quick)
    for i, row in enumerate(lin):
        d = np.array([r["delta_eq11"] for r in row])
        slope = np.polyfit(vas, d, 2)  # delta_c(V) near-linear; the quadratic term is O(eps^2)
        root = np.roots(slope - np.array([0.0, 0.0, 1e-3]))
        va_star = float(root[np.argmin(np.abs(root - 62.0))].real)
        ref = 1e-3 * C_LIGHT / (4.7 * 1e5)  # km/s, ERRATA Eq. 44: 63.79
        e = ENERGIES[i]
        checks.append(Check(NAME, f"Eq. 44 V_A for delta = 1e-3 at {e:g} TeV", "V_A [km/s], H_c = 1", va_star, ref,
                            VA_TOL, "ERRATA Eq. 44: 0.6379e7 cm/s"))
        checks.append(Check(NAME, f"Eq. 44 printed at {e:g} TeV", "V_A [km/s] vs printed 0.62e7 cm/s", va_star, 62.0,
                            0.0, "info: the paper's value from the rounded 1.6e-3", kind="info"))

    # the dipole moment a detector sees (d1 = (3/2) int mu g/F dmu): 3/(4-s) delta for the Eq. (38) shape
    for sv, tol in ((1.6666666666666667, D1_STREAMING_TOL), (1.0, D1_LINEAR_TOL)):
        o = plan_streaming(CASE, [], [4.0], [f"turbulence.s={sv!r}"])[0]
        r = observable_task(CASE, o, None)
        checks.append(Check(NAME, f"streaming dipole moment, s = {sv:.3g}, 4 TeV", "kinetic d1 of the V_A = 0 run",
                            r["d1"], 3.0 / (4.0 - sv) * r["delta_s_eq35"], tol,
                            "3/(4-s) x Eq. 35 (the Eq. 38 shape's first Legendre moment)"))
    checks.append(Check(NAME, "Compton–Getting dipole moment, 1 TeV", "kinetic d1 of the Gamma = 4.7 run",
                        straight[0]["d1"], straight[0]["Gamma"] * straight[0]["eps"], D1_CG_TOL,
                        "Eq. 43: g_c ~ mu, d1 = delta_c"))

    # the convection of F (Eq. 34) applied to the streaming run: gradient ratio against the exact solution
    import fpsolve
    from fpsolve.build import build_physics
    from fpsolve.physics import convection_speed, pitch_integrals

    case = fpsolve.load_case(CASE, ["turbulence.alfven_speed_kms=62.0"])
    model, setup = build_physics(case).model, case.physical_setup()
    p = np.array([float(setup.p_code(kinetic_tev=e)) for e in ENERGIES])
    pe = convection_speed(model, p) * float(case.length(3000.0)) / pitch_integrals(model, p).kappa_zz
    _, dlnz = convection_at_sun(CASE, [], ENERGIES, [0.0, 62.0])
    for e, r, x in zip(ENERGIES, dlnz[1] / dlnz[0], pe):
        checks.append(Check(NAME, f"convection of F at {e:g} TeV (Pe = {x:.2f})", "dlnF/dz(U)/dlnF/dz(0) at the Sun",
                            float(r), float(x / np.expm1(x)), CONVECTION_TOL,
                            "Pe/(e^Pe - 1): steady convection-diffusion, source below the Sun, absorbing wall at H"))

    fig, ax = figure()
    ax.semilogx(ENERGIES, 1e3 * dc, "o-", label=r"kinetic, $\Gamma = 4.7$")
    ax.semilogx(ENERGIES, 1e3 * 4.7 * eps62 * np.ones(len(ENERGIES)), "--", color="k", label="Eq. 43")
    ax.semilogx(ENERGIES, 1e3 * np.array([r["delta_eq11"] for r in curved]), "s-", label="kinetic, curved")
    ax.semilogx(ENERGIES, 1e3 * eps62 * np.array(curved_gamma), ":", color="k", label="Eq. 42")
    ax.set_xlabel("kinetic energy [TeV]")
    ax.set_ylabel(r"$\delta_c$ [$10^{-3}$]")
    ax.set_title(r"Compton–Getting anisotropy at the Sun, $V_A$ = 62 km/s, $H_c$ = 1")
    ax.legend()
    save(fig, out / "observable_delta_c.png")
    return checks


if __name__ == "__main__":
    main_for(run, NAME)
