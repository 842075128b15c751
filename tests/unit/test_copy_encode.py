"""The binary COPY encoder (gis._copy.encode_rows) against a row-by-row encoder written from
PostgreSQL's documentation ("COPY ... BINARY" and each type's ``send`` function)."""

from __future__ import annotations

import datetime as dt
import struct

import numpy as np
import pandas as pd
import pytest

from gis._copy import CopyColumn, encode_rows

_PG_EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
_FORMATS = {"int2": ">h", "int4": ">i", "int8": ">q", "float4": ">f", "float8": ">d"}


def _field(kind: str, value: object) -> bytes:
    """One field: its int32 length (-1 for NULL), then its value."""
    if value is None or value is pd.NA or value is pd.NaT or value != value:  # noqa: PLR0124
        return struct.pack(">i", -1)
    if kind in _FORMATS:
        payload = struct.pack(_FORMATS[kind], value)
    elif kind == "bool":
        payload = b"\x01" if value else b"\x00"
    elif kind == "text":
        payload = str(value).encode()
    elif kind == "jsonb":
        payload = b"\x01" + str(value).encode()
    elif kind == "timestamptz":
        delta = pd.Timestamp(value).to_pydatetime() - _PG_EPOCH  # type: ignore[operator]
        micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
        payload = struct.pack(">q", micros)
    elif kind == "date":
        payload = struct.pack(">i", (pd.Timestamp(value).date() - _PG_EPOCH.date()).days)
    else:
        payload = bytes(value)  # type: ignore[call-overload]
    return struct.pack(">i", len(payload)) + payload


def _reference(columns: list[CopyColumn], n: int) -> bytes:
    rows = []
    for r in range(n):
        fields = [_field(c.kind, _value(c.values, r)) for c in columns]
        rows.append(struct.pack(">h", len(columns)) + b"".join(fields))
    return b"".join(rows)


def _value(values: object, r: int) -> object:
    if isinstance(values, np.ndarray) and values.ndim == 2:
        return values[r].tobytes()
    if isinstance(values, pd.Series):
        return values.iloc[r]
    return values[r]  # type: ignore[index]


def _columns(n: int, rng: np.random.Generator) -> list[CopyColumn]:
    """Every kind, with and without NULLs, and the shapes the encoder treats apart: text of
    one length, all-NULL columns, empty strings, fixed-width byte blocks."""
    some = rng.random(n) < 0.2
    words = np.array(["网格", "", "tab\tand\nnewline", "emoji 🚓", "x" * 40, "a"], dtype=object)
    text = words[rng.integers(0, len(words), n)]
    text_nulls = np.where(some, None, text)
    stamps = (
        pd.Series(
            pd.to_datetime(rng.integers(0, 2_000_000_000, n), unit="s")
            + pd.to_timedelta(rng.integers(0, 1_000_000, n), unit="us")
        )
        .dt.tz_localize("UTC")
        .dt.tz_convert("Asia/Shanghai")
    )
    stamps_nulls = stamps.where(~some)
    days = pd.Series(pd.to_datetime(rng.integers(-20_000, 20_000, n), unit="D"))
    ints = rng.integers(-(2**31), 2**31, n)
    return [
        CopyColumn("i8", "int8", rng.integers(-(2**62), 2**62, n)),
        CopyColumn("i4", "int4", pd.array(np.where(some, None, ints), dtype="Int32")),
        CopyColumn("i2", "int2", rng.integers(-(2**15), 2**15, n).astype(np.int16)),
        CopyColumn("f8", "float8", np.where(some, np.nan, rng.normal(size=n))),
        CopyColumn("f4", "float4", rng.normal(size=n).astype(np.float32)),
        CopyColumn("b", "bool", np.where(some, None, rng.random(n) < 0.5)),
        CopyColumn("t", "text", text),
        CopyColumn("t_nulls", "text", text_nulls),
        CopyColumn("t_arrow", "text", pd.Series(text_nulls, dtype="string[pyarrow]")),
        CopyColumn("code", "text", pd.Series([f"{v:012d}" for v in rng.integers(0, 10**12, n)])),
        CopyColumn("const", "text", np.full(n, "x", dtype=object)),
        CopyColumn("empty", "text", np.full(n, "", dtype=object)),
        CopyColumn("t_none", "text", np.full(n, None, dtype=object)),
        CopyColumn("ts", "timestamptz", stamps),
        CopyColumn("ts_nulls", "timestamptz", stamps_nulls),
        CopyColumn("ts_none", "timestamptz", pd.Series(pd.NaT, index=range(n), dtype=stamps.dtype)),
        CopyColumn("d", "date", days),
        CopyColumn("j", "jsonb", np.where(some, None, np.array(['{"a": 1}'] * n, dtype=object))),
        CopyColumn(
            "by",
            "bytea",
            np.array(
                [None if s else t.encode() for s, t in zip(some, text, strict=True)], dtype=object
            ),
        ),
        CopyColumn("block", "bytea", rng.integers(0, 256, (n, 25)).astype(np.uint8)),
    ]


@pytest.mark.parametrize("n", [1, 7, 3000])
def test_rows_equal_the_documented_format(n: int) -> None:
    columns = _columns(n, np.random.default_rng(n))
    assert bytes(encode_rows(columns, n)) == _reference(columns, n)


def test_fixed_width_runs_between_text_columns() -> None:
    """Fixed-width columns between and after text ones, as the incident layout has them."""
    n = 2000
    rng = np.random.default_rng(1)
    columns = _columns(n, rng)
    order = rng.permutation(len(columns))
    shuffled = [columns[i] for i in order]
    assert bytes(encode_rows(shuffled, n)) == _reference(shuffled, n)
