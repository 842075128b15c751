"""Incident points of a map viewport, encoded as geobuf by PostGIS.

The street-zoom view of the dashboard asks for the incidents inside a small lon/lat box with
the map's filter. The database selects them through the geometry index, keeps the latest
``cap`` of them and encodes them with ``ST_AsGeobuf``, so no incident row passes through
Python: the caller gets bytes ready to send. Every read takes an area scope (DESIGN §3).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from gis.db import Database, get_database
from gis.errors import ValidationError
from gis.queries import fetch_one
from layers.access import _incident_filter, area_scope, custom_plans, hour_filter

DEFAULT_CAP = 5_000
"""Most points one answer carries (DESIGN §7: never more than about 50,000 raw features).

Finding the latest ``cap`` incidents of a dense box costs time in proportion to ``cap`` (the
time index is read backwards until ``cap`` of them lie in the box), and so does encoding
them; 5,000 clustered points are more than a street view can show apart."""

MAX_SPAN_DEG = 0.25
"""Widest box accepted, in degrees of longitude or latitude: more than a 4K screen shows at
zoom 15 (about 0.17° of longitude), far less than a county."""


@dataclass(frozen=True)
class Box:
    """A lon/lat box in the storage CRS (EPSG:4490 or EPSG:4326), in degrees."""

    west: float
    south: float
    east: float
    north: float

    @classmethod
    def parse(cls, text: str | Sequence[float], *, max_span: float = MAX_SPAN_DEG) -> Box:
        """A box from ``"west,south,east,north"`` (or four numbers), checked.

        Raises
        ------
        ValidationError
            Not four finite numbers, outside longitude/latitude, empty, or wider than
            ``max_span`` degrees.
        """
        parts = text.split(",") if isinstance(text, str) else list(text)
        try:
            values = [float(p) for p in parts]
        except (TypeError, ValueError):
            values = []
        if len(values) != 4 or not all(math.isfinite(v) for v in values):
            raise ValidationError("points.bad_bbox", bbox=str(text))
        west, south, east, north = values
        if not (-180 <= west < east <= 180 and -90 <= south < north <= 90):
            raise ValidationError("points.bad_bbox", bbox=str(text))
        if east - west > max_span or north - south > max_span:
            raise ValidationError(
                "points.bbox_too_large",
                bbox=str(text),
                width=round(east - west, 4),
                height=round(north - south, 4),
                max=max_span,
            )
        return cls(west, south, east, north)


@dataclass(frozen=True)
class IncidentPoints:
    """The incidents of one box.

    Attributes
    ----------
    geobuf
        A geobuf FeatureCollection of points (lon/lat, storage CRS) with the properties
        ``id`` (incident id), ``category`` (taxonomy code) and ``occurred`` (start of the
        time window, seconds since 1970-01-01 UTC).
    count
        Features in :attr:`geobuf`.
    truncated
        More incidents matched than ``cap``; the latest ``cap`` were kept.
    """

    geobuf: bytes
    count: int
    truncated: bool


def incident_points(
    box: Box,
    *,
    area: str | None = None,
    start: str | date | datetime | None = None,
    end: str | date | datetime | None = None,
    categories: list[str] | str | None = None,
    hours: tuple[int, int] | None = None,
    cap: int = DEFAULT_CAP,
    db: Database | None = None,
) -> IncidentPoints:
    """The latest ``cap`` incidents inside ``box`` that match the filter, as geobuf.

    Parameters
    ----------
    box
        The viewport, lon/lat degrees in the storage CRS.
    area, start, end, categories, hours
        The filter of :func:`layers.incident_counts`: area scope (an admin-code prefix or
        one grid's 15-digit code), ``start <= occurred_from < end``, categories with the
        ``两抢一盗`` group, hours of day.
    cap
        Most points returned; the answer says whether more matched.
    db
        The database; default the process database.
    """
    db = db or get_database()
    params: dict[str, Any] = {
        "west": box.west,
        "south": box.south,
        "east": box.east,
        "north": box.north,
        "srid": db.storage_srid,
        "scope": area_scope(area),
        "cap": int(cap),
        **_incident_filter(start, end, categories, timezone=db.timezone),
        **hour_filter(hours),
    }
    # Never a generic plan: the best plan depends on how many incidents the box holds (the
    # geometry index for a village, the latest-first time index for a town centre).
    with db.connection() as conn, custom_plans(conn):
        row = fetch_one(conn, "incident_points_geobuf", **params)
    matched = int(row["matched"]) if row else 0
    data = bytes(row["geobuf"]) if row and row["geobuf"] is not None else b""
    return IncidentPoints(geobuf=data, count=min(matched, cap), truncated=matched > cap)
