"""HDF5 output (h5py, xarray/h5netcdf), atomic writes and the `fpsolve run` command."""
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

CASES = Path(__file__).resolve().parents[1] / "cases"


def _run(*args, cwd):
    return subprocess.run([sys.executable, "-m", "fpsolve.cli", *args], capture_output=True, text=True, cwd=cwd)


def test_run_writes_readable_hdf5(tmp_path):
    proc = _run("run", str(CASES / "slab_streaming.toml"), "-o", "out.h5", "--plot", "grid.z_cells=40", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "balance" in proc.stdout and "min f" in proc.stdout and "probe z = 0" in proc.stdout
    out = tmp_path / "out.h5"
    with h5py.File(out, "r") as h5:
        assert h5.attrs["converged"] and h5.attrs["trustworthy"]
        assert h5["f"].shape == (40, 32, 1)
        assert "case_text" in h5.attrs and h5.attrs["fpsolve_version"]
        F = h5["F"][...]
        assert np.all(F > 0)
        assert abs(h5["diagnostics"].attrs["balance_closure"]) < 1e-9
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.h5", "out_F.png", "out_anisotropy.png"]  # no temp files
    xr = pytest.importorskip("xarray")  # in the test extra; importorskip only guards a broken install
    ds = xr.open_dataset(out, engine="h5netcdf")
    assert ds["f"].dims == ("z", "mu", "p") and ds["F"].dims == ("z", "p")
    np.testing.assert_allclose(ds["z"].values, np.linspace(-0.975, 0.975, 40))
    ds.close()


def test_non_converged_run_exits_3_and_writes_nothing(tmp_path):
    proc = _run("run", str(CASES / "slab_streaming.toml"), "-o", "out.h5", "grid.z_cells=20",
                "solver.method=march", "solver.max_steps=1", cwd=tmp_path)
    assert proc.returncode == 3
    assert "NOT CONVERGED" in proc.stdout and "nothing written" in proc.stderr
    assert list(tmp_path.iterdir()) == []


def test_bad_run_case_exits_2(tmp_path):
    proc = _run("run", str(CASES / "slab_streaming.toml"), "source.centre=5.0", cwd=tmp_path)
    assert proc.returncode == 2
    assert "[source] centre = 5.0: outside the domain; allowed: [-1, 1]" in proc.stderr
    proc = _run("run", str(CASES / "compton_getting.toml"), "losses.catastrophic_time=inf", cwd=tmp_path)
    assert proc.returncode == 2 and "no steady state" in proc.stderr


def test_homogeneous_file_round_trip(tmp_path):
    """A homogeneous (mu, p) result: dims (mu, p) in xarray, exact read-back of f."""
    import fpsolve

    r = fpsolve.solve(fpsolve.load_case(CASES / "compton_getting.toml", ["grid.p_cells=16", "grid.mu_cells=16"]))
    fpsolve.write(r, tmp_path / "cg.h5")
    back = fpsolve.read(tmp_path / "cg.h5")
    assert back.grid.homogeneous and np.array_equal(back.f, r.f)
    xr = pytest.importorskip("xarray")
    with xr.open_dataset(tmp_path / "cg.h5", engine="h5netcdf") as ds:
        assert ds["f"].dims == ("mu", "p") and ds["F"].dims == ("p",)


@pytest.mark.parametrize("name, overrides", [("slab_streaming", ["grid.z_cells=20"]),
                                             ("compton_getting", ["grid.p_cells=8", "grid.mu_cells=8"])])
def test_file_equals_to_xarray(tmp_path, name, overrides):
    """One dataset description: the HDF5 root read by xarray is ``to_xarray()`` of the result and of
    the result read back (values, dims, coordinates, attributes), apart from the writer's ``complete``."""
    import fpsolve

    xr = pytest.importorskip("xarray")
    pytest.importorskip("h5netcdf")  # the test extra; importorskip only guards a broken install
    r = fpsolve.solve(fpsolve.load_case(name, overrides))
    fpsolve.write(r, tmp_path / "r.h5")
    with xr.open_dataset(tmp_path / "r.h5", engine="h5netcdf") as ds:
        ds = ds.load()
    assert ds.attrs.pop("complete")
    xr.testing.assert_identical(ds, r.to_xarray())
    xr.testing.assert_identical(ds, fpsolve.read(tmp_path / "r.h5").to_xarray())


def test_read_back_keeps_the_overrides(tmp_path):
    """The file stores the resolved case (overrides included): the case read back is the case run."""
    import fpsolve

    case = fpsolve.load_case("slab_streaming", ["grid.z_cells=20", "turbulence.s=1.5"])
    fpsolve.write(fpsolve.solve(case), tmp_path / "r.h5")
    back = fpsolve.read(tmp_path / "r.h5")
    assert back.case.digest() == case.digest() and back.case.turbulence.s == 1.5 and back.grid.nz == 20


@pytest.fixture
def small_tmpfs(tmp_path):
    """A 100 kB tmpfs (root only; skipped elsewhere): a real full disk."""
    mnt = tmp_path / "small"
    mnt.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=100k", "tmpfs", str(mnt)], capture_output=True).returncode:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    yield mnt
    subprocess.run(["umount", str(mnt)], capture_output=True)


def test_disk_full_exits_5_and_keeps_the_previous_file(tmp_path, small_tmpfs):
    """Seen: a segfault with 124 lines of HDF5 errors.  Now: one line, exit 5, the previous file
    byte for byte, no temporary or lock file left."""
    first = _run("run", str(CASES / "slab_streaming.toml"), "grid.z_cells=20", "-o", str(small_tmpfs / "r.h5"),
                 cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    before = (small_tmpfs / "r.h5").read_bytes()
    big = _run("run", str(CASES / "slab_streaming.toml"), "grid.z_cells=400", "-o", str(small_tmpfs / "r.h5"),
               cwd=tmp_path)
    assert big.returncode == 5
    assert big.stderr.count("\n") == 1 and "no space left on the device" in big.stderr and "Traceback" not in big.stderr
    assert (small_tmpfs / "r.h5").read_bytes() == before
    assert sorted(p.name for p in small_tmpfs.iterdir()) == ["r.h5"]


def test_read_only_file_system_is_refused_before_the_solve(tmp_path, small_tmpfs):
    """Seen: OSError 30 after the solve.  Now: exit 2 before any work, one line naming the folder."""
    if subprocess.run(["mount", "-o", "remount,ro", str(small_tmpfs)], capture_output=True).returncode:
        pytest.skip("cannot remount read-only")
    proc = _run("run", str(CASES / "slab_streaming.toml"), "grid.z_cells=20", "-o", str(small_tmpfs / "r.h5"),
                cwd=tmp_path)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1
    assert f"folder {small_tmpfs} is not writable (Read-only file system)" in proc.stderr
    assert "balance" not in proc.stdout  # refused before the solve


def test_plot_writes_nothing_for_a_bad_request(tmp_path):
    """`plot --what nonsense` and `plot -o FILE` create no folder (seen: an empty figs/)."""
    import fpsolve

    fpsolve.write(fpsolve.solve(fpsolve.load_case("slab_streaming", ["grid.z_cells=20"])), tmp_path / "r.h5")
    proc = _run("plot", "r.h5", "--what", "nonsense", "-o", "figs", cwd=tmp_path)
    assert proc.returncode == 2 and "--what nonsense" in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.h5"]
    ok = _run("plot", "r.h5", "--what", "F,delta", "-o", "figs", cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert sorted(p.name for p in (tmp_path / "figs").iterdir()) == ["r_F.png", "r_delta.png"]  # no temporary file
