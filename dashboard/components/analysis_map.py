"""The map of an analysis page: its layers in named panes under the county's boundaries.

Each layer gets its own Leaflet pane (class ``leaflet-<name>-pane``), so a page's layers keep
their drawing order and a test can find a layer's shapes. The admin boundaries are drawn on
top as outlines that let clicks through to the layer below.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import dash_leaflet as dl
from dash_extensions.javascript import Namespace

map_ns = Namespace("pingan", "map")


def analysis_map(ident: str, layers: Sequence[tuple[str, Any]], *, view: dict[str, Any]) -> dl.Map:
    """A ``dl.Map`` with id ``ident``: one pane per ``(pane name, component)`` in ``layers``
    (bottom first, z-index 410, 420, …), then the boundaries ``<ident>-boundaries`` in the
    pane ``<ident>-outline``, and a metric scale bar. ``view`` is
    :func:`dashboard._analysis_data.map_view`."""
    panes = [
        dl.Pane(component, name=name, style={"zIndex": 410 + 10 * i})
        for i, (name, component) in enumerate(layers)
    ]
    outline = dl.Pane(
        dl.GeoJSON(id=f"{ident}-boundaries", style=map_ns("boundaryStyle"), interactive=False),
        name=f"{ident}-outline",
        className="analysis-outline-pane",
        style={"zIndex": 410 + 10 * len(layers), "pointerEvents": "none"},
    )
    return dl.Map(
        [*panes, outline, dl.ScaleControl(position="bottomleft", imperial=False)],
        id=ident,
        **view,
        attributionControl=False,
        className="analysis-map",
        style={"width": "100%", "height": "100%"},
    )
