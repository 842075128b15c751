"""Shared plumbing of the demo county: random streams, sizes, projection and sampling.

Everything is built in the CGCS2000 3-degree Gauss-Krüger zone with central meridian 120°E
(EPSG:4549, metres) and converted to CGCS2000 longitude/latitude (EPSG:4490) at the end.
Only vertices are transformed, so shared edges stay shared and tilings stay exact.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer
from shapely.geometry.base import BaseGeometry

METRIC_EPSG = 4549
"""CGCS2000 / 3-degree Gauss-Kruger CM 120E: the metric CRS the county is drawn in."""
LONLAT_EPSG = 4490
"""CGCS2000 geographic: the CRS of every frame handed out."""
CENTRE_LONLAT = (119.9, 29.8)
"""Where the fictional county lies: hilly western Zhejiang-like country."""
TIMEZONE = "Asia/Shanghai"

DEMO_MARK = "演示数据"
COUNTY_CODE = "990101"
"""Province prefix 99 is not a real province, so no demo code can clash with a real one."""
COUNTY_NAME = f"清溪县（{DEMO_MARK}）"
PROVINCE_NAME = "演示省"
CITY_NAME = "云州市"
COUNTY_SHORT = "清溪县"


class Part(IntEnum):
    """Fixed ids of the random streams: ``default_rng([seed, part])``.

    Each part of the county draws from its own stream, so adding a part or changing the
    size of one (for example the number of incidents) never moves the others.
    """

    GEOGRAPHY = 1
    GRIDS = 2
    PLACES = 3
    ROADS = 4
    ADDRESSES = 5
    CAMERAS = 6
    PEOPLE = 7
    INCIDENTS = 8
    PLANTED = 9
    WINDOWS = 10


def rng_for(seed: int, part: Part) -> np.random.Generator:
    """Return the random generator of ``part`` for ``seed``."""
    return np.random.default_rng([int(seed), int(part)])


@dataclass(frozen=True)
class TownshipSpec:
    """One township: its name, number of urban communities (社区) and of villages (村)."""

    name: str
    communities: int
    villages: int
    is_town: bool = False


@dataclass(frozen=True)
class Sizes:
    """How big the county is. :data:`FULL` and :data:`SMALL` are the two presets."""

    radius_m: float
    townships: tuple[TownshipSpec, ...]
    grids: int
    cameras: int
    places: dict[str, int]
    incidents: int
    street_lattice: int
    street_spacing_m: float
    core_radius_m: float
    school_grids: int
    patrol_teams_per_township: int


FULL = Sizes(
    radius_m=15_000.0,
    townships=(
        TownshipSpec("城关镇", 12, 4, is_town=True),
        TownshipSpec("云岭乡", 0, 8),
        TownshipSpec("望川镇", 0, 8),
        TownshipSpec("竹岙乡", 0, 8),
    ),
    grids=250,
    cameras=350,
    places={
        "school": 24,
        "kindergarten": 36,
        "market": 8,
        "dock": 4,
        "warehouse": 10,
        "hospital": 5,
        "station": 5,
        "internet_cafe": 10,
        "entertainment": 12,
    },
    incidents=45_000,
    street_lattice=7,
    street_spacing_m=380.0,
    core_radius_m=1_500.0,
    school_grids=4,
    patrol_teams_per_township=2,
)

SMALL = Sizes(
    radius_m=6_000.0,
    townships=(
        TownshipSpec("城关镇", 3, 1, is_town=True),
        TownshipSpec("云岭乡", 0, 2),
        TownshipSpec("望川镇", 0, 2),
    ),
    grids=40,
    cameras=70,
    places={
        "school": 4,
        "kindergarten": 6,
        "market": 3,
        "dock": 1,
        "warehouse": 2,
        "hospital": 2,
        "station": 2,
        "internet_cafe": 3,
        "entertainment": 3,
    },
    incidents=4_000,
    street_lattice=5,
    street_spacing_m=320.0,
    core_radius_m=900.0,
    school_grids=2,
    patrol_teams_per_township=1,
)


_TO_LONLAT = Transformer.from_crs(METRIC_EPSG, LONLAT_EPSG, always_xy=True)
_TO_METRIC = Transformer.from_crs(LONLAT_EPSG, METRIC_EPSG, always_xy=True)


def centre_xy() -> tuple[float, float]:
    """Return the county centre in metres (EPSG:4549)."""
    x, y = _TO_METRIC.transform(*CENTRE_LONLAT)
    return float(x), float(y)


def to_lonlat_xy(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Convert metre arrays (EPSG:4549) to longitude/latitude arrays (EPSG:4490)."""
    lon, lat = _TO_LONLAT.transform(np.asarray(x, float), np.asarray(y, float))
    return np.asarray(lon, float), np.asarray(lat, float)


