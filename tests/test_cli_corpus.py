"""The command-line corpus: hostile command lines and files, each refused before any work with its
documented exit status, exactly one line on stderr naming the key or path, no traceback, and
nothing written in the working directory (no output, no empty folder, no temporary or lock file).

Each entry: ``(id, command line, exit status, text the single stderr line must contain)``.  The
working directory holds ``case.toml`` (the slab case, 20 z cells), ``out.h5`` (a result),
``ck.h5`` (a checkpoint), ``notes.txt``, ``sub/`` (a folder), ``incomplete.h5``, ``foreign.h5``
(HDF5, not fpsolve), ``.out.h5.abcdefgh.tmp`` (a complete-looking leftover temporary file),
``fifo`` (a named pipe), ``empty.toml``, ``bom.toml`` (the case with a UTF-8 byte-order mark),
folders ``new_F.png`` and ``out_F.png`` where figures would go.
"""
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

import fpsolve
from fpsolve.io import write_checkpoint
from fpsolve.solvers import MarchState

ROOT = Path(__file__).resolve().parents[1]
SLAB = ROOT / "cases" / "slab_streaming.toml"

# exit statuses (README "Commands, exit statuses")
BAD = 2
MEMORY = 6

CORPUS = [
    # --- output paths of `run`, checked before the solve ---------------------------------------
    ("run-o-missing-folder", "run case.toml -o no/such/dir/out.h5", BAD, "folder no/such/dir does not exist"),
    ("run-o-folder", "run case.toml -o sub", BAD, "-o sub: is a folder"),
    ("run-o-folder-slash", "run case.toml -o sub/", BAD, "-o sub: is a folder"),
    ("run-o-case-file", "run case.toml -o case.toml", BAD, "-o case.toml: is the input file case.toml"),
    ("run-o-other-file", "run case.toml -o notes.txt", BAD, "-o notes.txt: exists and is not an fpsolve file"),
    ("run-o-device", "run case.toml -o /dev/null", BAD, "-o /dev/null: is not a regular file"),
    ("run-o-fifo", "run case.toml -o fifo", BAD, "-o fifo: is not a regular file"),
    ("run-o-restart-file", "run case.toml solver.method=march --restart ck.h5 -o ck.h5", BAD,
     "-o ck.h5: is the input file ck.h5"),
    ("run-checkpoint-folder", "run case.toml solver.method=march --checkpoint sub -o new.h5", BAD,
     "--checkpoint sub: is a folder"),
    ("run-checkpoint-is-output", "run case.toml solver.method=march --checkpoint new.h5 -o new.h5", BAD,
     "--checkpoint new.h5: the same file as the output"),
    ("run-checkpoint-missing-folder", "run case.toml solver.method=march --checkpoint no/ck.h5 -o new.h5", BAD,
     "--checkpoint no/ck.h5: folder no does not exist"),
    ("run-plot-figure-folder", "run case.toml -o new.h5 --plot", BAD, "--plot figure new_F.png: is a folder"),
    ("plot-figure-folder", "plot out.h5 --what g,F", BAD, "figure out_F.png: is a folder"),
    # --- overrides and options -----------------------------------------------------------------
    ("override-no-key", "run case.toml =3 -o new.h5", BAD, "'=3': not an override; allowed: section.key=value"),
    ("override-three-parts", "run case.toml a.b.c=1 -o new.h5", BAD, "'a.b.c=1': not an override"),
    ("override-no-section", "run case.toml grid=3 -o new.h5", BAD, "'grid=3': not an override"),
    ("override-no-value", "run case.toml grid.z_cells -o new.h5", BAD, "'grid.z_cells': not an override"),
    ("override-spaces", ["run", "case.toml", "grid.z_cells = 40", "-o", "new.h5"], BAD,
     "'grid.z_cells = 40': spaces around '='; allowed: section.key=value"),
    ("override-unknown-key", "run case.toml grid.z_cell=40 -o new.h5", BAD, "[grid] unknown key 'z_cell'"),
    ("override-bad-value", "run case.toml grid.mu_cells=7 -o new.h5", BAD, "[grid] mu_cells = 7: out of range"),
    ("run-s-too-close-to-2", "run case.toml turbulence.s=1.9999999999999998 -o new.h5", BAD,
     "[turbulence] s = 1.9999999999999998: outside the allowed range [1, 1.9999] for a run"),
    ("unknown-option", "run case.toml --chekpoint-every 3 -o new.h5", BAD, "unrecognized option '--chekpoint-every'"),
    ("checkpoint-every-zero", "run case.toml --checkpoint-every 0 -o new.h5", BAD, "--checkpoint-every: '0'"),
    ("checkpoint-every-negative", "run case.toml --checkpoint-every -3 -o new.h5", BAD, "--checkpoint-every: '-3'"),
    ("checkpoint-every-text", "run case.toml --checkpoint-every abc -o new.h5", BAD, "'abc': not an integer"),
    ("checkpoint-minutes-nan", "run case.toml --checkpoint-minutes nan -o new.h5", BAD, "--checkpoint-minutes: 'nan'"),
    ("checkpoint-minutes-negative", "run case.toml --checkpoint-minutes -1 -o new.h5", BAD,
     "--checkpoint-minutes: '-1'"),
    ("checkpoint-minutes-inf", "run case.toml --checkpoint-minutes inf -o new.h5", BAD, "--checkpoint-minutes: 'inf'"),
    ("run-no-case", "run", BAD, "the following arguments are required: case"),
    ("unknown-command", "frobnicate", BAD, "invalid choice: 'frobnicate'"),
    # --- input files -------------------------------------------------------------------------------
    ("restart-missing", "run case.toml --restart missing.h5 -o new.h5", BAD, "missing.h5: no such file"),
    ("restart-a-result", "run case.toml --restart out.h5 -o new.h5", BAD, "out.h5: not an fpsolve checkpoint"),
    ("restart-text", "run case.toml --restart notes.txt -o new.h5", BAD, "notes.txt: not an HDF5 file"),
    ("restart-other-case", "run case.toml grid.mu_cells=8 --restart ck.h5 -o new.h5", BAD,
     "ck.h5: checkpoint of a different case"),
    ("case-missing", "run nosuch.toml -o new.h5", BAD, "nosuch.toml: cannot read case file"),
    ("case-empty", "run empty.toml -o new.h5", BAD, "empty.toml: empty case file"),
    ("case-is-folder", "run sub -o new.h5", BAD, "sub: cannot read case file"),
    ("case-binary", "run out.h5 -o new.h5", BAD, "out.h5: not a UTF-8 text file"),
    ("report-empty", "report empty.toml", BAD, "empty.toml: empty case file"),
    ("info-missing", "info missing.h5", BAD, "missing.h5: no such file"),
    ("info-text", "info notes.txt", BAD, "notes.txt: not an HDF5 file"),
    ("info-folder", "info sub", BAD, "sub: is a folder"),
    ("info-incomplete", "info incomplete.h5", BAD, "incomplete.h5: incomplete file"),
    ("info-foreign", "info foreign.h5", BAD, "foreign.h5: not an fpsolve result file"),
    ("info-temporary", "info .out.h5.abcdefgh.tmp", BAD, ".out.h5.abcdefgh.tmp: a temporary file of an unfinished"),
    # --- plot --------------------------------------------------------------------------------------
    ("plot-what-nonsense", "plot out.h5 --what nonsense -o figs", BAD, "--what nonsense: unknown figure"),
    ("plot-what-partly-wrong", "plot out.h5 --what g,Fz -o figs", BAD, "--what Fz: unknown figure"),
    ("plot-o-file", "plot out.h5 -o notes.txt", BAD, "-o notes.txt: exists and is not a folder"),
    ("plot-o-missing-parent", "plot out.h5 -o no/such/figs", BAD, "-o no/such/figs: folder no/such does not exist"),
    ("plot-missing", "plot missing.h5 -o figs", BAD, "missing.h5: no such file"),
    ("plot-checkpoint", "plot ck.h5 -o figs", BAD, "ck.h5: a checkpoint of a march, not a result"),
    ("plot-text", "plot notes.txt -o figs", BAD, "notes.txt: not an HDF5 file"),
    # --- studies ------------------------------------------------------------------------------------
    ("converge-ratio-one", "converge case.toml --ratio 1 --out conv", BAD, "--ratio: '1'"),
    ("converge-ratio-nan", "converge case.toml --ratio nan --out conv", BAD, "--ratio: 'nan'"),
    ("converge-levels-two", "converge case.toml --levels 2 --out conv", BAD, "--levels: '2'"),
    ("converge-refine-unknown", "converge case.toml --refine z,q --out conv", BAD, "--refine q: unknown axis"),
    ("converge-refine-t-steady", "converge case.toml --refine t --out conv", BAD, "--refine t: case.toml has no [time] section"),
    ("converge-workers-zero", "converge case.toml --workers 0 --out conv", BAD, "--workers: '0'"),
    ("converge-list-value", "converge case.toml turbulence.s=1.5,1.6 --out conv", BAD,
     "'turbulence.s=1.5,1.6': a list of values is for `fpsolve sweep`"),
    ("converge-out-file", "converge case.toml --out notes.txt", BAD, "--out notes.txt: exists and is not a folder"),
    ("converge-out-missing-parent", "converge case.toml --out no/such/conv", BAD, "folder no/such does not exist"),
    ("converge-top-level-too-large", "converge case.toml --levels 3 --ratio 100 --refine z,mu --out conv", BAD,
     "[grid] too large"),
    ("sweep-no-parameter", "sweep case.toml --out sw", BAD, "no parameter to sweep"),
    ("sweep-empty-value", "sweep case.toml s= --out sw", BAD, "'s=': not an override"),
    ("sweep-trailing-comma", "sweep case.toml turbulence.s=1.5, --out sw", BAD, "'turbulence.s=1.5,': an empty value"),
    ("sweep-second-value-bad", "sweep case.toml turbulence.s=1.5,3.0 --out sw", BAD, "[turbulence] s = 3.0"),
    ("sweep-unknown-key", "sweep case.toml turbulence.nosuch=1,2 --out sw", BAD, "[turbulence] unknown key 'nosuch'"),
    ("sweep-out-file", "sweep case.toml turbulence.s=1.5,1.6 --out notes.txt", BAD, "--out notes.txt"),
    ("validate-only-unknown", "validate --only nosuch --out val", BAD, "--only nosuch: unknown problem"),
    ("validate-only-one-unknown", "validate --only streaming,nosuch --out val", BAD, "--only nosuch"),
    ("validate-out-file", "validate --only streaming --out notes.txt", BAD, "--out notes.txt"),
    ("validate-out-missing-parent", "validate --only streaming --out no/such/val", BAD, "folder no/such does not exist"),
] + [
    # --- numeric usability of every key (issue 9): magnitudes that overflow or underflow the operator
    # are refused before any work naming the user's key and the usable range (case.USABLE_LO/HI:
    # |x|^4 a normal float64), also when only a combination (unit x length, index x ln p) is out
    (f"usable-{name}", f"run {case} {over} -o new.h5", BAD, text) for name, case, over, text in [
        ("amplitude-denormal", "case.toml", "source.amplitude=1e-320",
         "[source] amplitude = 1e-320: outside the usable range"),
        ("amplitude-huge", "case.toml", "source.amplitude=1e308", "[source] amplitude = 1e+308: outside the usable"),
        ("amplitude-density", "case.toml", "source.amplitude=1e77", "[source] amplitude = 1e+77: the source density"),
        ("p_min-denormal", "case.toml", "grid.p_min=1e-320", "[grid] p_min = 1e-320: outside the usable range"),
        ("p_max-huge", "case.toml", "grid.p_max=1e308", "[grid] p_max = 1e+308: outside the usable range"),
        ("p_edges-denormal", "case.toml", "grid.p_edges=[1e-320,1.0]", "[grid] p_edges = [1e-320, 1.0]: outside"),
        ("spectral_index-huge", "case.toml", "source.spectral_index=1e308",
         "[source] spectral_index = 1e+308: (p/p0)^-q on the momentum grid"),
        ("spectral_index-grid", "case.toml", "grid.p_max=1e10 grid.p_cells=4 source.spectral_index=20",
         "[source] spectral_index = 20.0: (p/p0)^-q on the momentum grid"),
        ("p0-denormal", "case.toml", "source.p0=1e-320", "[source] p0 = 1e-320: outside the usable range"),
        ("centre-huge", "case.toml", "source.centre=1e300", "[source] centre = 1e+300: outside the usable range"),
        ("width-denormal", "case.toml", "source.width=1e-320", "[source] width = 1e-320: outside the usable range"),
        ("catastrophic-denormal", "case.toml", "losses.catastrophic_time=1e-320",
         "[losses] catastrophic_time = 1e-320: outside the usable range"),
        ("catastrophic-combination", "phys.toml", "units.length_unit_pc=1e70 losses.catastrophic_time=1e-70",
         "[losses] catastrophic_time = 1e-70 with [units] length_unit_pc = 1e+70: 3.07e-141 L/c in code units"),
        ("pion_time-denormal", "case.toml", "losses.pion_time=1e-320", "[losses] pion_time = 1e-320: outside"),
        ("power_law_rate-huge", "case.toml", "losses.power_law_rate=1e100", "[losses] power_law_rate = 1e+100"),
        ("power_law_index-grid", "case.toml", "losses.power_law_rate=1.0 losses.power_law_index=1e5 grid.p_max=10.0 "
         "grid.p_cells=2", "[losses] power_law_index = 100000.0: p^index on the momentum grid"),
        ("power_law_rate-product", "case.toml", "losses.power_law_rate=1e70 losses.power_law_index=3.0 "
         "grid.p_max=1e3 grid.p_cells=2", "[losses] power_law_rate = 1e+70: loss rate b0 p^index reaches"),
        ("z_min-huge", "case.toml", "grid.z_min=-1e308", "[grid] z_min = -1e+308: outside the usable range"),
        ("z_max-huge", "case.toml", "grid.z_max=1e308", "[grid] z_max = 1e+308: outside the usable range"),
        ("z_edges-huge", "case.toml", "grid.z_edges=[-1e300,0.0,1.0]", "[grid] z_edges = [-1e+300, 0.0, 1.0]"),
        ("domain-length", "case.toml", "grid.z_min=-1e77 grid.z_max=1e77",
         "[grid] z_min = -1e+77, z_max = 1e+77, z_cells = 20: domain length 2e+77 L"),
        ("cell-width", "case.toml", "grid.z_min=0.0 grid.z_max=2e-76 source.centre=1e-76 source.width=2e-77",
         "[grid] z_min = 0.0, z_max = 2e-76, z_cells = 20: domain length 2e-76 L, cell width 1e-77 L"),
        ("mean_free_path-huge", "case.toml", "turbulence.mean_free_path=1e308",
         "[turbulence] mean_free_path = 1e+308: outside the usable range"),
        ("mean_free_path-D0", "case.toml", "turbulence.mean_free_path=1e77",
         "[turbulence] mean_free_path = 1e+77, p_ref = 1.0: the scattering rate D_0 reaches"),
        ("p_ref-denormal", "case.toml", "turbulence.p_ref=1e-320", "[turbulence] p_ref = 1e-320: outside"),
        ("p_max_resonant-denormal", "case.toml", "turbulence.p_max_resonant=1e-320",
         "[turbulence] p_max_resonant = 1e-320: outside the usable range"),
        ("alfven_speed-denormal", "case.toml", "turbulence.alfven_speed=1e-320",
         "[turbulence] alfven_speed = 1e-320: outside the usable range"),
        ("momentum-denormal", "case.toml", "particle.momentum=1e-320", "[particle] momentum = 1e-320: outside"),
        ("charge-denormal", "case.toml", "particle.charge=1e-320", "[particle] charge = 1e-320: outside"),
        ("mass_number-huge", "case.toml", "particle.mass_number=1e308", "[particle] mass_number = 1e+308: outside"),
        ("solver-rtol-below-ulp", "case.toml", "solver.rtol=1e-17",
         "[solver] rtol = 1e-17: out of range; allowed: [2.22e-16, 1e-3]"),
        ("python-math-sin", "case.toml", 'turbulence.model="python" turbulence.function="math:sin"',
         "[turbulence] function = 'math:sin': f(mu, p) raised TypeError"),
        ("python-not-callable", "case.toml", 'turbulence.model="python" turbulence.function="math:pi"',
         "[turbulence] function = 'math:pi': f(mu, p) raised TypeError"),
        ("python-two-values", "case.toml", 'turbulence.model="python" turbulence.function="builtins:divmod"',
         "[turbulence] function = 'builtins:divmod': f(mu, p) returned tuple (2 values), not three arrays"),
        ("python-no-module", "case.toml", 'turbulence.model="python" turbulence.function="nosuchmodule:f"',
         "function = 'nosuchmodule:f': cannot import (ModuleNotFoundError"),
        ("table-text-file", "case.toml", 'turbulence.model="table" turbulence.table="notes.txt"',
         "[turbulence] table = 'notes.txt': not an .npz archive"),
        ("table-npy-file", "case.toml", 'turbulence.model="table" turbulence.table="arr.npy"',
         "[turbulence] table = 'arr.npy': not an .npz archive"),
        ("table-hdf5-file", "case.toml", 'turbulence.model="table" turbulence.table="out.h5"',
         "[turbulence] table = 'out.h5': not an .npz archive"),
        ("table-folder", "case.toml", 'turbulence.model="table" turbulence.table="sub"',
         "[turbulence] table = 'sub': is a folder"),
        ("length_unit-denormal", "phys.toml", "units.length_unit_pc=1e-320",
         "[units] length_unit_pc = 1e-320: outside the usable range"),
        ("length_unit-huge", "phys.toml", "units.length_unit_pc=1e308",
         "[units] length_unit_pc = 1e+308: outside the usable range"),
        ("length_unit-times-z", "phys.toml", "units.length_unit_pc=1e-70 grid.z_max=1e10",
         "[grid] z_min = 0.0, z_max = 10000000000.0, z_cells = 20 with [units] length_unit_pc = 1e-70"),
        ("kinetic_tev-denormal", "phys.toml", "particle.kinetic_tev=[1e-320]",
         "[particle] kinetic_tev = [1e-320]: outside the usable range"),
        ("b0-huge", "phys.toml", "turbulence.b0_ug=1e308", "[turbulence] b0_ug = 1e+308: outside the usable range"),
        ("db_over_b0-D0", "phys.toml", "turbulence.db_over_b0=1e70",
         "[turbulence] b0_ug = 3.0, db_over_b0 = 1e+70, lambda10 = 1.0 with [units] length_unit_pc = 1000.0: the "
         "scattering rate D_0"),
        ("pion_density-huge", "phys.toml", "losses.pion_density_cm3=1e308",
         "[losses] pion_density_cm3 = 1e+308: outside the usable range"),
        ("alfven_speed_kms-above-c", "phys.toml", "turbulence.alfven_speed_kms=3e5",
         "[turbulence] alfven_speed_kms = 300000.0: V_A = 1.00069 c, not below the speed of light"),
        ("length_unit-smallest", "phys.toml", "units.length_unit_pc=1.3e-77",
         "with [units] length_unit_pc = 1.3e-77: z = 1.54e+81 L in code units is outside the usable range"),
        ("alfven_speed_kms-denormal", "phys.toml", "turbulence.alfven_speed_kms=1e-320",
         "[turbulence] alfven_speed_kms = 1e-320: outside the usable range"),
        ("time-end-denormal", "burst.toml", "time.end=1e-320", "[time] end = 1e-320: outside the usable range"),
        ("time-end-huge", "burst.toml", "time.end=1e308", "[time] end = 1e+308: outside the usable range"),
        ("time-fixed_step-denormal", "burst.toml", "time.fixed_step=1e-320",
         "[time] fixed_step = 1e-320: outside the usable range"),
        ("time-max_step-below-ulp", "burst.toml", "time.max_step=1e-17",
         "[time] max_step = 1e-17: shorter than 16 ulp of end = 30.0"),
        ("time-fixed_step-below-ulp", "burst.toml", "time.fixed_step=1e-17",
         "[time] fixed_step = 1e-17: shorter than 16 ulp of end = 30.0"),
        ("time-max_step-denormal", "burst.toml", "time.max_step=1e-320", "[time] max_step = 1e-320: outside"),
        ("time-rtol-below-ulp", "burst.toml", "time.rtol=1e-17",
         "[time] rtol = 1e-17: out of range; allowed: [2.22e-16, 0.1]"),
        ("time-atol-huge", "burst.toml", "time.atol=1e308", "[time] atol = 1e+308: outside the usable range"),
        ("time-output_times-denormal", "burst.toml", "time.output_times=[1e-320]",
         "[time] output_times = [1e-320]: outside the usable range"),
        ("time-t_on-denormal", "burst.toml", 'time.profile="switch" time.t_on=1e-320 time.t_off=1.0',
         "[time] t_on = 1e-320: outside the usable range"),
        ("time-t_off-denormal", "burst.toml", 'time.profile="switch" time.t_off=1e-320',
         "[time] t_off = 1e-320: outside the usable range"),
        ("time-t_on-combination", "phys-time.toml", 'units.length_unit_pc=1e70 time.profile="switch" time.t_on=1e-70',
         "[time] t_on = 1e-70 with [units] length_unit_pc = 1e+70: 3.07e-141 L/c in code units"),
        ("time-function-negative", "burst.toml", 'time.profile="python" time.function="math:sin"',
         "[time] function = 'math:sin': a(30) = -0.98"),
        ("time-function-raises", "burst.toml", 'time.profile="python" time.function="math:factorial"',
         "[time] function = 'math:factorial': a(0) raised TypeError"),
        ("time-output_cadence-memory", "burst_cadence.toml", "time.output_cadence=1e-9",
         "[time] output_cadence = 1e-09: 3e+10 outputs of F(z, p) exceed [solver] memory_limit_gb = 16"),
        ("time-output_cadence-below-ulp", "burst_cadence.toml", "time.output_cadence=1e-15",
         "[time] output_cadence = 1e-15: shorter than 16 ulp of end = 30.0"),
        ("time-output_cadence-denormal", "burst_cadence.toml", "time.output_cadence=1e-320",
         "[time] output_cadence = 1e-320: outside the usable range"),
    ]
] + [
    ("usable-sweep-second-value-denormal", "sweep case.toml source.amplitude=1.0,1e-320 --out sw", BAD,
     "[source] amplitude = 1e-320: outside the usable range"),
    ("usable-converge-mean_free_path-huge", "converge case.toml turbulence.mean_free_path=1e308 --out conv", BAD,
     "[turbulence] mean_free_path = 1e+308: outside the usable range"),
    ("usable-report-kinetic_tev-denormal", "report phys.toml particle.kinetic_tev=[1e-320]", BAD,
     "[particle] kinetic_tev = [1e-320]: outside the usable range"),
    ("usable-report-alfven_speed_kms-above-c", "report phys.toml turbulence.alfven_speed_kms=3e5", BAD,
     "[turbulence] alfven_speed_kms = 300000.0: V_A = 1.00069 c, not below the speed of light"),
    # --- memory: a grid larger than this machine's RAM (estimate 560 GB), refused before any work ------
    ("run-grid-exceeds-ram", "run case.toml grid.z_cells=100000 grid.mu_cells=1024 solver.memory_limit_gb=100000 "
     "-o new.h5", MEMORY, "not enough memory for this grid: estimated 560 GB"),
    ("sweep-grid-exceeds-ram", "sweep case.toml grid.z_cells=20,100000 grid.mu_cells=1024 "
     "solver.memory_limit_gb=100000 --out sw", MEMORY, "not enough memory for this grid"),
    ("converge-finest-exceeds-ram", "converge case.toml grid.z_cells=20000 grid.mu_cells=1024 "
     "solver.memory_limit_gb=100000 --levels 3 --ratio 3 --out conv", MEMORY, "not enough memory for this grid"),
]


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """The working directory's files, built once (copied for every entry)."""
    d = tmp_path_factory.mktemp("template")
    (d / "case.toml").write_text(SLAB.read_text().replace("z_cells = 200", "z_cells = 20"))
    case = fpsolve.load_case(d / "case.toml")
    fpsolve.write(fpsolve.solve(case), d / "out.h5")
    f = np.zeros(case.make_grid().shape).ravel()
    write_checkpoint(d / "ck.h5", MarchState(f, 3, 1.0, 0.5, 1.0, [1.0, 0.7, 0.5], [1.0, 1.0, 1.0], []),
                     case.digest(solver=False), case.resolved_text(), fpsolve.__version__, "case.toml")
    (d / "notes.txt").write_text("my notes\n")
    (d / "sub").mkdir()
    (d / "new_F.png").mkdir()  # a folder where `run --plot` would write a figure
    (d / "out_F.png").mkdir()  # ... and `plot out.h5`
    with h5py.File(d / "incomplete.h5", "w") as h5:
        h5.attrs["complete"] = False
    with h5py.File(d / "foreign.h5", "w") as h5:
        h5.attrs["complete"] = True
        h5["x"] = np.arange(3.0)
    shutil.copy(d / "out.h5", d / ".out.h5.abcdefgh.tmp")
    (d / "empty.toml").write_text("")
    # usability corpus: a physical run case, a [time] case (with outputs, and with a cadence), a .npy
    swk = (ROOT / "cases" / "swk_layer.toml").read_text()
    (d / "phys.toml").write_text(swk.replace("z_cells = 200", "z_cells = 20").replace("p_cells = 80", "p_cells = 8"))
    burst = (ROOT / "cases" / "burst_slab.toml").read_text().replace("z_cells = 200 ", "z_cells = 20 ")
    (d / "burst.toml").write_text(burst)
    (d / "burst_cadence.toml").write_text("\n".join(x for x in burst.splitlines() if not x.startswith("output_times")))
    nearby = (ROOT / "cases" / "nearby_source_burst.toml").read_text()
    (d / "phys-time.toml").write_text(nearby.replace("z_cells = 500 ", "z_cells = 20 ").replace("p_cells = 6", "p_cells = 2"))
    np.save(d / "arr.npy", np.arange(3.0))
    (d / "bom.toml").write_bytes(b"\xef\xbb\xbf" + (d / "case.toml").read_bytes())
    return d


