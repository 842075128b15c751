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

from functools import cache
from typing import Any

import numpy as np
import pandas as pd
import psycopg
import pyarrow as pa

from gis.errors import RowIssue
from gis.queries import execute, fetch_all, fetch_one
from layers._assign import h3_columns
from layers._importer import ImportContext
from layers._spec import Field, IssueCollector, LayerSpec
from layers._store import NOTHING_WRITTEN, bulk_load, copy_frame, ewkb
from layers.taxonomy import OTHER_CODE, Taxonomy

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
    codes, known = taxonomy().resolve(typed["category"].fillna("").to_numpy(dtype=object))
    typed["category_code"] = codes
    typed["category_raw"] = typed["category"]
    typed["__other_category"] = ~known & typed["category"].notna().to_numpy()
    typed.loc[~known, "category_code"] = OTHER_CODE

    start = typed["occurred_from"]
    whole_day = typed.pop("occurred_from__date_only").to_numpy(dtype=bool)
    end = typed["occurred_to"]
    end_date_only = typed.pop("occurred_to__date_only").to_numpy(dtype=bool)
    typed.pop("reported_at__date_only")
    # A window given as two dates covers both whole days. A day is a calendar day in the
    # deployment time zone (23 or 25 hours when daylight saving time begins or ends).
    next_day = pd.DateOffset(days=1)
    end = end.where(~end_date_only, end + next_day)
    fill = whole_day & end.isna().to_numpy()
    end = end.where(~fill, start + next_day)
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
    conn: psycopg.Connection[Any], clean: pd.DataFrame, *, source: str, batch_id: int, srid: int
) -> dict[str, int]:
    """Write incidents: new ones by binary COPY, changed ones by one UPDATE, unchanged skipped."""
    n = len(clean)
    if n == 0:
        return dict(NOTHING_WRITTEN)
    # Locked before the keys are looked up, so that two imports of one source cannot both take
    # the same new key for theirs.
    execute(conn, "lock_incident_tables")
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
    if new_count:
        reserved = fetch_one(conn, "reserve_incident_ids", count=new_count)
        first = int(reserved["first"])  # type: ignore[index]
        ids[is_new] = np.arange(first, first + new_count, dtype=np.int64)

    data = _column_values(clean, ids=ids, source=source, batch_id=batch_id, srid=srid)
    key_data = {name: data[name] for name in ("source", "source_id", "occurred_from")}
    key_data["incident_id"] = ids
    key_data["row_hash"] = hashes
    if new_count:
        with bulk_load(conn, ("incident", "incident_key"), rows=new_count) as bulk:
            freeze = bool(bulk)
            _copy_subset(
                conn, "incident_key", key_data, is_new, columns=_KEY_COLUMNS, freeze=freeze
            )
            _copy_subset(conn, "incident", data, is_new, freeze=freeze)
    if changed.any():
        execute(conn, "create_changed_incident_stage")
        execute(conn, "create_changed_key_stage")
        _copy_subset(conn, "stage_incident", data, changed)
        _copy_subset(conn, "stage_key", key_data, changed, columns=_KEY_COLUMNS)
        execute(conn, "update_changed_incidents")
    return {
        "inserted": new_count,
        "updated": int(changed.sum()),
        "unchanged": int(n - new_count - changed.sum()),
    }


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


def _column_values(
    clean: pd.DataFrame, *, ids: np.ndarray, source: str, batch_id: int, srid: int
) -> dict[str, Any]:
    n = len(clean)
    data: dict[str, Any] = {c: clean[c] for c, _ in _STORED if c in clean.columns}
    data["id"] = ids
    data["source"] = pd.Series(pd.array(pa.array([source]).take(np.zeros(n, dtype=np.int64))))
    data["source_id"] = _arrow_text(clean["source_id"]).reset_index(drop=True)
    data["batch_id"] = np.full(n, batch_id, dtype=np.int64)
    data["geom"] = ewkb(clean.geometry, srid)
    for column in ("village_code", "grid_code"):
        data.setdefault(column, np.full(n, None, dtype=object))
    if "h3_r10" not in clean.columns:
        data.update(h3_columns(np.asarray(clean.geometry.array, dtype=object)))
    return data


def _copy_subset(
    conn: psycopg.Connection[Any],
    table: str,
    data: dict[str, Any],
    mask: np.ndarray,
    *,
    columns: tuple[tuple[str, str], ...] = _STORED,
    freeze: bool = False,
) -> None:
    if mask.all():
        copy_frame(conn, table, columns, data, len(mask), freeze=freeze)
        return
    subset = {}
    for name, _ in columns:
        values = data[name]
        subset[name] = (
            values[mask]
            if isinstance(values, np.ndarray)
            else pd.Series(values).iloc[np.flatnonzero(mask)]
        )
    copy_frame(conn, table, columns, subset, int(mask.sum()), freeze=freeze)
