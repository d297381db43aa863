"""Convergence ladders and sweeps: observed order, Richardson, cache, local processes and Dask."""
from pathlib import Path

import numpy as np
import pytest

from fpsolve.studies import converge, richardson, sweep

SLAB = Path(__file__).resolve().parents[1] / "cases" / "slab_streaming.toml"
#: lambda = 1e-3 and a wide source: F is smooth on the grid and converges at second order (2.2 in
#: tests/test_discretisation.py); z from 40 to 160 cells.
LADDER = ["turbulence.mean_free_path=0.001", "source.width=0.1", "grid.mu_cells=16", "grid.z_cells=40"]


def test_richardson_on_a_known_sequence():
    """q_h = 1 + 0.5 h^2: order 2, extrapolation 1 to round-off."""
    vals = [1 + 0.5 * h**2 for h in (0.4, 0.2, 0.1)]
    r = richardson(vals, 2.0)
    assert r["order"] == pytest.approx(2.0, abs=1e-9) and r["extrapolated"] == pytest.approx(1.0, abs=1e-12)
    assert richardson([1.0, 1.0 + 1e-12, 1.0], 2.0)["note"] == "converged to round-off"


def test_converge_ladder_with_cache(tmp_path):
    rows = converge(SLAB, LADDER, ["z"], 3, 2.0, tmp_path, workers=2)
    f0 = next(r for r in rows if r["quantity"].startswith("F(z=0"))
    assert f0["order"] > 1.8  # second-order DG cell means
    assert f0["digits"] > 4
    assert (tmp_path / "converge.md").exists() and (tmp_path / "converge.h5").exists()
    assert (tmp_path / "converge.png").exists()
    again = converge(SLAB, LADDER, ["z"], 3, 2.0, tmp_path, workers=1)  # all levels from the cache
    assert again[0]["values"] == rows[0]["values"]
    assert "| True |" in (tmp_path / "converge.md").read_text()


def test_converge_on_a_dask_local_cluster(tmp_path):
    distributed = pytest.importorskip("distributed")  # in the test extra; skips only a broken install
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        with distributed.Client(cluster) as client:
            rows = converge(SLAB, LADDER, ["z"], 3, 2.0, tmp_path / "dask", scheduler=client)
    local = converge(SLAB, LADDER, ["z"], 3, 2.0, tmp_path / "local", workers=1)
    for a, b in zip(rows, local):
        assert np.array_equal(a["values"], b["values"])  # deterministic across executors


def test_sweep(tmp_path):
    records = sweep(SLAB, ["turbulence.s=1.5,1.6666666666666667"], ["grid.z_cells=40"], tmp_path, workers=2)
    assert len(records) == 2
    amps = [r["quantities"]["amplitude/Eq.38(z=0,p=0.9999)"] for r in records]
    assert np.allclose(amps, 1.0, atol=1e-6)
    assert "turbulence.s=1.5" in (tmp_path / "sweep.md").read_text()


def test_sweep_progress_bar_only_when_asked(tmp_path):
    """Not a terminal: no bar unless --progress (issue 4: progress for ladders and sweeps)."""
    import subprocess
    import sys

    base = [sys.executable, "-m", "fpsolve.cli", "sweep", str(SLAB), "turbulence.s=1.5,1.6", "grid.z_cells=20",
            "--workers", "1"]
    quiet = subprocess.run(base + ["--out", str(tmp_path / "a")], capture_output=True, text=True)
    shown = subprocess.run(base + ["--out", str(tmp_path / "b"), "--progress"], capture_output=True, text=True)
    assert quiet.returncode == 0 and shown.returncode == 0
    assert "runs:" not in quiet.stderr and "2/2" in shown.stderr


def test_cache_key_follows_the_case_and_the_source(monkeypatch):
    """The cache key changes with any resolved value ([solver] included) and with the package source."""
    import fpsolve
    from fpsolve import studies

    case = fpsolve.load_case(SLAB, ["grid.z_cells=40"])
    key = studies.cache_key(case)
    assert key == studies.cache_key(fpsolve.load_case(SLAB, ["grid.z_cells=40"]))
    assert key != studies.cache_key(fpsolve.load_case(SLAB, ["grid.z_cells=41"]))
    assert key != studies.cache_key(fpsolve.load_case(SLAB, ["grid.z_cells=40", "solver.rtol=1e-9"]))
    assert len(studies.source_hash()) == 64
    monkeypatch.setattr(studies, "source_hash", lambda: "0" * 64)  # as after an edit of any fpsolve/*.py
    assert studies.cache_key(case) != key
