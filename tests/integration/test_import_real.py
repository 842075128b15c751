"""Importing real public data (tests/data, see tests/data/SOURCES.md) into PostGIS.

The expected numbers are computed here from the files themselves (csv, json and a
hand-written shapefile reader), or quoted from the data README of the shared folder, never
from the code under test.
"""

from __future__ import annotations

import csv
import json
import struct
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyproj
import pytest

import layers
from gis.db import Database
from gis.queries import fetch_all
from gis.readers import RawTable, read_table
from layers.ingest import layer_def
from layers.taxonomy import default_taxonomy
from tests.integration._derived import derived_column_mismatches

DATA = Path(__file__).resolve().parents[1] / "data"
CHICAGO = DATA / "chicago"
SF = DATA / "sanfrancisco"
# San Francisco's land, generously (lon/lat).
SF_BBOX = (-122.53, 37.70, -122.35, 37.84)


def raw_table(layer: str, path: Path, mapping: dict[str, str] | None = None) -> RawTable:
    """Read a file the way ``import_file`` does, so that a test can add constant columns."""
    spec = layer_def(layer).spec
    return read_table(
        path, mapping=mapping, canonical=[*spec.columns, "source_id", "lon", "lat", "wkt"]
    )


def quarantine(db: Database, batch_id: int) -> list[dict[str, Any]]:
    with db.connection() as conn:
        return fetch_all(conn, "quarantine_rows", batch_id=batch_id, limit=100_000)


def shapefile_points(path: Path) -> np.ndarray:
    """The x/y of every record of a point shapefile, read with struct (independent of GDAL)."""
    data = path.read_bytes()
    assert struct.unpack("<i", data[32:36])[0] == 1, "not a point shapefile"
    points = []
    offset = 100
    while offset < len(data):
        length_words = struct.unpack(">i", data[offset + 4 : offset + 8])[0]
        shape_type, x, y = struct.unpack("<idd", data[offset + 8 : offset + 28])
        assert shape_type == 1
        points.append((x, y))
        offset += 8 + 2 * length_words
    return np.array(points)


# -- Chicago cameras ------------------------------------------------------------------------------


def _csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.mark.parametrize(
    ("file", "name_header", "rows"),
    [
        ("red_light_camera_locations.csv", "INTERSECTION", 149),
        ("speed_camera_locations.csv", "ADDRESS", 161),
    ],
)
def test_chicago_cameras(
    db: Database, tmp_path: Path, file: str, name_header: str, rows: int
) -> None:
    path = CHICAGO / file
    expected = _csv_rows(path)
    assert len(expected) == rows
    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps({name_header: "name"}), encoding="utf-8")

    summary = layers.import_file("cameras", path, db=db, mapping=mapping)
    assert (summary.rows, summary.inserted, summary.quarantined, summary.merged) == (
        rows,
        rows,
        0,
        0,
    )

    cameras = layers.read("cameras", db=db)
    mine = cameras[cameras["source"] == summary.source]
    assert len(mine) == rows
    assert mine.crs.to_epsg() == 4490
    assert set(mine["status"]) == {"online"}

    # Every camera sits where the CSV says (no datum shift between WGS 84 and CGCS2000 here).
    want = np.array(sorted((float(r["LONGITUDE"]), float(r["LATITUDE"])) for r in expected))
    got = np.array(sorted(zip(mine.geometry.x, mine.geometry.y, strict=True)))
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)

    # A known camera, by name, with its go-live date.
    first = expected[0]
    known = mine[mine["name"] == first[name_header]]
    assert len(known) == 1
    point = known.geometry.iloc[0]
    assert point.x == pytest.approx(float(first["LONGITUDE"]), abs=1e-6)
    assert point.y == pytest.approx(float(first["LATITUDE"]), abs=1e-6)
    go_live = next(v for k, v in first.items() if k.replace("-", " ") == "GO LIVE DATE")
    assert pd.Timestamp(known["installed_on"].iloc[0]) == pd.Timestamp(go_live).normalize()

    again = layers.import_file("cameras", path, db=db, mapping=mapping)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, rows)
    assert len(layers.read("cameras", db=db).query("source == @summary.source")) == rows


