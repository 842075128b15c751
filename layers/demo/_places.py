"""Places of the demo county (schools, markets, docks …) and the 专属 grids of schools."""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely
from shapely.geometry import Point, box

from layers.demo._base import COUNTY_SHORT, Part, Sizes, points_in_polygon, records, rng_for
from layers.demo._geography import Geography

_NUMERALS = "一二三四五六七八九十"

# weight of (community, township-seat village, other village) when choosing where a kind goes
_WHERE: dict[str, tuple[float, float, float]] = {
    "school": (3.0, 3.0, 1.0),
    "kindergarten": (3.0, 2.0, 1.0),
    "market": (2.0, 4.0, 0.4),
    "dock": (0.0, 1.0, 1.0),
    "warehouse": (0.5, 1.0, 1.0),
    "hospital": (2.0, 4.0, 0.0),
    "station": (1.0, 4.0, 0.0),
    "internet_cafe": (5.0, 2.0, 0.2),
    "entertainment": (5.0, 1.5, 0.1),
}
_SUFFIX = {
    "school": "小学",
    "kindergarten": "幼儿园",
    "market": "农贸市场",
    "dock": "码头",
    "warehouse": "物流仓库",
    "hospital": "卫生院",
    "station": "汽车站",
    "internet_cafe": "网吧",
    "entertainment": "KTV",
}


def _short(name: str) -> str:
    for suffix in ("社区", "村", "镇", "乡"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def _unique(name: str, used: set[str]) -> str:
    if name not in used:
        used.add(name)
        return name
    for k in range(2, 10):
        candidate = f"{name}（{_NUMERALS[k - 1]}部）"
        if candidate not in used:
            used.add(candidate)
            return candidate
    raise RuntimeError(name)


def _first_name(kind: str, town_name: str) -> str | None:
    """Names of the county-level first place of a kind, sited in the county town."""
    short = _short(town_name)
    return {
        "school": f"{COUNTY_SHORT}实验小学",
        "kindergarten": f"{COUNTY_SHORT}实验幼儿园",
        "market": f"{short}农贸市场",
        "hospital": f"{COUNTY_SHORT}人民医院",
        "station": f"{COUNTY_SHORT}汽车客运站",
        "entertainment": "金曲KTV",
    }.get(kind)


def build_places(seed: int, sizes: Sizes, geo: Geography) -> pd.DataFrame:
    """Draw the places (stream ``PLACES``); metric Point geometry, ``address`` filled later.

    Columns: ``source_id, name, kind, address, geometry, village_code``. The first place
    of most kinds is the county-level one, in the community nearest the town centre.
    """
    rng = rng_for(seed, Part.PLACES)
    vills = geo.villages
    towns = geo.townships.set_index("code")
    seat = np.zeros(len(vills), dtype=bool)
    for t in records(towns, index=True):
        inside = shapely.contains_xy(
            np.asarray(vills["geometry"], dtype=object), t.centre_x, t.centre_y
        )
        seat |= inside & (vills["township_code"] == t.Index).to_numpy()
    town_row = towns[towns["is_town"]].iloc[0]
    centre_dist = np.hypot(
        vills["centre_x"] - town_row.centre_x, vills["centre_y"] - town_row.centre_y
    )
    central = int(np.argmin(np.where(vills["is_community"] | seat, centre_dist, np.inf)))

    used: set[str] = set()
    rows: list[dict[str, object]] = []
    for kind, count in sizes.places.items():
        w_comm, w_seat, w_other = _WHERE[kind]
        weights = np.where(vills["is_community"], w_comm, np.where(seat, w_seat, w_other))
        if weights.sum() == 0:
            weights = np.ones(len(vills))
        units = rng.choice(len(vills), size=count, p=weights / weights.sum())
        first = _first_name(kind, str(town_row["name"]))
        if first is not None:
            units[0] = central
        # spread the rest over distinct units first, like a planner would
        for i in range(1, count):
            if units[i] in units[:i] and len(set(units[:i])) < np.count_nonzero(weights):
                choices = [u for u in np.flatnonzero(weights) if u not in units[:i]]
                units[i] = int(rng.choice(choices))
        for i, u in enumerate(units):
            v = vills.iloc[int(u)]
            centre = (v["centre_x"], v["centre_y"])
            spread = 250.0 if v["is_community"] else 400.0
            p = np.array(centre) + rng.normal(0, spread, 2)
            if not v["geometry"].buffer(-15).contains(Point(p)):
                p = points_in_polygon(rng, v["geometry"], 1, inset_m=15)[0]
            if i == 0 and first is not None:
                name = first
            elif kind == "school" and rng.uniform() < 0.3:
                name = f"{_short(str(v['name']))}中学"
            elif kind in ("hospital", "station"):
                t_name = str(towns.loc[v["township_code"], "name"])
                name = f"{_short(t_name)}{_SUFFIX[kind]}"
            elif kind in ("internet_cafe", "entertainment"):
                brand = rng.choice(["星空", "极速", "蓝海", "欢乐", "金曲", "飞扬", "天籁"])
                name = f"{brand}{_SUFFIX[kind]}（{_short(str(v['name']))}店）"
            else:
                name = f"{_short(str(v['name']))}{_SUFFIX[kind]}"
            rows.append(
                {
                    "name": _unique(name, used),
                    "kind": kind,
                    "address": None,
                    "geometry": Point(float(p[0]), float(p[1])),
                    "village_code": str(v["code"]),
                }
            )
    out = pd.DataFrame(rows)
    out.insert(0, "source_id", [f"DEMO-PL-{i:04d}" for i in range(1, len(out) + 1)])
    return out


def school_grids(sizes: Sizes, geo: Geography, places: pd.DataFrame) -> pd.DataFrame:
    """专属 grids: a 160 m campus square around the first schools, clipped to the village.

    They lie over the 综合 grids and are numbered 901, 902 … within their village, so the
    综合 numbering (001 …) stays contiguous.
    """
    schools = places[places["kind"] == "school"].head(sizes.school_grids)
    vill = geo.villages.set_index("code")
    seq: dict[str, int] = {}
    rows = []
    for s in records(schools):
        v = vill.loc[s.village_code]
        seq[s.village_code] = seq.get(s.village_code, 900) + 1
        x, y = s.geometry.x, s.geometry.y
        rows.append(
            {
                "code": f"{s.village_code}{seq[s.village_code]:03d}",
                "name": f"{s.name}专属网格",
                "kind": "专属",
                "village_code": s.village_code,
                "households": 0,
                "population": 0,
                "geometry": box(x - 80, y - 80, x + 80, y + 80).intersection(v["geometry"]),
            }
        )
    return pd.DataFrame(rows)
