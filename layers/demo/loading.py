"""Importing a built demo county through the same importers that files go through."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from layers._importer import ImportSummary
from layers.ingest import import_frame

if TYPE_CHECKING:
    from gis.db import Database
    from layers.demo import DemoCounty

# Import order: what later layers are checked or assigned against comes first.
DEMO_LAYERS = (
    "admin_units",
    "grids",
    "grid_staff",
    "cameras",
    "places",
    "addresses",
    "roads",
    "patrol_teams",
    "incidents",
)


def import_demo_county(
    county: DemoCounty,
    *,
    source: str,
    db: Database | None = None,
    on_layer: Callable[[str, int], None] | None = None,
) -> dict[str, ImportSummary]:
    """Import every layer of ``county`` under ``source`` and return each layer's summary.

    ``on_layer(layer, index)`` is called before each layer, for progress reporting.
    """
    summaries = {}
    for index, layer in enumerate(DEMO_LAYERS):
        if on_layer is not None:
            on_layer(layer, index)
        frame = getattr(county, layer)
        if layer == "addresses":
            frame = frame.rename(columns={"group": "group_name"})
        summaries[layer] = import_frame(layer, frame, source=source, db=db, crs="EPSG:4490")
    return summaries
