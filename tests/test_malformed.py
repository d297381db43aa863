"""The malformed-input corpus: every file is refused with one line naming file, key, value, range.

Each ``tests/malformed/*.toml`` has one defect; its expected message is on the second line
(``# expect: ...``) or, for files that cannot carry a comment (empty, binary), in ``NAME.expect``.
"""
import subprocess
import sys
from pathlib import Path

import pytest

from fpsolve import CaseError, load_case

CORPUS = Path(__file__).resolve().parent / "malformed"
FILES = sorted(CORPUS.glob("*.toml"))


def expected(path: Path) -> str:
    side = path.with_suffix(".expect")
    if side.exists():
        return side.read_text().strip()
    for line in path.read_text().splitlines()[:3]:
        if line.startswith("# expect: "):
            return line[len("# expect: "):]
    raise AssertionError(f"{path.name} has no expected message")


def test_corpus_size():
    assert len(FILES) >= 40


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_malformed_case_is_refused(path):
    with pytest.raises(CaseError) as err:
        load_case(path)
    msg = str(err.value)
    assert "\n" not in msg, msg
    assert msg.startswith(str(path)), msg
    assert expected(path) in msg, msg


@pytest.mark.parametrize("name", ["s_too_large", "huge_grid", "binary_garbage", "no_steady_state"])
def test_cli_refuses_with_status_2_and_writes_nothing(name, tmp_path):
    path = CORPUS / f"{name}.toml"
    proc = subprocess.run([sys.executable, "-m", "fpsolve.cli", "run", str(path), "-o", "out.h5"],
                          capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert expected(path) in proc.stderr
    assert list(tmp_path.iterdir()) == []
    debug = subprocess.run([sys.executable, "-m", "fpsolve.cli", "--debug", "run", str(path)],
                           capture_output=True, text=True, cwd=tmp_path)
    assert "Traceback" in debug.stderr  # --debug shows it


def test_overrides_go_through_the_same_validation():
    base = CORPUS.parent.parent / "cases" / "slab_streaming.toml"
    with pytest.raises(CaseError, match=r"\[grid\] mu_cells = 7: out of range; allowed: even, >= 4"):
        load_case(base, ["grid.mu_cells=7"])
    with pytest.raises(CaseError, match=r"\[grid\] unknown key 'mu_cell' \(did you mean 'mu_cells'\?\)"):
        load_case(base, ["grid.mu_cell=8"])
