"""The SWK analytic solution (Eqs. 52-82) in the form that solves Eq. (53) (ERRATA.md §1)."""
import numpy as np
import pytest
from scipy.integrate import quad
from scipy.special import erf

from fpsolve.physics.swk import SWK, hyperu, hyperu_mpmath

MODEL = SWK(eta=1 / 3, k_diff=0.35, tau0=2.0)  # L_d = sqrt(0.35*2*3) = 1.449
PRINTED = SWK(eta=1 / 3, k_diff=0.35, tau0=2.0, form="printed")
Q = 4.7


def test_hyperu_against_mpmath():
    """U(a, b, z) by exp-sinh quadrature to 1e-12 of 30-digit mpmath over the SWK range
    (c = (q-3)/eta from 0.2 to 30, A = (z_i/z_c)^2 from 1e-5 to 1e5); observed worst 3e-14."""
    z = np.logspace(-5, 5, 21)
    for c in (0.2, 5.1, 11.1, 30.0):
        for a, b in ((c + 0.5, 0.5), (c + 1.0, 0.5), (c + 1.5, 1.5)):
            np.testing.assert_allclose(hyperu(a, b, z), hyperu_mpmath(a, b, z), rtol=1e-12)


def test_errata_example():
    """ERRATA §1: q = 4.7, eta = 1/3, x = 1, L_d = 1, z_i = 0.5: 2.19552 (corrected), 3.24807 (printed)."""
    m = SWK(eta=1 / 3, k_diff=1 / 3, tau0=1.0)
    assert m.l_d == pytest.approx(1.0)
    assert m.dlnf_dz_sun(1.0, z_i=0.5, q=4.7) == pytest.approx(2.19552, abs=5e-6)
    assert SWK(eta=1 / 3, k_diff=1 / 3, tau0=1.0, form="printed").dlnf_dz_sun(1.0, z_i=0.5, q=4.7) == \
        pytest.approx(3.24807, abs=5e-6)
    assert m.index_c(4.7) == pytest.approx(5.1) and SWK(1 / 3, 1 / 3, 1.0, "printed").index_c(4.7) == pytest.approx(11.1)


@pytest.mark.parametrize("model", [MODEL, PRINTED], ids=["corrected", "printed"])
def test_eq68_equals_eq69(model):
    """Eq. (68) (u-integrals, exp-sinh) and Eq. (69) (U from mpmath) agree to 1e-8 for z_i/z_c in [0.01, 100]."""
    z_i = 0.8
    ratio = np.logspace(-2, 2, 9)  # z_i / z_c
    x = (z_i / (ratio * 2 * model.l_d)) ** (2 / model.eta)  # z_c(x) = 2 L_d x^{eta/2}
    quad68 = model.dlnf_dz_sun_quad(x, z_i=z_i, q=Q)
    closed69 = model.dlnf_dz_sun(x, z_i=z_i, q=Q, backend="mpmath")
    np.testing.assert_allclose(quad68, closed69, rtol=1e-8)


def test_point_source_quadrature_equals_closed_form():
    """Eq. (64) by quadrature over x_0 vs the closed form with U (ERRATA §1), 1e-12."""
    z = np.array([-2.0, 0.0, 0.3, 0.79, 5.0])
    x = np.array([0.05, 1.0, 30.0])[:, None]
    for m in (MODEL, PRINTED):
        np.testing.assert_allclose(m.point_f_quad(z, x, z_i=0.8, q=Q), m.point_f(z, x, z_i=0.8, q=Q), rtol=1e-12)


def test_point_source_direct_x0_quadrature():
    """Eq. (64) straight from its x_0-integral (scipy quad) for the corrected normalisation, 1e-9."""
    z, x, z_i = 0.1, 2.0, 0.8
    m = MODEL

    def integrand(x0):
        w = m.w_d(x, x0)
        return x0 ** (2 - Q) * np.exp(-((z - z_i) ** 2) / (4 * w**2)) / w

    direct = m.tau0 / (2 * np.sqrt(np.pi) * x**3) * quad(integrand, x, np.inf, epsrel=1e-12, limit=200)[0]
    assert m.point_f(z, x, z_i=z_i, q=Q) == pytest.approx(direct, rel=1e-9)


