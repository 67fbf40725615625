"""Shared fixtures for the apps tests, and the pass counts of Altinn's shared expression suites."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

REFERENCE = (Path(__file__).resolve().parents[2] / "../shared/reference").resolve()
if not REFERENCE.is_dir():  # fail loudly: these tests are meaningless without Altinn's reference material
    raise RuntimeError(f"reference material not found at {REFERENCE} (expected ../shared/reference)")

EXPRESSION_SUITES = REFERENCE / "altinn-expressions"
REFERENCE_APPS = REFERENCE / "altinn-apps"

# suite name -> Counter(passed=..., failed=..., xfailed=...), filled by test_shared_suites.py
_SUITE_COUNTS = pytest.StashKey[dict[str, Counter[str]]]()


@pytest.fixture
def reference_apps() -> Path:
    return REFERENCE_APPS


@pytest.fixture
def suite_counts(request: pytest.FixtureRequest) -> dict[str, Counter[str]]:
    return request.config.stash.setdefault(_SUITE_COUNTS, {})


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    counts_by_suite = config.stash.get(_SUITE_COUNTS, {})
    if not counts_by_suite:
        return
    terminalreporter.section("Altinn shared expression suites")
    for suite, counts in sorted(counts_by_suite.items()):
        terminalreporter.write_line(
            f"{suite}: {counts['passed']} passed, {counts['xfailed']} xfailed, {counts['failed']} failed"
        )
