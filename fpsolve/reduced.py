r"""The diffusion-approximation model: Eq. (34) for F(z, p) on the kinetic grid (GALPROP-like).

.. math::
    -\partial_z[\kappa_{zz}\partial_z F - U F] - p^{-2}\partial_p[p^2\kappa_{pp}\partial_p F]
    - p^{-2}\partial_p[p^2 b F] + F/T_c = S

(corrected Eq. 34: convection at ``+U = (4p^2)^{-1} d(p^2 v H_0)/dp``, kappa_pp of Eq. 9 with its
factor 1/2; ERRATA.md §1), with ``kappa_zz``, ``kappa_pp``, ``U`` from the quadratures of the same
coefficient set (Eqs. 9, 10, 33).  A different set of terms on the same machinery as the kinetic
problem (:mod:`fpsolve.terms.diffusion_model` plus the kinetic loss terms and source on the
(z, p) plane of cell means).  z walls: ``F = 0`` at the walls (the usual diffusion model),
``F = 0`` at walls extrapolated by ``milne * lambda``, mirror, or periodic.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse.linalg as spla

from .physics import convection_speed, pitch_integrals
from .problem import Problem, reduced_layout
from .terms import (CatastrophicLosses, ContinuousLosses, Convection, Escape, MomentumDiffusion, SourceTerm,
                    SpatialDiffusion, z_boundary)

__all__ = ["solve_reduced", "reduced_problem"]


def reduced_problem(grid, physics, milne: float = 0.0) -> Problem:
    """Eq. (34) on the (z, p) plane of ``grid`` as a :class:`Problem`; ``milne`` in mean free paths
    (the extrapolation of the escape walls)."""
    layout = reduced_layout(grid)
    model, p, pe = physics.model, grid.p, grid.p_edges
    ends = []
    for bc in (physics.z_left, physics.z_right):
        bc = z_boundary(bc)
        ends.append(Escape(milne) if isinstance(bc, Escape) else bc)
    kzz = pitch_integrals(model, p).kappa_zz
    u = convection_speed(model, p) if getattr(model, "va", 0.0) > 0 else np.zeros(grid.np_)
    kpp_f = pitch_integrals(model, pe[1:-1]).kappa_pp if grid.np_ > 1 else np.zeros(0)
    terms = [SpatialDiffusion(grid, kzz, model.velocity, *ends), Convection(grid, u, *ends),
             MomentumDiffusion(kpp_f), ContinuousLosses.from_physics(grid, physics),
             CatastrophicLosses.from_physics(grid, physics)]
    return Problem.from_terms(layout, terms, SourceTerm(physics.source).reduced_vector(grid), physics)


def solve_reduced(grid, physics, milne: float = 0.0):
    """F(p, z) (cell means) of Eq. (34) for the kinetic grid and physics; ``milne`` in mean free paths."""
    pb = reduced_problem(grid, physics, milne)
    return spla.spsolve(pb.A.tocsc(), pb.b).reshape(pb.layout.shape)
