"""Four-colour risk grading (四色风险等级: 蓝 blue, 黄 yellow, 橙 orange, 红 red) by month.

Every unit of one level (grids, villages or townships) gets, for each month, a score 0–100 and
a grade, with the breakdown behind it. The indicators, their weights and the thresholds live in
``data/risk.toml`` (:func:`load_config`):

``two_robberies_one_theft``, ``disputes``, ``other_crime``
    Incidents per 1,000 residents in the month. With ``scale = "relative"`` the score reads the
    smoothed ratio ``(O + a) / (E + a)`` of the unit's count ``O`` to ``E``, what the rate of
    all the level's units in that month predicts for the unit's residents (``a`` is
    ``smoothing``), so one incident in a hamlet is not a crime wave.
``trend``
    This month's count of the counted incidents against the mean of the previous ``months``
    months that have data, smoothed the same way.
``hotspot_share``
    The share of the unit's area inside the month's hot-spot polygons.
``camera_offline``
    The share of the unit's cameras whose status is offline or fault.

Each value becomes a score ``100 · clip((x − zero) / (full − zero), 0, 1)``; the grade score is
the weighted mean over the indicators that apply (weights of indicators that cannot be
measured, e.g. no cameras, no hot-spot run, no earlier month, are shared by the others). The
grade follows the thresholds, then the escalation rules (a 两抢一盗 rate three times the level's
is at least orange).

Residents: rates use ``max(population, min_population)``, so a unit with no residents is
measured as if ``min_population`` lived there, and nothing is divided by zero. The breakdown
marks such units.

Geometry may come in any CRS (normally EPSG:4490); areas and containment are measured in the
local metric CRS. A month is a calendar month of local time (``occurred_from`` in the
deployment time zone).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray

from analysis._incidents import (
    DEFAULT_TIMEZONE,
    CategorySelection,
    assign_to_units,
    incident_table,
    metric_crs_for,
    to_metric,
)
from analysis._rulefile import bad_entry, read_rule_file
from analysis.runlog import RunLog
from gis.errors import ValidationError
from gis.messages import t

__all__ = [
    "CONFIG_FILE",
    "GRADES",
    "RATE_INDICATORS",
    "RiskConfig",
    "RiskResult",
    "grade_levels",
    "load_config",
    "risk_grades",
    "sum_population",
]

CONFIG_FILE = Path(__file__).resolve().parents[1] / "data" / "risk.toml"
GRADES = ("blue", "yellow", "orange", "red")
RATE_INDICATORS = ("two_robberies_one_theft", "disputes", "other_crime")
INDICATORS = (*RATE_INDICATORS, "trend", "hotspot_share", "camera_offline")
SCALES = ("relative", "absolute")


@dataclass(frozen=True)
class Indicator:
    """One indicator's settings (a table ``[indicators.<name>]`` of the config)."""

    name: str
    weight: float
    zero: float
    full: float
    selection: CategorySelection = field(default_factory=CategorySelection)
    scale: str = "relative"
    options: Mapping[str, Any] = field(default_factory=dict)

    def score(self, value: NDArray[np.float64]) -> NDArray[np.float64]:
        """Score 0–100 of values (``NaN`` stays ``NaN``)."""
        return 100.0 * np.clip((value - self.zero) / (self.full - self.zero), 0.0, 1.0)


@dataclass(frozen=True)
class RiskConfig:
    """The grading method; build with :func:`load_config`."""

    indicators: Mapping[str, Indicator]
    thresholds: Mapping[str, float]
    escalate: tuple[tuple[str, float, str], ...]
    min_population: float = 100.0
    smoothing: float = 1.0


