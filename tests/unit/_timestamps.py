"""What the timestamp tests share: a text column parsed as the importer parses it."""

from __future__ import annotations

import pandas as pd

from layers._spec import parse_timestamps

TIMEZONE = "Asia/Shanghai"


def parse(values: list[str | None]) -> tuple[pd.Series, list[bool], list[bool]]:
    """``parse_timestamps`` of ``values`` as a text column: stamps, bad, date-only."""
    stamps, bad, date_only = parse_timestamps(pd.Series(values, dtype="str"), timezone=TIMEZONE)
    return stamps, bad.tolist(), date_only.tolist()
