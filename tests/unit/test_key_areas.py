"""Key areas: exact Poisson tests, multiple testing, hot-cell merging, the demo county's plants."""

from __future__ import annotations

import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import Point, box

from analysis.key_areas import (
    AREA_COLUMNS,
    HotCells,
    adjust_p,
    key_areas,
    load_rules,
    merge_hot_cells,
    poisson_p,
)
from gis.errors import ValidationError
from layers.taxonomy import default_taxonomy

# CGCS2000 3-degree Gauss-Krüger CM 120°E: the metric CRS gis.crs chooses for these points.
GK = 4549
X0, Y0 = 500_000.0, 3_320_000.0  # about 120.0°E, 30.0°N


def _frame(geoms: list, crs: int = GK, **columns: object) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(columns, geometry=geoms, crs=crs).to_crs(4490)


def _incidents(xy: list[tuple[float, float]], category: str, when: str) -> gpd.GeoDataFrame:
    n = len(xy)
    return _frame(
        [Point(x, y) for x, y in xy],
        category=[category] * n,
        occurred_from=pd.DatetimeIndex([when] * n).tz_localize("Asia/Shanghai"),
        two_robberies_one_theft=[category.startswith(("0101", "0102", "0103"))] * n,
    )


def _rules(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rules.toml"
    path.write_text(text, encoding="utf-8")
    return path


SCHOOL_RULE = """
[test]
alpha = 0.05
correction = "{correction}"
exposure = "{exposure}"
zones = "{zones}"
min_observed = 3
min_ratio = 1.5

[[places]]
code = "school_surroundings"
reason = "key_areas.reason_school"
kinds = ["school"]
distances_m = [50, 100, 200]
prefixes = ["0102"]
"""


def _polygon_area(r: float, segments: int = 64) -> float:
    """Area of the regular polygon shapely draws for a buffer of r (quad_segs=16: 64 sides)."""
    return segments / 2 * r * r * math.sin(2 * math.pi / segments)


def _scene() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame, int]:
    """A 2 km square village, a school at (1500, 1000), 8 snatchings by the school, 12 elsewhere."""
    village = _frame([box(X0, Y0, X0 + 2000, Y0 + 2000)], code=["V1"], name=["测试村"])
    sx, sy = X0 + 1500, Y0 + 1000
    near = [(sx + 30 * math.cos(a), sy + 30 * math.sin(a)) for a in np.linspace(0, 6, 8)]
    far = [(X0 + 100 + 150 * i, Y0 + 1800.0) for i in range(12)]
    incidents = _incidents(near + far, "0102", "2026-03-02 16:30")
    school = _frame([Point(sx, sy)], kind=["school"], name=["测试小学"], source_id=["S1"])
    return village, incidents, school, len(near) + len(far)


def test_poisson_p_is_the_exact_upper_tail() -> None:
    # P(X >= 5 | mu = 1) = 1 - e^-1 (1 + 1 + 1/2 + 1/6 + 1/24)
    expected = 1 - math.exp(-1) * (1 + 1 + 1 / 2 + 1 / 6 + 1 / 24)
    p = poisson_p([5, 0, 2, 0, 1], [1.0, 3.0, 0.0, 0.0, 2.5])
    assert p[0] == pytest.approx(expected, rel=1e-12)
    assert p[1] == 1.0  # nothing observed
    assert p[2] == 0.0  # incidents where none could be expected
    assert p[3] == 1.0
    assert p[4] == pytest.approx(1 - math.exp(-2.5), rel=1e-12)


def test_adjust_p_bh_and_bonferroni() -> None:
    p = [0.01, 0.04, 0.03, 0.20, np.nan]
    q = adjust_p(p, method="bh")
    # sorted 0.01, 0.03, 0.04, 0.20 -> p*m/rank 0.04, 0.06, 0.0533, 0.20 -> running min from the top
    assert q[:4] == pytest.approx([0.04, 0.04 * 4 / 3, 0.04 * 4 / 3, 0.20])
    assert np.isnan(q[4])
    assert adjust_p(p, method="bonferroni")[:4] == pytest.approx([0.04, 0.16, 0.12, 0.80])
    with pytest.raises(ValidationError, match="holm"):
        adjust_p(p, method="holm")


