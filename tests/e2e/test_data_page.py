"""The 数据 Data page in a real browser: upload, validation preview, commit, batches and the
quarantine, against the small demo county."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import layers
from tests.e2e.conftest import PageRecord

SOURCE = "e2e_incidents"
GOOD_ROWS = 8


@pytest.fixture(scope="module")
def incidents_csv(demo_db: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Ten incidents at the demo county's grids: eight good, then an impossible date (line 6)
    and empty coordinates (line 9), as a user's ledger would have them."""
    grids = layers.read("grids", db=demo_db)
    points = grids.geometry.representative_point().iloc[:GOOD_ROWS]
    rows = [
        {
            "编号": f"E2E-{i:03d}",
            "类别": ("盗窃", "抢劫", "抢夺", "入室盗窃")[i % 4],
            "发案时间": f"2026-03-{i + 1:02d} 21:{10 + i}:00",
            "地址": f"演示县测试路 {i + 1} 号",
            "经度": round(p.x, 6),
            "纬度": round(p.y, 6),
        }
        for i, p in enumerate(points)
    ]
    bad_date = {**rows[0], "编号": "E2E-BAD-DATE", "发案时间": "2026-02-30 10:00:00"}
    no_coordinates = {**rows[1], "编号": "E2E-NO-XY", "经度": "", "纬度": ""}
    rows = [*rows[:4], bad_date, *rows[4:6], no_coordinates, *rows[6:]]
    path = tmp_path_factory.mktemp("upload") / f"{SOURCE}.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def _open(record: PageRecord, url: str) -> None:
    record.page.goto(url + "/data")
    record.page.wait_for_selector("#data-upload input[type=file]", state="attached")
    record.page.wait_for_selector("#data-batches table, #data-batches p")
    record.settle()


def _upload(record: PageRecord, path: Path) -> None:
    record.page.set_input_files("#data-upload input[type=file]", str(path))
    record.page.wait_for_selector(
        "#data-preview-rows, #data-preview-error, #data-upload-error", timeout=120_000
    )


def test_upload_preview_commit_and_quarantine(
    page: PageRecord, server_url: str, demo_db: Any, incidents_csv: Path
) -> None:
    _open(page, server_url)
    pg = page.page
    assert pg.is_disabled("#data-commit-button")
    _upload(page, incidents_csv)
    assert pg.inner_text("#data-preview-rows") == "10"
    assert pg.inner_text("#data-preview-accepted") == str(GOOD_ROWS)
    assert pg.inner_text("#data-preview-quarantined") == "2"
    rejects = pg.locator("#data-rejects tbody tr")
    assert rejects.count() == 2
    first, second = rejects.nth(0).inner_text(), rejects.nth(1).inner_text()
    assert first.startswith("6") and "E2E-BAD-DATE" in first and "2026-02-30" in first
    assert second.startswith("9") and "E2E-NO-XY" in second and "坐标" in second
    assert pg.inner_text("#data-preview-crs").startswith("EPSG:")
    # Nothing is written before the commit.
    assert layers.read("incidents", db=demo_db).query("source == @SOURCE").empty
    page.screenshot("data_preview_zh")

    pg.wait_for_selector("#data-commit-button:not([disabled])")
    pg.click("#data-commit-button")
    pg.wait_for_selector("#data-summary-inserted", timeout=180_000)
    assert pg.inner_text("#data-summary-inserted") == str(GOOD_ROWS)
    assert pg.inner_text("#data-summary-quarantined") == "2"
    assert pg.inner_text("#data-summary-source") == SOURCE
    stored = layers.read("incidents", db=demo_db).query("source == @SOURCE")
    assert sorted(stored["source_id"]) == [f"E2E-{i:03d}" for i in range(GOOD_ROWS)]

    # The batch is listed and selected; its quarantine shows the two rejected rows.
    batch = int(pg.inner_text("#data-summary-title").split()[-1])
    pg.wait_for_selector(f"#data-batch-{batch}")
    assert SOURCE in pg.inner_text(f"#data-batch-{batch}")
    pg.wait_for_selector("#data-quarantine-rows")
    quarantined = pg.locator("#data-quarantine-rows tbody tr")
    assert quarantined.count() == 2
    assert "E2E-NO-XY" in quarantined.nth(1).inner_text()
    assert pg.is_disabled("#data-commit-button")  # committed once
    page.screenshot("data_committed_zh")
    assert page.errors == []
    assert page.hosts == {"127.0.0.1"}, sorted(page.requests)


