"""Data shaping for the dashboard: layers in, small JSON-ready structures out.

Callbacks stay thin by calling these functions. The pure ones (everything but :func:`load_*`
and :func:`database`) take frames and plain values, so unit tests run them without a database.

Coordinates are sent as stored (EPSG:4490 CGCS2000 or EPSG:4326): Leaflet reads them as
WGS 84 longitude/latitude, and the two frames differ by centimetres, far below what a map
shows. Coordinates are rounded to 6 decimals (about 0.1 m).

Only base-layer geometry (admin units, grids, cameras, places) and per-grid incident counts
reach the browser from here (DESIGN §7: no more than about 50,000 raw features); incident
points are served per viewport by their own route at street zoom.

The base layers change only on import, so they are cached per process, keyed by the area and
by :func:`layers.access.base_version` (one cheap query: the latest import batch and the row
counts), so that a new import or a purge shows up on the next read.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any, TypeVar

import geopandas as gpd
import pandas as pd
import shapely
from dash import no_update

import layers
from dashboard._fov import field_of_view
from gis.db import Database, get_database
from gis.messages import Language, t
from gis.settings import get_settings
from layers.access import base_version
from layers.staff import mask_phone
from layers.taxonomy import DATA_DIR, default_taxonomy

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
        A 15-digit grid code scopes the counts to that grid.
    start, end
        Dates, ``start <= occurred day < end`` (``end`` is exclusive), or ``None``.
    categories
        Category codes, names or ``两抢一盗``; ``None`` = every category.
    hours
        Hours of day ``(from, to)``, ``to`` exclusive, wrapping midnight when ``from > to``
        (``(22, 6)``); ``None`` = the whole day. See :func:`layers.access.hour_filter` for how
        an incident known only by a time window counts.
    """

    area: str = ""
    start: date | None = None
    end: date | None = None
    categories: tuple[str, ...] | None = None
    hours: tuple[int, int] | None = None

    def to_json(self) -> dict[str, Any]:
        """The filter as the ``map-filter`` store holds it (other layers read it there)."""
        return {
            "area": self.area,
            "start": self.start.isoformat() if self.start else None,
            "end": self.end.isoformat() if self.end else None,
            "categories": list(self.categories) if self.categories else None,
            "hours": list(self.hours) if self.hours else None,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> IncidentFilter:
        """The filter back from :meth:`to_json` (``None``: no filter)."""
        if not data:
            return cls()
        hours = data.get("hours")
        return cls(
            area=data.get("area") or "",
            start=date.fromisoformat(data["start"]) if data.get("start") else None,
            end=date.fromisoformat(data["end"]) if data.get("end") else None,
            categories=tuple(data["categories"]) if data.get("categories") else None,
            hours=(int(hours[0]), int(hours[1])) if hours else None,
        )


def area_scope(township: str | None, village: str | None, grid: str | None = None) -> str:
    """The admin-code prefix of the chosen township, village or grid (``""`` = everything).

    A grid's scope is its 15-digit code, a village's its 12-digit code; a township's is its
    9-digit prefix (its code without the trailing ``000``), which all its villages and grids
    share.
    """
    if grid:
        return grid
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
    *,
    grid: str | None = None,
    hours: tuple[int, int] | None = None,
) -> IncidentFilter:
    """Turn the map's control values into an :class:`IncidentFilter`.

    ``end`` is the last day the user picked, included; the filter stores the day after.
    ``hours`` comes from :func:`hour_band`.
    """
    if isinstance(categories, str):
        categories = [categories]
    chosen = tuple(c for c in (categories or ()) if c)
    return IncidentFilter(
        area=area_scope(township, village, grid),
        start=date.fromisoformat(start[:10]) if start else None,
        end=date.fromisoformat(end[:10]) + timedelta(days=1) if end else None,
        categories=chosen or None,
        hours=hours,
    )


def hour_band(value: Sequence[int] | None, wrap: bool = False) -> tuple[int, int] | None:
    """The hours ``(from, to)`` of the hour slider, or ``None`` for the whole day.

    ``value`` is the slider's ``[low, high]`` (0–24); with ``wrap`` the band is the hours
    *outside* it, across midnight: ``[6, 22]`` wrapped is 22:00–06:00, ``(22, 6)``.
    """
    if not value:
        return None
    low, high = int(value[0]), int(value[1])
    band = (high % 24, low or 24) if wrap else (low, high)
    if band[0] == band[1] or (band[1] - band[0]) % 24 == 0:
        return None
    return band


def hour_label(hours: tuple[int, int] | None, *, language: Language) -> str:
    """``22:00–06:00``, or the catalogue's "all day"."""
    if hours is None:
        return t("dashboard.map.hours_all", language=language)
    return f"{hours[0]:02d}:00–{hours[1]:02d}:00"


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


