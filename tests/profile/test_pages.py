"""Min profil, the person's settings page: after the portal login, a person marks favourites, confirms an address
with the code sent to it and makes it their notification address for their company; the page says what failed."""

from __future__ import annotations

import pytest

from felles.authorization import service as authorization_service
from tests.portal.login import form_token, local, log_in
from tests.profile.conftest import COMPANY, INGRID, KARI, code_sent_to

pytestmark = pytest.mark.usefixtures("people", "varsling_outbox")
PAGE = "/profile/ui"


async def test_a_person_confirms_an_address_and_is_notified_at_it_for_their_company(client, database):
    page = await log_in(client, PAGE, INGRID.identifier)
    assert page.status_code == 200 and "<h1 class=\"ds-heading\" data-size=\"lg\">Min profil</h1>" in page.text
    assert f'data-party="{COMPANY}"' in page.text and "Fjordkraft Demo AS" in page.text
    token = form_token(page.text)
    company = str((await authorization_service.party_of(database, COMPANY)).party_uuid)

    favourite = await client.post(PAGE + "/favorite", data={"form_token": token, "party": company})
    assert favourite.status_code == 303 and local(favourite.headers["location"]) == PAGE + "?done=favorite_added"
    assert f'data-party="{COMPANY}" data-favourite="true"' in (await client.get(PAGE)).text

    address = "ingrid@fjordkraft.eksempel.no"
    unverified = await client.post(PAGE + "/save-address", data={"form_token": token, "party": company,
                                                                 "email": address})
    assert unverified.status_code == 422 and "Bekreft adressen med en kode først." in unverified.text
    sent = await client.post(PAGE + "/send-code", data={"form_token": token, "address_type": "Email",
                                                        "value": address})
    assert sent.status_code == 303
    pending = await client.get(local(sent.headers["location"]))
    assert f"Koden vi sendte til {address}" in pending.text
    code = await code_sent_to(database, address)
    wrong = await client.post(PAGE + "/verify", data={"form_token": token, "address_type": "Email", "value": address,
                                                      "code": f"{(int(code) + 1) % 1_000_000:06d}"})
    assert wrong.status_code == 422 and "Koden stemmer ikke" in wrong.text
    verified = await client.post(PAGE + "/verify", data={"form_token": token, "address_type": "Email",
                                                         "value": address, "code": code})
    assert local(verified.headers["location"]) == PAGE + "?done=verified"
    saved = await client.post(PAGE + "/save-address", data={"form_token": token, "party": company, "email": address})
    assert local(saved.headers["location"]) == PAGE + "?done=address_saved"
    shown = (await client.get(PAGE)).text
    assert f'id="email-{COMPANY}" name="email" value="{address}"' in shown and f"<li data-type=\"Email\">{address}" \
        in shown


async def test_the_language_chosen_is_the_pages_language_too(client):
    page = await log_in(client, PAGE, KARI.identifier)
    chosen = await client.post(PAGE + "/language", data={"form_token": form_token(page.text), "language": "en"})
    assert local(chosen.headers["location"]) == PAGE + "?done=language&lang=en"
    english = await client.get(local(chosen.headers["location"]))
    assert "<h1 class=\"ds-heading\" data-size=\"lg\">My profile</h1>" in english.text
    assert '<option value="en" selected>' in english.text


async def test_a_form_without_the_sessions_token_or_with_bad_input_changes_nothing(client):
    page = await log_in(client, PAGE, KARI.identifier)
    forged = await client.post(PAGE + "/language", data={"form_token": "0" * 64, "language": "en"})
    assert forged.status_code == 400 and "Skjemaet er utløpt" in forged.text
    bad = await client.post(PAGE + "/send-code", data={"form_token": form_token(page.text), "address_type": "Email",
                                                       "value": "not an address"})
    assert bad.status_code == 400 and 'role="alert"' in bad.text
    unknown = await client.post(PAGE + "/favorite", data={"form_token": form_token(page.text), "party": "nope"})
    assert unknown.status_code == 400
    assert '<option value="nb" selected>' in (await client.get(PAGE)).text


async def test_the_page_asks_for_a_login_first(client):
    response = await client.get(PAGE)
    assert response.status_code == 303 and response.headers["location"].startswith("/idporten/authorize?")
