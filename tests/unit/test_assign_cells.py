"""Assignment through H3 cells (AreaIndex.assign_xy) gives exactly the polygon test's answer."""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

from layers._assign import AreaIndex
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


def test_classified_cells_are_reused() -> None:
    index, xy = _index_and_points()
    index.assign_xy(xy[:, 0], xy[:, 1])
    known = len(index._cells["known"])
    index.assign_xy(xy[::-1, 0], xy[::-1, 1])
    assert len(index._cells["known"]) == known
