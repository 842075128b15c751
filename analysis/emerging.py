"""Emerging hot spots: Gi* in space and time, the Mann–Kendall trend, and ArcGIS's 17 patterns.

The method is ArcGIS's *Emerging Hot Spot Analysis* (Space Time Pattern Mining toolbox):

1. **Space-time Gi\\*.** Every bin (location ``i``, step ``t``) of a :class:`~analysis.cube.
   SpaceTimeCube` gets a Getis-Ord Gi* z-score whose neighbourhood is the bins of ``i``'s
   spatial neighbours (the focal location included) at step ``t`` and at the previous
   ``time_step_window`` steps ("Neighborhood Time Step"), with binary weights, against the mean
   and standard deviation of the entire cube ("Define Global Window = Entire cube"). The first
   steps simply have fewer earlier steps.
2. **FDR.** Two-sided p-values, and ``Gi_Bin`` ±3/±2/±1 with the Benjamini–Hochberg correction
   applied over all bins of the cube at each confidence level, as ArcGIS's hot spot tools do
   (:func:`analysis.gistar.gi_bins`). A bin is a *statistically significant hot (cold) spot*
   when its bin is at least the level of ``alpha`` (default 0.10: any non-zero ``Gi_Bin``).
3. **Trend.** The Mann–Kendall test of each location's series of Gi* z-scores (the "intensity
   of clustering", which ArcGIS tests for the hot/cold trend) decides intensifying,
   diminishing and persistent; the Mann–Kendall test of its counts is reported too.
4. **Patterns.** :func:`classify_patterns` applies the published definitions, quoted below from
   the ArcGIS Pro page "How Emerging Hot Spot Analysis works" (cold spots read the same with
   hot and cold exchanged; "intensity of clustering of low counts" for cold).

============================  =================================================================
Pattern                       ArcGIS definition
============================  =================================================================
No Pattern Detected           "Does not fall into any of the hot or cold spot patterns defined
                              below."
New Hot Spot                  "A location that is a statistically significant hot spot for the
                              final time step and has never been a statistically significant
                              hot spot before."
Consecutive Hot Spot          "A location with a single uninterrupted run of at least two
                              statistically significant hot spot bins in the final time-step
                              intervals. The location has never been a statistically
                              significant hot spot prior to the final hot spot run and less than
                              90 percent of all bins are statistically significant hot spots."
Intensifying Hot Spot         "A location that has been a statistically significant hot spot for
                              90 percent of the time-step intervals, including the final time
                              step. In addition, the intensity of clustering of high counts in
                              each time step is increasing overall and that increase is
                              statistically significant."
Persistent Hot Spot           "A location that has been a statistically significant hot spot for
                              90 percent of the time-step intervals with no discernible trend
                              indicating an increase or decrease in the intensity of clustering
                              over time."
Diminishing Hot Spot          "A location that has been a statistically significant hot spot for
                              90 percent of the time-step intervals, including the final time
                              step. In addition, the intensity of clustering in each time step
                              is decreasing overall and that decrease is statistically
                              significant."
Sporadic Hot Spot             "A statistically significant hot spot for the final time-step
                              interval with a history of also being an on-again and off-again
                              hot spot. Less than 90 percent of the time-step intervals have
                              been statistically significant hot spots and none of the
                              time-step intervals have been statistically significant cold
                              spots."
Oscillating Hot Spot          "A statistically significant hot spot for the final time-step
                              interval that has a history of also being a statistically
                              significant cold spot during a prior time step. Less than 90
                              percent of the time-step intervals have been statistically
                              significant hot spots."
Historical Hot Spot           "The most recent time period is not hot, but at least 90 percent
                              of the time-step intervals have been statistically significant
                              hot spots."
============================  =================================================================

Where the words leave a choice, and where other implementations (sfdep for R, its Python port
PyEhsa, the ArcMap 10.x wording) choose differently, this module decides as follows; each
decision has a unit test in ``tests/unit/test_emerging.py``:

- **"90 percent"** means at least 90 %, counted exactly (``10 * hot >= 9 * n``, no floating
  point); "less than 90 percent" is its complement, so the two branches never overlap.
- **Persistent needs the final step hot.** The historical definition claims every location
  whose final step is not hot and that was hot ≥ 90 % of the time; so persistent, intensifying
  and diminishing all need a hot final step (sfdep calls such a location persistent).
- **Sporadic needs the final step hot**, as the current ArcGIS Pro wording says. The ArcMap
  10.x wording ("an on-again then off-again hot spot", followed by sfdep and PyEhsa) did not;
  here a location hot now and then in the past but not at the final step, below 90 %, is
  *no pattern*.
- **Cold history decides oscillating.** Among locations hot at the final step and hot less
  than 90 % of the time, one with any significant cold bin before is oscillating (the only
  definition that speaks of a cold history; sporadic forbids it and new/consecutive describe
  a location that was nothing before). New and consecutive therefore need no cold bins, as in
  sfdep.
- **The final step's sign wins over history.** A location cold at the final step but hot in
  ≥ 90 % of the steps matches both historical hot and oscillating cold; it is oscillating
  cold, because the map is read as what the place is now (sfdep agrees).
- **Consecutive needs a run of at least two** final hot bins (ArcGIS Pro's wording; one final
  hot bin with nothing before is *new*).
- **Trend significance** is the Mann–Kendall p-value of the z-score series below
  ``trend_alpha`` (default 0.05), with the sign of its z.
- **Minimum steps:** :func:`emerging_hot_spots` refuses cubes with fewer than 10 time steps;
  below that one step is already more than 10 % and "90 percent" means "every step". The
  classifier itself accepts any length.

References
----------
Esri, "How Emerging Hot Spot Analysis works", ArcGIS Pro tool reference, Space Time Pattern
Mining toolbox. Getis, A. and Ord, J. K. (1992), *Geographical Analysis* 24(3), 189–206.
Mann, H. B. (1945), *Econometrica* 13, 245–259.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray

from analysis._significance import two_sided_p
from analysis.cube import SpaceTimeCube
from analysis.gistar import confidence_level, gi_bins, gi_star_z_from_sums
from analysis.runlog import RunLog
from analysis.trend import MannKendallResult, mann_kendall
from gis.errors import ValidationError

__all__ = [
    "MIN_STEPS",
    "PATTERNS",
    "EmergingResult",
    "classify_patterns",
    "emerging_hot_spots",
    "pattern_name",
    "space_time_gi_star",
]

MIN_STEPS = 10

#: Pattern code → name. Hot spots are 1…8, cold spots the same negated, 0 is no pattern.
PATTERNS: dict[int, str] = {
    0: "no_pattern",
    1: "new_hot",
    2: "consecutive_hot",
    3: "intensifying_hot",
    4: "persistent_hot",
    5: "diminishing_hot",
    6: "sporadic_hot",
    7: "oscillating_hot",
    8: "historical_hot",
    -1: "new_cold",
    -2: "consecutive_cold",
    -3: "intensifying_cold",
    -4: "persistent_cold",
    -5: "diminishing_cold",
    -6: "sporadic_cold",
    -7: "oscillating_cold",
    -8: "historical_cold",
}
NEW, CONSECUTIVE, INTENSIFYING, PERSISTENT, DIMINISHING, SPORADIC, OSCILLATING, HISTORICAL = range(
    1, 9
)


def pattern_name(code: int) -> str:
    """The pattern's name, e.g. ``pattern_name(-4) == "persistent_cold"``; its label is the
    catalogue message ``emerging.pattern.<name>``."""
    return PATTERNS[int(code)]


def _trailing_run(flags: NDArray[np.bool_]) -> NDArray[np.int64]:
    """Per row, the number of ``True`` at the end of the row."""
    n = flags.shape[1]
    off = ~flags[:, ::-1]
    return np.where(off.any(axis=1), off.argmax(axis=1), n).astype(np.int64)


def _one_side(
    on: NDArray[np.bool_],
    other: NDArray[np.bool_],
    rising: NDArray[np.bool_],
    falling: NDArray[np.bool_],
) -> tuple[NDArray[np.bool_], NDArray[np.int8]]:
    """Patterns of one side (hot: ``on`` = hot bins, ``rising`` = clustering intensifies).

    Returns the locations whose pattern is decided by this side's final step, and the code
    (1…8) for them; ``historical`` is returned separately by the caller's check.
    """
    n = on.shape[1]
    count = on.sum(axis=1)
    last = on[:, -1]
    ninety = 10 * count >= 9 * n
    code = np.zeros(on.shape[0], dtype=np.int8)
    ever_other = other.any(axis=1)
    run = _trailing_run(on)

    steady = last & ninety
    code[steady] = PERSISTENT
    code[steady & rising] = INTENSIFYING
    code[steady & falling] = DIMINISHING

    recent = last & ~ninety
    code[recent] = SPORADIC
    code[recent & (run == count) & (count >= 2)] = CONSECUTIVE
    code[recent & (count == 1)] = NEW
    code[recent & ever_other] = OSCILLATING
    return last, code


def classify_patterns(
    bins: ArrayLike,
    trend_z: ArrayLike,
    trend_p: ArrayLike,
    *,
    trend_alpha: float = 0.05,
) -> NDArray[np.int8]:
    """Classify each location into one of ArcGIS's 17 emerging hot spot patterns.

    Parameters
    ----------
    bins
        ``(n_locations, n_steps)``, oldest step first: ``> 0`` where the bin is a
        statistically significant hot spot, ``< 0`` for a cold spot, ``0`` otherwise (a
        ``Gi_Bin`` already cut at the wanted confidence, or the signs ``±1``).
    trend_z, trend_p
        Per location, the Mann–Kendall z and p of its Gi* z-score series.
    trend_alpha
        Significance level of the trend (default 0.05).

    Returns
    -------
    numpy.ndarray of int8
        Pattern codes (see :data:`PATTERNS`): 1 new, 2 consecutive, 3 intensifying,
        4 persistent, 5 diminishing, 6 sporadic, 7 oscillating, 8 historical hot spot; the
        negatives for cold spots; 0 no pattern detected. The rules and how their overlaps are
        resolved are in the module docstring.
    """
    b = np.atleast_2d(np.asarray(bins))
    if b.ndim != 2 or b.shape[1] < 1:
        raise ValidationError("emerging.bad_bins", shape=str(b.shape))
    tz = np.asarray(trend_z, dtype=np.float64).ravel()
    tp = np.asarray(trend_p, dtype=np.float64).ravel()
    if tz.size != b.shape[0] or tp.size != b.shape[0]:
        raise ValidationError("emerging.trend_length", locations=b.shape[0], trends=tz.size)
    hot, cold = b > 0, b < 0
    significant = tp < trend_alpha
    up, down = significant & (tz > 0), significant & (tz < 0)

    hot_last, hot_code = _one_side(hot, cold, up, down)
    # cold clustering intensifies when the z-scores fall
    cold_last, cold_code = _one_side(cold, hot, down, up)
    n = b.shape[1]
    out = np.zeros(b.shape[0], dtype=np.int8)
    out[hot_last] = hot_code[hot_last]
    out[cold_last] = -cold_code[cold_last]
    neither = ~hot_last & ~cold_last
    out[neither & (10 * hot.sum(axis=1) >= 9 * n)] = HISTORICAL
    out[neither & (10 * cold.sum(axis=1) >= 9 * n)] = -HISTORICAL
    return out


def _check_spatial_weights(weights: sp.csr_array | sp.csr_matrix, n: int) -> sp.csr_array:
    w = sp.csr_array(weights)
    if w.shape != (n, n):
        raise ValidationError("emerging.weights_shape", shape=str(w.shape), cells=n)
    if (w.diagonal() == 0).any():
        raise ValidationError("emerging.weights_without_self")
    return w


def space_time_gi_star(
    counts: ArrayLike,
    weights: sp.csr_array | sp.csr_matrix,
    *,
    time_step_window: int = 1,
) -> NDArray[np.float64]:
    """Gi* z-score of every bin of a cube, with neighbours in space and in earlier steps.

    The neighbourhood weights are the Kronecker product of the spatial weights and a
    lower-banded time window (step ``t`` and the ``time_step_window`` steps before it), so
    this equals :func:`analysis.gistar.gi_star_z` on the flattened cube with those
    ``(n·T)²`` weights (a unit test checks it) without building them: the local sums are the
    spatial lag of each step summed over the window.

    Parameters
    ----------
    counts
        ``(n_cells, n_steps)`` values (incident counts), oldest step first.
    weights
        Sparse ``(n_cells, n_cells)`` spatial weights with the focal cell on the diagonal,
        binary for ArcGIS's definition (e.g. a fixed distance band in metres, or contiguity).
    time_step_window
        How many previous steps belong to the neighbourhood (ArcGIS "Neighborhood Time Step";
        ``0`` gives a purely spatial Gi* per step against the whole cube's mean).

    Returns
    -------
    numpy.ndarray
        ``(n_cells, n_steps)`` z-scores (unitless); ``NaN`` where undefined.
    """
    x = np.asarray(counts, dtype=np.float64)
    if x.ndim != 2:
        raise ValidationError("emerging.bad_bins", shape=str(x.shape))
    n_cells, n_steps = x.shape
    if int(time_step_window) < 0:
        raise ValidationError("emerging.bad_window", value=time_step_window)
    w = _check_spatial_weights(weights, n_cells)
    window = int(time_step_window)

    def windowed(a: NDArray[np.float64]) -> NDArray[np.float64]:
        c = np.cumsum(a, axis=1)
        out = c.copy()
        if window + 1 < n_steps:
            out[:, window + 1 :] -= c[:, : n_steps - window - 1]
        return out

    lag = windowed(np.asarray(w @ x, dtype=np.float64))
    rows = np.repeat(np.arange(n_cells), np.diff(w.indptr))
    data = w.data.astype(np.float64)
    steps_in = np.minimum(np.arange(n_steps), window) + 1.0
    w_sum = np.bincount(rows, weights=data, minlength=n_cells)[:, None] * steps_in
    w_sq = np.bincount(rows, weights=data * data, minlength=n_cells)[:, None] * steps_in
    return gi_star_z_from_sums(x, lag, w_sum, w_sq)


@dataclass(frozen=True)
class EmergingResult:
    """Emerging hot spots of a space-time cube.

    Attributes
    ----------
    cells
        Location ids, in the cube's row order.
    patterns
        Pattern code per location (:data:`PATTERNS`); :meth:`names` gives the names.
    z, p
        ``(n_cells, n_steps)`` space-time Gi* z-scores (unitless) and two-sided p-values.
    bins
        ``(n_cells, n_steps)`` ``Gi_Bin`` (−3…3) with the FDR correction if ``fdr``.
    hot, cold
        ``(n_cells, n_steps)`` bins that count as significant hot or cold spots at ``alpha``.
    trend
        Mann–Kendall test of each location's Gi* z-score series (decides the patterns).
    count_trend
        Mann–Kendall test of each location's count series (reported, as ArcGIS's cube does).
    time_step_window, alpha, trend_alpha, fdr
        The options used.
    log
        The choices made (:class:`analysis.runlog.RunLog`).
    """

    cells: np.ndarray
    patterns: NDArray[np.int8]
    z: NDArray[np.float64]
    p: NDArray[np.float64]
    bins: NDArray[np.int8]
    hot: NDArray[np.bool_]
    cold: NDArray[np.bool_]
    trend: MannKendallResult
    count_trend: MannKendallResult
    time_step_window: int
    alpha: float
    trend_alpha: float
    fdr: bool
    log: RunLog = field(default_factory=RunLog)

    def names(self) -> NDArray[np.object_]:
        """The pattern name of every location."""
        return np.array([PATTERNS[int(c)] for c in self.patterns], dtype=object)

    def summary(self) -> dict[str, int]:
        """Number of locations per pattern name (patterns with none are left out)."""
        codes, counts = np.unique(self.patterns, return_counts=True)
        return {PATTERNS[int(c)]: int(k) for c, k in zip(codes, counts, strict=True)}


def emerging_hot_spots(
    cube: SpaceTimeCube | ArrayLike,
    weights: sp.csr_array | sp.csr_matrix,
    *,
    time_step_window: int = 1,
    alpha: float = 0.10,
    trend_alpha: float = 0.05,
    fdr: bool = True,
    cells: ArrayLike | None = None,
) -> EmergingResult:
    """Emerging Hot Spot Analysis of a space-time cube, as ArcGIS does it.

    Parameters
    ----------
    cube
        A :class:`~analysis.cube.SpaceTimeCube`, or a ``(n_cells, n_steps)`` array of counts
        (oldest step first). Every row is analysed (ArcGIS analyses the locations inside the
        mask, or without a mask those with at least one incident: build the cube without
        ``cells`` for the latter).
    weights
        Sparse ``(n_cells, n_cells)`` binary spatial weights in the cube's row order, focal
        cell on the diagonal ("Neighborhood Distance" as a fixed band in metres of the local
        metric CRS, KNN or contiguity).
    time_step_window
        Previous steps in each bin's neighbourhood ("Neighborhood Time Step", default 1).
    alpha
        Confidence a bin needs to count as a hot or cold spot: 0.10 (default: any non-zero
        ``Gi_Bin``, 90 %), 0.05 or 0.01.
    trend_alpha
        Significance of the Mann–Kendall trend for intensifying/diminishing (default 0.05).
    fdr
        Apply the Benjamini–Hochberg correction over all bins (default, as ArcGIS).
    cells
        Location ids when ``cube`` is a plain array.

    Returns
    -------
    EmergingResult

    Raises
    ------
    gis.errors.ValidationError
        Fewer than :data:`MIN_STEPS` steps, all bins equal, weights of the wrong shape or
        without the diagonal, or an ``alpha`` other than 0.10, 0.05, 0.01.
    """
    if isinstance(cube, SpaceTimeCube):
        counts = cube.counts.astype(np.float64)
        ids = np.asarray(cube.cells)
    else:
        counts = np.asarray(cube, dtype=np.float64)
        ids = np.arange(counts.shape[0]) if cells is None else np.asarray(cells)
    if counts.ndim != 2:
        raise ValidationError("emerging.bad_bins", shape=str(counts.shape))
    n_cells, n_steps = counts.shape
    if n_steps < MIN_STEPS:
        raise ValidationError("emerging.too_few_steps", steps=n_steps, minimum=MIN_STEPS)
    if n_cells < 3:
        raise ValidationError("emerging.too_few_cells", cells=n_cells, minimum=3)
    if not np.isfinite(counts).all():
        raise ValidationError("emerging.not_finite")
    if np.ptp(counts) == 0:
        raise ValidationError("emerging.constant", value=float(counts.flat[0]))
    level = confidence_level(alpha)

    z = space_time_gi_star(counts, weights, time_step_window=time_step_window)
    p = two_sided_p(z)
    bins = gi_bins(z.ravel(), p.ravel(), fdr=fdr).reshape(z.shape)
    hot, cold = bins >= level, bins <= -level
    trend = mann_kendall(np.nan_to_num(z, nan=0.0))
    count_trend = mann_kendall(counts)
    patterns = classify_patterns(
        np.where(hot, 1, np.where(cold, -1, 0)), trend.z, trend.p, trend_alpha=trend_alpha
    )
    log = RunLog()
    log.say(
        "emerging.log_neighbourhood",
        cells=n_cells,
        steps=n_steps,
        window=int(time_step_window),
        mean_neighbours=round(float(sp.csr_array(weights).nnz) / n_cells, 1),
    )
    log.say(
        "emerging.log_significance_fdr" if fdr else "emerging.log_significance_raw",
        confidence=round(100 * (1 - alpha)),
        hot=int(hot.sum()),
        cold=int(cold.sum()),
        bins=counts.size,
    )
    log.say("emerging.log_trend", alpha=trend_alpha)
    return EmergingResult(
        cells=ids,
        patterns=patterns,
        z=z,
        p=p,
        bins=bins,
        hot=hot,
        cold=cold,
        trend=trend,
        count_trend=count_trend,
        time_step_window=int(time_step_window),
        alpha=alpha,
        trend_alpha=trend_alpha,
        fdr=fdr,
        log=log,
    )
