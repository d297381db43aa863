r"""Physical time: bursts, switch-on, approach to steady state, and the superluminal diffusion approximation.

Equation: the time-dependent form of Eq. (3), ``M df/dt + A f = a(t) b`` on the kinetic grid
(:mod:`fpsolve.transient`, TR-BDF2 of :mod:`fpsolve.timestepping`).  References
(:mod:`fpsolve.physics.burst`, each exact for its model):

1. **Moments, s = 1** (``burst_hard_sphere``: D_mumu = D(1 - mu^2), D = 2 D_0(p) at the cell's p):
   ``<z^2>(t)``, ``<z mu>(t)`` of the closed hierarchy.  The *discrete* mu operator closes the same
   hierarchy exactly: its face flux of ``mu_c`` is ``D(1 - mu_f^2)`` (conductance from the exact
   integral of 1/D_mumu), so ``L mu_c = -2D mu_c``; and ``L mu_c^2 = 2D(1 - dmu^2/4) - 6D mu_c^2`` on a
   uniform grid.  Hence with ``c = 1 - dmu^2/4``: ``<mu_c^2> = (c/3)(1 + 2P e^{-6Dt})``,
   ``<z^2> = burst_moments(v sqrt c, p2_0 = P).z2``, ``<z mu_c> = sqrt c burst_moments(...).zmu`` with
   ``P = (3<mu_c^2>_0/c - 1)/2``; the z moments of the DG-1 representation obey ``d<z>/dt = v<mu>``
   exactly (z is a test function of the scheme).  So the check measures the time integration
   (and the boundary), not a mu-grid error; the continuum values (c = 1) differ by O(dmu^2) (info).
2. **Order in time**: fixed-step ladder on the same problem, error of ``<z^2>`` against (1).
3. **Free streaming** (``[time] scattering = false``): each mu cell translates, ``f_j(z, t) =
   f_0(z - v mu_j t)``; F against the exact cell averages of ``sum_j dmu_j/2 G_sigma(z - v mu_j t)``.
4. **Long time**: a constant source from f = 0 to t -> infinity equals the steady solver.
5. **Late-time diffusion**: kinetic F against the diffusion Green's function (error vs t/t_scatter).
6. **Superluminal failure** (``burst_slab``, s = 5/3, burst at d = 0.3 = 30 lambda): kinetic delta
   (Eq. 11) against delta_DA of Eq. (7) with the kinetic F's gradient; where they differ by 1%, 10%.
"""
from __future__ import annotations

import numpy as np

import fpsolve
from fpsolve.physics import burst
from fpsolve.transient import write_timeseries
from fpsolve.transient import run_transient

from .common import Check, figure, main_for, save

NAME = "transient"
#: Moments: TR-BDF2 at rtol = 3e-7 leaves a global error ~1e-7 in <z^2> and <z mu> (measured: 1.1e-7,
#: 9.5e-7 at rtol 1e-6); the discrete hierarchy is exact, so 1e-6 tests the time integration.
MOMENT_TOL = 1e-6
#: Observed order of TR-BDF2 on the moment ODEs: 2 (second order), within 0.15 on a 4-level ladder.
ORDER_TOL = 0.15
#: Free streaming: DG-1 upwind error of a Gaussian of width sigma = 4 cells after translation by
#: up to 0.1 (10 sigma): second order in dz, measured 3.2e-4 (L1, relative; quick, t <= 0.05), 3.3e-4 (t <= 0.1);
#: 5e-3 leaves margin but fails a first-order (smeared) or wrongly translated solution (> 1e-2).
FREE_TOL = 5e-3
#: Long time: the slowest mode has decayed to e^{-t/tau} < 1e-10 and the integrator's error (rtol 1e-6,
#: relative to |f|) is damped with it (measured 1.1e-9; 5e-11 at rtol 1e-8); the steady solve is at 1e-10.
STEADY_TOL = 1e-8
#: Superluminal: late (t = 100 d/v) the quasi-static Eq. (7) must agree with the kinetic delta to 1%
#: (the diffusion limit, lambda/d = 1/30; the residual is the O(d_t/D) correction).
LATE_DELTA_TOL = 1e-2


