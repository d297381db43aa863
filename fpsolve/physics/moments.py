r"""Transport moments of a pitch-angle coefficient set, by quadrature and in closed form.

Quadrature (any coefficient set with ``coefficients(mu, p)``, ``velocity(p)`` and
``breakpoints(p)``, e.g. :class:`~fpsolve.physics.coefficients.SlabAlfven`):

* ``K_0 = int (1-mu^2)^2/D_mumu``, ``H_0 = int (1-mu^2) D_mup/D_mumu`` (Eq. 10, with the
  ``D_mup`` of ERRATA.md §2);
* ``kappa_zz = v^2 K_0 / 8`` and ``kappa_pp = 1/2 int [D_pp - D_mup^2/D_mumu]`` (Eq. 9);
* the integrals of the maximum anisotropies, ``int (1-mu^2)/D_mumu`` (Eq. 13) and
  ``int D_mup/D_mumu`` (Eq. 14), and the ``(1-mu)``-weighted ones of Eq. (7);
* the net convection speed ``U = (4 p^2)^{-1} d(p^2 v H_0)/dp`` (Eq. 33), entering the
  isotropic equation as ``d/dz[kappa_zz dF/dz - U F]`` (Eqs. 8, 34 with the sign of
  ERRATA.md §1: cosmic rays are convected *with* the net wave speed ``+H_c V_A``).

Closed small-eps forms: Eqs. (29)-(32), with κ_pp of Eq. (32) corrected by the factor 1/2
of Eq. (9) (ERRATA.md §1), their O(eps^2) terms from Eq. (28), and the O(eps^{2-s})
boundary-layer corrections that the exact Eq. (27) coefficients bring (ERRATA.md §4:
constants ``J`` and ``C_H``).

All quadratures split [-1, 1] at the coefficient break points and use the tanh-sinh rule
of :mod:`.quadrature` (relative accuracy ~1e-14, tested against 30-digit mpmath).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from . import _checks
from .quadrature import Nodes, integrate_pieces

__all__ = [
    "PitchIntegrals",
    "pitch_integrals",
    "convection_speed",
    "k0_closed",
    "h0_closed",
    "kappa_zz_closed",
    "kappa_pp_closed",
    "kappa_pp_closed_printed",
    "convection_speed_closed",
    "boundary_layer_j",
    "boundary_layer_ch",
]


def mu_edges(model, p):
    """Pieces of [-1, 1] between the model's break points, shape ``p.shape + (K+1,)``."""
    p = np.asarray(p, dtype=float)
    inner = np.sort(np.asarray(model.breakpoints(p), dtype=float), axis=-1)
    ones = np.ones(p.shape + (1,))
    return np.concatenate([-ones, np.clip(inner, -1.0, 1.0), ones], axis=-1)


def end_exponents(model) -> tuple:
    """Known end-point exponents of the model's integrands (``()`` if it declares none)."""
    return tuple(getattr(model, "end_exponents", ()))


def with_node_axes(p, extra: int):
    """``p`` reshaped to broadcast against nodes with ``extra`` trailing axes."""
    p = np.asarray(p, dtype=float)
    return p.reshape(p.shape + (1,) * extra)


@dataclass(frozen=True)
class PitchIntegrals:
    """Pitch-angle integrals of a coefficient set at momenta ``p`` (arrays of p's shape).

    ``k0``, ``h0`` (Eq. 10); ``kappa_zz``, ``kappa_pp`` (Eq. 9); ``i_s = int (1-mu^2)/D_mumu``
    (Eq. 13); ``i_c = int D_mup/D_mumu`` (Eq. 14); ``i_s1 = int (1-mu)(1-mu^2)/D_mumu`` and
    ``i_c1 = int (1-mu) D_mup/D_mumu`` (Eq. 7).  Where ``D_0 = 0`` (``p > p_m``) the
    diffusion approximation does not exist: ``kappa_zz = inf`` and the ratios are NaN.
    """

    p: np.ndarray
    v: np.ndarray
    k0: np.ndarray
    h0: np.ndarray
    kappa_pp: np.ndarray
    i_s: np.ndarray
    i_c: np.ndarray
    i_s1: np.ndarray
    i_c1: np.ndarray

    @property
    def kappa_zz(self):
        """Eq. (9): ``kappa_zz = v^2 K_0 / 8``."""
        return self.v**2 * self.k0 / 8.0

    @property
    def mean_free_path(self):
        """``lambda = 3 kappa_zz / v`` (Eq. 30)."""
        return 3.0 * self.kappa_zz / self.v

    @property
    def delta_s_coefficient(self):
        """``delta_s / (d ln F/dz)`` of Eq. (13): ``-(v/4) int (1-mu^2)/D_mumu``."""
        return -0.25 * self.v * self.i_s

    @property
    def delta_c_coefficient(self):
        """``delta_c / (d ln F/dp)`` of Eq. (14): ``-(1/2) int D_mup/D_mumu``."""
        return -0.5 * self.i_c


