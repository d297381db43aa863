"""auto's regret (not a test): each steady method against ``auto`` on the bundled cases, the
ladders of scripts/bench_solver.py, the 819k-unknown slab and the 10 TeV slab.  Usage:

    python scripts/bench_auto.py [--repeats 3] [--only NAME,...] [--cap-s 120] [--cap-gb 10]

Every measurement is a fresh subprocess (``solve`` of fpsolve.run, after the numba kernels are
compiled or loaded: the figure is the solve time ``info.wall_s``, and the whole run's peak
memory, ru_maxrss).  The methods of one problem are measured in rounds (auto, direct, krylov, ...
then again), so the ratios of a round share the machine's state; the table gives per method the
median solve time; the regret is the median solve time of the method auto chose (its auto runs
pooled with that method's own runs) over the best method's median, and "paired" the median over
rounds of ``auto / best`` of the same round (which also carries the noise between two runs of
one method).  A method is
skipped where it does not apply (sweep needs a problem coupled only downward in p); a run that
passes ``--cap-s`` seconds or ``--cap-gb`` GB of resident memory is killed and shown as "> cap"
(it is then not the best).  The memory estimate of the case (``Case.estimated_memory_gb`` for
the method run) is printed next to the measured peak.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = textwrap.dedent('''
    import json, resource, sys, time
    from fpsolve import load_case
    from fpsolve.run import solve, compile_kernels
    case_path, overrides = sys.argv[1], sys.argv[2:]
    compile_kernels()
    case = load_case(case_path, overrides + ["solver.memory_limit_gb=1000"])
    t0, c0 = time.perf_counter(), time.process_time()
    r = solve(case)
    out = dict(wall=time.perf_counter() - t0, cpu=time.process_time() - c0, solve=r.info.wall_s, unknowns=r.grid.size,
               converged=r.info.converged, method=r.info.method, iterations=r.info.iterations,
               factorizations=r.info.factorizations, fallback=r.info.fallback,
               estimate_gb=case.estimated_memory_gb(),
               timings={k: round(v, 3) for k, v in r.timings.items()})
    out["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out))
''')


def _rss_gb(pid) -> float:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 2**20
    except OSError:
        pass
    return 0.0


def run_once(case_path, overrides, cap_s, cap_gb):
    """One fresh subprocess; returns its JSON, or ``{"killed": reason}``."""
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(case_path), *overrides],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**__import__("os").environ, "PYTHONPATH": str(ROOT)})
    killed = []

    def watch():
        t0 = time.monotonic()
        while proc.poll() is None:
            if time.monotonic() - t0 > cap_s:
                killed.append(f"> {cap_s:g} s"); proc.kill(); return
            if _rss_gb(proc.pid) > cap_gb:
                killed.append(f"> {cap_gb:g} GB"); proc.kill(); return
            time.sleep(0.1)

    th = threading.Thread(target=watch, daemon=True)
    th.start()
    out, err = proc.communicate()
    th.join()
    if killed:
        return {"killed": killed[0]}
    if proc.returncode != 0:
        return {"killed": "error: " + (err.strip().splitlines() or ["?"])[-1][:120]}
    return json.loads(out.strip().splitlines()[-1])


def case_file(name):
    p = ROOT / "cases" / f"{name}.toml"
    return p if p.exists() else ROOT / "scripts" / "cases" / f"{name}.toml"


SWK_B1 = ["grid.mu_cells=64", "grid.p_min=0.00938272", "grid.p_max=938.272"]

#: name -> (case, overrides, methods besides auto)
PROBLEMS = {
    "slab_streaming": ("slab_streaming", [], ["direct", "krylov", "march"]),
    "compton_getting": ("compton_getting", [], ["direct", "krylov", "march"]),
    "swk_point": ("swk_point", [], ["sweep", "direct", "krylov"]),
    "swk_layer": ("swk_layer", [], ["sweep", "direct", "krylov"]),
    "full_alfvenic": ("full_alfvenic", [], ["direct", "krylov", "march"]),
    "slab dz=2 lambda, 16 mu": ("slab_streaming", ["grid.z_cells=100", "grid.mu_cells=16"], ["direct", "krylov"]),
    "B1 SWK 128x64x64": ("swk_point", ["grid.z_cells=128", "grid.p_cells=64"] + SWK_B1, ["sweep", "krylov"]),
    "B2 full_alfvenic 80x32x96": ("full_alfvenic", ["grid.z_cells=80", "grid.mu_cells=32", "grid.p_cells=96"],
                                  ["direct", "krylov"]),
    "ladder 16x8": ("swk_point", ["grid.z_cells=16", "grid.p_cells=8"] + SWK_B1, ["sweep", "direct", "krylov"]),
    "ladder 32x16": ("swk_point", ["grid.z_cells=32", "grid.p_cells=16"] + SWK_B1, ["sweep", "direct", "krylov"]),
    "ladder 64x32": ("swk_point", ["grid.z_cells=64", "grid.p_cells=32"] + SWK_B1, ["sweep", "direct", "krylov"]),
    "ladder 128x64": ("swk_point", ["grid.z_cells=128", "grid.p_cells=64"] + SWK_B1, ["sweep", "krylov"]),
    "CG homogeneous 256 mu x 512 p": ("compton_getting", ["grid.mu_cells=256", "grid.p_cells=512"],
                                      ["direct", "krylov"]),
    "slab 1600 z x 256 mu (819k)": ("slab_streaming", ["grid.z_cells=1600", "grid.mu_cells=256"],
                                    ["direct", "krylov"]),
    "tev10_slab (256k, eps > 0)": ("tev10_slab", [], ["direct", "krylov"]),
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--only", default="", help="comma-separated problem names (substring match)")
    ap.add_argument("--cap-s", type=float, default=120.0, help="kill a run after this many seconds")
    ap.add_argument("--cap-gb", type=float, default=10.0, help="kill a run above this resident memory")
    ap.add_argument("--json", default="", help="append each problem's figures to this JSON-lines file")
    a = ap.parse_args()
    want = [w.strip() for w in a.only.split(",") if w.strip()]
    print(f"| problem | unknowns | auto → | " + "method: solve s (peak GB, estimate GB) | ... | regret |")
    for name, (case, over, methods) in PROBLEMS.items():
        if want and not any(w in name for w in want):
            continue
        path = case_file(case)
        allm = ["auto"] + methods
        runs = {m: [] for m in allm}
        capped = set()
        for _ in range(a.repeats):
            for m in allm:
                if m in capped:
                    continue
                r = run_once(path, over + [f"solver.method={m}"], a.cap_s, a.cap_gb)
                if "killed" in r:
                    capped.add(m)
                    runs[m] = [r]
                else:
                    runs[m].append(r)
        med = {}
        for m in allm:
            ok = [r for r in runs[m] if "killed" not in r]
            if ok:
                med[m] = sorted(r["solve"] for r in ok)[len(ok) // 2]
        # regret per round: auto / best of that round, then the median over rounds
        rounds = 0 if "auto" in capped else min(len(runs[m]) for m in allm if m not in capped)
        regrets = [] if rounds else [float("inf")]
        for i in range(rounds):
            t = {m: runs[m][i]["solve"] for m in allm if m not in capped}
            regrets.append(t["auto"] / min(t.values()))
        paired = sorted(regrets)[len(regrets) // 2] if regrets else float("nan")
        auto = runs["auto"][0]
        # regret: the median of the method auto chose (its auto runs pooled with that method's
        # own) over the best median; the paired auto/best ratio of a round also carries the
        # round-to-round noise of two runs of the same method
        chosen = auto.get("method", "").split("->")[0]
        pool = {m: [r["solve"] for r in runs[m] if "killed" not in r] for m in methods}
        if chosen in pool and "auto" not in capped:
            pool[chosen] += [r["solve"] for r in runs["auto"]]
        meds = {m: sorted(v)[len(v) // 2] for m, v in pool.items() if v}
        regret = meds[chosen] / min(meds.values()) if chosen in meds else paired
        cells = []
        for m in allm:
            r0 = runs[m][0]
            if "killed" in r0:
                cells.append(f"{m}: {r0['killed']}")
            else:
                peak = max(r["peak_mb"] for r in runs[m]) / 1024
                extra = f", {r0['iterations']} its" if r0["method"].startswith("krylov") else ""
                cells.append(f"{m}: {med[m]:.2f} s ({peak:.2f} GB, est {r0['estimate_gb']:.2f}{extra}"
                             f"{'' if r0['converged'] else ', NOT CONVERGED'})")
        print(f"| {name} | {auto.get('unknowns', '?'):,} | {auto.get('method', '?')} | " + " | ".join(cells)
              + f" | {regret:.2f} (paired {paired:.2f}) |", flush=True)
        if a.json:
            with open(a.json, "a") as fh:
                fh.write(json.dumps(dict(name=name, case=case, overrides=over, runs=runs, regret=regret,
                                         paired=paired)) + "\n")


if __name__ == "__main__":
    main()
