"""``pingan analyze …`` end to end: a real process against a database holding the small demo
county; summaries, ``--json``, ``--out`` in every format and ``--lang en``.

The truth is the demo county's plants (layers/demo/truth.py); the statistics themselves are
checked in test_analyses.py, here the commands' output and files are.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyogrio
import pytest

from gis.db import Database
from layers.demo import DEMO_SOURCE, DemoCounty, build_demo_county
from layers.demo.loading import import_demo_county
from tests.integration.test_cli import CJK, Run, flat, in_parallel, make_runner

COUNTY = "990101"


@pytest.fixture(scope="module")
def county() -> DemoCounty:
    return build_demo_county(small=True)


@pytest.fixture(scope="module")
def run(db: Database, county: DemoCounty, tmp_path_factory: pytest.TempPathFactory) -> Run:
    import_demo_county(county, source=DEMO_SOURCE, db=db)
    return make_runner(db.conninfo, tmp_path_factory.mktemp("pingan-home"))


def test_hotspots_json_and_geopackage(run: Run, tmp_path: Path) -> None:
    out = tmp_path / "cells.gpkg"
    result = run(
        "analyze",
        "hotspots",
        "--area",
        COUNTY,
        "--categories",
        "两抢一盗",
        "--unit",
        "h3",
        "--from",
        "2024-11-01",
        "--to",
        "2026-10-31",
        "--json",
        "--out",
        out,
    )
    report = json.loads(result.stdout)
    assert report["kind"] == "hotspots" and report["area_code"] == COUNTY
    assert report["summary"]["hot"] > 0 and report["params"]["resolution"] == 9
    assert all(entry["zh"] and entry["en"] for entry in report["log"])
    cells = pyogrio.read_dataframe(out)
    assert len(cells) == report["summary"]["cells"]
    assert {"cell_id", "count", "z", "p", "bin"} <= set(cells.columns)


def test_tables_in_both_languages_and_exports(run: Run, county: DemoCounty, tmp_path: Path) -> None:
    village = county.admin_units.set_index("name").loc[
        county.truth.by_name("urban_village_burglary")["village_name"], "code"
    ]
    profile, knox, risk, areas = in_parallel(
        run,
        ("--lang", "en", "analyze", "profile", "--area", COUNTY, "--categories", "0102"),
        (
            "analyze",
            "near-repeat",
            "--area",
            village,
            "--categories",
            "010301",
            "--seed",
            "7",
            "--out",
            tmp_path / "knox.csv",
        ),
        (
            "analyze",
            "risk",
            "--area",
            COUNTY,
            "--months",
            "2026-09,2026-10",
            "--out",
            tmp_path / "risk.geojson",
        ),
        ("analyze", "key-areas", "--area", COUNTY, "--out", tmp_path / "key_areas.xlsx"),
    )
    # the planted school snatching: weekdays 16:00-18:00, in English
    assert "Mon–Fri 16:00–18:00" in flat(profile) and not CJK.search(
        profile.split("Weekday")[0][:200]
    )
    assert "Knox" in knox and "含0, 不含100" in flat(knox)
    table = pd.read_csv(tmp_path / "knox.csv", encoding="utf-8-sig")
    assert len(table) == 36 and bool(table.loc[0, "significant"])
    grades = pyogrio.read_dataframe(tmp_path / "risk.geojson")
    units = len(county.grids) + int(county.admin_units["level"].isin(["village", "township"]).sum())
    assert len(grades) == 2 * units
    assert set(grades["grade"]) <= {"blue", "yellow", "orange", "red"}
    assert "网格" in risk and "红" in risk
    register = pd.read_excel(tmp_path / "key_areas.xlsx")
    assert "school_surroundings" in set(register["rule"])
    assert {"清溪县实验小学", "坑口小学"} <= set(register["name"])
    assert "重点地区登记簿" in areas


def test_clusters_emerging_and_backtest(run: Run, tmp_path: Path) -> None:
    clusters, emerging, backtest = in_parallel(
        run,
        (
            "analyze",
            "clusters",
            "--area",
            COUNTY,
            "--categories",
            "0103",
            "--eps",
            "100",
            "--min-samples",
            "15",
            "--out",
            tmp_path / "clusters.geojson",
        ),
        (
            "--lang",
            "en",
            "analyze",
            "emerging",
            "--area",
            COUNTY,
            "--categories",
            "010302",
            "--to",
            "2026-10-31",
            "--step",
            "week",
            "--steps",
            "52",
            "--unit",
            "fishnet",
            "--cell-size",
            "300",
        ),
        (
            "--lang",
            "en",
            "analyze",
            "backtest",
            "--area",
            COUNTY,
            "--windows",
            "3",
            "--unit",
            "h3",
            "--methods",
            "naive,kde,forecast",
        ),
    )
    polygons = pyogrio.read_dataframe(tmp_path / "clusters.geojson")
    assert len(polygons) >= 1 and {"n", "categories", "profile"} <= set(polygons.columns)
    profile = polygons["profile"].iloc[0]
    assert (json.loads(profile) if isinstance(profile, str) else profile)["hours"]
    assert "最大的聚类" in clusters
    assert "Consecutive" in emerging or "consecutive" in emerging.lower()
    assert "PAI" in backtest and "2026-10" in backtest


def test_errors_are_bilingual(run: Run) -> None:
    result = run("analyze", "hotspots", "--unit", "hexagon", code=2)
    assert "hexagon" in result.stderr and CJK.search(result.stderr)
    result = run("analyze", "near-repeat", "--distance-bands", "0,a", code=2)
    assert "--distance-bands" in result.stderr
