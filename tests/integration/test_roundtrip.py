"""Property: a layer written and read back is unchanged (values, times, positions, codes)."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import layers
from gis.db import Database

_counter = itertools.count()

text = (
    st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=30)
    .map(str.strip)
    .filter(bool)
)
stamp = st.datetimes(
    min_value=pd.Timestamp("1990-01-01").to_pydatetime(),
    max_value=pd.Timestamp("2026-10-31").to_pydatetime(),
).map(lambda d: pd.Timestamp(d).floor("s"))
category = st.sampled_from(["0101", "0102", "0103", "010301", "99"])
lonlat = st.tuples(
    st.floats(min_value=73.6, max_value=134.7, allow_nan=False),
    st.floats(min_value=18.2, max_value=53.5, allow_nan=False),
)
incident_row = st.fixed_dictionaries(
    {
        "category": category,
        "occurred_from": stamp,
        "hours": st.integers(min_value=0, max_value=72),
        "address": st.none() | text,
        "description": st.none() | text,
        "where": lonlat,
    }
)


@pytest.fixture(scope="module")
def empty_db(make_database: Callable[..., Database]) -> Database:
    return make_database("roundtrip")


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(rows=st.lists(incident_row, min_size=1, max_size=30))
def test_incidents_round_trip(empty_db: Database, rows: list[dict]) -> None:
    source = f"prop{next(_counter)}"
    frame = gpd.GeoDataFrame(
        {
            "source_id": [f"R{i}" for i in range(len(rows))],
            "category": [r["category"] for r in rows],
            "occurred_from": [r["occurred_from"].tz_localize("Asia/Shanghai") for r in rows],
            "occurred_to": [
                (r["occurred_from"] + pd.Timedelta(hours=r["hours"])).tz_localize("Asia/Shanghai")
                for r in rows
            ],
            "address": [r["address"] for r in rows],
            "description": [r["description"] for r in rows],
        },
        geometry=shapely.points([r["where"] for r in rows]),
        crs="EPSG:4490",
    )
    summary = layers.import_frame("incidents", frame, source=source, db=empty_db)
    assert (summary.inserted, summary.quarantined) == (len(rows), 0)
    back = layers.read("incidents", db=empty_db).query("source == @source").set_index("source_id")
    back = back.loc[frame["source_id"]]
    assert list(back["category_code"]) == list(frame["category"])
    assert (back["occurred_from"].to_numpy() == frame["occurred_from"].to_numpy()).all()
    assert (back["occurred_to"].to_numpy() == frame["occurred_to"].to_numpy()).all()
    assert list(back["address"].fillna("<null>")) == list(frame["address"].fillna("<null>"))
    assert list(back["description"].fillna("<null>")) == list(frame["description"].fillna("<null>"))
    assert np.allclose(back.geometry.x, frame.geometry.x, atol=0, rtol=0)
    assert np.allclose(back.geometry.y, frame.geometry.y, atol=0, rtol=0)
    again = layers.import_frame("incidents", frame, source=source, db=empty_db)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, len(rows))
