r"""Probe physics: the kinetic anisotropy at a position z and momentum p against the diffusion
approximation.

At each probe: F and g = f - F from the cell means interpolated to z (:func:`interpolate_z`),
the Eq. (7) prediction g_s + g_c with the numerical gradients interpolated the same way, the
streaming amplitude — the least-squares coefficient of the Eq. (38) shape |mu|^{2-s} sgn mu
(:func:`~fpsolve.result.streaming_coefficient`) over F' — against Eq. (38)
-(4 - s) kappa_zz/v with kappa_zz by quadrature (Eq. 9), and for eps > 0 the Compton–Getting
anisotropy of Eq. (39) (corrected, Eq. 28 form).  The closed forms apply to slab Alfvén waves
only; other coefficient sets get NaN there.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .physics import compton_getting_closed, pitch_integrals, streaming_amplitude_closed
from .result import interpolate_z, streaming_coefficient

__all__ = ["Probe", "evaluate_probes"]


@dataclass
class Probe:
    """Kinetic anisotropy at (z, p) against the diffusion approximation."""

    z: float | None
    p: float
    F: float
    g_over_F: np.ndarray  # kinetic g(mu)/F at the grid's mu
    g_da_over_F: np.ndarray  # Eq. (7) with the numerical gradients
    rel_err_da: float  # max |g - g_da| / max |g_da|
    streaming_amplitude: float  # kinetic: fit of g/(F'|mu|^{2-s} sgn mu) (z problems)
    streaming_amplitude_eq38: float  # -(4-s) kappa_zz / v (Eq. 38, quadrature kappa)
    g_eq39_over_F: np.ndarray | None  # Eq. (39) corrected (Eq. 28 form) / F


def evaluate_probes(case, grid, model, fields, f) -> list[Probe]:
    """The probes of a case (``[probes]`` z and p, code units) on a solution ``f`` with ``fields``."""
    out = []
    s = getattr(model, "s", None)  # closed forms (Eqs. 38, 39) only for slab Alfvén waves
    positions = case.probe_positions()
    zs = [None] if grid.homogeneous else ([] if positions is None else positions)
    for p0 in case.probe_momenta():
        k = int(np.argmin(np.abs(np.log(grid.p / p0))))
        pk = grid.p[k]
        kzz = float(pitch_integrals(model, np.array([pk])).kappa_zz[0])
        v = float(model.velocity(pk))
        amp38 = streaming_amplitude_closed(s=s, kappa_zz=kzz, v=v) if s is not None else np.nan
        eps = float(model.eps(pk)) if hasattr(model, "eps") else 0.0
        for z in zs:
            if z is None:
                F = fields.F[k]
                g = fields.f[k] - F
                gda = fields.g_da[k]
                dfdp = fields.dF_dp[k]
                amp = np.nan
            else:
                fz = interpolate_z(grid, f[..., 0], z)[k]
                F = 0.5 * np.sum(fz * grid.dmu)
                g = fz - F
                dfdz = interpolate_z(grid, fields.dF_dz, z)[k]  # gradients interpolated like the cell means
                dfdp = interpolate_z(grid, fields.dF_dp, z)[k]
                gda = fields.a_s[k] * dfdz + fields.a_c[k] * dfdp
                amp = streaming_coefficient(g, grid, s) / dfdz if s is not None and dfdz != 0 else np.nan
            cg = None
            if eps > 0:
                cg = compton_getting_closed(grid.mu, eps=eps, p=pk, hc=model.hc, s=s, form="eq28") * dfdp / F
            rel = float(np.max(np.abs(g - gda)) / np.max(np.abs(gda))) if np.any(gda) else float("nan")
            out.append(Probe(z, pk, float(F), g / F, gda / F, rel, float(amp), float(amp38), cg))
    return out
