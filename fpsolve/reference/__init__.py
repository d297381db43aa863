"""Independent references for the kinetic solver (they share the physics and the mu conductances,
never the z discretisation).

- :mod:`.slab_modes` — eps = 0 slabs solved exactly in z on a given mu grid (eigen-decomposition of
  the mu-discretised streaming/scattering pencil), and the Milne extrapolation length of the operator;
- :mod:`.source_integrals` — closed-form z integrals of the source shapes.
"""
from .slab_modes import (
    MilneLength,
    PitchOperator,
    SlabModes,
    SlabSolution,
    milne_length,
    pitch_operator,
    reference_for,
    slab_modes,
    solve_slab,
    source_strength,
    wall_graded_edges,
)
from .source_integrals import SourceShape, shape_from_source

__all__ = ["MilneLength", "PitchOperator", "SlabModes", "SlabSolution", "milne_length", "pitch_operator",
           "reference_for", "slab_modes", "solve_slab", "source_strength", "wall_graded_edges", "SourceShape",
           "shape_from_source"]
