"""Sparse spatial weights: fixed distance band, k nearest neighbours, queen and rook contiguity.

Every builder returns a :class:`SpatialWeights` holding a ``scipy.sparse.csr_array`` of shape
``(n, n)``: row ``i`` lists the neighbours of unit ``i``. Nothing is ever dense, so 100,000
units with tens of neighbours each take a few megabytes.

Distances are Euclidean in **metres in a projected (metric) CRS**: pass coordinates from the
local metric CRS (:func:`gis.crs.local_metric_crs`), or use :func:`metric_centroids` to get
them from a GeoDataFrame in any CRS. Contiguity is decided on the polygons themselves (in any
CRS; a ``tolerance`` is in the CRS's units).

The transforms are those of ArcGIS and PySAL: ``"B"`` binary (1 for a neighbour) and ``"R"``
row-standardised (each row divided by its sum, so the spatial lag is the neighbours' mean).
``include_self=True`` puts the focal unit on the diagonal before the transform, which Getis-Ord
Gi* needs. Units with no neighbour but themselves are *islands*; they are reported, never
silently dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import scipy.sparse as sp
import shapely
from numpy.typing import ArrayLike, NDArray
from scipy.spatial import cKDTree

from gis.errors import ValidationError

if TYPE_CHECKING:  # geopandas and pyproj load only where frames are used: a fast cold start
    import geopandas as gpd
    import pyproj

__all__ = [
    "SpatialWeights",
    "contiguity_weights",
    "distance_band_weights",
    "knn_weights",
    "metric_centroids",
]

Transform = Literal["B", "R"]
Kind = Literal["distance_band", "knn", "queen", "rook"]


@dataclass(frozen=True)
class SpatialWeights:
    """Spatial weights of ``n`` units in a fixed order.

    Attributes
    ----------
    sparse
        ``scipy.sparse.csr_array`` of ``float64``, shape ``(n, n)``; ``sparse[i, j]`` is the
        weight of unit ``j`` in the neighbourhood of unit ``i``.
    kind
        ``"distance_band"``, ``"knn"``, ``"queen"`` or ``"rook"``.
    transform
        ``"B"`` (binary) or ``"R"`` (row-standardised).
    include_self
        Whether each unit is on its own diagonal (Gi*).
    islands
        Positions of units without any neighbour other than themselves, ascending.
    threshold_m
        The distance band in metres (``kind="distance_band"``), else ``None``.
    k
        The number of neighbours (``kind="knn"``), else ``None``.
    """

    sparse: sp.csr_array
    kind: Kind
    transform: Transform
    include_self: bool
    islands: NDArray[np.intp]
    threshold_m: float | None = None
    k: int | None = None

    @property
    def n(self) -> int:
        """Number of units."""
        return int(self.sparse.shape[0])

    @property
    def cardinalities(self) -> NDArray[np.intp]:
        """Number of neighbours of each unit, the unit itself not counted."""
        counts = np.diff(self.sparse.indptr)
        if self.include_self:
            counts = counts - (self.sparse.diagonal() != 0)
        return counts.astype(np.intp)

    @property
    def mean_neighbours(self) -> float:
        """Average number of neighbours per unit, the unit itself not counted."""
        return float(self.cardinalities.mean()) if self.n else 0.0

    def with_transform(
        self, transform: Transform, *, include_self: bool | None = None
    ) -> SpatialWeights:
        """The same neighbours under another transform, and optionally with or without self."""
        binary = _binary(self.sparse)
        if self.include_self:
            binary = _set_diagonal(binary, value=0.0)
        keep_self = self.include_self if include_self is None else include_self
        return _finish(
            binary,
            kind=self.kind,
            transform=transform,
            include_self=keep_self,
            threshold_m=self.threshold_m,
            k=self.k,
        )


def _binary(matrix: sp.csr_array) -> sp.csr_array:
    out = sp.csr_array(matrix, dtype=np.float64, copy=True)
    out.data[:] = 1.0
    return out


def _set_diagonal(matrix: sp.csr_array, *, value: float) -> sp.csr_array:
    n = matrix.shape[0]
    coo = sp.coo_array(matrix)
    off = coo.row != coo.col
    rows, cols, data = coo.row[off], coo.col[off], coo.data[off]
    if value:
        diag = np.arange(n)
        rows = np.concatenate([rows, diag])
        cols = np.concatenate([cols, diag])
        data = np.concatenate([data, np.full(n, value)])
    out = sp.csr_array((data, (rows, cols)), shape=(n, n))
    out.sort_indices()
    return out


def _check_transform(transform: str) -> Transform:
    if transform not in ("B", "R"):
        raise ValidationError("analysis.bad_transform", transform=transform)
    return transform  # type: ignore[return-value]


def _finish(
    binary: sp.csr_array,
    *,
    kind: Kind,
    transform: str,
    include_self: bool,
    threshold_m: float | None = None,
    k: int | None = None,
) -> SpatialWeights:
    """Islands, the diagonal and the transform, from a binary matrix without its diagonal."""
    transform = _check_transform(transform)
    islands = np.flatnonzero(np.diff(binary.indptr) == 0).astype(np.intp)
    matrix = _set_diagonal(binary, value=1.0) if include_self else binary
    if transform == "R":
        sums = np.diff(matrix.indptr).astype(np.float64)  # binary: the row sum is the count
        with np.errstate(divide="ignore"):
            scale = np.where(sums > 0, 1.0 / sums, 0.0)
        matrix = sp.csr_array(
            (matrix.data * np.repeat(scale, np.diff(matrix.indptr)), matrix.indices, matrix.indptr),
            shape=matrix.shape,
        )
    return SpatialWeights(
        sparse=matrix,
        kind=kind,
        transform=transform,
        include_self=include_self,
        islands=islands,
        threshold_m=threshold_m,
        k=k,
    )


def _symmetric(i: NDArray[np.intp], j: NDArray[np.intp], n: int) -> sp.csr_array:
    rows = np.concatenate([i, j])
    cols = np.concatenate([j, i])
    out = sp.csr_array((np.ones(rows.size), (rows, cols)), shape=(n, n))
    out.sum_duplicates()
    out.data[:] = 1.0
    out.sort_indices()
    return out


def _as_xy(xy: ArrayLike) -> NDArray[np.float64]:
    arr = np.asarray(xy, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise ValidationError("analysis.bad_coordinates", shape=tuple(arr.shape))
    if not np.isfinite(arr).all():
        bad = np.flatnonzero(~np.isfinite(arr).all(axis=1))
        raise ValidationError(
            "analysis.non_finite_coordinates",
            count=bad.size,
            examples=", ".join(map(str, bad[:3])),
        )
    return arr


def metric_centroids(
    frame: gpd.GeoDataFrame | gpd.GeoSeries, *, crs: Any = None
) -> tuple[NDArray[np.float64], pyproj.CRS]:
    """The centroids of a layer's geometries as ``(n, 2)`` metres in a metric CRS.

    Parameters
    ----------
    frame
        Points, lines or polygons with a CRS (any: EPSG:4490, EPSG:4326, a projected one).
    crs
        The metric CRS to use; default :func:`gis.crs.local_metric_crs_of` the data.

    Returns
    -------
    (xy, crs)
        ``float64`` eastings and northings in metres, and the CRS they are in.
    """
    import pyproj

    from gis.crs import local_metric_crs_of

    series = frame.geometry if hasattr(frame, "geometry") else frame
    target = pyproj.CRS.from_user_input(crs) if crs is not None else local_metric_crs_of(series)
    if not target.is_projected:
        raise ValidationError("analysis.crs_not_metric", crs=target.to_string())
    projected = series.to_crs(target)
    centres = shapely.centroid(np.asarray(projected.values, dtype=object))
    return shapely.get_coordinates(centres), target


def distance_band_weights(
    xy: ArrayLike,
    *,
    threshold_m: float,
    transform: Transform = "B",
    include_self: bool = False,
) -> SpatialWeights:
    """Neighbours are the units within ``threshold_m`` metres (inclusive), as ArcGIS's
    ``FIXED_DISTANCE_BAND`` and PySAL's ``DistanceBand(binary=True)``.

    Parameters
    ----------
    xy
        ``(n, 2)`` coordinates in metres in a projected CRS (see :func:`metric_centroids`).
    threshold_m
        The band in metres, > 0.
    transform
        ``"B"`` binary (default) or ``"R"`` row-standardised.
    include_self
        Put each unit in its own neighbourhood (Gi*).

    Returns
    -------
    SpatialWeights
        Symmetric before the transform; units with no neighbour in the band are islands.
    """
    points = _as_xy(xy)
    if not threshold_m > 0:
        raise ValidationError("analysis.bad_threshold", threshold_m=threshold_m)
    tree = cKDTree(points)
    pairs = tree.query_pairs(float(threshold_m), output_type="ndarray")
    binary = _symmetric(pairs[:, 0], pairs[:, 1], points.shape[0])
    return _finish(
        binary,
        kind="distance_band",
        transform=transform,
        include_self=include_self,
        threshold_m=float(threshold_m),
    )


def knn_weights(
    xy: ArrayLike,
    *,
    k: int,
    transform: Transform = "B",
    include_self: bool = False,
) -> SpatialWeights:
    """Neighbours are each unit's ``k`` nearest other units (not symmetric in general).

    Ties at the ``k``-th distance are broken by position, as PySAL's ``KNN`` does. A unit
    sharing its location with others still never counts itself among its ``k``.

    Parameters
    ----------
    xy
        ``(n, 2)`` coordinates in metres in a projected CRS.
    k
        Number of neighbours, ``1 <= k < n``.
    transform, include_self
        As in :func:`distance_band_weights`.

    Returns
    -------
    SpatialWeights
    """
    points = _as_xy(xy)
    n = points.shape[0]
    if not 1 <= int(k) < n:
        raise ValidationError("analysis.bad_k", k=k, n=n)
    k = int(k)
    _, idx = cKDTree(points).query(points, k=k + 1)
    idx = np.asarray(idx, dtype=np.intp).reshape(n, k + 1)
    own = idx == np.arange(n)[:, None]
    # drop self where found, else (self hidden among coincident points) the farthest
    no_self = ~own.any(axis=1)
    own[no_self, k] = True
    cols = idx[~own].reshape(n, k)
    rows = np.repeat(np.arange(n), k)
    binary = sp.csr_array((np.ones(n * k), (rows, cols.ravel())), shape=(n, n))
    binary.sort_indices()
    return _finish(binary, kind="knn", transform=transform, include_self=include_self, k=k)


def contiguity_weights(
    polygons: gpd.GeoDataFrame | gpd.GeoSeries | ArrayLike,
    *,
    rule: Literal["queen", "rook"] = "queen",
    transform: Transform = "B",
    include_self: bool = False,
    tolerance: float = 0.0,
) -> SpatialWeights:
    """Neighbours are the polygons that touch: at any point (queen) or along an edge (rook).

    Candidate pairs come from a ``shapely.STRtree`` query and are tested with vectorised
    predicates: queen is ``intersects`` (within ``tolerance`` if given), rook is a boundary
    intersection of dimension 1 (DE-9IM ``****1****``). Polygons that overlap (their interiors
    meet) are neighbours under both rules.

    Parameters
    ----------
    polygons
        Polygons or multipolygons, any CRS (a GeoDataFrame, GeoSeries or array of shapely
        geometries). No reprojection is needed: contiguity does not depend on the CRS.
    rule
        ``"queen"`` (default) or ``"rook"``.
    transform, include_self
        As in :func:`distance_band_weights`.
    tolerance
        Also join polygons closer than this, in the CRS's units (for gaps from digitising);
        queen only. Default 0: they must touch.

    Returns
    -------
    SpatialWeights
    """
    if rule not in ("queen", "rook"):
        raise ValidationError("analysis.bad_contiguity_rule", rule=rule)
    geoms = np.asarray(
        polygons.geometry.values if hasattr(polygons, "geometry") else polygons, dtype=object
    )
    n = geoms.size
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    if missing.any():
        bad = np.flatnonzero(missing)
        raise ValidationError(
            "analysis.empty_geometries", count=bad.size, examples=", ".join(map(str, bad[:3]))
        )
    tree = shapely.STRtree(geoms)
    if tolerance > 0:
        i, j = tree.query(geoms, predicate="dwithin", distance=float(tolerance))
    else:
        i, j = tree.query(geoms, predicate="intersects")
    keep = i < j
    i, j = i[keep], j[keep]
    if rule == "rook":
        edge = shapely.relate_pattern(geoms[i], geoms[j], "****1****") | shapely.relate_pattern(
            geoms[i], geoms[j], "T********"
        )
        i, j = i[edge], j[edge]
    binary = _symmetric(i.astype(np.intp), j.astype(np.intp), n)
    return _finish(binary, kind=rule, transform=transform, include_self=include_self)