def test_school_zone_area_exposure_exact(tmp_path: Path) -> None:
    village, incidents, school, n = _scene()
    rules = load_rules(
        _rules(tmp_path, SCHOOL_RULE.format(correction="bh", exposure="area", zones="discs"))
    )
    result = key_areas(
        incidents,
        reference=village,
        places=school,
        start="2026-03-01",
        end="2026-03-31",
        rules=rules,
    )
    tests = result.tests.set_index("outer_m")
    for r in (50.0, 100.0, 200.0):
        mu = n * _polygon_area(r) / 2000**2
        assert tests.loc[r, "expected"] == pytest.approx(mu, rel=1e-6)
        assert tests.loc[r, "observed"] == 8
        assert tests.loc[r, "p"] == pytest.approx(poisson_p(8, mu)[()], rel=1e-6)
    # three tests: BH q of the largest p is that p itself; the smallest is 3 × p
    p = tests["p"].sort_values()
    assert tests.loc[p.index[0], "q"] == pytest.approx(3 * p.iloc[0], rel=1e-9)
    assert tests.loc[p.index[-1], "q"] == pytest.approx(p.iloc[-1], rel=1e-9)
    area = result.areas.iloc[0]
    assert result.areas.crs.to_epsg() == 4490
    assert list(result.areas.columns) == [*AREA_COLUMNS, "geometry"]
    assert area["rule"] == "school_surroundings"
    assert area["zone_m"] == "50"  # the most significant zone: all 8 lie within 50 m
    assert area["by_category"] == {"0102": 8}
    assert area["period_start"] == "2026-03-01"
    assert area["period_end"] == "2026-03-31"
    assert "测试小学" in area["reason_zh"]
    assert "测试小学" in area["reason_en"]
    assert "school surroundings" in area["reason_en"]
    assert result.log  # the choices are logged


def test_population_exposure_and_rings(tmp_path: Path) -> None:
    village, incidents, school, n = _scene()
    grids = _frame(
        [box(X0, Y0, X0 + 1000, Y0 + 2000), box(X0 + 1000, Y0, X0 + 2000, Y0 + 2000)],
        population=[900, 100],
    )
    rules = load_rules(
        _rules(
            tmp_path,
            SCHOOL_RULE.format(correction="bonferroni", exposure="population", zones="rings"),
        )
    )
    result = key_areas(
        incidents,
        reference=village,
        population=grids,
        places=school,
        start="2026-03-01",
        end="2026-03-31",
        rules=rules,
    )
    tests = result.tests.set_index("outer_m")
    # the east grid holds 100 of 1,000 residents spread over 2 km²; rings 0-50, 50-100, 100-200
    ring = {
        50.0: _polygon_area(50),
        100.0: _polygon_area(100) - _polygon_area(50),
        200.0: _polygon_area(200) - _polygon_area(100),
    }
    for r, a in ring.items():
        assert tests.loc[r, "expected"] == pytest.approx(n * 100 / 1000 * a / 2_000_000, rel=1e-6)
    assert tests.loc[100.0, "inner_m"] == 50.0
    assert list(tests["observed"]) == [8, 0, 0]
    assert tests.loc[50.0, "q"] == pytest.approx(min(1.0, 3 * tests.loc[50.0, "p"]), rel=1e-9)


