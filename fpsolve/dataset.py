"""The one description of a result as a dataset: what the HDF5 file holds and what
``Result.to_xarray()`` returns are both built from :func:`describe`, so they cannot disagree.

Coordinates: ``z``, ``mu``, ``p`` (cell centres) and ``z_edges``, ``mu_edges``, ``p_edges`` (each
on its own dimension); ``z`` and ``z_edges`` are absent for homogeneous problems.  Variables
(float64, output order (z, mu, p)): see :data:`FIELDS`.  Attributes: ``converged``,
``trustworthy`` (0/1), ``method``, ``rtol``, ``case_text`` (the case file as read),
``case_resolved`` (the validated case with its overrides, as TOML), ``case_source``,
``fpsolve_version``, ``summary``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["Variable", "Description", "FIELDS", "describe", "internal"]


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
#: ``f_slope`` and ``dF_dz`` exist only for z problems.
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
        coords.append(Variable(name, (name,), np.asarray(centres, dtype=float)))
        coords.append(Variable(f"{name}_edges", (f"{name}_edges",), np.asarray(edges, dtype=float)))
    variables = [Variable(name, dims(kind, g.homogeneous), output(get(result)), {"description": doc})
                 for name, kind, get, doc in FIELDS if not (g.homogeneous and name in Z_ONLY)]
    case, info = result.case, result.info
    attrs = {"converged": int(info.converged), "trustworthy": int(result.trustworthy), "method": str(info.method),
             "rtol": float(info.rtol), "case_text": case.text, "case_resolved": case.resolved_text(),
             "case_source": str(case.origin), "fpsolve_version": str(result.version), "summary": result.summary()}
    return Description(coords, variables, attrs)