def _moment_reference(r, case):
    """(``<z^2>``, ``<z mu_c>``) of the discrete hierarchy (module docstring §1) and of the continuum."""
    g, m = r.grid, r.moments
    model = case.turbulence_model()
    d = 2.0 * float(model.d0(g.p[0]))
    v = float(model.velocity(g.p[0]))
    c2 = 1.0 - g.dmu[0] ** 2 / 4.0
    p2 = (3.0 * m["mu2"][0, 0] / c2 - 1.0) / 2.0
    sigma = float(np.sqrt(m["z2"][0, 0]))
    disc = burst.burst_moments(r.times, v=v * np.sqrt(c2), d=d, sigma=sigma, p2_0=p2)
    cont = burst.burst_moments(r.times, v=v, d=d, sigma=sigma)
    return disc.z2, np.sqrt(c2) * disc.zmu, cont.z2, d, v, c2


def _hard_sphere(quick):
    if quick:
        ts = [0.0, 1e-5, 1e-4, 1e-3, 1e-2, 0.1]
        ov = ["grid.z_min=-0.3", "grid.z_max=0.3", "grid.z_cells=60", "time.end=0.1", "probes.z=[0.05]"]
    else:
        ts = [0.0, 1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0]
        ov = []
    # plain DG-1: the discrete moment hierarchy is exact for the linear scheme only (the positivity
    # fix-up's first-order cells break it; fpsolve.transient, Positivity)
    return fpsolve.load_case("burst_hard_sphere", ov + [f"time.output_times={ts}", "time.rtol=3e-7",
                                                        "time.positivity_fixup=false"])


def _moments(out, quick):
    case = _hard_sphere(quick)
    r = run_transient(case)
    write_timeseries(r, out / "transient_hard_sphere.h5")
    z2d, zmud, z2c, d, v, c2 = _moment_reference(r, case)
    m = r.moments
    sel = r.times > 0
    e_z2 = float(np.max(np.abs(m["z2"][sel, 0] / z2d[sel] - 1)))
    e_zmu = float(np.max(np.abs(m["zmu"][sel, 0] / zmud[sel] - 1)))
    e_cont = float(np.max(np.abs(m["z2"][sel, 0] / z2c[sel] - 1)))
    span = f"t D = {r.times[sel][0] * d:.0e}..{r.times[-1] * d:.0e}"
    checks = [
        Check(NAME, "moments <z^2>, s=1", f"max rel. error, {span}", e_z2, 0.0, MOMENT_TOL,
              "closed moment hierarchy (discrete mu operator: exact), TR-BDF2 rtol 3e-7", absolute=True),
        Check(NAME, "moments <z mu>, s=1", f"max rel. error, {span}", e_zmu, 0.0, MOMENT_TOL,
              "closed moment hierarchy (discrete mu operator: exact), TR-BDF2 rtol 3e-7", absolute=True),
        Check(NAME, "moments <z^2> vs continuum", "max rel. error (mu grid: <mu^2>_eq = (1 - dmu^2/4)/3)", e_cont,
              0.0, 0.0, "O(dmu^2) of the 32-cell mu grid", absolute=True, kind="info"),
        Check(NAME, "balance, hard-sphere burst", "|defect| / N over every step", r.balance["max_step_defect"], 0.0,
              1e-10, "stage-weighted channel integrals: round-off", absolute=True),
    ]
    # late-time diffusion: F against the Green's function with the discrete kappa = v^2 c/(6D)
    kappa = v**2 * c2 / (6.0 * d)
    n = float(m["N"][0, 0])
    sig0 = float(np.sqrt(m["z2"][0, 0]))
    fig, ax = figure()
    rows = []
    for i, t in enumerate(r.times):
        if t * d < 3:
            continue
        ref = burst.diffusion_cell_average(r.grid.z_edges, t, kappa=kappa, n=n, sigma=sig0)
        err = float(np.sum(np.abs(r.F[i, 0] - ref)) / np.sum(np.abs(ref)))
        rows.append((t * d, err))
        checks.append(Check(NAME, f"late-time diffusion, t D = {t * d:.3g}", "L1 rel. error of F vs Green's function",
                            err, 0.0, 0.0, "diffusion limit: error ~ 1/(D t)", absolute=True, kind="info"))
    if rows:
        x, y = np.array(rows).T
        ax.loglog(x, y, "o-", label="kinetic F vs diffusion Green's function (L1)")
        ax.loglog(x, 1.0 / x, ":", label=r"$1/(Dt)$")
        ax.set_xlabel(r"$t/t_{scatter} = D t$")
        ax.set_ylabel("relative L1 difference")
        ax.legend()
        save(fig, out / "transient_late_diffusion.png")
        if len(rows) >= 2:  # the difference must fall as the diffusion limit is approached
            checks.append(Check(NAME, "late-time diffusion: error falls", "error(last)/error(first)",
                                float(y[-1] / y[0]), 0.0, 1.0, "approach to the diffusion limit", absolute=True))
    return checks, r