def _fd_residual(model, f, z, x, source=0.0):
    """Eq. (53) residual K_0 x^eta F_zz + x^-2 d_x[(x/tau_0) x^2 F] + S by 4th-order differences,
    relative to the largest term.  Steps 1e-3 relative: truncation ~h^4 ~ 1e-12, round-off
    1e-15/h^2 ~ 1e-9 relative to the terms."""
    hz, hx = 1e-3 * max(abs(z), 0.3), 1e-3 * x
    c5 = np.array([-1, 16, -30, 16, -1]) / 12
    fzz = sum(c * f(z + k * hz, x) for c, k in zip(c5, range(-2, 3))) / hz**2
    g = lambda xx: xx**3 / model.tau0 * f(z, xx)  # noqa: E731
    gx = (-g(x + 2 * hx) + 8 * g(x + hx) - 8 * g(x - hx) + g(x - 2 * hx)) / (12 * hx)
    t1, t2 = model.k_diff * x**model.eta * fzz, gx / x**2
    return abs(t1 + t2 + source) / max(abs(t1), abs(t2), abs(source))


@pytest.mark.parametrize("z, x", [(0.0, 1.0), (-1.5, 3.0), (2.5, 0.2), (0.5, 30.0)])
def test_corrected_point_solution_solves_eq53(z, x):
    """Away from the source the corrected F satisfies Eq. (53) with residual < 1e-5 of its terms;
    the printed Eq. (64) misses by ~0.5 of the term size (ERRATA §1)."""
    kw = dict(z_i=0.8, q=Q)
    assert _fd_residual(MODEL, lambda zz, xx: MODEL.point_f(zz, xx, **kw), z, x) < 1e-5
    assert _fd_residual(PRINTED, lambda zz, xx: PRINTED.point_f(zz, xx, **kw), z, x) > 0.1


@pytest.mark.parametrize("z, x", [(0.0, 1.0), (0.1, 0.3), (1.5, 3.0)])
def test_corrected_layer_solution_solves_eq53(z, x):
    """Layer source S = Theta(z_u - |z|) x^-Gamma_0 (Eq. 60): inside and outside the layer, < 1e-5."""
    z_u, g0 = 0.3, 4.5
    f = lambda zz, xx: MODEL.layer_f(zz, xx, z_u=z_u, gamma0=g0)  # noqa: E731
    source = x**-g0 if abs(z) < z_u else 0.0
    assert _fd_residual(MODEL, f, z, x, source) < 1e-5


def test_layer_quadrature_against_direct_x0_integral():
    """Eq. (61) (erf form, second argument (z_u + z), ERRATA §2) against scipy quad over x_0: 1e-10."""
    z_u, g0 = 0.3, 4.5
    m = MODEL
    for z, x in [(0.0, 1.0), (0.2, 3.0), (0.5, 0.1), (2.0, 10.0)]:
        def f(x0):
            w = m.w_d(x, x0)
            return x0 ** (2 - g0) * (erf((z_u - z) / (2 * w)) + erf((z_u + z) / (2 * w)))

        direct = m.tau0 / (2 * x**3) * quad(f, x, np.inf, epsabs=0, epsrel=1e-13, limit=500)[0]
        assert m.layer_f(z, x, z_u=z_u, gamma0=g0) == pytest.approx(direct, rel=1e-10)


def test_layer_gradient_eq62():
    """Eq. (62): dF/dz vanishes at z = 0 and equals the finite difference of Eq. (61) elsewhere.

    At z = 0 the 4th-order difference of F (step 1e-3) must be below 1e-10 of F/z_u (round-off
    of F ~ 1e-15 F over h); at z = 0.1 and 0.6 the closed gradient matches it to 1e-8 (h^4).
    """
    z_u, g0, x = 0.3, 4.5, 2.0
    f = lambda z: MODEL.layer_f(z, x, z_u=z_u, gamma0=g0)  # noqa: E731
    h = 1e-3
    fd = lambda z: (f(z - 2 * h) - 8 * f(z - h) + 8 * f(z + h) - f(z + 2 * h)) / (12 * h)  # noqa: E731
    assert abs(fd(0.0)) < 1e-10 * f(0.0) / z_u
    assert MODEL.layer_df_dz(0.0, x, z_u=z_u, gamma0=g0) == 0.0
    for z in (0.1, 0.6):
        assert MODEL.layer_df_dz(z, x, z_u=z_u, gamma0=g0) == pytest.approx(fd(z), rel=1e-8)


