"""Kernel density of incidents on a grid in metres, with the quartic (biweight) kernel.

The density at a cell centre ``c`` is, as in ArcGIS's Kernel Density tool (Silverman 1986,
eq. 4.5) ::

    f(c) = Σ_i  w_i · 3 / (π h²) · (1 - (d_ic / h)²)²      for d_ic < h, else 0

with ``d_ic`` the distance in metres in the local metric CRS, ``h`` the bandwidth (search
radius) and ``w_i`` the point weights. The kernel integrates to 1, so the densities integrate
to ``Σ w_i``; they are reported **per km²**.

Bandwidth rules (``bandwidth=``):

``"arcgis"`` (default)
    ArcGIS Pro's default search radius, a spatial variant of Silverman's rule of thumb that is
    robust to outliers: ``h = 0.9 · min(SD, sqrt(1 / ln 2) · Dm) · n^-0.2``, where ``SD`` is
    the standard distance of the points from their (weighted) mean centre,
    ``sqrt(Σ w_i d_i² / Σ w_i)``, ``Dm`` the (weighted) median of those distances, and ``n``
    the sum of the weights.
``"scott"``
    Scott's rule for two dimensions, ``h = σ · n^(-1/6)`` with ``σ = sqrt((σx² + σy²) / 2)``
    the (weighted) coordinate standard deviation, used as the quartic search radius as it is.
    It ignores outliers less well than ``"arcgis"``; it is offered for comparison.
a number
    A fixed bandwidth in metres.

The grid defaults to ArcGIS's cell size: the shorter side of the extent divided by 250. The
sum runs over point chunks and the cells within ``h`` of each point, never a dense
points × cells matrix.

References
----------
Silverman, B. W. (1986). *Density Estimation for Statistics and Data Analysis*. Chapman & Hall.
Esri, "How Kernel Density works", ArcGIS Pro documentation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pyproj
import shapely
from numpy.typing import ArrayLike, NDArray

from gis.crs import local_metric_crs_of, transform_points
from gis.errors import ValidationError

__all__ = ["KDEResult", "bandwidth_arcgis", "bandwidth_scott", "kde"]

_CHUNK_ENTRIES = 4_000_000  # points × cell offsets per block, about 100 MB of temporaries
_DEFAULT_CELLS_ON_SHORT_SIDE = 250
_MAX_CELLS = 25_000_000


@dataclass(frozen=True)
class KDEResult:
    """A kernel density surface.

    Attributes
    ----------
    density
        ``(rows, cols)`` ``float64`` densities per km² at the cell centres; row 0 is the
        southern row.
    x0, y0
        Centre of cell ``[0, 0]`` in metres in ``crs``.
    cell_size_m
        Cell side in metres.
    bandwidth_m
        The bandwidth (search radius) ``h`` in metres.
    rule
        ``"arcgis"``, ``"scott"`` or ``"fixed"``.
    crs
        The local metric CRS of the grid.
    peak_xy
        ``(x, y)`` metres in ``crs`` of the densest cell centre.
    peak_lonlat
        The same in EPSG:4326 degrees.
    total
        Sum of the point weights (the integral of the surface).
    """

    density: NDArray[np.float64]
    x0: float
    y0: float
    cell_size_m: float
    bandwidth_m: float
    rule: str
    crs: pyproj.CRS
    peak_xy: tuple[float, float]
    peak_lonlat: tuple[float, float]
    total: float

    def cell_centres(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """The x (per column) and y (per row) coordinates of the cell centres, metres."""
        rows, cols = self.density.shape
        return (
            self.x0 + self.cell_size_m * np.arange(cols, dtype=np.float64),
            self.y0 + self.cell_size_m * np.arange(rows, dtype=np.float64),
        )

    def value_at(self, x: ArrayLike, y: ArrayLike) -> NDArray[np.float64]:
        """Density (per km²) of the cell holding each point ``(x, y)`` in metres in ``crs``;
        ``NaN`` outside the grid."""
        xa, ya = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
        col = np.floor((xa - self.x0) / self.cell_size_m + 0.5).astype(np.intp)
        row = np.floor((ya - self.y0) / self.cell_size_m + 0.5).astype(np.intp)
        rows, cols = self.density.shape
        ok = (row >= 0) & (row < rows) & (col >= 0) & (col < cols)
        out = np.full(xa.shape, np.nan)
        out[ok] = self.density[row[ok], col[ok]]
        return out


def _weighted_median(values: NDArray[np.float64], weights: NDArray[np.float64]) -> float:
    order = np.argsort(values)
    cum = np.cumsum(weights[order])
    return float(values[order][np.searchsorted(cum, 0.5 * cum[-1])])


def bandwidth_arcgis(xy: ArrayLike, *, weights: ArrayLike | None = None) -> float:
    """ArcGIS Pro's default Kernel Density search radius, in the units of ``xy`` (metres).

    ``0.9 · min(SD, sqrt(1/ln 2) · Dm) · n^-0.2``; see the module docstring.
    """
    pts = np.asarray(xy, dtype=np.float64)
    w = np.ones(pts.shape[0]) if weights is None else np.asarray(weights, dtype=np.float64)
    total = float(w.sum())
    centre = (pts * w[:, None]).sum(axis=0) / total
    d = np.hypot(pts[:, 0] - centre[0], pts[:, 1] - centre[1])
    sd = float(np.sqrt((w * d * d).sum() / total))
    dm = _weighted_median(d, w)
    return 0.9 * min(sd, np.sqrt(1.0 / np.log(2.0)) * dm) * total**-0.2


def bandwidth_scott(xy: ArrayLike, *, weights: ArrayLike | None = None) -> float:
    """Scott's rule in two dimensions, ``σ · n^(-1/6)``, in the units of ``xy`` (metres)."""
    pts = np.asarray(xy, dtype=np.float64)
    w = np.ones(pts.shape[0]) if weights is None else np.asarray(weights, dtype=np.float64)
    total = float(w.sum())
    centre = (pts * w[:, None]).sum(axis=0) / total
    var = (w[:, None] * (pts - centre) ** 2).sum(axis=0) / total
    return float(np.sqrt(var.mean()) * total ** (-1.0 / 6.0))


