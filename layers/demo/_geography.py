"""The demo county's admin units and grids, in metres (EPSG:4549).

Townships tile the county, villages tile their township and 综合 grids tile their village:
each level is the Voronoi diagram of seed points clipped to its parent, so the children
cover the parent exactly and do not overlap (up to floating-point noise).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely
from shapely.geometry import MultiPoint, Point, Polygon
from shapely.geometry.base import BaseGeometry

from layers.demo._base import (
    COUNTY_CODE,
    COUNTY_NAME,
    Part,
    Sizes,
    allocate,
    centre_xy,
    points_in_polygon,
    reading_order,
    records,
    rng_for,
)

_VILLAGE_FIRST = list("上下东西南北前后大小新老石竹桃柳枫桂茶杨梅溪岙坑塘湾岭")
_VILLAGE_SECOND = list("塘岙坑湾垟源畈坞岗桥头庄家山田岭溪林埠口坪")
_COMMUNITIES = [
    "东门",
    "西门",
    "南街",
    "北苑",
    "溪滨",
    "文昌",
    "桂园",
    "新华",
    "望江",
    "锦绣",
    "和平",
    "清河",
    "翠屏",
    "学府",
    "凤鸣",
    "云梯",
]


@dataclass
class Geography:
    """Admin units and grids, metric geometry (EPSG:4549) in the ``geometry`` column.

    ``townships`` and ``villages`` carry helper columns (``centre_x``/``centre_y``,
    ``is_community``, ``is_town``, ``urban_village``) that the public frames drop.
    """

    county: Polygon
    townships: pd.DataFrame
    villages: pd.DataFrame
    grids: pd.DataFrame


def _polygonal(geom: BaseGeometry) -> BaseGeometry:
    """Keep only the polygon parts of an overlay result."""
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [g for g in shapely.get_parts(geom) if g.geom_type == "Polygon" and g.area > 0]
    return parts[0] if len(parts) == 1 else shapely.multipolygons(parts)


def voronoi_tiles(seeds: np.ndarray, parent: BaseGeometry) -> list[BaseGeometry]:
    """Return the Voronoi cells of ``seeds`` clipped to ``parent``, in seed order."""
    if len(seeds) == 1:
        return [parent]
    cells = shapely.voronoi_polygons(MultiPoint(seeds), extend_to=parent, ordered=True)
    parts = list(shapely.get_parts(cells))
    return [_polygonal(shapely.intersection(c, parent)) for c in parts]


def lloyd(
    rng: np.random.Generator, parent: BaseGeometry, n: int, *, iterations: int = 6
) -> np.ndarray:
    """Return ``n`` seeds spread evenly over ``parent`` (Lloyd relaxation of random points)."""
    seeds = points_in_polygon(rng, parent, n)
    for _ in range(iterations):
        if n == 1:
            break
        tiles = voronoi_tiles(seeds, parent)
        arr = np.asarray(tiles, dtype=object)
        cents = shapely.centroid(arr)
        inside = shapely.contains(arr, cents)
        cents[~inside] = shapely.point_on_surface(arr[~inside])
        seeds = shapely.get_coordinates(cents)
    return seeds


def _spread(
    rng: np.random.Generator, region: BaseGeometry, n: int, *, spacing: float
) -> np.ndarray:
    """Dart-throwing: ``n`` points in ``region`` at least ``spacing`` apart (shrinks if needed)."""
    candidates = points_in_polygon(rng, region, 40 * n + 50)
    d = spacing
    while True:
        chosen: list[np.ndarray] = []
        for p in candidates:
            if all(np.hypot(*(p - q)) >= d for q in chosen):
                chosen.append(p)
                if len(chosen) == n:
                    return np.asarray(chosen)
        d *= 0.85


def _county_polygon(rng: np.random.Generator, radius: float) -> Polygon:
    cx, cy = centre_xy()
    theta = np.linspace(0.0, 2 * np.pi, 96, endpoint=False)
    ph = rng.uniform(0, 2 * np.pi, 4)
    r = radius * (
        1.0
        + 0.10 * np.sin(2 * theta + ph[0])
        + 0.06 * np.sin(3 * theta + ph[1])
        + 0.03 * np.sin(5 * theta + ph[2])
        + 0.015 * np.sin(9 * theta + ph[3])
    )
    return Polygon(np.column_stack([cx + 1.15 * r * np.cos(theta), cy + r * np.sin(theta)]))


def _names(rng: np.random.Generator, n: int, used: set[str]) -> list[str]:
    out: list[str] = []
    while len(out) < n:
        name = str(rng.choice(_VILLAGE_FIRST)) + str(rng.choice(_VILLAGE_SECOND))
        if name[0] != name[1] and name not in used:
            used.add(name)
            out.append(name)
    return out


def build_geography(seed: int, sizes: Sizes) -> Geography:
    """Draw the county, its townships and villages (stream ``GEOGRAPHY``) and grids (``GRIDS``)."""
    rng = rng_for(seed, Part.GEOGRAPHY)
    county = _county_polygon(rng, sizes.radius_m)
    cx, cy = centre_xy()
    n_t = len(sizes.townships)
    phase = rng.uniform(0, 2 * np.pi)
    angles = phase + 2 * np.pi * np.arange(n_t - 1) / (n_t - 1)
    seeds_t = np.vstack(
        [
            [cx + rng.normal(0, 0.03) * sizes.radius_m, cy + rng.normal(0, 0.03) * sizes.radius_m],
            np.column_stack(
                [
                    cx + 0.62 * sizes.radius_m * 1.15 * np.cos(angles),
                    cy + 0.62 * sizes.radius_m * np.sin(angles),
                ]
            ),
        ]
    )
    township_tiles = voronoi_tiles(seeds_t, county)

    townships: list[dict[str, object]] = []
    villages: list[dict[str, object]] = []
    used: set[str] = set()
    for ti, (spec, tile) in enumerate(zip(sizes.townships, township_tiles, strict=True)):
        t_code = f"{COUNTY_CODE}{ti + 1:03d}000"
        centre = seeds_t[ti]
        townships.append(
            {
                "code": t_code,
                "name": spec.name,
                "geometry": tile,
                "centre_x": float(centre[0]),
                "centre_y": float(centre[1]),
                "is_town": spec.is_town,
            }
        )
        seeds: list[np.ndarray] = []
        if spec.communities:
            core = Point(centre).buffer(sizes.core_radius_m).intersection(tile)
            seeds.append(
                _spread(
                    rng, core, spec.communities, spacing=sizes.core_radius_m / spec.communities**0.5
                )
            )
        if spec.villages:
            region = tile
            if spec.communities:
                region = tile.difference(Point(centre).buffer(sizes.core_radius_m * 1.5))
            spacing = (region.area / spec.villages) ** 0.5 * 0.7
            seeds.append(_spread(rng, region, spec.villages, spacing=spacing))
        all_seeds = np.vstack(seeds)
        tiles = voronoi_tiles(all_seeds, tile)
        is_comm = np.arange(len(all_seeds)) < spec.communities
        comm_names = [f"{c}社区" for c in rng.choice(_COMMUNITIES, spec.communities, replace=False)]
        vill_names = [f"{v}村" for v in _names(rng, spec.villages, used)]
        # Codes follow GB/T 10114 practice: 居委会 (communities) 001-199, 村委会 200-399,
        # each numbered in reading order of its seed.
        top = float(tile.bounds[3])
        order = reading_order(all_seeds[:, 0], all_seeds[:, 1], band_m=1500.0, top=top)
        comm_seq = vill_seq = 0
        for idx in order:
            if is_comm[idx]:
                comm_seq += 1
                code, name = f"{t_code[:9]}{comm_seq:03d}", comm_names[comm_seq - 1]
            else:
                vill_seq += 1
                code, name = f"{t_code[:9]}{200 + vill_seq:03d}", vill_names[vill_seq - 1]
            villages.append(
                {
                    "code": code,
                    "name": name,
                    "township_code": t_code,
                    "is_community": bool(is_comm[idx]),
                    "geometry": tiles[idx],
                    "centre_x": float(all_seeds[idx, 0]),
                    "centre_y": float(all_seeds[idx, 1]),
                    "dist_town": float(np.hypot(*(all_seeds[idx] - centre))),
                }
            )
    tdf = pd.DataFrame(townships)
    vdf = pd.DataFrame(villages).sort_values("code", ignore_index=True)
    town_code = tdf.loc[tdf["is_town"], "code"].iloc[0]
    in_town = (vdf["township_code"] == town_code) & ~vdf["is_community"]
    vdf["urban_village"] = False
    if in_town.any():
        vdf.loc[vdf.loc[in_town, "dist_town"].idxmin(), "urban_village"] = True
    grids = _build_grids(seed, sizes, vdf)
    return Geography(county=county, townships=tdf, villages=vdf, grids=grids)


def _build_grids(seed: int, sizes: Sizes, villages: pd.DataFrame) -> pd.DataFrame:
    """综合 grids: Lloyd-relaxed Voronoi tiles of each village, numbered in reading order."""
    rng = rng_for(seed, Part.GRIDS)
    weights = np.where(
        villages["is_community"],
        rng.uniform(1.9, 2.4, len(villages)),
        rng.uniform(0.8, 1.2, len(villages)),
    )
    counts = allocate(sizes.grids, weights, minimum=2)
    rows: list[dict[str, object]] = []
    for village, n in zip(records(villages), counts, strict=True):
        geom = village.geometry
        seeds = lloyd(rng, geom, int(n))
        tiles = voronoi_tiles(seeds, geom)
        cents = shapely.get_coordinates(shapely.centroid(np.asarray(tiles, dtype=object)))
        band = (geom.area / n) ** 0.5
        order = reading_order(cents[:, 0], cents[:, 1], band_m=band, top=geom.bounds[3])
        if village.is_community:
            households = rng.integers(300, 501, int(n))
        else:
            households = rng.integers(250, 351, int(n))
        people = np.round(households * rng.uniform(2.6, 3.0, int(n))).astype(int)
        for seq, idx in enumerate(order, start=1):
            rows.append(
                {
                    "code": f"{village.code}{seq:03d}",
                    "name": f"{village.name}第{seq}网格",
                    "kind": "综合",
                    "village_code": village.code,
                    "households": int(households[idx]),
                    "population": int(people[idx]),
                    "geometry": tiles[idx],
                }
            )
    return pd.DataFrame(rows)


def admin_rows(geo: Geography) -> pd.DataFrame:
    """The admin-unit rows (county, townships, villages) with the canonical columns, metric."""
    county = pd.DataFrame(
        [
            {
                "code": COUNTY_CODE,
                "name": COUNTY_NAME,
                "level": "county",
                "parent_code": None,
                "geometry": geo.county,
            }
        ]
    )
    towns = geo.townships.assign(level="township", parent_code=COUNTY_CODE)
    vills = geo.villages.assign(level="village", parent_code=geo.villages["township_code"])
    cols = ["code", "name", "level", "parent_code", "geometry"]
    return pd.concat([county, towns[cols], vills[cols]], ignore_index=True)
