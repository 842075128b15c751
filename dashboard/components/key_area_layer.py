"""The key areas (重点地区) as a layer of the main map, registered in
:data:`dashboard.map_layers.LAYERS` as ``keyareas``.

The open key areas (not yet 摘牌 delisted) of the database are read when the map page is
built: the register is small (tens to hundreds of polygons), so they are sent once and the
checkbox only changes ``hideout``. Outlines are coloured by status, overdue areas red and
thick, 发现 (found) dashed; the tooltip names the area and its status. The register itself
is the 重点地区 page.
"""

from __future__ import annotations

from typing import Any

import dash_leaflet as dl
from dash_extensions.javascript import Namespace

from dashboard import _analysis_data as ad

NAME = "keyareas"
ns = Namespace("pingan", "analysis")


def build() -> dl.GeoJSON:
    """The layer ``map-keyareas`` with the open key areas (tooltips in Chinese)."""
    areas = ad.open_areas(ad.load_key_areas(""))
    return dl.GeoJSON(
        id=f"map-{NAME}",
        data=ad.key_area_features(areas, language="zh"),
        style=ns("keyAreaStyle"),
        filter=ns("keyAreaVisible"),
        hideout={"show": False, "colours": ad.STATUS_COLOURS, "selected": None},
    )


def hideout(state: Any) -> dict[str, Any]:
    """Shown when ticked (``state`` is a :class:`dashboard.map_layers.MapState`)."""
    return {"show": NAME in state.shown, "colours": ad.STATUS_COLOURS, "selected": None}
