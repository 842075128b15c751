"""The 热点 Hotspots page in a real browser: running a Gi* analysis in the background."""

from __future__ import annotations

import re

from dashboard._hotspot_data import GI_BIN_COLOURS
from tests.e2e.conftest import WAIT_MS, PageRecord

CELLS = ".leaflet-hotspots-cells-pane path.leaflet-interactive"
HOT = {GI_BIN_COLOURS[b] for b in (1, 2, 3)}


def _fills(record: PageRecord) -> list[str]:
    return record.page.eval_on_selector_all(CELLS, "ps => ps.map(p => p.getAttribute('fill'))")


def test_running_gi_star_shows_hot_cells(page: PageRecord, analysis_url: str) -> None:
    pg = page.page
    pg.goto(analysis_url + "/hotspots")
    pg.wait_for_selector("#hotspots-run-button", timeout=WAIT_MS)
    # The earlier run of the fixture is shown first.
    pg.wait_for_selector("#hotspots-f-run", timeout=WAIT_MS)
    before = pg.inner_text("#hotspots-f-run")
    # Gi* on H3 cells (resolution 9) of the 两抢一盗 group (chosen by default), whole period.
    pg.click("#hotspots-unit >> text=H3")
    pg.click("#hotspots-run-button")
    pg.wait_for_selector("#hotspots-done", timeout=4 * WAIT_MS)
    pg.wait_for_function(
        f"document.querySelector('#hotspots-f-run').innerText !== {before!r}", timeout=WAIT_MS
    )
    run = pg.inner_text("#hotspots-f-run")
    assert re.match(r"#\d+ 热点", run), run
    pg.wait_for_selector(CELLS, timeout=WAIT_MS)
    fills = _fills(page)
    hot = [f for f in fills if f in HOT]
    # The demo county's planted robbery and theft hot spots come out as hot cells.
    assert len(hot) >= 5, sorted(set(fills))
    assert int(pg.inner_text("#hotspots-f-hot")) == len(hot)
    # The run log, the hour × weekday table, the clusters and the Knox table of the same run.
    assert pg.locator("#hotspots-log-lines li").count() >= 2
    pg.wait_for_selector("#hotspots-heat-graph .main-svg", timeout=WAIT_MS)
    assert pg.locator("#hotspots-knox-table tbody tr").count() == 6
    assert pg.locator(".leaflet-hotspots-clusters-pane path").count() >= 1
    page.screenshot("hotspots_gi")
    assert page.errors == [], sorted(set(e[:300] for e in page.errors))[:8]
    assert page.hosts == {"127.0.0.1"}


def test_emerging_run_colours_cells_by_category(page: PageRecord, analysis_url: str) -> None:
    pg = page.page
    pg.goto(analysis_url + "/hotspots")
    pg.wait_for_selector("#hotspots-f-run", timeout=WAIT_MS)
    pg.click("#hotspots-method >> text=时空热点")
    pg.click("#hotspots-unit >> text=H3")
    pg.click("#hotspots-run-button")
    pg.wait_for_selector("#hotspots-done", timeout=4 * WAIT_MS)
    pg.wait_for_function(
        "document.querySelector('#hotspots-f-run').innerText.includes('时空热点')", timeout=WAIT_MS
    )
    legend = pg.inner_text("#hotspots-legend")
    assert "持续热点" in legend or "连续热点" in legend or "新热点" in legend, legend
    page.screenshot("hotspots_emerging")
    assert page.errors == []
