"""The cells a hotspot analysis counts in, with their ids and their spatial weights.

``grid``
    The 综合 grids of the scope (they tile their villages; the 专属 grids lie over them and
    would count incidents twice), queen contiguity.
``h3``
    H3 cells at ``resolution`` (7–10, parents of each incident's stored r10 cell), filled with
    the empty cells of the scope's outline when there is one; neighbours are the cells of the
    first ring (``h3.grid_ring``).
``fishnet``
    Square cells of ``cell_size_m`` metres in the local metric CRS over the scope's outline (or
    the incidents' extent); a distance band of ``band_m`` (default 1.5 cells: the eight cells
    around) between centres.
``segment``
    Road segments of the scope; an incident counts on its nearest segment within
    ``tolerance_m`` metres; segments that touch are neighbours.

Every weight matrix is binary with the focal cell on the diagonal (Gi*).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import h3
import numpy as np
import scipy.sparse as sp

from analysis.aggregate import (
    Aggregation,
    count_in_fishnet,
    count_in_h3,
    count_in_polygons,
    count_on_segments,
)
from analysis.weights import contiguity_weights, distance_band_weights, metric_centroids
from gis.errors import ValidationError
from gis.h3cells import cell_to_str
from layers.analyses._runs import Inputs

UNITS = ("grid", "h3", "fishnet", "segment")
DEFAULT_CELL_M = 250.0
DEFAULT_TOLERANCE_M = 50.0


@dataclass
class Cells:
    """Counted cells: the aggregation, a text id per cell and binary Gi* weights (sparse, the
    focal cell on the diagonal)."""

    agg: Aggregation
    ids: np.ndarray
    weights: sp.csr_array
    params: dict[str, Any]

    @property
    def units(self) -> gpd.GeoDataFrame:
        return self.agg.units

    def subset(self, keep: np.ndarray) -> Cells:
        """Only the cells where ``keep`` is true, their weights cut to match."""
        idx = np.flatnonzero(keep)
        weights = sp.csr_array(self.weights[idx][:, idx])
        agg = self.agg.subset(keep)
        return Cells(agg=agg, ids=self.ids[idx], weights=weights, params=self.params)


def tiling_grids(grids: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The 综合 grids of ``grids``, which tile their villages (the 专属 grids of a school or a
    hospital lie over them, and would count an incident or a resident twice)."""
    if "kind" not in grids.columns:
        return grids
    return grids[grids["kind"] != "专属"].reset_index(drop=True)


def _h3_weights(cells: np.ndarray) -> sp.csr_array:
    """Binary first-ring neighbours of H3 cells (int64), each cell its own neighbour."""
    position = {int(c): k for k, c in enumerate(cells)}
    rows, cols = list(range(len(cells))), list(range(len(cells)))
    for k, c in enumerate(cells):
        for ring in h3.grid_ring(h3.int_to_str(int(c)), 1):
            j = position.get(h3.str_to_int(ring))
            if j is not None:
                rows.append(k)
                cols.append(j)
    n = len(cells)
    matrix = sp.csr_array((np.ones(len(rows)), (rows, cols)), shape=(n, n))
    matrix.sort_indices()
    return matrix


def count_cells(
    inputs: Inputs,
    incidents: gpd.GeoDataFrame,
    *,
    unit: str,
    resolution: int = 9,
    cell_size_m: float | None = None,
    band_m: float | None = None,
    tolerance_m: float | None = None,
    fill: bool = True,
) -> Cells:
    """Count ``incidents`` in the cells of ``unit`` and build their weights (see the module).

    ``fill`` adds the empty cells of the scope's outline (H3, fishnet); without it only the
    cells with incidents (or every grid and segment) are returned.
    """
    if unit not in UNITS:
        raise ValidationError("analyses.bad_unit", unit=unit, units=", ".join(UNITS))
    params: dict[str, Any] = {"unit": unit}
    if unit == "grid":
        grids = tiling_grids(inputs.layer("grids"))
        if grids.empty:
            raise ValidationError("analyses.no_grids", area=inputs.area or "*")
        agg = count_in_polygons(incidents, grids)
        ids = grids["code"].astype(str).to_numpy(dtype=object)
        weights = contiguity_weights(grids, rule="queen", include_self=True).sparse
        inputs.log.say("analyses.log_unit_grid", cells=len(grids))
    elif unit == "h3":
        area = inputs.study_area() if fill else None
        agg = count_in_h3(incidents["h3_r10"].to_numpy(), resolution=resolution, area=area)
        ids = cell_to_str(agg.units["cell"].to_numpy()).astype(object)
        weights = _h3_weights(agg.units["cell"].to_numpy())
        params["resolution"] = resolution
        inputs.log.say("analyses.log_unit_h3", resolution=resolution, cells=len(ids))
        if area is not None:
            inputs.log.say("analyses.log_unit_filled")
    elif unit == "fishnet":
        size = float(cell_size_m or DEFAULT_CELL_M)
        area = inputs.study_area() if fill else None
        agg = count_in_fishnet(incidents, cell_size_m=size, area=area)
        if not fill:
            agg = agg.subset(agg.counts > 0)
        ids = ("r" + agg.units["row"].astype(str) + "c" + agg.units["col"].astype(str)).to_numpy(
            dtype=object
        )
        band = float(band_m or 1.5 * size)
        xy, _ = metric_centroids(agg.units, crs=agg.crs)
        weights = distance_band_weights(xy, threshold_m=band, include_self=True).sparse
        params.update(cell_size_m=size, band_m=band)
        inputs.log.say(
            "analyses.log_unit_fishnet", cell_m=f"{size:g}", band_m=f"{band:g}", cells=len(ids)
        )
    else:
        roads = inputs.layer("roads")
        if roads.empty:
            raise ValidationError("analyses.no_roads", area=inputs.area or "*")
        tolerance = float(tolerance_m or DEFAULT_TOLERANCE_M)
        agg = count_on_segments(incidents, roads, tolerance_m=tolerance)
        ids = roads["source_id"].astype(str).to_numpy(dtype=object)
        weights = contiguity_weights(roads, rule="queen", include_self=True).sparse
        params["tolerance_m"] = tolerance
        inputs.log.say(
            "analyses.log_unit_segment",
            segments=len(roads),
            tolerance_m=f"{tolerance:g}",
            far=int(agg.unassigned.size),
        )
    return Cells(agg=agg, ids=ids, weights=weights, params=params)
