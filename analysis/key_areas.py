"""Key areas (重点地区): places and hot spots flagged for listed rectification, with evidence.

Three kinds of rule, configured in ``data/key_areas.toml`` (see :func:`load_rules`):

``hot_cells``
    Cells that Gi* called hot (``Gi_Bin`` at or above ``min_bin``), merged where they touch
    into connected areas, flagged when the area holds at least ``min_incidents`` 两抢一盗 in
    the period. The significance is the Gi* one (the smallest ``p`` and ``q`` of the area's
    cells are reported); this module does not redo it.
``clusters``
    Cluster polygons (DBSCAN/HDBSCAN or any other source) with at least ``min_incidents``.
    Cluster detection is not a test, so ``p`` and ``q`` stay empty.
``places``
    Zones of 50/100/200 m around places of given kinds (schools and kindergartens, markets,
    stations and docks, warehouses, internet cafés near schools), flagged when the incidents
    in the zone are significantly more than the surrounding area's rate predicts.

The place test
--------------
For a zone ``Z`` with ``k`` counted incidents, the expected count is ::

    mu = Σ_u  N_u · s(Z, u)

over the reference units ``u`` (villages, say) that ``Z`` overlaps, with ``N_u`` the unit's
counted incidents in the period and ``s`` the zone's *exposure share* of the unit:

- ``exposure = "population"``: the share of the unit's residents living in ``Z``, with each
  grid's population spread evenly over the grid (``Σ_g pop_g · |Z ∩ g| / |g|`` over the grids
  ``g`` of ``u``, divided by the unit's population). Units with no residents use the area share.
- ``exposure = "area"``: ``|Z ∩ u| / |u|``.

The one-sided exact Poisson p-value is ``P(X ≥ k | mu) = poisson.sf(k - 1, mu)``. Over all the
zones of one rule, p-values are adjusted by Benjamini–Hochberg (q-values, FDR) or Bonferroni.
A zone is flagged when ``q ≤ alpha``, ``k ≥ min_observed`` and ``k / mu ≥ min_ratio``.

All measuring is done in the local metric CRS (:func:`gis.crs.local_metric_crs_of`); the key
areas come back in EPSG:4490 (CGCS2000 longitude/latitude) unless ``out_crs`` says otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from numpy.typing import ArrayLike, NDArray
from scipy.stats import poisson

from analysis._incidents import (
    DEFAULT_TIMEZONE,
    CategorySelection,
    IncidentTable,
    assign_to_units,
    incident_table,
    local_period,
    metric_crs_for,
    to_metric,
)
from analysis._key_area_rules import (
    RULES_FILE,
    AreaRule,
    KeyAreaRules,
    PlaceRule,
    TestSettings,
    load_rules,
)
from analysis._significance import adjust_p
from analysis.runlog import RunLog
from gis.errors import ValidationError
from gis.messages import t

__all__ = [
    "AREA_COLUMNS",
    "RULES_FILE",
    "AreaRule",
    "HotCells",
    "KeyAreaResult",
    "KeyAreaRules",
    "PlaceRule",
    "TestSettings",
    "adjust_p",
    "key_areas",
    "load_rules",
    "merge_hot_cells",
    "poisson_p",
]

AREA_COLUMNS = (
    "area_id",
    "rule",
    "reason_zh",
    "reason_en",
    "place_source_id",
    "place_name",
    "place_kind",
    "zone_m",
    "observed",
    "expected",
    "ratio",
    "p",
    "q",
    "n_cells",
    "by_category",
    "period_start",
    "period_end",
)
"""Columns of :attr:`KeyAreaResult.areas` (plus ``geometry``)."""


# --------------------------------------------------------------------------------------------
# statistics


def poisson_p(observed: ArrayLike, expected: ArrayLike) -> NDArray[np.float64]:
    """One-sided exact Poisson p-value ``P(X ≥ observed)`` with ``X ~ Poisson(expected)``.

    ``observed = 0`` gives 1. ``expected = 0`` gives 0 when something was observed (an
    incident where none could be expected) and 1 otherwise.
    """
    k = np.asarray(observed, dtype=np.float64)
    mu = np.asarray(expected, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        p = np.where(mu > 0, poisson.sf(k - 1, np.where(mu > 0, mu, 1.0)), np.where(k > 0, 0, 1))
    return np.where(k <= 0, 1.0, p).astype(np.float64)


class _Exposure:
    """Expected counts of zones from the reference units' counts (metric CRS)."""

    def __init__(
        self,
        units: NDArray[np.object_],
        *,
        method: str,
        population: gpd.GeoDataFrame | None,
    ) -> None:
        self.units = units
        self.area = shapely.area(units)
        self.tree = shapely.STRtree(units)
        self.method = method
        self.pop_geoms: NDArray[np.object_] | None = None
        self.unit_pop = np.zeros(len(units))
        if method == "population" and population is not None:
            geoms = np.asarray(population.geometry.values, dtype=object)
            pops = pd.to_numeric(population["population"], errors="coerce").fillna(0).to_numpy()
            rep = shapely.point_on_surface(geoms)
            owner = assign_to_units(shapely.get_x(rep), shapely.get_y(rep), units)
            keep = (owner >= 0) & (pops > 0) & (shapely.area(geoms) > 0)
            self.pop_geoms, self.pop, self.pop_owner = geoms[keep], pops[keep], owner[keep]
            self.pop_area = shapely.area(self.pop_geoms)
            self.pop_tree = shapely.STRtree(self.pop_geoms)
            self.unit_pop = np.bincount(
                self.pop_owner, weights=self.pop, minlength=len(units)
            ).astype(np.float64)

    @property
    def units_without_residents(self) -> int:
        return int((self.unit_pop <= 0).sum()) if self.pop_geoms is not None else len(self.units)

    def shares(self, zones: NDArray[np.object_]) -> pd.Series:
        """Exposure share of every (zone, unit) pair with an overlap, indexed by the pair."""
        zi, ui = self.tree.query(zones, predicate="intersects")
        overlap = shapely.area(shapely.intersection(zones[zi], self.units[ui]))
        share = pd.Series(overlap / self.area[ui], index=pd.MultiIndex.from_arrays([zi, ui]))
        if self.pop_geoms is None:
            return share
        zj, gj = self.pop_tree.query(zones, predicate="intersects")
        part = shapely.area(shapely.intersection(zones[zj], self.pop_geoms[gj]))
        people = self.pop[gj] * part / self.pop_area[gj]
        owner = self.pop_owner[gj]
        by_pair = pd.Series(people).groupby([zj, owner]).sum()
        pop_share = by_pair / self.unit_pop[by_pair.index.get_level_values(1)]
        resident = self.unit_pop[ui] > 0
        share[resident] = pop_share.reindex(share.index[resident]).fillna(0.0).to_numpy()
        return share

    def expected(self, zones: NDArray[np.object_], unit_counts: NDArray[np.float64]) -> Any:
        """``mu`` of every zone: ``Σ_u N_u · share(zone, u)``."""
        share = self.shares(zones)
        units = share.index.get_level_values(1).to_numpy()
        zone_of = share.index.get_level_values(0).to_numpy()
        mu = np.bincount(
            zone_of, weights=share.to_numpy() * unit_counts[units], minlength=len(zones)
        )
        return mu


