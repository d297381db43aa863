"""Old operator (a checkout, default /work/wt-base) against this tree, case by case (not a test).

For every bundled run case (modest sizes through overrides) and a few variants that reach the
other boundary conditions, each code runs in its own subprocess (``PYTHONPATH`` = that tree):
it builds ``A``, ``b`` with ``build_problem(build_grid(case), build_physics(case))``, solves with the
case's solver settings, evaluates the particle balance and, for z problems, the reduced model
Eq. (34) (F = 0 walls and Milne walls).  The parent compares: bitwise where possible, else the
max relative difference (``max|x_new - x_old| / max|x_old|``; the bar is 1e-12).

Then assembly time of the benchmark problems of ``scripts/bench_solver.py`` (build_problem:
coefficients + local blocks + z lift): both packages in one process, calls alternating, medians
over ``--repeats`` and the median of the paired new/old ratios.

Usage:  python scripts/compare_outputs.py [--old /work/wt-base] [--repeats 5] [--no-timing]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

RUNS = [  # (label, case, overrides)
    ("slab_streaming", "slab_streaming.toml", []),
    ("compton_getting", "compton_getting.toml", []),
    ("full_alfvenic", "full_alfvenic.toml", []),
    ("swk_layer (mirror)", "swk_layer.toml", ["grid.z_cells=50", "grid.p_cells=20"]),
    ("swk_point", "swk_point.toml", ["grid.z_cells=50", "grid.p_cells=20"]),
    ("slab periodic + T_c", "slab_streaming.toml",
     ["grid.z_cells=50", 'boundaries.z_min="periodic"', 'boundaries.z_max="periodic"', "losses.catastrophic_time=5.0"]),
    ("full_alfvenic zero_value", "full_alfvenic.toml",
     ["grid.z_cells=20", "grid.p_cells=24", 'boundaries.p_diffusion="zero_value"']),
    ("full_alfvenic upwind1", "full_alfvenic.toml", ["grid.z_cells=20", "grid.p_cells=24", 'losses.scheme="upwind1"']),
]

BENCH = [  # the problems of scripts/bench_solver.py
    ("slab dz=2 lambda, 16 mu", "slab_streaming.toml", ["grid.z_cells=100", "grid.mu_cells=16"]),
    ("B1 SWK-type", "swk_point.toml", ["grid.z_cells=128", "grid.p_cells=64", "grid.mu_cells=64",
                                       "grid.p_min=0.00938272", "grid.p_max=938.272"]),
    ("B2 full_alfvenic", "full_alfvenic.toml", ["grid.z_cells=80", "grid.mu_cells=32", "grid.p_cells=96"]),
]

CHILD = textwrap.dedent('''
    import json, sys, time
    import numpy as np
    from fpsolve import load_case
    from fpsolve.build import build_grid, build_physics
    try:  # this tree
        from fpsolve.problem import build_problem
    except ImportError:  # the old tree (fpsolve.operator)
        from fpsolve.operator import build_problem
    from fpsolve.result import particle_balance
    from fpsolve.solvers import solve_steady
    mode, case_path, out = sys.argv[1], sys.argv[2], sys.argv[3]
    case = load_case(case_path, sys.argv[4:])
    grid, physics = build_grid(case), build_physics(case)
    if mode == "time":
        try:
            from fpsolve.warmup import compile_kernels
        except ImportError:
            from fpsolve.run import compile_kernels
        compile_kernels()
        build_problem(grid, physics)  # first call: caches, page faults
        t0 = time.perf_counter()
        pb = build_problem(grid, physics)
        wall = time.perf_counter() - t0
        print(json.dumps(dict(wall=wall, **pb.timings)))
        sys.exit(0)
    pb = build_problem(grid, physics)
    sv = case.solver if hasattr(case, "solver") else type("S", (), case.values["solver"])  # typed case / old dict
    f, info = solve_steady(pb, method=sv.method, rtol=sv.rtol, max_steps=sv.max_steps)
    bal = particle_balance(pb, f.reshape(grid.shape))
    A = pb.A.tocsr()
    arrays = dict(A_data=A.data, A_indices=A.indices, A_indptr=A.indptr, b=pb.b, f=f, mass=pb.mass)
    if not grid.homogeneous:
        from fpsolve.reduced import solve_reduced
        arrays["F_reduced"] = solve_reduced(grid, physics, 0.0)
        arrays["F_reduced_milne"] = solve_reduced(grid, physics, 0.7104)
    np.savez(out, **arrays)
    print(json.dumps(dict(balance=bal, method=info.method, converged=bool(info.converged))))
''')


def child(tree, mode, case, overrides, out="-"):
    env = dict(os.environ, PYTHONPATH=str(tree))
    proc = subprocess.run([sys.executable, "-c", CHILD, mode, str(ROOT / "cases" / case), str(out), *overrides],
                          capture_output=True, text=True, env=env, timeout=1800, cwd=str(tree))
    if proc.returncode != 0:
        raise RuntimeError(f"{tree} {case}: {proc.stderr.strip().splitlines()[-1]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def rel(new, old):
    """``'bitwise'`` or the max relative difference."""
    if new.shape != old.shape:
        return f"shape {new.shape} vs {old.shape}"
    if np.array_equal(new, old):
        return "bitwise"
    scale = np.max(np.abs(old)) or 1.0
    return f"{np.max(np.abs(new - old)) / scale:.1e}"


def compare(old_tree):
    worst = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for label, case, over in RUNS:
            res = {}
            for name, tree in (("old", old_tree), ("new", ROOT)):
                path = Path(tmp) / f"{name}.npz"
                meta = child(tree, "run", case, over, path)
                res[name] = (meta, dict(np.load(path)))
            (mo, ao), (mn, an) = res["old"], res["new"]
            same_pattern = all(np.array_equal(an[k], ao[k]) for k in ("A_indices", "A_indptr"))
            cells = [f"A pattern {'same' if same_pattern else 'DIFFERENT'}",
                     "A " + (rel(an["A_data"], ao["A_data"]) if same_pattern else "n/a")]
            for k in ("b", "mass", "f", "F_reduced", "F_reduced_milne"):
                if k in ao:
                    cells.append(f"{k} {rel(an[k], ao[k])}")
            bo, bn = mo["balance"], mn["balance"]
            inj = abs(bo["injected"]) or 1.0
            dbal = max(abs(bn[k] - bo[k]) / inj for k in bo if k not in ("closure", "closure_roundoff_bound"))
            cells.append("balance " + ("bitwise" if bn == bo else f"{dbal:.1e} of injected"))
            cells.append(f"closure old {bo['closure']:.2e} new {bn['closure']:.2e}")
            for c in cells[1:-2]:
                if c.split()[-1][0].isdigit():
                    worst = max(worst, float(c.split()[-1]))
            print(f"{label:28s} " + "; ".join(cells), flush=True)
    print(f"largest relative difference: {worst:.1e} (bar 1e-12)")
    return worst <= 1e-12


TIMER = textwrap.dedent('''
    import importlib, json, os, sys, tempfile, time
    import numpy as np
    old_tree, new_tree, repeats, case_path = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    overrides = sys.argv[5:]
    # both packages in one process (the old one under another name), so that the machine's load,
    # which varies by tens of percent on the shared machine, hits both alike: calls alternate
    tmp = tempfile.mkdtemp()
    os.symlink(os.path.join(old_tree, "fpsolve"), os.path.join(tmp, "fpsolve_old"))
    sys.path[:0] = [new_tree, tmp]
    mods = {}
    for tag, pkg in (("old", "fpsolve_old"), ("new", "fpsolve")):
        case_mod = importlib.import_module(pkg + ".case")
        build = importlib.import_module(pkg + ".build")
        op = importlib.import_module(pkg + ".operator")
        importlib.import_module(pkg + ".run").compile_kernels()
        case = case_mod.load_case(case_path, overrides)
        grid, physics = build.build_grid(case), build.build_physics(case)
        op.build_problem(grid, physics)  # warm: numba cache load, page faults
        mods[tag] = (op.build_problem, grid, physics)
    wall = {"old": [], "new": []}
    part = {"old": [], "new": []}
    for r in range(repeats):
        for tag in (("old", "new") if r % 2 == 0 else ("new", "old")):  # alternate who goes first
            fn, grid, physics = mods[tag]
            t0 = time.perf_counter()
            pb = fn(grid, physics)
            wall[tag].append(time.perf_counter() - t0)
            part[tag].append(pb.timings["mu_p_operator_s"] + pb.timings["assembly_s"])
    print(json.dumps({"wall": wall, "part": part}))
''')


def timing(old_tree, repeats):
    """build_problem old vs new, alternating in one process; medians and the median paired ratio."""
    for label, case, over in BENCH:
        proc = subprocess.run([sys.executable, "-c", TIMER, str(old_tree), str(ROOT), str(repeats),
                               str(ROOT / "cases" / case), *over], capture_output=True, text=True, timeout=3600)
        if proc.returncode != 0:
            raise RuntimeError(proc.stderr.strip().splitlines()[-1])
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        w, p = ({k: np.array(v) for k, v in r[key].items()} for key in ("wall", "part"))
        print(f"{label:26s} build_problem median old {np.median(w['old']):.3f} s new {np.median(w['new']):.3f} s "
              f"(paired ratio {np.median(w['new'] / w['old']):.3f});  matrix part (local blocks + z lift) "
              f"old {np.median(p['old']):.3f} s new {np.median(p['new']):.3f} s "
              f"(paired ratio {np.median(p['new'] / p['old']):.3f})", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--old", default="/work/wt-base")
    ap.add_argument("--repeats", type=int, default=9)
    ap.add_argument("--no-timing", action="store_true")
    a = ap.parse_args()
    ok = compare(Path(a.old))
    if not a.no_timing:
        timing(Path(a.old), a.repeats)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
