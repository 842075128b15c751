"""How well a hotspot map predicts where the next incidents happen: PAI, PEI, PEI*, hit rate, RRI.

A forecast gives every cell of a fixed set (grids, H3 cells, a fishnet) a **score**; the cells
with the highest scores, up to a share ``p`` of the study area (the *coverage*), form the
predicted hot spots. The incidents of the evaluation period (``observed``) then say how good the
choice was. With ``N`` incidents in the study area of area ``A``, ``n`` of them in the hot spots
of area ``a = p·A``:

- **hit rate** ``= n / N``, the share of incidents captured (Bowers, Johnson and Pease 2004);
  the **hit-rate curve** is the hit rate at coverages 1 %, 2 %, …, 20 %.
- **PAI**, the predictive accuracy index ``= (n / N) / (a / A)`` (Chainey, Tompson and Uhlig
  2008): how many times better than choosing cells at random (PAI = 1).
- **PEI**, the predictive efficiency index ``= n / n_max``, with ``n_max`` the largest number of
  incidents any choice of the same area could have captured: the observed cells taken by
  density (Hunt 2016, as scored in the U.S. National Institute of Justice Real-Time Crime
  Forecasting Challenge, 2017).
- **PEI\\*** ``= PAI / PAI*`` (Hunt 2016): ``PAI*`` is the PAI of the *smallest* area that
  captures the same ``n`` incidents, i.e. of the ``k*`` densest observed cells needed to reach
  ``n`` (``cells_needed``). Since both capture ``n``, ``PEI* = a* / a``: the share of the
  flagged area that was really needed. PEI and PEI* lie in [0, 1]; 1 is a perfect forecast.
- **RRI**, the recapture rate index ``= (n₂ / n₁) / (N₂ / N₁)`` (Levine 2008): hot spots chosen
  from period 1 (often its counts) capture ``n₁`` of the ``N₁`` incidents of period 1 and
  ``n₂`` of the ``N₂`` of period 2. RRI = 1 means the hot spots keep their share as the total
  changes; above 1 they gain.

**Cell areas and ties.** Cells are ranked by score, highest first. Cells with equal scores are
merged into one block, and the block that crosses the coverage ``p`` is taken *in proportion*:
the captured count is interpolated linearly along the cumulative (area, count) curve, so the
flagged area is exactly ``p·A``. For tied cells this is the expected result of breaking the
tie uniformly at random; it never depends on the order of the cells, so the metrics are
deterministic and fair to forecasts with many equal scores (the naive last-period count gives
most cells 0). The oracle of PEI and PEI* is interpolated the same way, so ``cells_needed`` may
be fractional. Areas are in m² (any unit works: only shares are used); by default every cell
counts as one unit of area. With no observed incident (``N = 0``) every metric is NaN.

References
----------
Bowers, K. J., Johnson, S. D. and Pease, K. (2004). Prospective hot-spotting: the future of
crime mapping? *British Journal of Criminology* 44(5), 641–658.
Chainey, S., Tompson, L. and Uhlig, S. (2008). The utility of hotspot mapping for predicting
spatial patterns of crime. *Security Journal* 21(1-2), 4–28.
Levine, N. (2008). The "hottest" part of a hotspot: comments on "The utility of hotspot mapping
for predicting spatial patterns of crime". *Security Journal* 21(4), 295–302.
Hunt, J. M. (2016). *Do crime hot spots move? Exploring the effects of the modifiable areal unit
problem and modifiable temporal unit problem on crime hot spot stability*. PhD dissertation,
American University; PEI* as used in the NIJ Real-Time Crime Forecasting Challenge (2017).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from gis.errors import ValidationError

__all__ = [
    "CURVE_COVERAGES",
    "DEFAULT_COVERAGES",
    "Evaluation",
    "evaluate",
    "hit_rate",
    "hit_rate_curve",
    "pai",
    "pei",
    "pei_star",
    "recapture_rate_index",
]

FloatArray = NDArray[np.float64]

DEFAULT_COVERAGES: tuple[float, ...] = (0.01, 0.05)
"""The coverages reported by default: 1 % and 5 % of the study area."""
CURVE_COVERAGES: tuple[float, ...] = tuple(k / 100 for k in range(1, 21))
"""The hit-rate curve's coverages: 1 %, 2 %, …, 20 % of the study area."""


