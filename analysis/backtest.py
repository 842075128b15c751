"""Rolling-window backtests of hotspot forecasts over held-out months.

A **method** is any callable ``method(history) -> scores``: given a :class:`History` (the
incidents known before the forecast month, placed in a fixed :class:`CellSet`), it returns one
score per cell: the expected number of incidents next month, ranked per km² so that cells of
different size compare fairly (a method whose scores are not counts, such as a z-score, sets the
attribute ``method.per_area = False`` and is ranked as it is).
:func:`backtest` moves a one-month window over the last ``n_windows`` months of the data: for
each held-out month it gives every method all incidents *before* that month (expanding window,
or the last ``train_months``), ranks the cells, and scores the ranking against the month's
incidents with :func:`analysis.evaluation.evaluate`: PAI, PEI, PEI* and hit rate at 1 % and
5 % of the area, and the hit-rate curve at 1-20 %. Nothing of the held-out month reaches a method.

Built-in methods (:func:`default_methods`):

``naive``
    Last month's count per cell (DESIGN.md §6's naive baseline).
``kde``
    The quartic kernel density of the last 12 months (:func:`analysis.kde.kde`, ArcGIS's
    default bandwidth rule) read at each cell's centroid.
``gi_star``
    Getis-Ord Gi* z-scores (:func:`analysis.gistar.gi_star_z`) of the last 12 months' counts with
    binary queen-contiguity weights that include the cell itself.
``forecast``
    Our model, :func:`analysis.forecast.forecast_scores`: a Poisson regression over recent
    counts at several windows, neighbour counts, a near-repeat term and place proximity, fitted
    on the training months only.

Months are calendar months of the times' own time zone (tz-aware times) or of naive times as
given. Cells and distances are in the local metric CRS of the cells (metres, m²).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from numpy.typing import NDArray

from analysis.aggregate import count_in_polygons
from analysis.evaluation import CURVE_COVERAGES, DEFAULT_COVERAGES, evaluate
from analysis.weights import SpatialWeights, contiguity_weights
from gis.crs import local_metric_crs_of
from gis.errors import CRSError, ValidationError
from gis.messages import Language, t

__all__ = [
    "BacktestResult",
    "CellSet",
    "History",
    "Method",
    "backtest",
    "cell_set",
    "default_methods",
    "gi_star_method",
    "kde_method",
    "naive_method",
]

FloatArray = NDArray[np.float64]
Progress = Callable[[int, int], None]

_METHOD_KEYS = {
    "naive": "backtest.method_naive",
    "kde": "backtest.method_kde",
    "gi_star": "backtest.method_gi_star",
    "forecast": "backtest.method_forecast",
}


@dataclass(frozen=True)
class CellSet:
    """The fixed cells a backtest scores: grids, H3 cells or a fishnet.

    Attributes
    ----------
    polygons
        The cells as given (any CRS), in order; position ``i`` is cell ``i``.
    metric_crs
        The local metric CRS all measures use (metres).
    x, y
        Cell centroids in ``metric_crs``, metres.
    area_m2
        Cell areas in m² (in ``metric_crs``).
    weights
        Binary queen contiguity of the cells with each cell on its own diagonal
        (:func:`analysis.weights.contiguity_weights`), the neighbourhoods of Gi* and of the
        neighbour counts.
    """

    polygons: gpd.GeoDataFrame
    metric_crs: pyproj.CRS
    x: FloatArray
    y: FloatArray
    area_m2: FloatArray
    weights: SpatialWeights

    def __len__(self) -> int:
        return len(self.x)


def cell_set(polygons: gpd.GeoDataFrame, *, metric_crs: pyproj.CRS | None = None) -> CellSet:
    """Prepare cells for backtests: centroids, areas and contiguity in the metric CRS.

    Parameters
    ----------
    polygons
        Cell polygons with a CRS (grids from the store in EPSG:4490, H3 cells in EPSG:4326 from
        :func:`analysis.aggregate.count_in_h3`, a fishnet from :func:`analysis.aggregate.fishnet`).
    metric_crs
        The projected CRS to measure in; default :func:`gis.crs.local_metric_crs_of`.
    """
    if polygons.crs is None:
        raise CRSError("backtest.no_crs", frame="cells")
    if len(polygons) < 2:
        raise ValidationError("backtest.too_few_cells", count=len(polygons))
    frame = polygons.reset_index(drop=True)
    crs = metric_crs or local_metric_crs_of(frame)
    metric = np.asarray(frame.geometry.to_crs(crs).values, dtype=object)
    centre = shapely.centroid(metric)
    return CellSet(
        polygons=frame,
        metric_crs=crs,
        x=shapely.get_x(centre),
        y=shapely.get_y(centre),
        area_m2=shapely.area(metric),
        weights=contiguity_weights(frame, rule="queen", include_self=True),
    )


@dataclass(frozen=True)
class History:
    """What a method may know when it forecasts a month: the incidents before it.

    Attributes
    ----------
    cells
        The cells to score.
    cell
        The cell of each known incident (every incident here lies in a cell).
    x, y
        Each incident's position in ``cells.metric_crs``, metres.
    age
        Months between each incident's month and the forecast month: 1 = the month just
        before, 2 = the one before that, …
    months
        Number of months of history (the largest possible ``age``).
    places
        Places by kind (``"school"``, ``"market"`` …) as ``(m, 2)`` metric coordinates; may be
        empty.
    forecast_month
        The month being forecast (``pandas.Period``).
    """

    cells: CellSet
    cell: NDArray[np.intp]
    x: FloatArray
    y: FloatArray
    age: NDArray[np.int64]
    months: int
    places: Mapping[str, FloatArray]
    forecast_month: pd.Period

    def counts(self, months: int | None = None, *, older_than: int = 0) -> FloatArray:
        """Incidents per cell with ``older_than < age <= older_than + months`` (all if None)."""
        keep = self.age > older_than
        if months is not None:
            keep &= self.age <= older_than + months
        return np.bincount(self.cell[keep], minlength=len(self.cells)).astype(np.float64)

    def shifted(self, back: int) -> History:
        """The history as it stood ``back`` months earlier (for fitting on past months)."""
        keep = self.age > back
        return History(
            cells=self.cells,
            cell=self.cell[keep],
            x=self.x[keep],
            y=self.y[keep],
            age=self.age[keep] - back,
            months=self.months - back,
            places=self.places,
            forecast_month=self.forecast_month - back,
        )


Method = Callable[[History], FloatArray]


def naive_method(history: History) -> FloatArray:
    """Last month's incidents per cell (the naive baseline)."""
    return history.counts(1)


