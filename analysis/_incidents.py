"""Incident and area frames as the key-area and risk rules read them.

The rules take plain GeoDataFrames so that they do not depend on where the rows came from
(the database, a file, the demo county). This module turns them into arrays once:

- the category code (text, the taxonomy's two digits per level, so ``"0102"`` covers
  ``"010201"``);
- the 两抢一盗 flag, from a boolean column ``two_robberies_one_theft`` (``layers`` fills it from
  the taxonomy) or from a set of codes the caller passes;
- the local time of ``occurred_from`` (or ``occurred_at``) in the deployment time zone, which
  decides the day and the month an incident belongs to (DESIGN.md §3);
- x/y in a local metric CRS (:func:`gis.crs.local_metric_crs_of`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from numpy.typing import NDArray

from gis.crs import local_metric_crs_of
from gis.errors import CRSError, ValidationError

__all__ = [
    "DEFAULT_TIMEZONE",
    "FLAG_COLUMN",
    "CategorySelection",
    "IncidentTable",
    "assign_to_units",
    "incident_table",
    "local_period",
    "metric_crs_for",
    "to_metric",
]

FLAG_COLUMN = "two_robberies_one_theft"
"""Boolean column of the incidents frame: the row's category belongs to 两抢一盗."""

DEFAULT_TIMEZONE = "Asia/Shanghai"
TIME_COLUMNS = ("occurred_from", "occurred_at")


@dataclass(frozen=True)
class CategorySelection:
    """Which incidents a rule counts: the 两抢一盗 group, code prefixes, and times of the week.

    Attributes
    ----------
    group
        Count every incident flagged 两抢一盗.
    prefixes
        Also count every incident whose category code starts with one of these (``"0102"``
        counts 抢夺 and its child 飞车抢夺 ``"010201"``).
    weekdays
        Only incidents whose local ``occurred_from`` falls on these days (0 = Monday); empty
        means every day.
    hours
        Only incidents whose local hour is one of these (0-23); empty means every hour.
    exclude_group
        Leave out every 两抢一盗 incident (for "other crime": ``prefixes = ["01", "02"]``).
    """

    group: bool = False
    prefixes: tuple[str, ...] = ()
    weekdays: tuple[int, ...] = ()
    hours: tuple[int, ...] = ()
    exclude_group: bool = False

    @classmethod
    def from_config(cls, entry: dict[str, Any]) -> CategorySelection:
        return cls(
            group=bool(entry.get("group", False)),
            prefixes=tuple(str(p) for p in entry.get("prefixes", ())),
            weekdays=tuple(int(d) for d in entry.get("weekdays", ())),
            hours=tuple(int(h) for h in entry.get("hours", ())),
            exclude_group=bool(entry.get("exclude_group", False)),
        )


@dataclass(frozen=True)
class IncidentTable:
    """Incidents as arrays: one entry per usable row of the input frame.

    Attributes
    ----------
    index
        The input frame's index labels of the usable rows.
    category
        Category codes (``str``).
    flag
        ``True`` where the row is 两抢一盗.
    when
        Local time of ``occurred_from`` (tz-aware, the deployment time zone).
    x, y
        Coordinates in metres in ``crs``.
    crs
        The local metric CRS.
    dropped
        Rows left out because they had no point or no time (counted, for the run log).
    """

    index: pd.Index
    category: NDArray[np.object_]
    flag: NDArray[np.bool_]
    when: pd.DatetimeIndex
    x: NDArray[np.float64]
    y: NDArray[np.float64]
    crs: pyproj.CRS
    dropped: int

    def __len__(self) -> int:
        return len(self.category)

    def select(
        self,
        selection: CategorySelection,
        *,
        start: pd.Timestamp | None = None,
        end: pd.Timestamp | None = None,
    ) -> NDArray[np.bool_]:
        """Mask of the incidents a selection counts, optionally in ``[start, end)`` local time."""
        mask = np.zeros(len(self), dtype=bool)
        if selection.group:
            mask |= self.flag
        if selection.prefixes:
            codes = pd.Series(self.category, dtype=object).astype(str)
            mask |= codes.str.startswith(selection.prefixes).to_numpy()
        if selection.exclude_group:
            mask &= ~self.flag
        if selection.weekdays:
            mask &= np.isin(self.when.day_of_week, selection.weekdays)
        if selection.hours:
            mask &= np.isin(self.when.hour, selection.hours)
        if start is not None:
            mask &= np.asarray(self.when >= start)
        if end is not None:
            mask &= np.asarray(self.when < end)
        return mask


def metric_crs_for(*frames: gpd.GeoDataFrame | gpd.GeoSeries | None) -> pyproj.CRS:
    """The local metric CRS of the first non-empty frame (:func:`gis.crs.local_metric_crs_of`)."""
    for frame in frames:
        if frame is not None and len(frame):
            return local_metric_crs_of(frame)
    raise ValidationError("key_areas.nothing_to_measure")


