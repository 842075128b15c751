"""Coordinate reference systems: parsing, local metric CRS, GCJ-02/BD-09 and coordinate checks.

Pingan Grid stores geometry in one geographic CRS per database (EPSG:4490 CGCS2000 by default,
EPSG:4326 WGS 84 outside China) and measures in a local metric CRS chosen from where the data
lies: the CGCS2000 3-degree Gauss-Krüger zone (EPSG:4534-4554, central meridian 75°E-135°E,
false easting 500 km without zone prefix) inside China, the WGS 84 UTM zone elsewhere. Web
Mercator is never used for measurement.

GCJ-02 (Amap, Tencent) and BD-09 (Baidu) are not CRSs that PROJ knows: they are published
obfuscation offsets of a few hundred metres applied inside mainland China. They are
represented by :class:`OffsetDatum` and converted with the public formulas. CGCS2000 and
WGS 84 differ by centimetres and are treated as the same datum by these formulas.

All functions are vectorised over numpy arrays; longitudes and latitudes are in degrees.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
import pyproj
import shapely
from numpy.typing import ArrayLike, NDArray

from gis._china_outline import china_polygon, inner_boxes
from gis.errors import CRSError
from gis.messages import both

__all__ = [
    "DEFAULT_STORAGE_SRID",
    "STORAGE_SRIDS",
    "CoordinateFinding",
    "OffsetDatum",
    "bd09_to_gcj02",
    "bd09_to_wgs84",
    "detect_coordinate_problems",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "inside_china",
    "local_metric_crs",
    "local_metric_crs_of",
    "parse_crs",
    "to_wgs84",
    "transform_points",
    "wgs84_to_bd09",
    "wgs84_to_gcj02",
]

STORAGE_SRIDS: tuple[int, ...] = (4490, 4326)
DEFAULT_STORAGE_SRID = 4490

FloatArray = NDArray[np.float64]

# Krasovsky 1940 ellipsoid, as used by the published GCJ-02 algorithm.
_GCJ_A = 6378245.0
_GCJ_EE = 0.00669342162296594323
_BD_X_PI = np.pi * 3000.0 / 180.0

# CGCS2000 3-degree Gauss-Krüger "CM" zones: EPSG:4534 is CM 75°E, ..., EPSG:4554 is CM 135°E.
_GK_CM_FIRST_EPSG = 4534
_GK_CM_MIN, _GK_CM_MAX = 75, 135

_METRES_PER_DEGREE = 111_195.0  # mean spherical degree, for local distance approximations


class OffsetDatum(enum.Enum):
    """The Chinese obfuscated coordinate systems, which PROJ cannot represent."""

    GCJ02 = "gcj02"
    BD09 = "bd09"

    def __str__(self) -> str:
        return {"gcj02": "GCJ-02", "bd09": "BD-09"}[self.value]


_OFFSET_NAMES = {
    "gcj02": OffsetDatum.GCJ02,
    "gcj": OffsetDatum.GCJ02,
    "mars": OffsetDatum.GCJ02,
    "amap": OffsetDatum.GCJ02,
    "bd09": OffsetDatum.BD09,
    "bd09ll": OffsetDatum.BD09,
    "baidu": OffsetDatum.BD09,
}


# --------------------------------------------------------------------------------------------
# parsing and choosing CRSs


def parse_crs(text: str | int | pyproj.CRS | OffsetDatum) -> pyproj.CRS | OffsetDatum:
    """Parse a user-supplied CRS.

    Parameters
    ----------
    text
        ``"EPSG:4326"``, ``"4490"`` (a bare EPSG number), ``4490``, ``"ESRI:102649"``, WKT or
        ``.prj`` text, a PROJ string, a ``pyproj.CRS``, or one of the offset names ``"gcj02"``,
        ``"GCJ-02"``, ``"bd09"``, ``"BD-09"`` (case, ``-``, ``_`` and spaces are ignored).

    Returns
    -------
    pyproj.CRS or OffsetDatum

    Raises
    ------
    CRSError
        If the input is empty or not understood.
    """
    if isinstance(text, pyproj.CRS | OffsetDatum):
        return text
    if isinstance(text, bool):
        raise CRSError("crs.unknown", text=str(text))
    if isinstance(text, int):
        text = f"EPSG:{text}"
    cleaned = str(text).strip().lstrip("\ufeff")
    if not cleaned:
        raise CRSError("crs.empty")
    squashed = cleaned.lower().replace("-", "").replace("_", "").replace(" ", "")
    if squashed in _OFFSET_NAMES:
        return _OFFSET_NAMES[squashed]
    if cleaned.isdigit():
        cleaned = f"EPSG:{cleaned}"
    try:
        return pyproj.CRS.from_user_input(cleaned)
    except pyproj.exceptions.CRSError:
        shown = cleaned if len(cleaned) <= 80 else cleaned[:77] + "..."
        raise CRSError("crs.unknown", text=shown) from None


def _as_xy(x: ArrayLike, y: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Both coordinate arrays as float64 arrays of one shape."""
    xa = np.asarray(x, dtype=np.float64)
    ya = np.asarray(y, dtype=np.float64)
    if xa.shape != ya.shape:
        raise CRSError("crs.length_mismatch", nx=xa.size, ny=ya.size)
    return xa, ya