def test_clicking_a_batch_shows_its_quarantine(page: PageRecord, server_url: str) -> None:
    _open(page, server_url)
    pg = page.page
    links = pg.locator("#data-batches button.data-link")
    assert links.count() >= 1
    links.first.click()
    # The quarantine and the highlighted row are drawn by two callbacks of the choice.
    pg.wait_for_selector("#data-quarantine h4")
    pg.wait_for_selector("#data-batches tr.selected")
    page.settle()
    assert pg.locator("#data-batches tr.selected").count() == 1
    assert page.errors == []


def test_data_page_language_switch_changes_the_labels(
    page: PageRecord, server_url: str, incidents_csv: Path
) -> None:
    _open(page, server_url)
    pg = page.page
    assert pg.inner_text("#data-label-layer") == "图层"
    _upload(page, incidents_csv)
    pg.get_by_text("English", exact=True).click()
    pg.wait_for_function("document.querySelector('#data-label-layer').innerText === 'Layer'")
    pg.wait_for_function(
        "document.querySelector('.data-preview h3').innerText.startsWith('Validation preview')"
    )
    assert pg.inner_text("#app-nav-data") == "Data"
    assert "Would import" in pg.inner_text(".data-counts")
    assert "does not exist" in pg.inner_text("#data-rejects")  # layers.bad_date in English
    page.screenshot("data_preview_en")
    assert page.errors == []


def test_gcj02_warning_and_its_fix(
    page: PageRecord, server_url: str, demo_db: Any, tmp_path: Path
) -> None:
    """Incidents taken from a phone map (GCJ-02): the preview warns and offers the fix."""
    from gis.crs import wgs84_to_gcj02

    places = layers.read("places", db=demo_db)
    lon, lat = wgs84_to_gcj02(places.geometry.x.to_numpy(), places.geometry.y.to_numpy())
    path = tmp_path / "amap_incidents.csv"
    pd.DataFrame(
        {
            "编号": [f"GCJ-{i}" for i in range(len(lon))],
            "类别": "盗窃",
            "发案时间": "2026-03-01 10:00:00",
            "经度": lon,
            "纬度": lat,
        }
    ).to_csv(path, index=False)
    _open(page, server_url)
    pg = page.page
    _upload(page, path)
    assert "GCJ-02" in pg.inner_text("#data-preview-warnings")
    fix = pg.locator(".data-fix")
    assert fix.count() == 1
    page.screenshot("data_gcj02_warning")
    fix.click()
    pg.wait_for_function(
        "document.querySelector('#data-preview-crs') && "
        "document.querySelector('#data-preview-crs').innerText === 'gcj02'",
        timeout=120_000,
    )
    assert pg.input_value("#data-crs") == "gcj02"
    assert pg.locator(".data-fix").count() == 0
    assert pg.inner_text("#data-preview-quarantined") == "0"
    assert pg.inner_text("#data-preview-accepted") == str(len(lon))
    assert page.errors == []


def test_debug_server_renders_the_page_with_no_errors(
    page: PageRecord, debug_server_url: str, incidents_csv: Path
) -> None:
    """Dash's dev tools check every callback against the layout: none may complain."""
    _open(page, debug_server_url)
    _upload(page, incidents_csv)
    assert page.page.inner_text("#data-preview-quarantined") == "2"
    # Away to the map and back: no callback of one page may fire for the other.
    page.page.click("#app-nav-map")
    page.page.wait_for_selector("#map-map")
    page.settle()
    page.page.click("#app-nav-data")
    page.page.wait_for_selector("#data-upload")
    page.settle()
    assert page.errors == []
    assert page.hosts == {"127.0.0.1"}, sorted(page.requests)


def test_unsupported_file_is_refused_with_a_clear_error(
    page: PageRecord, server_url: str, tmp_path: Path
) -> None:
    _open(page, server_url)
    notes = tmp_path / "notes.docx"
    notes.write_bytes(b"not a table")
    _upload(page, notes)
    error = page.page.inner_text("#data-upload-error")
    assert "notes.docx" in error and ".csv" in error
    assert page.page.is_disabled("#data-commit-button")
    assert page.errors == []
