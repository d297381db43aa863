r"""Boundary conditions of the z ends (kinetic streaming; the reduced model reads them too).

One class per condition, attached to ``z_min`` or ``z_max``.  For the DG-1 upwind streaming a
condition is its *inflow stencil*: the face value seen by the particles entering the domain
(``mu > 0`` at ``z_min``, ``mu < 0`` at ``z_max``) as ``w_a a + w_b b`` of one z cell and a
pitch cell map — or no inflow.  ``w_b`` multiplies the slope of an outgoing trace; the kernel
and :meth:`ZBoundary.leaving` weight it by that cell's slope weight ``theta`` (1 for DG-1, 0
for a cell the positivity fixup transports by its mean).  The kernel knows nothing else about boundaries.

* :class:`Escape` — free escape: nothing enters (f = 0 on the inflow half of the face).
* :class:`Periodic` — the inflow is the outgoing trace of the opposite end (both ends periodic).
* :class:`Mirror` — reflection, ``f(z_b, mu) = f(z_b, -mu)``: the inflow at ``mu`` is the
  outgoing trace at ``-mu`` of the boundary cell (needs a mu grid symmetric about 0).

Adding a condition: a subclass with ``inflow`` (and ``leaving`` if its net flux is not the
plain upwind flux), plus its name in :data:`BY_NAME` if cases should select it.
"""
from __future__ import annotations

import numpy as np

from .base import from_name

__all__ = ["ZBoundary", "Escape", "Periodic", "Mirror", "BY_NAME", "z_boundary"]


class ZBoundary:
    """A z-end condition.  ``side`` is ``"z_min"`` or ``"z_max"`` everywhere below."""

    name = "?"

    def check(self, grid, side):
        """Raise ``ValueError`` (one line) if the condition cannot be used on ``grid``."""

    def inflow(self, grid, side):
        """``(cell, j_map, w)``: the inflow face value at pitch cell ``j`` is
        ``w[0] a + w[1] b`` of z cell ``cell``, pitch cell ``j_map[j]``; ``None``: no inflow."""
        raise NotImplementedError

    def leaving(self, grid, s, f, side, theta=None) -> float:
        r"""Particles leaving through this end per unit time: ``-+ sum_j s_j fhat_j`` over the
        upwind face values (outgoing traces, and the inflow stencil for the incoming half).
        ``s = v mu dmu V`` (np, nmu); ``f`` (np, nz, nmu, 2); ``theta`` (np, nz, nmu) or None: the
        slope weight of each cell's transported trace (:class:`fpsolve.terms.streaming.Streaming`)."""
        b = f[..., 1] if theta is None else theta * f[..., 1]
        if side == "z_min":
            out, trace, sign = s < 0, f[:, 0, :, 0] - b[:, 0, :], -1.0
        else:
            out, trace, sign = s > 0, f[:, -1, :, 0] + b[:, -1, :], 1.0
        stencil = self.inflow(grid, side)
        if stencil is None:
            return float(np.sum(np.where(out, sign * s * trace, 0.0)))
        cell, jmap, w = stencil
        inflow = w[0] * f[:, cell, jmap, 0] + w[1] * b[:, cell, jmap]
        return float(np.sum(np.where(out, sign * s * trace, sign * s * inflow)))

    def __repr__(self):
        return f"{type(self).__name__}()"

    def __eq__(self, other):
        return type(self) is type(other) and vars(self) == vars(other)

    def __hash__(self):
        return hash((type(self).__name__, tuple(sorted(vars(self).items()))))


class Escape(ZBoundary):
    """Free escape: no inflow.  ``extrapolation``: for the reduced diffusion model only, F = 0 at
    the wall moved out by this many mean free paths (Milne length 0.7104); the kinetic streaming
    does not use it."""

    name = "escape"

    def __init__(self, extrapolation: float = 0.0):
        self.extrapolation = float(extrapolation)

    def inflow(self, grid, side):
        return None


class Periodic(ZBoundary):
    """Periodic: the inflow at one end is the outgoing trace of the other (both ends periodic).
    The wrapped face is interior to the periodic domain: nothing leaves through it."""

    name = "periodic"

    def inflow(self, grid, side):
        same = np.arange(grid.nmu, dtype=np.int64)
        if side == "z_min":
            return grid.nz - 1, same, np.array([1.0, 1.0])  # a + b of the last cell
        return 0, same, np.array([1.0, -1.0])  # a - b of the first cell

    def leaving(self, grid, s, f, side, theta=None) -> float:
        return 0.0


class Mirror(ZBoundary):
    """Reflection ``f(z_b, mu) = f(z_b, -mu)``; the net flux through the face vanishes
    (to round-off: :meth:`ZBoundary.leaving` evaluates it, so a broken stencil shows)."""

    name = "mirror"

    def check(self, grid, side):
        if not np.allclose(grid.mu_edges, -grid.mu_edges[::-1], rtol=0, atol=1e-15):
            raise ValueError(f"{side} = 'mirror' needs a mu grid symmetric about 0")

    def inflow(self, grid, side):
        flipped = np.arange(grid.nmu, dtype=np.int64)[::-1].copy()
        if side == "z_min":
            return 0, flipped, np.array([1.0, -1.0])  # outgoing trace a - b at -mu
        return grid.nz - 1, flipped, np.array([1.0, 1.0])  # outgoing trace a + b at -mu


#: Case names -> classes (the ``[boundaries] z_min / z_max`` keys).
BY_NAME = {"escape": Escape, "periodic": Periodic, "mirror": Mirror}


def z_boundary(value) -> ZBoundary:
    """A :class:`ZBoundary` from a case name or an instance."""
    return from_name(value, ZBoundary, BY_NAME, "z boundary")
