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
    assert "Category" in labels and "Hours of day" in labels and "Grid" in labels
    grids, boundaries, places, cameras, *_rest = map_page.style_layers(
        ["grids", "cameras"], {"counts": {"g": 3}, "classes": [0, 1], "total": 3}, None
    )
    assert grids["outline"] and not grids["fill"] and grids["counts"] == {"g": 3}
    assert not boundaries["show"] and cameras["show"] and not places["show"]
    summary, _legend = map_page.describe(
        {"counts": {"g": 3}, "classes": [0, 1], "total": 5}, None, "en"
    )
    assert summary[0].children == "5 incidents match the filter, 3 of them inside grids"
    assert len(summary) == 1  # no hour band, no note on how windows count
    with_hours = map_page.describe(
        {"counts": {}, "classes": [0], "total": 0}, {"hours": [22, 6]}, "en"
    )[0]
    assert "whole window" in with_hours[1].children
    assert map_page.choose_group(1) == [_data.GROUP]
    hint, view = map_page.show_panel(None, None, None, "zh")
    assert hint.id == "map-panel-hint" and view["features"] == []


def test_the_filter_callback_reads_every_control(map_page) -> None:
    store, text = map_page.set_filter(
        township="990101001000",
        village="990101001201",
        grid="990101001201003",
        start="2026-01-01",
        end="2026-01-31",
        categories=["两抢一盗"],
        hours=[6, 22],
        wrap=["wrap"],
        lang="en",
    )
    assert store == {
        "area": "990101001201003",
        "start": "2026-01-01",
        "end": "2026-02-01",
        "categories": ["两抢一盗"],
        "hours": [22, 6],
    }
    assert text == "22:00–06:00"
    assert _data.IncidentFilter.from_json(store).hours == (22, 6)
    everything, all_day = map_page.set_filter(
        township=None,
        village=None,
        grid=None,
        start=None,
        end=None,
        categories=None,
        hours=[0, 24],
        wrap=[],
        lang="zh",
    )
    assert everything["hours"] is None and everything["area"] == "" and all_day == "全天"


def test_incident_click_selects_the_incident_by_its_id(map_page) -> None:
    assert map_page.select_incident({"properties": {"id": 42, "category": "0101"}}) == {
        "kind": "incident",
        "id": 42,
    }
    # A cluster bubble has no id: the panel stays as it is.
    assert map_page.select_incident({"properties": {"cluster": True}}) is map_page.no_update


def test_layer_order_moves_and_lists(map_page) -> None:
    from dashboard import map_layers

    order = map_layers.default_order()
    assert order.index("cameras") < order.index("places") < order.index("grids")
    options = map_page.list_layers(order, "en")
    assert [o["value"] for o in options][-2:] == ["grids", "incidents"]  # the fill under grids
    moved = map_layers.move(order, "grids", -1)
    assert moved.index("grids") == order.index("grids") - 1
    z = map_layers.pane_z(moved)
    assert z["map-grids"] > z["map-boundaries"]
    assert map_layers.normalise_order(["grids", "nope"])[-1] == "grids"
    assert set(map_layers.normalise_order(["grids"])) == set(order)


def test_staff_phones_follow_the_role() -> None:
    staff = pd.DataFrame(
        {"grid_code": ["g"], "name": ["张三"], "role": ["网格长"], "phone": ["13912345678"]}
    )
    assert _data.masked_staff(staff, role="viewer")["phone"].iloc[0] == "139****5678"
    assert _data.masked_staff(staff, role="admin")["phone"].iloc[0] == "13912345678"
    assert not _data.phones_visible("viewer")


def test_hour_band_of_the_slider() -> None:
    assert _data.hour_band([0, 24]) is None
    assert _data.hour_band([6, 22]) == (6, 22)
    assert _data.hour_band([6, 22], wrap=True) == (22, 6)
    assert _data.hour_band([0, 18], wrap=True) == (18, 24)
    assert _data.hour_band([0, 24], wrap=True) is None
    assert _data.hour_label((22, 6), language="en") == "22:00–06:00"


def test_field_of_view_wedge_in_metres() -> None:
    from pyproj import Geod

    from dashboard._fov import field_of_view

    lon, lat = 119.9, 29.8
    view = field_of_view(lon, lat, heading_deg=90, fov_deg=60, range_m=100, srid=4490)
    assert view.shape == "wedge"
    xs, ys = view.geometry.exterior.xy
    assert (xs[0], ys[0]) == pytest.approx((lon, lat), abs=1e-9)  # the apex is the camera
    geod = Geod(ellps="GRS80")  # CGCS2000's ellipsoid
    az, _back, dist = geod.inv([lon] * (len(xs) - 2), [lat] * (len(xs) - 2), xs[1:-1], ys[1:-1])
    # Every arc vertex is 100 m away (Gauss-Krüger scale error is far below 0.1 m here), and
    # the arc spans the heading ± 30° from true north.
    assert dist == pytest.approx([100.0] * len(dist), abs=0.05)
    assert min(az) == pytest.approx(60, abs=0.01) and max(az) == pytest.approx(120, abs=0.01)
    circle = field_of_view(lon, lat, heading_deg=None, fov_deg=60, range_m=30, srid=4490)
    assert circle.shape == "circle" and circle.geometry.is_valid
    assert field_of_view(lon, lat, heading_deg=0, fov_deg=60, range_m=None, srid=4490).shape == (
        "none"
    )


def test_filter_round_trips_through_its_store() -> None:
    flt = _data.IncidentFilter("990101001", date(2026, 1, 1), None, ("0101",), (22, 6))
    assert _data.IncidentFilter.from_json(flt.to_json()) == flt
    assert _data.IncidentFilter.from_json(None) == _data.IncidentFilter()


def test_incident_time_window_text() -> None:
    from datetime import datetime, timedelta, timezone

    tz = timezone(timedelta(hours=8))
    start = datetime(2026, 3, 1, 22, 0, tzinfo=tz)
    assert _data.time_window(start, None) == "2026-03-01 22:00"
    assert _data.time_window(start, start.replace(hour=23)) == "2026-03-01 22:00 – 23:00"
    assert _data.time_window(start, start + timedelta(hours=9)) == "2026-03-01 22:00 – 03-02 07:00"


def test_fit_zoom(map_page) -> None:
    county = [[29.78, 119.86], [29.84, 119.93]]
    assert 12 <= map_page.fit_zoom(county, width_px=780, height_px=760) <= 14
    assert map_page.fit_zoom([[0, 0], [0, 0]], width_px=780, height_px=760) == 18
