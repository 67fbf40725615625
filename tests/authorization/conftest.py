"""Prints how the external reference suites fared at the end of the run."""

from __future__ import annotations

from collections import Counter

import pytest

# "suite" -> outcome -> count, filled in by the parametrised reference-suite tests.
REFERENCE_SUITE_COUNTS: dict[str, Counter[str]] = {}


def record_reference_outcome(suite: str, outcome: str) -> None:
    REFERENCE_SUITE_COUNTS.setdefault(suite, Counter())[outcome] += 1


@pytest.hookimpl(trylast=True)
def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for suite, counts in sorted(REFERENCE_SUITE_COUNTS.items()):
        details = ", ".join(f"{count} {outcome}" for outcome, count in sorted(counts.items()))
        terminalreporter.write_line(f"{suite}: {details}")

