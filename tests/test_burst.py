"""Exact burst references (fpsolve.physics.burst) against independent computations.

Moments: the closed forms against (a) the moment ODEs integrated by solve_ivp, (b) a
Legendre-spectral solution of the PDE whose matrices are built by Gauss-Legendre quadrature
(not from the recurrence or the eigenvalues the derivation uses), with an initial pitch-angle
distribution that has every Legendre mode, and (c) a seeded Monte Carlo of the particle paths.
Free streaming and diffusion: against brute-force quadrature and finite-difference residuals;
the pion-loss burst integrated over time against the steady SWK solution (corrected Eq. 55,
ERRATA.md §1).
"""
import numpy as np
import pytest
from numpy.polynomial import legendre as leg
from scipy.integrate import quad, solve_ivp, trapezoid
from scipy.linalg import expm

from fpsolve.physics import burst
from fpsolve.physics.swk import SWK

#: solve_ivp runs at rtol 1e-12 (DOP853); its global error over ~20 decay times stays below
#: ~1e-11 relative, so 1e-10 separates a wrong closed form (errors O(1)) from integration error.
IVP_TOL = 1e-10
#: expm of a 3x3-block matrix of size ~60 is accurate to ~1e-14 relative for these norms.
SPECTRAL_TOL = 1e-11
#: quad reaches ~1e-14; 1e-11 leaves room for the erf differences' cancellation in the tails.
QUAD_TOL = 1e-11

CASES = [  # v, D, z0, sigma, mu0, p2_0, zmu0
    (1.0, 1.0, 0.0, 0.0, 0.0, 0.0, None),
    (0.9, 0.37, 0.4, 0.25, 0.3, 0.2, None),
    (1.3, 2.5, -1.0, 0.1, -0.6, 0.5, 0.05),
    (0.7, 0.8, 0.0, 0.5, 0.0, -0.4, 0.0),
]
TIMES = np.array([0.0, 1e-3, 0.05, 0.3, 1.0, 3.0, 10.0])


def moment_rhs(v, d):
    """The hierarchy of the module docstring: y = (N, <z>, <z^2>, <z mu>, <mu>, <P_2>)."""
    def rhs(_t, y):
        n, z, z2, zmu, mu, p2 = y
        return [0.0, v * mu, 2 * v * zmu, v * (1 + 2 * p2) / 3 - 2 * d * zmu, -2 * d * mu, -6 * d * p2]
    return rhs


@pytest.mark.parametrize("v, d, z0, sigma, mu0, p2_0, zmu0", CASES)
def test_moments_against_solve_ivp(v, d, z0, sigma, mu0, p2_0, zmu0):
    """Closed-form moments = the moment ODEs integrated numerically (DOP853, rtol 1e-12)."""
    zmu_init = z0 * mu0 if zmu0 is None else zmu0
    y0 = [1.0, z0, z0**2 + sigma**2, zmu_init, mu0, p2_0]
    sol = solve_ivp(moment_rhs(v, d), (0.0, TIMES[-1]), y0, method="DOP853", t_eval=TIMES,
                    rtol=1e-12, atol=1e-15)
    m = burst.burst_moments(TIMES, v=v, d=d, z0=z0, sigma=sigma, mu0=mu0, p2_0=p2_0, zmu0=zmu0)
    for got, ref in ((m.z, sol.y[1]), (m.z2, sol.y[2]), (m.zmu, sol.y[3]), (m.mu, sol.y[4]), (m.p2, sol.y[5])):
        scale = np.maximum(np.abs(ref), 1e-3 * np.max(np.abs(sol.y[2])) + 1e-300)
        assert np.max(np.abs(got - ref) / scale) < IVP_TOL
    np.testing.assert_allclose(m.mu2, (1 + 2 * sol.y[5]) / 3, rtol=IVP_TOL, atol=1e-14)


def legendre_matrices(l_max, nodes=80):
    """Matrices of mu* and of d/dmu (1-mu^2) d/dmu acting on moments m_l = int P_l f dmu/2 (quadrature)."""
    x, w = leg.leggauss(nodes)
    eye = np.eye(l_max + 1)
    p = np.array([leg.legval(x, eye[l]) for l in range(l_max + 1)])             # P_l(x_k)
    dp = np.array([leg.legval(x, leg.legder(eye[l])) for l in range(l_max + 1)])  # P_l'(x_k)
    norm = (2 * np.arange(l_max + 1) + 1) / 2.0  # f = sum (2m+1) m_m P_m, int dmu/2
    a = (p * w * x) @ p.T * norm[None, :]
    lam = -((dp * w * (1 - x**2)) @ dp.T) * norm[None, :]
    return a, lam, p, x, w


