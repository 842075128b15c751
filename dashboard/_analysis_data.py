"""Data shaping for the analysis pages (总览 Overview, 热点 Hotspots, 重点地区 Key areas).

Frames and run objects from the derived layers (:mod:`layers`: risk grades, KPIs, analysis
runs, hot-spot cells, clusters, the key-area register) come in; small JSON-ready structures
(GeoJSON, table rows, plotly figures as dicts) go out. The pure functions take frames and
plain values and are unit-tested without a database; the ``load_*`` functions and
:func:`analysis_work` are the only ones that read or write, always with an area scope.

Geometries arrive in the storage CRS (EPSG:4490 by default) and are sent as stored, rounded
to 6 decimals by :func:`dashboard._data.feature_collection` (Leaflet reads them as WGS 84;
the difference is centimetres).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely

import layers
from dashboard._data import _clean, area_scope, database, feature_collection
from gis.messages import Language, t
from layers.taxonomy import default_taxonomy

clean = _clean
"""A JSON-safe scalar (NaN/NaT → ``None``, numpy numbers → Python numbers)."""

# -- colours --------------------------------------------------------------------------------

GRADES = ("blue", "yellow", "orange", "red")
GRADE_COLOURS = {"blue": "#2b83ba", "yellow": "#f2d33a", "orange": "#f28e2b", "red": "#d7191c"}
"""The four risk colours 蓝黄橙红 (blue, yellow, orange, red)."""

STATUSES = ("found", "listed", "remediating", "delisted")
"""The key-area workflow 发现 → 挂牌 → 整治中 → 摘牌 (the layer enforces the moves)."""

RULES = (
    "hot_cells",
    "clusters",
    "school_surroundings",
    "market_surroundings",
    "transport_surroundings",
    "warehouse_surroundings",
    "internet_cafe_near_school",
)
"""The rule codes of ``data/key_areas.toml`` that have a label in the catalogue."""

STATUS_COLOURS = {
    "found": "#6a51a3",
    "listed": "#d94801",
    "remediating": "#2171b5",
    "delisted": "#238b45",
}


def number_text(value: Any, digits: int = 2) -> str:
    """A number for a table: integers as such, floats rounded, missing as ``—``."""
    value = _clean(value)
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if math.isinf(value):
            return "∞"
        if value.is_integer() and abs(value) < 1e15:
            return f"{int(value):,}"
        return f"{value:,.{digits}f}"
    return str(value)


def p_text(p: Any) -> str:
    """A p- or q-value: 3 significant digits, ``< 0.001`` below that."""
    p = _clean(p)
    if p is None:
        return "—"
    p = float(p)
    if math.isnan(p):
        return "—"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def category_name(code: Any, *, language: Language) -> str:
    """A taxonomy code's name in ``language`` (an unknown code shows as itself)."""
    taxonomy = default_taxonomy()
    code = str(code)
    return taxonomy.name(code, language) if code in taxonomy else code


# -- the area, the month and the map's first view --------------------------------------------


def scope_of(township: str | None, village: str | None) -> str:
    """The area scope of a page's township and village choice (``""`` = the whole county)."""
    return area_scope(township, village)


def map_view(bounds: list[list[float]] | None) -> dict[str, Any]:
    """``dl.Map`` keywords that open on ``bounds`` (react-leaflet needs a centre as well)."""
    if not bounds:
        return {"center": [30.0, 120.0], "zoom": 11}
    (south, west), (north, east) = bounds
    return {"center": [(south + north) / 2, (west + east) / 2], "zoom": 11, "bounds": bounds}


def month_value(value: Any) -> str:
    """A month as the dropdown holds it: ``"2026-10-01"``."""
    return pd.Timestamp(value).strftime("%Y-%m-01")


def month_options(months: Iterable[Any]) -> list[dict[str, str]]:
    """Dropdown options of the graded months, newest first (label ``2026-10``)."""
    values = sorted({month_value(m) for m in months}, reverse=True)
    return [{"label": v[:7], "value": v} for v in values]


def common_scope(codes: Iterable[str]) -> str:
    """The longest admin-code prefix shared by ``codes`` that is itself a scope (a township's
    9 digits, a village's 12, a grid's 15), ``""`` if none: the narrowest read that covers
    them all."""
    codes = [str(c) for c in codes if c]
    if not codes:
        return ""
    prefix = codes[0]
    for code in codes[1:]:
        n = 0
        while n < min(len(prefix), len(code)) and prefix[n] == code[n]:
            n += 1
        prefix = prefix[:n]
    for size in (15, 12, 9, 6):
        if len(prefix) >= size:
            return prefix[:size]
    return ""


