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


def _fixed_values(kind: str, values: object, null: np.ndarray) -> np.ndarray:
    """Return the values of a fixed-width column as native numbers (microseconds or days since
    PostgreSQL's epoch for times, 0/1 for booleans); nulls hold zeros.

    The caller writes them into a big-endian field (:data:`_FIXED`), which numpy does while
    it copies, so no big-endian copy is made first.
    """
    if kind == "timestamptz":
        array = getattr(values, "array", None)
        if isinstance(array, pd.arrays.DatetimeArray) and array.tz is not None:
            micros = array.as_unit("us").asi8  # UTC, as a tz-aware array stores it
        else:
            stamps = pd.to_datetime(pd.Series(values), utc=True)
            micros = stamps.dt.as_unit("us").astype("int64", errors="ignore").to_numpy()
        return np.where(null, 0, micros.astype(np.int64) - _PG_EPOCH_US)
    if kind == "date":
        days = pd.to_datetime(pd.Series(values)).to_numpy().astype("datetime64[D]")
        return np.where(null, 0, days.astype(np.int64) - _PG_EPOCH_DAYS)
    if kind == "bool":
        return np.where(null, False, np.asarray(values, dtype=object) == True)  # noqa: E712
    if isinstance(values, np.ndarray) and values.dtype.kind in "iuf" and not null.any():
        return values
    raw = pd.Series(values)
    filled = raw.where(~null, 0) if null.any() else raw
    return filled.to_numpy().astype(_FIXED[kind])


def _as_fixed(col: CopyColumn, n: int) -> tuple[np.ndarray, np.dtype, np.ndarray] | None:
    """``(null mask, field type, values)`` of a fixed-width column, ``None`` for others."""
    if isinstance(col.values, np.ndarray) and col.values.ndim == 2:
        block = col.values.astype(np.uint8, copy=False)
        return np.zeros(n, dtype=bool), np.dtype(("u1", (block.shape[1],))), block
    if col.kind not in _FIXED:
        return None
    null = _null_mask(col.values, n)
    return null, np.dtype(_FIXED[col.kind]), _fixed_values(col.kind, col.values, null)


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


def repeated_text(value: str, n: int) -> pd.Series:
    """``value`` ``n`` times as an Arrow-backed text series, made in one copy of its bytes
    (e.g. a batch's source name in every row; the encoder takes the buffers as they are)."""
    raw = np.frombuffer(value.encode(), dtype=np.uint8)
    block = np.ascontiguousarray(np.broadcast_to(raw, (n, raw.size)))
    return pd.Series(pd.arrays.ArrowStringArray(_fixed_width(block).view(pa.large_string())))


# A field of a fixed-width block: its type (big-endian, or a uint8 sub-array) and its values.
_Field = tuple[np.dtype, object]
_INT4 = np.dtype(">i4")


def _block(fields: Sequence[_Field], n: int) -> np.ndarray:
    """The fields side by side as an ``(n, width)`` uint8 block.

    The block is a packed structured array, so numpy converts every value to big-endian as it
    writes it in place (no byte-swapped copy, no stacking of narrow blocks). It is written in
    bands of rows that stay in the CPU cache while every field is written into them: a wide
    block written field by field over all rows would pass through memory once per field.
    """
    layout = np.dtype([(f"f{i}", kind) for i, (kind, _) in enumerate(fields)])
    block = np.empty(n, dtype=layout)
    names = layout.names or ()
    band = max(1024, _BAND_BYTES // layout.itemsize)
    for start in range(0, n, band):
        rows = block[start : start + band]
        for name, (_, values) in zip(names, fields, strict=True):
            rows[name] = values[start : start + band] if isinstance(values, np.ndarray) else values
    return block.view(np.uint8).reshape(n, layout.itemsize)


# Bytes of a band of rows that :func:`_block` fills at once (well inside a core's L2 cache).
_BAND_BYTES = 1 << 18


_EMPTY = pa.scalar(b"", pa.large_binary())


def encode_rows(columns: Sequence[CopyColumn], n: int) -> memoryview:
    """Encode ``n`` rows of ``columns`` as the tuples of a binary COPY (no header or trailer).

    Every tuple is a concatenation of per-column pieces, so the rows are assembled by Arrow's
    ``binary_join_element_wise`` in C++. Adjacent fixed-width pieces (the field count, length
    words, values of fixed-width columns without NULLs, variable-width columns that are all
    NULL or whose values all have one length) are first written into one numpy block
    (:func:`_block`), which keeps the number of pieces, and so the cost of the join, low.
    """
    pieces: list[pa.Array] = []
    run: list[_Field] = [(np.dtype(">i2"), len(columns))]
    for col in columns:
        fixed = _as_fixed(col, n)
        if fixed is None:
            null = _null_mask(col.values, n)
            if null.all():
                run.append((_INT4, -1))
                continue
            payload = _variable_payload(col.kind, col.values, null)
            offsets = np.frombuffer(payload.buffers()[1], dtype=np.int64)
            offsets = offsets[payload.offset : payload.offset + n + 1]
            lengths = np.diff(offsets)
            if not null.any() and lengths.min() == lengths.max():
                # Values of one length (codes, a constant) are fixed-width after all.
                width = int(lengths[0])
                run.append((_INT4, width))
                if width:
                    data = np.frombuffer(payload.buffers()[2], dtype=np.uint8)
                    block = data[offsets[0] : offsets[-1]].reshape(n, width)
                    run.append((np.dtype(("u1", (width,))), block))
                continue
            run.append((_INT4, np.where(null, -1, lengths) if null.any() else lengths))
        else:
            null, kind, values = fixed
            if not null.any():
                run += [(_INT4, kind.itemsize), (kind, values)]
                continue
            run.append((_INT4, np.where(null, -1, kind.itemsize)))
            if null.all():
                continue
            payload = _fixed_width(_block([(kind, values)], n), valid=~null)
        pieces += [_fixed_width(_block(run, n)), payload]
        run = []
    if run:
        pieces.append(_fixed_width(_block(run, n)))
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
                    c.name, c.kind, rows_of(c.values, slice(start, min(n, start + chunk_rows)))
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


def rows_of(values: object, rows: slice | np.ndarray) -> object:
    """The rows of a column (numpy array, pandas Series or Index, list) at positions ``rows``
    (a slice, or an integer array in the order wanted)."""
    if isinstance(values, pd.Series):
        return values.iloc[rows]
    if isinstance(rows, slice) or isinstance(values, np.ndarray | pd.Index):
        return values[rows]  # type: ignore[index]
    return [values[i] for i in rows]  # type: ignore[index]
