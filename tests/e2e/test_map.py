"""The map page in a real browser, against the small demo county."""

from __future__ import annotations

import re

from tests.e2e.conftest import PageRecord

GRIDS = ".leaflet-map-grids-pane path.leaflet-interactive"
CAMERAS = ".leaflet-map-cameras-pane path.leaflet-interactive"


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


def test_clicking_a_grid_opens_its_panel(page: PageRecord, server_url: str) -> None:
    _open(page, server_url)
    page.page.locator(GRIDS).first.dispatch_event("click")
    page.page.wait_for_selector("#map-panel-code", timeout=15_000)
    code = page.page.inner_text("#map-panel-code")
    assert re.fullmatch(r"\d{15}", code), code
    staff = page.page.inner_text("#map-panel-staff")
    assert re.search(r"1\d{10}|\d{3,4}-\d{7,8}|\*{4}", staff), staff  # phones are shown
    assert int(page.page.inner_text("#map-panel-incidents")) >= 0
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
    assert page.page.inner_text("#app-nav") == "Map"
    assert page.errors == []
