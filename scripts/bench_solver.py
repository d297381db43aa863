"""Benchmarks of the kinetic solver (not a test): medians over repeats, ratios to a baseline
measured in the same run.  Usage:  python scripts/bench_solver.py [--repeats 3] [--quick]

Problems
  slab  : the public slab case at the coarsest grid whose streaming amplitude at z = 0 is within
          0.1% of Eq. (38) (accuracy per cost).
  B1    : eps = 0, pion losses, point source (SWK type); 128 z cells x 2 DG modes x 64 mu x 64 p
          = 1.05M unknowns, rtol 1e-10 (method 'sweep').
  B2    : full_alfvenic (eps > 0, p coupled both ways) at ~0.5M unknowns (method 'krylov').
  ladder: B1 at 4 refinement steps (z and p doubled): time vs N and the fitted exponent.
Baseline: the same discrete problem, matrix from scipy.sparse (already assembled), solved by
scipy.sparse.linalg.spsolve on the whole matrix (SuperLU), at the sizes where it fits.
Peak memory: ru_maxrss of a fresh subprocess per measurement.
Each method against auto on these and the bundled cases: scripts/bench_auto.py; the (z, mu, x)
ladder to 13M unknowns with the memory estimate: scripts/bench_scaling.py.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = textwrap.dedent('''
    import json, resource, sys, time
    import numpy as np
    import scipy.sparse.linalg as spla
    from fpsolve import load_case
    from fpsolve.run import solve, compile_kernels
    from fpsolve.build import build_grid, build_physics
    from fpsolve.problem import build_problem
    case_path, mode, overrides = sys.argv[1], sys.argv[2], sys.argv[3:]
    compile_kernels()
    case = load_case(case_path, overrides)
    t0 = time.perf_counter()
    if mode == "fpsolve":
        r = solve(case)
        wall = time.perf_counter() - t0
        out = dict(wall=wall, unknowns=r.grid.size, converged=r.info.converged, method=r.info.method,
                   residual=r.info.residual, amp=[p.streaming_amplitude / p.streaming_amplitude_eq38 - 1
                                                  for p in r.probes if p.z is not None],
                   timings=r.timings)
    else:  # baseline: same A, b; spsolve on the whole matrix
        pb = build_problem(build_grid(case), build_physics(case))
        t1 = time.perf_counter()
        f = spla.spsolve(pb.A.tocsc(), pb.b)
        wall = time.perf_counter() - t1
        out = dict(wall=wall, unknowns=pb.A.shape[0],
                   residual=float(np.linalg.norm(pb.A @ f - pb.b) / np.linalg.norm(pb.b)))
    out["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out))
''')


def measure(case, mode, overrides, repeats):
    runs = []
    for _ in range(repeats):
        proc = subprocess.run([sys.executable, "-c", CHILD, str(ROOT / "cases" / case), mode, *overrides],
                              capture_output=True, text=True, timeout=3600)
        if proc.returncode != 0:
            return {"error": proc.stderr.strip().splitlines()[-1] if proc.stderr else "failed"}
        runs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    walls = sorted(r["wall"] for r in runs)
    best = runs[0]
    best["wall_median"] = walls[len(walls) // 2]
    best["peak_mb"] = max(r["peak_mb"] for r in runs)
    return best


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="smaller B1/B2 and ladder")
    a = ap.parse_args()
    rows = []

    def row(name, case, overrides, baseline=True):
        fp = measure(case, "fpsolve", overrides, a.repeats)
        base = measure(case, "baseline", overrides, 1) if baseline else {}
        rows.append((name, fp, base))
        ratio = (base.get("wall_median", float("nan")) / fp["wall_median"]) if base and "wall_median" in base else float("nan")
        print(f"{name:28s} N={fp.get('unknowns', 0):>9,d}  fpsolve {fp.get('wall_median', float('nan')):7.2f} s "
              f"{fp.get('peak_mb', 0):6.0f} MB ({fp.get('method', '?')}, res {fp.get('residual', float('nan')):.1e})"
              f"   baseline spsolve {base.get('wall_median', float('nan')):7.2f} s {base.get('peak_mb', 0):6.0f} MB"
              f"   speed-up {ratio:5.1f}" + (f"   amp err {fp['amp']}" if fp.get("amp") else ""), flush=True)
        return fp

    row("slab dz=2 lambda, 16 mu", "slab_streaming.toml", ["grid.z_cells=100", "grid.mu_cells=16"])
    pts = ["grid.z_cells=64", "grid.p_cells=32"] if a.quick else ["grid.z_cells=128", "grid.p_cells=64"]
    b1 = ["grid.mu_cells=64", "grid.p_min=0.00938272", "grid.p_max=938.272"]
    row("B1 SWK-type (sweep)", "swk_point.toml", pts + b1, baseline=a.quick)
    b2 = ["grid.z_cells=40", "grid.mu_cells=16", "grid.p_cells=48"] if a.quick else \
        ["grid.z_cells=80", "grid.mu_cells=32", "grid.p_cells=96"]
    row("B2 full_alfvenic (krylov)", "full_alfvenic.toml", b2, baseline=a.quick)
    ladder = [(16, 8), (32, 16), (64, 32), (128, 64)] if not a.quick else [(8, 8), (16, 16), (32, 32), (64, 64)]
    ns, ts = [], []
    for nz, npc in ladder:
        over = [f"grid.z_cells={nz}", f"grid.p_cells={npc}", "grid.mu_cells=64",
                "grid.p_min=0.00938272", "grid.p_max=938.272"]
        fp = row(f"ladder nz={nz} np={npc}", "swk_point.toml", over, baseline=nz * npc <= 32 * 16)
        ns.append(fp["unknowns"]); ts.append(fp["wall_median"])
    import numpy as np
    slope = np.polyfit(np.log(ns), np.log(ts), 1)[0]
    print(f"ladder exponent: time ~ N^{slope:.2f}")


if __name__ == "__main__":
    main()