def _utm_epsg(lon: float, lat: float) -> int:
    zone = int(np.floor((lon + 180.0) / 6.0)) % 60 + 1
    return (32600 if lat >= 0 else 32700) + zone


def _gk_cm_epsg(lon: float) -> int:
    cm = int(np.clip(3 * np.round(lon / 3.0), _GK_CM_MIN, _GK_CM_MAX))
    return _GK_CM_FIRST_EPSG + (cm - _GK_CM_MIN) // 3


def local_metric_crs(lon: ArrayLike, lat: ArrayLike) -> pyproj.CRS:
    """Choose the local metric CRS for points given in longitude/latitude degrees.

    The median of the finite coordinates decides. Inside mainland China (see
    :func:`inside_china`) it is the CGCS2000 3-degree Gauss-Krüger zone whose central meridian
    is nearest (EPSG:4534 for 75°E to EPSG:4554 for 135°E; metres, false easting 500 km with no
    zone prefix). Elsewhere it is the WGS 84 UTM zone (EPSG:326xx north, EPSG:327xx south;
    the Norway and Svalbard exceptions are not applied). Web Mercator is never chosen.

    Parameters
    ----------
    lon, lat
        Scalars or arrays of longitude and latitude in degrees (EPSG:4326 or EPSG:4490).

    Returns
    -------
    pyproj.CRS
        A projected CRS in metres.

    Raises
    ------
    CRSError
        If there is no finite coordinate.
    """
    lon_a, lat_a = _as_xy(lon, lat)
    ok = np.isfinite(lon_a) & np.isfinite(lat_a) & (np.abs(lat_a) <= 90) & (np.abs(lon_a) <= 180)
    if not ok.any():
        raise CRSError("crs.no_finite_coordinates")
    mlon = float(np.median(lon_a[ok]))
    mlat = float(np.median(lat_a[ok]))
    if bool(inside_china(mlon, mlat)):
        return pyproj.CRS.from_epsg(_gk_cm_epsg(mlon))
    return pyproj.CRS.from_epsg(_utm_epsg(mlon, mlat))


def local_metric_crs_of(data: Any) -> pyproj.CRS:
    """Choose the local metric CRS for a GeoSeries, GeoDataFrame or lon/lat bounds.

    Parameters
    ----------
    data
        A GeoSeries or GeoDataFrame with a CRS (reprojected to EPSG:4326 for the choice; the
        median of the geometries' representative points decides), or a bounds tuple
        ``(min_lon, min_lat, max_lon, max_lat)`` in degrees (its centre decides).

    Returns
    -------
    pyproj.CRS
        See :func:`local_metric_crs`.
    """
    numeric = isinstance(data, np.ndarray) and data.dtype.kind in "iuf"
    if (isinstance(data, tuple | list) or numeric) and len(data) == 4:
        minx, miny, maxx, maxy = (float(v) for v in data)
        return local_metric_crs((minx + maxx) / 2.0, (miny + maxy) / 2.0)
    series = data.geometry if hasattr(data, "geometry") else data
    if series.crs is None:
        raise CRSError("crs.empty")
    points = shapely.point_on_surface(np.asarray(series.values, dtype=object))
    x, y = shapely.get_x(points), shapely.get_y(points)
    lon, lat = transform_points(x, y, src=series.crs, dst=4326)
    return local_metric_crs(lon, lat)


