"""Multiple-testing control shared by the local statistics: Benjamini–Hochberg FDR.

A map of local statistics runs one test per unit, so at the 5% level one unit in twenty would
look significant by chance alone. The false discovery rate procedure of Benjamini and Hochberg
(1995) keeps the expected share of false positives among the units called significant at
``alpha`` instead. ArcGIS applies the same procedure in Hot Spot Analysis when "Apply False
Discovery Rate (FDR) Correction" is checked, separately at each confidence level.

References
----------
Benjamini, Y. and Hochberg, Y. (1995). Controlling the false discovery rate: a practical and
powerful approach to multiple testing. *Journal of the Royal Statistical Society B* 57(1),
289–300.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["benjamini_hochberg", "fdr_threshold", "two_sided_p"]


def _check_alpha(alpha: float) -> float:
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must lie strictly between 0 and 1, got {alpha!r}")
    return float(alpha)


def two_sided_p(z: ArrayLike) -> NDArray[np.float64]:
    """Two-sided p-values of standard normal z-scores, ``2 * (1 - Φ(|z|))``.

    Computed with the survival function, so p-values far in the tail do not round to zero
    before they must. ``NaN`` z gives ``NaN`` p.
    """
    from scipy.special import ndtr

    z = np.asarray(z, dtype=np.float64)
    return 2.0 * ndtr(-np.abs(z))


def fdr_threshold(p: ArrayLike, *, alpha: float) -> float:
    """The Benjamini–Hochberg p-value cut-off at false discovery rate ``alpha``.

    With the ``m`` finite p-values sorted, ``p_(1) <= ... <= p_(m)``, the cut-off is the largest
    ``p_(k)`` with ``p_(k) <= k / m * alpha``. A unit is significant when its ``p <= cut-off``.

    Parameters
    ----------
    p
        p-values, one per test (any shape). ``NaN`` entries (untestable units, e.g. zero
        variance) are left out of ``m``.
    alpha
        The false discovery rate, e.g. ``0.05``; strictly between 0 and 1.

    Returns
    -------
    float
        The cut-off; ``0.0`` when no p-value passes (then only a p-value of exactly 0, which
        passes any test, would count, and none is present).
    """
    alpha = _check_alpha(alpha)
    values = np.asarray(p, dtype=np.float64).ravel()
    values = np.sort(values[np.isfinite(values)])
    m = values.size
    if m == 0:
        return 0.0
    passes = values <= alpha * np.arange(1, m + 1) / m
    if not passes.any():
        return 0.0
    return float(values[np.flatnonzero(passes)[-1]])


def benjamini_hochberg(p: ArrayLike, *, alpha: float) -> NDArray[np.bool_]:
    """Which tests are significant under Benjamini–Hochberg FDR control at ``alpha``.

    Parameters
    ----------
    p
        p-values, one per test. ``NaN`` entries are never significant and do not count
        towards the number of tests.
    alpha
        The false discovery rate, strictly between 0 and 1.

    Returns
    -------
    numpy.ndarray of bool
        Same shape as ``p``; ``True`` where the unit is significant.
    """
    values = np.asarray(p, dtype=np.float64)
    cut = fdr_threshold(values, alpha=alpha)
    # NaN compares False, so untestable units are never significant.
    return np.asarray(values <= cut, dtype=bool)
