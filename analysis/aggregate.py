"""Counts and rates of incidents per unit: grid polygons, H3 cells, a fishnet, road segments.

Hot-spot statistics need a value per area unit, *including the units with no incident*, so
every aggregation here returns the full set of units of the study area with zeros where nothing
happened, and reports the points it could not place (outside every polygon, farther than the
tolerance from every road) instead of dropping them silently.

Every function takes points as a GeoDataFrame with a CRS (the store's EPSG:4490 lon/lat or
any other) and optional per-point ``weights`` (e.g. aoristic shares from
:mod:`analysis.aoristic`), and returns an :class:`Aggregation`:

- :func:`count_in_polygons`: the polygons' own CRS; rates per ``per`` residents when a
  population column is named, and per km² always.
- :func:`count_in_h3`: H3 cells at resolution 7–10, the parents of each incident's stored
  resolution-10 cell (:func:`gis.h3cells.cell_parent`), optionally filled with the empty cells
  that cover a study area; polygons in EPSG:4326 lon/lat.
- :func:`count_in_fishnet`: square cells of ``cell_size_m`` metres in the local metric CRS
  (:func:`gis.crs.local_metric_crs_of`); polygons in that metric CRS.
- :func:`count_on_segments`: each point snapped to its nearest segment within
  ``tolerance_m`` metres, measured in the local metric CRS; rates per km of road.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import pyproj
import shapely
from numpy.typing import ArrayLike, NDArray

from gis.crs import local_metric_crs_of
from gis.errors import CRSError, ValidationError
from gis.h3cells import H3_NULL, cell_parent, cell_resolution, cells_to_polygons

__all__ = [
    "Aggregation",
    "count_in_fishnet",
    "count_in_h3",
    "count_in_polygons",
    "count_on_segments",
    "fishnet",
]

H3_AGGREGATION_RESOLUTIONS = (7, 8, 9, 10)


@dataclass(frozen=True)
class Aggregation:
    """Incidents counted per unit.

    Attributes
    ----------
    units
        One row per unit, in a stable order, with ``count`` (the sum of the point weights;
        integers when unweighted), ``area_km2`` (polygons) or ``length_km`` (segments), and
        ``density`` (per km² or per km of road), plus ``rate`` per ``per`` residents when a
        population column was named. Its CRS is stated in ``crs``.
    point_unit
        For every input point, the position (``iloc``) of its unit in ``units``, or −1 when it
        is in none (outside every polygon, no or a null H3 cell, beyond the snapping
        tolerance); :attr:`unassigned` lists those points.
    kind
        ``"polygons"``, ``"h3"``, ``"fishnet"`` or ``"segments"``.
    crs
        The CRS of ``units``' geometry.
    params
        The choices made: resolution, cell size in metres, tolerance in metres, the metric
        CRS used for measuring …
    distance_m
        For ``"segments"``: each point's distance to its nearest segment in metres (``inf``
        when none lies within ``tolerance_m``), else ``None``.
    """

    units: gpd.GeoDataFrame
    point_unit: NDArray[np.intp]
    kind: str
    crs: pyproj.CRS
    params: dict[str, Any] = field(default_factory=dict)
    distance_m: NDArray[np.float64] | None = None

    @property
    def counts(self) -> NDArray[np.float64]:
        """The ``count`` column as ``float64``, ready for :func:`analysis.gistar.gi_star`."""
        return self.units["count"].to_numpy(dtype=np.float64)

    @property
    def unassigned(self) -> NDArray[np.intp]:
        """Positions of the input points not placed in any unit."""
        return np.flatnonzero(self.point_unit < 0).astype(np.intp)

    def subset(self, keep: ArrayLike) -> Aggregation:
        """Only the units where ``keep`` (one bool per unit) is true, in their order; the
        points of the others become unassigned."""
        kept = np.asarray(keep, dtype=bool)
        return replace(
            self,
            units=self.units[kept].reset_index(drop=True),
            point_unit=_kept_positions(self.point_unit, kept),
        )


def _kept_positions(point_unit: NDArray[np.intp], keep: NDArray[np.bool_]) -> NDArray[np.intp]:
    """Each point's unit position among the units kept by ``keep`` (−1 when dropped)."""
    position = np.where(keep, np.cumsum(keep) - 1, -1)
    return np.where(point_unit >= 0, position[np.maximum(point_unit, 0)], -1).astype(np.intp)