@lru_cache(maxsize=128)
def _transformer(src: pyproj.CRS, dst: pyproj.CRS) -> pyproj.Transformer:
    return pyproj.Transformer.from_crs(src, dst, always_xy=True)


def transform_points(
    x: ArrayLike,
    y: ArrayLike,
    *,
    src: str | int | pyproj.CRS | OffsetDatum,
    dst: str | int | pyproj.CRS | OffsetDatum,
) -> tuple[FloatArray, FloatArray]:
    """Transform coordinates from ``src`` to ``dst``.

    Axis order is always x/easting/longitude first (``always_xy=True``). Transformers are
    cached. GCJ-02 and BD-09 are supported on either side by going through WGS 84.

    Parameters
    ----------
    x, y
        Coordinates in ``src`` units (degrees for geographic CRSs, metres or feet otherwise).
    src, dst
        Anything :func:`parse_crs` accepts.

    Returns
    -------
    tuple of numpy.ndarray
        The coordinates in ``dst`` units; non-finite input stays non-finite.
    """
    xa, ya = _as_xy(x, y)
    src_crs, dst_crs = parse_crs(src), parse_crs(dst)
    wgs84 = pyproj.CRS.from_epsg(4326)
    if isinstance(src_crs, OffsetDatum):
        xa, ya = to_wgs84(xa, ya, src_crs)
        src_crs = wgs84
    if isinstance(dst_crs, OffsetDatum):
        lon, lat = transform_points(xa, ya, src=src_crs, dst=wgs84)
        forward = wgs84_to_gcj02 if dst_crs is OffsetDatum.GCJ02 else wgs84_to_bd09
        return forward(lon, lat)
    if src_crs == dst_crs:
        return xa.copy(), ya.copy()
    out_x, out_y = _transformer(src_crs, dst_crs).transform(xa, ya)
    return np.asarray(out_x, dtype=np.float64), np.asarray(out_y, dtype=np.float64)


# --------------------------------------------------------------------------------------------
# inside China, GCJ-02 and BD-09


def inside_china(lon: ArrayLike, lat: ArrayLike) -> NDArray[np.bool_]:
    """Test which points lie in mainland China, where the GCJ-02 offset applies.

    Uses the coarse polygon of :mod:`gis._china_outline` (mainland and Hainan; Taiwan, Hong
    Kong and Macau are outside, as the GCJ-02 reference implementations treat them), not a
    bounding rectangle.

    Parameters
    ----------
    lon, lat
        Longitude and latitude in degrees (EPSG:4326 / EPSG:4490, or GCJ-02: the outline is
        far coarser than the offset).

    Returns
    -------
    numpy.ndarray of bool
        ``False`` for non-finite coordinates.
    """
    lon_a, lat_a = _as_xy(lon, lat)
    inside = np.zeros(lon_a.shape, dtype=bool)
    for min_lon, min_lat, max_lon, max_lat in inner_boxes():
        inside |= (lon_a >= min_lon) & (lon_a <= max_lon) & (lat_a >= min_lat) & (lat_a <= max_lat)
    rest = ~inside
    if rest.any():
        inside[rest] = shapely.contains_xy(china_polygon(), lon_a[rest], lat_a[rest])
    return inside


