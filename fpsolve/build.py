"""Case -> the discrete problem's inputs: the tensor ``Grid`` and the ``Physics`` of the operator.

Every value comes from the typed, validated :class:`~fpsolve.case.Case` (unit conversion of
physical cases included: ``Case.length``, ``Case.momentum``, ``Case.time``); nothing here reads
case values by name or re-checks them.  This module imports :mod:`fpsolve.case`, never the
reverse.
"""
from __future__ import annotations

from .case import Case
from .grid import Grid
from .problem import Physics, Source

__all__ = ["build_grid", "build_physics"]


def build_grid(case: Case) -> Grid:
    """The tensor grid of a run case (code units)."""
    return case.make_grid()


def build_physics(case: Case) -> Physics:
    """Coefficients, source, losses and boundary conditions of a run case (code units)."""
    src, bd, lo = case.source, case.boundaries, case.losses
    source = Source(kind=src.kind, amplitude=src.amplitude, q=src.spectral_index, p0=float(case.momentum(src.p0)),
                    centre=float(case.length(src.centre)), width=float(case.length(src.width)))
    return Physics(model=case.turbulence_model(), source=source, loss_rate=case.loss_rate(),
                   tau_c=float(case.time(lo.catastrophic_time)), p_slope_ref=float(src.spectral_index),
                   loss_scheme=lo.scheme, z_left=bd.z_min, z_right=bd.z_max, p_diffusion_bc=bd.p_diffusion)
