"""Plumbing of the tabular readers: CSV/TXT and XLSX to a frame of strings, and geometry
built from lon/lat or WKT columns.

Every cell is read as text, so nothing is lost before the layer converts types: an empty cell
is ``""``, never NaN. The CSV path is pyarrow's multi-threaded parser; the row numbers a user
sees (line numbers, the header being line 1) are checked against the line count and, when
they differ (quoted fields spanning lines, blank lines, ragged rows), the file is parsed again
with Python's ``csv`` module, which tracks every record's first line.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import math
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import shapely

from gis._headers import find_header_row, unique_headers
from gis.errors import InputFileError, RowIssue
from gis.messages import both

#: How many leading rows may hold a title above the header.
HEADER_SEARCH_ROWS = 10
_DELIMITERS = (",", "\t", ";", "|")


@dataclass
class Table:
    """A tabular file read as text, before header mapping and geometry."""

    frame: pd.DataFrame  # unique original headers, all values str
    row_numbers: np.ndarray
    header_row: int
    encoding: str | None
    row_issues: dict[int, list[RowIssue]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    layer_name: str | None = None  # the sheet of a workbook


# --- CSV ----------------------------------------------------------------------------------------


def decode(path: Path, data: bytes) -> tuple[str, str]:
    """Decode ``data``: UTF-8 (with or without BOM), UTF-16 with BOM, GB18030, then a guess.

    Returns the text and the encoding's name.
    """
    if data.startswith(codecs.BOM_UTF8):
        return data[3:].decode("utf-8", errors="strict"), "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16"), "utf-16"
    for encoding in ("utf-8", "gb18030"):
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None or best.encoding is None:
        raise InputFileError("io.unknown_encoding", path=str(path))
    return str(best), best.encoding


def _sniff_delimiter(head: str) -> str:
    """The most frequent of , TAB ; | in the first lines (a bare title line has none)."""
    counts = {d: head.count(d) for d in _DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def read_csv(path: Path, *, allowed: Collection[str] | None) -> Table:
    """Read a delimited text file into a frame of strings, with the lines users see."""
    data = path.read_bytes()
    start = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
    if not data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) and _is_utf8(data, start):
        # The usual case. The whole file is never made a Python string: a million-row file
        # would take several times its size in memory, and the time to fill it.
        encoding = "utf-8-sig" if start else "utf-8"
        head_text = data[start : start + _HEAD_BYTES].decode("utf-8", errors="ignore")
        blank = _BLANK.match(data, start) is not None
    else:
        text, encoding = decode(path, data)
        data, start = text.encode("utf-8"), 0
        head_text = text[:_HEAD_BYTES]
        blank = not text or text.isspace()  # not text.strip(), which would copy the whole text
    if blank:
        raise InputFileError("io.empty_file", path=str(path))
    delimiter = _sniff_delimiter("\n".join(head_text.split("\n")[:HEADER_SEARCH_ROWS]))

    # Find the header among the first records (a title row may sit above it).
    head = csv.reader(io.StringIO(head_text, newline=""), delimiter=delimiter)
    candidates: list[list[str]] = []
    ends: list[int] = []  # last line of each candidate record
    starts: list[int] = []
    for record in head:
        if len(candidates) >= HEADER_SEARCH_ROWS:
            break
        starts.append((ends[-1] if ends else 0) + 1)
        candidates.append(record)
        ends.append(head.line_num)
    pick = find_header_row(candidates, allowed)
    header_line, header_end = starts[pick], ends[pick]
    names, warnings = unique_headers(candidates[pick])
    if pick:
        warnings.append(both("io.header_row_skipped", header_row=header_line, skipped=pick))

    offset = _offset_after_lines(data, header_end, start=start)
    table = _read_fast(data, offset, names, delimiter)
    if table is not None:
        ends_open = offset < len(data) and not data.endswith(b"\n")
        lines = data.count(b"\n", offset) + int(ends_open)
        if lines == table.num_rows:
            numbers = np.arange(header_end + 1, header_end + 1 + table.num_rows, dtype=np.int64)
        else:  # quoted line breaks or blank lines: find each record's first line
            numbers = _record_lines(data[offset:].decode("utf-8"), delimiter, header_end)
        if len(numbers) == table.num_rows:
            return Table(table.to_pandas(), numbers, header_line, encoding, warnings=warnings)
    frame, numbers, issues = _read_slow(data[offset:].decode("utf-8"), names, delimiter, header_end)
    return Table(frame, numbers, header_line, encoding, issues, warnings)


# The head of a file searched for its delimiter and header row.
_HEAD_BYTES = 1 << 16
_BLANK = re.compile(rb"\s*\Z")


def _is_utf8(data: bytes, start: int) -> bool:
    """Whether ``data[start:]`` is valid UTF-8, checked by Arrow in place (no copy, no string)."""
    view = memoryview(data)[start:]
    offsets = np.array([0, len(view)], dtype=np.int64)
    whole = pa.Array.from_buffers(
        pa.large_binary(), 1, [None, pa.py_buffer(offsets), pa.py_buffer(view)]
    )
    try:
        whole.cast(pa.large_string())
    except pa.ArrowInvalid:
        return False
    return True


def _record_lines(text: str, delimiter: str, header_end: int) -> np.ndarray:
    """The first line of every non-blank record, counting the lines before ``text``."""
    numbers: list[int] = []
    reader = csv.reader(io.StringIO(text, newline=None), delimiter=delimiter)
    last = 0
    for record in reader:
        if record:
            numbers.append(header_end + last + 1)
        last = reader.line_num
    return np.asarray(numbers, dtype=np.int64)


def _offset_after_lines(data: bytes, lines: int, *, start: int = 0) -> int:
    """Byte offset just after the ``lines``-th newline of ``data`` from ``start`` (UTF-8)."""
    offset = start
    for _ in range(lines):
        nl = data.find(b"\n", offset)
        if nl < 0:
            return len(data)
        offset = nl + 1
    return offset


def _read_fast(data: bytes, offset: int, names: list[str], delimiter: str) -> pa.Table | None:
    """Parse ``data[offset:]`` with pyarrow (in place), every column as string; ``None`` if any
    row is ragged."""
    ragged: list[object] = []

    def on_invalid(row: object) -> str:
        ragged.append(row)
        return "skip"

    try:
        table = pacsv.read_csv(
            pa.BufferReader(pa.py_buffer(memoryview(data)[offset:])),
            read_options=pacsv.ReadOptions(column_names=names, block_size=1 << 24),
            parse_options=pacsv.ParseOptions(
                delimiter=delimiter,
                newlines_in_values=data.find(b'"', offset) >= 0,
                invalid_row_handler=on_invalid,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except pa.ArrowInvalid:
        return None
    return None if ragged else table


def _read_slow(
    text: str, names: list[str], delimiter: str, header_end: int
) -> tuple[pd.DataFrame, np.ndarray, dict[int, list[RowIssue]]]:
    """Parse with the ``csv`` module, which knows the first line of every record."""
    width = len(names)
    columns: list[list[str]] = [[] for _ in names]
    numbers: list[int] = []
    issues: dict[int, list[RowIssue]] = {}
    reader = csv.reader(io.StringIO(text, newline=None), delimiter=delimiter)
    last = 0
    for record in reader:
        start, last = header_end + last + 1, reader.line_num
        if not record:
            continue
        cells = record
        if len(record) != width:
            issues[len(numbers)] = [RowIssue("io.ragged_row", expected=width, found=len(record))]
            cells = (record + [""] * width)[:width]
        for column, value in zip(columns, cells, strict=True):
            column.append(value)
        numbers.append(start)
    frame = pd.DataFrame(dict(zip(names, columns, strict=True)), dtype="str")
    return frame, np.asarray(numbers, dtype=np.int64), issues


# --- XLSX ---------------------------------------------------------------------------------------


def cell_text(value: Any, number_format: str | None = None) -> str:
    """Render an Excel cell as text: dates as ISO 8601, whole floats without ``.0``.

    A date cell whose number format shows no time of day becomes ``YYYY-MM-DD``, so a
    date-only ledger yields whole-day windows; otherwise ``YYYY-MM-DDTHH:MM:SS``.
    """
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        fmt = (number_format or "").lower()
        shows_time = "h" in fmt or ":" in fmt
        if not shows_time and value.time() == dt.time(0):
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    return str(value)


def read_xlsx(path: Path, *, sheet: str | int | None, allowed: Collection[str] | None) -> Table:
    """Read one sheet of a workbook as text, finding the header below any title rows."""
    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # zipfile.BadZipFile, KeyError, InvalidFileException ...
        raise InputFileError("io.unreadable_file", path=str(path), detail=str(exc)) from exc
    try:
        names = book.sheetnames
        others: list[str] = []
        if sheet is None:
            ws = book.worksheets[0]
            others = names[1:]
        elif isinstance(sheet, int) and 0 <= sheet < len(names):
            ws = book.worksheets[sheet]
        elif isinstance(sheet, str) and sheet in names:
            ws = book[sheet]
        else:
            raise InputFileError(
                "io.sheet_not_found", path=str(path), sheet=sheet, sheets=", ".join(names)
            )
        ws.reset_dimensions()  # stale <dimension> tags would cut rows off
        rows: list[tuple[int, list[str]]] = []
        for number, cells in enumerate(ws.iter_rows(min_row=1), start=1):
            values = [cell_text(c.value, getattr(c, "number_format", None)) for c in cells]
            if any(values):
                rows.append((number, values))
        title = ws.title
    finally:
        book.close()
    if not rows:
        raise InputFileError("io.empty_file", path=str(path))
    width = max(len(v) for _, v in rows)
    rows = [(n, v + [""] * (width - len(v))) for n, v in rows]
    pick = find_header_row([v for _, v in rows[:HEADER_SEARCH_ROWS]], allowed)
    header_row, header = rows[pick]
    # Trailing columns with neither header nor data are formatting residue.
    while width and not header[width - 1] and not any(v[width - 1] for _, v in rows[pick:]):
        width -= 1
    names, warnings = unique_headers(header[:width])
    if others:
        warnings.append(
            both("io.several_sheets", path=str(path), sheet=title, others=", ".join(others))
        )
    if header_row > 1:
        warnings.append(
            both("io.header_row_skipped", header_row=header_row, skipped=header_row - 1)
        )
    body = rows[pick + 1 :]
    frame = pd.DataFrame(
        {name: [v[i] for _, v in body] for i, name in enumerate(names)}, dtype="str"
    )
    numbers = np.asarray([n for n, _ in body], dtype=np.int64)
    return Table(frame, numbers, header_row, None, warnings=warnings, layer_name=title)


# --- geometry from columns ----------------------------------------------------------------------

_FULL_WIDTH = str.maketrans("０１２３４５６７８９．－＋，", "0123456789.-+,")
_NULLS = frozenset({"", "null", "none", "nan", "na", "n/a", "-", "—", "--", "无", "空"})
_DECIMAL_COMMA = re.compile(r"^[+-]?\d+,\d+$")
_DMS = re.compile(
    r"^(?P<d>\d+(?:\.\d+)?)\s*[°度]\s*(?:(?P<m>\d+(?:\.\d+)?)\s*['′分]\s*)?"
    r"(?:(?P<s>\d+(?:\.\d+)?)\s*(?:\"|″|''|秒)?\s*)?$"
)
_HEMISPHERE = re.compile(r"^(东经|北纬|西经|南纬|[ENWSenws])\s*|\s*([ENWSenws])$")


def _parse_one(text: str) -> float | None:
    """Parse one coordinate written by hand: full-width digits, decimal comma, 120°10'30"."""
    value = text.strip().translate(_FULL_WIDTH)
    sign = 1.0
    match = _HEMISPHERE.search(value)
    if match:
        letter = (match.group(1) or match.group(2) or "").upper()
        sign = -1.0 if letter in {"W", "S", "西经", "南纬"} else 1.0
        value = _HEMISPHERE.sub("", value).strip()
    if _DECIMAL_COMMA.match(value):
        value = value.replace(",", ".")
    value = value.rstrip("°度").strip()
    try:
        number = float(value)
    except ValueError:
        dms = _DMS.match(value)
        if dms is None:
            return None
        number = float(dms["d"]) + float(dms["m"] or 0) / 60.0 + float(dms["s"] or 0) / 3600.0
    return sign * number if math.isfinite(number) else None


