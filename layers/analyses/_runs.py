"""Analysis runs: the inputs every refresh reads, and the ``analysis_run`` row it writes.

A refresh reads incidents with an area scope, runs a pure function of :mod:`analysis`, and
stores the results together with one ``analysis_run`` row (kind, area, period, categories,
parameters, the bilingual run log, a summary and, for tables, the result) in one transaction:
a run is stored whole or not at all. Spatial results (cells, clusters, key areas) go in by
binary COPY (:func:`layers._store.copy_frame`) in the storage SRID.

Periods: ``start`` and ``end`` are dates or ISO date-times in the deployment time zone. A date
``end`` is inclusive (``end="2026-10-31"`` covers that whole day); an ``end`` with a time of
day is exclusive. Missing ends default to the first and last incident in the area.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, TypeAlias

import geopandas as gpd
import numpy as np
import pandas as pd
import psycopg
import shapely

from analysis.runlog import RunLog
from gis.db import Database, get_database
from gis.errors import ValidationError
from gis.queries import fetch_all, fetch_one
from layers._store import copy_frame, ewkb
from layers.access import area_scope, incident_filter, read, to_frame

__all__ = [
    "KINDS",
    "AnalysisRun",
    "Inputs",
    "latest_run",
    "list_runs",
    "read_run",
]

KINDS = (
    "hotspots",
    "emerging",
    "clusters",
    "near_repeat",
    "profile",
    "key_areas",
    "risk",
    "backtest",
)

TimeLike: TypeAlias = str | date | datetime | pd.Timestamp | None


@dataclass
class AnalysisRun:
    """One stored analysis run.

    Attributes
    ----------
    id, kind
        The run's id and kind (one of :data:`KINDS`).
    area_code
        The admin-code prefix it covered (``""`` = everything).
    period_from, period_to
        The incidents' period, ``[from, to)`` (tz-aware); ``None`` for runs without one.
    categories
        The category codes counted (empty = all).
    params
        Every option, the defaults included.
    log
        The choices made, ``[{"key", "params", "zh", "en"}]`` (:meth:`analysis.runlog.LogEntry.
        as_json`).
    summary
        Headline figures (what the CLI prints).
    result
        Non-spatial results (profile, Knox, backtest tables); ``None`` for the others.
    started_at, finished_at
        When the run began and was stored.
    """

    id: int
    kind: str
    area_code: str
    period_from: datetime | None
    period_to: datetime | None
    categories: list[str]
    params: dict[str, Any]
    log: list[dict[str, Any]]
    summary: dict[str, Any]
    result: dict[str, Any] | None
    started_at: datetime
    finished_at: datetime | None

    def as_dict(self) -> dict[str, Any]:
        """The run as JSON-ready data (times as ISO text)."""
        return clean_json(self.__dict__)

    def log_text(self, *, language: str = "zh") -> list[str]:
        """The run log in one language."""
        return [str(entry.get(language) or entry.get("zh", "")) for entry in self.log]


def clean_json(value: Any) -> Any:
    """``value`` made JSON-ready: numpy scalars as Python numbers, NaN and inf as ``None``,
    times and dates as ISO text, tuples and arrays as lists."""
    if isinstance(value, Mapping):
        return {str(k): clean_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [clean_json(v) for v in value]
    if isinstance(value, np.ndarray):
        return [clean_json(v) for v in value.tolist()]
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer, int)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        number = float(value)
        return number if math.isfinite(number) else None
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, (pd.Timestamp, datetime, date)):
        return value.isoformat()
    if isinstance(value, pd.Period):
        return str(value)
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return value if isinstance(value, str) else str(value)


def to_json(value: Any) -> str:
    """JSON text for a ``jsonb`` parameter (see :func:`clean_json`)."""
    return json.dumps(clean_json(value), ensure_ascii=False)


# --------------------------------------------------------------------------------------------
# inputs


def _local(value: TimeLike, timezone: str, name: str) -> pd.Timestamp:
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError):
        raise ValidationError("analyses.bad_time", name=name, value=str(value)) from None
    if pd.isna(stamp):
        raise ValidationError("analyses.bad_time", name=name, value=str(value))
    return stamp.tz_localize(timezone) if stamp.tzinfo is None else stamp.tz_convert(timezone)


def local_end(value: TimeLike, timezone: str) -> pd.Timestamp:
    """The exclusive end of a period: a date is inclusive (its next local midnight)."""
    stamp = _local(value, timezone, "end")
    return stamp + pd.Timedelta(days=1) if stamp == stamp.normalize() else stamp


@dataclass
class Inputs:
    """What one refresh reads: the database, the area scope, the period and the categories;
    and the run log it keeps (``log``, every choice of the refresh and of its analysis).

    Build with :meth:`resolve`; :meth:`incidents` then reads the incidents.
    """

    db: Database
    area: str
    start: pd.Timestamp | None
    end: pd.Timestamp | None
    categories: list[str]
    asked: list[str] = field(default_factory=list)
    started_at: pd.Timestamp = field(default_factory=lambda: pd.Timestamp.now(tz="UTC"))
    log: RunLog = field(default_factory=RunLog)

    @classmethod
    def resolve(
        cls,
        *,
        area: str | None,
        start: TimeLike = None,
        end: TimeLike = None,
        categories: Sequence[str] | str | None = None,
        db: Database | None,
        span: bool = True,
    ) -> Inputs:
        """Check the area, read the period (missing ends from the incidents when ``span``) and
        expand the categories (names, codes or 两抢一盗) to taxonomy codes."""
        database = db or get_database()
        scope = area_scope(area)
        tz = database.timezone
        asked = [categories] if isinstance(categories, str) else list(categories or [])
        codes = incident_filter(None, None, asked or None, timezone=tz)["categories"] or []
        lo = _local(start, tz, "start") if start is not None else None
        hi = local_end(end, tz) if end is not None else None
        if span and (lo is None or hi is None):
            with database.connection() as conn:
                row = fetch_one(conn, "analysis_incident_span", scope=scope)
            if row is None or row["first"] is None:
                raise ValidationError("analyses.no_incidents", area=scope or "-")
            if lo is None:
                lo = pd.Timestamp(row["first"]).tz_convert(tz).normalize()
            if hi is None:
                hi = pd.Timestamp(row["last"]).tz_convert(tz).normalize() + pd.Timedelta(days=1)
        if lo is not None and hi is not None and hi <= lo:
            raise ValidationError("analyses.bad_period", start=str(lo), end=str(hi))
        return cls(db=database, area=scope, start=lo, end=hi, categories=codes, asked=asked)

    @property
    def timezone(self) -> str:
        return self.db.timezone

    @property
    def srid(self) -> int:
        return self.db.storage_srid

    def incidents(
        self,
        *,
        start: pd.Timestamp | None = None,
        end: pd.Timestamp | None = None,
        categories: Sequence[str] | None = None,
        minimum: int = 1,
    ) -> gpd.GeoDataFrame:
        """The incidents of the scope and period (or ``start``/``end``) as points in the storage
        CRS: ``id``, ``category`` (code), ``two_robberies_one_theft``, ``occurred_from`` and
        ``occurred_to`` (tz-aware, deployment time zone), ``village_code``, ``grid_code``,
        ``h3_r10``. Fewer than ``minimum`` is refused with a message naming the filter."""
        lo = self.start if start is None else start
        hi = self.end if end is None else end
        codes = list(self.categories if categories is None else categories)
        with self.db.connection() as conn:
            rows = fetch_all(
                conn,
                "analysis_incidents",
                scope=self.area,
                start=lo,
                end=hi,
                categories=codes or None,
            )
        frame = pd.DataFrame(
            rows,
            columns=[
                "id",
                "category",
                "two_robberies_one_theft",
                "occurred_from",
                "occurred_to",
                "village_code",
                "grid_code",
                "h3_r10",
                "x",
                "y",
            ],
        )
        for column in ("occurred_from", "occurred_to"):
            frame[column] = pd.to_datetime(frame[column], utc=True).dt.tz_convert(self.timezone)
        frame["h3_r10"] = frame["h3_r10"].astype(np.int64)
        geometry = gpd.points_from_xy(frame.pop("x"), frame.pop("y"))
        out = gpd.GeoDataFrame(frame, geometry=geometry, crs=f"EPSG:{self.srid}")
        self.log.say(
            "analyses.log_incidents",
            count=len(out),
            area=self.area or "*",
            start=_day(lo),
            end=_day(hi, last=True),
            categories=", ".join(self.asked) or "*",
        )
        if len(out) < minimum:
            raise ValidationError(
                "analyses.too_few_incidents",
                count=len(out),
                minimum=minimum,
                area=self.area or "*",
                start=_day(lo),
                end=_day(hi, last=True),
                categories=", ".join(self.asked) or "*",
            )
        return out

    def layer(self, name: str, **options: Any) -> gpd.GeoDataFrame:
        """A base layer of the scope (:func:`layers.read`)."""
        frame = read(name, area=self.area, db=self.db, **options)
        assert isinstance(frame, gpd.GeoDataFrame)
        return frame

    def study_area(self) -> gpd.GeoDataFrame | None:
        """The scope's outline: the union of its admin units (``None`` when there are none)."""
        units = self.layer("admin_units")
        if units.empty:
            return None
        outline = shapely.union_all(np.asarray(units.geometry.values, dtype=object))
        return gpd.GeoDataFrame(geometry=[outline], crs=units.crs)

    def save(
        self,
        conn: psycopg.Connection[Any],
        kind: str,
        *,
        params: Mapping[str, Any],
        summary: Mapping[str, Any],
        result: Mapping[str, Any] | None = None,
        period: bool = True,
    ) -> int:
        """Insert the ``analysis_run`` row (inside the caller's transaction); returns its id."""
        row = fetch_one(
            conn,
            "insert_analysis_run",
            run_kind=kind,
            area_code=self.area,
            period_from=self.start if period else None,
            period_to=self.end if period else None,
            categories=self.categories,
            params=to_json({**params, "categories_asked": self.asked}),
            log=to_json([entry.as_json() for entry in self.log]),
            summary=to_json(summary),
            result=None if result is None else to_json(result),
            started_at=self.started_at,
        )
        assert row is not None
        return int(row["id"])


