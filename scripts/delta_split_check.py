"""Which kinetic delta at the Sun is right for ``cases/ism_dipole.toml``: the split or the coupled run?

The split (``fpsolve anisotropy`` before the convection of F was added): the streaming part from the
z run at V_A = 0, the Compton–Getting part from the homogeneous run with the Gamma of that run.
The coupled run: one kinetic z run with V_A = 62 km/s on a wide momentum grid (0.4-400 TeV/c, so the
mixed z-p fluxes are cut only far from 4 TeV).  This script prints, at 4 TeV:

1. Eq. (34) (the diffusion model, ``fpsolve.observable.convection_at_sun``) with U = 0 and U = H_c V_A:
   Gamma and dlnF/dz at the Sun, its convergence in p (20 -> 40 cells per decade) and z (120 -> 240),
   and the gradient ratio against the analytic Pe/(e^Pe - 1);
2. with ``--kinetic``: the coupled kinetic run on the wide grid (~9 min CPU for 115200 unknowns; the
   record is cached under ``--cache``) and, with ``--variants``, the same at z_cells = 30, at
   mu_cells = 8 and at p_cells = 40 (its convergence; ~6 min CPU more);
3. the d1 of the split, of the chain (split runs x the Eq. 34 ratios) and of the coupled run.

Usage (from the repository root)::

    PYTHONPATH=$PWD python scripts/delta_split_check.py [--kinetic [--variants]] [--cache DIR]

Measured (2 December 2026, 2 shared cores, load 6-11; CPU time by time.process_time).  Eq. (34) at
4 TeV: Gamma 4.50297 (U = 0: 4.73333), dlnF/dz -0.04272/kpc (U = 0: -0.33334), ratio 0.12815 against
Pe/(e^Pe - 1) = 0.12810 (Pe = 3.2815); 40 per decade / 240 z cells change Gamma by < 5e-5 and the
ratio by < 5e-4; < 0.2 s each.  The coupled kinetic runs (f < 0 next to p_min: flagged; smooth at the
Sun), at their momentum cell nearest 4 TeV, against the chain and the split at that cell's energy:

==================  ==========  ======  =============  =========  ===========  ===========  =======
run                 cell E      Gamma   dlnF/dz [/kpc]  d1         chain d1     split d1     CPU [s]
==================  ==========  ======  =============  =========  ===========  ===========  =======
p60 z60 mu16        4.236 TeV   4.5153  -0.04857       9.621e-4   9.582e-4     1.1736e-3    536
p60 z30 mu16        4.236 TeV   4.5157  -0.04856       9.621e-4   9.582e-4     1.1736e-3    181
p60 z60 mu8         4.236 TeV   4.5220  -0.05201       9.664e-4   9.582e-4     1.1736e-3     60
p40 z60 mu16        4.116 TeV   4.5219  -0.05131       9.646e-4   9.569e-4     1.1717e-3     92
Eq. (34)            4.236 TeV   4.5070  -0.04471
==================  ==========  ======  =============  =========  ===========  ===========  =======

(p60: 0.4-400 TeV/c in 60 cells, 20 per decade.)  z is converged (7e-5 in d1); refining mu (8 -> 16
cells) and p (13 -> 20 per decade) moves the coupled run towards the chain (d1 0.85% and 0.79% above
it -> 0.40%; Gamma and the gradient towards Eq. 34): the chain is the limit, the split is 22% high.
The coupled run's own d1 equals Eq. (7) with its own gradients to 1.4e-4: the anisotropy adds at
O(eps) with no missing cross term; what the split misses is the convection of F.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

import fpsolve
from fpsolve.build import build_physics
from fpsolve.observable import convection_at_sun, observable_task, plan_compton_getting, plan_streaming
from fpsolve.physics import convection_speed, pitch_integrals

CASE = "cases/ism_dipole.toml"
E = 4.0
WIDE = ["grid.p_min=0.4", "grid.p_max=400.0", "grid.p_cells=60", "grid.z_cells=60", 'solver.method="direct"']


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kinetic", action="store_true", help="also the coupled kinetic run on the wide grid")
    ap.add_argument("--variants", action="store_true", help="with --kinetic: z_cells=30, mu_cells=8, p_cells=40 too")
    ap.add_argument("--cache", default=None, help="cache directory of the kinetic records")
    args = ap.parse_args()

    case = fpsolve.load_case(CASE, ["turbulence.alfven_speed_kms=62.0"])
    setup = case.physical_setup()
    p_code = float(setup.p_code(kinetic_tev=E))
    p_tev = p_code * setup.momentum_unit_tev
    model = build_physics(case).model
    pe = float(convection_speed(model, np.array([p_code]))[0] * float(case.length(3000.0))
               / pitch_integrals(model, np.array([p_code])).kappa_zz[0])

    print(f"# Eq. (34) at the Sun, {E:g} TeV (p = {p_tev:.6f} TeV/c), Pe = U H/kappa_zz = {pe:.4f}")
    import fpsolve.observable as ob

    for label, cpd, ov in (("20/decade z120", 20, []), ("40/decade z120", 40, []),
                           ("20/decade z240", 20, ["grid.z_cells=240"]), ("20/decade z60", 20, ["grid.z_cells=60"])):
        ob.CONVECTION_CELLS_PER_DECADE = cpd
        t = time.process_time()
        gam, dlnz = convection_at_sun(CASE, ov, [E], [0.0, 62.0])
        print(f"{label:16s} U=0: Gamma {gam[0, 0]:.5f} dlnF/dz {dlnz[0, 0]:+.5f}/kpc | U=H_c V_A: Gamma {gam[1, 0]:.5f}"
              f" dlnF/dz {dlnz[1, 0]:+.5f}/kpc ratio {dlnz[1, 0] / dlnz[0, 0]:.5f}"
              f" (Pe/(e^Pe-1) = {pe / np.expm1(pe):.5f})  cpu {time.process_time() - t:.2f}s")
    ob.CONVECTION_CELLS_PER_DECADE = 20

    chain_at(E, args.cache)
    if not args.kinetic:
        return
    variants = [("wide p60 z60 mu16", [])]
    if args.variants:
        variants += [("wide p60 z30 mu16", ["grid.z_cells=30"]), ("wide p60 z60 mu8", ["grid.mu_cells=8"]),
                     ("wide p40 z60 mu16", ["grid.p_cells=40"])]
    for label, extra in variants:
        t = time.process_time()
        r = observable_task(CASE, WIDE + extra + [f"probes.p=[{p_tev!r}]"], args.cache)
        # the record is at the momentum cell nearest to 4 TeV: the chain again at that cell's energy
        e_cell = setup.momentum_unit_tev * (np.sqrt(1.0 + r["p_code"] ** 2) - 1.0)
        print(f"\ncoupled kinetic {label} (cell at {e_cell:.4f} TeV): trustworthy {r['trustworthy']},"
              f" Gamma {r['Gamma']:.4f} dlnF/dz {r['dlnF_dz']:+.5f}/kpc d1 {r['d1']:.4e} delta_s(Eq.13)"
              f" {r['delta_s_eq13']:.3e} delta_c(Eq.14) {r['delta_c_eq14']:.3e} d1 Eq.7 {r['d1_da']:.4e}"
              f"  cpu {time.process_time() - t:.0f}s (0 if cached)")
        chain_at(e_cell, args.cache)


def chain_at(e, cache):
    """The split and the chain's construction at kinetic energy ``e`` (TeV)."""
    gam, dlnz = convection_at_sun(CASE, [], [e], [0.0, 62.0])
    gam, dlnz = gam[:, 0], dlnz[:, 0]
    st = observable_task(CASE, plan_streaming(CASE, [], [e])[0], cache)
    cg_split = observable_task(CASE, plan_compton_getting(CASE, [], [e], [st["Gamma"]], [62.0])[0], cache)
    g_cpl = st["Gamma"] + gam[1] - gam[0]
    cg_cpl = observable_task(CASE, plan_compton_getting(CASE, [], [e], [g_cpl], [62.0])[0], cache)
    ratio = dlnz[1] / dlnz[0]
    print(f"# kinetic d1 at {e:.4f} TeV; Eq. (34) with U: Gamma {gam[1]:.4f}, dlnF/dz {dlnz[1]:+.5f}/kpc")
    print(f"split (V_A = 0 streaming + CG at Gamma {st['Gamma']:.4f}): d1_s {st['d1']:.4e} d1_c {cg_split['d1']:.4e}"
          f" d1 {st['d1'] + cg_split['d1']:.4e}")
    print(f"chain (streaming x {ratio:.4f} + CG at Gamma {g_cpl:.4f}): d1_s {st['d1'] * ratio:.4e}"
          f" d1_c {cg_cpl['d1']:.4e} d1 {st['d1'] * ratio + cg_cpl['d1']:.4e}")


if __name__ == "__main__":
    main()
