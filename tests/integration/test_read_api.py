"""``layers.read`` and ``layers.counts`` on a small planted deployment.

Two villages of township 330106001 side by side (120.10–120.11E and 120.11–120.12E, 30.20–30.21N),
one 综合 grid each, and incidents, cameras, places, staff, a road and a patrol team whose
village, time and category are known, so every filter has an exact expected answer.
"""

from __future__ import annotations

from collections.abc import Callable

import geopandas as gpd
import pandas as pd
import pytest
import shapely

import layers
from gis.db import Database
from gis.errors import ValidationError

TOWNSHIP = "330106001"
V1, V2 = "330106001001", "330106001002"
BOX1 = shapely.box(120.10, 30.20, 120.11, 30.21)
BOX2 = shapely.box(120.11, 30.20, 120.12, 30.21)
TZ = "Asia/Shanghai"

# source_id: (village, occurred_from, category as written in a ledger, lon, lat)
INCIDENTS = {
    "A": (V1, "2026-10-01 08:00", "盗窃", 120.101, 30.201),
    "B": (V1, "2026-10-05", "入室盗窃", 120.102, 30.202),
    "C": (V2, "2026-10-10 20:00", "抢劫", 120.111, 30.201),
    "D": (V2, "2026-11-01 00:00", "诈骗", 120.112, 30.202),
    "E": (V1, "2026-10-31 23:59", "打架", 120.103, 30.203),
    "F": (None, "2026-10-15 12:00", "抢夺", 120.15, 30.25),  # in no village
}


def ids(frame: pd.DataFrame) -> list[str]:
    return sorted(frame["source_id"])


@pytest.fixture(scope="module")
def planted(db: Database) -> Database:
    def frame(rows: dict[str, list], geometry: list | None = None) -> gpd.GeoDataFrame:
        if geometry is None:
            return pd.DataFrame(rows)
        return gpd.GeoDataFrame(rows, geometry=geometry, crs="EPSG:4490")

    units = frame(
        {
            "code": ["330106", TOWNSHIP, V1, V2],
            "name": ["西湖区", "转塘街道", "一村", "二村"],
            "level": ["county", "township", "village", "village"],
            "parent_code": [None, "330106", TOWNSHIP, TOWNSHIP],
        },
        [BOX1.union(BOX2).buffer(0.01), BOX1.union(BOX2).buffer(0.005), BOX1, BOX2],
    )
    grids = frame(
        {
            "code": [V1 + "001", V2 + "001"],
            "name": ["一村一格", "二村一格"],
            "households": [120, 80],
        },
        [BOX1, BOX2],
    )
    staff = frame(
        {
            "grid_code": [V1 + "001", V2 + "001"],
            "name": ["张三", "李四"],
            "role": ["网格长", "社区民警"],
            "phone": ["13912345678", "13800001111"],
        }
    )
    cameras = frame(
        {
            "source_id": ["cam1", "cam2"],
            "name": ["一村村口", "二村路口"],
            "status": ["在线", "故障"],
        },
        [shapely.Point(120.105, 30.205), shapely.Point(120.115, 30.205)],
    )
    places = frame(
        {
            "source_id": ["p1", "p2"],
            "name": ["一村小学", "二村农贸市场"],
            "kind": ["小学", "market"],
        },
        [shapely.Point(120.104, 30.206), shapely.box(120.113, 30.203, 120.114, 30.204)],
    )
    incidents = frame(
        {
            "source_id": list(INCIDENTS),
            "occurred_from": [v[1] for v in INCIDENTS.values()],
            "category": [v[2] for v in INCIDENTS.values()],
        },
        [shapely.Point(v[3], v[4]) for v in INCIDENTS.values()],
    )
    roads = frame(
        {"source_id": ["r1"], "name": ["龙坞路"], "kind": ["secondary"], "oneway": ["否"]},
        [shapely.LineString([(120.10, 30.205), (120.12, 30.205)])],
    )
    teams = frame({"name": ["转塘巡逻一队"], "members": [4], "area_code": [TOWNSHIP]})
    for layer, data in [
        ("admin_units", units),
        ("grids", grids),
        ("grid_staff", staff),
        ("cameras", cameras),
        ("places", places),
        ("incidents", incidents),
        ("roads", roads),
        ("patrol_teams", teams),
    ]:
        summary = layers.import_frame(layer, data, source="planted", db=db)
        assert (summary.inserted, summary.quarantined) == (len(data), 0), (layer, summary)
    return db