# -- Chicago community areas and schools ----------------------------------------------------------


def test_chicago_community_areas_without_codes(db: Database) -> None:
    path = CHICAGO / "commareas.geojson"
    features = json.loads(path.read_text(encoding="utf-8"))["features"]
    table = raw_table("admin_units", path, {"community": "name", "area_numbe": "source_id"})
    table.frame["level"] = "village"

    summary = layers.import_table("admin_units", table, source="chicago_community_areas", db=db)
    assert (summary.rows, summary.inserted, summary.quarantined) == (77, 77, 0)

    units = layers.read("admin_units", db=db)
    assert len(units) == 77
    assert units.crs.to_epsg() == 4490
    assert units["code"].isna().all()  # foreign units bring no Chinese division code
    assert set(units["source_id"]) == {str(n) for n in range(1, 78)}
    assert set(units.geom_type) == {"MultiPolygon"}
    assert units.is_valid.all()
    by_id = units.set_index("source_id")
    names = {f["properties"]["area_numbe"]: f["properties"]["community"] for f in features}
    assert by_id.loc["35", "name"] == names["35"] == "DOUGLAS"
    # Chicago, not somewhere else: every area lies within the city's extent.
    xmin, ymin, xmax, ymax = units.total_bounds
    assert -87.95 < xmin < xmax < -87.5 and 41.6 < ymin < ymax < 42.1
    # The empty scope is everything; a Chinese prefix matches none of them.
    assert len(layers.read("admin_units", area="", db=db)) == 77
    assert len(layers.read("admin_units", area="33", db=db)) == 0

    again = layers.import_table("admin_units", table, source="chicago_community_areas", db=db)
    assert (again.inserted, again.unchanged) == (0, 77)


def test_chicago_schools_as_places(db: Database) -> None:
    path = CHICAGO / "cps_schools_progress_report.csv"
    expected = _csv_rows(path)
    located = [r for r in expected if r["Latitude"].strip() and r["Longitude"].strip()]
    table = raw_table("places", path)
    table.frame["kind"] = "school"

    summary = layers.import_table("places", table, source="cps_schools", db=db)
    assert summary.rows == len(expected) == 653
    # No row is lost: stored + merged repeats + quarantined = rows of the file.
    assert summary.inserted + summary.merged + summary.quarantined == summary.rows
    assert summary.quarantined == len(expected) - len(located)
    assert summary.inserted == len({tuple(r.values()) for r in located})

    schools = layers.read("places", kinds=["school"], db=db)
    assert len(schools) == summary.inserted
    assert layers.read("places", kinds=["market"], db=db).empty
    want = np.array(sorted({(float(r["Longitude"]), float(r["Latitude"])) for r in located}))
    got = np.array(sorted(set(zip(schools.geometry.x, schools.geometry.y, strict=True))))
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)

    again = layers.import_table("places", table, source="cps_schools", db=db)
    assert (again.inserted, again.unchanged) == (0, summary.inserted)


# -- Chicago incidents ----------------------------------------------------------------------------


def test_chicago_carjackings_are_robberies(db: Database, tmp_path: Path) -> None:
    path = CHICAGO / "Chi_Carjackings.geojson"
    features = json.loads(path.read_text(encoding="utf-8"))["features"]
    assert len(features) == 1412
    mapping = tmp_path / "carjackings.toml"
    mapping.write_text('Descr_tion = "category"\n', encoding="utf-8")

    summary = layers.import_file("incidents", path, db=db, mapping=mapping)
    assert (summary.rows, summary.inserted, summary.quarantined) == (1412, 1412, 0)
    assert summary.other_category == 0

    robbery = default_taxonomy().expand("抢劫")
    assert robbery == {"0101"}
    incidents = layers.read("incidents", db=db).query("source == @summary.source")
    assert len(incidents) == 1412
    assert set(incidents["category_code"]) == {"0101"}
    assert incidents["two_robberies_one_theft"].all()
    assert set(incidents["category_zh"]) == {"抢劫"}
    assert Counter(incidents["category_raw"]) == Counter(
        f["properties"]["Descr_tion"] for f in features
    )

    # A known carjacking: its time (wall clock in the deployment time zone) and position.
    first = features[0]
    known = incidents.set_index("source_id").loc[str(first["properties"]["ID"])]
    stamp = pd.Timestamp(first["properties"]["Date"]).tz_localize(db.timezone)
    assert known["occurred_from"] == stamp
    assert pd.isna(known["occurred_to"])  # a time of day is given: no window
    lon, lat = first["geometry"]["coordinates"]
    assert known["geometry"].x == pytest.approx(lon, abs=1e-9)
    assert known["geometry"].y == pytest.approx(lat, abs=1e-9)

    again = layers.import_file("incidents", path, db=db, mapping=mapping)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 1412)


