"""Never lose a run, never leave a lying file: kill during writes, restart, determinism, NaN."""
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

import fpsolve
from fpsolve.io import FileFormatError, read_result
from fpsolve.solvers import NumericalError

CASES = Path(__file__).resolve().parents[1] / "cases"
SLAB = CASES / "slab_streaming.toml"

WRITER = """
import sys
import fpsolve
r = fpsolve.solve(fpsolve.load_case(sys.argv[1], ["grid.z_cells=400", "grid.mu_cells=64"]))
print("ready", flush=True)
while True:
    fpsolve.write(r, sys.argv[2])
"""


def test_sigkill_during_writes_leaves_a_valid_file(tmp_path):
    """A writer killed with SIGKILL at random moments: the file at the path is always a complete,
    readable result, and no leftover temporary file reads as valid."""
    out = tmp_path / "run.h5"
    original = fpsolve.solve(fpsolve.load_case(SLAB, ["grid.z_cells=20"]))
    fpsolve.write(original, out)
    rng = np.random.default_rng(7)
    for _ in range(4):
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(SLAB), str(out)], stdout=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.05, 0.4))  # inside the write loop: each write takes ~20-50 ms
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        r = read_result(out)  # raises if incomplete
        assert r.info.converged
        for tmp in tmp_path.glob(".run.h5.*.tmp"):
            with pytest.raises(FileFormatError):
                read_result(tmp)


def test_incomplete_file_is_refused(tmp_path):
    bad = tmp_path / "bad.h5"
    with h5py.File(bad, "w") as h5:
        h5.attrs["complete"] = False
    with pytest.raises(FileFormatError, match="incomplete file"):
        read_result(bad)
    (tmp_path / "text.h5").write_text("not hdf5")
    with pytest.raises(FileFormatError, match="not an HDF5 file"):
        read_result(tmp_path / "text.h5")


def test_runs_are_deterministic():
    """Same case, same version: bitwise-identical fields (threads in the plane factorisation and
    the parallel assembly do not change the arithmetic)."""
    for case, over in ((SLAB, ["grid.z_cells=40"]), (CASES / "full_alfvenic.toml", ["grid.z_cells=10", "grid.p_cells=12"]),
                       (CASES / "swk_point.toml", ["grid.z_cells=40", "grid.p_cells=12"])):
        a = fpsolve.solve(fpsolve.load_case(case, over))
        b = fpsolve.solve(fpsolve.load_case(case, over))
        assert np.array_equal(a.f, b.f)


def test_restart_reproduces_the_uninterrupted_march():
    """Stop the march after 7 steps, restart from its state: the same final f to the last bit."""
    case = fpsolve.load_case(SLAB, ["grid.z_cells=20", "solver.method=march"])
    full = fpsolve.solve(case)
    assert full.info.converged and len(full.info.residual_history) > 7
    saved = {}

    def stop_at_7(state):
        if state.step == 7:
            saved["state"] = state
            return True
        return False

    part = fpsolve.solve(case, callback=stop_at_7)
    assert not part.info.converged
    resumed = fpsolve.solve(case, restart=saved["state"])
    assert resumed.info.converged
    assert np.array_equal(resumed.f, full.f)
    assert resumed.info.residual_history == full.info.residual_history


