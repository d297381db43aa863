"""Schema of the bundled anisotropy measurements (fpsolve/data/anisotropy_measurements.csv).

The file is located as package data with importlib.resources, as an installed fpsolve
would find it.  These are checks of form (types, units, provenance), not of physics.
"""
import csv
import importlib.resources
import math
import re

import pytest

COLUMNS = [
    "id", "experiment", "energy_TeV", "energy_kind", "energy_min_TeV", "energy_max_TeV",
    "quantity", "value", "err_stat", "err_sys", "err_plus", "err_minus",
    "phase_deg", "phase_err_stat_deg", "phase_err_sys_deg", "phase_frame",
    "dec_deg", "dec_err_plus_deg", "dec_err_minus_deg", "dec_band_min_deg", "dec_band_max_deg", "dec_band_source",
    "approximate", "journal_ref", "doi", "arxiv", "source_url", "location", "notes",
]
REQUIRED_TEXT = ["id", "experiment", "energy_kind", "quantity", "phase_frame", "approximate",
                 "journal_ref", "source_url", "location"]
ENERGY_KINDS = {"median", "mean", "bin", "threshold"}
QUANTITIES = {"A1_RA", "A1_RA_equatorial", "A1_solar_equatorial", "dipole_0h", "dipole_6h",
              "dipole_3d", "A1_RA_upper_limit"}
ERROR_COLUMNS = ["err_stat", "err_sys", "err_plus", "err_minus", "phase_err_stat_deg",
                 "phase_err_sys_deg", "dec_err_plus_deg", "dec_err_minus_deg"]


def _path():
    return importlib.resources.files("fpsolve") / "data" / "anisotropy_measurements.csv"


def _rows():
    with _path().open("r", encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        header = reader.fieldnames
        rows = list(reader)
    return header, rows


def _float(row, key):
    text = row[key].strip()
    return None if text == "" else float(text)


HEADER, ROWS = _rows()
IDS = [r["id"] for r in ROWS]


def test_file_is_package_data_with_the_documented_columns():
    assert _path().is_file()
    readme = importlib.resources.files("fpsolve") / "data" / "README.md"
    assert readme.is_file()
    assert HEADER == COLUMNS
    text = readme.read_text(encoding="utf-8")
    for col in COLUMNS:  # every column is described in the README
        assert f"`{col}`" in text, col
    assert len(ROWS) >= 1


def test_ids_unique():
    assert len(IDS) == len(set(IDS))


@pytest.mark.parametrize("row", ROWS, ids=IDS)
def test_required_fields_and_vocabulary(row):
    assert None not in row and all(v is not None for v in row.values()), "ragged row"
    for key in REQUIRED_TEXT:
        assert row[key].strip(), f"{row['id']}: {key} is empty"
    assert row["energy_kind"] in ENERGY_KINDS
    assert row["quantity"] in QUANTITIES
    assert row["phase_frame"] in {"RA", "solar_time"}
    assert row["approximate"] in {"true", "false"}


@pytest.mark.parametrize("row", ROWS, ids=IDS)
def test_every_row_cites_a_reference_and_a_location(row):
    # A reference: a journal string plus at least one identifier or the source address.
    assert row["journal_ref"].strip()
    assert row["doi"].strip() or row["arxiv"].strip() or row["source_url"].strip()
    src = row["source_url"]
    assert src.startswith(("http://", "https://", "github:")), src
    if src.startswith("github:"):  # github:OWNER/REPO/PATH
        assert len(src[len("github:"):].split("/")) >= 3, src
    if row["doi"]:
        assert re.fullmatch(r"10\.\d{4,9}/\S+", row["doi"]), row["doi"]
    if row["arxiv"]:
        assert re.fullmatch(r"(\d{4}\.\d{4,5}|[a-z\-]+(\.[A-Z]{2})?/\d{7})", row["arxiv"])
    loc = row["location"].lower()
    assert any(w in loc for w in ("abstract", "table", "fig", "sect", "sentence", "eq")), loc


@pytest.mark.parametrize("row", ROWS, ids=IDS)
def test_numbers_types_and_units(row):
    e = _float(row, "energy_TeV")
    assert e is not None and e > 0.0 and math.isfinite(e)
    for key in ("energy_min_TeV", "energy_max_TeV"):
        v = _float(row, key)
        assert v is None or (v > 0.0 and math.isfinite(v))
    lo, hi = _float(row, "energy_min_TeV"), _float(row, "energy_max_TeV")
    if lo is not None and hi is not None:
        assert lo <= e <= hi
    if row["energy_kind"] == "threshold":
        assert lo == e

    value = _float(row, "value")
    assert value is not None and math.isfinite(value)
    if row["quantity"] not in {"dipole_0h", "dipole_6h"}:
        # amplitudes are non-negative; components are signed
        assert value >= 0.0
    # Relative intensities: well below 1 (largest bundled: the EeV dipole, ~0.07).
    assert abs(value) < 0.5

    for key in ERROR_COLUMNS:
        v = _float(row, key)
        assert v is None or (v >= 0.0 and math.isfinite(v)), f"{row['id']}: {key} = {v}"
    if row["approximate"] == "false":
        has_error = any(_float(row, k) is not None for k in ("err_stat", "err_plus"))
        assert has_error, f"{row['id']}: non-approximate value without error"

    phase = _float(row, "phase_deg")
    assert phase is None or 0.0 <= phase < 360.0
    dec = _float(row, "dec_deg")
    assert dec is None or -90.0 <= dec <= 90.0
    if row["quantity"] == "dipole_3d":
        assert phase is not None and dec is not None
    b1, b2 = _float(row, "dec_band_min_deg"), _float(row, "dec_band_max_deg")
    for b in (b1, b2):
        assert b is None or -90.0 <= b <= 90.0
    if b1 is not None and b2 is not None:
        assert b1 <= b2


@pytest.mark.parametrize("row", ROWS, ids=IDS)
def test_a_declination_band_cites_where_it_was_read(row):
    # Both ends or neither; a band is a number read in a source, so it names that source and the place in it.
    b1, b2 = _float(row, "dec_band_min_deg"), _float(row, "dec_band_max_deg")
    assert (b1 is None) == (b2 is None), f"{row['id']}: half a declination band"
    src = row["dec_band_source"].strip()
    if b1 is None:
        assert not src, f"{row['id']}: dec_band_source without a band"
        return
    assert src.startswith(("http://", "https://", "github:")), src
    assert any(w in src.lower() for w in ("abstract", "table", "fig", "sect", "sentence", "caption")), src


def test_band_rows_are_compared_with_the_band_first_harmonic():
    # The comparison uses <cos dec> of the band (fpsolve.observable.observed_points), not the
    # equatorial upper bound 1: <cos dec> < 1 for any band but a zero-width one at the equator.
    from fpsolve.observable import observed_points
    from fpsolve.physics.dipole import band_mean_cos_dec

    pts = {p["id"]: p for p in observed_points(ROWS)}
    banded = [r for r in ROWS if r["quantity"] == "A1_RA" and r["dec_band_min_deg"]]
    assert banded, "no A1_RA row with a declination band"
    for r in banded:
        want = band_mean_cos_dec(float(r["dec_band_min_deg"]), float(r["dec_band_max_deg"]))
        assert pts[r["id"]]["mean_cos_dec"] == pytest.approx(want, rel=1e-12)
        assert pts[r["id"]]["mean_cos_dec"] < 1.0
        assert pts[r["id"]]["compare"].startswith("band A1")
