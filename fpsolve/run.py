"""The main job: case -> build -> solve -> diagnose -> :class:`~fpsolve.result.Result`.

The pieces live elsewhere: :mod:`fpsolve.build` (grid and physics), :mod:`fpsolve.solvers`,
:mod:`fpsolve.result` (fields, balance, min f), :mod:`fpsolve.probes` (probe physics),
:mod:`fpsolve.warmup` (kernel compilation), :mod:`fpsolve.summary` (the text).
"""
from __future__ import annotations

import logging
import resource
import time

from .build import build_grid, build_physics
from .case import Case, check_run_limits
from .problem import build_problem
from .probes import evaluate_probes
from .result import Result, compute_fields, min_f, particle_balance
from .solvers import solve_steady
from .terms.streaming import positive_solution
from .warmup import compile_kernels

__all__ = ["solve", "compile_kernels"]

log = logging.getLogger(__name__)


def solve(case: Case, *, restart=None, callback=None) -> Result:
    """Build, solve and diagnose a case; returns a :class:`Result` (never writes files).

    ``restart``: a :class:`~fpsolve.solvers.MarchState` to continue (the march then resumes
    exactly); ``callback(state)``: called after every pseudo-time step (progress, checkpoints).
    Raises ``CaseError`` for bad input and ``NumericalError`` if NaN/Inf appears.
    """
    check_run_limits(case)
    t0 = time.perf_counter()
    compile_s = compile_kernels()
    log.info("kernels ready (compile or cache load) in %.2f s", compile_s)
    grid = build_grid(case)
    physics = build_physics(case)
    problem = build_problem(grid, physics)
    log.info("coefficients %.2f s, assembly %.2f s: %d unknowns, %d non-zeros", problem.timings.get("coefficients_s", 0.0),
             problem.timings.get("assembly_s", 0.0), problem.A.shape[0], problem.A.nnz)
    method = "march" if restart is not None else case.solver.method
    first = problem

    def steady(pb):
        # the march state and its callback (checkpoints) belong to the first problem; the positivity
        # re-solves (stepped streaming cells, fpsolve.terms.streaming) start fresh
        return solve_steady(pb, method=method, rtol=case.solver.rtol, max_steps=case.solver.max_steps,
                            memory_limit_gb=case.solver.memory_limit_gb,
                            state=restart if pb is first else None, callback=callback if pb is first else None)

    problem, f, info, rounds = positive_solution(problem, steady)
    f = f.reshape(grid.shape)
    log.info("solve (%s) %.2f s: %s", info.method, info.wall_s, info.message)
    t1 = time.perf_counter()
    fields = compute_fields(grid, physics.model, f)
    balance = particle_balance(problem, f)
    mf = min_f(grid, f)
    probes = evaluate_probes(case, grid, physics.model, fields, f)
    timings = dict(problem.timings, compile_s=compile_s, solve_s=info.wall_s, positivity_rounds=rounds,
                   diagnostics_s=time.perf_counter() - t1, total_s=time.perf_counter() - t0)
    log.info("diagnostics (fields, balance, probes) %.2f s; total %.2f s", timings["diagnostics_s"], timings["total_s"])
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    return Result(case, grid, f, info, fields, balance, mf, probes, timings, peak, problem=problem)
