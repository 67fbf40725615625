"""The OASIS XACML 3.0 conformance suite (reference/xacml3-conformance), one test per case.

Part II is mandatory, part III optional (ConformanceTests.html). Cases we do not pass are xfail with the reason.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from felles.authorization.xacml import Decision
from felles.authorization.xacml.conformance import ConformanceCase, discover_cases, run_case
from tests.authorization.conftest import record_reference_outcome

SUITE = Path(__file__).resolve().parents[3] / "shared" / "reference" / "xacml3-conformance"
CASES = discover_cases(SUITE) if SUITE.is_dir() else []

NOT_IMPLEMENTED = {
    "IIIC003": "hierarchical resources (optional): scope Descendants expansion into one result per "
               "resource is not implemented",
    "IIIE301": "multiple decisions by multiple:content-selector (optional, MDP §2.4) are not implemented",
}

# Altinn edited these three recorded responses to Indeterminate because its PDP does not supply the
# environment's current time ("Altinn Comment. This scenario cant be right ... We have changed the expected
# response"). XACML 3.0 §10.2.5 requires the PDP to supply current-time/-date/-dateTime when the request does
# not, so the original OASIS expectation, Permit, is the one we test.
ALTINN_EDITED_EXPECTATIONS = {"IIA017": Decision.PERMIT, "IIA019": Decision.PERMIT, "IIA021": Decision.PERMIT}


def _fixed_clock() -> datetime:
    return datetime(2024, 5, 17, 12, 0, tzinfo=UTC)


def _params() -> list[object]:
    params = []
    for case in CASES:
        marks = [pytest.mark.xfail(reason=NOT_IMPLEMENTED[case.id], strict=True)] if case.id in NOT_IMPLEMENTED \
            else []
        params.append(pytest.param(case, id=case.id, marks=marks))
    return params


def test_the_suite_is_present_and_complete() -> None:
    assert len(CASES) >= 370
    assert sum(case.mandatory for case in CASES) >= 300


@pytest.mark.parametrize("case", _params())
def test_conformance_case(case: ConformanceCase) -> None:
    group = "mandatory" if case.mandatory else "optional"
    suite = f"XACML 3.0 conformance ({group})"
    outcome = run_case(case, clock=_fixed_clock)
    if case.id in NOT_IMPLEMENTED:
        record_reference_outcome(suite, "xfailed")
    if case.id in ALTINN_EDITED_EXPECTATIONS:
        assert outcome.actual is not None
        assert [r.decision for r in outcome.actual.results] == [ALTINN_EDITED_EXPECTATIONS[case.id]]
        record_reference_outcome(suite, "passed (OASIS expectation; Altinn's edited response differs)")
        return
    if outcome.passed:
        record_reference_outcome(suite, "passed")
    assert outcome.differences == []
