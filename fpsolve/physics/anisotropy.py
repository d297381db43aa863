r"""Diffusion-approximation anisotropy: Eq. (7), its maxima (Eqs. 13-14) and closed forms.

In the diffusion approximation (Appendix A of the paper) the anisotropy is linear in the
gradients of the isotropic part,

.. math::
    g(\mu) = a_s(\mu)\,\partial_z F + a_c(\mu)\,\partial_p F,

    a_s = -\frac v4\Big[2\int_{-1}^{\mu}\frac{1-y^2}{D_{\mu\mu}}dy
          - \int_{-1}^{1}\frac{(1-\mu)(1-\mu^2)}{D_{\mu\mu}}d\mu\Big],\quad
    a_c = -\frac12\Big[2\int_{-1}^{\mu}\frac{D_{\mu p}}{D_{\mu\mu}}dy
          - \int_{-1}^{1}\frac{(1-\mu)D_{\mu p}}{D_{\mu\mu}}d\mu\Big]

(Eq. 7).  :func:`anisotropy_shapes` returns ``a_s`` and ``a_c`` by quadrature for any
coefficient set; they satisfy Eq. (6) (zero mean) and Eq. (99) pointwise.

Closed forms for slab Alfvén waves at small eps: Eq. (38) (streaming, ``|mu|^{2-s} sgn mu``),
Eq. (39) (Compton–Getting) in its printed form, its corrected O(eps) term (ERRATA.md §1:
``(2H_c^2-1)(mu^2-1/3)``, from Eq. 28) and the further O(eps) terms of the exact Eq. (27)
coefficients (ERRATA.md §1, constant ``C_H``); the maximum anisotropies of Eqs. (35), (36).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import _checks
from .moments import boundary_layer_ch, boundary_layer_j, end_exponents, mu_edges, pitch_integrals, with_node_axes
from .quadrature import BLOCK_VALUES, Nodes, integrate_pieces, tanh_sinh_nodes

__all__ = [
    "AnisotropyShapes",
    "anisotropy_shapes",
    "streaming_shape_closed",
    "streaming_amplitude_closed",
    "compton_getting_closed",
    "delta_s_coefficient_closed",
    "delta_c_coefficient_closed",
    "second_order_even_term",
    "catastrophic_loss_correction",
]


@dataclass(frozen=True)
class AnisotropyShapes:
    """``g = a_s dF/dz + a_c dF/dp`` (Eq. 7) on ``p.shape + mu.shape``."""

    mu: np.ndarray
    p: np.ndarray
    a_s: np.ndarray
    a_c: np.ndarray

    def anisotropy(self, dfdz, dfdp):
        """``g(mu)`` for given gradients (broadcast over ``p.shape + (1,)*mu.ndim``)."""
        extra = (1,) * self.mu.ndim
        return (np.reshape(dfdz, np.shape(dfdz) + extra) * self.a_s
                + np.reshape(dfdp, np.shape(dfdp) + extra) * self.a_c)


def cumulative_pitch_integrals(model, mu, p):
    """``int_{-1}^{mu} (1-y^2)/D_mumu dy`` and ``int_{-1}^{mu} D_mup/D_mumu dy`` (Eq. 7, 100).

    Evaluated in blocks of momenta (``quadrature.BLOCK_VALUES`` values at a time), so memory
    does not grow with ``p.size * mu.size``; each momentum's integrals are those of a single call.
    """
    p = np.asarray(p, dtype=float)
    mu = np.asarray(mu, dtype=float)
    _checks.in_range("mu", mu, -1.0, 1.0)
    n_pieces = np.asarray(model.breakpoints(p.reshape(-1)[:1])).shape[-1] + 1
    n_nodes = tanh_sinh_nodes(0.0, 1.0)[1].size
    rows = max(1, BLOCK_VALUES // max(mu.size * n_pieces * n_nodes, 1))
    if p.size <= rows:
        return _cumulative_block(model, mu, p)
    flat = p.reshape(-1)
    c_s = np.empty((flat.size,) + mu.shape)
    c_c = np.empty((flat.size,) + mu.shape)
    for a in range(0, flat.size, rows):
        c_s[a:a + rows], c_c[a:a + rows] = _cumulative_block(model, mu, flat[a:a + rows])
    return c_s.reshape(p.shape + mu.shape), c_c.reshape(p.shape + mu.shape)


def _cumulative_block(model, mu, p):
    """``int_{-1}^{mu} (1-y^2)/D_mumu dy`` and ``int_{-1}^{mu} D_mup/D_mumu dy`` (Eq. 7, 100).

    Shapes ``p.shape + mu.shape``.  The pieces [-1, mu] are cut at the model's break points
    so the tanh-sinh rule sees the singularities at piece ends only.  When ``mu`` lies in the
    upper half of a piece ``[lo, hi]``, the integral is taken to ``hi`` and ``int_mu^hi``
    subtracted: a singular break point just above ``mu`` (at a distance << hi - lo) would
    otherwise sit just outside the piece, where the rule converges slowly (2e-10 relative at
    ``mu = -1e-6``, s = 1.9); as a piece end it is exact (module :mod:`.quadrature`).
    """
    p = np.asarray(p, dtype=float)
    mu = np.asarray(mu, dtype=float)
    _checks.in_range("mu", mu, -1.0, 1.0)
    edges = mu_edges(model, p)  # p.shape + (K+1,)
    edges = edges.reshape(p.shape + (1,) * mu.ndim + edges.shape[-1:])
    upper = mu.reshape(mu.shape + (1,))
    lo = np.where(edges <= upper, edges, -np.inf).max(axis=-1, keepdims=True)
    hi = np.where(edges >= upper, edges, np.inf).min(axis=-1, keepdims=True)
    complement = (hi - upper) < (upper - lo)
    top = np.where(complement, hi, upper)
    pieces = np.minimum(edges, top)  # pieces beyond mu (or hi) collapse to zero length
    back = np.concatenate(np.broadcast_arrays(upper, np.where(complement, hi, upper)), axis=-1)
    pb = with_node_axes(p, mu.ndim + 2)

    def integrands(y: Nodes):
        d_mumu, d_mup, _ = model.coefficients(y, pb)
        return -y.minus(1.0) * y.minus(-1.0) / d_mumu, d_mup / d_mumu

    known_b = end_exponents(model)
    c_s, c_c = integrate_pieces(integrands, pieces, known_b=known_b)
    if not np.any(complement):
        return c_s, c_c
    b_s, b_c = integrate_pieces(integrands, back, known_b=known_b)  # int_mu^hi (0 where unused)
    # no scattering (D_0 = 0 above p_m): both are inf (or NaN); keep the full-piece value as before
    with np.errstate(invalid="ignore"):
        return (np.where(np.isfinite(b_s), c_s - b_s, c_s), np.where(np.isfinite(b_c), c_c - b_c, c_c))


def anisotropy_shapes(model, mu, p) -> AnisotropyShapes:
    """Shape functions ``a_s``, ``a_c`` of Eq. (7) at pitch cosines ``mu`` and momenta ``p``."""
    p = np.asarray(p, dtype=float)
    mu = np.asarray(mu, dtype=float)
    c_s, c_c = cumulative_pitch_integrals(model, mu, p)
    ints = pitch_integrals(model, p)
    extra = (1,) * mu.ndim
    v = np.reshape(ints.v, p.shape + extra)
    a_s = -0.25 * v * (2.0 * c_s - np.reshape(ints.i_s1, p.shape + extra))
    a_c = -0.5 * (2.0 * c_c - np.reshape(ints.i_c1, p.shape + extra))
    return AnisotropyShapes(mu, p, a_s, a_c)


# --------------------------------------------------------------------------------------
# Closed forms, slab Alfvén waves at small eps
# --------------------------------------------------------------------------------------
def streaming_shape_closed(mu, *, s):
    r"""Eq. (38): pitch-angle shape of the streaming anisotropy, ``|mu|^{2-s} sgn(mu)``."""
    _checks.in_range("s", s, 1.0, 2.0, hi_open=True)
    mu = np.asarray(mu, dtype=float)
    return np.abs(mu) ** (2.0 - s) * np.sign(mu)


def streaming_amplitude_closed(*, s, kappa_zz, v):
    r"""Eq. (38): ``g_s = A dF/dz |mu|^{2-s} sgn mu`` with ``A = -(4-s) kappa_zz / v``.

    Also the maximum-anisotropy coefficient of Eq. (35): ``delta_s = A d ln F/dz``.
    """
    _checks.in_range("s", s, 1.0, 2.0, hi_open=True)
    return -(4.0 - s) * kappa_zz / v


def delta_s_coefficient_closed(*, s, d0, v, eps=0.0, hc=0.0, correction="leading"):
    r"""Eq. (35): ``delta_s / (d ln F/dz) = -v / (4 D_0 (2-s))``.

    ``correction="eq27"``: ``-(v/4)[1/(2-s) + J eps^{2-s}]/D_0`` (ERRATA.md §4).
    """
    _checks.in_range("s", s, 1.0, 2.0, hi_open=True)
    lead = 1.0 / (2.0 - s)
    if correction == "eq27":
        lead = lead + boundary_layer_j(s, hc) * eps ** (2.0 - s)
    elif correction != "leading":
        raise ValueError(f"correction = {correction!r} is not allowed; allowed: leading, eq27")
    return -0.25 * v * lead / d0


def delta_c_coefficient_closed(*, eps, p, hc, s=5.0 / 3.0, correction="leading"):
    r"""Eq. (36): ``delta_c / (d ln F/dp) = -eps H_c p``.

    ``correction="eq27"``: ``-eps p (H_c + C_H eps / 2)`` from
    ``int D_mup/D_mumu = eps p [2H_c + C_H eps]`` (ERRATA.md §4).
    """
    _checks.in_range("hc (cross helicity H_c)", hc, -1.0, 1.0)
    if correction == "eq27":
        return -eps * p * (hc + 0.5 * boundary_layer_ch(s, hc) * eps)
    if correction != "leading":
        raise ValueError(f"correction = {correction!r} is not allowed; allowed: leading, eq27")
    return -eps * p * hc


_CG_FORMS = ("leading", "printed", "eq28", "eq27")


def compton_getting_closed(mu, *, eps, p, hc, s=5.0 / 3.0, form="eq28"):
    r"""Compton–Getting shape ``a_c(mu)`` with ``g_c = a_c dF/dp`` (Eq. 39).

    ``form``:

    * ``"leading"`` — last line of Eq. (39): ``-eps p H_c mu``;
    * ``"printed"`` — Eq. (39) as printed: ``-eps p [H_c mu + (2H_c-1) eps (mu^2-1)/2]``
      (violates Eq. 6, ERRATA.md §1);
    * ``"eq28"`` — corrected, exact to O(eps^2) for the Eq. (28) coefficients:
      ``-eps p [H_c mu + (2H_c^2-1) eps (mu^2 - 1/3)/2]``;
    * ``"eq27"`` — for the exact Eq. (27) coefficients, valid for ``|mu| >> eps``:
      adds ``- eps (1-H_c^2)(s-1)(1 + ln|mu|) + C_H eps sgn(mu)/2`` inside the bracket
      (ERRATA.md §1, second row of Eqs. 37/39).
    """
    if form not in _CG_FORMS:
        raise ValueError(f"form = {form!r} is not allowed; allowed: {', '.join(_CG_FORMS)}")
    _checks.in_range("hc (cross helicity H_c)", hc, -1.0, 1.0)
    _checks.in_range("eps (V_A/v)", eps, 0.0, 1.0, hi_open=True)
    mu = np.asarray(mu, dtype=float)
    if form == "leading":
        bracket = hc * mu
    elif form == "printed":
        bracket = hc * mu + (2.0 * hc - 1.0) * eps * (mu**2 - 1.0) / 2.0
    else:
        bracket = hc * mu + (2.0 * hc**2 - 1.0) * eps * (mu**2 - 1.0 / 3.0) / 2.0
        if form == "eq27" and s != 1.0:
            with np.errstate(divide="ignore"):
                log_mu = np.log(np.abs(mu))
            bracket = (bracket - eps * (1.0 - hc**2) * (s - 1.0) * (1.0 + log_mu)
                       + 0.5 * boundary_layer_ch(s, hc) * eps * np.sign(mu))
    return -eps * p * bracket


def second_order_even_term(mu, *, s, hc, gamma_index):
    r"""ERRATA.md §5: the O(eps^2) even term ``G_2`` of g/F that Eq. (7) omits.

    For a homogeneous power law ``F ∝ p^-Gamma``, ``D_0 ∝ p^{s-2}`` and constant eps (Eq. 28
    coefficients, or Eq. 27 away from the resonance gap):
    ``g/F = eps Gamma G_c(mu) + eps^2 G_2(mu) + O(eps^3)`` with

    .. math::
        G_2 = \Gamma^2 H_c^2 (\mu^2/2 - 1/6) + \Gamma (s + 1 - \Gamma)(1 - H_c^2) \Phi_2(\mu),\quad
        \Phi_2 = \int_0^{|\mu|} \frac{\Psi(t)\,dt}{(1-t^2) t^{s-1}} - \langle\cdot\rangle,\quad
        \Psi(t) = \frac{t^s}{s} - \frac{t^{s+2}}{s+2} - \frac{2t}{s(s+2)}\ (t \ge 0),

    ``<.>`` the mean over mu in [-1, 1].  G_2 is even in mu.
    """
    from scipy.integrate import quad

    _checks.in_range("s", s, 1.0, 2.0, hi_open=True)
    mu = np.asarray(mu, dtype=float)

    def psi_ratio(t):
        if t >= 1.0:
            t = 1.0 - 1e-15
        psi = t**s / s - t ** (s + 2) / (s + 2) - 2 * t / (s * (s + 2))
        return psi / ((1 - t * t) * t ** (s - 1))

    def phi(x):
        return quad(psi_ratio, 0.0, x, epsabs=1e-14, epsrel=1e-12, limit=200)[0]

    mean = quad(phi, 0.0, 1.0, epsabs=1e-13, epsrel=1e-11, limit=200)[0]  # = <Phi> over [-1, 1] (even)
    phi2 = np.vectorize(phi)(np.abs(mu)) - mean
    g = gamma_index
    return g**2 * hc**2 * (mu**2 / 2 - 1.0 / 6.0) + g * (s + 1 - g) * (1 - hc**2) * phi2


def catastrophic_loss_correction(mu, *, s, eps, hc, gamma_index, d0, tau_c):
    r"""ERRATA.md §5: the catastrophic-loss term of g/F that Eq. (7) omits (Eq. 95 drops R g).

    .. math:: \Delta(g/F) = -\epsilon\,\Gamma H_c\,\frac{|\mu|^{2-s}\,\mathrm{sgn}\,\mu}{4(2-s) D_0 T_c}

    (odd in mu; relative to the leading Compton–Getting term it is 1/(4(2-s) D_0 T_c)).
    """
    _checks.in_range("s", s, 1.0, 2.0, hi_open=True)
    _checks.positive("tau_c", tau_c)
    mu = np.asarray(mu, dtype=float)
    return -eps * gamma_index * hc * np.abs(mu) ** (2.0 - s) * np.sign(mu) / (4.0 * (2.0 - s) * d0 * tau_c)
