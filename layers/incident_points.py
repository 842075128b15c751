"""Incident points of a map viewport, encoded as geobuf by PostGIS.

The street-zoom view of the dashboard asks for the incidents inside a small lon/lat box with
the map's filter. The database selects them through a geometry index and encodes them with
``ST_AsGeobuf``, so no incident row passes through Python: the caller gets bytes ready to send.
Every read takes an area scope (DESIGN §3).

A dense view is thinned, as map tilers thin dense layers: every incident carries a stored
``sample_tier`` drawn from a hash of its id (migration 0006: tier 0 is about 1% of the
incidents, tiers 0-1 about 10%), with a geometry index on each sample. The 1% of the box that
matches the filter is read first (cheap: a hundredth of the box); from its count the box's
total is estimated, and the answer is every matching incident when that is at most ``cap``,
else the 10% sample when that is at most ``cap``, else the 1% sample. The answer says which
(:attr:`IncidentPoints.fraction`) and how many incidents it stands for
(:attr:`IncidentPoints.total`).
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
from layers.access import area_scope, custom_plans, hour_filter, incident_filter

DEFAULT_CAP = 2_000
"""Most points one answer carries (DESIGN §7: never more than about 50,000 raw features).

Reading and encoding the points of one answer costs time in proportion to their number; a
box that holds more matching incidents is answered by a sample (:data:`SAMPLE_TIERS`).
5,000 clustered points are more than a street view can show apart."""

SAMPLE_TIERS: dict[int, float] = {0: 0.01, 1: 0.1, 2: 1.0}
"""The share of all incidents that the tiers up to each ``sample_tier`` hold (migration 0006:
tier 0 is the 1% sample, tiers 0-1 the 10% sample, tiers 0-2 every incident)."""

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
    """The incidents of one box, or a random sample of them.

    Attributes
    ----------
    geobuf
        A geobuf FeatureCollection of points (lon/lat, storage CRS) with the properties
        ``id`` (incident id), ``category`` (taxonomy code) and ``occurred`` (start of the
        time window, seconds since 1970-01-01 UTC).
    count
        Features in :attr:`geobuf`.
    truncated
        More incidents of the sample matched than ``cap``; the latest ``cap`` were kept (only
        when even the 1% sample of the box is larger than ``cap``).
    fraction
        The share of the matching incidents that the sample holds: ``1.0`` (every one),
        ``0.1`` or ``0.01`` (:data:`SAMPLE_TIERS`).
    total
        Matching incidents in the box: exact when :attr:`fraction` is 1 and nothing was
        truncated, else estimated as the sample's size divided by :attr:`fraction` (the
        sample is a random draw, so the estimate is within about ``2 / sqrt(sample size)``
        of the truth in 95% of boxes).
    """

    geobuf: bytes
    count: int
    truncated: bool
    fraction: float = 1.0
    total: int | None = None

    def __post_init__(self) -> None:
        if self.total is None:
            object.__setattr__(self, "total", self.count)

    @property
    def sampled(self) -> bool:
        """The answer holds a sample, not every matching incident of the box."""
        return self.fraction < 1.0


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
    """The incidents inside ``box`` that match the filter, or a random sample of them, as geobuf.

    Parameters
    ----------
    box
        The viewport, lon/lat degrees in the storage CRS.
    area, start, end, categories, hours
        The filter of :func:`layers.incident_counts`: area scope (an admin-code prefix or
        one grid's 15-digit code), ``start <= occurred_from < end``, categories with the
        ``两抢一盗`` group, hours of day.
    cap
        Most points returned. Every matching incident when at most ``cap`` match; else the
        10% sample (:data:`SAMPLE_TIERS`) when it holds at most ``cap``; else the 1% sample
        (its latest ``cap`` when even that holds more).
    db
        The database; default the process database.

    Notes
    -----
    The 1% sample of the box is read first, whole. Its size ``n`` is random; ``100 m``, with
    ``m = (sqrt(n) - 1)**2`` a lower bound of its mean (:func:`_at_least`), is a total the box
    surely reaches. When the 10% sample surely holds more than ``cap`` (``10 m > cap``), the 1%
    sample is the answer (one query). Else the reads start with every incident
    (``100 m <= cap``) or the 10% sample; they stop after ``cap + 1`` rows, so a read that
    does not fit costs at most ``cap + 1`` matching rows before the next smaller sample is
    read.
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
        **incident_filter(start, end, categories, timezone=db.timezone),
        **hour_filter(hours),
    }
    # Never a generic plan: the partial indexes of the samples serve only a known tier, and the
    # filters are optional.
    with db.connection() as conn, custom_plans(conn):
        # The 1% sample, whole; encoded only when it is the answer.
        first = fetch_one(
            conn, "incident_points_geobuf", tier=0, scan_limit=None, encode_over=cap // 10, **params
        )
        smallest = int(first["matched"]) if first else 0
        # The sample's size is random (about Poisson): plan on what it surely says, the total
        # at least, so that a box whose every incident fits is not answered by a sample.
        surely = _at_least(smallest) / SAMPLE_TIERS[0]
        if surely * SAMPLE_TIERS[1] > cap:
            return _answer(first, tier=0, cap=cap)
        tier = 2 if surely <= cap else 1
        while tier > 0:
            row = fetch_one(
                conn,
                "incident_points_geobuf",
                tier=tier,
                scan_limit=cap + 1,
                encode_over=-1,
                **params,
            )
            if row and int(row["matched"]) <= cap:
                return _answer(row, tier=tier, cap=cap)
            tier -= 1
        row = fetch_one(
            conn, "incident_points_geobuf", tier=0, scan_limit=None, encode_over=-1, **params
        )
    return _answer(row, tier=0, cap=cap)


def _at_least(n: int) -> float:
    """A lower bound of the mean of a Poisson count ``n``, true about 97.7% of the time (two
    standard deviations of ``sqrt(n)``, whose standard deviation is 1/2)."""
    return max(0.0, math.sqrt(n) - 1.0) ** 2


def _answer(row: dict[str, Any] | None, *, tier: int, cap: int) -> IncidentPoints:
    matched = int(row["matched"]) if row else 0
    data = bytes(row["geobuf"]) if row and row["geobuf"] is not None else b""
    fraction = SAMPLE_TIERS[tier]
    return IncidentPoints(
        geobuf=data,
        count=min(matched, cap),
        truncated=matched > cap,
        fraction=fraction,
        total=round(matched / fraction),
    )