# -- 总览 Overview -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Tile:
    """One KPI tile: a label key, the figure, an optional change line and a tone."""

    key: str
    value: str
    ident: str
    change: str | None = None
    tone: str = ""


def change_text(change: Any, *, language: Language) -> tuple[str | None, str]:
    """A relative change (``0.125`` = +12.5 %) as text and a tone (``up`` is worse)."""
    change = _clean(change)
    if change is None or (isinstance(change, float) and math.isnan(change)):
        return t("dashboard.analysis.no_change", language=language), ""
    if isinstance(change, float) and math.isinf(change):
        return "↑ " + t("dashboard.analysis.new", language=language), "up"
    percent = 100 * float(change)
    arrow = "↑" if percent > 0.05 else "↓" if percent < -0.05 else "→"
    tone = "up" if percent > 0.05 else "down" if percent < -0.05 else ""
    return f"{arrow} {abs(percent):.1f}%", tone


def kpi_tiles(kpis: Mapping[str, Any], *, language: Language) -> list[Tile]:
    """The overview's tiles from :func:`layers.kpis` (keys in ``docs/dashboard.md``)."""
    mom, mom_tone = change_text(kpis.get("incidents_mom"), language=language)
    yoy, yoy_tone = change_text(kpis.get("incidents_yoy"), language=language)
    group_mom, group_tone = change_text(kpis.get("robbery_theft_mom"), language=language)
    by_grade = kpis.get("grids_by_grade") or {}
    overdue = int(kpis.get("overdue_key_areas") or 0)
    offline = kpis.get("cameras_offline") or 0
    cameras = kpis.get("cameras") or 0
    return [
        Tile(
            "dashboard.overview.kpi_incidents",
            number_text(kpis.get("incidents", 0)),
            "overview-kpi-incidents",
            t("dashboard.overview.mom", language=language, change=mom),
            mom_tone,
        ),
        Tile(
            "dashboard.overview.kpi_yoy",
            yoy.split(" ", 1)[-1] if yoy_tone else yoy,
            "overview-kpi-yoy",
            t(
                "dashboard.overview.last_year",
                language=language,
                n=number_text(kpis.get("incidents_last_year")),
            ),
            yoy_tone,
        ),
        Tile(
            "dashboard.overview.kpi_group",
            number_text(kpis.get("robbery_theft", 0)),
            "overview-kpi-group",
            t("dashboard.overview.mom", language=language, change=group_mom),
            group_tone,
        ),
        Tile(
            "dashboard.overview.kpi_key_areas",
            number_text(kpis.get("open_key_areas", 0)),
            "overview-kpi-key-areas",
            t("dashboard.overview.overdue", language=language, n=overdue),
            "up" if overdue else "",
        ),
        Tile(
            "dashboard.overview.kpi_red",
            f"{int(by_grade.get('red', 0))} / {int(by_grade.get('orange', 0))}",
            "overview-kpi-red",
            " · ".join(
                f"{t(f'risk.grade_{g}', language=language)} {int(by_grade.get(g, 0))}"
                for g in GRADES
            ),
            "up" if by_grade.get("red") else "",
        ),
        Tile(
            "dashboard.overview.kpi_cameras",
            number_text(offline),
            "overview-kpi-cameras",
            t(
                "dashboard.overview.cameras_of",
                language=language,
                n=number_text(cameras),
                share=f"{100 * offline / cameras:.1f}%" if cameras else "—",
            ),
            "up" if offline else "",
        ),
    ]


def grade_features(grades: gpd.GeoDataFrame, *, language: Language) -> dict[str, Any]:
    """Risk grades as GeoJSON: ``code``, ``name``, ``level``, ``grade``, ``score`` and a
    ``tooltip`` (name, grade and score)."""
    frame = grades.copy()
    if not frame.empty:
        frame["code"] = frame["area_code"].astype(str)
        frame["tooltip"] = [
            f"{_clean(name) or code} · {t(f'risk.grade_{g}', language=language)} · {float(s):.0f}"
            for code, name, g, s in zip(
                frame["code"], frame["name"], frame["grade"], frame["score"], strict=True
            )
        ]
    return feature_collection(frame, ["code", "name", "level", "grade", "score", "tooltip"])


def grade_counts(grades: pd.DataFrame) -> dict[str, int]:
    """Units per grade, every grade present (0 when none)."""
    counts = grades["grade"].value_counts() if len(grades) else pd.Series(dtype=int)
    return {g: int(counts.get(g, 0)) for g in GRADES}


