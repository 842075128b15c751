"""Import rules at the edges: declared CRSs with bad rows, natural keys across sources, roads by
area, exports of empty and non-spatial layers, the demo replacing itself, scopes."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely

import layers
from gis.db import Database
from gis.errors import ValidationError
from gis.settings import Settings
from gis.writers import write_table
from layers.demo import DEMO_SOURCE, build_demo_county
from layers.demo.loading import import_demo_county
from pingan.demo import run_demo
from tests.integration._derived import derived_column_mismatches

MakeDatabase = Callable[..., Database]


@pytest.fixture(scope="module")
def county_db(make_database: MakeDatabase) -> Database:
    db = make_database("rules")
    import_demo_county(build_demo_county(small=True), source=DEMO_SOURCE, db=db)
    return db


def test_declared_crs_does_not_hide_swapped_or_projected_rows(
    county_db: Database, tmp_path: Path
) -> None:
    """A GeoJSON is EPSG:4326 by definition, yet rows in it can still be swapped or in metres."""
    grids = layers.read("grids", db=county_db)
    inside = grids.geometry.iloc[0].representative_point()
    frame = gpd.GeoDataFrame(
        {
            "source_id": ["ok", "swapped", "metres"],
            "category": ["盗窃"] * 3,
            "occurred_from": ["2026-10-01 08:00"] * 3,
        },
        geometry=[inside, shapely.Point(inside.y, inside.x), shapely.Point(511161.5, 3350493.3)],
        crs="EPSG:4326",
    )
    path = tmp_path / "declared.geojson"
    frame.to_file(path, driver="GeoJSON")
    summary = layers.import_file("incidents", path, db=county_db)
    assert (summary.inserted, summary.quarantined) == (1, 2)
    with county_db.connection() as conn:
        reasons = dict(
            conn.execute(
                "SELECT source_id, reasons->0->>'key' FROM quarantine WHERE batch_id = %s",
                (summary.batch_id,),
            ).fetchall()
        )
    assert reasons == {"swapped": "layers.swapped_axes", "metres": "layers.projected_without_crs"}


def test_admin_units_match_on_their_code_whatever_the_source(county_db: Database) -> None:
    units = build_demo_county(small=True).admin_units
    first = layers.import_frame("admin_units", units, source="村界_v2", db=county_db)
    assert first.inserted == 0 and first.quarantined == 0
    assert first.unchanged + first.updated == len(units)
    assert layers.counts(db=county_db)["admin_units"] == len(units)


def test_grid_staff_match_on_grid_person_and_role(county_db: Database) -> None:
    staff = build_demo_county(small=True).grid_staff
    again = layers.import_frame("grid_staff", staff, source="网格员台账_2026-11", db=county_db)
    assert again.inserted == 0 and again.quarantined == 0
    assert layers.counts(db=county_db)["grid_staff"] == len(staff)


def test_roads_are_read_by_area(county_db: Database) -> None:
    roads = layers.read("roads", db=county_db)
    assert roads["village_code"].notna().mean() > 0.9
    township = roads["village_code"].dropna().iloc[0][:9]
    scoped = layers.read("roads", area=township, db=county_db)
    assert 0 < len(scoped) < len(roads)
    assert scoped["village_code"].str.startswith(township).all()


def test_exports_of_empty_and_non_spatial_layers(county_db: Database, tmp_path: Path) -> None:
    empty = layers.read("incidents", area="990199", db=county_db)
    assert isinstance(empty, gpd.GeoDataFrame) and empty.empty
    write_table(empty, tmp_path / "none.geojson")
    assert json.loads((tmp_path / "none.geojson").read_text())["features"] == []
    staff = layers.read("grid_staff", db=county_db)
    write_table(staff, tmp_path / "staff.gpkg", layer="grid_staff")
    back = pyogrio.read_dataframe(tmp_path / "staff.gpkg", layer="grid_staff")
    assert len(back) == len(staff)
    with pytest.raises(ValueError, match="GeoJSON"):
        write_table(staff, tmp_path / "staff.geojson")


def test_area_scope_is_digits_only(county_db: Database) -> None:
    for bad in ("%", "99_1", "9901' OR '1'='1"):
        with pytest.raises(ValidationError):
            layers.read("grids", area=bad, db=county_db)


def test_demo_replaces_whatever_an_earlier_run_left(
    make_database: MakeDatabase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run killed before it recorded itself leaves rows; the next run must not mix counties."""
    db = make_database("demo_twice")
    leftover = build_demo_county(small=True, seed=7)
    layers.import_frame("grids", leftover.grids, source=DEMO_SOURCE, db=db)
    monkeypatch.setattr("pingan.demo.get_settings", lambda: Settings(home=tmp_path))
    report = run_demo(seed=20261031, incidents=None, small=True, end="2026-10-31", db=db)
    expected = build_demo_county(small=True)
    grids = layers.read("grids", db=db)
    assert len(grids) == len(expected.grids) == report["layers"]["grids"]["stored"]
    assert set(grids["code"]) == set(expected.grids["code"])
    assert pd.Series(grids["source"]).eq(DEMO_SOURCE).all()
    assert Path(report["truth"]).parent.parent == tmp_path


