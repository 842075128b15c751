"""Writing one import batch: binary COPY into a staging table, then one set-based upsert.

Everything of a batch (the ``import_batch`` row, the rows, the quarantine, the audit entry)
happens in one transaction: a batch commits whole or not at all, and a killed import leaves
nothing behind. Table and column names pass through :class:`psycopg.sql.Identifier`.
"""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import psycopg
import shapely
from psycopg import sql
from psycopg.copy import QueuedLibpqWriter

from gis._copy import CopyColumn, copy_chunks, repeated_text
from gis.queries import execute, fetch_one
from layers._spec import LayerSpec

BOOKKEEPING = (
    ("source", "text"),
    ("source_id", "text"),
    ("row_hash", "bytea"),
    ("batch_id", "int8"),
)


# EWKB of a 2D point with an SRID: byte order (1: little-endian), type with the SRID flag, SRID,
# x, y. Every point has this fixed 25-byte layout, so numpy writes a million of them at once.
_POINT_EWKB = np.dtype(
    [("order", "u1"), ("type", "<u4"), ("srid", "<u4"), ("x", "<f8"), ("y", "<f8")]
)
_POINT_WITH_SRID = 0x20000001


def ewkb(geoms: Any, srid: int) -> np.ndarray:
    """Geometries as EWKB with ``srid``, the binary input format of PostGIS ``geometry``.

    Points (all of them non-empty) come as one ``(n, 25)`` uint8 array, which the COPY encoder
    takes as fixed-width values; other geometries as an object array of ``bytes``.
    """
    values = np.asarray(getattr(geoms, "array", geoms), dtype=object)
    if len(values) and (shapely.get_type_id(values) == 0).all():
        x, y = shapely.get_x(values), shapely.get_y(values)
        if not (np.isnan(x) | np.isnan(y)).any():
            return point_ewkb(x, y, srid)
    return shapely.to_wkb(shapely.set_srid(values, srid), include_srid=True)


def point_ewkb(x: np.ndarray, y: np.ndarray, srid: int) -> np.ndarray:
    """EWKB of the points ``(x, y)`` (no NaN) with ``srid`` as an ``(n, 25)`` uint8 block,
    written by numpy from the coordinate arrays: no geometry object per point."""
    points = np.empty(len(x), dtype=_POINT_EWKB)
    points["order"], points["type"], points["srid"] = 1, _POINT_WITH_SRID, srid
    points["x"], points["y"] = x, y
    return points.view(np.uint8).reshape(len(x), _POINT_EWKB.itemsize)


def copy_statement(
    table: str,
    columns: Sequence[tuple[str, str]],
    *,
    schema: str | None = None,
    freeze: bool = False,
) -> sql.Composed:
    """``COPY table (columns) FROM STDIN (FORMAT BINARY[, FREEZE])``."""
    target = sql.Identifier(schema, table) if schema else sql.Identifier(table)
    options = sql.SQL("FORMAT BINARY, FREEZE" if freeze else "FORMAT BINARY")
    return sql.SQL("COPY {} ({}) FROM STDIN ({})").format(
        target, sql.SQL(", ").join(sql.Identifier(name) for name, _ in columns), options
    )


def copy_frame(
    conn: psycopg.Connection[Any],
    table: str,
    columns: Sequence[tuple[str, str]],
    data: dict[str, Any],
    n: int,
    *,
    schema: str | None = None,
    freeze: bool = False,
) -> None:
    """Binary-COPY ``n`` rows of ``data`` (column name → values) into ``table``.

    ``freeze`` writes the rows already frozen, so the first reader need not rewrite every page
    to set hint bits; PostgreSQL allows it only into a table truncated in the same transaction.
    """
    statement = copy_statement(table, columns, schema=schema, freeze=freeze)
    copy_columns = [CopyColumn(name, kind, data[name]) for name, kind in columns]  # type: ignore[arg-type]
    # The queued writer sends from a thread, so encoding the next chunk overlaps with the
    # server's work on the previous one.
    with conn.cursor() as cur, cur.copy(statement, writer=QueuedLibpqWriter(cur)) as copy:
        for chunk in copy_chunks(copy_columns, n):
            copy.write(chunk)


_END = object()
# How many encoded chunks may wait for the server: enough to keep it busy, few enough that a
# million-row stream is never held in memory whole.
_PIPELINE_DEPTH = 3


def pipelined_copy(
    conn: psycopg.Connection[Any],
    statement: sql.Composed,
    stream: Iterable[bytes | memoryview],
    *,
    before: Callable[[], None] | None = None,
) -> None:
    """COPY ``stream`` on ``conn`` from a worker thread while this thread produces the stream.

    The worker first runs ``before`` (further statements on ``conn``, e.g. another table's COPY
    and index build), then feeds the COPY from a short queue. Producing the stream (assignment,
    encoding: numpy, Arrow, GEOS and h3 release the GIL for most of it) so overlaps with the
    server's work; psycopg releases the GIL in network I/O. The connection is used by the worker
    alone until this returns. An error on either side aborts the COPY and is raised here, and
    the caller's transaction then rolls back.
    """
    chunks: queue.Queue[object] = queue.Queue(maxsize=_PIPELINE_DEPTH)
    failure: list[BaseException] = []

    def work() -> None:
        try:
            if before is not None:
                before()
            with conn.cursor() as cur, cur.copy(statement) as copy:
                while (item := chunks.get()) is not _END:
                    if isinstance(item, BaseException):
                        raise item  # the producer failed: abort the COPY
                    copy.write(item)  # type: ignore[arg-type]
        except BaseException as exc:  # handed to the producer thread, raised there
            failure.append(exc)

    def put(item: object) -> bool:
        while worker.is_alive():
            try:
                chunks.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    worker = threading.Thread(target=work, name="pingan-copy", daemon=True)
    worker.start()
    try:
        for chunk in stream:
            if failure or not put(chunk):
                break
        put(_END)
    except BaseException as exc:
        put(RuntimeError("producer failed"))
        worker.join()
        raise exc
    worker.join()
    if failure:
        raise failure[0]


