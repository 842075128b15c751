"""The demo county's cameras (雪亮工程): about 8 per village, denser in the county town."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import shapely
from shapely.geometry import Point

from layers.demo._base import (
    COUNTY_CODE,
    Part,
    Sizes,
    allocate,
    points_in_polygon,
    records,
    rng_for,
)
from layers.demo._geography import Geography

# kind: (share, fov range, range_m range)
_KINDS: dict[str, tuple[float, tuple[float, float], tuple[float, float]]] = {
    "枪机": (0.58, (50.0, 90.0), (40.0, 100.0)),
    "球机": (0.25, (60.0, 110.0), (80.0, 150.0)),
    "半球": (0.10, (90.0, 120.0), (15.0, 30.0)),
    "卡口": (0.07, (30.0, 50.0), (30.0, 50.0)),
}


def camera_code(serial: int) -> str:
    """A GB/T 28181-style 20-digit id.

    Centre 8 digits (county code + ``00``), industry ``00``, type ``132`` (IP camera),
    network ``0``, serial 6 digits.
    """
    return f"{COUNTY_CODE}00" + "00" + "132" + "0" + f"{serial:06d}"


def build_cameras(
    seed: int, sizes: Sizes, geo: Geography, roads: pd.DataFrame, places: pd.DataFrame, *, end: date
) -> pd.DataFrame:
    """Draw the cameras (stream ``CAMERAS``); metric Point geometry, canonical columns.

    Every village and community gets 8; the rest go to the communities. Sites are road
    nodes and places of the unit first, then points near the unit's centre. About 5 % are
    offline or at fault.
    """
    rng = rng_for(seed, Part.CAMERAS)
    vills = geo.villages
    base = np.full(len(vills), 8)
    extra = sizes.cameras - int(base.sum())
    comm = vills["is_community"].to_numpy()
    if extra > 0 and comm.any():
        base[comm] += allocate(extra, rng.uniform(0.7, 1.3, int(comm.sum())), minimum=0)
    nodes = shapely.get_coordinates(shapely.boundary(np.asarray(roads["geometry"], dtype=object)))
    nodes = np.unique(nodes, axis=0)
    place_xy = shapely.get_coordinates(np.asarray(places["geometry"], dtype=object))

    xy_all, unit_all = [], []
    for i, (v, n) in enumerate(zip(records(vills), base, strict=True)):
        poly = v.geometry.buffer(-5)
        sites = np.vstack([nodes, place_xy])
        inside = shapely.contains_xy(poly, sites[:, 0], sites[:, 1])
        sites = sites[inside]
        sites = sites[rng.permutation(len(sites))][: int(n) * 2 // 3]
        rest = int(n) - len(sites)
        near = np.array([v.centre_x, v.centre_y]) + rng.normal(0, 300, (rest, 2))
        ok = shapely.contains_xy(poly, near[:, 0], near[:, 1])
        if (~ok).any():
            near[~ok] = points_in_polygon(rng, poly, int((~ok).sum()))
        xy = np.vstack([sites, near]) + rng.normal(0, 6, (int(n), 2))
        bad = ~shapely.contains_xy(v.geometry, xy[:, 0], xy[:, 1])
        xy[bad] = np.vstack([sites, near])[bad]
        xy_all.append(xy)
        unit_all += [i] * int(n)
    xy = np.vstack(xy_all)
    units = np.asarray(unit_all)
    n = len(xy)

    kinds = list(_KINDS)
    kind_idx = rng.choice(len(kinds), n, p=[_KINDS[k][0] for k in kinds])
    fov = np.array([rng.uniform(*_KINDS[kinds[k]][1]) for k in kind_idx])
    rng_m = np.array([rng.uniform(*_KINDS[kinds[k]][2]) for k in kind_idx])
    status = np.full(n, "online", dtype=object)
    bad_idx = rng.choice(n, round(0.05 * n), replace=False)
    status[bad_idx] = np.where(rng.uniform(size=len(bad_idx)) < 0.6, "offline", "fault")
    first = date(2016, 3, 1)
    span = (end - timedelta(days=30) - first).days
    installed = [first + timedelta(days=int(d)) for d in rng.integers(0, span, n)]
    names = [
        f"{vills.iloc[u]['name']}{k + 1:02d}号{kinds[ki]}"
        for k, (u, ki) in enumerate(zip(units, kind_idx, strict=True))
    ]
    # number per unit, not globally
    counter: dict[int, int] = {}
    for j, u in enumerate(units):
        counter[int(u)] = counter.get(int(u), 0) + 1
        names[j] = f"{vills.iloc[int(u)]['name']}{counter[int(u)]:02d}号{kinds[kind_idx[j]]}"
    return pd.DataFrame(
        {
            "source_id": [f"DEMO-CAM-{i:04d}" for i in range(1, n + 1)],
            "camera_code": [camera_code(i) for i in range(1, n + 1)],
            "name": names,
            "kind": [kinds[k] for k in kind_idx],
            "status": status,
            "installed_on": installed,
            "heading_deg": (rng.integers(0, 72, n) * 5).astype(float),
            "fov_deg": np.round(fov, 0),
            "range_m": np.round(rng_m, 0),
            "height_m": np.round(rng.uniform(3.0, 8.0, n), 1),
            "geometry": [Point(float(a), float(b)) for a, b in xy],
        }
    )
