r"""Continuous and catastrophic losses (Eq. 4 with the sign of Eqs. 52-53): local terms.

* :class:`ContinuousLosses` — ``-p^{-2} d/dp (p^2 b(p) f)``, ``b = |p_dot| >= 0``: advection
  downward in p, upwind from above; no inflow at p_max, free outflow at p_min (channel
  ``outflow_p_min``).
* :class:`CatastrophicLosses` — ``f / T_c``: a volume sink (channel ``catastrophic``).

Both act on any :class:`~fpsolve.terms.base.Plane` (the kinetic (mu, p) plane per unit z mass, or
the reduced model's (z, p) plane): rows are integrated over ``width * p^2 dp``.
"""
from __future__ import annotations

import numpy as np

from .base import LocalTerm, Triplets

__all__ = ["ContinuousLosses", "CatastrophicLosses", "loss_face_weights", "outflow_weights"]


def loss_face_weights(p, pf, gamma, scheme="upwind2"):
    r"""Upwind face values for the loss flux ``p^2 b f`` at interior p faces, from above.

    With ``f~ = f p^gamma`` (smooth for spectra near ``p^-gamma``): ``"upwind1"`` takes
    ``f~_face = f~_{k+1}`` (positive weights, exact for ``p^-gamma``); ``"upwind2"`` extrapolates
    ``f~`` linearly in ``ln p`` from cells k+1 and k+2 (exact for ``p^-gamma (a + b ln p)``,
    second order; first order in the top face).  Returns ``[(cell indices, weights), ...]``
    over the faces ``pf`` (face q between cells q and q+1).
    """
    n = p.size
    q = np.arange(n - 1)
    up1 = q + 1
    if scheme == "upwind1" or n < 3:
        return [(up1, (p[up1] / pf) ** gamma)]
    up2 = np.minimum(q + 2, n - 1)
    t = np.where(up2 > up1, (np.log(pf) - np.log(p[up1])) / np.where(up2 > up1, np.log(p[up1] / p[up2]), 1.0), 0.0)
    # f~_face = (1 + t) f~_{k+1} - t f~_{k+2};  f = f~ p^-gamma at the face
    w1 = (1.0 + t) * (p[up1] / pf) ** gamma
    w2 = -t * (p[up2] / pf) ** gamma
    return [(up1, w1), (up2, w2)]


def outflow_weights(p, p_edge0, gamma, scheme="upwind2"):
    """Face value of f at the lowest p edge (loss outflow), from cells 0 and 1 as in
    :func:`loss_face_weights`; returns ``[(cell, weight), ...]``."""
    if scheme == "upwind1" or p.size < 2:
        return [(0, (p[0] / p_edge0) ** gamma)]
    t = np.log(p_edge0 / p[0]) / np.log(p[0] / p[1])
    return [(0, (1.0 + t) * (p[0] / p_edge0) ** gamma), (1, -t * (p[1] / p_edge0) ** gamma)]


class ContinuousLosses(LocalTerm):
    """``b(p) = |p_dot|``; face values upwind of ``f p^gamma`` (``scheme`` upwind2 | upwind1)."""

    name = "continuous_losses"
    channels = ("outflow_p_min",)

    def __init__(self, rate, p_slope_ref: float = 0.0, scheme: str = "upwind2"):
        if scheme not in ("upwind2", "upwind1"):
            raise ValueError(f"loss scheme = {scheme!r} is not allowed; allowed: upwind2, upwind1")
        self.rate, self.gamma, self.scheme = rate, float(p_slope_ref), scheme

    @classmethod
    def from_physics(cls, grid, physics):
        if physics.loss_rate is None:
            return None
        return cls(physics.loss_rate, physics.p_slope_ref, physics.loss_scheme)

    def triplets(self, plane) -> Triplets:
        out = Triplets()
        nk, nm = plane.np_, plane.nt
        p, pe, width, idx = plane.p, plane.p_edges, plane.width, plane.index
        if nk > 1:
            pf = pe[1:-1]
            lower, upper = idx[:-1], idx[1:]
            bl = width[None, :] * (pf**2)[:, None] * np.asarray(self.rate(pf), dtype=float)[:, None]
            for kk, wk in loss_face_weights(p, pf, self.gamma, self.scheme):
                out.add(lower, kk[:, None] * nm + np.arange(nm)[None, :], -bl * wk[:, None])
                out.add(upper, kk[:, None] * nm + np.arange(nm)[None, :], bl * wk[:, None])
        # outflow at p_min from above; no inflow at p_max
        b0 = width * pe[0] ** 2 * float(np.asarray(self.rate(pe[0])))
        for cell, wk in outflow_weights(p, pe[0], self.gamma, self.scheme):
            out.add(idx[0], idx[cell], b0 * wk)
        return out

    def leaving(self, view) -> dict:
        pe, column = view.plane.p_edges, view.column
        rate = pe[0] ** 2 * float(np.asarray(self.rate(pe[0])))
        return {"outflow_p_min": float(sum(rate * w * column[c].sum()
                                           for c, w in outflow_weights(view.plane.p, pe[0], self.gamma, self.scheme)))}


class CatastrophicLosses(LocalTerm):
    """``f / T_c`` (Eq. 4)."""

    name = "catastrophic_losses"
    channels = ("catastrophic",)

    def __init__(self, tau_c: float):
        self.tau_c = float(tau_c)

    @classmethod
    def from_physics(cls, grid, physics):
        return cls(physics.tau_c) if np.isfinite(physics.tau_c) else None

    def triplets(self, plane) -> Triplets:
        out = Triplets()
        out.add(plane.index, plane.index, plane.width[None, :] * plane.p_volume[:, None] / self.tau_c)
        return out

    def leaving(self, view) -> dict:
        return {"catastrophic": float(np.sum(view.column * view.plane.p_volume[:, None]) / self.tau_c)}
