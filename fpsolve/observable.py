r"""The anisotropy at the Sun as an observable: kinetic delta(E) against measured dipoles.

``fpsolve anisotropy CASE [--energies E1,E2,...]`` runs, for every kinetic energy E (TeV), kinetic
solutions whose probe is the Sun and turns their anisotropy into what detectors measure.

Two kinetic runs per energy (independent tasks of :func:`fpsolve.studies.run_tasks`, cached by
:func:`fpsolve.studies.cache_key` under ``OUT/cache``; local processes or Dask ``--scheduler``):

* **streaming run** — the case as given (a z problem with the Sun at ``[probes] z``) with
  ``V_A = 0`` in a momentum window around E: the kinetic g(mu) there is the streaming anisotropy
  of Eq. (7) (``g_s``, Eqs. 13, 35, 38) of the spatial gradient at the Sun;
* **Compton–Getting runs** — the homogeneous (mu, p) problem with the case's ``V_A`` (and
  ``va_factors`` times it, for the fit), a uniform source ``p^-Gamma`` with Gamma the local
  slope of F at the Sun from the streaming run, and an escape time ``CG_ESCAPE_TIME_YR``: the
  kinetic g(mu) is ``g_c`` (Eqs. 14, 36, 39-43).

Why two runs: a z problem with ``V_A > 0`` in a momentum *window* cuts the mixed z-p fluxes of
the kinetic operator (the ``H_0`` terms of Eq. 8 whose sum is the convection ``U``, Eq. 33) at the
window ends; the error of that cut is ~ eps z/(lambda dln p), ~ 10 for kpc gradients and 0.6 pc
mean free paths (measured: F p^4.7 varied by x5 across a 5-cell window).  The two anisotropies
add to O(eps) (Eq. 12; the ``mixed`` validation problem: g = g_s + g_c to 1.1-1.4% with every
term on), so ``delta = delta_s + delta_c`` is formed from the two kinetic solutions.

The convection of F (what the plain split leaves out).  A streaming run at ``V_A = 0`` has the
gradient and the slope of F of a geometry *without* the convection ``U = H_c V_A`` (Eqs. 33-34):
for ``cases/ism_dipole.toml`` (point source 500 pc below the Sun, walls at +-3 kpc) the Peclet
number ``Pe = U H/kappa_zz`` is 3.3 at 4 TeV, and convection away from the source flattens both.
The anisotropy is still g_s + g_c to O(eps) (Eq. 12) -- no cross term is missing there -- but of
the convected F: ``delta_s`` is linear in dlnF/dz (Eq. 13) and ``delta_c`` in Gamma (Eqs. 14, 43).
So the chain takes the kinetic anisotropy *per unit gradient and slope* from the two runs and the
gradient and slope of the convected F from Eq. (34) (:func:`convection_at_sun`: the diffusion model
on the case's z grid and one wide momentum grid, which carries U as a plain z flux and so needs no
wide kinetic grid; exact for F to O(lambda/H) ~ 2e-4 and O(eps^2)): ``d1_s`` is the streaming run's
times ``dlnF/dz(U)/dlnF/dz(0)`` (``convection_gradient_ratio``; analytically ``Pe/(e^Pe - 1)`` here,
reproduced to 4e-4, ``tests/test_observable.py``), and the Compton–Getting run takes the streaming
run's kinetic Gamma shifted by ``Gamma_34(U) - Gamma_34(0)``.  Measured against the one coupled
kinetic run with V_A on a wide momentum grid (``scripts/delta_split_check.py --kinetic``: 0.4-400 TeV/c
in 60 cells, 60 z cells, 16 mu cells, 115200 unknowns, 536 s CPU; flagged for f < 0 next to p_min,
smooth at the Sun) at its momentum cell nearest 4 TeV (4.236 TeV): coupled d1 = 9.621e-4 (Gamma
4.515, dlnF/dz -0.0486/kpc), this chain 9.582e-4 (Gamma 4.507, -0.0447/kpc: -0.4%), the plain split
1.1736e-3 (+22%); the coupled run's excess over the chain falls from 0.85% (8 mu cells) and 0.79%
(13 p cells per decade) to 0.40% as mu and p are refined (z converged), and its own d1 equals Eq. (7)
of its own F to 1.4e-4 (no missing cross term).  The plain split (``d1_split`` in the outputs, not the
model) is 19-23% high over 1-200 TeV; it is right only for Pe << 1.

Per run and probe (:func:`observable_task`): F, the log-gradients, g(mu)/F; the kinetic maximum
anisotropy delta of Eq. (11), signed, ``(f(1) - f(-1))/(f(1) + f(-1))`` from the cell means
extrapolated to mu = +-1 (``Fields.delta``), and the kinetic dipole moment
``d_1 = (3/2) int mu g/F dmu`` (the first Legendre coefficient: the amplitude of the
``delta b_hat . n`` dipole of :mod:`fpsolve.physics.dipole`; for g ~ mu it equals delta, for
the Eq. (38) shape |mu|^{2-s} sgn mu it is 3/(4-s) delta, 9/7 for s = 5/3), evaluated as the
dmu-weighted least-squares slope ``sum(mu dmu g/F)/sum(mu^2 dmu)`` of the cell means on mu: exact
for g ~ mu on any grid (the plain midpoint sum ``(3/2) sum(mu dmu g/F)`` is 1% low on the 16 graded
cells, whose end cells are 0.3 wide), second order otherwise; the diffusion-approximation values from Eqs. (13)-(14) by
quadrature with the kinetic gradients, and the closed forms Eq. (35) (delta_s), Eq. (36)
(delta_c) and Eq. (43) (``Gamma |H_c| V_A/c``).

Sign convention: delta > 0 is an excess of particles *moving* along +b_hat, which *arrive from*
-b_hat; the sky dipole is ``-d_1 b_hat`` (:func:`sky`).  The axis b_hat (default
:data:`fpsolve.physics.dipole.DEFAULT_B_RA_DEC`, the IBEX ribbon centre) has no sign of its own,
so the RA phase of the model is RA_b or RA_b + 180 deg depending on the sign of H_c b_hat.

What each model number is compared with (:func:`model_for_row`):

* ``A1_RA`` with a declination band: ``|d_1| cos(Dec_b) <cos d>_band`` (band first harmonic);
* ``A1_RA`` without a band in the table: the equatorial projection ``|d_1| cos(Dec_b)``, an upper
  bound of the band value (``<cos d> <= 1``);
* ``A1_RA_equatorial``: ``|d_1| cos(Dec_b)``;  ``dipole_0h``/``dipole_6h`` (combined into the
  equatorial amplitude ``sqrt(d0h^2 + d6h^2)`` and phase for the figure and the fit):
  the components of ``-d_1 b_hat``;  ``dipole_3d``: ``|d_1|`` (3-D);
* ``A1_solar_equatorial``: the Earth-orbit Compton–Getting dipole ``(2 + gamma) V_E/c``
  (:func:`fpsolve.physics.dipole.compton_getting_amplitude`, gamma = Gamma - 2), not the model.

The fit (:func:`fit`): ``d_1(E; V) = d_c(E; V) r_c(E; V) + a d_s(E) r_s(E; V)``, ``V = H_c V_A``, with
``d_c`` the kinetic Compton–Getting dipole of the runs at the Gamma of the V_A = 0 run and the run
values of V_A, fitted per energy by ``c1 V + c2 V^2`` (least squares through the origin: delta_c ∝
H_c V_A at small eps, Eq. 36, with the O(eps^2) of Eq. 39 in c2), ``d_s`` the streaming run's dipole,
``r_s, r_c`` what the convection at V does to the gradient and to Gamma at the Sun
(:class:`ConvectionRatios`, one Eq. 34 solve per V), and ``a >= 0`` (optional,
``fit_streaming=True``) the scale of the kinetic streaming part (a point-source asymmetry: the
gradient at the Sun, its source on the case's side); least squares on the projected amplitudes
(band first harmonic where the table gives a declination band) of the rows below
``FIT_E_MAX_TEV`` with errors, uncertainty from the Jacobian, chi^2.  The model between the run
energies is interpolated linearly in ln E.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from .io import save_figure, write_atomic
from .physics import dipole as dp

__all__ = ["observable_task", "plan_streaming", "plan_compton_getting", "anisotropy", "load_measurements",
           "model_for_row", "fit", "sky", "FitResult", "CG_ESCAPE_TIME_YR", "FIT_E_MAX_TEV", "convection_at_sun",
           "ConvectionRatios"]

#: Escape (catastrophic) time of the homogeneous Compton–Getting runs [yr].  Its effect on g_c is
#: the ERRATA §5 term 1/(4(2-s) D_0 T_c): 3e-5 at 4 TeV (D_0 T_c ~ 5e4), 1e-4 at 200 TeV.
CG_ESCAPE_TIME_YR = 1.0e5
#: Momentum window of each energy: p_max/p_min and cells (odd: the probe is the middle cell).
WINDOW_RATIO = 1.5
WINDOW_CELLS = 5
#: V_A multiples of the Compton–Getting runs (the linearisation of the fit).
VA_FACTORS = (0.5, 1.0, 2.0)
#: Fit only rows below this energy (the paper's Eq. 44 statement is about TeV energies).
FIT_E_MAX_TEV = 100.0
#: Galactic centre, (RA, Dec) J2000 [deg], from the IAU galactic frame of physics/dipole.py.
GC_RA_DEC = tuple(float(x) for x in dp.galactic_to_equatorial(0.0, 0.0))


# --------------------------------------------------------------------------- one task
def _probe_record(result) -> dict:
    """Anisotropy at the first probe of a solved case (see the module docstring)."""
    from .physics import anisotropy_shapes, delta_c_coefficient_closed, delta_s_coefficient_closed, pitch_integrals
    from .result import cell_means_at, interpolate_z, isotropic_at

    case, grid, fields, f = result.case, result.grid, result.fields, result.f
    model = result.problem.physics.model
    p0 = float(case.probe_momenta()[0])
    k = int(np.argmin(np.abs(np.log(grid.p / p0))))
    p = float(grid.p[k])
    if grid.homogeneous:
        a = fields.f[k]
        F = float(fields.F[k])
        dlnf_dz = 0.0
        dlnf_dp = float(fields.dF_dp[k] / F)
        delta_eq11 = float(fields.delta[k])
    else:
        z0 = float(case.probe_positions()[0])
        a = cell_means_at(grid, f, z0)[k]
        Fs, dlnz = isotropic_at(grid, f, fields, z0)
        F, dlnf_dz = float(Fs[k]), float(dlnz[k])
        dlnf_dp = float(interpolate_z(grid, fields.dF_dp, z0)[k] / F)
        lo = a[0] + (a[0] - a[1]) * (-1.0 - grid.mu[0]) / (grid.mu[0] - grid.mu[1])
        hi = a[-1] + (a[-1] - a[-2]) * (1.0 - grid.mu[-1]) / (grid.mu[-1] - grid.mu[-2])
        delta_eq11 = float((hi - lo) / (hi + lo))
    g_over_F = (a - F) / F
    w = grid.mu * grid.dmu
    d1 = float(np.sum(w * g_over_F) / np.sum(w * grid.mu))  # slope on mu: exact for g ~ mu (module docstring)
    ints = pitch_integrals(model, np.array([p]))
    ds_q = float(ints.delta_s_coefficient[0] * dlnf_dz)  # Eq. (13)
    dc_q = float(ints.delta_c_coefficient[0] * dlnf_dp)  # Eq. (14)
    shapes = anisotropy_shapes(model, grid.mu, np.array([p]))
    g_da = (shapes.a_s[0] * dlnf_dz + shapes.a_c[0] * dlnf_dp)  # Eq. (7) / F
    d1_da = float(np.sum(w * g_da) / np.sum(w * grid.mu))
    eps = float(model.eps(p)) if hasattr(model, "eps") else 0.0
    hc = float(getattr(model, "hc", 0.0))
    s = float(getattr(model, "s", np.nan))
    v = float(model.velocity(p))
    ds_closed = float(delta_s_coefficient_closed(s=s, d0=float(model.d0(p)), v=v) * dlnf_dz)  # Eq. (35)
    dc_closed = float(delta_c_coefficient_closed(eps=eps, p=p, hc=hc) * dlnf_dp)  # Eq. (36)
    gamma = float(-p * dlnf_dp)
    return {"p_code": p, "F": F, "dlnF_dz": dlnf_dz, "Gamma": gamma, "eps": eps, "hc": hc, "s": s,
            "mu": grid.mu.tolist(), "g_over_F": g_over_F.tolist(), "g_da_over_F": g_da.tolist(),
            "delta_eq11": delta_eq11, "d1": d1, "d1_da": d1_da,
            "delta_s_eq13": ds_q, "delta_c_eq14": dc_q, "delta_s_eq35": ds_closed, "delta_c_eq36": dc_closed,
            "delta_c_eq43": gamma * abs(hc) * eps,  # Eq. (43) with V_A/v (= V_A/c to 1e-7 at TeV)
            "mean_free_path": float(ints.mean_free_path[0])}


def observable_task(case_path: str, overrides: list, cache_dir: str | None = None) -> dict:
    """Solve one case and return the anisotropy record of its first probe; cached as
    ``CACHE/<cache_key>-observable.json`` (:func:`fpsolve.studies.cache_key`: the resolved case and
    the package source).  A task function for :func:`fpsolve.studies.run_tasks`."""
    from .studies import cached_solve

    return cached_solve(case_path, overrides, cache_dir, "-observable",
                        lambda r: {"trustworthy": bool(r.trustworthy), **_probe_record(r)})


# --------------------------------------------------------------------------- task plans
def _window(case, kinetic_tev) -> tuple[float, float, float]:
    """(p_min, p, p_max) in TeV/c around a kinetic energy."""
    setup = case.physical_setup()
    p = float(setup.p_code(kinetic_tev=kinetic_tev)) * setup.momentum_unit_tev
    r = np.sqrt(WINDOW_RATIO)
    return float(p / r), float(p), float(p * r)


def _need_physical(case, where):
    if case.system != "physical":
        raise ValueError(f"{where}: [units] system = {case.system!r}; allowed: 'physical' (energies in TeV)")
    if case.turbulence.model != "slab":
        raise ValueError(f"{where}: [turbulence] model = {case.turbulence.model!r}; allowed: 'slab' "
                         f"(the closed forms Eqs. 35, 36, 43)")


def plan_streaming(case_path, overrides, energies, extra=()) -> list:
    """Override lists of the streaming runs (V_A = 0, the case's z geometry), one per energy."""
    import fpsolve

    case = fpsolve.load_case(case_path, list(overrides))
    _need_physical(case, case_path)
    if case.grid.cells[0] == 0 or not case.probes.z:
        raise ValueError(f"{case_path}: [probes] z is required (the Sun) in a z problem (grid.z_cells > 0)")
    out = []
    for e in energies:
        lo, p, hi = _window(case, e)
        out.append(list(overrides) + ["turbulence.alfven_speed_kms=0.0", f"grid.p_min={lo!r}", f"grid.p_max={hi!r}",
                                      f"grid.p_cells={WINDOW_CELLS}", f"probes.p=[{p!r}]"] + list(extra))
    return out


def plan_compton_getting(case_path, overrides, energies, gammas, va_kms, extra=()) -> list:
    """Override lists of the homogeneous Compton–Getting runs: one per (energy, V_A); the uniform
    source has the index ``gammas[i]`` (the local slope of F at the Sun), escape time
    :data:`CG_ESCAPE_TIME_YR`."""
    import fpsolve

    case = fpsolve.load_case(case_path, list(overrides))
    out = []
    for e, gam in zip(energies, gammas):
        lo, p, hi = _window(case, e)
        for va in va_kms:
            out.append(list(overrides) + [
                "grid.z_cells=0", 'source.kind="uniform"', f"source.spectral_index={round(float(gam), 6)!r}",
                f"source.p0={p!r}", f"losses.catastrophic_time={CG_ESCAPE_TIME_YR!r}",
                f"turbulence.alfven_speed_kms={float(va)!r}", f"grid.p_min={lo!r}", f"grid.p_max={hi!r}",
                f"grid.p_cells={WINDOW_CELLS}", f"probes.p=[{p!r}]"] + list(extra))
    return out


# --------------------------------------------------------------------------- convection of F (Eq. 34)
#: Momentum cells per decade of the wide (z, p) grid of :func:`convection_at_sun` (20: Gamma and
#: dlnF/dz at the Sun within 3e-4 and 0.3% of 40 per decade, ``scripts/delta_split_check.py``).
CONVECTION_CELLS_PER_DECADE = 20


def convection_at_sun(case_path, overrides, energies, va_kms):
    r"""``(Gamma, dlnF/dz)`` at the Sun and each energy from the diffusion model Eq. (34)
    (:func:`fpsolve.reduced.solve_reduced`) with the convection ``U = H_c V_A`` (Eq. 33) at each
    ``va_kms`` (0 included: the split's streaming run), on the case's z grid and one wide momentum
    grid (a factor 3 beyond the energies, :data:`CONVECTION_CELLS_PER_DECADE`).

    Why: the split (streaming run at ``V_A = 0``) leaves out the convection of F.  ``U ∂F/∂z`` is the
    sum of the z divergence of the Compton–Getting current and the p divergence of the mixed flux
    ``p^3 U/3 ∂F/∂z``; Eq. (34) carries it as a plain z flux ``U F``, so (unlike a kinetic run on a
    narrow momentum window, which cuts the mixed p flux at its ends) it needs no wide kinetic grid.
    Returns two arrays of shape (len(va_kms), len(energies)).
    """
    import fpsolve

    from .build import build_grid, build_physics
    from .reduced import solve_reduced

    case = fpsolve.load_case(case_path, list(overrides))
    setup = case.physical_setup()
    p_tev = np.array([float(setup.p_code(kinetic_tev=e)) * setup.momentum_unit_tev for e in energies])
    lo, hi = float(p_tev.min()) / 3.0, float(p_tev.max()) * 3.0
    cells = max(8, int(np.ceil(CONVECTION_CELLS_PER_DECADE * np.log10(hi / lo))))
    z0 = float(case.probe_positions()[0])
    gam = np.empty((len(va_kms), len(energies)))
    dlnz = np.empty_like(gam)
    for a, va in enumerate(va_kms):
        c = fpsolve.load_case(case_path, list(overrides) + [
            f"turbulence.alfven_speed_kms={float(va)!r}", f"grid.p_min={lo!r}", f"grid.p_max={hi!r}",
            f"grid.p_cells={cells}"])
        grid, physics = build_grid(c), build_physics(c)
        F = solve_reduced(grid, physics, 0.0)  # (np, nz) cell means
        zc = 0.5 * (grid.z_edges[1:] + grid.z_edges[:-1])
        i = int(np.clip(np.searchsorted(zc, z0), 1, zc.size - 1))  # zc[i-1] <= z0 < zc[i]
        lnF = np.log(np.abs(F))
        t = (z0 - zc[i - 1]) / (zc[i] - zc[i - 1])
        ln_at = (1 - t) * lnF[:, i - 1] + t * lnF[:, i]
        grad = (lnF[:, i] - lnF[:, i - 1]) / (zc[i] - zc[i - 1])
        lnp = np.log(grid.p)
        slope = np.gradient(ln_at, lnp)
        x = np.log(np.array([float(setup.p_code(kinetic_tev=e)) for e in energies]))
        gam[a] = -np.interp(x, lnp, slope)
        dlnz[a] = np.interp(x, lnp, grad)
    return gam, dlnz


class ConvectionRatios:
    """``V -> (dlnF/dz(V)/dlnF/dz(0), Gamma(V)/Gamma(0))`` at the Sun over the run energies, with
    ``Gamma(V) = Gamma_kin + Gamma_34(V) - Gamma_34(0)`` (the kinetic slope of the V_A = 0 run shifted as
    Eq. 34 shifts it, :func:`convection_at_sun`); memoised (the fit calls it once per residual
    evaluation: one Eq. 34 solve per new V)."""

    def __init__(self, case_path, overrides, energies, gamma_kin, gamma0, dlnz0):
        self.args = (case_path, list(overrides), list(energies))
        self.gamma_kin, self.gamma0, self.dlnz0 = (np.asarray(x, dtype=float) for x in (gamma_kin, gamma0, dlnz0))
        self.memo = {}

    def __call__(self, va):
        key = round(float(va), 9)
        if key not in self.memo:
            gam, dlnz = convection_at_sun(*self.args, [abs(key)])
            self.memo[key] = (dlnz[0] / self.dlnz0, (self.gamma_kin + gam[0] - self.gamma0) / self.gamma_kin)
        return self.memo[key]


# --------------------------------------------------------------------------- measurements
def load_measurements() -> list[dict]:
    """Rows of ``fpsolve/data/anisotropy_measurements.csv`` (strings; empty fields are '')."""
    import csv

    text = (resources.files("fpsolve") / "data" / "anisotropy_measurements.csv").read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


def _num(x):
    return float(x) if x not in ("", None) else float("nan")


def row_error(row) -> float:
    """1-sigma error of a row's value: (err_plus + err_minus)/2, else stat and sys in quadrature;
    NaN when the source gives none."""
    plus, minus = _num(row["err_plus"]), _num(row["err_minus"])
    if np.isfinite(plus) and np.isfinite(minus):
        return 0.5 * (plus + minus)
    stat, sys_ = _num(row["err_stat"]), _num(row["err_sys"])
    if np.isfinite(stat):
        return float(np.hypot(stat, sys_ if np.isfinite(sys_) else 0.0))
    return float("nan")


def observed_points(rows=None) -> list[dict]:
    """The measurements as points of the figure and the fit: energy, projected amplitude, error,
    RA phase, what it is compared with (``compare``) and the geometric factor ``<cos d>`` of its band
    (1 without a band).  ``dipole_0h``/``dipole_6h`` pairs of one analysis become one point
    (``sqrt(d0h^2 + d6h^2)``, phase ``atan2(d6h, d0h)``, error: the common uncertainty)."""
    rows = load_measurements() if rows is None else rows
    pts, pairs = [], {}
    for r in rows:
        q = r["quantity"]
        if q in ("dipole_0h", "dipole_6h"):
            pairs.setdefault(r["id"].rsplit("_", 1)[0], {})[q] = r
            continue
        if q not in ("A1_RA", "A1_RA_equatorial", "dipole_3d"):
            continue
        band = (r["dec_band_min_deg"], r["dec_band_max_deg"])
        if q == "A1_RA" and "" not in band:
            mc, compare = dp.band_mean_cos_dec(float(band[0]), float(band[1])), "band A1 = abs(d1) cos(Dec_b) <cos d>"
        elif q == "A1_RA":
            mc, compare = 1.0, "equatorial projection abs(d1) cos(Dec_b) (no band in the table: upper bound of A1)"
        elif q == "A1_RA_equatorial":
            mc, compare = 1.0, "equatorial projection abs(d1) cos(Dec_b)"
        else:
            mc, compare = float("nan"), "3-D abs(d1)"
        pts.append({"id": r["id"], "experiment": r["experiment"], "energy_TeV": float(r["energy_TeV"]),
                    "quantity": q, "value": float(r["value"]), "error": row_error(r),
                    "phase_deg": _num(r["phase_deg"]), "phase_err_deg": _num(r["phase_err_stat_deg"]),
                    "mean_cos_dec": mc, "compare": compare, "approximate": r["approximate"] == "true"})
    for key, pr in pairs.items():
        if set(pr) != {"dipole_0h", "dipole_6h"}:
            continue
        r0, r6 = pr["dipole_0h"], pr["dipole_6h"]
        d0, d6 = float(r0["value"]), float(r6["value"])
        err = max(row_error(r0), row_error(r6))
        pts.append({"id": key, "experiment": r0["experiment"], "energy_TeV": float(r0["energy_TeV"]),
                    "quantity": "dipole_0h+6h", "value": float(np.hypot(d0, d6)), "error": err,
                    "phase_deg": float(np.degrees(np.arctan2(d6, d0)) % 360.0),
                    "phase_err_deg": float(np.degrees(err / np.hypot(d0, d6))), "mean_cos_dec": 1.0,
                    "compare": "equatorial projection abs(d1) cos(Dec_b) (from delta_0h, delta_6h)",
                    "approximate": r0["approximate"] == "true"})
    return sorted(pts, key=lambda x: x["energy_TeV"])


def sky(d1, b_ra_dec=dp.DEFAULT_B_RA_DEC):
    """Equatorial projection of the sky dipole ``-d1 b_hat`` (particles moving along +b arrive from -b)."""
    return dp.equatorial_projection(-np.asarray(d1, dtype=float), *b_ra_dec)


def model_for_row(point, d1, b_ra_dec=dp.DEFAULT_B_RA_DEC) -> float:
    """The model number a measured point is compared with (see the module docstring)."""
    if point["quantity"] == "dipole_3d":
        return float(abs(d1))
    return float(sky(d1, b_ra_dec).amplitude * point["mean_cos_dec"])


# --------------------------------------------------------------------------- the fit
@dataclass
class FitResult:
    """Least-squares H_c V_A (km/s), optional streaming scale, uncertainties, chi^2."""

    hc_va_kms: float
    hc_va_err: float
    streaming_scale: float
    streaming_scale_err: float
    chi2: float
    dof: int
    ids: list


def _interp_lnE(energies, values, e):
    return np.interp(np.log(e), np.log(energies), values)


def cg_coefficients(va_kms, d_c):
    """Per energy, ``d_c(V) = c1 V + c2 V^2`` through the origin (least squares over the run V_A)."""
    va = np.asarray(va_kms, dtype=float)
    A = np.stack([va, va**2], axis=1)
    coef, *_ = np.linalg.lstsq(A, np.asarray(d_c, dtype=float).T, rcond=None)
    return coef[0], coef[1]  # arrays over energy


def model_d1(e, hc_va, scale, energies, c1, c2, d_s, conv=None):
    """Kinetic dipole moment at energies ``e`` for a given H_c V_A [km/s] and streaming scale.

    ``c1, c2``: the Compton–Getting dipole ``c1 V + c2 V^2`` of the runs at the Gamma of the V_A = 0 run;
    ``d_s``: the streaming dipole of the V_A = 0 run; ``conv`` (optional): a callable ``V -> (gradient
    ratio, Gamma ratio)`` over the run energies, what the convection at ``H_c V_A = V`` does to the
    gradient and to the slope of F at the Sun (:class:`ConvectionRatios`): the streaming dipole scales
    with the gradient (Eq. 13) and the Compton–Getting dipole with Gamma (Eqs. 14, 43); None: no
    convection of F (the split)."""
    dc = np.asarray(c1, dtype=float) * hc_va + np.asarray(c2, dtype=float) * hc_va**2
    ds = np.asarray(d_s, dtype=float)
    if conv is not None:
        grad_ratio, gamma_ratio = conv(hc_va)
        dc, ds = dc * gamma_ratio, ds * grad_ratio
    return _interp_lnE(energies, dc, e) + scale * _interp_lnE(energies, ds, e)


def fit(points, energies, c1, c2, d_s, b_ra_dec=dp.DEFAULT_B_RA_DEC, fit_streaming=False, e_max=FIT_E_MAX_TEV,
        hc_va0=62.0, conv=None) -> FitResult:
    """Least squares of the projected model amplitude to the measured points below ``e_max`` that have
    an error (see the module docstring); uncertainty from the Jacobian (unscaled), chi^2."""
    from scipy.optimize import least_squares

    use = [p for p in points if p["energy_TeV"] < e_max and np.isfinite(p["error"]) and p["error"] > 0
           and p["quantity"] != "dipole_3d" and energies[0] <= p["energy_TeV"] <= energies[-1]]
    if len(use) < (2 if fit_streaming else 1):
        raise ValueError(f"fit: {len(use)} measured points with errors below {e_max:g} TeV; need more")
    e = np.array([p["energy_TeV"] for p in use])
    y = np.array([p["value"] for p in use])
    sig = np.array([p["error"] for p in use])
    mc = np.array([p["mean_cos_dec"] for p in use])
    cosb = np.cos(np.radians(b_ra_dec[1]))

    def resid(x):
        scale = x[1] if fit_streaming else 1.0
        return (np.abs(model_d1(e, x[0], scale, energies, c1, c2, d_s, conv)) * cosb * mc - y) / sig

    x0 = [hc_va0, 1.0] if fit_streaming else [hc_va0]
    # the streaming scale keeps the side of the case's source (a >= 0): a negative a would put the source on
    # the other side, a different geometry, and with |d1| in the model it trades sign against H_c V_A
    # with the convection of F (conv) H_c V_A >= 0: U = H_c V_A along +b_hat, the case's geometry
    lower = [-np.inf if conv is None else 0.0, 0.0][:len(x0)]
    sol = least_squares(resid, x0, x_scale=[hc_va0, 1.0][:len(x0)], bounds=(lower, np.inf))
    cov = np.linalg.inv(sol.jac.T @ sol.jac)
    err = np.sqrt(np.diag(cov))
    chi2 = float(np.sum(sol.fun**2))
    return FitResult(float(sol.x[0]), float(err[0]), float(sol.x[1]) if fit_streaming else 1.0,
                     float(err[1]) if fit_streaming else 0.0, chi2, len(use) - len(x0), [p["id"] for p in use])


# --------------------------------------------------------------------------- the chain
def anisotropy(case_path, overrides=(), energies=None, out="anisotropy-out", scheduler=None, workers=None,
               progress=False, va_factors=VA_FACTORS, b_ra_dec=dp.DEFAULT_B_RA_DEC, fit_streaming=True,
               shapes_figure=True, extra=()):
    """The whole chain: kinetic runs, sky projection, fit; writes ``anisotropy.h5``, ``anisotropy.md``,
    ``dipole.png`` and (``shapes_figure``) ``g_mu_4tev.png`` into ``out``; returns a dict of arrays."""
    import fpsolve

    from .studies import run_tasks

    out = Path(out)
    cache = str(out / "cache")
    case = fpsolve.load_case(case_path, list(overrides))
    _need_physical(case, case_path)
    if energies is None:
        if case.particle.kinetic_tev is None:
            raise ValueError(f"{case_path}: no energies: give --energies or [particle] kinetic_tev")
        energies = list(case.particle.kinetic_tev)
    energies = np.array(sorted(float(e) for e in energies))
    if energies.size < 2 or np.any(energies <= 0):
        raise ValueError(f"--energies {energies.tolist()}: need at least two energies > 0 TeV")
    va0 = case.turbulence.alfven_speed_kms
    if va0 is None:
        va0 = float(case.physical_setup().va_cm_s / 1e5)
    if not va0 > 0:
        raise ValueError(f"{case_path}: [turbulence] alfven_speed_kms = {va0!r}; allowed: > 0 (the CG anisotropy)")
    vas = np.array(sorted({float(f) * va0 for f in va_factors} | {va0}))
    out.mkdir(parents=True, exist_ok=True)  # after the input checks: bad input writes nothing

    def go(plans):
        return run_tasks([(str(case_path), o, cache) for o in plans], scheduler, workers, progress,
                         task=observable_task)

    st = go(plan_streaming(case_path, overrides, energies, extra))
    gammas = np.array([r["Gamma"] for r in st])
    # the convection of F (module docstring): Gamma and dlnF/dz at the Sun from Eq. (34) with U = H_c V_A
    conv_gam, conv_dlnz = convection_at_sun(case_path, overrides, energies, [0.0] + list(vas))
    i0 = int(np.argmin(np.abs(vas - va0)))
    # CG runs at the Gamma of the V_A = 0 run (the fit's linearisation in V), and at V_A with the Gamma the
    # convection gives (the table: the kinetic Gamma shifted by what Eq. 34 does to it)
    cg = go(plan_compton_getting(case_path, overrides, energies, gammas, vas, extra))
    cg = np.array(cg, dtype=object).reshape(energies.size, vas.size)
    cg_split = cg[:, i0]
    cg_va0 = go(plan_compton_getting(case_path, overrides, energies, gammas + conv_gam[1 + i0] - conv_gam[0], [va0],
                                     extra))

    def col(recs, key):
        return np.array([r[key] for r in recs], dtype=float)

    ratio = conv_dlnz[1 + i0] / conv_dlnz[0]  # what the convection does to the gradient at the Sun
    data = {"energy_TeV": energies, "va_kms": vas, "va0_kms": va0,
            "d1_s_va0": col(st, "d1"), "delta_s_va0": col(st, "delta_eq11"),
            "convection_gradient_ratio": ratio, "Gamma_split": gammas, "dlnF_dz_split": col(st, "dlnF_dz"),
            "delta_s": col(st, "delta_eq11") * ratio, "d1_s": col(st, "d1") * ratio,
            "delta_s_eq13": col(st, "delta_s_eq13") * ratio, "delta_s_eq35": col(st, "delta_s_eq35") * ratio,
            "d1_s_da": col(st, "d1_da") * ratio, "dlnF_dz": col(st, "dlnF_dz") * ratio,
            "Gamma": gammas + conv_gam[1 + i0] - conv_gam[0], "mean_free_path": col(st, "mean_free_path"),
            "delta_c_va": np.array([[r["delta_eq11"] for r in row] for row in cg]),
            "d1_c_va": np.array([[r["d1"] for r in row] for row in cg]),
            "trustworthy": np.array([r["trustworthy"] for r in st] + [r["trustworthy"] for r in cg.ravel()]
                                    + [r["trustworthy"] for r in cg_va0])}
    data["delta_c"] = col(cg_va0, "delta_eq11")
    data["d1_c"] = col(cg_va0, "d1")
    data["delta_c_eq14"] = col(cg_va0, "delta_c_eq14")
    data["delta_c_eq36"] = col(cg_va0, "delta_c_eq36")
    data["delta_c_eq43"] = col(cg_va0, "delta_c_eq43")
    data["d1_c_da"] = col(cg_va0, "d1_da")
    data["Gamma_cg"] = col(cg_va0, "Gamma")
    data["delta"] = data["delta_s"] + data["delta_c"]
    data["d1"] = data["d1_s"] + data["d1_c"]
    # the split without the convection of F (kept for comparison, module docstring)
    data["d1_split"] = data["d1_s_va0"] + np.array([r["d1"] for r in cg_split])
    data["delta_split"] = data["delta_s_va0"] + np.array([r["delta_eq11"] for r in cg_split])
    data["delta_da"] = data["delta_s_eq13"] + data["delta_c_eq14"]
    data["d1_da"] = data["d1_s_da"] + data["d1_c_da"]
    proj = sky(data["d1"], b_ra_dec)
    data["amplitude_eq"] = np.asarray(proj.amplitude)
    data["phase_deg"] = np.asarray(proj.phase_deg)
    data["amplitude_eq_da"] = np.asarray(sky(data["d1_da"], b_ra_dec).amplitude)
    c1, c2 = cg_coefficients(vas, data["d1_c_va"])
    data["cg_c1"], data["cg_c2"] = c1, c2
    conv = ConvectionRatios(case_path, overrides, energies, gammas, conv_gam[0], conv_dlnz[0])
    data["conv"] = conv
    points = observed_points()
    fits = {}
    for name, flag in (("hc_va", False), ("hc_va+streaming", True)) if fit_streaming else (("hc_va", False),):
        try:
            fits[name] = fit(points, energies, c1, c2, data["d1_s_va0"], b_ra_dec, fit_streaming=flag, hc_va0=va0,
                             conv=conv)
        except (ValueError, np.linalg.LinAlgError) as err:
            fits[name] = str(err)
    data["fits"] = fits
    data["points"] = points
    data["b_ra_dec"] = b_ra_dec
    _write_h5(data, out / "anisotropy.h5", case_path)
    write_atomic(out / "anisotropy.md", _markdown(data, case_path))
    _dipole_figure(data, out / "dipole.png")
    if shapes_figure:
        _shapes_figure(case_path, overrides, out / "g_mu_4tev.png", cache, scheduler, workers, progress, extra)
    return data


# --------------------------------------------------------------------------- outputs
def _write_h5(data, path, case_path):
    import xarray as xr

    one = {"units": "1"}
    v = {
        "delta": (("energy",), data["delta"], {**one, "long_name": "kinetic delta_s + delta_c (Eq. 11), signed"}),
        "delta_s": (("energy",), data["delta_s"],
                    {**one, "long_name": "kinetic streaming delta (Eq. 11): V_A = 0 run x convection_gradient_ratio"}),
        "delta_c": (("energy",), data["delta_c"], {**one, "long_name": "kinetic Compton-Getting delta (Eq. 11)"}),
        "delta_s_eq13": (("energy",), data["delta_s_eq13"], {**one, "long_name": "Eq. 13 by quadrature"}),
        "delta_c_eq14": (("energy",), data["delta_c_eq14"], {**one, "long_name": "Eq. 14 by quadrature"}),
        "delta_s_eq35": (("energy",), data["delta_s_eq35"], {**one, "long_name": "Eq. 35 closed form"}),
        "delta_c_eq36": (("energy",), data["delta_c_eq36"], {**one, "long_name": "Eq. 36 closed form"}),
        "delta_c_eq43": (("energy",), data["delta_c_eq43"], {**one, "long_name": "Eq. 43: Gamma |H_c| V_A / c"}),
        "d1": (("energy",), data["d1"],
               {**one, "long_name": "kinetic dipole moment (3/2) int mu g/F dmu (slope on mu)"}),
        "d1_da": (("energy",), data["d1_da"], {**one, "long_name": "Eq. 7 dipole moment"}),
        "amplitude_equatorial": (("energy",), data["amplitude_eq"],
                                 {**one, "long_name": "equatorial projection of the sky dipole -d1 b_hat"}),
        "phase_ra": (("energy",), data["phase_deg"], {"units": "degree", "long_name": "RA of the dipole maximum"}),
        "Gamma": (("energy",), data["Gamma"], {**one, "long_name": "-dlnF/dlnp at the Sun",
                                                "comment": "V_A = 0 run + the shift by the convection of Eq. 34"}),
        "dlnF_dz": (("energy",), data["dlnF_dz"], {"units": "1", "long_name": "dlnF/dz at the Sun per code length L",
                                                    "comment": "L = [units] length_unit_pc of the case"}),
        "mean_free_path": (("energy",), data["mean_free_path"],
                           {"units": "1", "long_name": "3 kappa_zz / v in code lengths L"}),
        "d1_c_va": (("energy", "va"), data["d1_c_va"], {**one, "long_name": "kinetic CG dipole moment vs V_A"}),
        "d1_split": (("energy",), data["d1_split"],
                     {**one, "long_name": "kinetic dipole moment of the split without the convection of F",
                      "comment": "streaming run at V_A = 0 + CG run with its Gamma; not the model (module docstring)"}),
        "convection_gradient_ratio": (("energy",), data["convection_gradient_ratio"],
                                      {**one, "long_name": "dlnF/dz at the Sun with / without U = H_c V_A (Eq. 34)"}),
        "Gamma_split": (("energy",), data["Gamma_split"], {**one, "long_name": "-dlnF/dlnp of the V_A = 0 run"}),
    }
    ds = xr.Dataset(v, coords={"energy": (("energy",), data["energy_TeV"],
                                          {"units": "TeV", "long_name": "proton kinetic energy"}),
                               "va": (("va",), data["va_kms"], {"units": "km s-1", "long_name": "Alfven speed"})})
    ds.attrs.update({"case": str(case_path), "Conventions": "CF-1.8", "b_ra_dec_deg": list(data["b_ra_dec"]),
                     "fits": json.dumps({k: (vars(f) if isinstance(f, FitResult) else f)
                                         for k, f in data["fits"].items()})})
    write_atomic(path, bytes(ds.to_netcdf(engine="h5netcdf")))  # in memory, then one atomic rename


def _markdown(data, case_path) -> str:
    L = [f"# The anisotropy at the Sun: {case_path}", "",
         f"b_hat (RA, Dec) = ({data['b_ra_dec'][0]:.2f}, {data['b_ra_dec'][1]:.2f}) deg; "
         f"V_A = {data['va0_kms']:g} km/s. "
         "delta: Eq. (11), signed (> 0: excess moving along +b, arriving from -b); d1 = (3/2) int mu g/F dmu "
         "(the dipole a detector sees); DA: Eqs. (13)-(14) by quadrature with the kinetic gradients; closed: "
         "Eqs. (35), (36), (43).", "",
         f"Kinetic runs: {data['trustworthy'].size}, trustworthy (converged, balance closed, f >= 0): "
         f"{int(np.sum(data['trustworthy']))}. delta_s: the kinetic V_A = 0 z run times the ratio of the gradients "
         "of F at the Sun with and without the convection U = H_c V_A (Eq. 34, column 'grad ratio'); delta_c: the "
         "homogeneous run at the Gamma of the V_A = 0 run shifted by the convection (module docstring); the kinetic "
         "delta of Eq. (11) extrapolates the mu cell means linearly to +-1 (about 1% for the |mu|^(1/3) shape on 16 "
         "graded cells), d1 needs no extrapolation. 'd1 split': the plain split without the convection of F "
         "(streaming run at V_A = 0, Gamma of that run), which is not the model: it overestimates d1 where the "
         "Peclet number U H/kappa_zz is not small.", "",
         "| E [TeV] | Gamma | grad ratio | delta_s kin | Eq. 13 | Eq. 35 | delta_c kin | Eq. 14 | Eq. 36 | Eq. 43 "
         "| delta kin | delta DA | d1 kin | d1 DA | d1 split | A_eq = abs(d1) cos Dec_b | RA phase [deg] |",
         "|" + "---|" * 17]
    for i, e in enumerate(data["energy_TeV"]):
        L.append(f"| {e:g} | {data['Gamma'][i]:.4f} | {data['convection_gradient_ratio'][i]:.4f} "
                 f"| {data['delta_s'][i]:.4e} | {data['delta_s_eq13'][i]:.4e} "
                 f"| {data['delta_s_eq35'][i]:.4e} | {data['delta_c'][i]:.4e} | {data['delta_c_eq14'][i]:.4e} "
                 f"| {data['delta_c_eq36'][i]:.4e} | {data['delta_c_eq43'][i]:.4e} | {data['delta'][i]:.4e} "
                 f"| {data['delta_da'][i]:.4e} | {data['d1'][i]:.4e} | {data['d1_da'][i]:.4e} "
                 f"| {data['d1_split'][i]:.4e} | {data['amplitude_eq'][i]:.4e} | {data['phase_deg'][i]:.1f} |")
    L += ["", "## Measurements and what the model number is compared with", "",
          "| id | E [TeV] | measured | error | model | compared with |", "|---|---|---|---|---|---|"]
    for p in data["points"]:
        if data["energy_TeV"][0] <= p["energy_TeV"] <= data["energy_TeV"][-1]:
            m = model_for_row(p, _interp_lnE(data["energy_TeV"], data["d1"], p["energy_TeV"]), data["b_ra_dec"])
            m = f"{m:.3e}"
        else:
            m = "outside the run energies"
        L.append(f"| {p['id']} | {p['energy_TeV']:g} | {p['value']:.3e} | {p['error']:.2e} | {m} | {p['compare']} |")
    L += ["", "## Earth-orbit Compton–Getting dipole (solar time)", "",
          "(2 + gamma) V_E/c with gamma = Gamma - 2 from the kinetic F at the Sun (its slope at the row's energy, "
          "held beyond the run energies); it averages out in sidereal time and is compared only with the "
          "A1_solar_equatorial rows (the expected equatorial amplitude as EAS-TOP 1996 quotes it).", "",
          "| id | E [TeV] | measured | error | (2 + gamma) V_E/c |", "|---|---|---|---|---|"]
    for r in load_measurements():
        if r["quantity"] != "A1_solar_equatorial":
            continue
        e = float(r["energy_TeV"])
        gam = float(_interp_lnE(data["energy_TeV"], data["Gamma"], e))
        L.append(f"| {r['id']} | {e:g} | {float(r['value']):.3e} | {row_error(r):.2e} "
                 f"| {dp.compton_getting_amplitude(gam - 2.0):.3e} |")
    L += ["", "## Fit (projected amplitudes below 100 TeV with errors)", ""]
    for name, f in data["fits"].items():
        if isinstance(f, FitResult):
            L.append(f"- {name}: H_c V_A = {f.hc_va_kms:.2f} ± {f.hc_va_err:.2f} km/s, streaming scale "
                     f"{f.streaming_scale:.3f} ± {f.streaming_scale_err:.3f}, chi^2 = {f.chi2:.2f} for {f.dof} dof "
                     f"(points: {', '.join(f.ids)})"
                     + ("; the streaming scale sits at its bound 0, the errors are those of the unconstrained "
                        "Jacobian" if name != "hc_va" and f.streaming_scale <= 1e-6 * max(f.streaming_scale_err, 1e-300) else ""))
        else:
            L.append(f"- {name}: not fitted ({f})")
    L.append("")
    return "\n".join(L)


def _dipole_figure(data, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    E = data["energy_TeV"]
    fig, (a1, a2) = plt.subplots(2, 1, figsize=(6.2, 6.4), sharex=True, gridspec_kw={"height_ratios": [3, 2]})
    cosb = np.cos(np.radians(data["b_ra_dec"][1]))
    a1.plot(E, 1e3 * data["amplitude_eq"], "-", color="k", label="kinetic (d1 cos Dec_b)")
    a1.plot(E, 1e3 * np.abs(data["d1_c"]) * cosb, ":", color="C3", label="kinetic, Compton–Getting part")
    a1.plot(E, 1e3 * np.abs(data["d1_s"]) * cosb, ":", color="C0", label="kinetic, streaming part")
    a1.plot(E, 1e3 * data["amplitude_eq_da"], "--", color="0.4", label="diffusion approximation (Eq. 7)")
    a1.plot(E, 1e3 * np.abs(data["d1_split"]) * cosb, "-.", color="0.6", lw=0.9,
            label="split without the convection of F")
    f = data["fits"].get("hc_va")
    ee = np.geomspace(E[0], E[-1], 100)
    c1, c2 = data["cg_c1"], data["cg_c2"]
    if isinstance(f, FitResult):
        a1.plot(ee, 1e3 * np.abs(model_d1(ee, f.hc_va_kms, 1.0, E, c1, c2, data["d1_s_va0"], data["conv"])) * cosb,
                "-", color="C2",
                label=f"fit: H_c V_A = {f.hc_va_kms:.1f} ± {f.hc_va_err:.1f} km/s")
    f2 = data["fits"].get("hc_va+streaming")
    if isinstance(f2, FitResult):
        a1.plot(ee, 1e3 * np.abs(model_d1(ee, f2.hc_va_kms, f2.streaming_scale, E, c1, c2, data["d1_s_va0"],
                                          data["conv"])) * cosb,
                "-.", color="C2", label=f"fit with streaming scale {f2.streaming_scale:.2f}")
    markers = "osD^v<>ph*"
    for i, exp in enumerate(sorted({p["experiment"] for p in data["points"]})):
        pts = [p for p in data["points"] if p["experiment"] == exp and p["quantity"] != "dipole_3d"
               and E[0] / 2 <= p["energy_TeV"] <= 2 * E[-1]]  # the runs' range (the table's EeV rows are off it)
        if not pts:
            continue
        x = [p["energy_TeV"] for p in pts]
        y = [1e3 * p["value"] for p in pts]
        ye = [1e3 * p["error"] if np.isfinite(p["error"]) else 0.0 for p in pts]
        approx = " (approximate, no errors)" if all(p["approximate"] for p in pts) else ""
        a1.errorbar(x, y, yerr=ye, fmt=markers[i % len(markers)], ms=4, capsize=2, color=f"C{(i + 4) % 10}",
                    label=exp + approx)
        band = [p for p in pts if p["mean_cos_dec"] < 1.0]  # band A1: the model's band value beside it
        if band:
            a1.plot([p["energy_TeV"] for p in band],
                    [1e3 * model_for_row(p, _interp_lnE(E, data["d1"], p["energy_TeV"]), data["b_ra_dec"])
                     for p in band], "x", ms=6, color=f"C{(i + 4) % 10}",
                    label=exp + ": model A1 in its declination band")
        ph = [p["phase_deg"] for p in pts]
        phe = [p["phase_err_deg"] if np.isfinite(p["phase_err_deg"]) else 0.0 for p in pts]
        a2.errorbar(x, ph, yerr=phe, fmt=markers[i % len(markers)], ms=4, capsize=2, color=f"C{(i + 4) % 10}")
    a2.plot(E, data["phase_deg"], "-", color="k", label="kinetic (-d1 b_hat)")
    a2.axhline(GC_RA_DEC[0], color="C1", lw=0.8, ls="--")
    a2.text(E[0], GC_RA_DEC[0] + 4, "Galactic centre", fontsize=7, color="C1")
    a1.set_xscale("log")
    a1.set_ylim(0, 1.5 * a1.get_ylim()[1])  # headroom for the legend above the curves
    a1.set_ylabel(r"amplitude [$10^{-3}$]")
    a1.legend(fontsize=6, ncol=2, loc="upper left", framealpha=0.8)
    a2.set_ylabel("RA phase [deg]")
    a2.set_ylim(0, 360)
    a2.set_yticks([0, 90, 180, 270])  # no 360 label: it collided with the amplitude panel's 0
    a1.set_yticks([t for t in a1.get_yticks() if 0 < t < a1.get_ylim()[1]])  # no 0 either
    a2.set_xlabel("kinetic energy [TeV]")
    a1.set_title("anisotropy at the Sun: projected amplitude and phase", fontsize=9)
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)


def _shapes_figure(case_path, overrides, path, cache, scheduler, workers, progress, extra=()):
    """Kinetic g(mu)/F at 4 TeV for s = 5/3 and s = 1: streaming-dominated (V_A = 0 z run) and
    Compton–Getting-dominated (homogeneous run) against |mu|^{2-s} sgn mu and mu (paper Fig. 1 lines)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .studies import run_tasks

    plans = []
    for s in (1.6666666666666667, 1.0):
        so = [f"turbulence.s={s!r}"]
        st = plan_streaming(case_path, list(overrides), [4.0], list(extra) + so)[0]
        plans.append(st)
    recs = run_tasks([(str(case_path), o, cache) for o in plans], scheduler, workers, progress, task=observable_task)
    va0 = _va0(case_path, overrides)
    cgp = [plan_compton_getting(case_path, list(overrides), [4.0], [r["Gamma"]], [va0],
                                list(extra) + [f"turbulence.s={s!r}"])[0]
           for r, s in zip(recs, (1.6666666666666667, 1.0))]
    recs += run_tasks([(str(case_path), o, cache) for o in cgp], scheduler, workers, progress, task=observable_task)
    fig, axes = plt.subplots(1, 2, figsize=(8.4, 3.6), sharey=True)
    for ax, (title, sub) in zip(axes, (("streaming-dominated (V_A = 0, gradient at the Sun)", recs[:2]),
                                       ("Compton–Getting-dominated (homogeneous, H_c V_A)", recs[2:]))):
        for r, c in zip(sub, ("C0", "C3")):
            mu = np.array(r["mu"])
            g = np.array(r["g_over_F"])
            norm = r["delta_eq11"]
            ax.plot(mu, g / norm, "o", ms=3, color=c, label=f"kinetic s = {r['s']:.3g}")
        m = np.linspace(-1, 1, 201)
        ax.plot(m, np.abs(m) ** (1 / 3) * np.sign(m), "-", color="k", lw=0.8, label=r"$|\mu|^{1/3}$ sgn $\mu$")
        ax.plot(m, m, "--", color="k", lw=0.8, label=r"$\mu$")
        ax.set_title(title, fontsize=8)
        ax.set_xlabel(r"$\mu$")
        ax.legend(fontsize=6)
    axes[0].set_ylabel(r"$g(\mu)/F$ / $\delta$ (4 TeV)")
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)


def _va0(case_path, overrides):
    import fpsolve

    case = fpsolve.load_case(case_path, list(overrides))
    va = case.turbulence.alfven_speed_kms
    return float(case.physical_setup().va_cm_s / 1e5) if va is None else float(va)
