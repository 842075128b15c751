"""The planted patterns of the demo county: the ground truth an analysis should find.

Each pattern has a fixed absolute size whatever the number of background incidents, and
draws from its own stream (``PLANTED``), so changing the background never moves it.

1. ``market_evening_theft``: thefts at the county-town market, 18:00-22:00 every day.
2. ``school_snatching_N``: 抢夺 within 200 m of a school, weekdays 16:00-18:00.
3. ``urban_village_burglary``: 入室盗窃 in a 城中村 with near repeats (follow-ups within
   100 m and 1-6 days of an earlier burglary).
4. ``emerging_station_theft``: two-wheeler theft at a station, only in the last 3 months.
5. ``fading_entertainment_fights``: fights at a KTV, gone in the last 9 months.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from layers.demo._base import Part, points_in_disk, rng_for
from layers.demo._geography import Geography

MINUTE_NS = 60 * 10**9
HOUR_NS = 60 * MINUTE_NS
DAY_NS = 24 * HOUR_NS


@dataclass
class Planted:
    """Planted events (metric x/y, UTC ns) and the pattern descriptions of the truth."""

    category: list[str] = field(default_factory=list)
    x: list[float] = field(default_factory=list)
    y: list[float] = field(default_factory=list)
    occurred_from: list[int] = field(default_factory=list)
    occurred_to: list[int] = field(default_factory=list)
    pattern: list[int] = field(default_factory=list)
    patterns: list[dict[str, Any]] = field(default_factory=list)

    def add(
        self,
        rng: np.random.Generator,
        *,
        xy: np.ndarray,
        codes: np.ndarray,
        start_ns: int,
        days: np.ndarray,
        hours: np.ndarray,
        window_min: tuple[float, float],
    ) -> None:
        n = len(xy)
        minute = rng.integers(0, 60, n)
        t0 = start_ns + days * DAY_NS + hours * HOUR_NS + minute * MINUTE_NS
        length = (rng.uniform(*window_min, n) * MINUTE_NS).astype(np.int64)
        self.category += [str(c) for c in codes]
        self.x += list(xy[:, 0])
        self.y += list(xy[:, 1])
        self.occurred_from += [int(v) for v in t0]
        self.occurred_to += [int(v) for v in t0 + length]
        self.pattern += [len(self.patterns) - 1] * n

    def __len__(self) -> int:
        return len(self.category)


def _days(
    start: pd.Timestamp, first: pd.Timestamp, last: pd.Timestamp, weekdays: list[int]
) -> np.ndarray:
    """Day indices (from ``start``) of the dates first..last whose weekday is allowed."""
    dates = pd.date_range(first, last, freq="D")
    keep = np.isin(dates.day_of_week, weekdays)
    return np.asarray((dates[keep] - start).days, dtype=np.int64)


def _pattern(
    name: str,
    kind: str,
    place: pd.Series | None,
    centre: tuple[float, float],
    *,
    categories: list[str],
    radius_m: float,
    first: pd.Timestamp,
    last: pd.Timestamp,
    hours: list[int],
    weekdays: list[int],
) -> dict[str, Any]:
    return {
        "name": name,
        "kind": kind,
        "categories": categories,
        "centre_x": centre[0],
        "centre_y": centre[1],
        "radius_m": radius_m,
        "start": first.date().isoformat(),
        "end": last.date().isoformat(),
        "hours": hours,
        "weekdays": weekdays,
        "place_source_id": None if place is None else str(place["source_id"]),
        "place_name": None if place is None else str(place["name"]),
    }


def build_planted(
    seed: int, geo: Geography, places: pd.DataFrame, *, start: pd.Timestamp, end: pd.Timestamp
) -> Planted:
    """Draw the planted patterns between ``start`` and ``end`` (local dates, inclusive)."""
    rng = rng_for(seed, Part.PLANTED)
    area = geo.county.buffer(-5.0)
    shapely.prepare(area)
    start_ns = int(start.value)
    out = Planted()
    every = list(range(7))

    def by_kind(kind: str) -> pd.DataFrame:
        return places[places["kind"] == kind]

    def xy_of(place: pd.Series) -> tuple[float, float]:
        return float(place["geometry"].x), float(place["geometry"].y)

    # 1. evening theft at the county-town market
    market = by_kind("market").iloc[0]
    hours = [18, 19, 20, 21]
    out.patterns.append(
        _pattern(
            "market_evening_theft",
            "hotspot",
            market,
            xy_of(market),
            categories=["010304", "010302", "0103"],
            radius_m=150.0,
            first=start,
            last=end,
            hours=hours,
            weekdays=every,
        )
    )
    n = 300
    out.add(
        rng,
        xy=points_in_disk(rng, xy_of(market), 140.0, n, within=area),
        codes=rng.choice(["010304", "010302", "0103"], n, p=[0.5, 0.3, 0.2]),
        start_ns=start_ns,
        days=rng.choice(_days(start, start, end, every), n),
        hours=rng.choice(hours, n),
        window_min=(10.0, 40.0),
    )

    # 2. snatching near two schools on weekday afternoons, as pupils leave
    schools = by_kind("school")
    picked = [schools.iloc[0]]
    others = schools[schools["village_code"] != picked[0]["village_code"]]
    picked.append(others.iloc[0] if len(others) else schools.iloc[1])
    weekdays = [0, 1, 2, 3, 4]
    for k, school in enumerate(picked, start=1):
        out.patterns.append(
            _pattern(
                f"school_snatching_{k}",
                "school_hotspot",
                school,
                xy_of(school),
                categories=["0102", "010201"],
                radius_m=200.0,
                first=start,
                last=end,
                hours=[16, 17],
                weekdays=weekdays,
            )
        )
        n = 60
        out.add(
            rng,
            xy=points_in_disk(rng, xy_of(school), 195.0, n, within=area),
            codes=rng.choice(["0102", "010201"], n, p=[0.6, 0.4]),
            start_ns=start_ns,
            days=rng.choice(_days(start, start, end, weekdays), n),
            hours=rng.choice([16, 17], n),
            window_min=(0.0, 0.0),
        )

    # 3. near-repeat burglary in the 城中村
    village = geo.villages[geo.villages["urban_village"]].iloc[0]
    centre = (float(village["centre_x"]), float(village["centre_y"]))
    _near_repeat(
        rng, out, centre, area=area, start=start, end=end, village_name=str(village["name"])
    )

    # 4. emerging: two-wheeler theft at a station, last three months only
    stations = by_kind("station")
    town_vills = set(geo.villages.loc[geo.villages["township_code"].str.endswith("001000"), "code"])
    rural = stations[~stations["village_code"].isin(town_vills)]
    station = (rural if len(rural) else stations).iloc[0]
    first = end - pd.DateOffset(months=3) + pd.Timedelta(days=1)
    hours = [7, 8, 17, 18]
    out.patterns.append(
        _pattern(
            "emerging_station_theft",
            "emerging",
            station,
            xy_of(station),
            categories=["010302"],
            radius_m=200.0,
            first=first,
            last=end,
            hours=hours,
            weekdays=every,
        )
    )
    n = 90
    out.add(
        rng,
        xy=points_in_disk(rng, xy_of(station), 190.0, n, within=area),
        codes=np.full(n, "010302"),
        start_ns=start_ns,
        days=rng.choice(_days(start, first, end, every), n),
        hours=rng.choice(hours, n),
        window_min=(20.0, 240.0),
    )

    # 5. fading: fights at a KTV, active until nine months before the end
    venue = by_kind("entertainment").iloc[0]
    last = end - pd.DateOffset(months=9)
    hours = [21, 22, 23, 0, 1]
    out.patterns.append(
        _pattern(
            "fading_entertainment_fights",
            "fading",
            venue,
            xy_of(venue),
            categories=["0202", "0106"],
            radius_m=150.0,
            first=start,
            last=last,
            hours=hours,
            weekdays=every,
        )
    )
    n = 150
    out.add(
        rng,
        xy=points_in_disk(rng, xy_of(venue), 140.0, n, within=area),
        codes=rng.choice(["0202", "0106"], n, p=[0.7, 0.3]),
        start_ns=start_ns,
        days=rng.choice(_days(start, start, last, every), n),
        hours=rng.choice(hours, n),
        window_min=(0.0, 0.0),
    )
    return out


def _near_repeat(
    rng: np.random.Generator,
    out: Planted,
    centre: tuple[float, float],
    *,
    area: BaseGeometry,
    start: pd.Timestamp,
    end: pd.Timestamp,
    village_name: str,
) -> None:
    """Seed burglaries and their follow-ups (within 100 m and 1-6 days), as a branching process."""
    hours = [21, 22, 23, 0, 1]
    n_days = (end - start).days + 1
    seeds = 20
    xy = list(points_in_disk(rng, centre, 350.0, seeds, within=area))
    day = list(rng.integers(0, n_days - 8, seeds))
    parent = [-1] * seeds
    frontier = list(range(seeds))
    while frontier and len(xy) < 100:
        nxt = []
        for i in frontier:
            for _ in range(int(rng.binomial(3, 0.35))):
                d = day[i] + int(rng.integers(1, 7))
                if d >= n_days or len(xy) >= 100:
                    continue
                xy.append(points_in_disk(rng, (xy[i][0], xy[i][1]), 95.0, 1, within=area)[0])
                day.append(d)
                parent.append(i)
                nxt.append(len(xy) - 1)
        frontier = nxt
    pts = np.asarray(xy)
    extent = float(np.max(np.hypot(pts[:, 0] - centre[0], pts[:, 1] - centre[1])))
    pattern = _pattern(
        "urban_village_burglary",
        "near_repeat",
        None,
        centre,
        categories=["010301"],
        radius_m=float(np.ceil(extent / 10.0) * 10.0),
        first=start,
        last=end,
        hours=hours,
        weekdays=list(range(7)),
    )
    base = len(out)
    pattern.update(
        {
            "village_name": village_name,
            "near_repeat_m": 100.0,
            "near_repeat_days": 7,
            "_pairs": [(base + p, base + c) for c, p in enumerate(parent) if p >= 0],
        }
    )
    out.patterns.append(pattern)
    n = len(pts)
    out.add(
        rng,
        xy=pts,
        codes=np.full(n, "010301"),
        start_ns=int(start.value),
        days=np.asarray(day, dtype=np.int64),
        hours=rng.choice(hours, n),
        window_min=(300.0, 540.0),
    )
