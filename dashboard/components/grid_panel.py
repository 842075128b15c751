"""The side panel of one grid: facts, the filter's incident count, the 12-month trend, and the
staff with phones (masked for viewers)."""

from __future__ import annotations

from dash import html

from dashboard._data import GridDetails, role_label
from dashboard.components.facts import facts_table
from dashboard.components.trend_chart import trend_chart
from gis.messages import Language, t


def grid_panel(details: GridDetails, *, language: Language) -> html.Div:
    """The panel for ``details`` in ``language``."""
    head = details.head
    facts = facts_table(
        [
            ("dashboard.grid.code", details.code, "map-panel-code"),
            ("dashboard.grid.name", details.name, "map-panel-name"),
            ("dashboard.grid.kind", details.kind, "map-panel-kind"),
            ("dashboard.grid.village", details.village, "map-panel-village"),
            ("dashboard.grid.households", details.households, "map-panel-households"),
            ("dashboard.grid.population", details.population, "map-panel-population"),
            ("dashboard.grid.head", _person(head), "map-panel-head"),
            ("dashboard.grid.incidents", details.incidents, "map-panel-incidents"),
        ],
        language=language,
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
                                html.Td(s["phone"] or "—", className="phone"),
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
        staff = html.P(t("dashboard.grid.no_staff", language=language), className="muted")
    return html.Div(
        [
            html.H3(t("dashboard.grid.title", language=language, code=details.code)),
            facts,
            html.H4(t("dashboard.grid.trend", language=language)),
            trend_chart(details.trend, ident="map-panel-trend", language=language),
            html.H4(t("dashboard.grid.staff", language=language)),
            staff,
        ],
        className="panel grid-panel",
    )


def _person(person: dict[str, str | None] | None) -> str | None:
    if person is None:
        return None
    return f"{person['name']}  {person['phone']}" if person.get("phone") else person["name"]