def kde(
    points: gpd.GeoDataFrame | gpd.GeoSeries,
    *,
    bandwidth: Literal["arcgis", "scott"] | float = "arcgis",
    cell_size_m: float | None = None,
    weights: ArrayLike | None = None,
    area: gpd.GeoDataFrame | gpd.GeoSeries | None = None,
    crs: Any = None,
) -> KDEResult:
    """Quartic kernel density of points on a square grid in the local metric CRS.

    Parameters
    ----------
    points
        Incidents (points) with a CRS, any.
    bandwidth
        ``"arcgis"`` (default), ``"scott"``, or a fixed search radius in metres.
    cell_size_m
        Grid cell side in metres; default the shorter side of the extent / 250.
    weights
        Optional weight per point (e.g. aoristic shares); default 1.
    area
        Study area (any CRS) whose bounds define the grid; default the points' bounds grown
        by the bandwidth.
    crs
        The metric CRS; default :func:`gis.crs.local_metric_crs_of` the points.

    Returns
    -------
    KDEResult

    Raises
    ------
    gis.errors.ValidationError
        Fewer than 2 points, a bandwidth or cell size that is not positive, all points in
        one place with a data-driven bandwidth, or a grid of more than 25 million cells.
    """
    if points.crs is None:
        raise ValidationError("analysis.layer_without_crs", layer="points")
    metric = pyproj.CRS.from_user_input(crs) if crs is not None else local_metric_crs_of(points)
    xy = shapely.get_coordinates(np.asarray(points.to_crs(metric).geometry.values, dtype=object))
    n = xy.shape[0]
    if n < 2 or n != len(points):
        raise ValidationError("analysis.kde_too_few_points", count=n, minimum=2)
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64).ravel()
    if w.size != n:
        raise ValidationError("analysis.weights_length", weights=w.size, points=n)

    if isinstance(bandwidth, str):
        if bandwidth not in ("arcgis", "scott"):
            raise ValidationError("analysis.bad_bandwidth", bandwidth=bandwidth)
        rule: str = bandwidth
        h = bandwidth_arcgis(xy, weights=w) if rule == "arcgis" else bandwidth_scott(xy, weights=w)
        if not h > 0:
            raise ValidationError("analysis.kde_points_coincide", count=n)
    else:
        rule, h = "fixed", float(bandwidth)
        if not h > 0:
            raise ValidationError("analysis.bad_bandwidth", bandwidth=bandwidth)

    if area is not None:
        minx, miny, maxx, maxy = area.to_crs(metric).total_bounds
    else:
        (minx, miny), (maxx, maxy) = xy.min(axis=0) - h, xy.max(axis=0) + h
    size = (
        float(cell_size_m)
        if cell_size_m is not None
        else min(maxx - minx, maxy - miny) / _DEFAULT_CELLS_ON_SHORT_SIDE
    )
    if not size > 0:
        raise ValidationError("analysis.bad_cell_size", cell_size_m=cell_size_m)
    cols = max(1, int(np.ceil((maxx - minx) / size)))
    rows = max(1, int(np.ceil((maxy - miny) / size)))
    if rows * cols > _MAX_CELLS:
        raise ValidationError("analysis.fishnet_too_large", cells=rows * cols, cell_size_m=size)
    x0, y0 = minx + size / 2, miny + size / 2
    density = _quartic_sum(xy, w, h=h, x0=x0, y0=y0, size=size, shape=(rows, cols))

    r, c = np.unravel_index(int(np.argmax(density)), density.shape)
    peak = (float(x0 + c * size), float(y0 + r * size))
    lon, lat = transform_points([peak[0]], [peak[1]], src=metric, dst=4326)
    return KDEResult(
        density=density,
        x0=float(x0),
        y0=float(y0),
        cell_size_m=size,
        bandwidth_m=h,
        rule=rule,
        crs=metric,
        peak_xy=peak,
        peak_lonlat=(float(lon[0]), float(lat[0])),
        total=float(w.sum()),
    )


