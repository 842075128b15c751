"""The 重点地区 Key areas page in a real browser: the register, a refused move with its
bilingual message, and a move from 发现 to 挂牌 with a deadline that shows in the history."""

from __future__ import annotations

from typing import Any

import layers
from tests.e2e.conftest import WAIT_MS, PageRecord

AREAS = ".leaflet-keyareas-areas-pane path.leaflet-interactive"
INCIDENTS = ".leaflet-keyareas-incidents-pane path.leaflet-interactive"


def test_register_and_workflow(page: PageRecord, analysis_url: str, analysed_db: Any) -> None:
    register = layers.read_key_areas(db=analysed_db)
    found = register[register["status"] == "found"].sort_values("id")
    overdue_id, chosen_id = int(found["id"].iloc[0]), int(found["id"].iloc[1])
    # One area listed with a deadline already past: the register highlights it as overdue.
    layers.transition_key_area(
        overdue_id,
        to_status="listed",
        deadline="2026-01-31",
        responsible_unit="城关派出所",
        db=analysed_db,
    )
    pg = page.page
    pg.goto(analysis_url + "/key-areas")
    pg.wait_for_selector("#keyareas-table", timeout=30_000)
    assert pg.locator("#keyareas-table tbody tr").count() == len(register)
    assert "overdue" in (pg.get_attribute(f"#keyareas-row-{overdue_id}", "class") or "")
    assert "逾期: 1" in pg.inner_text("#keyareas-overdue-count")
    pg.wait_for_selector(AREAS, timeout=30_000)
    page.screenshot("key_areas_register")

    # Open an area: its workflow, evidence figures and evidence map.
    pg.click(f"#keyareas-row-{chosen_id} button")
    pg.wait_for_selector("#keyareas-workflow .wf-current", timeout=WAIT_MS)
    assert pg.inner_text("#keyareas-workflow .wf-current") == "发现"
    evidence = pg.inner_text("#keyareas-evidence")
    observed = register.set_index("id").loc[chosen_id, "evidence"]["observed"]
    assert "观测案件数" in evidence and str(observed) in evidence, evidence
    pg.wait_for_selector(INCIDENTS, timeout=WAIT_MS)
    assert pg.locator(INCIDENTS).count() >= 1

    # Listing needs a deadline and a responsible unit: refused, in both languages.
    pg.click("#keyareas-submit")
    pg.wait_for_selector("#keyareas-error", timeout=WAIT_MS)
    error = pg.inner_text("#keyareas-error")
    assert any("\u4e00" <= ch <= "\u9fff" for ch in error) and any(
        ch.isascii() and ch.isalpha() for ch in error
    )
    page.screenshot("key_areas_refused")

    # 发现 → 挂牌 with a deadline and a unit.
    pg.fill("#keyareas-deadline", "2027-03-31")
    pg.fill("#keyareas-unit", "清河派出所")
    pg.fill("#keyareas-note", "挂牌整治, 每周巡查")
    pg.fill("#keyareas-actor", "王警官")
    pg.click("#keyareas-submit")
    pg.wait_for_selector("#keyareas-ok", timeout=WAIT_MS)
    pg.wait_for_function(
        "document.querySelector('#keyareas-workflow .wf-current').innerText === '挂牌'",
        timeout=WAIT_MS,
    )
    history = pg.inner_text("#keyareas-history")
    assert "发现 → 挂牌" in history and "2027-03-31" in history and "王警官" in history, history
    row = pg.inner_text(f"#keyareas-row-{chosen_id}")
    assert "挂牌" in row and "2027-03-31" in row and "清河派出所" in row, row
    stored = layers.read_key_areas(db=analysed_db).set_index("id").loc[chosen_id]
    assert stored["status"] == "listed" and str(stored["deadline"]) == "2027-03-31"
    page.screenshot("key_areas_listed")
    assert page.errors == []
    assert page.hosts == {"127.0.0.1"}


def test_key_areas_are_a_layer_of_the_main_map(
    page: PageRecord, analysis_url: str, analysed_db: Any
) -> None:
    register = layers.read_key_areas(db=analysed_db)
    n_open = int((register["status"] != "delisted").sum())
    pg = page.page
    pg.goto(analysis_url + "/")
    pg.wait_for_selector(".leaflet-map-grids-pane path.leaflet-interactive", timeout=30_000)
    shapes = ".leaflet-map-keyareas-pane path"
    # Registered in dashboard.map_layers, off until ticked.
    assert pg.locator(shapes).count() == 0
    pg.locator("#map-layers input[value='keyareas']").check()
    pg.wait_for_selector(shapes, timeout=WAIT_MS)
    assert pg.locator(shapes).count() == n_open
    page.screenshot("map_key_areas")
    assert page.errors == []
