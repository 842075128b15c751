"""Data shaping for the dashboard: layers in, small JSON-ready structures out.

Callbacks stay thin by calling these functions. The pure ones (everything but :func:`load_*`
and :func:`database`) take frames and plain values, so unit tests run them without a database.

Coordinates are sent as stored (EPSG:4490 CGCS2000 or EPSG:4326): Leaflet reads them as
WGS 84 longitude/latitude, and the two frames differ by centimetres, far below what a map
shows. Coordinates are rounded to 6 decimals (about 0.1 m).

Only base-layer geometry (admin units, grids, cameras, places) and per-grid incident counts
reach the browser; incident points never do in this version (DESIGN §7: no more than about
50,000 raw features).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely

import layers
from gis.db import Database, get_database
from gis.messages import Language, t
from layers.taxonomy import DATA_DIR, GROUP_ALIASES, default_taxonomy

GROUP = "两抢一盗"
"""The category value that stands for the whole 两抢一盗 group."""

PRECISION = 1e-6  # degrees, about 0.1 m

# Sequential colours (ColorBrewer YlOrRd, 5 classes) for incidents per grid.
COUNT_COLOURS = ("#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026")
STATUS_COLOURS = {"online": "#1a9850", "offline": "#7f7f7f", "fault": "#d73027"}
ROLE_KEYS = {
    "网格长": "grid_head",
    "专职网格员": "full_time",
    "兼职网格员": "part_time",
    "网格指导员": "instructor",
    "社区民警": "police",
}

_database: Database | None = None


def use_database(db: Database | None) -> None:
    """Make the dashboard read ``db`` (default: the process database, opened on first use)."""
    global _database  # noqa: PLW0603 - one app, one database per process
    _database = db


def database() -> Database:
    """The database the dashboard reads."""
    return _database or get_database()


# -- the filter ---------------------------------------------------------------------------


@dataclass(frozen=True)
class IncidentFilter:
    """What the map's filters select.

    Attributes
    ----------
    area
        Admin-code prefix (digits; ``""`` = the whole database).
    start, end
        Dates, ``start <= occurred day < end`` (``end`` is exclusive), or ``None``.
    categories
        Category codes, names or ``两抢一盗``; ``None`` = every category.
    """

    area: str = ""
    start: date | None = None
    end: date | None = None
    categories: tuple[str, ...] | None = None


def area_scope(township: str | None, village: str | None) -> str:
    """The admin-code prefix of the chosen township or village (``""`` = everything).

    A village's scope is its 12-digit code; a township's is its 9-digit prefix (its code
    without the trailing ``000``), which all its villages and grids share.
    """
    if village:
        return village
    if township:
        return township[:9] if len(township) == 12 and township.endswith("000") else township
    return ""


def parse_filter(
    township: str | None,
    village: str | None,
    start: str | None,
    end: str | None,
    categories: Iterable[str] | str | None,
) -> IncidentFilter:
    """Turn the map's control values into an :class:`IncidentFilter`.

    ``end`` is the last day the user picked, included; the filter stores the day after.
    """
    if isinstance(categories, str):
        categories = [categories]
    chosen = tuple(c for c in (categories or ()) if c)
    return IncidentFilter(
        area=area_scope(township, village),
        start=date.fromisoformat(start[:10]) if start else None,
        end=date.fromisoformat(end[:10]) + timedelta(days=1) if end else None,
        categories=chosen or None,
    )


# -- GeoJSON ------------------------------------------------------------------------------


def _clean(value: Any) -> Any:
    """A JSON-safe scalar: NaN/NaT become None, numpy numbers become Python numbers."""
    if value is None:
        return None
    if value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, pd.Timestamp | date):
        return value.isoformat()
    return value


def feature_collection(frame: gpd.GeoDataFrame, columns: Iterable[str] = ()) -> dict[str, Any]:
    """A GeoJSON FeatureCollection of ``frame`` with the given property columns.

    Coordinates are rounded to :data:`PRECISION`; empty and missing geometries are left out.
    """
    columns = [c for c in columns if c in frame.columns]
    if frame.empty:
        return {"type": "FeatureCollection", "features": []}
    geoms = shapely.set_precision(frame.geometry.to_numpy(), PRECISION, mode="pointwise")
    texts = shapely.to_geojson(geoms)
    records = frame[columns].to_dict("records") if columns else [{}] * len(frame)
    features = []
    for text, geom, props in zip(texts, geoms, records, strict=True):
        if geom is None or shapely.is_empty(geom):
            continue
        features.append(
            {
                "type": "Feature",
                "geometry": json.loads(text),
                "properties": {k: _clean(v) for k, v in props.items()},
            }
        )
    return {"type": "FeatureCollection", "features": features}


def bounds_of(*frames: gpd.GeoDataFrame) -> list[list[float]] | None:
    """Leaflet bounds ``[[south, west], [north, east]]`` of the frames, or ``None`` if empty."""
    boxes = [f.total_bounds for f in frames if not f.empty]
    if not boxes:
        return None
    west = min(b[0] for b in boxes)
    south = min(b[1] for b in boxes)
    east = max(b[2] for b in boxes)
    north = max(b[3] for b in boxes)
    return [[float(south), float(west)], [float(north), float(east)]]


def grid_features(grids: gpd.GeoDataFrame, villages: Mapping[str, str]) -> dict[str, Any]:
    """Grids as GeoJSON with ``code``, ``name``, ``kind``, ``village_code``, ``village``,
    ``households``, ``population`` and ``tooltip`` (the code), 专属 grids last so that they
    are drawn over the 综合 grids they lie on."""
    frame = grids.copy()
    frame["village"] = frame["village_code"].map(villages)
    frame["tooltip"] = frame["code"]
    if "kind" in frame:
        frame = frame.assign(_order=(frame["kind"] == "专属").astype(int)).sort_values(
            ["_order", "code"], kind="stable"
        )
    return feature_collection(
        frame,
        ["code", "name", "kind", "village_code", "village", "households", "population", "tooltip"],
    )


def camera_features(cameras: gpd.GeoDataFrame, *, language: Language) -> dict[str, Any]:
    """Cameras as GeoJSON points with ``status`` and a ``tooltip`` (name and status)."""
    frame = cameras.copy()
    if not frame.empty:
        frame["tooltip"] = [
            f"{name} · {t(f'dashboard.camera.status.{s}', language=language)}"
            if s in STATUS_COLOURS
            else str(name)
            for name, s in zip(frame["name"], frame["status"], strict=True)
        ]
    return feature_collection(frame, ["source_id", "name", "status", "kind", "tooltip"])


def place_features(places: gpd.GeoDataFrame, *, kind_names: Mapping[str, str]) -> dict[str, Any]:
    """Places as GeoJSON with ``kind`` and a ``tooltip`` (name and kind)."""
    frame = places.copy()
    if not frame.empty:
        frame["tooltip"] = [
            f"{name} · {kind_names.get(kind, kind)}"
            for name, kind in zip(frame["name"], frame["kind"], strict=True)
        ]
    return feature_collection(frame, ["source_id", "name", "kind", "tooltip"])


# -- incident counts ----------------------------------------------------------------------


def count_classes(counts: Mapping[str, int], *, n_classes: int = len(COUNT_COLOURS)) -> list[int]:
    """Lower bounds of the colour classes of per-grid counts, starting at 0.

    Classes are quantiles of the non-zero counts, rounded to integers and made strictly
    increasing, so a map of few distinct values gets fewer classes rather than empty ones.
    """
    values = pd.Series([v for v in counts.values() if v > 0], dtype="float64")
    if values.empty:
        return [0]
    quantiles = values.quantile([i / n_classes for i in range(1, n_classes)]).to_numpy()
    bounds = [0, 1]
    for q in quantiles:
        b = int(q) + 1
        if b > bounds[-1]:
            bounds.append(b)
    return bounds[:n_classes]


def legend_rows(classes: list[int]) -> list[tuple[str, str]]:
    """``(colour, label)`` of each class: ``0``, ``1–4``, ``5–9``, …, ``≥ 20``."""
    colours = colours_for(classes)
    rows = []
    for i, (low, colour) in enumerate(zip(classes, colours, strict=True)):
        high = classes[i + 1] - 1 if i + 1 < len(classes) else None
        if high is None:
            label = f"≥ {low}" if low else "0"
        else:
            label = str(low) if high == low else f"{low}–{high}"
        rows.append((colour, label))
    return rows


def colours_for(classes: list[int]) -> list[str]:
    """The colour of each class: white-ish for 0, then the sequential ramp."""
    return ["#f7f7f7", *COUNT_COLOURS[: len(classes) - 1]]


# -- the grid panel -----------------------------------------------------------------------


@dataclass(frozen=True)
class GridDetails:
    """What the side panel shows for one grid."""

    code: str
    name: str | None
    kind: str | None
    village: str | None
    households: int | None
    population: int | None
    incidents: int
    staff: list[dict[str, str | None]]


def grid_details(
    properties: Mapping[str, Any], staff: pd.DataFrame, counts: Mapping[str, int]
) -> GridDetails:
    """Combine a clicked grid's properties, its staff and the filter's counts."""
    code = str(properties["code"])
    rows: list[dict[str, str | None]] = []
    if not staff.empty:
        mine = staff[staff["grid_code"] == code]
        order = {role: i for i, role in enumerate(ROLE_KEYS)}
        mine = mine.assign(_o=mine["role"].map(order).fillna(len(order))).sort_values(
            ["_o", "name"], kind="stable"
        )
        rows = [
            {"role": r, "name": n, "phone": _clean(p)}
            for r, n, p in zip(mine["role"], mine["name"], mine["phone"], strict=True)
        ]
    return GridDetails(
        code=code,
        name=_clean(properties.get("name")),
        kind=_clean(properties.get("kind")),
        village=_clean(properties.get("village")) or _clean(properties.get("village_code")),
        households=_clean(properties.get("households")),
        population=_clean(properties.get("population")),
        incidents=int(counts.get(code, 0)),
        staff=rows,
    )


def role_label(role: str, *, language: Language) -> str:
    """A staff role in the user's language (unknown roles as stored)."""
    key = ROLE_KEYS.get(role)
    return t(f"dashboard.role.{key}", language=language) if key else role


