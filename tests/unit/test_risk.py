"""Four-colour risk grading: the factor breakdown by hand, edge cases, and the demo market plant."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point, box

from analysis.risk import GRADES, grade_levels, load_config, risk_grades, sum_population
from gis.errors import ValidationError
from layers.taxonomy import default_taxonomy

GK = 4549  # CGCS2000 3-degree Gauss-Krüger CM 120°E
X0, Y0 = 500_000.0, 3_320_000.0


def _frame(geoms: list, **columns: object) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(columns, geometry=geoms, crs=GK).to_crs(4490)


def _incidents(rows: list[tuple[float, str, str]]) -> gpd.GeoDataFrame:
    """(x offset in metres, category, local time) -> incidents at y = 500 m."""
    group = set(default_taxonomy().expand("两抢一盗"))
    return _frame(
        [Point(X0 + x, Y0 + 500) for x, _, _ in rows],
        category=[c for _, c, _ in rows],
        occurred_from=pd.DatetimeIndex([w for _, _, w in rows]).tz_localize("Asia/Shanghai"),
        two_robberies_one_theft=[c in group for _, c, _ in rows],
    )


def _units() -> gpd.GeoDataFrame:
    return _frame(
        [box(X0 + 1000 * i, Y0, X0 + 1000 * (i + 1), Y0 + 1000) for i in range(3)],
        code=["A", "B", "C"],
        name=["甲网格", "乙网格", "丙网格"],
        population=[1000, 0, 1000],
    )


def _scene() -> dict[str, gpd.GeoDataFrame]:
    rows = [(100 + i, "0103", "2026-03-10 10:00") for i in range(6)]
    rows += [(200, "0301", "2026-03-11 09:00"), (210, "0301", "2026-03-12 09:00")]
    rows += [(2500, "0202", "2026-03-20 21:00")]
    rows += [(300, "0103", "2026-01-05 10:00")] * 3 + [(300, "0103", "2026-02-05 10:00")] * 3
    cameras = _frame(
        [Point(X0 + 100 * (i + 1), Y0 + 100) for i in range(4)]
        + [Point(X0 + 2100, Y0 + 100), Point(X0 + 2200, Y0 + 100)],
        status=["online", "online", "offline", "online", "online", "online"],
    )
    hot = _frame([box(X0, Y0, X0 + 500, Y0 + 1000)], month=["2026-03"])
    return {"incidents": _incidents(rows), "cameras": cameras, "hot_spots": hot}


def _score(x: float, zero: float, full: float) -> float:
    return 100 * min(max((x - zero) / (full - zero), 0.0), 1.0)


def test_factor_breakdown_by_hand() -> None:
    scene = _scene()
    result = risk_grades(
        _units(),
        scene["incidents"],
        level="grid",
        months=["2026-03"],
        hot_spots=scene["hot_spots"],
        cameras=scene["cameras"],
    )
    config = load_config()
    # residents: B has none and is measured as min_population = 100
    pop = np.array([1000.0, 100.0, 1000.0])
    observed = {
        "two_robberies_one_theft": np.array([6.0, 0, 0]),
        "disputes": np.array([2.0, 0, 0]),
        "other_crime": np.array([0.0, 0, 1]),
    }
    expected_scores: dict[str, np.ndarray] = {}
    for name, o in observed.items():
        e = pop * o.sum() / pop.sum()
        ratio = (o + 1) / (e + 1)
        expected_scores[name] = np.array([_score(r, 1.0, 3.0) for r in ratio])
        factor = result.factors[result.factors["indicator"] == name].set_index("code")
        assert factor["value"].to_numpy() == pytest.approx(o * 1000 / pop)
        assert factor["expected"].to_numpy() == pytest.approx(e)
        assert factor["ratio"].to_numpy() == pytest.approx(ratio)
        assert factor["score"].to_numpy() == pytest.approx(expected_scores[name])
    # trend: March (6 + 2 = 8 in A) against January and February (3 each); December has no data
    trend = result.factors[result.factors["indicator"] == "trend"].set_index("code")
    assert trend["expected"].to_numpy() == pytest.approx([3.0, 0.0, 0.0])
    assert trend["ratio"].to_numpy() == pytest.approx([9 / 4, 1.0, 2.0])
    expected_scores["trend"] = np.array([100.0, 0.0, 100.0])
    hot = result.factors[result.factors["indicator"] == "hotspot_share"].set_index("code")
    assert hot["value"].to_numpy() == pytest.approx([0.5, 0.0, 0.0], abs=1e-6)
    expected_scores["hotspot_share"] = np.array([100.0, 0.0, 0.0])
    cams = result.factors[result.factors["indicator"] == "camera_offline"].set_index("code")
    assert cams.loc["A", "value"] == pytest.approx(0.25)
    assert cams.loc["B", "note"] == "no_cameras"
    assert np.isnan(cams.loc["B", "score"])
    assert cams.loc["B", "contribution"] == 0.0
    expected_scores["camera_offline"] = np.array([_score(0.25, 0.02, 0.30), np.nan, 0.0])

    weights = {k: v.weight for k, v in config.indicators.items()}
    grades = result.grades.set_index("code")
    for i, code in enumerate("ABC"):
        used = {k: s[i] for k, s in expected_scores.items() if np.isfinite(s[i])}
        total = sum(weights[k] * s for k, s in used.items()) / sum(weights[k] for k in used)
        assert grades.loc[code, "score"] == pytest.approx(total, abs=1e-5)
        contributions = result.breakdown(code, "2026-03")["contribution"].sum()
        assert contributions == pytest.approx(total, abs=1e-9)
        edges = [config.thresholds[g] for g in ("yellow", "orange", "red")]
        assert grades.loc[code, "grade"] == GRADES[int(np.searchsorted(edges, total, "right"))]
    assert result.breakdown("B", "2026-03")["note"].iloc[0] == "no_residents"
    assert "甲网格" in grades.loc["A", "explanation_zh"]
    assert "2026-03" in grades.loc["A", "explanation_en"]


def test_escalation_and_weights_from_the_config(tmp_path: Path) -> None:
    path = tmp_path / "risk.toml"
    path.write_text(
        """