def pitch_integrals(model, p) -> PitchIntegrals:
    """All pitch-angle integrals of Eqs. (7), (9), (10), (13), (14) at momenta ``p``."""
    p = np.asarray(p, dtype=float)
    _checks.positive("p (momentum)", p)
    pb = with_node_axes(p, 2)
    reduced_pp = getattr(model, "reduced_pp", None)  # cancellation-free D_pp - D_mup^2/D_mumu

    def integrands(mu: Nodes):
        d_mumu, d_mup, d_pp = model.coefficients(mu, pb)
        omm = -mu.minus(1.0)  # 1 - mu, exact next to mu = 1
        one_minus_mu2 = omm * mu.minus(-1.0)
        w_s = one_minus_mu2 / d_mumu
        r_c = d_mup / d_mumu
        return (
            one_minus_mu2 * w_s,  # K_0
            one_minus_mu2 * r_c,  # H_0
            reduced_pp(mu, pb) if reduced_pp else d_pp - d_mup * r_c,  # 2 kappa_pp
            w_s,  # Eq. 13
            r_c,  # Eq. 14
            omm * w_s,  # Eq. 7, g_s constant
            omm * r_c,  # Eq. 7, g_c constant
        )

    k0, h0, two_kpp, i_s, i_c, i_s1, i_c1 = integrate_pieces(integrands, mu_edges(model, p),
                                                                  known_b=end_exponents(model))
    no_scattering = (np.asarray(model.d0(p)) <= 0.0) if hasattr(model, "d0") else np.zeros(p.shape, bool)
    if np.any(no_scattering):
        k0 = np.where(no_scattering, np.inf, k0)
        nan = lambda a: np.where(no_scattering, np.nan, a)  # noqa: E731
        h0, i_s, i_c, i_s1, i_c1 = map(nan, (h0, i_s, i_c, i_s1, i_c1))
        two_kpp = np.where(no_scattering, 0.0, two_kpp)
    return PitchIntegrals(p, np.asarray(model.velocity(p), dtype=float) * np.ones_like(p),
                          k0, h0, 0.5 * two_kpp, i_s, i_c, i_s1, i_c1)


#: Relative step in ln p of the 5-point derivative in :func:`convection_speed`:
#: truncation ~h^4 ~ 2e-11, round-off ~1e-15/h ~ 5e-13.
_LOG_STEP = 2e-3


def convection_speed(model, p):
    r"""Net convection speed ``U(p) = (4p^2)^{-1} d(p^2 v H_0)/dp`` (Eqs. 8, 33; ERRATA §1).

    The isotropic part obeys ``d/dz[kappa_zz dF/dz - U F] + ... = 0`` (corrected Eq. 34),
    i.e. it is carried at ``+U``; ``U -> H_c V_A`` for small eps.  The derivative is a
    5-point stencil in ``ln p`` of the quadrature ``H_0`` (accuracy ~1e-11 relative).
    """
    p = np.asarray(p, dtype=float)
    _checks.positive("p (momentum)", p)
    h = _LOG_STEP
    def flux(k):  # noqa: E306
        q = p * np.exp(k * h)
        return q**2 * np.asarray(model.velocity(q)) * pitch_integrals(model, q).h0
    dflux_dlnp = (flux(-2) - 8 * flux(-1) + 8 * flux(1) - flux(2)) / (12 * h)
    return dflux_dlnp / (4.0 * p**3)


