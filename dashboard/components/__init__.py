"""Reusable widgets of the dashboard: plain functions that build Dash components."""

from dashboard.components.batch_table import batch_table, quarantine_panel
from dashboard.components.camera_panel import camera_panel
from dashboard.components.grid_panel import grid_panel
from dashboard.components.import_preview import (
    commit_summary,
    error_box,
    preview_panel,
    progress_bar,
)
from dashboard.components.incident_panel import incident_panel
from dashboard.components.layer_list import layer_options
from dashboard.components.legend import legend
from dashboard.components.navbar import navbar

__all__ = [
    "batch_table",
    "camera_panel",
    "commit_summary",
    "error_box",
    "grid_panel",
    "incident_panel",
    "layer_options",
    "legend",
    "navbar",
    "preview_panel",
    "progress_bar",
    "quarantine_panel",
]