def kde_method(history: History, *, months: int = 12, bandwidth: Any = "arcgis") -> FloatArray:
    """Quartic KDE (:func:`analysis.kde.kde`) of the last ``months`` months at cell centroids.

    ``bandwidth`` is passed on: ``"arcgis"`` (default), ``"scott"`` or metres. The density is
    read on a grid of half the median cell side, so each centroid gets its own value.
    """
    from analysis.kde import kde

    keep = history.age <= months
    if keep.sum() < 2:
        return np.zeros(len(history.cells))
    cells = history.cells
    points = gpd.GeoSeries(shapely.points(history.x[keep], history.y[keep]), crs=cells.metric_crs)
    side = float(np.sqrt(np.median(cells.area_m2)))
    area = gpd.GeoSeries(
        [shapely.box(cells.x.min(), cells.y.min(), cells.x.max(), cells.y.max()).buffer(side)],
        crs=cells.metric_crs,
    )
    surface = kde(
        points, bandwidth=bandwidth, cell_size_m=side / 2, area=area, crs=cells.metric_crs
    )
    return np.nan_to_num(surface.value_at(cells.x, cells.y)) * cells.area_m2 / 1e6


def gi_star_method(history: History, *, months: int = 12) -> FloatArray:
    """Gi* z-scores of the last ``months`` months' counts, queen weights with self.

    z-scores are not counts, so the backtest ranks them as they are (``per_area = False``).
    """
    from analysis.gistar import gi_star_z

    counts = history.counts(months)
    if counts.std() == 0:
        return np.zeros(len(history.cells))
    return np.asarray(gi_star_z(counts, history.cells.weights.sparse), dtype=np.float64)


gi_star_method.per_area = False  # type: ignore[attr-defined]


def _forecast(history: History) -> FloatArray:
    from analysis.forecast import forecast_scores

    return forecast_scores(history)


def default_methods() -> dict[str, Method]:
    """The methods compared by default: ``naive``, ``kde``, ``gi_star`` and ``forecast``."""
    return {
        "naive": naive_method,
        "kde": kde_method,
        "gi_star": gi_star_method,
        "forecast": _forecast,
    }