def test_legendre_matrices_are_right():
    """Patch test of the quadrature-built matrices: Lambda diagonal -l(l+1), mu* tridiagonal (round-off)."""
    a, lam, *_ = legendre_matrices(12)
    l = np.arange(13)
    round_off = 64 * np.finfo(float).eps * 12 * 13  # 64 ulps of the largest entry l(l+1) = 156
    np.testing.assert_allclose(lam, np.diag(-l * (l + 1.0)), atol=round_off)
    # mu* couples l to l +- 1 only; off-band entries are sums of 80 products of size <= 1
    np.testing.assert_allclose(np.triu(a, 2) + np.tril(a, -2), 0.0, atol=64 * np.finfo(float).eps * 13)


@pytest.mark.parametrize("beta, d, v, z0, sigma", [(0.0, 1.0, 1.0, 0.0, 0.0), (1.7, 0.6, 0.8, 0.3, 0.2),
                                                  (-3.0, 2.0, 1.0, -0.5, 1.0)])
def test_moments_against_legendre_spectral_pde(beta, d, v, z0, sigma):
    """PDE f_t + v mu f_z = D L f in Legendre moments, z-moments a = 0, 1, 2 exactly (u_a = m^(a)/a!):
    u_a' = v A u_{a-1} + D Lambda u_a, solved by expm of the block matrix.  Initial pitch-angle
    distribution ~ exp(beta mu): every l is present, so this checks that the hierarchy closes."""
    l_max = 30
    a, lam, p, x, w = legendre_matrices(l_max)
    h = np.exp(beta * x)
    h /= (w @ h) / 2
    m0 = (p * w) @ h / 2  # <P_l>_0
    n = l_max + 1
    blk = np.zeros((3 * n, 3 * n))
    for i in range(3):
        blk[i * n:(i + 1) * n, i * n:(i + 1) * n] = d * lam
    blk[:n, n:2 * n] = v * a
    blk[n:2 * n, 2 * n:] = v * a
    u0 = np.concatenate([(z0**2 + sigma**2) * m0 / 2, z0 * m0, m0])  # factorised f_0 = G(z) h(mu)
    for t in (0.01, 0.2, 1.0, 4.0):
        u = expm(blk * t) @ u0
        z2_spec, zmu_spec, z_spec = 2 * u[0], u[n + 1], u[n]
        m = burst.burst_moments(t, v=v, d=d, z0=z0, sigma=sigma, mu0=m0[1], p2_0=m0[2])
        assert m.z2 == pytest.approx(z2_spec, rel=SPECTRAL_TOL)
        assert m.zmu == pytest.approx(zmu_spec, rel=SPECTRAL_TOL, abs=1e-14)
        assert m.z == pytest.approx(z_spec, rel=SPECTRAL_TOL, abs=1e-14)
        mu2_spec = (1 + 2 * u[2 * n + 2]) / 3
        assert m.mu2 == pytest.approx(mu2_spec, rel=SPECTRAL_TOL)


#: Monte Carlo: 8000 particles; the geodesic (exponential-map) step on the unit sphere has a relative
#: drift error ~D dt/3 = 0.17% per unit time at dt = 5e-3, far below the ~1.5% standard errors, so the
#: bound is 4 standard errors of the sample mean (a false alarm would be a 4-sigma event; the seed is fixed).
MC_SIGMAS = 4.0


