"""The dashboard's data shaping and callbacks as plain functions (no browser, no database)."""

from __future__ import annotations

from datetime import date

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Point, box

from dashboard import _data
from dashboard.app import choose_language, create_app, translate_shell


def test_area_scope_of_township_and_village() -> None:
    assert _data.area_scope(None, None) == ""
    assert _data.area_scope("990101001000", None) == "990101001"
    assert _data.area_scope("990101001000", "990101001201") == "990101001201"


def test_parse_filter_makes_the_end_day_inclusive() -> None:
    flt = _data.parse_filter(None, None, "2026-01-01", "2026-01-31T00:00:00", ["两抢一盗", ""])
    assert flt.start == date(2026, 1, 1)
    assert flt.end == date(2026, 2, 1)
    assert flt.categories == ("两抢一盗",)
    assert _data.parse_filter(None, None, None, None, []).categories is None


def test_feature_collection_rounds_and_keeps_properties() -> None:
    frame = gpd.GeoDataFrame(
        {"code": ["990101001001001"], "households": [pd.NA]},
        geometry=[box(120.123456789, 30.0, 120.2, 30.1)],
        crs="EPSG:4490",
    )
    fc = _data.feature_collection(frame, ["code", "households", "missing"])
    (feature,) = fc["features"]
    assert feature["properties"] == {"code": "990101001001001", "households": None}
    xs = [x for x, _ in feature["geometry"]["coordinates"][0]]
    assert all(round(x, 6) == x for x in xs)


def test_count_classes() -> None:
    counts = {"a": 2, "b": 1, "c": 3}
    classes = _data.count_classes(counts)
    assert classes[0] == 0 and classes == sorted(set(classes))
    assert _data.count_classes({}) == [0]
    rows = _data.legend_rows(classes)
    assert rows[0] == ("#f7f7f7", "0")
    assert len(rows) == len(classes) == len(_data.colours_for(classes))


def test_grid_details_orders_staff_by_role() -> None:
    staff = pd.DataFrame(
        {
            "grid_code": ["g1", "g1", "g2"],
            "role": ["社区民警", "网格长", "网格长"],
            "name": ["李四", "张三", "王五"],
            "phone": ["13900000002", "13900000001", None],
        }
    )
    props = {"code": "g1", "village": "清河社区", "households": 120, "population": 400}
    details = _data.grid_details(props, staff, {"g1": 7})
    assert details.incidents == 7
    assert [s["name"] for s in details.staff] == ["张三", "李四"]
    assert _data.role_label("网格长", language="en") == "grid head"


def test_camera_and_place_tooltips_follow_the_language() -> None:
    cams = gpd.GeoDataFrame(
        {"source_id": ["1"], "name": ["村口"], "status": ["fault"], "kind": ["枪机"]},
        geometry=[Point(120, 30)],
        crs="EPSG:4490",
    )
    assert (
        _data.camera_features(cams, language="en")["features"][0]["properties"]["tooltip"]
        == "村口 · fault"
    )
    places = gpd.GeoDataFrame(
        {"source_id": ["1"], "name": ["一小"], "kind": ["school"]},
        geometry=[Point(120, 30)],
        crs="EPSG:4490",
    )
    names = _data.place_kind_names(language="zh")
    assert (
        _data.place_features(places, kind_names=names)["features"][0]["properties"]["tooltip"]
        == "一小 · 学校"
    )


def test_category_options_start_with_the_group() -> None:
    options = _data.category_options(language="zh")
    assert options[0]["value"] == _data.GROUP
    assert {"0101", "0103"} <= {o["value"] for o in options}
    assert _data.is_group("两抢一盗")


def test_bounds_of_frames() -> None:
    frame = gpd.GeoDataFrame(geometry=[box(120, 30, 121, 31)], crs="EPSG:4490")
    assert _data.bounds_of(frame) == [[30.0, 120.0], [31.0, 121.0]]
    assert _data.bounds_of(gpd.GeoDataFrame(geometry=[], crs="EPSG:4490")) is None


def test_shell_callbacks() -> None:
    assert choose_language("en") == "en"
    assert choose_language(None) == "zh"
    title, _nav, label = translate_shell("en")
    assert (title, label) == ("Pingan Grid", "Language")


@pytest.fixture(scope="module")
def map_page():
    create_app()  # registers the pages; the page module's callbacks are plain functions
    from dashboard.pages import map as page

    return page


def test_map_callbacks_as_plain_functions(map_page) -> None:
    labels = map_page.translate("en")
    assert "Category" in labels
    grids, boundaries, cameras, places = map_page.style_layers(
        ["grids", "cameras"], {"counts": {"g": 3}, "classes": [0, 1], "total": 3}
    )
    assert grids["outline"] and not grids["fill"] and grids["counts"] == {"g": 3}
    assert not boundaries["show"] and cameras["show"] and not places["show"]
    summary, _legend = map_page.describe({"counts": {"g": 3}, "classes": [0, 1], "total": 5}, "en")
    assert summary == "5 incidents match the filter, 3 of them inside grids"
    assert map_page.choose_group(1) == [_data.GROUP]
    hint = map_page.show_grid(None, None, "zh")
    assert hint.id == "map-panel-hint"