# -- category options ---------------------------------------------------------------------


def category_options(*, language: Language) -> list[dict[str, str]]:
    """Options of the category filter: the 两抢一盗 group first, then the taxonomy's
    first two levels (a parent includes its children when chosen)."""
    tax = default_taxonomy()
    cats = tax.categories
    options = [{"label": t("dashboard.map.group_option", language=language), "value": GROUP}]
    for code, level in zip(cats["code"], cats["level"], strict=True):
        if int(level) <= 2:
            indent = "\u3000" if int(level) == 2 else ""
            options.append({"label": f"{indent}{tax.name(code, language)}", "value": code})
    return options


def is_group(value: str) -> bool:
    """True if a category value names the 两抢一盗 group."""
    return value in GROUP_ALIASES or value == GROUP


# -- reading (the only functions that touch the database) ---------------------------------


@dataclass(frozen=True)
class AreaLayers:
    """The base layers of one area scope, as frames."""

    admin_units: gpd.GeoDataFrame
    grids: gpd.GeoDataFrame
    cameras: gpd.GeoDataFrame
    places: gpd.GeoDataFrame

    @property
    def villages(self) -> dict[str, str]:
        """Village code → name."""
        units = self.admin_units
        if units.empty:
            return {}
        v = units[units["level"] == "village"]
        return dict(zip(v["code"], v["name"], strict=True))


