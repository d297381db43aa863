"""Cost of the flux-form residual (Problem.accurate_residual) against the compensated residual of
the stored matrix (not a test).  Usage:  python scripts/bench_residual.py [--repeats 20]

Problems: the thick slab (lambda = 1e-5, 100 z cells), B1-type (swk_point, eps = 0, 64 mu x 32 p)
and B2-type (full_alfvenic, 40 z x 16 mu x 48 p): median seconds per residual.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

import fpsolve
from fpsolve.build import build_grid, build_physics
from fpsolve.problem import build_problem
from fpsolve.solvers import accurate_residual

PROBLEMS = {
    "thick slab": ("slab_streaming", ["turbulence.mean_free_path=1e-5", "grid.z_cells=100"]),
    "B1-type": ("swk_point", ["grid.z_cells=64", "grid.p_cells=32", "grid.mu_cells=64", "grid.p_min=0.00938272",
                              "grid.p_max=938.272"]),
    "B2-type": ("full_alfvenic", ["grid.z_cells=40", "grid.mu_cells=16", "grid.p_cells=48"]),
}


def median_time(fn, repeats):
    ts = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return float(np.median(ts))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=20)
    a = ap.parse_args()
    for name, (case, over) in PROBLEMS.items():
        pb = build_problem(build_grid(fpsolve.load_case(case, over)), build_physics(fpsolve.load_case(case, over)))
        f = np.random.default_rng(0).random(pb.A.shape[0])
        pb.accurate_residual(f)  # build the split blocks once
        accurate_residual(pb.A, f, pb.b)  # compile
        t_flux = median_time(lambda: pb.accurate_residual(f), a.repeats)
        t_comp = median_time(lambda: accurate_residual(pb.A, f, pb.b), a.repeats)
        t_mv = median_time(lambda: pb.A @ f, a.repeats)
        print(f"{name:12s} N={pb.A.shape[0]:>9,d}  flux-form {t_flux * 1e3:8.2f} ms  compensated {t_comp * 1e3:8.2f} ms"
              f"  ratio {t_flux / t_comp:5.2f}  (plain A@f {t_mv * 1e3:7.2f} ms)", flush=True)


if __name__ == "__main__":
    main()
