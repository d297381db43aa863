"""Retired: the discrete operator now lives in :mod:`fpsolve.problem` (Physics, Problem,
build_problem) and :mod:`fpsolve.terms` (one object per term).  These names are re-exported
only until ``build.py``, ``run.py`` and ``scripts/bench_solver.py`` import from the new modules.
"""
from .problem import Physics, Problem, Source, build_problem

SteadyProblem = Problem  # the old name of the problem type

__all__ = ["Physics", "Source", "SteadyProblem", "build_problem"]
