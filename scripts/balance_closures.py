"""Particle-balance closure of the bundled cases and the thick slab (a measurement, not a test).

Prints, per run: method, closure, the flux-form round-off bound (what balance_closed uses) and
the stored matrix's bound.  Usage:  python scripts/balance_closures.py
"""
import time
import fpsolve
from fpsolve.run import solve
runs = [("slab_streaming", []), ("slab_streaming", ["turbulence.mean_free_path=1e-4", "grid.z_cells=100"]),
        ("slab_streaming", ["turbulence.mean_free_path=1e-5", "grid.z_cells=100"]),
        ("compton_getting", []), ("swk_point", []), ("swk_layer", []), ("full_alfvenic", [])]
for name, over in runs:
    case = fpsolve.load_case(name, over)
    t = time.perf_counter(); r = solve(case); t = time.perf_counter() - t
    b = r.balance
    print(f"{name:16s} {' '.join(over):50s} {r.info.method:8s} closure {b['closure']:+.2e} bound {b['closure_roundoff_bound']:.1e}"
          f" matrixbound {b.get('closure_roundoff_bound_matrix', float('nan')):.1e} {t:.1f}s", flush=True)
