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
    assert len(CORPUS) >= 60
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
                                  "plot-what-nonsense", "sweep-second-value-bad"])
def test_cli_corpus_in_a_process(workdir, name):
    """A few entries as a real process: one line, no traceback, the same status; --debug shows it."""
    _, line, status, text = next(c for c in CORPUS if c[0] == name)
    args = shlex.split(line) if isinstance(line, str) else line
    before = _snapshot(workdir)
    proc = _cli(args, workdir)
    assert proc.returncode == status and proc.stderr.count("\n") == 1 and text in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr
    assert _snapshot(workdir) == before


def test_byte_order_mark_is_accepted_or_named(workdir):
    """A case file saved with a UTF-8 BOM: accepted, or refused with one line that names the BOM."""
    proc = _cli(["report", "bom.toml"], workdir)
    if proc.returncode == 0:
        assert proc.stdout == _cli(["report", "case.toml"], workdir).stdout.replace("case.toml", "bom.toml")
    else:
        assert proc.returncode == BAD and proc.stderr.count("\n") == 1
        assert "bom.toml: starts with a UTF-8 byte-order mark (BOM)" in proc.stderr


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
