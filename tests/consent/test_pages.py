"""The consent page over HTTP: it logs the person in through Felles's ID-porten (TestID), shows the request in
the person's language, takes the answer — from the person asked, or from one who may consent for the
organisation asked — and refuses anyone else. Whoever manages the organisation's access may revoke its consent
there too."""

from __future__ import annotations

import pytest

from tests.consent.conftest import (
    BFF,
    COMPANY,
    CONSUMER_PATH,
    FOR_ORGANIZATIONS,
    INGRID,
    KARI,
    OLA,
    create_request,
    make_access_manager,
    one_time_resource,
)
from tests.portal.login import form_token, local, log_in

pytestmark = pytest.mark.usefixtures("resources")
PAGE = "/accessmanagement/ui/consent/request"
# The demo company is asked for its accounts; its daglig leder (Ingrid) may consent for it, Kari may not.
ORGANIZATION_ASKED = {
    "from": f"urn:altinn:organization:identifier-no:{COMPANY}",
    "consentRights": [{"action": ["consent"],
                       "resource": [{"type": "urn:altinn:resource", "value": FOR_ORGANIZATIONS}]}],
}


async def test_the_person_logs_in_reads_the_request_and_accepts(client, consumer_headers, person_headers):
    created = await create_request(client, consumer_headers)
    page = f"{PAGE}?id={created['id']}"
    response = await log_in(client, page, KARI.identifier)
    assert response.status_code == 200
    html = response.text
    assert "ønsker å hente opplysninger om deg" in html
    assert "Vi trenger dette for lånesøknaden din." in html
    # The resource's consent text, with the request's metadata in it and its Markdown rendered.
    assert "Skatteetaten gir banken opplysninger om <strong>inntekten din</strong> for 2025." in html
    assert "Ja, jeg gir samtykke" in html and "Nei, jeg gir ikke samtykke" in html
    assert response.headers["x-frame-options"] == "DENY"

    english = await client.get(page + "&lang=en")
    assert "requests information about you" in english.text and "Yes, I consent" in english.text

    await client.get(page + "&lang=nb")  # the language chosen last holds
    answered = await client.post(f"{PAGE}/accept", data={"id": created["id"], "form_token": form_token(html)})
    assert answered.status_code == 303 and local(answered.headers["location"]) == page
    after = await client.get(page)
    assert 'data-status="Accepted"' in after.text and "https://bank.example.no/lan?consent=1" in after.text
    assert "Trekk tilbake samtykket" in after.text
    status = await client.get(f"{CONSUMER_PATH}/{created['id']}", headers=consumer_headers)
    assert status.json()["status"] == "Accepted"

    revoked = await client.post(f"{PAGE}/revoke", data={"id": created["id"], "form_token": form_token(after.text)})
    assert revoked.status_code == 303
    assert 'data-status="Revoked"' in (await client.get(page)).text


async def test_a_second_request_is_answered_with_the_same_session(client, consumer_headers):
    first = await create_request(client, consumer_headers)
    await log_in(client, f"{PAGE}?id={first['id']}", KARI.identifier)
    second = await create_request(client, consumer_headers)
    response = await client.get(f"{PAGE}?id={second['id']}")
    assert response.status_code == 200 and "Ja, jeg gir samtykke" in response.text


async def test_another_person_is_shown_that_the_request_is_not_theirs(client, consumer_headers):
    created = await create_request(client, consumer_headers)
    page = f"{PAGE}?id={created['id']}"
    response = await log_in(client, page, OLA.identifier)
    assert response.status_code == 403 and "gjelder en annen person" in response.text
    # Ola's own request gives him a valid form; he still cannot answer Kari's request with it.
    own = await create_request(client, consumer_headers,
                               **{"from": f"urn:altinn:person:identifier-no:{OLA.identifier}"})
    token = form_token((await client.get(f"{PAGE}?id={own['id']}")).text)
    refused = await client.post(f"{PAGE}/accept", data={"id": created["id"], "form_token": token})
    assert refused.status_code == 403 and "gjelder en annen person" in refused.text
    status = await client.get(f"{CONSUMER_PATH}/{created['id']}", headers=consumer_headers)
    assert status.json()["status"] == "Created"


async def test_a_form_posted_without_the_session_form_token_changes_nothing(client, consumer_headers):
    created = await create_request(client, consumer_headers)
    await log_in(client, f"{PAGE}?id={created['id']}", KARI.identifier)
    forged = await client.post(f"{PAGE}/accept", data={"id": created["id"], "form_token": "0" * 64})
    assert forged.status_code == 400 and "Skjemaet er utløpt" in forged.text
    assert (await client.get(f"{CONSUMER_PATH}/{created['id']}", headers=consumer_headers)).json()["status"] == \
        "Created"


async def test_an_answer_to_a_request_that_changed_meanwhile_is_refused_on_the_page(
        client, consumer_headers, person_headers):
    created = await create_request(client, consumer_headers)
    page = f"{PAGE}?id={created['id']}"
    html = (await log_in(client, page, KARI.identifier)).text
    await client.post(f"{BFF}/consentrequests/{created['id']}/reject", headers=person_headers(KARI.identifier))
    response = await client.post(f"{PAGE}/accept", data={"id": created["id"], "form_token": form_token(html)})
    assert response.status_code == 409
    assert "svaret ditt ble ikke lagret" in response.text and 'data-status="Rejected"' in response.text


