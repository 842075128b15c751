"""The 总览 Overview page in a real browser, on the small demo county with its derived layers."""

from __future__ import annotations

from typing import Any

import layers
from dashboard._analysis_data import GRADE_COLOURS
from tests.e2e.conftest import WAIT_MS, PageRecord

GRADES = ".leaflet-overview-grades-pane path.leaflet-interactive"


def _open(record: PageRecord, url: str) -> None:
    record.page.goto(url + "/overview")
    record.page.wait_for_selector("#overview-kpi-incidents", timeout=30_000)
    record.page.wait_for_selector(GRADES, timeout=30_000)
    record.page.wait_for_timeout(400)


def test_overview_shows_the_figures_and_the_grade_map(
    page: PageRecord, analysis_url: str, analysed_db: Any
) -> None:
    _open(page, analysis_url)
    month = layers.risk_months(db=analysed_db)[-1]
    kpis = layers.kpis(month=month, db=analysed_db)
    # The latest graded month is chosen, and its figures are those of layers.kpis.
    assert page.page.inner_text("#overview-kpi-incidents") == f"{kpis['incidents']:,}"
    assert page.page.inner_text("#overview-kpi-group") == f"{kpis['robbery_theft']:,}"
    assert page.page.inner_text("#overview-kpi-key-areas") == str(kpis["open_key_areas"])
    assert page.page.inner_text("#overview-kpi-cameras") == str(kpis["cameras_offline"])
    # Every grid of the county is drawn in one of the four grade colours.
    grids = page.page.locator(GRADES)
    assert grids.count() == 42
    fills = set(page.page.eval_on_selector_all(GRADES, "ps => ps.map(p => p.getAttribute('fill'))"))
    assert fills <= set(GRADE_COLOURS.values()) and len(fills) >= 2, fills
    legend = page.page.inner_text("#overview-legend")
    assert "蓝" in legend and "红" in legend
    # The open key areas are listed, each linking to the register.
    assert page.page.locator("#overview-open-list li").count() >= 1
    page.screenshot("overview")
    assert page.errors == []
    assert page.hosts == {"127.0.0.1"}


def test_clicking_a_grid_explains_its_grade(page: PageRecord, analysis_url: str) -> None:
    _open(page, analysis_url)
    page.page.locator(GRADES).nth(3).dispatch_event("click")
    page.page.wait_for_selector("#overview-panel-factors", timeout=WAIT_MS)
    # Six indicators, the largest contribution first, and the grade's explanation.
    assert page.page.locator("#overview-panel-factors tbody tr").count() == 6
    assert "得分" in page.page.inner_text("#overview-panel-explanation")
    grade = page.page.inner_text("#overview-panel-grade")
    assert grade in {"蓝色", "黄色", "橙色", "红色"}, grade
    page.screenshot("overview_grid_breakdown")
    # The language switch changes the labels and the explanation.
    page.page.click("text=English")
    page.page.wait_for_function(
        "document.querySelector('#overview-map-title').innerText.includes('Four-colour')",
        timeout=WAIT_MS,
    )
    page.page.wait_for_function(
        "document.querySelector('#overview-panel-explanation').innerText.includes('score')",
        timeout=WAIT_MS,
    )
    page.screenshot("overview_en")
    assert page.errors == []
