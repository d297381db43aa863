"""Benchmark of physical-time runs (not a test): a (z, mu, p) burst with a fixed number of
TR-BDF2 steps.  Usage:

    python scripts/bench_transient.py [--z 400 --mu 32 --p 40] [--steps 200] [--ladder]
                                      [--coupled] [--solver auto|splu|planes-gmres] [--no-steady]

Problem: ``burst_slab`` (s = 5/3, lambda = 0.01 at p = 1, eps = 0, free escape) with ``p_cells``
log-spaced momenta in [0.5, 2] (lambda varies as p^(2-s)): the default 400 z x 2 DG x 32 mu x 40 p =
1.02M unknowns.  Fixed steps (``[time] fixed_step``): one factorisation of ``M + d h A`` (the momentum planes are
uncoupled here, so :func:`fpsolve.transient.choose_factory` takes one SuperLU per plane), then two
solves per step plus the error-estimate solve.  Reported per size (a fresh subprocess each, peak
memory = its ru_maxrss): build, factorisation, time per step, total, peak memory, and one steady
solve of the same case (``fpsolve.solve``, method auto) for the ratio cost-per-step / steady solve.
``--coupled``: ``turbulence.alfven_speed = 0.01`` (eps > 0: the planes couple both ways through
D_mup and D_pp); ``--solver`` forces the step solve (:func:`fpsolve.plane_lu.choose_step_solver`:
whole-matrix SuperLU or the plane-preconditioned GMRES) to compare their memory and time.
CPU seconds (``cpu_s``, the child's user + sys, all threads) are reported next to the wall time: the
machine is shared.
``--ladder`` runs N/8, N/4, N/2 (z and p halved) to fit time ~ steps x N^a.
The machine is shared: the 1M size should be run once.
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
    from fpsolve import load_case, solve
    from fpsolve.transient import run_transient
    from fpsolve.warmup import compile_kernels
    nz, nmu, np_, steps, steady, coupled = map(int, sys.argv[1:7])
    solver = sys.argv[7]
    compile_kernels()
    if solver == "planes":  # the SuperLU plane factors (fpsolve.plane_lu.PlaneStepSolver), not the upwind ones
        import fpsolve.solvers
        fpsolve.solvers._plane_shape = lambda problem: None
    elif solver != "auto":
        from fpsolve import plane_lu
        plane_lu.COUPLED_PLANES_MIN_UNKNOWNS = 0 if solver == "planes-gmres" else 10**15
    end = 1.0
    ov = [f"grid.z_cells={nz}", f"grid.mu_cells={nmu}", f"grid.p_cells={np_}", "grid.p_min=0.5", "grid.p_max=2.0",
          f"time.end={end}", f"time.fixed_step={end / steps!r}", "time.output_times=[1.0]", "time.store_f_mb=0",
          "time.positivity_fixup=false",  # the solver's cost; the fix-up's rebuilds are case-dependent
          "solver.memory_limit_gb=20"] + (["turbulence.alfven_speed=0.01"] if coupled else [])
    case = load_case("burst_slab", ov)
    t0, c0 = time.perf_counter(), time.process_time()
    r = run_transient(case)
    total, cpu = time.perf_counter() - t0, time.process_time() - c0
    out = dict(unknowns=int(r.problem.layout.size), steps=int(r.info.accepted), total_s=total, cpu_s=cpu,
               message=r.info.message, factor_cpu_s=r.timings.get("factor_cpu_s", float("nan")),
               cpu_per_step_s=(r.timings.get("integrate_cpu_s", float("nan")) - r.timings.get("factor_cpu_s", float("nan")))
               / max(r.info.accepted, 1),
               integrate_s=r.info.wall_s, build_s=r.timings.get("assembly_s", 0) + r.timings.get("mu_p_operator_s", 0),
               factorizations=int(r.info.factorizations), balance=float(r.balance["relative"]),
               peak_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0)
    if steady:
        t1 = time.perf_counter()
        s = solve(load_case("burst_slab", ov))
        out.update(steady_s=time.perf_counter() - t1, steady_method=s.info.method,
                   peak_mb_after_steady=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0)
    print(json.dumps(out))
''')


def measure(nz, nmu, np_, steps, steady, coupled=False, solver="auto"):
    env = {"PYTHONPATH": str(ROOT)}
    import os

    env = dict(os.environ, **env)
    proc = subprocess.run([sys.executable, "-c", CHILD, str(nz), str(nmu), str(np_), str(steps), str(int(steady)),
                           str(int(coupled)), solver],
                          capture_output=True, text=True, env=env)
    if proc.returncode:
        raise RuntimeError(proc.stderr[-2000:])
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main():
    import numpy as np

    ap = argparse.ArgumentParser()
    ap.add_argument("--z", type=int, default=400)
    ap.add_argument("--mu", type=int, default=32)
    ap.add_argument("--p", type=int, default=40)
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--ladder", action="store_true", help="also N/8, N/4, N/2 (z and p halved)")
    ap.add_argument("--coupled", action="store_true", help="eps > 0 (alfven_speed = 0.01): planes coupled both ways")
    ap.add_argument("--solver", default="auto", choices=("auto", "splu", "planes", "planes-gmres"),
                    help="auto: the rule (upwind plane factors for eps = 0); planes: SuperLU plane factors")
    ap.add_argument("--no-steady", action="store_true", help="skip the steady solve (its ratio)")
    a = ap.parse_args()
    sizes = [(a.z, a.p)]
    if a.ladder:
        sizes = [(a.z // 4, a.p // 2), (a.z // 2, a.p // 2), (a.z // 2, a.p)] + sizes
    rows = []
    for nz, np_ in sizes:
        m = measure(nz, a.mu, np_, a.steps, steady=not a.no_steady, coupled=a.coupled, solver=a.solver)
        per_step = m["integrate_s"] / max(m["steps"], 1)
        m.update(per_step_s=per_step, per_step_over_steady=per_step / m.get("steady_s", np.nan))
        rows.append(m)
        print(f"{m['unknowns']:>9d} unknowns: {m['steps']} steps in {m['integrate_s']:.2f} s ({per_step * 1e3:.1f} ms/step,"
              f" {m['factorizations']} factorization), total {m['total_s']:.2f} s, peak {m['peak_mb']:.0f} MB; "
              f"CPU {m['cpu_s']:.1f} s (factorisation {m['factor_cpu_s']:.1f} s, {m['cpu_per_step_s'] * 1e3:.0f} ms CPU/step); "
              f"steady solve {m.get('steady_s', np.nan):.2f} s ({m.get('steady_method', '-')}): one step = "
              f"{m['per_step_over_steady']:.2f} steady solves; balance {m['balance']:.1e}; {m['message']}", flush=True)
    if len(rows) > 1:
        import numpy as np

        n = np.array([r["unknowns"] for r in rows], float)
        t = np.array([r["integrate_s"] / r["steps"] for r in rows])
        c = np.array([r["cpu_per_step_s"] for r in rows])
        print(f"time per step ~ N^{np.polyfit(np.log(n), np.log(t), 1)[0]:.2f}, CPU per step (without the "
              f"factorisation) ~ N^{np.polyfit(np.log(n), np.log(c), 1)[0]:.2f} over N = {int(n[0])}..{int(n[-1])}")


if __name__ == "__main__":
    main()
