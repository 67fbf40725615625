"""Altinn's own expression test collections (frontend and backend copies), every case as a test."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from felles.apps.expressions.shared_tests import SharedTestCase, find_test_files, load_cases, run_case

# resolved here as well as in conftest.py because parametrisation happens at import time
EXPRESSION_SUITES = (Path(__file__).resolve().parents[3] / "../shared/reference/altinn-expressions").resolve()

SUITES = {
    "frontend": EXPRESSION_SUITES / "frontend",
    "backend/shared-tests": EXPRESSION_SUITES / "backend" / "shared-tests",
    "backend/exclusive-tests": EXPRESSION_SUITES / "backend" / "exclusive-tests",
    "backend/up-for-evaluation": EXPRESSION_SUITES / "backend" / "up-for-evaluation",
}

# Cases we knowingly do not pass yet: case id -> reason. Each becomes a strict xfail.
KNOWN_DIVERGENCES: dict[str, str] = {}


def _collect() -> list[pytest.param]:
    params = []
    for suite, folder in SUITES.items():
        if not folder.is_dir():
            raise RuntimeError(f"shared test suite missing: {folder}")
        for file in find_test_files([folder]):
            for case in load_cases(file):
                case_id = f"{suite}/{file.relative_to(folder).as_posix()}::{case.name}"
                marks = []
                if case_id in KNOWN_DIVERGENCES:
                    marks.append(pytest.mark.xfail(reason=KNOWN_DIVERGENCES[case_id], strict=True))
                params.append(pytest.param(suite, case, id=case_id, marks=marks))
    return params


CASES = _collect()


def test_suites_hold_the_expected_number_of_cases() -> None:
    per_suite = Counter(param.values[0] for param in CASES)
    # the copies in ../shared/reference: frontend 690 cases, backend 671 (shared 665, exclusive 3,
    # up-for-evaluation 3); a change here means the reference material changed
    assert per_suite == {
        "frontend": 690,
        "backend/shared-tests": 665,
        "backend/exclusive-tests": 3,
        "backend/up-for-evaluation": 3,
    }


@pytest.mark.parametrize(("suite", "case"), CASES)
def test_shared_case(
    suite: str, case: SharedTestCase, request: pytest.FixtureRequest, suite_counts: dict[str, Counter[str]]
) -> None:
    outcome = run_case(case)
    counts = suite_counts.setdefault(suite, Counter())
    expected_to_fail = request.node.get_closest_marker("xfail") is not None
    counts["xfailed" if expected_to_fail and not outcome.passed else "passed" if outcome.passed else "failed"] += 1
    assert outcome.passed, outcome.detail