def _point_weights(weights: ArrayLike | None, n: int) -> NDArray[np.float64] | None:
    if weights is None:
        return None
    w = np.asarray(weights, dtype=np.float64).ravel()
    if w.size != n:
        raise ValidationError("analysis.weights_length", weights=w.size, points=n)
    return w


def _tally(
    point_unit: NDArray[np.intp], n_units: int, weights: NDArray[np.float64] | None
) -> NDArray[Any]:
    inside = point_unit >= 0
    if weights is None:
        return np.bincount(point_unit[inside], minlength=n_units).astype(np.int64)
    return np.bincount(point_unit[inside], weights=weights[inside], minlength=n_units)


def _require_crs(frame: gpd.GeoDataFrame | gpd.GeoSeries, name: str) -> pyproj.CRS:
    if frame.crs is None:
        raise CRSError("analysis.layer_without_crs", layer=name)
    return pyproj.CRS.from_user_input(frame.crs)


def _metric_crs(frame: gpd.GeoDataFrame, crs: Any) -> pyproj.CRS:
    target = pyproj.CRS.from_user_input(crs) if crs is not None else local_metric_crs_of(frame)
    if not target.is_projected:
        raise ValidationError("analysis.crs_not_metric", crs=target.to_string())
    return target


def _finish_units(
    units: gpd.GeoDataFrame, counts: NDArray[Any], *, metric: pyproj.CRS
) -> gpd.GeoDataFrame:
    units = units.copy()
    units["count"] = counts
    measured = units.geometry.to_crs(metric)
    if measured.geom_type.isin(["LineString", "MultiLineString"]).all():
        units["length_km"] = measured.length.to_numpy() / 1000.0
        with np.errstate(divide="ignore", invalid="ignore"):
            units["density"] = counts / units["length_km"].to_numpy()
    else:
        units["area_km2"] = measured.area.to_numpy() / 1e6
        with np.errstate(divide="ignore", invalid="ignore"):
            units["density"] = counts / units["area_km2"].to_numpy()
    return units


