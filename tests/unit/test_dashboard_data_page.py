"""The 数据 Data page without a database: uploads, background jobs, data shaping, widgets
and the thin callbacks as plain functions."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from dash import no_update

from dashboard import _imports, _jobs
from dashboard.app import create_app
from dashboard.components import batch_table, commit_summary, preview_panel, quarantine_panel
from gis.errors import ValidationError
from gis.messages import both
from layers.preview import suggested_fixes


def _data_url(data: bytes) -> str:
    return "data:text/csv;base64," + base64.b64encode(data).decode()


def _text(component: Any) -> str:
    """Every string inside a Dash component tree."""
    if component is None:
        return ""
    if isinstance(component, str | int | float):
        return str(component)
    if isinstance(component, list | tuple):
        return " ".join(_text(c) for c in component)
    return _text(getattr(component, "children", None))


def _ids(component: Any) -> list[Any]:
    if isinstance(component, list | tuple):
        return [i for c in component for i in _ids(c)]
    if component is None or isinstance(component, str | int | float):
        return []
    own = [component.id] if getattr(component, "id", None) is not None else []
    return own + _ids(getattr(component, "children", None))


SESSION = "0123456789abcdef0123456789abcdef"


# -- uploads ------------------------------------------------------------------------------


def test_file_names_lose_their_folders_and_need_a_known_format() -> None:
    assert _imports.safe_file_name("../../etc/台账_2026-10.csv") == "台账_2026-10.csv"
    assert _imports.safe_file_name("C:\\Users\\me\\cameras.ZIP") == "cameras.ZIP"
    with pytest.raises(ValidationError) as info:
        _imports.safe_file_name("notes.docx")
    assert "notes.docx" in str(info.value) and ".csv" in str(info.value)
    with pytest.raises(ValidationError):
        _imports.safe_file_name(".csv")


def test_sessions_are_ids_not_paths(tmp_path: Path) -> None:
    assert _imports.session_folder(SESSION, root=tmp_path) == tmp_path / SESSION
    assert len(_imports.new_session()) == 32
    for bad in ("../x", "", None, SESSION + "/.."):
        with pytest.raises(ValidationError):
            _imports.session_folder(bad, root=tmp_path)  # type: ignore[arg-type]


def test_uploads_over_the_limit_are_refused_before_decoding() -> None:
    with pytest.raises(ValidationError) as info:
        _imports.decode_upload(_data_url(b"x" * 5000), name="big.csv", max_bytes=4000)
    assert info.value.key == "dashboard.data.too_large"
    assert "pingan import" in info.value.en
    assert _imports.decode_upload(_data_url(b"x" * 4000), name="ok.csv", max_bytes=4000) == (
        b"x" * 4000
    )
    with pytest.raises(ValidationError) as bad:
        _imports.decode_upload("data:text/csv;base64,@@@", name="x.csv")
    assert bad.value.key == "dashboard.data.bad_upload"


def test_a_new_upload_replaces_the_last_and_a_commit_discards_it(tmp_path: Path) -> None:
    first = _imports.save_upload(SESSION, "a.csv", _data_url(b"1,2\n"), root=tmp_path)
    assert first == _imports.Upload(name="a.csv", size=4)
    assert _imports.upload_path(SESSION, "a.csv", root=tmp_path).read_bytes() == b"1,2\n"
    _imports.save_upload(SESSION, "b.geojson", _data_url(b"{}"), root=tmp_path)
    assert sorted(p.name for p in (tmp_path / SESSION / "files").iterdir()) == ["b.geojson"]
    with pytest.raises(ValidationError) as info:
        _imports.upload_path(SESSION, "a.csv", root=tmp_path)
    assert info.value.key == "dashboard.data.upload_gone"
    _imports.discard_uploads(tmp_path / SESSION)
    assert not (tmp_path / SESSION / "files").exists()


def test_old_sessions_are_swept(tmp_path: Path) -> None:
    old, fresh = "a" * 32, "b" * 32
    for session in (old, fresh):
        _imports.save_upload(session, "x.csv", _data_url(b"x"), root=tmp_path)
    long_ago = time.time() - (_imports.SESSION_HOURS + 1) * 3600
    for path in [*(tmp_path / old).rglob("*"), tmp_path / old]:
        os.utime(path, (long_ago, long_ago))
    (tmp_path / "not-a-session").mkdir()
    assert _imports.sweep(tmp_path) == [tmp_path / old]
    assert sorted(p.name for p in tmp_path.iterdir()) == [fresh, "not-a-session"]


# -- background jobs ----------------------------------------------------------------------


def _wait(folder: Path, job: str) -> dict[str, Any]:
    for thread in threading.enumerate():
        if thread.name.endswith(job):
            thread.join()
    state = _jobs.status(folder, job)
    assert state is not None
    return state


def test_a_job_reports_progress_then_its_result(tmp_path: Path) -> None:
    go = threading.Event()

    def work(progress: _jobs.Progress) -> dict[str, Any]:
        progress("halfway", 0.5)
        go.wait()
        return {"answer": 42}

    job = _jobs.start(tmp_path, work, language="en", kind="test")
    for _ in range(2000):  # the thread may not have reported yet
        if (_jobs.status(tmp_path, job) or {}).get("stage") == "halfway":
            break
        time.sleep(0.01)
    running = _jobs.status(tmp_path, job)
    assert running is not None
    assert (running["state"], running["fraction"]) == (_jobs.RUNNING, 0.5)
    go.set()
    done = _wait(tmp_path, job)
    assert (done["state"], done["result"]) == (_jobs.DONE, {"answer": 42})
    assert _jobs.status(tmp_path, "0" * 16) is None


def test_a_failed_job_carries_its_message_in_both_languages(tmp_path: Path) -> None:
    def refused(_progress: _jobs.Progress) -> dict[str, Any]:
        raise ValidationError("dashboard.data.upload_gone", name="x.csv")

    def broken(_progress: _jobs.Progress) -> dict[str, Any]:
        raise RuntimeError("disk on fire")

    state = _wait(tmp_path, _jobs.start(tmp_path, refused, language="zh"))
    assert state["state"] == _jobs.FAILED
    assert "x.csv" in state["error"]["zh"] and "upload it again" in state["error"]["en"]
    state = _wait(tmp_path, _jobs.start(tmp_path, broken, language="zh"))
    assert "disk on fire" in state["error"]["en"] and "服务器日志" in state["error"]["zh"]


def test_a_job_whose_process_is_gone_is_not_running_forever(tmp_path: Path) -> None:
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    _jobs._write(
        _jobs._path(tmp_path, "abc"), {"id": "abc", "state": _jobs.RUNNING, "pid": int(gone.stdout)}
    )
    state = _jobs.status(tmp_path, "abc")
    assert state is not None and state["state"] == _jobs.FAILED
    assert "restarted" in state["error"]["en"]


# -- shaping ------------------------------------------------------------------------------


def test_one_language_splits_bilingual_texts() -> None:
    offset = both("layers.offset_converted", datum="gcj02")  # " / " inside the Chinese too
    zh, en = (_imports.one_language(offset, lang) for lang in ("zh", "en"))
    assert zh.startswith("坐标已从 gcj02") and "WGS 84 / CGCS2000" in zh
    assert en.startswith("coordinates were converted from gcj02 to WGS 84 / CGCS2000")
    assert f"{zh} / {en}" == offset
    assert _imports.one_language("只有中文", "en") == "只有中文"
    named = "文件 台账.csv 有误 / the file 台账.csv is wrong"  # Chinese on both sides
    assert _imports.one_language(named, "en") == named


def test_rows_and_reasons_as_text() -> None:
    assert _imports.raw_text({"编号": "A1", "经度": None}) == "编号: A1 · 经度: "
    assert len(_imports.raw_text({"x": "y" * 500}, limit=50)) == 50
    reasons = [{"key": "k", "zh": "坐标为空", "en": "empty"}, {"key": "j", "zh": "日期", "en": ""}]
    assert _imports.reasons_text(reasons, language="en") == "empty; 日期"
    assert [_imports.size_text(n) for n in (856, 1843, 5 * 1024 * 1024)] == [
        "856 B",
        "1.8 KB",
        "5.0 MB",
    ]


def test_layer_options_follow_the_base_layers() -> None:
    zh = _imports.layer_options(language="zh")
    en = _imports.layer_options(language="en")
    assert [o["value"] for o in zh] == [o["value"] for o in en]
    assert {"label": "警情案件 (incidents)", "value": "incidents"} in zh
    assert {"label": "incidents", "value": "incidents"} in en


def test_parse_options_treats_blank_text_as_not_given() -> None:
    options = _imports.parse_options("cameras", "c.csv", "  ", ["swap"], "")
    assert options == _imports.ImportOptions("cameras", "c.csv", None, True, None)
    assert _imports.ImportOptions(**options.as_dict()) == options
    with pytest.raises(ValidationError):
        _imports.parse_options(None, "c.csv", None, None, None)


def test_batch_rows_flatten_the_counts() -> None:
    (row,) = _imports.batch_rows(
        [
            {
                "id": 7,
                "layer": "incidents",
                "source": "s",
                "file_name": None,
                "started_at": datetime(2026, 3, 1, 9, 5),
                "counts": {"rows": 10, "inserted": 8, "quarantined": 2},
            }
        ]
    )
    assert row["started"] == "2026-03-01 09:05" and row["inserted"] == 8 and row["updated"] is None


def test_suggested_fixes() -> None:
    gcj = both("crs.gcj02_offset", raw_m=265.2, fixed_m=0.4)
    bd = both("crs.bd09_offset", raw_m=700.0, fixed_m=1.0)
    assert suggested_fixes([gcj], Counter(), rows=10) == ["gcj02"]
    assert suggested_fixes([bd], Counter(), rows=10) == ["bd09"]
    swapped = Counter({"layers.swapped_axes": 6, "layers.projected_without_crs": 1})
    assert suggested_fixes([], swapped, rows=10) == ["swap_axes", "crs"]
    assert suggested_fixes([], Counter({"layers.swapped_axes": 1}), rows=10) == []


# -- widgets ------------------------------------------------------------------------------

PREVIEW = {
    "options": {"layer": "incidents", "file_name": "e.csv"},
    "preview": {
        "layer": "incidents",
        "file_name": "e.csv",
        "source": "e",
        "rows": 10,
        "accepted": 8,
        "merged": 0,
        "quarantined": 2,
        "other_category": 1,
        "source_crs": "EPSG:4490 (assumed)",
        "warnings": [both("crs.gcj02_offset", raw_m=265.2, fixed_m=0.4)],
        "rejects": [
            {
                "row_number": 6,
                "source_id": "E-6",
                "raw": {"编号": "E-6"},
                "reasons": [{"key": "layers.bad_date", "zh": "日期不存在", "en": "no such date"}],
            }
        ],
        "reason_counts": [
            {"key": "layers.bad_date", "rows": 2, "zh": "日期不存在", "en": "no such date"}
        ],
        "suggestions": ["gcj02", "bd09", "swap_axes", "crs"],
    },
}


@pytest.mark.parametrize("language", ["zh", "en"])
def test_preview_panel_shows_counts_warnings_fixes_and_rejects(language: Any) -> None:
    panel = preview_panel(PREVIEW, language=language)
    ids = _ids(panel)
    for ident in (
        "data-preview-rows",
        "data-preview-quarantined",
        "data-preview-crs",
        "data-rejects",
    ):
        assert ident in ids
    fixes = [i["fix"] for i in ids if isinstance(i, dict) and i.get("type") == "data-fix"]
    assert fixes == ["gcj02", "bd09", "swap_axes"]  # "crs" is a hint, not a button
    text = _text(panel)
    assert ("GCJ-02" in text) and ("no such date" in text) == (language == "en")
    assert ("请加 --crs gcj02" in text) == (language == "zh")


def test_commit_summary_and_batch_tables() -> None:
    summary = {
        "batch_id": 12,
        "source": "e",
        "rows": 10,
        "inserted": 8,
        "updated": 0,
        "unchanged": 0,
        "merged": 0,
        "quarantined": 2,
        "other_category": 0,
        "warnings": [],
        "source_crs": "EPSG:4490",
        "seconds": 0.3,
    }
    shown = commit_summary(summary, language="en")
    assert "Imported: batch 12" in _text(shown)
    assert {"data-summary-inserted", "data-summary-quarantined"} <= set(_ids(shown))
    rows = [{"id": 12, "layer": "incidents", "source": "e", "rows": 10, "quarantined": 2}]
    table = batch_table(rows, selected=12, language="zh")
    assert {"type": "data-batch-link", "batch": 12} in _ids(table) and "警情案件" in _text(table)
    assert "还没有" in _text(batch_table([], selected=None, language="zh"))
    empty = quarantine_panel(12, [], shown=200, language="en")
    assert "no quarantined rows" in _text(empty)


# -- callbacks as plain functions ----------------------------------------------------------


@pytest.fixture(scope="module")
def data_page() -> Any:
    create_app()  # registers the pages; their callbacks are plain functions
    from dashboard.pages import data as page

    return page


def test_page_is_registered_after_the_map(data_page: Any) -> None:
    import dash

    page = dash.page_registry["dashboard.pages.data"]
    assert (page["path"], page["order"], page["label_key"]) == ("/data", 1, "dashboard.nav.data")
    ids = _ids(data_page.layout())
    assert all(isinstance(i, dict) or i.startswith("data-") for i in ids)


def test_translate_and_describe_the_file(data_page: Any, tmp_path: Path, monkeypatch: Any) -> None:
    labels = data_page.translate("en")
    assert "Layer" in labels and "Commit import" in labels
    assert data_page.translate("zh")[1] == "图层"
    monkeypatch.setattr(_imports, "UPLOAD_ROOT", tmp_path)
    file, contents = data_page.receive_upload(_data_url(b"a,b\n"), "台账_10月.csv", SESSION)
    assert file == {"name": "台账_10月.csv", "size": 4} and contents is None
    status, placeholder = data_page.describe_file(file, "en")
    assert "台账_10月.csv" in _text(status) and placeholder == "default: 台账_10月"
    refused, _ = data_page.receive_upload(_data_url(b"x"), "notes.docx", SESSION)
    status, _ = data_page.describe_file(refused, "zh")
    assert status.id == "data-upload-error" and "notes.docx" in status.children


def test_nothing_runs_without_a_file(data_page: Any) -> None:
    assert data_page.start_preview(None, "incidents", None, [], None, SESSION, "zh") == (None, True)
    hint, stop, disabled = data_page.show_preview(None, None, None, "en", SESSION)
    assert "upload a file" in _text(hint) and stop and disabled
    assert data_page.show_commit(None, None, "en", None, SESSION) == (None, True, no_update)
    assert data_page.show_quarantine(None, "zh") is None
