"""The incident layer (警情/案件): spec, the rules of DESIGN §3, and the bulk write path.

Rules:

- ``(source, source_id)`` identifies an incident; the key lives in ``incident_key`` so that
  ``incident`` can later be partitioned by time.
- Categories go through the taxonomy in ``data/taxonomy``; an unknown name becomes 其他 (99)
  with the original kept in ``category_raw``, and is counted, not quarantined.
- ``occurred_from`` is required. A value with a date but no time of day is a whole-day window
  (``occurred_to`` = the next midnight in the deployment time zone), because thefts are often
  known only to the day. ``occurred_to`` before ``occurred_from`` is quarantined.
- ``occurred_date`` is the day of ``occurred_from`` in the deployment time zone.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from functools import cache
from typing import Any

import numpy as np
import pandas as pd
import psycopg
import pyarrow as pa
import shapely

from gis._copy import CopyColumn, copy_stream, repeated_text, rows_of
from gis.errors import RowIssue
from gis.h3cells import H3_RESOLUTIONS, points_to_cell_columns
from gis.queries import execute, fetch_all, fetch_one
from layers._assign import AreaIndex
from layers._bulk import aside_load, bulk_load, drop_leftovers
from layers._importer import ImportContext
from layers._incident_columns import local_hours, sample_tiers
from layers._spec import Field, IssueCollector, LayerSpec
from layers._store import (
    NOTHING_WRITTEN,
    copy_frame,
    copy_statement,
    pipelined_copy,
    point_ewkb,
)
from layers.taxonomy import Taxonomy

GEOCODE_LEVELS = ("door", "group", "village", "township", "coordinate")

SPEC = LayerSpec(
    name="incidents",
    table="incident",
    fields=(
        Field("source_id"),
        Field("category", required=True),
        Field("occurred_from", "timestamp", required=True),
        Field("occurred_to", "timestamp"),
        Field("reported_at", "timestamp"),
        Field("address"),
        Field(
            "geocode_level",
            choices=GEOCODE_LEVELS,
            aliases={
                "门牌": "door",
                "门牌号": "door",
                "组": "group",
                "村": "village",
                "乡镇": "township",
                "坐标": "coordinate",
            },
        ),
        Field("description"),
    ),
    geometry="point",
    assign_areas=True,
)

# layers.ingest hands the area index to store(), which assigns chunk by chunk.
ASSIGNS_IN_STORE = True

_STORED: tuple[tuple[str, str], ...] = (
    ("id", "int8"),
    ("category_code", "text"),
    ("category_raw", "text"),
    ("occurred_from", "timestamptz"),
    ("occurred_to", "timestamptz"),
    ("reported_at", "timestamptz"),
    ("occurred_date", "date"),
    ("address", "text"),
    ("geocode_level", "text"),
    ("description", "text"),
    ("merged_rows", "int4"),
    ("village_code", "text"),
    ("grid_code", "text"),
    ("h3_r7", "int8"),
    ("h3_r9", "int8"),
    ("h3_r10", "int8"),
    ("source", "text"),
    ("source_id", "text"),
    ("batch_id", "int8"),
    ("geom", "bytea"),
    ("occurred_hour", "int2"),
    ("hour_span", "int2"),
    ("sample_tier", "int2"),
)
_KEY_COLUMNS: tuple[tuple[str, str], ...] = (
    ("source", "text"),
    ("source_id", "text"),
    ("incident_id", "int8"),
    ("occurred_from", "timestamptz"),
    ("row_hash", "bytea"),
)


@cache
def taxonomy() -> Taxonomy:
    return Taxonomy.load()


def refine(typed: pd.DataFrame, issues: IssueCollector, context: ImportContext) -> pd.DataFrame:
    """Map categories, complete whole-day windows and check the order of times."""
    codes, known = taxonomy().resolve_column(typed["category"])
    typed["category_code"] = codes
    typed["category_raw"] = typed["category"]
    typed["__other_category"] = ~known & typed["category"].notna().to_numpy()

    start = typed["occurred_from"]
    whole_day = typed.pop("occurred_from__date_only").to_numpy(dtype=bool)
    end = typed["occurred_to"]
    end_date_only = typed.pop("occurred_to__date_only").to_numpy(dtype=bool)
    typed.pop("reported_at__date_only")
    # A window given as two dates covers both whole days. A day is a calendar day in the
    # deployment time zone (23 or 25 hours when daylight saving time begins or ends).
    # Only the date-only rows move by a calendar day: shifting an exact time would raise on
    # the hour that daylight saving time repeats or skips.
    next_day = pd.DateOffset(days=1)
    end = end.copy()
    end[end_date_only] = end[end_date_only] + next_day
    fill = whole_day & end.isna().to_numpy()
    end[fill] = start[fill] + next_day
    typed["occurred_to"] = end
    reversed_window = (end < start).fillna(False).to_numpy()
    issues.add(
        np.flatnonzero(reversed_window),
        lambda r: RowIssue(
            "layers.window_reversed",
            start=str(start.iloc[r]),
            end=str(typed["occurred_to"].iloc[r]),
        ),
    )
    typed["occurred_date"] = (
        start.dt.tz_convert(context.timezone).dt.tz_localize(None).dt.normalize()
    )
    return typed.drop(columns=["category"])


def _existing_keys(conn: psycopg.Connection[Any], source: str, keys: pd.Series) -> pd.DataFrame:
    """Look up which of ``keys`` the source already has: incident id and stored row hash."""
    has_keys = fetch_one(conn, "incident_source_has_keys", source=source)
    if not has_keys or not has_keys["has_keys"]:
        return pd.DataFrame({"source_id": [], "incident_id": [], "row_hash": []})
    execute(conn, "create_batch_keys")
    copy_frame(conn, "batch_key", (("source_id", "text"),), {"source_id": keys}, len(keys))
    rows = fetch_all(conn, "existing_batch_keys", source=source)
    return pd.DataFrame(rows, columns=["source_id", "incident_id", "row_hash"])


def store(
    conn: psycopg.Connection[Any],
    clean: pd.DataFrame,
    *,
    source: str,
    batch_id: int,
    srid: int,
    timezone: str,
    areas: AreaIndex | None = None,
    conninfo: str | None = None,
    phases: dict[str, float] | None = None,
) -> dict[str, int]:
    """Write incidents: new ones by binary COPY, changed ones by one UPDATE, unchanged skipped.

    The deduplicated keys are looked up once, up front; then the rows go to the server in
    chunks, and each chunk's village, grid and H3 cells (with ``areas``; else the columns
    ``clean`` has) and its COPY encoding are computed while the server loads the previous
    chunk (:func:`layers._store.pipelined_copy`). In a bulk load the ``incident_key`` COPY and
    its key build run on the server while the first chunks are assigned.

    Parameters
    ----------
    clean
        Clean rows (see :class:`layers._importer.Prepared`); points as ``lon``/``lat`` columns
        or as a geometry, in the storage CRS (``srid``, degrees).
    timezone
        The deployment time zone, in which the local hours of the rows are counted.
    areas
        Village and grid polygons to assign from, or ``None`` when ``clean`` already carries
        ``village_code``, ``grid_code`` and the H3 columns.
    conninfo
        How to open more sessions on the database: given, a bulk load into empty tables is
        loaded aside and indexed in parallel (:mod:`layers._bulk`); else in this session.
    phases
        Filled with seconds: ``rows`` (assigning, encoding and loading the new rows, the key
        table's load overlapped), ``keys`` (that key load, on the server) and ``indexes``
        (rebuilding the incident indexes after a bulk load).
    """
    timings = phases if phases is not None else {}
    n = len(clean)
    if n == 0:
        return dict(NOTHING_WRITTEN)
    # Locked before the keys are looked up, so that two imports of one source cannot both take
    # the same new key for theirs.
    execute(conn, "lock_incident_tables")
    # Under that lock no other load can be running: what a failed or killed one left aside goes.
    drop_leftovers(conn, "incident", conninfo=conninfo)
    hashes = hash_block(clean["row_hash"])
    existing = _existing_keys(conn, source, clean["source_id"])
    is_new = np.ones(n, dtype=bool)
    ids = np.zeros(n, dtype=np.int64)
    changed = np.zeros(n, dtype=bool)
    if len(existing):
        position = pd.Series(np.arange(n), index=clean["source_id"].to_numpy(dtype=object))
        existing_pos = position.reindex(existing["source_id"]).to_numpy()
        is_new[existing_pos] = False
        ids[existing_pos] = existing["incident_id"].to_numpy(dtype=np.int64)
        stored = np.array([bytes(h) for h in existing["row_hash"]], dtype=object)
        ours = np.array([h.tobytes() for h in hashes[existing_pos]], dtype=object)
        changed[existing_pos] = stored != ours

    new_count = int(is_new.sum())
    load_order = _load_order(clean, is_new)
    if new_count:
        reserved = fetch_one(conn, "reserve_incident_ids", count=new_count)
        first = int(reserved["first"])  # type: ignore[index]
        ids[load_order] = np.arange(first, first + new_count, dtype=np.int64)

    data = _column_values(clean, ids=ids, source=source, batch_id=batch_id, timezone=timezone)
    lon, lat = _coordinates(clean)
    key_data = {name: data[name] for name in ("source", "source_id", "occurred_from")}
    key_data["incident_id"] = ids
    key_data["row_hash"] = hashes
    if new_count:
        _load_new(
            conn,
            rows={**data, "lon": lon, "lat": lat},
            order=load_order,
            keys=_subset(key_data, is_new),
            count=new_count,
            areas=areas,
            srid=srid,
            conninfo=conninfo,
            timings=timings,
        )
    if changed.any():
        execute(conn, "create_changed_incident_stage")
        execute(conn, "create_changed_key_stage")
        rows = _subset({**data, "lon": lon, "lat": lat}, changed)
        pipelined_copy(
            conn,
            copy_statement("stage_incident", _STORED),
            _incident_stream(rows, areas=areas, srid=srid),
        )
        copy_frame(conn, "stage_key", _KEY_COLUMNS, _subset(key_data, changed), int(changed.sum()))
        execute(conn, "update_changed_incidents")
    return {
        "inserted": new_count,
        "updated": int(changed.sum()),
        "unchanged": int(n - new_count - changed.sum()),
    }


def _load_new(
    conn: psycopg.Connection[Any],
    *,
    rows: dict[str, Any],
    order: np.ndarray,
    keys: dict[str, Any],
    count: int,
    areas: AreaIndex | None,
    srid: int,
    conninfo: str | None,
    timings: dict[str, float],
) -> None:
    """COPY the new incidents (the rows at positions ``order``, in that order) and their keys
    (see :func:`store`), timing ``rows``, ``keys`` and ``indexes``.

    A bulk load into empty tables loads the incidents aside (:mod:`layers._bulk`): the key
    table's COPY runs in this session while the incidents load in another; then this session
    builds the key table's key and, with the other, the incidents' indexes, so that both cores
    work in both phases.
    """
    stream = _incident_stream(rows, order=order, areas=areas, srid=srid)
    with (
        bulk_load(conn, ("incident_key",), rows=count) as key_bulk,
        aside_load(conn, "incident", rows=count, conninfo=conninfo) as aside,
    ):

        def copy_keys() -> None:
            with _timed(timings, "keys"):
                copy_frame(conn, "incident_key", _KEY_COLUMNS, keys, count, freeze=bool(key_bulk))

        def index_keys() -> None:
            with _timed(timings, "keys"):
                key_bulk.rebuild("incident_key")

        if aside is not None:
            with _timed(timings, "rows"):
                statement = copy_statement(aside.staging, _STORED, schema=aside.schema, freeze=True)
                aside.copy(statement, stream, alongside=copy_keys)
            with _timed(timings, "indexes"):
                aside.finish(first=index_keys)
            return

        def keys_first() -> None:
            copy_keys()
            index_keys()

        with bulk_load(conn, ("incident",), rows=count) as bulk:
            with _timed(timings, "rows"):
                statement = copy_statement("incident", _STORED, freeze=bool(bulk))
                pipelined_copy(conn, statement, stream, before=keys_first)
            with _timed(timings, "indexes"):
                bulk.rebuild("incident")


@contextlib.contextmanager
def _timed(timings: dict[str, float], phase: str) -> Iterator[None]:
    """Add the seconds the block takes to ``timings[phase]``."""
    started = time.perf_counter()
    try:
        yield
    finally:
        timings[phase] = round(timings.get(phase, 0.0) + time.perf_counter() - started, 3)


def hash_block(row_hash: pd.Series) -> np.ndarray:
    """The ``row_hash`` column as an ``(n, 8)`` uint8 block (the COPY encoder's fixed width)."""
    arrow = pa.array(row_hash)
    if isinstance(arrow, pa.ChunkedArray):
        arrow = arrow.combine_chunks()
    if pa.types.is_fixed_size_binary(arrow.type) and arrow.null_count == 0:
        width = arrow.type.byte_width
        block = np.frombuffer(arrow.buffers()[1], dtype=np.uint8)
        return block[arrow.offset * width : (arrow.offset + len(arrow)) * width].reshape(-1, width)
    return np.array([np.frombuffer(h, dtype=np.uint8) for h in row_hash], dtype=np.uint8)


def _arrow_text(values: pd.Series) -> pd.Series:
    """A text column as an Arrow-backed series (the COPY encoder then takes its buffers)."""
    return values if isinstance(values.dtype, pd.StringDtype) else values.astype("string")


_ASSIGNED = ("village_code", "grid_code", *(f"h3_r{r}" for r in H3_RESOLUTIONS))


def _column_values(
    clean: pd.DataFrame, *, ids: np.ndarray, source: str, batch_id: int, timezone: str
) -> dict[str, Any]:
    """The stored columns known before assignment (``geom`` and the assigned ones are made per
    chunk by :func:`_incident_stream`, unless ``clean`` already has them)."""
    n = len(clean)
    data: dict[str, Any] = {c: clean[c] for c, _ in _STORED if c in clean.columns}
    data["id"] = ids
    data["source"] = repeated_text(source, n)
    data["source_id"] = _arrow_text(clean["source_id"]).reset_index(drop=True)
    data["batch_id"] = np.full(n, batch_id, dtype=np.int64)
    data["occurred_hour"], data["hour_span"] = local_hours(
        clean["occurred_from"], clean["occurred_to"], timezone=timezone
    )
    data["sample_tier"] = sample_tiers(ids)
    data.pop("geom", None)
    return data


def _coordinates(clean: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Longitude and latitude of every row (storage CRS, degrees)."""
    if "lon" in clean.columns and "lat" in clean.columns:
        return clean["lon"].to_numpy(dtype=float), clean["lat"].to_numpy(dtype=float)
    geoms = np.asarray(clean.geometry.array, dtype=object)
    return shapely.get_x(geoms), shapely.get_y(geoms)


def _load_order(clean: pd.DataFrame, is_new: np.ndarray) -> np.ndarray:
    """Positions of the new rows, ordered by category code, then time.

    New incidents get their ids and their place in the table in this order: it is the order
    of ``incident_counts_idx`` (whose build then sorts presorted input, a third of the time
    of file order) and of the ids (the primary key's build stays presorted too).
    """
    new = np.flatnonzero(is_new)
    categories, _ = pd.factorize(clean["category_code"].iloc[new], sort=True)
    times = clean["occurred_from"].iloc[new].to_numpy(dtype="datetime64[ns]").view(np.int64)
    return new[np.lexsort((times, categories))]


def _subset(data: dict[str, Any], mask: np.ndarray) -> dict[str, Any]:
    """The rows of ``mask`` of every column (no copy when all are)."""
    if mask.all():
        return data
    rows = np.flatnonzero(mask)
    return {
        name: values[rows]
        if isinstance(values, np.ndarray)
        else pd.Series(values).iloc[rows].reset_index(drop=True)
        for name, values in data.items()
    }


# Rows per COPY chunk: small enough that the first chunk reaches the server early, large
# enough that the per-chunk costs (an Arrow join, an h3 call, a few numpy passes) stay small.
_CHUNK_ROWS = 125_000


def _incident_stream(
    rows: dict[str, Any],
    *,
    order: np.ndarray | None = None,
    areas: AreaIndex | None,
    srid: int,
) -> Iterator[bytes | memoryview]:
    """The binary COPY stream of ``rows`` (those at positions ``order``, in that order; else
    all) into the ``_STORED`` columns; each chunk is gathered, and its ``geom``, village, grid
    and H3 columns computed, just before it is encoded."""
    n = len(rows["lon"]) if order is None else len(order)

    def parts() -> Iterator[tuple[list[CopyColumn], int]]:
        for start in range(0, n, _CHUNK_ROWS):
            stop = min(n, start + _CHUNK_ROWS)
            positions = slice(start, stop) if order is None else order[start:stop]
            chunk = {name: rows_of(values, positions) for name, values in rows.items()}
            lon = np.asarray(chunk["lon"], dtype=float)
            lat = np.asarray(chunk["lat"], dtype=float)
            chunk["geom"] = point_ewkb(lon, lat, srid)
            if areas is not None or any(name not in chunk for name in _ASSIGNED):
                chunk.update(points_to_cell_columns(lon, lat))
                if areas is not None:
                    chunk["village_code"], chunk["grid_code"] = areas.assign_xy(lon, lat)
                else:
                    for column in ("village_code", "grid_code"):
                        chunk.setdefault(column, np.full(stop - start, None, dtype=object))
            yield [CopyColumn(name, kind, chunk[name]) for name, kind in _STORED], stop - start  # type: ignore[arg-type]

    return copy_stream(parts())
