"""Aoristic weighting: spread each incident over the time its window covers.

Many incidents are known only by a window: a burglary found in the morning happened some time
overnight, a theft reported "on the 12th" happened some time that day. Aoristic analysis
(Ratcliffe and McCullagh 1998; Ratcliffe 2002) gives each incident a total weight (1 by
default) and spreads it uniformly over its window, so that every hour, weekday or period
receives the share of the window that falls inside it. An incident with an exact time (no
end, or ``end == start``) puts its whole weight in the bin that contains ``start``.

All functions work on **local wall-clock time**: tz-aware inputs are converted to ``timezone``
(default: their own zone) and the zone is then dropped, so "hour 22" means 22:00 on the clock
of the people who live there, across daylight-saving changes. Windows are half-open
``[start, end)``; the arithmetic is in hours as ``float64`` and exact (no sampling): each
function is ``O(n + bins)`` or ``O(n log bins)`` in time and ``O(n)`` in memory.

References
----------
Ratcliffe, J. H. and McCullagh, M. J. (1998). Aoristic crime analysis. *International Journal of
Geographical Information Science* 12(7), 751–764.
Ratcliffe, J. H. (2002). Aoristic signatures and the spatio-temporal analysis of high volume
crime patterns. *Journal of Quantitative Criminology* 18(1), 23–43.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray

from gis.errors import ValidationError

__all__ = [
    "HOURS_PER_DAY",
    "HOURS_PER_WEEK",
    "aoristic_cycle",
    "aoristic_matrix",
    "aoristic_periods",
    "window_hours",
]

HOURS_PER_DAY = 24
HOURS_PER_WEEK = 168
# 1970-01-05 was a Monday: hours are counted from it, so hour-of-week 0 is Monday 00:00.
_MONDAY = np.datetime64("1970-01-05T00:00", "ns")
_NS_PER_HOUR = 3_600_000_000_000


def _wall_clock(times: Any, timezone: str | None) -> pd.DatetimeIndex:
    index = pd.DatetimeIndex(pd.to_datetime(pd.Series(times).to_numpy()))
    if index.tz is not None:
        if timezone is not None:
            index = index.tz_convert(timezone)
        index = index.tz_localize(None)
    return index


def _to_hours(index: pd.DatetimeIndex) -> NDArray[np.float64]:
    ns = index.as_unit("ns").asi8
    out = (ns - _MONDAY.astype(np.int64)).astype(np.float64) / _NS_PER_HOUR
    out[index.isna()] = np.nan
    return out


def window_hours(
    start: ArrayLike | pd.Series,
    end: ArrayLike | pd.Series | None = None,
    *,
    timezone: str | None = None,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Windows as wall-clock hours since Monday 1970-01-05 00:00, checked.

    Parameters
    ----------
    start
        Window starts: datetimes (numpy, pandas, tz-aware or naive local time). Required.
    end
        Window ends (exclusive), same length; ``None`` or ``NaT`` entries mean an exact time.
    timezone
        IANA zone whose wall clock to use for tz-aware inputs, e.g. ``"Asia/Shanghai"``;
        ``None`` keeps each input's own zone. Naive inputs are taken as local already.

    Returns
    -------
    (start_h, end_h)
        ``float64`` hours; ``end_h == start_h`` for exact times.

    Raises
    ------
    gis.errors.ValidationError
        A start is missing, an end is before its start, or the lengths differ.
    """
    s_index = _wall_clock(start, timezone)
    s = _to_hours(s_index)
    if np.isnan(s).any():
        bad = np.flatnonzero(np.isnan(s))
        raise ValidationError(
            "analysis.aoristic_missing_start", count=bad.size, examples=_examples(bad)
        )
    if end is None:
        return s, s.copy()
    e = _to_hours(_wall_clock(end, timezone))
    if e.size != s.size:
        raise ValidationError("analysis.aoristic_length_mismatch", starts=s.size, ends=e.size)
    e = np.where(np.isnan(e), s, e)
    if (e < s).any():
        bad = np.flatnonzero(e < s)
        raise ValidationError(
            "analysis.aoristic_end_before_start", count=bad.size, examples=_examples(bad)
        )
    return s, e


def _examples(rows: NDArray[np.intp], limit: int = 3) -> str:
    return ", ".join(str(int(r)) for r in rows[:limit])


