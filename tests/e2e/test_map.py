"""The map page in a real browser, against the small demo county."""

from __future__ import annotations

import re

from tests.e2e.conftest import PageRecord

GRIDS = ".leaflet-map-grids-pane path.leaflet-interactive"
CAMERAS = ".leaflet-map-cameras-pane path.leaflet-interactive"
CAMERA_VIEW = ".leaflet-map-cameras-pane path.fov-view"


def _open(record: PageRecord, url: str) -> None:
    page = record.page
    page.goto(url + "/")
    try:
        page.wait_for_selector(GRIDS, timeout=30_000)
    except Exception:
        # Seen twice in a dozen runs on a loaded machine, right after the server started: the
        # first load drew no grids and logged no error. It is kept visible (a screenshot and
        # the note below) while it is investigated; one reload is allowed, not more.
        record.screenshot("first_load_without_grids")
        print(f"first load drew no grids; errors {record.errors}; last {record.requests[-10:]}")
        page.reload()
        try:
            page.wait_for_selector(GRIDS, timeout=60_000)
        except Exception as exc:
            raise AssertionError(
                f"no grids drawn; page errors: {record.errors}; requests: {record.requests[-15:]}"
            ) from exc
    page.wait_for_function(
        "document.querySelector('#map-summary') && "
        "document.querySelector('#map-summary').innerText.length > 0",
        timeout=30_000,
    )
    page.wait_for_timeout(500)


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


def _wait_summary_change(record: PageRecord, before: str) -> None:
    record.page.wait_for_function(
        f"document.querySelector('#map-summary').innerText !== {before!r}", timeout=15_000
    )


def test_clicking_a_grid_opens_its_panel(page: PageRecord, server_url: str) -> None:
    _open(page, server_url)
    page.page.locator(GRIDS).nth(5).dispatch_event("click")
    page.page.wait_for_selector("#map-panel-code", timeout=15_000)
    code = page.page.inner_text("#map-panel-code")
    assert re.fullmatch(r"\d{15}", code), code
    staff = page.page.inner_text("#map-panel-staff")
    # The default role (viewer) sees phones masked: 139****5678.
    assert re.search(r"1\d{2}\*{4}\d{4}", staff), staff
    assert not re.search(r"1\d{10}", staff), staff
    assert int(page.page.inner_text("#map-panel-incidents")) >= 0
    # The 12-month trend: a plotly bar chart with 12 bars, drawn by the locally served plotly.js.
    page.page.wait_for_selector("#map-panel-trend .main-svg", timeout=30_000)
    assert page.page.locator("#map-panel-trend g.point").count() == 12
    # The chosen grid is outlined.
    assert page.page.locator(f"{GRIDS}[stroke='#0868ac']").count() == 1
    page.screenshot("map_grid_panel")
    assert page.errors == []
    assert page.hosts == {"127.0.0.1"}


def test_choosing_a_grid_scopes_the_counts(page: PageRecord, server_url: str) -> None:
    _open(page, server_url)
    before = page.page.inner_text("#map-summary")
    county = _total(page)
    for ident in ("#map-township", "#map-village", "#map-grid"):
        page.page.click(ident)
        # Dash 4 dropdowns list their options in a popover outside the component.
        page.page.locator(".dash-dropdown-option").first.click()
        page.page.wait_for_timeout(300)
    page.page.wait_for_selector("#map-panel-code", timeout=15_000)
    _wait_summary_change(page, before)
    assert 0 <= _total(page) < county
    code = page.page.inner_text("#map-panel-code")
    assert int(page.page.inner_text("#map-panel-incidents")) == _total(page), code
    assert page.errors == []


def test_category_filter_changes_the_counts(page: PageRecord, server_url: str) -> None:
    _open(page, server_url)
    before = page.page.inner_text("#map-summary")
    fills_before = _fills(page)
    page.page.click("#map-group-button")
    page.page.wait_for_function(
        f"document.querySelector('#map-summary').innerText !== {before!r}", timeout=15_000
    )
    total = lambda text: int(re.search(r"\d+", text).group())  # noqa: E731
    assert 0 < total(page.page.inner_text("#map-summary")) < total(before)
    assert page.errors == []
    assert fills_before  # the grids were coloured before the change