def _gcj_delta(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    """The published GCJ-02 offset (degrees) at WGS 84 points, without the China test."""
    x = lon - 105.0
    y = lat - 35.0
    sqrt_abs_x = np.sqrt(np.abs(x))
    common = (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sqrt_abs_x + common
    dlat += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    dlat += (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sqrt_abs_x + common
    dlon += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    dlon += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    rad_lat = lat / 180.0 * np.pi
    magic = 1.0 - _GCJ_EE * np.sin(rad_lat) ** 2
    sqrt_magic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_GCJ_A * (1.0 - _GCJ_EE)) / (magic * sqrt_magic) * np.pi)
    dlon = (dlon * 180.0) / (_GCJ_A / sqrt_magic * np.cos(rad_lat) * np.pi)
    return dlon, dlat


def _gcj_forward(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    dlon, dlat = _gcj_delta(lon, lat)
    return lon + dlon, lat + dlat


def _bd_forward(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    z = np.sqrt(lon * lon + lat * lat) + 0.00002 * np.sin(lat * _BD_X_PI)
    theta = np.arctan2(lat, lon) + 0.000003 * np.cos(lon * _BD_X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def _bd_approximate_inverse(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    x = lon - 0.0065
    y = lat - 0.006
    z = np.sqrt(x * x + y * y) - 0.00002 * np.sin(y * _BD_X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _BD_X_PI)
    return z * np.cos(theta), z * np.sin(theta)


def _invert(
    forward: Callable[[FloatArray, FloatArray], tuple[FloatArray, FloatArray]],
    lon: FloatArray,
    lat: FloatArray,
    start: tuple[FloatArray, FloatArray],
    *,
    tolerance_deg: float,
    max_iterations: int,
) -> tuple[FloatArray, FloatArray]:
    """Solve ``forward(x, y) == (lon, lat)`` by fixed-point iteration ``x <- x + (t - f(x))``.

    The offsets are smooth and small (their derivatives are of order 1e-4), so each step
    gains about four digits; it stops once every update is below ``tolerance_deg``.
    """
    x, y = start[0].copy(), start[1].copy()
    for _ in range(max_iterations):
        f_lon, f_lat = forward(x, y)
        step_lon, step_lat = lon - f_lon, lat - f_lat
        x += step_lon
        y += step_lat
        steps = np.maximum(np.abs(step_lon), np.abs(step_lat))
        if not np.any(steps >= tolerance_deg):  # also stops when all are NaN
            break
    return x, y


def _pick_inverse(
    lon: FloatArray, lat: FloatArray, solved: tuple[FloatArray, FloatArray]
) -> tuple[FloatArray, FloatArray]:
    """Keep the solved inverse where it or the input is inside China, else pass through.

    The forward offset applies where the *unshifted* point is inside China. Near the border a
    shifted point can fall just outside the outline although its origin is inside; testing
    the solution as well keeps those points invertible.
    """
    keep = inside_china(*solved) | inside_china(lon, lat)
    return np.where(keep, solved[0], lon), np.where(keep, solved[1], lat)


def wgs84_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Shift WGS 84 / CGCS2000 longitude/latitude to GCJ-02 (Amap, Tencent).

    Points outside mainland China (:func:`inside_china`) pass through unchanged, as in the
    published algorithm. Degrees in, degrees out.
    """
    lon_a, lat_a = _as_xy(lon, lat)
    g_lon, g_lat = _gcj_forward(lon_a, lat_a)
    inside = inside_china(lon_a, lat_a)
    return np.where(inside, g_lon, lon_a), np.where(inside, g_lat, lat_a)


def gcj02_to_wgs84(
    lon: ArrayLike, lat: ArrayLike, *, tolerance_deg: float = 1e-10, max_iterations: int = 30
) -> tuple[FloatArray, FloatArray]:
    """Undo the GCJ-02 offset: GCJ-02 longitude/latitude to WGS 84 / CGCS2000 degrees.

    The inverse has no closed form; it is solved by fixed-point iteration
    ``w <- w + (g - gcj(w))`` until every point moves less than ``tolerance_deg`` (1e-10°,
    about 0.01 mm) or ``max_iterations`` is reached; three or four iterations suffice.
    Points outside mainland China pass through unchanged.

    Parameters
    ----------
    lon, lat
        GCJ-02 longitude and latitude in degrees.
    tolerance_deg
        Stop when the largest update is below this many degrees.
    max_iterations
        Upper bound on iterations.
    """
    lon_a, lat_a = _as_xy(lon, lat)
    solved = _invert(
        _gcj_forward,
        lon_a,
        lat_a,
        (lon_a, lat_a),
        tolerance_deg=tolerance_deg,
        max_iterations=max_iterations,
    )
    return _pick_inverse(lon_a, lat_a, solved)


def gcj02_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Shift GCJ-02 longitude/latitude to BD-09 (Baidu), degrees in and out.

    Uses the public formula with ``x_pi = pi * 3000 / 180``. Points outside mainland China pass
    through unchanged.
    """
    lon_a, lat_a = _as_xy(lon, lat)
    b_lon, b_lat = _bd_forward(lon_a, lat_a)
    inside = inside_china(lon_a, lat_a)
    return np.where(inside, b_lon, lon_a), np.where(inside, b_lat, lat_a)


def bd09_to_gcj02(
    lon: ArrayLike, lat: ArrayLike, *, tolerance_deg: float = 1e-10, max_iterations: int = 30
) -> tuple[FloatArray, FloatArray]:
    """Undo the BD-09 offset: BD-09 longitude/latitude to GCJ-02 degrees.

    Starts from the published one-step inverse, which is off by centimetres, and refines it by
    fixed-point iteration (see :func:`gcj02_to_wgs84`). Points outside mainland China pass
    through unchanged.
    """
    lon_a, lat_a = _as_xy(lon, lat)
    start = _bd_approximate_inverse(lon_a, lat_a)
    solved = _invert(
        _bd_forward, lon_a, lat_a, start, tolerance_deg=tolerance_deg, max_iterations=max_iterations
    )
    return _pick_inverse(lon_a, lat_a, solved)


def _bd_from_wgs(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    return _bd_forward(*_gcj_forward(lon, lat))


def wgs84_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Shift WGS 84 / CGCS2000 longitude/latitude to BD-09 (GCJ-02, then BD-09), degrees.

    Whether the shift applies is decided once, on the WGS 84 point.
    """
    lon_a, lat_a = _as_xy(lon, lat)
    b_lon, b_lat = _bd_from_wgs(lon_a, lat_a)
    inside = inside_china(lon_a, lat_a)
    return np.where(inside, b_lon, lon_a), np.where(inside, b_lat, lat_a)


def bd09_to_wgs84(
    lon: ArrayLike, lat: ArrayLike, *, tolerance_deg: float = 1e-10, max_iterations: int = 30
) -> tuple[FloatArray, FloatArray]:
    """Undo the BD-09 offset to WGS 84 / CGCS2000 longitude/latitude, degrees.

    Inverts the composed BD-09(GCJ-02(w)) shift by fixed-point iteration, starting from the
    one-step inverses. Points outside mainland China pass through unchanged.
    """
    lon_a, lat_a = _as_xy(lon, lat)
    g_lon, g_lat = _bd_approximate_inverse(lon_a, lat_a)
    dlon, dlat = _gcj_delta(g_lon, g_lat)
    start = (g_lon - dlon, g_lat - dlat)
    solved = _invert(
        _bd_from_wgs,
        lon_a,
        lat_a,
        start,
        tolerance_deg=tolerance_deg,
        max_iterations=max_iterations,
    )
    return _pick_inverse(lon_a, lat_a, solved)


def to_wgs84(
    lon: ArrayLike, lat: ArrayLike, datum: OffsetDatum | str
) -> tuple[FloatArray, FloatArray]:
    """Undo the GCJ-02 or BD-09 offset named by ``datum`` (an :class:`OffsetDatum` or name)."""
    parsed = parse_crs(datum) if isinstance(datum, str) else datum
    if parsed is OffsetDatum.GCJ02:
        return gcj02_to_wgs84(lon, lat)
    if parsed is OffsetDatum.BD09:
        return bd09_to_wgs84(lon, lat)
    raise CRSError("crs.unknown", text=str(datum))


# --------------------------------------------------------------------------------------------
# detecting coordinate mistakes


@dataclass(frozen=True)
class CoordinateFinding:
    """One kind of coordinate mistake found in a set of points.

    Attributes
    ----------
    kind
        ``"swapped_axes"``, ``"projected_without_crs"``, ``"outside_area"``, ``"gcj02_offset"``
        or ``"bd09_offset"``.
    rows
        Positional indices (0-based) of the affected points; empty for whole-file findings
        (the offsets).
    message
        What was found and how to fix it, "中文 / English", from the catalogue.
    key
        The catalogue key of ``message``.
    details
        The numbers behind the finding (counts, magnitudes, distances, suggested CRSs).
    """

    kind: str
    rows: NDArray[np.intp]
    message: str
    key: str
    details: dict[str, Any] = field(default_factory=dict)


def _finding(kind: str, rows: NDArray[np.intp], **params: Any) -> CoordinateFinding:
    key = f"crs.{kind}"
    return CoordinateFinding(
        kind=kind, rows=rows, message=both(key, **params), key=key, details=dict(params)
    )


def _examples(rows: NDArray[np.intp], limit: int = 3) -> str:
    shown = ", ".join(str(int(r)) for r in rows[:limit])
    return shown + (", ..." if rows.size > limit else "")


def _km_outside(
    lon: FloatArray, lat: FloatArray, bounds: tuple[float, float, float, float]
) -> FloatArray:
    """Approximate distance in km from each point to a lon/lat box (0 inside)."""
    minx, miny, maxx, maxy = bounds
    dx = np.maximum(np.maximum(minx - lon, lon - maxx), 0.0)
    dy = np.maximum(np.maximum(miny - lat, lat - maxy), 0.0)
    coslat = np.cos(np.radians(np.clip(lat, -89.0, 89.0)))
    return np.hypot(dx * coslat, dy) * _METRES_PER_DEGREE / 1000.0


def _in_expected(
    lon: FloatArray,
    lat: FloatArray,
    bounds: tuple[float, float, float, float] | None,
    margin_km: float,
) -> NDArray[np.bool_]:
    ok = np.isfinite(lon) & np.isfinite(lat) & (np.abs(lat) <= 90) & (np.abs(lon) <= 180)
    if bounds is None:
        return ok & inside_china(lon, lat)
    return ok & (_km_outside(lon, lat, bounds) <= margin_km)


def _projected_suggestions(
    x: FloatArray, y: FloatArray, bounds: tuple[float, float, float, float] | None
) -> list[str]:
    """Candidate EPSG codes for projected coordinates, best first.

    With ``bounds``, every EPSG projected CRS whose area of use covers the area is tried on the
    median point; those that land inside the area (50 km margin) are returned. Without it,
    only Gauss-Krüger zone prefixes in the easting can be recognised.
    """
    mx, my = float(np.median(x)), float(np.median(y))
    found: list[str] = []
    prefix = int(mx // 1_000_000)
    if 25 <= prefix <= 45 and 1_000_000 < my < 6_500_000:
        found.append(f"EPSG:{4513 + prefix - 25}")  # CGCS2000 3-degree GK zone with prefix
    elif 13 <= prefix <= 23 and 1_000_000 < my < 6_500_000:
        found.append(f"EPSG:{4491 + prefix - 13}")  # CGCS2000 6-degree GK zone with prefix
    if bounds is None:
        return found
    minx, miny, maxx, maxy = bounds
    infos = pyproj.database.query_crs_info(
        auth_name="EPSG",
        pj_types=[pyproj.enums.PJType.PROJECTED_CRS],
        area_of_interest=pyproj.aoi.AreaOfInterest(minx, miny, maxx, maxy),
        contains=True,
        allow_deprecated=False,
    )
    hits: list[int] = []
    for info in infos:
        try:
            lon, lat = transform_points(mx, my, src=f"EPSG:{info.code}", dst=4326)
        except (CRSError, pyproj.exceptions.ProjError):
            continue
        lon_f, lat_f = float(lon), float(lat)
        if (
            not np.isfinite(lon_f)
            or _km_outside(np.array([lon_f]), np.array([lat_f]), bounds)[0] > 50.0
        ):
            continue
        hits.append(int(info.code))
    # Lowest codes first: the original realisations (NAD83 before HARN and 2011, say).
    found += [f"EPSG:{code}" for code in sorted(hits) if f"EPSG:{code}" not in found][:5]
    return found


def _nearest_distance_m(
    lon: FloatArray, lat: FloatArray, ref_tree: shapely.STRtree, lat0: float
) -> FloatArray:
    """Distance in metres from each point to its nearest reference point (equirectangular)."""
    coslat = np.cos(np.radians(lat0))
    pts = shapely.points(lon * coslat * _METRES_PER_DEGREE, lat * _METRES_PER_DEGREE)
    _, dist = ref_tree.query_nearest(pts, return_distance=True, all_matches=False)
    return np.asarray(dist, dtype=np.float64)


_OFFSET_SAMPLE = 5000


def _detect_offset(
    lon: FloatArray, lat: FloatArray, ref_lon: FloatArray, ref_lat: FloatArray, min_points: int
) -> CoordinateFinding | None:
    """The GCJ-02 / BD-09 rule; see :func:`detect_coordinate_problems`."""
    use = inside_china(lon, lat)
    ref_ok = np.isfinite(ref_lon) & np.isfinite(ref_lat)
    if use.sum() < min_points or not ref_ok.any():
        return None
    lon, lat = lon[use], lat[use]
    if lon.size > _OFFSET_SAMPLE:
        # A median over a few thousand points decides as well as over a million; a fixed seed
        # keeps the verdict the same on every run of the same file.
        pick = np.random.default_rng(0).choice(lon.size, _OFFSET_SAMPLE, replace=False)
        lon, lat = lon[pick], lat[pick]
    lat0 = float(np.median(lat))
    coslat = np.cos(np.radians(lat0))
    tree = shapely.STRtree(
        shapely.points(
            ref_lon[ref_ok] * coslat * _METRES_PER_DEGREE, ref_lat[ref_ok] * _METRES_PER_DEGREE
        )
    )
    raw = _nearest_distance_m(lon, lat, tree, lat0)
    raw_median = float(np.median(raw))
    best: tuple[float, str, float] | None = None
    for datum in (OffsetDatum.GCJ02, OffsetDatum.BD09):
        fixed = _nearest_distance_m(*to_wgs84(lon, lat, datum), tree, lat0)
        fixed_median = float(np.median(fixed))
        improved = float(np.mean(fixed < raw))
        if (
            raw_median >= 50.0
            and fixed_median <= 0.5 * raw_median
            and improved >= 0.6
            and (best is None or fixed_median < best[0])
        ):
            best = (fixed_median, f"{datum.value}_offset", improved)
    if best is None:
        return None
    fixed_median, kind, improved = best
    finding = _finding(
        kind,
        np.empty(0, dtype=np.intp),
        raw_m=round(raw_median, 1),
        fixed_m=round(fixed_median, 1),
    )
    finding.details.update(points=int(lon.size), share_improved=round(improved, 3))
    return finding


def detect_coordinate_problems(
    lon: ArrayLike,
    lat: ArrayLike,
    *,
    declared_crs: str | int | pyproj.CRS | OffsetDatum | None = None,
    area_bounds: tuple[float, float, float, float] | None = None,
    reference: tuple[ArrayLike, ArrayLike] | None = None,
    outside_km: float = 50.0,
    min_offset_points: int = 5,
) -> list[CoordinateFinding]:
    """Look for the usual coordinate mistakes in an input file's x/y columns.

    Parameters
    ----------
    lon, lat
        The first (x) and second (y) coordinate columns as read. Without ``declared_crs`` (or
        with a geographic one) they are expected to be longitude/latitude degrees.
    declared_crs
        The CRS the user declared. A projected CRS is first transformed to EPSG:4326 and a
        GCJ-02/BD-09 declaration is undone first; then the axis, projection and offset checks
        are skipped and only the area check runs.
    area_bounds
        ``(min_lon, min_lat, max_lon, max_lat)`` of the deployment area in degrees. Without
        it, "expected" means inside mainland China (:func:`inside_china`).
    reference
        ``(lon, lat)`` arrays of trusted points in WGS 84 / CGCS2000 (known places, admin
        centroids) for the offset check.
    outside_km
        Points farther than this many kilometres outside ``area_bounds`` are reported.
    min_offset_points
        The offset check needs at least this many data points inside China.

    Returns
    -------
    list of CoordinateFinding
        In the order swapped_axes, projected_without_crs, outside_area, then one of
        gcj02_offset / bd09_offset. Empty when nothing is wrong. A row is reported under one
        kind only.

    Notes
    -----
    The rules:

    - **swapped_axes**: rows with |y| > 90 and |x| <= 90, or rows outside the expected area
      whose swapped point lies inside it.
    - **projected_without_crs**: rows that are not valid degrees either way round
      (|x| > 180 or |y| > 90 after the swap test). The median magnitudes are reported, and
      candidate EPSG codes are suggested: Gauss-Krüger zone prefixes from the easting and, with
      ``area_bounds``, every EPSG projected CRS whose area of use covers the area and that
      puts the median point inside it.
    - **outside_area**: remaining rows farther than ``outside_km`` from ``area_bounds``.
    - **gcj02_offset** / **bd09_offset**: using the remaining data points inside China, the
      median distance to the nearest reference point is computed raw and after undoing each
      offset. An offset is reported if undoing it at least halves the median distance, the
      raw median is at least 50 m, and at least 60% of points get closer; if both qualify,
      the one with the smaller remaining distance wins.
    """
    x, y = _as_xy(lon, lat)
    x, y = x.ravel(), y.ravel()
    findings: list[CoordinateFinding] = []
    finite = np.isfinite(x) & np.isfinite(y)
    parsed = parse_crs(declared_crs) if declared_crs is not None else None
    if parsed is not None:
        if isinstance(parsed, OffsetDatum):
            x, y = to_wgs84(x, y, parsed)
        elif parsed.is_geographic:
            # Keep out-of-range values as they are, so swapped axes can still be seen.
            degrees = finite & (np.abs(x) <= 180) & (np.abs(y) <= 90)
            x, y = x.copy(), y.copy()
            x[degrees], y[degrees] = transform_points(x[degrees], y[degrees], src=parsed, dst=4326)
        else:
            x, y = transform_points(x, y, src=parsed, dst=4326)
    checked = parsed is None or (isinstance(parsed, pyproj.CRS) and parsed.is_geographic)
    flagged = ~finite

    if checked:
        valid = finite & (np.abs(x) <= 180) & (np.abs(y) <= 90)
        valid_swapped = finite & (np.abs(y) <= 180) & (np.abs(x) <= 90)
        swapped = finite & ~valid & valid_swapped
        swapped |= (
            valid
            & valid_swapped
            & ~_in_expected(x, y, area_bounds, outside_km)
            & _in_expected(y, x, area_bounds, outside_km)
        )
        if swapped.any():
            rows = np.flatnonzero(swapped)
            findings.append(
                _finding(
                    "swapped_axes",
                    rows,
                    count=rows.size,
                    examples=_examples(rows),
                    lon=float(x[rows[0]]),
                    lat=float(y[rows[0]]),
                )
            )
        projected = finite & ~valid & ~valid_swapped
        if projected.any():
            rows = np.flatnonzero(projected)
            candidates = _projected_suggestions(x[rows], y[rows], area_bounds)
            suggestion = (
                " / ".join(f"--crs {c}" for c in candidates[:3])
                if candidates
                else both("crs.suggest_unknown")
            )
            finding = _finding(
                "projected_without_crs",
                rows,
                count=rows.size,
                x_magnitude=f"{float(np.median(np.abs(x[rows]))):,.0f}",
                y_magnitude=f"{float(np.median(np.abs(y[rows]))):,.0f}",
                suggestion=suggestion,
            )
            finding.details["candidates"] = candidates
            findings.append(finding)
        flagged = flagged | swapped | projected

    if area_bounds is not None:
        km = np.where(flagged, 0.0, _km_outside(x, y, area_bounds))
        outside = ~flagged & (km > outside_km)
        if outside.any():
            rows = np.flatnonzero(outside)
            findings.append(
                _finding(
                    "outside_area",
                    rows,
                    count=rows.size,
                    limit_km=outside_km,
                    max_km=round(float(km[rows].max()), 1),
                    examples=_examples(rows),
                )
            )
            flagged = flagged | outside

    if checked and reference is not None:
        ref_lon, ref_lat = _as_xy(*reference)
        offset = _detect_offset(
            x[~flagged], y[~flagged], ref_lon.ravel(), ref_lat.ravel(), min_offset_points
        )
        if offset is not None:
            findings.append(offset)
    return findings