def _weights(weights: ArrayLike | None, n: int) -> NDArray[np.float64]:
    if weights is None:
        return np.ones(n)
    w = np.asarray(weights, dtype=np.float64).ravel()
    if w.size != n:
        raise ValidationError("analysis.aoristic_length_mismatch", starts=n, ends=w.size)
    return w


def _cumulative_cyclic(
    t: NDArray[np.float64], a: NDArray[np.float64], period: int
) -> NDArray[np.float64]:
    """``Σ_i a_i F_k(t_i)`` for every bin ``k``: ``F_k(t)`` is the time in ``[0, t)`` spent in bin
    ``k`` of a cycle of ``period`` one-hour bins, ``floor(t / period) + clip(t mod period - k,
    0, 1)``."""
    laps = np.floor(t / period)
    r = t - laps * period
    whole = np.floor(r).astype(np.intp)
    whole = np.minimum(whole, period - 1)  # guards r == period after rounding
    frac = r - whole
    # bins below floor(r) are fully covered in the current lap, bin floor(r) partly.
    full_in_bin = np.bincount(whole, weights=a, minlength=period)
    above = np.cumsum(full_in_bin[::-1])[::-1]  # Σ a_i over floor(r_i) >= k
    strictly_above = np.append(above[1:], 0.0)
    partial = np.bincount(whole, weights=a * frac, minlength=period)
    return float(np.sum(a * laps)) + strictly_above + partial


def aoristic_cycle(
    start: ArrayLike | pd.Series,
    end: ArrayLike | pd.Series | None = None,
    *,
    cycle: Literal["day", "week"] = "week",
    weights: ArrayLike | None = None,
    timezone: str | None = None,
) -> NDArray[np.float64]:
    """Aoristic totals per hour of the day, or per hour of the week (weekday × hour).

    Parameters
    ----------
    start, end
        Incident windows ``[start, end)`` (see :func:`window_hours`).
    cycle
        ``"day"``: 24 hours; ``"week"``: 7 × 24, Monday first.
    weights
        Weight of each incident (default 1 each); each weight is spread over its window.
    timezone
        Wall-clock zone for tz-aware inputs (default: their own).

    Returns
    -------
    numpy.ndarray
        ``(24,)`` for ``"day"``, ``(7, 24)`` (weekday 0 = Monday, hour 0 = 00:00–01:00) for
        ``"week"``. The total equals the sum of the weights.

    Examples
    --------
    A theft known only to be between 22:00 and 02:00 counts 0.25 in each of the four hours.
    """
    if cycle not in ("day", "week"):
        raise ValidationError("analysis.aoristic_bad_cycle", cycle=cycle)
    period = HOURS_PER_DAY if cycle == "day" else HOURS_PER_WEEK
    s, e = window_hours(start, end, timezone=timezone)
    # shift by whole cycles so the lap counts stay small and the differences exact
    origin = np.floor(s.min() / period) * period if s.size else 0.0
    s, e = s - origin, e - origin
    w = _weights(weights, s.size)
    duration = e - s
    exact = duration <= 0
    out = np.zeros(period)
    if exact.any():
        bins = np.minimum(np.floor(np.mod(s[exact], period)).astype(np.intp), period - 1)
        out += np.bincount(bins, weights=w[exact], minlength=period)
    spread = ~exact
    if spread.any():
        a = w[spread] / duration[spread]
        out += _cumulative_cyclic(e[spread], a, period) - _cumulative_cyclic(s[spread], a, period)
    return out.reshape(7, 24) if cycle == "week" else out


def _as_edges(edges: ArrayLike | pd.Series, timezone: str | None) -> NDArray[np.float64]:
    hours = _to_hours(_wall_clock(edges, timezone))
    if hours.size < 2 or np.isnan(hours).any() or (np.diff(hours) <= 0).any():
        raise ValidationError("analysis.aoristic_bad_edges", count=hours.size)
    return hours


