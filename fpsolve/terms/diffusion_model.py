r"""Terms of the reduced diffusion–convection model, Eq. (34), on the (z, p) plane of cell means F.

.. math::
    -\partial_z[\kappa_{zz}\partial_z F - U F] - p^{-2}\partial_p[p^2\kappa_{pp}\partial_p F] + \dots = S

(corrected Eq. 34: convection at ``+U``, ``kappa_pp`` of Eq. 9 with its factor 1/2; ERRATA.md §1).
Rows ``k * nz + i`` integrated over ``dz p^2 dp`` (a :class:`~fpsolve.terms.base.Plane` with
``width = dz``); the losses and the source are the kinetic problem's own terms on this plane.

* :class:`SpatialDiffusion` — ``kappa_zz`` between cell centres; z ends from the same
  :mod:`~fpsolve.terms.zboundary` classes: :class:`Escape` (F = 0 at the wall moved out by
  ``extrapolation`` mean free paths; channels ``escape_z_min/max``), :class:`Periodic`,
  :class:`Mirror` (no flux).
* :class:`Convection` — ``U F`` with the central face value; outflow upwind at an escape end,
  no inflow; wrapped across a periodic end.
* :class:`MomentumDiffusion` — ``p^2 kappa_pp dF/dp``, 2-point differences, no flux at the p ends.
"""
from __future__ import annotations

import numpy as np

from .base import LocalTerm, Triplets
from .zboundary import Escape, Periodic, z_boundary

__all__ = ["SpatialDiffusion", "Convection", "MomentumDiffusion"]


def _ends(grid, z_min, z_max):
    """(side, cell, distance centre-wall, outward sign, condition) of both z ends."""
    ze, zc = grid.z_edges, grid.z
    return (("z_min", 0, zc[0] - ze[0], -1.0, z_min), ("z_max", grid.nz - 1, ze[-1] - zc[-1], 1.0, z_max))


class SpatialDiffusion(LocalTerm):
    """``-d/dz (kappa_zz dF/dz)``; ``kappa_zz`` (np,) at the cell momenta, ``velocity`` for the
    mean free path of the extrapolated walls."""

    name = "spatial_diffusion"
    channels = ("escape_z_min", "escape_z_max")

    def __init__(self, grid, kappa_zz, velocity, z_min, z_max):
        self.grid, self.kzz = grid, np.asarray(kappa_zz, dtype=float)
        self.z_min, self.z_max = z_boundary(z_min), z_boundary(z_max)
        self.lam = 3 * self.kzz / np.asarray(velocity(grid.p), dtype=float)

    def _wall(self, k, dist, bc):
        """Conductance of the wall face of an escape end (per unit p volume)."""
        return self.kzz[k] / (dist + bc.extrapolation * self.lam[k])

    def triplets(self, plane) -> Triplets:
        out, idx, vol = Triplets(), plane.index, plane.p_volume
        zc, h = self.grid.z, self.grid.dz
        dzc = zc[1:] - zc[:-1]
        for k in range(plane.np_):
            left, right = idx[k, :-1], idx[k, 1:]
            g = vol[k] * self.kzz[k] / dzc
            out.add(left, right, -g); out.add(left, left, g)
            out.add(right, right, g); out.add(right, left, -g)
            for _, cell, dist, _, bc in _ends(self.grid, self.z_min, self.z_max):
                if isinstance(bc, Escape):
                    out.add(idx[k, cell], idx[k, cell], vol[k] * self._wall(k, dist, bc))
            if isinstance(self.z_min, Periodic):
                g = vol[k] * self.kzz[k] / (h[0] / 2 + h[-1] / 2)
                a, b = idx[k, -1], idx[k, 0]
                out.add(a, b, -g); out.add(a, a, g); out.add(b, b, g); out.add(b, a, -g)
        return out

    def leaving(self, view) -> dict:
        F, vol = view.f, view.plane.p_volume  # F: (np, nz)
        res = {}
        for side, cell, dist, _, bc in _ends(self.grid, self.z_min, self.z_max):
            res["escape_" + side] = float(sum(vol[k] * self._wall(k, dist, bc) * F[k, cell]
                                              for k in range(F.shape[0]))) if isinstance(bc, Escape) else 0.0
        return res


class Convection(LocalTerm):
    """``d/dz (U F)``, ``U`` (np,) the net convection speed (Eq. 33, sign per ERRATA §1)."""

    name = "convection"
    channels = ("escape_z_min", "escape_z_max")

    def __init__(self, grid, speed, z_min, z_max):
        self.grid, self.u = grid, np.asarray(speed, dtype=float)
        self.z_min, self.z_max = z_boundary(z_min), z_boundary(z_max)

    def triplets(self, plane) -> Triplets:
        out, idx, vol = Triplets(), plane.index, plane.p_volume
        for k in range(plane.np_):
            c = vol[k] * self.u[k] * 0.5
            pairs = [(idx[k, :-1], idx[k, 1:])]
            if isinstance(self.z_min, Periodic):
                pairs.append((idx[k, -1:], idx[k, :1]))
            for left, right in pairs:  # flux c (F_l + F_r): row left +flux, row right -flux
                out.add(left, right, c); out.add(left, left, c)
                out.add(right, right, -c); out.add(right, left, -c)
            for _, cell, _, sign, bc in _ends(self.grid, self.z_min, self.z_max):
                if isinstance(bc, Escape):
                    out.add(idx[k, cell], idx[k, cell], vol[k] * max(sign * self.u[k], 0.0))
        return out

    def leaving(self, view) -> dict:
        F, vol = view.f, view.plane.p_volume
        res = {}
        for side, cell, _, sign, bc in _ends(self.grid, self.z_min, self.z_max):
            res["escape_" + side] = float(sum(vol[k] * max(sign * self.u[k], 0.0) * F[k, cell]
                                              for k in range(F.shape[0]))) if isinstance(bc, Escape) else 0.0
        return res


class MomentumDiffusion(LocalTerm):
    """``-p^{-2} d/dp (p^2 kappa_pp dF/dp)`` with ``kappa_pp`` (np-1,) at the interior p faces;
    2-point differences (the power-law-exact face derivative is nonlinear in F)."""

    name = "momentum_diffusion"

    def __init__(self, kappa_pp_faces):
        self.kpp_f = np.asarray(kappa_pp_faces, dtype=float)

    def triplets(self, plane) -> Triplets:
        out = Triplets()
        if plane.np_ > 1:
            p, pf, idx = plane.p, plane.p_edges[1:-1], plane.index
            lower, upper = idx[:-1], idx[1:]
            w = plane.width[None, :] * (pf**2)[:, None]
            gpp = w * (self.kpp_f / (p[1:] - p[:-1]))[:, None]
            out.add(lower, upper, -gpp); out.add(lower, lower, gpp)
            out.add(upper, upper, gpp); out.add(upper, lower, -gpp)
        return out
