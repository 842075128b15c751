"""Shared test configuration.

In CI (``CI=true``) a skipped test fails the session: a database or browser test that did
not run has not passed (DESIGN.md §4).
"""

from __future__ import annotations

import os

import pytest

_skipped: list[str] = []


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() == "true"


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and not hasattr(report, "wasxfail"):
        _skipped.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _in_ci() and _skipped and session.exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _in_ci() and _skipped:
        terminalreporter.section("skipped tests fail in CI", sep="=", red=True, bold=True)
        terminalreporter.write_line(
            f"CI=true: {len(_skipped)} test(s) were skipped; a skipped test is a failure here."
        )
        for nodeid in _skipped:
            terminalreporter.write_line(f"  SKIPPED {nodeid}")
