"""Derived layers on a real database against planted truth: the small demo county and real cities.

The truth comes from the demo county's plants (``layers/demo/_patterns.py``, written out by
``layers/demo/truth.py``): a market theft hotspot, two school-snatching plants, a near-repeat
burglary cluster in an urban village, an emerging station-theft hotspot and a fading KTV fight
hotspot. The real data (tests/data/SOURCES.md) are run end to end, not tuned to.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely

import layers
from gis.crs import local_metric_crs, transform_points
from gis.db import Database
from gis.errors import ValidationError
from layers.demo import DEMO_SOURCE, DemoCounty, build_demo_county
from layers.demo.loading import import_demo_county

DATA = Path(__file__).resolve().parents[1] / "data"
COUNTY = "990101"


@pytest.fixture(scope="module")
def county() -> DemoCounty:
    return build_demo_county(small=True)


@pytest.fixture(scope="module")
def demo(db: Database, county: DemoCounty) -> Database:
    import_demo_county(county, source=DEMO_SOURCE, db=db)
    return db


def _near(cells: pd.DataFrame, lon: float, lat: float, radius_m: float) -> np.ndarray:
    """Cells whose centroid lies within ``radius_m`` metres of (lon, lat)."""
    crs = local_metric_crs([lon], [lat])
    centres = cells.geometry.to_crs(crs).centroid
    cx, cy = transform_points([lon], [lat], src=4490, dst=crs)
    return np.hypot(centres.x.to_numpy() - cx[0], centres.y.to_numpy() - cy[0]) <= radius_m


# --- hot spots --------------------------------------------------------------------------------


def test_planted_hotspots_are_found_at_fdr_5(demo: Database, county: DemoCounty) -> None:
    # Each plant is looked for in its own categories and months on 150 m cells (Gi* with the
    # eight cells around, FDR 5 %): found = a significant hot cell (Gi_Bin >= 2) within the
    # plant's radius plus one cell of its centre.
    found = {}
    for plant in county.truth.patterns:
        run = layers.refresh_hotspots(
            area=COUNTY,
            start=plant["start"],
            end=plant["end"],
            categories=plant["categories"],
            unit="fishnet",
            cell_size_m=150,
            db=demo,
        )
        cells = layers.read_hotspot_cells(run.id, db=demo)
        assert len(cells) == run.summary["cells"] and cells.crs.to_epsg() == 4490
        near = _near(cells, plant["centre_lon"], plant["centre_lat"], plant["radius_m"] + 150)
        found[plant["name"]] = bool(((cells["bin"] >= 2).to_numpy() & near).any())
    assert len(found) >= 5
    assert sum(found.values()) / len(found) >= 0.9, found

    stored = layers.read_run(run.id, db=demo)
    assert stored.kind == "hotspots" and stored.params["cell_size_m"] == 150
    assert stored.params["band_m"] == 225
    assert any("Gi*" in entry["en"] for entry in stored.log)
    assert all(entry["zh"] and entry["en"] for entry in stored.log)


def test_hotspots_on_grids_h3_and_optimised(demo: Database, county: DemoCounty) -> None:
    market = county.truth.by_name("market_evening_theft")
    grid = layers.refresh_hotspots(area=COUNTY, categories=["两抢一盗"], unit="grid", db=demo)
    cells = layers.read_hotspot_cells(grid.id, db=demo)
    tiling = county.grids[county.grids["kind"] == "综合"]
    assert sorted(cells["cell_id"]) == sorted(tiling["code"])
    centre = shapely.Point(market["centre_lon"], market["centre_lat"])
    home = cells[cells.contains(centre)].iloc[0]
    # The market's grid holds the most thefts and its z is high (about 2.3); with 40 grids its
    # eight quiet neighbours keep it below the FDR cut-off, which is what Gi* should say.
    assert home["count"] == cells["count"].max() and home["z"] > 1.96
    assert grid.summary["top"][0]["cell_id"] in set(cells["cell_id"])

    roads = layers.refresh_hotspots(area=COUNTY, categories="两抢一盗", unit="segment", db=demo)
    assert roads.summary["cells"] == len(county.roads) and roads.params["tolerance_m"] == 50
    assert any(entry["key"] == "analyses.log_unit_segment" for entry in roads.log)

    h3_run = layers.refresh_hotspots(area=COUNTY, categories="两抢一盗", unit="h3", db=demo)
    assert h3_run.summary["hot"] > 0
    assert h3_run.params["resolution"] == 9

    optimised = layers.refresh_hotspots(
        area=COUNTY, categories=["两抢一盗"], optimized=True, db=demo
    )
    keys = [entry["key"] for entry in optimised.log]
    assert "analysis.ohsa_log_cell_size" in keys and any("band" in k for k in keys)
    assert optimised.params["unit"] == "fishnet" and optimised.params["band_m"] > 0
    assert optimised.summary["hot"] > 0

    latest = layers.latest_run("hotspots", area="990101001", db=demo)
    assert latest is not None and latest.id == optimised.id  # a county run covers a township
    runs = layers.list_runs(kind="hotspots", db=demo)
    assert runs["id"].iloc[0] == optimised.id


def test_too_little_data_is_refused_with_a_message(demo: Database) -> None:
    with pytest.raises(ValidationError) as info:
        layers.refresh_hotspots(
            area=COUNTY, start="2025-01-01", end="2025-01-01", categories=["诈骗"], db=demo
        )
    assert "至少" in info.value.zh and "at least" in info.value.en
    with pytest.raises(ValidationError, match="unit"):
        layers.refresh_hotspots(area=COUNTY, unit="hexagon", db=demo)


# --- emerging ---------------------------------------------------------------------------------


def test_emerging_and_fading_plants_get_their_patterns(demo: Database, county: DemoCounty) -> None:
    # As tests/unit/test_emerging.py, through the database: 300 m cells with incidents.
    station = county.truth.by_name("emerging_station_theft")
    run = layers.refresh_emerging(
        area=COUNTY,
        end="2026-10-31",
        steps=52,
        step="week",
        categories=["010302"],
        unit="fishnet",
        cell_size_m=300,
        db=demo,
    )
    cells = layers.read_hotspot_cells(run.id, db=demo)
    here = cells[_near(cells, station["centre_lon"], station["centre_lat"], 150)]
    assert "consecutive_hot" in set(here["pattern"]), here
    assert run.summary["patterns"]["consecutive_hot"] >= 1

    ktv = county.truth.by_name("fading_entertainment_fights")
    run = layers.refresh_emerging(
        area=COUNTY,
        end="2026-03-31",
        steps=17,
        step="month",
        categories=["0202", "0106"],
        unit="fishnet",
        cell_size_m=300,
        db=demo,
    )
    cells = layers.read_hotspot_cells(run.id, db=demo)
    here = cells[_near(cells, ktv["centre_lon"], ktv["centre_lat"], 150)]
    assert "historical_hot" in set(here["pattern"]), here


# --- near repeat, profile, clusters ------------------------------------------------------------


def test_near_repeat_plant_is_significant_and_background_is_not(
    demo: Database, county: DemoCounty
) -> None:
    plant = county.truth.by_name("urban_village_burglary")
    village = county.admin_units.set_index("name").loc[plant["village_name"], "code"]
    run = layers.refresh_near_repeat(
        area=village, categories=["010301"], permutations=99, seed=2026, db=demo
    )
    result = run.result
    assert result is not None
    assert result["significant"][0][0]  # 0–100 m × 0–7 days
    assert result["ratio"][0][0] > 2
    assert result["p"][0][0] == pytest.approx(0.01)
    assert "含0, 不含100" in result["distance_labels"]["zh"][0]
    # the townships without the plant: the burglaries there show no near repeat
    for township in ("990101002", "990101003"):
        background = layers.refresh_near_repeat(
            area=township, categories=["010301"], permutations=99, seed=2026, db=demo
        )
        assert background.result is not None
        assert not np.asarray(background.result["significant"])[:2, :2].any()


def test_profile_finds_the_school_snatching_band(demo: Database) -> None:
    run = layers.refresh_profile(area=COUNTY, categories=["0102"], db=demo)
    assert run.result is not None
    table = np.asarray(run.result["table"])
    assert table.shape == (7, 24)
    peak = run.result["bands"][0]
    assert peak["days"] == [0, 1, 2, 3, 4] and (peak["start_hour"], peak["end_hour"]) == (16, 18)
    assert "16:00" in peak["zh"] and "Mon" in peak["en"]


def test_clusters_are_polygons_with_profiles(demo: Database, county: DemoCounty) -> None:
    market = county.truth.by_name("market_evening_theft")
    run = layers.refresh_clusters(
        area=COUNTY, categories=["0103"], method="dbscan", eps_m=100, min_samples=15, db=demo
    )
    clusters = layers.read_clusters(run.id, db=demo)
    assert len(clusters) == run.summary["clusters"] >= 1
    centre = shapely.Point(market["centre_lon"], market["centre_lat"])
    home = clusters[clusters.intersects(centre.buffer(0.001))]
    assert len(home) >= 1
    biggest = home.sort_values("n").iloc[-1]
    assert sum(biggest["profile"]["hours"]) == biggest["n"]
    assert 18 <= biggest["profile"]["peak_hour"] <= 21  # the plant's evening hours
    assert set(biggest["categories"]) <= set(county.incidents["category"])


# --- key areas --------------------------------------------------------------------------------


def test_school_plant_is_a_key_area_and_a_refresh_updates_it(
    demo: Database, county: DemoCounty
) -> None:
    start, end = "2024-11-01", "2026-10-31"
    first = layers.refresh_key_areas(area=COUNTY, start=start, end=end, db=demo)
    register = layers.read_key_areas(area=COUNTY, db=demo)
    assert first.summary["inserted"] == len(register) == first.summary["found"] > 0
    schools = register[register["rule"] == "school_surroundings"]
    for name in ("school_snatching_1", "school_snatching_2"):
        plant = county.truth.by_name(name)
        mine = schools[
            schools["evidence"].map(lambda e: e["place_source_id"]) == plant["place_source_id"]
        ]
        assert len(mine) == 1, name
        assert mine["name"].iloc[0] == plant["place_name"]
        assert mine["evidence"].iloc[0]["q"] < 0.05
        assert mine["status"].iloc[0] == "found"
        assert plant["place_name"] in mine["reason_zh"].iloc[0]
    assert set(register["rule"]) >= {"school_surroundings", "hot_cells"}

    again = layers.refresh_key_areas(area=COUNTY, start=start, end=end, db=demo)
    assert again.summary["inserted"] == 0 and again.summary["updated"] == len(register)
    after = layers.read_key_areas(area=COUNTY, db=demo)
    assert sorted(after["id"]) == sorted(register["id"])
    assert (after["run_id"] == again.id).all()


def test_key_area_workflow(demo: Database) -> None:
    register = layers.read_key_areas(area=COUNTY, db=demo)
    if register.empty:
        layers.refresh_key_areas(area=COUNTY, db=demo)
        register = layers.read_key_areas(area=COUNTY, db=demo)
    key = int(register["id"].iloc[0])
    move = layers.transition_key_area

    with pytest.raises(ValidationError) as info:  # listing needs a deadline and a unit
        move(key, to_status="listed", deadline="2026-12-31", db=demo)
    assert "责任单位" in info.value.zh
    with pytest.raises(ValidationError, match="remediating"):  # no skipping
        move(key, to_status="delisted", db=demo)
    with pytest.raises(ValidationError):
        move(key, to_status="closed", db=demo)

    past = (date.today() - timedelta(days=10)).isoformat()
    move(
        key,
        to_status="listed",
        deadline=past,
        responsible_unit="城关派出所",
        actor="centre",
        db=demo,
    )
    row = layers.read_key_areas(area=COUNTY, status="listed", db=demo).set_index("id").loc[key]
    assert row["overdue"] and row["responsible_unit"] == "城关派出所"
    assert layers.kpis(area=COUNTY, month="2026-10", db=demo)["overdue_key_areas"] >= 1
    with pytest.raises(ValidationError, match="found"):  # no way back
        move(key, to_status="found", db=demo)

    move(
        key, to_status="listed", deadline="2099-12-31", note="延期", db=demo
    )  # same status: update
    move(key, to_status="remediating", note="整治开始", db=demo)
    move(key, to_status="delisted", note="验收通过", db=demo)
    row = layers.read_key_areas(area=COUNTY, db=demo).set_index("id").loc[key]
    assert row["status"] == "delisted" and not row["overdue"]
    with pytest.raises(ValidationError) as closed:
        move(key, to_status="delisted", db=demo)
    assert "摘牌" in closed.value.zh

    history = layers.key_area_history(key, db=demo)
    assert list(history["to_status"]) == ["found", "listed", "listed", "remediating", "delisted"]
    assert list(history["from_status"].fillna("-")) == [
        "-",
        "found",
        "listed",
        "listed",
        "remediating",
    ]
    assert history["actor"].iloc[1] == "centre"
    assert history["deadline"].iloc[2] == date(2099, 12, 31)
    assert history["note"].iloc[-1] == "验收通过"


# --- risk grades ------------------------------------------------------------------------------


def test_risk_grades_for_every_unit_and_month(demo: Database, county: DemoCounty) -> None:
    run = layers.refresh_risk(area=COUNTY, db=demo)
    months = pd.period_range("2024-11", "2026-10", freq="M")
    assert run.summary["months"] == ["2024-11", "2026-10"]
    assert [m.strftime("%Y-%m") for m in layers.risk_months(db=demo)] == [str(m) for m in months]
    admin = county.admin_units
    expected = {
        "grid": set(county.grids["code"]),
        "village": set(admin.loc[admin["level"] == "village", "code"]),
        "township": set(admin.loc[admin["level"] == "township", "code"]),
    }
    for level, codes in expected.items():
        for month in (months[0], months[-1]):
            grades = layers.read_risk_grades(area=COUNTY, month=str(month), level=level, db=demo)
            assert set(grades["area_code"]) == codes, (level, month)
            assert grades["grade"].isin(["blue", "yellow", "orange", "red"]).all()
            assert grades.crs.to_epsg() == 4490 and grades.geometry.notna().all()

    market = county.truth.by_name("market_evening_theft")
    centre = shapely.Point(market["centre_lon"], market["centre_lat"])
    tiling = county.grids[county.grids["kind"] == "综合"]
    code = tiling.loc[tiling.contains(centre), "code"].iloc[0]
    for month in months:
        grades = layers.read_risk_grades(area=code[:12], month=str(month), db=demo)
        row = grades.set_index("area_code").loc[code]
        assert row["grade"] in ("orange", "red"), (month, row["grade"])
    factors = row["factors"]
    assert set(factors) == {
        "two_robberies_one_theft",
        "disputes",
        "other_crime",
        "trend",
        "hotspot_share",
        "camera_offline",
    }
    assert sum(f["contribution"] for f in factors.values()) == pytest.approx(row["score"], abs=1e-4)
    assert row["explanation"]["zh"] and row["explanation"]["en"]

    # a second refresh of some months replaces their grades, it does not add to them
    again = layers.refresh_risk(area=COUNTY, months=["2026-10"], db=demo)
    assert again.params["months"] == ["2026-10"]
    grades = layers.read_risk_grades(area=COUNTY, month="2026-10", db=demo)
    assert len(grades) == len(county.grids) and (grades["run_id"] == again.id).all()

    kpi = layers.kpis(area=COUNTY, month="2026-10", db=demo)
    inc = county.incidents
    local = inc["occurred_from"].dt.tz_convert("Asia/Shanghai")
    in_month = (local >= pd.Timestamp("2026-10-01", tz="Asia/Shanghai")) & (
        local < pd.Timestamp("2026-11-01", tz="Asia/Shanghai")
    )
    assert kpi["incidents"] == int(in_month.sum())
    assert sum(kpi["grids_by_grade"].values()) == len(county.grids)
    assert kpi["cameras"] == len(county.cameras)
    assert kpi["cameras_offline"] == int((county.cameras["status"] != "online").sum())


# --- backtest ---------------------------------------------------------------------------------


def test_backtest_on_the_demo_county(demo: Database) -> None:
    run = layers.run_backtest(area=COUNTY, windows=3, unit="h3", categories=["两抢一盗"], db=demo)
    assert set(run.summary["pai_1"]) == {"naive", "kde", "gi_star", "forecast"}
    assert all(np.isfinite(v) for v in run.summary["pai_5"].values())
    assert run.result is not None and "PAI" in run.result["table"]["en"]


# --- the real cities --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def chicago(
    make_database: Callable[..., Database], tmp_path_factory: pytest.TempPathFactory
) -> Database:
    # The deployment time zone stays Asia/Shanghai, as in test_import_real.py (wall-clock times
    # are read as local times of the deployment).
    database = make_database("chicago")
    mapping = tmp_path_factory.mktemp("chicago") / "carjackings.toml"
    mapping.write_text('Descr_tion = "category"\n', encoding="utf-8")
    layers.import_file(
        "incidents", DATA / "chicago" / "Chi_Carjackings.geojson", mapping=mapping, db=database
    )
    return database


@pytest.fixture(scope="module")
def san_francisco(make_database: Callable[..., Database]) -> Database:
    database = make_database("sf_analyses", timezone="America/Los_Angeles")
    layers.import_file("incidents", DATA / "sanfrancisco" / "sf_robbery.shp", db=database)
    return database


@pytest.mark.parametrize("city", ["chicago", "san_francisco"])
def test_real_cities_end_to_end(city: str, request: pytest.FixtureRequest) -> None:
    db: Database = request.getfixturevalue(city)
    hot = layers.refresh_hotspots(unit="h3", resolution=9, db=db)
    assert hot.summary["cells"] > 100 and hot.summary["hot"] > 0
    assert layers.read_hotspot_cells(hot.id, db=db)["count"].sum() == hot.summary["incidents"]
    optimised = layers.refresh_hotspots(optimized=True, db=db)
    assert optimised.summary["cells"] >= 30
    clusters = layers.refresh_clusters(eps_m=250, min_samples=8, db=db)
    assert len(layers.read_clusters(clusters.id, db=db)) == clusters.summary["clusters"]
    knox = layers.refresh_near_repeat(permutations=19, db=db)
    assert knox.result is not None and knox.summary["incidents"] > 1000
    profile = layers.refresh_profile(db=db)
    assert np.asarray(profile.result["table"]).sum() == pytest.approx(profile.summary["incidents"])
    emerging = layers.refresh_emerging(steps=10, step="week", db=db)
    assert sum(emerging.summary["patterns"].values()) == emerging.summary["cells"]
    backtest = layers.run_backtest(unit="h3", windows=3, db=db)
    # reported whatever the result (issue 4): PAI at 1 % and 5 % for every method
    for coverage in ("pai_1", "pai_5"):
        assert set(backtest.summary[coverage]) == {"naive", "kde", "gi_star", "forecast"}
    print(city, json.dumps(backtest.summary, ensure_ascii=False))