def _snapshot(folder: Path) -> dict:
    return {str(p.relative_to(folder)): (p.is_dir(), p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*"))}


def _cli(args, cwd):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "fpsolve.cli", *args], capture_output=True, text=True, cwd=cwd,
                          env=env, timeout=120)


@pytest.fixture
def workdir(template, tmp_path):
    d = tmp_path / "wd"
    shutil.copytree(template, d)
    os.mkfifo(d / "fifo")
    return d


def test_corpus_size():
    assert len(CORPUS) >= 120
    assert len({c[0] for c in CORPUS}) == len(CORPUS)


def _main(args, cwd, monkeypatch, capsys):
    """``fpsolve.cli.main`` in this process (the corpus is ~70 command lines: a subprocess each would
    spend minutes importing); returns (status, stderr).  An exception escaping ``main`` fails the test."""
    from fpsolve.cli import main

    monkeypatch.chdir(cwd)
    capsys.readouterr()
    try:
        status = main(list(args))
    except SystemExit as exit_:  # argparse errors
        status = exit_.code
    return status, capsys.readouterr().err


@pytest.mark.parametrize("name, line, status, text", CORPUS, ids=[c[0] for c in CORPUS])
def test_cli_corpus(workdir, name, line, status, text, monkeypatch, capsys):
    args = shlex.split(line) if isinstance(line, str) else line
    before = _snapshot(workdir)
    code, err = _main(args, workdir, monkeypatch, capsys)
    assert code == status, err
    assert err.count("\n") == 1, err  # exactly one line
    assert text in err, err
    assert _snapshot(workdir) == before  # nothing written, no folder, no temp or lock file