@dataclass(frozen=True)
class BacktestResult:
    """The scores of every method in every window.

    Attributes
    ----------
    windows
        Long table, one row per (``month``, ``method``, ``coverage``): ``incidents`` (``N`` of
        the held-out month), ``hit_rate``, ``pai``, ``pei``, ``pei_star``, ``cells_needed``.
    curves
        One row per (``month``, ``method``, ``coverage``) of the hit-rate curve (1-20 %).
    summary
        One row per method: the mean over windows of each metric at each coverage, columns
        like ``pai_1``, ``pai_5``, ``pei_star_1``, ``hit_rate_5`` (the suffix is the coverage in
        per cent), and ``windows``.
    params
        The options used.
    """

    windows: pd.DataFrame
    curves: pd.DataFrame
    summary: pd.DataFrame
    params: dict[str, Any] = field(default_factory=dict)

    def mean(self, method: str, metric: str = "pai", coverage: float = 0.01) -> float:
        """A method's mean metric over the windows at one coverage."""
        return float(self.summary.loc[method, f"{metric}_{round(coverage * 100):g}"])

    def table(self, *, language: Language | None = None, digits: int = 2) -> str:
        """The summary as an aligned plain-text table for the CLI and the bulletin."""
        metrics = [
            ("pai", "backtest.col_pai"),
            ("pei_star", "backtest.col_pei_star"),
            ("hit_rate", "backtest.col_hit_rate"),
        ]
        coverages = self.params.get("coverages", DEFAULT_COVERAGES)
        head = [t("backtest.col_method", language=language)]
        cols = []
        for metric, key in metrics:
            for c in coverages:
                head.append(t(key, language=language, coverage=f"{c * 100:g}%"))
                cols.append(f"{metric}_{round(c * 100):g}")
        rows = []
        for name, row in self.summary.iterrows():
            label = t(_METHOD_KEYS[name], language=language) if name in _METHOD_KEYS else str(name)
            cells = []
            for col in cols:
                value = row[col] * (100 if col.startswith("hit_rate") else 1)
                cells.append("-" if pd.isna(value) else f"{value:.{digits}f}")
            rows.append([label, *cells])
        widths = [max(_width(r[i]) for r in [head, *rows]) for i in range(len(head))]
        lines = [_row(head, widths)]
        lines.append("  ".join("-" * w for w in widths))
        lines += [_row(r, widths) for r in rows]
        note = t(
            "backtest.table_note",
            language=language,
            windows=self.params.get("n_windows"),
            first=self.params.get("first_month"),
            last=self.params.get("last_month"),
        )
        return "\n".join([*lines, note])


def _width(text: str) -> int:
    """Display width: CJK characters take two columns."""
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def _row(cells: Sequence[str], widths: Sequence[int]) -> str:
    out = [cells[0] + " " * (widths[0] - _width(cells[0]))]
    out += [" " * (w - _width(c)) + c for c, w in zip(cells[1:], widths[1:], strict=True)]
    return "  ".join(out)


def _months(times: pd.Series) -> pd.PeriodIndex:
    ts = pd.DatetimeIndex(pd.to_datetime(times, errors="coerce"))
    if ts.tz is not None:
        ts = ts.tz_localize(None)  # wall-clock time in the times' own zone
    return ts.to_period("M")


def _places(places: gpd.GeoDataFrame | None, crs: pyproj.CRS, kind: str) -> dict[str, FloatArray]:
    if places is None or not len(places):
        return {}
    if places.crs is None:
        raise CRSError("backtest.no_crs", frame="places")
    if kind not in places.columns:
        raise ValidationError("backtest.missing_column", frame="places", column=kind)
    moved = places.to_crs(crs)
    pts = shapely.get_coordinates(shapely.point_on_surface(np.asarray(moved.geometry.values)))
    kinds = moved[kind].astype(str).to_numpy()
    return {k: pts[kinds == k] for k in np.unique(kinds)}


