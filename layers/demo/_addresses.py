"""The demo county's standard-address table (标准地址): 省/市/县/乡镇/村(社区)/组/路/门牌.

Door rows (``level == "door"``) lie in 综合 grids: in a community the door is on the nearest
town street (``解放路12号``); in a village it is in a villagers' group (``3组12号``), two
groups per grid. Group, village and township rows give the points a geocoder falls back
to. Coordinates are metric here; the public frame converts them to lon/lat.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

from layers.demo._base import (
    CITY_NAME,
    COUNTY_SHORT,
    PROVINCE_NAME,
    Part,
    points_in_polygon,
    records,
    rng_for,
)
from layers.demo._geography import Geography

PREFIX = f"{PROVINCE_NAME}{CITY_NAME}{COUNTY_SHORT}"
COLUMNS = [
    "address",
    "province",
    "city",
    "county",
    "township",
    "village",
    "group",
    "road",
    "door",
    "level",
    "x",
    "y",
    "village_code",
    "grid_code",
]


def build_addresses(seed: int, geo: Geography, roads: pd.DataFrame) -> pd.DataFrame:
    """Draw the address table (stream ``ADDRESSES``), door rows sorted by grid code."""
    rng = rng_for(seed, Part.ADDRESSES)
    towns = geo.townships.set_index("code")
    vills = geo.villages.set_index("code")
    streets = roads[roads["kind"].isin(["residential", "secondary"])]
    tree = shapely.STRtree(np.asarray(streets["geometry"], dtype=object))
    street_names = np.asarray(streets["name"], dtype=object)

    rows: list[pd.DataFrame] = []
    for grid in records(geo.grids):
        v = vills.loc[grid.village_code]
        t_name = str(towns.loc[v["township_code"], "name"])
        n = int(np.clip(grid.households // 12, 12, 45))
        pts = points_in_polygon(rng, grid.geometry, n, inset_m=8.0)
        pts = pts[np.lexsort((pts[:, 1], pts[:, 0]))]
        frame = pd.DataFrame(
            {
                "township": t_name,
                "village": str(v["name"]),
                "x": pts[:, 0],
                "y": pts[:, 1],
                "village_code": grid.village_code,
                "grid_code": grid.code,
            }
        )
        if v["is_community"]:
            near = tree.query_nearest(
                shapely.points(pts), return_distance=False, all_matches=False
            )[1]
            frame["road"] = street_names[near]
            frame["group"] = None
        else:
            seq = int(str(grid.code)[-3:])
            cx = float(grid.geometry.centroid.x)
            frame["group"] = np.where(pts[:, 0] < cx, 2 * seq - 1, 2 * seq).astype(str)
            frame["road"] = None
        rows.append(frame)
    doors = pd.concat(rows, ignore_index=True)
    # house numbers run along each road of a community, or within each villagers' group
    key = np.where(
        doors["road"].notna(),
        doors["village_code"] + "|" + doors["road"].fillna(""),
        doors["village_code"] + "|g" + doors["group"].fillna(""),
    )
    doors["door"] = (doors.groupby(key).cumcount() + 1).map(lambda k: f"{k}号")
    tail = np.where(
        doors["road"].notna(),
        doors["road"].fillna("") + doors["door"],
        doors["group"].fillna("") + "组" + doors["door"],
    )
    doors["address"] = PREFIX + doors["township"] + doors["village"] + tail
    doors["level"] = "door"

    vill_rows = doors[doors["group"].notna()].groupby(["village_code", "group"], sort=True)
    groups = vill_rows.agg(
        township=("township", "first"),
        village=("village", "first"),
        x=("x", "mean"),
        y=("y", "mean"),
    ).reset_index()
    groups["address"] = PREFIX + groups["township"] + groups["village"] + groups["group"] + "组"
    groups["level"] = "group"

    villages = pd.DataFrame(
        {
            "village_code": vills.index,
            "township": [str(towns.loc[c, "name"]) for c in vills["township_code"]],
            "village": vills["name"].to_numpy(),
            "x": vills["centre_x"].to_numpy(),
            "y": vills["centre_y"].to_numpy(),
            "level": "village",
        }
    )
    villages["address"] = PREFIX + villages["township"] + villages["village"]
    townships = pd.DataFrame(
        {
            "township": towns["name"].to_numpy(),
            "x": towns["centre_x"].to_numpy(),
            "y": towns["centre_y"].to_numpy(),
            "level": "township",
        }
    )
    townships["address"] = PREFIX + townships["township"]
    out = pd.concat([doors, groups, villages, townships], ignore_index=True)
    out["province"], out["city"], out["county"] = PROVINCE_NAME, CITY_NAME, COUNTY_SHORT
    out = out.reindex(columns=COLUMNS)
    return out.astype({c: object for c in COLUMNS if c not in ("x", "y")}).where(out.notna(), None)


def place_addresses(places: pd.DataFrame, addresses: pd.DataFrame) -> list[str]:
    """Return, for each place, the nearest door address of its village (the 门牌 it uses)."""
    doors = addresses[addresses["level"] == "door"]
    out: list[str] = []
    for p in records(places):
        cand = doors[doors["village_code"] == p.village_code]
        if cand.empty:
            cand = doors
        d = np.hypot(
            cand["x"].to_numpy(float) - p.geometry.x, cand["y"].to_numpy(float) - p.geometry.y
        )
        out.append(str(cand["address"].iloc[int(np.argmin(d))]))
    return out
