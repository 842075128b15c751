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
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                pytest.fail(f"pingan serve exited:\n{log_path.read_text()}")
            try:
                with urllib.request.urlopen(url + "/", timeout=5) as response:
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
    pg = context.new_page()
    record = PageRecord(pg)
    pg.on("request", lambda r: record.requests.append(r.url))
    pg.on("console", lambda m: record.errors.append(m.text) if m.type == "error" else None)
    pg.on("pageerror", lambda e: record.errors.append(str(e)))
    yield record
    record.screenshot(request.node.name)
    context.close()
