"""The synthetic demo county 清溪县（演示数据）: every base layer, with planted ground truth.

The county is fictional: its codes start with the non-existent province prefix 99
(county ``990101``), its names are made up, and it is marked 演示数据 (the county's name,
every incident description, ``frame.attrs["demo"]`` and the truth JSON). It lies in hilly
country around 119.9°E, 29.8°N; all geometry is CGCS2000 longitude/latitude (EPSG:4490).
Dates are fixed: two years ending on ``end`` (default 2026-10-31), times tz-aware in
Asia/Shanghai.

Every part draws from its own random stream (:class:`layers.demo._base.Part`), so the same
seed gives the same county and changing one part (say the number of incidents) moves no
other part.

Examples
--------
>>> county = build_demo_county(small=True)
>>> county.admin_units.loc[0, "name"]
'清溪县（演示数据）'
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import geopandas as gpd
import numpy as np
import pandas as pd

from gis.errors import ValidationError
from gis.messages import t
from layers.demo._addresses import build_addresses, place_addresses
from layers.demo._base import (
    CITY_NAME,
    COUNTY_SHORT,
    DEMO_MARK,
    FULL,
    LONLAT_EPSG,
    PROVINCE_NAME,
    SMALL,
    TIMEZONE,
    Part,
    rng_for,
    to_lonlat,
    to_lonlat_xy,
)
from layers.demo._cameras import build_cameras
from layers.demo._geography import Geography, admin_rows, build_geography
from layers.demo._incidents import build_background, windows
from layers.demo._patterns import DAY_NS, MINUTE_NS, Planted, build_planted
from layers.demo._people import build_people
from layers.demo._places import build_places, school_grids
from layers.demo._roads import build_roads
from layers.demo.truth import DemoTruth
from layers.taxonomy import Taxonomy, default_taxonomy

__all__ = ["DEMO_MARK", "DEMO_SOURCE", "DemoCounty", "DemoTruth", "build_demo_county"]

# The source name every demo row is imported under, so a different demo can replace it whole.
DEMO_SOURCE = "demo"

MAX_INCIDENTS = 1_000_000
_TRUTH_KEYS = {
    "hotspot": "demo.truth_hotspot",
    "school_hotspot": "demo.truth_school_hotspot",
    "near_repeat": "demo.truth_near_repeat",
    "emerging": "demo.truth_emerging",
    "fading": "demo.truth_fading",
}
_PHRASE_KEYS = ("demo.incident_phrase_1", "demo.incident_phrase_2", "demo.incident_phrase_3")
_PHRASES = len(_PHRASE_KEYS)


@dataclass
class DemoCounty:
    """The demo county's layers, with the canonical columns of ``docs/architecture.md``.

    Geometry is EPSG:4490 (CGCS2000 lon/lat); times are tz-aware Asia/Shanghai.
    ``addresses`` is the standard-address table (``address, province, city, county,
    township, village, group, road, door, level, lon, lat, village_code, grid_code``).
    """

    admin_units: gpd.GeoDataFrame
    grids: gpd.GeoDataFrame
    grid_staff: pd.DataFrame
    cameras: gpd.GeoDataFrame
    places: gpd.GeoDataFrame
    roads: gpd.GeoDataFrame
    patrol_teams: pd.DataFrame
    incidents: gpd.GeoDataFrame
    addresses: pd.DataFrame
    truth: DemoTruth
    seed: int
    end: pd.Timestamp
    small: bool

    def layers(self) -> dict[str, pd.DataFrame]:
        """The base layers by canonical layer name."""
        return {
            "admin_units": self.admin_units,
            "grids": self.grids,
            "grid_staff": self.grid_staff,
            "cameras": self.cameras,
            "places": self.places,
            "roads": self.roads,
            "patrol_teams": self.patrol_teams,
            "incidents": self.incidents,
        }


def _geo(frame: pd.DataFrame) -> gpd.GeoDataFrame:
    geoms = to_lonlat(np.asarray(frame["geometry"], dtype=object))
    out = gpd.GeoDataFrame(frame.drop(columns="geometry"), geometry=list(geoms), crs=LONLAT_EPSG)
    out.attrs["demo"] = True
    return out


def _times(ns: np.ndarray) -> pd.Series:
    return pd.Series(pd.to_datetime(ns, utc=True).tz_convert(TIMEZONE))


def build_demo_county(
    *,
    seed: int = 20261031,
    end: str | date = "2026-10-31",
    incidents: int | None = None,
    small: bool = False,
    progress: Callable[[str, float], None] | None = None,
) -> DemoCounty:
    """Build the demo county.

    Parameters
    ----------
    seed
        Seed of every random stream; the same seed gives identical frames.
    end
        Last local date (Asia/Shanghai) of the two years of incidents, inclusive.
    incidents
        Total number of incidents (background plus planted, at most 1,000,000); default
        45,000 (4,000 with ``small``). The planted patterns keep their absolute sizes.
    small
        Build the reduced county for tests (3 townships, 8 villages, 40 grids).
    progress
        Called with a message (current language) and the fraction done, 0..1.

    Returns
    -------
    DemoCounty
        The layers (EPSG:4490) and the planted truth.
    """
    sizes = SMALL if small else FULL
    report = progress or (lambda _msg, _frac: None)
    try:
        end_ts = pd.Timestamp(end).normalize()
    except ValueError:
        raise ValidationError("demo.bad_end", end=str(end)) from None
    start_ts = (end_ts - pd.DateOffset(years=2) + pd.Timedelta(days=1)).tz_localize(TIMEZONE)
    end_local = end_ts.tz_localize(TIMEZONE)
    days = (end_ts - start_ts.tz_localize(None)).days + 1
    taxonomy = default_taxonomy()

    report(t("demo.progress_geography"), 0.0)
    geo = build_geography(seed, sizes)
    report(t("demo.progress_places"), 0.15)
    places = build_places(seed, sizes, geo)
    special = school_grids(sizes, geo, places)
    report(t("demo.progress_roads"), 0.25)
    roads = build_roads(seed, sizes, geo, places)
    report(t("demo.progress_addresses"), 0.35)
    addresses = build_addresses(seed, geo, roads)
    places["address"] = place_addresses(places, addresses)
    report(t("demo.progress_cameras"), 0.45)
    cameras = build_cameras(seed, sizes, geo, roads, places, end=end_ts.date())
    all_grids = pd.concat([geo.grids, special], ignore_index=True)
    staff, teams = build_people(seed, sizes, geo, all_grids)

    report(t("demo.progress_incidents"), 0.55)
    planted = build_planted(seed, geo, places, start=start_ts, end=end_local)
    total = sizes.incidents if incidents is None else int(incidents)
    if not len(planted) <= total <= MAX_INCIDENTS:
        raise ValidationError(
            "demo.bad_incident_count", value=total, minimum=len(planted), maximum=MAX_INCIDENTS
        )
    frame = _incident_frame(
        seed,
        geo,
        addresses=addresses,
        roads=roads,
        planted=planted,
        taxonomy=taxonomy,
        start=start_ts,
        days=days,
        n=total,
    )

    report(t("demo.progress_finish"), 0.9)
    truth = _truth(planted, frame, seed=seed, end=end_ts, small=small)
    lon, lat = to_lonlat_xy(frame.pop("x").to_numpy(), frame.pop("y").to_numpy())
    frame = frame.drop(columns=["_planted"])
    inc = gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(lon, lat), crs=LONLAT_EPSG)
    inc.attrs["demo"] = True

    a_lon, a_lat = to_lonlat_xy(addresses.pop("x").to_numpy(), addresses.pop("y").to_numpy())
    at = list(addresses.columns).index("level") + 1
    addresses.insert(at, "lon", a_lon)
    addresses.insert(at + 1, "lat", a_lat)
    addresses.attrs["demo"] = True
    staff.attrs["demo"] = True
    teams.attrs["demo"] = True
    county = DemoCounty(
        admin_units=_geo(admin_rows(geo)),
        grids=_geo(all_grids),
        grid_staff=staff,
        cameras=_geo(cameras),
        places=_geo(places.drop(columns=["village_code"])),
        roads=_geo(roads),
        patrol_teams=teams,
        incidents=inc,
        addresses=addresses,
        truth=truth,
        seed=seed,
        end=end_local,
        small=small,
    )
    report(t("demo.progress_done"), 1.0)
    return county


def _incident_frame(
    seed: int,
    geo: Geography,
    *,
    addresses: pd.DataFrame,
    roads: pd.DataFrame,
    planted: Planted,
    taxonomy: Taxonomy,
    start: pd.Timestamp,
    days: int,
    n: int,
) -> pd.DataFrame:
    """Background plus planted incidents, sorted by time, metric x/y, ids assigned."""
    bg = build_background(seed, geo, addresses, roads, start=start, days=days, n=n - len(planted))
    rng = rng_for(seed, Part.WINDOWS)
    theft = taxonomy.descendants("0103")
    fraud = taxonomy.descendants("0104")
    disputes = taxonomy.descendants("03")
    t0, t1, t2 = windows(
        rng, bg.category, bg.occurred_from, theft=theft, fraud=fraud, disputes=disputes
    )

    p_from = np.asarray(planted.occurred_from, dtype=np.int64)
    p_to = np.asarray(planted.occurred_to, dtype=np.int64)
    p_rep = p_to + (rng.uniform(5, 60, len(planted)) * MINUTE_NS).astype(np.int64)
    limit = int(start.value) + days * DAY_NS - 10**9
    # keep background inside the period: late overnight windows move back one day
    late = t0 >= limit - 60 * 10**9
    t0, t1, t2 = (np.where(late, v - DAY_NS, v) for v in (t0, t1, t2))

    category = np.concatenate([bg.category, np.asarray(planted.category, dtype=object)])
    occurred_from = np.concatenate([t0, p_from])
    occurred_to = np.minimum(np.concatenate([t1, p_to]), limit)
    reported = np.maximum(np.minimum(np.concatenate([t2, p_rep]), limit), occurred_to)
    # whole seconds, as records keep them
    occurred_from, occurred_to, reported = (
        v - v % 10**9 for v in (occurred_from, occurred_to, reported)
    )
    x = np.concatenate([bg.x, planted.x])
    y = np.concatenate([bg.y, planted.y])
    addr_row = np.concatenate([bg.address_row, np.full(len(planted), -1)])
    level = np.concatenate([bg.level, np.full(len(planted), None, dtype=object)])
    tag = np.concatenate([np.full(len(bg.x), -1), np.arange(len(planted))])

    order = np.lexsort((tag, occurred_from))
    # address text: full, from the county, or from the township, as ledgers write it
    texts = addresses["address"].to_numpy(dtype=object)
    cut = len(PROVINCE_NAME) + len(CITY_NAME)
    cut2 = cut + len(COUNTY_SHORT)
    variants = np.stack(
        [texts, np.array([s[cut:] for s in texts]), np.array([s[cut2:] for s in texts])]
    )
    which = rng.integers(0, 3, len(addr_row))
    address = np.where(addr_row >= 0, variants[which, np.maximum(addr_row, 0)], None)
    codes = np.asarray(taxonomy.codes, dtype=object)
    phrases = [t(key, language="zh") for key in _PHRASE_KEYS]
    table = np.array(
        [f"【{DEMO_MARK}】{taxonomy.name(c, 'zh')}。{p}" for c in codes for p in phrases],
        dtype=object,
    )
    code_pos = pd.Index(codes).get_indexer(category)
    description = table[code_pos * _PHRASES + rng.integers(0, _PHRASES, len(category))]
    ids = pd.Series(np.arange(1, len(order) + 1)).astype(str).str.zfill(7)
    frame = pd.DataFrame(
        {
            "source_id": ("DEMO-" + ids).to_numpy(dtype=object),
            "category": category[order],
            "occurred_from": _times(occurred_from[order]),
            "occurred_to": _times(occurred_to[order]),
            "reported_at": _times(reported[order]),
            "address": address[order],
            "geocode_level": level[order],
            "description": description[order],
            "x": x[order],
            "y": y[order],
            "_planted": tag[order],
        }
    )
    return frame


def _truth(
    planted: Planted, frame: pd.DataFrame, *, seed: int, end: pd.Timestamp, small: bool
) -> DemoTruth:
    """Fill the planted patterns with incident ids, lon/lat and bilingual descriptions."""
    tag = frame["_planted"].to_numpy()
    rows = np.flatnonzero(tag >= 0)
    id_of = dict(zip(tag[rows], frame["source_id"].to_numpy()[rows], strict=True))
    pattern_of = np.asarray(planted.pattern)
    out = []
    for k, p in enumerate(planted.patterns):
        lon, lat = to_lonlat_xy(np.array([p["centre_x"]]), np.array([p["centre_y"]]))
        entry = {key: v for key, v in p.items() if key not in ("centre_x", "centre_y", "_pairs")}
        entry["centre_lon"] = round(float(lon[0]), 7)
        entry["centre_lat"] = round(float(lat[0]), 7)
        entry["incident_ids"] = sorted(id_of[i] for i in np.flatnonzero(pattern_of == k))
        base_key = _TRUTH_KEYS[p["kind"]]
        entry["description_zh"] = t(base_key, language="zh", place=p.get("place_name") or "")
        entry["description_en"] = t(base_key, language="en", place=p.get("place_name") or "")
        if "_pairs" in p:
            entry["pairs"] = [[id_of[a], id_of[b]] for a, b in p["_pairs"]]
        out.append(entry)
    return DemoTruth(patterns=out, seed=seed, end=end.date().isoformat(), small=small)