def test_a_changed_incident_is_updated_in_place(county_db: Database) -> None:
    """A re-import with one changed row updates it (same id) and leaves the other unchanged."""
    frame = gpd.GeoDataFrame(
        {
            "source_id": ["A1", "A2"],
            "category": ["盗窃", "抢夺"],
            "occurred_from": ["2026-10-01 08:00", "2026-10-02 09:00"],
            "address": ["甲", "乙"],
        },
        geometry=list(layers.read("grids", db=county_db).geometry.iloc[:2].representative_point()),
        crs="EPSG:4490",
    )
    layers.import_frame("incidents", frame, source="ledger", db=county_db)
    before = (
        layers.read("incidents", db=county_db).query("source == 'ledger'").set_index("source_id")
    )
    frame.loc[1, "address"] = "乙 (更正)"
    frame.loc[1, "category"] = "抢劫"
    frame.loc[1, "occurred_from"] = "2026-10-02 21:30"
    again = layers.import_frame("incidents", frame, source="ledger", db=county_db)
    assert (again.inserted, again.updated, again.unchanged) == (0, 1, 1)
    assert derived_column_mismatches(county_db) == 0
    after = (
        layers.read("incidents", db=county_db).query("source == 'ledger'").set_index("source_id")
    )
    assert after.loc["A2", "id"] == before.loc["A2", "id"]
    assert after.loc["A2", "address"] == "乙 (更正)" and after.loc["A2", "category_code"] == "0101"
    assert after.loc["A1", "address"] == "甲"
    third = layers.import_frame("incidents", frame, source="ledger", db=county_db)
    assert (third.inserted, third.updated, third.unchanged) == (0, 0, 2)


def test_workbook_sheets_are_chosen_by_name_and_never_dropped_silently(
    county_db: Database, tmp_path: Path
) -> None:
    import openpyxl

    point = layers.read("grids", db=county_db).geometry.iloc[0].representative_point()
    book = openpyxl.Workbook()
    for title, rows in (("十月", 1), ("十一月", 2)):
        sheet = book.active if title == "十月" else book.create_sheet(title)
        sheet.title = title
        sheet.append(["编号", "类别", "发案时间", "经度", "纬度"])
        for i in range(rows):
            sheet.append([f"{title}{i}", "盗窃", f"2026-10-0{i + 1} 08:00", point.x, point.y])
    path = tmp_path / "台账.xlsx"
    book.save(path)
    first = layers.import_file("incidents", path, source="workbook", db=county_db)
    assert first.inserted == 1
    assert any("十一月" in w and "--layer-name" in w for w in first.warnings)
    second = layers.import_file(
        "incidents", path, source="workbook", sheet_layer="十一月", db=county_db
    )
    assert second.inserted == 2 and not second.warnings[1:]


def test_gcj02_file_is_detected_then_converted(county_db: Database, tmp_path: Path) -> None:
    """Cameras exported from a phone app (GCJ-02): a warning without --crs, exact with it."""
    from gis.crs import wgs84_to_gcj02

    places = layers.read("places", db=county_db)
    lon, lat = places.geometry.x.to_numpy(), places.geometry.y.to_numpy()
    g_lon, g_lat = wgs84_to_gcj02(lon, lat)
    frame = pd.DataFrame(
        {"编号": [f"C{i}" for i in range(len(lon))], "经度": g_lon, "纬度": g_lat, "状态": "在线"}
    )
    path = tmp_path / "amap_cameras.csv"
    frame.to_csv(path, index=False)
    guessed = layers.import_file("cameras", path, source="amap_guess", db=county_db)
    assert any("GCJ-02" in w for w in guessed.warnings), guessed.warnings
    declared = layers.import_file("cameras", path, source="amap", crs="gcj02", db=county_db)
    assert declared.inserted == len(lon) and declared.quarantined == 0
    stored = layers.read("cameras", db=county_db).query("source == 'amap'")
    stored = stored.set_index("source_id").loc[frame["编号"]]
    error_m = np.hypot(
        (stored.geometry.x.to_numpy() - lon) * 111_320 * np.cos(np.radians(lat)),
        (stored.geometry.y.to_numpy() - lat) * 110_540,
    )
    assert error_m.max() < 0.1


def test_swap_axes_for_a_whole_file(county_db: Database, tmp_path: Path) -> None:
    point = layers.read("grids", db=county_db).geometry.iloc[0].representative_point()
    path = tmp_path / "swapped.csv"
    pd.DataFrame(
        {
            "编号": ["S1", "S2"],
            "类别": ["盗窃", "盗窃"],
            "发案时间": ["2026-10-01", "2026-10-02"],
            "经度": [point.y] * 2,
            "纬度": [point.x] * 2,
        }
    ).to_csv(path, index=False)
    plain = layers.import_file("incidents", path, source="swap_plain", db=county_db)
    assert plain.quarantined == 2
    fixed = layers.import_file("incidents", path, source="swap_fixed", swap_axes=True, db=county_db)
    assert (fixed.inserted, fixed.quarantined) == (2, 0)
    stored = layers.read("incidents", db=county_db).query("source == 'swap_fixed'")
    assert stored.geometry.x.iloc[0] == pytest.approx(point.x, abs=1e-9)
