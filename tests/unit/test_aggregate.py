"""Counts per grid polygon, H3 cell, fishnet and road segment, on the demo county."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely

from analysis.aggregate import (
    count_in_fishnet,
    count_in_h3,
    count_in_polygons,
    count_on_segments,
    fishnet,
)
from gis.errors import ValidationError
from gis.h3cells import points_to_cells
from layers.demo import build_demo_county


@pytest.fixture(scope="module")
def demo():
    return build_demo_county(small=True)


def test_grid_counts_cover_every_incident_once(demo) -> None:
    result = count_in_polygons(demo.incidents, demo.grids)
    inside = shapely.intersects(
        np.asarray(demo.grids.geometry.values)[:, None],
        np.asarray(demo.incidents.geometry.values)[None, :],
    ).any(axis=0)
    assert result.units["count"].sum() == inside.sum()
    assert result.unassigned.size == (~inside).sum()
    assert (result.units["density"] >= 0).all()
    assert result.crs.to_epsg() == 4490


def test_rates_per_thousand_residents() -> None:
    squares = gpd.GeoDataFrame(
        {"population": [2_000, 0]},
        geometry=[
            shapely.box(120.0, 30.0, 120.01, 30.01),
            shapely.box(120.01, 30.0, 120.02, 30.01),
        ],
        crs=4490,
    )
    points = gpd.GeoDataFrame(geometry=gpd.points_from_xy([120.005] * 3, [30.005] * 3), crs=4490)
    result = count_in_polygons(points, squares, population="population")
    assert result.units["rate"].iloc[0] == pytest.approx(1.5)
    assert np.isnan(result.units["rate"].iloc[1])


def test_h3_parents_roll_up_exactly(demo) -> None:
    inc = demo.incidents
    cells = points_to_cells(inc.geometry.x, inc.geometry.y, 10)
    totals = {}
    for res in (7, 8, 9, 10):
        result = count_in_h3(cells, resolution=res)
        totals[res] = result.units["count"].sum()
        assert (result.units["count"] > 0).all()
    assert len(set(totals.values())) == 1
    filled = count_in_h3(cells, resolution=8, area=demo.admin_units.iloc[[0]])
    assert (filled.units["count"] == 0).any()
    assert filled.units["count"].sum() == totals[8]
    with pytest.raises(ValidationError, match="resolution 10"):
        count_in_h3(points_to_cells(inc.geometry.x, inc.geometry.y, 9), resolution=8)


def test_fishnet_cells_are_square_metres_in_the_local_crs(demo) -> None:
    result = count_in_fishnet(demo.incidents, cell_size_m=500, area=demo.admin_units.iloc[[0]])
    assert result.crs.is_projected
    assert result.units["area_km2"].to_numpy() == pytest.approx(0.25)
    assert result.units["count"].sum() + result.unassigned.size == len(demo.incidents)
    net = fishnet((0, 0, 999, 499), cell_size_m=250, crs=result.crs)
    assert net.attrs["shape"] == (2, 4)


def test_segments_report_far_points(demo) -> None:
    result = count_on_segments(demo.incidents, demo.roads, tolerance_m=30)
    far = np.isinf(result.distance_m)
    assert result.unassigned.tolist() == np.flatnonzero(far).tolist()
    assert (result.distance_m[~far] <= 30).all()
    assert result.units["count"].sum() == (~far).sum()
    assert (result.units["length_km"] > 0).all()
    wider = count_on_segments(demo.incidents, demo.roads, tolerance_m=300)
    assert wider.unassigned.size < result.unassigned.size


def test_weights_are_summed(demo) -> None:
    weights = np.full(len(demo.incidents), 0.5)
    plain = count_in_polygons(demo.incidents, demo.grids)
    half = count_in_polygons(demo.incidents, demo.grids, weights=weights)
    np.testing.assert_allclose(half.counts, plain.counts / 2)
