r"""The SWK analytic solution of the isotropic transport equation with pion losses.

Paper Sect. 5 (Eqs. 52-89), after Schlickeiser et al. (2014, "SWK"):

.. math::
    K_0 x^\eta \partial_z^2 F + x^{-2}\partial_x[B(x) x^2 F] = -S_1(z) S_2(x),
    \qquad B(x) = x/\tau_0 \quad\text{(Eqs. 53, 54)}

with ``F -> 0`` for ``|z| -> inf`` and ``x -> inf``.  ``K_0`` here is the diffusion
normalisation ``kappa_zz = K_0 x^eta`` (not the moment of Eq. 10; ERRATA.md).

ERRATA.md §1: the printed solution (Eq. 55) solves ``K_0 x^eta F_zz + d_x[B F] = -S``, not
Eq. (53).  The solution of Eq. (53) has ``x_0^2 S_2(x_0)`` inside and ``1/(x^2 B)`` in front;
for power-law sources this is ``q -> q - 2`` in Eqs. (61)-(71).  Every function takes
``form="corrected"`` (default, solves Eq. 53) or ``form="printed"`` (Eqs. 55-71 as printed)
so that validation can show which one the kinetic solution follows.  Both forms share
the structure ``F ∝ int_x^inf dx_0 x_0^{m-q} exp(-Z^2/4W_d^2)/W_d`` with ``m = 2``
(corrected) or ``m = 0`` (printed); the index ``c = (q - 1 - m)/eta`` then appears in the
confluent hypergeometric functions (``c = (q-3)/eta`` corrected, ``(q-1)/eta`` printed).

All functions are vectorised over ``z`` and ``x``.  Integrals over ``x_0`` are done after
the substitution ``u = 1/((x_0/x)^eta - 1)`` (Eq. 68) with a double-exponential rule in
log space; Tricomi's ``U`` is computed from its integral representation the same way
(scipy's ``hyperu`` is off by up to 5e-7 in this range; mpmath is the test reference).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy.special import erf, gammaln

from . import _checks
from .quadrature import exp_sinh_rule

__all__ = ["SWK", "hyperu", "hyperu_mpmath"]

Form = Literal["corrected", "printed"]


def _bulk(alpha, big_a):
    """Location of the bulk of ``u^(alpha-1) (1+u)^(...) e^(-A u)``: ~1 for small A, (alpha-1)/A for large."""
    k = np.maximum(np.asarray(alpha, dtype=float) - 1.0, 1.0)
    return k / (k + np.asarray(big_a, dtype=float))


def _u_integral(log_integrand, u0=1.0):
    """``int_0^inf f(u) du``, ``log f`` a function of ``(log u, u)``; exp-sinh centred at ``u0``."""
    log_u, log_w = exp_sinh_rule()
    shift = np.log(u0)
    log_u, log_w = log_u + shift, log_w + shift
    u = np.exp(log_u)
    with np.errstate(over="ignore", under="ignore"):
        terms = np.exp(log_integrand(log_u, u) + log_w)
    return terms.sum(axis=-1)


def hyperu(a, b, z):
    r"""Tricomi's confluent hypergeometric ``U(a, b, z)`` for ``a > 0``, ``z > 0``.

    ``U = Gamma(a)^{-1} int_0^inf e^{-zu} u^{a-1} (1+u)^{b-a-1} du`` (A&S 13.2.5),
    vectorised; relative accuracy ~1e-13 against mpmath for the SWK range (tested).
    """
    a, b, z = (np.asarray(t, dtype=float)[..., None] for t in np.broadcast_arrays(a, b, z))
    _checks.positive("a (hyperu)", a)
    _checks.positive("z (hyperu)", z)
    integral = _u_integral(lambda lu, u: (a - 1.0) * lu + (b - a - 1.0) * np.log1p(u) - z * u,
                           _bulk(a, z))
    return integral / np.exp(gammaln(a[..., 0]))


def hyperu_mpmath(a, b, z, dps: int = 30):
    """``U(a, b, z)`` from mpmath at ``dps`` digits (reference for tests and validation)."""
    import mpmath as mp

    with mp.workdps(dps):
        f = np.vectorize(lambda aa, bb, zz: float(mp.hyperu(aa, bb, zz)))
        return f(a, b, z)


@dataclass(frozen=True)
class SWK:
    r"""Parameters of Eq. (53): ``eta = 2 - s``, ``k_diff`` (``K_0``), ``tau0`` (Eq. 54).

    Lengths, times and speeds in any consistent units; ``c_light`` is the speed of light in
    them (1 in code units), used only for ``L_0 = 3 K_0 / c`` (Eq. 47) in ``alpha``.
    """

    eta: float
    k_diff: float
    tau0: float
    form: Form = "corrected"
    c_light: float = 1.0

    def __post_init__(self):
        _checks.in_range("eta (2 - s)", self.eta, 0.0, 1.0, lo_open=True)
        _checks.positive("k_diff (K_0 of Eq. 53)", self.k_diff)
        _checks.positive("tau0 (pion loss time, Eq. 54)", self.tau0)
        _checks.positive("c_light", self.c_light)
        if self.form not in ("corrected", "printed"):
            raise ValueError(f"form = {self.form!r} is not allowed; allowed: corrected, printed")

    @classmethod
    def from_turbulence(cls, model, tau0, form: Form = "corrected", c_light: float = 1.0) -> "SWK":
        r"""The SWK parameters of a slab coefficient set: ``eta = 2 - s`` and ``K_0`` such that the
        relativistic leading-order ``kappa_zz`` of Eq. (30) is ``K_0 x^eta`` (same units as the model).

        With ``D_0 = d0_ref (v/v_ref)(p/p_ref)^{s-2}``: ``K_0 = v_ref p_ref^{s-2} / (4 (2-s)(4-s) d0_ref)``.
        ``tau0``: the pion-loss time of Eq. (54) in the model's time unit.
        """
        s = model.s
        v_ref = float(model.velocity(model.p_ref))
        k_diff = v_ref * model.p_ref ** (s - 2.0) / (4.0 * (2.0 - s) * (4.0 - s) * model.d0_ref)
        return cls(eta=2.0 - s, k_diff=k_diff, tau0=tau0, form=form, c_light=c_light)

    # --- scales (Eqs. 47, 56, 57, 72, 75) ------------------------------------------------
    @property
    def l_d(self) -> float:
        """Eq. (57): ``L_d = sqrt(K_0 tau_0 / eta)``."""
        return float(np.sqrt(self.k_diff * self.tau0 / self.eta))

    @property
    def l0(self) -> float:
        """Eq. (47): mean free path constant ``L_0 = 3 K_0 / c``."""
        return 3.0 * self.k_diff / self.c_light

    def w_d(self, x, x0):
        """Eq. (56) with the ERRATA typo fixed: ``W_d = L_d x^{eta/2} sqrt((x_0/x)^eta - 1)``."""
        return self.l_d * x ** (self.eta / 2) * np.sqrt((x0 / x) ** self.eta - 1.0)

    def z_c(self, x):
        """Eq. (72): characteristic diffusion length ``z_c = 2 L_d x^{eta/2}``."""
        return 2.0 * self.l_d * np.asarray(x, dtype=float) ** (self.eta / 2)

    def x_c(self, z_i):
        """Eq. (75): ``x_c = (z_i^2 / 4 L_d^2)^{1/eta}``."""
        return (np.asarray(z_i, dtype=float) ** 2 / (4.0 * self.l_d**2)) ** (1.0 / self.eta)

    def index_c(self, q):
        """``c = (q-3)/eta`` (corrected) or ``(q-1)/eta`` (printed) of Eqs. (68)-(71)."""
        _checks.in_range("q (source spectral index)", q, 3.0, np.inf, lo_open=True)
        return (q - 3.0) / self.eta if self.form == "corrected" else (q - 1.0) / self.eta

    def _a(self, dz, x):
        return np.asarray(dz, dtype=float) ** 2 / (4.0 * self.l_d**2 * np.asarray(x, dtype=float) ** self.eta)

    # --- point source: S_1 = delta(z - z_i), S_2 = s_p x^-q (Eq. 63) ------------------------
    def _point_prefactor(self, x, q, s_p):
        c = self.index_c(q)
        return s_p * self.tau0 * np.exp(gammaln(c + 0.5)) / (2.0 * np.sqrt(np.pi) * self.eta * self.l_d) \
            * np.asarray(x, dtype=float) ** (-q - self.eta / 2)

    def point_f(self, z, x, *, z_i, q, s_p=1.0):
        r"""Eq. (64) in closed form: ``F = s_p tau_0 Gamma(c+1/2)/(2 sqrt(pi) eta L_d) x^{-q-eta/2} U(c+1/2, 1/2, a)``.

        ``a = (z - z_i)^2/(4 L_d^2 x^eta)`` (ERRATA.md §1, closed forms).
        """
        c = self.index_c(q)
        a = np.maximum(self._a(np.asarray(z) - z_i, x), 1e-300)
        return self._point_prefactor(x, q, s_p) * hyperu(c + 0.5, 0.5, a)

    def point_f_quad(self, z, x, *, z_i, q, s_p=1.0):
        r"""Eq. (64) by quadrature over the source momentum ``x_0`` (corrected: Eq. 55 of ERRATA).

        ``F = s_p tau_0/(2 sqrt(pi) x^{1+m}) int_x^inf dx_0 x_0^{m-q} exp(-Z^2/4W_d^2)/W_d``,
        evaluated after ``x_0 = x (1 + 1/u)^{1/eta}``:
        ``int = x^{m+1-q-eta/2}/(eta L_d) int_0^inf u^{c-1/2}(1+u)^{-c-1} e^{-a u} du``.
        """
        c = self.index_c(q)
        z, x = np.broadcast_arrays(np.asarray(z, dtype=float), np.asarray(x, dtype=float))
        a = self._a(z - z_i, x)[..., None]
        integral = _u_integral(lambda lu, u: (c - 0.5) * lu - (c + 1.0) * np.log1p(u) - a * u,
                               _bulk(c + 0.5, a))
        m = 2.0 if self.form == "corrected" else 0.0
        x0_integral = x ** (m + 1.0 - q - self.eta / 2) / (self.eta * self.l_d) * integral
        return s_p * self.tau0 / (2.0 * np.sqrt(np.pi) * x ** (1.0 + m)) * x0_integral

    def point_dlnf_dz(self, z, x, *, z_i, q):
        r"""Eq. (66) in closed form: ``-sgn(z-z_i) (c+1/2)/(L_d x^{eta/2}) U(c+1,1/2,a)/U(c+1/2,1/2,a)``."""
        c = self.index_c(q)
        dz = np.asarray(z, dtype=float) - z_i
        a = np.maximum(self._a(dz, x), 1e-300)
        ratio = hyperu(c + 1.0, 0.5, a) / hyperu(c + 0.5, 0.5, a)
        return -np.sign(dz) * (c + 0.5) / (self.l_d * np.asarray(x, dtype=float) ** (self.eta / 2)) * ratio

    def point_df_dz(self, z, x, *, z_i, q, s_p=1.0):
        """Eq. (65), corrected normalisation: ``dF/dz = F d ln F/dz``."""
        return self.point_f(z, x, z_i=z_i, q=q, s_p=s_p) * self.point_dlnf_dz(z, x, z_i=z_i, q=q)

    def dlnf_dz_sun_quad(self, x, *, z_i, q):
        r"""Eq. (68): ``[d ln F/dz]_{z=0} = z_i/(2 L_d^2 x^eta) N/D`` with the u-integrals

        ``N = int (1+u)^{-c-1} u^{c+1/2} e^{-Au} du``, ``D = int (1+u)^{-c-1} u^{c-1/2} e^{-Au} du``,
        ``A = z_i^2/(4 L_d^2 x^eta)`` (exponents as corrected in ERRATA.md §2, ``q -> q-2``).
        """
        c = self.index_c(q)
        x = np.asarray(x, dtype=float)
        big_a = self._a(z_i, x)[..., None]
        num = _u_integral(lambda lu, u: (c + 0.5) * lu - (c + 1.0) * np.log1p(u) - big_a * u,
                          _bulk(c + 1.5, big_a))
        den = _u_integral(lambda lu, u: (c - 0.5) * lu - (c + 1.0) * np.log1p(u) - big_a * u,
                          _bulk(c + 0.5, big_a))
        return z_i / (2.0 * self.l_d**2 * x**self.eta) * num / den

    def dlnf_dz_sun(self, x, *, z_i, q, backend: Literal["quadrature", "mpmath"] = "quadrature"):
        r"""Eq. (69): ``(c + 1/2) z_i/(2 L_d^2 x^eta) U(c+3/2, 3/2, A)/U(c+1/2, 1/2, A)``.

        ``backend="mpmath"`` evaluates ``U`` with mpmath (independent of the quadrature).
        """
        c = self.index_c(q)
        x = np.asarray(x, dtype=float)
        big_a = self._a(z_i, x)
        u = hyperu_mpmath if backend == "mpmath" else hyperu
        return (c + 0.5) * z_i / (2.0 * self.l_d**2 * x**self.eta) * u(c + 1.5, 1.5, big_a) / u(c + 0.5, 0.5, big_a)

    # --- alpha_sun (Eqs. 49, 70, 71) and its asymptotics (78-82) ------------------------------
    def ratio_r(self, x, *, z_i, q):
        r"""``R(A) = (c+1/2) U(c+1, 1/2, A)/U(c+1/2, 1/2, A)``, ``A = (z_i/z_c)^2`` (Eqs. 71, 78)."""
        c = self.index_c(q)
        big_a = self._a(z_i, x)
        return (c + 0.5) * hyperu(c + 1.0, 0.5, big_a) / hyperu(c + 0.5, 0.5, big_a)

    def alpha_0(self, x, *, z_i):
        r"""Eq. (81): ``alpha_0 = -((2+eta)/3)(L_0/L_d) sgn(z_i) x^{eta/2}``."""
        return -(2.0 + self.eta) / 3.0 * self.l0 / self.l_d * np.sign(z_i) * np.asarray(x, dtype=float) ** (self.eta / 2)

    def alpha_sun(self, x, *, z_i, q):
        r"""Eq. (71): ``alpha = alpha_0 R(A)`` (equal to Eq. 49 with Eq. 69, and to Eq. 70)."""
        return self.alpha_0(x, z_i=z_i) * self.ratio_r(x, z_i=z_i, q=q)

    def alpha_sun_eq70(self, x, *, z_i, q):
        r"""Eq. (70), second line: ``-(q-1-m+eta/2)(2+eta)/2 (z_i/(c tau_0)) U(c+3/2,3/2,A)/U(c+1/2,1/2,A)``."""
        c = self.index_c(q)
        big_a = self._a(z_i, x)
        return -(c * self.eta + 0.5 * self.eta) * (2.0 + self.eta) / 2.0 * z_i / (self.c_light * self.tau0) \
            * hyperu(c + 1.5, 1.5, big_a) / hyperu(c + 0.5, 0.5, big_a)

    def ratio_r_limits(self, *, q):
        r"""Exact limits of ``R`` (ERRATA.md on Eq. 78): ``Gamma(c+1)/Gamma(c+1/2)`` for A -> 0;
        the coefficient ``c + 1/2`` of ``1/sqrt(A)`` for A -> inf."""
        c = self.index_c(q)
        return float(np.exp(gammaln(c + 1.0) - gammaln(c + 0.5))), c + 0.5

    def ratio_r_eq79(self, x, *, z_i):
        r"""Eq. (79), the paper's interpolation: ``R ~ z_c/(z_c + |z_i|)`` ("apart from factors of order unity")."""
        zc = self.z_c(x)
        return zc / (zc + abs(z_i))

    def alpha_sun_eq80(self, x, *, z_i):
        r"""Eq. (80): ``alpha ~ -(2/3)(2+eta) L_0 sgn(z_i) x^eta/(z_c + |z_i|)``."""
        x = np.asarray(x, dtype=float)
        return -2.0 / 3.0 * (2.0 + self.eta) * self.l0 * np.sign(z_i) * x**self.eta / (self.z_c(x) + abs(z_i))

    def alpha_sun_far(self, x, *, z_i, printed: bool = False):
        r"""Eq. (82) far-source limit of Eq. (80): ``alpha_0 z_c/|z_i|`` (printed: ``alpha_0/|z_i|``)."""
        a0 = self.alpha_0(x, z_i=z_i)
        return a0 / abs(z_i) if printed else a0 * self.z_c(x) / abs(z_i)

    # --- layer source: S_1 = Theta(z_u - |z|), S_2 = s_0 x^{-Gamma_0} (Eq. 60) ---------------
    def layer_f(self, z, x, *, z_u, gamma0, s_0=1.0):
        r"""Eq. (61) by quadrature (second erf argument ``(z_u + z)``, ERRATA.md §2):

        ``F = s_0 tau_0/(2 x^{1+m}) int_x^inf dx_0 x_0^{m-Gamma_0}[erf((z_u-z)/2W_d) + erf((z_u+z)/2W_d)]``
        ``  = s_0 tau_0 x^{-Gamma_0}/(2 eta) int_0^inf u^{c-1}(1+u)^{-c-1}[erf(..sqrt u) + erf(..sqrt u)] du``.
        """
        c = self.index_c(gamma0)
        z, x = np.broadcast_arrays(np.asarray(z, dtype=float), np.asarray(x, dtype=float))
        scale = (2.0 * self.l_d * x ** (self.eta / 2))[..., None]
        k_minus = ((z_u - z)[..., None]) / scale
        k_plus = ((z_u + z)[..., None]) / scale
        # bulk of the integrand: u ~ 1 (erf ~ 1) unless the erf cuts it off at u ~ 1/k^2
        k_max = np.maximum(np.abs(k_minus), np.abs(k_plus))
        shift = np.log(_bulk(c, k_max**2))
        log_u, log_w = exp_sinh_rule()
        log_u, log_w = log_u + shift, log_w + shift
        u = np.exp(log_u)
        with np.errstate(over="ignore", under="ignore"):
            weight = np.exp((c - 1.0) * log_u - (c + 1.0) * np.log1p(u) + log_w)
        su = np.sqrt(u)
        integral = (weight * (erf(k_minus * su) + erf(k_plus * su))).sum(axis=-1)
        return s_0 * self.tau0 * x ** (-gamma0) / (2.0 * self.eta) * integral

    def layer_df_dz(self, z, x, *, z_u, gamma0, s_0=1.0):
        r"""Eq. (62), corrected (ERRATA.md §1): the layer is the point kernel integrated over
        ``z_0 in [-z_u, z_u]``, so ``dF/dz = F_pt(z; z_i=-z_u) - F_pt(z; z_i=z_u)``, i.e.

        ``-s_0 tau_0/(sqrt(pi) x^{1+m}) int dx_0 x_0^{m-Gamma_0}/W_d e^{-(z_u^2+z^2)/4W_d^2} sinh(z z_u/2W_d^2)``.
        Vanishes at ``z = 0`` (no local streaming for a symmetric source).
        """
        kw = dict(q=gamma0, s_p=s_0)
        return self.point_f(z, x, z_i=-z_u, **kw) - self.point_f(z, x, z_i=z_u, **kw)
