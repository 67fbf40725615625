from __future__ import annotations

import json
import shutil
from pathlib import Path

from typer.testing import CliRunner

from felles.apps.cli import app_cli, expr_cli

REFERENCE = (Path(__file__).resolve().parents[2] / "../shared/reference").resolve()
runner = CliRunner()


def test_app_check_accepts_a_valid_app() -> None:
    result = runner.invoke(app_cli, ["check", str(REFERENCE / "altinn-apps" / "altinn-studio-signing-test")])
    assert result.exit_code == 0, result.output
    assert "ttd/signing-test: OK" in result.output


def test_app_check_lists_every_problem_and_exits_1(tmp_path: Path) -> None:
    app = tmp_path / "basic"
    shutil.copytree(REFERENCE / "altinn-apps" / "app-lib-dotnet-basic", app)
    (app / "App" / "config" / "texts" / "resource.nb.json").write_text("{", encoding="utf-8")
    (app / "App" / "config" / "authorization" / "policy.xml").write_text("<x>", encoding="utf-8")
    result = runner.invoke(app_cli, ["check", str(app)])
    assert result.exit_code == 1
    assert "config/texts/resource.nb.json:1: invalid JSON" in result.output
    assert "config/authorization/policy.xml:1: invalid XML" in result.output
    assert "2 problem(s)" in result.output


def _write_case(folder: Path, name: str, case: dict) -> None:
    (folder / name).write_text(json.dumps(case), encoding="utf-8")


def test_expr_test_runs_shared_format_files_and_counts(tmp_path: Path) -> None:
    _write_case(tmp_path, "ok.json", {"name": "sum", "expression": ["plus", 1, 2], "expects": 3})
    _write_case(
        tmp_path,
        "cases.json",
        {
            "name": "several",
            "dataModel": {"alder": 17},
            "testCases": [
                {"expression": ["greaterThanEq", ["dataModel", "alder"], 18], "expects": False},
                {"expression": ["dataModel", "alder"], "expects": 18},
                {"expression": ["divide", 1, 0], "expectsFailure": "cannot divide by 0"},
            ],
        },
    )
    result = runner.invoke(expr_cli, ["test", str(tmp_path)])
    assert result.exit_code == 1
    assert "expected 18, got 17" in result.output
    assert result.output.strip().splitlines()[-1] == "3 passed, 1 failed"


def test_expr_test_passes_on_altinns_own_suite() -> None:
    folder = REFERENCE / "altinn-expressions" / "frontend" / "functions" / "formatDate"
    result = runner.invoke(expr_cli, ["test", str(folder)])
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines()[-1].endswith("passed, 0 failed")
