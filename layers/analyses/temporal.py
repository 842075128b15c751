"""Time patterns: the near-repeat (Knox) table and the hour × weekday profile (重点时段).

Both results are tables, stored in the run's ``result`` (JSON) rather than in a layer:

- :func:`refresh_near_repeat`: :func:`analysis.near_repeat.knox_test` over the incidents'
  positions in the local metric CRS and their ``occurred_from``; ``result`` holds the band
  edges and labels (zh, en), and the observed, expected, ratio and p matrices (distance bands
  × time bands, the last row and column the open bands).
- :func:`refresh_profile`: :func:`analysis.profile.hour_weekday_profile` with aoristic
  weighting of time windows on the deployment time zone's clock; ``result`` holds the 7 × 24
  table (Monday first) and the peak bands.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from analysis.near_repeat import DEFAULT_DISTANCE_EDGES_M, DEFAULT_TIME_EDGES_DAYS, knox_test
from analysis.profile import hour_weekday_profile
from gis.crs import local_metric_crs_of
from gis.db import Database
from layers.analyses._runs import AnalysisRun, Inputs, TimeLike, read_run

__all__ = ["refresh_near_repeat", "refresh_profile"]


def refresh_near_repeat(
    *,
    area: str | None = None,
    start: TimeLike = None,
    end: TimeLike = None,
    categories: list[str] | str | None = None,
    distance_bands_m: Sequence[float] = DEFAULT_DISTANCE_EDGES_M,
    time_bands_days: Sequence[float] = DEFAULT_TIME_EDGES_DAYS,
    permutations: int = 99,
    seed: int = 0,
    alpha: float = 0.05,
    db: Database | None = None,
) -> AnalysisRun:
    """Run the Knox near-repeat test and store its table.

    Parameters
    ----------
    area, start, end, categories
        As :func:`layers.refresh_hotspots` (burglary, ``010301``, is the classic case).
    distance_bands_m
        Increasing band edges in metres from 0 (local metric CRS); bands are ``[low, high)``
        and a last open band holds the rest.
    time_bands_days
        Increasing band edges in days from 0, the same way.
    permutations, seed
        The Monte Carlo run (99 gives a p floor of 0.01); the same seed repeats the table.
    alpha
        The level of ``summary["significant"]`` (cells with ``p <= alpha`` and ratio > 1).

    Returns
    -------
    AnalysisRun
        Kind ``near_repeat``; ``result`` holds the Knox table.
    """
    inputs = Inputs.resolve(area=area, start=start, end=end, categories=categories, db=db)
    incidents = inputs.incidents(minimum=3)
    metric = incidents.to_crs(local_metric_crs_of(incidents))
    knox = knox_test(
        metric.geometry.x.to_numpy(),
        metric.geometry.y.to_numpy(),
        incidents["occurred_from"].to_numpy(),
        distance_edges_m=distance_bands_m,
        time_edges_days=time_bands_days,
        permutations=int(permutations),
        seed=int(seed),
    )
    significant = knox.significant(alpha=alpha)
    inputs.log.say(
        "analyses.log_knox",
        incidents=knox.n_incidents,
        pairs=knox.n_pairs,
        permutations=knox.permutations,
        seed=knox.seed,
        floor=f"{knox.p_floor:.3g}",
        crs=metric.crs.to_string(),
    )
    result = {
        "distance_edges_m": knox.distance_edges_m,
        "time_edges_days": knox.time_edges_days,
        "distance_labels": {
            "zh": knox.distance_labels(language="zh"),
            "en": knox.distance_labels(language="en"),
        },
        "time_labels": {
            "zh": knox.time_labels(language="zh"),
            "en": knox.time_labels(language="en"),
        },
        "observed": knox.observed,
        "expected": knox.expected,
        "ratio": knox.ratio,
        "p": knox.p,
        "significant": significant,
        "p_floor": knox.p_floor,
    }
    cells = [
        {
            "distance": int(i),
            "time": int(j),
            "ratio": float(knox.ratio[i, j]),
            "p": float(knox.p[i, j]),
        }
        for i, j in zip(*np.nonzero(significant), strict=True)
    ]
    summary = {
        "incidents": knox.n_incidents,
        "pairs": knox.n_pairs,
        "significant": cells,
        "first_cell": {"ratio": float(knox.ratio[0, 0]), "p": float(knox.p[0, 0])},
        "p_floor": knox.p_floor,
    }
    params = {
        "distance_bands_m": list(map(float, distance_bands_m)),
        "time_bands_days": list(map(float, time_bands_days)),
        "permutations": int(permutations),
        "seed": int(seed),
        "alpha": alpha,
        "time": "occurred_from",
    }
    with inputs.db.connection() as conn:
        run_id = inputs.save(conn, "near_repeat", params=params, summary=summary, result=result)
    return read_run(run_id, db=inputs.db)


def refresh_profile(
    *,
    area: str | None = None,
    start: TimeLike = None,
    end: TimeLike = None,
    categories: list[str] | str | None = None,
    lift: float = 2.0,
    min_share: float = 0.05,
    db: Database | None = None,
) -> AnalysisRun:
    """Build the hour × weekday profile and its peak bands, and store them.

    Parameters
    ----------
    area, start, end, categories
        As :func:`layers.refresh_hotspots`.
    lift, min_share
        An hour is raised at ``lift`` × the average hour; bands below ``min_share`` of the
        incidents are not reported.

    Returns
    -------
    AnalysisRun
        Kind ``profile``; ``result["table"]`` is 7 × 24 (Monday first, hours of the local
        clock), ``result["bands"]`` the peak bands (``days``, ``start_hour``, ``end_hour``,
        ``share``, ``lift``, ``zh``, ``en``).
    """
    inputs = Inputs.resolve(area=area, start=start, end=end, categories=categories, db=db)
    incidents = inputs.incidents(minimum=1)
    profile = hour_weekday_profile(
        incidents["occurred_from"],
        incidents["occurred_to"],
        timezone=inputs.timezone,
        lift=lift,
        min_share=min_share,
    )
    bands = [
        {
            "days": list(b.days),
            "start_hour": b.start_hour,
            "end_hour": b.end_hour,
            "weight": b.weight,
            "share": b.share,
            "lift": b.lift,
            "zh": b.describe(language="zh"),
            "en": b.describe(language="en"),
        }
        for b in profile.bands
    ]
    inputs.log.say("analyses.log_profile", timezone=inputs.timezone, total=f"{profile.total:.0f}")
    describe = {"zh": profile.describe(language="zh"), "en": profile.describe(language="en")}
    summary = {
        "incidents": len(incidents),
        "peak": bands[0] if bands else None,
        "describe": describe,
    }
    result = {"table": profile.table, "bands": bands, "describe": describe}
    params = {"lift": lift, "min_share": min_share, "timezone": inputs.timezone}
    with inputs.db.connection() as conn:
        run_id = inputs.save(conn, "profile", params=params, summary=summary, result=result)
    return read_run(run_id, db=inputs.db)
