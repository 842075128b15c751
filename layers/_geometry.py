"""Geometry checks at import: CRS resolution, coordinate mistakes, validity, storage CRS.

Every rule here produces a :class:`~gis.errors.RowIssue` for the rows it rejects, or a
file-level warning, so the importer can quarantine with reasons and report the rest.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pyproj
import shapely

from gis import crs as gcrs
from gis.errors import CRSError, InputFileError, RowIssue
from gis.messages import both
from layers._assign import representative_points
from layers._spec import GeometryKind, IssueCollector

_TYPES: dict[str, tuple[str, ...]] = {
    "point": ("Point",),
    "polygon": ("Polygon", "MultiPolygon"),
    "line": ("LineString", "MultiLineString"),
    "point_or_polygon": ("Point", "Polygon", "MultiPolygon"),
}

_TYPE_IDS = {
    "Point": 0,
    "LineString": 1,
    "LinearRing": 2,
    "Polygon": 3,
    "MultiPoint": 4,
    "MultiLineString": 5,
    "MultiPolygon": 6,
    "GeometryCollection": 7,
}
# CGCS2000 and WGS 84 agree to a few centimetres: converting between them changes nothing
# that a point of incident data can resolve, so lon/lat passes through unchanged.
_SAME_FRAME = {4326, 4490}

# A share of rows above this that look projected means the whole file lacks its CRS.
_PROJECTED_FILE_SHARE = 0.5


@dataclass
class GeometryResult:
    """Geometries in the storage CRS, plus what was decided on the way."""

    geometry: gpd.GeoSeries
    source_crs: str
    warnings: list[str] = field(default_factory=list)


def _lonlat(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Representative lon/lat (or x/y) per geometry: the point itself or a point on the surface."""
    present = ~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)
    x = np.full(len(geoms), np.nan)
    y = np.full(len(geoms), np.nan)
    if present.any():
        reps = representative_points(geoms[present])
        x[present] = shapely.get_x(reps)
        y[present] = shapely.get_y(reps)
    return x, y


def _swap_xy(geoms: np.ndarray) -> np.ndarray:
    return shapely.transform(geoms, lambda xy: xy[:, ::-1])


def prepare_geometry(
    geoms: gpd.GeoSeries | np.ndarray,
    *,
    kind: GeometryKind,
    declared: pyproj.CRS | gcrs.OffsetDatum | None,
    storage_srid: int,
    issues: IssueCollector,
    area_bounds: tuple[float, float, float, float] | None = None,
    reference_lonlat: tuple[np.ndarray, np.ndarray] | None = None,
    swap_axes: bool = False,
    file_name: str = "",
) -> GeometryResult:
    """Check and convert geometries to the storage CRS.

    Parameters
    ----------
    geoms
        Geometries as read, in ``declared`` (``None``: not declared by the file or the user).
    kind
        The layer's geometry kind; other types are quarantined.
    declared
        The CRS of the input: a pyproj CRS, or GCJ-02/BD-09 lon/lat (converted to WGS 84 here).
    storage_srid
        EPSG code of the database's geometry columns (4490 or 4326).
    area_bounds
        (min lon, min lat, max lon, max lat) of the deployment's admin units, in the storage CRS;
        points more than 50 km outside are quarantined.
    reference_lonlat
        Known positions (e.g. stored places and cameras) used to detect a GCJ-02/BD-09 offset.
    swap_axes
        The user says the file has latitude and longitude the wrong way round.
    """
    values = np.array(geoms.array if isinstance(geoms, gpd.GeoSeries) else geoms, dtype=object)
    values[shapely.is_empty(values)] = None
    # The storage columns are 2D; heights (KML, GPS exports) would be refused by PostGIS.
    if shapely.has_z(values).any():
        values = shapely.force_2d(values)
    if swap_axes:
        values = _swap_xy(values)
    warnings: list[str] = []

    missing = shapely.is_missing(values)
    already = issues.bad_mask(len(values))
    issues.add(np.flatnonzero(missing & ~already), lambda _r: RowIssue("layers.missing_geometry"))

    type_ids = shapely.get_type_id(values)
    allowed_ids = [_TYPE_IDS[name] for name in _TYPES[kind]]
    wrong_type = ~missing & ~np.isin(type_ids, allowed_ids)
    type_names = np.array([*_TYPE_IDS, ""], dtype=object)[
        np.searchsorted(list(_TYPE_IDS.values()), type_ids).clip(0, len(_TYPE_IDS))
    ]
    issues.add(
        np.flatnonzero(wrong_type),
        lambda r: RowIssue(
            "layers.wrong_geometry_type", found=type_names[r], expected="/".join(_TYPES[kind])
        ),
    )

    invalid = ~missing & ~wrong_type & ~shapely.is_valid(values)
    issues.add(
        np.flatnonzero(invalid),
        lambda r: RowIssue("layers.invalid_geometry", reason=shapely.is_valid_reason(values[r])),
    )

    x, y = _lonlat(values)
    source_crs = declared
    if declared is None:
        source_crs = _undeclared_crs(x, y, issues, file_name=file_name)
        warnings.append(both("layers.crs_assumed", crs=f"EPSG:{storage_srid}"))
    elif isinstance(declared, gcrs.OffsetDatum):
        values = _undo_offset(values, declared)
        source_crs = pyproj.CRS.from_epsg(4326)
        warnings.append(both("layers.offset_converted", datum=declared.value))

    target = pyproj.CRS.from_epsg(storage_srid)
    series = gpd.GeoSeries(
        values, crs=source_crs if not isinstance(source_crs, gcrs.OffsetDatum) else None
    )
    same_frame = series.crs is not None and series.crs.to_epsg() in _SAME_FRAME
    if series.crs is not None and not series.crs.equals(target) and not same_frame:
        series = series.to_crs(target)
    else:
        series = series.set_crs(target, allow_override=True)

    lon, lat = _lonlat(np.asarray(series.array, dtype=object))
    _check_range(lon, lat, issues)
    if kind in ("point", "point_or_polygon"):
        warnings += _check_positions(
            lon,
            lat,
            issues,
            area_bounds=area_bounds,
            reference=reference_lonlat if declared is None else None,
        )

    if kind == "polygon":
        series = series.apply(
            lambda g: shapely.MultiPolygon([g]) if g is not None and g.geom_type == "Polygon" else g
        )
        series = gpd.GeoSeries(series, crs=target)
    elif kind == "line":
        multi = np.array(
            [g is not None and g.geom_type == "MultiLineString" for g in series], dtype=bool
        )
        if multi.any():
            merged = shapely.line_merge(np.asarray(series.array, dtype=object)[multi])
            still_multi = shapely.get_type_id(merged) != 1
            rows = np.flatnonzero(multi)
            issues.add(rows[still_multi], lambda _r: RowIssue("layers.line_not_connected"))
            arr = np.asarray(series.array, dtype=object)
            arr[rows[~still_multi]] = merged[~still_multi]
            series = gpd.GeoSeries(arr, crs=target)
    return GeometryResult(
        geometry=series, source_crs=_crs_text(declared, storage_srid), warnings=warnings
    )