@pytest.mark.parametrize("name", ["run-o-missing-folder", "override-spaces", "checkpoint-every-zero", "info-missing",
                                  "plot-what-nonsense", "sweep-second-value-bad", "usable-amplitude-denormal",
                                  "usable-python-math-sin", "usable-length_unit-denormal"])
def test_cli_corpus_in_a_process(workdir, name):
    """A few entries as a real process: one line, no traceback, the same status; --debug shows it."""
    _, line, status, text = next(c for c in CORPUS if c[0] == name)
    args = shlex.split(line) if isinstance(line, str) else line
    before = _snapshot(workdir)
    proc = _cli(args, workdir)
    assert proc.returncode == status and proc.stderr.count("\n") == 1 and text in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr
    assert _snapshot(workdir) == before


def test_byte_order_mark_is_accepted(workdir):
    """A case file saved with a UTF-8 BOM (Windows editors) is the same case: `report` prints the
    same text and the validated case is identical (load_case decodes utf-8-sig)."""
    proc = _cli(["report", "bom.toml"], workdir)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    assert proc.stdout == _cli(["report", "case.toml"], workdir).stdout.replace("case.toml", "bom.toml")
    bom, plain = fpsolve.load_case(workdir / "bom.toml"), fpsolve.load_case(workdir / "case.toml")
    assert bom.text == plain.text and bom.digest() == plain.digest()