def load_config(path: str | Path | None = None) -> RiskConfig:
    """Read the grading method from ``data/risk.toml`` (or ``path``).

    Raises
    ------
    gis.errors.InputFileError
        The file is missing or is not TOML.
    gis.errors.ValidationError
        An indicator is unknown, a weight negative, ``full`` equals ``zero``, thresholds are not
        increasing, or an escalation names an unknown indicator or grade.
    """
    source, config = read_rule_file(path, default=CONFIG_FILE)
    indicators: dict[str, Indicator] = {}
    for name, entry in config.get("indicators", {}).items():
        if name not in INDICATORS:
            raise bad_entry(source, f"indicators.{name}", name, ", ".join(INDICATORS))
        ind = Indicator(
            name=name,
            weight=float(entry.get("weight", 0.0)),
            zero=float(entry.get("zero", 0.0)),
            full=float(entry.get("full", 1.0)),
            selection=CategorySelection.from_config(entry),
            scale=str(entry.get("scale", "relative")),
            options={
                k: v for k, v in entry.items() if k in ("of", "months", "offline", "where_none")
            },
        )
        if ind.weight < 0:
            raise bad_entry(source, f"indicators.{name}.weight", ind.weight, ">= 0")
        if ind.full == ind.zero:
            raise bad_entry(source, f"indicators.{name}.full", ind.full, f"!= zero ({ind.zero})")
        if ind.scale not in SCALES:
            raise bad_entry(source, f"indicators.{name}.scale", ind.scale, ", ".join(SCALES))
        indicators[name] = ind
    grades = config.get("grades", {})
    thresholds = {
        g: float(grades.get(g, d)) for g, d in (("yellow", 30), ("orange", 50), ("red", 70))
    }
    if not thresholds["yellow"] < thresholds["orange"] < thresholds["red"]:
        raise bad_entry(source, "grades", thresholds, "yellow < orange < red")
    escalate = []
    for i, entry in enumerate(config.get("escalate", [])):
        rule = (str(entry["indicator"]), float(entry.get("score", 100)), str(entry["grade"]))
        if rule[0] not in indicators or rule[2] not in GRADES:
            raise bad_entry(source, f"escalate[{i}]", rule, "a configured indicator and a grade")
        escalate.append(rule)
    return RiskConfig(
        indicators=indicators,
        thresholds=thresholds,
        escalate=tuple(escalate),
        min_population=float(config.get("min_population", 100)),
        smoothing=float(config.get("smoothing", 1.0)),
    )


@dataclass
class RiskResult:
    """Grades of every unit and month, with the factor breakdown behind each.

    Attributes
    ----------
    grades
        One row per (unit, month): ``code``, ``name``, ``level``, ``month`` (``"YYYY-MM"``),
        ``score`` (0–100), ``grade`` (``blue``/``yellow``/``orange``/``red``), ``escalated``
        (the grade was raised by an escalation rule), ``explanation_zh``, ``explanation_en``.
    factors
        One row per (unit, month, indicator): ``value`` (per 1,000 residents for the rates; a
        ratio for the trend; a share 0–1 for hot spots and cameras), ``count`` (incidents or
        cameras behind it), ``expected`` (what the level's rate predicts, for the rates),
        ``ratio`` (what the score read for relative rates and the trend), ``score`` (0–100),
        ``weight`` (as configured), ``contribution`` (its points in the grade score, after the
        weights of the indicators that apply are renormalised; 0 when it does not apply) and
        ``note`` (``""``, ``no_residents``, ``few_residents``, ``no_cameras``, ``no_history``,
        ``no_hotspots``).
    log
        The choices made (:class:`analysis.runlog.RunLog`).
    """

    grades: pd.DataFrame
    factors: pd.DataFrame
    log: RunLog = field(default_factory=RunLog)

    def breakdown(self, code: str, month: str) -> pd.DataFrame:
        """The factor rows of one unit and month."""
        rows = self.factors[(self.factors["code"] == code) & (self.factors["month"] == month)]
        return rows.reset_index(drop=True)