def load_area(area: str, db: Database | None = None) -> AreaLayers:
    """Read the base layers of ``area``; admin units always include the whole county, so
    the boundaries around the chosen area stay visible."""
    db = db or database()
    return AreaLayers(
        admin_units=load_admin_units(db),
        grids=layers.read("grids", area=area, db=db),  # type: ignore[arg-type]
        cameras=layers.read("cameras", area=area, db=db),  # type: ignore[arg-type]
        places=layers.read("places", area=area, db=db),  # type: ignore[arg-type]
    )


def load_admin_units(db: Database | None = None) -> gpd.GeoDataFrame:
    """Every admin unit (county, townships, villages)."""
    return layers.read("admin_units", db=db or database())  # type: ignore[return-value]


def load_counts(flt: IncidentFilter, db: Database | None = None) -> tuple[dict[str, int], int]:
    """Per-grid incident counts of the filter, and the total (inside grids or not), counted
    in the database: no incident row leaves it."""
    per_grid = layers.incident_counts(
        area=flt.area,
        start=flt.start,
        end=flt.end,
        categories=list(flt.categories) if flt.categories else None,
        db=db or database(),
    )
    total = sum(per_grid.values())
    return {str(code): n for code, n in per_grid.items() if code is not None}, total


def load_staff(grid_code: str, db: Database | None = None) -> pd.DataFrame:
    """The staff of one grid (phones unmasked: role-based masking comes with logins)."""
    return layers.read("grid_staff", area=grid_code, db=db or database())


def admin_options(units: gpd.GeoDataFrame, *, level: str, parent: str | None = None) -> list[dict]:
    """Dropdown options of the admin units of ``level`` (under ``parent`` if given)."""
    if units.empty:
        return []
    chosen = units[units["level"] == level]
    if parent:
        chosen = chosen[chosen["parent_code"] == parent]
    chosen = chosen.dropna(subset=["code"]).sort_values("code")
    return [{"label": n, "value": c} for c, n in zip(chosen["code"], chosen["name"], strict=True)]


@cache
def place_kind_names(*, language: Language) -> dict[str, str]:
    """Place kind code → name in ``language``, from ``data/place_kinds.csv``."""
    kinds = pd.read_csv(DATA_DIR / "place_kinds.csv", dtype=str)
    column = "name_en" if language == "en" else "name_zh"
    return dict(zip(kinds["code"], kinds[column], strict=True))