def _arrow_floats(values: pd.Series) -> tuple[np.ndarray, np.ndarray] | None:
    """Cast a clean text column with Arrow (fast); ``None`` if any cell is not a plain number."""
    try:
        text = pc.utf8_trim_whitespace(pa.array(values, type=pa.string(), from_pandas=True))
        empty = pc.fill_null(pc.equal(text, ""), True)
        numbers = pc.cast(pc.if_else(empty, pa.scalar(None, pa.string()), text), pa.float64())
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return None
    out = np.array(numbers.to_numpy(zero_copy_only=False), dtype="float64")
    return out, np.asarray(empty.to_numpy(zero_copy_only=False), dtype=bool)


def parse_numbers(values: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Parse a text column as floats, vectorised for the common case.

    Returns the numbers (NaN where missing), a mask of empty cells and a mask of cells that
    hold text that is not a number.
    """
    fast = _arrow_floats(values)
    if fast is not None:
        numbers, empty = fast
        bad = np.isinf(numbers)  # "inf" written out
        empty |= np.isnan(numbers) & ~bad  # "nan" written out counts as empty, as in _NULLS
        numbers[bad] = np.nan
        return numbers, empty, bad
    text = values.astype("str")
    numbers = np.array(pd.to_numeric(text, errors="coerce"), dtype="float64")
    numbers[~np.isfinite(numbers)] = np.nan
    failed = np.flatnonzero(np.isnan(numbers))
    empty = np.zeros(len(text), dtype=bool)
    bad = np.zeros(len(text), dtype=bool)
    raw = text.to_numpy(dtype=object)
    for i in failed:
        cell = str(raw[i]).strip()
        if cell.casefold() in _NULLS:
            empty[i] = True
            continue
        parsed = _parse_one(cell)
        if parsed is None:
            bad[i] = True
        else:
            numbers[i] = parsed
    return numbers, empty, bad


def build_geometry(
    frame: pd.DataFrame, columns: dict[str, str], issues: dict[int, list[RowIssue]]
) -> np.ndarray | None:
    """Build geometry from the ``wkt`` or ``lon``/``lat`` columns of a text frame.

    ``columns`` maps canonical geometry sources to the frame's (original) column names.
    Rows that cannot be built hold ``None`` and get a :class:`RowIssue`. No reprojection and
    no range check happen here. Returns ``None`` when the frame has no geometry source.
    """
    geoms: np.ndarray | None = None
    if "lon" in columns and "lat" in columns:
        lon, lat = _lonlat(frame, columns, issues)
        geoms = np.asarray(shapely.points(lon, lat), dtype=object)
        geoms[np.isnan(lon) | np.isnan(lat)] = None
    if "wkt" in columns:
        wkt_col = columns["wkt"]
        text = frame[wkt_col].astype("str").str.strip()
        wkt_empty = (text == "").to_numpy()
        cells = text.to_numpy(dtype=object)
        cells[wkt_empty] = None
        shapes = np.asarray(shapely.from_wkt(cells, on_invalid="ignore"), dtype=object)
        for i in np.flatnonzero(~wkt_empty & pd.isna(shapes)):
            issues.setdefault(int(i), []).append(
                RowIssue("io.bad_wkt", column=wkt_col, value=_clip(str(text.iat[int(i)])))
            )
        if geoms is None:
            for i in np.flatnonzero(wkt_empty):
                issues.setdefault(int(i), []).append(RowIssue("io.empty_wkt", column=wkt_col))
            geoms = shapes
        else:
            geoms = np.where(wkt_empty, geoms, shapes)
    return geoms


def lonlat_columns(
    frame: pd.DataFrame, columns: dict[str, str], issues: dict[int, list[RowIssue]]
) -> tuple[np.ndarray, np.ndarray] | None:
    """Coordinates of a text frame whose geometry comes from ``lon``/``lat`` columns alone, as
    float arrays (NaN where missing, with a :class:`RowIssue`); ``None`` for any other source.

    The importer's fast path for point files: no geometry object per row.
    """
    if "lon" not in columns or "lat" not in columns or "wkt" in columns:
        return None
    return _lonlat(frame, columns, issues)


def _lonlat(
    frame: pd.DataFrame, columns: dict[str, str], issues: dict[int, list[RowIssue]]
) -> tuple[np.ndarray, np.ndarray]:
    """Parse the ``lon``/``lat`` columns; rows without both (and without WKT) get an issue."""
    n = len(frame)
    lon_col, lat_col = columns["lon"], columns["lat"]
    lon, lon_empty, lon_bad = parse_numbers(frame[lon_col])
    lat, lat_empty, lat_bad = parse_numbers(frame[lat_col])
    missing = np.isnan(lon) | np.isnan(lat)
    wkt_col = columns.get("wkt")
    wkt_empty = _wkt_empty(frame, wkt_col) if wkt_col else np.ones(n, dtype=bool)
    for i in np.flatnonzero(missing & wkt_empty):
        row: list[RowIssue] = []
        if lon_empty[i] or lat_empty[i]:
            empty_cols = [c for c, e in ((lon_col, lon_empty[i]), (lat_col, lat_empty[i])) if e]
            empty_cols.sort(key=list(frame.columns).index)  # in file order
            row.append(RowIssue("io.empty_coordinates", column=", ".join(empty_cols)))
        for col, bad in ((lon_col, lon_bad), (lat_col, lat_bad)):
            if bad[i]:
                row.append(RowIssue("io.bad_number", column=col, value=str(frame[col].iat[int(i)])))
        issues.setdefault(int(i), []).extend(row)
    return lon, lat


def _wkt_empty(frame: pd.DataFrame, column: str) -> np.ndarray:
    return (frame[column].astype("str").str.strip() == "").to_numpy()


def _clip(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- raw rows -----------------------------------------------------------------------------------


def jsonable(value: Any) -> Any:
    """Convert one cell to a JSON value: geometry -> WKT, dates -> ISO 8601, NaN -> None."""
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, np.generic):
        return jsonable(value.item())
    if isinstance(value, shapely.Geometry):
        return value.wkt
    if isinstance(value, pd.Timestamp | dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, list | tuple | np.ndarray):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return str(value)


class RawRows(Sequence[dict[str, Any]]):
    """The rows of a file as read, with its own headers, built as JSON dicts on access.

    A list of a million dicts would cost more memory than the frame itself; the importer
    needs only the rows it quarantines, so this sequence renders them lazily.
    """

    def __init__(self, frame: pd.DataFrame) -> None:
        self._frame = frame
        self._columns = [str(c) for c in frame.columns]

    def __len__(self) -> int:
        return len(self._frame)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        values = self._frame.iloc[index].tolist()
        return {c: jsonable(v) for c, v in zip(self._columns, values, strict=True)}

    def __repr__(self) -> str:
        return f"RawRows({len(self)} rows, columns={self._columns!r})"
