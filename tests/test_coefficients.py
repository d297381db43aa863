"""Fokker–Planck coefficients of slab Alfvén waves (Eqs. 16-28)."""
import numpy as np
import pytest

from fpsolve.physics import (
    SlabAlfven,
    d0_normalisation,
    isospectral_coefficients,
    linear_coefficients,
    particle_speed,
    small_eps_coefficients,
)

MU = np.linspace(-0.999, 0.999, 201)
PAR = dict(d0=1.7, eps=0.03, p=2.0, s=5 / 3)


@pytest.mark.parametrize("hc", [-0.8, 0.0, 0.3, 1.0])
def test_isospectral_with_zero_sigma_is_eq27(hc):
    """Eqs. (23)+(26) with sigma = 0 reduce to Eq. (27) (ERRATA §3: to 1e-16); 4 ulps allowed."""
    a = isospectral_coefficients(MU, hc=hc, **PAR)
    b = linear_coefficients(MU, hc=hc, **PAR)
    for x, y in zip(a, b):
        np.testing.assert_allclose(x, y, rtol=1e-15, atol=1e-15 * np.abs(y).max())


def test_polarisation_selects_the_resonant_side():
    """sigma_f = 1 removes forward waves resonating at mu > eps (factor 1 - sigma_f, Eq. 23)."""
    mu = np.array([0.5])
    with_f = isospectral_coefficients(mu, hc=1.0, sigma_f=1.0, **PAR)
    assert with_f.d_mumu[0] == 0.0
    below = isospectral_coefficients(np.array([-0.5]), hc=1.0, sigma_f=1.0, **PAR)
    ref = linear_coefficients(np.array([-0.5]), hc=1.0, **PAR)
    assert below.d_mumu[0] == pytest.approx(2 * ref.d_mumu[0], rel=1e-15)


@pytest.mark.parametrize("hc", [-0.5, 0.3])
def test_small_eps_form_approximates_eq27(hc):
    """Away from the gap (|mu| >= 0.2), Eq. (28) differs from Eq. (27) at O(eps/mu).

    Expanding |mu -+ eps|^{s-1} in eps/mu leaves a term -+(s-1) H_c eps/mu that Eq. (28) drops
    (ERRATA §1, Eqs. 37/39 with Eq. 27), so the observed order in eps must be 1 (band +-0.05:
    the O(eps^2) remainder changes the ratio by ~eps between eps = 1e-2 and 1e-3).
    """
    mu = MU[np.abs(MU) >= 0.2]
    errs = []
    for eps in (1e-2, 1e-3):
        par = dict(PAR, eps=eps)
        a = small_eps_coefficients(mu, hc=hc, **par)
        b = linear_coefficients(mu, hc=hc, **par)
        errs.append(np.max(np.abs(a.d_mumu / b.d_mumu - 1)))
    assert np.log10(errs[0] / errs[1]) == pytest.approx(1.0, abs=0.05)


def test_coefficients_vanish_at_mu_pm1_and_are_positive_inside():
    c = linear_coefficients(np.array([-1.0, 1.0]), hc=0.3, **PAR)
    assert np.all(c.d_mumu == 0) and np.all(c.d_mup == 0) and np.all(c.d_pp == 0)
    inside = linear_coefficients(MU, hc=0.3, **PAR)
    assert np.all(inside.d_mumu > 0) and np.all(inside.d_pp > 0)
    # D_pp D_mumu - D_mup^2 >= 0: the diffusion tensor is positive semi-definite (ERRATA §3 identity)
    assert np.all(inside.d_pp * inside.d_mumu - inside.d_mup**2 >= -1e-14 * inside.d_pp * inside.d_mumu)


def test_d0_hard_sphere_is_the_limit_of_eq24():
    """N(s) = (s-1)/(1-(k_min/k_max)^(s-1)) -> 1/ln(k_max/k_min) as s -> 1 (Eqs. 24 -> 25)."""
    ln = 26.1
    d1 = d0_normalisation(1.0, k_min=2.0, db2=0.5, ln_kmax_kmin=ln)
    assert d1 == pytest.approx(np.pi * 2.0 * 0.5 / (8 * ln), rel=1e-15)
    # first-order Taylor in (s-1): N = 1/ln + (s-1)/2 + O((s-1)^2 ln)  -> relative step 1e-7 x 13
    near = d0_normalisation(1.0 + 1e-7, k_min=2.0, db2=0.5, ln_kmax_kmin=ln)
    assert near / d1 - 1 == pytest.approx(1e-7 * ln / 2, rel=1e-5)
    # without k_max: Eq. (24) as printed, (s - 1)
    assert d0_normalisation(1.5, k_min=2.0, db2=0.5) == pytest.approx(np.pi * 2.0 * 0.5 * 0.5 / 8, rel=1e-15)


def test_d0_momentum_dependence_and_cutoff():
    """D_0 ∝ v (p/p_m)^(s-2) for p <= p_m and 0 above (Eq. 24)."""
    m = SlabAlfven(s=1.5, d0_ref=3.0, p_ref=10.0, p_m=100.0)
    p = np.array([1.0, 10.0, 100.0, 101.0])
    d = m.d0(p)
    v = particle_speed(p)
    np.testing.assert_allclose(d[:3], 3.0 * v[:3] / v[1] * (p[:3] / 10.0) ** -0.5, rtol=1e-15)
    assert d[3] == 0.0