def begin_batch(
    conn: psycopg.Connection[Any],
    *,
    layer: str,
    source: str,
    file_name: str | None,
    file_hash: str | None,
    options: dict[str, Any],
    crs: str | None,
) -> int:
    row = fetch_one(
        conn,
        "begin_import_batch",
        layer=layer,
        source=source,
        file_name=file_name,
        file_hash=file_hash,
        options=json.dumps(options, default=str),
        crs=crs,
    )
    assert row is not None
    return int(row["id"])


def finish_batch(
    conn: psycopg.Connection[Any], batch_id: int, *, counts: dict[str, int], warnings: list[str]
) -> None:
    execute(
        conn,
        "finish_import_batch",
        batch_id=batch_id,
        counts=json.dumps(counts),
        warnings=json.dumps(warnings, ensure_ascii=False),
    )


def write_quarantine(
    conn: psycopg.Connection[Any], batch_id: int, layer: str, rejects: Iterable[dict[str, Any]]
) -> None:
    rejects = list(rejects)
    if not rejects:
        return
    data = {
        "batch_id": np.full(len(rejects), batch_id, dtype=np.int64),
        "layer": [layer] * len(rejects),
        "row_number": np.array([r["row_number"] for r in rejects], dtype=np.int32),
        "source_id": [r["source_id"] for r in rejects],
        "raw": [json.dumps(r["raw"], ensure_ascii=False, default=str) for r in rejects],
        "reasons": [json.dumps(r["reasons"], ensure_ascii=False) for r in rejects],
    }
    columns = (
        ("batch_id", "int8"),
        ("layer", "text"),
        ("row_number", "int4"),
        ("source_id", "text"),
        ("raw", "jsonb"),
        ("reasons", "jsonb"),
    )
    copy_frame(conn, "quarantine", columns, data, len(rejects))


def column_data(
    spec: LayerSpec, clean: pd.DataFrame, *, source: str, batch_id: int, srid: int
) -> tuple[list[tuple[str, str]], dict[str, Any]]:
    """The stored columns of ``spec`` and their values for ``clean``."""
    n = len(clean)
    columns = list(spec.stored) + list(BOOKKEEPING)
    data: dict[str, Any] = {name: clean[name] for name, _ in spec.stored}
    data["source"] = repeated_text(source, n)
    data["source_id"] = clean["source_id"].astype(str).to_numpy(dtype=object)
    data["row_hash"] = clean["row_hash"].to_numpy(dtype=object)
    data["batch_id"] = np.full(n, batch_id, dtype=np.int64)
    if spec.geometry is not None:
        columns.append(("geom", "bytea"))
        data["geom"] = ewkb(clean.geometry, srid)
    return columns, data


def upsert(
    conn: psycopg.Connection[Any],
    spec: LayerSpec,
    clean: pd.DataFrame,
    *,
    source: str,
    batch_id: int,
    srid: int,
) -> dict[str, int]:
    """Insert new rows, update changed ones, leave unchanged ones; return the three counts."""
    if clean.empty:
        return dict(NOTHING_WRITTEN)
    columns, data = column_data(spec, clean, source=source, batch_id=batch_id, srid=srid)
    names = [name for name, _ in columns]
    stage = f"stage_{spec.table}"
    conn.execute(
        sql.SQL("CREATE TEMP TABLE {} ON COMMIT DROP AS SELECT {} FROM {} WITH NO DATA").format(
            sql.Identifier(stage),
            sql.SQL(", ").join(sql.Identifier(c) for c in names),
            sql.Identifier(spec.table),
        )
    )
    copy_frame(conn, stage, columns, data, len(clean))
    updatable = [c for c in names if c not in spec.conflict and c != "source"]
    statement = sql.SQL(
        "INSERT INTO {table} AS t ({cols}) SELECT {cols} FROM {stage} "
        "ON CONFLICT ({conflict}) DO UPDATE SET {sets}, updated_at = now() "
        "WHERE t.row_hash IS DISTINCT FROM EXCLUDED.row_hash "
        "RETURNING (xmax = 0) AS inserted"
    ).format(
        table=sql.Identifier(spec.table),
        cols=sql.SQL(", ").join(sql.Identifier(c) for c in names),
        stage=sql.Identifier(stage),
        conflict=sql.SQL(", ").join(sql.Identifier(c) for c in spec.conflict),
        sets=sql.SQL(", ").join(
            sql.SQL("{c} = EXCLUDED.{c}").format(c=sql.Identifier(c)) for c in updatable
        ),
    )
    counts = upsert_counts(conn.execute(statement).fetchall(), len(clean))
    conn.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(stage)))
    return counts


NOTHING_WRITTEN = {"inserted": 0, "updated": 0, "unchanged": 0}


def upsert_counts(returned: Sequence[Sequence[Any]], staged: int) -> dict[str, int]:
    """Counts from the rows an ``INSERT ... ON CONFLICT ... RETURNING (xmax = 0)`` returned.

    A true flag is an inserted row, a false one an updated row; staged rows that came back not
    at all were unchanged (the ``WHERE row_hash IS DISTINCT FROM`` clause skipped them).
    """
    inserted = sum(1 for row in returned if row[0])
    updated = len(returned) - inserted
    return {"inserted": inserted, "updated": updated, "unchanged": staged - len(returned)}