def test_hour_filter_changes_the_counts(page: PageRecord, server_url: str) -> None:
    _open(page, server_url)
    before = page.page.inner_text("#map-summary")
    whole_day = _total(page)
    # The upper handle from 24 down to 18 with the keyboard: 00:00–18:00; then "outside the
    # range": 18:00–24:00.
    handles = page.page.locator("#map-hours [role='slider']")
    handles.nth(1).focus()
    for _ in range(6):
        page.page.keyboard.press("ArrowLeft")
    page.page.mouse.click(5, 5)  # the slider reports on release
    _wait_summary_change(page, before)
    assert page.page.inner_text("#map-hours-text") == "00:00–18:00"
    day = _total(page)
    assert 0 < day < whole_day
    page.page.locator("#map-hours-wrap input").check()
    page.page.wait_for_function(
        "document.querySelector('#map-hours-text').innerText === '18:00–24:00'", timeout=15_000
    )
    page.page.wait_for_function(
        f"!document.querySelector('#map-summary').innerText.startsWith('符合条件的案件 {day} ')",
        timeout=15_000,
    )
    evening = _total(page)
    # Windows crossing the band's edges count in neither band.
    assert evening > 0 and day + evening <= whole_day
    assert "整段" in page.page.inner_text("#map-summary")
    assert page.errors == []


def test_clicking_a_camera_draws_its_field_of_view(page: PageRecord, server_url: str) -> None:
    _open(page, server_url)
    assert page.page.locator(CAMERA_VIEW).count() == 0
    page.page.locator(CAMERAS).nth(3).dispatch_event("click")
    page.page.wait_for_selector("#map-camera-code", timeout=15_000)
    page.page.wait_for_selector(CAMERA_VIEW, timeout=15_000)
    assert page.page.locator(CAMERA_VIEW).count() == 1
    # The map flies to the camera, so that the wedge (tens of metres) is large enough to see.
    page.page.wait_for_function(
        "parseInt(document.querySelector('.leaflet-control-scale-line').innerText) <= 100 && "
        "document.querySelector('.leaflet-control-scale-line').innerText.endsWith(' m') && "
        f"document.querySelector({CAMERA_VIEW!r}).getBoundingClientRect().width > 40",
        timeout=15_000,
    )
    page.page.wait_for_timeout(800)  # the end of the flight, for the screenshot only
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
        "document.querySelector('#map-coords-mouse').innerText)",
        timeout=10_000,
    )

    def z(name: str) -> int:
        return int(page.page.eval_on_selector(f".leaflet-map-{name}-pane", "p => p.style.zIndex"))

    assert z("grids") < z("boundaries")
    page.page.locator('button[id*=\'"layer":"grids"\'][id*=\'"step":-1\']').click()
    page.page.wait_for_function(
        "Number(document.querySelector('.leaflet-map-grids-pane').style.zIndex) > "
        "Number(document.querySelector('.leaflet-map-boundaries-pane').style.zIndex)",
        timeout=10_000,
    )
    # The button moved the layer without switching it off.
    assert page.page.locator("#map-layers input[value='grids']").is_checked()
    assert page.errors == []


def test_layer_toggle_changes_what_is_drawn(page: PageRecord, server_url: str) -> None:
    _open(page, server_url)
    assert page.page.locator(CAMERAS).count() > 0
    page.page.locator("#map-layers input[value='cameras']").uncheck()
    page.page.wait_for_function(
        f"document.querySelectorAll({CAMERAS!r}).length === 0", timeout=15_000
    )
    assert page.page.locator(GRIDS).count() == 42
    assert page.errors == []


def test_language_switch_changes_the_labels(page: PageRecord, server_url: str) -> None:
    _open(page, server_url)
    assert page.page.inner_text("#map-label-category") == "案件类别"
    page.page.get_by_text("English", exact=True).click()
    page.page.wait_for_function(
        "document.querySelector('#map-label-category').innerText === 'Category'", timeout=15_000
    )
    assert page.page.inner_text("#app-nav-map") == "Map"
    assert page.page.inner_text("#map-label-hours") == "Hours of day"
    assert page.page.inner_text("#map-label-grid") == "Grid"
    page.page.wait_for_function(
        "document.querySelector('#map-panel-hint').innerText.startsWith('Click a grid')",
        timeout=15_000,
    )
    assert page.errors == []