def sum_population(
    units: gpd.GeoDataFrame,
    grids: gpd.GeoDataFrame,
    *,
    columns: Sequence[str] = ("population", "households"),
) -> gpd.GeoDataFrame:
    """``units`` with the population (and households) of the grids that lie in each.

    A grid belongs to the unit that contains its representative point, measured in the local
    metric CRS; pass only the grids that tile their villages (kind 综合), so that no resident is
    counted twice.
    """
    crs = metric_crs_for(units, grids)
    unit_geoms = np.asarray(to_metric(units.geometry, crs, name="units").values, dtype=object)
    rep = shapely.point_on_surface(
        np.asarray(to_metric(grids.geometry, crs, name="grids").values, dtype=object)
    )
    owner = assign_to_units(shapely.get_x(rep), shapely.get_y(rep), unit_geoms)
    out = units.copy()
    inside = owner >= 0
    for column in columns:
        if column in grids.columns:
            values = pd.to_numeric(grids[column], errors="coerce").fillna(0).to_numpy()
            out[column] = np.bincount(owner[inside], weights=values[inside], minlength=len(units))
    return out


def _month_keys(months: pd.PeriodIndex) -> list[str]:
    return [str(m) for m in months]


def _pairs(
    x: NDArray[np.float64], y: NDArray[np.float64], units: NDArray[np.object_]
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """(point, unit) pairs of every unit a point lies in (overlapping units all count it)."""
    if not len(x) or not len(units):
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    tree = shapely.STRtree(units)
    point_i, unit_i = tree.query(shapely.points(x, y), predicate="intersects")
    return point_i.astype(np.int64), unit_i.astype(np.int64)


def _hotspot_shares(
    hot_spots: gpd.GeoDataFrame | None,
    units: NDArray[np.object_],
    months: list[str],
    crs: Any,
) -> NDArray[np.float64] | None:
    """Share of each unit's area inside the hot spots of each month, (units × months)."""
    if hot_spots is None:
        return None
    geoms = np.asarray(to_metric(hot_spots.geometry, crs, name="hot_spots").values, dtype=object)
    month_of = (
        hot_spots["month"].astype(str).to_numpy()
        if "month" in hot_spots.columns
        else np.full(len(geoms), "", dtype=object)
    )
    area = shapely.area(units)
    out = np.zeros((len(units), len(months)))
    always = np.isin(month_of, ["", "nan", "None", "NaT"])
    for j, month in enumerate(months):
        chosen = geoms[always | (month_of == month)]
        if not len(chosen):
            continue
        hot = shapely.union_all(chosen)
        out[:, j] = shapely.area(shapely.intersection(units, hot)) / np.where(area > 0, area, 1.0)
    return np.clip(out, 0.0, 1.0)


def risk_grades(
    units: gpd.GeoDataFrame,
    incidents: gpd.GeoDataFrame,
    *,
    level: str,
    months: Iterable[str] | None = None,
    hot_spots: gpd.GeoDataFrame | None = None,
    cameras: gpd.GeoDataFrame | None = None,
    config: RiskConfig | None = None,
    group_codes: Iterable[str] | None = None,
    timezone: str = DEFAULT_TIMEZONE,
) -> RiskResult:
    """Grade every unit of one level for each month.

    Parameters
    ----------
    units
        Polygons (any CRS, normally EPSG:4490) with ``code``, optional ``name`` and
        ``population`` (residents; missing or 0 means none, see :func:`sum_population` for
        villages and townships).
    incidents
        Points with ``category``, ``occurred_from`` (or ``occurred_at``) and the boolean
        ``two_robberies_one_theft`` (or pass ``group_codes``).
    level
        The level's name, kept in the result (``"grid"``, ``"village"``, ``"township"``).
    months
        ``"YYYY-MM"`` months to grade; default every month from the first to the last incident.
        Earlier months in ``incidents`` serve as the trend's history.
    hot_spots
        Hot-spot polygons (any CRS); a ``month`` column (``"YYYY-MM"``) ties a polygon to one
        month, rows without it apply to every month. Without it the indicator is left out.
    cameras
        Camera points with ``status`` (``online``/``offline``/``fault``), the current snapshot
        applied to every month. Without it the indicator is left out.
    config
        The method; default :func:`load_config`.
    group_codes
        The 两抢一盗 codes, when ``incidents`` has no flag column.
    timezone
        Deployment time zone: it decides the month of each incident.

    Returns
    -------
    RiskResult
    """
    config = config or load_config()
    if "code" not in units.columns:
        raise ValidationError("key_areas.missing_column", frame="units", column="code")
    log = RunLog()
    crs = metric_crs_for(units, incidents)
    geoms = np.asarray(to_metric(units.geometry, crs, name="units").values, dtype=object)
    table = incident_table(incidents, crs=crs, timezone=timezone, group_codes=group_codes)
    when = table.when.tz_localize(None).to_period("M")
    if months is None:
        if not len(when):
            raise ValidationError("risk.no_months")
        periods = pd.period_range(when.min(), when.max(), freq="M")
    else:
        try:
            periods = pd.PeriodIndex([pd.Period(str(m), freq="M") for m in months])
        except ValueError:
            raise ValidationError("risk.bad_months", months=", ".join(map(str, months))) from None
    keys = _month_keys(periods)
    first_data = when.min() if len(when) else periods[0]
    n_units, n_months = len(geoms), len(periods)

    pop_raw = (
        pd.to_numeric(units["population"], errors="coerce").fillna(0).to_numpy(dtype=np.float64)
        if "population" in units.columns
        else np.zeros(n_units)
    )
    pop = np.maximum(pop_raw, config.min_population)
    pop_note = np.where(
        pop_raw <= 0, "no_residents", np.where(pop_raw < config.min_population, "few_residents", "")
    )
    point_i, unit_i = _pairs(table.x, table.y, geoms)
    ind = config.indicators
    # monthly counts per class, over the graded months and the trend's history before them
    history = int(ind["trend"].options.get("months", 3)) if "trend" in ind else 0
    all_periods = pd.period_range(periods.min() - history, periods.max(), freq="M")
    col_of = (when - all_periods[0]).map(lambda off: off.n)
    col = np.asarray(col_of, dtype=np.int64)
    valid_time = (col >= 0) & (col < len(all_periods))
    counts: dict[str, NDArray[np.float64]] = {}
    for name in RATE_INDICATORS:
        if name not in ind:
            continue
        mask = table.select(ind[name].selection) & valid_time
        keep = mask[point_i]
        grid = np.zeros((n_units, len(all_periods)))
        np.add.at(grid, (unit_i[keep], col[point_i[keep]]), 1.0)
        counts[name] = grid
    offset = history
    rows: list[dict[str, Any]] = []

    shape = (n_units, n_months)
    a = config.smoothing
    for name in RATE_INDICATORS:
        if name not in ind:
            continue
        observed = counts[name][:, offset:]
        rate = observed.sum(axis=0) / pop.sum()
        expected = pop[:, None] * rate[None, :]
        per_1000 = observed * 1000.0 / pop[:, None]
        ratio = (observed + a) / (expected + a)
        x = ratio if ind[name].scale == "relative" else per_1000
        rows.append(
            _factor(
                name,
                shape,
                value=per_1000,
                count=observed,
                expected=expected,
                ratio=ratio,
                score=ind[name].score(x),
                note=pop_note[:, None],
            )
        )
    if "trend" in ind:
        of = [n for n in ind["trend"].options.get("of", RATE_INDICATORS) if n in counts]
        total = sum((counts[n] for n in of), np.zeros((n_units, len(all_periods))))
        this = total[:, offset:]
        prev_mean = np.full((n_units, n_months), np.nan)
        # the history is the `months` months before, from the first month with data on
        first_col = (first_data - all_periods[0]).n if len(when) else len(all_periods)
        for j in range(n_months):
            lo = max(j, first_col)
            if lo < j + offset:
                prev_mean[:, j] = total[:, lo : j + offset].mean(axis=1)
        ratio = (this + a) / (prev_mean + a)
        note = np.where(np.isnan(prev_mean), "no_history", "")
        rows.append(
            _factor(
                "trend",
                shape,
                value=ratio,
                count=this,
                expected=prev_mean,
                ratio=ratio,
                score=ind["trend"].score(ratio),
                note=note,
            )
        )
    if "hotspot_share" in ind:
        share = _hotspot_shares(hot_spots, geoms, keys, crs)
        if share is None:
            rows.append(
                _factor("hotspot_share", shape, value=np.nan, score=np.nan, note="no_hotspots")
            )
        else:
            score = ind["hotspot_share"].score(share)
            rows.append(_factor("hotspot_share", shape, value=share, score=score))
    if "camera_offline" in ind:
        rows.append(_camera_factor(cameras, geoms, ind["camera_offline"], crs=crs, shape=shape))
    grades = _combine(rows, units, level, keys, config)
    log.say("risk.log_run", level=level, units=n_units, months=n_months, crs=crs.to_string())
    log.say(
        "risk.log_population",
        none=int((pop_note == "no_residents").sum()),
        few=int((pop_note == "few_residents").sum()),
        floor=f"{config.min_population:g}",
    )
    return RiskResult(grades=grades[0], factors=grades[1], log=log)


def _factor(
    name: str,
    shape: tuple[int, int],
    *,
    value: Any,
    score: Any,
    count: Any = np.nan,
    expected: Any = np.nan,
    ratio: Any = np.nan,
    note: Any = "",
) -> dict[str, Any]:
    """One indicator's (units × months) arrays; scalars and per-unit columns are broadcast."""
    out: dict[str, Any] = {"indicator": name}
    for key, data in (
        ("value", value),
        ("count", count),
        ("expected", expected),
        ("ratio", ratio),
        ("score", score),
    ):
        out[key] = np.broadcast_to(np.asarray(data, dtype=np.float64), shape)
    out["note"] = np.broadcast_to(np.asarray(note, dtype=object), shape)
    return out


def _camera_factor(
    cameras: gpd.GeoDataFrame | None,
    units: NDArray[np.object_],
    indicator: Indicator,
    *,
    crs: Any,
    shape: tuple[int, int],
) -> dict[str, Any]:
    """The camera offline share per unit (the status snapshot, the same in every month)."""
    if cameras is None:
        return _factor("camera_offline", shape, value=np.nan, score=np.nan, note="no_cameras")
    points = np.asarray(to_metric(cameras.geometry, crs, name="cameras").values, dtype=object)
    offline_states = {str(s) for s in indicator.options.get("offline", ("offline", "fault"))}
    offline = cameras["status"].astype(str).isin(offline_states).to_numpy()
    cam_i, unit_i = _pairs(shapely.get_x(points), shapely.get_y(points), units)
    total = np.bincount(unit_i, minlength=len(units)).astype(np.float64)
    down = np.bincount(unit_i, weights=offline[cam_i].astype(float), minlength=len(units))
    share = np.where(total > 0, down / np.where(total > 0, total, 1.0), np.nan)
    score = indicator.score(share)
    where_none = indicator.options.get("where_none", "skip")
    if where_none != "skip":
        score = np.where(total > 0, score, float(where_none))
    return _factor(
        "camera_offline",
        shape,
        value=share[:, None],
        count=total[:, None],
        score=score[:, None],
        note=np.where(total > 0, "", "no_cameras")[:, None],
    )


def _grade_of(score: NDArray[np.float64], thresholds: Mapping[str, float]) -> NDArray[np.int64]:
    edges = [thresholds["yellow"], thresholds["orange"], thresholds["red"]]
    return np.searchsorted(np.asarray(edges), score, side="right").astype(np.int64)


def _combine(
    rows: list[dict[str, Any]],
    units: gpd.GeoDataFrame,
    level: str,
    months: list[str],
    config: RiskConfig,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Weighted scores, grades, escalations and explanations from the indicator arrays."""
    n_units, n_months = len(units), len(months)
    weights = np.array([config.indicators[r["indicator"]].weight for r in rows])
    scores = np.stack([r["score"] for r in rows])  # (indicators, units, months)
    applies = np.isfinite(scores)
    used = np.where(applies, weights[:, None, None], 0.0)
    total_w = used.sum(axis=0)
    contribution = np.where(applies, np.nan_to_num(scores) * used, 0.0) / np.where(
        total_w > 0, total_w, 1.0
    )
    score = contribution.sum(axis=0)
    grade = _grade_of(score, config.thresholds)
    escalated = np.zeros_like(grade, dtype=bool)
    names = [r["indicator"] for r in rows]
    for indicator, at_least, to_grade in config.escalate:
        k = names.index(indicator)
        hit = np.nan_to_num(scores[k], nan=-1.0) >= at_least
        target = GRADES.index(to_grade)
        raise_it = hit & (grade < target)
        grade = np.where(raise_it, target, grade)
        escalated |= raise_it
    codes = units["code"].astype(str).to_numpy()
    unit_names = units["name"].astype(str).to_numpy() if "name" in units.columns else codes
    unit_grid, month_grid = np.meshgrid(np.arange(n_units), np.arange(n_months), indexing="ij")
    uu, mm = unit_grid.ravel(), month_grid.ravel()
    top = np.argsort(-contribution, axis=0, kind="stable")
    explanations = [
        _explain(
            unit_names[u],
            months[m],
            score=float(score[u, m]),
            grade=int(grade[u, m]),
            top=[(names[k], float(contribution[k, u, m])) for k in top[:2, u, m]],
            escalated=bool(escalated[u, m]),
        )
        for u, m in zip(uu, mm, strict=True)
    ]
    grades = pd.DataFrame(
        {
            "code": codes[uu],
            "name": unit_names[uu],
            "level": level,
            "month": np.asarray(months, dtype=object)[mm],
            "score": np.round(score[uu, mm], 6),
            "grade": np.asarray(GRADES, dtype=object)[grade[uu, mm]],
            "escalated": escalated[uu, mm],
            "explanation_zh": [e[0] for e in explanations],
            "explanation_en": [e[1] for e in explanations],
        }
    )
    factor_frames = [
        pd.DataFrame(
            {
                "code": codes[uu],
                "month": np.asarray(months, dtype=object)[mm],
                "indicator": r["indicator"],
                "value": r["value"][uu, mm],
                "count": r["count"][uu, mm],
                "expected": r["expected"][uu, mm],
                "ratio": r["ratio"][uu, mm],
                "score": r["score"][uu, mm],
                "weight": weights[k],
                "contribution": contribution[k][uu, mm],
                "note": r["note"][uu, mm],
            }
        )
        for k, r in enumerate(rows)
    ]
    factors = pd.concat(factor_frames, ignore_index=True).sort_values(
        ["code", "month"], kind="stable", ignore_index=True
    )
    return grades, factors


def _explain(
    name: str,
    month: str,
    *,
    score: float,
    grade: int,
    top: list[tuple[str, float]],
    escalated: bool,
) -> tuple[str, str]:
    out = []
    for language in ("zh", "en"):
        factors = t("risk.factor_separator", language=language).join(
            t(
                "risk.factor",
                language=language,
                factor=t(f"risk.indicator_{k}", language=language),
                points=c,
            )
            for k, c in top
            if c > 0
        ) or t("risk.no_factor", language=language)
        key = "risk.explain_escalated" if escalated else "risk.explain"
        out.append(
            t(
                key,
                language=language,
                unit=name,
                month=month,
                grade=t(f"risk.grade_{GRADES[grade]}", language=language),
                score=score,
                factors=factors,
            )
        )
    return out[0], out[1]


def grade_levels(
    levels: Mapping[str, gpd.GeoDataFrame],
    incidents: gpd.GeoDataFrame,
    **options: Any,
) -> RiskResult:
    """:func:`risk_grades` for several levels (``{"grid": grids, "township": towns}``), joined."""
    results = [risk_grades(units, incidents, level=lvl, **options) for lvl, units in levels.items()]
    return RiskResult(
        grades=pd.concat([r.grades for r in results], ignore_index=True),
        factors=pd.concat(
            [r.factors.assign(level=lvl) for lvl, r in zip(levels, results, strict=True)],
            ignore_index=True,
        ),
        log=RunLog(entry for r in results for entry in r.log),
    )
