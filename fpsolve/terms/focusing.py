r"""Adiabatic focusing in a static guide field of constant focusing length ``L_B`` (``Physics.focusing_length``).

The focused transport equation (Roelof 1969; e.g. Ruffolo 1995, ApJ 442:861, Eq. 1) adds to the
left side of Eq. (3) ``v (1 - mu^2)/(2 L_B) df/dmu``, ``1/L_B = -(1/B) dB/dz`` (``L_B > 0``: the
field weakens along +z and pitch angles focus towards mu = +1).  In the conservative form of a
flux tube of cross-section ``A(z) ∝ 1/B`` the unknown is the density per unit tube length and
per unit z (``A f``), for which streaming ``d/dz (v mu A f)`` and focusing are both divergences:

.. math::
    \partial_\mu\Big[\frac{v(1-\mu^2)}{2L_B}\,f\Big],

the form used here (the advective form differs from it by ``v mu f / L_B``, which is exactly the
``A'/A`` part of the streaming divergence).  The flux vanishes at mu = +-1: the term conserves
particles exactly and has no balance channel.

Finite volumes per unit z mass, rows ``k * nmu + j`` over ``dmu p^2 dp``: the flux through the
interior mu face ``mu_f`` is ``V_k v_k (1 - mu_f^2)/(2 L_B) f_f`` with ``f_f`` extrapolated
linearly from the two upwind cells (second order; next to mu = -+1, where only one upwind cell
exists, interpolated between the two cells of the face).
"""
from __future__ import annotations

import numpy as np

from .base import LocalTerm, Triplets

__all__ = ["AdiabaticFocusing"]


class AdiabaticFocusing(LocalTerm):
    """``d/dmu [v (1 - mu^2)/(2 L_B) f]`` with constant ``focusing_length`` ``L_B`` (signed)."""

    name = "adiabatic_focusing"

    def __init__(self, grid, velocity, focusing_length: float):
        if not (np.isfinite(focusing_length) and focusing_length != 0.0):
            raise ValueError(f"focusing_length = {focusing_length!r} is not allowed; allowed: finite, != 0")
        self.grid, self.velocity, self.length = grid, velocity, float(focusing_length)

    @classmethod
    def from_physics(cls, grid, physics):
        L = physics.focusing_length
        return None if np.isinf(L) else cls(grid, physics.model.velocity, L)

    def face_weights(self):
        """Upwind cells ``c1``, ``c2`` and ``t`` of ``f_f = (1 + t) f_c1 - t f_c2`` per interior face."""
        mu, mf = self.grid.mu, self.grid.mu_edges[1:-1]
        j = np.arange(mf.size)  # face j lies between cells j and j + 1
        if self.length > 0:  # flux towards +mu: upwind cells j, j - 1 (j + 1 at the first face)
            c1, c2 = j, np.where(j > 0, j - 1, j + 1)
        else:
            c1, c2 = j + 1, np.where(j + 2 < mu.size, j + 2, j)
        return c1, c2, (mf - mu[c1]) / (mu[c1] - mu[c2])

    def triplets(self, plane) -> Triplets:
        out, idx = Triplets(), plane.index
        mf = self.grid.mu_edges[1:-1]
        v = np.asarray(self.velocity(plane.p), dtype=float)
        flux = (plane.p_volume * v)[:, None] * ((1.0 - mf**2) / (2.0 * self.length))[None, :]  # (np, nmu-1)
        c1, c2, t = self.face_weights()
        lower, upper = idx[:, :-1], idx[:, 1:]
        for cell, w in ((c1, 1.0 + t), (c2, -t)):
            out.add(lower, idx[:, cell], flux * w[None, :])
            out.add(upper, idx[:, cell], -flux * w[None, :])
        return out
