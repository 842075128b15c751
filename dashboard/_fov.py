"""A camera's field of view as a polygon, for the map: a wedge, or a circle when the heading
is unknown.

The shape is built in metres in the camera's local metric CRS (:func:`gis.crs.local_metric_crs`:
the CGCS2000 Gauss-Krüger zone in China, UTM elsewhere) and transformed back to the storage
CRS. The heading is an azimuth from true north, clockwise; the grid north of the projected
CRS differs from true north by the meridian convergence (up to about 1.5° at the edge of a
3-degree zone), which is measured at the camera and added, so the wedge points where the
camera looks. This is a plan-view sketch (no terrain, no occlusion), not a coverage analysis.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import shapely

from gis.crs import local_metric_crs, transform_points

Shape = Literal["wedge", "circle", "none"]


@dataclass(frozen=True)
class FieldOfView:
    """The drawn field of view of one camera.

    Attributes
    ----------
    shape
        ``wedge`` (heading, angle and range known), ``circle`` (range known, heading or angle
        unknown, or an angle of 360°) or ``none`` (no range: nothing is drawn).
    geometry
        The polygon in the storage CRS (longitude/latitude degrees), or ``None``.
    """

    shape: Shape
    geometry: shapely.Polygon | None


def field_of_view(
    lon: float,
    lat: float,
    *,
    heading_deg: float | None,
    fov_deg: float | None,
    range_m: float | None,
    srid: int,
    segments: int = 48,
) -> FieldOfView:
    """The field of view of a camera at ``lon``/``lat`` (degrees in EPSG:``srid``).

    Parameters
    ----------
    lon, lat
        The camera's position in the storage CRS (EPSG:4490 or EPSG:4326), degrees.
    heading_deg
        Direction the camera looks, degrees clockwise from true north; ``None`` if unknown.
    fov_deg
        Horizontal angle of view, degrees (0, 360]; ``None`` if unknown.
    range_m
        Range in metres, measured in the local metric CRS; ``None`` if unknown.
    srid
        EPSG code of ``lon``/``lat`` and of the returned polygon.
    segments
        Vertices on a full circle (a wedge gets its share, at least 4).
    """
    if not _known(range_m) or range_m is None or range_m <= 0:
        return FieldOfView("none", None)
    metric = local_metric_crs(lon, lat)
    (x0,), (y0,) = transform_points([lon], [lat], src=srid, dst=metric)
    wedge = _known(heading_deg) and _known(fov_deg) and fov_deg is not None and fov_deg < 360
    if wedge:
        assert heading_deg is not None and fov_deg is not None
        # Grid azimuth of true north at the camera: the meridian convergence.
        (xn,), (yn,) = transform_points([lon], [lat + 0.001], src=srid, dst=metric)
        north = math.degrees(math.atan2(xn - x0, yn - y0))
        centre = heading_deg + north
        n = max(4, math.ceil(segments * fov_deg / 360))
        azimuths = np.radians(np.linspace(centre - fov_deg / 2, centre + fov_deg / 2, n + 1))
        xs = np.concatenate([[x0], x0 + range_m * np.sin(azimuths), [x0]])
        ys = np.concatenate([[y0], y0 + range_m * np.cos(azimuths), [y0]])
    else:
        azimuths = np.radians(np.linspace(0, 360, segments + 1))
        xs = x0 + range_m * np.sin(azimuths)
        ys = y0 + range_m * np.cos(azimuths)
    lons, lats = transform_points(xs, ys, src=metric, dst=srid)
    polygon = shapely.Polygon(np.column_stack([lons, lats]))
    return FieldOfView("wedge" if wedge else "circle", polygon)


def _known(value: Any) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))
