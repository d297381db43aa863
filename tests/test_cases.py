"""Accuracy of the bundled cases against the paper (ERRATA-corrected where it applies)."""
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest

from fpsolve import load_case
from fpsolve.physics.swk import SWK
from fpsolve.result import balance_closed, isotropic_at
from fpsolve.run import solve

CASES = Path(__file__).resolve().parents[1] / "cases"


@lru_cache(maxsize=None)
def run(name, *overrides):
    return solve(load_case(CASES / f"{name}.toml", list(overrides)))


def odd(x):
    return 0.5 * (x - x[::-1])


@pytest.mark.parametrize("name, overrides", [
    ("slab_streaming", ()), ("compton_getting", ()), ("swk_point", ()), ("swk_layer", ()), ("full_alfvenic", ())])
def test_bundled_cases_are_trustworthy(name, overrides):
    """Converged, balance closed (1e-10 or its round-off bound), min f >= -1e-6 max f."""
    r = run(name, *overrides)
    assert r.info.converged, r.info.message
    assert balance_closed(r.balance), r.balance
    assert r.min_f["value"] >= -1e-6 * r.min_f["max"]
    assert r.trustworthy


def test_slab_streaming_amplitude_patch_test():
    """Patch test (holds by construction, says nothing about resolution): the mu conductances make Eq. (7)
    exact at the mu centres in the source-free diffusion limit, so the streaming amplitude at z = 0 equals
    Eq. (38) with the numerical F'(0) on any mu grid (4 cells: 3e-14).  Tolerance: the solve's forward error
    <= rtol = 1e-10 of f, seen in g ~ 1e-2 F: 1e-8 (measured 1e-12)."""
    pr = run("slab_streaming").probes[0]
    assert abs(pr.streaming_amplitude / pr.streaming_amplitude_eq38 - 1) < 1e-8
    assert pr.rel_err_da < 1e-8
    pr4 = run("slab_streaming", "grid.mu_cells=4").probes[0]
    assert pr4.rel_err_da < 1e-8  # ... while F(0) is 2% off (next test)


def _mu_converged_slab(result):
    from fpsolve.cli import validation_package

    validation_package()
    from fpsolve.validation.common import mu_converged_slab

    return mu_converged_slab(result)


def test_slab_against_the_mu_converged_reference():
    """What the patch test cannot see: F(0) and the escape fractions of the public slab against the
    semi-analytic reference, exact in z and Richardson-extrapolated in mu (fpsolve.reference), which
    shares no discretisation with the run.  F(0): 2e-3, 5x the measured 4.1e-4 (the discrete kappa_zz at
    32 mu cells, second order); it fails at 8 mu cells (5.9e-3) and 4 (2.2e-2).  Escape fractions: 2e-5,
    5x the measured 3.5e-6 (they see the Milne length only as 0.3 dz0/2: 2.2e-5 at 4 mu cells)."""
    r = run("slab_streaming")
    ref = _mu_converged_slab(r)
    assert abs(r.probes[0].F / ref["F"][0] - 1) < 2e-3
    for end in ("z_min", "z_max"):
        assert abs(r.balance[f"escape_{end}"] / r.balance["injected"] - ref[f"escape_{end}"][0]) < 2e-5
    for cells in ("8", "4"):
        assert abs(run("slab_streaming", f"grid.mu_cells={cells}").probes[0].F / ref["F"][0] - 1) > 5e-3


@pytest.mark.parametrize("hc", [-0.8, -0.2, 0.3, 0.5, 1.0])
def test_compton_getting_fig2(hc):
    """Odd part of g/F within 2e-3 of Eq. (7) with the exact Eq. (27) coefficients (measured 1.9e-4-8.1e-4:
    2.5x the largest).

    Eq. (7) omits the O(eps^2) even term G_2 and the O(1/(D_0 T_c)) loss term (ERRATA §5); the odd
    part is exact through O(eps^2), and the loss term is 8e-4 of it here.  This comparison is blind to the
    mu resolution (4.6e-4 at 4 mu cells, 4.0e-4 at 64 for H_c = -0.8: the conductances make Eq. 7 exact at
    the mu centres); what it measures is the physics beyond Eq. 7.  Fig. 2's straight lines:
    g_odd/(eps Gamma) = H_c mu up to O(eps) (bound eps = 0.01; measured <= 0.0033).
    """
    r = run("compton_getting", f"turbulence.cross_helicity={hc}")
    pr = r.probes[0]
    err = np.max(np.abs(odd(pr.g_over_F) - odd(pr.g_da_over_F))) / np.max(np.abs(odd(pr.g_da_over_F)))
    assert err < 2e-3
    gamma = -pr.p * pr.dF_dp / pr.F  # at the requested probe momentum
    eps = float(r.problem.physics.model.eps(pr.p))
    assert np.max(np.abs(odd(pr.g_over_F) / (gamma * eps) - hc * r.grid.mu)) < eps


