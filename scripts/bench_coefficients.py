"""Memory and time of the coefficient quadrature (fpsolve.face_coefficients), not a test.

Usage:  python scripts/bench_coefficients.py [--base /work/wt-base] [--grids 64x128,256x512]
                                             [--base-grids 64x128] [--case cases/compton_getting.toml]
        python scripts/bench_coefficients.py --bundled --base /work/wt-base
        python scripts/bench_coefficients.py --full-run [--base /work/wt-base] [--grids 256x512]

``--full-run``: the whole ``fpsolve run`` of the case at each grid (and, with --base, at
--base-grids in the other checkout), peak RSS and wall time from /usr/bin/time -v.

``--bundled``: for every case of cases/ (run cases on their grid, report cases at their
momenta) compare, between this checkout and --base, the face coefficients, the pitch-angle
integrals of Eqs. (7), (9), (10), (13), (14) and the Eq. (7) shapes at the cell centres:
bitwise equality and the largest relative difference.

For each grid (mu cells x p cells) of the case and each checkout (this one; --base, e.g. the
commit before the blocked evaluation, only at --base-grids since it needs ~9 GB at 256 x 512),
a fresh subprocess builds the grid and the model from the case and calls
``face_coefficients`` once.  Reported: the tracemalloc peak of that call (numpy allocations
are traced), the process's peak RSS (ru_maxrss, includes the interpreter and imports, ~150 MB)
and the wall time; then the largest relative difference of g_mu, x_mu, rpp_pf between the
checkouts at the common grids (the blocked evaluation is meant to be bitwise identical).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

CHILD = textwrap.dedent('''
    import json, resource, sys, time, tracemalloc
    import numpy as np
    from fpsolve import load_case
    from fpsolve.build import build_grid
    from fpsolve.face_coefficients import face_coefficients
    case_path, out, overrides = sys.argv[1], sys.argv[2], sys.argv[3:]
    case = load_case(case_path, overrides)
    grid = build_grid(case)
    model = case.turbulence_model()
    face_coefficients(model, grid.__class__(None, grid.mu_edges, grid.p_edges[:3]))  # warm caches
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    t0 = time.perf_counter()
    fc = face_coefficients(model, grid)
    wall = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    np.savez(out, g_mu=fc.g_mu, x_mu=fc.x_mu, rpp_pf=fc.rpp_pf)
    print(json.dumps(dict(wall_s=wall, traced_peak_mb=peak / 2**20, rss_peak_mb=rss / 1024,
                          rss_before_mb=rss0 / 1024, unknowns=grid.size,
                          fpsolve_path=__import__('fpsolve').__file__)))
''')


BUNDLED = textwrap.dedent('''
    import glob, os, sys
    import numpy as np
    from fpsolve import load_case
    from fpsolve.build import build_grid
    from fpsolve.face_coefficients import face_coefficients
    from fpsolve.physics import anisotropy_shapes, pitch_integrals
    cases, out = sys.argv[1], sys.argv[2]
    res = {}
    for path in sorted(glob.glob(os.path.join(cases, "*.toml"))):
        name = os.path.basename(path)
        case = load_case(path)
        model = case.turbulence_model()
        if "[grid]" not in open(path).read():
            ints = pitch_integrals(model, case.momenta())
        else:
            grid = build_grid(case)
            pk = grid.p[:: max(1, grid.p.size // 16)]
            fc = face_coefficients(model, grid)
            for k in ("g_mu", "x_mu", "rpp_pf"):
                res[name + ":" + k] = getattr(fc, k)
            ints = pitch_integrals(model, pk)
            shapes = anisotropy_shapes(model, grid.mu, pk)
            res[name + ":a_s (Eq. 7)"], res[name + ":a_c (Eq. 7)"] = shapes.a_s, shapes.a_c
        for k in ("kappa_zz", "k0", "h0", "kappa_pp", "i_s", "i_c", "i_s1", "i_c1"):
            res[name + ":" + k] = getattr(ints, k)
    np.savez(out, **res)
''')


def bundled(base: Path):
    with tempfile.TemporaryDirectory() as tmp:
        files = []
        for label, repo in (("this", ROOT), ("base", base)):
            out = Path(tmp) / f"{label}.npz"
            env = {"PYTHONPATH": str(repo), "PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1"}
            res = subprocess.run([sys.executable, "-c", BUNDLED, str(ROOT / "cases"), str(out)], env=env,
                                 cwd=tmp, capture_output=True, text=True, timeout=3600)
            if res.returncode:
                raise SystemExit(f"{repo}: {res.stderr.strip().splitlines()[-1]}")
            files.append(np.load(out))
        this, other = files
        for k in this.files:
            x, y = this[k], other[k]
            rel = np.abs(x - y) / np.maximum(np.abs(y), 1e-300)
            rel = float(np.nanmax(rel)) if x.size else 0.0
            print(f"{k:36s} bitwise identical: {str(np.array_equal(x, y, equal_nan=True)):5s}  "
                  f"max relative difference {rel:.2e}")


def full_run(repo: Path, case: str, mu: int, p: int, tmp: Path) -> dict:
    env = {"PYTHONPATH": str(repo), "PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1"}
    cmd = ["/usr/bin/time", "-v", sys.executable, "-m", "fpsolve.cli", "run", str(case), "-o",
           str(tmp / f"run_{mu}x{p}.h5"), f"grid.mu_cells={mu}", f"grid.p_cells={p}"]
    res = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=3600, cwd=tmp)
    info = {}
    for line in res.stderr.splitlines():
        if "Maximum resident set size" in line:
            info["rss_peak_mb"] = int(line.split(":")[-1]) / 1024
        if "Elapsed (wall clock)" in line:
            t = line.split(": ")[-1].split(":")
            info["wall_s"] = sum(float(x) * 60**i for i, x in enumerate(reversed(t)))
    for line in res.stdout.splitlines():
        if line.startswith("time:"):
            info["timings"] = line
    info["status"] = res.returncode
    return info


def measure(repo: Path, case: str, mu: int, p: int, out: Path) -> dict:
    env = {"PYTHONPATH": str(repo), "PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-c", CHILD, str(case), str(out), f"grid.mu_cells={mu}", f"grid.p_cells={p}"]
    res = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=3600, cwd=out.parent)  # not ROOT: '' on sys.path would shadow PYTHONPATH
    if res.returncode:
        raise SystemExit(f"{repo} {mu}x{p}: {res.stderr.strip().splitlines()[-1]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--case", default=str(ROOT / "cases" / "compton_getting.toml"))
    ap.add_argument("--grids", default="64x128,256x512")
    ap.add_argument("--base", default=None, help="another checkout to compare with (e.g. /work/wt-base)")
    ap.add_argument("--base-grids", default="64x128")
    ap.add_argument("--bundled", action="store_true", help="compare the bundled cases with --base")
    ap.add_argument("--full-run", action="store_true", help="peak RSS and time of the whole run")
    a = ap.parse_args()
    if a.full_run:
        grids = [tuple(map(int, g.split("x"))) for g in a.grids.split(",")]
        base_grids = [tuple(map(int, g.split("x"))) for g in a.base_grids.split(",")] if a.base else []
        with tempfile.TemporaryDirectory() as tmp:
            for label, repo, gl in (("this", ROOT, grids), ("base", Path(a.base) if a.base else None, base_grids)):
                for mu, p in gl:
                    r = full_run(repo, a.case, mu, p, Path(tmp))
                    print(f"{label:5s} run {mu} mu x {p} p: peak RSS {r.get('rss_peak_mb', float('nan')):8.1f} MB, "
                          f"wall {r.get('wall_s', float('nan')):6.1f} s, exit {r['status']}; {r.get('timings', '')}",
                          flush=True)
        return None
    if a.bundled:
        if not a.base:
            raise SystemExit("--bundled needs --base CHECKOUT")
        return bundled(Path(a.base))
    grids = [tuple(map(int, g.split("x"))) for g in a.grids.split(",")]
    base_grids = [tuple(map(int, g.split("x"))) for g in a.base_grids.split(",")] if a.base else []
    with tempfile.TemporaryDirectory() as tmp:
        rows = []
        for label, repo, gl in (("this", ROOT, grids), ("base", Path(a.base) if a.base else None, base_grids)):
            for mu, p in gl:
                r = measure(repo, a.case, mu, p, Path(tmp) / f"{label}_{mu}x{p}.npz")
                rows.append((label, mu, p, r))
                assert r["fpsolve_path"].startswith(str(repo)), r["fpsolve_path"]
                print(f"{label:5s} {mu:4d} mu x {p:4d} p ({r['unknowns']:7d} unknowns): "
                      f"traced peak {r['traced_peak_mb']:8.1f} MB, process peak RSS {r['rss_peak_mb']:8.1f} MB, "
                      f"{r['wall_s']:6.2f} s", flush=True)
        for mu, p in base_grids:
            if (mu, p) not in grids:
                continue
            x, y = np.load(Path(tmp) / f"this_{mu}x{p}.npz"), np.load(Path(tmp) / f"base_{mu}x{p}.npz")
            for k in ("g_mu", "x_mu", "rpp_pf"):
                d = np.abs(x[k] - y[k]) / np.maximum(np.abs(y[k]), 1e-300)
                print(f"{mu}x{p} {k}: max relative difference this vs base {np.max(d):.3g}"
                      f" (bitwise identical: {np.array_equal(x[k], y[k])})")


if __name__ == "__main__":
    main()
