r"""Probe physics: the kinetic anisotropy at the requested position z and momentum p against the
diffusion approximation.

A probe is evaluated at the (z, p) the case asks for, not at the nearest cell: under refinement
the nearest cell centre moves, and a value read there would converge at the rate of that drift
(and change its name).  In z the cell means are interpolated linearly between cell centres
(:func:`~fpsolve.result.interpolate_z`, constant beyond the outer z centres: first order there); in p,
between the two neighbouring momentum centres, linearly in ln p — F geometrically (ln F linear in
ln p: exact for a power law), g/F, d ln F/d ln p, (dF/dz)/F and delta linearly — and extrapolated the
same way over the half cell between p_min (p_max) and the outer centre.  Second order in the cell
size (the scheme's own order); the probe says how it was placed.  The Eq. (7) shapes, the
Eq. (9) kappa_zz and the closed forms are evaluated at the requested momentum itself.

At each probe: F and g = f - F, the Eq. (7) prediction g_s + g_c with the interpolated numerical
gradients, the streaming amplitude — the least-squares coefficient of the Eq. (38) shape
|mu|^{2-s} sgn mu (:func:`~fpsolve.result.streaming_coefficient`) over F' — against Eq. (38)
-(4 - s) kappa_zz/v with kappa_zz by quadrature (Eq. 9), and for eps > 0 the Compton–Getting
anisotropy of Eq. (39) (corrected, Eq. 28 form).  The closed forms apply to slab Alfvén waves
only; other coefficient sets get NaN there.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .physics import anisotropy_shapes, compton_getting_closed, pitch_integrals, streaming_amplitude_closed
from .result import interpolate_z, streaming_coefficient

__all__ = ["Probe", "evaluate_probes", "p_weights", "z_placement"]

#: A requested coordinate within this relative distance of a cell centre is read at that centre.
ON_CENTRE = 1e-12


@dataclass
class Probe:
    """Kinetic anisotropy at the requested (z, p) against the diffusion approximation."""

    z: float | None  # requested position (None: homogeneous problem)
    p: float  # requested momentum
    F: float
    g_over_F: np.ndarray  # kinetic g(mu)/F at the grid's mu
    g_da_over_F: np.ndarray  # Eq. (7) with the numerical gradients
    rel_err_da: float  # max |g - g_da| / max |g_da|
    streaming_amplitude: float  # kinetic: fit of g/(F'|mu|^{2-s} sgn mu) (z problems)
    streaming_amplitude_eq38: float  # -(4-s) kappa_zz / v (Eq. 38, quadrature kappa)
    g_eq39_over_F: np.ndarray | None  # Eq. (39) corrected (Eq. 28 form) / F
    dF_dz: float = float("nan")  # numerical gradients at the probe (NaN without z)
    dF_dp: float = float("nan")
    delta: float = float("nan")  # Eq. (11), signed
    placement: str = "at a cell centre"  # how (z, p) sits on the grid: "at a cell centre" or the interpolation

    @property
    def interpolated(self) -> bool:
        """Evaluated between cell centres (or held beyond the outer ones), not at a centre."""
        return self.placement != "at a cell centre"


def p_weights(p_centres, p0):
    """``(cells, weights, note)`` of the linear interpolation in ln p between momentum centres to ``p0``
    (extrapolation from the two outer centres beyond them — the probe is inside [p_min, p_max], so at
    most half a cell; the value of the only cell for one momentum cell; note None at a centre)."""
    lp, x = np.log(np.asarray(p_centres, dtype=float)), float(np.log(p0))
    if lp.size == 1:
        return [0], [1.0], None if abs(x - lp[0]) <= ON_CENTRE * max(1.0, abs(lp[0])) else "p held (1 momentum cell)"
    i = int(np.clip(np.searchsorted(lp, x) - 1, 0, lp.size - 2))
    t = (x - lp[i]) / (lp[i + 1] - lp[i])
    if abs(t) <= ON_CENTRE or abs(1 - t) <= ON_CENTRE:
        return [i + int(round(t))], [1.0], None
    if t < 0 or t > 1:  # between p_min (p_max) and the outer centre: at most half a cell, still second order
        return [i, i + 1], [1.0 - t, t], "p extrapolated beyond the outer momentum centre (in ln p)"
    return [i, i + 1], [1.0 - t, t], "p interpolated between cell centres (in ln p)"


def z_placement(z_centres, z0):
    """None if ``z0`` is a cell centre, else how :func:`~fpsolve.result.interpolate_z` reaches it."""
    zc = np.asarray(z_centres, dtype=float)
    scale = max(1.0, float(np.max(np.abs(zc))))
    if np.min(np.abs(zc - z0)) <= ON_CENTRE * scale:
        return None
    if zc.size == 1 or z0 < zc[0] or z0 > zc[-1]:
        return "z held at the outer cell centre"
    return "z interpolated between cell centres"


def _combine(values, cells, weights):
    return sum(w * values[c] for c, w in zip(cells, weights))


def _geometric(values, cells, weights):
    """Geometric interpolation (ln linear in ln p) where every value is positive, else linear."""
    vals = np.array([values[c] for c in cells], dtype=float)
    if np.all(vals > 0):
        return float(np.exp(np.sum(np.asarray(weights) * np.log(vals))))
    return float(np.sum(np.asarray(weights) * vals))


def evaluate_probes(case, grid, model, fields, f) -> list[Probe]:
    """The probes of a case (``[probes]`` z and p, code units) on a solution ``f`` with ``fields``."""
    out = []
    s = getattr(model, "s", None)  # closed forms (Eqs. 38, 39) only for slab Alfvén waves
    positions = case.probe_positions()
    zs = [None] if grid.homogeneous else ([] if positions is None else positions)
    mu, dmu = grid.mu, grid.dmu
    for p0 in case.probe_momenta():
        p0 = float(p0)
        cells, weights, p_note = p_weights(grid.p, p0)
        kzz = float(pitch_integrals(model, np.array([p0])).kappa_zz[0])
        v = float(model.velocity(p0))
        amp38 = streaming_amplitude_closed(s=s, kappa_zz=kzz, v=v) if s is not None else np.nan
        eps = float(model.eps(p0)) if hasattr(model, "eps") else 0.0
        shapes = anisotropy_shapes(model, mu, np.array([p0]))
        a_s, a_c = shapes.a_s[0], shapes.a_c[0]
        for z in zs:
            if z is None:
                means, delta = fields.f, fields.delta  # (np, nmu), (np,)
                z_note, dlnf_dz = None, None
            else:
                z_note = z_placement(grid.z, z)
                means = interpolate_z(grid, f[..., 0], z)  # (np, nmu)
                delta = interpolate_z(grid, fields.delta, z)
            Fk = 0.5 * means @ dmu  # F of every momentum plane at z
            with np.errstate(divide="ignore", invalid="ignore"):
                dlnf_dlnp = fields.dF_dp if z is None else interpolate_z(grid, fields.dF_dp, z)
                dlnf_dlnp = grid.p * dlnf_dlnp / Fk
                if z is not None:  # gradients interpolated like the cell means
                    dlnf_dz = interpolate_z(grid, fields.dF_dz, z) / Fk
                g_over_F_k = means / Fk[:, None] - 1.0
            F = _geometric(Fk, cells, weights)
            g = _combine(g_over_F_k, cells, weights) * F
            dfdp = float(_combine(dlnf_dlnp, cells, weights)) * F / p0
            dfdz = float(_combine(dlnf_dz, cells, weights)) * F if z is not None else float("nan")
            gda = a_c * dfdp + (a_s * dfdz if z is not None else 0.0)
            amp = np.nan
            if z is not None and s is not None and dfdz != 0:
                amp = streaming_coefficient(g, grid, s) / dfdz
            cg = None
            if eps > 0:
                cg = compton_getting_closed(mu, eps=eps, p=p0, hc=model.hc, s=s, form="eq28") * dfdp / F
            rel = float(np.max(np.abs(g - gda)) / np.max(np.abs(gda))) if np.any(gda) else float("nan")
            notes = [n for n in (z_note, p_note) if n]
            out.append(Probe(None if z is None else float(z), p0, float(F), g / F, gda / F, rel, float(amp),
                             float(amp38), cg, dfdz, dfdp, float(_combine(delta, cells, weights)),
                             "; ".join(notes) if notes else "at a cell centre"))
    return out