def test_moments_against_monte_carlo():
    """Fully independent of the derivation: particles doing Brownian motion on the sphere of directions
    (the generator of D d_mu (1-mu^2) d_mu is D times the Laplacian on S^2) and z' = v mu (trapezoid)."""
    rng = np.random.default_rng(20261202)
    n, d, v, sigma, dt = 8000, 1.0, 1.0, 0.3, 5e-3
    u = rng.normal(size=(n, 3))
    u /= np.linalg.norm(u, axis=1)[:, None]  # isotropic initial directions
    z = rng.normal(scale=sigma, size=n)
    checkpoints = {100: 0.5, 400: 2.0}
    for k in range(1, max(checkpoints) + 1):
        mu_old = u[:, 2].copy()
        xi = rng.normal(size=(n, 3))
        xi -= (xi * u).sum(axis=1)[:, None] * u  # tangent Gaussian
        w = np.sqrt(2 * d * dt) * xi
        ang = np.linalg.norm(w, axis=1)[:, None]
        u = u * np.cos(ang) + w * np.sinc(ang / np.pi)  # geodesic step of length |w|
        u /= np.linalg.norm(u, axis=1)[:, None]
        z += v * dt * 0.5 * (mu_old + u[:, 2])
        if k in checkpoints:
            t = checkpoints[k]
            m = burst.burst_moments(t, v=v, d=d, sigma=sigma)
            mu = u[:, 2]
            for sample, ref in ((z**2, m.z2), (z * mu, m.zmu), (mu**2, m.mu2)):
                se = np.std(sample) / np.sqrt(n)
                assert abs(np.mean(sample) - ref) < MC_SIGMAS * se


def observed_order(x, err):
    return np.diff(np.log(err)) / np.diff(np.log(x))


def test_ballistic_and_diffusive_limits():
    """<z^2> - sigma^2: v^2 t^2/3 (1 - 2Dt/3 + ...) for Dt << 1, 2 kappa t - v^2/(6D^2) for Dt >> 1.
    Observed orders of the relative deviations: 1 in t and -1 in t (band 0.01: the next terms are
    O(Dt) resp. exponentially small), and the leading coefficients 2D/3 and 1/(2D) to 1e-3."""
    v, d, sigma = 1.0, 0.5, 0.3
    kappa = v**2 / (6 * d)
    t = np.array([1e-2, 1e-3, 1e-4]) / d
    rel = np.abs(burst.z2_moment(t, v=v, d=d, sigma=sigma) - sigma**2 - v**2 * t**2 / 3) / (v**2 * t**2 / 3)
    assert np.all(np.abs(observed_order(t, rel) - 1.0) < 0.01)
    assert rel[-1] / t[-1] == pytest.approx(2 * d / 3, rel=1e-3)
    t = np.array([1e2, 1e3, 1e4]) / d
    rel = np.abs(burst.z2_moment(t, v=v, d=d, sigma=sigma) - sigma**2 - 2 * kappa * t) / (2 * kappa * t)
    assert np.all(np.abs(observed_order(t, rel) + 1.0) < 0.01)
    assert rel[-1] * t[-1] == pytest.approx(1 / (2 * d), rel=1e-3)
    # D = 0 is ballistic at every time, exactly
    tt = np.array([0.5, 7.0])
    np.testing.assert_allclose(burst.z2_moment(tt, v=v, d=0.0, sigma=sigma), sigma**2 + tt**2 / 3, rtol=1e-15)


@pytest.mark.parametrize("t, sigma", [(0.7, 0.2), (3.0, 0.05), (0.1, 1.0)])
def test_free_streaming_density_against_quadrature(t, sigma):
    """F(z, t) = (1/2) int f_0(z - v mu t) dmu by quad, at points inside, at and beyond the front; QUAD_TOL."""
    v, z0, n = 0.9, 0.3, 2.5
    for z in (z0, z0 + 0.5 * v * t, z0 - v * t, z0 + v * t + 2 * sigma, z0 - 3.0):
        ref = 0.5 * quad(lambda mu: burst.free_streaming_f(z, mu, t, v=v, n=n, z0=z0, sigma=sigma),
                         -1, 1, epsabs=0, epsrel=1e-13)[0]
        got = burst.free_streaming_density(z, t, v=v, n=n, z0=z0, sigma=sigma)
        assert got == pytest.approx(ref, rel=QUAD_TOL, abs=1e-14 * n)


