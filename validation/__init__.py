"""Validation problems: the kinetic solution against the paper, one module per problem.

Each module reads like a page: the equation and boundary conditions, the reference (paper
equations, with ERRATA.md corrections), the resolution, named tolerances with their reasons,
``run(out, quick) -> list[Check]`` and ``main()``.  ``fpsolve validate`` runs them all and writes
a Markdown report, a JSON record, HDF5 fields and PNG figures.
"""
PROBLEMS = ["streaming", "compton_getting", "transport", "mixed", "swk", "reduced", "knudsen"]
