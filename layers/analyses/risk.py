"""Four-colour risk grades (蓝黄橙红) of every grid, village and township for each month.

:func:`refresh_risk` runs :func:`analysis.risk.grade_levels` with the method of
``data/risk.toml`` on:

- the grids of the scope (all of them, 专属 included: a school's grid is graded too), and the
  villages and townships with the population of their 综合 grids
  (:func:`analysis.risk.sum_population`);
- the scope's incidents of the graded months and of the trend's history before them;
- the month's hot spots: Gi* of that month's incidents on H3 r9 cells over the scope's outline
  (FDR 5 %, hot cells at ``Gi_Bin`` ≥ 2), computed on the fly; or, with ``hotspot_run``, the
  hot cells of a stored ``hotspots`` run for every month;
- the cameras' status (the current snapshot: the share offline or at fault).

The grades of the graded months inside the scope are replaced; each row keeps its score, the
factor breakdown (``{indicator: {value, count, expected, ratio, score, weight, contribution,
note}}``) and the explanation in Chinese and English.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from analysis.gistar import gi_star
from analysis.risk import grade_levels, load_config, sum_population
from gis.db import Database, get_database
from gis.errors import PinganError, ValidationError
from gis.queries import execute, fetch_all, fetch_one
from layers._store import copy_frame
from layers.access import area_scope
from layers.analyses._runs import (
    AnalysisRun,
    Inputs,
    clean_json,
    frame_of,
    read_run,
    to_json,
)
from layers.analyses._units import count_cells, tiling_grids
from layers.analyses.hotspots import read_hotspot_cells

__all__ = ["kpis", "read_risk_grades", "refresh_risk", "risk_months"]

LEVELS = ("grid", "village", "township")
GRADE_COLUMNS = (
    ("area_code", "text"),
    ("level", "text"),
    ("month", "date"),
    ("grade", "text"),
    ("score", "float8"),
    ("factors", "jsonb"),
    ("explanation", "jsonb"),
    ("run_id", "int8"),
)
FACTOR_FIELDS = ("value", "count", "expected", "ratio", "score", "weight", "contribution", "note")


def _month(value: str | date | pd.Timestamp | pd.Period) -> pd.Period:
    try:
        return pd.Period(str(value)[:7], freq="M")
    except ValueError:
        raise ValidationError("analyses.bad_month", value=str(value)) from None


def _monthly_hot_spots(
    inputs: Inputs, incidents: gpd.GeoDataFrame, months: pd.PeriodIndex
) -> gpd.GeoDataFrame | None:
    """Hot cells (``Gi_Bin`` ≥ 2, FDR) of each month's incidents on H3 r9, with ``month``."""
    try:
        cells = count_cells(inputs, incidents, unit="h3", resolution=9)
    except PinganError as exc:
        inputs.log.say("analyses.log_no_hot_cells", reason=exc.en)
        return None
    month_of = incidents["occurred_from"].dt.tz_localize(None).dt.to_period("M").to_numpy()
    parts = []
    for month in months:
        mine = (month_of == month) & (cells.agg.point_unit >= 0)
        counts = np.bincount(cells.agg.point_unit[mine], minlength=len(cells.ids)).astype(float)
        if np.ptp(counts) == 0:
            continue
        result = gi_star(counts, cells.weights, fdr=True, alpha=0.05)
        hot = result.bins >= 2
        if hot.any():
            parts.append(cells.units.loc[hot, ["geometry"]].assign(month=str(month)))
    inputs.log.say("analyses.log_risk_hot_spots", months=len(parts), of=len(months))
    if not parts:
        return None
    return gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs=cells.units.crs)


def _run_hot_spots(inputs: Inputs, run_id: int) -> gpd.GeoDataFrame:
    run = read_run(run_id, db=inputs.db)
    if run.kind != "hotspots":
        raise ValidationError("analyses.not_a_hotspot_run", run_id=run_id, kind=run.kind)
    cells = read_hotspot_cells(run_id, db=inputs.db)
    hot = cells[cells["bin"].fillna(0).to_numpy(dtype=int) >= 2]
    inputs.log.say("analyses.log_risk_hotspot_run", run_id=run_id, cells=len(hot))
    return hot[["geometry"]]