def test_free_streaming_normalisation_cells_and_moments():
    """int F dz = N (quad); cell averages = quad over each cell; <z^2> by quad = the D = 0 moments."""
    v, z0, n, sigma, t = 1.0, -0.2, 3.0, 0.15, 1.3
    dens = lambda z: burst.free_streaming_density(z, t, v=v, n=n, z0=z0, sigma=sigma)  # noqa: E731
    pts = [z0 - v * t, z0 + v * t]
    total = quad(dens, -10, 10, points=pts, epsabs=0, epsrel=1e-13, limit=200)[0]
    assert total == pytest.approx(n, rel=QUAD_TOL)
    z2 = quad(lambda z: z**2 * dens(z), -10, 10, points=pts, epsabs=0, epsrel=1e-13, limit=200)[0] / n
    assert z2 == pytest.approx(burst.z2_moment(t, v=v, d=0.0, z0=z0, sigma=sigma), rel=QUAD_TOL)
    edges = np.linspace(-2.0, 1.7, 38)
    avg = burst.free_streaming_cell_average(edges, t, v=v, n=n, z0=z0, sigma=sigma)
    ref = [quad(dens, a, b, epsabs=0, epsrel=1e-13)[0] / (b - a) for a, b in zip(edges[:-1], edges[1:])]
    np.testing.assert_allclose(avg, ref, rtol=1e-9, atol=1e-13 * n)  # 1e-9: cancellation of Phi at |x| ~ 3
    # sigma = 0: the box N/(2vt); cells straddling the fronts get the overlap fraction
    box = burst.free_streaming_cell_average(np.array([-2.0, -1.0, 0.0, 0.5, 2.0]), 1.0, v=v, n=n, sigma=0.0)
    np.testing.assert_allclose(box, n / 2 * np.array([0.0, 1.0, 1.0, 1 / 3]), rtol=1e-15)


def fd_residual_diffusion(z, t, h, kappa, sigma, tau_c):
    f = lambda zz, tt: burst.diffusion_density(zz, tt, kappa=kappa, n=2.0, z0=0.1, sigma=sigma, tau_c=tau_c)  # noqa
    ft = (f(z, t + h) - f(z, t - h)) / (2 * h)
    fzz = (f(z + h, t) - 2 * f(z, t) + f(z - h, t)) / h**2
    return np.abs(ft - kappa * fzz + f(z, t) / tau_c), np.abs(ft) + np.abs(kappa * fzz) + np.abs(f(z, t) / tau_c)


def test_diffusion_green_function():
    """F_t = kappa F_zz - F/T by centred differences: residual/terms < 1e-4 at h = 5e-3 (measured 3e-5, the h^2
    truncation) with observed order 2 (band 0.1; measured 2.0000-2.0001); int F dz = N e^{-t/T} and cell
    averages against quad (QUAD_TOL); the point-burst form N/sqrt(4 pi kappa t) exp(-(z-z0)^2/4 kappa t)."""
    kappa, sigma, tau_c = 0.3, 0.2, 1.7
    z = np.array([-1.0, 0.1, 0.35, 2.0])
    r1, s1 = fd_residual_diffusion(z, 0.8, 1e-2, kappa, sigma, tau_c)
    r2, s2 = fd_residual_diffusion(z, 0.8, 5e-3, kappa, sigma, tau_c)
    assert np.max(r2 / s2) < 1e-4
    assert np.all(np.abs(np.log2(r1 / r2) - 2.0) < 0.1)
    for t in (0.0, 0.5, 4.0):
        total = quad(lambda zz: burst.diffusion_density(zz, t, kappa=kappa, n=2.0, z0=0.1, sigma=sigma, tau_c=tau_c),
                     -np.inf, np.inf, epsabs=0, epsrel=1e-13)[0]
        assert total == pytest.approx(2.0 * np.exp(-t / tau_c), rel=QUAD_TOL)
    edges = np.linspace(-2, 2, 9)
    avg = burst.diffusion_cell_average(edges, 0.5, kappa=kappa, n=2.0, z0=0.1, sigma=sigma, tau_c=tau_c)
    ref = [quad(lambda zz: burst.diffusion_density(zz, 0.5, kappa=kappa, n=2.0, z0=0.1, sigma=sigma, tau_c=tau_c),
                a, b, epsabs=0, epsrel=1e-13)[0] / (b - a) for a, b in zip(edges[:-1], edges[1:])]
    np.testing.assert_allclose(avg, ref, rtol=QUAD_TOL)
    # point burst form N/sqrt(4 pi kappa t) exp(-(z-z0)^2/(4 kappa t))
    t = 0.6
    np.testing.assert_allclose(burst.diffusion_density(z, t, kappa=kappa, z0=0.1),
                               np.exp(-(z - 0.1) ** 2 / (4 * kappa * t)) / np.sqrt(4 * np.pi * kappa * t), rtol=1e-14)