def to_metric(frame: gpd.GeoDataFrame | gpd.GeoSeries, crs: pyproj.CRS, *, name: str) -> Any:
    """``frame`` reprojected to the metric ``crs``; a frame without a CRS is refused."""
    if frame.crs is None:
        raise CRSError("key_areas.no_crs", frame=name)
    return frame.to_crs(crs)


def local_period(
    start: Any, end: Any, *, timezone: str = DEFAULT_TIMEZONE
) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The local half-open interval ``[start, end + 1 day)`` of two inclusive dates.

    Parameters
    ----------
    start, end
        Dates or date strings (``"2026-01-01"``), inclusive, in the deployment time zone.
        Timestamps with a time of day are taken as they are (``end`` then stays exclusive).
    timezone
        IANA name of the deployment time zone.
    """
    try:
        lo, hi = pd.Timestamp(start), pd.Timestamp(end)
    except (TypeError, ValueError):
        raise ValidationError("key_areas.bad_period", start=str(start), end=str(end)) from None
    lo = lo.tz_localize(timezone) if lo.tzinfo is None else lo.tz_convert(timezone)
    hi = hi.tz_localize(timezone) if hi.tzinfo is None else hi.tz_convert(timezone)
    if hi == hi.normalize():
        hi = hi + pd.Timedelta(days=1)
    if hi <= lo:
        raise ValidationError("key_areas.bad_period", start=str(start), end=str(end))
    return lo, hi


def _local_times(frame: pd.DataFrame, timezone: str) -> pd.DatetimeIndex:
    column = next((c for c in TIME_COLUMNS if c in frame.columns), None)
    if column is None:
        raise ValidationError(
            "key_areas.missing_column", frame="incidents", column=" / ".join(TIME_COLUMNS)
        )
    times = pd.DatetimeIndex(pd.to_datetime(frame[column], errors="coerce"))
    if times.tz is None:
        return times.tz_localize(timezone, ambiguous="NaT", nonexistent="NaT")
    return times.tz_convert(timezone)


def incident_table(
    incidents: gpd.GeoDataFrame,
    *,
    crs: pyproj.CRS,
    timezone: str = DEFAULT_TIMEZONE,
    group_codes: Iterable[str] | None = None,
) -> IncidentTable:
    """Read an incidents frame into an :class:`IncidentTable`.

    Parameters
    ----------
    incidents
        GeoDataFrame with Point geometry (any CRS, normally EPSG:4490), ``category`` (the
        taxonomy code), ``occurred_from`` (or ``occurred_at``) and, unless ``group_codes`` is
        given, the boolean column ``two_robberies_one_theft``.
    crs
        The local metric CRS to put x/y in (metres).
    timezone
        Deployment time zone; naive times are taken to be local.
    group_codes
        The 两抢一盗 category codes, when the frame carries no flag column (exact codes, e.g.
        ``Taxonomy.expand("两抢一盗")``).

    Raises
    ------
    gis.errors.ValidationError
        A required column is missing.
    gis.errors.CRSError
        The frame has no CRS.
    """
    if "category" not in incidents.columns:
        raise ValidationError("key_areas.missing_column", frame="incidents", column="category")
    if group_codes is None and FLAG_COLUMN not in incidents.columns:
        raise ValidationError("key_areas.missing_flag", column=FLAG_COLUMN)
    projected = to_metric(incidents.geometry, crs, name="incidents")
    geoms = np.asarray(projected.values, dtype=object)
    ok = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    when = _local_times(incidents, timezone)
    ok &= ~np.asarray(when.isna())
    if group_codes is None:
        flag = incidents[FLAG_COLUMN].fillna(False).astype(bool).to_numpy()
    else:
        flag = incidents["category"].astype(str).isin(set(group_codes)).to_numpy()
    points = shapely.point_on_surface(geoms[ok])
    return IncidentTable(
        index=incidents.index[ok],
        category=incidents["category"].astype(str).to_numpy(dtype=object)[ok],
        flag=flag[ok],
        when=when[ok],
        x=shapely.get_x(points),
        y=shapely.get_y(points),
        crs=crs,
        dropped=int((~ok).sum()),
    )


def assign_to_units(
    x: NDArray[np.float64], y: NDArray[np.float64], units: Sequence[Any] | NDArray[np.object_]
) -> NDArray[np.int64]:
    """The position of the unit polygon each point falls in, ``-1`` outside all of them.

    Points on a shared edge go to the first unit found, so every point counts once.
    """
    geoms = np.asarray(units, dtype=object)
    out = np.full(len(x), -1, dtype=np.int64)
    if not len(x) or not len(geoms):
        return out
    tree = shapely.STRtree(geoms)
    point_idx, unit_idx = tree.query(shapely.points(x, y), predicate="intersects")
    order = np.lexsort((unit_idx, point_idx))
    point_idx, unit_idx = point_idx[order], unit_idx[order]
    first = np.unique(point_idx, return_index=True)[1]
    out[point_idx[first]] = unit_idx[first]
    return out
