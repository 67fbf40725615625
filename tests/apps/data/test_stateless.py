"""Stateless apps (`/v1/data`): a new form prefilled for the party (Folkeregisteret here), the sent form data read
through the model, nothing stored; anonymous only where the data type allows it; another person's party refused."""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select

from felles.apps import deployment
from felles.registers.population import seed_demo_personas
from felles.storage.models import DataElement
from tests.apps.data.conftest import KARI
from tests.conftest import REFERENCE

APPS = REFERENCE / "altinn-apps"


async def _deploy_copy(database, tmp_path: Path, folder: str) -> str:
    """A reference app under an id of its own (the catalogue on disk is shared by the session's tests)."""
    target = tmp_path / folder
    shutil.copytree(APPS / folder, target)
    metadata_file = target / "App/config/applicationmetadata.json"
    metadata = json.loads(metadata_file.read_text(encoding="utf-8-sig"))
    app_id = f"ttd/stateless-{uuid.uuid4().hex[:10]}"
    old_name = metadata["id"].split("/")[1]
    metadata["id"] = app_id
    metadata_file.write_text(json.dumps(metadata))
    policy = target / "App/config/authorization/policy.xml"
    policy.write_text(policy.read_text(encoding="utf-8-sig").replace(old_name, app_id.split("/")[1]))
    await deployment.deploy_folder(database, target, "test")
    return app_id


@pytest.fixture
async def stateless_app(database, tmp_path) -> str:
    await seed_demo_personas(database)
    return await _deploy_copy(database, tmp_path, "altinn-studio-stateless-app")


async def test_a_stateless_form_is_prefilled_and_never_stored(client, database, deployed, kari) -> None:
    url, params = f"/{deployed.app_id}/v1/data", {"dataType": "model"}
    fresh = await client.get(url, params=params, headers=kari)
    assert fresh.status_code == 200, fresh.text
    first_name = fresh.json()["property1"]
    assert isinstance(first_name, str) and first_name  # Kari's first name, from Folkeregisteret
    assert fresh.json()["property2"] is None

    sent = await client.post(url, params=params, headers=kari, json={"property2": "sent"})
    assert sent.status_code == 200 and sent.json() == {"property1": first_name, "property2": "sent",
                                                       "property3": None}
    xml = await client.post(url, params=params, headers={**kari, "Content-Type": "application/xml"},
                            content=b"<model><property3>xml</property3></model>")
    assert xml.json()["property3"] == "xml"
    bad = await client.post(url, params=params, headers={**kari, "Content-Type": "application/xml"},
                            content=b"<broken")
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_form_data"
    async with database.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(DataElement)) == 0


async def test_a_reference_stateless_app_serves_its_form(client, stateless_app, kari) -> None:
    # Its prefill names C# properties the XSD does not know: the form comes without them, as a warning says.
    fresh = await client.get(f"/{stateless_app}/v1/data", params={"dataType": "stateless"}, headers=kari)
    assert fresh.status_code == 200, fresh.text
    assert "OpplysningerOmArbeidstakeren-grp-8819" in fresh.json()


async def test_the_party_is_the_callers_to_choose_within_their_rights(client, database, stateless_app, kari,
                                                                      ola) -> None:
    url, params = f"/{stateless_app}/v1/data", {"dataType": "stateless"}
    assert (await client.get(url, params=params, headers={**kari, "party": f"person:{KARI}"})).status_code == 200
    refused = await client.get(url, params=params, headers={**ola, "party": f"person:{KARI}"})
    assert refused.status_code == 403
    malformed = await client.get(url, params=params, headers={**kari, "party": "someone"})
    assert malformed.status_code == 400 and malformed.json()["code"] == "invalid_party_header"
    assert (await client.get(url, params=params)).status_code == 401
    not_form = await client.get(url, params={"dataType": "ref-data-as-pdf"}, headers=kari)
    assert not_form.status_code == 400 and not_form.json()["code"] == "not_form_data"
    closed = await client.get(f"{url}/anonymous", params=params)
    assert closed.status_code == 403 and closed.json()["code"] == "anonymous_not_allowed"


async def test_anonymous_forms_where_the_data_type_allows_them(client, database, tmp_path) -> None:
    app_id = await _deploy_copy(database, tmp_path, "altinn-studio-anonymous-stateless-app")
    fresh = await client.get(f"/{app_id}/v1/data/anonymous", params={"dataType": "default"})
    assert fresh.status_code == 200, fresh.text
    assert isinstance(fresh.json(), dict) and fresh.json()
    echoed = await client.post(f"/{app_id}/v1/data/anonymous", params={"dataType": "default"}, json=fresh.json())
    assert echoed.status_code == 200 and echoed.json() == fresh.json()