def test_cli_checkpoint_and_restart(tmp_path):
    """--checkpoint-every writes checkpoints; --restart continues to the uninterrupted result."""
    run = [sys.executable, "-m", "fpsolve.cli", "run", str(SLAB), "grid.z_cells=20", "solver.method=march"]
    ck = tmp_path / "ck.h5"
    first = subprocess.run(run + ["solver.max_steps=6", "--checkpoint-every", "3", "--checkpoint", str(ck),
                                  "-o", str(tmp_path / "a.h5")], capture_output=True, text=True)
    assert first.returncode == 3 and ck.exists() and not (tmp_path / "a.h5").exists()
    second = subprocess.run(run + ["--restart", str(ck), "-o", str(tmp_path / "b.h5"), "--keep-checkpoint"],
                            capture_output=True, text=True)
    assert second.returncode == 0, second.stderr
    assert ck.exists()  # --keep-checkpoint
    whole = subprocess.run(run + ["-o", str(tmp_path / "c.h5")], capture_output=True, text=True)
    assert whole.returncode == 0
    b, c = read_result(tmp_path / "b.h5"), read_result(tmp_path / "c.h5")
    assert np.array_equal(b.f, c.f)
    other = subprocess.run(run + ["grid.mu_cells=8", "--restart", str(ck)], capture_output=True, text=True)
    assert other.returncode == 2 and "checkpoint of a different case" in other.stderr
    third = subprocess.run(run + ["--restart", str(ck), "-o", str(tmp_path / "d.h5")], capture_output=True, text=True)
    assert third.returncode == 0 and not ck.exists()  # a successful result removes the checkpoint it continued
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.h5", "c.h5", "d.h5"]  # no temp, lock or checkpoint


def test_keep_partial_and_info(tmp_path):
    run = [sys.executable, "-m", "fpsolve.cli", "run", str(SLAB), "grid.z_cells=20", "solver.method=march",
           "solver.max_steps=2", "-o", str(tmp_path / "p.h5")]
    proc = subprocess.run(run + ["--keep-partial"], capture_output=True, text=True)
    assert proc.returncode == 3 and "not converged after 2 steps" in proc.stderr
    info = subprocess.run([sys.executable, "-m", "fpsolve.cli", "info", str(tmp_path / "p.h5")],
                          capture_output=True, text=True)
    assert info.returncode == 0
    assert info.stdout.splitlines()[0].endswith("NOT CONVERGED (partial result) — NOT TRUSTWORTHY (see the flags below)")
    with h5py.File(tmp_path / "p.h5") as h5:
        assert not h5.attrs["converged"]
    plot = subprocess.run([sys.executable, "-m", "fpsolve.cli", "plot", str(tmp_path / "p.h5"), "--what", "g,residual"],
                          capture_output=True, text=True)
    assert plot.returncode == 0 and (tmp_path / "p_g.png").exists() and (tmp_path / "p_residual.png").exists()


NAN_COEFFS = """
import numpy as np
from fpsolve.physics import SlabAlfven
M = SlabAlfven.from_mean_free_path(0.05, s=5/3, form="small_eps", ultrarelativistic=True)
def coeffs(mu, p):
    d = M.coefficients(mu, p)
    bad = np.where(np.asarray(mu) > 0.5, np.nan, 1.0)  # a broken user model
    return d.d_mumu * bad, d.d_mup, d.d_pp
"""


def test_nan_in_the_coefficients_stops_before_solving(tmp_path, monkeypatch):
    """A broken user model (NaN for mu > 0.5): refused when the case is read, naming the key, the
    value and where (exit 2); a model that reaches assembly anyway (here patched in after reading)
    is refused there, naming the first cell (NumericalError, exit 4 in the CLI)."""
    (tmp_path / "nan.py").write_text(NAN_COEFFS)
    text = SLAB.read_text().replace('form = "small_eps"', 'model = "python"\nfunction = "nan.py:coeffs"\nbreakpoints = [0.0]')
    (tmp_path / "nan.toml").write_text(text.replace("z_cells = 200", "z_cells = 10"))
    with pytest.raises(fpsolve.CaseError, match=r"\[turbulence\] function = 'nan.py:coeffs': D_mumu = nan at mu = 0.5"):
        fpsolve.load_case(tmp_path / "nan.toml")
    proc = subprocess.run([sys.executable, "-m", "fpsolve.cli", "run", "nan.toml"], capture_output=True, text=True,
                          cwd=tmp_path)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "D_mumu = nan" in proc.stderr, proc.stderr
    assert not (tmp_path / "nan.h5").exists()
    (tmp_path / "ok.toml").write_text(SLAB.read_text().replace("z_cells = 200", "z_cells = 10"))
    case = fpsolve.load_case(tmp_path / "ok.toml")
    monkeypatch.syspath_prepend(str(tmp_path))
    from fpsolve.physics.user_coefficients import CallableCoefficients
    from nan import coeffs

    monkeypatch.setattr(type(case), "turbulence_model",
                        lambda self: CallableCoefficients(coeffs, ultrarelativistic=True, mu_breakpoints=(0.0,)))
    with pytest.raises(NumericalError, match=r"NaN/Inf in the operator A \(assembly\), first at z = .*, mu = 0.46875"):
        fpsolve.solve(case)