def grade_legend(counts: Mapping[str, int], *, language: Language) -> list[tuple[str, str]]:
    """``(colour, label)`` rows of the four grades, with the number of units of each."""
    return [
        (GRADE_COLOURS[g], f"{t(f'risk.grade_{g}', language=language)} ({counts.get(g, 0)})")
        for g in GRADES
    ]


def _factor_records(factors: Any) -> list[dict[str, Any]]:
    """The factor breakdown as a list of records with ``indicator``, whether it is stored as
    ``{indicator: {...}}`` or as ``[{"indicator": ..., ...}]``."""
    if isinstance(factors, Mapping):
        return [
            {"indicator": name, **(row if isinstance(row, Mapping) else {"value": row})}
            for name, row in factors.items()
        ]
    return [dict(row) for row in (factors or []) if isinstance(row, Mapping)]


@dataclass(frozen=True)
class FactorRow:
    """One indicator of a grade's breakdown, ready for the table."""

    indicator: str
    label: str
    value: str
    score: str
    weight: str
    points: float
    note: str


def factor_rows(factors: Any, *, language: Language) -> list[FactorRow]:
    """The breakdown of one grade, the largest contribution first. ``value`` is per 1,000
    residents for the rates, a ratio for the trend and a share for hot spots and cameras."""
    rows = []
    for r in _factor_records(factors):
        name = str(r["indicator"])
        share = name in ("hotspot_share", "camera_offline")
        value = _clean(r.get("value"))
        if share and isinstance(value, int | float) and not math.isnan(value):
            shown = f"{100 * value:.1f}%"
        else:
            shown = number_text(value)
        note = str(r.get("note") or "")
        rows.append(
            FactorRow(
                indicator=name,
                label=t(f"risk.indicator_{name}", language=language),
                value=shown,
                score=number_text(r.get("score"), 0),
                weight=number_text(r.get("weight"), 2),
                points=float(_clean(r.get("contribution")) or 0.0),
                note=t(f"dashboard.overview.note_{note}", language=language) if note else "",
            )
        )
    return sorted(rows, key=lambda row: -row.points)


def explanation(value: Any, *, language: Language) -> str:
    """A grade's explanation in ``language`` (stored as ``{"zh": ..., "en": ...}``)."""
    if isinstance(value, Mapping):
        return str(value.get(language) or value.get("zh") or "")
    return str(value or "")


def grade_row(grades: pd.DataFrame, code: str | None) -> dict[str, Any] | None:
    """The row of ``code`` among ``grades`` as a dict, or ``None``."""
    if not code or grades.empty:
        return None
    mine = grades[grades["area_code"].astype(str) == str(code)]
    if mine.empty:
        return None
    return {k: v for k, v in mine.iloc[0].items() if k != "geometry"}


# -- 重点地区 Key areas ----------------------------------------------------------------------


def status_label(status: str | None, *, language: Language) -> str:
    """发现 / 挂牌 / 整治中 / 摘牌 (Found, Listed, …)."""
    if status not in STATUSES:
        return str(status or "—")
    return t(f"dashboard.keyareas.status_{status}", language=language)


def rule_label(rule: str | None, *, language: Language) -> str:
    """The rule's name (a rule not in the catalogue shows its code)."""
    if rule in RULES:
        return t(f"dashboard.keyareas.rule_{rule}", language=language)
    return str(rule or "—")


def date_text(value: Any) -> str | None:
    """A date (or the date of a time stamp) as ``2026-10-31``, or ``None``."""
    value = _clean(value)
    if value is None:
        return None
    return str(value)[:10]


def register_rows(areas: pd.DataFrame, *, language: Language) -> list[dict[str, Any]]:
    """The register's rows: overdue first, then by status in the workflow's order, newest
    first. Each row: ``id``, ``rule``, ``name``, ``reason``, ``status``, ``status_label``,
    ``deadline``, ``unit``, ``overdue``, ``updated``."""
    if areas.empty:
        return []
    frame = pd.DataFrame(areas.drop(columns="geometry", errors="ignore"))
    frame["_status"] = frame["status"].map({s: i for i, s in enumerate(STATUSES)}).fillna(9)
    frame["_overdue"] = ~frame["overdue"].fillna(False).astype(bool)
    frame["_updated"] = pd.to_datetime(frame.get("updated_at"), utc=True, errors="coerce")
    frame = frame.sort_values(
        ["_overdue", "_status", "_updated", "id"], ascending=[True, True, False, False]
    )
    reason = "reason_en" if language == "en" else "reason_zh"
    return [
        {
            "id": int(r["id"]),
            "rule": rule_label(r.get("rule"), language=language),
            "name": _clean(r.get("name")) or f"#{int(r['id'])}",
            "reason": _clean(r.get(reason)) or _clean(r.get("reason_zh")) or "",
            "status": r["status"],
            "status_label": status_label(r["status"], language=language),
            "deadline": date_text(r.get("deadline")),
            "unit": _clean(r.get("responsible_unit")),
            "overdue": bool(_clean(r.get("overdue"))),
            "updated": date_text(r.get("updated_at")),
        }
        for r in frame.to_dict("records")
    ]


