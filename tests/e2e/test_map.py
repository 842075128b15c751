"""The map page in a real browser, against the small demo county."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

import layers
from tests.e2e.conftest import PageRecord

GRIDS = ".leaflet-map-grids-pane path.leaflet-interactive"
CAMERAS = ".leaflet-map-cameras-pane path.leaflet-interactive"
CAMERA_VIEW = ".leaflet-map-cameras-pane path.fov-view"


def _open(record: PageRecord, url: str) -> None:
    """Load the map page; return when the grids are drawn, the counts summed up and no
    callback is left running. One load, no reload: a first load that fails is a bug."""
    page = record.page
    page.goto(url + "/")
    try:
        page.wait_for_selector(GRIDS)
        page.wait_for_function(
            "document.querySelector('#map-summary') && "
            "document.querySelector('#map-summary').innerText.length > 0"
        )
    except PlaywrightTimeoutError as exc:
        raise AssertionError(
            f"the map page did not draw; page errors: {record.errors}; "
            f"last requests: {record.requests[-15:]}"
        ) from exc
    record.settle()


def _fills(record: PageRecord) -> set[str]:
    return set(record.page.eval_on_selector_all(GRIDS, "ps => ps.map(p => p.getAttribute('fill'))"))


def test_map_renders_offline_with_no_errors(page: PageRecord, server_url: str) -> None:
    _open(page, server_url)
    # The small demo county has 42 grids; they are coloured by incident count.
    assert page.page.locator(GRIDS).count() == 42
    assert len(_fills(page)) >= 3
    assert page.page.locator(CAMERAS).count() == 70
    assert page.page.locator(".leaflet-control-scale").count() == 1
    assert page.page.locator(".leaflet-tile").count() == 0  # no basemap, no grey tile box
    page.screenshot("map")
    assert page.errors == []
    # Offline: every request the page made went to the app itself.
    assert page.requests
    assert page.hosts == {"127.0.0.1"}, sorted(page.requests)


def test_debug_server_makes_no_outside_requests(page: PageRecord, debug_server_url: str) -> None:
    _open(page, debug_server_url)
    assert page.errors == []
    assert page.hosts == {"127.0.0.1"}, sorted(page.requests)


def _total(record: PageRecord) -> int:
    return int(re.search(r"\d+", record.page.inner_text("#map-summary")).group())


def _incidents(db: Any, **flt: Any) -> int:
    """The filter's incidents as the layer API counts them: the number the summary shows."""
    return sum(layers.incident_counts(db=db, **flt).values())


def _wait_total(record: PageRecord, total: int) -> None:
    """Wait until the summary shows ``total``: the count of the final filter, not of one of
    the filters the page passed through on the way (a slider reports each step)."""
    record.page.wait_for_function(
        "n => { const m = (document.querySelector('#map-summary') || {innerText: ''})"
        ".innerText.match(/\\d+/); return m !== null && Number(m[0]) === n; }",
        arg=total,
    )


def _wait_summary_change(record: PageRecord, before: str) -> None:
    record.page.wait_for_function(
        f"document.querySelector('#map-summary').innerText !== {before!r}"
    )


def _wait_map_still(record: PageRecord) -> None:
    """Wait until the map has stopped moving: two animation frames with the same view."""
    record.page.wait_for_function(
        """() => {
            const pane = document.querySelector('.leaflet-map-pane');
            const scale = document.querySelector('.leaflet-control-scale-line');
            const view = pane && scale ? pane.style.transform + '|' + scale.innerText : null;
            const still = view !== null && view === window.__pinganLastView;
            window.__pinganLastView = view;
            return still;
        }"""
    )


def test_clicking_a_grid_opens_its_panel(page: PageRecord, server_url: str) -> None:
    _open(page, server_url)
    page.page.locator(GRIDS).nth(5).dispatch_event("click")
    page.page.wait_for_selector("#map-panel-code")
    code = page.page.inner_text("#map-panel-code")
    assert re.fullmatch(r"\d{15}", code), code
    staff = page.page.inner_text("#map-panel-staff")
    # The default role (viewer) sees phones masked: 139****5678.
    assert re.search(r"1\d{2}\*{4}\d{4}", staff), staff
    assert not re.search(r"1\d{10}", staff), staff
    assert int(page.page.inner_text("#map-panel-incidents")) >= 0
    # The 12-month trend: a plotly bar chart with 12 bars, drawn by the locally served plotly.js.
    page.page.wait_for_selector("#map-panel-trend .main-svg")
    page.page.wait_for_function(
        "document.querySelectorAll('#map-panel-trend g.point').length === 12"
    )
    # The chosen grid is outlined (its style follows the selection in a callback of its own).
    page.page.wait_for_selector(f"{GRIDS}[stroke='#0868ac']")
    page.settle()
    assert page.page.locator(f"{GRIDS}[stroke='#0868ac']").count() == 1
    page.screenshot("map_grid_panel")
    assert page.errors == []
    assert page.hosts == {"127.0.0.1"}


def test_choosing_a_grid_scopes_the_counts(page: PageRecord, server_url: str, demo_db: Any) -> None:
    _open(page, server_url)
    county = _total(page)
    for ident in ("#map-township", "#map-village", "#map-grid"):
        page.page.click(ident)
        # Dash 4 dropdowns list their options in a popover outside the component.
        page.page.locator(".dash-dropdown-option").first.click()
        page.settle()  # the next dropdown's options come from this choice's callbacks
    page.page.wait_for_selector("#map-panel-code")
    code = page.page.inner_text("#map-panel-code")
    in_grid = _incidents(demo_db, area=code)
    _wait_total(page, in_grid)
    page.settle()
    assert 0 <= in_grid < county
    assert int(page.page.inner_text("#map-panel-incidents")) == in_grid, code
    assert page.errors == []


