"""The bad-input corpus (tests/data/bad, see its README) imported into a real database.

Each bad row is quarantined with a bilingual reason and its row number, each good row is
kept, a whole-file problem is a clear error that commits nothing, and importing the same
file again adds nothing.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pytest
import shapely

import layers
from gis.db import Database
from gis.errors import CRSError, InputFileError
from gis.queries import fetch_all
from layers._importer import ImportSummary

BAD = Path(__file__).resolve().parents[1] / "data" / "bad"
CJK = re.compile(r"[\u4e00-\u9fff]")


def batches(db: Database) -> list[dict[str, Any]]:
    with db.connection() as conn:
        return fetch_all(conn, "list_import_batches", layer=None, limit=1000)


def rejects_by_row(db: Database, summary: ImportSummary) -> dict[int, dict[str, Any]]:
    with db.connection() as conn:
        rows = fetch_all(conn, "quarantine_rows", batch_id=summary.batch_id, limit=1000)
    return {r["row_number"]: r for r in rows}


def assert_bilingual(reason: dict[str, Any]) -> None:
    """A reason carries its key and a readable sentence in Chinese and in English."""
    assert reason["key"]
    assert CJK.search(reason["zh"]), reason
    assert re.search(r"[A-Za-z]{3}", reason["en"]) and reason["en"] != reason["zh"], reason
    assert "{" not in reason["zh"] and "{" not in reason["en"], "unfilled template"


def assert_reimport_adds_nothing(
    db: Database, layer: str, path: Path, first: ImportSummary, **options: Any
) -> ImportSummary:
    again = layers.import_file(layer, path, db=db, **options)
    stored = first.inserted + first.updated + first.unchanged
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, stored)
    assert (again.merged, again.quarantined) == (first.merged, first.quarantined)
    assert again.batch_id > first.batch_id
    return again


def incidents_of(db: Database, source: str) -> gpd.GeoDataFrame:
    frame = layers.read("incidents", db=db)
    return frame[frame["source"] == source].set_index("source_id")


def test_mixed_csv_quarantines_each_bad_row_and_keeps_the_good(db: Database) -> None:
    path = BAD / "incidents_mixed.csv"
    summary = layers.import_file("incidents", path, db=db)
    assert (summary.rows, summary.inserted, summary.merged, summary.quarantined) == (20, 13, 1, 6)

    rejects = rejects_by_row(db, summary)
    expected = {
        7: ("HZ2026100006", "io.empty_coordinates"),
        8: ("HZ2026100007", "layers.swapped_axes"),
        9: ("HZ2026100008", "layers.bad_date"),
        10: ("HZ2026100002", "layers.conflicting_duplicate"),
        12: ("HZ2026100009", "layers.projected_without_crs"),
        16: ("HZ2026100012", "io.bad_number"),
    }
    assert {n: (r["source_id"], r["reasons"][0]["key"]) for n, r in rejects.items()} == (expected)
    for reject in rejects.values():
        for reason in reject["reasons"]:
            assert_bilingual(reason)
        assert reject["raw"]["编号"] == reject["source_id"]  # the row as read, own headers
    assert "2026-02-30" in rejects[9]["reasons"][0]["en"]
    assert (
        "row 3" in rejects[10]["reasons"][0]["en"] and "第 3 行" in rejects[10]["reasons"][0]["zh"]
    )
    assert "未知" in rejects[16]["reasons"][0]["zh"]
    assert rejects[8]["raw"]["经度"] == "30.2085"

    stored = incidents_of(db, summary.source)
    assert sorted(stored.index) == sorted(
        f"HZ20261000{n:02d}" for n in (1, 2, 3, 4, 5, 10, 11, 13, 14, 15, 16, 17, 18)
    )
    assert stored.loc["HZ2026100003", "merged_rows"] == 2  # line 11 repeats line 4 exactly
    assert stored.loc["HZ2026100002", "category_zh"] == "抢劫"  # line 3 kept, not line 10
    assert stored.loc["HZ2026100010", "address"] == "杭州市上城区清泰街358号\n(门口停车场)"
    point = stored.loc["HZ2026100011", "geometry"]  # full-width digits
    assert (point.x, point.y) == pytest.approx((120.1478, 30.2691), abs=1e-9)
    day = stored.loc["HZ2026100004"]  # date only: a whole day
    assert day["occurred_from"] == pd.Timestamp("2026-10-02", tz="Asia/Shanghai")
    assert day["occurred_to"] == pd.Timestamp("2026-10-03", tz="Asia/Shanghai")
    timed = stored.loc["HZ2026100001"]
    assert timed["occurred_from"] == pd.Timestamp("2026-10-01 08:15", tz="Asia/Shanghai")
    assert pd.isna(timed["occurred_to"])

    assert_reimport_adds_nothing(db, "incidents", path, summary)
    assert len(incidents_of(db, summary.source)) == 13


def test_gbk_csv_round_trips_chinese_text(db: Database) -> None:
    path = BAD / "incidents_gbk.csv"
    summary = layers.import_file("incidents", path, db=db)
    assert (summary.rows, summary.inserted, summary.quarantined) == (10, 10, 0)
    stored = incidents_of(db, summary.source)
    first = stored.loc["JQ20261001001"]
    assert first["address"] == "杭州市西湖区北山街道宝石山下一弄"
    assert first["category_zh"] == "盗窃"
    assert first["occurred_from"] == pd.Timestamp("2026-10-01 08:40", tz="Asia/Shanghai")
    assert first["reported_at"] == pd.Timestamp("2026-10-01 09:02", tz="Asia/Shanghai")
    assert stored["address"].str.contains(CJK).all()
    assert_reimport_adds_nothing(db, "incidents", path, summary)


def test_xlsx_with_a_title_row(db: Database) -> None:
    path = BAD / "incidents_title_row.xlsx"
    summary = layers.import_file("incidents", path, db=db)
    assert (summary.rows, summary.inserted, summary.quarantined) == (3, 2, 1)
    assert any("row 2" in w for w in summary.warnings)  # the header was found below the title

    rejects = rejects_by_row(db, summary)
    assert list(rejects) == [5]  # sheet row numbers
    assert [x["key"] for x in rejects[5]["reasons"]] == ["io.empty_coordinates"]
    assert_bilingual(rejects[5]["reasons"][0])

    stored = incidents_of(db, summary.source).sort_values("occurred_from")
    timed, whole_day = stored.iloc[0], stored.iloc[1]
    assert timed["occurred_from"] == pd.Timestamp("2026-10-03 14:20", tz="Asia/Shanghai")
    assert pd.isna(timed["occurred_to"])
    assert whole_day["occurred_from"] == pd.Timestamp("2026-10-09", tz="Asia/Shanghai")
    assert whole_day["occurred_to"] == pd.Timestamp("2026-10-10", tz="Asia/Shanghai")
    assert_reimport_adds_nothing(db, "incidents", path, summary)


def test_self_intersecting_grid_is_quarantined_and_the_gap_reported(db: Database) -> None:
    path = BAD / "grids_self_intersecting.geojson"
    # The village the four grids should tile: the extent of the 2 x 2 grid squares.
    extent = shapely.box(*gpd.read_file(path).total_bounds)
    village = gpd.GeoDataFrame(
        {"code": ["330106001001"], "name": ["测试村"], "level": ["村"]},
        geometry=[extent],
        crs="EPSG:4326",
    )
    assert layers.import_frame("admin_units", village, source="bad-corpus", db=db).inserted == 1

    summary = layers.import_file("grids", path, db=db)
    assert (summary.rows, summary.inserted, summary.quarantined) == (4, 3, 1)
    rejects = rejects_by_row(db, summary)
    (reason,) = rejects[4]["reasons"]
    assert reason["key"] == "layers.invalid_geometry"
    assert "Self-intersection" in reason["en"] and "自相交" in reason["zh"]
    assert_bilingual(reason)
    assert rejects[4]["source_id"] == "330106001001004"

    grids = layers.read("grids", area="330106001001", db=db)
    assert sorted(grids["code"]) == [f"330106001001{n:03d}" for n in (1, 2, 3)]
    assert grids.is_valid.all()
    # Without the fourth grid the village is not tiled: the import says so.
    (tiling,) = [w for w in summary.warnings if "330106001001" in w]
    assert CJK.search(tiling)
    assert_reimport_adds_nothing(db, "grids", path, summary)


def test_truncated_geojson_is_a_clear_error_and_commits_nothing(db: Database) -> None:
    before = len(batches(db))
    with pytest.raises(InputFileError) as info:
        layers.import_file("grids", BAD / "truncated.geojson", db=db)
    assert info.value.key == "io.truncated_geojson"
    assert "truncated.geojson" in info.value.zh and "truncated.geojson" in info.value.en
    assert "truncated" in info.value.en and "截断" in info.value.zh
    assert info.value.params["line"] > 1
    assert len(batches(db)) == before


def test_projected_csv_without_crs_is_refused_then_imported_with_crs(
    make_database: Callable[..., Database],
) -> None:
    # A database of its own: this module's Hangzhou village would put San Francisco "outside".
    db = make_database("feet")
    path = BAD / "incidents_feet_no_crs.csv"
    before = len(batches(db))
    with pytest.raises(CRSError) as info:
        layers.import_file("incidents", path, db=db)
    assert info.value.key == "layers.projected_file_without_crs"
    assert "--crs" in info.value.en and "--crs" in info.value.zh
    assert "incidents_feet_no_crs.csv" in str(info.value)
    assert len(batches(db)) == before

    summary = layers.import_file("incidents", path, db=db, crs="EPSG:2227")
    assert (summary.rows, summary.inserted, summary.quarantined) == (6, 6, 0)
    assert summary.source_crs == "EPSG:2227"
    stored = incidents_of(db, summary.source)
    xmin, ymin, xmax, ymax = stored.total_bounds
    assert -122.53 < xmin < xmax < -122.35 and 37.70 < ymin < ymax < 37.84  # San Francisco
    assert_reimport_adds_nothing(db, "incidents", path, summary, crs="EPSG:2227")


def test_zipped_shapefile_without_prj(db: Database) -> None:
    path = BAD / "cameras_no_prj.zip"
    summary = layers.import_file("cameras", path, db=db)
    assert (summary.rows, summary.inserted, summary.quarantined) == (5, 5, 0)
    assert any(".prj" in w for w in summary.warnings)
    cameras = layers.read("cameras", db=db)
    mine = cameras[cameras["source"] == summary.source].set_index("source_id")
    assert mine.loc["330106000013200003", "name"] == "转塘龙坞村村口"  # UTF-8 DBF text
    assert mine.loc["330106000013200003", "status"] == "offline"
    assert mine.loc["330106000013200004", "status"] == "fault"
    point = mine.loc["330106000013200001", "geometry"]
    assert (point.x, point.y) == pytest.approx((120.135, 30.2786), abs=1e-9)
    assert_reimport_adds_nothing(db, "cameras", path, summary)


def test_zipped_projected_shapefile_without_prj_is_refused(db: Database, tmp_path: Path) -> None:
    """The same cameras in CGCS2000 Gauss-Krüger metres (EPSG:4549), zipped with no .prj."""
    cameras = gpd.read_file(BAD / "cameras_no_prj.zip").set_crs("EPSG:4490").to_crs("EPSG:4549")
    folder = tmp_path / "shp"
    folder.mkdir()
    cameras.to_file(folder / "gk.shp", engine="pyogrio")
    archive = tmp_path / "gk_no_prj.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for part in folder.iterdir():
            if part.suffix != ".prj":
                zf.write(part, part.name)
    before = len(batches(db))
    with pytest.raises(CRSError) as info:
        layers.import_file("cameras", archive, db=db)
    assert "--crs" in info.value.en
    assert len(batches(db)) == before

    summary = layers.import_file("cameras", archive, db=db, crs="EPSG:4549")
    assert summary.inserted == 5
    mine = layers.read("cameras", db=db).query("source == @summary.source")
    mine = mine.set_index("source_id")
    point = mine.loc["330106000013200001", "geometry"]
    assert (point.x, point.y) == pytest.approx((120.135, 30.2786), abs=1e-7)


def test_kml_cameras_with_heights(db: Database) -> None:
    path = BAD / "cameras.kml"
    summary = layers.import_file("cameras", path, db=db)
    assert (summary.rows, summary.inserted, summary.quarantined) == (4, 4, 0)
    cameras = layers.read("cameras", db=db)
    mine = cameras[cameras["source"] == summary.source]
    assert set(mine["name"]) == {
        "文三路学院路口",
        "古墩路紫荆花路口",
        "转塘龙坞村村口",
        "西溪路留下",
    }
    assert not mine.has_z.any()
    assert_reimport_adds_nothing(db, "cameras", path, summary)


def test_batches_and_quarantine_are_queryable(db: Database) -> None:
    """Runs last in this module: every import above left a committed batch with its counts."""
    recorded = batches(db)
    assert recorded, "no batches recorded"
    assert all(b["status"] == "committed" and b["finished_at"] is not None for b in recorded)
    assert all(len(b["file_hash"]) == 64 for b in recorded if b["file_name"])
    mixed = [b for b in recorded if b["file_name"] == "incidents_mixed.csv"]
    assert len(mixed) == 2  # first import and re-import
    assert mixed[-1]["counts"]["inserted"] == 13 and mixed[0]["counts"]["inserted"] == 0
    assert mixed[0]["file_hash"] == mixed[1]["file_hash"]
    with db.connection() as conn:
        only_grids = fetch_all(conn, "list_import_batches", layer="grids", limit=100)
        summary = fetch_all(conn, "quarantine_summary", limit=100)
    assert {b["layer"] for b in only_grids} == {"grids"}
    per_batch = {row["batch_id"]: row["rows"] for row in summary}
    assert per_batch[mixed[-1]["id"]] == 6
    assert per_batch[mixed[0]["id"]] == 6
    assert layers.counts(db=db)["quarantine"] == sum(per_batch.values())


def test_points_far_outside_the_deployment_are_quarantined(
    make_database: Callable[..., Database],
) -> None:
    """San Francisco points in a deployment whose only village is in Hangzhou."""
    db = make_database("outside")
    village = gpd.GeoDataFrame(
        {"code": ["330106001001"], "name": ["测试村"], "level": ["village"]},
        geometry=[shapely.box(120.1, 30.2, 120.11, 30.21)],
        crs="EPSG:4490",
    )
    layers.import_frame("admin_units", village, source="hangzhou", db=db)
    path = BAD / "incidents_feet_no_crs.csv"
    summary = layers.import_file("incidents", path, db=db, crs="EPSG:2227")
    assert (summary.rows, summary.inserted, summary.quarantined) == (6, 0, 6)
    for reject in rejects_by_row(db, summary).values():
        (reason,) = reject["reasons"]
        assert reason["key"] == "layers.outside_area"
        assert_bilingual(reason)


def test_junk_times_are_quarantined_and_every_valid_time_kept(db: Database) -> None:
    """Junk next to valid times of every supported shape (a fuzz find: ``72:1-45-00t14:07:03``
    beside ``2024年3月5日`` made pandas raise "Mixed timezones detected" and the import crash)."""
    path = BAD / "incidents_junk_times.csv"
    summary = layers.import_file("incidents", path, db=db)
    assert (summary.rows, summary.inserted, summary.quarantined) == (12, 7, 5)

    rejects = rejects_by_row(db, summary)
    expected = {
        3: "72:1-45-00t14:07:03",
        7: "9999-99-99",
        8: "30000-01-01",
        9: "+08:00",
        12: "2026-10-03 " + "9" * 200,
    }
    assert sorted(rejects) == sorted(expected)
    for line, written in expected.items():
        (reason,) = rejects[line]["reasons"]
        assert reason["key"] == "layers.bad_date"
        assert_bilingual(reason)
        assert written in reason["en"] and written in reason["zh"]
        assert rejects[line]["raw"]["发案时间"] == written

    stored = incidents_of(db, summary.source)
    at = {sid: stored.loc[sid, "occurred_from"] for sid in stored.index}
    zone = "Asia/Shanghai"
    assert at == {
        "HZ2026110001": pd.Timestamp("2024-03-05", tz=zone),
        "HZ2026110003": pd.Timestamp("2026-01-01 10:00", tz=zone),
        "HZ2026110004": pd.Timestamp("2026-01-01 18:00", tz=zone),  # 10:00Z
        "HZ2026110005": pd.Timestamp("2026-10-01 08:30", tz=zone),
        "HZ2026110009": pd.Timestamp("2026-10-01 16:30", tz=zone),  # 08:30 UTC
        "HZ2026110010": pd.Timestamp("2026-10-02 19:05", tz=zone),
        "HZ2026110012": pd.Timestamp("2026-10-01 08:00", tz=zone),
    }
    # 2024年3月5日 is a date without a time: a whole-day window.
    assert stored.loc["HZ2026110001", "occurred_to"] == pd.Timestamp("2024-03-06", tz=zone)
    assert pd.isna(stored.loc["HZ2026110003", "occurred_to"])

    assert_reimport_adds_nothing(db, "incidents", path, summary)
