"""Which parts of the flux-form residual need compensated accumulation (a measurement, not a test).

Thick slab (lambda = 1e-4, 1e-5; 100 z cells): refinement with the LU of the stored A and three
residuals -- the blocks of the other terms compensated + the (mu, p) form in flux form (what
Problem.accurate_residual does), the blocks in plain double, and the flux form in long double --
their balance closures and F against the long-double one.
Usage:  python scripts/residual_accuracy.py
"""
import numpy as np, fpsolve
from fpsolve.build import build_grid, build_physics
from fpsolve.problem import build_problem
from fpsolve.solvers import SolveInfo, _lu, refine
for lam in ("1e-4", "1e-5"):
    case = fpsolve.load_case("slab_streaming", [f"turbulence.mean_free_path={lam}", "grid.z_cells=100"])
    grid = build_grid(case); pb = build_problem(grid, build_physics(case))
    flux, rest = pb._flux_split
    lu = _lu(pb.A)
    def plain(f):
        return pb.b - rest @ f - pb.flux_form(f)[0]
    def longd(f):
        r = pb.accurate_residual(f) + pb.flux_form(f)[0]  # compensated rest only
        a, scale = pb._planes(f.astype(np.longdouble))
        y = flux[0].apply(pb.layout.plane, a, scale.astype(np.longdouble))[0]
        return (r.astype(np.longdouble) - pb._unplanes(y)).astype(float)
    out = {}
    for name, res in (("compensated rest + flux form", pb.accurate_residual), ("plain rest + flux form", plain),
                      ("compensated rest + long-double flux form", longd)):
        info = SolveInfo(method=name, rtol=1e-10)
        f = refine(lu.solve, res, pb.b, np.zeros_like(pb.b), info, 1e-10)
        b = pb.balance(f)
        F = 0.5 * f.reshape(grid.shape)[..., 0] @ grid.dmu
        out[name] = F
        print(f"lambda {lam}: {name:42s} closure {b['closure']:+.2e}  corrections {['%.1e' % c for c in info.corrections]}")
    ref = out["compensated rest + long-double flux form"]
    for k, F in out.items():
        print(f"   max|F - F_longdouble|/max F  {k:42s} {np.max(np.abs(F - ref)) / ref.max():.1e}")
