"""Quartic kernel density: Snow's pump, the kernel's mass, a brute-force sum, the rules."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely

from analysis.kde import bandwidth_arcgis, kde
from gis.crs import transform_points
from gis.errors import ValidationError

REFERENCE = Path(__file__).resolve().parents[1] / "data" / "reference"


@pytest.fixture(scope="module")
def deaths() -> gpd.GeoDataFrame:
    return gpd.read_file(REFERENCE / "deaths.geojson")


def test_snow_peak_at_the_broad_street_pump(deaths) -> None:
    # tests/data/SOURCES.md: any density method peaks within about 100 m of Broad St pump
    pumps = gpd.read_file(REFERENCE / "pumps.geojson")
    broad = pumps[pumps["name"].str.startswith("Broad St")].geometry.iloc[0]
    for bandwidth in ("arcgis", "scott", 100.0):
        result = kde(deaths, bandwidth=bandwidth)
        bx, by = transform_points([broad.x], [broad.y], src=4326, dst=result.crs)
        assert np.hypot(result.peak_xy[0] - bx[0], result.peak_xy[1] - by[0]) < 100


def test_mass_equals_the_number_of_points(deaths) -> None:
    result = kde(deaths, bandwidth=60.0, cell_size_m=5)
    mass = result.density.sum() * (result.cell_size_m / 1000) ** 2
    assert mass == pytest.approx(len(deaths), rel=1e-3)


def test_equals_a_brute_force_sum(deaths) -> None:
    result = kde(deaths, bandwidth=60.0, cell_size_m=10)
    xs, ys = result.cell_centres()
    xy = shapely.get_coordinates(deaths.to_crs(result.crs).geometry.values)
    gx, gy = np.meshgrid(xs, ys)
    d = np.hypot(gx[..., None] - xy[:, 0], gy[..., None] - xy[:, 1])
    u = np.clip(1 - (d / 60.0) ** 2, 0, None)
    expected = (3 / (np.pi * 60.0**2) * u**2).sum(axis=-1) * 1e6
    np.testing.assert_allclose(result.density, expected, atol=1e-8)


def test_arcgis_bandwidth_rule() -> None:
    rng = np.random.default_rng(0)
    xy = rng.normal(0, 100, size=(10_000, 2))
    d = np.hypot(*(xy - xy.mean(axis=0)).T)
    sd = np.sqrt((d**2).mean())
    expected = 0.9 * min(sd, np.sqrt(1 / np.log(2)) * np.median(d)) * 10_000**-0.2
    assert bandwidth_arcgis(xy) == pytest.approx(expected, rel=1e-3)


def test_refusals(deaths) -> None:
    same = gpd.GeoDataFrame(geometry=gpd.points_from_xy([0.1] * 5, [51.5] * 5), crs=4326)
    with pytest.raises(ValidationError, match="same place"):
        kde(same)
    with pytest.raises(ValidationError, match="bandwidth"):
        kde(deaths, bandwidth=-5.0)
