r"""The source ``S(z, p) = amplitude * shape(z) * (p/p0)^{-q}``: the right-hand side ``b`` and the
injected number (the one positive entry of the particle balance).

Integrated exactly over each cell (and against ``xi`` for the slope rows of the DG-1 z
representation), so that the sum of the mean rows of ``b`` is the injected number.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import erf

__all__ = ["Source", "SourceTerm", "p_integral", "z_moments"]


@dataclass(frozen=True)
class Source:
    r"""``S(z, p) = amplitude * shape(z) * (p/p0)^{-q}`` with a unit-integral shape.

    kind: ``"uniform"`` (S_z = 1/length, or 1 for homogeneous problems), ``"layer"``
    (Theta(z_u - |z|), not normalised: S_z = 1 inside, as Eq. 60), ``"point"`` (delta(z - z_i),
    deposited so that the injected number is exact), ``"gaussian"`` (centre, sigma, unit integral).
    """

    kind: str = "uniform"
    amplitude: float = 1.0
    q: float = 4.0
    p0: float = 1.0
    centre: float = 0.0
    width: float = 0.0  # z_u for layers, sigma for Gaussians


def p_integral(src: Source, pe):
    """``int p^2 (p/p0)^-q dp`` over each momentum cell, exact."""
    a = 3.0 - src.q
    if abs(a) < 1e-12:
        return src.p0**3 * np.diff(np.log(pe))
    return src.p0**src.q * np.diff(pe**a) / a


def z_moments(src: Source, ze, length):
    """Integrals of S_z over each z cell against 1 and xi = 2(z - z_i)/h: arrays (nz, 2)."""
    zc, h = 0.5 * (ze[1:] + ze[:-1]), np.diff(ze)
    m = np.zeros((zc.size, 2))
    if src.kind == "uniform":
        m[:, 0] = h / length
    elif src.kind == "layer":
        a = np.clip(ze[:-1], -src.width, src.width)
        b = np.clip(ze[1:], -src.width, src.width)
        m[:, 0] = b - a
        m[:, 1] = ((b - zc) ** 2 - (a - zc) ** 2) / h
    elif src.kind == "gaussian":
        s2 = np.sqrt(2.0) * src.width
        ea, eb = erf((ze[:-1] - src.centre) / s2), erf((ze[1:] - src.centre) / s2)
        ga = np.exp(-((ze[:-1] - src.centre) ** 2) / (2 * src.width**2)) / np.sqrt(2 * np.pi)
        gb = np.exp(-((ze[1:] - src.centre) ** 2) / (2 * src.width**2)) / np.sqrt(2 * np.pi)
        m[:, 0] = 0.5 * (eb - ea)
        m[:, 1] = (2.0 / h) * (-src.width * (gb - ga) + (src.centre - zc) * m[:, 0])
    elif src.kind == "point":
        inside = np.flatnonzero((ze[:-1] <= src.centre) & (src.centre <= ze[1:]))
        share = 1.0 / inside.size  # a point on an edge is split between the two cells
        for i in inside:
            m[i, 0] += share
            m[i, 1] += share * 2.0 * (src.centre - zc[i]) / h[i]
    else:
        raise ValueError(f"source kind = {src.kind!r} is not allowed; allowed: uniform, layer, point, gaussian")
    return m


class SourceTerm:
    """The source on a grid: ``vector`` (b; b(t) for a future stepper is this times a time
    profile) and ``injected(b)`` (sum of the mean rows)."""

    name = "source"

    def __init__(self, source: Source):
        self.source = source

    def kinetic_vector(self, grid) -> np.ndarray:
        """b of the kinetic problem: rows integrated over ``dz dmu p^2 dp`` (and against xi)."""
        src = self.source
        sp_ = src.amplitude * p_integral(src, grid.p_edges)  # (nk,)
        if grid.homogeneous:
            return (sp_[:, None] * grid.dmu[None, :]).ravel()
        ze = grid.z_edges
        zm = z_moments(src, ze, ze[-1] - ze[0])  # (nz, 2)
        return (sp_[:, None, None, None] * zm[None, :, None, :] * grid.dmu[None, None, :, None]).ravel()

    def reduced_vector(self, grid) -> np.ndarray:
        """b of the reduced model on the (z, p) plane: rows integrated over ``dz p^2 dp``."""
        src, ze = self.source, grid.z_edges
        return ((src.amplitude * p_integral(src, grid.p_edges))[:, None]
                * z_moments(src, ze, ze[-1] - ze[0])[None, :, 0]).ravel()
