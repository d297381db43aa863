r"""Exact references for a cosmic-ray burst: time-dependent solutions to validate against.

Pure numpy/scipy; imports nothing of the solver.  Three families, each exact for its model:

1. **Moments for isotropic scattering** (``s = 1``, ``eps = 0``), any ``D``.
2. **Free streaming** (``D = 0``): the density of a Gaussian burst and its exact cell averages.
3. **Diffusion** of the isotropic part (the diffusion approximation, Eq. 8 without waves'
   convection): Gaussian Green's function, with catastrophic losses, with pion-type losses
   ``dp/dt = -p/tau_0`` (Eq. 54) for a power-law burst, and the anisotropy the diffusion
   approximation assigns to it (Eqs. 11, 13) with the time at which it exceeds 1.

Conventions.  ``f(z, mu, t)`` is counted per ``dz dmu/2`` (as the sources of the case files),
so that the isotropic part ``F = (1/2) int f dmu`` (Eq. 5) is the number per unit length and
``N = int F dz``.  ``<X> = N^{-1} int dz int dmu/2 X f``.  Speeds, times, lengths in any
consistent units.

1. Moment hierarchy for ``D_mumu = D (1 - mu^2)``
--------------------------------------------------
Equation (the time-dependent form of Eq. 3 with ``D_mup = D_pp = 0``, no losses, no source):

.. math::
    \partial_t f + v\mu\,\partial_z f = \partial_\mu\big[D(1-\mu^2)\partial_\mu f\big] \equiv D\,\mathcal{L}f.

For slab Alfvén waves with ``s = 1``, ``eps = 0`` (Eq. 27) ``D = 2 D_0``.  The operator
``L = d/dmu (1-mu^2) d/dmu`` is symmetric on [-1, 1] with no flux at ``mu = +-1`` (the factor
``1 - mu^2`` vanishes there), and the Legendre polynomials are its eigenfunctions,
``L P_l = -l(l+1) P_l``.  Let ``m_l^{(a)} = <z^a P_l(mu)>``.  Multiply the equation by
``z^a P_l(mu)``, integrate over ``z`` (by parts; ``f`` decays at ``|z| -> inf``) and ``mu`` (by
parts twice, boundary terms vanish):

.. math::
    \frac{d m_l^{(a)}}{dt} = a v \langle z^{a-1}\mu P_l\rangle - l(l+1) D\, m_l^{(a)},
    \qquad \mu P_l = \frac{(l+1)P_{l+1} + l P_{l-1}}{2l+1}.

The order ``a`` couples only to order ``a - 1``, so the hierarchy closes from below:

* ``a = 0``: ``N`` is constant; ``<P_l>(t) = <P_l>_0 e^{-l(l+1)Dt}``, i.e.
  ``<mu> = mu_0 e^{-2Dt}``, ``<P_2> = P2_0 e^{-6Dt}``, ``<mu^2> = (1 + 2<P_2>)/3``.
* ``a = 1, l = 0``: ``d<z>/dt = v<mu>``, so ``<z> = z_0 + v mu_0 E_2(t)``,
  ``E_k(t) = (1 - e^{-kDt})/(kD)`` (``= t`` for ``D = 0``).
* ``a = 1, l = 1``: ``d<z mu>/dt = v<mu^2> - 2D<z mu>``.  With ``<mu^2>`` from ``a = 0``:
  ``<z mu> = zmu_0 e^{-2Dt} + (v/3) E_2(t) + (2v/3) P2_0 (e^{-2Dt} - e^{-6Dt})/(4D)``.
* ``a = 2, l = 0``: ``d<z^2>/dt = 2v<z mu>``; integrating,

.. math::
    \langle z^2\rangle = \langle z^2\rangle_0 + 2v\,\langle z\mu\rangle_0 E_2
      + \frac{v^2}{3D}\,(t - E_2) + \frac{v^2}{3D}\,P_{2,0}\,(E_2 - E_6).

For ``D t << 1``: ``t - E_2 = D t^2 - (2/3) D^2 t^3 + ...`` and ``E_2 - E_6 = 2 D t^2 + O(t^3)``, so
``<z^2> - <z^2>_0 - 2 v zmu_0 t = v^2 <mu^2>_0 t^2 (1 + O(Dt))`` — ballistic, ``v^2 t^2/3`` for an
isotropic burst, with relative deviation ``-(2/3) D t``.  For ``D t >> 1``:
``<z^2> = 2 kappa t + const``, ``kappa = v^2/(6D)`` — the ``kappa_zz = v^2 K_0/8`` of Eq. (9) with
``K_0 = int (1-mu^2)^2/D_mumu = 4/(3D)`` (Eq. 10); for an isotropic burst at rest
(``mu_0 = P2_0 = zmu_0 = 0``) the constant is ``<z^2>_0 - v^2/(6D^2)``, a relative deviation
``-1/(2 D t)`` from ``sigma^2 + 2 kappa t``.  ``D = 0`` gives ``<z^2>_0 + 2 v zmu_0 t + v^2 <mu^2>_0 t^2``.
A Gaussian burst ``exp(-(z-z_0)^2/2 sigma^2)`` with a ``z``-independent pitch-angle distribution
has ``<z^2>_0 = z_0^2 + sigma^2`` and ``zmu_0 = z_0 mu_0``.

2. Free streaming (``D = 0``)
-----------------------------
Each particle keeps its ``mu``: ``f(z, mu, t) = f_0(z - v mu t, mu)``.  For the isotropic Gaussian
burst ``f_0 = N exp(-(z-z_0)^2/2 sigma^2)/(sqrt(2 pi) sigma)`` the density is, with
``u = (z - z_0 - v mu t)/(sqrt 2 sigma)``, ``dmu = -sqrt 2 sigma du/(v t)``,

.. math::
    F(z,t) = \frac{N}{4vt}\Big[\operatorname{erf}\frac{z-z_0+vt}{\sqrt2\,\sigma}
                              - \operatorname{erf}\frac{z-z_0-vt}{\sqrt2\,\sigma}\Big],

``-> N/(2vt)`` on ``|z - z_0| < vt`` for ``sigma -> 0`` (a uniform box).  Cell averages use the
antiderivative ``Phi(x) = x erf(x/(sqrt2 sigma)) + sigma sqrt(2/pi) exp(-x^2/2 sigma^2)`` of
``erf(x/(sqrt2 sigma))``, so they are exact, not sampled.

3. Diffusion of the isotropic part
----------------------------------
``partial_t F = kappa partial_z^2 F - F/T_c``: ``F = N e^{-t/T_c} exp(-(z-z_0)^2/2 s^2)/sqrt(2 pi s^2)``,
``s^2 = sigma^2 + 2 kappa t`` (point burst: ``N/sqrt(4 pi kappa t) exp(-(z-z_0)^2/4 kappa t)``).

*Pion-type losses* (Eqs. 52-54, ``B(p) = p/tau_0``), ``kappa = K_0 p^eta`` (Eq. 53's normalisation):

.. math::
    \partial_t F = K_0 p^\eta \partial_z^2 F + p^{-2}\partial_p\big[p^3 F/\tau_0\big] - F/T_c,
    \qquad F(z,p,0) = A p^{-q}\, G_\sigma(z - z_0).

The number per ``dp``, ``n = p^2 F``, obeys ``partial_t n - partial_p(p n/tau_0) = K_0 p^eta partial_z^2 n - n/T_c``.
Along the characteristics ``dp/dt = -p/tau_0`` a particle seen at ``p`` at time ``t`` had
``p e^{(t-t')/tau_0}`` at time ``t'`` and started with ``p_0 = p e^{t/tau_0}``; along them
``dn/dt = n/tau_0`` (the compression ``-partial_p(dp/dt)``), minus the catastrophic rate, while the
spatial profile spreads with the accumulated variance
``2 W^2 = 2 int_0^t K_0 (p e^{(t-t')/tau_0})^eta dt' = 2 (K_0 tau_0/eta) p^eta (e^{eta t/tau_0} - 1)``
(``-> 2 K_0 t`` for ``eta = 0``).  Hence ``n(z,p,t) = e^{t/tau_0 - t/T_c} n_0(p_0) G_{s}(z - z_0)``
with ``s^2 = sigma^2 + 2W^2``, i.e.

.. math::
    F(z,p,t) = A\,p^{-q}\,e^{(3-q)t/\tau_0}\,e^{-t/T_c}\;
              \frac{\exp[-(z-z_0)^2/2(\sigma^2+2W^2)]}{\sqrt{2\pi(\sigma^2+2W^2)}}.

``W^2 = (K_0 tau_0/eta)(p_0^eta - p^eta)`` is the ``W_d^2`` of Eq. (56) with ``x_0 = p_0``.  Integrating
a continuous point injection ``A p^{-q} delta(z - z_0)`` per unit time over ``t`` (``dt = tau_0 dp_0/p_0``)
gives ``F = A tau_0/(2 sqrt(pi) p^3) int_p^inf dp_0 p_0^{2-q} exp(-(z-z_0)^2/4W^2)/W``: the steady SWK
solution in the corrected form of Eq. (55) (ERRATA.md §1), tested against :class:`.swk.SWK`.

*Anisotropy of the diffusion approximation.*  Eq. (13) with Eq. (11) gives
``delta_s = (v/4) |partial_z ln F| int (1-mu^2)/D_mumu``.  For ``D_mumu = D(1-mu^2)`` the integral is
``2/D = 12 kappa/v^2``, so ``delta_s = 3 kappa |partial_z ln F|/v`` (for the slab ``|mu|^{s-1}``
coefficients at leading order, Eqs. 30 and 35, the factor is ``(4-s) kappa/v``).  For the Gaussian
``partial_z ln F = -(z-z_0)/s^2`` and ``delta_DA = 3 kappa |z - z_0|/(v (sigma^2 + 2 kappa t))``, for a
point burst ``3|z - z_0|/(2 v t)``.  It exceeds 1 — the diffusive flux ``v F delta/3`` would be carried
faster than the particles' speed allows — for ``t < t_1 = (3 kappa |z - z_0|/v - sigma^2)/(2 kappa)``
(point burst: ``t_1 = 3|z - z_0|/(2v)``, i.e. inside ``|z - z_0| = 2vt/3``, well within the free-streaming
horizon ``vt``).  This is the quasi-static anisotropy: Eq. (7) evaluated with the instantaneous ``F``;
it omits the ``O(partial_t/D)`` terms of the time-dependent expansion.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import erf

from . import _checks

__all__ = [
    "BurstMoments", "burst_moments", "z2_moment", "zmu_moment", "mu2_moment", "z_variance",
    "free_streaming_f", "free_streaming_density", "free_streaming_cell_average",
    "diffusion_density", "diffusion_cell_average", "pion_width2", "pion_burst_density",
    "delta_da", "delta_da_pion", "superluminal_time",
]

_SQRT2 = np.sqrt(2.0)


# --- 1. moments ---------------------------------------------------------------------------
def _phi1(x):
    """``(1 - e^{-x})/x`` (1 at ``x = 0``); ``expm1`` keeps it accurate for small ``x``."""
    xs = np.where(x == 0.0, 1.0, x)
    return np.where(x == 0.0, 1.0, -np.expm1(-xs) / xs)


#: Taylor coefficients of h(x) = 2 (x - 1 + e^{-x})/x^2 = sum_n 2 (-x)^n/(n+2)!
_H_SERIES = np.array([2.0 * (-1.0) ** k / math.factorial(k + 2) for k in range(9)])


def _h(x):
    """``h(x) = 2 (x - 1 + e^{-x})/x^2``; the series below ``x = 0.1`` (truncation < 1e-16, no cancellation)."""
    small = np.abs(x) < 0.1
    xs = np.where(small, x, 0.0)
    series = np.polynomial.polynomial.polyval(xs, _H_SERIES)
    xl = np.where(small, 1.0, x)
    return np.where(small, series, 2.0 * (xl + np.expm1(-xl)) / xl**2)


def _e_k(k, d, t):
    """``E_k(t) = (1 - e^{-k D t})/(k D) = t phi1(k D t)`` (``= t`` at ``D = 0``)."""
    return t * _phi1(k * d * t)


def _t_minus_e2_over_d(d, t):
    """``(t - E_2)/D = t^2 h(2 D t)`` (from ``t - E_k = (k D t^2/2) h(k D t)``)."""
    return t**2 * _h(2.0 * d * t)


def _e2_minus_e6_over_d(d, t):
    """``(E_2 - E_6)/D = t^2 [3 h(6 D t) - h(2 D t)]``, ``-> 2 t^2`` for small ``D t``."""
    return t**2 * (3.0 * _h(6.0 * d * t) - _h(2.0 * d * t))


@dataclass(frozen=True)
class BurstMoments:
    """Moments of the burst at the times ``t`` (arrays of the shape of ``t``); ``n`` is constant."""

    t: np.ndarray
    n: float
    z: np.ndarray
    z2: np.ndarray
    zmu: np.ndarray
    mu: np.ndarray
    mu2: np.ndarray
    p2: np.ndarray

    @property
    def variance(self) -> np.ndarray:
        """``<z^2> - <z>^2``."""
        return self.z2 - self.z**2


def _check_moment_input(t, v, d, sigma, mu0, p2_0):
    _checks.in_range("t (time)", t, 0.0)
    _checks.positive("v (particle speed)", v)
    _checks.in_range("d (D of D_mumu = D(1-mu^2))", d, 0.0)
    _checks.in_range("sigma (initial Gaussian width)", sigma, 0.0)
    _checks.in_range("mu0 (initial <mu>)", mu0, -1.0, 1.0)
    _checks.in_range("p2_0 (initial <P_2(mu)>)", p2_0, -0.5, 1.0)


def burst_moments(t, *, v, d, n=1.0, z0=0.0, sigma=0.0, mu0=0.0, p2_0=0.0, zmu0=None) -> BurstMoments:
    r"""Exact moments of ``f_t + v mu f_z = d_mu[D(1-mu^2) d_mu f]`` on the infinite line (module docstring §1).

    Initial data: ``<z> = z0``, ``<z^2> = z0^2 + sigma^2``, ``<mu> = mu0``, ``<P_2> = p2_0``,
    ``<z mu> = zmu0`` (default ``z0 mu0``: a pitch-angle distribution independent of ``z``).
    ``D = 0`` is free streaming.
    """
    t = np.asarray(t, dtype=float)
    _check_moment_input(t, v, d, sigma, mu0, p2_0)
    _checks.positive("n (number of particles)", n)
    _checks.finite("z0 (initial <z>)", z0)
    zmu0 = z0 * mu0 if zmu0 is None else zmu0
    _checks.finite("zmu0 (initial <z mu>)", zmu0)
    e2 = _e_k(2.0, d, t)
    decay2 = np.exp(-2.0 * d * t)
    decay6 = np.exp(-6.0 * d * t)
    mu = mu0 * decay2
    p2 = p2_0 * decay6
    mu2 = (1.0 + 2.0 * p2) / 3.0
    z = z0 + v * mu0 * e2
    # (e^{-2Dt} - e^{-6Dt})/(4D) = e^{-2Dt} (1 - e^{-4Dt})/(4D) = e^{-2Dt} E_4, no cancellation
    zmu = zmu0 * decay2 + v / 3.0 * e2 + 2.0 * v / 3.0 * p2_0 * decay2 * _e_k(4.0, d, t)
    z2 = (z0**2 + sigma**2) + 2.0 * v * zmu0 * e2 + v**2 / 3.0 * _t_minus_e2_over_d(d, t) \
        + v**2 / 3.0 * p2_0 * _e2_minus_e6_over_d(d, t)
    return BurstMoments(t=t, n=float(n), z=z, z2=z2, zmu=zmu, mu=mu, mu2=mu2, p2=p2)


def z2_moment(t, *, v, d, z0=0.0, sigma=0.0, mu0=0.0, p2_0=0.0, zmu0=None):
    """``<z^2>(t)`` of :func:`burst_moments`; ``sigma^2 + v^2 t^2/3`` to ``sigma^2 + 2 kappa t``, ``kappa = v^2/6D``."""
    return burst_moments(t, v=v, d=d, z0=z0, sigma=sigma, mu0=mu0, p2_0=p2_0, zmu0=zmu0).z2


def zmu_moment(t, *, v, d, z0=0.0, sigma=0.0, mu0=0.0, p2_0=0.0, zmu0=None):
    """``<z mu>(t)`` of :func:`burst_moments` (half the rate of change of ``<z^2>`` over ``v``)."""
    return burst_moments(t, v=v, d=d, z0=z0, sigma=sigma, mu0=mu0, p2_0=p2_0, zmu0=zmu0).zmu


def mu2_moment(t, *, d, p2_0=0.0):
    """``<mu^2>(t) = (1 + 2 p2_0 e^{-6Dt})/3`` (``P_2`` decays at ``l(l+1) D = 6D``)."""
    t = np.asarray(t, dtype=float)
    _check_moment_input(t, 1.0, d, 0.0, 0.0, p2_0)
    return (1.0 + 2.0 * p2_0 * np.exp(-6.0 * d * t)) / 3.0


def z_variance(t, *, v, d, z0=0.0, sigma=0.0, mu0=0.0, p2_0=0.0, zmu0=None):
    """``<z^2> - <z>^2`` of :func:`burst_moments`."""
    return burst_moments(t, v=v, d=d, z0=z0, sigma=sigma, mu0=mu0, p2_0=p2_0, zmu0=zmu0).variance


# --- 2. free streaming --------------------------------------------------------------------
def _check_burst(t, v, sigma, n, strictly_positive_t=False):
    if strictly_positive_t:
        _checks.positive("t (time)", t)
    else:
        _checks.in_range("t (time)", t, 0.0)
    _checks.positive("v (particle speed)", v)
    _checks.in_range("sigma (initial Gaussian width)", sigma, 0.0)
    _checks.positive("n (number of particles)", n)


def free_streaming_f(z, mu, t, *, v, n=1.0, z0=0.0, sigma):
    """``f(z, mu, t) = f_0(z - v mu t)`` per ``dz dmu/2`` for the isotropic Gaussian burst (``sigma > 0``)."""
    _check_burst(t, v, sigma, n)
    _checks.positive("sigma (initial Gaussian width)", sigma)
    x = np.asarray(z, dtype=float) - z0 - v * np.asarray(mu, dtype=float) * t
    return n * np.exp(-0.5 * (x / sigma) ** 2) / (np.sqrt(2.0 * np.pi) * sigma)


def free_streaming_density(z, t, *, v, n=1.0, z0=0.0, sigma=0.0):
    r"""``F(z, t) = (N/4vt)[erf((z-z_0+vt)/(sqrt2 sigma)) - erf((z-z_0-vt)/(sqrt2 sigma))]`` (docstring §2).

    ``sigma = 0``: the box ``N/(2vt)`` on ``|z - z_0| < vt`` (``N/(4vt)`` on its edges); ``t = 0``: the Gaussian.
    ``t`` is a scalar; ``z`` any array.
    """
    t = float(t)
    _check_burst(t, v, sigma, n, strictly_positive_t=(sigma == 0.0))
    x = np.asarray(z, dtype=float) - z0
    if t == 0.0:
        return n * np.exp(-0.5 * (x / sigma) ** 2) / (np.sqrt(2.0 * np.pi) * sigma)
    if sigma == 0.0:
        return n / (4.0 * v * t) * (np.sign(x + v * t) - np.sign(x - v * t))
    return n / (4.0 * v * t) * (erf((x + v * t) / (_SQRT2 * sigma)) - erf((x - v * t) / (_SQRT2 * sigma)))


def _erf_antiderivative(x, sigma):
    """``Phi(x) = int erf(x/(sqrt2 sigma)) dx = x erf(.) + sigma sqrt(2/pi) exp(-x^2/2 sigma^2)``.

    ``|x|`` for ``sigma = 0``."""
    if sigma == 0.0:
        return np.abs(x)
    return x * erf(x / (_SQRT2 * sigma)) + sigma * np.sqrt(2.0 / np.pi) * np.exp(-0.5 * (x / sigma) ** 2)


def _check_edges(z_edges):
    e = np.asarray(z_edges, dtype=float)
    if e.ndim != 1 or e.size < 2 or not np.all(np.isfinite(e)) or np.any(np.diff(e) <= 0.0):
        raise ValueError("z_edges must be a finite, strictly increasing 1-D array with at least 2 entries")
    return e


def free_streaming_cell_average(z_edges, t, *, v, n=1.0, z0=0.0, sigma=0.0):
    """Exact means of :func:`free_streaming_density` over the cells ``[z_edges[i], z_edges[i+1]]``; scalar ``t``."""
    t = float(t)
    _check_burst(t, v, sigma, n)
    e = _check_edges(z_edges)
    if t == 0.0:
        return diffusion_cell_average(e, 0.0, kappa=1.0, n=n, z0=z0, sigma=sigma)
    x = e - z0
    prim = _erf_antiderivative(x + v * t, sigma) - _erf_antiderivative(x - v * t, sigma)
    return n / (4.0 * v * t) * np.diff(prim) / np.diff(e)


# --- 3. diffusion -------------------------------------------------------------------------
def _variance(t, kappa, sigma):
    return sigma**2 + 2.0 * kappa * np.asarray(t, dtype=float)


def diffusion_density(z, t, *, kappa, n=1.0, z0=0.0, sigma=0.0, tau_c=np.inf):
    r"""``F = N e^{-t/T_c} exp(-(z-z_0)^2/2 s^2)/sqrt(2 pi s^2)``, ``s^2 = sigma^2 + 2 kappa t`` (docstring §3).

    Solves ``F_t = kappa F_zz - F/T_c`` (Eq. 8 with ``H_0 = 0``, ``kappa_pp = 0``, ``R F = F/T_c``, Eq. 4).
    """
    _checks.positive("kappa (kappa_zz)", kappa)
    _checks.in_range("sigma (initial Gaussian width)", sigma, 0.0)
    _checks.in_range("t (time)", t, 0.0)
    if np.isfinite(tau_c):
        _checks.positive("tau_c (catastrophic loss time)", tau_c)
    var = _variance(t, kappa, sigma)
    _checks.positive("sigma^2 + 2 kappa t (burst variance)", var)
    x = np.asarray(z, dtype=float) - z0
    return n * np.exp(-np.asarray(t, dtype=float) / tau_c) * np.exp(-0.5 * x**2 / var) / np.sqrt(2.0 * np.pi * var)


def diffusion_cell_average(z_edges, t, *, kappa, n=1.0, z0=0.0, sigma=0.0, tau_c=np.inf):
    """Exact means of :func:`diffusion_density` over the cells of ``z_edges`` (differences of erf); scalar ``t``."""
    _checks.positive("kappa (kappa_zz)", kappa)
    _checks.in_range("sigma (initial Gaussian width)", sigma, 0.0)
    _checks.in_range("t (time)", t, 0.0)
    e = _check_edges(z_edges)
    var = float(_variance(t, kappa, sigma))
    _checks.positive("sigma^2 + 2 kappa t (burst variance)", var)
    cdf = 0.5 * erf((e - z0) / np.sqrt(2.0 * var))
    return n * np.exp(-float(t) / tau_c) * np.diff(cdf) / np.diff(e)


def pion_width2(p, t, *, k_diff, eta, tau0):
    r"""``W^2 = (K_0 tau_0/eta) p^eta (e^{eta t/tau_0} - 1)`` (``K_0 t`` at ``eta = 0``).

    The ``W_d^2`` of Eq. (56) with ``x_0 = p e^{t/tau_0}``, the momentum at injection."""
    _checks.positive("k_diff (K_0 of kappa = K_0 p^eta)", k_diff)
    _checks.in_range("eta (2 - s)", eta, 0.0, 1.0)
    _checks.positive("tau0 (pion loss time, Eq. 54)", tau0)
    _checks.positive("p (momentum)", p)
    _checks.in_range("t (time)", t, 0.0)
    p = np.asarray(p, dtype=float)
    t = np.asarray(t, dtype=float)
    growth = t / tau0 if eta == 0.0 else np.expm1(eta * t / tau0) / eta
    return k_diff * tau0 * p**eta * growth


def pion_burst_density(z, p, t, *, k_diff, eta, tau0, q, amplitude=1.0, z0=0.0, sigma=0.0, tau_c=np.inf):
    r"""Burst ``A p^{-q} G_sigma(z - z_0)`` at ``t = 0``, ``kappa = K_0 p^eta``, ``dp/dt = -p/tau_0`` (docstring §3):

    ``F = A p^{-q} e^{(3-q) t/tau_0 - t/T_c} exp(-(z-z_0)^2/2 S^2)/sqrt(2 pi S^2)``, ``S^2 = sigma^2 + 2 W^2``.
    Solves ``F_t = K_0 p^eta F_zz + p^{-2} d_p[p^3 F/tau_0] - F/T_c`` (time-dependent Eqs. 52-54).
    """
    _checks.finite("q (injection spectral index)", q)
    _checks.positive("amplitude", amplitude)
    _checks.in_range("sigma (initial Gaussian width)", sigma, 0.0)
    if np.isfinite(tau_c):
        _checks.positive("tau_c (catastrophic loss time)", tau_c)
    t = np.asarray(t, dtype=float)
    var = sigma**2 + 2.0 * pion_width2(p, t, k_diff=k_diff, eta=eta, tau0=tau0)
    _checks.positive("sigma^2 + 2 W^2 (burst variance)", var)
    x = np.asarray(z, dtype=float) - z0
    p = np.asarray(p, dtype=float)
    return amplitude * p ** (-q) * np.exp((3.0 - q) * t / tau0 - t / tau_c) \
        * np.exp(-0.5 * x**2 / var) / np.sqrt(2.0 * np.pi * var)


def delta_da(z, t, *, kappa, v, z0=0.0, sigma=0.0):
    r"""Eqs. (11), (13) for ``D_mumu = D(1-mu^2)``: ``delta = 3 kappa |d_z ln F|/v``.

    For the Gaussian of :func:`diffusion_density`: ``3 kappa |z - z_0|/(v (sigma^2 + 2 kappa t))``.

    Point burst: ``3|z - z_0|/(2 v t)``.  Quasi-static (no ``d_t/D`` terms); catastrophic losses do not change it.
    """
    _checks.positive("kappa (kappa_zz)", kappa)
    _checks.positive("v (particle speed)", v)
    _checks.in_range("t (time)", t, 0.0)
    var = _variance(t, kappa, sigma)
    _checks.positive("sigma^2 + 2 kappa t (burst variance)", var)
    return 3.0 * kappa * np.abs(np.asarray(z, dtype=float) - z0) / (v * var)


def delta_da_pion(z, p, t, *, k_diff, eta, tau0, v, z0=0.0, sigma=0.0):
    """:func:`delta_da` for :func:`pion_burst_density`: ``3 K_0 p^eta |z - z_0|/(v (sigma^2 + 2 W^2))``."""
    _checks.positive("v (particle speed)", v)
    var = sigma**2 + 2.0 * pion_width2(p, t, k_diff=k_diff, eta=eta, tau0=tau0)
    _checks.positive("sigma^2 + 2 W^2 (burst variance)", var)
    kappa = k_diff * np.asarray(p, dtype=float) ** eta
    return 3.0 * kappa * np.abs(np.asarray(z, dtype=float) - z0) / (v * var)


def superluminal_time(z, *, kappa, v, z0=0.0, sigma=0.0):
    r"""``t_1 = (3 kappa |z - z_0|/v - sigma^2)/(2 kappa)``: ``delta_DA > 1`` at ``z`` for ``t < t_1`` (0 if never).

    Point burst: ``3|z - z_0|/(2v)``, i.e. ``delta_DA > 1`` outside ``|z - z_0| = 2vt/3``.
    """
    _checks.positive("kappa (kappa_zz)", kappa)
    _checks.positive("v (particle speed)", v)
    _checks.in_range("sigma (initial Gaussian width)", sigma, 0.0)
    dz = np.abs(np.asarray(z, dtype=float) - z0)
    return np.maximum((3.0 * kappa * dz / v - sigma**2) / (2.0 * kappa), 0.0)
