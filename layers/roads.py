"""Roads (道路): the routable network, one LineString per edge.

``kind`` is the OSM ``highway`` class; ``length_m`` is computed on the spheroid at import, and
``village_code`` is the village holding the road's midpoint, so that roads are read by area.
"""

from __future__ import annotations

import pandas as pd

from layers._importer import ImportContext
from layers._spec import Field, IssueCollector, LayerSpec

SPEC = LayerSpec(
    name="roads",
    table="road",
    fields=(Field("source_id"), Field("name"), Field("kind"), Field("oneway", "bool")),
    geometry="line",
    assign_areas=True,
    stored=(
        ("name", "text"),
        ("kind", "text"),
        ("oneway", "bool"),
        ("length_m", "float8"),
        ("village_code", "text"),
    ),
)


def refine(typed: pd.DataFrame, issues: IssueCollector, context: ImportContext) -> pd.DataFrame:
    return typed
