"""Background incidents of the demo county, vectorised so that a million build in seconds.

Category by fixed weights; place by grid population (tilted towards town or country per
category), at a door of the standard-address table for part of them; traffic accidents on
roads. Day by a seasonal and weekly cycle, hour by a daily profile per category class.
Thefts get a window (overnight burglaries discovered in the morning); reports follow.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely

from layers.demo._base import Part, points_in_polygon, rng_for
from layers.demo._geography import Geography
from layers.demo._patterns import DAY_NS, HOUR_NS, MINUTE_NS

# code: (weight, time profile, town affinity)
RATES: dict[str, tuple[float, str, float]] = {
    "0101": (0.8, "street", 2.0),
    "0102": (1.0, "street", 2.5),
    "010201": (0.5, "street", 2.5),
    "0103": (6.0, "day", 1.5),
    "010301": (5.0, "burglary", 1.0),
    "010302": (7.0, "day", 2.0),
    "010303": (0.8, "night", 1.5),
    "010304": (3.0, "day", 3.0),
    "010305": (3.0, "night", 2.0),
    "010306": (1.5, "day", 1.5),
    "010307": (0.7, "night", 0.3),
    "010308": (1.5, "night", 2.5),
    "0104": (3.0, "office", 1.2),
    "010401": (8.0, "office", 1.2),
    "0105": (1.5, "evening", 1.0),
    "0106": (1.5, "evening", 1.5),
    "0107": (1.0, "night", 1.0),
    "0108": (0.4, "night", 1.5),
    "0109": (0.2, "night", 1.0),
    "0110": (0.05, "night", 1.0),
    "0111": (0.3, "office", 1.2),
    "0199": (0.5, "day", 1.0),
    "0201": (2.0, "evening", 0.8),
    "0202": (5.0, "evening", 1.5),
    "0203": (6.0, "evening", 2.5),
    "0204": (0.6, "night", 1.5),
    "0205": (0.8, "night", 2.0),
    "0206": (3.0, "evening", 1.2),
    "0207": (2.0, "evening", 1.5),
    "0208": (1.5, "day", 1.0),
    "0209": (0.3, "evening", 1.5),
    "0299": (2.0, "day", 1.0),
    "0301": (8.0, "day", 0.8),
    "0302": (6.0, "day", 1.0),
    "0303": (3.0, "day", 0.1),
    "0304": (3.0, "office", 1.5),
    "0305": (4.0, "day", 4.0),
    "0306": (1.0, "office", 0.5),
    "0399": (2.0, "day", 1.0),
    "0401": (1.5, "day", 1.0),
    "0402": (3.0, "office", 1.5),
    "0501": (8.0, "commute", 1.0),
    "0502": (1.0, "office", 0.5),
    "0503": (0.3, "day", 0.2),
    "0504": (0.2, "day", 0.1),
    "99": (2.0, "day", 1.0),
}

# daily profiles: relative weight of each hour 0..23
_HOURS = {
    "day": [1, 1, 1, 1, 1, 1, 2, 4, 6, 8, 9, 9, 7, 7, 8, 9, 9, 9, 8, 7, 5, 4, 2, 1],
    "night": [7, 7, 6, 5, 4, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 3, 4, 5, 6, 7, 8],
    "street": [3, 2, 1, 1, 1, 1, 1, 2, 3, 3, 3, 3, 3, 3, 3, 4, 5, 6, 8, 9, 9, 8, 6, 4],
    "evening": [6, 4, 3, 2, 1, 1, 1, 1, 2, 3, 3, 4, 4, 3, 3, 4, 5, 6, 7, 9, 10, 10, 9, 8],
    "office": [0, 0, 0, 0, 0, 0, 1, 2, 6, 9, 10, 9, 6, 7, 9, 10, 9, 7, 4, 3, 2, 2, 1, 1],
    "commute": [1, 1, 1, 1, 1, 2, 4, 9, 10, 6, 5, 5, 5, 5, 5, 6, 8, 10, 9, 6, 4, 3, 2, 1],
    "burglary": [9, 9, 8, 8, 6, 3, 2, 1, 2, 4, 5, 5, 4, 4, 4, 3, 2, 2, 2, 2, 3, 4, 6, 8],
}
# (Mon..Sun multipliers, seasonal peak day of year, seasonal amplitude)
_CYCLES = {
    "day": ([1.0, 1.0, 1.0, 1.0, 1.05, 1.1, 1.05], 220, 0.15),
    "night": ([1.0, 1.0, 1.0, 1.0, 1.1, 1.2, 1.1], 200, 0.15),
    "street": ([1.0, 1.0, 1.0, 1.0, 1.1, 1.2, 1.1], 30, 0.2),
    "evening": ([0.9, 0.9, 0.9, 1.0, 1.2, 1.4, 1.2], 200, 0.25),
    "office": ([1.2, 1.2, 1.2, 1.2, 1.1, 0.6, 0.5], 20, 0.1),
    "commute": ([1.1, 1.0, 1.0, 1.0, 1.1, 0.9, 0.9], 35, 0.15),
    "burglary": ([1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0], 30, 0.2),
}
_ROAD_WEIGHT = {
    "primary": 4.0,
    "secondary": 3.0,
    "residential": 1.5,
    "unclassified": 1.0,
    "service": 0.3,
}


@dataclass
class Background:
    """Background incidents: category, metric x/y, UTC ns times, address row (-1 none), level."""

    category: np.ndarray
    x: np.ndarray
    y: np.ndarray
    occurred_from: np.ndarray
    address_row: np.ndarray
    level: np.ndarray


def build_background(
    seed: int,
    geo: Geography,
    addresses: pd.DataFrame,
    roads: pd.DataFrame,
    *,
    start: pd.Timestamp,
    days: int,
    n: int,
) -> Background:
    """Draw ``n`` background incidents (stream ``INCIDENTS``) over ``days`` days from ``start``."""
    rng = rng_for(seed, Part.INCIDENTS)
    codes = np.asarray(list(RATES), dtype=object)
    weights = np.array([RATES[c][0] for c in codes])
    cat = rng.choice(len(codes), n, p=weights / weights.sum())
    grids = geo.grids
    n_grids = len(grids)
    comm_codes = set(geo.villages.loc[geo.villages["is_community"], "code"])
    is_comm = grids["village_code"].isin(comm_codes).to_numpy()
    pop = grids["population"].to_numpy(float)

    dates = pd.date_range(start.tz_localize(None), periods=days, freq="D")
    doy, wday = np.asarray(dates.day_of_year), np.asarray(dates.day_of_week)
    grid_idx = np.full(n, -1, dtype=np.int64)
    t0 = np.zeros(n, dtype=np.int64)
    for k in range(len(codes)):
        sel = np.flatnonzero(cat == k)
        if not len(sel):
            continue
        _, profile, town = RATES[codes[k]]
        p_grid = pop * np.where(is_comm, town, 1.0)
        grid_idx[sel] = rng.choice(n_grids, len(sel), p=p_grid / p_grid.sum())
        weekly, peak, amp = _CYCLES[profile]
        w_day = np.asarray(weekly)[wday] * (1 + amp * np.cos(2 * np.pi * (doy - peak) / 365.25))
        day = rng.choice(days, len(sel), p=w_day / w_day.sum())
        hw = np.asarray(_HOURS[profile], float)
        hour = rng.choice(24, len(sel), p=hw / hw.sum())
        t0[sel] = day * DAY_NS + hour * HOUR_NS + rng.integers(0, 60, len(sel)) * MINUTE_NS
    t0 += int(start.value)

    # where: a door of the grid (door/group level), or anywhere in the grid
    x = np.empty(n)
    y = np.empty(n)
    address_row = np.full(n, -1, dtype=np.int64)
    level = np.full(n, None, dtype=object)
    doors = addresses[addresses["level"] == "door"]
    grid_pos = {c: i for i, c in enumerate(grids["code"])}
    door_grid = doors["grid_code"].map(grid_pos).to_numpy()
    first = np.searchsorted(door_grid, np.arange(n_grids))
    count = np.bincount(door_grid, minlength=n_grids)
    group_row = _group_rows(addresses)
    village_row = {
        c: int(i)
        for i, c in zip(addresses.index, addresses["village_code"], strict=True)
        if addresses.at[i, "level"] == "village"
    }
    u = rng.uniform(size=n)
    at_door = u < 0.45
    pick = first[grid_idx] + (rng.uniform(size=n) * count[grid_idx]).astype(np.int64)
    x[at_door] = doors["x"].to_numpy(float)[pick[at_door]] + rng.normal(0, 6, at_door.sum())
    y[at_door] = doors["y"].to_numpy(float)[pick[at_door]] + rng.normal(0, 6, at_door.sum())
    door_index = doors.index.to_numpy()
    address_row[u < 0.35] = door_index[pick[u < 0.35]]
    level[u < 0.35] = "door"
    grp = (u >= 0.35) & at_door
    g_rows = group_row[pick[grp]]
    address_row[grp] = np.where(g_rows >= 0, g_rows, door_index[pick[grp]])
    level[grp] = np.where(g_rows >= 0, "group", "door")
    for g in range(n_grids):
        sel = np.flatnonzero((grid_idx == g) & ~at_door)
        if len(sel):
            pts = points_in_polygon(rng, grids["geometry"].iat[g], len(sel))
            x[sel], y[sel] = pts[:, 0], pts[:, 1]
    vil = (u >= 0.45) & (u < 0.55)
    address_row[vil] = grids["village_code"].map(village_row).to_numpy()[grid_idx[vil]]
    level[vil] = "village"
    # a door jittered across the county line goes back to the door
    out = ~shapely.contains_xy(geo.county, x, y)
    x[out] = doors["x"].to_numpy(float)[pick[out]]
    y[out] = doors["y"].to_numpy(float)[pick[out]]

    # traffic accidents happen on roads inside the county
    traffic = np.flatnonzero(codes[cat] == "0501")
    geoms = np.asarray(roads["geometry"], dtype=object)
    inside = shapely.covered_by(geoms, geo.county)
    w_road = shapely.length(geoms) * roads["kind"].map(_ROAD_WEIGHT).fillna(1.0).to_numpy()
    w_road = np.where(inside, w_road, 0.0)
    which = rng.choice(len(geoms), len(traffic), p=w_road / w_road.sum())
    pts = shapely.line_interpolate_point(
        geoms[which], rng.uniform(size=len(traffic)), normalized=True
    )
    xy = shapely.get_coordinates(pts)
    x[traffic], y[traffic] = xy[:, 0], xy[:, 1]
    address_row[traffic] = -1
    level[traffic] = None
    return Background(
        category=codes[cat], x=x, y=y, occurred_from=t0, address_row=address_row, level=level
    )


def _group_rows(addresses: pd.DataFrame) -> np.ndarray:
    """For every door row (in door order), the row of its group, or -1 in communities."""
    doors = addresses[addresses["level"] == "door"]
    groups = addresses[addresses["level"] == "group"]
    key = dict(
        zip(groups["village_code"] + "|" + groups["group"].astype(str), groups.index, strict=True)
    )
    door_key = doors["village_code"] + "|" + doors["group"].astype(str)
    return door_key.map(key).fillna(-1).to_numpy(np.int64)


def windows(
    rng: np.random.Generator,
    category: np.ndarray,
    occurred_from: np.ndarray,
    *,
    theft: frozenset[str],
    fraud: frozenset[str],
    disputes: frozenset[str],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (occurred_from, occurred_to, reported_at) in UTC ns for background incidents.

    Burglaries are mostly overnight (from 21:00-02:00, to 06:00-09:00 next morning) or
    daytime while people work; other thefts last 10 min to 14 h. Other incidents are
    instants. Reports follow after minutes (hours for fraud and disputes).
    """
    n = len(category)
    t0 = occurred_from.copy()
    t1 = t0.copy()
    is_theft = np.isin(category, list(theft))
    burglary = category == "010301"
    overnight = burglary & (rng.uniform(size=n) < 0.6)
    day_start = t0 - (t0 + 8 * HOUR_NS) % DAY_NS  # local midnight (UTC+8 all year)
    t0[overnight] = (
        day_start[overnight]
        + 21 * HOUR_NS
        + (rng.uniform(0, 5, overnight.sum()) * HOUR_NS).astype(np.int64)
    )
    t1[overnight] = (
        day_start[overnight]
        + DAY_NS
        + 6 * HOUR_NS
        + (rng.uniform(0, 3, overnight.sum()) * HOUR_NS).astype(np.int64)
    )
    daytime = burglary & ~overnight
    t0[daytime] = (
        day_start[daytime]
        + 8 * HOUR_NS
        + (rng.uniform(0, 4, daytime.sum()) * HOUR_NS).astype(np.int64)
    )
    t1[daytime] = t0[daytime] + (rng.uniform(3, 9, daytime.sum()) * HOUR_NS).astype(np.int64)
    other = is_theft & ~burglary
    length = np.clip(rng.lognormal(np.log(90), 0.8, other.sum()), 10, 14 * 60)
    t1[other] = t0[other] + (length * MINUTE_NS).astype(np.int64)

    delay = np.clip(rng.lognormal(np.log(12), 0.7, n), 2, 360)
    slow = np.isin(category, list(fraud | disputes))
    delay[slow] = np.clip(rng.lognormal(np.log(180), 1.0, slow.sum()), 10, 48 * 60)
    delay[is_theft] = rng.uniform(5, 120, is_theft.sum())
    t2 = t1 + (delay * MINUTE_NS).astype(np.int64)
    return t0, t1, t2