min_population = 100
smoothing = 1.0
[grades]
yellow = 30
orange = 50
red = 70
[indicators.two_robberies_one_theft]
weight = 0.2
group = true
zero = 1.0
full = 1.5
[indicators.disputes]
weight = 0.8
prefixes = ["03"]
zero = 1.0
full = 3.0
[[escalate]]
indicator = "two_robberies_one_theft"
score = 100
grade = "orange"
""",
        encoding="utf-8",
    )
    incidents = _incidents([(100, "0102", "2026-03-10 17:00")] * 20)
    result = risk_grades(
        _units(), incidents, level="grid", months=["2026-03"], config=load_config(path)
    )
    a = result.grades.set_index("code").loc["A"]
    # all 20 in A: ratio (20 + 1) / (1000 × 20 / 2100 + 1) ≈ 2.0 ≥ full = 1.5, a score of 100
    assert a["score"] == pytest.approx(20.0)  # 0.2 × 100: blue by score
    assert a["grade"] == "orange"
    assert a["escalated"]
    assert "上调" in a["explanation_zh"]
    assert set(result.factors["indicator"]) == {"two_robberies_one_theft", "disputes"}


def test_bad_config_and_inputs_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "risk.toml"
    path.write_text("[grades]\nyellow = 60\norange = 50\nred = 70\n", encoding="utf-8")
    with pytest.raises(ValidationError, match="grades"):
        load_config(path)
    with pytest.raises(ValidationError, match="code"):
        risk_grades(_units().drop(columns="code"), _scene()["incidents"], level="grid")
    with pytest.raises(ValidationError, match="2026-13"):
        risk_grades(_units(), _scene()["incidents"], level="grid", months=["2026-13"])


def test_no_incidents_in_a_month_grades_blue() -> None:
    result = risk_grades(_units(), _scene()["incidents"], level="grid", months=["2026-06"])
    assert set(result.grades["grade"]) == {"blue"}
    assert np.isfinite(result.grades["score"]).all()


@pytest.fixture(scope="module")
def demo_county():
    from layers.demo import build_demo_county

    return build_demo_county(small=True)


def _demo_grades(county):
    grp = set(default_taxonomy().expand("两抢一盗"))
    incidents = county.incidents.assign(
        two_robberies_one_theft=county.incidents["category"].isin(grp)
    )
    admin = county.admin_units
    tiling = county.grids[county.grids["kind"] == "综合"]
    levels = {
        "grid": county.grids,
        "village": sum_population(admin[admin["level"] == "village"], tiling),
        "township": sum_population(admin[admin["level"] == "township"], tiling),
    }
    return grade_levels(levels, incidents, cameras=county.cameras)


def test_demo_market_grid_is_orange_or_red_in_the_plant_months(demo_county) -> None:
    """Truth: layers/demo/_patterns.py plants 300 evening thefts within 140 m of the town market."""
    plant = demo_county.truth.by_name("market_evening_theft")
    centre = Point(plant["centre_lon"], plant["centre_lat"])
    grids = demo_county.grids
    code = grids.loc[grids.contains(centre) & (grids["kind"] == "综合"), "code"].iloc[0]
    result = _demo_grades(demo_county)
    months = pd.period_range(plant["start"], plant["end"], freq="M").astype(str)
    mine = result.grades[(result.grades["code"] == code) & result.grades["month"].isin(months)]
    assert len(mine) == len(months) == 24
    assert set(mine["grade"]) <= {"orange", "red"}
    # most grids are blue: the grading separates, it does not paint everything
    grid_grades = result.grades[result.grades["level"] == "grid"]["grade"]
    assert (grid_grades == "blue").mean() > 0.6
    # every grade carries its breakdown: one row per indicator, contributions sum to the score
    one = mine.iloc[0]
    rows = result.breakdown(code, one["month"])
    assert len(rows) == 6
    assert rows["contribution"].sum() == pytest.approx(one["score"], abs=1e-5)


def test_demo_grades_are_reproducible(demo_county) -> None:
    first = _demo_grades(demo_county)
    second = _demo_grades(demo_county)
    pd.testing.assert_frame_equal(first.grades, second.grades)
    pd.testing.assert_frame_equal(first.factors, second.factors)


def test_sum_population_rolls_grids_up(demo_county) -> None:
    admin = demo_county.admin_units
    tiling = demo_county.grids[demo_county.grids["kind"] == "综合"]
    villages = sum_population(admin[admin["level"] == "village"], tiling)
    by_code = tiling.groupby("village_code")["population"].sum()
    assert villages.set_index("code")["population"].to_dict() == pytest.approx(by_code.to_dict())
