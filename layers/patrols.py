"""Patrol teams (巡逻队): the teams that later issues plan shifts and routes for."""

from __future__ import annotations

import pandas as pd

from layers._importer import ImportContext
from layers._spec import PHONE_PATTERN, Field, IssueCollector, LayerSpec

SPEC = LayerSpec(
    name="patrol_teams",
    table="patrol_team",
    fields=(
        Field("source_id"),
        Field("name", required=True),
        Field("unit"),
        Field("leader"),
        Field("phone", pattern=PHONE_PATTERN),
        Field("members", "int", minimum=1),
        Field("area_code"),
    ),
    geometry=None,
    stored=(
        ("name", "text"),
        ("unit", "text"),
        ("leader", "text"),
        ("phone", "text"),
        ("members", "int4"),
        ("area_code", "text"),
    ),
)


def refine(typed: pd.DataFrame, issues: IssueCollector, context: ImportContext) -> pd.DataFrame:
    typed["source_id"] = typed["source_id"].fillna(typed["name"])
    return typed
