"""The map's database reads on a planted village: the hour-of-day rule (``incident_in_hours``),
the 12-month trend, one incident by id, grid scopes, and the base-layer cache's version.

Every expected number follows from the planted times below (Asia/Shanghai).
"""

from __future__ import annotations

from datetime import date

import geopandas as gpd
import pytest
import shapely

import layers
from dashboard import _data
from gis.db import Database
from gis.errors import ValidationError
from layers.access import base_version, hour_filter

VILLAGE = "330106001001"
GRID = VILLAGE + "001"
BOX = shapely.box(120.10, 30.20, 120.11, 30.21)

# source_id: (occurred_from, occurred_to or None, category)
INCIDENTS = {
    "exact23": ("2026-03-10 23:30", None, "盗窃"),  # 22-6 only
    "exact07": ("2026-03-11 07:00", None, "盗窃"),  # 6-22 only
    "exact06": ("2026-03-12 06:00", None, "抢劫"),  # 6-22 only: a band's end is exclusive
    "night": ("2026-03-12 23:00", "2026-03-13 05:00", "盗窃"),  # window inside 22-6
    "edges": ("2026-03-14 22:00", "2026-03-15 06:00", "盗窃"),  # window exactly 22-6
    "across": ("2026-03-13 20:00", "2026-03-14 08:00", "盗窃"),  # crosses both bands' edges
    "dateonly": ("2026-02-20", None, "诈骗"),  # a whole day: no hour is known
}


@pytest.fixture(scope="module")
def planted(db: Database) -> Database:
    units = gpd.GeoDataFrame(
        {"code": [VILLAGE], "name": ["一村"], "level": ["village"], "parent_code": [None]},
        geometry=[BOX],
        crs="EPSG:4490",
    )
    grids = gpd.GeoDataFrame(
        {"code": [GRID], "name": ["一村一格"], "households": [120]}, geometry=[BOX], crs="EPSG:4490"
    )
    incidents = gpd.GeoDataFrame(
        {
            "source_id": list(INCIDENTS),
            "occurred_from": [v[0] for v in INCIDENTS.values()],
            "occurred_to": [v[1] for v in INCIDENTS.values()],
            "category": [v[2] for v in INCIDENTS.values()],
            "address": ["一村 1 号"] * len(INCIDENTS),
        },
        geometry=[shapely.Point(120.101 + i * 0.001, 30.205) for i in range(len(INCIDENTS))],
        crs="EPSG:4490",
    )
    for layer, data in (("admin_units", units), ("grids", grids), ("incidents", incidents)):
        summary = layers.import_frame(layer, data, source="planted", db=db)
        assert summary.quarantined == 0, summary
    return db


def _by_id(db: Database, hours: tuple[int, int] | None) -> list[str]:
    return sorted(layers.read("incidents", hours=hours, db=db)["source_id"])


def test_an_hour_band_counts_exact_times_and_whole_windows_only(planted: Database) -> None:
    assert _by_id(planted, (22, 6)) == ["edges", "exact23", "night"]
    assert _by_id(planted, (6, 22)) == ["exact06", "exact07"]
    assert _by_id(planted, None) == sorted(INCIDENTS)
    assert _by_id(planted, (0, 24)) == sorted(INCIDENTS)  # the whole day is no filter
    # The counts per grid apply the same rule in the database.
    assert layers.incident_counts(hours=(22, 6), db=planted) == {GRID: 3}
    assert layers.incident_counts(hours=(6, 22), categories="两抢一盗", db=planted) == {GRID: 2}


def test_hours_are_checked() -> None:
    assert hour_filter(None) == {"hour_from": None, "hour_to": None}
    assert hour_filter((5, 5)) == {"hour_from": None, "hour_to": None}
    assert hour_filter([22, 6]) == {"hour_from": 22, "hour_to": 6}
    for bad in ((24, 6), (3, 0), ("x", 2), (1,)):
        with pytest.raises(ValidationError, match="hours"):
            hour_filter(bad)  # type: ignore[arg-type]


def test_a_grid_code_scopes_the_counts(planted: Database) -> None:
    assert layers.incident_counts(area=GRID, db=planted) == {GRID: len(INCIDENTS)}
    assert layers.incident_counts(area=GRID[:-1] + "9", db=planted) == {}


def test_the_monthly_trend_ends_with_the_latest_month_or_the_given_day(planted: Database) -> None:
    trend = layers.incident_monthly_counts(area=GRID, db=planted)
    assert len(trend) == 12
    assert trend.index[0] == date(2025, 4, 1) and trend.index[-1] == date(2026, 3, 1)
    assert trend[date(2026, 3, 1)] == 6 and trend[date(2026, 2, 1)] == 1 and trend.sum() == 7
    night = layers.incident_monthly_counts(area=GRID, hours=(22, 6), db=planted)
    assert night.sum() == 3
    february = layers.incident_monthly_counts(area=VILLAGE, until="2026-02-15", db=planted)
    assert february.index[-1] == date(2026, 2, 1) and february.sum() == 1
    # The dashboard's panel rows.
    flt = _data.IncidentFilter(end=date(2026, 3, 1))  # the last day picked was 2026-02-28
    rows = _data.month_rows(_data.load_trend(GRID, flt, db=planted))
    assert rows[-1] == ("2026-02", 1) and len(rows) == 12


def test_one_incident_by_id_for_its_panel(planted: Database) -> None:
    frame = layers.read("incidents", db=planted).set_index("source_id")
    incident_id = int(frame.loc["night", "id"])
    row = layers.incident_detail(incident_id, db=planted)
    assert row is not None
    taxonomy = layers.incidents.taxonomy()
    assert row["category_zh"] == taxonomy.name(row["category_code"], "zh")
    assert row["category_en"] == taxonomy.name(row["category_code"], "en")
    assert row["address"] == "一村 1 号" and row["grid_code"] == GRID
    assert "description" not in row
    facts = _data.incident_facts(row, language="en")
    assert facts["window"] == "2026-03-12 23:00 – 03-13 05:00"
    assert row["category_en"] in facts["category"]
    assert layers.incident_detail(incident_id, area="11", db=planted) is None
    assert layers.incident_detail(-1, db=planted) is None


def test_the_base_layer_cache_sees_a_new_import(planted: Database) -> None:
    before = base_version(db=planted)
    assert base_version(db=planted) == before
    assert _data.load_area(VILLAGE, db=planted).cameras.empty
    cameras = gpd.GeoDataFrame(
        {
            "source_id": ["c1"],
            "name": ["村口"],
            "heading_deg": [90.0],
            "fov_deg": [60.0],
            "range_m": [50.0],
        },
        geometry=[shapely.Point(120.105, 30.205)],
        crs="EPSG:4490",
    )
    layers.import_frame("cameras", cameras, source="planted", db=planted)
    assert base_version(db=planted) != before
    area = _data.load_area(VILLAGE, db=planted)
    assert list(area.cameras["name"]) == ["村口"]
    # The clicked camera's wedge: 50 m east of the camera, ±30°.
    feature = _data.camera_features(area.cameras, language="zh")["features"][0]
    view, shape = _data.camera_view(feature, srid=planted.storage_srid)
    assert shape == "wedge" and len(view["features"]) == 1
