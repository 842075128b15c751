"""The binary COPY encoder (gis._copy) against the real server: every type, nulls, odd text."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import shapely

from gis.db import Database
from layers._store import copy_frame, ewkb

COLUMNS = (
    ("i2", "int2"),
    ("i4", "int4"),
    ("i8", "int8"),
    ("f4", "float4"),
    ("f8", "float8"),
    ("b", "bool"),
    ("t", "text"),
    ("by", "bytea"),
    ("ts", "timestamptz"),
    ("d", "date"),
    ("j", "jsonb"),
    ("g", "bytea"),
)


def test_every_kind_round_trips(db: Database) -> None:
    n = 5
    stamps = pd.Series(
        pd.to_datetime(
            [
                "2026-10-31 23:59:59.123456",
                "1999-12-31 16:00:00",
                None,
                "2000-01-01",
                "2026-03-08 02:30",
            ],
            format="ISO8601",
        )
    ).dt.tz_localize("Asia/Shanghai")
    data = {
        "i2": pd.array([1, -2, None, 32767, 0], dtype="Int16"),
        "i4": pd.array([1, -2, None, 2**31 - 1, 0], dtype="Int32"),
        "i8": np.array([1, -2, 3, 2**62, -(2**62)], dtype=np.int64),
        "f4": pd.array([1.5, -2.25, None, 0.0, 3.0], dtype="Float32"),
        "f8": np.array([np.pi, -1e300, np.nan, 0.0, 1e-300]),
        "b": np.array([True, False, None, True, False], dtype=object),
        "t": np.array(["网格", "", None, "tab\tand\nnewline", "emoji 🚓"], dtype=object),
        "by": np.array([b"\x00\x01", b"", None, b"\xff" * 10, b"x"], dtype=object),
        "ts": stamps,
        "d": pd.Series(
            pd.to_datetime(["2026-02-28", "1970-01-01", None, "2000-01-01", "1999-12-31"])
        ),
        "j": np.array(
            [json.dumps({"a": "中"}, ensure_ascii=False), "[]", None, "1", '"x"'], dtype=object
        ),
        "g": ewkb(
            shapely.points([[120.1, 30.2], [0, 0], [-87.6, 41.8], [1, 1], [179.9, -89.9]]), 4490
        ),
    }
    with db.connection() as conn:
        conn.execute(
            "CREATE TEMP TABLE copy_check (i2 int2, i4 int4, i8 int8, f4 real, f8 float8, b bool,"
            " t text, by bytea, ts timestamptz, d date, j jsonb, g geometry(Point, 4490))"
        )
        copy_frame(conn, "copy_check", COLUMNS, data, n)
        rows = conn.execute(
            "SELECT i2, i4, i8, f4, f8, b, t, by, ts, d, j::text, ST_AsText(g), ST_SRID(g)"
            " FROM copy_check ORDER BY i8"
        ).fetchall()
        conn.rollback()
    by_i8 = {row[2]: row for row in rows}
    first = by_i8[1]
    assert first[0:2] == (1, 1)
    assert first[3] == 1.5 and first[4] == np.pi
    assert first[5] is True and first[6] == "网格" and first[7] == b"\x00\x01"
    assert first[8] == dt.datetime(2026, 10, 31, 15, 59, 59, 123456, tzinfo=dt.UTC)
    assert first[9] == dt.date(2026, 2, 28)
    assert json.loads(first[10]) == {"a": "中"}
    assert first[11] == "POINT(120.1 30.2)" and first[12] == 4490
    nulls = by_i8[3]
    assert nulls[0] is None and nulls[1] is None and nulls[3] is None and nulls[5] is None
    assert nulls[6] is None and nulls[7] is None and nulls[8] is None and nulls[9] is None
    assert nulls[10] is None
    assert nulls[4] is None  # NaN is missing, as in pandas: it is stored as NULL
    assert by_i8[-2][6] == "" and by_i8[-2][7] == b""
    assert by_i8[2**62][6] == "tab\tand\nnewline"
    assert by_i8[-(2**62)][6] == "emoji 🚓"
    assert by_i8[-2][8] == dt.datetime(1999, 12, 31, 8, 0, tzinfo=dt.UTC)  # before the PG epoch
    assert by_i8[-(2**62)][9] == dt.date(1999, 12, 31)


def test_many_rows_in_chunks(db: Database) -> None:
    """More rows than one encoder chunk, so the stream is split and stays valid."""
    n = 450_001
    values = np.arange(n, dtype=np.int64)
    text = np.array([f"r{i}" for i in range(n)], dtype=object)
    with db.connection() as conn:
        conn.execute("CREATE TEMP TABLE copy_many (v int8, t text)")
        copy_frame(conn, "copy_many", (("v", "int8"), ("t", "text")), {"v": values, "t": text}, n)
        count, total, last = conn.execute(
            "SELECT count(*), sum(v), max(t) FILTER (WHERE v = %s) FROM copy_many", (n - 1,)
        ).fetchone()
        conn.rollback()
    assert count == n and total == n * (n - 1) // 2 and last == f"r{n - 1}"