# --------------------------------------------------------------------------------------
# Closed forms (Eqs. 29-33) and their corrections
# --------------------------------------------------------------------------------------
def _check_closed(s, hc, eps):
    _checks.in_range("s", s, 1.0, 2.0, hi_open=True)
    _checks.in_range("hc (cross helicity H_c)", hc, -1.0, 1.0)
    _checks.in_range("eps (V_A/v)", eps, 0.0, 1.0, hi_open=True)


_CORRECTIONS = ("leading", "eq28", "eq27")


def _check_correction(correction):
    if correction not in _CORRECTIONS:
        raise ValueError(f"correction = {correction!r} is not allowed; allowed: {', '.join(_CORRECTIONS)}")


def k0_closed(*, s, d0, eps=0.0, hc=0.0, correction="leading"):
    r"""``K_0`` of Eq. (29): ``2 / (D_0 (2-s)(4-s))``.

    ``correction="eq28"`` adds the O(eps^2) term of the Eq. (28) coefficients,
    ``x [1 + (4H_c^2-1)(2-s) eps^2/(6-s)]``; ``"eq27"`` adds the boundary-layer term of the
    exact Eq. (27) coefficients, ``+ J(s, H_c) eps^{2-s} / D_0`` (ERRATA.md §4), leaving an
    O(eps^2) remainder.
    """
    _check_closed(s, hc, eps)
    _check_correction(correction)
    lead = 2.0 / ((2.0 - s) * (4.0 - s))
    if correction == "eq28":
        return lead * (1.0 + (4.0 * hc**2 - 1.0) * (2.0 - s) * eps**2 / (6.0 - s)) / d0
    if correction == "eq27":
        return (lead + boundary_layer_j(s, hc) * eps ** (2.0 - s)) / d0
    return lead / d0


def kappa_zz_closed(*, s, d0, v, eps=0.0, hc=0.0, correction="leading"):
    r"""Eq. (30) (and Eq. 31 for s = 1): ``kappa_zz = v^2/(4(2-s)(4-s)D_0)`` = ``v^2 K_0/8``."""
    return v**2 * k0_closed(s=s, d0=d0, eps=eps, hc=hc, correction=correction) / 8.0


def h0_closed(*, s, eps, p, hc, correction="leading"):
    r"""``H_0`` of Eq. (29): ``(4/3) eps p H_c``.

    ``"eq28"``: ``x [1 + (4H_c^2-3) eps^2/5]``; ``"eq27"``: ``+ C_H(s, H_c) eps^2 p``
    (ERRATA.md §4; the "+O(eps^3)" of Eq. 29 holds only for Eq. 28).
    """
    _check_closed(s, hc, eps)
    _check_correction(correction)
    lead = 4.0 * eps * p * hc / 3.0
    if correction == "eq28":
        return lead * (1.0 + (4.0 * hc**2 - 3.0) * eps**2 / 5.0)
    if correction == "eq27":
        return lead + boundary_layer_ch(s, hc) * eps**2 * p
    return lead


def kappa_pp_closed(*, s, d0, eps, p, hc):
    r"""Eq. (32) corrected (ERRATA.md §1): ``kappa_pp = 4 D_0 eps^2 p^2 (1-H_c^2)/(s(s+2))``.

    Equivalently ``(1-H_c^2) V_A^2 p^2 / (s(4-s)(4-s^2) kappa_zz)``; the exact Eq. (27)
    value differs by O(eps^s) (ERRATA.md §4).
    """
    _check_closed(s, hc, eps)
    return 4.0 * d0 * eps**2 * p**2 * (1.0 - hc**2) / (s * (s + 2.0))


def kappa_pp_closed_printed(*, s, d0, eps, p, hc):
    r"""Eq. (32) *as printed*: ``8 D_0 eps^2 p^2 (1-H_c^2)/(s(s+2))`` (a factor 2 too large)."""
    return 2.0 * kappa_pp_closed(s=s, d0=d0, eps=eps, p=p, hc=hc)


