"""The space-time cube: alignment to the end date, empty steps kept, nothing dropped silently."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.cube import space_time_cube, step_boundaries
from gis.errors import ValidationError

TZ = "Asia/Shanghai"


def test_weeks_are_laid_back_from_the_end_date() -> None:
    b = step_boundaries(end="2026-10-31", steps=3, step="week")
    assert [str(d.date()) for d in b] == ["2026-10-11", "2026-10-18", "2026-10-25", "2026-11-01"]
    assert str(b.tz) == TZ
    assert all(d.hour == 0 for d in b)


def test_months_end_on_the_end_date() -> None:
    b = step_boundaries(end="2026-10-31", steps=12, step="month")
    assert str(b[0].date()) == "2025-11-01"
    assert str(b[-1].date()) == "2026-11-01"
    assert all(d.day == 1 for d in b)


def test_counts_keep_empty_steps_and_listed_cells() -> None:
    times = ["2026-10-30 23:59:59", "2026-10-20 00:00:00", "2026-10-01 12:00", "2026-10-31 00:00"]
    cube = space_time_cube(
        ["a", "b", "a", "a"], times, end="2026-10-31", step="week", steps=5, cells=["a", "b", "c"]
    )
    assert cube.counts.tolist() == [[1, 0, 0, 0, 2], [0, 0, 0, 1, 0], [0, 0, 0, 0, 0]]
    assert cube.n_steps == 5 and cube.n_cells == 3
    assert cube.n_counted == 4 and cube.n_outside == 0 and cube.n_unknown_cell == 0
    assert cube.span == pd.Timedelta(days=35)
    assert str(cube.start.date()) == "2026-09-27"
    assert str(cube.end.date()) == "2026-11-01"


def test_boundaries_are_local_midnights() -> None:
    # 2026-10-31 16:30 UTC is 2026-11-01 00:30 in Shanghai: after the cube's end
    utc = pd.Series(pd.to_datetime(["2026-10-31T16:30Z", "2026-10-31T15:30Z"]))
    cube = space_time_cube([1, 1], utc, end="2026-10-31", step="day", steps=2)
    assert cube.counts.tolist() == [[0, 1]]
    assert cube.n_outside == 1
    # naive times are local times
    naive = space_time_cube([1], ["2026-10-31 23:30"], end="2026-10-31", step="day", steps=1)
    assert naive.counts.tolist() == [[1]]
    assert naive.cells.dtype == np.int64


def test_nothing_is_dropped_without_a_count() -> None:
    cube = space_time_cube(
        ["a", None, "zz", "a"],
        ["2026-10-30", "2026-10-30", "2026-10-30", "2020-01-01"],
        end="2026-10-31",
        steps=2,
        cells=["a"],
    )
    assert cube.n_counted == 1
    assert cube.n_unknown_cell == 2
    assert cube.n_outside == 1
    assert "1 incidents counted" in cube.describe(language="en")


def test_steps_reach_back_to_the_first_incident() -> None:
    cube = space_time_cube(["a", "a"], ["2026-01-15", "2026-10-31"], end="2026-10-31", step="month")
    assert cube.n_steps == 10  # January … October
    assert str(cube.start.date()) == "2026-01-01"
    weeks = space_time_cube(
        ["a"], ["2026-10-17"], end="2026-10-31", step="week", start="2026-10-01"
    )
    assert weeks.n_steps == 5 and weeks.start <= pd.Timestamp("2026-10-01", tz=TZ)


def test_description_names_interval_and_span() -> None:
    cube = space_time_cube(["a"], ["2026-10-30"], end="2026-10-31", steps=52)
    text = cube.describe(language="zh")
    assert "52 个时间步" in text and "1 周" in text and "2026-10-31" in text


def test_refusals_name_the_argument() -> None:
    with pytest.raises(ValidationError, match="fortnight"):
        space_time_cube(["a"], ["2026-10-30"], end="2026-10-31", step="fortnight")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="end"):
        space_time_cube(["a"], ["2026-10-30"], end="not a date", steps=3)
    with pytest.raises(ValidationError, match="one cell and one time"):
        space_time_cube(["a", "b"], ["2026-10-30"], end="2026-10-31", steps=3)
    with pytest.raises(ValidationError, match="more than once"):
        space_time_cube(["a"], ["2026-10-30"], end="2026-10-31", steps=3, cells=["a", "a"])
