"""Street-zoom incident points in a real browser, against the small demo county."""

from __future__ import annotations

from tests.e2e.conftest import PageRecord
from tests.e2e.test_map import _open

POINTS = ".marker-cluster, .leaflet-map-points-pane path.leaflet-interactive"


def test_street_zoom_draws_clustered_points(page: PageRecord, server_url: str, demo_db) -> None:
    _open(page, server_url)
    assert page.page.locator(POINTS).count() == 0  # county zoom: the grids carry the counts
    with demo_db.connection() as conn:
        lon, lat = conn.execute(
            "SELECT ST_X(c), ST_Y(c) FROM (SELECT ST_Centroid(ST_Collect(geom)) c FROM incident"
            " WHERE grid_code = (SELECT grid_code FROM incident GROUP BY 1 ORDER BY count(*)"
            " DESC LIMIT 1)) s"
        ).fetchone()
    page.page.evaluate(
        "([lat, lon]) => window.dash_clientside.set_props('map-map',"
        " {viewport: {center: [lat, lon], zoom: 16, transition: 'setView'}})",
        [lat, lon],
    )
    # The map moves, reports its bounds and zoom, the clientside callback points the layer at
    # the route, the layer fetches and clusters the points.
    page.page.wait_for_selector(POINTS)
    assert any("/api/incident-points?bbox=" in u for u in page.requests)
    page.settle()
    page.screenshot("street_points")
    assert page.errors == []
