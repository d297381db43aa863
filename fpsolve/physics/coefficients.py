r"""Pitch-angle and momentum Fokker–Planck coefficients for slab Alfvén waves.

Paper: Schlickeiser, Oppotsch, Zhang & Pogorelov (2019), ApJ 879:29, Sect. 3.

Code units: length L, speed c, momentum m c (m the particle mass), time L/c.  A particle
of code momentum ``p`` has speed ``v = p / sqrt(1 + p**2)`` (or ``v = 1`` in the
ultrarelativistic limit) and ``eps = V_A / v``.

Three forms are provided, all vectorised over ``mu`` and ``p`` (broadcast together):

* :func:`isospectral_coefficients` — Eqs. (23) and (26): cross helicity ``hc`` and the
  polarisations ``sigma_f``, ``sigma_b`` of forward and backward waves (Eq. 15);
* :func:`linear_coefficients` — Eq. (27), linearly polarised waves (sigma = 0);
* :func:`small_eps_coefficients` — Eq. (28), the small-eps approximation (third line with
  the ``|mu|`` of ERRATA.md §2).

:class:`SlabAlfven` bundles the turbulence parameters with the momentum dependence of
``D_0`` (Eqs. 24-25, ``D_0 = 0`` above ``p_m``) and is the coefficient set the transport
moments, the anisotropy and the solver consume.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, NamedTuple

import numpy as np

from . import _checks
from .quadrature import Nodes, as_nodes

__all__ = [
    "Coefficients",
    "SlabAlfven",
    "isospectral_coefficients",
    "linear_coefficients",
    "small_eps_coefficients",
    "d0_normalisation",
    "particle_speed",
]

Form = Literal["isospectral", "linear", "small_eps"]


class Coefficients(NamedTuple):
    """``D_mumu``, ``D_mup``, ``D_pp`` of Eq. (3) at the same (mu, p) points."""

    d_mumu: np.ndarray
    d_mup: np.ndarray
    d_pp: np.ndarray


def particle_speed(p, *, ultrarelativistic: bool = False):
    """Speed ``v/c`` of a particle of momentum ``p`` in units of ``m c``: ``p/sqrt(1+p^2)``."""
    p = np.asarray(p, dtype=float)
    if ultrarelativistic:
        return np.ones_like(p)
    return p / np.sqrt(1.0 + p * p)


def _one_minus_mu2(mu: Nodes):
    # (1 - mu)(1 + mu) from exact offsets: stays non-zero at nodes next to mu = +-1.
    return -mu.minus(1.0) * mu.minus(-1.0)


def _check_shape_params(s, hc, eps):
    _checks.in_range("s", s, 1.0, 2.0, hi_open=True)
    _checks.in_range("hc (cross helicity H_c)", hc, -1.0, 1.0)
    _checks.in_range("eps (V_A/v)", eps, 0.0, 1.0, hi_open=True)


def _wave_terms(mu: Nodes, eps, s, hc, sigma_f, sigma_b):
    """``d_{+1}``, ``d_{-1}`` of Eq. (23) divided by ``D_0 (1 - mu^2)`` (ERRATA notation).

    ``(1 -+ sigma)`` selects the polarisation that resonates on either side of the gap:
    ``(1 - sigma_f)`` for ``mu > eps`` and ``(1 + sigma_f)`` for ``mu < eps`` (Eq. 23).
    """
    t_f = mu.minus(eps)
    t_b = mu.minus(-eps)
    d_f = (1.0 + hc) * np.abs(t_f) ** (s - 1.0) * (1.0 - sigma_f * np.sign(t_f))
    d_b = (1.0 - hc) * np.abs(t_b) ** (s - 1.0) * (1.0 - sigma_b * np.sign(t_b))
    return d_f, d_b


def isospectral_coefficients(mu, *, d0, eps, p, s, hc, sigma_f=0.0, sigma_b=0.0) -> Coefficients:
    r"""Eqs. (23) + (26): general isospectral slab Alfvén turbulence.

    .. math::
        D_{\mu\mu} = (1-\epsilon\mu)^2 D(1) + (1+\epsilon\mu)^2 D(-1),\quad
        D_{\mu p} = \epsilon p[(1-\epsilon\mu)D(1) - (1+\epsilon\mu)D(-1)],\quad
        D_{pp} = \epsilon^2p^2[D(1) + D(-1)]

    with ``D(+-1)`` from Eq. (23).  ``mu`` may be an array or quadrature :class:`Nodes`.
    """
    _check_shape_params(s, hc, eps)
    _checks.in_range("sigma_f", sigma_f, -1.0, 1.0)
    _checks.in_range("sigma_b", sigma_b, -1.0, 1.0)
    mu = as_nodes(mu)
    m = mu.value
    d_f, d_b = _wave_terms(mu, eps, s, hc, sigma_f, sigma_b)
    scale = d0 * _one_minus_mu2(mu)
    big_f, big_b = scale * d_f, scale * d_b  # D(1), D(-1) of Eq. (23)
    return Coefficients(
        (1.0 - eps * m) ** 2 * big_f + (1.0 + eps * m) ** 2 * big_b,
        eps * p * ((1.0 - eps * m) * big_f - (1.0 + eps * m) * big_b),
        eps**2 * p**2 * (big_f + big_b),
    )


def linear_coefficients(mu, *, d0, eps, p, s, hc) -> Coefficients:
    r"""Eq. (27): linearly polarised waves, ``sigma_f = sigma_b = 0``.

    .. math::
        D_{\mu\mu} = D_0(1-\mu^2)[(1+H_c)|\mu-\epsilon|^{s-1}(1-\epsilon\mu)^2
                     + (1-H_c)|\mu+\epsilon|^{s-1}(1+\epsilon\mu)^2]
    """
    _check_shape_params(s, hc, eps)
    mu = as_nodes(mu)
    m = mu.value
    a_f = (1.0 + hc) * np.abs(mu.minus(eps)) ** (s - 1.0)
    a_b = (1.0 - hc) * np.abs(mu.minus(-eps)) ** (s - 1.0)
    scale = d0 * _one_minus_mu2(mu)
    return Coefficients(
        scale * (a_f * (1.0 - eps * m) ** 2 + a_b * (1.0 + eps * m) ** 2),
        scale * eps * p * (a_f * (1.0 - eps * m) - a_b * (1.0 + eps * m)),
        scale * eps**2 * p**2 * (a_f + a_b),
    )


def small_eps_coefficients(mu, *, d0, eps, p, s, hc) -> Coefficients:
    r"""Eq. (28): the small-eps approximation of Eq. (27) (Dung & Schlickeiser 1990).

    .. math::
        D_{\mu\mu} \simeq 2D_0(1-\mu^2)|\mu|^{s-1}[1-2H_c\epsilon\mu+\epsilon^2\mu^2],\
        D_{\mu p} \simeq 2D_0(1-\mu^2)\epsilon p|\mu|^{s-1}(H_c-\epsilon\mu),\
        D_{pp} = 2D_0(1-\mu^2)\epsilon^2p^2|\mu|^{s-1}

    (third line with ``|mu|``, ERRATA.md §2).
    """
    _check_shape_params(s, hc, eps)
    mu = as_nodes(mu)
    m = mu.value
    common = 2.0 * d0 * _one_minus_mu2(mu) * np.abs(mu.minus(0.0)) ** (s - 1.0)
    return Coefficients(
        common * (1.0 - 2.0 * hc * eps * m + eps**2 * m**2),
        common * eps * p * (hc - eps * m),
        common * eps**2 * p**2,
    )


def d0_normalisation(s: float, *, k_min: float, db2: float, ln_kmax_kmin: float | None = None):
    r"""``D_0 / (v (p/p_m)^{s-2})`` from Eqs. (19), (24), (25), in units of 1/length of ``k_min``.

    .. math:: \frac{\pi k_{\min}}{8}\frac{(\delta B)^2}{B_0^2}\,N(s),\quad
              N(s) = \frac{s-1}{1-(k_{\min}/k_{\max})^{s-1}}

    ``N`` is the exact normalisation of the power law of Eq. (19).  Without ``ln_kmax_kmin``
    (``k_max -> inf``) it is ``s - 1``, Eq. (24) as printed; for ``s = 1`` its limit
    ``1/ln(k_max/k_min)`` gives Eq. (25), which therefore needs ``ln_kmax_kmin``
    (ERRATA.md, Eq. 31: ``ln(k_max/k_min) = 26.10 + ln lambda_10 + ln(n_i)/2``).
    """
    _checks.in_range("s", s, 1.0, 2.0, hi_open=True)
    _checks.positive("k_min", k_min)
    _checks.positive("db2 ((delta B/B_0)^2)", db2)
    if ln_kmax_kmin is None:
        if s == 1.0:
            raise ValueError(
                "ln_kmax_kmin = None is not allowed for s = 1 (hard sphere, Eq. 25); "
                "allowed: a positive number ln(k_max/k_min)"
            )
        norm = s - 1.0
    else:
        _checks.positive("ln_kmax_kmin", ln_kmax_kmin)
        x = (s - 1.0) * ln_kmax_kmin
        norm = 1.0 / ln_kmax_kmin if x == 0.0 else (s - 1.0) / -np.expm1(-x)
    return np.pi * k_min * db2 * norm / 8.0


_FORMS = {
    "isospectral": "Eqs. (23), (26)",
    "linear": "Eq. (27)",
    "small_eps": "Eq. (28)",
}


@dataclass(frozen=True)
class SlabAlfven:
    r"""Isospectral slab Alfvén turbulence: a coefficient set ``(D_mumu, D_mup, D_pp)(mu, p)``.

    Parameters (code units, see module docstring)

    s
        spectral index, ``1 <= s < 2`` (``s = 1`` hard sphere, ``5/3`` Kolmogorov).
    d0_ref
        ``D_0`` (Eq. 24) at the reference momentum ``p_ref``; elsewhere
        ``D_0(p) = d0_ref * (v(p)/v(p_ref)) * (p/p_ref)**(s-2)`` for ``p <= p_m`` and 0 above.
    hc, sigma_f, sigma_b
        cross helicity and polarisations (Eq. 15), each in [-1, 1].
    va
        Alfvén speed ``V_A/c``; ``eps(p) = va/v(p)`` must stay below 1.
    form
        ``"isospectral"`` (Eq. 26), ``"linear"`` (Eq. 27, requires sigma = 0) or
        ``"small_eps"`` (Eq. 28, requires sigma = 0).
    p_m
        maximum resonant momentum (Eq. 22); ``inf`` for no cut-off.
    ultrarelativistic
        ``v = c`` for all ``p`` (else ``v = p/sqrt(1+p^2)``).
    """

    s: float
    d0_ref: float
    hc: float = 0.0
    va: float = 0.0
    sigma_f: float = 0.0
    sigma_b: float = 0.0
    form: Form = "linear"
    p_ref: float = 1.0
    p_m: float = np.inf
    ultrarelativistic: bool = False

    def __post_init__(self):
        _checks.in_range("s", self.s, 1.0, 2.0, hi_open=True)
        _checks.positive("d0_ref", self.d0_ref)
        _checks.in_range("hc (cross helicity H_c)", self.hc, -1.0, 1.0)
        _checks.in_range("va (V_A/c)", self.va, 0.0, 1.0, hi_open=True)
        _checks.in_range("sigma_f", self.sigma_f, -1.0, 1.0)
        _checks.in_range("sigma_b", self.sigma_b, -1.0, 1.0)
        _checks.positive("p_ref", self.p_ref)
        if not (self.p_m > 0):
            raise ValueError(f"p_m = {self.p_m!r} is outside the allowed range (0, inf]")
        if self.form not in _FORMS:
            raise ValueError(f"form = {self.form!r} is not allowed; allowed: {', '.join(_FORMS)}")
        if self.form != "isospectral" and (self.sigma_f != 0.0 or self.sigma_b != 0.0):
            raise ValueError(
                f"form = {self.form!r} with sigma_f = {self.sigma_f!r}, sigma_b = {self.sigma_b!r} "
                "is not allowed; allowed: sigma_f = sigma_b = 0 (use form = 'isospectral')"
            )

    # --- constructors -------------------------------------------------------------
    @classmethod
    def from_mean_free_path(cls, mean_free_path: float, *, s: float, p_ref: float = 1.0,
                            ultrarelativistic: bool = False, **kw) -> "SlabAlfven":
        r"""Normalise ``D_0`` by the leading-order mean free path at ``p_ref`` (Eq. 30).

        ``lambda = 3 kappa_zz / v`` with ``kappa_zz = v^2/(4(2-s)(4-s)D_0)`` gives
        ``D_0 = 3 v / (4 (2-s)(4-s) lambda)``; e.g. ``s = 5/3, lambda = 0.01`` is
        ``D_mumu = nu (1-mu^2)|mu|^{s-1}`` with ``nu = 2 D_0 = 27/(14*0.01)`` at eps = 0.
        """
        _checks.positive("mean_free_path", mean_free_path)
        _checks.in_range("s", s, 1.0, 2.0, hi_open=True)
        v = float(particle_speed(p_ref, ultrarelativistic=ultrarelativistic))
        d0 = 3.0 * v / (4.0 * (2.0 - s) * (4.0 - s) * mean_free_path)
        return cls(s=s, d0_ref=d0, p_ref=p_ref, ultrarelativistic=ultrarelativistic, **kw)

    # --- momentum dependence ----------------------------------------------------------
    def velocity(self, p):
        """Particle speed ``v/c`` at momentum ``p`` (units of m c)."""
        _checks.positive("p (momentum)", p)
        return particle_speed(p, ultrarelativistic=self.ultrarelativistic)

    def eps(self, p):
        """``eps = V_A / v(p)``; raises if it reaches 1 (no resonant scattering frame)."""
        e = self.va / self.velocity(p)
        _checks.in_range("eps = V_A/v(p)", e, 0.0, 1.0, hi_open=True)
        return e

    def d0(self, p):
        """``D_0(p)`` of Eq. (24) (Eq. 25 for s = 1); zero above ``p_m``."""
        p = np.asarray(p, dtype=float)
        v_ref = particle_speed(self.p_ref, ultrarelativistic=self.ultrarelativistic)
        d0 = self.d0_ref * (self.velocity(p) / v_ref) * (p / self.p_ref) ** (self.s - 2.0)
        return np.where(p <= self.p_m, d0, 0.0)

    def breakpoints(self, p):
        """Interior pitch-angle points where the coefficients are not smooth: -eps, 0, eps.

        Shape ``p.shape + (3,)``.  (``0`` matters for Eq. 28 and when ``eps = 0``.)
        """
        e = np.asarray(self.eps(p), dtype=float)
        return np.stack([-e, np.zeros_like(e), e], axis=-1)

    # --- coefficients -----------------------------------------------------------------
    def coefficients(self, mu, p) -> Coefficients:
        """``(D_mumu, D_mup, D_pp)`` at ``mu`` and ``p`` broadcast together (Eqs. 26/27/28)."""
        eps = self.eps(p)
        p = np.asarray(p, dtype=float)
        d0 = self.d0(p)
        if self.form == "linear":
            return linear_coefficients(mu, d0=d0, eps=eps, p=p, s=self.s, hc=self.hc)
        if self.form == "small_eps":
            return small_eps_coefficients(mu, d0=d0, eps=eps, p=p, s=self.s, hc=self.hc)
        return isospectral_coefficients(mu, d0=d0, eps=eps, p=p, s=self.s, hc=self.hc,
                                        sigma_f=self.sigma_f, sigma_b=self.sigma_b)

    def reduced_pp(self, mu, p):
        r"""``D_pp - D_mup^2/D_mumu``, the integrand of kappa_pp (Eq. 9), without cancellation.

        Uses the exact identity ``D_pp D_mumu - D_mup^2 = 4 D_0^2 (1-mu^2)^2 eps^2 p^2 d_1 d_{-1}``
        (ERRATA.md §3; for Eq. 28 the bracket becomes ``(1 - H_c^2)``), so the integrand
        vanishes exactly for |H_c| = 1 (one wave direction: no momentum diffusion, footnote 6).
        """
        eps = self.eps(p)
        p = np.asarray(p, dtype=float)
        mu = as_nodes(mu)
        m = mu.value
        scale = self.d0(p) * _one_minus_mu2(mu) * eps**2 * p**2
        if self.form == "small_eps":
            return (2.0 * scale * np.abs(mu.minus(0.0)) ** (self.s - 1.0) * (1.0 - self.hc**2)
                    / (1.0 - 2.0 * self.hc * eps * m + eps**2 * m**2))
        d_f, d_b = _wave_terms(mu, eps, self.s, self.hc, self.sigma_f, self.sigma_b)
        return 4.0 * scale * d_f * d_b / ((1.0 - eps * m) ** 2 * d_f + (1.0 + eps * m) ** 2 * d_b)

    @property
    def end_exponents(self) -> tuple:
        r"""Exponents ``b`` of the pitch-angle integrands ``~ d^{b-1}`` at the zeros of ``D_mumu``.

        ``D_mumu ~ |mu -+ eps|^{s-1}`` at a resonance gap with one wave direction (|H_c| = 1,
        Eq. 27), at ``mu = 0`` for eps = 0 or Eq. (28): ``1/D_mumu ~ d^{1-s}``, ``b = 2 - s``
        (exact in floating point for 1 <= s <= 2).  The quadrature uses it instead of its fitted
        value (:func:`~fpsolve.physics.quadrature.integrate_pieces`, ``known_b``).
        """
        return (2.0 - self.s,)

    @property
    def equation(self) -> str:
        """Paper equation(s) of the chosen coefficient form."""
        return _FORMS[self.form]
