r"""Physical parameters of the paper and their conversion to fpsolve's code units.

Code units: length ``L`` (``length_unit_pc``), speed ``c``, momentum ``m c`` with
``m = A m_p`` the particle mass, time ``L/c``.

The functions below return CGS values (or the unit named in the function) of the
paper's physical formulae; each cites its equation.  Where ERRATA.md corrects a
formula or a printed constant, the corrected form is the default and the printed one
is available under a ``*_printed`` name.  Constants are those of ERRATA.md §6.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import _checks
from .coefficients import SlabAlfven, d0_normalisation, particle_speed

# CGS constants (ERRATA.md §6)
C_LIGHT = 2.99792458e10  # cm/s
E_CHARGE = 4.803204713e-10  # statC
M_PROTON = 1.67262192e-24  # g
PARSEC = 3.0856776e18  # cm
KPC = 1e3 * PARSEC
YEAR = 3.15576e7  # s
TEV = 1.602176634  # erg
MICROGAUSS = 1e-6  # G
KM = 1e5  # cm
M_PROTON_C2_TEV = M_PROTON * C_LIGHT**2 / TEV  # 9.3827e-4 TeV
#: Pion-loss time of Eq. (54): tau_0 = 5.4e7 yr / n.
TAU_PION_YR = 5.4e7

__all__ = [
    "alfven_speed", "ion_inertial_wavenumber", "proton_gyrofrequency", "max_resonant_wavenumber",
    "p_max_resonant", "ln_kmax_kmin", "ln_kmax_kmin_printed", "kappa_zz_physical",
    "kappa_zz_hard_sphere_printed", "mean_free_path_l0", "tau_pion", "diffusion_length_ld",
    "critical_momentum_xc", "alpha_0", "compton_getting_relative", "PhysicalSetup",
]


def alfven_speed(b0_ug, n_cm3):
    r"""Alfvén speed ``V_A = B_0/sqrt(4 pi n m_p)`` in cm/s (Sect. 1: ``2.18e5 B(uG) n^{-1/2}``)."""
    _checks.positive("b0_ug (B_0 in microgauss)", b0_ug)
    _checks.positive("n_cm3 (ion density)", n_cm3)
    return b0_ug * MICROGAUSS / np.sqrt(4.0 * np.pi * n_cm3 * M_PROTON)


def ion_inertial_wavenumber(n_cm3):
    r"""``omega_{p,i}/c = sqrt(4 pi n e^2/m_p)/c`` in 1/cm (Eqs. 20, 31: ``k_max``)."""
    _checks.positive("n_cm3 (ion density)", n_cm3)
    return np.sqrt(4.0 * np.pi * n_cm3 * E_CHARGE**2 / M_PROTON) / C_LIGHT


def proton_gyrofrequency(b0_ug):
    r"""Non-relativistic proton gyrofrequency ``Omega_{p,0} = e B_0/(m_p c)`` in rad/s (Eq. 21)."""
    _checks.positive("b0_ug (B_0 in microgauss)", b0_ug)
    return E_CHARGE * b0_ug * MICROGAUSS / (M_PROTON * C_LIGHT)


def max_resonant_wavenumber(*, charge, mass_number, gamma, n_cm3):
    r"""Eq. (20): ``k_{r,max} = 1/(R_L eps) = Omega_a/V_A = (omega_{p,i}/c) Q/(A gamma)``."""
    _checks.positive("gamma (Lorentz factor)", gamma)
    return ion_inertial_wavenumber(n_cm3) * abs(charge) / (mass_number * gamma)


def p_max_resonant(*, charge, b0_ug, lambda10):
    r"""Eq. (22): ``p_m c = |Q| e B_0 lambda_max / (2 pi)`` in TeV (``1.5e3 |Q| B_0(uG) lambda_10``)."""
    _checks.positive("b0_ug (B_0 in microgauss)", b0_ug)
    _checks.positive("lambda10 (lambda_max / 10 pc)", lambda10)
    lam_max = 10.0 * lambda10 * PARSEC
    return abs(charge) * E_CHARGE * b0_ug * MICROGAUSS * lam_max / (2.0 * np.pi) / TEV


def ln_kmax_kmin(*, lambda10, n_cm3):
    r"""``ln(k_max/k_min)`` with ``k_max = omega_{p,i}/c`` (Eq. 31 as corrected in ERRATA.md).

    ``k_max/k_min = lambda_max omega_{p,i}/(2 pi c) = 2.157e11 lambda_10 n^{+1/2}``, so
    ``ln = 26.10 + ln lambda_10 + ln(n)/2``.
    """
    _checks.positive("lambda10 (lambda_max / 10 pc)", lambda10)
    lam_max = 10.0 * lambda10 * PARSEC
    return np.log(lam_max * ion_inertial_wavenumber(n_cm3) / (2.0 * np.pi))


def ln_kmax_kmin_printed(*, lambda10, n_cm3):
    r"""Eq. (31) as printed: ``28.4 + ln lambda_10 - 0.5 ln n`` (wrong, see ERRATA.md)."""
    return 28.4 + np.log(lambda10) - 0.5 * np.log(n_cm3)


def _check_turbulence(s, db_over_b0, lambda10):
    _checks.in_range("s", s, 1.0, 2.0, hi_open=True)
    _checks.positive("db_over_b0 (delta B / B_0)", db_over_b0)
    _checks.positive("lambda10 (lambda_max / 10 pc)", lambda10)


def kappa_zz_physical(*, s, beta, p_over_pm, db_over_b0, lambda10, ln_ratio=None):
    r"""Eq. (30) (``1 < s < 2``) and corrected Eq. (31) (``s = 1``), cm^2/s.

    ``kappa = v lambda_max (B_0/dB)^2 (p/p_m)^{2-s} / (pi^2 (s-1)(2-s)(4-s))`` for 1 < s < 2
    (``9.4e28 lambda_10 ... beta`` cm^2/s), and for hard-sphere scattering
    ``kappa = v lambda_max ln(k_max/k_min) (B_0/dB)^2 (p/p_m) / (3 pi^2)``
    (ERRATA.md: ``D_0 ∝ 1/ln``, so ``kappa ∝ ln``; ``3.12e28 ln ...``).
    """
    _check_turbulence(s, db_over_b0, lambda10)
    lam_max = 10.0 * lambda10 * PARSEC
    base = beta * C_LIGHT * lam_max / np.pi**2 / db_over_b0**2 * p_over_pm ** (2.0 - s)
    if s == 1.0:
        if ln_ratio is None:
            raise ValueError("ln_ratio = None is not allowed for s = 1 (Eq. 31); allowed: ln(k_max/k_min) > 0")
        return base * ln_ratio / 3.0
    return base / ((s - 1.0) * (2.0 - s) * (4.0 - s))


def kappa_zz_hard_sphere_printed(*, beta, p_over_pm, db_over_b0, lambda10, ln_ratio):
    r"""Eq. (31) as printed: ``4 v lambda_max (B_0/dB)^2 (p/p_m) / (3 pi^2 ln)`` (wrong: ∝ 1/ln)."""
    lam_max = 10.0 * lambda10 * PARSEC
    return 4.0 * beta * C_LIGHT * lam_max / (3.0 * np.pi**2 * ln_ratio) / db_over_b0**2 * p_over_pm


def mean_free_path_l0(*, eta, b0_ug, db_over_b0, lambda10, ln_ratio=None):
    r"""Eq. (47): ``L_0`` in cm, defined by ``kappa_zz = (c/3) L_0 x^eta`` (relativistic, x = p/m_p c).

    ``0 < eta < 1``: ``L_0 = 9.4e18 (6.3e-7)^eta lambda_10^{1-eta} / (B_0^eta eta(1-eta)(2+eta))
    (B_0/dB)^2`` cm (Eq. 48 for eta = 1/3).  ``eta = 1`` uses the corrected Eq. (31):
    ``L_0 = 1.99e12 ln(k_max/k_min) (B_0/dB)^2 / B_0(uG)`` cm (printed: 2.9e11, ERRATA.md §6).
    """
    _checks.in_range("eta (2 - s)", eta, 0.0, 1.0, lo_open=True)
    pm_tev = p_max_resonant(charge=1.0, b0_ug=b0_ug, lambda10=lambda10)
    x_over_pm = M_PROTON_C2_TEV / pm_tev  # p/p_m at x = 1 (Eq. 47: 6.37e-7/(B_0 lambda_10))
    kappa_x1 = kappa_zz_physical(s=2.0 - eta, beta=1.0, p_over_pm=x_over_pm,
                                 db_over_b0=db_over_b0, lambda10=lambda10, ln_ratio=ln_ratio)
    return 3.0 * kappa_x1 / C_LIGHT


def tau_pion(n_cm3):
    r"""Eq. (54): pion-production loss time ``tau_0 = 5.4e7 yr / n = 1.7e15 s / n``; seconds."""
    _checks.positive("n_cm3 (gas density)", n_cm3)
    return TAU_PION_YR * YEAR / n_cm3


def diffusion_length_ld(*, eta, l0_cm, tau0_s):
    r"""Eq. (57): ``L_d = sqrt(K_0 tau_0 / eta)`` with ``K_0 = c L_0/3``; cm."""
    _checks.in_range("eta (2 - s)", eta, 0.0, 1.0, lo_open=True)
    return np.sqrt(C_LIGHT * l0_cm * tau0_s / (3.0 * eta))


def critical_momentum_xc(*, eta, z_i, l_d):
    r"""Eq. (75): ``x_c = (z_i^2 / (4 L_d^2))^{1/eta}`` (``z_i``, ``L_d`` in the same unit)."""
    return (z_i**2 / (4.0 * l_d**2)) ** (1.0 / eta)


def alpha_0(*, eta, l0, l_d, x, z_i_sign=1.0):
    r"""Eq. (81): ``alpha_0 = -((2+eta)/3) (L_0/L_d) sgn(z_i) x^{eta/2}`` (same length units)."""
    return -(2.0 + eta) / 3.0 * l0 / l_d * np.sign(z_i_sign) * x ** (eta / 2.0)


def compton_getting_relative(*, va_cm_s, gamma_index, hc, mu, beta=1.0):
    r"""Eqs. (40)-(41): ``g_c/F = Gamma eps H_c mu = V_A Gamma H_c mu / (c beta)`` for F ∝ p^-Gamma."""
    return va_cm_s * gamma_index * hc * np.asarray(mu) / (C_LIGHT * beta)


@dataclass(frozen=True)
class PhysicalSetup:
    r"""The paper's physical parameters of one particle species in slab Alfvén turbulence.

    b0_ug, db_over_b0, lambda10, n_cm3
        ``B_0`` [μG], ``δB/B_0``, ``λ_max = 10 λ_10`` pc (Eq. 22), ionised density [cm^-3].
    va_kms
        Alfvén speed [km/s]; ``None`` computes it from ``B_0`` and ``n`` (Sect. 1).
    charge, mass_number
        ``Q`` and ``A`` of the particle (mass ``A m_p``).
    s, hc, sigma_f, sigma_b, form
        turbulence spectrum and helicities (Eqs. 15, 19), coefficient form (Eqs. 26-28).
    length_unit_pc
        code length unit ``L`` in pc.
    """

    b0_ug: float = 3.0
    db_over_b0: float = 1.0
    lambda10: float = 1.0
    n_cm3: float = 1.0
    va_kms: float | None = None
    charge: float = 1.0
    mass_number: float = 1.0
    s: float = 5.0 / 3.0
    hc: float = 0.0
    sigma_f: float = 0.0
    sigma_b: float = 0.0
    form: str = "linear"
    length_unit_pc: float = 1000.0

    def __post_init__(self):
        _check_turbulence(self.s, self.db_over_b0, self.lambda10)
        _checks.positive("b0_ug (B_0 in microgauss)", self.b0_ug)
        _checks.positive("n_cm3 (ion density)", self.n_cm3)
        if self.va_kms is not None:
            _checks.in_range("va_kms (Alfvén speed in km/s)", self.va_kms, 0.0)
        _checks.finite("charge", self.charge)
        if self.charge == 0:
            raise ValueError("charge = 0.0 is not allowed; allowed: a non-zero charge number Q")
        _checks.positive("mass_number", self.mass_number)
        _checks.positive("length_unit_pc", self.length_unit_pc)

    # --- scales -------------------------------------------------------------------
    @property
    def va_cm_s(self) -> float:
        if self.va_kms is not None:
            return self.va_kms * KM
        return float(alfven_speed(self.b0_ug, self.n_cm3))

    @property
    def momentum_unit_tev(self) -> float:
        """``m c`` in TeV/c for ``m = A m_p``."""
        return self.mass_number * M_PROTON_C2_TEV

    @property
    def length_unit_cm(self) -> float:
        return self.length_unit_pc * PARSEC

    @property
    def time_unit_s(self) -> float:
        return self.length_unit_cm / C_LIGHT

    @property
    def ln_ratio(self) -> float:
        """``ln(k_max/k_min)``, corrected Eq. (31)."""
        return float(ln_kmax_kmin(lambda10=self.lambda10, n_cm3=self.n_cm3))

    def p_code(self, *, kinetic_tev=None, momentum_tev=None):
        """Code momentum ``p/(A m_p c)`` from a kinetic energy or momentum per particle [TeV]."""
        if (kinetic_tev is None) == (momentum_tev is None):
            raise ValueError("give exactly one of kinetic_tev, momentum_tev")
        mc2 = self.momentum_unit_tev
        if kinetic_tev is not None:
            _checks.positive("kinetic_tev", kinetic_tev)
            t = np.asarray(kinetic_tev, dtype=float) / mc2
            return np.sqrt(t * (t + 2.0))
        _checks.positive("momentum_tev", momentum_tev)
        return np.asarray(momentum_tev, dtype=float) / mc2

    # --- code-unit model ----------------------------------------------------------------
    def turbulence(self) -> SlabAlfven:
        """The coefficient set (Eqs. 24-27) in code units, ``D_0`` normalised at ``p_m``."""
        p_m = p_max_resonant(charge=self.charge, b0_ug=self.b0_ug, lambda10=self.lambda10)
        p_m_code = p_m / self.momentum_unit_tev
        k_min = 2.0 * np.pi / (10.0 * self.lambda10 * PARSEC) * self.length_unit_cm
        ln_ratio = self.ln_ratio if self.s == 1.0 else None
        a0 = d0_normalisation(self.s, k_min=k_min, db2=self.db_over_b0**2, ln_kmax_kmin=ln_ratio)
        d0_at_pm = a0 * float(particle_speed(p_m_code))
        return SlabAlfven(s=self.s, d0_ref=d0_at_pm, p_ref=p_m_code, p_m=p_m_code,
                          hc=self.hc, va=self.va_cm_s / C_LIGHT, sigma_f=self.sigma_f,
                          sigma_b=self.sigma_b, form=self.form)

    def tau0_code(self) -> float:
        """Pion-loss time (Eq. 54) in code time units L/c."""
        return tau_pion(self.n_cm3) / self.time_unit_s