def test_chicago_carjackings_in_a_chicago_deployment(
    make_database: Callable[..., Database], tmp_path: Path
) -> None:
    """Exact times across a daylight-saving change are kept as given (a whole-day shift of
    every row once raised on 2020-11-01 01:25, the hour Chicago repeats)."""
    chicago_db = make_database("chicago_tz", timezone="America/Chicago")
    mapping = tmp_path / "carjackings.toml"
    mapping.write_text('Descr_tion = "category"\n', encoding="utf-8")
    path = CHICAGO / "Chi_Carjackings.geojson"

    summary = layers.import_file("incidents", path, db=chicago_db, mapping=mapping)

    assert (summary.rows, summary.inserted, summary.quarantined) == (1412, 1412, 0)
    stored = layers.read("incidents", db=chicago_db)
    assert stored["occurred_to"].isna().all()  # exact times: no windows were made up


def test_chicago_crimes_with_day_numbers_and_empty_coordinates(db: Database) -> None:
    """The 10k sample: dates as days since 2021-01-01, 67 rows without coordinates."""
    path = CHICAGO / "ChicagoCrime_10k_2021_days.csv"
    expected = _csv_rows(path)
    day_header = "Date (days since 1/1/2021)"
    empty = [i for i, r in enumerate(expected) if not r["Latitude"] or not r["Longitude"]]
    assert len(expected) == 9999 and len(empty) == 67

    table = raw_table("incidents", path)
    days = pd.to_numeric(table.frame[day_header])
    local = pd.Timestamp("2021-01-01", tz="America/Chicago") + pd.to_timedelta(days, unit="D")
    table.frame["occurred_from"] = local.dt.round("s").map(lambda t: t.isoformat())

    summary = layers.import_table("incidents", table, source="chicago_2021", db=db)
    assert summary.rows == 9999
    assert summary.quarantined == 67
    assert summary.inserted + summary.merged == 9999 - 67

    rejects = quarantine(db, summary.batch_id)
    assert [r["row_number"] for r in rejects] == [i + 2 for i in empty]  # CSV line numbers
    for reject in rejects:
        assert [reason["key"] for reason in reject["reasons"]] == ["io.empty_coordinates"]
        assert "坐标" in reject["reasons"][0]["zh"] and "coordinates" in reject["reasons"][0]["en"]
        assert reject["raw"]["Primary Type"]  # the raw row is kept as it was

    # Categories: known names map through the taxonomy; the rest become 其他, counted.
    tax = default_taxonomy()
    kept = [r for i, r in enumerate(expected) if i not in set(empty)]
    codes, known = tax.resolve([r["Primary Type"] for r in kept])
    assert summary.other_category == int((~known).sum()) > 0
    stored = layers.read("incidents", db=db).query("source == 'chicago_2021'")
    assert len(stored) == summary.inserted
    group = layers.read("incidents", categories=["两抢一盗"], db=db).query(
        "source == 'chicago_2021'"
    )
    flagged = Counter(
        r["Primary Type"]
        for r, c in zip(kept, codes, strict=True)
        if c in tax.two_robberies_one_theft_codes()
    )
    assert set(flagged) == {"THEFT", "ROBBERY", "MOTOR VEHICLE THEFT", "BURGLARY"}
    assert group["merged_rows"].sum() == sum(flagged.values())
    assert stored.loc[stored["category_code"] == "99", "category_raw"].notna().all()
    # Offsets in the text are honoured: the first crime happened at 2021-01-01 00:00 Chicago.
    assert stored["occurred_from"].min() == pd.Timestamp("2021-01-01", tz="America/Chicago")


