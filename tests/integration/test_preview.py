"""The import preview (layers.preview) against a real database: it reports what the import
then does, row for row, and it writes nothing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import layers
from gis.crs import wgs84_to_gcj02
from gis.db import Database
from gis.errors import CRSError
from gis.queries import fetch_all
from layers.demo import DEMO_SOURCE, build_demo_county
from layers.demo.loading import import_demo_county
from layers.preview import preview_file

BAD = Path(__file__).resolve().parents[1] / "data" / "bad"
MakeDatabase = Callable[..., Database]


def _table_counts(db: Database) -> dict[str, Any]:
    with db.connection() as conn:
        return {
            table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # type: ignore[index]
            for table in ("import_batch", "incident", "quarantine", "audit_log", "camera")
        }


@pytest.fixture(scope="module")
def county_db(make_database: MakeDatabase) -> Database:
    db = make_database("preview")
    import_demo_county(build_demo_county(small=True), source=DEMO_SOURCE, db=db)
    return db


def test_preview_matches_the_import_and_writes_nothing(db: Database) -> None:
    path = BAD / "incidents_mixed.csv"
    before = _table_counts(db)
    stages: list[tuple[str, float]] = []
    preview = preview_file("incidents", path, db=db, progress=lambda s, f: stages.append((s, f)))
    assert _table_counts(db) == before  # nothing written
    assert [f for _, f in stages] == sorted(f for _, f in stages) and stages[-1][1] == 1.0

    # tests/data/bad/README.md: 20 records; lines 7, 8, 9, 10, 12 and 16 are bad, line 11
    # repeats line 4 exactly (merged).
    assert (preview.rows, preview.quarantined, preview.merged) == (20, 6, 1)
    assert preview.accepted == 13
    assert [r["row_number"] for r in preview.rejects] == [7, 8, 9, 10, 12, 16]
    assert all(r["reasons"][0]["zh"] and r["reasons"][0]["en"] for r in preview.rejects)
    assert sum(r["rows"] for r in preview.reason_counts) >= 6
    assert preview.source == "incidents_mixed" and preview.file_name == path.name

    summary = layers.import_file("incidents", path, db=db)
    assert (summary.rows, summary.quarantined, summary.merged) == (
        preview.rows,
        preview.quarantined,
        preview.merged,
    )
    assert summary.inserted + summary.updated + summary.unchanged == preview.accepted
    with db.connection() as conn:
        stored = fetch_all(conn, "quarantine_rows", batch_id=summary.batch_id, limit=100)
    assert [r["row_number"] for r in stored] == [r["row_number"] for r in preview.rejects]
    assert [r["reasons"] for r in stored] == [r["reasons"] for r in preview.rejects]


def test_preview_limits_the_rejects_it_carries(db: Database) -> None:
    preview = preview_file("incidents", BAD / "incidents_mixed.csv", db=db, limit=2)
    assert preview.quarantined == 6 and len(preview.rejects) == 2


def test_projected_file_without_crs_is_the_same_error_as_the_import(db: Database) -> None:
    with pytest.raises(CRSError):
        preview_file("incidents", BAD / "incidents_feet_no_crs.csv", db=db)
    preview = preview_file("incidents", BAD / "incidents_feet_no_crs.csv", crs="EPSG:2227", db=db)
    assert preview.rows == 6 and preview.quarantined == preview.rows - preview.accepted


def _cameras_csv(county_db: Database, tmp_path: Path, *, gcj: bool, swap: bool) -> Path:
    places = layers.read("places", db=county_db)
    lon, lat = places.geometry.x.to_numpy(), places.geometry.y.to_numpy()
    if gcj:
        lon, lat = wgs84_to_gcj02(lon, lat)
    if swap:
        lon, lat = lat, lon
    frame = pd.DataFrame(
        {"编号": [f"C{i}" for i in range(len(lon))], "经度": lon, "纬度": lat, "状态": "在线"}
    )
    path = tmp_path / f"cameras_{int(gcj)}{int(swap)}.csv"
    frame.to_csv(path, index=False)
    return path


def test_gcj02_offset_is_suggested_and_the_suggestion_works(
    county_db: Database, tmp_path: Path
) -> None:
    path = _cameras_csv(county_db, tmp_path, gcj=True, swap=False)
    guessed = preview_file("cameras", path, db=county_db)
    assert guessed.suggestions == ["gcj02"]
    assert any("GCJ-02" in w for w in guessed.warnings), guessed.warnings
    fixed = preview_file("cameras", path, crs="gcj02", db=county_db)
    assert "gcj02" not in fixed.suggestions
    assert fixed.quarantined == 0 and fixed.accepted == fixed.rows
    assert fixed.source_crs == "gcj02"


def test_swapped_axes_are_suggested_and_the_suggestion_works(
    county_db: Database, tmp_path: Path
) -> None:
    path = _cameras_csv(county_db, tmp_path, gcj=False, swap=True)
    swapped = preview_file("cameras", path, db=county_db)
    assert swapped.suggestions == ["swap_axes"]
    assert swapped.quarantined == swapped.rows
    assert {r["reasons"][0]["key"] for r in swapped.rejects} == {"layers.swapped_axes"}
    fixed = preview_file("cameras", path, swap_axes=True, db=county_db)
    assert fixed.suggestions == [] and fixed.quarantined == 0