def _levels(inputs: Inputs) -> dict[str, gpd.GeoDataFrame]:
    grids = inputs.layer("grids")
    admin = inputs.layer("admin_units")
    tiling = tiling_grids(grids)
    levels: dict[str, gpd.GeoDataFrame] = {}
    if len(grids):
        levels["grid"] = grids
    for level in ("village", "township"):
        units = admin[(admin["level"] == level) & admin["code"].notna()]
        if len(units):
            levels[level] = sum_population(units, tiling) if len(tiling) else units
    if not levels:
        raise ValidationError("analyses.no_units_to_grade", area=inputs.area or "*")
    return levels


def _rows(grades: pd.DataFrame, factors: pd.DataFrame, run_id: int) -> dict[str, Any]:
    factor_map: dict[tuple[str, str], dict[str, Any]] = {}
    for record in factors.to_dict(orient="records"):
        entry = factor_map.setdefault((record["code"], record["month"]), {})
        entry[record["indicator"]] = clean_json({k: record[k] for k in FACTOR_FIELDS})
    keys = list(zip(grades["code"], grades["month"], strict=True))
    return {
        "area_code": grades["code"].astype(str).to_numpy(dtype=object),
        "level": grades["level"].astype(str).to_numpy(dtype=object),
        "month": pd.to_datetime(grades["month"] + "-01").to_numpy(),
        "grade": grades["grade"].astype(str).to_numpy(dtype=object),
        "score": grades["score"].to_numpy(dtype=float),
        "factors": [to_json(factor_map.get(k, {})) for k in keys],
        "explanation": [
            to_json({"zh": zh, "en": en})
            for zh, en in zip(grades["explanation_zh"], grades["explanation_en"], strict=True)
        ],
        "run_id": np.full(len(grades), run_id, dtype=np.int64),
    }


def refresh_risk(
    *,
    area: str | None = None,
    months: Sequence[str | date] | None = None,
    hotspot_run: int | None = None,
    db: Database | None = None,
) -> AnalysisRun:
    """Grade every grid, village and township of ``area`` for each month and store the grades.

    Parameters
    ----------
    area
        Admin-code prefix (digits; default everything).
    months
        Months to grade (``"2026-10"`` or any date in the month); default every month from the
        first to the last incident of the area.
    hotspot_run
        Take the hot spots from this stored ``hotspots`` run (the same for every month)
        instead of computing each month's.

    Returns
    -------
    AnalysisRun
        Kind ``risk``; ``summary["grades"]`` counts grades per level; rows via
        :func:`read_risk_grades`.
    """
    probe = Inputs.resolve(area=area, db=db)
    assert probe.start is not None and probe.end is not None
    if months:
        periods = pd.PeriodIndex(sorted({_month(m) for m in months}), freq="M")
    else:
        first = probe.start.tz_localize(None).to_period("M")
        last = (probe.end - pd.Timedelta(days=1)).tz_localize(None).to_period("M")
        periods = pd.period_range(first, last, freq="M")
    config = load_config()
    history = (
        int(config.indicators["trend"].options.get("months", 3))
        if "trend" in config.indicators
        else 0
    )
    tz = probe.timezone
    lo = (periods.min() - history).to_timestamp().tz_localize(tz)
    hi = (periods.max() + 1).to_timestamp().tz_localize(tz)
    inputs = Inputs.resolve(area=area, start=lo, end=hi, db=db, span=False)
    incidents = inputs.incidents(minimum=0)
    levels = _levels(inputs)
    keys = [str(p) for p in periods]
    if hotspot_run is not None:
        hot = _run_hot_spots(inputs, hotspot_run)
    else:
        graded = incidents[
            incidents["occurred_from"] >= periods.min().to_timestamp().tz_localize(tz)
        ]
        hot = _monthly_hot_spots(inputs, graded, periods) if len(graded) >= 3 else None
    cameras = inputs.layer("cameras")
    result = grade_levels(
        levels,
        incidents,
        months=keys,
        hot_spots=hot,
        cameras=cameras if len(cameras) else None,
        config=config,
        timezone=tz,
    )
    inputs.log.extend(result.log)
    grades = result.grades
    summary = {
        "months": [keys[0], keys[-1]],
        "units": {lvl: len(units) for lvl, units in levels.items()},
        "grades": {
            str(lvl): {str(g): int(n) for g, n in part["grade"].value_counts().items()}
            for lvl, part in grades.groupby("level")
        },
        "latest": {
            str(g): int(n)
            for g, n in grades.loc[
                (grades["month"] == keys[-1]) & (grades["level"] == "grid"), "grade"
            ]
            .value_counts()
            .items()
        },
    }
    params = {"months": keys, "hotspot_run": hotspot_run, "method": "data/risk.toml"}
    with inputs.db.connection() as conn:
        run_id = inputs.save(conn, "risk", params=params, summary=summary)
        execute(
            conn,
            "delete_risk_grades",
            months=[p.to_timestamp().date() for p in periods],
            scope=inputs.area,
        )
        copy_frame(
            conn, "risk_grade", GRADE_COLUMNS, _rows(grades, result.factors, run_id), len(grades)
        )
    return read_run(run_id, db=inputs.db)