def filter_register(
    areas: gpd.GeoDataFrame, *, statuses: Sequence[str] | None, overdue_only: bool
) -> gpd.GeoDataFrame:
    """The register rows with one of ``statuses`` (all when empty), overdue ones if asked."""
    out = areas
    if statuses:
        out = out[out["status"].isin(list(statuses))]
    if overdue_only and len(out):
        out = out[out["overdue"].fillna(False).astype(bool)]
    return out


def open_areas(areas: pd.DataFrame) -> pd.DataFrame:
    """The key areas not yet delisted (摘牌)."""
    if areas.empty:
        return areas
    return areas[areas["status"] != "delisted"]


@dataclass(frozen=True)
class Step:
    """One step of the workflow bar: its status, label, and whether it is done or current."""

    status: str
    label: str
    state: str  # "done", "current" or "todo"


def workflow_steps(status: str | None, *, language: Language) -> list[Step]:
    """发现 → 挂牌 → 整治中 → 摘牌, marked up to ``status``."""
    at = STATUSES.index(status) if status in STATUSES else -1
    return [
        Step(
            s,
            status_label(s, language=language),
            "done" if i < at else "current" if i == at else "todo",
        )
        for i, s in enumerate(STATUSES)
    ]


def next_status(status: str | None) -> str | None:
    """The status a key area normally moves to next (``None`` once delisted)."""
    if status not in STATUSES:
        return None
    i = STATUSES.index(status)
    return STATUSES[i + 1] if i + 1 < len(STATUSES) else None


def history_rows(history: pd.DataFrame, *, language: Language) -> list[dict[str, Any]]:
    """The workflow history, newest first: ``at`` (minutes), ``actor``, ``move`` (from → to),
    ``deadline``, ``unit``, ``note``."""
    if history.empty:
        return []
    frame = history.assign(_at=pd.to_datetime(history["at"], utc=True, errors="coerce"))
    frame = frame.sort_values("_at", ascending=False, kind="stable")
    rows = []
    for r in frame.to_dict("records"):
        at = r["at"]
        at_text = pd.Timestamp(at).strftime("%Y-%m-%d %H:%M") if _clean(at) is not None else "—"
        before = r.get("from_status")
        move = status_label(r["to_status"], language=language)
        if _clean(before):
            move = f"{status_label(before, language=language)} → {move}"
        rows.append(
            {
                "at": at_text,
                "actor": _clean(r.get("actor")) or "—",
                "move": move,
                "deadline": date_text(r.get("deadline")) or "—",
                "unit": _clean(r.get("responsible_unit")) or "—",
                "note": _clean(r.get("note")) or "",
            }
        )
    return rows


EVIDENCE_FIELDS = (
    ("observed", "dashboard.keyareas.ev_observed"),
    ("expected", "dashboard.keyareas.ev_expected"),
    ("ratio", "dashboard.keyareas.ev_ratio"),
    ("p", "dashboard.keyareas.ev_p"),
    ("q", "dashboard.keyareas.ev_q"),
    ("n_cells", "dashboard.keyareas.ev_cells"),
    ("place_name", "dashboard.keyareas.ev_place"),
    ("zone_m", "dashboard.keyareas.ev_zone"),
)


def evidence_facts(
    evidence: Mapping[str, Any] | None, *, language: Language
) -> list[tuple[str, str]]:
    """``(label, value)`` rows of a key area's evidence: observed and expected incidents, the
    ratio, p and q (the Poisson test for places, the smallest Gi* values for hot cells),
    the place and zone, the period and the counted categories."""
    ev = dict(evidence or {})
    rows = []
    for name, key in EVIDENCE_FIELDS:
        value = _clean(ev.get(name))
        if value is None or value == "" or (name == "n_cells" and not value):
            if name in ("observed", "expected", "p", "q"):
                rows.append((t(key, language=language), "—"))
            continue
        if name in ("p", "q"):
            text = p_text(value)
        elif name == "zone_m":
            text = f"{value} m"
        else:
            text = number_text(value)
        rows.append((t(key, language=language), text))
    start, end = _clean(ev.get("period_start")), _clean(ev.get("period_end"))
    if start or end:
        rows.append(
            (t("dashboard.keyareas.ev_period", language=language), f"{start or '…'} – {end or '…'}")
        )
    by_category = ev.get("by_category") or {}
    if isinstance(by_category, Mapping) and by_category:
        parts = sorted(by_category.items(), key=lambda kv: -int(kv[1]))
        rows.append(
            (
                t("dashboard.keyareas.ev_categories", language=language),
                ", ".join(f"{category_name(code, language=language)} {n}" for code, n in parts),
            )
        )
    return rows