def _day(stamp: pd.Timestamp | None, *, last: bool = False) -> str:
    if stamp is None:
        return "*"
    if last and stamp == stamp.normalize():
        stamp = stamp - pd.Timedelta(days=1)
    return stamp.date().isoformat()


def store_geometries(
    conn: psycopg.Connection[Any],
    table: str,
    columns: Sequence[tuple[str, str]],
    frame: gpd.GeoDataFrame,
    *,
    srid: int,
) -> None:
    """Binary-COPY ``frame`` (its ``columns`` plus the geometry as ``geom``) into ``table``."""
    if frame.empty:
        return
    moved = frame.to_crs(epsg=srid) if frame.crs.to_epsg() != srid else frame
    data: dict[str, Any] = {name: moved[name] for name, _ in columns}
    data["geom"] = ewkb(moved.geometry.values, srid)
    copy_frame(conn, table, [*columns, ("geom", "bytea")], data, len(moved))


# --------------------------------------------------------------------------------------------
# reading runs back


def _run(row: Mapping[str, Any]) -> AnalysisRun:
    return AnalysisRun(
        id=int(row["id"]),
        kind=row["kind"],
        area_code=row["area_code"],
        period_from=row["period_from"],
        period_to=row["period_to"],
        categories=list(row["categories"] or []),
        params=row["params"] or {},
        log=row["log"] or [],
        summary=row["summary"] or {},
        result=row["result"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
    )


def read_run(run_id: int, *, db: Database | None = None) -> AnalysisRun:
    """One stored run by id; an unknown id is refused with a message naming it."""
    db = db or get_database()
    with db.connection() as conn:
        row = fetch_one(conn, "read_analysis_run", run_id=int(run_id))
    if row is None:
        raise ValidationError("analyses.no_such_run", run_id=run_id)
    return _run(row)


def latest_run(
    kind: str, *, area: str | None = None, db: Database | None = None
) -> AnalysisRun | None:
    """The newest run of ``kind`` whose area covers ``area`` (a county run covers its
    townships), or ``None``."""
    check_kind(kind)
    db = db or get_database()
    with db.connection() as conn:
        row = fetch_one(conn, "latest_analysis_run", run_kind=kind, scope=area_scope(area))
    return None if row is None else read_run(row["id"], db=db)


def list_runs(
    *, kind: str | None = None, area: str | None = None, limit: int = 20, db: Database | None = None
) -> pd.DataFrame:
    """The newest runs, newest first: ``id``, ``kind``, ``area_code``, ``period_from``,
    ``period_to``, ``categories``, ``started_at``, ``finished_at``, ``summary`` (dict)."""
    if kind is not None:
        check_kind(kind)
    db = db or get_database()
    with db.connection() as conn:
        rows = fetch_all(
            conn, "list_analysis_runs", run_kind=kind, scope=area_scope(area), limit=int(limit)
        )
    columns = [
        "id",
        "kind",
        "area_code",
        "period_from",
        "period_to",
        "categories",
        "summary",
        "started_at",
        "finished_at",
    ]
    return pd.DataFrame(rows, columns=columns)


def check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise ValidationError("analyses.bad_kind", kind=kind, kinds=", ".join(KINDS))
    return kind


def frame_of(rows: list[dict[str, Any]], *, srid: int, columns: Sequence[str]) -> gpd.GeoDataFrame:
    """Rows with ``wkb``/``srid`` as a GeoDataFrame (empty frames keep their columns)."""
    if not rows:
        return gpd.GeoDataFrame({c: [] for c in columns}, geometry=[], crs=f"EPSG:{srid}")
    frame = to_frame(rows, srid=srid, spatial=True)
    assert isinstance(frame, gpd.GeoDataFrame)
    return frame