# --------------------------------------------------------------------------------------------
# inputs and results


@dataclass(frozen=True)
class HotCells:
    """Gi* results per cell, as the hot-cell rule reads them.

    Attributes
    ----------
    cells
        Cell polygons (GeoSeries or GeoDataFrame with a CRS; grid cells, H3 cells, fishnet).
    bins
        ``Gi_Bin`` per cell in −3…3, in the order of ``cells``.
    z, p, q
        Optional Gi* z-score, p-value and FDR-adjusted p-value per cell, for the evidence.
    """

    cells: gpd.GeoSeries | gpd.GeoDataFrame
    bins: ArrayLike
    z: ArrayLike | None = None
    p: ArrayLike | None = None
    q: ArrayLike | None = None

    @classmethod
    def from_result(cls, cells: gpd.GeoSeries | gpd.GeoDataFrame, result: Any) -> HotCells:
        """From a result with ``bins`` and optional ``z``, ``p``, ``q`` (e.g. ``GiStarResult``)."""
        return cls(
            cells=cells,
            bins=result.bins,
            z=getattr(result, "z", None),
            p=getattr(result, "p", None),
            q=getattr(result, "q", None),
        )


@dataclass
class KeyAreaResult:
    """Key areas found in one period, with every place-zone test behind them.

    Attributes
    ----------
    areas
        GeoDataFrame in ``out_crs`` (EPSG:4490 by default), one row per key area, with
        :data:`AREA_COLUMNS`: the rule code, the reason (zh, en), the place if any, the zone
        (``"0-200"`` metres, or ``""``), ``observed`` incidents, ``expected`` incidents (from
        the area's rate; ``NaN`` without reference units), ``ratio``, ``p`` and ``q`` (the
        Poisson test for places, the smallest Gi* values of the cells for hot areas, ``NaN``
        for clusters), ``n_cells`` (hot areas), ``by_category`` ({code: count} of the counted
        incidents) and the period (inclusive local dates).
    tests
        Every place-zone test (flagged or not): ``rule, place_source_id, place_name,
        place_kind, inner_m, outer_m, observed, expected, ratio, p, q, flagged``.
    log
        The choices made (:class:`analysis.runlog.RunLog`).
    crs
        The metric CRS all measuring was done in.
    """

    areas: gpd.GeoDataFrame
    tests: pd.DataFrame
    log: RunLog = field(default_factory=RunLog)
    crs: pyproj.CRS | None = None


