"""``fpsolve run --keep-partial`` of a physical-time case: a SIGTERM (or a stop) writes the time
series reached so far, marked partial (``complete_in_time = 0``, ``t_reached``), never trustworthy;
without --keep-partial nothing is written."""
import signal
import subprocess
import sys
import time
from argparse import Namespace

import h5py
import numpy as np
import pytest
import xarray as xr

import fpsolve
from fpsolve import load_case
from fpsolve.transient import run_cli
from test_robustness import _wait_for  # the same polling helper as the steady signal tests

SMALL = ["grid.z_min=-0.3", "grid.z_max=0.3", "grid.z_cells=30", "grid.mu_cells=8", "probes.z=[0.05]",
         "time.end=0.02", "time.output_times=[0.0, 0.005, 0.01, 0.02]", "time.rtol=1e-6"]


def _args(tmp_path, **kw):
    base = dict(case="burst_hard_sphere", overrides=SMALL, output=str(tmp_path / "s.h5"), checkpoint=None,
                checkpoint_every=0, checkpoint_minutes=0.0, restart=None, keep_checkpoint=False, quiet=True,
                progress=False, plot=False, keep_partial=False)
    base.update(kw)
    return Namespace(**base)


def test_stopped_run_written_only_with_keep_partial(tmp_path, capsys):
    """The stop hook (a run stopped before its end, exit 3): --keep-partial writes the series so far,
    marked partial; without it only the checkpoint."""
    case = load_case("burst_hard_sphere", SMALL)
    assert run_cli(_args(tmp_path, stop_after_steps=5), case) == 3
    assert not (tmp_path / "s.h5").exists() and (tmp_path / "s.checkpoint.h5").exists()
    assert run_cli(_args(tmp_path, stop_after_steps=5, keep_partial=True), case) == 3
    r = fpsolve.read(tmp_path / "s.h5")
    assert r.partial and not r.trustworthy and r.info.accepted == 5
    assert 0 < r.reached < r.t_end == 0.02
    assert r.history["t"].size == 5 and r.history["t"][-1] == r.reached  # the per-step history to the stop
    assert np.all(r.times <= r.reached) and r.times.size >= 1  # only the outputs reached
    assert "PARTIAL: stopped at t = " in r.summary() and "of end 0.02 L/c" in r.summary()
    assert "PARTIAL: stopped at t =" in capsys.readouterr().out


