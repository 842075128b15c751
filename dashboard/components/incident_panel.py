"""The side panel of one incident (clicked among the street-zoom points)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dash import html

from dashboard.components.facts import facts_table
from gis.messages import Language, t

GEOCODE_LEVELS = ("door", "group", "village", "township", "coordinate")


def incident_panel(facts: Mapping[str, Any] | None, *, language: Language) -> html.Div:
    """The panel of :func:`dashboard._data.incident_facts`; ``None``: the incident is gone
    (deleted or outside the user's area since the map was drawn)."""
    if facts is None:
        return html.Div(
            html.P(t("dashboard.incident.missing", language=language), id="map-incident-missing"),
            className="panel incident-panel",
        )
    level = facts.get("geocode_level")
    level_text = (
        t(f"dashboard.incident.level_{level}", language=language)
        if level in GEOCODE_LEVELS
        else level
    )
    table = facts_table(
        [
            ("dashboard.incident.category", facts["category"], "map-incident-category"),
            ("dashboard.incident.category_raw", facts.get("category_raw"), "map-incident-raw"),
            ("dashboard.incident.window", facts["window"], "map-incident-window"),
            ("dashboard.incident.reported", facts.get("reported"), "map-incident-reported"),
            ("dashboard.incident.address", facts.get("address"), "map-incident-address"),
            ("dashboard.incident.geocode_level", level_text, "map-incident-level"),
            ("dashboard.incident.grid", facts.get("grid"), "map-incident-grid"),
            ("dashboard.incident.source", facts.get("source"), "map-incident-source"),
        ],
        language=language,
    )
    return html.Div(
        [html.H3(t("dashboard.incident.title", language=language, id=facts["id"])), table],
        className="panel incident-panel",
    )