def _reason(key: str, **params: Any) -> tuple[str, str]:
    return t(key, language="zh", **params), t(key, language="en", **params)


def _count_in(
    zones: NDArray[np.object_], incidents: IncidentTable, mask: NDArray[np.bool_]
) -> tuple[NDArray[np.int64], list[dict[str, int]]]:
    """Counted incidents in each zone, and their counts by category."""
    rows = np.flatnonzero(mask)
    tree = shapely.STRtree(shapely.points(incidents.x[rows], incidents.y[rows]))
    zi, pi = tree.query(zones, predicate="intersects")
    counts = np.bincount(zi, minlength=len(zones)).astype(np.int64)
    cats = pd.Series(incidents.category[rows[pi]], dtype=object)
    by_zone: list[dict[str, int]] = [{} for _ in range(len(zones))]
    for (z, code), n in cats.groupby([zi, cats.to_numpy()]).size().items():
        by_zone[int(z)][str(code)] = int(n)
    return counts, by_zone


def _zones(
    geoms: NDArray[np.object_], distances: Sequence[float], shape: str
) -> tuple[list[NDArray[np.object_]], list[float]]:
    """Disc (or ring) polygons around each geometry per distance, and the inner radii."""
    discs = [shapely.buffer(geoms, d, quad_segs=16) for d in distances]
    if shape == "discs":
        return discs, [0.0] * len(distances)
    rings = [discs[0]] + [shapely.difference(discs[i], discs[i - 1]) for i in range(1, len(discs))]
    return rings, [0.0, *distances[:-1]]


# --------------------------------------------------------------------------------------------
# the rules


@dataclass
class _Run:
    """What every rule of one run shares."""

    incidents: IncidentTable
    in_reference: NDArray[np.bool_]
    unit_of: NDArray[np.int64]
    exposure: _Exposure
    n_units: int
    start: pd.Timestamp
    end: pd.Timestamp
    test: TestSettings
    log: RunLog

    @property
    def dates(self) -> dict[str, str]:
        last = (self.end - pd.Timedelta(seconds=1)).date().isoformat()
        return {"start": self.start.date().isoformat(), "end": last}

    def mask(self, selection: CategorySelection) -> NDArray[np.bool_]:
        return self.incidents.select(selection, start=self.start, end=self.end) & self.in_reference

    def expected(self, zones: NDArray[np.object_], mask: NDArray[np.bool_]) -> Any:
        counts = np.bincount(self.unit_of[mask], minlength=self.n_units).astype(np.float64)
        return self.exposure.expected(zones, counts)


