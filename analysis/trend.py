"""The Mann–Kendall trend test, vectorised over many series at once.

Emerging hot spot analysis asks, for every location, whether its series over the time steps
(counts, or the Gi* z-scores) rises or falls monotonically. The Mann–Kendall test answers that
without assuming a distribution: it counts, over all pairs of steps ``i < j``, how often the
later value is larger than the earlier one, minus how often it is smaller.

Definitions (Mann 1945; Kendall 1975; as in Hipel & McLeod 1994 and the ``Kendall`` R package):

- ``S = sum_{i<j} sign(x_j - x_i)``;
- ``Var(S) = [n(n-1)(2n+5) - sum_g t_g(t_g-1)(2t_g+5)] / 18``, where ``t_g`` is the size of the
  g-th group of tied values (the ties correction);
- ``Z = (S - 1) / sqrt(Var S)`` if ``S > 0``, ``0`` if ``S = 0``, ``(S + 1) / sqrt(Var S)`` if
  ``S < 0`` (the continuity correction);
- ``p = 2 (1 - Φ(|Z|))``, two-sided;
- ``tau`` is Kendall's tau-b between the values and time,
  ``S / sqrt((n0 - n1) n0)`` with ``n0 = n(n-1)/2`` and ``n1 = sum_g t_g(t_g-1)/2``; it equals
  ``scipy.stats.kendalltau(range(n), x).statistic``.

A constant series (every value tied) has ``Var(S) = 0``: there is no trend to test, and the
result is ``S = 0``, ``Z = 0``, ``p = 1``, ``tau = 0``.

References
----------
Mann, H. B. (1945). Nonparametric tests against trend. *Econometrica* 13, 245–259.
Kendall, M. G. (1975). *Rank Correlation Methods*, 4th ed. Griffin, London.
Hipel, K. W. and McLeod, A. I. (1994). *Time Series Modelling of Water Resources and
Environmental Systems*. Elsevier (section 23.3, the ties correction).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from gis.errors import ValidationError

__all__ = ["MannKendallResult", "mann_kendall"]

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class MannKendallResult:
    """The Mann–Kendall test of each series (one entry per row of the input).

    Attributes
    ----------
    s
        The statistic ``S`` (an integer count of concordant minus discordant pairs).
    var_s
        ``Var(S)`` with the ties correction.
    z
        The standard normal score with the continuity correction (unitless); positive for a
        rising series.
    p
        Two-sided p-value of ``z``.
    tau
        Kendall's tau-b between the values and time, in ``[-1, 1]``.
    n
        The number of time steps of every series.
    """

    s: FloatArray
    var_s: FloatArray
    z: FloatArray
    p: FloatArray
    tau: FloatArray
    n: int

    def direction(self, *, alpha: float = 0.05) -> NDArray[np.int8]:
        """``+1`` for a significant rise, ``-1`` for a significant fall, ``0`` otherwise."""
        sig = self.p < alpha
        return np.where(sig, np.sign(self.z), 0).astype(np.int8)


def _tie_sums(values: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Per row, ``sum t(t-1)(2t+5)`` and ``sum t(t-1)/2`` over the groups of tied values."""
    m, n = values.shape
    ordered = np.sort(values, axis=1)
    new_group = np.ones((m, n), dtype=bool)
    new_group[:, 1:] = ordered[:, 1:] != ordered[:, :-1]
    starts = np.flatnonzero(new_group.ravel())
    sizes = np.diff(np.append(starts, m * n)).astype(np.float64)
    rows = starts // n
    var_term = np.bincount(rows, weights=sizes * (sizes - 1) * (2 * sizes + 5), minlength=m)
    pair_term = np.bincount(rows, weights=sizes * (sizes - 1) / 2, minlength=m)
    return var_term.astype(np.float64), pair_term.astype(np.float64)


def _s_statistic(values: FloatArray, *, chunk: int = 2048) -> FloatArray:
    """``S`` of every row, in blocks of rows kept time-major so each pass stays in cache."""
    m, n = values.shape
    s = np.zeros(m, dtype=np.float64)
    for lo in range(0, m, chunk):
        block = np.ascontiguousarray(values[lo : lo + chunk].T)  # (n, rows)
        acc = np.zeros(block.shape[1], dtype=np.int64)
        for i in range(n - 1):  # every later step against step i
            later = block[i + 1 :] - block[i]
            acc += (later > 0).sum(axis=0)
            acc -= (later < 0).sum(axis=0)
        s[lo : lo + chunk] = acc
    return s


def mann_kendall(series: ArrayLike) -> MannKendallResult:
    """Run the Mann–Kendall trend test on each row of ``series``.

    Parameters
    ----------
    series
        A 1-D series or a 2-D array ``(n_series, n_steps)``, time along the last axis, in equal
        steps, oldest first. Values in any unit (counts, z-scores); ``NaN`` is refused.

    Returns
    -------
    MannKendallResult
        Arrays of length ``n_series`` (length 1 for a 1-D input).

    Raises
    ------
    ValidationError
        When there are fewer than 3 time steps or a value is not finite.

    Examples
    --------
    >>> r = mann_kendall([1, 2, 3, 4, 5])
    >>> int(r.s[0]), round(float(r.z[0]), 4), round(float(r.p[0]), 4)
    (10, 2.2045, 0.0275)
    """
    from scipy.special import ndtr

    values = np.atleast_2d(np.asarray(series, dtype=np.float64))
    if values.ndim != 2:
        raise ValidationError("trend.bad_shape", shape=str(values.shape))
    n = values.shape[1]
    if n < 3:
        raise ValidationError("trend.too_few_steps", steps=n, minimum=3)
    if not np.isfinite(values).all():
        raise ValidationError("trend.not_finite")

    s = _s_statistic(values)

    var_term, pair_term = _tie_sums(values)
    var_s = (n * (n - 1) * (2 * n + 5) - var_term) / 18.0
    root = np.sqrt(np.maximum(var_s, 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(root > 0, (s - np.sign(s)) / root, 0.0)
        n0 = n * (n - 1) / 2.0
        denom = np.sqrt((n0 - pair_term) * n0)
        tau = np.where(denom > 0, s / denom, 0.0)
    p = 2.0 * ndtr(-np.abs(z))
    return MannKendallResult(s=s, var_s=var_s, z=z, p=p, tau=tau, n=n)