def count_in_polygons(
    points: gpd.GeoDataFrame,
    polygons: gpd.GeoDataFrame,
    *,
    weights: ArrayLike | None = None,
    population: str | None = None,
    per: float = 1000.0,
) -> Aggregation:
    """Count points per polygon (grids, villages, townships).

    A point on the shared edge of two polygons goes to the first of them in ``polygons``'
    order, so nothing is counted twice.

    Parameters
    ----------
    points
        Incidents (points), any CRS; reprojected to the polygons' CRS if it differs.
    polygons
        The units, any CRS.
    weights
        Optional weight per point (default 1 each).
    population
        Column of ``polygons`` holding the residents; adds ``rate`` = count per ``per``
        residents (``NaN`` where the population is 0 or missing).
    per
        Residents per rate unit (default 1,000: 每千人).

    Returns
    -------
    Aggregation
        ``units`` are the polygons in their order and CRS with ``count``, ``area_km2``,
        ``density`` (per km², measured in the local metric CRS) and ``rate``.
    """
    crs = _require_crs(polygons, "polygons")
    pts = points.to_crs(crs) if _require_crs(points, "points") != crs else points
    w = _point_weights(weights, len(pts))
    geoms = np.asarray(pts.geometry.values, dtype=object)
    tree = shapely.STRtree(np.asarray(polygons.geometry.values, dtype=object))
    p_idx, u_idx = tree.query(geoms, predicate="intersects")
    order = np.lexsort((u_idx, p_idx))  # per point, its lowest polygon first
    p_idx, u_idx = p_idx[order], u_idx[order]
    first = np.ones(p_idx.size, dtype=bool)
    first[1:] = p_idx[1:] != p_idx[:-1]
    point_unit = np.full(len(pts), -1, dtype=np.intp)
    point_unit[p_idx[first]] = u_idx[first]
    metric = local_metric_crs_of(polygons)
    units = _finish_units(
        polygons.reset_index(drop=True), _tally(point_unit, len(polygons), w), metric=metric
    )
    if population is not None:
        if population not in units.columns:
            raise ValidationError(
                "analysis.missing_column", column=population, columns=", ".join(units.columns)
            )
        residents = pd.to_numeric(units[population], errors="coerce").to_numpy(dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            units["rate"] = np.where(residents > 0, units["count"] * per / residents, np.nan)
    return Aggregation(
        units=units,
        point_unit=point_unit,
        kind="polygons",
        crs=crs,
        params={"metric_crs": metric.to_string(), "per": per, "population": population},
    )


def _area_cells(area: Any, resolution: int) -> NDArray[np.int64]:
    """H3 cells whose centres lie in ``area`` (a lon/lat shapely polygon or GeoSeries)."""
    if isinstance(area, gpd.GeoSeries | gpd.GeoDataFrame):
        _require_crs(area, "area")
        area = shapely.union_all(np.asarray(area.to_crs(4326).geometry.values, dtype=object))
    parts = shapely.get_parts(np.asarray([area], dtype=object))
    cells: set[str] = set()
    for part in parts:
        if isinstance(part, shapely.Polygon):
            cells.update(h3.geo_to_cells(part.__geo_interface__, resolution))
    return np.sort(np.asarray([h3.str_to_int(c) for c in cells], dtype=np.int64))


def count_in_h3(
    cells_r10: ArrayLike,
    *,
    resolution: int,
    weights: ArrayLike | None = None,
    area: Any = None,
) -> Aggregation:
    """Count incidents per H3 cell at ``resolution`` (7–10) from their stored r10 cells.

    Parameters
    ----------
    cells_r10
        Each incident's resolution-10 H3 cell as int64 (the ``h3_r10`` column stored at
        ingest; 0 for a missing location). Coarser cells are their parents, so counts roll
        up exactly.
    resolution
        7, 8, 9 or 10 (r7 ≈ 5.2 km², r8 ≈ 0.74 km², r9 ≈ 0.11 km², r10 ≈ 0.015 km²).
    weights
        Optional weight per incident.
    area
        The study area, to include its empty cells (a shapely polygon in EPSG:4326/4490
        lon/lat, or a GeoSeries/GeoDataFrame with a CRS): every cell whose centre is inside
        is kept with count 0. Default: only the cells with incidents.

    Returns
    -------
    Aggregation
        ``units`` with ``cell`` (int64), ``count``, ``area_km2``, ``density``; polygons in
        EPSG:4326 lon/lat; ordered by cell id.
    """
    if resolution not in H3_AGGREGATION_RESOLUTIONS:
        raise ValidationError(
            "analysis.bad_h3_resolution",
            resolution=resolution,
            allowed=", ".join(map(str, H3_AGGREGATION_RESOLUTIONS)),
        )
    raw = np.asarray(cells_r10).ravel()
    raw = raw.view(np.int64) if raw.dtype == np.uint64 else raw.astype(np.int64, copy=False)
    valid = raw != H3_NULL
    if (cell_resolution(raw[valid]) != 10).any():
        raise ValidationError("analysis.h3_not_r10")
    w = _point_weights(weights, raw.size)
    parents = np.full(raw.size, H3_NULL, dtype=np.int64)
    parents[valid] = cell_parent(raw[valid], resolution)
    universe = np.unique(parents[valid])
    if area is not None:
        universe = np.union1d(universe, _area_cells(area, resolution))
    point_unit = np.full(raw.size, -1, dtype=np.intp)
    point_unit[valid] = np.searchsorted(universe, parents[valid])
    units = gpd.GeoDataFrame(
        {"cell": universe}, geometry=list(cells_to_polygons(universe)), crs=4326
    )
    metric = local_metric_crs_of(units) if len(units) else pyproj.CRS.from_epsg(3857)
    units = _finish_units(units, _tally(point_unit, universe.size, w), metric=metric)
    return Aggregation(
        units=units,
        point_unit=point_unit,
        kind="h3",
        crs=pyproj.CRS.from_epsg(4326),
        params={
            "resolution": resolution,
            "metric_crs": metric.to_string(),
            "filled": area is not None,
        },
    )


def fishnet(
    bounds: tuple[float, float, float, float], *, cell_size_m: float, crs: Any
) -> gpd.GeoDataFrame:
    """Square cells of ``cell_size_m`` metres covering ``bounds`` in a metric CRS.

    Parameters
    ----------
    bounds
        ``(minx, miny, maxx, maxy)`` in metres in ``crs``.
    cell_size_m
        Side of a cell in metres, > 0.
    crs
        The metric CRS of ``bounds`` (e.g. from :func:`gis.crs.local_metric_crs`).

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``row``, ``col`` and the square polygons, row-major from the south-west
        corner ``(floor(minx / size) * size, floor(miny / size) * size)``, in ``crs``.
    """
    if not cell_size_m > 0:
        raise ValidationError("analysis.bad_cell_size", cell_size_m=cell_size_m)
    size = float(cell_size_m)
    x0, y0 = np.floor(bounds[0] / size) * size, np.floor(bounds[1] / size) * size
    # a point exactly on the max edge falls in a cell of its own, as the counting floors
    ncol = int(np.floor((bounds[2] - x0) / size)) + 1
    nrow = int(np.floor((bounds[3] - y0) / size)) + 1
    if nrow * ncol > 5_000_000:
        raise ValidationError("analysis.fishnet_too_large", cells=nrow * ncol, cell_size_m=size)
    rows, cols = np.divmod(np.arange(nrow * ncol), ncol)
    minx, miny = x0 + cols * size, y0 + rows * size
    boxes = shapely.box(minx, miny, minx + size, miny + size)
    out = gpd.GeoDataFrame({"row": rows, "col": cols}, geometry=boxes, crs=crs)
    out.attrs["origin"] = (float(x0), float(y0))
    out.attrs["cell_size_m"] = size
    out.attrs["shape"] = (nrow, ncol)
    return out


def count_in_fishnet(
    points: gpd.GeoDataFrame,
    *,
    cell_size_m: float,
    weights: ArrayLike | None = None,
    area: gpd.GeoDataFrame | gpd.GeoSeries | None = None,
    crs: Any = None,
) -> Aggregation:
    """Count points per square cell of a fishnet in the local metric CRS.

    Parameters
    ----------
    points
        Incidents, any CRS.
    cell_size_m
        Side of a cell in metres.
    weights
        Optional weight per point.
    area
        The study area (any CRS): the fishnet covers its bounds and keeps the cells that
        intersect it, empty or not. Default: the points' bounds, every cell kept.
    crs
        The metric CRS; default :func:`gis.crs.local_metric_crs_of` the points.

    Returns
    -------
    Aggregation
        ``units`` with ``row``, ``col``, ``count``, ``area_km2``, ``density``; polygons in the
        metric CRS (``crs`` of the result).
    """
    _require_crs(points, "points")
    metric = _metric_crs(points, crs)
    pts = points.to_crs(metric)
    xy = shapely.get_coordinates(np.asarray(pts.geometry.values, dtype=object))
    if xy.shape[0] != len(pts):
        raise ValidationError("analysis.points_only", layer="points")
    w = _point_weights(weights, len(pts))
    region = None
    if area is not None:
        _require_crs(area, "area")
        region = shapely.union_all(np.asarray(area.to_crs(metric).geometry.values, dtype=object))
        bounds = tuple(region.bounds)
    else:
        bounds = (*xy.min(axis=0), *xy.max(axis=0))
    net = fishnet(bounds, cell_size_m=cell_size_m, crs=metric)
    x0, y0 = net.attrs["origin"]
    nrow, ncol = net.attrs["shape"]
    col = np.floor((xy[:, 0] - x0) / cell_size_m).astype(np.intp)
    row = np.floor((xy[:, 1] - y0) / cell_size_m).astype(np.intp)
    inside = (col >= 0) & (col < ncol) & (row >= 0) & (row < nrow)
    flat = np.where(inside, row * ncol + col, -1)
    point_unit = flat.astype(np.intp)
    if region is not None:
        keep = shapely.intersects(np.asarray(net.geometry.values, dtype=object), region)
        point_unit = _kept_positions(point_unit, keep)
        net = net[keep].reset_index(drop=True)
    units = _finish_units(net, _tally(point_unit, len(net), w), metric=metric)
    return Aggregation(
        units=units,
        point_unit=point_unit,
        kind="fishnet",
        crs=metric,
        params={"cell_size_m": float(cell_size_m), "metric_crs": metric.to_string()},
    )


def count_on_segments(
    points: gpd.GeoDataFrame,
    segments: gpd.GeoDataFrame,
    *,
    tolerance_m: float,
    weights: ArrayLike | None = None,
    crs: Any = None,
) -> Aggregation:
    """Snap each point to its nearest road segment within ``tolerance_m`` and count per segment.

    Points farther than the tolerance from every segment are not counted; they are listed in
    ``unassigned`` with their distance ``inf`` in ``distance_m``. Ties go to the first segment.

    Parameters
    ----------
    points
        Incidents, any CRS.
    segments
        Road segments (lines), any CRS.
    tolerance_m
        Largest snapping distance in metres, measured in the metric CRS.
    weights
        Optional weight per point.
    crs
        The metric CRS; default :func:`gis.crs.local_metric_crs_of` the segments.

    Returns
    -------
    Aggregation
        ``units`` are the segments in their order and CRS with ``count``, ``length_km`` and
        ``density`` (per km of road).
    """
    if not tolerance_m > 0:
        raise ValidationError("analysis.bad_tolerance", tolerance_m=tolerance_m)
    seg_crs = _require_crs(segments, "segments")
    _require_crs(points, "points")
    metric = _metric_crs(segments, crs)
    lines = np.asarray(segments.to_crs(metric).geometry.values, dtype=object)
    pts = np.asarray(points.to_crs(metric).geometry.values, dtype=object)
    w = _point_weights(weights, pts.size)
    tree = shapely.STRtree(lines)
    (p_idx, s_idx), dist = tree.query_nearest(
        pts, max_distance=float(tolerance_m), return_distance=True, all_matches=True
    )
    order = np.lexsort((s_idx, p_idx))
    p_idx, s_idx, dist = p_idx[order], s_idx[order], dist[order]
    first = np.ones(p_idx.size, dtype=bool)
    first[1:] = p_idx[1:] != p_idx[:-1]
    point_unit = np.full(pts.size, -1, dtype=np.intp)
    distance = np.full(pts.size, np.inf)
    ok = first & (dist <= tolerance_m)
    point_unit[p_idx[ok]] = s_idx[ok]
    distance[p_idx[ok]] = dist[ok]
    units = _finish_units(
        segments.reset_index(drop=True), _tally(point_unit, len(segments), w), metric=metric
    )
    return Aggregation(
        units=units,
        point_unit=point_unit,
        kind="segments",
        crs=seg_crs,
        params={"tolerance_m": float(tolerance_m), "metric_crs": metric.to_string()},
        distance_m=distance,
    )
