"""Near-repeat analysis: the Knox test over distance bands × time bands, with Monte Carlo.

After a burglary, the houses nearby run a raised risk for a few days: a *near repeat*. The
Knox test (Knox 1964) counts the pairs of incidents that are close in space **and** in time,
for each combination of a distance band and a time band, and compares each count with what the
same places and the same times would give if they were unrelated. That expectation comes from
Monte Carlo: the times are shuffled among the incidents (the places stay), the table is
counted again, ``permutations`` times, with a seed so that a run can be repeated exactly. This
is the method of Ratcliffe's Near Repeat Calculator (Ratcliffe 2009; Johnson et al. 2007).

For each cell of the table:

- ``observed``: pairs of incidents whose distance and time apart fall in the cell's bands;
- ``expected``: the mean count over the permutations;
- ``ratio`` (Knox ratio) = observed / expected; above 1 means more pairs than chance;
- ``p`` = (1 + number of permutations with a count ≥ observed) / (permutations + 1), one-sided
  for an excess. Its floor is 1 / (permutations + 1): with 99 permutations no cell can show
  p below 0.01, whatever the data.

Bands are half-open, ``[low, high)``: a pair exactly 100 m apart is in "100–200 m", never in
"0–100 m", and the labels say so. Distances are Euclidean in metres in the local metric CRS of
the caller (project lon/lat with :func:`gis.crs.local_metric_crs` first); time apart is the
elapsed time between the incidents' times, in days (24 h), to the second. The last row holds
every pair at or beyond the largest distance edge and the last column every pair at or beyond
the largest time edge, so the table accounts for all ``n(n-1)/2`` pairs.

Pairs within the largest distance are found with a KD-tree (``scipy.spatial.cKDTree.
query_pairs``); only those are re-counted per permutation, since the pairs beyond it per time
band are all pairs per time band (which shuffling times does not change) minus those within.

References
----------
Knox, G. (1964). The detection of space-time interactions. *Applied Statistics* 13, 25–29.
Johnson, S. D. et al. (2007). Space–time patterns of risk: a cross national assessment of
residential burglary victimization. *Journal of Quantitative Criminology* 23, 201–219.
Ratcliffe, J. H. (2009). Near Repeat Calculator (version 1.3). Temple University and the
National Institute of Justice.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy.spatial import cKDTree

from gis.errors import ValidationError
from gis.messages import Language, t

__all__ = ["KnoxResult", "band_labels", "knox_test"]

DEFAULT_DISTANCE_EDGES_M = (0.0, 100.0, 200.0, 300.0, 400.0, 500.0)
DEFAULT_TIME_EDGES_DAYS = (0.0, 7.0, 14.0, 21.0, 28.0, 35.0)
_DAY_S = 86_400


def _fmt(value: float) -> str:
    return f"{value:g}"


def band_labels(edges: ArrayLike, *, unit: str, language: Language | None = None) -> list[str]:
    """Labels of the bands ``[e0, e1), …, [e_last, ∞)`` that say exactly what each holds.

    Parameters
    ----------
    edges
        Increasing band edges, the first one 0.
    unit
        ``"m"`` (metres) or ``"days"``.
    language
        ``"zh"`` or ``"en"`` (default: the current language).

    Examples
    --------
    >>> band_labels([0, 100], unit="m", language="en")
    ['0–100 m (0 included, 100 excluded)', '100 m and more (100 included)']
    """
    values = [float(v) for v in np.asarray(edges, dtype=np.float64)]
    unit_key = "near_repeat.unit_m" if unit == "m" else "near_repeat.unit_days"
    name = t(unit_key, language=language)
    labels = [
        t("near_repeat.band", language=language, low=_fmt(lo), high=_fmt(hi), unit=name)
        for lo, hi in itertools.pairwise(values)
    ]
    labels.append(t("near_repeat.band_beyond", language=language, low=_fmt(values[-1]), unit=name))
    return labels


@dataclass(frozen=True)
class KnoxResult:
    """A Knox table: distance bands (rows) × time bands (columns).

    Attributes
    ----------
    observed
        Pairs per cell, ``(n_distance_bands + 1, n_time_bands + 1)``; the last row and column
        are the open bands beyond the largest edges.
    expected
        Mean count per cell over the permutations.
    ratio
        ``observed / expected`` (Knox ratio); ``NaN`` where ``expected`` is 0.
    p
        One-sided Monte Carlo p-value of an excess, floor ``1 / (permutations + 1)``.
    distance_edges_m
        Distance band edges in metres (local metric CRS).
    time_edges_days
        Time band edges in days of 24 hours.
    permutations, seed
        The Monte Carlo run; the same seed and data give the same table.
    n_incidents, n_pairs
        Incidents analysed and all their pairs, ``n (n - 1) / 2``.
    """

    observed: NDArray[np.int64]
    expected: NDArray[np.float64]
    ratio: NDArray[np.float64]
    p: NDArray[np.float64]
    distance_edges_m: NDArray[np.float64]
    time_edges_days: NDArray[np.float64]
    permutations: int
    seed: int
    n_incidents: int
    n_pairs: int

    @property
    def p_floor(self) -> float:
        """The smallest p-value this run can give, ``1 / (permutations + 1)``."""
        return 1.0 / (self.permutations + 1)

    def distance_labels(self, *, language: Language | None = None) -> list[str]:
        """Row labels, e.g. "0–100 m (0 included, 100 excluded)"."""
        return band_labels(self.distance_edges_m, unit="m", language=language)

    def time_labels(self, *, language: Language | None = None) -> list[str]:
        """Column labels, e.g. "0–7 days (0 included, 7 excluded)"."""
        return band_labels(self.time_edges_days, unit="days", language=language)

    def table(self, value: str = "ratio", *, language: Language | None = None) -> pd.DataFrame:
        """One of ``observed``, ``expected``, ``ratio``, ``p`` as a labelled frame."""
        if value not in ("observed", "expected", "ratio", "p"):
            raise ValidationError(
                "near_repeat.bad_table", value=value, allowed="observed, expected, ratio, p"
            )
        return pd.DataFrame(
            getattr(self, value),
            index=self.distance_labels(language=language),
            columns=self.time_labels(language=language),
        )

    def significant(self, *, alpha: float = 0.05) -> NDArray[np.bool_]:
        """Cells with more pairs than chance at level ``alpha`` (``p <= alpha``, ratio > 1)."""
        return (self.p <= alpha) & (self.ratio > 1)


def _edges(values: ArrayLike, name: str) -> NDArray[np.float64]:
    e = np.asarray(values, dtype=np.float64).ravel()
    if e.size < 2 or e[0] != 0 or not np.isfinite(e).all() or (np.diff(e) <= 0).any():
        raise ValidationError("near_repeat.bad_edges", argument=name, edges=str(list(e)))
    return e


def _seconds(times: ArrayLike) -> NDArray[np.int64]:
    raw = times if isinstance(times, pd.Series) else pd.Series(np.asarray(times))
    if not pd.api.types.is_datetime64_any_dtype(raw):
        raw = pd.to_datetime(raw, errors="coerce", format="mixed")
    stamps = pd.DatetimeIndex(pd.to_datetime(raw, errors="coerce"))
    if stamps.isna().any():
        bad = np.flatnonzero(stamps.isna())
        raise ValidationError(
            "near_repeat.bad_times", count=bad.size, examples=", ".join(map(str, bad[:3]))
        )
    if stamps.tz is not None:
        stamps = stamps.tz_convert("UTC").tz_localize(None)
    return np.asarray(stamps.as_unit("s").asi8, dtype=np.int64)


def _pairs_below(sorted_s: NDArray[np.int64], limits_s: NDArray[np.int64]) -> NDArray[np.int64]:
    """For each limit, the number of pairs (i < j) whose time apart is below it."""
    idx = np.arange(sorted_s.size)
    return np.array(
        [
            int((np.searchsorted(sorted_s, sorted_s + lim, side="left") - idx - 1).sum())
            for lim in limits_s
        ],
        dtype=np.int64,
    )


def knox_test(
    x: ArrayLike,
    y: ArrayLike,
    times: ArrayLike,
    *,
    distance_edges_m: ArrayLike = DEFAULT_DISTANCE_EDGES_M,
    time_edges_days: ArrayLike = DEFAULT_TIME_EDGES_DAYS,
    permutations: int = 99,
    seed: int = 0,
) -> KnoxResult:
    """Knox test of space-time interaction, with a Monte Carlo permutation of the times.

    Parameters
    ----------
    x, y
        Incident coordinates in metres, in a local metric CRS (not lon/lat degrees).
    times
        Incident times (tz-aware or naive datetimes, whole seconds count); ``occurred_from``
        or the midpoint of the window.
    distance_edges_m
        Increasing distance band edges in metres, starting at 0, e.g. ``(0, 100, 200)`` for
        the bands 0–100 m, 100–200 m and 200 m and more.
    time_edges_days
        Increasing time band edges in days, starting at 0, e.g. ``(0, 7, 14)``.
    permutations
        Monte Carlo shuffles of the times (99 gives a p floor of 0.01, 999 of 0.001).
    seed
        Seed of the shuffles; reported in the result.

    Returns
    -------
    KnoxResult

    Raises
    ------
    gis.errors.ValidationError
        Fewer than 3 incidents, lengths that differ, missing times or coordinates, bad edges,
        fewer than 1 permutation.
    """
    xs = np.asarray(x, dtype=np.float64).ravel()
    ys = np.asarray(y, dtype=np.float64).ravel()
    secs = _seconds(times)
    n = xs.size
    if not (ys.size == n == secs.size):
        raise ValidationError("near_repeat.length_mismatch", x=n, y=ys.size, times=secs.size)
    if n < 3:
        raise ValidationError("near_repeat.too_few", count=n, minimum=3)
    if not (np.isfinite(xs).all() and np.isfinite(ys).all()):
        raise ValidationError("near_repeat.bad_coordinates")
    if int(permutations) < 1:
        raise ValidationError("near_repeat.bad_permutations", value=permutations)
    d_edges = _edges(distance_edges_m, "distance_edges_m")
    t_edges = _edges(time_edges_days, "time_edges_days")
    t_limits = np.round(t_edges * _DAY_S).astype(np.int64)
    n_d, n_t = d_edges.size, t_edges.size  # bands incl. the open last one

    tree = cKDTree(np.column_stack([xs, ys]))
    pairs = tree.query_pairs(r=float(d_edges[-1]), output_type="ndarray")
    i = pairs[:, 0].astype(np.int32)
    j = pairs[:, 1].astype(np.int32)
    dist = np.hypot(xs[i] - xs[j], ys[i] - ys[j])
    d_band = (np.searchsorted(d_edges, dist, side="right") - 1).astype(np.int64)
    within = d_band < n_d - 1  # query_pairs includes pairs exactly at the largest edge
    i, j, d_band = i[within], j[within], d_band[within]
    offset = d_band * n_t

    span = int(secs.max() - secs.min())
    if span >= 2**31 or int(t_limits[-1]) >= 2**31:
        raise ValidationError("near_repeat.span_too_long", days=span // _DAY_S)
    rel = (secs - secs.min()).astype(np.int32)
    below = _pairs_below(np.sort(rel).astype(np.int64), t_limits[1:])
    total_pairs = n * (n - 1) // 2
    all_by_time = np.diff(np.concatenate([[0], below, [total_pairs]]))

    limits32 = t_limits[1:].astype(np.int32)
    i64, j64 = i.astype(np.intp), j.astype(np.intp)
    offset32 = offset.astype(np.int32)
    chunk = 1 << 16  # pairs per block: the temporaries stay in cache
    a = np.empty(chunk, dtype=np.int32)
    b = np.empty(chunk, dtype=np.int32)
    flags = np.empty(chunk, dtype=bool)

    def count(tt: NDArray[np.int32]) -> NDArray[np.int64]:
        table = np.zeros(n_d * n_t, dtype=np.int64)
        for lo in range(0, i64.size, chunk):
            k = min(chunk, i64.size - lo)
            ta, tb, fl = a[:k], b[:k], flags[:k]
            np.take(tt, i64[lo : lo + k], out=ta)
            np.take(tt, j64[lo : lo + k], out=tb)
            np.subtract(ta, tb, out=ta)
            np.abs(ta, out=ta)
            np.copyto(tb, offset32[lo : lo + k])
            for edge in limits32:
                np.greater_equal(ta, edge, out=fl)
                np.add(tb, fl, out=tb)
            table += np.bincount(tb, minlength=n_d * n_t)
        out = table.reshape(n_d, n_t)
        out[-1] = all_by_time - out[:-1].sum(axis=0)
        return out

    observed = count(rel)
    rng = np.random.default_rng(seed)
    total = np.zeros((n_d, n_t), dtype=np.float64)
    at_least = np.zeros((n_d, n_t), dtype=np.int64)
    for _ in range(int(permutations)):
        table = count(rel[rng.permutation(n)])
        total += table
        at_least += table >= observed
    expected = total / int(permutations)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(expected > 0, observed / expected, np.nan)
    p = ((1.0 + at_least) / (int(permutations) + 1.0)).astype(np.float64)
    return KnoxResult(
        observed=observed,
        expected=expected,
        ratio=ratio,
        p=p,
        distance_edges_m=d_edges,
        time_edges_days=t_edges,
        permutations=int(permutations),
        seed=int(seed),
        n_incidents=n,
        n_pairs=total_pairs,
    )