def area_options(township: str | None, village: str | None) -> tuple[Any, Any, Any]:
    """The township and village dropdowns of a page: every township, the villages of the
    chosen township, and the village value (cleared if it lies elsewhere; ``no_update`` when
    unchanged, so that only a real change re-triggers what depends on it)."""
    units = load_admin_units()
    villages = admin_options(units, level="village", parent=township) if township else []
    keep = village if village in {v["value"] for v in villages} else None
    return (
        admin_options(units, level="township"),
        villages,
        keep if keep != village else no_update,
    )


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


CAMERA_PROPERTIES = (
    "source_id",
    "camera_code",
    "name",
    "kind",
    "status",
    "installed_on",
    "heading_deg",
    "fov_deg",
    "range_m",
    "height_m",
    "grid_code",
    "tooltip",
)


def camera_features(cameras: gpd.GeoDataFrame, *, language: Language) -> dict[str, Any]:
    """Cameras as GeoJSON points with :data:`CAMERA_PROPERTIES` (the click panel and the
    field-of-view wedge need nothing else) and a ``tooltip`` (name and status)."""
    frame = cameras.copy()
    if not frame.empty:
        frame["tooltip"] = [
            f"{name} · {t(f'dashboard.camera.status.{s}', language=language)}"
            if s in STATUS_COLOURS
            else str(name)
            for name, s in zip(frame["name"], frame["status"], strict=True)
        ]
    return feature_collection(frame, CAMERA_PROPERTIES)


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
    trend: list[tuple[str, int]] = dataclasses.field(default_factory=list)

    @property
    def head(self) -> dict[str, str | None] | None:
        """The grid head (网格长), if the grid has one."""
        return next((s for s in self.staff if s["role"] == "网格长"), None)


def grid_details(
    properties: Mapping[str, Any],
    staff: pd.DataFrame,
    counts: Mapping[str, int],
    trend: pd.Series | None = None,
) -> GridDetails:
    """Combine a clicked grid's properties, its staff, the filter's counts and the monthly
    trend (a Series indexed by month, as :func:`layers.incident_monthly_counts` returns)."""
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
        trend=month_rows(trend),
    )


def month_rows(trend: pd.Series | None) -> list[tuple[str, int]]:
    """``[("2025-07", 3), …]`` of a monthly Series, oldest first."""
    if trend is None or trend.empty:
        return []
    return [(pd.Timestamp(m).strftime("%Y-%m"), int(n)) for m, n in trend.items()]


def grid_options(grids: gpd.GeoDataFrame, village: str | None) -> list[dict[str, str]]:
    """Dropdown options of the grids of ``village``: ``code name`` (综合 grids first)."""
    if grids.empty or not village:
        return []
    mine = grids[grids["village_code"] == village].sort_values("code")
    return [
        {"label": f"{c[-3:]} {n}" if n else c, "value": c}
        for c, n in zip(mine["code"], mine["name"], strict=True)
    ]


def grid_properties(grids: gpd.GeoDataFrame, code: str, villages: Mapping[str, str]) -> dict | None:
    """The properties a grid feature carries (see :func:`grid_features`), or ``None``."""
    row = grids[grids["code"] == code]
    if row.empty:
        return None
    return grid_features(row, villages)["features"][0]["properties"]


def phones_visible(role: str) -> bool:
    """Whether a dashboard role sees full phone numbers (``viewer`` sees them masked)."""
    return role in ("staff", "admin")


def masked_staff(staff: pd.DataFrame, *, role: str) -> pd.DataFrame:
    """``staff`` with phones masked unless ``role`` may see them (:func:`phones_visible`)."""
    if phones_visible(role) or staff.empty or "phone" not in staff:
        return staff
    return staff.assign(phone=staff["phone"].map(mask_phone))


# -- the camera and incident panels ------------------------------------------------------------


def camera_view(feature: Mapping[str, Any], *, srid: int) -> tuple[dict[str, Any], str]:
    """The field of view of a clicked camera feature as a FeatureCollection, and its shape
    (``wedge``, ``circle`` or ``none``; see :func:`dashboard._fov.field_of_view`)."""
    lon, lat = feature["geometry"]["coordinates"][:2]
    p = feature.get("properties") or {}
    view = field_of_view(
        float(lon),
        float(lat),
        heading_deg=p.get("heading_deg"),
        fov_deg=p.get("fov_deg"),
        range_m=p.get("range_m"),
        srid=srid,
    )
    if view.geometry is None:
        return {"type": "FeatureCollection", "features": []}, view.shape
    frame = gpd.GeoDataFrame({"shape": [view.shape]}, geometry=[view.geometry], crs=srid)
    return feature_collection(frame, ["shape"]), view.shape


