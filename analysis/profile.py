"""The hour × weekday profile (重点时段) and its peak bands in plain language.

Patrols are planned by the clock: which hours of which days carry the most incidents. This
module builds the 7 × 24 table (Monday first, hour 0 = 00:00–01:00 local time) with aoristic
weighting (:func:`analysis.aoristic.aoristic_cycle`): an incident known only by a window, say
a burglary found at 07:00 that happened overnight, spreads its weight evenly over the hours of
its window, so the table is not biased towards the hour the window starts.

The peak bands are read off the table by a simple, stated rule:

1. an hour of a weekday is *raised* when its weight is at least ``lift`` times the weekly
   average (the total weight / 168);
2. each weekday's raised hours form runs of consecutive hours (a run does not cross midnight);
3. weekdays with the same run are grouped, and consecutive weekdays are written as a range
   ("周一至周五 16:00–18:00" / "Mon–Fri 16:00–18:00");
4. bands are ranked by the share of all weight they hold; those with at least ``min_share``
   are reported, at most ``max_bands`` of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from analysis.aoristic import aoristic_cycle
from gis.errors import ValidationError
from gis.messages import Language, t

__all__ = ["HourWeekdayProfile", "PeakBand", "hour_weekday_profile"]

DEFAULT_TIMEZONE = "Asia/Shanghai"


def _day_name(day: int, language: Language | None) -> str:
    return t(f"profile.weekday_{day}", language=language)


def _days_text(days: tuple[int, ...], language: Language | None) -> str:
    """Weekdays as runs: (0, 1, 2, 3, 4) → 周一至周五; (0, 2) → 周一、周三."""
    runs: list[list[int]] = []
    for d in days:
        if runs and d == runs[-1][-1] + 1:
            runs[-1].append(d)
        else:
            runs.append([d])
    parts = []
    for run in runs:
        if len(run) >= 3:
            parts.append(
                t(
                    "profile.day_range",
                    language=language,
                    first=_day_name(run[0], language),
                    last=_day_name(run[-1], language),
                )
            )
        else:
            parts.extend(_day_name(d, language) for d in run)
    return t("profile.day_separator", language=language).join(parts)


@dataclass(frozen=True)
class PeakBand:
    """A block of raised hours shared by some weekdays.

    Attributes
    ----------
    days
        Weekdays, 0 = Monday.
    start_hour, end_hour
        Local clock hours, ``[start_hour, end_hour)``; ``end_hour`` may be 24.
    weight
        Incidents (aoristic weight) inside the band.
    share
        ``weight`` as a share of the profile's total, 0..1.
    lift
        Mean weight per hour of the band over the weekly hourly average.
    """

    days: tuple[int, ...]
    start_hour: int
    end_hour: int
    weight: float
    share: float
    lift: float

    def describe(self, *, language: Language | None = None) -> str:
        """E.g. "周一至周五 16:00–18:00（占 31%）" / "Mon–Fri 16:00–18:00 (31% of incidents)"."""
        return t(
            "profile.band",
            language=language,
            days=_days_text(self.days, language),
            start=f"{self.start_hour:02d}:00",
            end=f"{self.end_hour:02d}:00",
            share=f"{self.share:.0%}",
            lift=f"{self.lift:.1f}",
        )


@dataclass(frozen=True)
class HourWeekdayProfile:
    """Incidents per weekday and hour of the local clock.

    Attributes
    ----------
    table
        ``(7, 24)`` weights: row 0 is Monday, column ``h`` is ``h:00``–``h+1:00`` local time.
    total
        Sum of ``table`` (the number of incidents with unit weights).
    bands
        The peak bands, largest share first (may be empty).
    timezone
        The zone of the clock.
    lift, min_share
        The options of the band rule.
    """

    table: NDArray[np.float64]
    total: float
    bands: list[PeakBand] = field(default_factory=list)
    timezone: str = DEFAULT_TIMEZONE
    lift: float = 2.0
    min_share: float = 0.05

    @property
    def peak(self) -> PeakBand | None:
        """The band with the largest share, or ``None``."""
        return self.bands[0] if self.bands else None

    def frame(self, *, language: Language | None = None) -> pd.DataFrame:
        """The table with weekday names as rows and "00"…"23" as columns."""
        return pd.DataFrame(
            self.table,
            index=[_day_name(d, language) for d in range(7)],
            columns=[f"{h:02d}" for h in range(24)],
        )

    def describe(self, *, language: Language | None = None) -> str:
        """The peak bands in one sentence, or that there is none."""
        if not self.bands:
            return t("profile.no_peak", language=language)
        sep = t("profile.day_separator", language=language)
        return t(
            "profile.peaks",
            language=language,
            bands=sep.join(b.describe(language=language) for b in self.bands),
        )


def _bands(
    table: NDArray[np.float64], *, lift: float, min_share: float, max_bands: int
) -> list[PeakBand]:
    total = float(table.sum())
    if total <= 0:
        return []
    mean = total / table.size
    raised = table >= lift * mean
    groups: dict[tuple[int, int], list[int]] = {}
    for day in range(7):
        hour = 0
        while hour < 24:
            if raised[day, hour]:
                start = hour
                while hour < 24 and raised[day, hour]:
                    hour += 1
                groups.setdefault((start, hour), []).append(day)
            else:
                hour += 1
    bands = []
    for (start, end), days in groups.items():
        weight = float(table[np.ix_(days, range(start, end))].sum())
        hours = len(days) * (end - start)
        bands.append(
            PeakBand(
                days=tuple(days),
                start_hour=start,
                end_hour=end,
                weight=weight,
                share=weight / total,
                lift=weight / hours / mean,
            )
        )
    bands.sort(key=lambda b: (-b.weight, b.days, b.start_hour))
    return [b for b in bands if b.share >= min_share][:max_bands]


def hour_weekday_profile(
    start: ArrayLike | pd.Series,
    end: ArrayLike | pd.Series | None = None,
    *,
    weights: ArrayLike | None = None,
    timezone: str = DEFAULT_TIMEZONE,
    lift: float = 2.0,
    min_share: float = 0.05,
    max_bands: int = 3,
) -> HourWeekdayProfile:
    """Build the hour × weekday profile of incidents and find its peak bands.

    Parameters
    ----------
    start
        When each incident happened, or began (``occurred_from``): tz-aware datetimes, or
        naive local times in ``timezone``.
    end
        End of each incident's window (``occurred_to``), exclusive; ``None``/``NaT`` for an
        exact time. Windows are spread evenly over their hours (aoristic weighting).
    weights
        Weight of each incident (default 1).
    timezone
        IANA zone of the clock the profile is read on (default Asia/Shanghai).
    lift
        An hour is raised when it holds at least ``lift`` times the average hour (default 2).
    min_share
        Smallest share of all incidents a reported band must hold (default 5 %).
    max_bands
        How many bands to report at most (default 3).

    Returns
    -------
    HourWeekdayProfile

    Raises
    ------
    gis.errors.ValidationError
        No incidents, a missing start, an end before its start, or a ``lift`` not above 1.
    """
    if lift <= 1:
        raise ValidationError("profile.bad_lift", value=lift)
    if len(np.asarray(start)) == 0:
        raise ValidationError("profile.no_incidents")
    table = np.asarray(
        aoristic_cycle(start, end, cycle="week", weights=weights, timezone=timezone),
        dtype=np.float64,
    ).reshape(7, 24)
    return HourWeekdayProfile(
        table=table,
        total=float(table.sum()),
        bands=_bands(table, lift=lift, min_share=min_share, max_bands=int(max_bands)),
        timezone=timezone,
        lift=float(lift),
        min_share=float(min_share),
    )
