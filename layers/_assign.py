"""Assignment at ingest: village and grid codes and H3 cells for every point, in bulk.

Polygons are read from PostGIS once per batch and queried with a shapely STRtree over all
points at once (one C call), not row by row in SQL. A point in a 综合 grid takes the grid's
code and the grid's village; a point outside every grid takes the village it lies in.

Points given as coordinates (:meth:`AreaIndex.assign_xy`) are first looked up in a raster of
the grids (:class:`_OwnerRaster`): a pixel that no grid edge reaches lies wholly inside one
grid or none, so most points need only a division and an array index; the few near an edge
get the polygon test, and the answer is the polygon test's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import psycopg
import pyarrow as pa
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
    # What assign_xy builds once per index (the grid raster).
    _cache: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

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

    def assign_xy(self, lon: np.ndarray, lat: np.ndarray) -> tuple[pd.Series, pd.Series]:
        """:meth:`assign` for points given as coordinate arrays (storage CRS, degrees); the codes
        come as Arrow-backed text series (nulls where no polygon holds the point).

        Most points are placed by a raster lookup (:class:`_OwnerRaster`, built once per index):
        a pixel that no grid edge touches and that lies inside exactly one grid gives that grid.
        The other points (near a grid edge, outside every grid, in overlapping grids) are tested
        exactly, as :meth:`assign` does, so the answer equals :meth:`assign`'s.
        """
        lon = np.asarray(lon, dtype=float)
        lat = np.asarray(lat, dtype=float)
        grid = self._raster(len(lon)).owners(lon, lat)
        inside = grid >= 0
        village = np.where(inside, len(self.grid_codes) + grid, -1)
        village[inside] = np.where(self._grid_has_village[grid[inside]], village[inside], -1)
        rest = np.flatnonzero((village < 0) & ~(np.isnan(lon) | np.isnan(lat)))
        if len(rest):
            village[rest], grid[rest] = self._exact(shapely.points(lon[rest], lat[rest]))
        return self._take(village), self._take(grid)

    def _raster(self, points: int) -> _OwnerRaster:
        """The grid raster, built at the first call with a pixel budget for ``points`` points."""
        raster = self._cache.get("raster")
        if raster is None:
            pixels = int(np.clip(points * _PIXELS_PER_POINT, _MIN_PIXELS, _MAX_PIXELS))
            raster = _OwnerRaster.build(self.grid_polygons, pixels=pixels)
            self._cache["raster"] = raster
        return raster

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


# Pixel budget of the grid raster: a few pixels per point of the first batch assigned (its build
# costs about as much as assigning that many points), within bounds that keep it small.
_PIXELS_PER_POINT = 16
_MIN_PIXELS = 1 << 16
_MAX_PIXELS = 1 << 22
# How close (in pixels) an edge may pass to a pixel that still owns a grid: far more than the
# rounding of the pixel arithmetic, far less than a pixel.
_TOUCH = 1e-6
# Pixels are never finer than this (degrees, ≈ 1 m), nor a side longer than _MAX_SIDE pixels.
_MIN_PIXEL_SIZE = 1e-5
_MAX_SIDE = 8192


@dataclass(frozen=True, eq=False)
class _OwnerRaster:
    """A raster over the grids (storage CRS, degrees) that gives each pixel the one grid that
    wholly holds it, or -1.

    A pixel is the set of points whose ``floor((x - x0) / size)`` and ``floor((y - y0) /
    size)`` name it, computed exactly as :meth:`owners` computes them. It gets a grid only if
    no grid edge passes through it or within :data:`_TOUCH` pixel of it and its centre lies
    in exactly one grid: then every point of it lies in the interior of that grid and of no
    other, so the polygon test gives the same grid. Everything else (pixels an edge reaches,
    outside every grid, where grids overlap, near grids that are not valid polygons) is -1
    and left to the polygon test.
    """

    x0: float
    y0: float
    size: float
    width: int
    height: int
    owner: np.ndarray  # (height * width,) grid index or -1

    def owners(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """The grid index of each point's pixel (-1: none, outside the raster, NaN)."""
        col = np.floor((x - self.x0) / self.size)
        row = np.floor((y - self.y0) / self.size)
        if not len(self.owner):
            return np.full(len(x), -1, dtype=np.int64)
        ok = (col >= 0) & (col < self.width) & (row >= 0) & (row < self.height)
        pixel = np.where(ok, row * self.width + col, 0).astype(np.int64)
        return np.where(ok, self.owner[pixel], -1).astype(np.int64)

    @classmethod
    def build(cls, polygons: np.ndarray, *, pixels: int) -> _OwnerRaster:
        """The raster of ``polygons`` with about ``pixels`` pixels."""
        edges = _Edges.of(polygons)
        if not len(edges.ax):
            return cls(0.0, 0.0, 1.0, 0, 0, np.empty(0, dtype=np.int64))
        # Of every ring: the envelope of an invalid polygon may leave out a hole.
        xmin, xmax = min(edges.ax.min(), edges.bx.min()), max(edges.ax.max(), edges.bx.max())
        ymin, ymax = min(edges.ay.min(), edges.by.min()), max(edges.ay.max(), edges.by.max())
        side = max(xmax - xmin, ymax - ymin) / _MAX_SIDE  # a long thin extent stays small
        size = max(np.sqrt((xmax - xmin) * (ymax - ymin) / pixels), side, _MIN_PIXEL_SIZE)
        # Two pixels of margin on every side keep edges and their neighbours inside.
        x0, y0 = xmin - 2 * size, ymin - 2 * size
        width = int(np.ceil((xmax - xmin) / size)) + 5
        height = int(np.ceil((ymax - ymin) / size)) + 5
        raster = cls(x0, y0, size, width, height, np.empty(0, dtype=np.int64))
        painted = raster._paint(edges, polygons)
        one = 1 << _shift(len(polygons))
        owned = (painted >= one) & (painted < 2 * one)  # exactly one grid holds the centre
        owned &= ~raster._near_edges(edges)
        dtype = np.int16 if len(polygons) < np.iinfo(np.int16).max else np.int32
        owner = np.where(owned, painted - one, -1).astype(dtype, copy=False)
        return cls(x0, y0, size, width, height, owner.reshape(-1))

    def _cell(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        col = np.floor((x - self.x0) / self.size).astype(np.int64)
        row = np.floor((y - self.y0) / self.size).astype(np.int64)
        return col, row

    def _near_edges(self, edges: _Edges) -> np.ndarray:
        """Pixels that an edge passes through or within :data:`_TOUCH` pixel of, as a
        (height, width) mask.

        In pixel units every edge is walked column by column; in each column (widened by
        ``_TOUCH``) it spans a range of rows. The widening covers the rounding of the pixel
        arithmetic (about 1e-12 pixel), so no pixel a point of an edge falls in is missed.
        """
        ua, va = (edges.ax - self.x0) / self.size, (edges.ay - self.y0) / self.size
        ub, vb = (edges.bx - self.x0) / self.size, (edges.by - self.y0) / self.size
        flip = ua > ub
        ua, ub = np.where(flip, ub, ua), np.where(flip, ua, ub)
        va, vb = np.where(flip, vb, va), np.where(flip, va, vb)
        first = np.floor(ua - _TOUCH).astype(np.int64)
        cols = np.floor(ub + _TOUCH).astype(np.int64) - first + 1
        edge = np.repeat(np.arange(len(ua)), cols)
        col = np.arange(len(edge)) - (np.cumsum(cols) - cols)[edge] + first[edge]
        ua, ub, va, vb = ua[edge], ub[edge], va[edge], vb[edge]
        width = ub - ua
        slope = np.divide(vb - va, width, out=np.zeros(len(edge)), where=width > 0)
        enter = np.where(width > 0, va + (np.maximum(col - _TOUCH, ua) - ua) * slope, va)
        leave = np.where(width > 0, va + (np.minimum(col + 1 + _TOUCH, ub) - ua) * slope, vb)
        low = np.floor(np.minimum(enter, leave) - _TOUCH).astype(np.int64)
        rows = np.floor(np.maximum(enter, leave) + _TOUCH).astype(np.int64) - low + 1
        piece = np.repeat(np.arange(len(edge)), rows)
        row = np.arange(len(piece)) - (np.cumsum(rows) - rows)[piece] + low[piece]
        near = np.zeros((self.height, self.width), dtype=bool)
        near[row, col[piece]] = True
        return near

    def _paint(self, edges: _Edges, polygons: np.ndarray) -> np.ndarray:
        """For each pixel centre, how many grids hold it (high bits, from :func:`_shift`) and
        the sum of their indexes (low bits), as a (height, width) array.

        Scanlines through the pixel centres: per grid and row, the edges crossed, sorted by
        x, pair up (even-odd, so holes and multi-part grids need nothing special) into spans,
        painted as steps of a cumulative sum along the row.
        """
        shift = _shift(len(polygons))
        one = 1 << shift
        painted = np.zeros(
            (self.height, self.width + 1), dtype=np.int32 if shift < 32 else np.int64
        )
        ax, ay, bx, by = edges.ax, edges.ay, edges.bx, edges.by
        y_lo, y_hi = np.minimum(ay, by), np.maximum(ay, by)
        first, stop = self._centre_index(y_lo, self.y0), self._centre_index(y_hi, self.y0)
        rows = (stop - first).clip(0)
        edge = np.repeat(np.arange(len(ax)), rows)
        row = np.arange(len(edge)) - (np.cumsum(rows) - rows)[edge] + first[edge]
        yc = self.y0 + (row + 0.5) * self.size
        xc = ax[edge] + (yc - ay[edge]) * (bx - ax)[edge] / (by - ay)[edge]
        grid = edges.grid[edge]
        order = np.lexsort((xc, row, grid))
        xc, row, grid = xc[order], row[order], grid[order]
        key = grid * self.height + row
        if len(key) % 2 or (key[0::2] != key[1::2]).any():
            painted[:, 0] = 2 * one  # not closed rings: own nothing, test every point exactly
            return np.cumsum(painted, axis=1, out=painted)[:, :-1]
        start = self._centre_index(xc[0::2], self.x0).clip(0, self.width)
        end = self._centre_index(xc[1::2], self.x0).clip(0, self.width)
        span_row, span_value = row[0::2], grid[0::2] + one
        np.add.at(painted, (span_row, start), span_value)
        np.add.at(painted, (span_row, end), -span_value)
        # A grid that is not a valid polygon owns nothing, nor does any grid in its bounds.
        unusable = ~(shapely.is_valid(polygons) & _is_polygonal(polygons))
        unusable &= ~(shapely.is_missing(polygons) | shapely.is_empty(polygons))
        for g in np.flatnonzero(unusable):
            # Of all its coordinates: the envelope of a polygon is that of its shell only.
            coords = shapely.get_coordinates(polygons[g])
            col, row = self._cell(coords[:, 0], coords[:, 1])
            r0, r1 = max(row.min() - 1, 0), min(row.max() + 2, self.height)
            c0, c1 = np.clip([col.min() - 1, col.max() + 2], 0, self.width)
            painted[r0:r1, c0] += 2 * one
            painted[r0:r1, c1] -= 2 * one
        return np.cumsum(painted, axis=1, out=painted)[:, :-1]

    def _centre_index(self, v: np.ndarray, origin: float) -> np.ndarray:
        """The first pixel whose centre is at or beyond ``v`` along one axis."""
        return np.ceil((v - origin) / self.size - 0.5).astype(np.int64)


def _shift(grids: int) -> int:
    """Bits below a painted pixel's grid count: enough for the sum of two grid indexes."""
    return 16 if grids < 1 << 14 else 32


def _is_polygonal(geoms: np.ndarray) -> np.ndarray:
    return np.isin(shapely.get_type_id(geoms), (3, 6))


class _Edges(NamedTuple):
    """Every ring segment of some polygons, from ``(ax, ay)`` to ``(bx, by)``, and the index
    of its polygon; horizontal segments included (they reach pixels, though no scanline
    crosses them)."""

    ax: np.ndarray
    ay: np.ndarray
    bx: np.ndarray
    by: np.ndarray
    grid: np.ndarray

    @classmethod
    def of(cls, polygons: np.ndarray) -> _Edges:
        parts, part_of = shapely.get_parts(polygons, return_index=True)
        rings, ring_of = shapely.get_rings(parts, return_index=True)
        coords, coord_of = shapely.get_coordinates(rings, return_index=True)
        same = coord_of[1:] == coord_of[:-1]
        a, b = coords[:-1][same], coords[1:][same]
        return cls(a[:, 0], a[:, 1], b[:, 0], b[:, 1], part_of[ring_of[coord_of[:-1][same]]])


def h3_columns(points: np.ndarray) -> dict[str, np.ndarray]:
    """H3 cells at resolutions 7, 9 and 10 for point geometries (lon/lat, storage CRS)."""
    probes = representative_points(points)
    return points_to_cell_columns(shapely.get_x(probes), shapely.get_y(probes))
