"""The ``pingan`` command line run as a user runs it: ``python -m pingan`` in a subprocess.

Each command gets ``PINGAN_DATABASE_URL`` (a database cloned from the test template) and
``PINGAN_HOME`` (a temporary directory, where the demo writes its truth file) and nothing
else of the caller's ``PINGAN_*`` settings. Reporting commands are read through ``--json``;
tables and messages are checked for the words a user reads.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import geopandas as gpd
import openpyxl
import pandas as pd
import pytest

from gis.db import Database
from gis.messages import catalogue
from layers import BASE_LAYERS

ROOT = Path(__file__).resolve().parents[2]
CAMERAS = Path("tests/data/chicago/red_light_camera_locations.csv")
MIXED = Path("tests/data/bad/incidents_mixed.csv")
TRUNCATED = Path("tests/data/bad/truncated.geojson")
CJK = re.compile(r"[\u4e00-\u9fff]")

Run = Callable[..., subprocess.CompletedProcess[str]]


def flat(text: str) -> str:
    """``text`` with every run of whitespace made one space, so wrapped output still matches."""
    return " ".join(text.split())


def cli_env(database_url: str, home: Path) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("PINGAN_", "FORCE_COLOR", "TTY_"))
    }
    env.update(
        PINGAN_DATABASE_URL=database_url,
        PINGAN_HOME=str(home),
        COLUMNS="200",
        NO_COLOR="1",
        PYTHONIOENCODING="utf-8",
    )
    return env


def make_runner(database_url: str, home: Path) -> Run:
    env = cli_env(database_url, home)

    def run(*args: str | Path, code: int | None = 0) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [sys.executable, "-m", "pingan", *map(str, args)],
            check=False,
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            encoding="utf-8",
            timeout=180,
        )
        if code is not None:
            assert result.returncode == code, (
                f"pingan {' '.join(map(str, args))} exited {result.returncode}\n"
                f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
            )
        if result.returncode == 0:
            assert "Traceback" not in result.stderr, result.stderr
        return result

    return run


def in_parallel(run: Run, *commands: tuple[str | Path, ...]) -> list[str]:
    """Run independent commands at once (each starts a Python interpreter); their stdouts."""
    with ThreadPoolExecutor(max_workers=len(commands)) as pool:
        return [r.stdout for r in pool.map(lambda args: run(*args), commands)]


def run_json(run: Run, *args: str | Path) -> Any:
    result = run(*args, "--json")
    return json.loads(result.stdout)


def assert_bilingual(reason: dict[str, Any]) -> None:
    assert CJK.search(reason["zh"]), reason
    assert re.search(r"[A-Za-z]{3}", reason["en"]) and reason["en"] != reason["zh"], reason


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pingan-home")


@pytest.fixture(scope="module")
def run(db_url: str, home: Path) -> Run:
    """``pingan`` against the module's database, where the demo county is built."""
    return make_runner(db_url, home)


@pytest.fixture(scope="module")
def run_raw(make_database: Callable[..., Database], home: Path) -> Run:
    """``pingan`` against an empty database, for imports of real files from elsewhere."""
    database = make_database("cli_raw")
    return make_runner(database.conninfo, home)


@pytest.fixture(scope="module")
def demo(run: Run) -> dict[str, Any]:
    """The report of ``pingan demo --small --json``, run once for the module."""
    report: dict[str, Any] = run_json(run, "demo", "--small")
    return report


