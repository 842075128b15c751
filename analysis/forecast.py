"""Our monthly hotspot forecast: a Poisson regression over recent counts, neighbours and places.

For every cell the model predicts the number of incidents next month as ::

    E[count] = exp(β₀ + Σ_k β_k · feature_k)

fitted by penalised Poisson maximum likelihood (:class:`sklearn.linear_model.PoissonRegressor`)
on the *training months only*: each of the last ``fit_months`` months of the history is a
target, with features computed from the months before it, exactly as the forecast month's
features are computed from the whole history. The features (all per cell, counts as monthly
rates, transformed by ``log(1 + x)``):

- **recent counts at several windows**: the last month, the last 3 and the last 12 months, the
  whole history, and an exponentially decayed count (half-life ``half_life_months``);
- **neighbour counts**: the same over the queen-contiguous ring of the cell (its first-order
  neighbours, without the cell) and over the second ring, as means per cell — the smoothing
  that lets sparse cells borrow strength;
- **near repeat**: last month's count in the cell and its ring together, the short-term
  contagion of burglary and robbery (Johnson and Bowers 2004);
- **place proximity**: for each kind of place offered (markets, schools, stations …), the
  distance from the cell centroid to the nearest one, as ``log(1 + d / 100 m)``, capped at
  5 km.

Features are standardised with the training rows' means and deviations. The coefficients and
the fit are in :class:`ForecastModel`, so a forecast can be explained. Nothing is tuned to
particular data: the windows and the penalty are fixed defaults.

References
----------
Johnson, S. D. and Bowers, K. J. (2004). The burglary as clue to the future: the beginnings of
prospective hot-spotting. *European Journal of Criminology* 1(2), 237–255.
Mohler, G. O. et al. (2015). Randomized controlled field trials of predictive policing.
*Journal of the American Statistical Association* 110(512), 1399–1411 (the ETAS alternative).
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from analysis.backtest import CellSet, History
from gis.errors import ValidationError

__all__ = ["ForecastModel", "fit_forecast", "forecast_scores"]

FloatArray = NDArray[np.float64]

PLACE_CAP_M = 5000.0
"""Distances to places beyond this many metres count as this far."""
SMOOTHING_M: tuple[float, ...] = (300.0, 600.0, 1200.0)
"""Bandwidths (metres) of the quartic kernels that smooth counts over nearby cells."""


@dataclass(frozen=True)
class ForecastModel:
    """A fitted forecast.

    Attributes
    ----------
    features
        Feature names, in coefficient order.
    coefficients
        Poisson regression coefficients on the standardised features.
    intercept
        The intercept (log of the expected monthly count at average features).
    mean, scale
        Standardisation of each feature (training rows).
    fit_months
        Number of past months used as targets.
    deviance_explained
        Share of the null Poisson deviance the model explains on its training rows (D²).
    half_life_months, floor
        The decay of the decayed count, and the floor added to rates before the logarithm.
    """

    features: tuple[str, ...]
    coefficients: FloatArray
    intercept: float
    mean: FloatArray
    scale: FloatArray
    fit_months: int
    deviance_explained: float
    half_life_months: float
    floor: float

    def predict(self, history: History) -> FloatArray:
        """Expected incidents per cell in ``history.forecast_month``."""
        names, x = _features(
            history.cells,
            _monthly(history),
            history.places,
            half_life_months=self.half_life_months,
            floor=self.floor,
        )
        if names != self.features:
            raise ValidationError("forecast.feature_mismatch")
        z = (x - self.mean) / self.scale
        return np.exp(np.clip(self.intercept + z @ self.coefficients, -30, 30))


_KERNELS: dict[int, tuple[weakref.finalize, dict[float, sp.csr_array]]] = {}


def _kernel(cells: CellSet, bandwidth_m: float) -> sp.csr_array:
    """Row-normalised quartic kernel weights between cell centroids within ``bandwidth_m``.

    Cached per cell set (dropped when the cell set is garbage-collected).
    """
    entry = _KERNELS.get(id(cells))
    if entry is None:
        entry = (weakref.finalize(cells, _KERNELS.pop, id(cells), None), {})
        _KERNELS[id(cells)] = entry
    cache = entry[1]
    if bandwidth_m not in cache:
        centres = np.column_stack([cells.x, cells.y])
        tree = cKDTree(centres)
        pairs = tree.sparse_distance_matrix(tree, bandwidth_m, output_type="coo_matrix")
        u = 1.0 - (pairs.data / bandwidth_m) ** 2
        k = sp.csr_array((u * u, (pairs.row, pairs.col)), shape=(len(cells), len(cells)))
        k = k + sp.eye_array(len(cells), format="csr")  # the cell itself (distance 0)
        rows = np.asarray(k.sum(axis=1)).ravel()
        cache[bandwidth_m] = sp.csr_array(sp.diags_array(1.0 / rows) @ k)
    return cache[bandwidth_m]


def _monthly(history: History) -> FloatArray:
    """``(cells, months)`` counts; column ``j`` holds the incidents of age ``j + 1``."""
    months = max(history.months, 1)
    flat = history.cell * months + (history.age - 1)
    counts = np.bincount(flat, minlength=len(history.cells) * months)
    return counts.reshape(len(history.cells), months).astype(np.float64)


def _features(
    cells: CellSet,
    monthly: FloatArray,
    places: Mapping[str, FloatArray],
    *,
    half_life_months: float,
    floor: float,
) -> tuple[tuple[str, ...], FloatArray]:
    """Features of the month after the history ``monthly`` (column 0 = the latest month)."""
    months = monthly.shape[1]
    decay = np.exp(-np.log(2.0) * np.arange(months) / half_life_months)
    rates = {
        "last_1": monthly[:, 0],
        "last_3": monthly[:, :3].mean(axis=1),
        "last_12": monthly[:, :12].mean(axis=1),
        "all": monthly.mean(axis=1),
        "decayed": monthly @ decay / decay.sum(),
    }
    names: list[str] = list(rates)
    cols: list[FloatArray] = list(rates.values())
    for h in SMOOTHING_M:
        k = _kernel(cells, h)
        for name in ("last_3", "last_12", "all"):
            names.append(f"{name}_within_{h:g}m")
            cols.append(k @ rates[name])
    names.append("near_repeat")
    cols.append(_kernel(cells, SMOOTHING_M[0]) @ rates["last_1"])
    out = [np.log(c + floor) for c in cols]
    centres = np.column_stack([cells.x, cells.y])
    for kind in sorted(places):
        pts = places[kind]
        if not len(pts):
            continue
        d, _ = cKDTree(pts).query(centres, k=1)
        names.append(f"near_{kind}")
        out.append(np.log1p(np.minimum(d, PLACE_CAP_M) / 100.0))
    return tuple(names), np.column_stack(out)


def fit_forecast(
    history: History,
    *,
    fit_months: int = 12,
    alpha: float = 1e-3,
    half_life_months: float = 3.0,
) -> ForecastModel:
    """Fit the model on the last ``fit_months`` months of ``history`` (targets) only.

    Parameters
    ----------
    history
        The incidents known before the forecast month, placed in cells.
    fit_months
        Past months used as targets (fewer when the history is shorter: each target needs at
        least one month before it).
    alpha
        L2 penalty of the Poisson regression on the standardised features.
    half_life_months
        Half-life of the decayed-count feature, in months.

    Returns
    -------
    ForecastModel
    """
    from sklearn.linear_model import PoissonRegressor

    targets = min(fit_months, history.months - 1)
    if targets < 1:
        raise ValidationError("forecast.too_short", months=history.months)
    monthly = _monthly(history)
    # log(rate + floor): a floor of a tenth of the mean monthly count per cell
    floor = max(0.1 * float(monthly.mean()), 1e-6)
    xs, ys = [], []
    names: tuple[str, ...] = ()
    for back in range(1, targets + 1):
        names, x = _features(
            history.cells,
            monthly[:, back:],
            history.places,
            half_life_months=half_life_months,
            floor=floor,
        )
        xs.append(x)
        ys.append(monthly[:, back - 1])
    x_all = np.vstack(xs)
    y_all = np.concatenate(ys)
    mean = x_all.mean(axis=0)
    scale = x_all.std(axis=0)
    scale[scale == 0] = 1.0
    z = (x_all - mean) / scale
    model = PoissonRegressor(alpha=alpha, solver="newton-cholesky", max_iter=100)
    model.fit(z, y_all)
    return ForecastModel(
        features=names,
        coefficients=np.asarray(model.coef_, dtype=np.float64),
        intercept=float(model.intercept_),
        mean=mean,
        scale=scale,
        fit_months=targets,
        deviance_explained=float(model.score(z, y_all)),
        half_life_months=half_life_months,
        floor=floor,
    )


def forecast_scores(
    history: History,
    *,
    fit_months: int = 12,
    alpha: float = 1e-3,
    half_life_months: float = 3.0,
) -> FloatArray:
    """Expected incidents per cell next month: fit on ``history``, then predict.

    A backtest method (see :mod:`analysis.backtest`). With a single month of history there is
    nothing to fit on, and last month's counts smoothed over the smallest kernel are returned.

    Parameters
    ----------
    history
        The incidents known before the forecast month.
    fit_months, alpha, half_life_months
        See :func:`fit_forecast`.

    Returns
    -------
    numpy.ndarray
        Expected incidents in each cell of ``history.cells``.
    """
    if history.months < 2 or len(history.cell) == 0:
        return _kernel(history.cells, SMOOTHING_M[0]) @ history.counts(1)
    model = fit_forecast(
        history, fit_months=fit_months, alpha=alpha, half_life_months=half_life_months
    )
    return model.predict(history)
