"""Rolling backtests: our forecast against the naive baseline and KDE on the demo county, and the
real Chicago carjackings and San Francisco robberies (tests/data/SOURCES.md), reported as is.

The demo county's background is drawn by grid population and its plants are fixed
(layers/demo); nothing in analysis/forecast.py reads them. The real data are not tuned to: their
PAI is printed whatever it is.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from analysis.aggregate import count_in_h3, fishnet
from analysis.backtest import backtest, cell_set, naive_method
from gis.crs import local_metric_crs_of
from gis.errors import ValidationError
from gis.h3cells import points_to_cells
from layers.demo import build_demo_county

DATA = Path(__file__).resolve().parents[1] / "data"
ROBBERY_AND_THEFT = ("0101", "0102", "0103")  # 两抢一盗: 抢劫, 抢夺, 盗窃 and their children


def _h3_cells(points: gpd.GeoDataFrame, area: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    lonlat = points.to_crs(4326)
    r10 = points_to_cells(lonlat.geometry.x.to_numpy(), lonlat.geometry.y.to_numpy(), 10)
    return count_in_h3(r10, resolution=9, area=area.to_crs(4326)).units[["cell", "geometry"]]


@pytest.fixture(scope="module")
def demo_result():
    county = build_demo_county()  # the full county: 45,000 incidents over two years
    incidents = county.incidents
    chosen = incidents[incidents["category"].astype(str).str.startswith(ROBBERY_AND_THEFT)]
    area = county.admin_units[county.admin_units["level"] == "county"]
    cells = cell_set(_h3_cells(chosen, area))
    return backtest(chosen, cells, n_windows=6, places=county.places)


def test_our_forecast_beats_naive_and_kde_on_the_demo_county(demo_result) -> None:
    result = demo_result
    print("\n" + result.table(language="en"))
    assert list(result.summary.index) == ["naive", "kde", "gi_star", "forecast"]
    assert (result.summary["windows"] == 6).all()
    for coverage in (0.01, 0.05):
        ours = result.mean("forecast", "pai", coverage)
        assert ours > result.mean("naive", "pai", coverage)
        assert ours > result.mean("kde", "pai", coverage)


def test_backtest_tables_are_complete(demo_result) -> None:
    result = demo_result
    assert set(result.windows["coverage"]) == {0.01, 0.05}
    assert len(result.windows) == 6 * 4 * 2
    assert len(result.curves) == 6 * 4 * 20
    assert result.windows["pei_star"].between(0, 1).all()
    assert result.windows["pei"].between(0, 1 + 1e-9).all()
    # hit rate = PAI × coverage, by definition
    assert np.allclose(
        result.windows["hit_rate"], result.windows["pai"] * result.windows["coverage"]
    )
    text = result.table(language="zh")
    assert "本系统预测模型" in text and "PAI@1%" in text


def test_too_little_history_is_refused() -> None:
    county = build_demo_county(small=True)
    incidents = county.incidents
    area = county.admin_units[county.admin_units["level"] == "county"]
    cells = cell_set(_h3_cells(incidents, area))
    with pytest.raises(ValidationError, match="windows"):
        backtest(incidents, cells, methods={"naive": naive_method}, n_windows=23)


def test_chicago_carjackings_backtest_runs() -> None:
    incidents = gpd.read_file(DATA / "chicago" / "Chi_Carjackings.geojson")
    incidents["occurred_from"] = pd.to_datetime(incidents["Date"], format="%m/%d/%Y %I:%M:%S %p")
    areas = gpd.read_file(DATA / "chicago" / "commareas.geojson")
    cells = cell_set(_h3_cells(incidents, areas))
    result = backtest(incidents, cells, n_windows=6)
    print("\nChicago carjackings 2020, H3 r9:\n" + result.table(language="en"))
    assert result.params["last_month"] == "2020-12"
    assert np.isfinite(result.summary[["pai_1", "pai_5"]].to_numpy()).all()


def test_san_francisco_robbery_backtest_runs() -> None:
    raw = gpd.read_file(DATA / "sanfrancisco" / "sf_robbery.shp")
    # one row per offence: 2,761 rows are 2,046 incidents (SOURCES.md)
    incidents = raw.drop_duplicates("IncidntNum").reset_index(drop=True)
    assert len(incidents) == 2046
    incidents["occurred_from"] = pd.to_datetime(incidents["Date"])
    metric = local_metric_crs_of(incidents)
    bounds = tuple(incidents.to_crs(metric).total_bounds)
    cells = cell_set(fishnet(bounds, cell_size_m=250.0, crs=metric))
    result = backtest(incidents, cells, n_windows=3)
    print("\nSan Francisco robbery 2012, 250 m fishnet:\n" + result.table(language="en"))
    assert result.params["first_month"] == "2012-10"
    assert np.isfinite(result.summary[["pai_1", "pai_5"]].to_numpy()).all()
