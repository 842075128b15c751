"""Cluster runs: DBSCAN or HDBSCAN of the scope's incidents, stored as polygons with profiles.

:func:`analysis.clusters.dbscan_clusters` and :func:`analysis.clusters.hdbscan_clusters` do
the work in the local metric CRS; each cluster is stored as one ``cluster_area`` row: the
number of incidents, its most frequent categories (``{code: count}``) and its time profile
(counts by hour of day, weekday and month of year, the peaks, the first and last incident),
the polygon in the storage CRS.
"""

from __future__ import annotations

from collections.abc import Callable

import geopandas as gpd
import numpy as np

from analysis.clusters import ClusterResult, dbscan_clusters, hdbscan_clusters
from gis.db import Database, get_database
from gis.errors import ValidationError
from gis.queries import fetch_all
from layers.analyses._runs import (
    AnalysisRun,
    Inputs,
    TimeLike,
    clean_json,
    frame_of,
    read_run,
    store_geometries,
    to_json,
)

__all__ = ["cluster_areas", "read_clusters", "refresh_clusters"]

METHODS = ("dbscan", "hdbscan")
COLUMNS = (
    ("run_id", "int8"),
    ("cluster_id", "int4"),
    ("n", "int4"),
    ("categories", "jsonb"),
    ("profile", "jsonb"),
)
Progress = Callable[[int, int], None]


def cluster_areas(
    incidents: gpd.GeoDataFrame,
    *,
    method: str,
    eps_m: float,
    min_samples: int,
    min_cluster_size: int | None,
    progress: Progress | None = None,
) -> ClusterResult:
    """The clusters of ``incidents`` by ``method`` (``dbscan`` or ``hdbscan``)."""
    if method not in METHODS:
        raise ValidationError("analyses.bad_method", method=method, methods=", ".join(METHODS))
    if method == "dbscan":
        return dbscan_clusters(incidents, eps_m=eps_m, min_samples=min_samples, progress=progress)
    return hdbscan_clusters(
        incidents,
        min_cluster_size=int(min_cluster_size or min_samples),
        min_samples=min_samples,
        progress=progress,
    )


def _rows(result: ClusterResult) -> gpd.GeoDataFrame:
    clusters = result.clusters
    profiles = []
    for k, row in enumerate(clusters.itertuples()):
        profiles.append(
            to_json(
                {
                    "hours": result.hour_counts[k],
                    "weekdays": result.weekday_counts[k],
                    "months": result.month_counts[k],
                    "peak_hour": getattr(row, "peak_hour", None),
                    "peak_weekday": getattr(row, "peak_weekday", None),
                    "first": getattr(row, "first", None),
                    "last": getattr(row, "last", None),
                    "area_m2": getattr(row, "area_m2", None),
                    "n_core": getattr(row, "n_core", None),
                    "top_category": getattr(row, "top_category", None),
                    "top_share": getattr(row, "top_share", None),
                }
            )
        )
    categories = (
        [to_json(c) for c in clusters["categories"]]
        if "categories" in clusters.columns
        else ["{}"] * len(clusters)
    )
    return gpd.GeoDataFrame(
        {
            "cluster_id": clusters["cluster"].to_numpy(dtype=np.int32),
            "n": clusters["n_incidents"].to_numpy(dtype=np.int32),
            "categories": categories,
            "profile": profiles,
        },
        geometry=clusters.geometry.values,
        crs=clusters.crs,
    )


def refresh_clusters(
    *,
    area: str | None = None,
    start: TimeLike = None,
    end: TimeLike = None,
    categories: list[str] | str | None = None,
    method: str = "dbscan",
    eps_m: float = 150.0,
    min_samples: int = 10,
    min_cluster_size: int | None = None,
    progress: Progress | None = None,
    db: Database | None = None,
) -> AnalysisRun:
    """Find density clusters of incidents and store them as polygons.

    Parameters
    ----------
    area, start, end, categories
        As :func:`layers.refresh_hotspots`.
    method
        ``dbscan`` (exact; ``eps_m`` metres, ``min_samples`` incidents make a core) or
        ``hdbscan`` (``min_cluster_size``, default ``min_samples``).
    progress
        ``progress(done, total)`` while the labelling runs (large runs take a while; the
        first run on a machine also compiles the numba code, then it is cached).

    Returns
    -------
    AnalysisRun
        Kind ``clusters``; polygons via :func:`read_clusters`.
    """
    inputs = Inputs.resolve(area=area, start=start, end=end, categories=categories, db=db)
    incidents = inputs.incidents(minimum=max(int(min_samples), 2))
    result = cluster_areas(
        incidents,
        method=method,
        eps_m=eps_m,
        min_samples=min_samples,
        min_cluster_size=min_cluster_size,
        progress=progress,
    )
    inputs.log.say(
        "analyses.log_clusters",
        method=method,
        clusters=result.n_clusters,
        noise=result.noise,
        incidents=len(incidents),
        crs=result.metric_crs.to_string(),
    )
    rows = _rows(result)
    sizes = sorted(rows["n"].tolist(), reverse=True)
    summary = {
        "method": method,
        "clusters": result.n_clusters,
        "incidents": len(incidents),
        "clustered": int(sum(sizes)),
        "noise": result.noise,
        "largest": sizes[:10],
    }
    params = clean_json({**result.params, "method": method})
    with inputs.db.connection() as conn:
        run_id = inputs.save(conn, "clusters", params=params, summary=summary)
        rows["run_id"] = np.full(len(rows), run_id, dtype=np.int64)
        store_geometries(conn, "cluster_area", COLUMNS, rows, srid=inputs.srid)
    return read_run(run_id, db=inputs.db)


def read_clusters(run_id: int, *, db: Database | None = None) -> gpd.GeoDataFrame:
    """The clusters of a ``clusters`` run: ``cluster_id``, ``n``, ``categories`` (dict code →
    count), ``profile`` (dict: ``hours``, ``weekdays``, ``months``, peaks, ``first``/``last``)
    and the polygon, in the storage CRS."""
    db = db or get_database()
    with db.connection() as conn:
        rows = fetch_all(conn, "read_cluster_areas", run_id=int(run_id))
    return frame_of(
        rows, srid=db.storage_srid, columns=["cluster_id", "n", "categories", "profile"]
    )
