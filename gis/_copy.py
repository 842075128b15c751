"""Vectorised encoder for PostgreSQL's binary COPY format.

psycopg's ``Copy.write_row`` costs a Python call per row; at a million rows that is the
bottleneck of a bulk load. Here whole columns are encoded with numpy and Arrow, and the tuples
are assembled in C++ (:func:`encode_rows`), so the database, not Python, sets the pace.

Format (PostgreSQL docs, "COPY ... BINARY"): an 11-byte signature, two int32 (flags, header
extension length), then per tuple an int16 field count and per field an int32 byte length
(-1 for NULL) followed by the value in the type's binary ``send`` format, then int16 -1.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
TRAILER = b"\xff\xff"

# Microseconds and days between the Unix epoch and PostgreSQL's epoch (2000-01-01).
_PG_EPOCH_US = 946_684_800_000_000
_PG_EPOCH_DAYS = 10_957

Kind = Literal[
    "int2",
    "int4",
    "int8",
    "float4",
    "float8",
    "bool",
    "text",
    "bytea",
    "timestamptz",
    "date",
    "jsonb",
]
_FIXED: dict[str, str] = {
    "int2": ">i2",
    "int4": ">i4",
    "int8": ">i8",
    "float4": ">f4",
    "float8": ">f8",
    "bool": "u1",
    "timestamptz": ">i8",
    "date": ">i4",
}


@dataclass(frozen=True)
class CopyColumn:
    """One column to encode: its database type and its values (numpy or pandas).

    A ``bytea`` column may also be an ``(n, width)`` uint8 array: values of equal length, no NULLs.
    """

    name: str
    kind: Kind
    values: object


def _null_mask(values: object, n: int) -> np.ndarray:
    mask = pd.isna(values)
    return np.asarray(mask, dtype=bool) if not np.isscalar(mask) else np.full(n, bool(mask))


def _fixed_bytes(kind: str, values: object, null: np.ndarray) -> np.ndarray:
    """Return an (n, width) uint8 array of big-endian values; nulls hold zeros."""
    if kind == "timestamptz":
        stamps = pd.to_datetime(pd.Series(values), utc=True)
        micros = stamps.dt.as_unit("us").astype("int64", errors="ignore").to_numpy()
        micros = np.where(null, 0, micros.astype(np.int64) - _PG_EPOCH_US)
        arr = micros.astype(">i8")
    elif kind == "date":
        days = pd.to_datetime(pd.Series(values)).to_numpy().astype("datetime64[D]")
        arr = np.where(null, 0, days.astype(np.int64) - _PG_EPOCH_DAYS).astype(">i4")
    elif kind == "bool":
        arr = np.where(null, False, np.asarray(values, dtype=object) == True).astype("u1")  # noqa: E712
    else:
        raw = pd.Series(values)
        filled = raw.where(~null, 0) if null.any() else raw
        arr = filled.to_numpy().astype(_FIXED[kind])
    return arr.view(np.uint8).reshape(len(null), -1)


def _as_fixed(col: CopyColumn, n: int) -> tuple[np.ndarray, np.ndarray] | None:
    """``(null mask, (n, width) uint8 values)`` of a fixed-width column, ``None`` for others."""
    if isinstance(col.values, np.ndarray) and col.values.ndim == 2:
        return np.zeros(n, dtype=bool), col.values.astype(np.uint8, copy=False)
    if col.kind not in _FIXED:
        return None
    null = _null_mask(col.values, n)
    return null, _fixed_bytes(col.kind, col.values, null)


def _variable_payload(kind: str, values: object, null: np.ndarray) -> pa.Array:
    """Return text/bytea/jsonb values as one Arrow ``large_binary`` array (nulls stay null).

    Text and bytes go through Arrow, which lays them out as one buffer plus offsets in C; only
    values Arrow will not take (a number in a text column, jsonb's version byte) use Python.
    """
    if kind in ("text", "bytea"):
        arrow_type = pa.large_string() if kind == "text" else pa.large_binary()
        source = values if isinstance(values, pd.Series) else np.asarray(values, dtype=object)
        try:
            arr = pa.array(source, type=arrow_type, from_pandas=True)
            if isinstance(arr, pa.ChunkedArray):
                arr = arr.combine_chunks()
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            arr = None
        if arr is not None and arr.null_count == int(null.sum()):
            return arr.cast(pa.large_binary())
    items = np.asarray(values, dtype=object)
    if kind == "jsonb":
        encoded = [
            None if isnull else b"\x01" + str(v).encode()
            for v, isnull in zip(items, null, strict=True)
        ]
    elif kind == "text":
        encoded = [
            None if isnull else str(v).encode() for v, isnull in zip(items, null, strict=True)
        ]
    else:
        encoded = [None if isnull else bytes(v) for v, isnull in zip(items, null, strict=True)]
    return pa.array(encoded, type=pa.large_binary())


def _fixed_width(block: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """An (n, width) uint8 block as an Arrow ``large_binary`` array of its rows, without copying."""
    n, width = block.shape
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int64)
    bitmap = None if valid is None else pa.py_buffer(np.packbits(valid, bitorder="little"))
    data = np.ascontiguousarray(block).reshape(-1)
    return pa.Array.from_buffers(
        pa.large_binary(), n, [bitmap, pa.py_buffer(offsets), pa.py_buffer(data)]
    )


def _length_words(lengths: np.ndarray, null: np.ndarray) -> np.ndarray:
    """The int32 length that precedes each field (-1 for NULL) as an (n, 4) uint8 block."""
    return np.where(null, -1, lengths).astype(">i4").view(np.uint8).reshape(len(null), 4)


_EMPTY = pa.scalar(b"", pa.large_binary())


def encode_rows(columns: Sequence[CopyColumn], n: int) -> memoryview:
    """Encode ``n`` rows of ``columns`` as the tuples of a binary COPY (no header or trailer).

    Every tuple is a concatenation of per-column pieces, so the rows are assembled by Arrow's
    ``binary_join_element_wise`` in C++. Adjacent fixed-width pieces (the field count, length
    words, values of fixed-width columns without NULLs) are first stacked into one numpy block,
    which keeps the number of pieces, and so the cost of the join, low.
    """
    pieces: list[pa.Array] = []
    block = [np.full((n, 1), len(columns), dtype=">i2").view(np.uint8)]
    for col in columns:
        fixed = _as_fixed(col, n)
        if fixed is None:
            null = _null_mask(col.values, n)
            payload = _variable_payload(col.kind, col.values, null)
            offsets = np.frombuffer(payload.buffers()[1], dtype=np.int64)
            lengths = np.diff(offsets[payload.offset : payload.offset + n + 1])
            block.append(_length_words(lengths, null))
        else:
            null, data = fixed
            block.append(_length_words(np.full(n, data.shape[1]), null))
            if not null.any():
                block.append(data)
                continue
            if null.all():
                continue
            payload = _fixed_width(data, valid=~null)
        pieces += [_fixed_width(np.hstack(block)), payload]
        block = []
    if block:
        pieces.append(_fixed_width(np.hstack(block)))
    rows = pc.binary_join_element_wise(
        *pieces, _EMPTY, null_handling="replace", null_replacement=b""
    )
    offsets = np.frombuffer(rows.buffers()[1], dtype=np.int64)
    return memoryview(rows.buffers()[2])[offsets[rows.offset] : offsets[rows.offset + n]]


def copy_chunks(
    columns: Sequence[CopyColumn], n: int, *, chunk_rows: int = 200_000
) -> Iterator[bytes | memoryview]:
    """Yield the whole binary COPY stream for ``columns`` in chunks of ``chunk_rows`` rows."""
    return copy_stream(
        (
            [
                CopyColumn(
                    c.name, c.kind, slice_values(c.values, start, min(n, start + chunk_rows))
                )
                for c in columns
            ],
            min(n, start + chunk_rows) - start,
        )
        for start in range(0, n, chunk_rows)
    )


def copy_stream(
    parts: Iterable[tuple[Sequence[CopyColumn], int]],
) -> Iterator[bytes | memoryview]:
    """Yield a whole binary COPY stream from ``(columns, rows)`` parts, each encoded only when
    the consumer asks for it (so a part's columns may be computed lazily by ``parts``)."""
    yield SIGNATURE
    for columns, n in parts:
        if n:
            yield encode_rows(columns, n)
    yield TRAILER


def slice_values(values: object, start: int, stop: int) -> object:
    """Rows ``start:stop`` of a column (numpy array, pandas Series or Index, list), by position."""
    if isinstance(values, pd.Series | pd.Index):
        return values.iloc[start:stop] if isinstance(values, pd.Series) else values[start:stop]
    return values[start:stop]  # type: ignore[index]
