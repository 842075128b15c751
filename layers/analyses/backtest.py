"""Backtest runs: the hotspot methods scored against each other on held-out months.

:func:`run_backtest` places the scope's incidents in fixed cells (the 综合 grids, H3 cells or a
fishnet over the scope's outline) and runs :func:`analysis.backtest.backtest`: for each of the
last ``windows`` months up to ``end``, every method (the naive last-month count, KDE, Gi* and
our forecast, :mod:`analysis.forecast`) ranks the cells from the months before it only, and
the ranking is scored on the month's incidents with PAI, PEI, PEI* and the hit rate at 1 % and
5 % of the area, and the hit-rate curve at 1–20 %. The run's ``result`` holds the summary per
method, every window, and the mean curves; nothing is stored as a layer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pandas as pd

from analysis.backtest import backtest, cell_set, default_methods
from gis.db import Database
from gis.errors import ValidationError
from layers.analyses._runs import AnalysisRun, Inputs, TimeLike, read_run
from layers.analyses._units import count_cells

__all__ = ["run_backtest"]

Progress = Callable[[int, int], None]


def run_backtest(
    *,
    area: str | None = None,
    end: TimeLike = None,
    windows: int = 6,
    unit: str = "grid",
    methods: Sequence[str] | None = None,
    categories: list[str] | str | None = None,
    resolution: int = 9,
    cell_size_m: float | None = None,
    progress: Progress | None = None,
    db: Database | None = None,
) -> AnalysisRun:
    """Backtest the hotspot methods on the last ``windows`` months up to ``end``.

    Parameters
    ----------
    area, categories
        As :func:`layers.refresh_hotspots`.
    end
        The last local day of the last held-out month (default the latest incident); every
        incident up to it is used, the months before the windows as history.
    windows
        Held-out months (one-month windows, each forecast from the months before it).
    unit, resolution, cell_size_m
        The cells scored: ``grid`` (综合 grids), ``h3`` (``resolution``) or ``fishnet``
        (``cell_size_m`` metres), over the scope's outline.
    methods
        Names among ``naive``, ``kde``, ``gi_star``, ``forecast`` (default all).
    progress
        ``progress(done, total)`` after each window and method.

    Returns
    -------
    AnalysisRun
        Kind ``backtest``; ``summary["pai_1"]``/``["pai_5"]`` give each method's mean PAI at 1 %
        and 5 % of the area; ``result`` has the summary table, every window and the curves.
    """
    available = default_methods()
    chosen = list(methods or available)
    unknown = [m for m in chosen if m not in available]
    if unknown or not chosen:
        raise ValidationError(
            "analyses.bad_backtest_method", methods=", ".join(unknown), known=", ".join(available)
        )
    if unit not in ("grid", "h3", "fishnet"):
        raise ValidationError("analyses.bad_unit", unit=unit, units="grid, h3, fishnet")
    inputs = Inputs.resolve(area=area, end=end, categories=categories, db=db)
    incidents = inputs.incidents(minimum=10)
    cells = count_cells(
        inputs, incidents, unit=unit, resolution=resolution, cell_size_m=cell_size_m
    )
    places = inputs.layer("places")
    result = backtest(
        incidents,
        cell_set(cells.units),
        methods={m: available[m] for m in chosen},
        n_windows=int(windows),
        places=places if len(places) else None,
        progress=progress,
    )
    inputs.log.say(
        "analyses.log_backtest",
        windows=int(windows),
        first=result.params["first_month"],
        last=result.params["last_month"],
        cells=result.params["cells"],
        outside=result.params["outside"],
    )
    summary_table = result.summary.reset_index(names="method")
    summary = {
        "first_month": result.params["first_month"],
        "last_month": result.params["last_month"],
        "cells": result.params["cells"],
        **{
            column: dict(zip(summary_table["method"], summary_table[column], strict=True))
            for column in ("pai_1", "pai_5", "pei_star_1", "pei_star_5", "hit_rate_1", "hit_rate_5")
            if column in summary_table
        },
    }
    curves = result.curves.groupby(["method", "coverage"], sort=False)["hit_rate"].mean()
    payload = {
        "summary": summary_table.to_dict(orient="records"),
        "windows": result.windows.to_dict(orient="records"),
        "curves": pd.DataFrame(curves).reset_index().to_dict(orient="records"),
        "table": {
            "zh": result.table(language="zh"),
            "en": result.table(language="en"),
        },
    }
    params = {
        **cells.params,
        "windows": int(windows),
        "methods": chosen,
        "end": result.params["last_month"],
    }
    with inputs.db.connection() as conn:
        run_id = inputs.save(conn, "backtest", params=params, summary=summary, result=payload)
    return read_run(run_id, db=inputs.db)
