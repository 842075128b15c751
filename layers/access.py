"""Reading layers back, for analysts and the dashboard: one call, one GeoDataFrame.

>>> import layers
>>> thefts = layers.read("incidents", area="990101001", start="2026-01-01",
...                      categories=["两抢一盗"])                                # doctest: +SKIP

Every read takes an area scope (an admin-code prefix; ``""`` or ``None`` means everything),
so that role-scoped access can be enforced in the database. The frame's CRS is the storage
CRS, checked against the SRID the database reports for every row.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

import geopandas as gpd
import pandas as pd
import psycopg
import shapely

from gis.db import Database, get_database
from gis.errors import CRSError, ValidationError
from gis.queries import fetch_all
from layers import staff
from layers.incidents import taxonomy

_QUERIES = {
    "admin_units": "read_admin_units",
    "grids": "read_grids",
    "grid_staff": "grid_staff_in_scope",
    "cameras": "read_cameras",
    "places": "read_places",
    "addresses": "read_addresses",
    "incidents": "read_incidents",
    "roads": "read_roads",
    "patrol_teams": "read_patrol_teams",
}


_TABLES = ("grid_staff", "patrol_teams")  # layers without geometry


def area_scope(area: str | None) -> str:
    """An admin-code prefix as the queries take it: digits only, ``""`` for everything.

    Anything else is refused rather than passed on, so that a scope can never widen itself
    (``%`` or ``_`` would be wildcards in ``LIKE``).
    """
    scope = (area or "").strip()
    if not re.fullmatch(r"\d*", scope):
        raise ValidationError("layers.bad_area", area=scope)
    return scope


def _timestamp(value: str | date | datetime | None, timezone: str) -> pd.Timestamp | None:
    if value is None:
        return None
    stamp = pd.Timestamp(value)
    return stamp.tz_localize(timezone) if stamp.tzinfo is None else stamp


def read(
    layer: str,
    *,
    area: str | None = None,
    start: str | date | datetime | None = None,
    end: str | date | datetime | None = None,
    categories: list[str] | str | None = None,
    kinds: list[str] | None = None,
    mask_phones: bool = False,
    hours: tuple[int, int] | None = None,
    db: Database | None = None,
) -> gpd.GeoDataFrame | pd.DataFrame:
    """Read a base layer as a GeoDataFrame (or a DataFrame for layers without geometry).

    Parameters
    ----------
    layer
        ``admin_units``, ``grids``, ``grid_staff``, ``cameras``, ``places``, ``addresses``,
        ``incidents``, ``roads`` or ``patrol_teams``.
    area
        Admin-code prefix (``"990101001"`` = one township); default everything.
    start, end
        Incidents only: ``start <= occurred_from < end``. Dates without a time of day and
        naive date-times are in the deployment time zone.
    categories
        Incidents only: codes, names, or the group ``两抢一盗``; children are included.
    kinds
        Places only: place kinds (``school``, ``market`` ...).
    mask_phones
        Grid staff only: show phones as ``139****5678``, for viewers who may not see them.
    hours
        Incidents only: hours of day ``(from, to)`` in the deployment time zone, ``to``
        exclusive and possibly past midnight (``(22, 6)``); see :func:`hour_filter`.
    db
        The database; default the one the CLI uses (connecting is automatic).

    Returns
    -------
    GeoDataFrame in the storage CRS (EPSG:4490 by default), geometry column ``geometry``.
    """
    if layer not in _QUERIES:
        raise ValidationError("layers.unknown_layer", layer=layer, layers=", ".join(_QUERIES))
    db = db or get_database()
    params: dict[str, Any] = {"scope": area_scope(area)}
    if layer == "incidents":
        params.update(incident_filter(start, end, categories, timezone=db.timezone))
        params.update(hour_filter(hours))
    if layer == "places":
        params["kinds"] = kinds
    with db.connection() as conn:
        rows = fetch_all(conn, _QUERIES[layer], **params)
    frame = to_frame(rows, srid=db.storage_srid, spatial=layer not in _TABLES)
    if layer == "grid_staff" and mask_phones and len(frame):
        frame = staff.mask_phones(frame)
    return frame


def to_frame(
    rows: list[dict[str, Any]], *, srid: int, spatial: bool
) -> gpd.GeoDataFrame | pd.DataFrame:
    """Rows of a named read query as a frame; with ``spatial``, their ``wkb``/``srid`` columns
    become a geometry in ``EPSG:<srid>`` (the storage SRID), checked on this side too."""
    frame = pd.DataFrame(rows)
    if not spatial:
        return frame
    if frame.empty:
        return gpd.GeoDataFrame(geometry=[], crs=f"EPSG:{srid}")
    if len(frame) and (frame["srid"] != srid).any():
        found = int(frame.loc[frame["srid"] != srid, "srid"].iloc[0])
        raise CRSError("db.srid_mismatch", what="database rows", found=found, expected=srid)
    geometry = shapely.from_wkb(frame.pop("wkb").to_numpy()) if len(frame) else []
    frame = frame.drop(columns="srid")
    return gpd.GeoDataFrame(frame, geometry=geometry, crs=f"EPSG:{srid}")


def incident_filter(
    start: str | date | datetime | None,
    end: str | date | datetime | None,
    categories: list[str] | str | None,
    *,
    timezone: str,
) -> dict[str, Any]:
    """The time and category parameters the incident queries share."""
    return {
        "start": _timestamp(start, timezone),
        "end": _timestamp(end, timezone),
        "categories": sorted(taxonomy().expand(categories)) if categories else None,
    }


def incident_counts(
    *,
    area: str | None = None,
    start: str | date | datetime | None = None,
    end: str | date | datetime | None = None,
    categories: list[str] | str | None = None,
    hours: tuple[int, int] | None = None,
    db: Database | None = None,
) -> dict[str | None, int]:
    """Incidents per grid code, counted in the database; ``None`` holds those outside every grid.

    Takes the same filter as :func:`read` on ``incidents``; ``area`` may also be one grid's
    15-digit code (the grid's incidents only).
    """
    db = db or get_database()
    params = {
        "scope": area_scope(area),
        **incident_filter(start, end, categories, timezone=db.timezone),
        **hour_filter(hours),
    }
    with db.connection() as conn, custom_plans(conn):
        rows = fetch_all(conn, "incident_counts_by_grid", **params)
    return {r["grid_code"]: int(r["incidents"]) for r in rows}


@contextlib.contextmanager
def custom_plans(conn: psycopg.Connection[Any]) -> Iterator[None]:
    """Run the block's queries unprepared, so that PostgreSQL plans each for its values.

    The incident queries take optional filters (``%(categories)s IS NULL OR ...``); a generic
    plan, which psycopg's prepared statements get after a few calls, cannot use an index on a
    filter it does not know is set, and falls back to reading the whole table.
    """
    threshold = conn.prepare_threshold
    conn.prepare_threshold = None
    try:
        yield
    finally:
        conn.prepare_threshold = threshold


def hour_filter(hours: tuple[int, int] | list[int] | None) -> dict[str, int | None]:
    """The ``hour_from`` / ``hour_to`` parameters of the incident queries.

    ``hours`` is ``(from, to)``: whole hours of the deployment time zone, ``0 <= from <= 23``,
    ``1 <= to <= 24``, ``to`` exclusive; ``from > to`` wraps midnight (``(22, 6)`` is
    22:00–06:00); ``None`` or a whole day is no filter. An incident known only by a time
    window counts when the whole window lies inside the band (SQL ``incident_hours_match``
    on the stored ``occurred_hour`` and ``hour_span``, migration 0005; the rule of
    ``incident_in_hours``, migration 0004): a window longer than the band, or crossing its
    edge, has no known hour.
    """
    if hours is None:
        return {"hour_from": None, "hour_to": None}
    try:
        first, last = (int(h) for h in hours)
    except (TypeError, ValueError):
        raise ValidationError("layers.bad_hours", hours=hours) from None
    if not (0 <= first <= 23 and 1 <= last <= 24):
        raise ValidationError("layers.bad_hours", hours=hours)
    if (last - first) % 24 == 0:
        return {"hour_from": None, "hour_to": None}
    return {"hour_from": first, "hour_to": last}


def incident_monthly_counts(
    *,
    area: str | None = None,
    until: str | date | None = None,
    categories: list[str] | str | None = None,
    hours: tuple[int, int] | None = None,
    db: Database | None = None,
) -> pd.Series:
    """Incidents per month of the 12 months ending with ``until``'s month, counted in the database.

    Parameters
    ----------
    area
        Admin-code prefix or one grid's 15-digit code; default everything.
    until
        A day of the last month; default the month of the latest incident in the database.
    categories, hours
        As in :func:`read`.

    Returns
    -------
    Series of counts indexed by the first day of each month (deployment time zone), oldest
    first, empty months included; empty when there are no incidents at all.
    """
    db = db or get_database()
    params = {
        "scope": area_scope(area),
        "until": pd.Timestamp(until).date() if until is not None else None,
        "categories": incident_filter(None, None, categories, timezone=db.timezone)["categories"],
        **hour_filter(hours),
    }
    with db.connection() as conn:
        rows = fetch_all(conn, "incident_monthly_counts", **params)
    return pd.Series(
        [int(r["incidents"]) for r in rows],
        index=pd.Index([r["month"] for r in rows], name="month"),
        name="incidents",
        dtype="int64",
    )


def incident_detail(
    incident_id: int, *, area: str | None = None, db: Database | None = None
) -> dict[str, Any] | None:
    """One incident by id, as a dict, or ``None`` when it is not in ``area`` (or not at all).

    Keys: ``id``, ``source``, ``source_id``, ``category_code``, ``category_zh``,
    ``category_en``, ``category_raw``, ``occurred_from``, ``occurred_to``, ``reported_at``
    (tz-aware, deployment time zone), ``address``, ``geocode_level``, ``merged_rows``,
    ``village_code``, ``grid_code``, and the point ``x``/``y`` (longitude/latitude in the
    storage CRS, ``srid``). The free-text description is not returned.
    """
    db = db or get_database()
    with db.connection() as conn:
        rows = fetch_all(
            conn, "read_incident", incident_id=int(incident_id), scope=area_scope(area)
        )
    return dict(rows[0]) if rows else None


def base_version(*, db: Database | None = None) -> str:
    """A cheap stamp that changes whenever the base layers change (an import or a purge).

    Caches of base layers key on it; it costs one small query.
    """
    db = db or get_database()
    with db.connection() as conn:
        (row,) = fetch_all(conn, "base_layers_version")
    return f"{row['batch']}:{row['rows']}"


def counts(*, area: str | None = None, db: Database | None = None) -> dict[str, int]:
    """Row count of every base layer (and the quarantine) inside ``area``."""
    db = db or get_database()
    with db.connection() as conn:
        rows = fetch_all(conn, "layer_counts", scope=area_scope(area))
    return {r["layer"]: int(r["rows"]) for r in rows}
