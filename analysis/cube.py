"""The space-time cube: incident counts per cell and time step.

A space-time cube is the table every space-time method reads: one row per location (a grid,
an H3 cell, a fishnet cell), one column per time step, each bin holding the number of
incidents of that location in that step. It is built the way ArcGIS's *Create Space Time Cube
By Aggregating Points* builds it with *Time Step Alignment = End time*: the steps are laid
back in time from the end of the cube, so the last step always ends exactly at the end date
and every step but possibly the first (for months) has the same length. Steps with no
incident are kept as zeros, and so are cells with no incident when the caller lists them:
emerging hot spots need the whole lattice, not only the busy cells.

Times are wall-clock times in ``timezone`` (Asia/Shanghai by default). Step boundaries are
local midnights; a step covers ``[start, end)``.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import date
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from gis.errors import ValidationError
from gis.messages import Language, t

__all__ = ["STEPS", "SpaceTimeCube", "space_time_cube", "step_boundaries"]

Step = Literal["day", "week", "month"]
STEPS: tuple[Step, ...] = ("day", "week", "month")
DEFAULT_TIMEZONE = "Asia/Shanghai"


@dataclass(frozen=True)
class SpaceTimeCube:
    """Incident counts per cell (rows) and time step (columns).

    Attributes
    ----------
    counts
        ``(n_cells, n_steps)`` integer counts; column ``k`` is the ``k``-th step, oldest first.
    cells
        The cell ids in row order (whatever ids were given: grid codes, H3 integers, ...).
    boundaries
        ``n_steps + 1`` tz-aware local midnights; step ``k`` covers
        ``[boundaries[k], boundaries[k + 1])``.
    step
        ``"day"``, ``"week"`` or ``"month"``: the time-step interval.
    timezone
        The IANA time zone the boundaries are local midnights of.
    n_counted
        Incidents counted in the cube.
    n_outside
        Incidents whose time lies outside the cube's span, not counted.
    n_unknown_cell
        Incidents whose cell is not among ``cells`` (or is missing), not counted.
    """

    counts: NDArray[np.int64]
    cells: NDArray[np.object_] | NDArray[np.int64]
    boundaries: pd.DatetimeIndex
    step: Step
    timezone: str
    n_counted: int
    n_outside: int
    n_unknown_cell: int

    @property
    def n_cells(self) -> int:
        """Number of locations (rows)."""
        return int(self.counts.shape[0])

    @property
    def n_steps(self) -> int:
        """Number of time steps (columns)."""
        return int(self.counts.shape[1])

    @property
    def step_starts(self) -> pd.DatetimeIndex:
        """The first instant of each step (local midnight, inclusive)."""
        return self.boundaries[:-1]

    @property
    def step_ends(self) -> pd.DatetimeIndex:
        """The end of each step (local midnight, exclusive)."""
        return self.boundaries[1:]

    @property
    def start(self) -> pd.Timestamp:
        """The first instant of the cube (inclusive)."""
        return pd.Timestamp(self.boundaries[0])

    @property
    def end(self) -> pd.Timestamp:
        """The end of the cube (exclusive: local midnight after the last day)."""
        return pd.Timestamp(self.boundaries[-1])

    @property
    def span(self) -> pd.Timedelta:
        """The length of time the cube covers."""
        return self.end - self.start

    def describe(self, *, language: Language | None = None) -> str:
        """The cube in one sentence: steps, interval and span (current language by default)."""
        return t(
            "cube.summary",
            language=language,
            cells=self.n_cells,
            steps=self.n_steps,
            interval=t(f"cube.step_{self.step}", language=language),
            first=self.start.date().isoformat(),
            last=(self.end - pd.Timedelta(days=1)).date().isoformat(),
            days=self.span.days,
            counted=self.n_counted,
            outside=self.n_outside,
            unknown=self.n_unknown_cell,
        )


def _local_day(value: str | date | pd.Timestamp, timezone: str, name: str) -> pd.Timestamp:
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError):
        raise ValidationError("cube.bad_date", argument=name, value=str(value)) from None
    ts = ts.tz_convert(timezone) if ts.tzinfo is not None else ts.tz_localize(timezone)
    return ts.normalize()


def step_boundaries(
    *,
    end: str | date | pd.Timestamp,
    steps: int,
    step: Step = "week",
    timezone: str = DEFAULT_TIMEZONE,
) -> pd.DatetimeIndex:
    """The ``steps + 1`` boundaries of a cube whose last step ends with local date ``end``.

    Parameters
    ----------
    end
        The last local date inside the cube (inclusive); the cube ends at the following
        local midnight.
    steps
        Number of time steps, at least 1.
    step
        ``"day"``, ``"week"`` (7 days) or ``"month"`` (calendar months counted back from the
        day after ``end``; 2026-10-31 gives whole calendar months).
    timezone
        IANA time zone of the local dates.

    Returns
    -------
    pandas.DatetimeIndex
        tz-aware local midnights, oldest first.
    """
    if step not in STEPS:
        raise ValidationError("cube.bad_step", value=str(step), allowed=", ".join(STEPS))
    if int(steps) < 1:
        raise ValidationError("cube.bad_steps", value=steps)
    stop = (_local_day(end, timezone, "end") + pd.Timedelta(days=1)).tz_localize(None)
    k = np.arange(int(steps), -1, -1)
    if step == "month":
        naive = [stop - pd.DateOffset(months=int(i)) for i in k]
    else:
        days = 7 if step == "week" else 1
        naive = list(stop - pd.to_timedelta(k * days, unit="D"))
    return pd.DatetimeIndex(naive).tz_localize(timezone)


def _as_local_ns(times: ArrayLike, timezone: str) -> NDArray[np.int64]:
    """UTC nanoseconds of ``times``; naive times are taken as local times in ``timezone``."""
    raw = pd.Series(times) if isinstance(times, pd.Series) else pd.Series(np.asarray(times))
    if not pd.api.types.is_datetime64_any_dtype(raw):
        raw = pd.to_datetime(raw, errors="coerce", format="mixed")
    stamps = pd.DatetimeIndex(pd.to_datetime(raw, errors="coerce"))
    if stamps.tz is None:
        stamps = stamps.tz_localize(timezone, ambiguous="NaT", nonexistent="NaT")
    return np.asarray(stamps.as_unit("ns").asi8, dtype=np.int64)


def space_time_cube(
    cell_ids: ArrayLike,
    times: ArrayLike,
    *,
    end: str | date | pd.Timestamp,
    step: Step = "week",
    steps: int | None = None,
    start: str | date | pd.Timestamp | None = None,
    cells: ArrayLike | None = None,
    timezone: str = DEFAULT_TIMEZONE,
) -> SpaceTimeCube:
    """Count incidents per cell and time step, aligned to end at ``end``.

    Parameters
    ----------
    cell_ids
        The cell of each incident (any hashable ids: grid codes, H3 integers). ``None``/NaN
        means the incident has no cell; it is counted in ``n_unknown_cell``.
    times
        When each incident happened: tz-aware times, naive local times in ``timezone``, or
        strings. Use ``occurred_from`` (or an aoristic midpoint) of the incidents.
    end
        The last local date of the cube (inclusive).
    step
        The time-step interval: ``"day"``, ``"week"`` or ``"month"``.
    steps
        How many steps. When omitted the cube reaches back to cover ``start``, or the
        earliest incident when ``start`` is omitted too; the first step is then a whole step
        that may begin before the first incident.
    start
        The first local date to cover, when ``steps`` is omitted.
    cells
        Every location of the lattice, in the row order wanted (cells without incidents get
        zero rows). Default: the distinct ``cell_ids``, sorted.
    timezone
        IANA time zone of the step boundaries.

    Returns
    -------
    SpaceTimeCube
        The counts with their cells, boundaries and the incidents left out (with reasons).

    Examples
    --------
    >>> cube = space_time_cube(["a", "b", "a"], ["2026-10-30 09:00", "2026-10-20", "2026-10-01"],
    ...                        end="2026-10-31", step="week", steps=5)
    >>> cube.counts.tolist()
    [[1, 0, 0, 0, 1], [0, 0, 0, 1, 0]]
    """
    ids = np.asarray(cell_ids, dtype=object)
    ns = _as_local_ns(times, timezone)
    if len(ids) != len(ns):
        raise ValidationError("cube.length_mismatch", cells=len(ids), times=len(ns))
    valid_time = ns != np.iinfo(np.int64).min  # NaT
    if steps is None:
        if start is None:
            if not valid_time.any():
                raise ValidationError("cube.no_times")
            first = pd.Timestamp(int(ns[valid_time].min()), tz="UTC").tz_convert(timezone)
        else:
            first = _local_day(start, timezone, "start")
        stop = _local_day(end, timezone, "end") + pd.Timedelta(days=1)
        if first >= stop:
            raise ValidationError("cube.empty_span", start=str(first.date()), end=str(end))
        steps = 1
        while step_boundaries(end=end, steps=steps, step=step, timezone=timezone)[0] > first:
            steps = steps * 2 if steps < 64 else steps + 64
        lo, hi = steps // 2 if steps > 1 else 1, steps
        while lo < hi:  # the fewest steps that reach back to ``first``
            mid = (lo + hi) // 2
            if step_boundaries(end=end, steps=mid, step=step, timezone=timezone)[0] > first:
                lo = mid + 1
            else:
                hi = mid
        steps = lo
    bounds = step_boundaries(end=end, steps=steps, step=step, timezone=timezone)

    if cells is None:
        present = pd.Series(ids).dropna()
        universe = np.asarray(pd.unique(present), dtype=object)
        with contextlib.suppress(TypeError):  # mixed id types: keep first-seen order
            universe = np.sort(universe)
    else:
        universe = np.asarray(cells, dtype=object)
        if len(pd.unique(pd.Series(universe))) != len(universe):
            raise ValidationError("cube.duplicate_cells")
    row = pd.Index(universe).get_indexer(pd.Series(ids))
    col = np.searchsorted(np.asarray(bounds.as_unit("ns").asi8), ns, side="right") - 1
    inside = valid_time & (col >= 0) & (col < steps)
    known = row >= 0
    take = inside & known
    n_steps = int(steps)
    flat = np.bincount(
        row[take].astype(np.int64) * n_steps + col[take], minlength=len(universe) * n_steps
    )
    counts = flat.reshape(len(universe), n_steps).astype(np.int64)
    out_cells = universe
    if len(universe) and all(isinstance(v, (int, np.integer)) for v in universe[:1000]):
        out_cells = universe.astype(np.int64)
    return SpaceTimeCube(
        counts=counts,
        cells=out_cells,
        boundaries=bounds,
        step=step,
        timezone=timezone,
        n_counted=int(take.sum()),
        n_outside=int((~inside).sum()),
        n_unknown_cell=int((inside & ~known).sum()),
    )