@pytest.mark.parametrize(
    ("layer", "rows"),
    [
        ("admin_units", 4),
        ("grids", 2),
        ("cameras", 2),
        ("places", 2),
        ("incidents", 6),
        ("roads", 1),
    ],
)
def test_every_spatial_layer_reads_as_a_geodataframe_in_cgcs2000(
    planted: Database, layer: str, rows: int
) -> None:
    frame = layers.read(layer, db=planted)
    assert isinstance(frame, gpd.GeoDataFrame)
    assert frame.crs is not None and frame.crs.to_epsg() == 4490
    assert frame.geometry.name == "geometry"
    assert len(frame) == rows
    assert frame.geometry.notna().all() and frame.is_valid.all()
    assert "wkb" not in frame.columns and "srid" not in frame.columns


def test_tables_without_geometry_read_as_dataframes(planted: Database) -> None:
    staff = layers.read("grid_staff", db=planted)
    assert not isinstance(staff, gpd.GeoDataFrame)
    assert set(zip(staff["grid_code"], staff["name"], staff["role"], strict=True)) == {
        (V1 + "001", "张三", "网格长"),
        (V2 + "001", "李四", "社区民警"),
    }
    teams = layers.read("patrol_teams", db=planted)
    assert list(teams["name"]) == ["转塘巡逻一队"] and list(teams["members"]) == [4]


def test_area_scope(planted: Database) -> None:
    assert ids(layers.read("incidents", db=planted)) == list("ABCDEF")
    assert ids(layers.read("incidents", area="", db=planted)) == list("ABCDEF")
    assert ids(layers.read("incidents", area=TOWNSHIP, db=planted)) == list("ABCDE")
    assert ids(layers.read("incidents", area=V1, db=planted)) == ["A", "B", "E"]
    assert ids(layers.read("incidents", area=V2, db=planted)) == ["C", "D"]
    assert layers.read("incidents", area="110101", db=planted).empty

    # Areas were assigned at ingest: village, grid and H3 cells.
    incidents = layers.read("incidents", db=planted).set_index("source_id")
    for key, (village, *_rest) in INCIDENTS.items():
        found = incidents.loc[key, "village_code"]
        assert found == village if village else pd.isna(found)
    assert incidents.loc["A", "grid_code"] == V1 + "001"
    assert pd.isna(incidents.loc["F", "grid_code"])
    assert (incidents[["h3_r7", "h3_r9", "h3_r10"]] > 0).all().all()

    cameras = layers.read("cameras", area=V1, db=planted)
    assert list(cameras["source_id"]) == ["cam1"] and list(cameras["grid_code"]) == [V1 + "001"]
    assert list(layers.read("cameras", area=V2, db=planted)["status"]) == ["fault"]
    assert list(layers.read("places", area=V2, db=planted)["source_id"]) == ["p2"]
    assert list(layers.read("grids", area=V2, db=planted)["code"]) == [V2 + "001"]
    assert sorted(layers.read("admin_units", area=TOWNSHIP, db=planted)["code"]) == [
        TOWNSHIP,
        V1,
        V2,
    ]
    assert list(layers.read("grid_staff", area=V1, db=planted)["name"]) == ["张三"]
    assert list(layers.read("patrol_teams", area=TOWNSHIP, db=planted)["name"]) == ["转塘巡逻一队"]


def test_time_range_is_half_open_in_the_deployment_time_zone(planted: Database) -> None:
    october = layers.read("incidents", start="2026-10-01", end="2026-11-01", db=planted)
    assert ids(october) == list("ABCEF")  # D at 2026-11-01 00:00 is November's
    assert ids(layers.read("incidents", start="2026-11-01", db=planted)) == ["D"]
    assert ids(layers.read("incidents", end="2026-10-05", db=planted)) == ["A"]
    assert ids(layers.read("incidents", start="2026-10-05", end="2026-10-06", db=planted)) == ["B"]
    # An aware bound is taken as given: 2026-10-01 00:00 UTC is 08:00 in Shanghai.
    after = layers.read(
        "incidents", start=pd.Timestamp("2026-10-01 00:00:01", tz="UTC"), db=planted
    )
    assert "A" not in ids(after) and "B" in ids(after)

    frame = october.set_index("source_id")
    assert str(frame["occurred_from"].dt.tz) == TZ
    assert frame.loc["B", "occurred_to"] == pd.Timestamp("2026-10-06", tz=TZ)  # whole day
    assert pd.isna(frame.loc["A", "occurred_to"])