def test_info_on_a_checkpoint_is_one_line(workdir):
    """Seen: a KeyError 'case_source' traceback.  Now: one line naming step, residual and the
    --restart command; the Python reader raises FileFormatError (never KeyError)."""
    proc = _cli(["info", "ck.h5"], workdir)
    assert proc.returncode == 0 and proc.stderr == ""
    assert proc.stdout.count("\n") == 1
    assert proc.stdout.startswith("ck.h5: CHECKPOINT of a pseudo-time march at step 3")
    assert "fpsolve run case.toml --restart ck.h5" in proc.stdout
    with pytest.raises(fpsolve.io.FileFormatError, match="a checkpoint of a march, not a result"):
        fpsolve.read(workdir / "ck.h5")


def test_info_into_a_closed_pipe_is_quiet(workdir):
    """Seen: `fpsolve info X.h5 | head` ended in a BrokenPipeError traceback; exit 141 = 128 + SIGPIPE."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run(f"{shlex.quote(sys.executable)} -m fpsolve.cli info out.h5 | head -1; "
                          f"exit ${{PIPESTATUS[0]}}", shell=True, executable="/bin/bash", capture_output=True,
                          text=True, cwd=workdir, env=env)
    assert proc.stdout.startswith("out.h5: CONVERGED") and proc.stdout.count("\n") == 1
    assert proc.stderr == "" and proc.returncode in (0, 141)  # 0: head read everything before closing
