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
:class:`fpsolve.terms.MuPDiffusion`).  A user tensor that is not positive semi-definite
beyond round-off (``PSD_RTOL``) is refused, naming where.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .physics.moments import end_exponents, with_node_axes
from .physics import quadrature
from .physics.quadrature import Nodes, integrate_pieces, tanh_sinh_nodes

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


#: Quadrature values (p rows x faces x pieces x nodes) evaluated at once.  The integrals are
#: independent per momentum, so blocks of rows give the same numbers as one call, in bounded
#: memory: ~20 arrays of this many doubles live at once, ~150 MB (measured:
#: scripts/bench_coefficients.py).
BLOCK_VALUES = quadrature.BLOCK_VALUES

#: Round-off allowance of ``R = D_pp - D_mup^2/D_mumu`` for coefficient sets without the
#: cancellation-free ``reduced_pp``: ``R`` is the difference of two numbers that each carry
#: the rounding of the user's formula (powers, products: some tens of operations at ~1 ulp)
#: and of the division (1 ulp).  A tensor that is semi-definite in exact arithmetic (e.g. one
#: wave direction, ``R = 0``) thus gives ``|R| <= ~100 ulp ~ 2e-14`` of ``D_pp``; 1e-12 leaves a
#: factor 50.  A more negative ``R`` is a tensor that is not positive semi-definite: refused.
PSD_RTOL = 1e-12


def _pieces(lo, hi, breakpoints):
    """Edges ``lo, clip(bp), hi`` shape ``S + (K+2,)`` with break points clipped into [lo, hi]."""
    bp = np.clip(breakpoints, lo[..., None], hi[..., None])
    return np.concatenate([lo[..., None], np.sort(bp, axis=-1), hi[..., None]], axis=-1)


def _breakpoints(model, p, n):
    """Model break points at momenta ``p`` broadcast to shape ``p.shape + (n, K)``."""
    bp = np.asarray(model.breakpoints(p), dtype=float)
    return np.broadcast_to(bp[..., None, :], p.shape + (n, bp.shape[-1]))


def _row_blocks(n_rows, per_row):
    """Slices of at most ``BLOCK_VALUES // per_row`` rows (at least one) covering ``n_rows``."""
    rows = max(1, BLOCK_VALUES // max(per_row, 1))
    return [slice(a, min(a + rows, n_rows)) for a in range(0, n_rows, rows)]


def _blocked_pieces(model, p, bounds, per_interval):
    """Blocks of momenta over the intervals between consecutive ``bounds`` (mu centres or edges):
    yields ``(rows, pieces, p with node axes)``, at most ``BLOCK_VALUES`` quadrature values each."""
    n = bounds.size - 1
    for blk in _row_blocks(p.size, n * per_interval):
        pk = p[blk]
        lo = np.broadcast_to(bounds[:-1], (pk.size, n))
        hi = np.broadcast_to(bounds[1:], (pk.size, n))
        yield blk, _pieces(lo, hi, _breakpoints(model, pk, n)), with_node_axes(pk, 3)


def _model_name(model):
    return getattr(model, "name", None) or type(model).__name__


def _reduced_pp_checked(model, mu: Nodes, pb):
    """``D_pp - D_mup^2/D_mumu`` of a user coefficient set, refusing a tensor that is not PSD.

    Negative values within ``PSD_RTOL`` of the larger of ``D_pp``, ``D_mup^2/D_mumu`` are
    round-off and become 0; anything below, or ``D_mumu < 0`` or ``D_pp < 0`` beyond the same
    round-off, raises ``ValueError`` naming (mu, p).  NaN passes (it stops the run at assembly).
    """
    d_mumu, d_mup, d_pp = model.coefficients(mu, pb)
    cross = d_mup**2 / d_mumu
    r = d_pp - cross
    scale = np.maximum(np.abs(d_pp), np.abs(cross))
    bad = (r < -PSD_RTOL * scale) | (d_mumu < 0) | (d_pp < -PSD_RTOL * scale)
    if np.any(bad):
        m = np.broadcast_to(mu.value, r.shape)
        pp = np.broadcast_to(pb, r.shape)
        score = np.where(d_mumu < 0, -np.inf, r / np.where(scale > 0, scale, 1.0))
        k = np.unravel_index(np.argmin(np.where(bad, score, np.inf)), r.shape)  # the worst point
        raise ValueError(
            f"coefficients of {_model_name(model)} are not positive semi-definite at mu = {m[k]:.10g}, "
            f"p = {pp[k]:.10g}: D_mumu = {d_mumu[k]:.6g}, D_mup = {d_mup[k]:.6g}, D_pp = {d_pp[k]:.6g} "
            f"(D_pp - D_mup^2/D_mumu = {r[k]:.6g}); allowed: D_mumu >= 0 and "
            f"D_pp - D_mup^2/D_mumu >= -{PSD_RTOL:g} max(D_pp, D_mup^2/D_mumu) (round-off)")
    return np.where(np.isnan(r), r, np.maximum(r, 0.0))  # the clipped part is round-off (above)


def face_coefficients(model, grid) -> FaceCoefficients:
    """Conductances and cross coefficients of the (mu, p) operator for a coefficient set.

    Evaluated in blocks of momenta (``BLOCK_VALUES``): memory independent of the p grid.
    """
    mu_c, mu_e = grid.mu, grid.mu_edges
    p_c, p_e = grid.p, grid.p_edges
    nf = mu_c.size - 1
    n = mu_c.size
    if hasattr(model, "check_momenta"):  # tables: refuse the grid's extreme momenta up front
        model.check_momenta(p_e)
    known_b = end_exponents(model)
    n_nodes = tanh_sinh_nodes(0.0, 1.0)[1].size
    reduced = getattr(model, "reduced_pp", None)

    # interior mu faces at cell momenta: integrals between neighbouring centres
    w_s = np.empty((p_c.size, nf))
    w_c = np.empty((p_c.size, nf))
    n_pieces = np.asarray(model.breakpoints(p_c[:1])).shape[-1] + 1
    for blk, pieces, pb in _blocked_pieces(model, p_c, mu_c, n_pieces * n_nodes):

        def ratios(mu: Nodes, pb=pb):
            d_mumu, d_mup, _ = model.coefficients(mu, pb)
            return -mu.minus(1.0) * mu.minus(-1.0) / d_mumu, d_mup / d_mumu

        w_s[blk], w_c[blk] = integrate_pieces(ratios, pieces, known_b=known_b)
    face = mu_e[1:-1]
    g_mu = (1.0 - face**2) / w_s
    # no scattering (D_0 = 0 above p_m, Eq. 24): int 1/D_mumu = inf, G = 0 and the ratio D_mup/D_mumu
    # is 0/0; particles stream freely there and have no cross terms.  A NaN from a broken model
    # (finite or NaN w_s) is left alone and stops the run at assembly.
    w_c = np.where(np.isinf(w_s) & ~np.isfinite(w_c), 0.0, w_c)

    # momentum faces: mu-cell averages of the reduced momentum diffusion D_pp - D_mup^2/D_mumu
    i_rpp = np.empty((p_e.size, n))
    for blk, pieces, pb in _blocked_pieces(model, p_e, mu_e, n_pieces * n_nodes):

        def rpp(mu: Nodes, pb=pb):
            if reduced is not None:
                return reduced(mu, pb)
            return _reduced_pp_checked(model, mu, pb)

        i_rpp[blk] = integrate_pieces(rpp, pieces, known_b=known_b)
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
