"""Optimised hot spots: the scale of a Gi* analysis chosen from the data, every choice logged.

This follows the workflow of Esri's Optimized Hot Spot Analysis ("How Optimized Hot Spot
Analysis works", ArcGIS Pro documentation) for incident points aggregated to a fishnet:

1. **Initial data assessment.** Points with missing or empty geometry are set aside and
   counted. At least :data:`MIN_INCIDENTS` (60) incidents are needed, and they must not all lie
   in one place; otherwise the run is refused with a message saying why.
2. **Locational outliers.** Each incident's distance to its nearest non-coincident neighbour
   is computed; incidents whose distance lies :data:`OUTLIER_SD` (3) standard deviations or
   more above the mean are outliers. They are reported and do not shape the fishnet (extent or
   cell size); without a study area they also fall outside it.
3. **Cell size.** Unless given, the larger of (a) the side of a square cell that holds one
   incident on average over the outlier-free extent, ``sqrt(area / n)``, and (b) the mean
   nearest-neighbour distance of the outlier-free incidents.
4. **Aggregation.** Incidents are counted per fishnet cell. With a study area every cell
   touching it is analysed, zeros included; without one only cells with at least one incident
   are analysed (Esri's rule). At least :data:`MIN_CELLS` (30) cells are needed and the counts
   must vary.
5. **Scale of analysis.** Incremental spatial autocorrelation: global Moran's I of the counts
   (row-standardised fixed distance bands, randomisation z) over :data:`ISA_STEPS` (10) bands
   starting at the distance that gives every cell at least one neighbour, in steps of the mean
   nearest-neighbour distance between cells. The band is the **first peak** of z (a band whose
   z is significant, above 1.96, and higher than both its neighbours); with no peak, the band
   of the **maximum** significant z; with no significant z at all, the **average distance to
   the K nearest neighbours**, ``K = 0.05 · N`` cells kept within 3 … 30.
6. **Hot spots.** Gi* with binary weights of that band, the focal cell included, and
   Benjamini–Hochberg FDR at each confidence level (:func:`analysis.gistar.gi_star`).

Every decision is an entry of the run log (:class:`analysis.runlog.RunLog`) with a catalogue key,
rendered in Chinese and English.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import geopandas as gpd
import numpy as np
import pyproj
import shapely
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from analysis.aggregate import Aggregation, count_in_fishnet
from analysis.gistar import GiStarResult, gi_star
from analysis.moran import moran
from analysis.runlog import RunLog
from analysis.weights import distance_band_weights, metric_centroids
from gis.crs import local_metric_crs_of
from gis.errors import ValidationError
from gis.messages import Language

__all__ = [
    "ISA_STEPS",
    "MIN_CELLS",
    "MIN_INCIDENTS",
    "OUTLIER_SD",
    "IncrementalAutocorrelation",
    "OptimizedHotSpots",
    "incremental_autocorrelation",
    "locational_outliers",
    "optimized_hot_spots",
]

MIN_INCIDENTS = 60
MIN_CELLS = 30
OUTLIER_SD = 3.0
ISA_STEPS = 10
_SIGNIFICANT_Z = 1.96
_KNN_SHARE, _KNN_MIN, _KNN_MAX = 0.05, 3, 30


@dataclass(frozen=True)
class IncrementalAutocorrelation:
    """Global Moran's I of the same values over increasing distance bands.

    Attributes
    ----------
    distances_m
        The bands in metres, ascending.
    moran_i, z
        Moran's I and its randomisation z-score at each band.
    chosen_m
        The band chosen, in metres.
    how
        ``"first_peak"``, ``"max_peak"`` or ``"knn_average"`` (see the module docstring).
    """

    distances_m: NDArray[np.float64]
    moran_i: NDArray[np.float64]
    z: NDArray[np.float64]
    chosen_m: float
    how: str


@dataclass(frozen=True)
class OptimizedHotSpots:
    """The result of :func:`optimized_hot_spots`.

    Attributes
    ----------
    cells
        The analysed fishnet cells in the metric CRS ``crs``: ``row``, ``col``, ``count``,
        ``area_km2``, ``density``, ``z``, ``p``, ``bin`` (Gi_Bin), ``neighbours`` (cells within
        the band, the cell itself not counted).
    gi
        The Gi* result, in the order of ``cells``.
    cell_size_m
        Fishnet cell side in metres.
    distance_band_m
        The Gi* distance band in metres.
    isa
        The incremental spatial autocorrelation, or ``None`` when the band was given.
    outliers
        Positions (``iloc``) of the input points found to be locational outliers.
    unassigned
        Positions of input points not in any analysed cell (outliers outside the fishnet,
        points outside the study area, points with no geometry).
    crs
        The local metric CRS of ``cells``.
    log
        Every choice, in order (:class:`analysis.runlog.RunLog`).
    """

    cells: gpd.GeoDataFrame
    gi: GiStarResult
    cell_size_m: float
    distance_band_m: float
    isa: IncrementalAutocorrelation | None
    outliers: NDArray[np.intp]
    unassigned: NDArray[np.intp]
    crs: pyproj.CRS
    log: RunLog

    def log_text(self, *, language: Language = "zh") -> str:
        """The run log as lines in ``"zh"`` or ``"en"``."""
        return "\n".join(self.log.lines(language=language))


def _nearest_distinct(xy: NDArray[np.float64]) -> NDArray[np.float64]:
    """Distance from each point to its nearest neighbour at a different location (``inf`` if
    every other point is at the same place)."""
    unique, inverse = np.unique(xy, axis=0, return_inverse=True)
    if unique.shape[0] < 2:
        return np.full(xy.shape[0], np.inf)
    d, _ = cKDTree(unique).query(unique, k=2)
    return np.asarray(d[:, 1], dtype=np.float64)[inverse.ravel()]


def locational_outliers(xy: NDArray[np.float64], *, sd: float = OUTLIER_SD) -> NDArray[np.bool_]:
    """Which points lie ``sd`` standard deviations or more beyond the mean nearest-neighbour
    distance (distances in metres to the nearest neighbour at another location)."""
    d = _nearest_distinct(xy)
    finite = np.isfinite(d)
    if finite.sum() < 2:
        return np.zeros(xy.shape[0], dtype=bool)
    mean, std = d[finite].mean(), d[finite].std()
    if std == 0:
        return np.zeros(xy.shape[0], dtype=bool)
    return finite & ((d - mean) / std >= sd)


def incremental_autocorrelation(
    xy: NDArray[np.float64],
    values: NDArray[np.float64],
    *,
    steps: int = ISA_STEPS,
    start_m: float | None = None,
    increment_m: float | None = None,
) -> IncrementalAutocorrelation:
    """Moran's I z over increasing fixed distance bands and the band Esri's rules choose.

    Parameters
    ----------
    xy
        ``(n, 2)`` unit centres in metres (metric CRS).
    values
        One value per unit (counts).
    steps
        Number of bands (default 10).
    start_m
        First band in metres; default the distance at which every unit has a neighbour.
    increment_m
        Step in metres; default the mean nearest-neighbour distance.

    Returns
    -------
    IncrementalAutocorrelation
    """
    nn, _ = cKDTree(xy).query(xy, k=2)
    nn = nn[:, 1]
    start = float(nn.max()) if start_m is None else float(start_m)
    step = float(nn.mean()) if increment_m is None else float(increment_m)
    distances = (start + step * np.arange(steps)).astype(np.float64)
    i_values = np.full(steps, np.nan)
    z_values = np.full(steps, np.nan)
    for s, band in enumerate(distances):
        w = distance_band_weights(xy, threshold_m=band, transform="R")
        result = moran(values, w)
        i_values[s], z_values[s] = result.i, result.z_rand
    chosen, how = _choose_band(distances, z_values, xy)
    return IncrementalAutocorrelation(
        distances_m=distances, moran_i=i_values, z=z_values, chosen_m=chosen, how=how
    )


def _choose_band(
    distances: NDArray[np.float64], z: NDArray[np.float64], xy: NDArray[np.float64]
) -> tuple[float, str]:
    significant = np.isfinite(z) & (z > _SIGNIFICANT_Z)
    for s in range(1, z.size - 1):
        if significant[s] and z[s] > z[s - 1] and z[s] > z[s + 1]:
            return float(distances[s]), "first_peak"
    if significant.any():
        best = int(np.nanargmax(np.where(significant, z, -np.inf)))
        return float(distances[best]), "max_peak"
    k = int(np.clip(round(_KNN_SHARE * xy.shape[0]), _KNN_MIN, min(_KNN_MAX, xy.shape[0] - 1)))
    d, _ = cKDTree(xy).query(xy, k=k + 1)
    return float(d[:, 1:].mean()), "knn_average"


def optimized_hot_spots(
    points: gpd.GeoDataFrame,
    *,
    area: gpd.GeoDataFrame | gpd.GeoSeries | None = None,
    cell_size_m: float | None = None,
    distance_band_m: float | None = None,
    crs: Any = None,
) -> OptimizedHotSpots:
    """Gi* hot spots of incident points at a scale chosen from the data, as Esri's Optimized
    Hot Spot Analysis chooses it (fishnet aggregation; see the module docstring).

    Parameters
    ----------
    points
        Incidents (points) with a CRS, any.
    area
        The study area where incidents are possible (any CRS); its empty cells are analysed
        too. Default: only cells with incidents.
    cell_size_m
        Fishnet cell side in metres; default chosen from the data.
    distance_band_m
        Gi* distance band in metres; default chosen by incremental spatial autocorrelation.
    crs
        The metric CRS; default :func:`gis.crs.local_metric_crs_of` the points.

    Returns
    -------
    OptimizedHotSpots

    Raises
    ------
    gis.errors.ValidationError
        Fewer than 60 usable incidents, all incidents in one place, fewer than 30 cells, or
        counts that do not vary (catalogue keys ``analysis.ohsa_*``).
    """
    log = RunLog()
    metric = pyproj.CRS.from_user_input(crs) if crs is not None else local_metric_crs_of(points)
    geoms = np.asarray(points.geometry.values, dtype=object)
    usable = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    usable &= shapely.get_type_id(geoms) == 0  # Point
    log.say("analysis.ohsa_log_input", total=len(points), usable=int(usable.sum()))
    if (~usable).any():
        log.say("analysis.ohsa_log_bad_records", count=int((~usable).sum()))
    n = int(usable.sum())
    if n < MIN_INCIDENTS:
        raise ValidationError("analysis.ohsa_too_few_incidents", count=n, minimum=MIN_INCIDENTS)
    kept = np.flatnonzero(usable)
    pts = points.iloc[kept]
    xy, _ = metric_centroids(pts, crs=metric)
    if np.unique(xy, axis=0).shape[0] < 2:
        raise ValidationError("analysis.ohsa_all_coincident", count=n)
    log.say("analysis.ohsa_log_crs", crs=metric.to_string())

    outlier = locational_outliers(xy)
    outliers = kept[outlier]
    log.say("analysis.ohsa_log_outliers", count=int(outlier.sum()), sd=OUTLIER_SD)
    core = xy[~outlier]

    if cell_size_m is None:
        cell_size_m = _cell_size(core, area=area, metric=metric, log=log)
    else:
        log.say("analysis.ohsa_log_cell_given", cell_m=_m(cell_size_m))

    agg = _aggregate(pts, outlier, cell_size_m=cell_size_m, area=area, metric=metric, log=log)
    cells = agg.units
    if len(cells) < MIN_CELLS:
        raise ValidationError(
            "analysis.ohsa_too_few_cells",
            count=len(cells),
            minimum=MIN_CELLS,
            cell_m=_m(cell_size_m),
        )
    counts = agg.counts
    if np.ptp(counts) == 0:
        raise ValidationError(
            "analysis.ohsa_no_variation", count=len(cells), value=float(counts[0])
        )
    centres = shapely.get_coordinates(
        shapely.centroid(np.asarray(cells.geometry.values, dtype=object))
    )

    isa = None
    if distance_band_m is None:
        isa = incremental_autocorrelation(centres, counts)
        distance_band_m = isa.chosen_m
        _log_isa(isa, log)
    else:
        log.say("analysis.ohsa_log_band_given", band_m=_m(distance_band_m))

    w = distance_band_weights(centres, threshold_m=distance_band_m, include_self=True)
    gi = gi_star(counts, w.sparse, fdr=True, alpha=0.05)
    log.say(
        "analysis.ohsa_log_neighbours",
        mean=round(w.mean_neighbours, 1),
        min=int(w.cardinalities.min()),
        max=int(w.cardinalities.max()),
        islands=int(w.islands.size),
    )
    log.say(
        "analysis.ohsa_log_result",
        hot=gi.n_hot,
        cold=gi.n_cold,
        cells=len(cells),
        cutoff=f"{gi.p_cutoff:.4g}",
    )
    cells = cells.assign(z=gi.z, p=gi.p, bin=gi.bins, neighbours=w.cardinalities)
    point_unit = np.full(len(points), -1, dtype=np.intp)
    point_unit[kept] = agg.point_unit
    return OptimizedHotSpots(
        cells=cells,
        gi=gi,
        cell_size_m=float(cell_size_m),
        distance_band_m=float(distance_band_m),
        isa=isa,
        outliers=outliers.astype(np.intp),
        unassigned=np.flatnonzero(point_unit < 0).astype(np.intp),
        crs=metric,
        log=log,
    )


def _m(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:.1f}"


def _cell_size(core: NDArray[np.float64], *, area: Any, metric: pyproj.CRS, log: RunLog) -> float:
    if area is not None:
        region = shapely.union_all(np.asarray(area.to_crs(metric).geometry.values, dtype=object))
        extent_km2 = region.area / 1e6
    else:
        span = core.max(axis=0) - core.min(axis=0)
        extent_km2 = float(span[0] * span[1]) / 1e6
    per_point = float(np.sqrt(extent_km2 * 1e6 / core.shape[0]))
    nn = _nearest_distinct(core)
    mean_nn = float(nn[np.isfinite(nn)].mean())
    size = max(per_point, mean_nn)
    log.say(
        "analysis.ohsa_log_cell_size",
        cell_m=_m(size),
        per_point_m=_m(per_point),
        mean_nn_m=_m(mean_nn),
        extent_km2=f"{extent_km2:,.2f}",
    )
    return size


def _aggregate(
    pts: gpd.GeoDataFrame,
    outlier: NDArray[np.bool_],
    *,
    cell_size_m: float,
    area: Any,
    metric: pyproj.CRS,
    log: RunLog,
) -> Aggregation:
    if area is not None:
        agg = count_in_fishnet(pts, cell_size_m=cell_size_m, area=area, crs=metric)
        log.say("analysis.ohsa_log_cells_area", cells=len(agg.units))
        return agg
    # without a study area the fishnet spans the outlier-free incidents, and only cells with
    # incidents are analysed
    agg = count_in_fishnet(pts[~outlier], cell_size_m=cell_size_m, crs=metric)
    occupied = agg.counts > 0
    core = agg.subset(occupied)
    log.say("analysis.ohsa_log_cells_occupied", cells=len(core.units), empty=int((~occupied).sum()))
    point_unit = np.full(len(pts), -1, dtype=np.intp)
    point_unit[~outlier] = core.point_unit
    return replace(core, point_unit=point_unit)


def _log_isa(isa: IncrementalAutocorrelation, log: RunLog) -> None:
    log.say(
        "analysis.ohsa_log_isa",
        steps=isa.distances_m.size,
        start_m=_m(float(isa.distances_m[0])),
        end_m=_m(float(isa.distances_m[-1])),
    )
    key = {
        "first_peak": "analysis.ohsa_log_band_first_peak",
        "max_peak": "analysis.ohsa_log_band_max_peak",
        "knn_average": "analysis.ohsa_log_band_knn",
    }[isa.how]
    z_at = float(isa.z[np.argmin(np.abs(isa.distances_m - isa.chosen_m))])
    log.say(key, band_m=_m(isa.chosen_m), z=f"{z_at:.2f}")