def _order(out, quick):
    ov = ["grid.z_min=-0.3", "grid.z_max=0.3", "grid.z_cells=60", "time.end=0.05", "time.output_times=[0.0, 0.05]",
          "probes.z=[0.05]", "time.positivity_fixup=false"]  # the linear scheme's order (see _hard_sphere)
    errs, hs = [], []
    for n in (25, 50, 100, 200):
        case = fpsolve.load_case("burst_hard_sphere", ov + [f"time.fixed_step={0.05 / n!r}"])
        r = run_transient(case)
        z2d, *_ = _moment_reference(r, case)
        errs.append(abs(r.moments["z2"][-1, 0] / z2d[-1] - 1))
        hs.append(0.05 / n)
    orders = np.log2(np.array(errs[:-1]) / np.array(errs[1:]))
    return [Check(NAME, "order in time (fixed steps)", "observed order of <z^2>(t = 5/D), last pair",
                  float(orders[-1]), 2.0, ORDER_TOL, "TR-BDF2 is second order", absolute=True),
            Check(NAME, "order in time, all pairs", ", ".join(f"{o:.3f}" for o in orders), float(orders.min()), 2.0,
                  0.0, "dt = " + ", ".join(f"{h:.1e}" for h in hs), absolute=True, kind="info")]


def _free_streaming(out, quick):
    ts, zmax = ([0.0, 0.02, 0.05], 0.3) if quick else ([0.0, 0.02, 0.05, 0.1], 0.6)
    nz = int(round(2 * zmax / 0.0025))  # dz = sigma/4
    case = fpsolve.load_case("burst_hard_sphere", [f"grid.z_min={-zmax}", f"grid.z_max={zmax}", f"grid.z_cells={nz}",
                                                   f"time.end={ts[-1]}", f"time.output_times={ts}", "time.scattering=false",
                                                   "source.width=0.01", "probes.z=[0.05]", "time.rtol=1e-6"])
    r = run_transient(case)
    g = r.grid
    n = float(r.moments["N"][0, 0])
    checks = []
    worst = 0.0
    for i, t in enumerate(r.times):
        if t == 0:
            continue
        # exact: each mu cell translates at v mu_j: sum_j dmu_j/2 of the cell averages of a shifted Gaussian
        ref = sum(0.5 * dm * burst.diffusion_cell_average(g.z_edges - mu * t, 0.0, kappa=1.0, n=n, sigma=0.01)
                  for mu, dm in zip(g.mu, g.dmu))
        err = float(np.sum(np.abs(r.F[i, 0] - ref)) / np.sum(np.abs(ref)))
        worst = max(worst, err)
        cont = burst.free_streaming_cell_average(g.z_edges, t, v=1.0, n=n, sigma=0.01)
        checks.append(Check(NAME, f"free streaming vs continuum mu, t = {t:g}", "L1 rel. error (32 mu cells)",
                            float(np.sum(np.abs(r.F[i, 0] - cont)) / np.sum(cont)), 0.0, 0.0,
                            "the mu grid's discrete speeds", absolute=True, kind="info"))
    checks.insert(0, Check(NAME, "free streaming (D = 0)", "max L1 rel. error of F, translated mu cells", worst, 0.0,
                           FREE_TOL, "DG-1 upwind, sigma = 4 dz", absolute=True))
    return checks


def _long_time(out, quick):
    ov = ["grid.z_cells=40", "time.profile=constant", "time.end=3000.0", "time.output_times=[3000.0]",
          "time.rtol=1e-6", "time.atol=1e-14"]
    case = fpsolve.load_case("burst_slab", ov)
    r = run_transient(case)
    steady = fpsolve.solve(fpsolve.load_case("burst_slab", ["grid.z_cells=40"]))
    err = float(np.max(np.abs(r.F[-1] - steady.fields.F)) / np.max(np.abs(steady.fields.F)))
    return [Check(NAME, "long time = steady solver", "max|F(t=3000) - F_steady|/max F", err, 0.0, STEADY_TOL,
                  "slowest mode e^{-t/tau}, tau = L^2/(pi^2 kappa) = 120: < 1e-10 at t = 3000", absolute=True),
            Check(NAME, "long time: steps", "accepted steps to t = 3000 (L-stable, growing steps)",
                  float(r.info.accepted), 0.0, 0.0, "", absolute=True, kind="info")]