def test_eps_uses_the_particle_speed():
    m = SlabAlfven(s=5 / 3, d0_ref=1.0, va=0.01)
    p = np.array([0.1, 1.0, 100.0])
    np.testing.assert_allclose(m.eps(p), 0.01 * np.sqrt(1 + p**2) / p, rtol=1e-15)
    assert m.eps(1.0) == pytest.approx(0.01 * np.sqrt(2))


def test_from_mean_free_path_public_slab_case():
    """lambda = 0.01, s = 5/3, v = c: D_mumu = nu (1-mu^2)|mu|^{2/3} with nu = 27/(14*0.01)."""
    m = SlabAlfven.from_mean_free_path(0.01, s=5 / 3, form="small_eps", ultrarelativistic=True)
    c = m.coefficients(np.array([0.5]), 1.0)
    nu = 27 / (14 * 0.01)
    assert c.d_mumu[0] == pytest.approx(nu * 0.75 * 0.5 ** (2 / 3), rel=1e-14)


@pytest.mark.parametrize(
    "kwargs, name, allowed",
    [
        (dict(s=2.0), "s", "[1, 2)"),
        (dict(s=0.9), "s", "[1, 2)"),
        (dict(hc=1.2), "hc", "[-1, 1]"),
        (dict(sigma_f=-1.5), "sigma_f", "[-1, 1]"),
        (dict(sigma_b=2.0), "sigma_b", "[-1, 1]"),
        (dict(va=1.0), "va", "[0, 1)"),
        (dict(va=-0.1), "va", "[0, 1)"),
        (dict(d0_ref=0.0), "d0_ref", "(0, inf)"),
        (dict(d0_ref=float("nan")), "d0_ref", "finite"),
        (dict(p_ref=-1.0), "p_ref", "(0, inf)"),
        (dict(form="cubic"), "form", "isospectral"),
        (dict(sigma_f=0.5, form="linear"), "form", "sigma_f = sigma_b = 0"),
    ],
)
def test_bad_parameters_name_the_parameter_and_range(kwargs, name, allowed):
    base = dict(s=5 / 3, d0_ref=1.0)
    base.update(kwargs)
    with pytest.raises(ValueError) as err:
        SlabAlfven(**base)
    msg = str(err.value)
    assert msg.startswith(name) and allowed in msg


def test_eps_reaching_one_is_refused():
    m = SlabAlfven(s=5 / 3, d0_ref=1.0, va=0.5)
    with pytest.raises(ValueError, match=r"eps = V_A/v\(p\) = .* outside the allowed range \[0, 1\)"):
        m.eps(0.5)  # v = 0.447 < V_A


def test_nonpositive_momentum_is_refused():
    m = SlabAlfven(s=5 / 3, d0_ref=1.0)
    with pytest.raises(ValueError, match=r"p \(momentum\) = .*\(0, inf\)"):
        m.coefficients(np.array([0.1]), 0.0)


def test_hard_sphere_without_log_is_refused():
    with pytest.raises(ValueError, match="ln_kmax_kmin"):
        d0_normalisation(1.0, k_min=1.0, db2=1.0)
    with pytest.raises(ValueError, match=r"db2 .*\(0, inf\)"):
        d0_normalisation(1.5, k_min=1.0, db2=0.0)


def test_face_coefficients_in_blocks_equal_one_block(monkeypatch):
    """The coefficient quadrature evaluated in blocks of momenta (bounded memory) gives the
    numbers of a single block bit for bit (the integrals are independent per momentum)."""
    from fpsolve import face_coefficients as fcm
    from fpsolve.grid import Grid, graded_mu_edges

    model = SlabAlfven.from_mean_free_path(0.05, s=5 / 3, hc=0.4, va=0.02, ultrarelativistic=True)
    grid = Grid(None, graded_mu_edges(16, 1 / 3), np.geomspace(1.0, 100.0, 12))
    monkeypatch.setattr(fcm, "BLOCK_VALUES", 1 << 40)
    one = fcm.face_coefficients(model, grid)
    monkeypatch.setattr(fcm, "BLOCK_VALUES", 1)  # one momentum per block
    many = fcm.face_coefficients(model, grid)
    for name in ("g_mu", "x_mu", "rpp_pf"):
        np.testing.assert_array_equal(getattr(many, name), getattr(one, name))


def test_eq7_shapes_in_blocks_equal_one_block(monkeypatch):
    """The Eq. (7) integrals at every (p, mu) cell (g_da of the result) in blocks of momenta equal
    one call bit for bit."""
    from fpsolve.physics import anisotropy as an
    from fpsolve.physics import anisotropy_shapes

    model = SlabAlfven.from_mean_free_path(0.05, s=5 / 3, hc=0.4, va=0.02, ultrarelativistic=True)
    mu, p = np.linspace(-0.95, 0.95, 11), np.geomspace(1.0, 100.0, 7)
    monkeypatch.setattr(an, "BLOCK_VALUES", 1 << 40)
    one = anisotropy_shapes(model, mu, p)
    monkeypatch.setattr(an, "BLOCK_VALUES", 1)
    many = anisotropy_shapes(model, mu, p)
    np.testing.assert_array_equal(many.a_s, one.a_s)
    np.testing.assert_array_equal(many.a_c, one.a_c)
