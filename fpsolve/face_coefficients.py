r"""Discrete transport coefficients of the (mu, p) finite-volume operator.

The pitch-angle flux through an interior mu face is ``G_f (f_{j+1} - f_j) + C_f (df/dp)_f``:

* ``G_f = (1 - mu_f^2) / int_{mu_j}^{mu_{j+1}} (1-mu^2)/D_mumu dmu`` — the conductance that makes
  the flux exact for ``D_mumu df/dmu ∝ (1 - mu^2)``, the streaming solution of the diffusion
  limit (Eq. 99 with eps = 0).  The integral of ``1/D_mumu`` across its zeros at ``mu = 0, +-eps``
  is exact (tanh-sinh, :mod:`fpsolve.physics.quadrature`): a point value of ``D_mumu`` on a
  face at ``mu = 0`` would be zero and cut the hemispheres apart.
* ``C_f = G_f int_{mu_j}^{mu_{j+1}} D_mup/D_mumu dmu`` — makes the Compton–Getting part of
  Eq. (99) exact as well, so the discrete anisotropy at cell centres equals Eq. (7) in the
  diffusion limit.

At the momentum faces the mu-cell averages of the reduced momentum diffusion
``R = D_pp - D_mup^2/D_mumu >= 0`` are used (exact quadrature; R = 0 for |H_c| = 1); the
``D_mup^2/D_mumu`` part of ``D_pp`` and the p-face cross term come from the mu faces, so
that the (mu, p) operator is one positive semi-definite quadratic form (see
:class:`fpsolve.terms.MuPDiffusion`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .physics.moments import with_node_axes
from .physics.quadrature import Nodes, integrate_pieces

__all__ = ["FaceCoefficients", "face_coefficients"]


@dataclass(frozen=True)
class FaceCoefficients:
    """Arrays: ``g_mu``, ``x_mu`` (= int D_mup/D_mumu between centres), shape (np, nmu-1) at
    interior mu faces and cell momenta; ``rpp_pf`` (mu-cell average of D_pp - D_mup^2/D_mumu),
    shape (np+1, nmu) at momentum faces."""

    g_mu: np.ndarray
    x_mu: np.ndarray
    rpp_pf: np.ndarray

    @property
    def c_mu(self):
        """Cross coefficient of the mu-face flux, ``C = G X``."""
        return self.g_mu * self.x_mu


def _pieces(lo, hi, breakpoints):
    """Edges ``lo, clip(bp), hi`` shape ``S + (K+2,)`` with break points clipped into [lo, hi]."""
    bp = np.clip(breakpoints, lo[..., None], hi[..., None])
    return np.concatenate([lo[..., None], np.sort(bp, axis=-1), hi[..., None]], axis=-1)


def _breakpoints(model, p, n):
    """Model break points at momenta ``p`` broadcast to shape ``p.shape + (n, K)``."""
    bp = np.asarray(model.breakpoints(p), dtype=float)
    return np.broadcast_to(bp[..., None, :], p.shape + (n, bp.shape[-1]))


def face_coefficients(model, grid) -> FaceCoefficients:
    """Conductances and cross coefficients of the (mu, p) operator for a coefficient set."""
    mu_c, mu_e = grid.mu, grid.mu_edges
    p_c, p_e = grid.p, grid.p_edges
    nf = mu_c.size - 1

    # interior mu faces at cell momenta: integrals between neighbouring centres
    lo = np.broadcast_to(mu_c[:-1], (p_c.size, nf))
    hi = np.broadcast_to(mu_c[1:], (p_c.size, nf))
    pieces = _pieces(lo, hi, _breakpoints(model, p_c, nf))
    pb = with_node_axes(p_c, 3)

    def ratios(mu: Nodes):
        d_mumu, d_mup, _ = model.coefficients(mu, pb)
        return -mu.minus(1.0) * mu.minus(-1.0) / d_mumu, d_mup / d_mumu

    w_s, w_c = integrate_pieces(ratios, pieces)
    face = mu_e[1:-1]
    g_mu = (1.0 - face**2) / w_s
    # no scattering (D_0 = 0 above p_m, Eq. 24): int 1/D_mumu = inf, G = 0 and the ratio D_mup/D_mumu
    # is 0/0; particles stream freely there and have no cross terms.  A NaN from a broken model
    # (finite or NaN w_s) is left alone and stops the run at assembly.
    w_c = np.where(np.isinf(w_s) & ~np.isfinite(w_c), 0.0, w_c)

    # momentum faces: mu-cell averages of the reduced momentum diffusion D_pp - D_mup^2/D_mumu
    n = mu_c.size
    lo = np.broadcast_to(mu_e[:-1], (p_e.size, n))
    hi = np.broadcast_to(mu_e[1:], (p_e.size, n))
    pieces = _pieces(lo, hi, _breakpoints(model, p_e, n))
    pb = with_node_axes(p_e, 3)
    reduced = getattr(model, "reduced_pp", None)

    def rpp(mu: Nodes):
        if reduced is not None:
            return reduced(mu, pb)
        d_mumu, d_mup, d_pp = model.coefficients(mu, pb)
        return np.maximum(d_pp - d_mup**2 / d_mumu, 0.0)

    i_rpp = integrate_pieces(rpp, pieces)
    if hasattr(model, "d0"):  # no scattering above p_m: no momentum diffusion either
        i_rpp = np.where((np.asarray(model.d0(p_e)) <= 0.0)[:, None], 0.0, i_rpp)
    return FaceCoefficients(g_mu, w_c, i_rpp / np.diff(mu_e))


def discrete_kappa_zz(model, mu_edges, p):
    r"""``kappa_zz`` of the discrete pitch-angle operator in the diffusion limit (eps = 0).

    The discrete Eq. (95), ``v mu_j dmu_j dF/dz = Phi_{j+1/2} - Phi_{j-1/2}``, fixes the face
    fluxes ``Phi = v dF/dz (mu_f^2 - 1)/2`` exactly; ``g`` follows from ``G (g_{j+1} - g_j) = Phi``
    and ``kappa = -(v/2) sum mu_j dmu_j g_j / (dF/dz)`` (Eq. 9 on the grid).
    """
    from .grid import Grid

    grid = Grid(None, mu_edges, np.array([p / (1 + 1e-12), p * (1 + 1e-12)]))  # centre p
    fc = face_coefficients(model, grid)
    v = float(model.velocity(p))
    phi = v * (grid.mu_edges[1:-1] ** 2 - 1.0) / 2.0
    g = np.concatenate([[0.0], np.cumsum(phi / fc.g_mu[0])])
    g -= np.sum(g * grid.dmu) / 2.0
    return -0.5 * v * np.sum(grid.mu * grid.dmu * g)