def aoristic_periods(
    start: ArrayLike | pd.Series,
    end: ArrayLike | pd.Series | None = None,
    *,
    edges: ArrayLike | pd.Series,
    weights: ArrayLike | None = None,
    timezone: str | None = None,
) -> NDArray[np.float64]:
    """Aoristic totals per period between consecutive ``edges`` (days, weeks, months …).

    Parameters
    ----------
    start, end
        Incident windows ``[start, end)`` (see :func:`window_hours`).
    edges
        Increasing period boundaries, ``K + 1`` datetimes for ``K`` periods
        ``[edges[k], edges[k+1])``, e.g. ``pd.date_range("2026-01-01", periods=13, freq="MS")``.
        Weight falling before the first or after the last edge is not counted.
    weights
        Weight of each incident (default 1 each).
    timezone
        Wall-clock zone for tz-aware inputs (default: their own).

    Returns
    -------
    numpy.ndarray
        ``(K,)`` totals.
    """
    s, e = window_hours(start, end, timezone=timezone)
    w = _weights(weights, s.size)
    edge_h = _as_edges(edges, timezone)
    s, e, edge_h = s - edge_h[0], e - edge_h[0], edge_h - edge_h[0]
    k = edge_h.size - 1
    out = np.zeros(k)
    duration = e - s
    exact = duration <= 0
    if exact.any():
        idx = np.searchsorted(edge_h, s[exact], side="right") - 1
        inside = (idx >= 0) & (idx < k)
        out += np.bincount(idx[inside], weights=w[exact][inside], minlength=k)
    spread = ~exact
    if spread.any():
        a = w[spread] / duration[spread]
        out += _cumulative_linear(e[spread], a, edge_h) - _cumulative_linear(s[spread], a, edge_h)
    return out


def _cumulative_linear(
    t: NDArray[np.float64], a: NDArray[np.float64], edges: NDArray[np.float64]
) -> NDArray[np.float64]:
    """``Σ_i a_i (clip(t_i, E_k, E_k+1) - E_k)`` for every period ``k``."""
    k = edges.size - 1
    width = np.diff(edges)
    idx = np.searchsorted(edges, t, side="right") - 1  # period holding t; -1 before, k after
    after = np.bincount(np.clip(idx, -1, k) + 1, weights=a, minlength=k + 2)
    # periods wholly before t: Σ a_i over idx_i > period
    beyond = np.cumsum(after[::-1])[::-1]  # beyond[j] = Σ a over (idx + 1) >= j
    full = beyond[2:] * width  # period p is full when idx_i >= p + 1
    inside = (idx >= 0) & (idx < k)
    part = np.bincount(
        idx[inside], weights=a[inside] * (t[inside] - edges[idx[inside]]), minlength=k
    )
    return full + part


def aoristic_matrix(
    start: ArrayLike | pd.Series,
    end: ArrayLike | pd.Series | None = None,
    *,
    edges: ArrayLike | pd.Series,
    weights: ArrayLike | None = None,
    timezone: str | None = None,
) -> sp.csr_array:
    """Each incident's aoristic weight in each period, as a sparse ``(n, K)`` matrix.

    Row ``i`` holds the shares of incident ``i``'s weight in the periods its window overlaps, so
    a space-time cube of cells × periods is ``indicator.T @ matrix`` where ``indicator`` is the
    ``(n, cells)`` 0/1 matrix of incident cells. Rows sum to the weight inside the edges.

    Parameters
    ----------
    start, end, edges, weights, timezone
        As in :func:`aoristic_periods`.

    Returns
    -------
    scipy.sparse.csr_array
        ``float64``, shape ``(n, K)``; one stored entry per (incident, overlapped period).
    """
    s, e = window_hours(start, end, timezone=timezone)
    w = _weights(weights, s.size)
    edge_h = _as_edges(edges, timezone)
    k = edge_h.size - 1
    n = s.size
    first = np.searchsorted(edge_h, s, side="right") - 1
    # the last period touched by [s, e): the one holding e, or before it when e is on an edge
    last = np.searchsorted(edge_h, e, side="left") - 1
    last = np.maximum(last, first)
    first_c = np.clip(first, 0, k - 1)
    last_c = np.clip(last, 0, k - 1)
    valid = (last >= 0) & (first <= k - 1)
    span = np.where(valid, last_c - first_c + 1, 0)
    rows = np.repeat(np.arange(n), span)
    offsets = np.arange(rows.size) - np.repeat(np.cumsum(span) - span, span)
    cols = first_c[rows] + offsets
    lo = np.maximum(s[rows], edge_h[cols])
    hi = np.minimum(e[rows], edge_h[cols + 1])
    duration = (e - s)[rows]
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(duration > 0, (hi - lo) / duration, 1.0)
    exact_outside = (duration <= 0) & ((s[rows] < edge_h[cols]) | (s[rows] >= edge_h[cols + 1]))
    share[exact_outside] = 0.0
    data = w[rows] * np.clip(share, 0.0, None)
    out = sp.csr_array((data, (rows, cols)), shape=(n, k))
    out.eliminate_zeros()
    return out
