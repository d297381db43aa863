"""Where the sweep's CPU time goes on one SWK ladder rung (not a test).  Usage:

    python scripts/bench_sweep_cpu.py [--z 800] [--workers 2] [--save f.npy]

Builds swk_point with 64 mu x 64 p over x = 10 ... 1e6 and ``--z`` z cells (800: B3, 6.55M unknowns)
and runs ``solve_steady(method="sweep")`` in this process, timing by thread CPU time the plane
factorisations (worker threads) and the flux-form plane residuals (main thread).  Printed: the
solve's wall time, CPU time of all threads (``time.process_time``), the main thread's CPU time (the
critical path: the refinement runs there, in plane order), the per-part totals, the convergence
message, the plane correction history and the load average.  Run the same command on two trees
back to back for a paired comparison (PYTHONPATH selects the tree); ``--save`` keeps f to compare.
"""
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SWK = ["grid.mu_cells=64", "grid.p_cells=64", "grid.p_min=0.00938272", "grid.p_max=938.272"]


def main():
    import fpsolve
    from fpsolve import solvers
    from fpsolve.build import build_grid, build_physics
    from fpsolve.problem import build_problem
    from fpsolve.warmup import compile_kernels

    ap = argparse.ArgumentParser()
    ap.add_argument("--z", type=int, default=800)
    ap.add_argument("--workers", type=int, default=solvers.SWEEP_WORKERS)
    ap.add_argument("--save", default="")
    a = ap.parse_args()
    compile_kernels()
    solvers.SWEEP_WORKERS = a.workers
    case = fpsolve.load_case(ROOT / "cases" / "swk_point.toml", SWK + [f"grid.z_cells={a.z}", "solver.memory_limit_gb=1000"])
    problem = build_problem(build_grid(case), build_physics(case))
    acc = {"factor_cpu_s": 0.0, "factors": 0, "residual_cpu_s": 0.0, "residuals": 0}
    make = solvers.PlaneSweep._plane_lu

    def timed_factor(self, k):
        t = time.thread_time()
        out = make(self, k)
        acc["factor_cpu_s"] += time.thread_time() - t
        acc["factors"] += 1
        return out

    solvers.PlaneSweep._plane_lu = timed_factor
    residual = problem.plane_residual

    def timed_residual(k, x, rows=None):
        t = time.thread_time()
        out = residual(k, x, rows)
        acc["residual_cpu_s"] += time.thread_time() - t
        acc["residuals"] += 1
        return out

    object.__setattr__(problem, "plane_residual", timed_residual)
    c0, w0, m0 = time.process_time(), time.perf_counter(), time.thread_time()
    f, info = solvers.solve_steady(problem, method="sweep", rtol=case.solver.rtol)
    print(f"solve wall {time.perf_counter() - w0:.2f} s, CPU {time.process_time() - c0:.2f} s (all threads), "
          f"main thread CPU {time.thread_time() - m0:.2f} s; {acc}; {info.message}; plane corrections "
          f"{info.corrections}; load {os.getloadavg()}")
    if a.save:
        np.save(a.save, f)


if __name__ == "__main__":
    main()
