"""Standard addresses (标准地址): the deployment's own address points, for offline geocoding.

Addresses follow 省/市/县/乡镇/村(社区)/组/路/门牌; ``level`` says how far down a row goes (a door,
a villagers' group, a village or a township). The full address text identifies a row unless the
file gives its own id.
"""

from __future__ import annotations

import pandas as pd

from layers._importer import ImportContext
from layers._spec import ASSIGNED_COLUMNS, Field, IssueCollector, LayerSpec

LEVELS = ("door", "group", "village", "township")

SPEC = LayerSpec(
    name="addresses",
    table="standard_address",
    fields=(
        Field("source_id"),
        Field("address", required=True),
        Field("province"),
        Field("city"),
        Field("county"),
        Field("township"),
        Field("village"),
        Field("group_name"),
        Field("road"),
        Field("door"),
        Field(
            "level",
            required=True,
            choices=LEVELS,
            aliases={
                "门牌": "door",
                "组": "group",
                "村": "village",
                "社区": "village",
                "乡镇": "township",
            },
        ),
    ),
    geometry="point",
    assign_areas=True,
    stored=(
        ("address", "text"),
        ("province", "text"),
        ("city", "text"),
        ("county", "text"),
        ("township", "text"),
        ("village", "text"),
        ("group_name", "text"),
        ("road", "text"),
        ("door", "text"),
        ("level", "text"),
        *ASSIGNED_COLUMNS,
    ),
)


def refine(typed: pd.DataFrame, issues: IssueCollector, context: ImportContext) -> pd.DataFrame:
    """The address text is the row's identity unless the file brings an id."""
    typed["source_id"] = typed["source_id"].fillna(typed["address"])
    return typed