# -- San Francisco, EPSG:2227 feet, dates only ----------------------------------------------------


@pytest.fixture(scope="module")
def sf_db(make_database: Callable[..., Database]) -> Database:
    """A database whose deployment time zone is San Francisco's, as a deployment there would."""
    return make_database("sf", timezone="America/Los_Angeles")


def _sf_frame(name: str) -> pd.DataFrame:
    frame = pd.DataFrame(pyogrio.read_dataframe(SF / f"{name}.shp", read_geometry=False))
    xy = shapefile_points(SF / f"{name}.shp")
    frame["x_ft"], frame["y_ft"] = xy[:, 0], xy[:, 1]
    frame["row_number"] = np.arange(1, len(frame) + 1)
    return frame


def test_sf_robbery(sf_db: Database) -> None:
    raw = _sf_frame("sf_robbery")
    assert len(raw) == 2761
    assert raw["IncidntNum"].nunique() == 2046  # data README: 715 exact repeats

    summary = layers.import_file("incidents", SF / "sf_robbery.shp", db=sf_db)
    assert (summary.rows, summary.inserted, summary.merged, summary.quarantined) == (
        2761,
        2046,
        715,
        0,
    )
    assert summary.source_crs == "EPSG:2227"

    incidents = layers.read("incidents", db=sf_db).query("source == 'sf_robbery'")
    assert len(incidents) == 2046
    assert incidents.crs.to_epsg() == 4490
    assert incidents["merged_rows"].sum() == 2761
    assert set(incidents["category_code"]) == {"0101"}
    assert incidents["two_robberies_one_theft"].all()

    # Known only to the day: a whole-day window from local midnight to the next local midnight
    # (23 or 25 hours when daylight saving time begins or ends; it ended on 2012-11-04).
    start = incidents["occurred_from"].dt.tz_convert("America/Los_Angeles")
    end = incidents["occurred_to"].dt.tz_convert("America/Los_Angeles")
    assert (start == start.dt.normalize()).all() and (end == end.dt.normalize()).all()
    assert ((end.dt.tz_localize(None) - start.dt.tz_localize(None)) == pd.Timedelta(days=1)).all()
    length = incidents["occurred_to"] - incidents["occurred_from"]
    dst_end = start.dt.date == pd.Timestamp("2012-11-04").date()
    assert dst_end.any()
    assert (length[dst_end] == pd.Timedelta(hours=25)).all()
    assert (length[~dst_end] == pd.Timedelta(hours=24)).all()
    first = raw.drop_duplicates("IncidntNum").set_index(
        raw.drop_duplicates("IncidntNum")["IncidntNum"].astype(str)
    )
    by_id = incidents.set_index("source_id")
    dates = pd.to_datetime(first.loc[by_id.index, "Date"]).dt.date.to_numpy()
    assert (start.set_axis(by_id.index).dt.date.to_numpy() == dates).all()
    assert (pd.to_datetime(by_id["occurred_date"]).dt.date.to_numpy() == dates).all()
    assert str(start.min().date()) == "2012-07-01" and str(start.max().date()) == "2012-12-31"
    assert derived_column_mismatches(sf_db) == 0

    # Positions: feet → CGCS2000 lon/lat, checked with pyproj on the raw shapefile records
    # and against the lon/lat columns SFPD ships (X, Y).
    to_4490 = pyproj.Transformer.from_crs("EPSG:2227", "EPSG:4490", always_xy=True)
    lon, lat = to_4490.transform(first.loc[by_id.index, "x_ft"], first.loc[by_id.index, "y_ft"])
    np.testing.assert_allclose(by_id.geometry.x, lon, rtol=0, atol=1e-7)
    np.testing.assert_allclose(by_id.geometry.y, lat, rtol=0, atol=1e-7)
    np.testing.assert_allclose(by_id.geometry.x, first.loc[by_id.index, "X"], rtol=0, atol=1e-5)
    np.testing.assert_allclose(by_id.geometry.y, first.loc[by_id.index, "Y"], rtol=0, atol=1e-5)
    xmin, ymin, xmax, ymax = incidents.total_bounds
    assert SF_BBOX[0] < xmin < xmax < SF_BBOX[2] and SF_BBOX[1] < ymin < ymax < SF_BBOX[3]

    again = layers.import_file("incidents", SF / "sf_robbery.shp", db=sf_db)
    assert (again.inserted, again.updated, again.unchanged, again.merged) == (0, 0, 2046, 715)