def _superluminal(out, quick):
    times = [0.05, 0.1, 0.2, 0.3, 0.32, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 1.0, 1.2, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0, 10.0,
             15.0, 20.0, 30.0]
    ov = [f"time.output_times={times}", "time.rtol=1e-5"] + (["grid.z_cells=100", "grid.z_min=-0.5", "grid.z_max=1.0"]
                                                              if quick else [])
    case = fpsolve.load_case("burst_slab", ov)
    r = run_transient(case)
    pr = r.probes[0]
    d = abs(case.source.centre - pr.z)
    t = r.times
    arrived = pr.F > 1e-6 * np.max(pr.F)
    t_front = float(t[np.argmax(arrived)])
    ok = arrived & np.isfinite(pr.delta) & (np.abs(pr.delta) > 0)
    rel = np.where(ok, np.abs(np.abs(pr.delta_da) - np.abs(pr.delta)) / np.where(ok, np.abs(pr.delta), 1.0), np.nan)
    checks = [Check(NAME, "superluminal: arrival front", "first output with F > 1e-6 max F at the probe (in d/v)",
                    t_front / d, 1.0, 0.0, "ballistic front t = d/v", absolute=True, kind="info")]
    for level in (0.01, 0.1):
        above = np.flatnonzero(ok & (rel > level))
        t_last = float(t[above[-1]]) if above.size else float("nan")
        checks.append(Check(NAME, f"superluminal: |delta_DA| vs |delta| > {level:.0%}", "last output time (d/v)",
                            t_last / d, 0.0, 0.0, "quasi-static Eq. (7) fails before this", absolute=True, kind="info"))
    checks.append(Check(NAME, "superluminal: max |delta_DA| after arrival", "max |Eq. (7)|",
                        float(np.nanmax(np.abs(pr.delta_da[arrived]))), 1.0, 0.0, "> 1: superluminal", absolute=True,
                        kind="info"))
    checks.append(Check(NAME, "superluminal: max |delta| kinetic after arrival", "max |kinetic delta|",
                        float(np.nanmax(np.abs(pr.delta[arrived]))), 1.0, 0.0, "", absolute=True, kind="info"))
    model = case.turbulence_model()
    from fpsolve.physics import pitch_integrals

    kappa = float(pitch_integrals(model, np.array([pr.p])).kappa_zz[0])
    t1 = float(burst.superluminal_time(pr.z, kappa=kappa, v=1.0, z0=case.source.centre, sigma=case.source.width))
    checks.append(Check(NAME, "superluminal: Green's-function t_1", "delta_DA > 1 before t_1 (d/v), s = 1 factor 3",
                        t1 / d, 1.5, 0.0, "physics.burst.superluminal_time (point burst: 1.5 d/v)", absolute=True,
                        kind="info"))
    late = t >= 20.0 * d
    checks.append(Check(NAME, "late delta_DA = kinetic delta", f"max rel. difference, t >= {20 * d:g}",
                        float(np.nanmax(rel[late])), 0.0, LATE_DELTA_TOL, "diffusion limit (lambda/d = 1/30)",
                        absolute=True))
    fig, ax = figure()
    ax.loglog(t / d, np.abs(pr.delta), "o-", ms=3, label="kinetic (Eq. 11)")
    ax.loglog(t / d, np.abs(pr.delta_da), "s--", ms=3, label="diffusion approximation (Eq. 7, kinetic F)")
    ax.axhline(1.0, color="k", lw=0.6, ls=":")
    ax.axvline(1.0, color="grey", lw=0.6, ls=":")
    ax.set_xlabel(r"$t\,v/d$")
    ax.set_ylabel(r"$|\delta|$ at the probe")
    ax.set_title(f"burst at d = {d:g} = {d / 0.01:.0f} lambda (s = 5/3)")
    ax.legend()
    save(fig, out / "transient_superluminal.png")
    return checks


def run(out, quick=False):
    checks, _ = _moments(out, quick)
    checks += _order(out, quick)
    checks += _free_streaming(out, quick)
    checks += _long_time(out, quick)
    checks += _superluminal(out, quick)
    return checks


if __name__ == "__main__":
    main_for(run, NAME)