def test_other_kinds_near_schools_and_time_filters(tmp_path: Path) -> None:
    village, incidents, school, _ = _scene()
    sx, sy = X0 + 1500, Y0 + 1000
    places = pd.concat(
        [
            school,
            _frame(
                [Point(sx + 150, sy), Point(X0 + 300, Y0 + 300)],
                kind=["internet_cafe", "internet_cafe"],
                name=["近网吧", "远网吧"],
                source_id=["C1", "C2"],
            ),
        ],
        ignore_index=True,
    )
    text = (
        SCHOOL_RULE.format(correction="bh", exposure="area", zones="discs")
        + """
hours = [8]

[[places]]
code = "internet_cafe_near_school"
kinds = ["internet_cafe"]
near_kinds = ["school"]
near_m = 200
distances_m = [100]
group = true
"""
    )
    result = key_areas(
        incidents,
        reference=village,
        places=places,
        start="2026-03-01",
        end="2026-03-31",
        rules=load_rules(_rules(tmp_path, text)),
    )
    cafes = result.tests[result.tests["rule"] == "internet_cafe_near_school"]
    assert list(cafes["place_source_id"]) == ["C1"]  # the far café is not near a school
    schools = result.tests[result.tests["rule"] == "school_surroundings"]
    assert (schools["observed"] == 0).all()  # every snatching was at 16:30, the rule counts 8:00
    assert not schools["flagged"].any()


def test_hot_cells_merge_into_areas(tmp_path: Path) -> None:
    cells = [box(X0 + 100 * i, Y0, X0 + 100 * (i + 1), Y0 + 100) for i in range(3)]
    cells += [box(X0 + 1000, Y0, X0 + 1100, Y0 + 100), box(X0 + 1500, Y0, X0 + 1600, Y0 + 100)]
    metric = np.array(cells, dtype=object)
    areas, members = merge_hot_cells(metric[[0, 1, 2, 3]], gap_m=1.0)
    assert sorted(len(m) for m in members) == [1, 3]
    assert sorted(shapely.area(areas)) == pytest.approx([10_000, 30_000])

    village = _frame([box(X0, Y0, X0 + 2000, Y0 + 2000)], code=["V1"])
    xy = [(X0 + 50 + 20 * i, Y0 + 50) for i in range(10)] + [(X0 + 1050, Y0 + 50)] * 2
    incidents = _incidents(xy, "0103", "2026-05-05 10:00")
    hot = HotCells(
        cells=_frame(cells),
        bins=[3, 2, 2, 3, 0],
        z=[3.5, 2.1, 2.0, 3.0, 0.1],
        p=[0.0005, 0.03, 0.04, 0.003, 0.9],
        q=[0.004, 0.05, 0.05, 0.01, 1.0],
    )
    result = key_areas(
        incidents,
        reference=village,
        hot_cells=hot,
        start="2026-05-01",
        end="2026-05-31",
        rules=load_rules(),
    )
    assert len(result.areas) == 1  # the lone cell holds 2 incidents, below min_incidents = 5
    area = result.areas.iloc[0]
    assert area["n_cells"] == 3
    assert area["observed"] == 10
    assert area["p"] == 0.0005
    assert area["q"] == 0.004
    assert area["expected"] == pytest.approx(12 * 30_000 / 4_000_000, rel=1e-6)
    assert "3.50" in area["reason_zh"]


def test_clusters_need_enough_incidents() -> None:
    village = _frame([box(X0, Y0, X0 + 2000, Y0 + 2000)], code=["V1"])
    xy = [(X0 + 500 + i, Y0 + 500) for i in range(12)] + [
        (X0 + 1500 + i, Y0 + 500) for i in range(4)
    ]
    incidents = _incidents(xy, "0101", "2026-05-05 22:00")
    clusters = _frame([Point(X0 + 505, Y0 + 500).buffer(40), Point(X0 + 1502, Y0 + 500).buffer(40)])
    result = key_areas(
        incidents, reference=village, clusters=clusters, start="2026-05-01", end="2026-05-31"
    )
    assert list(result.areas["observed"]) == [12]
    assert np.isnan(result.areas.iloc[0]["p"])  # finding a cluster is not a test


def test_bad_rules_are_refused(tmp_path: Path) -> None:
    text = SCHOOL_RULE.format(correction="fdr", exposure="area", zones="discs")
    with pytest.raises(ValidationError, match="correction"):
        load_rules(_rules(tmp_path, text))
    village, incidents, _school, _ = _scene()
    with pytest.raises(ValidationError, match="two_robberies_one_theft"):
        key_areas(
            incidents.drop(columns="two_robberies_one_theft"),
            reference=village,
            start="2026-03-01",
            end="2026-03-31",
        )