def test_point_gradient_and_particle_conservation():
    """Eq. (65)-(66) against differences of Eq. (64); and B x^2 int F dz = int_x^inf x_0^2 S_2 dx_0
    (the number balance that the corrected form satisfies and the printed one misses by (q-3)/(q-1))."""
    x, z_i = 1.5, 0.8
    f = lambda z: MODEL.point_f(z, x, z_i=z_i, q=Q)  # noqa: E731
    h = 1e-3
    for z in (-1.0, 0.0, 2.0):
        fd = (f(z - 2 * h) - 8 * f(z - h) + 8 * f(z + h) - f(z + 2 * h)) / (12 * h)
        assert MODEL.point_df_dz(z, x, z_i=z_i, q=Q) == pytest.approx(fd, rel=1e-8)
    for m, expected in ((MODEL, 1.0), (PRINTED, (Q - 3) / (Q - 1))):
        total = sum(quad(lambda z: m.point_f(z, x, z_i=z_i, q=Q), a, b, epsrel=1e-12, limit=200)[0]
                    for a, b in ((-np.inf, z_i), (z_i, np.inf)))
        balance = (x / m.tau0) * x**2 * total / (x ** (3 - Q) / (Q - 3))
        assert balance == pytest.approx(expected, rel=1e-8)


def test_alpha_sun_forms_eq49_70_71():
    """Eq. (71) = Eq. (49) with Eq. (69) = Eq. (70) second line (Kummer's transformation), 1e-12."""
    x = np.logspace(-3, 3, 7)
    for m in (MODEL, PRINTED):
        for z_i in (0.8, -2.0):
            a71 = m.alpha_sun(x, z_i=z_i, q=Q)
            a49 = -(2 + m.eta) * m.l0 * x**m.eta / 3 * m.dlnf_dz_sun(x, z_i=z_i, q=Q)
            np.testing.assert_allclose(a71, a49, rtol=1e-12)
            np.testing.assert_allclose(m.alpha_sun_eq70(x, z_i=z_i, q=Q), a71, rtol=1e-12)


def test_alpha_sun_asymptotics_eq78_to_82():
    """R(A) -> Gamma(c+1)/Gamma(c+1/2) for A -> 0 and (c+1/2)/sqrt(A) for A -> inf (Eq. 78, ERRATA).

    At A = 1e-10 and 1e6 the next terms are O(A^{1/2}) and O(1/A) relative: bound 1e-4.  Eq. (79) is the
    paper's interpolation "apart from factors of order unity": R/Eq.(79) stays within [2.31, 5.83]
    for c = 5.1 (ERRATA), i.e. not 1.
    """
    z_i = 0.8
    small, large = MODEL.ratio_r_limits(q=Q)
    x_near = MODEL.x_c(z_i) * 1e30  # A = (x_c/x)^eta = 1e-10
    x_far = MODEL.x_c(z_i) * 1e-18  # A = 1e6
    assert MODEL.ratio_r(x_near, z_i=z_i, q=Q) == pytest.approx(small, rel=1e-4)
    assert MODEL.ratio_r(x_far, z_i=z_i, q=Q) * np.sqrt(1e6) == pytest.approx(large, rel=1e-4)
    x = MODEL.x_c(z_i) * np.logspace(-12, 24, 37)
    factor = MODEL.ratio_r(x, z_i=z_i, q=Q) / MODEL.ratio_r_eq79(x, z_i=z_i)
    assert 2.30 < factor.min() and factor.max() < 5.84
    # Eq. (80) = alpha_0 x Eq. (79); Eq. (82) corrected = alpha_0 z_c/|z_i|, the far limit of Eq. (80)
    np.testing.assert_allclose(MODEL.alpha_sun_eq80(x, z_i=z_i),
                               MODEL.alpha_0(x, z_i=z_i) * MODEL.ratio_r_eq79(x, z_i=z_i), rtol=1e-13)
    far = MODEL.alpha_sun_eq80(x_far, z_i=z_i)
    assert MODEL.alpha_sun_far(x_far, z_i=z_i) == pytest.approx(far, rel=1e-2)  # z_c/|z_i| = 1e-3
    assert abs(MODEL.alpha_sun_far(x_far, z_i=z_i, printed=True) / far - 1) > 0.1


def test_scales_eq72_75():
    assert MODEL.z_c(MODEL.x_c(0.8)) == pytest.approx(0.8, rel=1e-14)  # z_c(x_c) = |z_i| (Eqs. 72, 74, 75)
    assert MODEL.l0 == pytest.approx(3 * 0.35)


@pytest.mark.parametrize("kwargs, name", [(dict(eta=0.0), "eta"), (dict(eta=1.5), "eta"), (dict(k_diff=-1.0), "k_diff"),
                                          (dict(tau0=0.0), "tau0"), (dict(form="new"), "form")])
def test_bad_parameters(kwargs, name):
    base = dict(eta=1 / 3, k_diff=1.0, tau0=1.0)
    base.update(kwargs)
    with pytest.raises(ValueError, match=rf"^{name}"):
        SWK(**base)
    with pytest.raises(ValueError, match=r"q \(source spectral index\) = 2.5 is outside the allowed range \(3, inf\)"):
        MODEL.point_f(0.0, 1.0, z_i=0.5, q=2.5)