def to_lonlat(geoms: np.ndarray | list[BaseGeometry]) -> np.ndarray:
    """Convert shapely geometries from EPSG:4549 metres to EPSG:4490 degrees, vertex by vertex."""

    def _f(coords: np.ndarray) -> np.ndarray:
        lon, lat = _TO_LONLAT.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([lon, lat])

    return shapely.transform(np.asarray(geoms, dtype=object), _f)


def points_in_polygon(
    rng: np.random.Generator, polygon: BaseGeometry, n: int, *, inset_m: float = 0.0
) -> np.ndarray:
    """Draw ``n`` uniform points inside ``polygon`` (metres) by rejection; shape ``(n, 2)``.

    ``inset_m`` keeps the points that far from the boundary when the polygon allows it.
    """
    target = polygon.buffer(-inset_m) if inset_m > 0 else polygon
    if target.is_empty or target.area < 1.0:
        target = polygon
    shapely.prepare(target)
    minx, miny, maxx, maxy = target.bounds
    ratio = max((maxx - minx) * (maxy - miny) / max(target.area, 1e-9), 1.0)
    out = np.empty((0, 2))
    while len(out) < n:
        k = int((n - len(out)) * ratio * 1.3) + 16
        xs = rng.uniform(minx, maxx, k)
        ys = rng.uniform(miny, maxy, k)
        inside = shapely.contains_xy(target, xs, ys)
        out = np.vstack([out, np.column_stack([xs[inside], ys[inside]])])
    return out[:n]


def points_in_disk(
    rng: np.random.Generator,
    centre: tuple[float, float],
    radius_m: float,
    n: int,
    *,
    within: BaseGeometry | None = None,
) -> np.ndarray:
    """Draw ``n`` uniform points ``(n, 2)`` in a disk (metres), only inside ``within`` if given."""
    out = np.empty((0, 2))
    while len(out) < n:
        k = n - len(out)
        r = radius_m * np.sqrt(rng.uniform(0.0, 1.0, k))
        a = rng.uniform(0.0, 2 * np.pi, k)
        pts = np.column_stack([centre[0] + r * np.cos(a), centre[1] + r * np.sin(a)])
        if within is not None:
            pts = pts[shapely.contains_xy(within, pts[:, 0], pts[:, 1])]
        out = np.vstack([out, pts])
    return out


def allocate(total: int, weights: np.ndarray, *, minimum: int = 1) -> np.ndarray:
    """Split ``total`` into integers >= ``minimum``, proportional to ``weights``.

    Largest-remainder rounding, so the parts always add up to ``total``.
    """
    w = np.asarray(weights, float)
    spare = total - minimum * len(w)
    if spare < 0:
        raise ValueError("total is smaller than the minimum allocation")
    raw = spare * w / w.sum()
    out = np.floor(raw).astype(int)
    order = np.argsort(-(raw - out), kind="stable")
    out[order[: spare - int(out.sum())]] += 1
    return out + minimum


def reading_order(x: np.ndarray, y: np.ndarray, *, band_m: float, top: float) -> np.ndarray:
    """Return the indices of points in reading order: rows north→south, west→east within a row.

    A point's row is ``floor((top - y) / band_m)``; this is the numbering rule of grids
    (``docs/architecture.md``): west→east, then north→south.
    """
    rows = np.floor((top - np.asarray(y, float)) / band_m).astype(int)
    return np.lexsort((np.asarray(x, float), rows))


def records(frame: pd.DataFrame, *, index: bool = False) -> Iterator[Any]:
    """Iterate the rows of ``frame`` as named tuples (loosely typed: cells are of any type)."""
    return iter(frame.itertuples(index=index))
