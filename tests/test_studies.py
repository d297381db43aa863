"""Convergence ladders and sweeps: observed order, Richardson, cache, local processes and Dask."""
from pathlib import Path

import numpy as np
import pytest

from fpsolve.studies import converge, richardson, sweep

CASES = Path(__file__).resolve().parents[1] / "cases"
SLAB = CASES / "slab_streaming.toml"
#: lambda = 1e-3 and a wide source: F is smooth on the grid and converges at second order (2.2 in
#: tests/test_discretisation.py); z from 40 to 160 cells.
LADDER = ["turbulence.mean_free_path=0.001", "source.width=0.1", "grid.mu_cells=16", "grid.z_cells=40"]


def test_richardson_on_a_known_sequence():
    """q_h = 1 + 0.5 h^2: order 2, extrapolation 1 to round-off."""
    vals = [1 + 0.5 * h**2 for h in (0.4, 0.2, 0.1)]
    r = richardson(vals, 2.0)
    assert r["order"] == pytest.approx(2.0, abs=1e-9) and r["extrapolated"] == pytest.approx(1.0, abs=1e-12)
    assert richardson([1.0, 1.0 + 1e-12, 1.0], 2.0)["note"] == "converged to round-off"


def _row(rows, prefix):
    return next(r for r in rows if r["quantity"].startswith(prefix))


def test_converge_ladder_with_cache(tmp_path):
    """z: observed orders of F(0) and max|g/F| at z = 0 (a cell edge at every level: interpolated) in the
    thick slab, 40-160 cells (measured 2.23 and 2.09).  DG-1 is second order; the cell means of F are
    superconvergent (observed 3 against the exact-in-z reference, validation/semianalytic.py), so a
    pre-asymptotic ladder sits between 2 and 3: band [1.8, 3.0]."""
    rows = converge(SLAB, LADDER, ["z"], 3, 2.0, tmp_path, workers=2)
    for q in ("F(z=0", "max|g/F|(z=0"):
        assert 1.8 < _row(rows, q)["order"] < 3.0, _row(rows, q)
    assert _row(rows, "F(z=0")["digits"] > 4
    assert _row(rows, "balance closure")["note"] == "converged to round-off"
    assert (tmp_path / "converge.md").exists() and (tmp_path / "converge.h5").exists()
    assert (tmp_path / "converge.png").exists()
    again = converge(SLAB, LADDER, ["z"], 3, 2.0, tmp_path, workers=1)  # all levels from the cache
    assert again[0]["values"] == rows[0]["values"]
    assert "| True |" in (tmp_path / "converge.md").read_text()


def test_converge_in_mu(tmp_path):
    """mu: F(0) of the public slab with 8, 16, 32 mu cells (dz = lambda).  The mu conductances are second
    order (the discrete kappa_zz converges as dmu^2, tests/test_discretisation.py); band [1.7, 2.3]: the
    next term is O(dmu^2) relative, dmu = 1/4 at the coarsest level (measured 1.91 for 16-64 cells).
    max|g/F| is read at the outermost mu centre, 1 - dmu/2, which moves with dmu: first order by
    construction of that quantity (measured 1.02), so only its sign of convergence is asserted."""
    rows = converge(SLAB, ["grid.mu_cells=8"], ["mu"], 3, 2.0, tmp_path, workers=1)
    assert 1.7 < _row(rows, "F(z=0")["order"] < 2.3, _row(rows, "F(z=0")
    assert 0.8 < _row(rows, "max|g/F|(z=0")["order"] < 1.3, _row(rows, "max|g/F|(z=0")


def test_converge_in_p(tmp_path):
    """p: F and max|g/F| at p = 100 of compton_getting with 32, 64, 128 momentum cells (the probe is an
    edge of every grid: interpolated in ln p at every level; this ladder used to crash with KeyError
    'F(p=74.99)').  The p stencils and the loss upwinding are second order; band [1.7, 3.0] (measured 1.96
    for F; 2.69 for max|g/F|, whose p error is the product of two second-order ones, Gamma and eps Gamma,
    partly cancelling)."""
    rows = converge(CASES / "compton_getting.toml", ["grid.p_cells=32"], ["p"], 3, 2.0, tmp_path, workers=1)
    for q in ("F(p=100)", "max|g/F|(p=100)"):
        assert 1.7 < _row(rows, q)["order"] < 3.0, _row(rows, q)
    assert "p interpolated" in (tmp_path / "converge.md").read_text()


def test_converge_in_z_mu_p_together(tmp_path):
    """All three axes at once on the thick slab: (40, 8, 2) -> (160, 32, 8) cells.  z and mu are second order
    and the p planes only enter through the probe's ln p interpolation (second order): F(0) in [1.7, 2.3]
    (measured 1.89; the mu term at dmu = 1/4 is pre-asymptotic by O(dmu^2)); max|g/F| is first order in mu
    by construction of the quantity (read at the outermost mu centre, which moves): [0.8, 1.3] (measured 1.09)."""
    rows = converge(SLAB, LADDER[:2] + ["grid.mu_cells=8", "grid.z_cells=40", "grid.p_cells=2"], ["z", "mu", "p"], 3,
                    2.0, tmp_path, workers=1)
    assert 1.7 < _row(rows, "F(z=0")["order"] < 2.3, _row(rows, "F(z=0")
    assert 0.8 < _row(rows, "max|g/F|(z=0")["order"] < 1.3, _row(rows, "max|g/F|(z=0")


def test_converge_in_time(tmp_path):
    """t: ``--refine t`` halves the constant step ``[time] fixed_step`` (from end/16) of a burst in the
    public slab (50 z x 8 mu cells, t in [0, 1] L/c, one output at t = 1): TR-BDF2 is second order
    (Bank et al. 1985), so F and delta at the probe converge at order 2; band [1.7, 2.5] for the
    pre-asymptotic ladder 1/16 … 1/128 (measured 2.21 for F, 2.01 for delta); the time-integrated
    balance is an identity of the method (converged to round-off at every level).  The positivity
    fix-up is off: it switches cells to first-order upwind where a step undershoots, so the spatial
    operator would change with the step (measured with it on: F 0.0242, 0.0355, 0.0284, 0.0260, no
    order) -- an order study of the integrator is one of the linear scheme (as validation/transient.py)."""
    over = ["grid.z_cells=50", "grid.mu_cells=8", "time.end=1.0", "time.output_times=[1.0]",
            "time.positivity_fixup=false"]
    rows = converge(CASES / "burst_slab.toml", over, ["t"], 4, 2.0, tmp_path, workers=1)
    for q in ("F(z=0", "delta(z=0"):
        assert 1.7 < _row(rows, q)["order"] < 2.5, _row(rows, q)
    assert _row(rows, "balance defect")["note"] == "converged to round-off"
    assert "time.fixed_step=0.0078125" in (tmp_path / "converge.md").read_text()


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
