"""Subforms on the form pages (Altinn's subform-test app): a Subform component lists the data elements of its
layout set's data type as a table; one is added and filled in on the subform's own pages, which lead back to the
task's page, and deleted from the table. Every change goes through the data service (the data type's rules)."""

from __future__ import annotations

import re
import shutil
import uuid
from pathlib import Path

import httpx

from felles.apps import deployment
from felles.authorization import service as authorization
from felles.core.db import Database
from felles.registers.population import seed_demo_personas
from tests.apps.forms.conftest import KARI, FormApp, follow
from tests.apps.forms.test_pages import post, start_instance
from tests.conftest import REFERENCE
from tests.portal.login import local

SUBFORM_TEST = REFERENCE / "altinn-apps" / "altinn-studio-subform-test"


async def deploy_subform_test(database: Database, folder: Path) -> FormApp:
    """The app under an id of its own (the app catalogue on disk is shared by the session's tests)."""
    name = f"subform-{uuid.uuid4().hex[:12]}"
    shutil.copytree(SUBFORM_TEST, folder)
    for relative in ("App/config/applicationmetadata.json", "App/config/authorization/policy.xml"):
        path = folder / relative
        path.write_text(path.read_text(encoding="utf-8-sig").replace("subform-test", name), encoding="utf-8")
    await seed_demo_personas(database)
    await deployment.deploy_folder(database, folder, "test")
    return FormApp(f"ttd/{name}", (await authorization.party_of(database, KARI)).party_id)


async def test_a_subform_element_is_added_filled_in_on_its_pages_listed_and_deleted(
        client: httpx.AsyncClient, database: Database, tmp_path: Path) -> None:
    app = await deploy_subform_test(database, tmp_path / "subform-test")
    first = await start_instance(client, app)
    assert first.endswith("/Task_1/utfylling")
    page = await client.get(first)
    assert '<h2 class="ds-heading" data-size="xs" id="c-subform-mopeder-title">Dine mopeder</h2>' in page.text
    assert 'value="subform-add:subform-mopeder"' in page.text and ">Legg til moped</button>" in page.text

    # adding opens the new element on the subform's first page, under the task's page
    added = await post(client, first, page.text, action="subform-add:subform-mopeder")
    assert added.status_code == 303, added.text
    subform_path = local(added.headers["location"])
    match = re.fullmatch(rf"{re.escape(first)}/subform-mopeder/([0-9a-f-]+)/moped-utfylling", subform_path)
    assert match, subform_path
    element_id = match[1]
    subform = await client.get(subform_path)
    assert subform.status_code == 200
    assert 'name="RegNo"' in subform.text and 'name="Merke"' in subform.text
    assert 'data-autosave="' + subform_path + '/save"' in subform.text
    # the app's own button closes the subform (a CustomButton's closeSubform): no second one is added
    assert 'value="subform-done"' in subform.text and 'id="subform-done"' not in subform.text

    saved = await post(client, subform_path + "/save", subform.text, RegNo="AB1234", Merke="Vespa", Modell="GTS")
    assert saved.status_code == 200 and 'value="Vespa"' in saved.text
    back = await post(client, subform_path, saved.text, action="subform-done")
    assert back.status_code == 303 and local(back.headers["location"]) == first
    page = await follow(client, back)
    assert re.search(r"<td>AB1234</td><td>Vespa</td><td>[^<]+</td>", page.text), page.text
    assert f'/subform-mopeder/{element_id}/moped-utfylling" id="c-subform-mopeder-edit-0"' in page.text

    # the main form's data is its own: the subform's fields are not in it
    assert 'name="RegNo"' not in page.text

    # an element of another data type, or none at all, is not a subform page
    missing = await client.get(subform_path.replace(element_id, str(uuid.uuid4())))
    assert missing.status_code == 404

    deleted = await post(client, first, page.text, action=f"subform-delete:{element_id}")
    page = await follow(client, deleted)
    assert "AB1234" not in page.text and "Ingen er lagt til." in page.text
    gone = await client.get(subform_path)
    assert gone.status_code == 404