def _swk_model(r, form):
    ph = r.problem.physics
    return SWK.from_turbulence(ph.model, 1.0 / float(ph.loss_rate(1.0)), form)


def test_swk_point_source():
    """F(0, x) within 2% of Eq. (64) and d ln F/dz at 0 within 3% of Eq. (69), both corrected
    (q -> q-2, ERRATA §1), over x = 10..1000 (x_c = 58.6): measured 0.85% (cell means interpolated
    to z = 0; the DG traces give 0.33%) and 0.49%.  The printed form is off by a factor ~20 in F
    and ~37% in the gradient."""
    r = run("swk_point")
    g = r.grid
    x = g.p
    sel = (x > 10) & (x < 1000)
    F0, dlnF = isotropic_at(g, r.f, r.fields, 0.0)
    z_i = r.problem.physics.source.centre
    good = _swk_model(r, "corrected")
    assert good.x_c(z_i) == pytest.approx(58.65, rel=1e-3)
    assert np.max(np.abs(F0[sel] / good.point_f(0.0, x[sel], z_i=z_i, q=4.7) - 1)) < 0.02
    assert np.max(np.abs(dlnF[sel] / good.dlnf_dz_sun(x[sel], z_i=z_i, q=4.7) - 1)) < 0.03
    bad = _swk_model(r, "printed")
    assert np.max(np.abs(F0[sel] / bad.point_f(0.0, x[sel], z_i=z_i, q=4.7) - 1)) > 1.0
    assert np.max(np.abs(dlnF[sel] / bad.dlnf_dz_sun(x[sel], z_i=z_i, q=4.7) - 1)) > 0.2
    # the streaming anisotropy at the Sun follows Eq. (38) with the kinetic gradient (thick limit)
    for pr in r.probes:
        # thick limit (dz/lambda ~ 3000): the conductances make Eq. (38) exact at the mu centres; what is
        # left is the discrete kappa_zz of 16 mu cells (O(dmu^2) ~ 1e-3) and the probe's ln p
        # interpolation of g/F ~ lambda(p) ~ p^(1/3) (measured 4e-5, 6e-5 between centres, 2.4e-4 at x = 10,
        # half a cell beyond the first centre)
        assert abs(pr.streaming_amplitude / pr.streaming_amplitude_eq38 - 1) < 1e-3


def test_swk_layer_source():
    """Cell means of F within 2% of the cell averages of Eq. (61) (corrected), inside the layer
    (100 pc cells, z_u = 200 pc), just outside and far out (measured <= 1%); the mirror at z = 0
    gives zero gradient there (Eq. 62): the first cell's gradient is that of the corrected solution
    at its centre, dF/dz ~ z, within 3%."""
    r = run("swk_layer")
    g = r.grid
    m = _swk_model(r, "corrected")
    z_u = r.problem.physics.source.width
    sel = (g.p > 10) & (g.p < 1000)
    xg, wg = np.polynomial.legendre.leggauss(6)  # cell average of the reference, exact to 1e-6 here
    for i in (0, 1, 2, 4, 19):
        F = r.fields.F[sel, i]
        zq = g.z[i] + 0.5 * g.dz[i] * xg
        ref = sum(w / 2 * m.layer_f(zz, g.p[sel], z_u=z_u, gamma0=4.7) for zz, w in zip(zq, wg))
        assert np.max(np.abs(F / ref - 1)) < 0.02, g.z[i]
    dF0 = r.fields.dF_dz[sel, 0]
    ref = m.layer_df_dz(g.z[0], g.p[sel], z_u=z_u, gamma0=4.7)
    assert np.max(np.abs(dF0 / ref - 1)) < 0.03


def test_full_alfvenic_against_eq7():
    """All terms at once: the kinetic anisotropy at z = 0.5 matches Eq. (7) with the numerical
    gradients to O(lambda/L, eps^2) (measured 1.1% and 1.4%; bound 3%)."""
    r = run("full_alfvenic")
    for pr in r.probes:
        assert pr.rel_err_da < 0.03


def test_no_scattering_above_p_max_resonant():
    """D_0 = 0 above p_m (Eq. 24): those particles stream freely; the run stays exact and trustworthy."""
    r = run("full_alfvenic", "turbulence.p_max_resonant=300.0", "grid.z_cells=20", "grid.p_cells=24")
    assert r.info.converged and r.trustworthy
    above = r.grid.p > 300.0
    assert np.all(r.problem.coefficients.g_mu[above] == 0.0) and np.all(r.problem.coefficients.x_mu[above] == 0.0)