def _check_positions(
    lon: np.ndarray,
    lat: np.ndarray,
    issues: IssueCollector,
    *,
    area_bounds: tuple[float, float, float, float] | None,
    reference: tuple[np.ndarray, np.ndarray] | None,
) -> list[str]:
    """Quarantine points outside the area or with swapped/projected numbers; return the
    file-level warnings (a GCJ-02/BD-09 offset)."""
    warnings: list[str] = []
    findings = gcrs.detect_coordinate_problems(
        lon, lat, area_bounds=area_bounds, reference=reference
    )
    for finding in findings:
        if finding.kind == "outside_area" and len(finding.rows):
            issues.add(
                finding.rows,
                lambda r: RowIssue(
                    "layers.outside_area",
                    lon=round(float(lon[r]), 6),
                    lat=round(float(lat[r]), 6),
                ),
            )
        elif finding.kind in _ROW_FINDINGS and len(finding.rows):
            fresh = finding.rows[~issues.bad_mask(len(lon))[finding.rows]]
            issues.add(fresh, _ROW_FINDINGS[finding.kind](lon, lat))
        elif finding.kind in ("gcj02_offset", "bd09_offset"):
            warnings.append(finding.message)
    return warnings


@dataclass
class PointsResult:
    """Point coordinates in the storage CRS (degrees; NaN where missing), plus decisions."""

    lon: np.ndarray
    lat: np.ndarray
    source_crs: str
    warnings: list[str] = field(default_factory=list)


def prepare_points(
    lon: np.ndarray,
    lat: np.ndarray,
    *,
    declared: pyproj.CRS | gcrs.OffsetDatum | None,
    storage_srid: int,
    issues: IssueCollector,
    area_bounds: tuple[float, float, float, float] | None = None,
    reference_lonlat: tuple[np.ndarray, np.ndarray] | None = None,
    swap_axes: bool = False,
    file_name: str = "",
) -> PointsResult:
    """:func:`prepare_geometry` for points given as coordinate arrays (a file's lon/lat
    columns), with the same rules and issues, and no geometry object per point.

    ``lon``/``lat`` are in ``declared`` (degrees, or metres for a projected CRS), NaN where
    missing; the result is in ``storage_srid``. A point with finite coordinates is always a
    valid point, so the type and validity checks have nothing to find.
    """
    x = np.array(lon, dtype=float)
    y = np.array(lat, dtype=float)
    if swap_axes:
        x, y = y, x
    warnings: list[str] = []
    missing = np.isnan(x) | np.isnan(y)
    x[missing] = y[missing] = np.nan
    already = issues.bad_mask(len(x))
    issues.add(np.flatnonzero(missing & ~already), lambda _r: RowIssue("layers.missing_geometry"))
    source_crs = declared
    if declared is None:
        source_crs = _undeclared_crs(x, y, issues, file_name=file_name)
        warnings.append(both("layers.crs_assumed", crs=f"EPSG:{storage_srid}"))
    elif isinstance(declared, gcrs.OffsetDatum):
        x, y = gcrs.to_wgs84(x, y, declared)
        source_crs = pyproj.CRS.from_epsg(4326)
        warnings.append(both("layers.offset_converted", datum=declared.value))
    target = pyproj.CRS.from_epsg(storage_srid)
    assert isinstance(source_crs, pyproj.CRS)
    if not source_crs.equals(target) and source_crs.to_epsg() not in _SAME_FRAME:
        transformer = pyproj.Transformer.from_crs(source_crs, target, always_xy=True)
        x, y = transformer.transform(x, y)
        x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
        x[missing] = y[missing] = np.nan
    _check_range(x, y, issues)
    warnings += _check_positions(
        x,
        y,
        issues,
        area_bounds=area_bounds,
        reference=reference_lonlat if declared is None else None,
    )
    return PointsResult(
        lon=x, lat=y, source_crs=_crs_text(declared, storage_srid), warnings=warnings
    )


