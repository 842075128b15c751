"""Layer specifications and the vectorised validation of raw rows.

A :class:`LayerSpec` says which canonical columns a layer has, their types and rules, its
geometry kind and its key. :func:`validate_columns` turns the raw string columns a reader
produced into typed columns, collecting a :class:`~gis.errors.RowIssue` for every value that
breaks a rule, so that the importer can quarantine those rows with their reasons.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from gis.errors import RowIssue

FieldKind = Literal["text", "int", "float", "bool", "date", "timestamp"]
GeometryKind = Literal["point", "polygon", "line", "point_or_polygon"]

# Yes/no as ledgers write them (lower-cased); "单向"/"双向" are a road's one-way flag.
TRUE_WORDS = frozenset({"1", "true", "t", "yes", "y", "是", "真", "对", "单向", "oneway"})
FALSE_WORDS = frozenset({"0", "false", "f", "no", "n", "否", "假", "双向", ""})

# A UTC offset or "Z" after the time of day at the end of a date-time text.
_UTC_OFFSET = r"\d:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(?:Z|[+-]\d{2}(?::?\d{2})?)$"

# "GMT+0800", "UTC+8", "GMT-03:30" (RE2 syntax): JavaScript's Date.toString() writes the first,
# and people type the others, and all of them mean UTC+8, UTC-3:30 as ISO 8601 would. dateutil
# follows POSIX TZ instead ("GMT+8" is 8 hours west), so they are rewritten as "+08:00" before
# the lenient parse: (pattern, replacement) in order, two-digit hours first.
_NAMED_OFFSETS = (
    (r"(?i)(?:GMT|UTC)\s*([+-])(\d{2}):?(\d{2})", r"\1\2:\3"),
    (r"(?i)(?:GMT|UTC)\s*([+-])(\d):?(\d{2})", r"\10\2:\3"),
    (r"(?i)(?:GMT|UTC)\s*([+-])(\d{2})", r"\1\2:00"),
    (r"(?i)(?:GMT|UTC)\s*([+-])(\d)", r"\10\2:00"),
    # The zone's name after an offset, "(中国标准时间)" or "(China Standard Time)": the offset
    # decides.
    (r"([+-]\d{2}:?\d{2})\s*\([^)]*\)$", r"\1"),
)
_NAMED_OFFSET = r"(?i)(?:GMT|UTC)\s*[+-]\d|[+-]\d{2}:?\d{2}\s*\([^)]*\)$"

# "Thu Oct 01 2026 08:30:00 +08:00" (JavaScript's Date.toString() once its offset is ISO),
# "Thursday, October 1, 2026 8:30", "Thu Oct 01 2026": only dateutil reads these, at ~90 µs a
# value (9 s for 100,000 rows), so they are rewritten as ISO 8601 for the C parser. The weekday
# is not checked, as dateutil does not check it.
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_WEEKDAY_FORM = (
    r"(?i)^(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?,?\s+"
    rf"({'|'.join(_MONTHS)})[a-z]*\.?\s+(\d{{1,2}}),?\s+(\d{{4}})"
    r"(?:(?:\s+|T)(\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?))?\s*([+-]\d{2}:?\d{2}|Z)?$"
)

# Text columns are Arrow-backed: strip, match and replace then run in C++ over the whole column.
TEXT = "string[pyarrow]"

# A phone number as written in ledgers: digits with +, - or spaces.
PHONE_PATTERN = r"[0-9+\-\s]{5,20}"

# Dates before this are typing errors, not history: no incident ledger goes back further.
EARLIEST_DATE = pd.Timestamp("1950-01-01")
# Dates more than a year ahead are typing errors too (2062 for 2026); plans may look ahead a year.
LATEST_AHEAD = pd.Timedelta(days=366)


@dataclass(frozen=True)
class Field:
    """One canonical column of a layer.

    Parameters
    ----------
    name
        Canonical column name (see ``docs/architecture.md``).
    kind
        Value type after parsing.
    required
        A row without a value is quarantined.
    choices
        Allowed values after ``aliases`` are applied; anything else is quarantined.
    aliases
        Input spellings mapped to canonical values (e.g. ``{"在线": "online"}``), case-insensitive.
    minimum, maximum
        Inclusive numeric bounds.
    pattern
        Regular expression a text value must match in full.
    """

    name: str
    kind: FieldKind = "text"
    required: bool = False
    choices: tuple[str, ...] | None = None
    aliases: Mapping[str, str] = field(default_factory=dict)
    minimum: float | None = None
    maximum: float | None = None
    pattern: str | None = None


@dataclass(frozen=True)
class LayerSpec:
    """What one base layer is: its table, columns, geometry and key.

    Attributes
    ----------
    name
        Layer name used by the CLI and the API (``incidents``, ``grids`` ...).
    table
        Table in PostGIS.
    fields
        The canonical columns besides geometry.
    geometry
        Geometry kind, or ``None`` for a table without geometry.
    key
        Canonical column that identifies a row within its source (``source_id`` or ``code``).
    assign_areas
        Whether village and grid codes (and H3 cells for points) are assigned at ingest.
    stored
        ``(column, binary COPY type)`` of the table columns written from the clean rows, besides
        the bookkeeping columns every table has (source, source_id, row_hash, batch_id, geom).
    conflict
        The unique columns a re-import matches on.
    """

    name: str
    table: str
    fields: tuple[Field, ...]
    geometry: GeometryKind | None
    key: str = "source_id"
    assign_areas: bool = False
    stored: tuple[tuple[str, str], ...] = ()
    conflict: tuple[str, ...] = ("source", "source_id")
    extra_checks: tuple[Callable[[pd.DataFrame], dict[int, list[RowIssue]]], ...] = ()

    @property
    def columns(self) -> list[str]:
        return [f.name for f in self.fields]

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)


# The columns assignment at ingest adds to point layers (see layers._assign).
ASSIGNED_COLUMNS: tuple[tuple[str, str], ...] = (
    ("village_code", "text"),
    ("grid_code", "text"),
    ("h3_r7", "int8"),
    ("h3_r9", "int8"),
    ("h3_r10", "int8"),
)


class IssueCollector:
    """Per-row issues keyed by positional row index."""

    def __init__(self) -> None:
        self.by_row: dict[int, list[RowIssue]] = defaultdict(list)

    def add(self, rows: np.ndarray | list[int], issue_for: Callable[..., RowIssue]) -> None:
        for row in np.asarray(rows, dtype=np.int64).tolist():
            self.by_row[row].append(issue_for(row))

    def extend(self, issues: Mapping[int, list[RowIssue]]) -> None:
        for row, found in issues.items():
            self.by_row[int(row)].extend(found)

    def bad_mask(self, n: int) -> np.ndarray:
        mask = np.zeros(n, dtype=bool)
        if self.by_row:
            mask[np.fromiter(self.by_row, dtype=np.int64)] = True
        return mask


def regex_mask(text: pd.Series, pattern: str) -> np.ndarray:
    """Where ``pattern`` (RE2 syntax) is found in ``text``; missing values are False."""
    found = pc.match_substring_regex(pa.array(text, type=pa.string(), from_pandas=True), pattern)
    return np.asarray(found.fill_null(False), dtype=bool)


def _text_of(values: pd.Series) -> tuple[pa.Array, np.ndarray]:
    """A text column as one Arrow ``large_string`` array with the whitespace around each value
    stripped, and the mask of values that are missing or empty after stripping."""
    arrow = pa.array(values.astype(TEXT).array)
    if isinstance(arrow, pa.ChunkedArray):
        arrow = arrow.combine_chunks()
    stripped = pc.utf8_trim_whitespace(arrow)
    blank = pc.fill_null(pc.equal(stripped, ""), True)
    return stripped, np.asarray(blank, dtype=bool)


def _as_text(arrow: pa.Array, index: pd.Index) -> pd.Series:
    """An Arrow ``large_string`` array as a :data:`TEXT` series."""
    return pd.Series(pd.arrays.ArrowStringArray(arrow), index=index)


def _blank(values: pd.Series) -> np.ndarray:
    """Missing, or text that is empty after stripping (typed columns are only checked for NA)."""
    if not (values.dtype == object or isinstance(values.dtype, pd.StringDtype)):
        return np.asarray(values.isna(), dtype=bool)
    return _text_of(values)[1]


def _parse_numbers(values: pd.Series, *, integer: bool) -> tuple[pd.Series, np.ndarray]:
    text = values.astype(TEXT).str.strip().str.replace(",", "", regex=False)
    numbers = pd.to_numeric(text, errors="coerce")
    bad = numbers.isna().to_numpy() & ~_blank(values)
    if integer:
        fractional = numbers.notna() & (numbers % 1 != 0)
        bad |= fractional.to_numpy()
        numbers = numbers.where(~fractional)
        return numbers.astype("Int64"), bad
    return numbers.astype("Float64"), bad


def _localize(stamps: pd.Series, timezone: str) -> pd.Series:
    """Local wall-clock times to instants in ``timezone``.

    In the hour that repeats when daylight saving time ends, the first (summer-time) instance is
    taken; a time in the hour that is skipped when it begins is moved forward by that hour.
    Neither is an impossible date.
    """
    first = np.ones(len(stamps), dtype=bool)
    return stamps.dt.tz_localize(timezone, ambiguous=first, nonexistent=pd.Timedelta(hours=1))


# The shapes nearly every ledger and export writes: YYYY-MM-DD, and that with HH:MM:SS after a
# space or a "T". Their bytes are read in place from the Arrow buffers by numpy, with no string
# made per value; anything else (offsets, 2026年10月1日, 2026/10/1 8:00 ...) goes the general way.
_PLAIN_SEPARATORS = {4: "-", 7: "-", 10: " T", 13: ":", 16: ":"}
_PLAIN_WIDTHS = (10, 19)  # the date, the date and time


@cache
def _month_starts() -> np.ndarray:
    """Day number (since 1970-01-01) of the first of every month, January 0000 to January
    10000: entry ``12 * year + month - 1`` (numpy's proleptic Gregorian calendar)."""
    months = np.arange(10_000 * 12 + 1) - 1970 * 12
    return months.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)