def _inputs(
    scores: ArrayLike, counts: Sequence[ArrayLike], area: ArrayLike | None
) -> tuple[FloatArray, list[FloatArray], FloatArray]:
    s = np.asarray(scores, dtype=np.float64)
    if s.ndim != 1 or len(s) == 0:
        raise ValidationError("evaluation.bad_scores", shape=str(s.shape))
    if np.isnan(s).any():
        raise ValidationError("evaluation.nan_scores", count=int(np.isnan(s).sum()))
    out = []
    for name, c in zip(("observed", "after"), counts, strict=False):
        arr = np.asarray(c, dtype=np.float64)
        if arr.shape != s.shape:
            raise ValidationError(
                "evaluation.length_mismatch", name=name, got=len(arr), expected=len(s)
            )
        if not np.isfinite(arr).all() or (arr < 0).any():
            raise ValidationError("evaluation.bad_counts", name=name)
        out.append(arr)
    a = np.ones_like(s) if area is None else np.asarray(area, dtype=np.float64)
    if a.shape != s.shape:
        raise ValidationError(
            "evaluation.length_mismatch", name="area", got=len(a), expected=len(s)
        )
    if not np.isfinite(a).all() or (a <= 0).any():
        raise ValidationError("evaluation.bad_area")
    return s, out, a


def _check_coverage(coverage: float) -> float:
    if not 0 < coverage <= 1:
        raise ValidationError("evaluation.bad_coverage", value=coverage)
    return float(coverage)


def _ranked(
    scores: FloatArray, counts: list[FloatArray], area: FloatArray
) -> tuple[FloatArray, list[FloatArray]]:
    """Cumulative area share and cumulative counts over blocks of tied scores, highest first."""
    uniq, inverse = np.unique(-scores, return_inverse=True)  # ascending -score = descending score
    block_area = np.bincount(inverse, weights=area, minlength=len(uniq))
    x = np.concatenate([[0.0], np.cumsum(block_area)]) / area.sum()
    ys = [
        np.concatenate([[0.0], np.cumsum(np.bincount(inverse, weights=c, minlength=len(uniq)))])
        for c in counts
    ]
    return x, ys


