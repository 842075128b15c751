"""Cameras (雪亮工程 points): id, kind, status, position and field of view.

``camera_code`` is the GB/T 28181 device id (20 digits) when known. Heading is degrees
clockwise from north, field of view in degrees, range and mount height in metres.
"""

from __future__ import annotations

import pandas as pd

from layers._importer import ImportContext
from layers._spec import ASSIGNED_COLUMNS, Field, IssueCollector, LayerSpec

STATUSES = ("online", "offline", "fault")
_STATUS_ALIASES = {
    "在线": "online",
    "正常": "online",
    "on": "online",
    "1": "online",
    "离线": "offline",
    "不在线": "offline",
    "off": "offline",
    "0": "offline",
    "故障": "fault",
    "损坏": "fault",
    "broken": "fault",
}

SPEC = LayerSpec(
    name="cameras",
    table="camera",
    fields=(
        Field("source_id"),
        Field("camera_code", pattern=r"\d{20}"),
        Field("name"),
        Field("kind"),
        Field("status", choices=STATUSES, aliases=_STATUS_ALIASES),
        Field("installed_on", "date"),
        Field("heading_deg", "float", minimum=0, maximum=360),
        Field("fov_deg", "float", minimum=0.1, maximum=360),
        Field("range_m", "float", minimum=0.1, maximum=5000),
        Field("height_m", "float", minimum=0, maximum=200),
    ),
    geometry="point",
    assign_areas=True,
    stored=(
        ("camera_code", "text"),
        ("name", "text"),
        ("kind", "text"),
        ("status", "text"),
        ("installed_on", "date"),
        ("heading_deg", "float4"),
        ("fov_deg", "float4"),
        ("range_m", "float4"),
        ("height_m", "float4"),
        *ASSIGNED_COLUMNS,
    ),
)


def refine(typed: pd.DataFrame, issues: IssueCollector, context: ImportContext) -> pd.DataFrame:
    """A camera without a status is taken as online; a heading of 360° is north (0°)."""
    typed["status"] = typed["status"].fillna("online")
    typed["heading_deg"] = typed["heading_deg"] % 360
    typed["source_id"] = typed["source_id"].fillna(typed["camera_code"])
    return typed
