"""Assignment at ingest: village and grid codes and H3 cells for every point, in bulk.

Polygons are read from PostGIS once per batch and queried with a shapely STRtree over all
points at once (one C call), not row by row in SQL. A point in a 综合 grid takes the grid's
code and the grid's village; a point outside every grid takes the village it lies in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import psycopg
import shapely

from gis.h3cells import points_to_cell_columns
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
        probes = representative_points(points)
        village = np.full(len(probes), None, dtype=object)
        grid = np.full(len(probes), None, dtype=object)
        grid_hit = self._first_hit(probes, self.grid_polygons, self.grid_codes)
        in_grid = grid_hit >= 0
        grid[in_grid] = self.grid_codes[grid_hit[in_grid]]
        village[in_grid] = self.grid_villages[grid_hit[in_grid]]
        rest = np.flatnonzero(~in_grid | (village == None))  # noqa: E711 - elementwise
        if len(rest):
            village_hit = self._first_hit(probes[rest], self.village_polygons, self.village_codes)
            found = village_hit >= 0
            village[rest[found]] = self.village_codes[village_hit[found]]
        return village, grid


def h3_columns(points: np.ndarray) -> dict[str, np.ndarray]:
    """H3 cells at resolutions 7, 9 and 10 for point geometries (lon/lat, storage CRS)."""
    probes = representative_points(points)
    return points_to_cell_columns(shapely.get_x(probes), shapely.get_y(probes))
