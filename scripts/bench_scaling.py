"""Scaling ladder of the (z, mu, x) SWK problem to 13M unknowns (not a test).  Usage:

    python scripts/bench_scaling.py [--repeats 1] [--max-unknowns 14e6] [--cap-s 600] [--cap-gb 20]

The problem is ``cases/swk_point.toml`` (eps = 0, pion losses, point source: ``auto`` = the
per-plane refined sweep) with 64 mu cells and 64 momentum cells over x = 10 ... 1e6 and the z
cells doubled along the ladder: 100, 200, 400, 800, 1600 z cells x 2 DG modes x 64 x 64 =
0.82M, 1.6M, 3.3M, 6.6M, 13.1M unknowns.  B3 is the 800-z rung (6.55M unknowns), target
<= 15 s solve and <= 6 GB on the 2-core machine.  Each rung is one fresh subprocess (see
scripts/bench_auto.py: solve time, the build's timings, the whole run's peak memory ru_maxrss,
and the case's memory estimate, the CPU time of the whole run over all threads, and the 1-minute load
average after the rung); rungs run one after another, never two at once.
"""
from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_auto import ROOT, run_once  # noqa: E402

SWK = ["grid.mu_cells=64", "grid.p_cells=64", "grid.p_min=0.00938272", "grid.p_max=938.272"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--z", default="100,200,400,800,1600", help="z cells of the rungs")
    ap.add_argument("--max-unknowns", type=float, default=14e6)
    ap.add_argument("--method", default="auto")
    ap.add_argument("--cap-s", type=float, default=600.0)
    ap.add_argument("--cap-gb", type=float, default=20.0)
    a = ap.parse_args()
    print("| z cells | unknowns | method | solve s | coefficients s | assembly s | total s | CPU s (run, all threads) | "
          "peak GB | estimate GB | estimate/peak | load |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    ns, ts = [], []
    for nz in (int(v) for v in a.z.split(",")):
        n = 2 * nz * 64 * 64
        if n > a.max_unknowns:
            break
        runs = [run_once(ROOT / "cases" / "swk_point.toml", SWK + [f"grid.z_cells={nz}", f"solver.method={a.method}"],
                         a.cap_s, a.cap_gb) for _ in range(a.repeats)]
        ok = [r for r in runs if "killed" not in r]
        if not ok:
            print(f"| {nz} | {n:,} | {runs[0]['killed']} |", flush=True)
            break
        ok.sort(key=lambda r: r["solve"])
        r = ok[len(ok) // 2]
        peak = max(x["peak_mb"] for x in ok) / 1024
        t = r["timings"]
        print(f"| {nz} | {r['unknowns']:,} | {r['method']} | {r['solve']:.2f} | {t.get('coefficients_s', math.nan):.2f} | "
              f"{t.get('assembly_s', math.nan):.2f} | {r['wall']:.2f} | {r.get('cpu', math.nan):.2f} | {peak:.2f} | "
              f"{r['estimate_gb']:.2f} | {r['estimate_gb'] / peak:.2f} | {os.getloadavg()[0]:.1f} |", flush=True)
        ns.append(r["unknowns"])
        ts.append(r["solve"])
    if len(ns) >= 3:
        import numpy as np

        print(f"solve time ~ N^{np.polyfit(np.log(ns), np.log(ts), 1)[0]:.2f} over the ladder")


if __name__ == "__main__":
    main()
