r"""Streaming along the field, ``v mu df/dz`` (Eq. 3), upwind linear-discontinuous (DG-1) in z.

Each z cell carries the mean ``a`` and half-slope ``b`` of ``f = a + b xi``, ``xi = 2(z - z_i)/h``.
Integrated over the cell (against 1 and xi) with ``s = v mu dmu V`` (``V = int p^2 dp``):

* mean row:  ``s [fhat_{i+1/2} - fhat_{i-1/2}]``
* slope row: ``s [fhat_{i+1/2} + fhat_{i-1/2} - 2 a_i]``

with the upwind face values ``fhat`` (``a + b`` of the cell below for mu > 0, ``a - b`` of the
cell above for mu < 0) and, on the inflow half of the end faces, the stencil of the z boundary
condition (:mod:`fpsolve.terms.zboundary`).  Channels: ``escape_z_min``, ``escape_z_max``.

**Positivity fixup.**  DG-1 is not positive: in the thin regime (dz <~ 0.03 lambda) the cells
next to a free-escape wall undershoot for the incoming directions, whose exact values are
nearly zero there (slab, lambda = 1, dz = 0.01 lambda: -7.6e-6 of max f), because the
scattering source fed by the neighbouring pitch cells' inflow-side traces is negative at the
wall side of the cell.  No linear second-order scheme is positive, and the linear remedies
measured (lumped LD: worse, -1.5e-4; first-order upwind in the wall cells: 10-100x the z error
in the interior) cost accuracy everywhere.  So the fix is local and solution-driven, like the
negative-flux fixups of discrete-ordinates codes: the (momentum, z, pitch) cells whose mean or
transported trace is negative are *stepped* — transported by their mean (``theta = 0``: outflow
value ``a``, first-order upwind: an M-matrix row with the eps = 0 pitch-angle operator) while their slope
row still defines the DG-1 reconstruction ``b`` — and the problem is solved again
(:func:`positive_solution`; the set only grows, one or two re-solves on the slab).  The fixed
point is again a linear problem ``A f = b``: balance, term contract and solvers are unchanged.
Steady runs apply it through :func:`positive_solution`; a bare ``build_problem`` is plain DG-1.
Cells that never undershoot (every thick case) keep DG-1 exactly.
"""
from __future__ import annotations

import numpy as np

from .base import ZTerm
from .zboundary import Periodic, ZBoundary, z_boundary

__all__ = ["Streaming", "streaming_coefficients", "positive_solution"]


def streaming_coefficients(grid, velocity) -> np.ndarray:
    """``v(p_k) mu_j dmu_j V_k``, (np, nmu)."""
    v = np.asarray(velocity(grid.p), dtype=float)
    return (v * grid.p_volume)[:, None] * (grid.mu * grid.dmu)[None, :]


class Streaming(ZTerm):
    """DG-1 upwind streaming with a :class:`ZBoundary` at each end."""

    name = "streaming"
    channels = ("escape_z_min", "escape_z_max")

    def __init__(self, grid, velocity, z_min: ZBoundary, z_max: ZBoundary, stepped=None):
        self.grid, self.velocity = grid, velocity
        self.z_min, self.z_max = z_boundary(z_min), z_boundary(z_max)
        if isinstance(self.z_min, Periodic) != isinstance(self.z_max, Periodic):
            raise ValueError("z boundaries: periodic must be set at both ends")
        self.z_min.check(grid, "z_min")
        self.z_max.check(grid, "z_max")
        self.stream = streaming_coefficients(grid, velocity)
        shape = (grid.np_, grid.nz, grid.nmu)
        if stepped is not None:
            stepped = np.asarray(stepped, dtype=bool)
            if stepped.shape != shape:
                raise ValueError(f"stepped cells: shape {stepped.shape}, expected (np, nz, nmu) = {shape}")
            if not stepped.any():
                stepped = None
        #: (np, nz, nmu) bool or None: cells transported by their mean (the positivity fixup)
        self.stepped = stepped

    @property
    def theta(self):
        """Slope weight of each cell's transported trace, (np, nz, nmu); None: all 1 (DG-1)."""
        return None if self.stepped is None else np.where(self.stepped, 0.0, 1.0)

    def with_stepped(self, cells) -> "Streaming":
        """The same streaming with ``cells`` (np, nz, nmu bool) stepped in addition."""
        cells = np.asarray(cells, dtype=bool)
        new = cells if self.stepped is None else self.stepped | cells
        return type(self)(self.grid, self.velocity, self.z_min, self.z_max, stepped=new)

    def transported(self, f) -> np.ndarray:
        """The outflow face values the scheme transports, (np, nz, nmu): ``a + theta b`` for
        mu > 0, ``a - theta b`` for mu < 0.  ``f`` (np, nz, nmu, 2)."""
        a, b = f[..., 0], f[..., 1]
        if self.stepped is not None:
            b = np.where(self.stepped, 0.0, b)
        return np.where(self.grid.mu > 0, a + b, a - b)

    def negative_cells(self, f) -> np.ndarray:
        """Cells whose mean or transported trace is negative (np, nz, nmu bool)."""
        f = np.asarray(f).reshape(self.grid.shape)
        return (f[..., 0] < 0) | (self.transported(f) < 0)

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
        if self.stepped is not None:
            out.append(np.ascontiguousarray(self.theta))
        return tuple(out)

    def leaving(self, view) -> dict:
        f, th = view.f, self.theta
        return {"escape_z_min": self.z_min.leaving(self.grid, self.stream, f, "z_min", th),
                "escape_z_max": self.z_max.leaving(self.grid, self.stream, f, "z_max", th)}


def positive_solution(problem, solve, max_rounds: int = 10):
    """Solve ``problem`` and apply the positivity fixup (module docstring) until the cell means and
    transported traces are >= 0: ``(problem, f, info, rounds)``.

    ``solve(problem) -> (f, info)`` (e.g. ``lambda pb: solve_steady(pb, method=..., rtol=...)``);
    ``problem`` a :class:`fpsolve.problem.Problem` (rebuilt through its ``from_terms`` with the
    stepped streaming term).  Each round steps the cells that are negative in the last solution;
    the stepped set only grows, so the loop ends.  Problems without streaming, or with a solution
    that is already non-negative, are returned as solved (``rounds = 0``): one solve, DG-1.
    ``rounds`` reaching ``max_rounds`` with negative cells left is returned as is; the caller's
    minimum-f diagnostics then show them.  A solve that did not converge ends the loop: its
    negative values are those of an unfinished iterate, not of the scheme.
    """
    f, info = solve(problem)
    rounds = 0
    k = next((n for n, t in enumerate(problem.terms) if isinstance(t, Streaming)), None)
    if k is None:
        return problem, f, info, rounds
    while rounds < max_rounds:
        if not getattr(info, "converged", True):
            break  # a solve that stopped early (budget, a checkpoint callback) is returned as it is
        term = problem.terms[k]
        new = term.negative_cells(f)
        if term.stepped is not None:
            new &= ~term.stepped
        if not new.any():
            break
        terms = list(problem.terms)
        terms[k] = term.with_stepped(new)
        problem = type(problem).from_terms(problem.layout, terms, problem.b, problem.physics, problem.timings)
        f, info = solve(problem)
        rounds += 1
    return problem, f, info, rounds
