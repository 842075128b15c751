"""Assignment at ingest: village and grid codes and H3 cells for every point, in bulk.

Polygons are read from PostGIS once per batch and queried with a shapely STRtree over all
points at once (one C call), not row by row in SQL. A point in a 综合 grid takes the grid's
code and the grid's village; a point outside every grid takes the village it lies in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
import psycopg
import pyarrow as pa
import shapely

from gis.h3cells import cells_to_polygons, points_to_cell_columns, points_to_cells
from gis.queries import fetch_all


def representative_points(geoms: np.ndarray) -> np.ndarray:
    """Points stay as they are; a line is represented by its midpoint, a polygon by a point on
    its surface."""
    geoms = np.asarray(geoms, dtype=object)
    probes = geoms.copy()
    kinds = shapely.get_type_id(geoms)
    lines = kinds == 1
    if lines.any():
        probes[lines] = shapely.line_interpolate_point(geoms[lines], 0.5, normalized=True)
    other = (kinds != 0) & ~lines
    if other.any():
        probes[other] = shapely.point_on_surface(geoms[other])
    return probes


@dataclass(frozen=True)
class AreaIndex:
    """The village and 综合-grid polygons of the database, in the storage CRS."""

    village_codes: np.ndarray
    village_polygons: np.ndarray
    grid_codes: np.ndarray
    grid_villages: np.ndarray
    grid_polygons: np.ndarray
    # H3 cells already classified by _cell_owners (sorted) and their grid: filled as points come.
    _cells: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def load(cls, conn: psycopg.Connection[Any]) -> AreaIndex:
        villages = fetch_all(conn, "village_polygons")
        grids = fetch_all(conn, "grid_polygons_for_assignment")
        return cls(
            village_codes=np.array([r["code"] for r in villages], dtype=object),
            village_polygons=shapely.from_wkb([r["wkb"] for r in villages])
            if villages
            else np.array([]),
            grid_codes=np.array([r["code"] for r in grids], dtype=object),
            grid_villages=np.array([r["village_code"] for r in grids], dtype=object),
            grid_polygons=shapely.from_wkb([r["wkb"] for r in grids]) if grids else np.array([]),
        )

    @staticmethod
    def _first_hit(points: np.ndarray, polygons: np.ndarray, codes: np.ndarray) -> np.ndarray:
        """Index into ``polygons`` of the polygon holding each point (-1 for none).

        On a shared boundary the polygon with the smallest code wins, so the answer is stable.
        """
        hit = np.full(len(points), -1, dtype=np.int64)
        if len(polygons) == 0 or len(points) == 0:
            return hit
        tree = shapely.STRtree(polygons)
        point_idx, poly_idx = tree.query(points, predicate="intersects")
        if len(point_idx):
            code_rank = np.argsort(np.argsort(codes.astype(str)))
            order = np.lexsort((code_rank[poly_idx], point_idx))
            point_idx, poly_idx = point_idx[order], poly_idx[order]
            first = np.ones(len(point_idx), dtype=bool)
            first[1:] = point_idx[1:] != point_idx[:-1]
            hit[point_idx[first]] = poly_idx[first]
        return hit

    def assign(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return ``(village_code, grid_code)`` object arrays (``None`` where no polygon holds it).

        ``points`` may hold polygons too (places); their point on surface is used.
        """
        village, grid = self._exact(representative_points(points))
        codes = np.asarray([*self._codes.to_pylist(), None], dtype=object)
        return codes[village], codes[grid]

    def _exact(self, probes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Village and grid of each point as positions in :attr:`_codes` (-1: none)."""
        n_grids = len(self.grid_codes)
        grid = self._first_hit(probes, self.grid_polygons, self.grid_codes)
        village = np.where(grid >= 0, n_grids + grid, -1)
        village[grid >= 0] = np.where(
            self._grid_has_village[grid[grid >= 0]], village[grid >= 0], -1
        )
        rest = np.flatnonzero(village < 0)
        if len(rest):
            hit = self._first_hit(probes[rest], self.village_polygons, self.village_codes)
            village[rest] = np.where(hit >= 0, 2 * n_grids + hit, -1)
        return village, grid

    def assign_xy(
        self, lon: np.ndarray, lat: np.ndarray, *, cells: np.ndarray | None = None
    ) -> tuple[pd.Series, pd.Series]:
        """:meth:`assign` for points given as coordinate arrays (storage CRS, degrees); the codes
        come as Arrow-backed text series (nulls where no polygon holds the point).

        Most points are placed through their H3 cell (``cells``: resolution
        :data:`LOOKUP_RESOLUTION`, computed when not given): a cell that lies wholly inside
        one grid and touches no other gives that grid, by a hash lookup. Cells are classified
        once per index, and only cells that hold points. The points of the other cells (near a
        grid boundary, outside every grid) are tested exactly, as :meth:`assign` does, so the
        answer equals :meth:`assign`'s.
        """
        lon = np.asarray(lon, dtype=float)
        lat = np.asarray(lat, dtype=float)
        if cells is None:
            cells = points_to_cells(lon, lat, LOOKUP_RESOLUTION)
        grid = self._cell_owners(cells)
        inside = grid >= 0
        village = np.where(inside, len(self.grid_codes) + grid, -1)
        village[inside] = np.where(self._grid_has_village[grid[inside]], village[inside], -1)
        rest = np.flatnonzero((village < 0) & ~(np.isnan(lon) | np.isnan(lat)))
        if len(rest):
            village[rest], grid[rest] = self._exact(shapely.points(lon[rest], lat[rest]))
        return self._take(village), self._take(grid)

    def _take(self, positions: np.ndarray) -> pd.Series:
        taken = self._codes.take(pa.array(positions, mask=positions < 0))
        return pd.Series(pd.arrays.ArrowExtensionArray(taken))

    @cached_property
    def _codes(self) -> pa.Array:
        """Grid codes, then each grid's village code, then village codes, as one text array."""
        values = [*self.grid_codes, *self.grid_villages, *self.village_codes]
        return pa.array([None if v is None else str(v) for v in values], type=pa.string())

    @cached_property
    def _grid_has_village(self) -> np.ndarray:
        return np.array([v is not None for v in self.grid_villages], dtype=bool)

    def _cell_owners(self, cells: np.ndarray) -> np.ndarray:
        """For each cell, the index of the one grid it lies wholly inside, else -1.

        A cell must lie at least :data:`_CELL_MARGIN` inside its grid (which absorbs the gap
        between a cell's straight-edged polygon and the points H3 gives it) and touch no other
        grid (overlapping grids are left to the exact test).
        """
        if len(self.grid_polygons) == 0:
            return np.full(len(cells), -1, dtype=np.int64)
        known = self._cells.get("known", pd.Index(_NO_CELLS))
        owners = self._cells.get("owners", _NO_CELLS)
        pos = known.get_indexer(cells)
        unknown = (pos < 0) & (cells != 0)
        if unknown.any():
            new = pd.unique(cells[unknown])
            hexagons = cells_to_polygons(new)
            hex_idx, grid_idx = self._grid_tree.query(hexagons, predicate="intersects")
            touches = np.bincount(hex_idx, minlength=len(new))
            owner = np.full(len(new), -1, dtype=np.int64)
            single = touches[hex_idx] == 1
            candidates, grids = hex_idx[single], grid_idx[single]
            inside = shapely.contains_properly(
                self.grid_polygons[grids], hexagons[candidates]
            ) & ~shapely.dwithin(self._grid_edges[grids], hexagons[candidates], _CELL_MARGIN)
            owner[candidates[inside]] = grids[inside]
            known = known.append(pd.Index(new))
            owners = np.concatenate([owners, owner])
            self._cells.update(known=known, owners=owners)
            pos = known.get_indexer(cells)
        return np.where(pos >= 0, owners[pos], -1)

    @cached_property
    def _grid_tree(self) -> shapely.STRtree:
        shapely.prepare(self.grid_polygons)
        return shapely.STRtree(self.grid_polygons)

    @cached_property
    def _grid_edges(self) -> np.ndarray:
        return shapely.boundary(self.grid_polygons)


_NO_CELLS = np.empty(0, dtype=np.int64)
# Cells of this resolution (edges ≈ 66 m) place points in grids; it is the finest H3 column
# stored, so every point's cell is computed anyway.
LOOKUP_RESOLUTION = 10
# Degrees (≈ 0.1 m): far more than the curvature of a cell edge, far less than any grid.
_CELL_MARGIN = 1e-6


def h3_columns(points: np.ndarray) -> dict[str, np.ndarray]:
    """H3 cells at resolutions 7, 9 and 10 for point geometries (lon/lat, storage CRS)."""
    probes = representative_points(points)
    return points_to_cell_columns(shapely.get_x(probes), shapely.get_y(probes))
