"""Hour × weekday profile: Monday first, aoristic windows, peak bands in words, and the demo
county's weekday 16–18 school snatching."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.profile import hour_weekday_profile
from gis.errors import ValidationError

TZ = "Asia/Shanghai"


def test_table_is_monday_first_on_the_local_clock() -> None:
    # 2026-11-02 is a Monday; 01:30 UTC is 09:30 in Shanghai
    p = hour_weekday_profile(pd.Series(pd.to_datetime(["2026-11-02T01:30Z", "2026-11-08T15:00Z"])))
    assert p.table.shape == (7, 24)
    assert p.table[0, 9] == 1.0  # Monday 09:00–10:00
    assert p.table[6, 23] == 1.0  # Sunday 23:00 local
    assert p.total == 2.0
    assert p.frame(language="en").index[0] == "Mon"


def test_windows_are_spread_over_their_hours() -> None:
    start = pd.Series(pd.to_datetime(["2026-11-03 22:00"])).dt.tz_localize(TZ)
    end = pd.Series(pd.to_datetime(["2026-11-04 02:00"])).dt.tz_localize(TZ)
    p = hour_weekday_profile(start, end)
    assert p.table[1, 22] == pytest.approx(0.25) and p.table[1, 23] == pytest.approx(0.25)
    assert p.table[2, 0] == pytest.approx(0.25) and p.table[2, 1] == pytest.approx(0.25)


def test_peak_band_in_plain_words() -> None:
    rng = np.random.default_rng(1)
    # background spread over the week, plus weekday 16:00–18:00 incidents
    base = pd.Timestamp("2026-11-02", tz=TZ)  # a Monday
    background = base + pd.to_timedelta(rng.uniform(0, 7 * 24, 700), unit="h")
    days = rng.integers(0, 5, 200)
    peak = base + pd.to_timedelta(days * 24 + 16 + rng.uniform(0, 2, 200), unit="h")
    p = hour_weekday_profile(pd.Series(background.append(peak)))
    band = p.peak
    assert band is not None
    assert (band.days, band.start_hour, band.end_hour) == ((0, 1, 2, 3, 4), 16, 18)
    assert band.describe(language="zh").startswith("周一至周五 16:00–18:00")
    assert p.describe(language="en").startswith("peak times: Mon–Fri 16:00–18:00")


def test_flat_profile_has_no_peak() -> None:
    start = pd.Timestamp("2026-11-02", tz=TZ) + pd.to_timedelta(np.arange(168), unit="h")
    p = hour_weekday_profile(pd.Series(start))
    assert p.bands == [] and p.peak is None
    assert "no peak" in p.describe(language="en")


def test_refusals() -> None:
    with pytest.raises(ValidationError, match="lift"):
        hour_weekday_profile(pd.Series(pd.to_datetime(["2026-11-02"])), lift=1.0)
    with pytest.raises(ValidationError, match="no incidents"):
        hour_weekday_profile(pd.Series([], dtype="datetime64[ns]"))


def test_demo_school_snatching_peaks_on_weekday_afternoons() -> None:
    # Planted (layers/demo/_patterns.py): 抢夺 (0102, 010201) near two schools, Mon–Fri at
    # 16:xx and 17:xx, as pupils leave; the background snatching is spread over the week.
    from layers.demo import build_demo_county

    inc = build_demo_county(small=True).incidents
    keep = inc["category"].isin(["0102", "010201"])
    p = hour_weekday_profile(inc["occurred_from"][keep], inc["occurred_to"][keep])
    band = p.peak
    assert band is not None
    assert set(band.days) == {0, 1, 2, 3, 4}
    assert (band.start_hour, band.end_hour) == (16, 18)