def test_sigterm_with_keep_partial_writes_the_partial_series(tmp_path):
    """A real SIGTERM after the run has done steps (its first checkpoint exists): exit 143, one line on
    stderr; the file opens with fpsolve.read and xarray, complete_in_time = 0, t_reached < end, not
    trustworthy, `fpsolve info` says PARTIAL; without --keep-partial no series is written."""
    run = [sys.executable, "-m", "fpsolve.cli", "run", "burst_slab", "--checkpoint-every", "1", "-o", "p.h5"]
    results = {}
    for keep in (True, False):
        folder = tmp_path / ("keep" if keep else "plain")
        folder.mkdir()
        proc = subprocess.Popen(run + (["--keep-partial"] if keep else []), cwd=folder, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        assert _wait_for((folder / "p.checkpoint.h5").exists), "the run never wrote its first checkpoint"
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 143, err
        assert err.count("\n") == 1 and "Traceback" not in err, err
        results[keep] = folder, out, err
    folder, out, err = results[False]
    assert not (folder / "p.h5").exists()  # without --keep-partial: no series
    # ... but a checkpointing run stops at the end of its step and says where its checkpoint is
    assert "checkpoint p.checkpoint.h5; continue with: fpsolve run burst_slab" in err and "--restart" in err
    folder, out, err = results[True]
    assert "interrupted by SIGTERM at t = " in err and "partial time series p.h5" in err and "--restart" in err
    r = fpsolve.read(folder / "p.h5")
    assert r.partial and not r.trustworthy and r.reached < r.t_end == 30.0
    step = int(err.split("(step ")[1].split(")")[0])
    assert r.info.accepted == step == r.history["t"].size >= 1
    with h5py.File(folder / "p.checkpoint.h5", "r") as h5:  # the checkpoint of the same step continues it
        assert h5.attrs["step"] == step and h5.attrs["t"] == r.reached
    ds = xr.open_dataset(folder / "p.h5", engine="h5netcdf")
    assert ds.attrs["complete_in_time"] == 0 and ds.attrs["trustworthy"] == 0 and ds.attrs["completed"] == 0
    assert ds.attrs["t_reached"] == r.reached and ds.attrs["t_end"] == 30.0
    assert ds.sizes["step"] == step and ds.sizes["time"] == r.times.size
    assert "interrupted by SIGTERM" in ds.attrs["info_message"]
    ds.close()
    info = subprocess.run([sys.executable, "-m", "fpsolve.cli", "info", str(folder / "p.h5")], capture_output=True,
                          text=True)
    first = info.stdout.splitlines()[0]
    assert info.returncode == 0 and "PARTIAL: stopped at t = " in first and "of end 30 L/c" in first, info.stdout
    assert "NOT TRUSTWORTHY" in first and "trustworthy" not in first.replace("NOT TRUSTWORTHY", "")


def test_signal_inside_a_compiled_kernel_is_an_interrupt(monkeypatch, capsys):
    """Seen: SIGTERM landing in a numba dispatcher call surfaced as "SystemError: CPUDispatcher(...)
    returned a result with an exception set" (traceback, exit 1).  The Interrupted it wraps
    (``__cause__``) is the exit: one line, 143."""
    from fpsolve import cli

    def dispatch(args, extra):
        try:
            raise cli.Interrupted(signal.SIGTERM)
        except cli.Interrupted as sig:
            raise SystemError("CPUDispatcher(<function f>) returned a result with an exception set") from sig

    monkeypatch.setattr(cli, "_dispatch", dispatch)
    assert cli.main(["info", "x.h5"]) == 143
    assert capsys.readouterr().err == "fpsolve: interrupted by SIGTERM\n"
    assert cli._signal_of(SystemError("gstrf was called with invalid arguments")) is None  # not a signal


def test_a_second_signal_aborts_without_writing(tmp_path):
    """--keep-partial: the first SIGINT stops at the end of the step; a second one 50 ms later aborts:
    exit 130, one line, no traceback, no series (seen: "Exception ignored in ... Interrupted" tracebacks
    and a partial written anyway, when the second signal's exception landed in a weakref callback)."""
    proc = subprocess.Popen([sys.executable, "-m", "fpsolve.cli", "run", "nearby_source_burst", "--keep-partial",
                             "--checkpoint-every", "1", "-o", "d.h5"], cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    assert _wait_for((tmp_path / "d.checkpoint.h5").exists), "the run never wrote its first checkpoint"
    proc.send_signal(signal.SIGINT)
    time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 130 and "Traceback" not in err and err.strip() == "fpsolve: interrupted by SIGINT", err
    assert not (tmp_path / "d.h5").exists()


def test_interrupt_swallowed_by_a_finaliser_is_delivered_again(capsys):
    """A signal handler's exception raised inside a finaliser or weakref callback is printed and lost by
    Python; cli.interruptible's unraisable hook says nothing and sends the signal again, so the block is
    still interrupted."""
    from types import SimpleNamespace

    from fpsolve import cli

    with pytest.raises(cli.Interrupted) as caught:
        with cli.interruptible():
            sys.unraisablehook(SimpleNamespace(exc_type=cli.Interrupted, exc_value=cli.Interrupted(signal.SIGTERM),
                                               exc_traceback=None, err_msg=None, object=None))
            for _ in range(1000):  # the handler runs at the next instruction
                time.sleep(0.001)
    assert caught.value.signum == signal.SIGTERM
    assert capsys.readouterr().err == ""