def _place_rule(
    run: _Run, rule: PlaceRule, places: gpd.GeoDataFrame
) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """All zone tests of one place rule, and the key-area rows of its flagged places."""
    kinds = places["kind"].astype(str)
    chosen = places[kinds.isin(rule.kinds).to_numpy()]
    if rule.near_kinds and len(chosen):
        near = places[kinds.isin(rule.near_kinds).to_numpy()]
        if len(near):
            tree = shapely.STRtree(np.asarray(near.geometry.values, dtype=object))
            hit, _ = tree.query(
                np.asarray(chosen.geometry.values, dtype=object),
                predicate="dwithin",
                distance=rule.near_m,
            )
            chosen = chosen.iloc[np.unique(hit)]
        else:
            chosen = chosen.iloc[:0]
    if not len(chosen):
        run.log.say("key_areas.log_no_places", rule=rule.code, kinds=", ".join(rule.kinds))
        return pd.DataFrame(), []
    mask = run.mask(rule.selection)
    zone_sets, inner = _zones(
        np.asarray(chosen.geometry.values, dtype=object), rule.distances_m, run.test.zones
    )
    frames = []
    for zones, lo, hi in zip(zone_sets, inner, rule.distances_m, strict=True):
        k, by_cat = _count_in(zones, run.incidents, mask)
        mu = run.expected(zones, mask)
        frames.append(
            pd.DataFrame(
                {
                    "rule": rule.code,
                    "place": np.arange(len(chosen)),
                    "inner_m": lo,
                    "outer_m": hi,
                    "observed": k,
                    "expected": mu,
                    "by_category": by_cat,
                    "geometry": zones,
                }
            )
        )
    tests = pd.concat(frames, ignore_index=True)
    tests["ratio"] = np.where(tests["expected"] > 0, tests["observed"] / tests["expected"], np.inf)
    tests.loc[tests["observed"] == 0, "ratio"] = 0.0
    tests["p"] = poisson_p(tests["observed"], tests["expected"])
    tests["q"] = adjust_p(tests["p"], method=run.test.correction)
    tests["flagged"] = (
        (tests["q"] <= run.test.alpha)
        & (tests["observed"] >= run.test.min_observed)
        & (tests["ratio"] >= run.test.min_ratio)
    )
    for column in ("source_id", "name", "kind"):
        values = chosen[column].to_numpy() if column in chosen.columns else np.full(len(chosen), "")
        tests[f"place_{column}"] = values[tests["place"].to_numpy()]
    run.log.say(
        "key_areas.log_place_rule",
        rule=rule.code,
        places=len(chosen),
        tests=len(tests),
        flagged=int(tests.loc[tests["flagged"], "place"].nunique()),
    )
    rows = []
    flagged = tests[tests["flagged"]].sort_values(["q", "outer_m"], ascending=[True, False])
    for _, best in flagged.groupby("place", sort=False).head(1).sort_values("place").iterrows():
        zone = _zone_label(best["inner_m"], best["outer_m"])
        zh, en = _reason(
            rule.reason,
            place=best["place_name"],
            zone=zone,
            observed=int(best["observed"]),
            expected=float(best["expected"]),
            p=_probability_text(float(best["p"])),
            q=_probability_text(float(best["q"])),
            **run.dates,
        )
        rows.append(
            _row(
                rule.code,
                (zh, en),
                best["geometry"],
                run,
                observed=int(best["observed"]),
                expected=float(best["expected"]),
                p=float(best["p"]),
                q=float(best["q"]),
                by_category=best["by_category"],
                place=(best["place_source_id"], best["place_name"], best["place_kind"]),
                zone=zone,
            )
        )
    return tests.drop(columns=["place", "geometry", "by_category"]), rows


def _zone_label(inner_m: float, outer_m: float) -> str:
    """``"200"`` for a disc of 200 m, ``"100-200"`` for a ring."""
    return f"{outer_m:g}" if inner_m <= 0 else f"{inner_m:g}-{outer_m:g}"


def _row(
    rule: str,
    reason: tuple[str, str],
    geometry: Any,
    run: _Run,
    *,
    observed: int,
    expected: float,
    p: float,
    q: float,
    by_category: dict[str, int],
    place: tuple[Any, Any, Any] = (None, None, None),
    zone: str = "",
    n_cells: int = 0,
) -> dict[str, Any]:
    ratio = observed / expected if expected > 0 else (np.inf if observed else 0.0)
    return {
        "rule": rule,
        "reason_zh": reason[0],
        "reason_en": reason[1],
        "place_source_id": place[0],
        "place_name": place[1],
        "place_kind": place[2],
        "zone_m": zone,
        "observed": observed,
        "expected": expected,
        "ratio": ratio,
        "p": p,
        "q": q,
        "n_cells": n_cells,
        "by_category": by_category,
        "period_start": run.dates["start"],
        "period_end": run.dates["end"],
        "geometry": geometry,
    }


