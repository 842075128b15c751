"""What the statistics share: the checks of their values, p-values and multiple-testing control.

A map of local statistics runs one test per unit, so at the 5% level one unit in twenty would
look significant by chance alone. The false discovery rate procedure of Benjamini and Hochberg
(1995) keeps the expected share of false positives among the units called significant at
``alpha`` instead. ArcGIS applies the same procedure in Hot Spot Analysis when "Apply False
Discovery Rate (FDR) Correction" is checked, separately at each confidence level.

One implementation serves every use: :func:`adjust_p` gives the BH q-values, and a test is
significant at FDR ``alpha`` exactly when its ``q <= alpha`` (:func:`benjamini_hochberg`); the
p-value cut-off ArcGIS reports is the largest such p (:func:`fdr_threshold`).

References
----------
Benjamini, Y. and Hochberg, Y. (1995). Controlling the false discovery rate: a practical and
powerful approach to multiple testing. *Journal of the Royal Statistical Society B* 57(1),
289–300.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from gis.errors import ValidationError

__all__ = [
    "CORRECTIONS",
    "adjust_p",
    "benjamini_hochberg",
    "check_values",
    "fdr_threshold",
    "two_sided_p",
]

CORRECTIONS = ("bh", "bonferroni")


def check_values(values: ArrayLike, *, minimum: int) -> NDArray[np.float64]:
    """The values a statistic tests, one per unit, as a flat float array.

    Raises
    ------
    gis.errors.ValidationError
        Fewer than ``minimum`` units, a value that is not finite, or all values equal (the
        statistic is undefined without variance).
    """
    x = np.asarray(values, dtype=np.float64).ravel()
    if x.size < minimum:
        raise ValidationError("analysis.too_few_units", count=x.size, minimum=minimum)
    if not np.isfinite(x).all():
        bad = np.flatnonzero(~np.isfinite(x))
        raise ValidationError(
            "analysis.non_finite_values", count=bad.size, examples=", ".join(map(str, bad[:3]))
        )
    if np.ptp(x) == 0:
        raise ValidationError("analysis.constant_values", value=float(x[0]), count=x.size)
    return x


def two_sided_p(z: ArrayLike) -> NDArray[np.float64]:
    """Two-sided p-values of standard normal z-scores, ``2 * (1 - Φ(|z|))``.

    Computed with the survival function, so p-values far in the tail do not round to zero
    before they must. ``NaN`` z gives ``NaN`` p.
    """
    from scipy.special import ndtr

    z = np.asarray(z, dtype=np.float64)
    return 2.0 * ndtr(-np.abs(z))


def adjust_p(p: ArrayLike, *, method: str = "bh") -> NDArray[np.float64]:
    """p-values adjusted for multiple testing: Benjamini–Hochberg q-values or Bonferroni.

    Parameters
    ----------
    p
        p-values, one per test (any shape). ``NaN`` entries (untestable units) stay ``NaN``
        and do not count in the number of tests ``m``.
    method
        ``"bh"`` (default): ``q_(i) = min_{j ≥ i} p_(j) · m / j`` over the sorted p-values,
        capped at 1 (tied p-values get the same q). ``"bonferroni"``: ``min(1, p · m)``.

    Returns
    -------
    numpy.ndarray of float64
        Same shape as ``p``.

    Raises
    ------
    gis.errors.ValidationError
        ``method`` is not one of :data:`CORRECTIONS`.
    """
    if method not in CORRECTIONS:
        raise ValidationError(
            "analysis.bad_correction", value=method, expected=", ".join(CORRECTIONS)
        )
    values = np.asarray(p, dtype=np.float64)
    q = np.full(values.shape, np.nan)
    ok = np.isfinite(values)
    m = int(ok.sum())
    if m == 0:
        return q
    finite = values[ok]
    if method == "bonferroni":
        q[ok] = np.minimum(finite * m, 1.0)
        return q
    order = np.argsort(finite, kind="stable")
    ranked = finite[order] * m / np.arange(1, m + 1)
    adjusted = np.minimum(np.minimum.accumulate(ranked[::-1])[::-1], 1.0)
    out = np.empty(m)
    out[order] = adjusted
    q[ok] = out
    return q


def _check_alpha(alpha: float) -> float:
    if not 0.0 < alpha < 1.0:
        raise ValidationError("analysis.bad_fdr_alpha", alpha=alpha)
    return float(alpha)


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
        Same shape as ``p``; ``True`` where the BH q-value is at most ``alpha``.
    """
    alpha = _check_alpha(alpha)
    # NaN compares False, so untestable units are never significant.
    return np.asarray(adjust_p(p, method="bh") <= alpha, dtype=bool)


def fdr_threshold(p: ArrayLike, *, alpha: float) -> float:
    """The Benjamini–Hochberg p-value cut-off at false discovery rate ``alpha``.

    With the ``m`` finite p-values sorted, ``p_(1) <= ... <= p_(m)``, the cut-off is the largest
    ``p_(k)`` with ``p_(k) <= k / m * alpha``, which is the largest p whose q-value is at most
    ``alpha``. A unit is significant when its ``p <= cut-off``.

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
    values = np.asarray(p, dtype=np.float64)
    passed = values[benjamini_hochberg(values, alpha=alpha)]
    return float(passed.max()) if passed.size else 0.0