def _number(digits: np.ndarray, positions: range) -> np.ndarray:
    """The number written by the digits at ``positions`` (rows of ``digits``)."""
    value = digits[positions[0]].astype(np.int32)
    for position in positions[1:]:
        value = value * 10 + digits[position]
    return value


def _parse_plain_local(text: pa.Array, pending: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Parse the ``pending`` values of ``text`` (stripped) written ``YYYY-MM-DD`` or
    ``YYYY-MM-DD HH:MM:SS`` (or with a ``T``), as local wall-clock time.

    Returns microseconds since the epoch (NaT for the other values, which the general path
    then parses) and the mask of date-only values among those parsed. A value with a field
    out of range, or a day the month lacks (2026-02-30), is left to the general path.
    """
    n = len(text)
    micros = np.full(n, np.iinfo(np.int64).min, dtype=np.int64)  # NaT
    date_only = np.zeros(n, dtype=bool)
    offsets_buffer, data_buffer = text.buffers()[1:3]
    if data_buffer is None:
        return micros, date_only
    offsets = np.frombuffer(offsets_buffer, dtype=np.int64)[text.offset : text.offset + n + 1]
    data = np.frombuffer(data_buffer, dtype=np.uint8)
    lengths = np.diff(offsets)
    for width in _PLAIN_WIDTHS:
        rows = np.flatnonzero(pending & (lengths == width))
        if not len(rows):
            continue
        if len(rows) == n and offsets[-1] - offsets[0] == n * width:
            block = data[offsets[0] : offsets[-1]].reshape(n, width)  # no copy
        else:
            # Each value's bytes as one fixed-width item, taken in one pass.
            windows = np.ndarray((len(data) - width + 1,), f"V{width}", data, strides=(1,))
            block = windows[offsets[rows]].view(np.uint8).reshape(-1, width)
        chars = np.ascontiguousarray(block.T)  # one row per character position
        digits = chars - np.uint8(48)
        separators = {p: s for p, s in _PLAIN_SEPARATORS.items() if p < width}
        numeric = [p for p in range(width) if p not in separators]
        exact = digits[numeric].max(axis=0) < 10
        for position, allowed in separators.items():
            exact &= np.logical_or.reduce([chars[position] == ord(c) for c in allowed])
        year, month = _number(digits, range(4)), _number(digits, range(5, 7))
        day = _number(digits, range(8, 10))
        exact &= (month >= 1) & (month <= 12) & (day >= 1)
        starts = _month_starts()
        index = np.where(exact, year * 12 + month - 1, 0)
        exact &= day <= starts[index + 1] - starts[index]
        seconds = np.zeros(len(rows), dtype=np.int64)
        if width > 10:
            hour, minute = _number(digits, range(11, 13)), _number(digits, range(14, 16))
            second = _number(digits, range(17, 19))
            exact &= (hour <= 23) & (minute <= 59) & (second <= 59)
            seconds = (hour * 3600 + minute * 60 + second).astype(np.int64)
        values = (starts[index] + day - 1) * 86_400_000_000 + seconds * 1_000_000
        if not exact.all():
            rows, values = rows[exact], values[exact]
        micros[rows] = values
        date_only[rows] = width == 10
    return micros, date_only


def parse_timestamps(
    values: pd.Series, *, timezone: str
) -> tuple[pd.Series, np.ndarray, np.ndarray]:
    """Parse dates or date-times into tz-aware timestamps in ``timezone``.

    Returns ``(timestamps, bad, date_only)``: ``bad`` marks non-empty values that cannot be
    read, are not a real date (``2026-02-30``) or lie before 1950 (a value is read as it would
    be alone, whatever the rest of the column holds); ``date_only`` marks values that carry a
    date but no time of day, which the incident layer turns into whole-day windows.
    """
    if not pd.api.types.is_datetime64_any_dtype(values):
        return _parse_text_timestamps(*_text_of(values), index=values.index, timezone=timezone)
    blank = _blank(values)
    stamps = pd.Series(values)
    has_time = (stamps.dt.hour + stamps.dt.minute + stamps.dt.second).fillna(0) != 0
    # A naive column whose every time is 00:00 is a date column (a shapefile's Date field);
    # otherwise a midnight value is midnight. A time-zone-aware value is always an instant.
    naive = stamps.dt.tz is None
    date_only = np.asarray(~has_time, dtype=bool) & (naive and not bool(has_time.any()))
    return _plausible(stamps, blank, date_only, timezone=timezone)


def _parse_text_timestamps(
    stripped: pa.Array, blank: np.ndarray, *, index: pd.Index, timezone: str
) -> tuple[pd.Series, np.ndarray, np.ndarray]:
    """:func:`parse_timestamps` of a text column, given as :func:`_text_of` returns it."""
    micros, date_only = _parse_plain_local(stripped, ~blank)
    fast = pd.Series(micros.view("datetime64[us]"), index=index)
    rest = ~fast.notna().to_numpy() & ~blank
    if not rest.any():
        return _plausible(fast, blank, date_only, timezone=timezone)
    text = _as_text(stripped, index)
    # Values with a UTC offset are parsed apart: offsets may differ from row to row
    # (daylight saving time, "Z" next to "+08:00"), and the rest is local time.
    aware = np.zeros(len(text), dtype=bool)
    aware[rest] = regex_mask(text[rest], _UTC_OFFSET)
    text, rewritten = _iso_offsets(text, rest & ~aware)
    text, reordered = _weekday_form(text, rest)
    rewritten |= reordered
    if rewritten.any():
        aware[rewritten] = regex_mask(text[rewritten], _UTC_OFFSET)
    pieces: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    unread: list[tuple[np.ndarray, bool]] = []
    # ISO 8601 is parsed in C; only what it cannot read (2026年10月1日, 2026/10/1 8:00,
    # Thu Oct 01 2026 08:30:00 +08:00) goes the slow way.
    for rows, utc in ((np.flatnonzero(rest & ~aware), False), (np.flatnonzero(aware), True)):
        if len(rows):
            wall, instant = _read_each(text.iloc[rows], format="ISO8601", utc=utc)
            pieces.append((rows, wall, instant))
            unread.append((rows[np.isnat(wall) & np.isnat(instant)], utc))
    if any(len(rows) for rows, _ in unread):
        text = text.copy()  # cleaned as read, so that 2026年10月1日 counts as date-only
    for rows, utc in unread:
        if len(rows):
            text.iloc[rows] = (
                text.iloc[rows]
                .str.replace(r"[年月/.]", "-", regex=True)
                .str.replace("日", "", regex=False)
                .array
            )
            pieces.append((rows, *_read_each(text.iloc[rows], format="mixed", utc=utc)))
    stamps = _assemble(micros, pieces, index=index, timezone=timezone)
    short = np.asarray((text.str.len() <= 10).fillna(False), dtype=bool) & rest
    if short.any():
        pattern = r"\d{4}-\d{1,2}-\d{1,2}"
        date_only[short] = regex_mask(text[short], f"^{pattern}$")
    return _plausible(stamps, blank, date_only, timezone=timezone)


def _iso_offsets(text: pd.Series, rows: np.ndarray) -> tuple[pd.Series, np.ndarray]:
    """``text`` with the offsets named after GMT or UTC among ``rows`` (a mask) written as
    ISO 8601 offsets (``GMT+0800`` -> ``+08:00``, ``UTC-5`` -> ``-05:00``), and a zone's name in
    parentheses after an offset dropped (see :data:`_NAMED_OFFSETS`), with the mask of the
    values rewritten. A bare ``GMT`` or ``UTC`` is left alone: it is UTC either way."""

    def rewrite(values: pa.Array) -> pa.Array:
        for pattern, replacement in _NAMED_OFFSETS:
            values = pc.replace_substring_regex(values, pattern, replacement)
        return values

    return _rewrite_matching(text, rows, _NAMED_OFFSET, rewrite)


def _weekday_form(text: pd.Series, rows: np.ndarray) -> tuple[pd.Series, np.ndarray]:
    """``text`` with the values among ``rows`` (a mask) written as :data:`_WEEKDAY_FORM`
    rewritten as ISO 8601 (``2026-10-01T08:30:00+08:00``, or ``2026-10-01`` without a time),
    and the mask of the values rewritten."""

    def rewrite(values: pa.Array) -> pa.Array:
        values = pc.if_else(
            pc.match_substring_regex(values, r"\d:\d{2}"),
            pc.replace_substring_regex(values, _WEEKDAY_FORM, r"\3-\1-\2T\4\5"),
            pc.replace_substring_regex(values, _WEEKDAY_FORM, r"\3-\1-\2"),
        )
        for number, name in enumerate(_MONTHS, 1):
            month = (f"(?i)^(\\d{{4}})-{name}-", f"\\1-{number:02d}-")
            values = pc.replace_substring_regex(values, *month)
        values = pc.replace_substring_regex(values, r"^(\d{4}-\d{2})-(\d)(T|$)", r"\1-0\2\3")
        return pc.replace_substring_regex(values, r"T(\d):", r"T0\1:")

    return _rewrite_matching(text, rows, _WEEKDAY_FORM, rewrite)


def _rewrite_matching(
    text: pd.Series, rows: np.ndarray, pattern: str, rewrite: Callable[[pa.Array], pa.Array]
) -> tuple[pd.Series, np.ndarray]:
    """``text`` with the values among ``rows`` (a mask) that match ``pattern`` (RE2) replaced
    by ``rewrite`` of them (Arrow in, Arrow out), and the mask of the values replaced."""
    found = np.zeros(len(text), dtype=bool)
    if rows.any():
        found[rows] = regex_mask(text[rows], pattern)
    if not found.any():
        return text, found
    text = text.copy()
    text.iloc[np.flatnonzero(found)] = pd.arrays.ArrowStringArray(
        rewrite(pa.array(text[found].array))
    )
    return text, found


# The exceptions pandas' parsers raise for a bad string when ``errors="coerce"`` does not
# catch them: mixed time zones, an offset or resolution that cannot be cast, overflow.
_PARSER_ERRORS = (ValueError, TypeError, OverflowError)


def _read_each(text: pd.Series, *, format: str, utc: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """``pd.to_datetime(text, format=format, errors="coerce")``, never raising: each value
    comes out as it would alone.

    Returns ``(wall, instant)``, two ``datetime64`` arrays of one unit: the wall-clock time of
    a value read without a time zone, and the UTC instant of a value read with one (NaT in
    the other, and in both for a value not read). pandas refuses a column that mixes the two
    (a stray "-00" or "UTC" in junk that dateutil reads as a zone) and raises for some values
    that ``errors="coerce"`` misses, so a column it refuses is read in halves, down to single
    values, and a single value it refuses is not a date.
    """
    try:
        parsed = pd.to_datetime(text, errors="coerce", format=format, utc=utc, cache=False)
    except _PARSER_ERRORS:
        if len(text) == 1:
            nat = np.full(1, np.datetime64("NaT"), dtype="datetime64[us]")
            return nat, nat
    else:
        nat = np.full(len(text), np.datetime64("NaT"), dtype=f"datetime64[{parsed.dt.unit}]")
        if parsed.dt.tz is None:
            return parsed.to_numpy(), nat
        return nat, parsed.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy()
    half = len(text) // 2
    (wall_a, instant_a), (wall_b, instant_b) = (
        _read_each(part, format=format, utc=utc) for part in (text.iloc[:half], text.iloc[half:])
    )
    unit = _finest(wall_a, wall_b)
    return (
        np.concatenate([_as_unit(wall_a, unit), _as_unit(wall_b, unit)]),
        np.concatenate([_as_unit(instant_a, unit), _as_unit(instant_b, unit)]),
    )


_PER_SECOND = {"s": 1, "ms": 10**3, "us": 10**6, "ns": 10**9}


def _finest(*values: np.ndarray) -> str:
    """The finest unit among ``datetime64`` arrays (``us`` at least, the fast path's unit)."""
    units = [np.datetime_data(v.dtype)[0] for v in values]
    return max(["us", *units], key=_PER_SECOND.__getitem__)


def _as_unit(values: np.ndarray, unit: str) -> np.ndarray:
    """``datetime64`` values in ``unit``, as fine as theirs or finer; a value the unit cannot
    hold becomes NaT (for nanoseconds, years before 1678 or after 2261: not plausible)."""
    if np.datetime_data(values.dtype)[0] == unit:
        return values
    factor = _PER_SECOND[unit] // _PER_SECOND[np.datetime_data(values.dtype)[0]]
    ints = values.view(np.int64)
    limit = np.iinfo(np.int64).max // factor
    fits = (ints > -limit) & (ints < limit)  # NaT (the smallest int64) does not fit either
    scaled = np.where(fits, ints, 0) * factor
    return np.where(fits, scaled, np.iinfo(np.int64).min).view(f"datetime64[{unit}]")


def _assemble(
    micros: np.ndarray,
    pieces: list[tuple[np.ndarray, np.ndarray, np.ndarray]],
    *,
    index: pd.Index,
    timezone: str,
) -> pd.Series:
    """The fast path's wall-clock ``micros`` with the ``(rows, wall, instant)`` that the
    general path read laid over them, in order, in the finest unit any of them has: naive
    local time, or instants in ``timezone`` when any value carried its own zone."""
    unit = _finest(*(values for _, wall, instant in pieces for values in (wall, instant)))
    wall = _as_unit(micros.view("datetime64[us]"), unit).copy()
    instant = np.full(len(wall), np.datetime64("NaT"), dtype=wall.dtype)
    for rows, piece_wall, piece_instant in pieces:
        wall[rows] = _as_unit(piece_wall, unit)
        instant[rows] = _as_unit(piece_instant, unit)
    stamps = pd.Series(wall, index=index)
    zoned = ~np.isnat(instant)
    if not zoned.any():
        return stamps
    instants = pd.Series(instant, index=index).dt.tz_localize("UTC").dt.tz_convert(timezone)
    return _localize(stamps, timezone).mask(zoned, instants.array)


def _plausible(
    stamps: pd.Series, blank: np.ndarray, date_only: np.ndarray, *, timezone: str
) -> tuple[pd.Series, np.ndarray, np.ndarray]:
    """Timestamps in ``timezone``, with the mask of bad ones (unparsed, or implausibly early
    or late, which become NaT) and ``date_only`` for the non-blank values."""
    if getattr(stamps.dt, "tz", None) is None:
        stamps = _localize(stamps, timezone)
    else:
        stamps = stamps.dt.tz_convert(timezone)
    latest = pd.Timestamp.now(tz=timezone) + LATEST_AHEAD
    implausible = np.asarray(
        ((stamps < EARLIEST_DATE.tz_localize(timezone)) | (stamps > latest)).fillna(False),
        dtype=bool,
    )
    bad = (stamps.isna().to_numpy() & ~blank) | implausible
    if implausible.any():
        stamps = stamps.where(~implausible)
    return stamps, bad, date_only & ~blank


def validate_columns(
    frame: pd.DataFrame, spec: LayerSpec, *, timezone: str, issues: IssueCollector
) -> pd.DataFrame:
    """Return the spec's columns typed and normalised; record an issue per bad value.

    Parameters
    ----------
    frame
        Raw columns as strings (canonical names; missing columns count as empty).
    timezone
        Deployment time zone, used for date-times given without an offset.
    """
    # The columns are checked apart, two at a time (Arrow and numpy release the GIL); their
    # issues are then taken in column order, as if they had been checked one after another.
    with ThreadPoolExecutor(max_workers=2) as pool:
        checked = list(
            pool.map(lambda f: _validate_field(frame, f, timezone=timezone), spec.fields)
        )
    out = pd.DataFrame(index=frame.index)
    for columns, found in checked:
        for name, values in columns.items():
            out[name] = values
        issues.extend(found.by_row)
    return out


def _validate_field(
    frame: pd.DataFrame, f: Field, *, timezone: str
) -> tuple[dict[str, pd.Series | np.ndarray], IssueCollector]:
    """The typed column(s) of field ``f`` (a timestamp has its ``__date_only`` mask too), and
    the issues of its values."""
    n = len(frame)
    issues = IssueCollector()
    out: dict[str, pd.Series | np.ndarray] = {}
    raw = (
        frame[f.name]
        if f.name in frame
        # A column the file lacks: all null, built in Arrow without a Python None per row.
        else pd.Series(pd.array(pa.nulls(n, pa.large_string()), dtype=TEXT), index=frame.index)
    )
    stripped: pa.Array | None = None
    if raw.dtype == object or isinstance(raw.dtype, pd.StringDtype):
        raw = raw.astype(TEXT)  # once: every rule below reads the values as text
        stripped, blank = _text_of(raw)
    else:
        blank = _blank(raw)
    if f.required:
        issues.add(np.flatnonzero(blank), lambda _r: RowIssue("layers.required", column=f.name))
    value: pd.Series
    if f.kind in ("int", "float"):
        value, bad = _parse_numbers(raw, integer=f.kind == "int")
        issues.add(
            np.flatnonzero(bad),
            lambda r: RowIssue("layers.not_a_number", column=f.name, value=str(raw.iloc[r])),
        )
        out_of_range = np.zeros(n, dtype=bool)
        if f.minimum is not None:
            out_of_range |= (value < f.minimum).fillna(False).to_numpy()
        if f.maximum is not None:
            out_of_range |= (value > f.maximum).fillna(False).to_numpy()
        issues.add(
            np.flatnonzero(out_of_range),
            lambda r: RowIssue(
                "layers.out_of_range",
                column=f.name,
                value=str(value.iloc[r]),
                minimum=f.minimum,
                maximum=f.maximum,
            ),
        )
    elif f.kind in ("date", "timestamp"):
        value, bad, date_only = (
            parse_timestamps(raw, timezone=timezone)
            if stripped is None
            else _parse_text_timestamps(stripped, blank, index=raw.index, timezone=timezone)
        )
        issues.add(
            np.flatnonzero(bad),
            lambda r: RowIssue("layers.bad_date", column=f.name, value=str(raw.iloc[r])),
        )
        if f.kind == "date":
            value = value.dt.tz_localize(None).dt.normalize()
        else:
            out[f"{f.name}__date_only"] = date_only
    elif f.kind == "bool":
        text = raw.astype(TEXT).str.strip().str.lower()
        truthy = text.isin(TRUE_WORDS).to_numpy()
        falsy = text.isin(FALSE_WORDS).to_numpy() | blank
        issues.add(
            np.flatnonzero(~truthy & ~falsy),
            lambda r: RowIssue("layers.not_a_bool", column=f.name, value=str(raw.iloc[r])),
        )
        value = pd.Series(truthy, index=frame.index)
    else:
        if stripped is None:
            stripped = _text_of(raw)[0]
        if blank.any():
            stripped = pc.if_else(pa.array(blank), pa.scalar(None, pa.large_string()), stripped)
        value = _apply_choices(_as_text(stripped, raw.index), f, issues)
    out[f.name] = value
    return out, issues


def _apply_choices(value: pd.Series, f: Field, issues: IssueCollector) -> pd.Series:
    if f.aliases:
        lookup = {k.lower(): v for k, v in f.aliases.items()}
        # Mapped once per distinct value, in Arrow: no Python object per row.
        written = pa.array(value.array)
        if isinstance(written, pa.ChunkedArray):
            written = written.combine_chunks()
        distinct = pc.dictionary_encode(pc.utf8_lower(written))
        canonical = pa.array(
            [lookup.get(d) for d in distinct.dictionary.to_pylist()], type=pa.large_string()
        )
        value = _as_text(pc.coalesce(canonical.take(distinct.indices), written), value.index)
    if f.choices is not None:
        unknown = value.notna() & ~value.isin(f.choices)
        issues.add(
            np.flatnonzero(unknown.to_numpy()),
            lambda r: RowIssue(
                "layers.bad_choice",
                column=f.name,
                value=str(value.iloc[r]),
                choices="/".join(f.choices or ()),
            ),
        )
    if f.pattern is not None:
        mismatch = value.notna().to_numpy() & ~regex_mask(value, f"^(?:{f.pattern})$")
        issues.add(
            np.flatnonzero(mismatch),
            lambda r: RowIssue(
                "layers.bad_format", column=f.name, value=str(value.iloc[r]), pattern=f.pattern
            ),
        )
    return value


def row_hashes(frame: pd.DataFrame) -> np.ndarray:
    """Return an 8-byte content hash per row (deterministic across runs and machines).

    The values are exactly ``pandas.util.hash_pandas_object(frame, index=False)``'s, because
    stored hashes decide whether a re-imported row changed.
    """
    return combine_hashes(column_hashes(frame), len(frame))


def column_hashes(frame: pd.DataFrame) -> list[np.ndarray]:
    """pandas' ``uint64`` hash of every value, column by column: two columns at a time, and
    text without a Python string per value (:func:`_text_hashes`)."""
    columns = [frame.iloc[:, i] for i in range(frame.shape[1])]
    with ThreadPoolExecutor(max_workers=2) as pool:
        return list(pool.map(_column_hashes, columns))


def combine_hashes(hashed: list[np.ndarray], n: int) -> np.ndarray:
    """The row hashes (``(n, 8)`` bytes) of :func:`column_hashes`' columns, combined as
    ``hash_pandas_object`` combines them (CPython's tuple hash)."""
    combined = np.full(n, 0x345678, dtype=np.uint64)
    factor = np.uint64(1000003)
    for i, column in enumerate(hashed):
        combined ^= column
        combined *= factor
        factor += np.uint64(82520 + 2 * (len(hashed) - i))
    combined += np.uint64(97531)
    return combined.astype(">u8").view(np.uint8).reshape(-1, 8)


def _column_hashes(column: pd.Series) -> np.ndarray:
    """``pandas.util.hash_array`` of one column, as ``hash_pandas_object`` takes it."""
    values = column.array
    if isinstance(values, pd.arrays.ArrowExtensionArray):
        arrow = pa.array(values)
        if pa.types.is_string(arrow.type) or pa.types.is_large_string(arrow.type):
            return _text_hashes(
                arrow.combine_chunks() if isinstance(arrow, pa.ChunkedArray) else arrow
            )
    if isinstance(values, pd.arrays.NumpyExtensionArray):
        values = values.to_numpy()
    return pd.util.hash_array(values)


def _text_hashes(text: pa.Array) -> np.ndarray:
    """pandas' hash of an Arrow text column: the SipHash of each value's UTF-8 bytes, mixed,
    and ``2**64 - 1`` for a missing value.

    pandas hashes each distinct value once (Arrow's dictionary encoding), as a Python string
    that it encodes to UTF-8 again; here the values go to the same hash as ``bytes`` straight
    from Arrow, and a column of mostly distinct values (an identifier) skips the encoding.
    """
    sample = text.slice(0, 4096)
    if len(sample) and pc.count_distinct(sample, mode="all").as_py() > len(sample) // 2:
        raw = text.cast(pa.large_binary()).to_numpy(zero_copy_only=False)
        hashed = pd.util.hash_array(raw, categorize=False)
    else:
        encoded = pc.dictionary_encode(text)
        distinct = encoded.dictionary.cast(pa.large_binary()).to_numpy(zero_copy_only=False)
        hashed = (
            pd.util.hash_array(distinct, categorize=False).take(
                np.asarray(encoded.indices.fill_null(0))
            )
            if len(distinct)
            else np.zeros(len(text), dtype=np.uint64)
        )
    hashed[np.asarray(text.is_null())] = np.iinfo(np.uint64).max
    return hashed


def as_python(value: Any) -> Any:
    """Make a value JSON-serialisable for ``quarantine.raw``."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, np.generic):
        return value.item()
    return value