def backtest(
    incidents: gpd.GeoDataFrame,
    cells: CellSet,
    *,
    methods: Mapping[str, Method] | None = None,
    n_windows: int = 6,
    train_months: int | None = None,
    min_history_months: int = 3,
    time_column: str = "occurred_from",
    places: gpd.GeoDataFrame | None = None,
    place_kind: str = "kind",
    coverages: Sequence[float] = DEFAULT_COVERAGES,
    progress: Progress | None = None,
) -> BacktestResult:
    """Score forecast methods month by month on held-out months.

    Parameters
    ----------
    incidents
        The incidents to forecast (already filtered to the categories of interest), points
        with a CRS and a time column. Incidents outside every cell or without a time are left
        out and counted in ``params["outside"]`` / ``params["untimed"]``.
    cells
        The cells (:func:`cell_set`).
    methods
        Name → method; default :func:`default_methods`.
    n_windows
        Held-out months: the last ``n_windows`` months of the data, each forecast from the
        months before it.
    train_months
        Give methods only the last ``train_months`` months before each window (default: all).
    min_history_months
        Refuse when the first window has fewer months before it.
    time_column
        The incident time (``occurred_from``).
    places
        Optional places with a ``place_kind`` column (schools, markets …), any CRS, offered to
        methods as :attr:`History.places`.
    coverages
        Shares of the area in the summary (default 1 % and 5 %).
    progress
        ``progress(done, total)`` after each (window, method).

    Returns
    -------
    BacktestResult
    """
    if incidents.crs is None:
        raise CRSError("backtest.no_crs", frame="incidents")
    if time_column not in incidents.columns:
        raise ValidationError("backtest.missing_column", frame="incidents", column=time_column)
    chosen = dict(methods) if methods is not None else default_methods()
    month = _months(incidents[time_column])
    placed = count_in_polygons(incidents, cells.polygons).point_unit
    ok = (placed >= 0) & ~month.isna()
    month_ok = month[ok]
    if not len(month_ok):
        raise ValidationError("backtest.no_incidents")
    first, last = month_ok.min(), month_ok.max()
    test_months = pd.period_range(last - (n_windows - 1), last, freq="M")
    history_months = (test_months[0] - first).n
    if n_windows < 1 or history_months < min_history_months:
        raise ValidationError(
            "backtest.too_little_history",
            months=history_months,
            minimum=min_history_months,
            first=str(first),
            windows=n_windows,
        )
    moved = incidents.geometry[ok].to_crs(cells.metric_crs)
    x, y = moved.x.to_numpy(), moved.y.to_numpy()
    cell = placed[ok].astype(np.intp)
    index = np.asarray([(m - first).n for m in month_ok], dtype=np.int64)
    place_xy = _places(places, cells.metric_crs, place_kind)
    density = cells.area_m2 / 1e6

    rows, curve_rows = [], []
    total = len(test_months) * len(chosen)
    done = 0
    for target in test_months:
        t_index = (target - first).n
        before = index < t_index
        if train_months is not None:
            before &= index >= t_index - train_months
        history = History(
            cells=cells,
            cell=cell[before],
            x=x[before],
            y=y[before],
            age=t_index - index[before],
            months=t_index if train_months is None else min(train_months, t_index),
            places=place_xy,
            forecast_month=target,
        )
        observed = np.bincount(cell[index == t_index], minlength=len(cells)).astype(np.float64)
        for name, method in chosen.items():
            scores = np.asarray(method(history), dtype=np.float64)
            if scores.shape != (len(cells),):
                raise ValidationError(
                    "backtest.bad_scores", method=name, got=scores.shape[0], expected=len(cells)
                )
            if getattr(method, "per_area", True):
                scores = scores / density
            result = evaluate(scores, observed, area=cells.area_m2, coverages=coverages)
            for cov, r in result.table.iterrows():
                rows.append(
                    {
                        "month": str(target),
                        "method": name,
                        "coverage": cov,
                        "incidents": result.total,
                        **r.to_dict(),
                    }
                )
            for cov, hit in result.curve.items():
                curve_rows.append(
                    {"month": str(target), "method": name, "coverage": cov, "hit_rate": hit}
                )
            done += 1
            if progress is not None:
                progress(done, total)
    windows = pd.DataFrame(rows)
    summary = _summary(windows, coverages)
    return BacktestResult(
        windows=windows,
        curves=pd.DataFrame(curve_rows),
        summary=summary,
        params={
            "n_windows": n_windows,
            "train_months": train_months,
            "first_month": str(test_months[0]),
            "last_month": str(test_months[-1]),
            "coverages": tuple(coverages),
            "curve_coverages": CURVE_COVERAGES,
            "methods": list(chosen),
            "outside": int((placed < 0).sum()),
            "untimed": int(month.isna().sum()),
            "cells": len(cells),
        },
    )


def _summary(windows: pd.DataFrame, coverages: Sequence[float]) -> pd.DataFrame:
    metrics = ["pai", "pei", "pei_star", "hit_rate"]
    out = {}
    for metric in metrics:
        wide = windows.pivot_table(
            index="method", columns="coverage", values=metric, aggfunc="mean"
        )
        for c in coverages:
            out[f"{metric}_{round(c * 100):g}"] = wide[c]
    frame = pd.DataFrame(out)
    frame["windows"] = windows.groupby("method")["month"].nunique()
    order = list(dict.fromkeys(windows["method"]))
    return frame.loc[order]
