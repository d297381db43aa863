r"""Streaming along the field, ``v mu df/dz`` (Eq. 3), upwind linear-discontinuous (DG-1) in z.

Each z cell carries the mean ``a`` and half-slope ``b`` of ``f = a + b xi``, ``xi = 2(z - z_i)/h``.
Integrated over the cell (against 1 and xi) with ``s = v mu dmu V`` (``V = int p^2 dp``):

* mean row:  ``s [fhat_{i+1/2} - fhat_{i-1/2}]``
* slope row: ``s [fhat_{i+1/2} + fhat_{i-1/2} - 2 a_i]``

with the upwind face values ``fhat`` (``a + b`` of the cell below for mu > 0, ``a - b`` of the
cell above for mu < 0) and, on the inflow half of the end faces, the stencil of the z boundary
condition (:mod:`fpsolve.terms.zboundary`).  Channels: ``escape_z_min``, ``escape_z_max``.
"""
from __future__ import annotations

import numpy as np

from .base import ZTerm
from .zboundary import Periodic, ZBoundary, z_boundary

__all__ = ["Streaming", "streaming_coefficients"]


def streaming_coefficients(grid, velocity) -> np.ndarray:
    """``v(p_k) mu_j dmu_j V_k``, (np, nmu)."""
    v = np.asarray(velocity(grid.p), dtype=float)
    return (v * grid.p_volume)[:, None] * (grid.mu * grid.dmu)[None, :]


class Streaming(ZTerm):
    """DG-1 upwind streaming with a :class:`ZBoundary` at each end."""

    name = "streaming"
    channels = ("escape_z_min", "escape_z_max")

    def __init__(self, grid, velocity, z_min: ZBoundary, z_max: ZBoundary):
        self.grid, self.velocity = grid, velocity
        self.z_min, self.z_max = z_boundary(z_min), z_boundary(z_max)
        if isinstance(self.z_min, Periodic) != isinstance(self.z_max, Periodic):
            raise ValueError("z boundaries: periodic must be set at both ends")
        self.z_min.check(grid, "z_min")
        self.z_max.check(grid, "z_max")
        self.stream = streaming_coefficients(grid, velocity)

    @classmethod
    def from_physics(cls, grid, physics):
        if grid.homogeneous:
            return None
        return cls(grid, physics.model.velocity, physics.z_left, physics.z_right)

    def kernel_arrays(self, grid) -> tuple:
        out = [self.stream]
        for side, bc in (("z_min", self.z_min), ("z_max", self.z_max)):
            st = bc.inflow(grid, side)
            if st is None:
                st = (-1, np.arange(grid.nmu, dtype=np.int64), np.zeros(2))
            cell, jmap, w = st
            out += [int(cell), np.ascontiguousarray(jmap, dtype=np.int64), np.asarray(w, dtype=float)]
        return tuple(out)

    def leaving(self, view) -> dict:
        f = view.f
        return {"escape_z_min": self.z_min.leaving(self.grid, self.stream, f, "z_min"),
                "escape_z_max": self.z_max.leaving(self.grid, self.stream, f, "z_max")}