def _polygon_rule(
    run: _Run,
    rule: AreaRule,
    polygons: NDArray[np.object_],
    *,
    cells: list[NDArray[np.int64]] | None = None,
    hot: HotCells | None = None,
) -> list[dict[str, Any]]:
    """Key-area rows of hot areas (``cells`` given) or clusters with enough incidents."""
    if not len(polygons):
        return []
    mask = run.mask(rule.selection)
    counts, by_cat = _count_in(polygons, run.incidents, mask)
    mu = run.expected(polygons, mask)
    rows = []
    for i in np.flatnonzero(counts >= rule.min_incidents):
        p = q = float("nan")
        n_cells = 0
        params: dict[str, Any] = {}
        if cells is not None and hot is not None:
            members = cells[i]
            n_cells = len(members)
            p = _smallest(hot.p, members)
            q = _smallest(hot.q, members)
            params = {"cells": n_cells, "z": -_smallest(_negated(hot.z), members)}
        reason = _reason(
            rule.reason, observed=int(counts[i]), expected=float(mu[i]), **params, **run.dates
        )
        rows.append(
            _row(
                rule.code,
                reason,
                polygons[i],
                run,
                observed=int(counts[i]),
                expected=float(mu[i]),
                p=p,
                q=q,
                by_category=by_cat[i],
                n_cells=n_cells,
            )
        )
    run.log.say("key_areas.log_area_rule", rule=rule.code, areas=len(polygons), flagged=len(rows))
    return rows


def _negated(values: ArrayLike | None) -> NDArray[np.float64] | None:
    return None if values is None else -np.asarray(values, dtype=np.float64)


def _smallest(values: ArrayLike | None, members: NDArray[np.int64]) -> float:
    if values is None:
        return float("nan")
    picked = np.asarray(values, dtype=np.float64)[members]
    picked = picked[np.isfinite(picked)]
    return float(picked.min()) if len(picked) else float("nan")


def _probability_text(value: float) -> str:
    """A p or q value for a reason line: two significant digits, and never a bare "0" (the
    Poisson tail underflows below about 1e-300; the exact value is kept in the evidence)."""
    if value < 1e-300:
        return "<1e-300"
    return f"{value:.2g}"


def merge_hot_cells(
    cells: NDArray[np.object_], *, gap_m: float
) -> tuple[NDArray[np.object_], list[NDArray[np.int64]]]:
    """Merge touching (or nearer than ``gap_m`` metres) cell polygons into connected areas.

    Returns the area polygons (the union of their cells, no buffer added) and, per area, the
    positions of its cells in ``cells``. Coordinates must be metric.
    """
    if not len(cells):
        return np.empty(0, dtype=object), []
    grown = shapely.get_parts(shapely.union_all(shapely.buffer(cells, max(gap_m, 1e-6) / 2)))
    tree = shapely.STRtree(grown)
    cell_i, area_i = tree.query(shapely.point_on_surface(cells), predicate="within")
    owner = np.full(len(cells), -1, dtype=np.int64)
    owner[cell_i] = area_i
    members = [np.flatnonzero(owner == a) for a in range(len(grown))]
    keep = [m for m in members if len(m)]
    areas = np.array([shapely.union_all(cells[m]) for m in keep], dtype=object)
    return areas, keep


