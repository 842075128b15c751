"""Emerging hot-spot runs: a space-time cube of the scope's incidents and ArcGIS's 17 patterns.

The cube (:func:`analysis.cube.space_time_cube`) has one row per cell holding at least one
incident in its span (ArcGIS without an analysis mask; every 综合 grid for ``unit="grid"``)
and ``steps`` steps of a ``step`` ending with the local day ``end``.
:func:`analysis.emerging.emerging_hot_spots` gives each cell its pattern; the stored cell rows
carry the pattern, the cube's total count and the final step's z, p and ``Gi_Bin``.
"""

from __future__ import annotations

from typing import Any, cast

import numpy as np
import pandas as pd

from analysis.cube import Step, space_time_cube, step_boundaries
from analysis.emerging import emerging_hot_spots
from gis.db import Database
from layers.analyses._runs import AnalysisRun, Inputs, TimeLike, read_run
from layers.analyses._units import count_cells
from layers.analyses.hotspots import cell_frame, store_cells

__all__ = ["refresh_emerging"]


def refresh_emerging(
    *,
    area: str | None = None,
    end: TimeLike = None,
    steps: int = 12,
    step: str = "month",
    categories: list[str] | str | None = None,
    unit: str = "h3",
    resolution: int = 9,
    cell_size_m: float | None = None,
    time_step_window: int = 1,
    alpha: float = 0.10,
    db: Database | None = None,
) -> AnalysisRun:
    """Run Emerging Hot Spot Analysis and store each cell with its pattern.

    Parameters
    ----------
    area, categories
        As :func:`layers.refresh_hotspots`.
    end
        The cube's last local day, inclusive; default the day of the latest incident.
    steps, step
        How many time steps of ``"day"``, ``"week"`` or ``"month"`` (at least 10).
    unit, resolution, cell_size_m
        The cells: ``h3`` at ``resolution`` (default r9), ``grid``, or ``fishnet`` of
        ``cell_size_m`` metres with the eight cells around as neighbours.
    time_step_window
        Previous steps in each bin's neighbourhood (ArcGIS "Neighborhood Time Step").
    alpha
        Confidence a bin needs to count as hot or cold (0.10 default, as ArcGIS).

    Returns
    -------
    AnalysisRun
        Kind ``emerging``; ``summary["patterns"]`` counts the cells per pattern; the cells
        (with ``pattern``) via :func:`layers.read_hotspot_cells`.
    """
    probe = Inputs.resolve(area=area, end=end, categories=categories, db=db)
    assert probe.end is not None
    last_day = (probe.end - pd.Timedelta(days=1)).date()
    interval = cast(Step, step)  # step_boundaries refuses anything but day, week, month
    bounds = step_boundaries(end=last_day, steps=int(steps), step=interval, timezone=probe.timezone)
    inputs = Inputs.resolve(
        area=area, start=bounds[0], end=bounds[-1], categories=categories, db=db, span=False
    )
    incidents = inputs.incidents(minimum=3)
    cells = count_cells(
        inputs,
        incidents,
        unit=unit,
        resolution=resolution,
        cell_size_m=cell_size_m,
        fill=False,
    )
    if unit != "grid":
        cells = cells.subset(cells.agg.counts > 0)
    located = cells.agg.point_unit >= 0
    cube = space_time_cube(
        cells.agg.point_unit[located],
        incidents["occurred_from"].to_numpy()[located],
        end=last_day,
        step=interval,
        steps=int(steps),
        cells=np.arange(len(cells.ids)),
        timezone=inputs.timezone,
    )
    inputs.log.say(
        "analyses.log_cube",
        cells=cube.n_cells,
        steps=cube.n_steps,
        step=step,
        first=cube.boundaries[0].date().isoformat(),
        last=last_day.isoformat(),
        counted=cube.n_counted,
    )
    result = emerging_hot_spots(cube, cells.weights, time_step_window=time_step_window, alpha=alpha)
    inputs.log.extend(result.log)
    frame = cell_frame(
        cells.ids,
        cells.units,
        count=cube.counts.sum(axis=1),
        z=result.z[:, -1],
        p=result.p[:, -1],
        bins=result.bins[:, -1],
        pattern=result.names(),
    )
    params: dict[str, Any] = {
        **cells.params,
        "steps": int(steps),
        "step": step,
        "end": last_day.isoformat(),
        "time_step_window": int(time_step_window),
        "alpha": alpha,
    }
    summary = {
        "cells": len(frame),
        "steps": cube.n_steps,
        "patterns": result.summary(),
        "boundaries": [b.isoformat() for b in cube.boundaries],
    }
    with inputs.db.connection() as conn:
        run_id = inputs.save(conn, "emerging", params=params, summary=summary)
        store_cells(conn, run_id, frame, srid=inputs.srid)
    return read_run(run_id, db=inputs.db)