PION = dict(k_diff=0.35, eta=1 / 3, tau0=2.0, q=4.7, amplitude=1.5, z0=0.2)


def pion_residual(z, p, t, h, sigma, tau_c):
    """F_t - K_0 p^eta F_zz - p^{-2} d_p(p^3 F)/tau_0 + F/T by centred differences (relative step h in p)."""
    f = lambda zz, pp, tt: burst.pion_burst_density(zz, pp, tt, sigma=sigma, tau_c=tau_c, **PION)  # noqa: E731
    k, tau0 = PION["k_diff"] * p ** PION["eta"], PION["tau0"]
    ft = (f(z, p, t + h) - f(z, p, t - h)) / (2 * h)
    fzz = (f(z + h, p, t) - 2 * f(z, p, t) + f(z - h, p, t)) / h**2
    hp = h * p
    flux = lambda pp: pp**3 * f(z, pp, t) / tau0  # noqa: E731
    loss = (flux(p + hp) - flux(p - hp)) / (2 * hp) / p**2
    terms = np.abs(ft) + np.abs(k * fzz) + np.abs(loss) + np.abs(f(z, p, t) / tau_c)
    return np.abs(ft - k * fzz - loss + f(z, p, t) / tau_c), terms


@pytest.mark.parametrize("sigma, tau_c", [(0.0, np.inf), (0.3, 5.0)])
def test_pion_burst_solves_the_loss_diffusion_equation(sigma, tau_c):
    """Residual of the time-dependent Eqs. (52)-(54): < 1e-4 of the terms at h = 5e-3 (measured 4.4e-5: the
    h^2 truncation of centred differences with z-scale ~ W), observed order 2 (band 0.1; measured 2.000 for
    h = 2e-2 ... 1.25e-3).  A wrong factor e^{(3-q)t/tau_0} or W^2 leaves an O(1) residual that does not shrink."""
    z = np.array([-0.5, 0.25, 1.4])
    p, t = 1.7, 0.9
    r1, s1 = pion_residual(z, p, t, 1e-2, sigma, tau_c)
    r2, s2 = pion_residual(z, p, t, 5e-3, sigma, tau_c)
    assert np.max(r2 / s2) < 1e-4
    assert np.all(np.abs(np.log2(r1 / r2) - 2.0) < 0.1)


def test_pion_burst_conserves_particles_along_characteristics():
    """int int p^2 F dz dp over [p1, p2] e^{-t/tau_0} at t equals the injected number in [p1, p2] times e^{-t/T}.

    z: trapezoid rule over +-12 standard deviations with 241 points (spectrally accurate for a Gaussian);
    p: 40-point Gauss-Legendre (the integrand is smooth): both errors < 1e-13, bound 1e-11."""
    p1, p2, tau_c, sigma = 1.0, 3.0, 4.0, 0.1
    injected = PION["amplitude"] * (p2 ** (3 - PION["q"]) - p1 ** (3 - PION["q"])) / (3 - PION["q"])
    xg, wg = np.polynomial.legendre.leggauss(40)
    for t in (0.3, 2.5):
        sh = np.exp(-t / PION["tau0"])
        a, b = p1 * sh, p2 * sh
        p = 0.5 * (b - a) * xg + 0.5 * (a + b)
        width = np.sqrt(sigma**2 + 2 * burst.pion_width2(p, t, k_diff=PION["k_diff"], eta=PION["eta"],
                                                          tau0=PION["tau0"]))
        z = PION["z0"] + width[:, None] * np.linspace(-12, 12, 241)[None, :]
        dens = burst.pion_burst_density(z, p[:, None], t, sigma=sigma, tau_c=tau_c, **PION)
        per_p = trapezoid(dens, z, axis=1)
        got = 0.5 * (b - a) * np.sum(wg * p**2 * per_p)
        assert got == pytest.approx(injected * np.exp(-t / tau_c), rel=1e-11)


