"""Optimised hot spots: the choices, their log in both languages, the refusals, Snow."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest

from analysis.optimized import _choose_band, locational_outliers, optimized_hot_spots
from gis.crs import transform_points
from gis.errors import ValidationError

REFERENCE = Path(__file__).resolve().parents[1] / "data" / "reference"


@pytest.fixture(scope="module")
def snow():
    deaths = gpd.read_file(REFERENCE / "deaths.geojson")
    return deaths, optimized_hot_spots(deaths)


def test_snow_top_cell_at_the_broad_street_pump(snow) -> None:
    _, result = snow
    pumps = gpd.read_file(REFERENCE / "pumps.geojson")
    broad = pumps[pumps["name"].str.startswith("Broad St")].geometry.iloc[0]
    bx, by = transform_points([broad.x], [broad.y], src=4326, dst=result.crs)
    top = result.cells.geometry.centroid.iloc[int(np.nanargmax(result.cells["z"]))]
    assert np.hypot(top.x - bx[0], top.y - by[0]) < 100
    assert result.cells["bin"].max() == 3


def test_every_choice_is_logged_in_both_languages(snow) -> None:
    deaths, result = snow
    keys = [e.key for e in result.log]
    for key in ("ohsa_log_outliers", "ohsa_log_cell_size", "ohsa_log_isa", "ohsa_log_result"):
        assert f"analysis.{key}" in keys
    assert any(k.startswith("analysis.ohsa_log_band_") for k in keys)
    assert "格网边长" in result.log_text(language="zh") and "cell size" in result.log_text(
        language="en"
    )
    assert result.isa is not None and result.isa.how == "first_peak"
    assert result.distance_band_m == result.isa.chosen_m
    assert result.cells["count"].sum() + result.unassigned.size == len(deaths)


def test_band_fallbacks() -> None:
    d = np.arange(1.0, 11.0) * 100
    xy = np.random.default_rng(0).uniform(0, 1_000, size=(200, 2))
    rising = np.linspace(2.5, 9.0, 10)
    assert _choose_band(d, np.array([1, 3, 5, 4, 6, 8, 7, 5, 4, 3.0]), xy) == (300.0, "first_peak")
    assert _choose_band(d, rising, xy) == (1000.0, "max_peak")
    band, how = _choose_band(d, np.full(10, 0.5), xy)
    assert how == "knn_average" and 0 < band < 1_000


def test_outliers_are_far_from_everything() -> None:
    rng = np.random.default_rng(1)
    xy = np.vstack([rng.uniform(0, 100, size=(300, 2)), [[10_000.0, 10_000.0]]])
    flagged = locational_outliers(xy)
    assert flagged[-1] and flagged[:-1].sum() <= 3


def test_refusals() -> None:
    few = gpd.GeoDataFrame(
        geometry=gpd.points_from_xy(np.linspace(0, 0.01, 59), [51.5] * 59), crs=4326
    )
    with pytest.raises(ValidationError, match="at least 60"):
        optimized_hot_spots(few)
    same = gpd.GeoDataFrame(geometry=gpd.points_from_xy([0.1] * 80, [51.5] * 80), crs=4326)
    with pytest.raises(ValidationError, match="same location"):
        optimized_hot_spots(same)