def _quartic_sum(
    xy: NDArray[np.float64],
    w: NDArray[np.float64],
    *,
    h: float,
    x0: float,
    y0: float,
    size: float,
    shape: tuple[int, int],
) -> NDArray[np.float64]:
    """Σ_i w_i K(d) at every cell centre, visiting only the cells within ``h`` of each point."""
    rows, cols = shape
    reach = int(np.ceil(h / size)) + 1
    di, dj = np.mgrid[-reach : reach + 1, -reach : reach + 1]
    di, dj = di.ravel(), dj.ravel()
    # the cell nearest each point, and offsets that can lie within h of it
    near = np.hypot(np.maximum(np.abs(di) - 0.5, 0), np.maximum(np.abs(dj) - 0.5, 0)) * size
    di, dj = di[near < h], dj[near < h]
    out = np.zeros(rows * cols)
    scale = 3.0 / (np.pi * h * h) * 1e6  # per m² → per km²
    block = max(1, _CHUNK_ENTRIES // di.size)
    for start in range(0, xy.shape[0], block):
        px, py = xy[start : start + block, 0], xy[start : start + block, 1]
        pw = w[start : start + block]
        ci = np.rint((py - y0) / size).astype(np.intp)
        cj = np.rint((px - x0) / size).astype(np.intp)
        ri = ci[:, None] + di[None, :]
        rj = cj[:, None] + dj[None, :]
        dx = x0 + rj * size - px[:, None]
        dy = y0 + ri * size - py[:, None]
        u = 1.0 - (dx * dx + dy * dy) / (h * h)
        ok = (u > 0) & (ri >= 0) & (ri < rows) & (rj >= 0) & (rj < cols)
        contrib = (pw[:, None] * u * u)[ok]
        out += np.bincount((ri * cols + rj)[ok], weights=contrib, minlength=rows * cols)
    return (out * scale).reshape(rows, cols)