def convection_speed_closed(*, hc, va, printed: bool = False):
    r"""Eq. (33): net convection speed ``H_c V_A``.

    ``printed=True`` returns the velocity implied by Eq. (34) as printed,
    ``d/dz[kappa dF/dz + H_c V_A F]``, i.e. ``-H_c V_A`` (wrong sign, ERRATA.md §1).
    """
    _checks.in_range("hc (cross helicity H_c)", hc, -1.0, 1.0)
    return -hc * va if printed else hc * va


# --------------------------------------------------------------------------------------
# Boundary-layer constants J and C_H (ERRATA.md §4)
# --------------------------------------------------------------------------------------
def _em(x, s):
    """``(1 + x)**(s-1) - 1`` without cancellation."""
    return np.expm1((s - 1.0) * np.log1p(x))


def _half_line(func_near, func_far, t_split=2.0):
    """``int_0^inf``: tanh-sinh on [0, 1], [1, t_split]; ``t = t_split/w`` beyond."""
    near = integrate_pieces(func_near, np.array([0.0, 1.0, t_split]))

    def far(w: Nodes):
        t = t_split / w.value  # dt = t^2/t_split dw; multiplied in two steps (no overflow)
        return (func_far(t) * t) * (t / t_split)

    return near + integrate_pieces(far, np.array([0.0, 1.0]))


@lru_cache(maxsize=256)
def boundary_layer_j(s: float, hc: float) -> float:
    r"""``J(s, H_c) = int [1/((1+H)|t-1|^{s-1} + (1-H)|t+1|^{s-1}) - 1/(2|t|^{s-1})] dt`` (ERRATA §4).

    Folded onto t > 0 and written without cancellation for t >= 2 (the bracket is
    O(t^{-1-s}) there).  ``J = 0`` for s = 1 and for |H_c| = 1.
    """
    _checks.in_range("s", s, 1.0, 2.0, hi_open=True)
    _checks.in_range("hc (cross helicity H_c)", hc, -1.0, 1.0)
    if s == 1.0 or abs(hc) == 1.0:
        return 0.0
    e = s - 1.0

    def near(t: Nodes):
        a = np.abs(t.minus(1.0)) ** e
        b = np.abs(t.minus(-1.0)) ** e
        d1 = (1 + hc) * a + (1 - hc) * b
        d2 = (1 + hc) * b + (1 - hc) * a
        return 1.0 / d1 + 1.0 / d2 - np.abs(t.minus(0.0)) ** (-e)

    def far(t):
        al, be = _em(-1.0 / t, s), _em(1.0 / t, s)
        pp = (1 + hc) * al + (1 - hc) * be
        qq = (1 + hc) * be + (1 - hc) * al
        return t ** (-e) * (-2.0 * (al + be) - pp * qq) / ((2.0 + pp) * (2.0 + qq))

    return float(_half_line(near, far))


@lru_cache(maxsize=256)
def boundary_layer_ch(s: float, hc: float) -> float:
    r"""``C_H(s, H_c) = PV int [((1+H)a - (1-H)b)/((1+H)a + (1-H)b) - H] dt``, ``a,b = |t -+ 1|^{s-1}``.

    Folding t -> -t gives the absolutely convergent
    ``C_H = -2H(1-H^2) int_0^inf (a-b)^2 / (d_1 d_2) dt``.  ``C_H = 0`` for s = 1, |H_c| = 1.
    """
    _checks.in_range("s", s, 1.0, 2.0, hi_open=True)
    _checks.in_range("hc (cross helicity H_c)", hc, -1.0, 1.0)
    if s == 1.0 or abs(hc) == 1.0:
        return 0.0
    e = s - 1.0

    def ratio(a, b):
        return (a - b) ** 2 / (((1 + hc) * a + (1 - hc) * b) * ((1 + hc) * b + (1 - hc) * a))

    def near(t: Nodes):
        return ratio(np.abs(t.minus(1.0)) ** e, np.abs(t.minus(-1.0)) ** e)

    def far(t):  # a, b scaled by t^{-(s-1)}: the ratio is scale free
        return ratio(1.0 + _em(-1.0 / t, s), 1.0 + _em(1.0 / t, s))

    return float(-2.0 * hc * (1.0 - hc**2) * _half_line(near, far))