def test_every_rule_reason_is_in_the_catalogue() -> None:
    from gis.messages import catalogue

    rules = load_rules()
    reasons = {r.reason for r in rules.places} | {rules.hot_cells.reason, rules.clusters.reason}
    assert reasons <= set(catalogue())


@pytest.fixture(scope="module")
def demo_county():
    from layers.demo import build_demo_county

    return build_demo_county(small=True)


def _demo_key_areas(county):
    grp = set(default_taxonomy().expand("两抢一盗"))
    incidents = county.incidents.assign(
        two_robberies_one_theft=county.incidents["category"].isin(grp)
    )
    admin = county.admin_units
    return key_areas(
        incidents,
        reference=admin[admin["level"] == "village"],
        population=county.grids[county.grids["kind"] == "综合"],
        places=county.places,
        start=county.truth.patterns[0]["start"],
        end=county.truth.patterns[0]["end"],
    )


def test_demo_school_plant_is_flagged_and_background_schools_are_not(demo_county) -> None:
    """Truth: layers/demo/_patterns.py plants weekday 16-18 snatching within 200 m of 2 schools."""
    result = _demo_key_areas(demo_county)
    truth = demo_county.truth
    planted = [p for p in truth.patterns if p["kind"] == "school_hotspot"]
    schools = result.areas[result.areas["rule"] == "school_surroundings"]
    flagged = set(schools["place_source_id"])
    for pattern in planted:
        assert pattern["place_source_id"] in flagged
        row = schools[schools["place_source_id"] == pattern["place_source_id"]].iloc[0]
        assert row["q"] < 1e-6
        assert set(row["by_category"]) <= {"0102", "010201", "0101", "0105", "0106", "0111"}
    # Any other flagged school or kindergarten must be explained by a planted pattern within
    # reach (its zone overlaps the plant's disc); across the county's background schools the
    # false-positive share stays small.
    places = demo_county.places.set_index("source_id")
    metric = places.to_crs(result.crs)
    centres = gpd.GeoSeries(
        gpd.points_from_xy(
            [p["centre_lon"] for p in truth.patterns], [p["centre_lat"] for p in truth.patterns]
        ),
        crs=4490,
    ).to_crs(result.crs)
    reach = np.array([p["radius_m"] for p in truth.patterns]) + 200.0
    background = [
        s
        for s in places.index[places["kind"].isin(["school", "kindergarten"])]
        if s not in {p["place_source_id"] for p in planted}
    ]
    unexplained = [
        s
        for s in background
        if s in flagged and not (centres.distance(metric.geometry[s]).to_numpy() <= reach).any()
    ]
    assert unexplained == []
    assert len(flagged & set(background)) <= max(1, len(background) // 10)


def test_demo_key_areas_are_reproducible(demo_county) -> None:
    first = _demo_key_areas(demo_county)
    second = _demo_key_areas(demo_county)
    pd.testing.assert_frame_equal(first.tests, second.tests)
    assert first.areas.drop(columns="geometry").equals(second.areas.drop(columns="geometry"))


@pytest.mark.slow
def test_full_demo_county_false_positive_rate() -> None:
    """The full county: 2 planted schools among 60 schools and kindergartens (45,000 incidents)."""
    from layers.demo import build_demo_county

    county = build_demo_county()
    result = _demo_key_areas(county)
    planted = {p["place_source_id"] for p in county.truth.patterns if p["kind"] == "school_hotspot"}
    schools = result.tests[result.tests["rule"] == "school_surroundings"]
    flagged = set(schools.loc[schools["flagged"], "place_source_id"])
    assert planted <= flagged
    background = set(schools["place_source_id"]) - planted
    # the one other flag (a kindergarten inside the 200 m plant of 坑庄中学) is explained above
    assert len(flagged & background) <= max(1, len(background) // 20)
