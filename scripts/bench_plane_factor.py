"""One momentum plane of the SWK ladder (scripts/bench_scaling.py): the upwind plane factorisation
against SuperLU (COLAMD, and a geometric nested-dissection order with NATURAL), CPU seconds of this
process on one thread (not a test).  Usage:

    OMP_NUM_THREADS=1 python scripts/bench_plane_factor.py [--z 400,800,1600] [--plane 40] [--repeats 3]

For each z resolution the problem (swk_point, 64 mu x 64 p over x = 10 ... 1e6) is assembled, plane
``--plane`` is taken, and each factorisation is timed ``--repeats`` times (minimum CPU time,
``time.process_time``: the machine is shared); printed: factor and solve CPU s, the stored entries
(L + U for SuperLU), and the relative difference of the solutions for the plane's source.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import scipy.sparse.linalg as spla

ROOT = Path(__file__).resolve().parents[1]
SWK = ["grid.mu_cells=64", "grid.p_cells=64", "grid.p_min=0.00938272", "grid.p_max=938.272"]


def nested_dissection(nz, nmu, leaf=4):
    """Unknown order of a (z, mu) grid (2 DG modes per cell) by geometric nested dissection: cut the
    longer side in the middle (a one-cell separator, ordered last), recurse, leaves of leaf x leaf."""
    out = []

    def rec(i0, i1, j0, j1):
        di, dj = i1 - i0, j1 - j0
        if di <= 0 or dj <= 0:
            return
        if di <= leaf and dj <= leaf:
            ii, jj = np.meshgrid(np.arange(i0, i1), np.arange(j0, j1), indexing="ij")
            out.append((ii * nmu + jj).ravel())
            return
        if di >= dj:
            m = (i0 + i1) // 2
            rec(i0, m, j0, j1)
            rec(m + 1, i1, j0, j1)
            out.append(m * nmu + np.arange(j0, j1))
        else:
            m = (j0 + j1) // 2
            rec(i0, i1, j0, m)
            rec(i0, i1, m + 1, j1)
            out.append(np.arange(i0, i1) * nmu + m)

    rec(0, nz, 0, nmu)
    cells = np.concatenate(out)
    return (cells[:, None] * 2 + np.arange(2)).ravel()


def _best(fn, repeats):
    best, out = np.inf, None
    for _ in range(repeats):
        t = time.process_time()
        out = fn()
        best = min(best, time.process_time() - t)
    return best, out


def main():
    import fpsolve
    from fpsolve.build import build_grid, build_physics
    from fpsolve.problem import build_problem
    from fpsolve.solvers import UpwindPlaneLU
    from fpsolve.warmup import compile_kernels

    ap = argparse.ArgumentParser()
    ap.add_argument("--z", default="400,800,1600")
    ap.add_argument("--plane", type=int, default=40)
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    compile_kernels()
    print("| z cells | plane unknowns | factor | factor CPU s | solve CPU s | stored entries | rel. diff to COLAMD |")
    print("|---|---|---|---|---|---|---|")
    for nz in (int(v) for v in a.z.split(",")):
        case = fpsolve.load_case(ROOT / "cases" / "swk_point.toml", SWK + [f"grid.z_cells={nz}", "solver.memory_limit_gb=1000"])
        grid = build_grid(case)
        problem = build_problem(grid, build_physics(case))
        n = problem.A.shape[0] // grid.np_
        k = a.plane
        M = problem.A.tocsr()[k * n:(k + 1) * n, k * n:(k + 1) * n].tocsr()
        b = problem.b[k * n:(k + 1) * n].copy()
        if not np.any(b):
            b = np.random.default_rng(k).standard_normal(n)
        del problem
        rows = []
        tf, lu = _best(lambda: spla.splu(M.tocsc(), permc_spec="COLAMD"), a.repeats)
        ts, x0 = _best(lambda: lu.solve(b), a.repeats)
        rows.append(("SuperLU COLAMD", tf, ts, lu.L.nnz + lu.U.nnz, x0))
        p = nested_dissection(nz, grid.nmu)
        Mp = M[p][:, p].tocsc()
        tf, lu = _best(lambda: spla.splu(Mp, permc_spec="NATURAL", diag_pivot_thresh=0.0), a.repeats)

        def nd_solve():
            x = np.empty(n)
            x[p] = lu.solve(b[p])
            return x
        ts, x = _best(nd_solve, a.repeats)
        rows.append(("SuperLU nested dissection (NATURAL, no pivoting)", tf, ts, lu.L.nnz + lu.U.nnz, x))
        UpwindPlaneLU.build(M, nz, grid.nmu)  # warm
        tf, f = _best(lambda: UpwindPlaneLU.build(M, nz, grid.nmu), a.repeats)
        ts, x = _best(lambda: f.solve(b), a.repeats)
        rows.append(("upwind (UpwindPlaneLU)", tf, ts, f.fill, x))
        for name, tf, ts, fill, x in rows:
            diff = np.linalg.norm(x - x0) / np.linalg.norm(x0)
            print(f"| {nz} | {n:,} | {name} | {tf:.3f} | {ts:.4f} | {fill / 1e6:.2f}M | {diff:.1e} |", flush=True)


if __name__ == "__main__":
    main()
