"""The analysis pages' data shaping and callbacks as plain functions (no browser, no database).

The frames are built by hand in the shapes the derived layers return (``layers.kpis``,
``layers.read_risk_grades``, ``layers.read_key_areas``, …; see ``/docs/dashboard.md``).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import geopandas as gpd
import pandas as pd
import pytest
from dash import no_update
from shapely.geometry import Point, box

from dashboard import _analysis_data as ad
from dashboard import _hotspot_data as hd
from dashboard.app import create_app

# A grid's factors as layers.read_risk_grades returns them (one indicator per key).
FACTORS = {
    "trend": {"note": "", "value": 1.07, "score": 7.1, "weight": 0.1, "contribution": 0.79},
    "disputes": {"note": "", "value": 0.8, "score": 0.0, "weight": 0.15, "contribution": 0.0},
    "hotspot_share": {"note": "", "value": 0.112, "score": 22, "weight": 0.15, "contribution": 3.4},
    "camera_offline": {"note": "no_cameras", "value": None, "score": None, "weight": 0.1,
                       "contribution": 0.0},
    "two_robberies_one_theft": {"note": "", "value": 7.96, "score": 90, "weight": 0.35,
                                "contribution": 31.4},
}  # fmt: skip


# -- overview ---------------------------------------------------------------------------------


def test_change_text_and_tone() -> None:
    assert ad.change_text(0.1875, language="zh") == ("↑ 18.8%", "up")
    assert ad.change_text(-0.25, language="en") == ("↓ 25.0%", "down")
    assert ad.change_text(0.0, language="en") == ("→ 0.0%", "")
    assert ad.change_text(None, language="en") == ("no comparison", "")


def test_kpi_tiles_from_the_layer_figures() -> None:
    kpis = {
        "incidents": 1209,
        "robbery_theft": 83,
        "incidents_last_year": 159,
        "incidents_mom": 0.1875,
        "incidents_yoy": 0.3145,
        "robbery_theft_mom": None,
        "open_key_areas": 22,
        "overdue_key_areas": 2,
        "grids_by_grade": {"blue": 35, "orange": 2, "yellow": 5},
        "cameras": 70,
        "cameras_offline": 4,
    }
    tiles = {tile.ident: tile for tile in ad.kpi_tiles(kpis, language="en")}
    assert tiles["overview-kpi-incidents"].value == "1,209"
    assert tiles["overview-kpi-incidents"].change == "month on month ↑ 18.8%"
    assert tiles["overview-kpi-yoy"].value == "31.4%"
    assert tiles["overview-kpi-group"].change == "month on month no comparison"
    assert (tiles["overview-kpi-key-areas"].change, tiles["overview-kpi-key-areas"].tone) == (
        "2 overdue",
        "up",
    )
    assert tiles["overview-kpi-red"].value == "0 / 2"
    assert tiles["overview-kpi-cameras"].change == "of 70, 5.7% offline"


def test_grade_features_counts_and_legend() -> None:
    grades = gpd.GeoDataFrame(
        {
            "area_code": ["990101001001001", "990101001001002", "990101001001003"],
            "name": ["第1网格", "第2网格", None],
            "level": "grid",
            "grade": ["blue", "red", "red"],
            "score": [3.9, 75.2, 71.0],
        },
        geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1), box(2, 0, 3, 1)],
        crs="EPSG:4490",
    )
    fc = ad.grade_features(grades, language="zh")
    first = fc["features"][0]["properties"]
    assert first["grade"] == "blue" and first["tooltip"] == "第1网格 · 蓝色 · 4"
    assert fc["features"][2]["properties"]["tooltip"].startswith("990101001001003 · 红色")
    counts = ad.grade_counts(grades)
    assert counts == {"blue": 1, "yellow": 0, "orange": 0, "red": 2}
    assert ad.grade_legend(counts, language="en")[3] == (ad.GRADE_COLOURS["red"], "red (2)")
    row = ad.grade_row(grades, "990101001001002")
    assert row is not None and row["score"] == 75.2 and "geometry" not in row
    assert ad.grade_row(grades, "nope") is None


def test_factor_rows_largest_contribution_first() -> None:
    rows = ad.factor_rows(FACTORS, language="zh")
    assert [r.indicator for r in rows][:3] == ["two_robberies_one_theft", "hotspot_share", "trend"]
    by_name = {r.indicator: r for r in rows}
    assert by_name["hotspot_share"].value == "11.2%"  # a share, as a percentage
    assert by_name["two_robberies_one_theft"].value == "7.96"  # per 1,000 residents
    assert by_name["camera_offline"].value == "—" and by_name["camera_offline"].note
    # The list form gives the same rows.
    as_list = [{"indicator": k, **v} for k, v in FACTORS.items()]
    assert ad.factor_rows(as_list, language="zh") == rows
    assert ad.explanation({"zh": "蓝色", "en": "blue"}, language="en") == "blue"


def test_month_options_newest_first() -> None:
    options = ad.month_options([date(2026, 9, 1), date(2026, 10, 1), "2026-09-01"])
    assert options == [
        {"label": "2026-10", "value": "2026-10-01"},
        {"label": "2026-09", "value": "2026-09-01"},
    ]


def test_common_scope_is_the_narrowest_admin_prefix() -> None:
    assert ad.common_scope(["990101001001001", "990101001001004"]) == "990101001001"
    assert ad.common_scope(["990101001001001", "990101001201002"]) == "990101001"
    assert ad.common_scope(["990101001001001"]) == "990101001001001"
    assert ad.common_scope(["990101001001001", "990101002001001"]) == "990101"
    assert ad.common_scope([]) == ""


# -- key areas --------------------------------------------------------------------------------


def _register() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "id": [1, 2, 3, 4],
            "rule": ["hot_cells", "school_surroundings", "clusters", "unknown_rule"],
            "name": ["杨庄村", "坑口小学", None, "x"],
            "reason_zh": ["热点", "校园周边", "聚集", "?"],
            "reason_en": ["hot spot", "school", "cluster", "?"],
            "evidence": [{}, {}, {}, {}],
            "status": ["found", "listed", "remediating", "delisted"],
            "deadline": [None, date(2026, 1, 31), date(2027, 3, 31), None],
            "responsible_unit": [None, "城关派出所", "清河派出所", None],
            "overdue": [False, True, False, False],
            "updated_at": pd.to_datetime(
                ["2026-11-01", "2026-10-01", "2026-11-20", "2026-11-21"], utc=True
            ),
        },
        geometry=[box(0, 0, 1, 1)] * 4,
        crs="EPSG:4490",
    )


def test_register_rows_put_overdue_first_then_the_workflow_order() -> None:
    rows = ad.register_rows(_register(), language="zh")
    assert [r["id"] for r in rows] == [2, 1, 3, 4]
    assert rows[0]["overdue"] and rows[0]["deadline"] == "2026-01-31"
    assert rows[0]["rule"] == "校园周边" and rows[0]["status_label"] == "挂牌"
    assert rows[2]["name"] == "#3" and rows[3]["rule"] == "unknown_rule"
    assert ad.register_rows(_register(), language="en")[0]["reason"] == "school"
    shown = ad.filter_register(_register(), statuses=["found", "listed"], overdue_only=True)
    assert list(shown["id"]) == [2]
    assert list(ad.open_areas(_register())["id"]) == [1, 2, 3]


def test_workflow_steps_and_next_status() -> None:
    steps = ad.workflow_steps("listed", language="zh")
    assert [(s.label, s.state) for s in steps] == [
        ("发现", "done"),
        ("挂牌", "current"),
        ("整治中", "todo"),
        ("摘牌", "todo"),
    ]
    assert ad.next_status("found") == "listed"
    assert ad.next_status("delisted") is None


def test_history_rows_newest_first() -> None:
    history = pd.DataFrame(
        {
            "at": pd.to_datetime(["2026-11-01 09:00", "2026-11-02 10:30"]),
            "actor": ["pingan", "王警官"],
            "from_status": [None, "found"],
            "to_status": ["found", "listed"],
            "deadline": [None, date(2027, 3, 31)],
            "responsible_unit": [None, "清河派出所"],
            "note": [None, "挂牌整治"],
        }
    )
    rows = ad.history_rows(history, language="zh")
    assert rows[0] == {
        "at": "2026-11-02 10:30",
        "actor": "王警官",
        "move": "发现 → 挂牌",
        "deadline": "2027-03-31",
        "unit": "清河派出所",
        "note": "挂牌整治",
    }
    assert rows[1]["move"] == "发现" and rows[1]["deadline"] == "—"


def test_evidence_facts() -> None:
    evidence = {
        "p": 9.4e-10,
        "q": None,
        "rule": "hot_cells",
        "ratio": 30.87,
        "zone_m": "",
        "n_cells": 7,
        "expected": 2.98,
        "observed": 92,
        "period_end": "2026-11-01",
        "place_name": None,
        "by_category": {"010302": 90, "010306": 1},
        "period_start": "2024-11-01",
    }
    facts = dict(ad.evidence_facts(evidence, language="zh"))
    assert facts["观测案件数"] == "92" and facts["期望案件数"] == "2.98"
    assert facts["p 值"] == "< 0.001" and facts["q 值 (FDR)"] == "—"
    assert facts["热点单元数"] == "7" and "场所" not in facts
    assert facts["统计期"] == "2024-11-01 – 2026-11-01"
    assert facts["计入类别"].endswith(" 1") and "90" in facts["计入类别"]
    school = dict(ad.evidence_facts({"place_name": "坑口小学", "zone_m": "200"}, language="en"))
    assert school["Place"] == "坑口小学" and school["Zone"] == "200 m"


def test_incidents_inside_keeps_the_latest() -> None:
    incidents = gpd.GeoDataFrame(
        {
            "id": [1, 2, 3],
            "occurred_from": pd.to_datetime(["2026-01-01", "2026-03-01", "2026-02-01"]),
        },
        geometry=[Point(0.5, 0.5), Point(0.6, 0.6), Point(5, 5)],
        crs="EPSG:4490",
    )
    inside = ad.incidents_inside(incidents, box(0, 0, 1, 1), cap=1)
    assert list(inside["id"]) == [2]
    assert ad.incidents_inside(incidents, None, cap=5).empty


# -- hotspots ---------------------------------------------------------------------------------


def test_parse_analysis() -> None:
    options = hd.parse_analysis(
        "990101001000", None, "2026-01-01", "2026-03-31T00:00:00", ["两抢一盗", ""],
        method="optimized", unit="h3", resolution="8", cell_size_m="", alpha=0.01,
    )  # fmt: skip
    assert options.area == "990101001" and options.end == "2026-03-31"
    assert options.categories == ("两抢一盗",) and options.method == "optimized"
    assert (options.unit, options.resolution, options.cell_size_m) == ("h3", 8, None)
    assert hd.parse_analysis(None, None, None, None, None, method="x", unit="y").method == "gi"


def _cells() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "cell_id": ["a", "b", "c"],
            "count": [12.0, 1.0, 0.0],
            "z": [3.4, 0.1, -2.1],
            "p": [0.0007, 0.9, 0.03],
            "bin": pd.array([3, 0, -2], dtype="Int64"),
            "pattern": [None, None, None],
        },
        geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1), box(2, 0, 3, 1)],
        crs="EPSG:4490",
    )


def test_cells_coloured_by_gi_bin_and_by_pattern() -> None:
    fc = hd.cell_features(_cells(), kind="hotspots", language="zh")
    colours = [f["properties"]["colour"] for f in fc["features"]]
    assert colours == [hd.GI_BIN_COLOURS[3], hd.GI_BIN_COLOURS[0], hd.GI_BIN_COLOURS[-2]]
    assert "热点 (99% 置信)" in fc["features"][0]["properties"]["tooltip"]
    legend = hd.cell_legend(_cells(), kind="hotspots", language="en")
    assert len(legend) == 7 and legend[0] == (hd.GI_BIN_COLOURS[3], "Hot spot (99% confidence) (1)")
    emerging = _cells().assign(pattern=["persistent_hot", "no_pattern", "new_cold"])
    fc = hd.cell_features(emerging, kind="emerging", language="zh")
    assert fc["features"][0]["properties"]["colour"] == hd.PATTERN_COLOURS["persistent_hot"]
    rows = hd.cell_legend(emerging, kind="emerging", language="zh")
    assert [label for _, label in rows] == ["持续热点 (1)", "新增冷点 (1)", "无明显模式 (1)"]


def test_cluster_features_name_the_dominant_category() -> None:
    clusters = gpd.GeoDataFrame(
        {"cluster_id": [0], "n": [366], "categories": [{"010304": 148, "010302": 96}]},
        geometry=[box(0, 0, 1, 1)],
        crs="EPSG:4490",
    )
    props = hd.cluster_features(clusters, language="zh")["features"][0]["properties"]
    assert props["dominant"] == "010304" and "366" in props["tooltip"]
    assert "010304" not in props["tooltip"]  # the category's name, not its code


def _runs() -> pd.DataFrame:
    common = {"area_code": "", "period_from": "2024-11-01", "period_to": "2026-11-01"}
    rows = [
        {"id": 1, "kind": "hotspots", "categories": ["0101"], **common},
        {"id": 2, "kind": "clusters", "categories": ["0101"], **common},
        {"id": 3, "kind": "profile", "categories": ["0101"], **common},
        {"id": 4, "kind": "hotspots", "categories": ["0101"], **common},
        {"id": 5, "kind": "clusters", "categories": ["0101"], **common},
        {"id": 6, "kind": "near_repeat", "categories": ["0102"], **common},
        {"id": 7, "kind": "risk", "categories": [], **common},
    ]
    return pd.DataFrame(rows)


def test_run_options_and_companions() -> None:
    options = hd.run_options(_runs(), language="zh")
    assert [o["value"] for o in options] == [4, 1]
    assert options[0]["label"] == "#4 热点 · 2024-11-01 – 2026-11-01 · 全县"
    first = _runs().iloc[0].to_dict()
    # The runs made right after #1 for the same area, period and categories.
    assert hd.companion_runs(_runs(), first) == {"clusters": 2, "profile": 3}
    latest = _runs().iloc[3].to_dict()
    assert hd.companion_runs(_runs(), latest) == {"clusters": 5, "profile": 3}


def test_knox_table_and_colours() -> None:
    result = {
        "distance_edges_m": [0, 100],
        "time_edges_days": [0, 7],
        "observed": [[30, 10], [12, 400]],
        "ratio": [[2.5, 1.0], [0.8, None]],
        "p": [[0.01, 0.5], [0.9, None]],
    }
    knox = hd.knox_table(result, language="en", permutations=99, n_incidents=1453)
    assert knox is not None and knox.permutations == 99
    assert knox.distance_labels[0] == "0–100 m (0 included, 100 excluded)"
    assert knox.distance_short == ["0–100 m", "≥100 m"] and knox.time_short[1] == "≥7 days"
    assert knox.cells[0][0]["significant"] and not knox.cells[0][1]["significant"]
    assert knox.cells[1][1]["ratio"] is None
    assert hd.knox_table(None, language="en") is None
    assert hd.ratio_colour(1.0) == "#ffffff"
    assert hd.ratio_colour(2.5) == "#de2d26" and hd.ratio_colour(None) == "#ffffff"


def test_profile_table_and_figure() -> None:
    table = [[float(h) for h in range(24)] for _ in range(7)]
    assert hd.profile_table({"table": table}) == table
    assert hd.profile_table({"table": table[:6]}) is None and hd.profile_table(None) is None
    figure = hd.profile_figure(table, language="zh")
    assert figure["data"][0]["y"][0] == "周一" and len(figure["data"][0]["x"]) == 24
    describe = {"describe": {"zh": "重点时段: 周日", "en": "peak times: Sun"}}
    assert hd.peak_text(describe, language="en") == "peak times: Sun"
    assert hd.log_lines([{"key": "k", "zh": "中", "en": "en"}], language="zh") == ["中"]


# -- callbacks as plain functions ---------------------------------------------------------------


@pytest.fixture(scope="module")
def pages() -> dict[str, Any]:
    create_app()  # registers the pages; their callbacks are plain functions
    from dashboard.pages import hotspots, key_areas, overview

    return {"overview": overview, "hotspots": hotspots, "key_areas": key_areas}


def test_pages_are_registered_between_the_map_and_the_data_page(pages: dict[str, Any]) -> None:
    import dash

    names = [p["module"].rpartition(".")[2] for p in dash.page_registry.values()]
    assert names == ["map", "overview", "hotspots", "key_areas", "data"]
    assert dash.page_registry["dashboard.pages.key_areas"]["path"] == "/key-areas"


def test_translate_callbacks(pages: dict[str, Any]) -> None:
    labels = pages["overview"].translate("en")
    assert "Four-colour risk grades" in labels and "Open key areas" in labels
    assert labels[-1][0] == {"label": "Grids", "value": "grid"}
    labels = pages["hotspots"].translate("zh")
    assert "运行分析" in labels and "近重复 (Knox) 检验" in labels
    labels = pages["key_areas"].translate("en")
    assert "Key-area register" in labels
    resolution_off, cell_off, units = pages["hotspots"].method_options("gi", "fishnet", "en")
    assert resolution_off and not cell_off and units[1]["label"] == "H3 cells"
    assert pages["hotspots"].method_options("optimized", "fishnet", "en")[1]


def test_callbacks_without_a_selection(pages: dict[str, Any]) -> None:
    hint, hideout = pages["overview"].show_panel(None, None, None, None, "grid", "en")
    assert hint.id == "overview-panel-hint" and hideout["selected"] is None
    feature = {"properties": {"code": "990101001001004"}}
    assert pages["overview"].select(feature) == "990101001001004"
    assert pages["overview"].select(None) is no_update
    assert pages["hotspots"].poll_run(None, None, "zh")[:2] == (None, True)
    assert pages["key_areas"].submit(None, 1, "listed", None, None, None, None, 0, "zh") == (
        no_update,
        no_update,
        no_update,
    )


def test_a_refused_move_shows_both_languages(pages: dict[str, Any]) -> None:
    box_ = pages["key_areas"]._refusal("需要整治期限", "a deadline is needed", "en")
    assert box_.id == "keyareas-error"
    assert [c.children for c in box_.children] == ["a deadline is needed", "需要整治期限"]
