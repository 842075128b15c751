"""Density clusters of incidents: exact DBSCAN and HDBSCAN, as polygons with their profiles.

Both methods work in the local metric CRS of the incidents (:func:`gis.crs.local_metric_crs_of`:
CGCS2000 Gauss-Krüger in China, UTM elsewhere), so ``eps_m`` and every area are in metres.

- **DBSCAN** (Ester et al. 1996) is computed by :mod:`analysis._dbscan`, a grid-based exact
  implementation whose memory is linear in the number of points (scikit-learn's materialises
  every neighbourhood and runs out of memory on dense clusters). Its labels equal
  scikit-learn's ``DBSCAN(eps, min_samples).fit(xy).labels_`` exactly, border-point ties
  included (see that module).
- **HDBSCAN** (Campello, Moulavi and Sander 2013) is computed by ``fast_hdbscan`` (McInnes),
  a numba implementation using a Borůvka minimum spanning tree over a KD-tree.

Each cluster becomes a polygon: the concave hull (``shapely.concave_hull``, ``hull_ratio``) or
the convex hull of its points, buffered by ``buffer_m`` metres so that points on the hull lie
inside and one- or two-point hulls become areas. The polygon comes back in the CRS of the input,
with counts, the dominant categories and hour-of-day / weekday / month-of-year counts.

Compiled code: both implementations are numba code. numba caches the machine code in the
folder chosen by :mod:`analysis._numba_cache`; :func:`warm_up` compiles or loads it (about
10-30 s the first time on a machine, well under a second from the cache). A server calls
:func:`start_warm_up` at start-up and asks :func:`jit_ready` before accepting a clustering
request, so no request waits for a compile.

References
----------
Ester, M., Kriegel, H.-P., Sander, J. and Xu, X. (1996). A density-based algorithm for
discovering clusters in large spatial databases with noise. *KDD-96*, 226–231.
Campello, R. J. G. B., Moulavi, D. and Sander, J. (2013). Density-based clustering based on
hierarchical density estimates. *PAKDD 2013*, LNCS 7819, 160–172.
McInnes, L. and Healy, J. (2017). Accelerated hierarchical density based clustering. *IEEE
ICDMW 2017*, 33–42.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from numpy.typing import ArrayLike, NDArray

import analysis._numba_cache  # noqa: F401  (numba's cache folder, before any numba import)
from gis.crs import local_metric_crs_of
from gis.errors import CRSError, ValidationError

__all__ = [
    "ClusterResult",
    "cluster_polygons",
    "dbscan_clusters",
    "dbscan_labels",
    "hdbscan_clusters",
    "hdbscan_labels",
    "jit_ready",
    "start_warm_up",
    "time_profiles",
    "warm_up",
]

Progress = Callable[[int, int], None]
Hull = Literal["concave", "convex"]
Labeller = Callable[[NDArray[np.float64]], tuple[NDArray[np.int64], NDArray[np.float64]]]

TOP_CATEGORIES = 5
"""How many categories each cluster lists in ``categories``."""


@dataclass(frozen=True)
class ClusterResult:
    """Clusters found among incidents, one row per cluster.

    Attributes
    ----------
    method
        ``"dbscan"`` or ``"hdbscan"``.
    labels
        Cluster of each input row, aligned with the input (0, 1, …; -1 for noise and for rows
        without a usable point, counted in ``unlocated``).
    clusters
        GeoDataFrame in the **input's CRS**, one row per cluster ordered by ``cluster``:
        ``cluster`` (the label), ``n_incidents``, ``n_core`` (DBSCAN core points; HDBSCAN: points
        with membership probability 1), ``area_m2`` (of the polygon, in the metric CRS, m²),
        ``top_category`` and ``top_share`` (its share of the cluster, 0-1), ``categories``
        (dict of the :data:`TOP_CATEGORIES` most frequent codes → counts), ``peak_hour``
        (0-23), ``peak_weekday`` (0 = Monday), ``first`` / ``last`` (earliest and latest time),
        and the polygon ``geometry``.
    hour_counts, weekday_counts, month_counts
        ``(n_clusters, 24)``, ``(n_clusters, 7)`` and ``(n_clusters, 12)`` integer counts by
        local hour of day, weekday (0 = Monday) and month of year (column 0 = January) of the
        time column, in the time zone the times carry (naive times are taken as local).
    probabilities
        HDBSCAN membership strength per input row (0-1); for DBSCAN 1 for core points, 0.5 for
        border points, 0 for noise.
    metric_crs
        The local metric CRS the clustering ran in (metres).
    unlocated
        Input rows without a finite point geometry (labelled -1, never clustered).
    params
        The options used, for the run log.
    """

    method: str
    labels: NDArray[np.int64]
    clusters: gpd.GeoDataFrame
    hour_counts: NDArray[np.int64]
    weekday_counts: NDArray[np.int64]
    month_counts: NDArray[np.int64]
    probabilities: NDArray[np.float64]
    metric_crs: pyproj.CRS
    unlocated: int = 0
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def n_clusters(self) -> int:
        """The number of clusters."""
        return len(self.clusters)

    @property
    def noise(self) -> int:
        """Rows labelled -1 (noise or unlocated)."""
        return int((self.labels < 0).sum())


# --------------------------------------------------------------------------------------------
# labels on plain coordinates


def _check_xy(xy: ArrayLike) -> NDArray[np.float64]:
    arr = np.asarray(xy, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise ValidationError("clusters.bad_xy", shape=str(arr.shape))
    if not np.isfinite(arr).all():
        raise ValidationError("clusters.nonfinite_xy", count=int((~np.isfinite(arr)).any(1).sum()))
    return arr


def _check_positive(name: str, value: float, *, integer: bool = False) -> None:
    ok = value >= 1 if integer else value > 0 and np.isfinite(value)
    if not ok or (integer and int(value) != value):
        raise ValidationError("clusters.bad_parameter", name=name, value=value)


def dbscan_labels(
    xy: ArrayLike,
    *,
    eps_m: float,
    min_samples: int,
    progress: Progress | None = None,
) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
    """DBSCAN cluster labels and core flags, exact and in memory linear in ``len(xy)``.

    Parameters
    ----------
    xy
        ``(n, 2)`` coordinates in a **metric** CRS (metres), all finite.
    eps_m
        Neighbourhood radius in metres; points at distance ``<= eps_m`` are neighbours.
    min_samples
        Neighbours within ``eps_m`` (the point itself included) that make a point core.
    progress
        Called as ``progress(done, total)`` while it runs (work units: occupied grid cells,
        three passes).

    Returns
    -------
    labels, core
        Labels as scikit-learn's ``DBSCAN(eps=eps_m, min_samples=min_samples)`` gives them,
        identically (clusters numbered by their lowest core-point index, -1 noise; a border
        point within reach of several clusters takes the lowest label), and the core flags.
    """
    arr = _check_xy(xy)
    _check_positive("eps_m", eps_m)
    _check_positive("min_samples", min_samples, integer=True)
    from analysis._dbscan import grid_dbscan

    return grid_dbscan(arr, eps=float(eps_m), min_samples=int(min_samples), progress=progress)


def hdbscan_labels(
    xy: ArrayLike,
    *,
    min_cluster_size: int,
    min_samples: int | None = None,
    cluster_selection_epsilon_m: float = 0.0,
    progress: Progress | None = None,
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """HDBSCAN cluster labels and membership probabilities (``fast_hdbscan``).

    Parameters
    ----------
    xy
        ``(n, 2)`` coordinates in a **metric** CRS (metres), all finite.
    min_cluster_size
        The smallest group of incidents that counts as a cluster.
    min_samples
        Neighbours that define a point's core distance (the density estimate); default
        ``min_cluster_size``.
    cluster_selection_epsilon_m
        Clusters closer than this many metres are merged (0 keeps HDBSCAN's own selection).
    progress
        Called as ``progress(0, 1)`` before and ``progress(1, 1)`` after: ``fast_hdbscan`` does
        not report its progress.

    Returns
    -------
    labels, probabilities
        Labels 0, 1, … numbered in the order of each cluster's lowest point index (-1 noise),
        and the membership strength of each point (0-1), excess-of-mass selection.
    """
    arr = _check_xy(xy)
    _check_positive("min_cluster_size", min_cluster_size, integer=True)
    if min_samples is not None:
        _check_positive("min_samples", min_samples, integer=True)
    if cluster_selection_epsilon_m < 0:
        raise ValidationError(
            "clusters.bad_parameter",
            name="cluster_selection_epsilon_m",
            value=cluster_selection_epsilon_m,
        )
    report = progress or (lambda _done, _total: None)
    report(0, 1)
    if len(arr) < 2:
        report(1, 1)
        return np.full(len(arr), -1, dtype=np.int64), np.zeros(len(arr))
    from fast_hdbscan import fast_hdbscan

    raw, prob = fast_hdbscan(
        arr,
        min_samples=int(min_samples if min_samples is not None else min_cluster_size),
        min_cluster_size=int(min_cluster_size),
        cluster_selection_epsilon=float(cluster_selection_epsilon_m),
    )
    report(1, 1)
    return _renumber(np.asarray(raw, dtype=np.int64)), np.asarray(prob, dtype=np.float64)


def _renumber(raw: NDArray[np.int64]) -> NDArray[np.int64]:
    """Relabel clusters 0, 1, … by the lowest index of their points (noise stays -1)."""
    out = np.full(raw.shape, -1, dtype=np.int64)
    member = raw >= 0
    if not member.any():
        return out
    uniq, first = np.unique(raw[member], return_index=True)
    rank = np.empty(len(uniq), dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(len(uniq))
    out[member] = rank[np.searchsorted(uniq, raw[member])]
    return out


# --------------------------------------------------------------------------------------------
# polygons and profiles


def cluster_polygons(
    xy: ArrayLike,
    labels: ArrayLike,
    *,
    hull: Hull = "concave",
    hull_ratio: float = 0.3,
    buffer_m: float = 10.0,
) -> NDArray[np.object_]:
    """One polygon per cluster label ``0 … k-1``, in the (metric) CRS of ``xy``.

    Parameters
    ----------
    xy
        ``(n, 2)`` metric coordinates (metres).
    labels
        Cluster of each point (-1 for noise, which is ignored).
    hull
        ``"concave"``: :func:`shapely.concave_hull` with ``ratio=hull_ratio`` (0 the tightest
        hull, 1 the convex hull); ``"convex"``: the convex hull.
    hull_ratio
        See ``hull``.
    buffer_m
        Buffer in metres added around the hull (> 0 keeps points on the hull inside and turns
        a cluster of collinear or identical points into an area).

    Returns
    -------
    numpy.ndarray of shapely Polygon / MultiPolygon
        Indexed by label.
    """
    arr = np.asarray(xy, dtype=np.float64)
    lab = np.asarray(labels, dtype=np.int64)
    if hull not in ("concave", "convex"):
        raise ValidationError("clusters.bad_hull", value=hull)
    k = int(lab.max()) + 1 if len(lab) else 0
    order = np.argsort(lab, kind="stable")
    bounds = np.searchsorted(lab[order], np.arange(k + 1))
    out = np.empty(k, dtype=object)
    for c in range(k):
        pts = np.unique(arr[order[bounds[c] : bounds[c + 1]]], axis=0)
        multi = shapely.multipoints(pts)
        shape = (
            shapely.concave_hull(multi, ratio=hull_ratio)
            if hull == "concave"
            else shapely.convex_hull(multi)
        )
        out[c] = shapely.buffer(shape, buffer_m) if buffer_m > 0 else shape
    return out


def time_profiles(
    times: pd.Series | pd.DatetimeIndex | None, labels: ArrayLike, n_clusters: int
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    """Hour-of-day, weekday and month-of-year counts per cluster.

    Parameters
    ----------
    times
        Times aligned with ``labels`` (tz-aware times count in their own zone; naive ones as
        local); missing times are not counted. ``None`` gives all-zero profiles.
    labels
        Cluster of each row (-1 ignored).
    n_clusters
        Number of clusters (rows of the result).

    Returns
    -------
    hours, weekdays, months
        ``(n_clusters, 24)``, ``(n_clusters, 7)`` (0 = Monday), ``(n_clusters, 12)``
        (0 = January) integer counts.
    """
    lab = np.asarray(labels, dtype=np.int64)
    shapes = ((24, "hour"), (7, "day_of_week"), (12, "month"))
    if times is None:
        return tuple(np.zeros((n_clusters, w), dtype=np.int64) for w, _ in shapes)  # type: ignore[return-value]
    ts = pd.DatetimeIndex(pd.to_datetime(pd.Series(times).reset_index(drop=True)))
    ok = (lab >= 0) & ~ts.isna()
    out = []
    for width, part in shapes:
        value = np.asarray(getattr(ts[ok], part), dtype=np.int64) - (1 if part == "month" else 0)
        flat = np.bincount(lab[ok] * width + value, minlength=n_clusters * width)
        out.append(flat.reshape(n_clusters, width))
    return out[0], out[1], out[2]


# --------------------------------------------------------------------------------------------
# incidents in, result out


def _metric_points(
    incidents: gpd.GeoDataFrame, metric_crs: pyproj.CRS | None
) -> tuple[NDArray[np.float64], NDArray[np.bool_], pyproj.CRS]:
    if not isinstance(incidents, gpd.GeoDataFrame):
        raise ValidationError("clusters.not_a_frame", kind=type(incidents).__name__)
    if incidents.crs is None:
        raise CRSError("clusters.no_crs")
    geoms = incidents.geometry.to_numpy()
    kinds = shapely.get_type_id(geoms)
    located = (kinds == 0) & ~shapely.is_empty(geoms)
    if ((kinds != 0) & (kinds != -1) & ~shapely.is_empty(geoms)).any():
        raise ValidationError("clusters.not_points", count=int(((kinds != 0) & (kinds > 0)).sum()))
    crs = metric_crs or local_metric_crs_of(incidents[located] if located.any() else incidents)
    xy = np.full((len(incidents), 2), np.nan)
    if located.any():
        moved = gpd.GeoSeries(geoms[located], crs=incidents.crs).to_crs(crs)
        xy[located, 0] = moved.x.to_numpy()
        xy[located, 1] = moved.y.to_numpy()
    located &= np.isfinite(xy).all(axis=1)
    return xy, located, crs


def _describe(
    incidents: gpd.GeoDataFrame,
    xy: NDArray[np.float64],
    labels: NDArray[np.int64],
    core: NDArray[np.bool_],
    *,
    category: str | None,
    time_column: str | None,
    hull: Hull,
    hull_ratio: float,
    buffer_m: float,
    metric_crs: pyproj.CRS,
) -> tuple[gpd.GeoDataFrame, tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]]:
    k = int(labels.max()) + 1 if len(labels) else 0
    member = labels >= 0
    polys = cluster_polygons(
        xy[member], labels[member], hull=hull, hull_ratio=hull_ratio, buffer_m=buffer_m
    )
    times = incidents[time_column] if time_column and time_column in incidents else None
    profiles = time_profiles(times, labels, k)
    frame = pd.DataFrame(
        {
            "cluster": np.arange(k, dtype=np.int64),
            "n_incidents": np.bincount(labels[member], minlength=k),
            "n_core": np.bincount(labels[member & core], minlength=k),
            "area_m2": shapely.area(polys) if k else np.empty(0),
        }
    )
    if category and category in incidents:
        cats = pd.DataFrame(
            {"cluster": labels[member], "code": incidents[category].to_numpy()[member]}
        )
        counts = cats.groupby(["cluster", "code"]).size().rename("n").reset_index()
        counts = counts.sort_values(["cluster", "n", "code"], ascending=[True, False, True])
        top = counts.groupby("cluster").head(TOP_CATEGORIES)
        per = {
            int(c): dict(zip(g["code"].astype(str), g["n"].astype(int), strict=True))
            for c, g in top.groupby("cluster")
        }
        frame["categories"] = [per.get(c, {}) for c in range(k)]
        frame["top_category"] = [next(iter(per[c]), None) if per.get(c) else None for c in range(k)]
        frame["top_share"] = [
            (next(iter(per[c].values())) / frame.at[c, "n_incidents"]) if per.get(c) else np.nan
            for c in range(k)
        ]
    hours, weekdays, _months = profiles
    has_time = hours.sum(axis=1) > 0
    frame["peak_hour"] = pd.array(np.where(has_time, hours.argmax(axis=1), -1)).astype("Int64")
    frame["peak_weekday"] = pd.array(np.where(has_time, weekdays.argmax(axis=1), -1)).astype(
        "Int64"
    )
    frame.loc[~has_time, ["peak_hour", "peak_weekday"]] = pd.NA
    if times is not None:
        ts = pd.Series(pd.to_datetime(times.reset_index(drop=True)))
        grouped = ts[member].groupby(labels[member])
        frame["first"] = grouped.min().reindex(range(k)).to_numpy()
        frame["last"] = grouped.max().reindex(range(k)).to_numpy()
    out = gpd.GeoDataFrame(frame, geometry=list(polys), crs=metric_crs).to_crs(incidents.crs)
    return out, profiles


def _clusters(
    method: str,
    incidents: gpd.GeoDataFrame,
    label: Labeller,
    *,
    metric_crs: pyproj.CRS | None,
    category: str | None,
    time_column: str | None,
    hull: Hull,
    hull_ratio: float,
    buffer_m: float,
    params: dict[str, Any],
) -> ClusterResult:
    """Label the located incidents with ``label`` (metric x/y in, labels and membership
    probabilities out) and describe the clusters."""
    xy, located, crs = _metric_points(incidents, metric_crs)
    sub_labels, sub_prob = label(xy[located])
    labels = np.full(len(incidents), -1, dtype=np.int64)
    labels[located] = sub_labels
    prob = np.zeros(len(incidents))
    prob[located] = sub_prob
    frame, (hours, weekdays, months) = _describe(
        incidents,
        xy,
        labels,
        prob >= 1.0,
        category=category,
        time_column=time_column,
        hull=hull,
        hull_ratio=hull_ratio,
        buffer_m=buffer_m,
        metric_crs=crs,
    )
    return ClusterResult(
        method=method,
        labels=labels,
        clusters=frame,
        hour_counts=hours,
        weekday_counts=weekdays,
        month_counts=months,
        probabilities=prob,
        metric_crs=crs,
        unlocated=int((~located).sum()),
        params={**params, "hull": hull, "hull_ratio": hull_ratio, "buffer_m": buffer_m},
    )


def dbscan_clusters(
    incidents: gpd.GeoDataFrame,
    *,
    eps_m: float,
    min_samples: int,
    category: str | None = "category",
    time_column: str | None = "occurred_from",
    hull: Hull = "concave",
    hull_ratio: float = 0.3,
    buffer_m: float | None = None,
    metric_crs: pyproj.CRS | None = None,
    progress: Progress | None = None,
) -> ClusterResult:
    """DBSCAN clusters of incident points, as polygons with counts and profiles.

    Parameters
    ----------
    incidents
        Point GeoDataFrame in any CRS (typically EPSG:4490 lon/lat). Rows with a missing or
        empty point are kept out of the clustering and counted in ``unlocated``.
    eps_m
        Neighbourhood radius in metres, measured in the local metric CRS.
    min_samples
        Incidents within ``eps_m`` (the incident itself included) that make a dense core.
    category, time_column
        Columns with the category code and the time (``occurred_from``); ``None`` or an absent
        column skips the category summary or the time profiles.
    hull, hull_ratio
        Polygon shape, see :func:`cluster_polygons`.
    buffer_m
        Buffer around each hull in metres; default ``eps_m / 2``.
    metric_crs
        Cluster in this projected CRS (metres) instead of the local one.
    progress
        ``progress(done, total)``, called while the labelling runs.

    Returns
    -------
    ClusterResult
        Polygons in the CRS of ``incidents``; ``probabilities`` 1 core / 0.5 border / 0 noise.
    """

    def label(xy: NDArray[np.float64]) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
        labels, core = dbscan_labels(xy, eps_m=eps_m, min_samples=min_samples, progress=progress)
        return labels, np.where(core, 1.0, np.where(labels >= 0, 0.5, 0.0))

    return _clusters(
        "dbscan",
        incidents,
        label,
        metric_crs=metric_crs,
        category=category,
        time_column=time_column,
        hull=hull,
        hull_ratio=hull_ratio,
        buffer_m=eps_m / 2.0 if buffer_m is None else buffer_m,
        params={"eps_m": eps_m, "min_samples": min_samples},
    )


def hdbscan_clusters(
    incidents: gpd.GeoDataFrame,
    *,
    min_cluster_size: int,
    min_samples: int | None = None,
    cluster_selection_epsilon_m: float = 0.0,
    category: str | None = "category",
    time_column: str | None = "occurred_from",
    hull: Hull = "concave",
    hull_ratio: float = 0.3,
    buffer_m: float = 10.0,
    metric_crs: pyproj.CRS | None = None,
    progress: Progress | None = None,
) -> ClusterResult:
    """HDBSCAN clusters of incident points, as polygons with counts and profiles.

    Parameters
    ----------
    incidents
        Point GeoDataFrame in any CRS; see :func:`dbscan_clusters`.
    min_cluster_size, min_samples, cluster_selection_epsilon_m
        See :func:`hdbscan_labels` (distances in metres, local metric CRS).
    category, time_column, hull, hull_ratio, metric_crs, progress
        See :func:`dbscan_clusters`.
    buffer_m
        Buffer around each hull in metres (default 10 m).

    Returns
    -------
    ClusterResult
        Polygons in the CRS of ``incidents``; ``n_core`` counts members of probability 1.
    """

    def label(xy: NDArray[np.float64]) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
        return hdbscan_labels(
            xy,
            min_cluster_size=min_cluster_size,
            min_samples=min_samples,
            cluster_selection_epsilon_m=cluster_selection_epsilon_m,
            progress=progress,
        )

    return _clusters(
        "hdbscan",
        incidents,
        label,
        metric_crs=metric_crs,
        category=category,
        time_column=time_column,
        hull=hull,
        hull_ratio=hull_ratio,
        buffer_m=buffer_m,
        params={
            "min_cluster_size": min_cluster_size,
            "min_samples": min_samples,
            "cluster_selection_epsilon_m": cluster_selection_epsilon_m,
        },
    )


# --------------------------------------------------------------------------------------------
# compiling ahead of requests

_warm = threading.Event()
_warm_lock = threading.Lock()


def warm_up() -> float:
    """Compile, or load from the numba cache, every jitted function clustering uses.

    Runs both methods on a few hundred synthetic points. Safe to call from several threads
    (the work is done once). Returns the seconds it took (0 when already warm).
    """
    if _warm.is_set():
        return 0.0
    with _warm_lock:
        if _warm.is_set():
            return 0.0
        began = time.perf_counter()
        rng = np.random.default_rng(0)
        xy = np.concatenate([rng.normal(0, 5, (150, 2)), rng.uniform(-100, 100, (150, 2))])
        dbscan_labels(xy, eps_m=5.0, min_samples=5)
        hdbscan_labels(xy, min_cluster_size=10)
        _warm.set()
        return time.perf_counter() - began


def start_warm_up() -> threading.Thread:
    """Run :func:`warm_up` in a daemon thread and return it (for servers and the CLI)."""
    thread = threading.Thread(target=warm_up, name="pingan-clusters-warm-up", daemon=True)
    thread.start()
    return thread


def jit_ready() -> bool:
    """Whether :func:`warm_up` has finished in this process, so clustering starts at once."""
    return _warm.is_set()