def incident_facts(row: Mapping[str, Any], *, language: Language) -> dict[str, Any]:
    """What the incident panel shows, from :func:`layers.incident_detail`'s dict."""
    name = row.get("category_en") if language == "en" else row.get("category_zh")
    start, end = row.get("occurred_from"), row.get("occurred_to")
    return {
        "id": row["id"],
        "category": f"{name or row.get('category_code')} ({row.get('category_code')})",
        "category_raw": row.get("category_raw"),
        "window": time_window(start, end),
        "reported": _minute(row.get("reported_at")),
        "address": row.get("address"),
        "geocode_level": row.get("geocode_level"),
        "grid": row.get("grid_code"),
        "source": f"{row.get('source')} · {row.get('source_id')}",
    }


def time_window(start: datetime | None, end: datetime | None) -> str:
    """``2026-03-01 22:10``, or ``2026-03-01 22:00 – 03-02 07:30`` for a window."""
    if start is None:
        return "—"
    first = pd.Timestamp(start).strftime("%Y-%m-%d %H:%M")
    if end is None or end == start:
        return first
    same_day = pd.Timestamp(end).date() == pd.Timestamp(start).date()
    last = pd.Timestamp(end).strftime("%H:%M" if same_day else "%m-%d %H:%M")
    return f"{first} – {last}"


def _minute(value: datetime | None) -> str | None:
    return None if value is None else pd.Timestamp(value).strftime("%Y-%m-%d %H:%M")


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


_T = TypeVar("_T")
_CACHE: dict[tuple[str, str, str], tuple[str, Any]] = {}
_CACHE_SIZE = 64


def cached(what: str, area: str, load: Callable[[], _T], db: Database) -> _T:
    """``load()``, kept per process until :func:`layers.access.base_version` changes.

    Keyed by the database, ``what`` and ``area``; at most :data:`_CACHE_SIZE` entries (the
    oldest go first).
    """
    version = base_version(db=db)
    key = (db.conninfo, what, area)
    hit = _CACHE.get(key)
    if hit is not None and hit[0] == version:
        return hit[1]  # type: ignore[no-any-return]
    value = load()
    _CACHE.pop(key, None)
    _CACHE[key] = (version, value)
    while len(_CACHE) > _CACHE_SIZE:
        _CACHE.pop(next(iter(_CACHE)))
    return value


def load_area(area: str, db: Database | None = None) -> AreaLayers:
    """Read the base layers of ``area`` (cached, see :func:`cached`); admin units always
    include the whole county, so the boundaries around the chosen area stay visible."""
    db = db or database()

    def read() -> AreaLayers:
        return AreaLayers(
            admin_units=load_admin_units(db),
            grids=layers.read("grids", area=area, db=db),  # type: ignore[arg-type]
            cameras=layers.read("cameras", area=area, db=db),  # type: ignore[arg-type]
            places=layers.read("places", area=area, db=db),  # type: ignore[arg-type]
        )

    return cached("area", area, read, db)


def load_admin_units(db: Database | None = None) -> gpd.GeoDataFrame:
    """Every admin unit (county, townships, villages), cached (see :func:`cached`)."""
    db = db or database()
    return cached("admin_units", "", lambda: layers.read("admin_units", db=db), db)


def load_counts(flt: IncidentFilter, db: Database | None = None) -> tuple[dict[str, int], int]:
    """Per-grid incident counts of the filter, and the total (inside grids or not), counted
    in the database: no incident row leaves it."""
    per_grid = layers.incident_counts(
        area=flt.area,
        start=flt.start,
        end=flt.end,
        categories=list(flt.categories) if flt.categories else None,
        hours=flt.hours,
        db=db or database(),
    )
    total = sum(per_grid.values())
    return {str(code): n for code, n in per_grid.items() if code is not None}, total


def load_trend(grid_code: str, flt: IncidentFilter, db: Database | None = None) -> pd.Series:
    """The grid's incidents per month for the filter's categories and hours: the 12 months
    ending with the filter's last day, or with the latest incident's month."""
    return layers.incident_monthly_counts(
        area=grid_code,
        until=flt.end - timedelta(days=1) if flt.end else None,
        categories=list(flt.categories) if flt.categories else None,
        hours=flt.hours,
        db=db or database(),
    )


def load_staff(
    grid_code: str, db: Database | None = None, *, role: str | None = None
) -> pd.DataFrame:
    """The staff of one grid, phones masked unless ``role`` (default the setting
    ``PINGAN_DASHBOARD_ROLE``) may see them."""
    staff = layers.read("grid_staff", area=grid_code, db=db or database())
    return masked_staff(staff, role=role or get_settings().dashboard_role)


def load_grid(code: str, db: Database | None = None) -> dict[str, Any] | None:
    """The properties of one grid (from the cached layers of its village), or ``None``."""
    area = load_area(code[:12], db)
    return grid_properties(area.grids, code, area.villages)


def load_incident(incident_id: int, db: Database | None = None) -> dict[str, Any] | None:
    """One incident for its panel (:func:`layers.incident_detail`), or ``None``."""
    return layers.incident_detail(incident_id, db=db or database())


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