@pytest.fixture(scope="module")
def exported(run: Run, demo: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's grids exported to every format, in one directory."""
    out = tmp_path_factory.mktemp("export")
    paths = [out / f"grids.{suffix}" for suffix in ("gpkg", "geojson", "csv", "xlsx")]
    outputs = in_parallel(run, *(("export", "layer", "grids", path) for path in paths))
    for path, output in zip(paths, outputs, strict=True):
        assert path.is_file(), output
        assert str(demo["database"]["grids"]) in output
    return out


# --- help and status ---------------------------------------------------------------------


def test_help_is_in_chinese_and_english(run: Run) -> None:
    messages = catalogue()
    root, db = map(flat, in_parallel(run, ("--help",), ("db", "--help")))
    for text, key in ((root, "cli.help"), (db, "cli.db.help")):
        assert messages[key]["zh"] in text and messages[key]["en"] in text, text
    for command in ("import", "export", "demo", "batches", "quarantine", "db"):
        assert command in root
    for command in ("init", "start", "stop", "status", "reset"):
        assert command in db


def test_db_status(run: Run, demo: dict[str, Any]) -> None:
    info = run_json(run, "--lang", "en", "db", "status")
    assert info["managed"] is False
    assert info["storage_srid"] == 4490
    assert info["timezone"] == "Asia/Shanghai"
    assert set(BASE_LAYERS) <= set(info["layers"])
    assert all(isinstance(n, int) for n in info["layers"].values())
    assert info["layers"] == demo["database"]
    assert info["layers"]["grids"] > 0

    table = run("db", "status").stdout
    assert "4490" in table and "Asia/Shanghai" in table
    assert "存储坐标系" in table and "网格" in table


def test_unknown_language_is_a_clear_error(run: Run) -> None:
    result = run("--lang", "fr", "db", "status", code=2)
    assert "--lang" in result.stderr and "'fr'" in result.stderr
    assert "Traceback" not in result.stderr


# --- demo --------------------------------------------------------------------------------


def test_demo_imports_every_layer_without_quarantine(demo: dict[str, Any], home: Path) -> None:
    assert demo["reused"] is False
    assert demo["options"]["small"] is True
    layers = demo["layers"]
    assert set(layers) == set(BASE_LAYERS)
    for name, info in layers.items():
        assert {"rows", "stored", "quarantined"} <= set(info), name
        assert info["quarantined"] == 0, (name, info)
        assert info["stored"] > 0, (name, info)
        assert info["stored"] + info["merged"] == info["rows"], (name, info)
    assert layers["incidents"]["stored"] > 1000
    for name in BASE_LAYERS:
        assert demo["database"][name] == layers[name]["stored"], name
    assert demo["database"]["quarantine"] == 0

    truth = Path(demo["truth"])
    assert truth == home / "demo" / "truth.json"
    planted = json.loads(truth.read_text(encoding="utf-8"))
    assert planted["small"] is True and planted["patterns"]
    # The overview and key-area pages have something to show at once.
    assert demo["seconds_analyses"] > 0


def test_demo_again_with_the_same_options_is_reused(run: Run, demo: dict[str, Any]) -> None:
    again = run_json(run, "demo", "--small")
    assert again["reused"] is True
    assert again["layers"] == demo["layers"]
    assert again["database"] == demo["database"]
    assert again["truth"] == demo["truth"]
    assert "seconds_analyses" not in again  # the derived layers are there already

    table = run("demo", "--small").stdout
    assert "复用" in table and "truth.json" in flat(table)


# --- import, batches and quarantine ------------------------------------------------------


def test_import_cameras_is_idempotent(run_raw: Run) -> None:
    first = run_json(run_raw, "import", "cameras", CAMERAS)
    assert first["source"] == CAMERAS.stem
    assert first["file_name"] == CAMERAS.name
    assert (first["rows"], first["inserted"], first["quarantined"]) == (149, 149, 0)

    again = run_json(run_raw, "import", "cameras", CAMERAS)
    assert again["source"] == CAMERAS.stem
    assert (again["inserted"], again["updated"], again["unchanged"]) == (0, 0, 149)
    assert again["batch_id"] > first["batch_id"]


def test_bad_rows_are_quarantined_and_listed(run_raw: Run) -> None:
    output = run_raw("import", "incidents", MIXED).stdout
    hint = re.search(r"pingan quarantine show (\d+)", output)
    assert hint, output
    batch_id = int(hint.group(1))
    assert "待核" in output and "incidents_mixed" in output

    batch = str(batch_id)
    batches, listed, shown, english, chinese = in_parallel(
        run_raw,
        ("batches", "--json"),
        ("quarantine", "list", "--json"),
        ("quarantine", "show", batch, "--json"),
        ("--lang", "en", "quarantine", "show", batch),
        ("quarantine", "show", batch),
    )
    recorded = next(b for b in json.loads(batches) if b["id"] == batch_id)
    assert (recorded["layer"], recorded["file_name"], recorded["source"]) == (
        "incidents",
        MIXED.name,
        MIXED.stem,
    )
    counts = recorded["counts"]
    quarantined = counts["quarantined"]
    assert quarantined >= 5
    assert counts["inserted"] + counts["merged"] + quarantined == 20

    summary = {q["batch_id"]: q for q in json.loads(listed)}
    assert summary[batch_id]["rows"] == quarantined
    assert summary[batch_id]["file_name"] == MIXED.name

    rows = json.loads(shown)
    assert len(rows) == quarantined
    by_row = {r["row_number"]: r for r in rows}
    # tests/data/bad/README.md: swapped axes, 30 February, a conflicting id, metres, 未知
    assert {8, 9, 10, 12, 16} <= set(by_row)
    for row in rows:
        assert row["raw"] and row["reasons"], row
        for reason in row["reasons"]:
            assert_bilingual(reason)
    assert re.search(r"\b3\b", by_row[10]["reasons"][0]["en"])  # names the row it repeats

    english, chinese = flat(english), flat(chinese)
    for row in rows:
        for reason in row["reasons"]:
            assert flat(reason["en"])[:40] in english, (reason, english)
            assert flat(reason["zh"])[:20] in chinese, (reason, chinese)
            assert flat(reason["zh"])[:20] not in english
    assert "Quarantined rows" in english and "待核数据" in chinese


def test_truncated_file_is_a_bilingual_error(run_raw: Run) -> None:
    result = run_raw("import", "incidents", TRUNCATED, code=2)
    assert "Traceback" not in result.stderr
    message = flat(result.stderr)
    assert message.count(TRUNCATED.name) >= 2, message  # once in each language
    assert "截断" in message and "truncated" in message
    batches = run_json(run_raw, "batches")
    assert TRUNCATED.name not in {b["file_name"] for b in batches}


def test_unknown_layer_is_named(run_raw: Run) -> None:
    result = run_raw("import", "nosuchlayer", "x.csv", code=None)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    message = flat(result.stderr)
    assert "nosuchlayer" in message and "incidents" in message, message
    assert CJK.search(message) and "there is no layer" in message

    missing = run_raw("import", "incidents", "no_such_file.csv", code=None)
    assert missing.returncode == 2
    assert "Traceback" not in missing.stderr
    assert "no_such_file.csv" in flat(missing.stderr)


# --- export ------------------------------------------------------------------------------


def test_export_geopackage_and_geojson(exported: Path, demo: dict[str, Any]) -> None:
    count = demo["database"]["grids"]
    gpkg = gpd.read_file(exported / "grids.gpkg", engine="pyogrio")
    assert len(gpkg) == count
    assert gpkg.crs.to_epsg() == 4490
    assert gpkg["code"].str.fullmatch(r"\d{15}").all()
    assert gpkg.geometry.is_valid.all() and not gpkg.geometry.is_empty.any()

    geojson = gpd.read_file(exported / "grids.geojson", engine="pyogrio")
    assert len(geojson) == count
    assert geojson.crs.to_epsg() == 4326
    assert sorted(geojson["code"]) == sorted(gpkg["code"])
    xmin, ymin, xmax, ymax = geojson.total_bounds
    assert -180 <= xmin < xmax <= 180 and -90 <= ymin < ymax <= 90
    assert abs(geojson.total_bounds - gpkg.total_bounds).max() < 1e-4  # CGCS2000 ~ WGS 84


def test_export_csv_and_xlsx(exported: Path, demo: dict[str, Any]) -> None:
    count = demo["database"]["grids"]
    raw = (exported / "grids.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "Excel needs the UTF-8 BOM to show Chinese"
    csv = pd.read_csv(exported / "grids.csv", encoding="utf-8-sig", dtype=str)
    assert len(csv) == count
    assert csv["code"].str.fullmatch(r"\d{15}").all()
    assert csv["name"].str.contains(CJK).all()
    assert csv["kind"].isin(["综合", "专属"]).all()
    assert csv["wkt"].str.startswith(("POLYGON", "MULTIPOLYGON")).all()

    xlsx = pd.read_excel(exported / "grids.xlsx", dtype=str)
    assert len(xlsx) == count
    assert xlsx["code"].tolist() == csv["code"].tolist()
    assert xlsx["name"].tolist() == csv["name"].tolist()
    sheet = openpyxl.load_workbook(exported / "grids.xlsx", read_only=True).active
    codes = [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert all(isinstance(code, str) for code in codes), "15-digit codes must stay text in Excel"


def test_export_by_area(run: Run, exported: Path, tmp_path: Path) -> None:
    grids = pd.read_csv(exported / "grids.csv", encoding="utf-8-sig", dtype=str)
    township = grids["code"].iloc[0][:9]
    expected = int(grids["code"].str.startswith(township).sum())
    assert 0 < expected < len(grids)

    path = tmp_path / "township.geojson"
    result = run("export", "layer", "grids", path, "--area", township)
    assert str(expected) in result.stdout
    part = gpd.read_file(path, engine="pyogrio")
    assert len(part) == expected
    assert part["code"].str.startswith(township).all()
