"""Validation problems: the kinetic solution against the paper, one module per problem.

Each module reads like a page: the equation and boundary conditions, the reference (paper
equations, with ERRATA.md corrections), the resolution, named tolerances with their reasons,
``run(out, quick) -> list[Check]`` and a command line (``python -m fpsolve.validation.NAME``).
``fpsolve validate`` runs them all and writes a Markdown report, a JSON record, HDF5 fields and
PNG figures.  Cases are the bundled ones, by name, changed only through overrides
(``fpsolve.load_case(name, ["grid.z_cells=40", ...])``).  Installed as ``fpsolve.validation``.
"""
PROBLEMS = ["streaming", "compton_getting", "transport", "mixed", "swk", "reduced", "knudsen", "semianalytic",
            "observable", "transient"]