def key_area_features(areas: gpd.GeoDataFrame, *, language: Language) -> dict[str, Any]:
    """Key areas as GeoJSON: ``id``, ``name``, ``status``, ``overdue`` and a ``tooltip``."""
    frame = areas.copy()
    if not frame.empty:
        frame["tooltip"] = [
            f"{name or '#' + str(i)} · {status_label(s, language=language)}"
            + (f" · {t('dashboard.keyareas.overdue', language=language)}" if o else "")
            for i, name, s, o in zip(
                frame["id"], frame["name"], frame["status"], frame["overdue"], strict=True
            )
        ]
    return feature_collection(frame, ["id", "name", "status", "overdue", "tooltip"])


def incidents_inside(incidents: gpd.GeoDataFrame, area: Any, *, cap: int) -> gpd.GeoDataFrame:
    """The incidents of ``incidents`` inside the polygon ``area`` (same CRS), the latest
    ``cap`` kept."""
    if incidents.empty or area is None:
        return incidents.iloc[0:0]
    inside = incidents[shapely.intersects(incidents.geometry.to_numpy(), area)]
    if "occurred_from" in inside.columns and len(inside) > cap:
        inside = inside.sort_values("occurred_from", ascending=False).head(cap)
    return inside.head(cap)


# -- reading and writing (the only functions that touch the database) --------------------------


def load_months(db: Any = None) -> list[date]:
    """The months that have risk grades (:func:`layers.risk_months`)."""
    return list(layers.risk_months(db=db or database()))


def load_kpis(area: str, month: str, db: Any = None) -> dict[str, Any]:
    """The overview's figures for ``area`` and ``month`` (:func:`layers.kpis`)."""
    return dict(layers.kpis(area=area or None, month=month, db=db or database()))


def load_grades(area: str, month: str, level: str, db: Any = None) -> gpd.GeoDataFrame:
    """Risk grades of one level and month in ``area`` (:func:`layers.read_risk_grades`)."""
    return layers.read_risk_grades(  # type: ignore[no-any-return]
        area=area or None, month=month, level=level, db=db or database()
    )


def load_key_areas(area: str, db: Any = None) -> gpd.GeoDataFrame:
    """The key-area register of ``area`` (:func:`layers.read_key_areas`)."""
    return layers.read_key_areas(area=area or None, db=db or database())  # type: ignore[no-any-return]


def load_history(key_area_id: int, db: Any = None) -> pd.DataFrame:
    """One key area's workflow history (:func:`layers.key_area_history`)."""
    return layers.key_area_history(int(key_area_id), db=db or database())  # type: ignore[no-any-return]


def move_key_area(
    key_area_id: int,
    *,
    to_status: str,
    deadline: str | None,
    unit: str | None,
    note: str | None,
    actor: str | None,
    db: Any = None,
) -> None:
    """Move a key area in its workflow (:func:`layers.transition_key_area`); a refused move
    raises the layer's error with its bilingual message."""
    layers.transition_key_area(
        int(key_area_id),
        to_status=to_status,
        deadline=date.fromisoformat(deadline[:10]) if deadline else None,
        responsible_unit=(unit or "").strip() or None,
        note=(note or "").strip() or None,
        actor=(actor or "").strip() or None,
        db=db or database(),
    )


def load_evidence_incidents(
    area: Any, scope: str, evidence: Mapping[str, Any] | None, db: Any = None, *, cap: int = 3000
) -> gpd.GeoDataFrame:
    """The incidents counted as a key area's evidence: those of its period and categories,
    read in ``scope`` (the narrowest admin scope around the area), inside its polygon."""
    ev = dict(evidence or {})
    end = _clean(ev.get("period_end"))
    end_day = (date.fromisoformat(str(end)[:10]) + timedelta(days=1)) if end else None
    cats = ev.get("by_category")
    frame = layers.read(
        "incidents",
        area=scope,
        start=_clean(ev.get("period_start")),
        end=end_day,
        categories=sorted(cats) if isinstance(cats, Mapping) and cats else None,
        db=db or database(),
    )
    return incidents_inside(frame, area, cap=cap)  # type: ignore[arg-type]
