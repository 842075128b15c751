"""The side panel of one grid: facts, incident count and staff with phones."""

from __future__ import annotations

from dash import html

from dashboard._data import GridDetails, role_label
from gis.messages import Language, t


def grid_panel(details: GridDetails, *, language: Language) -> html.Div:
    """The panel for ``details`` in ``language``."""

    def fact(key: str, value: object, ident: str) -> html.Tr:
        shown = "—" if value is None else str(value)
        return html.Tr([html.Th(t(key, language=language)), html.Td(shown, id=ident)])

    facts = html.Table(
        [
            fact("dashboard.grid.code", details.code, "map-panel-code"),
            fact("dashboard.grid.name", details.name, "map-panel-name"),
            fact("dashboard.grid.kind", details.kind, "map-panel-kind"),
            fact("dashboard.grid.village", details.village, "map-panel-village"),
            fact("dashboard.grid.households", details.households, "map-panel-households"),
            fact("dashboard.grid.population", details.population, "map-panel-population"),
            fact("dashboard.grid.incidents", details.incidents, "map-panel-incidents"),
        ],
        className="facts",
    )
    if details.staff:
        staff = html.Table(
            [
                html.Thead(
                    html.Tr(
                        [
                            html.Th(t("dashboard.grid.role", language=language)),
                            html.Th(t("dashboard.grid.person", language=language)),
                            html.Th(t("dashboard.grid.phone", language=language)),
                        ]
                    )
                ),
                html.Tbody(
                    [
                        html.Tr(
                            [
                                html.Td(role_label(str(s["role"]), language=language)),
                                html.Td(s["name"]),
                                html.Td(s["phone"] or "—"),
                            ]
                        )
                        for s in details.staff
                    ]
                ),
            ],
            className="staff",
            id="map-panel-staff",
        )
    else:
        staff = html.P(t("dashboard.grid.no_staff", language=language))
    return html.Div(
        [
            html.H3(t("dashboard.grid.title", language=language, code=details.code)),
            facts,
            html.H4(t("dashboard.grid.staff", language=language)),
            staff,
        ],
        className="grid-panel",
    )