def test_time_integral_of_pion_burst_is_the_corrected_swk_solution():
    """Continuous point injection = int_0^inf burst dt: equals SWK Eq. (64) in the corrected form
    (ERRATA §1) to 1e-9 (quad over log t vs the closed form with U, both ~1e-12; measured 4e-16); the printed
    form is off by factors 0.15-0.55 here."""
    m = SWK(eta=PION["eta"], k_diff=PION["k_diff"], tau0=PION["tau0"])
    printed = SWK(eta=PION["eta"], k_diff=PION["k_diff"], tau0=PION["tau0"], form="printed")
    for z, x in ((0.5, 1.0), (-1.3, 0.3), (3.0, 5.0)):
        integrand = lambda lt: np.exp(lt) * burst.pion_burst_density(z, x, np.exp(lt), **PION)  # noqa: E731
        ref = quad(integrand, -40, 8, epsabs=0, epsrel=1e-13, limit=400)[0]
        got = m.point_f(z, x, z_i=PION["z0"], q=PION["q"], s_p=PION["amplitude"])
        assert got == pytest.approx(ref, rel=1e-9)
        assert abs(printed.point_f(z, x, z_i=PION["z0"], q=PION["q"], s_p=PION["amplitude"]) / ref - 1) > 0.1


def test_delta_da_and_superluminal_time():
    """delta = 3 kappa |d_z ln F|/v against a centred difference of ln F (1e-8: h^2 = 1e-10 truncation);
    point burst 3|z-z0|/(2vt); delta(t_1) = 1 and delta > 1 before, < 1 after."""
    kappa, v, sigma, z0 = 0.2, 0.95, 0.1, 0.3
    z, t, h = np.array([-1.0, 0.0, 0.9]), 0.7, 1e-5
    lnf = lambda zz: np.log(burst.diffusion_density(zz, t, kappa=kappa, z0=z0, sigma=sigma, tau_c=3.0))  # noqa
    fd = 3 * kappa * np.abs(lnf(z + h) - lnf(z - h)) / (2 * h) / v
    np.testing.assert_allclose(burst.delta_da(z, t, kappa=kappa, v=v, z0=z0, sigma=sigma), fd, rtol=1e-8)
    np.testing.assert_allclose(burst.delta_da(z, t, kappa=kappa, v=v, z0=z0), 3 * np.abs(z - z0) / (2 * v * t),
                               rtol=1e-15)
    t1 = burst.superluminal_time(z, kappa=kappa, v=v, z0=z0, sigma=sigma)
    assert np.all(t1 > 0)
    for zi, ti in zip(z, t1):
        assert burst.delta_da(zi, ti, kappa=kappa, v=v, z0=z0, sigma=sigma) == pytest.approx(1.0, rel=1e-14)
        assert burst.delta_da(zi, 0.9 * ti, kappa=kappa, v=v, z0=z0, sigma=sigma) > 1.0
        assert burst.delta_da(zi, 1.1 * ti, kappa=kappa, v=v, z0=z0, sigma=sigma) < 1.0
    # a burst wide enough never reaches delta = 1 there: sigma^2 > 3 kappa |z - z0|/v
    assert burst.superluminal_time(z0 + 0.01, kappa=kappa, v=v, z0=z0, sigma=sigma) == 0.0
    # pion-loss burst: same form with kappa = K_0 p^eta and S^2 = sigma^2 + 2 W^2
    p = 2.0
    k = PION["k_diff"] * p ** PION["eta"]
    lnp = lambda zz: np.log(burst.pion_burst_density(zz, p, t, sigma=sigma, **PION))  # noqa: E731
    fd = 3 * k * np.abs(lnp(z + h) - lnp(z - h)) / (2 * h) / v
    got = burst.delta_da_pion(z, p, t, k_diff=PION["k_diff"], eta=PION["eta"], tau0=PION["tau0"], v=v,
                              z0=PION["z0"], sigma=sigma)
    np.testing.assert_allclose(got, fd, rtol=1e-8)


def test_bad_input_is_one_line():
    with pytest.raises(ValueError, match=r"^d \(D of D_mumu"):
        burst.burst_moments(1.0, v=1.0, d=-1.0)
    with pytest.raises(ValueError, match=r"^p2_0"):
        burst.burst_moments(1.0, v=1.0, d=1.0, p2_0=2.0)
    with pytest.raises(ValueError, match=r"^t \(time\)"):
        burst.free_streaming_density(0.0, 0.0, v=1.0, sigma=0.0)
    with pytest.raises(ValueError, match="z_edges"):
        burst.free_streaming_cell_average([0.0, -1.0], 1.0, v=1.0)
