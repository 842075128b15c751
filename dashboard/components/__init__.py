"""Reusable widgets of the dashboard: plain functions that build Dash components."""

from dashboard.components.grid_panel import grid_panel
from dashboard.components.legend import legend
from dashboard.components.navbar import navbar

__all__ = ["grid_panel", "legend", "navbar"]
