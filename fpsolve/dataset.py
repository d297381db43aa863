"""The one description of a result as a dataset: what the HDF5 file holds and what
``Result.to_xarray()`` returns are both built from :func:`describe`, so they cannot disagree.

Coordinates: ``z``, ``mu``, ``p`` (cell centres) and ``z_edges``, ``mu_edges``, ``p_edges`` (each
on its own dimension); ``z`` and ``z_edges`` are absent for homogeneous problems.  Variables
(float64, output order (z, mu, p)): see :data:`FIELDS`.  Attributes: ``converged``,
``trustworthy`` (0/1), ``method``, ``rtol``, ``case_text`` (the case file as read),
``case_resolved`` (the validated case with its overrides, as TOML), ``case_source``,
``fpsolve_version``, ``summary``.

Units (CF conventions: every coordinate and variable has ``units`` and ``long_name``, so that
xarray labels its plots): code units (L, m c, c; README "Code units").  Physical cases
(``[units] system = "physical"``) carry, in addition, the case's units: auxiliary coordinates
``z_pc``, ``z_edges_pc`` (pc) and ``p_tev``, ``p_edges_tev`` (TeV/c), and the gradient and flux
fields ``dF_dz_pc`` (per pc), ``dF_dp_tev`` (per TeV/c), ``streaming_flux_kms`` (km/s times the
unit of F); plot with ``ds.F.plot(x="z_pc")``.  The distribution itself is in the normalisation
of ``[source] amplitude`` in both systems.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["Variable", "Description", "FIELDS", "describe", "internal", "physical_scales", "C_KMS"]

#: the code unit of speed, c, in km/s
C_KMS = 299792.458


@dataclass(frozen=True)
class Variable:
    name: str
    dims: tuple
    data: np.ndarray
    attrs: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Description:
    coords: list
    variables: list
    attrs: dict


#: name, dimensions ("full": (z, mu, p), "iso": (z, p)), where it is in a Result, description;
#: ``f_slope`` and ``dF_dz`` exist only for z problems.  Units: :data:`UNITS`.
FIELDS = (
    ("f", "full", lambda r: r.fields.f, "cell means of f0(z, mu, p)"),
    ("f_slope", "full", lambda r: r.f[..., 1], "half-slope b of f = a + b xi, xi = 2(z - z_i)/dz"),
    ("F", "iso", lambda r: r.fields.F, "isotropic part, Eq. (5)"),
    ("g", "full", lambda r: r.fields.g, "anisotropy f - F, Eq. (2)"),
    ("g_da", "full", lambda r: r.fields.g_da, "diffusion-approximation anisotropy, Eq. (7), numerical gradients"),
    ("delta", "iso", lambda r: r.fields.delta, "(f(1) - f(-1))/(f(1) + f(-1)), Eq. (11), signed"),
    ("streaming_flux", "iso", lambda r: r.fields.streaming_flux, "(v/2) sum_j mu_j dmu_j f_j"),
    ("dF_dz", "iso", lambda r: r.fields.dF_dz, "dF/dz from the linear-discontinuous slopes"),
    ("dF_dp", "iso", lambda r: r.fields.dF_dp, "dF/dp, second order in ln p"),
)
Z_ONLY = ("f_slope", "dF_dz")

#: CF ``units`` (code units; "1": dimensionless or the normalisation of the source) and ``long_name``
UNITS = {
    "z": ("L", "position along the mean field z"), "z_edges": ("L", "z cell edges"),
    "mu": ("1", "pitch-angle cosine mu"), "mu_edges": ("1", "mu cell edges"),
    "p": ("m c", "momentum p"), "p_edges": ("m c", "momentum cell edges"),
    "f": ("1", "distribution f0 (cell means)"), "f_slope": ("1", "half-slope of f0 in z"),
    "F": ("1", "isotropic part F"), "g": ("1", "anisotropy g = f0 - F"),
    "g_da": ("1", "anisotropy of the diffusion approximation (Eq. 7)"),
    "delta": ("1", "maximum relative anisotropy delta (Eq. 11)"),
    "streaming_flux": ("c", "streaming flux (v/2) int mu f dmu"),
    "dF_dz": ("L-1", "dF/dz"), "dF_dp": ("(m c)-1", "dF/dp"),
}


def physical_scales(case):
    """``(pc per L, TeV/c per m c)`` of a physical case, None for a code-unit case (nothing runs:
    the unit conversion of :mod:`fpsolve.physics.units`, Eqs. 20-24)."""
    if getattr(case, "system", "code") != "physical":
        return None
    return 1.0 / float(case.length(1.0)), 1.0 / float(case.momentum(1.0))


def probe_label(case, z, p) -> str:
    """``z = 0 pc, p = 10 TeV/c`` (physical cases) or ``z = 0.3 L, p = 0.99995 m c``; no z when it is
    NaN (a homogeneous problem).  The one label of a probe in summaries and figures."""
    scales = physical_scales(case)
    (zs, ps), (zu, pu) = (scales, ("pc", "TeV/c")) if scales is not None else ((1.0, 1.0), ("L", "m c"))
    text = f"p = {p * ps:.6g} {pu}"
    return text if not np.isfinite(z) else f"z = {z * zs:.6g} {zu}, {text}"


def _attrs(name, doc=None):
    units, long_name = UNITS[name]
    out = {"units": units, "long_name": long_name}
    if doc is not None:
        out["description"] = doc
    return out


def dims(kind: str, homogeneous: bool) -> tuple:
    return (() if homogeneous else ("z",)) + (("mu", "p") if kind == "full" else ("p",))


def output(a) -> np.ndarray:
    """Internal (p, z, mu) / (p, mu) / (p, z) -> output (z, mu, p) / (mu, p) / (z, p), contiguous."""
    return np.ascontiguousarray(np.moveaxis(np.asarray(a, dtype=float), 0, -1))


def internal(a) -> np.ndarray:
    """The inverse of :func:`output`."""
    return np.moveaxis(np.asarray(a), -1, 0)


def describe(result) -> Description:
    """Coordinates, variables and attributes of a result (HDF5 root group = xarray Dataset)."""
    g = result.grid
    axes = (("mu", g.mu, g.mu_edges), ("p", g.p, g.p_edges)) + (() if g.homogeneous else (("z", g.z, g.z_edges),))
    coords = []
    for name, centres, edges in axes:
        coords.append(Variable(name, (name,), np.asarray(centres, dtype=float), _attrs(name)))
        coords.append(Variable(f"{name}_edges", (f"{name}_edges",), np.asarray(edges, dtype=float),
                               _attrs(f"{name}_edges")))
    variables = [Variable(name, dims(kind, g.homogeneous), output(get(result)), _attrs(name, doc))
                 for name, kind, get, doc in FIELDS if not (g.homogeneous and name in Z_ONLY)]
    scales = physical_scales(result.case)
    if scales is not None:
        pc, tev = scales
        extra = [("p", g.p, g.p_edges, tev, "tev", "TeV/c")]
        if not g.homogeneous:
            extra.insert(0, ("z", g.z, g.z_edges, pc, "pc", "pc"))
        for name, centres, edges, k, suffix, unit in extra:
            coords.append(Variable(f"{name}_{suffix}", (name,), np.asarray(centres, dtype=float) * k,
                                   {"units": unit, "long_name": UNITS[name][1]}))
            coords.append(Variable(f"{name}_edges_{suffix}", (f"{name}_edges",), np.asarray(edges, dtype=float) * k,
                                   {"units": unit, "long_name": UNITS[f"{name}_edges"][1]}))
        by_name = {v.name: v for v in variables}
        for name, new, k, unit in (("dF_dz", "dF_dz_pc", 1.0 / pc, "pc-1"), ("dF_dp", "dF_dp_tev", 1.0 / tev, "(TeV/c)-1"),
                                   ("streaming_flux", "streaming_flux_kms", C_KMS, "km s-1")):
            if name in by_name:
                v = by_name[name]
                variables.append(Variable(new, v.dims, v.data * k, {"units": unit, "long_name": UNITS[name][1]}))
    case, info = result.case, result.info
    attrs = {"converged": int(info.converged), "trustworthy": int(result.trustworthy), "method": str(info.method),
             "rtol": float(info.rtol), "case_text": case.text, "case_resolved": case.resolved_text(),
             "case_source": str(case.origin), "fpsolve_version": str(result.version), "summary": result.summary()}
    return Description(coords, variables, attrs)
