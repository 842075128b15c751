"""Derived layers: analysis runs stored in PostGIS with their parameters and run log.

Each ``refresh_*`` reads incidents with an area scope, runs a pure function of
:mod:`analysis`, and stores the results with one ``analysis_run`` row in one transaction
(``docs/analysis.md``, "Running analyses"; the contract with the dashboard is
``notes/derived_api.md`` in the project notes).
"""

from layers.analyses._runs import KINDS, AnalysisRun, latest_run, list_runs, read_run
from layers.analyses.backtest import run_backtest
from layers.analyses.clusters import read_clusters, refresh_clusters
from layers.analyses.emerging import refresh_emerging
from layers.analyses.hotspots import read_hotspot_cells, refresh_hotspots
from layers.analyses.key_areas import (
    STATUSES,
    key_area_history,
    read_key_areas,
    refresh_key_areas,
    transition_key_area,
)
from layers.analyses.risk import kpis, read_risk_grades, refresh_risk, risk_months
from layers.analyses.temporal import refresh_near_repeat, refresh_profile

__all__ = [
    "KINDS",
    "STATUSES",
    "AnalysisRun",
    "key_area_history",
    "kpis",
    "latest_run",
    "list_runs",
    "read_clusters",
    "read_hotspot_cells",
    "read_key_areas",
    "read_risk_grades",
    "read_run",
    "refresh_clusters",
    "refresh_emerging",
    "refresh_hotspots",
    "refresh_key_areas",
    "refresh_near_repeat",
    "refresh_profile",
    "refresh_risk",
    "risk_months",
    "run_backtest",
    "transition_key_area",
]
