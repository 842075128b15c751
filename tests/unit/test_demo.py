"""The synthetic demo county: determinism, codes, tiling, sizes, planted truth, network.

Golden facts here come from the generator's own specification (the planted truth of the
demo county, DESIGN.md section 9): hours, weekdays, radii and dates of each pattern.
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from geopandas.testing import assert_geodataframe_equal

from gis.messages import catalogue
from layers.demo import DemoCounty, build_demo_county
from layers.demo._base import reading_order
from layers.taxonomy import Taxonomy

METRIC = 4549  # CGCS2000 3-degree Gauss-Kruger CM 120E, where the county lies
FRAMES = ("admin_units", "grids", "cameras", "places", "roads", "incidents")


@pytest.fixture(scope="module")
def small() -> DemoCounty:
    return build_demo_county(small=True)


@pytest.fixture(scope="module")
def full() -> DemoCounty:
    return build_demo_county()


def _metric(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return frame.to_crs(METRIC)


# -- determinism and independent streams ---------------------------------------------------


def test_same_seed_gives_identical_frames(small: DemoCounty) -> None:
    again = build_demo_county(small=True)
    for name in FRAMES:
        assert_geodataframe_equal(getattr(small, name), getattr(again, name))
    for name in ("grid_staff", "patrol_teams", "addresses"):
        pd.testing.assert_frame_equal(getattr(small, name), getattr(again, name))
    assert small.truth.to_json() == again.truth.to_json()


def test_other_seed_gives_other_county(small: DemoCounty) -> None:
    other = build_demo_county(small=True, seed=7)
    assert not small.grids.geometry.geom_equals(other.grids.geometry).all()
    assert not small.incidents["category"].equals(other.incidents["category"])


def test_incident_count_moves_nothing_else(small: DemoCounty) -> None:
    more = build_demo_county(small=True, incidents=6_000)
    assert len(more.incidents) == 6_000
    for name in ("admin_units", "grids", "cameras", "places", "roads"):
        assert_geodataframe_equal(getattr(small, name), getattr(more, name))
    pd.testing.assert_frame_equal(small.grid_staff, more.grid_staff)
    # planted patterns keep their size and place
    for a, b in zip(small.truth.patterns, more.truth.patterns, strict=True):
        assert len(a["incident_ids"]) == len(b["incident_ids"])
        assert (a["centre_lon"], a["centre_lat"]) == (b["centre_lon"], b["centre_lat"])


def test_progress_is_reported() -> None:
    seen: list[tuple[str, float]] = []
    build_demo_county(small=True, progress=lambda m, f: seen.append((m, f)))
    fractions = [f for _, f in seen]
    assert fractions[0] == 0.0 and fractions[-1] == 1.0
    assert fractions == sorted(fractions)
    assert all(m for m, _ in seen)


# -- columns, codes, marks -------------------------------------------------------------------


def test_canonical_columns_and_crs(small: DemoCounty) -> None:
    expected = {
        "admin_units": ["code", "name", "level", "parent_code", "geometry"],
        "grids": ["code", "name", "kind", "village_code", "households", "population", "geometry"],
        "grid_staff": ["grid_code", "name", "role", "phone", "badge"],
        "cameras": [
            "source_id", "camera_code", "name", "kind", "status", "installed_on",
            "heading_deg", "fov_deg", "range_m", "height_m", "geometry",
        ],
        "places": ["source_id", "name", "kind", "address", "geometry"],
        "roads": ["source_id", "name", "kind", "oneway", "geometry"],
        "patrol_teams": ["source_id", "name", "unit", "leader", "phone", "members"],
        "incidents": [
            "source_id", "category", "occurred_from", "occurred_to", "reported_at",
            "address", "geocode_level", "description", "geometry",
        ],
    }  # fmt: skip
    for name, cols in expected.items():
        frame = getattr(small, name)
        assert list(frame.columns) == cols, name
        assert frame.attrs.get("demo") is True
        if isinstance(frame, gpd.GeoDataFrame):
            assert frame.crs.to_epsg() == 4490
    lon, lat = small.admin_units.union_all().centroid.coords[0]
    assert 119.5 < lon < 120.3 and 29.5 < lat < 30.1
    for name in ("grids", "cameras", "places", "roads", "incidents"):
        assert getattr(small, name).geometry.is_valid.all(), name


def test_codes_and_demo_marks(small: DemoCounty) -> None:
    units = small.admin_units
    county = units[units["level"] == "county"].iloc[0]
    assert county["code"] == "990101" and "演示数据" in county["name"]
    towns = units[units["level"] == "township"]
    vills = units[units["level"] == "village"]
    assert towns["code"].str.fullmatch(r"990101\d{3}000").all()
    assert (towns["parent_code"] == "990101").all()
    assert vills["code"].str.fullmatch(r"990101\d{6}").all()
    assert (vills["code"].str[:9] == vills["parent_code"].str[:9]).all()
    grids = small.grids
    assert grids["code"].str.fullmatch(r"99\d{13}").all()
    assert (grids["code"].str[:12] == grids["village_code"]).all()
    assert grids["code"].is_unique
    cams = small.cameras
    assert cams["camera_code"].str.fullmatch(r"990101\d{14}").all()
    assert small.incidents["description"].str.startswith("【演示数据】").all()
    assert small.grid_staff["phone"].str.fullmatch(r"1990000\d{4}").all()
    assert small.addresses["address"].str.startswith("演示省").all()


def test_grids_numbered_west_east_then_north_south(small: DemoCounty) -> None:
    grids = _metric(small.grids[small.grids["kind"] == "综合"])
    vills = _metric(small.admin_units[small.admin_units["level"] == "village"]).set_index("code")
    for v_code, group in grids.groupby("village_code"):
        village = vills.loc[v_code, "geometry"]
        part = group.sort_values("code")
        seqs = part["code"].str[-3:].astype(int).to_numpy()
        assert list(seqs) == list(range(1, len(part) + 1))
        c = part.geometry.centroid
        band = (village.area / len(part)) ** 0.5
        rows = np.floor((village.bounds[3] - c.y.to_numpy()) / band)
        # row by row from the north, west to east within a row
        assert (np.diff(rows) >= 0).all()
        same_row = np.diff(rows) == 0
        assert (np.diff(c.x.to_numpy())[same_row] > 0).all()
        order = reading_order(c.x.to_numpy(), c.y.to_numpy(), band_m=band, top=village.bounds[3])
        assert list(order) == list(range(len(part)))


# -- geometry --------------------------------------------------------------------------------


def _assert_tiles(children: gpd.GeoSeries, parent: shapely.Geometry, *, rel: float = 1e-9) -> None:
    geoms = np.asarray(children, dtype=object)
    union = shapely.union_all(geoms)
    assert abs(union.area - parent.area) <= rel * parent.area
    assert shapely.symmetric_difference(union, parent).area <= rel * parent.area
    assert abs(sum(g.area for g in geoms) - parent.area) <= 1e-7 * parent.area  # no overlaps
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")
    pairs = left < right
    overlap = shapely.area(shapely.intersection(geoms[left[pairs]], geoms[right[pairs]]))
    assert overlap.max(initial=0.0) <= 1e-3  # square metres: touching, not overlapping


def test_tiling(small: DemoCounty) -> None:
    units = _metric(small.admin_units)
    county = units[units["level"] == "county"].geometry.iloc[0]
    towns = units[units["level"] == "township"]
    vills = units[units["level"] == "village"]
    _assert_tiles(towns.geometry, county)
    for t_code, t_geom in zip(towns["code"], towns.geometry, strict=True):
        _assert_tiles(vills[vills["parent_code"] == t_code].geometry, t_geom)
    grids = _metric(small.grids)
    for v_code, v_geom in zip(vills["code"], vills.geometry, strict=True):
        part = grids[(grids["village_code"] == v_code) & (grids["kind"] == "综合")]
        _assert_tiles(part.geometry, v_geom)
    special = grids[grids["kind"] == "专属"]
    assert len(special) >= 1
    v_index = vills.set_index("code")
    for g in special.itertuples():
        assert v_index.loc[g.village_code, "geometry"].buffer(1e-6).contains(g.geometry)


def test_everything_inside_the_county(small: DemoCounty) -> None:
    county = small.admin_units[small.admin_units["level"] == "county"].geometry.iloc[0]
    county = county.buffer(1e-9)
    for name in ("cameras", "places", "incidents"):
        assert getattr(small, name).within(county).all(), name
    addr = small.addresses
    assert shapely.contains_xy(county, addr["lon"], addr["lat"]).all()


def _components(roads: gpd.GeoDataFrame) -> int:
    ends = shapely.get_coordinates(shapely.boundary(np.asarray(roads.geometry, dtype=object)))
    keys = [tuple(np.round(p, 9)) for p in ends]
    parent: dict[tuple[float, ...], tuple[float, ...]] = {k: k for k in keys}

    def find(k: tuple[float, ...]) -> tuple[float, ...]:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    for a, b in zip(keys[0::2], keys[1::2], strict=True):
        parent[find(a)] = find(b)
    return len({find(k) for k in keys})


def test_road_network_is_connected(small: DemoCounty) -> None:
    roads = small.roads
    assert (roads.geometry.geom_type == "LineString").all()
    assert _components(roads) == 1
    assert set(roads["kind"]) >= {"primary", "residential", "unclassified", "service"}


# -- incidents -------------------------------------------------------------------------------


def test_incident_times(small: DemoCounty) -> None:
    inc = small.incidents
    assert str(inc["occurred_from"].dt.tz) == "Asia/Shanghai"
    start = pd.Timestamp("2024-11-01", tz="Asia/Shanghai")
    stop = pd.Timestamp("2026-11-01", tz="Asia/Shanghai")
    for col in ("occurred_from", "occurred_to", "reported_at"):
        assert inc[col].min() >= start and inc[col].max() < stop
    assert (inc["occurred_to"] >= inc["occurred_from"]).all()
    assert (inc["reported_at"] >= inc["occurred_to"]).all()
    tax = Taxonomy.load()
    theft = inc["category"].isin(tax.descendants("0103"))
    assert theft.sum() > 500
    assert (inc.loc[theft, "occurred_to"] > inc.loc[theft, "occurred_from"]).all()
    # overnight burglaries discovered in the morning exist
    burg = inc[inc["category"] == "010301"]
    overnight = (burg["occurred_from"].dt.hour >= 21) & (burg["occurred_to"].dt.hour.between(6, 9))
    assert overnight.sum() > 20
    assert inc["source_id"].is_unique
    # weekly and seasonal cycles: public order peaks at weekends
    fights = inc[inc["category"].isin(["0202", "0203", "0207"])]
    weekend = fights["occurred_from"].dt.day_of_week >= 5
    assert weekend.mean() > 2 / 7


def test_incident_categories_and_addresses(small: DemoCounty) -> None:
    inc = small.incidents
    tax = Taxonomy.load()
    assert inc["category"].isin(tax.codes).all()
    assert inc["category"].nunique() > 30
    levels = inc["geocode_level"].dropna()
    assert set(levels) == {"door", "group", "village"}
    with_addr = inc["address"].notna()
    assert 0.3 < with_addr.mean() < 0.7
    assert (inc["geocode_level"].notna() == with_addr).all()
    door = inc[inc["geocode_level"] == "door"]
    assert door["address"].str.endswith("号").all()
    addr = small.addresses
    assert set(addr["level"]) == {"door", "group", "village", "township"}
    assert addr.loc[addr["level"] == "door", "address"].is_unique


def _planted(county: DemoCounty, name: str) -> tuple[dict, gpd.GeoDataFrame]:
    p = county.truth.by_name(name)
    inc = county.incidents.set_index("source_id").loc[p["incident_ids"]]
    return p, gpd.GeoDataFrame(inc, geometry="geometry", crs=4490)


@pytest.mark.parametrize(
    "name",
    [
        "market_evening_theft",
        "school_snatching_1",
        "school_snatching_2",
        "urban_village_burglary",
        "emerging_station_theft",
        "fading_entertainment_fights",
    ],
)
def test_planted_patterns(small: DemoCounty, name: str) -> None:
    p, inc = _planted(small, name)
    assert len(inc) >= 50
    assert set(inc["category"]) <= set(p["categories"])
    t0 = inc["occurred_from"]
    assert set(t0.dt.hour) <= set(p["hours"])
    assert set(t0.dt.day_of_week) <= set(p["weekdays"])
    assert t0.dt.date.min() >= pd.Timestamp(p["start"]).date()
    assert t0.dt.date.max() <= pd.Timestamp(p["end"]).date()
    centre = gpd.GeoSeries.from_xy([p["centre_lon"]], [p["centre_lat"]], crs=4490).to_crs(METRIC)
    dist = _metric(inc).distance(centre.iloc[0])
    assert dist.max() <= p["radius_m"] + 0.5
    assert p["description_zh"] and p["description_en"]


def test_planted_specifics(small: DemoCounty) -> None:
    _, market = _planted(small, "market_evening_theft")
    assert set(market["occurred_from"].dt.hour) == {18, 19, 20, 21}
    school, snatch = _planted(small, "school_snatching_1")
    assert set(snatch["occurred_from"].dt.day_of_week) == {0, 1, 2, 3, 4}
    assert school["radius_m"] == 200.0
    assert small.places.set_index("source_id").loc[school["place_source_id"], "kind"] == "school"
    end = pd.Timestamp("2026-10-31")
    emerging, em = _planted(small, "emerging_station_theft")
    assert pd.Timestamp(emerging["start"]) == pd.Timestamp("2026-08-01")
    assert em["occurred_from"].min() >= pd.Timestamp("2026-08-01", tz="Asia/Shanghai")
    fading, fa = _planted(small, "fading_entertainment_fights")
    assert pd.Timestamp(fading["end"]) <= end - pd.DateOffset(months=9)
    assert fa["occurred_from"].max() < pd.Timestamp("2026-02-01", tz="Asia/Shanghai")
    # the burglary cluster repeats near and soon
    near, burg = _planted(small, "urban_village_burglary")
    assert len(near["pairs"]) >= 10
    pts = _metric(burg).geometry
    for first, follow in near["pairs"]:
        assert pts[first].distance(pts[follow]) <= near["near_repeat_m"]
        gap = burg.loc[follow, "occurred_from"] - burg.loc[first, "occurred_from"]
        assert pd.Timedelta(0) < gap <= pd.Timedelta(days=near["near_repeat_days"])


def test_truth_json(small: DemoCounty, tmp_path: Path) -> None:
    path = small.truth.write(tmp_path)
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["demo"] is True and data["end"] == "2026-10-31"
    assert len(data["patterns"]) == 6
    assert json.loads(small.truth.to_json()) == data


def test_too_few_incidents_is_refused() -> None:
    with pytest.raises(ValueError, match="100"):
        build_demo_county(small=True, incidents=100)


def test_demo_messages_have_both_languages() -> None:
    entries = {k: v for k, v in catalogue().items() if k.startswith("demo.")}
    assert len(entries) >= 10
    assert all(v["zh"] and v["en"] for v in entries.values())


def test_other_end_date() -> None:
    county = build_demo_county(small=True, end="2025-06-30", incidents=2_000)
    inc = county.incidents
    assert inc["occurred_from"].min() >= pd.Timestamp("2023-07-01", tz="Asia/Shanghai")
    assert inc["reported_at"].max() < pd.Timestamp("2025-07-01", tz="Asia/Shanghai")


# -- the full county -------------------------------------------------------------------------


@pytest.mark.slow
def test_full_size(full: DemoCounty) -> None:
    units = full.admin_units
    assert (units["level"] == "township").sum() == 4
    assert "城关镇" in set(units["name"])
    n_vill = (units["level"] == "village").sum()
    assert 36 <= n_vill <= 44
    assert units.loc[units["level"] == "village", "name"].str.endswith("社区").sum() >= 8
    comp = full.grids[full.grids["kind"] == "综合"]
    assert 230 <= len(comp) <= 270
    assert comp["households"].between(250, 500).all()
    assert 2.5 < comp["population"].sum() / comp["households"].sum() < 3.1
    assert 320 <= len(full.cameras) <= 380
    bad = (full.cameras["status"] != "online").mean()
    assert 0.03 <= bad <= 0.07
    schools = full.places["kind"].isin(["school", "kindergarten"]).sum()
    assert 50 <= schools <= 70
    assert set(full.places["kind"]) >= {"market", "dock", "warehouse", "hospital", "station"}
    assert 30_000 <= len(full.incidents) <= 60_000
    roles = full.grid_staff.groupby("grid_code")["role"].agg(set)
    assert len(roles) == len(full.grids)
    assert all({"网格长", "专职网格员", "兼职网格员", "社区民警"} <= r for r in roles)
    police = full.grid_staff[full.grid_staff["role"] == "社区民警"]
    assert police.groupby("name")["grid_code"].nunique().max() > 1
    assert _components(full.roads) == 1


@pytest.mark.slow
def test_full_tiling_and_inside(full: DemoCounty) -> None:
    units = _metric(full.admin_units)
    vills = units[units["level"] == "village"]
    grids = _metric(full.grids)
    for v_code, v_geom in zip(vills["code"], vills.geometry, strict=True):
        part = grids[(grids["village_code"] == v_code) & (grids["kind"] == "综合")]
        _assert_tiles(part.geometry, v_geom)
    county = full.admin_units.geometry.iloc[0].buffer(1e-9)
    assert full.incidents.within(county).all()
