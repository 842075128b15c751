"""Hot-spot runs: Gi* of incident counts per cell (or the optimised mode), stored with their cells.

>>> import layers
>>> run = layers.refresh_hotspots(area="990101001", unit="h3")  # doctest: +SKIP
>>> cells = layers.read_hotspot_cells(run.id)  # doctest: +SKIP

The statistics are :func:`analysis.gistar.gi_star` (analytic z, two-sided p, ``Gi_Bin`` with
Benjamini–Hochberg FDR) and :func:`analysis.optimized.optimized_hot_spots`; this module reads
the incidents, builds the cells and their weights (:mod:`layers.analyses._units`) and stores
one ``hotspot_cell`` row per cell, polygons in the storage CRS.
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from analysis.gistar import GiStarResult, confidence_level, gi_star
from analysis.optimized import optimized_hot_spots
from gis.db import Database, get_database
from gis.queries import fetch_all
from layers.analyses._runs import (
    AnalysisRun,
    Inputs,
    TimeLike,
    frame_of,
    read_run,
    store_geometries,
)
from layers.analyses._units import Cells, count_cells

__all__ = ["hot_cells", "read_hotspot_cells", "refresh_hotspots"]

CELL_COLUMNS = (
    ("run_id", "int8"),
    ("cell_id", "text"),
    ("count", "float8"),
    ("z", "float8"),
    ("p", "float8"),
    ("bin", "int2"),
    ("pattern", "text"),
)
TOP_CELLS = 10


def store_cells(conn: Any, run_id: int, cells: gpd.GeoDataFrame, *, srid: int) -> None:
    """COPY the cells of a run (:func:`cell_frame`)."""
    frame = cells.assign(run_id=np.full(len(cells), run_id, dtype=np.int64))
    store_geometries(conn, "hotspot_cell", CELL_COLUMNS, frame, srid=srid)


def cell_frame(
    ids: ArrayLike,
    units: gpd.GeoDataFrame,
    *,
    count: ArrayLike,
    z: ArrayLike,
    p: ArrayLike,
    bins: ArrayLike,
    pattern: ArrayLike | None = None,
) -> gpd.GeoDataFrame:
    """Cells as :func:`store_cells` takes them: ``cell_id``, ``count``, ``z``, ``p``, ``bin``
    (``Gi_Bin``), ``pattern`` (emerging runs) and the polygons of ``units``, in their CRS."""
    return gpd.GeoDataFrame(
        {
            "cell_id": ids,
            "count": np.asarray(count, dtype=float),
            "z": np.asarray(z, dtype=float),
            "p": np.asarray(p, dtype=float),
            "bin": np.asarray(bins).astype(np.int16),
            "pattern": pattern,
        },
        geometry=units.geometry.values,
        crs=units.crs,
    )


def hot_cells(cells: Cells, *, alpha: float = 0.05) -> tuple[gpd.GeoDataFrame, GiStarResult]:
    """Gi* of the counted cells: the cells (:func:`cell_frame`) and the Gi* result."""
    result = gi_star(cells.agg.counts, cells.weights, fdr=True, alpha=alpha)
    frame = cell_frame(
        cells.ids, cells.units, count=cells.agg.counts, z=result.z, p=result.p, bins=result.bins
    )
    return frame, result


def _summary(frame: gpd.GeoDataFrame, significant: np.ndarray, **extra: Any) -> dict[str, Any]:
    z = frame["z"].to_numpy(dtype=float)
    hot = significant & (z > 0)
    top = frame.assign(_z=np.nan_to_num(z, nan=-np.inf)).sort_values("_z", ascending=False)
    top = top[top["_z"] > 0].head(TOP_CELLS)
    return {
        "cells": len(frame),
        "incidents": float(frame["count"].sum()),
        "hot": int(hot.sum()),
        "cold": int((significant & (z < 0)).sum()),
        "bins": {str(b): int(n) for b, n in frame["bin"].value_counts().sort_index().items()},
        "top": [
            {"cell_id": r.cell_id, "count": float(r.count), "z": float(r.z), "bin": int(r.bin)}
            for r in top.itertuples()
        ],
        **extra,
    }


def refresh_hotspots(
    *,
    area: str | None = None,
    start: TimeLike = None,
    end: TimeLike = None,
    categories: list[str] | str | None = None,
    unit: str = "grid",
    resolution: int = 9,
    cell_size_m: float | None = None,
    band_m: float | None = None,
    tolerance_m: float | None = None,
    optimized: bool = False,
    alpha: float = 0.05,
    db: Database | None = None,
) -> AnalysisRun:
    """Run Gi* hot spots on incident counts and store the run with every cell.

    Parameters
    ----------
    area
        Admin-code prefix (digits; ``None`` or ``""`` = everything).
    start, end
        The period in the deployment time zone; a date ``end`` is inclusive; default the
        first and last incident of the area.
    categories
        Taxonomy codes or names, or ``两抢一盗``; children included; default all.
    unit
        ``grid`` (综合 grids, queen contiguity), ``h3`` (``resolution`` 7–10, first-ring
        neighbours), ``fishnet`` (``cell_size_m`` metres, distance band ``band_m``, default
        1.5 cells) or ``segment`` (roads, incidents snapped within ``tolerance_m`` metres).
        Measured in the local metric CRS.
    optimized
        Let the data choose the fishnet cell size and the distance band, as Esri's Optimized
        Hot Spot Analysis does (``unit`` is then ``fishnet``; ``cell_size_m``/``band_m``, when
        given, are kept); the run log states every choice.
    alpha
        The confidence of the summary's hot/cold counts: 0.01, 0.05 or 0.10 (FDR-corrected).
        Every cell keeps its ``Gi_Bin`` (±3/2/1).

    Returns
    -------
    AnalysisRun
        Kind ``hotspots``; cells via :func:`read_hotspot_cells`.
    """
    inputs = Inputs.resolve(area=area, start=start, end=end, categories=categories, db=db)
    incidents = inputs.incidents(minimum=3)
    params: dict[str, Any] = {"alpha": alpha, "optimized": optimized}
    if optimized:
        ohsa = optimized_hot_spots(
            incidents,
            area=inputs.study_area(),
            cell_size_m=cell_size_m,
            distance_band_m=band_m,
        )
        inputs.log.extend(ohsa.log)
        units = ohsa.cells
        frame = cell_frame(
            ("r" + units["row"].astype(str) + "c" + units["col"].astype(str)).to_numpy(),
            units,
            count=units["count"],
            z=units["z"],
            p=units["p"],
            bins=units["bin"],
        )
        significant = np.abs(ohsa.gi.bins) >= confidence_level(alpha)
        params.update(
            unit="fishnet",
            cell_size_m=ohsa.cell_size_m,
            band_m=ohsa.distance_band_m,
            outliers=int(ohsa.outliers.size),
        )
    else:
        cells = count_cells(
            inputs,
            incidents,
            unit=unit,
            resolution=resolution,
            cell_size_m=cell_size_m,
            band_m=band_m,
            tolerance_m=tolerance_m,
        )
        frame, result = hot_cells(cells, alpha=alpha)
        significant = result.significant
        params.update(cells.params)
        inputs.log.say(
            "analyses.log_gi_star",
            hot=result.n_hot,
            cold=result.n_cold,
            cells=len(frame),
            alpha=alpha,
            cutoff=f"{result.p_cutoff:.4g}",
        )
    summary = _summary(frame, significant, unit=params["unit"])
    with inputs.db.connection() as conn:
        run_id = inputs.save(conn, "hotspots", params=params, summary=summary)
        store_cells(conn, run_id, frame, srid=inputs.srid)
    return read_run(run_id, db=inputs.db)


def read_hotspot_cells(run_id: int, *, db: Database | None = None) -> gpd.GeoDataFrame:
    """The cells of a ``hotspots`` or ``emerging`` run: ``cell_id``, ``count``, ``z``, ``p``,
    ``bin`` (−3…3), ``pattern`` (emerging runs) and the polygon, in the storage CRS."""
    db = db or get_database()
    with db.connection() as conn:
        rows = fetch_all(conn, "read_hotspot_cells", run_id=int(run_id))
    columns = ["cell_id", "count", "z", "p", "bin", "pattern"]
    frame = frame_of(rows, srid=db.storage_srid, columns=columns)
    if len(frame):
        frame["bin"] = pd.to_numeric(frame["bin"]).astype("Int64")
    return frame
