"""The area choice of the analysis pages: a township and a village dropdown, ids
``<prefix>-township`` and ``<prefix>-village`` (their labels ``<prefix>-label-township`` …)."""

from __future__ import annotations

from typing import Any

from dash import dcc, html

from gis.messages import Language, t


def area_picker(prefix: str, *, language: Language = "zh") -> list[Any]:
    """Labels and dropdowns for the township (乡镇) and the village (村社区) of ``prefix``'s page.

    The page fills the options with :func:`dashboard._data.admin_options` and reads the
    scope with :func:`dashboard._analysis_data.scope_of`.
    """
    return [
        html.Label(t("dashboard.map.township", language=language), id=f"{prefix}-label-township"),
        dcc.Dropdown(
            id=f"{prefix}-township",
            clearable=True,
            placeholder=t("dashboard.map.all_areas", language=language),
        ),
        html.Label(t("dashboard.map.village", language=language), id=f"{prefix}-label-village"),
        dcc.Dropdown(
            id=f"{prefix}-village",
            clearable=True,
            placeholder=t("dashboard.map.all_areas", language=language),
        ),
    ]


def area_labels(language: Language) -> tuple[str, str, str]:
    """The township label, the village label and the "whole county" placeholder."""
    return (
        t("dashboard.map.township", language=language),
        t("dashboard.map.village", language=language),
        t("dashboard.map.all_areas", language=language),
    )