def read_risk_grades(
    *,
    area: str | None = None,
    month: str | date,
    level: str = "grid",
    db: Database | None = None,
) -> gpd.GeoDataFrame:
    """The grades of one level (``grid``, ``village``, ``township``) and month inside ``area``:
    ``area_code``, ``name``, ``level``, ``month`` (first day), ``grade`` (``blue``, ``yellow``,
    ``orange``, ``red``), ``score`` (0–100), ``factors`` (dict by indicator), ``explanation``
    (``{"zh", "en"}``), ``run_id`` and the unit's polygon (storage CRS)."""
    if level not in LEVELS:
        raise ValidationError("analyses.bad_level", level=level, levels=", ".join(LEVELS))
    db = db or get_database()
    first = _month(month).to_timestamp().date()
    with db.connection() as conn:
        rows = fetch_all(conn, "read_risk_grades", scope=area_scope(area), month=first, level=level)
    columns = [
        "area_code",
        "name",
        "level",
        "month",
        "grade",
        "score",
        "factors",
        "explanation",
        "run_id",
    ]
    return frame_of(rows, srid=db.storage_srid, columns=columns)


def risk_months(*, db: Database | None = None) -> list[date]:
    """The months that have grades (their first days), oldest first."""
    db = db or get_database()
    with db.connection() as conn:
        return [r["month"] for r in fetch_all(conn, "risk_months")]


def _change(now: int, before: int) -> float | None:
    return None if before == 0 else (now - before) / before


def kpis(
    *, area: str | None = None, month: str | date, db: Database | None = None
) -> dict[str, Any]:
    """The overview's figures for ``month`` inside ``area``.

    Returns
    -------
    dict
        ``month`` (first day), ``incidents`` and ``robbery_theft`` (两抢一盗) this month, the
        same for last month and a year before (``*_last_month``, ``*_last_year``), the changes
        ``incidents_mom``, ``incidents_yoy``, ``robbery_theft_mom``, ``robbery_theft_yoy``
        (fractions, ``None`` when the earlier count is 0), ``open_key_areas``,
        ``overdue_key_areas``, ``grids_by_grade`` (``{grade: n}``), ``cameras`` and
        ``cameras_offline`` (offline or at fault).
    """
    db = db or get_database()
    first = _month(month).to_timestamp().date()
    with db.connection() as conn:
        row = fetch_one(conn, "analysis_kpis", scope=area_scope(area), month=first)
    assert row is not None
    out = dict(row)
    for key in ("incidents", "robbery_theft"):
        out[f"{key}_mom"] = _change(out[key], out[f"{key}_last_month"])
        out[f"{key}_yoy"] = _change(out[key], out[f"{key}_last_year"])
    return out
