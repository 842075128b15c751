"""Fixtures of the browser tests: a real PostGIS database with the small demo county, the
dashboard served by ``pingan serve`` (gunicorn) against it, and Debian's Chromium driven by
playwright. There is no ``playwright install``: ``scripts/setup.sh`` installs ``chromium``
from the distribution, and a missing browser fails the tests (it never skips them).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

from tests.integration.conftest import *  # noqa: F403 - the database fixtures (db, db_url, ...)

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
OUTPUT = Path(__file__).resolve().parents[1] / "output"
ROOT = Path(__file__).resolve().parents[2]
SERVE_SECONDS = 300
"""How long a server may take to answer its first request: CI has 2 busy cores, and each
gunicorn worker builds every page once before it accepts a connection."""
WAIT_MS = 60_000
"""How long a test waits for a condition in the browser by default (CI is slow); waits are
on conditions, never on time."""


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if Path(str(item.fspath)).is_relative_to(here):
            item.add_marker(pytest.mark.e2e)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def demo_db(db: Any) -> Any:
    """The module's database with the small demo county imported."""
    from layers.demo import build_demo_county
    from layers.demo.loading import import_demo_county

    import_demo_county(build_demo_county(small=True), source="demo", db=db)
    return db


def _serve(db_url: str, tmp: Path, *extra: str) -> Iterator[str]:
    """``pingan serve`` on a free port, yielded once it answers ``/`` with 200.

    A gunicorn worker accepts connections only after it has served its own index once
    (``dashboard.app.warm_up``), so the first answer comes from a worker that is fully set up,
    and so does every later one.
    """
    port = _free_port()
    log_path = tmp / f"serve-{port}.log"
    env = {**os.environ, "PINGAN_DATABASE_URL": db_url, "PINGAN_HOME": str(tmp / "home")}
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "pingan", "serve", "--port", str(port), *extra],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + SERVE_SECONDS
        while True:
            if proc.poll() is not None:
                pytest.fail(f"pingan serve exited:\n{log_path.read_text()}")
            try:
                with urllib.request.urlopen(url + "/", timeout=30) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"pingan serve did not answer:\n{log_path.read_text()}")
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def server_url(
    demo_db: Any, db_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The dashboard as production serves it: ``pingan serve`` (gunicorn, 2 workers)."""
    yield from _serve(db_url, tmp_path_factory.mktemp("serve"), "--workers", "2")


@pytest.fixture(scope="module")
def debug_server_url(
    demo_db: Any, db_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The dashboard under ``pingan serve --debug`` (the Dash dev server with dev tools)."""
    yield from _serve(db_url, tmp_path_factory.mktemp("serve-debug"), "--debug")


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Headless Debian Chromium; a missing browser is a failure, not a skip."""
    from playwright.sync_api import sync_playwright

    assert CHROMIUM.exists(), (
        f"{CHROMIUM} is missing: run scripts/setup.sh (apt-get install chromium)"
    )
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_FLAGS
        )
        yield browser
        browser.close()


@dataclass
class PageRecord:
    """A browser page with everything it requested and every error it logged."""

    page: Any
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def hosts(self) -> set[str]:
        return {urlparse(u).hostname or u for u in self.requests if not u.startswith("data:")}

    def settle(self, timeout: float = WAIT_MS) -> None:
        """Wait until Dash has no callback requested or running (the renderer's own
        ``isLoading``, which Dash's test harness waits on too)."""
        self.page.wait_for_function(
            "window.store !== undefined && window.store.getState().isLoading === false",
            timeout=timeout,
        )

    def screenshot(self, name: str) -> Path:
        OUTPUT.mkdir(parents=True, exist_ok=True)
        path = OUTPUT / f"{name}.png"
        self.page.screenshot(path=str(path))
        return path


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[PageRecord]:
    """A fresh page (new context: no stored language) that records requests and errors.

    Every test saves a screenshot of where it ended, named after the test.
    """
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    context.set_default_timeout(WAIT_MS)
    pg = context.new_page()
    record = PageRecord(pg)
    pg.on("request", lambda r: record.requests.append(r.url))
    pg.on("console", lambda m: record.errors.append(m.text) if m.type == "error" else None)
    pg.on("pageerror", lambda e: record.errors.append(str(e)))
    yield record
    record.screenshot(request.node.name)
    context.close()


# -- the analysis pages (总览, 热点, 重点地区) ---------------------------------------------------


@pytest.fixture(scope="module")
def analysed_db(demo_db: Any) -> Any:
    """The demo county with its derived layers refreshed, as ``pingan analyze`` would:
    Gi* hot spots of 两抢一盗, the key areas, and the risk grades of every month."""
    import layers

    layers.refresh_hotspots(categories=["两抢一盗"], db=demo_db)
    layers.refresh_key_areas(db=demo_db)
    layers.refresh_risk(db=demo_db)
    return demo_db


@pytest.fixture(scope="module")
def analysis_url(
    analysed_db: Any, db_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The dashboard (``pingan serve``, 2 gunicorn workers) on the analysed demo county."""
    yield from _serve(db_url, tmp_path_factory.mktemp("serve-analysis"), "--workers", "2")
