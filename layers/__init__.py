"""Domain layers: base layers with their validation and persistence, read back in one call.

The public names are re-exported here so modules can move without breaking callers. Those of
the derived layers (:mod:`layers.analyses`, every name of its ``__all__``) are imported on first
use, since they pull in the statistics (scipy.stats, scikit-learn …): a command or page that
only reads base layers starts fast.
"""

from typing import Any

from layers.access import counts, incident_counts, incident_detail, incident_monthly_counts, read
from layers.ingest import BASE_LAYERS, import_file, import_frame, import_table


def __getattr__(name: str) -> Any:
    # Only names not bound above get here, so a name of __all__ is one of layers.analyses.
    if name in __all__:
        from layers import analyses

        return getattr(analyses, name)
    raise AttributeError(f"module 'layers' has no attribute {name!r}")


__all__ = [
    "BASE_LAYERS",
    "KINDS",
    "STATUSES",
    "AnalysisRun",
    "counts",
    "import_file",
    "import_frame",
    "import_table",
    "incident_counts",
    "incident_detail",
    "incident_monthly_counts",
    "key_area_history",
    "kpis",
    "latest_run",
    "list_runs",
    "read",
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
