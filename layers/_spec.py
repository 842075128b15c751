"""Layer specifications and the vectorised validation of raw rows.

A :class:`LayerSpec` says which canonical columns a layer has, their types and rules, its
geometry kind and its key. :func:`validate_columns` turns the raw string columns a reader
produced into typed columns, collecting a :class:`~gis.errors.RowIssue` for every value that
breaks a rule, so that the importer can quarantine those rows with their reasons.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
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


def _blank(values: pd.Series) -> np.ndarray:
    """Missing, or text that is empty after stripping (typed columns are only checked for NA)."""
    if not (values.dtype == object or isinstance(values.dtype, pd.StringDtype)):
        return np.asarray(values.isna(), dtype=bool)
    as_text = values.astype(TEXT).str.strip()
    return np.asarray(values.isna() | (as_text == "").fillna(True), dtype=bool)


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


# The shapes nearly every ledger and export writes, parsed by Arrow in C++ (ten times faster than
# pandas' ISO 8601 path). The patterns pin the field ranges, so Arrow's strptime, which would roll
# 2026-02-30 over into March, is only trusted once the day it read equals the day written.
_DAY = r"\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])"
_TIME = r"(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d"
_PLAIN_FORMATS = (
    (f"^{_DAY} {_TIME}$", "%Y-%m-%d %H:%M:%S", False),
    (f"^{_DAY}T{_TIME}$", "%Y-%m-%dT%H:%M:%S", False),
    (f"^{_DAY}$", "%Y-%m-%d", True),
)


def _parse_plain_local(text: pd.Series, blank: np.ndarray) -> tuple[pd.Series, np.ndarray]:
    """Parse the values written as ``YYYY-MM-DD[ HH:MM:SS]`` (local wall-clock time, no offset).

    Returns naive timestamps (NaT for every other value, which the general path then parses)
    and the mask of date-only values among those parsed.
    """
    n = len(text)
    micros = np.full(n, np.iinfo(np.int64).min, dtype=np.int64)  # NaT
    date_only = np.zeros(n, dtype=bool)
    pending = ~blank
    arrow = pa.array(text, type=pa.string(), from_pandas=True)
    for pattern, fmt, is_date in _PLAIN_FORMATS:
        todo = np.flatnonzero(pending)
        if not len(todo):
            break
        candidates = arrow if len(todo) == n else arrow.take(pa.array(todo))
        shaped = np.asarray(pc.match_substring_regex(candidates, pattern).fill_null(False))
        if not shaped.any():
            continue
        rows = todo[shaped]
        written = candidates if shaped.all() else candidates.filter(pa.array(shaped))
        parsed = pc.strptime(written, format=fmt, unit="us", error_is_null=True)
        day = pc.cast(pc.utf8_slice_codeunits(written, 8, 10), pa.int64())
        exact = np.asarray(pc.equal(pc.day(parsed), day).fill_null(False), dtype=bool)
        values = np.asarray(parsed.cast(pa.int64()).fill_null(0))
        micros[rows[exact]] = values[exact]
        date_only[rows[exact]] = is_date
        pending[rows[exact]] = False
    stamps = pd.Series(micros.view("datetime64[us]"), index=text.index)
    return stamps, date_only


def parse_timestamps(
    values: pd.Series, *, timezone: str
) -> tuple[pd.Series, np.ndarray, np.ndarray]:
    """Parse dates or date-times into tz-aware timestamps in ``timezone``.

    Returns ``(timestamps, bad, date_only)``: ``bad`` marks non-empty values that are not a real
    date (``2026-02-30``) or lie before 1950; ``date_only`` marks values that carry a date but
    no time of day, which the incident layer turns into whole-day windows.
    """
    blank = _blank(values)
    if pd.api.types.is_datetime64_any_dtype(values):
        stamps = pd.Series(values)
        has_time = (stamps.dt.hour + stamps.dt.minute + stamps.dt.second).fillna(0) != 0
        # A naive column whose every time is 00:00 is a date column (a shapefile's Date field);
        # otherwise a midnight value is midnight. A time-zone-aware value is always an instant.
        naive = stamps.dt.tz is None
        date_only = np.asarray(~has_time, dtype=bool) & (naive and not bool(has_time.any()))
    else:
        text = values.astype(TEXT).str.strip()
        fast, fast_date_only = _parse_plain_local(text, blank)
        # Values with a UTC offset are parsed apart: offsets may differ from row to row
        # (daylight saving time, "Z" next to "+08:00"), and the rest is local time.
        rest = ~fast.notna().to_numpy() & ~blank
        aware = np.zeros(len(text), dtype=bool)
        if rest.any():
            aware[rest] = regex_mask(text[rest], _UTC_OFFSET)
        stamps = fast
        if (rest & ~aware).any():
            # ISO 8601 is parsed in C; only the rest (2026年10月1日, 2026/10/1 8:00) goes the
            # slow way.
            local = text.where(rest & ~aware)
            parsed = pd.to_datetime(local, errors="coerce", format="ISO8601", cache=False)
            stamps = parsed.where(rest, fast)
        retry = stamps.isna().to_numpy() & ~blank & ~aware
        if retry.any():
            text = text.copy()
            text[retry] = (
                text[retry]
                .str.replace(r"[年月/.]", "-", regex=True)
                .str.replace("日", "", regex=False)
            )
            stamps = stamps.astype(object)
            stamps[retry] = pd.to_datetime(text[retry], errors="coerce", format="mixed")
            stamps = pd.to_datetime(stamps, errors="coerce")
        if aware.any():
            stamps = _localize(stamps, timezone)
            with_offset = pd.to_datetime(text[aware], errors="coerce", format="ISO8601", utc=True)
            stamps[aware] = with_offset.dt.tz_convert(timezone)
        short = np.asarray((text.str.len() <= 10).fillna(False), dtype=bool) & rest
        date_only = fast_date_only
        if short.any():
            pattern = r"\d{4}-\d{1,2}-\d{1,2}"
            date_only[short] = regex_mask(text[short], f"^{pattern}$")
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
    n = len(frame)
    out = pd.DataFrame(index=frame.index)
    for f in spec.fields:
        raw = (
            frame[f.name]
            if f.name in frame
            # A column the file lacks: all null, built in Arrow without a Python None per row.
            else pd.Series(pd.array(pa.nulls(n, pa.large_string()), dtype=TEXT), index=frame.index)
        )
        if raw.dtype == object or isinstance(raw.dtype, pd.StringDtype):
            raw = raw.astype(TEXT)  # once: every rule below reads the values as text
        blank = _blank(raw)
        if f.required:
            issues.add(
                np.flatnonzero(blank), lambda _r, f=f: RowIssue("layers.required", column=f.name)
            )
        value: pd.Series
        if f.kind in ("int", "float"):
            value, bad = _parse_numbers(raw, integer=f.kind == "int")
            issues.add(
                np.flatnonzero(bad),
                lambda r, f=f, raw=raw: RowIssue(
                    "layers.not_a_number", column=f.name, value=str(raw.iloc[r])
                ),
            )
            out_of_range = np.zeros(n, dtype=bool)
            if f.minimum is not None:
                out_of_range |= (value < f.minimum).fillna(False).to_numpy()
            if f.maximum is not None:
                out_of_range |= (value > f.maximum).fillna(False).to_numpy()
            issues.add(
                np.flatnonzero(out_of_range),
                lambda r, f=f, value=value: RowIssue(
                    "layers.out_of_range",
                    column=f.name,
                    value=str(value.iloc[r]),
                    minimum=f.minimum,
                    maximum=f.maximum,
                ),
            )
        elif f.kind in ("date", "timestamp"):
            value, bad, date_only = parse_timestamps(raw, timezone=timezone)
            issues.add(
                np.flatnonzero(bad),
                lambda r, f=f, raw=raw: RowIssue(
                    "layers.bad_date", column=f.name, value=str(raw.iloc[r])
                ),
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
                lambda r, f=f, raw=raw: RowIssue(
                    "layers.not_a_bool", column=f.name, value=str(raw.iloc[r])
                ),
            )
            value = pd.Series(truthy, index=frame.index)
        else:
            value = raw.astype(TEXT).str.strip().where(~blank)
            value = _apply_choices(value, f, issues)
        out[f.name] = value
    return out


def _apply_choices(value: pd.Series, f: Field, issues: IssueCollector) -> pd.Series:
    if f.aliases:
        lookup = {k.lower(): v for k, v in f.aliases.items()}
        # Mapped once per distinct value: Series.map with a dict hashes every row in Python.
        codes, distinct = pd.factorize(value.str.lower())
        canonical = np.array([*(lookup.get(d) for d in distinct), None], dtype=object)
        value = pd.Series(canonical[codes], index=value.index).astype(TEXT).fillna(value)
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
    """Return an 8-byte content hash per row (deterministic across runs and machines)."""
    hashed = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    return hashed.astype(">u8").view(np.uint8).reshape(-1, 8)


def as_python(value: Any) -> Any:
    """Make a value JSON-serialisable for ``quarantine.raw``."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, np.generic):
        return value.item()
    return value
