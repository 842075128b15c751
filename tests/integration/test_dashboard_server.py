"""The dashboard's server set-up against a real database: a fresh process (a gunicorn gthread
worker, the dev server) that gets many requests at once, as a browser sends them, answers every
one completely; ``warm_up`` does the set-up before the first request and stops a worker that
cannot build its pages.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from dashboard.app import create_app, warm_up
from gis.db import Database
from gis.errors import DatabaseError

ROUTER_OUTPUT = "_pages_content.children"
POINTS_LAYER = "map-incidents-points"


def _bundles(index_html: str) -> list[str]:
    return re.findall(r'src="(/_dash-component-suites/[^"]+)"', index_html)


def _config(index_html: str) -> dict[str, Any]:
    found = re.search(
        r'<script id="_dash-config" type="application/json">(.*?)</script>', index_html
    )
    assert found, index_html[:500]
    return dict(json.loads(found.group(1)))


def _get(app: Any, url: str, answers: dict[str, Any]) -> threading.Thread:
    """GET ``url`` on a thread of its own (as gunicorn's gthread worker would); the answer
    lands in ``answers``."""

    def get() -> None:
        answers[url] = app.server.test_client().get(url)

    thread = threading.Thread(target=get)
    thread.start()
    return thread


@contextlib.contextmanager
def _busy_database(db: Database) -> Iterator[threading.Event]:
    """The admin units locked, as on a busy server, until the event yielded is set: page
    layouts wait on the database meanwhile."""
    locked, release = threading.Event(), threading.Event()

    def hold() -> None:
        with db.connection() as conn:
            conn.execute("LOCK TABLE admin_unit IN ACCESS EXCLUSIVE MODE")
            locked.set()
            release.wait(timeout=300)

    holder = threading.Thread(target=hold)
    holder.start()
    assert locked.wait(timeout=60)
    try:
        yield release
    finally:
        release.set()
        holder.join()


def _wait_for_a_blocked_query(db: Database) -> None:
    for _ in range(600):
        # One transaction a look: pg_stat_activity is a snapshot per transaction.
        with db.connection() as conn:
            (waiting,) = conn.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            ).fetchone()
        if waiting:
            return
        time.sleep(0.1)
    raise AssertionError("the first request never queried the database")


@pytest.fixture(scope="module")
def bundle_urls(db: Database) -> list[str]:
    """The script bundles of the index (the same for every app of this process)."""
    urls = _bundles(create_app(db).server.test_client().get("/").get_data(as_text=True))
    assert len(urls) >= 10
    return urls


@pytest.mark.parametrize("warm", [False, True], ids=["cold", "warmed_up"])
def test_requests_during_the_first_one_get_complete_answers(
    db: Database, bundle_urls: list[str], warm: bool
) -> None:
    app = create_app(db)
    if warm:
        warm_up(app)
    answers: dict[str, Any] = {}
    with _busy_database(db) as release:
        # The first request sets the app up; its page layouts wait on the database...
        threads = [_get(app, "/_dash-layout", answers)]
        if not warm:
            _wait_for_a_blocked_query(db)
        # ...while browsers ask for the index, the callbacks and the bundles.
        threads += [_get(app, u, answers) for u in ["/", "/_dash-dependencies", *bundle_urls]]
        for thread in threads[1:]:
            thread.join(timeout=1)  # they may finish (set-up done) or wait for the set-up
        release.set()
        for thread in threads:
            thread.join(timeout=300)
    failed = {u: r.status_code for u, r in answers.items() if r.status_code != 200}
    assert not failed, failed
    assert len(answers) == len(bundle_urls) + 3
    # Every callback, the pages' and the page router's, as once the set-up is done...
    during = answers["/_dash-dependencies"].get_json()
    after = app.server.test_client().get("/_dash-dependencies").get_json()
    assert sorted(c["output"] for c in during) == sorted(c["output"] for c in after)
    assert any(ROUTER_OUTPUT in c["output"] for c in during)
    # ...and the index's validation layout holds every page (without it the browser reports
    # "ID not found in layout" for the pages' callbacks).
    validation = json.dumps(_config(answers["/"].get_data(as_text=True))["validation_layout"])
    assert POINTS_LAYER in validation and "data-upload" in validation


def test_warm_up_stops_a_worker_that_cannot_build_its_pages(make_database: Any) -> None:
    gone = make_database("closed")
    gone.close()
    with pytest.raises(DatabaseError, match="HTTP 500"):
        warm_up(create_app(gone))
