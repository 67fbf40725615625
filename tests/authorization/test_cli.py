"""``felles xacml test DIR``."""

from __future__ import annotations

import shutil
from pathlib import Path

from typer.testing import CliRunner

from felles.authorization.cli import xacml_cli

SUITE = Path(__file__).resolve().parents[3] / "shared" / "reference" / "xacml3-conformance"


def _copy_case(case_id: str, target: Path, rename_to: str | None = None) -> None:
    for kind in ("Policy", "Request", "Response"):
        source = SUITE / f"{case_id}{kind}.xml"
        shutil.copy(source, target / f"{rename_to or case_id}{kind}.xml")


def test_a_folder_of_passing_cases_exits_zero_and_ends_with_the_counts(tmp_path: Path) -> None:
    _copy_case("IIA002", tmp_path)
    _copy_case("IIB001", tmp_path)
    result = CliRunner().invoke(xacml_cli, ["test", str(tmp_path)])
    assert result.exit_code == 0
    assert result.output.strip().splitlines()[-1] == "2 passed, 0 failed"


def test_a_wrong_recorded_response_fails_the_run_and_names_the_case(tmp_path: Path) -> None:
    _copy_case("IIA002", tmp_path)
    _copy_case("IIB001", tmp_path, rename_to="MINE1")
    # A response that contradicts the policy: IIB003 expects NotApplicable for another request.
    shutil.copy(SUITE / "IIB003Response.xml", tmp_path / "MINE1Response.xml")
    result = CliRunner().invoke(xacml_cli, ["test", str(tmp_path)])
    assert result.exit_code == 1
    assert "MINE1" in result.output
    assert result.output.strip().splitlines()[-1] == "1 passed, 1 failed"
