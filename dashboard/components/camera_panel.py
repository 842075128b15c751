"""The side panel of one camera: code, name, status, and how its field of view is drawn."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dash import html

from dashboard._data import STATUS_COLOURS
from dashboard.components.facts import facts_table
from gis.messages import Language, t


def camera_panel(properties: Mapping[str, Any], *, shape: str, language: Language) -> html.Div:
    """The panel of a clicked camera feature; ``shape`` is ``wedge``, ``circle`` or ``none``
    (what :func:`dashboard._data.camera_view` drew)."""
    p = properties
    status = p.get("status")
    badge = (
        html.Span(
            t(f"dashboard.camera.status.{status}", language=language),
            className="status-badge",
            style={"background": STATUS_COLOURS[status]},
        )
        if status in STATUS_COLOURS
        else status
    )
    facts = facts_table(
        [
            (
                "dashboard.camera.code",
                p.get("camera_code") or p.get("source_id"),
                "map-camera-code",
            ),
            ("dashboard.camera.name", p.get("name"), "map-camera-name"),
            ("dashboard.camera.kind", p.get("kind"), "map-camera-kind"),
            ("dashboard.camera.status", badge, "map-camera-status"),
            ("dashboard.camera.heading", _unit(p.get("heading_deg"), "°"), "map-camera-heading"),
            ("dashboard.camera.fov", _unit(p.get("fov_deg"), "°"), "map-camera-fov"),
            ("dashboard.camera.range", _unit(p.get("range_m"), " m"), "map-camera-range"),
            ("dashboard.camera.height", _unit(p.get("height_m"), " m"), "map-camera-height"),
            ("dashboard.camera.installed", p.get("installed_on"), "map-camera-installed"),
            ("dashboard.camera.grid", p.get("grid_code"), "map-camera-grid"),
        ],
        language=language,
    )
    return html.Div(
        [
            html.H3(t("dashboard.camera.title", language=language, name=p.get("name") or "")),
            facts,
            html.P(
                t(f"dashboard.camera.view_{shape}", language=language),
                id="map-camera-view-note",
                className="muted",
            ),
        ],
        className="panel camera-panel",
    )


def _unit(value: Any, unit: str) -> str | None:
    if value is None:
        return None
    return f"{float(value):g}{unit}"