async def test_unknown_requests_and_a_forged_login_answer(client, consumer_headers):
    assert (await client.get(f"{PAGE}?id=not-a-uuid")).status_code == 404
    created = await create_request(client, consumer_headers)
    await client.get(f"{PAGE}?id={created['id']}")  # starts a login, remembers its state
    forged = await client.get("/portal/login/callback?code=abc&state=forged")
    assert forged.status_code == 400 and "Innloggingen ble ikke fullført" in forged.text


async def test_the_daglig_leder_answers_for_the_organisation_on_the_page(client, consumer_headers):
    created = await create_request(client, consumer_headers, **ORGANIZATION_ASKED)
    page = f"{PAGE}?id={created['id']}"
    html = (await log_in(client, page, INGRID.identifier)).text
    assert "Ja, jeg gir samtykke" in html and "Banken får se regnskapet." in html
    assert "ønsker å hente opplysninger om Fjordkraft Demo AS" in html  # the organisation asked, not "deg"
    answered = await client.post(f"{PAGE}/accept", data={"id": created["id"], "form_token": form_token(html)})
    assert answered.status_code == 303
    assert 'data-status="Accepted"' in (await client.get(page)).text
    status = await client.get(f"{CONSUMER_PATH}/{created['id']}", headers=consumer_headers)
    assert status.json()["consentRequestEvents"][-1]["performedBy"] == \
        f"urn:altinn:person:identifier-no:{INGRID.identifier}"


async def test_a_person_without_the_right_is_told_so_on_the_page(client, consumer_headers):
    created = await create_request(client, consumer_headers, **ORGANIZATION_ASKED)
    response = await log_in(client, f"{PAGE}?id={created['id']}", KARI.identifier)
    assert response.status_code == 403
    assert "Du har ikke rett til å gi dette samtykket" in response.text and "Ja, jeg gir samtykke" not in response.text
    # Her own request gives her a valid form; she still cannot answer the company's request with it.
    own = await create_request(client, consumer_headers)
    token = form_token((await client.get(f"{PAGE}?id={own['id']}")).text)
    refused = await client.post(f"{PAGE}/accept", data={"id": created["id"], "form_token": token})
    assert refused.status_code == 403 and "Du har ikke rett til å gi dette samtykket" in refused.text
    english = await client.get(f"{PAGE}?id={created['id']}&lang=en")
    assert "You may not give this consent" in english.text
    status = await client.get(f"{CONSUMER_PATH}/{created['id']}", headers=consumer_headers)
    assert status.json()["status"] == "Created"


async def test_only_the_required_delegator_is_shown_the_open_request(client, consumer_headers):
    created = await create_request(client, consumer_headers, **ORGANIZATION_ASKED,
                                   requiredDelegator=f"urn:altinn:person:identifier-no:{KARI.identifier}")
    response = await log_in(client, f"{PAGE}?id={created['id']}", INGRID.identifier)
    assert response.status_code == 403 and "skal besvares av en bestemt person" in response.text


async def test_a_one_time_consent_says_so_instead_of_a_last_day(client, database, consumer_headers):
    one_time = await one_time_resource(database)
    created = await create_request(client, consumer_headers, consentRights=[{
        "action": ["consent"], "resource": [{"type": "urn:altinn:resource", "value": one_time}],
        "metadata": {"inntektsaar": "2025"}}])
    html = (await log_in(client, f"{PAGE}?id={created['id']}", KARI.identifier)).text
    assert "Samtykket gjelder én gangs utlevering av opplysningene." in html
    assert "Samtykket gjelder til og med" not in html


async def test_an_access_manager_of_the_organisation_revokes_its_consent_on_the_page(
        client, database, consumer_headers, person_headers):
    created = await create_request(client, consumer_headers, **ORGANIZATION_ASKED)
    accepted = await client.post(f"{BFF}/consentrequests/{created['id']}/accept",
                                 headers=person_headers(INGRID.identifier))
    assert accepted.status_code == 200
    await make_access_manager(database, KARI.identifier)
    page = f"{PAGE}?id={created['id']}"
    response = await log_in(client, page, KARI.identifier)
    assert response.status_code == 200 and 'data-status="Accepted"' in response.text
    assert "Trekk tilbake samtykket" in response.text and "Ja, jeg gir samtykke" not in response.text
    revoked = await client.post(f"{PAGE}/revoke", data={"id": created["id"], "form_token": form_token(response.text)})
    assert revoked.status_code == 303
    assert 'data-status="Revoked"' in (await client.get(page)).text


async def test_the_overview_lists_the_persons_own_requests_with_links_to_them(client, consumer_headers):
    kari_request = await create_request(client, consumer_headers)
    ola_request = await create_request(client, consumer_headers,
                                       **{"from": f"urn:altinn:person:identifier-no:{OLA.identifier}"})
    overview = await log_in(client, "/accessmanagement/ui/consent", KARI.identifier)
    assert overview.status_code == 200
    assert f"{PAGE}?id={kari_request['id']}" in overview.text
    assert ola_request["id"] not in overview.text
    assert 'data-status="Created"' in overview.text and "Venter på svar" in overview.text

    page = f"{PAGE}?id={kari_request['id']}"
    await client.post(f"{PAGE}/reject",
                      data={"id": kari_request["id"], "form_token": form_token((await client.get(page)).text)})
    after = await client.get("/accessmanagement/ui/consent", params={"lang": "en"})
    assert 'data-status="Rejected"' in after.text and "Declined" in after.text
