"""Integrity of the files: checksums on every dataset, corrupted and temporary files refused,
reading never executes code, units carried by the file, writes that fail leave the old file."""
import errno
import os
import shutil
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

import fpsolve
from fpsolve import io as fio
from fpsolve.io import FileFormatError, OutputError, read_result

CASES = Path(__file__).resolve().parents[1] / "cases"
SLAB = CASES / "slab_streaming.toml"
ROOT = Path(__file__).resolve().parents[1]


def _cli(*args, cwd):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "fpsolve.cli", *args], capture_output=True, text=True, cwd=cwd,
                          env=env)


@pytest.fixture(scope="module")
def slab_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("slab") / "slab.h5"
    fpsolve.write(fpsolve.solve(fpsolve.load_case(SLAB, ["grid.z_cells=20"])), path)
    return path


def _datasets(h5):
    out = []
    h5.visititems(lambda name, obj: out.append(obj) if isinstance(obj, h5py.Dataset) else None)
    return out


def test_every_dataset_has_a_checksum(slab_file):
    with h5py.File(slab_file, "r") as h5:
        sets = _datasets(h5)
        assert len(sets) > 15
        assert all(ds.fletcher32 for ds in sets), [ds.name for ds in sets if not ds.fletcher32]


def _corrupt(src, dst, name, seed=1):
    """Random bytes in the middle of dataset ``name``'s stored chunk (the bytes are written raw: the
    checksum of the chunk no longer matches)."""
    shutil.copy(src, dst)
    with h5py.File(dst, "r") as h5:
        info = h5[name].id.get_chunk_info(0)
    with open(dst, "r+b") as fh:
        fh.seek(info.byte_offset + info.size // 2)
        fh.write(np.random.default_rng(seed).bytes(16))


@pytest.mark.parametrize("name", ["g", "F", "mu_edges", "diagnostics/residual_history"])
def test_corrupted_dataset_is_refused(slab_file, tmp_path, name):
    bad = tmp_path / "bad.h5"
    _corrupt(slab_file, bad, name)
    with pytest.raises(FileFormatError, match=f"dataset '{name.split('/')[-1]}' is corrupted") as err:
        read_result(bad)
    assert "\n" not in str(err.value)


def test_corrupted_file_is_refused_by_info_and_plot(slab_file, tmp_path):
    """Seen: info said CONVERGED and plot drew 1.6e306 from a damaged g."""
    bad = tmp_path / "bad.h5"
    _corrupt(slab_file, bad, "g")
    before = sorted(p.name for p in tmp_path.iterdir())
    for args in (["info", "bad.h5"], ["plot", "bad.h5"]):
        proc = _cli(*args, cwd=tmp_path)
        assert proc.returncode == 2, proc.stderr
        assert proc.stderr.count("\n") == 1 and "dataset 'g' is corrupted" in proc.stderr
        assert "CONVERGED" not in proc.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_leftover_temporary_file_is_refused_even_if_complete(slab_file, tmp_path):
    """A writer killed between finishing its temporary file and the rename leaves a file whose
    ``complete`` attribute is set: readers refuse it by its name (the root cause of the flaky
    SIGKILL test)."""
    tmp = tmp_path / ".slab.h5.a1b2c3d4.tmp"
    shutil.copy(slab_file, tmp)
    with h5py.File(tmp, "r") as h5:
        assert h5.attrs["complete"]
    with pytest.raises(FileFormatError, match="temporary file of an unfinished write"):
        read_result(tmp)
    proc = _cli("info", tmp.name, cwd=tmp_path)
    assert proc.returncode == 2 and "temporary file" in proc.stderr


def test_disk_full_leaves_the_previous_file_and_no_temp(slab_file, tmp_path, monkeypatch):
    """ENOSPC in the middle of the write: OutputError (one line), the previous file unchanged,
    no temporary file, no lock left."""
    out = tmp_path / "r.h5"
    shutil.copy(slab_file, out)
    before = out.read_bytes()
    result = read_result(out)
    real = os.write
    calls = {"n": 0}

    def full(fd, data):
        calls["n"] += 1
        if calls["n"] > 1:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(fd, data[:4096])

    monkeypatch.setattr(fio.os, "write", full)
    with pytest.raises(OutputError, match="could not be written \\(no space left on the device\\)") as err:
        fpsolve.write(result, out)
    assert "\n" not in str(err.value)
    monkeypatch.undo()
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.h5"]


def test_concurrent_writer_is_refused(slab_file, tmp_path):
    """A live lock of another process (here: this test process holds it for a CLI child)."""
    out = tmp_path / "r.h5"
    with fio.output_lock(out) as lock:
        assert lock.read_text().split()[0] == str(os.getpid())
        proc = _cli("run", str(SLAB), "grid.z_cells=20", "-o", "r.h5", cwd=tmp_path)
        assert proc.returncode == 2
        assert proc.stderr.count("\n") == 1 and f"another fpsolve process (pid {os.getpid()})" in proc.stderr
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == []


def test_stale_lock_of_a_dead_writer_is_taken_over(slab_file, tmp_path):
    """A lock whose pid is gone (a SIGKILLed writer) does not block the next write."""
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (tmp_path / ".r.h5.lock").write_text(str(dead.pid))
    fpsolve.write(read_result(slab_file), tmp_path / "r.h5")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.h5"]


def test_lock_of_a_reused_pid_is_stale(slab_file, tmp_path):
    """A lock naming a live pid with another start time (the pid was reused) does not block."""
    if not Path("/proc/self/stat").exists():
        pytest.skip("needs /proc for process start times")
    (tmp_path / ".r.h5.lock").write_text(f"{os.getppid()} 1")  # a live process, not the writer
    fpsolve.write(read_result(slab_file), tmp_path / "r.h5")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.h5"]


@pytest.mark.parametrize("damage", ["attr:method", "attr:fpsolve_version", "group:diagnostics", "dataset:f_slope",
                                    "attr:complete"])
def test_damaged_structure_is_a_file_format_error(slab_file, tmp_path, damage):
    """Missing pieces: fpsolve.read raises FileFormatError naming the piece (never KeyError)."""
    bad = tmp_path / "bad.h5"
    shutil.copy(slab_file, bad)
    kind, name = damage.split(":")
    with h5py.File(bad, "r+") as h5:
        if kind == "attr":
            del h5.attrs[name]
        else:
            del h5[name]
    with pytest.raises(FileFormatError) as err:
        read_result(bad)
    assert "\n" not in str(err.value) and str(bad) in str(err.value)


MARKER_MODULE = """
from pathlib import Path
Path(__file__).with_name("IMPORTED").touch()  # a side effect of importing the user's module
from fpsolve.physics import SlabAlfven
M = SlabAlfven.from_mean_free_path(0.05, s=5/3, form='small_eps', ultrarelativistic=True)
def coeffs(mu, p):
    return M.coefficients(mu, p)
"""


def test_reading_never_imports_the_coefficient_module(tmp_path):
    """info, read and plot use the file alone: the user's module is not imported (no marker file),
    and still works after the module is moved away; the file carries the coefficients on the grid."""
    (tmp_path / "mycoef.py").write_text(MARKER_MODULE)
    text = SLAB.read_text().replace('form = "small_eps"',
                                    'model = "python"\nfunction = "mycoef.py:coeffs"\nbreakpoints = [0.0]')
    (tmp_path / "user.toml").write_text(text.replace("z_cells = 200", "z_cells = 10"))
    run = _cli("run", "user.toml", "-o", "user.h5", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "IMPORTED").exists()  # the run itself imports it (the check can fail)
    (tmp_path / "IMPORTED").unlink()
    (tmp_path / "mycoef.py").rename(tmp_path / "moved.py")
    shutil.rmtree(tmp_path / "__pycache__", ignore_errors=True)
    info = _cli("info", "user.h5", cwd=tmp_path)
    assert info.returncode == 0, info.stderr
    assert info.stdout.startswith("user.h5: CONVERGED")
    plot = _cli("plot", "user.h5", "--what", "g,F", cwd=tmp_path)
    assert plot.returncode == 0, plot.stderr
    read = subprocess.run([sys.executable, "-c", "import fpsolve, sys; r = fpsolve.read('user.h5'); "
                           "print(r.case.turbulence.model, sorted(r.coefficient_tables))"],
                          capture_output=True, text=True, cwd=tmp_path, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert read.returncode == 0, read.stderr
    assert read.stdout.split()[0] == "python"
    assert not (tmp_path / "IMPORTED").exists()
    with h5py.File(tmp_path / "user.h5", "r") as h5:
        c = h5["coefficients"]
        assert c.attrs["model"] == "python" and c["d_mumu"].shape == (1, 32)  # (p, mu) cell centres
        assert np.all(c["d_mumu"][...] > 0)


def test_physical_case_carries_the_case_units(tmp_path):
    """swk_point (physical): z in pc and p in TeV/c beside the code units, CF units/long_name on
    every variable; the summary names pc and TeV/c."""
    xr = pytest.importorskip("xarray")  # the test extra; importorskip only guards a broken install
    case = fpsolve.load_case("swk_point", ["grid.z_cells=40", "grid.p_cells=8"])
    r = fpsolve.solve(case)
    fpsolve.write(r, tmp_path / "swk.h5")
    with xr.open_dataset(tmp_path / "swk.h5", engine="h5netcdf") as ds:
        for name in list(ds.data_vars) + list(ds.coords):
            assert ds[name].attrs.get("units") and ds[name].attrs.get("long_name"), name
        assert ds["z_pc"].attrs["units"] == "pc" and ds["p_tev"].attrs["units"] == "TeV/c"
        # length_unit_pc = 1000 and p in TeV/c = p / (m_p c) * 0.000938272: patch checks of the
        # conversion (round-off)
        np.testing.assert_allclose(ds["z_pc"].values, 1000.0 * ds["z"].values, rtol=1e-12)
        np.testing.assert_allclose(ds["p_tev"].values, ds["p"].values * 0.000938272, rtol=1e-5)  # m_p c^2 to 6 digits
        np.testing.assert_allclose(ds["dF_dz_pc"].values, ds["dF_dz"].values / 1000.0, rtol=1e-12)
    text = r.summary()
    assert "pc)" in text and "TeV/c)" in text
    # the probes at x = 10, 100, 1000 are not cell centres of the 8-cell grid: they are evaluated at
    # the requested p (fpsolve.probes interpolates in ln p) and the summary says how
    assert "p = 10 m c (0.00938272 TeV/c)" in text and "p interpolated between cell centres (in ln p)" in text