def test_nan_during_the_march_names_the_step(monkeypatch):
    """A non-finite pseudo-time step (here injected at step 3) stops the march naming step and cell."""
    import fpsolve.solvers as solvers

    real = solvers._lu
    calls = {"n": 0}

    class Poisoned:
        def __init__(self, lu):
            self.lu = lu

        def solve(self, rhs):
            calls["n"] += 1
            x = self.lu.solve(rhs)
            if calls["n"] == 3:
                x[5] = np.inf
            return x

    monkeypatch.setattr(solvers, "_lu", lambda m: Poisoned(real(m)))
    with pytest.raises(NumericalError, match=r"Inf in the solution at pseudo-time step 3, first at z = .*, mu = .*"):
        fpsolve.solve(fpsolve.load_case(SLAB, ["grid.z_cells=10", "solver.method=march"]))


def _wait_for(predicate, timeout=120.0, every=0.1):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if predicate():
            return True
        time.sleep(every)
    return False


def test_sigterm_during_the_march_flushes_a_checkpoint(tmp_path):
    """SIGTERM while marching: one line naming the checkpoint and the --restart command, exit 143,
    no output, no temporary or lock file; the named command finishes the run and removes the
    checkpoint."""
    run = [sys.executable, "-m", "fpsolve.cli", "run", str(SLAB), "grid.z_cells=400", "grid.mu_cells=64",
           "solver.method=march", "--checkpoint-every", "3", "-o", "out.h5"]
    proc = subprocess.Popen(run, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    ck = tmp_path / "out.checkpoint.h5"
    assert _wait_for(ck.exists), "the march never wrote its first checkpoint"
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "interrupted by SIGTERM at march step" in err and "checkpoint out.checkpoint.h5" in err
    step = int(err.split("march step ")[1].split(";")[0])
    with h5py.File(ck, "r") as h5:
        assert h5.attrs["step"] == step and h5.attrs["complete"]  # the state at the signal, flushed
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.checkpoint.h5"]
    command = shlex.split(err.split("continue with: ")[1])
    assert command[:2] == ["fpsolve", "run"] and command[-2:] == ["--restart", "out.checkpoint.h5"]
    again = subprocess.run([sys.executable, "-m", "fpsolve.cli"] + command[1:], cwd=tmp_path, capture_output=True,
                           text=True)
    assert again.returncode == 0, again.stderr
    assert read_result(tmp_path / "out.h5").info.converged
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.h5"]  # checkpoint removed after success


def _children(pid):
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(x) for x in text.split()]


def _is_worker(pid):
    try:
        return b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def test_sigterm_to_a_sweep_terminates_its_workers(tmp_path):
    """Seen: SIGTERM to `fpsolve converge` left two workers running as orphans.  Now the command
    terminates its worker processes and exits 143 with one line."""
    if not Path("/proc/self/task").exists():
        pytest.skip("needs /proc to see the worker processes")
    cmd = [sys.executable, "-m", "fpsolve.cli", "sweep", str(SLAB), "grid.z_cells=400", "grid.mu_cells=64",
           "solver.method=march", "turbulence.s=1.5,1.6", "--workers", "2", "--out", "sw"]
    proc = subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    workers = []

    def two_workers():
        workers[:] = [c for c in _children(proc.pid) if _is_worker(c)]
        return len(workers) == 2

    assert _wait_for(two_workers), "the sweep never started two workers"
    time.sleep(1.0)  # inside the runs
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143 and err.count("\n") == 1 and "interrupted by SIGTERM" in err, err
    assert _wait_for(lambda: not any(Path(f"/proc/{w}").exists() and _is_worker(w) for w in workers), timeout=10)