def _oracle(observed: FloatArray, area: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    """The best possible curve: cells by observed density; area share, counts, cells."""
    order = np.argsort(-(observed / area), kind="stable")
    x = np.concatenate([[0.0], np.cumsum(area[order])]) / area.sum()
    y = np.concatenate([[0.0], np.cumsum(observed[order])])
    cells = np.arange(len(order) + 1, dtype=np.float64)
    return x, y, cells


def _captured(
    scores: FloatArray, counts: list[FloatArray], area: FloatArray, coverage: float
) -> list[float]:
    x, ys = _ranked(scores, counts, area)
    return [float(np.interp(coverage, x, y)) for y in ys]


@dataclass(frozen=True)
class Evaluation:
    """The metrics of one forecast against one period's incidents.

    Attributes
    ----------
    total
        ``N``, the incidents observed in the study area.
    table
        One row per coverage (share of the study area, 0-1, the index): ``captured`` (``n``,
        possibly fractional, see the tie rule), ``hit_rate``, ``pai``, ``pei``, ``pei_star``
        and ``cells_needed`` (the oracle's ``k*`` for PEI*).
    curve
        The hit-rate curve: hit rate at each of :data:`CURVE_COVERAGES` (a Series indexed by
        coverage).
    """

    total: float
    table: pd.DataFrame
    curve: pd.Series

    def at(self, coverage: float, metric: str = "pai") -> float:
        """One metric (``hit_rate``, ``pai``, ``pei``, ``pei_star``) at one coverage."""
        return float(self.table.loc[coverage, metric])


def evaluate(
    scores: ArrayLike,
    observed: ArrayLike,
    *,
    area: ArrayLike | None = None,
    coverages: Sequence[float] = DEFAULT_COVERAGES,
    curve: Sequence[float] = CURVE_COVERAGES,
) -> Evaluation:
    """Hit rate, PAI, PEI and PEI* at several coverages, and the hit-rate curve.

    Parameters
    ----------
    scores
        The forecast: one score per cell, higher = more expected (any scale; only the order and
        ties matter). NaN is refused.
    observed
        Incidents counted per cell in the evaluation period (non-negative).
    area
        Area of each cell (m², or any unit); default equal areas.
    coverages
        Shares of the study area (0-1] for the table; default 1 % and 5 %.
    curve
        Shares of the study area for the hit-rate curve; default 1 %, 2 %, …, 20 %.

    Returns
    -------
    Evaluation
        See the module docstring for the definitions and the tie rule.
    """
    s, (obs,), a = _inputs(scores, [observed], area)
    total = float(obs.sum())
    x, (y,) = _ranked(s, [obs], a)
    ox, oy, ocells = _oracle(obs, a)
    rows = []
    for p in (_check_coverage(c) for c in coverages):
        n = float(np.interp(p, x, y))
        if total == 0:
            rows.append((p, n, np.nan, np.nan, np.nan, np.nan, np.nan))
            continue
        best = float(np.interp(p, ox, oy))
        # the oracle's smallest area capturing n: invert its (non-decreasing) cumulative counts
        found = int(np.searchsorted(oy, n - 1e-9 * total, side="left"))
        reach = min(max(found, 1), len(oy) - 1)
        frac = (n - oy[reach - 1]) / (oy[reach] - oy[reach - 1]) if oy[reach] > oy[reach - 1] else 0
        frac = min(max(frac, 0.0), 1.0)
        a_star = ox[reach - 1] + frac * (ox[reach] - ox[reach - 1])
        k_star = ocells[reach - 1] + frac
        hit = n / total
        rows.append(
            (
                p,
                n,
                hit,
                hit / p,
                n / best if best > 0 else np.nan,
                a_star / p if n > 0 else 0.0,
                k_star if n > 0 else 0.0,
            )
        )
    table = pd.DataFrame(
        rows, columns=["coverage", "captured", "hit_rate", "pai", "pei", "pei_star", "cells_needed"]
    ).set_index("coverage")
    hits = [float(np.interp(_check_coverage(c), x, y)) / total if total else np.nan for c in curve]
    return Evaluation(
        total=total,
        table=table,
        curve=pd.Series(hits, index=pd.Index(list(curve), name="coverage"), name="hit_rate"),
    )


def hit_rate(
    scores: ArrayLike, observed: ArrayLike, *, coverage: float, area: ArrayLike | None = None
) -> float:
    """Share of the observed incidents inside the top ``coverage`` share of the area (0-1)."""
    return evaluate(scores, observed, area=area, coverages=[coverage], curve=[]).at(
        coverage, "hit_rate"
    )


def pai(
    scores: ArrayLike, observed: ArrayLike, *, coverage: float, area: ArrayLike | None = None
) -> float:
    """Predictive accuracy index ``(n/N) / (a/A)`` at ``coverage`` (see the module docstring)."""
    return evaluate(scores, observed, area=area, coverages=[coverage], curve=[]).at(coverage, "pai")


def pei(
    scores: ArrayLike, observed: ArrayLike, *, coverage: float, area: ArrayLike | None = None
) -> float:
    """Predictive efficiency index ``n / n_max`` at ``coverage`` (0-1)."""
    return evaluate(scores, observed, area=area, coverages=[coverage], curve=[]).at(coverage, "pei")


def pei_star(
    scores: ArrayLike, observed: ArrayLike, *, coverage: float, area: ArrayLike | None = None
) -> float:
    """Hunt's PEI* ``= PAI / PAI*`` at ``coverage`` (0-1; 0 when nothing is captured)."""
    return evaluate(scores, observed, area=area, coverages=[coverage], curve=[]).at(
        coverage, "pei_star"
    )


def hit_rate_curve(
    scores: ArrayLike,
    observed: ArrayLike,
    *,
    area: ArrayLike | None = None,
    coverages: Sequence[float] = CURVE_COVERAGES,
) -> pd.Series:
    """The hit rate at each coverage (default 1 %, 2 %, …, 20 % of the area), as a Series."""
    return evaluate(scores, observed, area=area, coverages=[], curve=coverages).curve


def recapture_rate_index(
    scores: ArrayLike,
    before: ArrayLike,
    after: ArrayLike,
    *,
    coverage: float,
    area: ArrayLike | None = None,
) -> float:
    """Levine's recapture rate index ``(n₂ / n₁) / (N₂ / N₁)``.

    Parameters
    ----------
    scores
        What chooses the hot spots (often ``before`` itself); ties as in the module docstring.
    before, after
        Incidents per cell in period 1 and period 2.
    coverage
        Share of the study area (0-1] taken as hot spots.
    area
        Cell areas; default equal.

    Returns
    -------
    float
        NaN when ``n₁``, ``N₁`` or ``N₂`` is zero.
    """
    s, (b, f), a = _inputs(scores, [before, after], area)
    n1, n2 = _captured(s, [b, f], a, _check_coverage(coverage))
    total1, total2 = float(b.sum()), float(f.sum())
    if n1 <= 0 or total1 <= 0 or total2 <= 0:
        return float("nan")
    return (n2 / n1) / (total2 / total1)
