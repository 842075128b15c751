"""Getis-Ord Gi* local hot-spot statistic with analytic z, two-sided p, FDR and ``Gi_Bin``.

For unit ``i`` with value ``x_i`` and spatial weights ``w_ij`` that include the unit itself
(``w_ii > 0``), Getis and Ord (1992) and Ord and Getis (1995) define the z-score ::

                 Σ_j w_ij x_j  -  x̄ Σ_j w_ij
    G*_i = ─────────────────────────────────────────────
           S · sqrt( (n Σ_j w_ij²  -  (Σ_j w_ij)²) / (n - 1) )

with ``x̄`` the mean of all ``n`` values and ``S = sqrt(Σ x_j² / n - x̄²)`` their population
standard deviation. This is the formula of ArcGIS's Hot Spot Analysis, and with binary weights
it equals ``esda.G_Local(star=True, transform='B').Zs`` (esda writes it as ``(G - E[G]) /
sqrt(V[G])`` with ``Σ w² = Σ w`` for binary weights). The p-value is two-sided under the
standard normal.

References
----------
Getis, A. and Ord, J. K. (1992). The analysis of spatial association by use of distance
statistics. *Geographical Analysis* 24(3), 189–206.
Ord, J. K. and Getis, A. (1995). Local spatial autocorrelation statistics: distributional issues
and an application. *Geographical Analysis* 27(4), 286–306.
Esri, "How Hot Spot Analysis (Getis-Ord Gi*) works", ArcGIS Pro documentation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray

from analysis._significance import adjust_p, check_values, fdr_threshold, two_sided_p
from gis.errors import ValidationError

__all__ = [
    "CONFIDENCE_LEVELS",
    "GiStarResult",
    "confidence_level",
    "gi_bins",
    "gi_star",
    "gi_star_z",
]

#: ``Gi_Bin`` magnitude → the significance level it stands for (ArcGIS: 99, 95, 90 % confidence).
CONFIDENCE_LEVELS: dict[int, float] = {3: 0.01, 2: 0.05, 1: 0.10}

SparseWeights: TypeAlias = sp.csr_array | sp.csr_matrix


def confidence_level(alpha: float) -> int:
    """The ``Gi_Bin`` magnitude a unit needs to be significant at ``alpha``: 1 for 0.10 (90 %
    confidence), 2 for 0.05, 3 for 0.01.

    Raises
    ------
    gis.errors.ValidationError
        ``alpha`` is none of 0.10, 0.05, 0.01.
    """
    for level, level_alpha in CONFIDENCE_LEVELS.items():
        if alpha == level_alpha:
            return level
    raise ValidationError("analysis.bad_alpha", alpha=alpha, allowed="0.01, 0.05, 0.10")


def _row_sums(weights: SparseWeights, *, squared: bool = False) -> NDArray[np.float64]:
    csr = sp.csr_array(weights)
    data = csr.data.astype(np.float64)
    if squared:
        data = data * data
    rows = np.repeat(np.arange(csr.shape[0]), np.diff(csr.indptr))
    return np.bincount(rows, weights=data, minlength=csr.shape[0]).astype(np.float64)


def gi_star_z(values: np.ndarray, weights: sp.csr_array | sp.csr_matrix) -> np.ndarray:
    """Getis-Ord Gi* z-score of every unit: the core, no checks beyond shapes.

    Parameters
    ----------
    values
        One value per unit (counts, rates …), shape ``(n,)``; units and CRS do not matter.
    weights
        Sparse ``(n, n)`` weights whose diagonal is already set (Gi*: the focal unit is its own
        neighbour), usually binary as ArcGIS and ``esda.G_Local(star=True, transform='B')``
        use them. Non-binary weights use the general ``Σ w²`` form of the variance.

    Returns
    -------
    numpy.ndarray
        ``float64`` z-scores, shape ``(n,)``. ``NaN`` where the statistic is undefined: all
        values equal (zero variance), or a unit whose neighbourhood is every unit.
    """
    x = np.asarray(values, dtype=np.float64).ravel()
    n = x.size
    if weights.shape != (n, n):
        raise ValidationError("analysis.weights_shape", shape=tuple(weights.shape), expected=(n, n))
    lag = np.asarray(weights @ x, dtype=np.float64).ravel()
    return gi_star_z_from_sums(x, lag, _row_sums(weights), _row_sums(weights, squared=True))


def gi_star_z_from_sums(
    values: np.ndarray, lag: np.ndarray, w_sum: np.ndarray, w_sq: np.ndarray
) -> NDArray[np.float64]:
    """The Gi* z formula from local sums already computed, for callers that never build weights.

    ``z = (Σ_j w_ij x_j − x̄ Σ_j w_ij) / (s √((n Σ_j w_ij² − (Σ_j w_ij)²) / (n − 1)))``, with the
    mean ``x̄`` and the population standard deviation ``s`` over all ``values``. The space-time
    Gi* of :mod:`analysis.emerging` sums each step's spatial lag over its time window and
    calls this, so both statistics share one formula.

    Parameters
    ----------
    values
        Every value of the study (any shape); only its mean, spread and size are used.
    lag, w_sum, w_sq
        Per unit (same shape as each other): ``Σ_j w_ij x_j``, ``Σ_j w_ij`` and ``Σ_j w_ij²``.

    Returns
    -------
    numpy.ndarray
        z-scores shaped like ``lag``; ``NaN`` where undefined.
    """
    x = np.asarray(values, dtype=np.float64)
    n = x.size
    mean = float(x.mean())
    std = float(np.sqrt(max(float(np.mean(x * x)) - mean * mean, 0.0)))
    with np.errstate(divide="ignore", invalid="ignore"):
        denominator = std * np.sqrt((n * w_sq - w_sum * w_sum) / (n - 1))
        z = np.asarray((lag - mean * w_sum) / denominator, dtype=np.float64)
    z[~np.isfinite(z)] = np.nan
    return z


def gi_bins(z: ArrayLike, p: ArrayLike, *, fdr: bool = True) -> NDArray[np.int8]:
    """ArcGIS ``Gi_Bin``: ±3, ±2, ±1 for 99, 95, 90 % confidence, 0 otherwise; sign of z.

    Without FDR a unit is in bin ``k`` when ``p < α_k`` (α = 0.01, 0.05, 0.10, i.e. |z| beyond
    2.576, 1.960, 1.645). With FDR, as ArcGIS applies it, the critical p-value of each
    confidence level is lowered to the Benjamini–Hochberg cut-off at that level's α, computed
    over all units: a unit is in bin ``k`` when its BH q-value is at most α_k
    (:func:`analysis._significance.adjust_p`).

    Parameters
    ----------
    z, p
        z-scores and two-sided p-values per unit, same shape. ``NaN`` gives bin 0.
    fdr
        Apply the false discovery rate correction (the project's default).

    Returns
    -------
    numpy.ndarray of int8
    """
    z = np.asarray(z, dtype=np.float64)
    p = np.asarray(p, dtype=np.float64)
    q = adjust_p(p, method="bh") if fdr else None
    bins = np.zeros(p.shape, dtype=np.int8)
    for level in (1, 2, 3):  # ascending, so the strictest level wins
        alpha = CONFIDENCE_LEVELS[level]
        significant = q <= alpha if q is not None else p < alpha
        bins[significant] = level
    return np.where(z < 0, -bins, bins).astype(np.int8)


@dataclass(frozen=True)
class GiStarResult:
    """Gi* hot spots of one set of units.

    Attributes
    ----------
    z
        Gi* z-score per unit (``float64``, ``NaN`` where undefined). Positive: a hot spot.
    p
        Two-sided normal p-value per unit, not corrected for multiple testing (as ArcGIS's
        ``GiPValue``).
    bins
        ``Gi_Bin`` per unit, ``int8`` in −3…3 (see :func:`gi_bins`).
    significant
        ``bins != 0`` at the confidence level ``alpha`` asked for, with FDR if ``fdr``.
    fdr
        Whether the false discovery rate correction was applied.
    alpha
        The significance level of ``significant`` (0.01, 0.05 or 0.10).
    p_cutoff
        The critical p-value used for ``alpha``: the Benjamini–Hochberg cut-off with FDR, or
        ``alpha`` itself without.
    n_hot, n_cold
        Counts of significant units with positive and negative z.

    Notes
    -----
    The result carries no geometry: the units are in the order of the values given, and their
    CRS and units are those of the caller's table (weights in metres if a distance band was
    used).
    """

    z: NDArray[np.float64]
    p: NDArray[np.float64]
    bins: NDArray[np.int8]
    significant: NDArray[np.bool_]
    fdr: bool
    alpha: float
    p_cutoff: float
    n_hot: int
    n_cold: int


def gi_star(
    values: ArrayLike,
    weights: SparseWeights,
    *,
    fdr: bool = True,
    alpha: float = 0.05,
) -> GiStarResult:
    """Getis-Ord Gi* hot and cold spots with analytic z, two-sided p and ``Gi_Bin``.

    Parameters
    ----------
    values
        One finite value per unit, shape ``(n,)`` (e.g. incident counts per cell).
    weights
        Sparse ``(n, n)`` weights in the same order, with the focal unit included
        (``analysis.weights`` builders with ``include_self=True``); binary is the reference.
    fdr
        Apply Benjamini–Hochberg FDR correction at each confidence level (default ``True``).
    alpha
        The level that defines ``significant``: 0.01, 0.05 (default) or 0.10.

    Returns
    -------
    GiStarResult

    Raises
    ------
    gis.errors.ValidationError
        Fewer than 3 units, non-finite values, all values equal, weights of the wrong shape,
        or weights without the focal unit on the diagonal.
    """
    level = confidence_level(alpha)
    x = check_values(values, minimum=3)
    _check_weights(weights, x.size)
    z = gi_star_z(x, weights)
    p = two_sided_p(z)
    bins = gi_bins(z, p, fdr=fdr)
    significant = np.abs(bins) >= level
    cutoff = fdr_threshold(p, alpha=alpha) if fdr else alpha
    return GiStarResult(
        z=z,
        p=p,
        bins=bins,
        significant=significant,
        fdr=fdr,
        alpha=alpha,
        p_cutoff=cutoff,
        n_hot=int((significant & (z > 0)).sum()),
        n_cold=int((significant & (z < 0)).sum()),
    )


def _check_weights(weights: SparseWeights, n: int) -> None:
    if weights.shape != (n, n):
        raise ValidationError("analysis.weights_shape", shape=tuple(weights.shape), expected=(n, n))
    if (sp.csr_array(weights).diagonal() == 0).any():
        raise ValidationError("analysis.gi_star_without_self")