def test_categories_and_the_two_robberies_one_theft_group(planted: Database) -> None:
    group = layers.read("incidents", categories=["两抢一盗"], db=planted)
    assert ids(group) == ["A", "B", "C", "F"]
    assert group["two_robberies_one_theft"].all()
    assert ids(layers.read("incidents", categories="两抢一盗", db=planted)) == ["A", "B", "C", "F"]
    assert ids(layers.read("incidents", categories=["盗窃"], db=planted)) == [
        "A",
        "B",
    ]  # + children
    assert ids(layers.read("incidents", categories=["入室盗窃"], db=planted)) == ["B"]
    assert ids(layers.read("incidents", categories=["0104", "0202"], db=planted)) == ["D", "E"]
    assert ids(layers.read("incidents", categories=["robbery"], db=planted)) == ["C"]
    codes = layers.read("incidents", db=planted).set_index("source_id")["category_code"]
    assert codes.to_dict() == {
        "A": "0103",
        "B": "010301",
        "C": "0101",
        "D": "0104",
        "E": "0202",
        "F": "0102",
    }
    together = layers.read(
        "incidents",
        area=V1,
        start="2026-10-01",
        end="2026-11-01",
        categories="两抢一盗",
        db=planted,
    )
    assert ids(together) == ["A", "B"]
    with pytest.raises(ValidationError):
        layers.read("incidents", categories=["没有这种案件"], db=planted)


def test_places_by_kind(planted: Database) -> None:
    assert list(layers.read("places", kinds=["school"], db=planted)["name"]) == ["一村小学"]
    markets = layers.read("places", kinds=["market"], db=planted)
    assert list(markets.geom_type) == ["Polygon"]
    assert len(layers.read("places", kinds=["school", "market"], db=planted)) == 2


def test_grid_staff_phones_can_be_masked(planted: Database) -> None:
    plain = layers.read("grid_staff", area=V1, db=planted)
    masked = layers.read("grid_staff", area=V1, db=planted, mask_phones=True)
    assert list(plain["phone"]) == ["13912345678"]
    assert masked["phone"].iloc[0] != "13912345678"
    assert masked["phone"].iloc[0].startswith("139") and masked["phone"].iloc[0].endswith("5678")


def test_counts(planted: Database) -> None:
    assert layers.counts(db=planted) == {
        "admin_units": 4,
        "grids": 2,
        "grid_staff": 2,
        "cameras": 2,
        "places": 2,
        "addresses": 0,
        "incidents": 6,
        "roads": 1,
        "patrol_teams": 1,
        "quarantine": 0,
    }
    village = layers.counts(area=V1, db=planted)
    assert {k: village[k] for k in ("admin_units", "grids", "grid_staff", "cameras", "places")} == {
        "admin_units": 1,
        "grids": 1,
        "grid_staff": 1,
        "cameras": 1,
        "places": 1,
    }
    assert village["incidents"] == 3


def test_unknown_layer_is_a_clear_error(planted: Database) -> None:
    with pytest.raises(ValidationError) as info:
        layers.read("hotspotz", db=planted)
    assert "hotspotz" in str(info.value) and "incidents" in str(info.value)


def test_standard_addresses_import_and_read(make_database: Callable[..., Database]) -> None:
    """The demo county's standard-address table lands in PostGIS with its levels and cells."""
    from layers.demo import build_demo_county

    db = make_database("addresses")
    table = build_demo_county(small=True).addresses.rename(columns={"group": "group_name"})
    options = {"source": "demo_addresses", "crs": "EPSG:4490", "db": db}
    summary = layers.import_frame("addresses", table, **options)
    assert summary.inserted == len(table) and summary.quarantined == 0
    again = layers.import_frame("addresses", table, **options)
    assert again.inserted == 0 and again.unchanged == len(table)
    read = layers.read("addresses", db=db)
    assert len(read) >= len(table)
    mine = read[read["source"] == "demo_addresses"].set_index("address")
    first = table.iloc[0]
    assert mine.loc[first["address"], "level"] == first["level"]
    assert mine.loc[first["address"]].geometry.x == pytest.approx(first["lon"], abs=1e-9)
    assert (mine["h3_r10"] != 0).all()


def test_incident_counts_are_counted_in_the_database(planted: Database) -> None:
    """The same numbers as counting the rows that read() returns, for every filter."""
    for options in ({}, {"area": V1}, {"categories": "两抢一盗"}, {"start": "2026-10-02"}):
        rows = layers.read("incidents", db=planted, **options)
        expected = rows["grid_code"].value_counts(dropna=False).to_dict()
        expected = {(None if pd.isna(k) else k): int(v) for k, v in expected.items()}
        assert layers.incident_counts(db=planted, **options) == expected