def _crs_text(declared: pyproj.CRS | gcrs.OffsetDatum | None, storage_srid: int) -> str:
    if isinstance(declared, gcrs.OffsetDatum):
        return declared.value
    return declared.to_string() if declared is not None else f"EPSG:{storage_srid} (assumed)"


def _swapped(lon: np.ndarray, lat: np.ndarray) -> Callable[[int], RowIssue]:
    return lambda r: RowIssue("layers.swapped_axes", lon=float(lon[r]), lat=float(lat[r]))


def _projected(lon: np.ndarray, lat: np.ndarray) -> Callable[[int], RowIssue]:
    return lambda r: RowIssue("layers.projected_without_crs", x=float(lon[r]), y=float(lat[r]))


# Row-level findings of gis.crs.detect_coordinate_problems that quarantine the row.
_ROW_FINDINGS = {"swapped_axes": _swapped, "projected_without_crs": _projected}


def _check_range(lon: np.ndarray, lat: np.ndarray, issues: IssueCollector) -> None:
    """After conversion to the storage CRS every position must be a real lon/lat.

    A file that declares its CRS can still hold rows with the axes swapped or with metres in
    them; such rows come out beyond ±90° latitude or ±180° longitude, or not at all.
    """
    present = ~np.isnan(lon) | ~np.isnan(lat)
    bad = present & ~(
        np.isfinite(lon) & np.isfinite(lat) & (np.abs(lat) <= 90) & (np.abs(lon) <= 180)
    )
    bad &= ~issues.bad_mask(len(lon))
    if not bad.any():
        return
    swapped = bad & (np.abs(lat) <= 180) & (np.abs(lon) <= 90)
    issues.add(np.flatnonzero(swapped), _swapped(lon, lat))
    issues.add(np.flatnonzero(bad & ~swapped), _projected(lon, lat))


def _undeclared_crs(
    x: np.ndarray, y: np.ndarray, issues: IssueCollector, *, file_name: str
) -> pyproj.CRS:
    """Without a declared CRS the file must hold lon/lat; rows that do not are explained."""
    present = ~np.isnan(x)
    out_of_range = present & ((np.abs(x) > 180) | (np.abs(y) > 90))
    swapped = out_of_range & (np.abs(y) <= 180) & (np.abs(x) <= 90)
    projected = out_of_range & ~swapped
    if present.sum() and projected.sum() > _PROJECTED_FILE_SHARE * present.sum():
        sample = int(np.flatnonzero(projected)[0])
        raise CRSError(
            "layers.projected_file_without_crs",
            file=file_name,
            x=float(x[sample]),
            y=float(y[sample]),
        )
    issues.add(
        np.flatnonzero(swapped),
        lambda r: RowIssue("layers.swapped_axes", lon=float(x[r]), lat=float(y[r])),
    )
    issues.add(
        np.flatnonzero(projected),
        lambda r: RowIssue("layers.projected_without_crs", x=float(x[r]), y=float(y[r])),
    )
    return pyproj.CRS.from_epsg(4326)


def _undo_offset(values: np.ndarray, datum: gcrs.OffsetDatum) -> np.ndarray:
    def convert(xy: np.ndarray) -> np.ndarray:
        lon, lat = gcrs.to_wgs84(xy[:, 0], xy[:, 1], datum)
        return np.column_stack([lon, lat])

    return shapely.transform(values, convert)


def resolve_declared_crs(
    user_crs: str | None, file_crs: pyproj.CRS | None, *, file_name: str
) -> pyproj.CRS | gcrs.OffsetDatum | None:
    """The user's ``--crs`` wins over the file's own; neither gives ``None`` (lon/lat assumed)."""
    if user_crs:
        return gcrs.parse_crs(user_crs)
    if file_crs is not None and not file_crs.is_geographic and not file_crs.is_projected:
        raise InputFileError("layers.unusable_crs", file=file_name, crs=file_crs.to_string())
    return file_crs