def key_areas(
    incidents: gpd.GeoDataFrame,
    *,
    reference: gpd.GeoDataFrame,
    start: Any,
    end: Any,
    places: gpd.GeoDataFrame | None = None,
    population: gpd.GeoDataFrame | None = None,
    hot_cells: HotCells | None = None,
    clusters: gpd.GeoDataFrame | gpd.GeoSeries | None = None,
    rules: KeyAreaRules | None = None,
    group_codes: Iterable[str] | None = None,
    timezone: str = DEFAULT_TIMEZONE,
    out_crs: int | str | pyproj.CRS = 4490,
) -> KeyAreaResult:
    """Flag the key areas of one period by every rule that has its inputs.

    Parameters
    ----------
    incidents
        Points (EPSG:4490 or any CRS) with ``category`` (taxonomy code), ``occurred_from``
        (or ``occurred_at``) and the boolean ``two_robberies_one_theft`` (or pass
        ``group_codes``).
    reference
        The units whose rate predicts a zone's count: villages (村/社区) normally, or
        townships or grids; polygons that tile the area, any CRS. Incidents outside every unit
        are left out of all counts (logged).
    start, end
        The period, inclusive local dates (``"2026-01-01"``, ``"2026-10-31"``).
    places
        Places with ``kind`` (codes of ``data/place_kinds.csv``), ``name`` and ``source_id``;
        points or polygons. Without them the place rules do not run.
    population
        Polygons with ``population`` (the 综合 grids, which tile their villages) for the
        population exposure; without them every unit uses the area share (logged).
    hot_cells
        Gi* results per cell (:class:`HotCells`). Without them the hot-cell rule does not run.
    clusters
        Cluster polygons (any CRS). Without them the cluster rule does not run.
    rules
        The rules; default :func:`load_rules` of ``data/key_areas.toml``.
    group_codes
        The 两抢一盗 codes, when ``incidents`` has no flag column.
    timezone
        Deployment time zone: it decides which day, hour and period an incident falls in.
    out_crs
        CRS of the returned polygons (default EPSG:4490).

    Returns
    -------
    KeyAreaResult
        The key areas (polygons in ``out_crs``), every place-zone test and the run log.
    """
    rules = rules or load_rules()
    lo, hi = local_period(start, end, timezone=timezone)
    crs = metric_crs_for(reference, incidents)
    log = RunLog()
    table = incident_table(incidents, crs=crs, timezone=timezone, group_codes=group_codes)
    units = np.asarray(to_metric(reference.geometry, crs, name="reference").values, dtype=object)
    unit_of = assign_to_units(table.x, table.y, units)
    method = rules.test.exposure
    pop_metric = None if population is None else to_metric(population, crs, name="population")
    if method == "population" and pop_metric is None:
        log.say("key_areas.log_no_population")
        method = "area"
    exposure = _Exposure(units, method=method, population=pop_metric)
    run = _Run(
        incidents=table,
        in_reference=unit_of >= 0,
        unit_of=unit_of,
        exposure=exposure,
        n_units=len(units),
        start=lo,
        end=hi,
        test=rules.test,
        log=log,
    )
    log.say(
        "key_areas.log_setup",
        crs=crs.to_string(),
        units=len(units),
        incidents=len(table),
        outside=int((unit_of < 0).sum()),
        dropped=table.dropped,
        **run.dates,
    )
    if method == "population":
        log.say("key_areas.log_population", without=exposure.units_without_residents)
    log.say(
        "key_areas.log_test",
        correction=rules.test.correction,
        alpha=rules.test.alpha,
        zones=rules.test.zones,
        min_observed=rules.test.min_observed,
        min_ratio=rules.test.min_ratio,
    )

    rows: list[dict[str, Any]] = []
    tests: list[pd.DataFrame] = []
    if hot_cells is not None:
        cells = np.asarray(to_metric(hot_cells.cells, crs, name="hot_cells").geometry.values)
        bins = np.asarray(hot_cells.bins, dtype=np.int64)
        if len(bins) != len(cells):
            raise ValidationError("key_areas.length_mismatch", cells=len(cells), bins=len(bins))
        picked = np.flatnonzero(bins >= rules.hot_cells.min_bin)
        areas, members = merge_hot_cells(cells[picked], gap_m=rules.hot_cells.merge_gap_m)
        rows += _polygon_rule(
            run, rules.hot_cells, areas, cells=[picked[m] for m in members], hot=hot_cells
        )
    if clusters is not None:
        polys = np.asarray(to_metric(clusters, crs, name="clusters").geometry.values, dtype=object)
        rows += _polygon_rule(run, rules.clusters, polys)
    if places is not None:
        if "kind" not in places.columns:
            raise ValidationError("key_areas.missing_column", frame="places", column="kind")
        metric_places = to_metric(places, crs, name="places")
        for rule in rules.places:
            frame, found = _place_rule(run, rule, metric_places)
            tests.append(frame)
            rows += found
    return _result(rows, tests, log=log, crs=crs, out_crs=out_crs)


def _result(
    rows: list[dict[str, Any]],
    tests: list[pd.DataFrame],
    *,
    log: RunLog,
    crs: pyproj.CRS,
    out_crs: int | str | pyproj.CRS,
) -> KeyAreaResult:
    frame = pd.DataFrame(rows, columns=[*AREA_COLUMNS[1:], "geometry"])
    serial = frame.groupby("rule", sort=False).cumcount() + 1
    frame.insert(0, "area_id", [f"{r}-{n:03d}" for r, n in zip(frame["rule"], serial, strict=True)])
    areas = gpd.GeoDataFrame(frame, geometry="geometry", crs=crs).to_crs(out_crs)
    test_columns = [
        "rule",
        "place_source_id",
        "place_name",
        "place_kind",
        "inner_m",
        "outer_m",
        "observed",
        "expected",
        "ratio",
        "p",
        "q",
        "flagged",
    ]
    kept = [f for f in tests if len(f)]
    all_tests = (
        pd.concat(kept, ignore_index=True)[test_columns]
        if kept
        else pd.DataFrame(columns=test_columns)
    )
    return KeyAreaResult(areas=areas, tests=all_tests, log=log, crs=crs)