def test_sf_car_theft_conflicts_are_quarantined(sf_db: Database) -> None:
    raw = _sf_frame("sf_cartheft")
    attributes = [c for c in raw.columns if c != "row_number"]
    repeats = raw[raw.duplicated("IncidntNum", keep="first")]
    firsts = raw.drop_duplicates("IncidntNum").set_index("IncidntNum")
    same = (
        (
            repeats[attributes].set_index("IncidntNum")
            == firsts.loc[repeats["IncidntNum"], attributes[1:]]
        )
        .all(axis=1)
        .to_numpy()
    )
    # The data README: 305 rows share an earlier number, 292 exactly, 13 differ.
    assert (len(raw), len(repeats), int(same.sum()), int((~same).sum())) == (3384, 305, 292, 13)

    summary = layers.import_file("incidents", SF / "sf_cartheft.shp", db=sf_db)
    assert (summary.rows, summary.merged, summary.quarantined, summary.inserted) == (
        3384,
        292,
        13,
        3079,
    )
    assert summary.inserted == 3384 - 292 - 13

    conflicts = repeats[~same]
    rejects = quarantine(sf_db, summary.batch_id)
    assert [r["row_number"] for r in rejects] == conflicts["row_number"].tolist()
    for reject, (_, row) in zip(rejects, conflicts.iterrows(), strict=True):
        first_row = int(firsts.loc[row["IncidntNum"], "row_number"])
        (reason,) = reject["reasons"]
        assert reason["key"] == "layers.conflicting_duplicate"
        assert f"第 {first_row} 行" in reason["zh"]
        assert f"row {first_row}" in reason["en"]
        assert reject["source_id"] == str(row["IncidntNum"])
        assert reject["raw"]["IncidntNum"] == row["IncidntNum"]

    stored = layers.read("incidents", db=sf_db).query("source == 'sf_cartheft'")
    assert len(stored) == 3079
    assert set(stored["category_code"]) == {"010303"}  # VEHICLE THEFT → 盗窃机动车
    assert stored["two_robberies_one_theft"].all()
    # The first of two conflicting rows is the one kept.
    kept = stored.set_index("source_id").loc[conflicts["IncidntNum"].astype(str).unique()]
    want = firsts.loc[conflicts["IncidntNum"].unique(), "Descript"].to_numpy()
    assert (kept["description"].to_numpy() == want).all()

    again = layers.import_file("incidents", SF / "sf_cartheft.shp", db=sf_db)
    assert (again.inserted, again.unchanged, again.merged, again.quarantined) == (0, 3079, 292, 13)


def test_sf_incidents_are_robbery_and_theft(sf_db: Database) -> None:
    """Both SF files together: the 两抢一盗 group and its members, by name and by code."""
    everything = layers.read("incidents", db=sf_db)
    assert len(everything) == 2046 + 3079
    assert len(layers.read("incidents", categories="两抢一盗", db=sf_db)) == 2046 + 3079
    assert len(layers.read("incidents", categories=["抢劫"], db=sf_db)) == 2046
    assert len(layers.read("incidents", categories=["盗窃"], db=sf_db)) == 3079  # with children
    assert len(layers.read("incidents", categories=["010303"], db=sf_db)) == 3079
    assert layers.read("incidents", categories=["诈骗"], db=sf_db).empty
    assert isinstance(everything, gpd.GeoDataFrame)
