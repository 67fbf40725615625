"""``felles xacml test DIR`` and ``felles service-owner``."""

from __future__ import annotations

import shutil
from pathlib import Path

from typer.testing import CliRunner

from felles.authorization.cli import xacml_cli

SUITE = Path(__file__).resolve().parents[3] / "shared" / "reference" / "xacml3-conformance"
REFERENCE_RESOURCES = SUITE.parent / "altinn-authorization" / "resourceregistry" / "resources"


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


async def test_an_operator_registers_a_service_owner_which_may_then_own_resources(
        client, database, settings, token, monkeypatch) -> None:
    import asyncio
    import json

    from felles.authorization.cli import service_owner_cli
    from felles.core.config import get_settings
    from tests.conftest import bearer

    for variable, value in {"ENVIRONMENT": "test", "DATA_DIR": str(settings.data_dir),
                            "DATABASE_URL": settings.database_url, "SECRET_KEY": settings.secret_key}.items():
        monkeypatch.setenv(f"FELLES_{variable}", value)
    get_settings.cache_clear()
    kartverket = "971040238"
    document = json.loads((REFERENCE_RESOURCES / "ske-innrapportering-boligsameie.json").read_text(encoding="utf-8"))
    document = {**document, "identifier": "krt-eiendom",
                "hasCompetentAuthority": {"organization": kartverket, "orgcode": "krt"}}
    owner = bearer(token(scopes=["altinn:resourceregistry/resource.write"], org=kartverket))
    try:
        before = await client.post("/resourceregistry/api/v1/resource", json=document, headers=owner)
        assert before.status_code == 403 and before.json()["code"] == "not_service_owner"
        args = ["add", "krt", kartverket, "--name-nb", "Kartverket", "--name-en", "Norwegian Mapping Authority"]
        added = await asyncio.to_thread(CliRunner().invoke, service_owner_cli, args)
        assert added.exit_code == 0, added.output
        again = await asyncio.to_thread(CliRunner().invoke, service_owner_cli, args)
        assert again.exit_code == 1 and "registered already" in again.output
        listed = await asyncio.to_thread(CliRunner().invoke, service_owner_cli, ["list"])
        assert "krt" in listed.output and "skd" in listed.output
    finally:
        get_settings.cache_clear()
    created = await client.post("/resourceregistry/api/v1/resource", json=document, headers=owner)
    assert created.status_code == 201, created.text
    assert created.json()["hasCompetentAuthority"]["name"] == {
        "nb": "Kartverket", "nn": "Kartverket", "en": "Norwegian Mapping Authority"}
