"""Assignment through the grid raster (AreaIndex.assign_xy) gives exactly the polygon test's
answer."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import MultiPolygon, Polygon, box

from layers._assign import AreaIndex, _OwnerRaster
from layers.demo import build_demo_county


def _index_and_points() -> tuple[AreaIndex, np.ndarray]:
    county = build_demo_county(seed=7, incidents=20_000)
    grids = county.grids[county.grids["kind"] == "综合"]
    villages = county.admin_units[county.admin_units["level"] == "village"]
    index = AreaIndex(
        village_codes=villages["code"].to_numpy(object),
        village_polygons=np.asarray(villages.geometry.array, dtype=object),
        grid_codes=grids["code"].to_numpy(object),
        grid_villages=grids["village_code"].to_numpy(object),
        grid_polygons=np.asarray(grids.geometry.array, dtype=object),
    )
    # Incidents, every grid vertex (the hardest case: on shared boundaries), points outside
    # every grid and a missing point.
    vertices = shapely.get_coordinates(shapely.boundary(index.grid_polygons))
    xmin, ymin, xmax, ymax = shapely.total_bounds(index.grid_polygons)
    outside = np.array([[xmin - 0.5, ymin - 0.5], [xmax + 0.5, ymax + 0.5], [np.nan, np.nan]])
    incidents = shapely.get_coordinates(np.asarray(county.incidents.geometry.array))
    return index, np.vstack([incidents, vertices, outside])


def test_cell_lookup_equals_polygon_test() -> None:
    index, xy = _index_and_points()
    present = ~np.isnan(xy).any(axis=1)
    points = np.full(len(xy), None, dtype=object)
    points[present] = shapely.points(xy[present])
    village, grid = index.assign(points[present])
    village_xy, grid_xy = index.assign_xy(xy[:, 0], xy[:, 1])
    assert _plain(village_xy[present]) == village.tolist()
    assert _plain(grid_xy[present]) == grid.tolist()
    assert village_xy[~present].isna().all() and grid_xy[~present].isna().all()
    assert grid_xy.notna().mean() > 0.5  # the points do fall in grids


def _plain(codes: pd.Series) -> list[str | None]:
    return [None if pd.isna(code) else code for code in codes]


def test_raster_is_built_once() -> None:
    index, xy = _index_and_points()
    index.assign_xy(xy[:, 0], xy[:, 1])
    raster = index._cache["raster"]
    index.assign_xy(xy[::-1, 0], xy[::-1, 1])
    assert index._cache["raster"] is raster
    assert (raster.owner >= 0).mean() > 0.5  # most pixels do own a grid


def _near_edges(polygons: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Points on every edge (ends, inside) and off it by 1e-12° to 1e-4°, both sides."""
    rings = shapely.get_rings(shapely.get_parts(polygons[~shapely.is_missing(polygons)]))
    coords, ring = shapely.get_coordinates(rings, return_index=True)
    same = ring[1:] == ring[:-1]
    a, b = coords[:-1][same], coords[1:][same]
    t = np.concatenate([[0.0, 0.5, 1.0], rng.random(3)])
    on = (a[:, None, :] + t[None, :, None] * (b - a)[:, None, :]).reshape(-1, 2)
    normal = np.stack([-(b - a)[:, 1], (b - a)[:, 0]], axis=1)
    normal /= np.hypot(normal[:, 0], normal[:, 1])[:, None]
    normal = np.repeat(normal, len(t), axis=0)
    offsets = np.array([1e-12, 1e-9, 1e-7, 1e-5, 1e-4])
    off = [on + sign * d * normal for d in offsets for sign in (-1, 1)]
    return np.vstack([on, *off])


def _check(index: AreaIndex, xy: np.ndarray, *, pixels: int) -> None:
    index._cache["raster"] = _OwnerRaster.build(index.grid_polygons, pixels=pixels)
    present = ~np.isnan(xy).any(axis=1)
    village, grid = index.assign(shapely.points(xy[present]))
    village_xy, grid_xy = index.assign_xy(xy[:, 0], xy[:, 1])
    assert _plain(grid_xy[present]) == grid.tolist()
    assert _plain(village_xy[present]) == village.tolist()
    assert village_xy[~present].isna().all() and grid_xy[~present].isna().all()


@pytest.mark.parametrize("pixels", [1 << 10, 1 << 16, 1 << 22])
def test_points_on_and_near_edges_at_any_pixel_size(pixels: int) -> None:
    index, xy = _index_and_points()
    near = _near_edges(index.grid_polygons, np.random.default_rng(3))
    _check(index, np.vstack([xy, near]), pixels=pixels)


def test_holes_parts_overlaps_and_invalid_grids() -> None:
    """Grids that are not a simple partition: a hole with a grid in it, a grid in two parts,
    two overlapping grids, invalid grids (self-crossing, a hole outside its shell), an empty
    one, one without a village, and a grid that is a point."""
    outer = Polygon(box(0, 0, 4, 4).exterior.coords, [box(1, 1, 2, 2).exterior.coords])
    grids = np.array(
        [
            outer,
            box(1, 1, 2, 2),  # fills the hole
            MultiPolygon([box(5, 0, 6, 1), box(7, 0, 8, 1)]),
            box(5, 2, 7, 4),
            box(6, 3, 8, 5),  # overlaps the previous one
            Polygon([(9, 0), (11, 2), (11, 0), (9, 2)]),  # a bow tie
            Polygon(box(9, 3, 10, 4).exterior.coords, [box(10.5, 3, 11.5, 4).exterior.coords]),
            Polygon(),
            box(0, 5, 2, 7),
            shapely.Point(3, 6),
            shapely.Point(50, -50),  # far outside the others
        ],
        dtype=object,
    )
    codes = np.array([f"g{i}" for i in range(len(grids))], dtype=object)
    villages = ["v0", "v0", "v1", "v1", "v1", "v2", "v2", "v2", None, "v2", "v2"]
    index = AreaIndex(
        village_codes=np.array(["v0", "v1", "v2", "v3"], dtype=object),
        village_polygons=np.array(
            [
                box(-1, -1, 4.5, 4.5),
                box(4.5, -1, 8.5, 5.5),
                box(8.5, -1, 12, 4.5),
                box(-1, 4.5, 4.5, 8),
            ],
            dtype=object,
        ),
        grid_codes=codes,
        grid_villages=np.array(villages, dtype=object),
        grid_polygons=grids,
    )
    rng = np.random.default_rng(5)
    scattered = rng.uniform([-2, -2], [13, 9], size=(20_000, 2))
    vertices = shapely.get_coordinates(grids[~shapely.is_missing(grids)])
    xy = np.vstack(
        [scattered, vertices, _near_edges(grids, rng), [[np.nan, 1], [np.inf, 1], [50, -50]]]
    )
    for pixels in (1 << 10, 1 << 16, 1 << 20):
        _check(index, xy, pixels=pixels)


def test_no_grids() -> None:
    villages = np.array([box(0, 0, 1, 1)], dtype=object)
    index = AreaIndex(
        village_codes=np.array(["v"], dtype=object),
        village_polygons=villages,
        grid_codes=np.array([], dtype=object),
        grid_villages=np.array([], dtype=object),
        grid_polygons=np.array([], dtype=object),
    )
    village, grid = index.assign_xy(np.array([0.5, 2.0, np.nan]), np.array([0.5, 2.0, 0.0]))
    assert _plain(village) == ["v", None, None] and grid.isna().all()
