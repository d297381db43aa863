r"""The diffusion-approximation model: Eq. (34) for F(z, p) on the kinetic grid (GALPROP-like).

.. math::
    -\partial_z[\kappa_{zz}\partial_z F - U F] - p^{-2}\partial_p[p^2\kappa_{pp}\partial_p F]
    - p^{-2}\partial_p[p^2 b F] + F/T_c = S

(corrected Eq. 34: convection at ``+U = (4p^2)^{-1} d(p^2 v H_0)/dp``, kappa_pp of Eq. 9 with its
factor 1/2; ERRATA.md §1), with ``kappa_zz``, ``kappa_pp``, ``U`` from the quadratures of the same
coefficient set (Eqs. 9, 10, 33).  Finite volumes on the z and p cells of a :class:`Grid` (cell
means), the same source integrals, loss upwinding (:func:`fpsolve.operator.loss_face_weights`)
and solvers as the kinetic problem.  z walls: ``F = 0`` at the walls (the usual diffusion model),
``F = 0`` at walls extrapolated by ``milne * lambda``, mirror, or periodic.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from .operator import _p_integral, _z_moments, loss_face_weights, outflow_weights
from .physics import convection_speed, pitch_integrals

__all__ = ["solve_reduced"]


def solve_reduced(grid, physics, milne: float = 0.0):
    """F(p, z) (cell means) of Eq. (34) for the kinetic grid and physics; ``milne`` in mean free paths."""
    if grid.homogeneous:
        raise ValueError("the reduced model needs a z grid")
    model = physics.model
    p, pe, nk, nz = grid.p, grid.p_edges, grid.np_, grid.nz
    ints = pitch_integrals(model, p)
    kzz = ints.kappa_zz
    u = convection_speed(model, p) if getattr(model, "va", 0.0) > 0 else np.zeros(nk)
    kpp_f = pitch_integrals(model, pe[1:-1]).kappa_pp if nk > 1 else np.zeros(0)
    ze, zc, h = grid.z_edges, grid.z, grid.dz
    vol = grid.p_volume
    idx = np.arange(nk * nz).reshape(nk, nz)
    rows, cols, vals = [], [], []

    def add(r, c, v):
        r, c, v = np.broadcast_arrays(r, c, v)
        rows.append(r.ravel()); cols.append(c.ravel()); vals.append(v.ravel())

    # z faces (per unit p volume, times V_k): flux = -kappa dF/dz + U F (central), row i: +flux_{i+1/2}
    dzc = zc[1:] - zc[:-1]
    for k in range(nk):
        kk, uu = kzz[k], u[k]
        left, right = idx[k, :-1], idx[k, 1:]
        g = vol[k] * kk / dzc
        c = vol[k] * uu * 0.5
        # flux = -g (F_r - F_l) + c (F_l + F_r); row left: +flux, row right: -flux
        add(left, right, -g + c); add(left, left, g + c)
        add(right, right, g - c); add(right, left, -g - c)
        lam = 3 * kk / float(np.asarray(model.velocity(p[k])))
        for cell, dist, sign, bc in ((idx[k, 0], zc[0] - ze[0], -1.0, physics.z_left),
                                     (idx[k, -1], ze[-1] - zc[-1], 1.0, physics.z_right)):
            if bc == "escape":  # F = 0 at the (extrapolated) wall: flux out = kappa F/(dist + milne lambda) (+ U F/2 ...)
                add(cell, cell, vol[k] * kk / (dist + milne * lam) + vol[k] * max(sign * uu, 0.0))
    if physics.z_left == "periodic":
        for k in range(nk):
            g = vol[k] * kzz[k] / (h[0] / 2 + h[-1] / 2)
            a, b = idx[k, -1], idx[k, 0]
            add(a, b, -g); add(a, a, g); add(b, b, g); add(b, a, -g)
    # p faces: p^2 kappa_pp dF/dp (power-law-exact face derivative is nonlinear; plain 2-point here)
    if nk > 1:
        pf = pe[1:-1]
        lower, upper = idx[:-1], idx[1:]
        w = h[None, :] * (pf**2)[:, None]
        gpp = w * (kpp_f / (p[1:] - p[:-1]))[:, None]
        add(lower, upper, -gpp); add(lower, lower, gpp); add(upper, upper, gpp); add(upper, lower, -gpp)
        if physics.loss_rate is not None:
            bl = w * np.asarray(physics.loss_rate(pf), dtype=float)[:, None]
            for kk, wk in loss_face_weights(p, pf, physics.p_slope_ref, physics.loss_scheme):
                add(lower, idx[kk], -bl * wk[:, None])
                add(upper, idx[kk], bl * wk[:, None])
    if physics.loss_rate is not None:
        b0 = h * pe[0] ** 2 * float(np.asarray(physics.loss_rate(pe[0])))
        for cell, wk in outflow_weights(p, pe[0], physics.p_slope_ref, physics.loss_scheme):
            add(idx[0], idx[cell], b0 * wk)
    if np.isfinite(physics.tau_c):
        add(idx, idx, h[None, :] * vol[:, None] / physics.tau_c)
    n = nk * nz
    A = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n))
    src = physics.source
    b = (src.amplitude * _p_integral(src, pe))[:, None] * _z_moments(src, ze, ze[-1] - ze[0])[None, :, 0]
    return spla.spsolve(A.tocsc(), b.ravel()).reshape(nk, nz)