def test_category_filter_changes_the_counts(page: PageRecord, server_url: str) -> None:
    _open(page, server_url)
    before = page.page.inner_text("#map-summary")
    fills_before = _fills(page)
    page.page.click("#map-group-button")
    _wait_summary_change(page, before)
    total = lambda text: int(re.search(r"\d+", text).group())  # noqa: E731
    assert 0 < total(page.page.inner_text("#map-summary")) < total(before)
    assert page.errors == []
    assert fills_before  # the grids were coloured before the change


def test_hour_filter_changes_the_counts(page: PageRecord, server_url: str, demo_db: Any) -> None:
    _open(page, server_url)
    whole_day = _total(page)
    assert whole_day == _incidents(demo_db)
    day, evening = _incidents(demo_db, hours=(0, 18)), _incidents(demo_db, hours=(18, 24))
    # Windows crossing the band's edges count in neither band.
    assert 0 < day < whole_day and evening > 0 and day + evening <= whole_day
    # The upper handle from 24 down to 18 with the keyboard: 00:00–18:00; then "outside the
    # range": 18:00–24:00. The slider may report some of the steps on the way.
    handles = page.page.locator("#map-hours [role='slider']")
    handles.nth(1).focus()
    for _ in range(6):
        page.page.keyboard.press("ArrowLeft")
    page.page.mouse.click(5, 5)  # the slider reports on release
    page.page.wait_for_function(
        "document.querySelector('#map-hours-text').innerText === '00:00–18:00'"
    )
    _wait_total(page, day)
    page.page.locator("#map-hours-wrap input").check()
    page.page.wait_for_function(
        "document.querySelector('#map-hours-text').innerText === '18:00–24:00'"
    )
    _wait_total(page, evening)
    assert "整段" in page.page.inner_text("#map-summary")
    assert page.errors == []


def test_clicking_a_camera_draws_its_field_of_view(page: PageRecord, server_url: str) -> None:
    _open(page, server_url)
    assert page.page.locator(CAMERA_VIEW).count() == 0
    page.page.locator(CAMERAS).nth(3).dispatch_event("click")
    page.page.wait_for_selector("#map-camera-code")
    page.page.wait_for_selector(CAMERA_VIEW)
    assert page.page.locator(CAMERA_VIEW).count() == 1
    # The map flies to the camera, so that the wedge (tens of metres) is large enough to see.
    page.page.wait_for_function(
        "parseInt(document.querySelector('.leaflet-control-scale-line').innerText) <= 100 && "
        "document.querySelector('.leaflet-control-scale-line').innerText.endsWith(' m') && "
        f"document.querySelector({CAMERA_VIEW!r}).getBoundingClientRect().width > 40"
    )
    _wait_map_still(page)  # the end of the flight, for the screenshot
    note = page.page.inner_text("#map-camera-view-note")
    assert "扇形" in note or "圆" in note, note
    assert page.page.inner_text("#map-camera-status") in {"在线", "离线", "故障"}
    page.screenshot("map_camera_panel")
    assert page.errors == []


def test_coordinates_and_layer_order(page: PageRecord, server_url: str) -> None:
    _open(page, server_url)
    box = page.page.locator("#map-map").bounding_box()
    page.page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.page.wait_for_function(
        "/\\d+\\.\\d{6}°E +\\d+\\.\\d{6}°N/.test("
        "document.querySelector('#map-coords-mouse').innerText)"
    )

    def z(name: str) -> int:
        return int(page.page.eval_on_selector(f".leaflet-map-{name}-pane", "p => p.style.zIndex"))

    assert z("grids") < z("boundaries")
    page.page.locator('button[id*=\'"layer":"grids"\'][id*=\'"step":-1\']').click()
    page.page.wait_for_function(
        "Number(document.querySelector('.leaflet-map-grids-pane').style.zIndex) > "
        "Number(document.querySelector('.leaflet-map-boundaries-pane').style.zIndex)"
    )
    # The button moved the layer without switching it off.
    assert page.page.locator("#map-layers input[value='grids']").is_checked()
    assert page.errors == []


def test_layer_toggle_changes_what_is_drawn(page: PageRecord, server_url: str) -> None:
    _open(page, server_url)
    assert page.page.locator(CAMERAS).count() > 0
    page.page.locator("#map-layers input[value='cameras']").uncheck()
    page.page.wait_for_function(f"document.querySelectorAll({CAMERAS!r}).length === 0")
    assert page.page.locator(GRIDS).count() == 42
    assert page.errors == []


def test_language_switch_changes_the_labels(page: PageRecord, server_url: str) -> None:
    _open(page, server_url)
    assert page.page.inner_text("#map-label-category") == "案件类别"
    page.page.get_by_text("English", exact=True).click()
    page.page.wait_for_function(
        "document.querySelector('#map-label-category').innerText === 'Category'"
    )
    assert page.page.inner_text("#app-nav-map") == "Map"
    assert page.page.inner_text("#map-label-hours") == "Hours of day"
    assert page.page.inner_text("#map-label-grid") == "Grid"
    page.page.wait_for_function(
        "document.querySelector('#map-panel-hint').innerText.startsWith('Click a grid')"
    )
    assert page.errors == []
