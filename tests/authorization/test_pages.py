"""The access-management pages (Tilgangsstyring) over HTTP: a TestID person logs in through Felles's ID-porten,
chooses whom to act for, sees who has access, gives and removes packages and rights, and answers access
requests; others are refused with a page that says why."""

from __future__ import annotations

import re
from urllib.parse import urlencode

import pytest

from felles.authorization import schemas as s
from felles.authorization import service_access_requests, service_delegations
from felles.core.audit import Actor
from felles.registers.population import DEMO_ACCOUNTING_FIRM, DEMO_COMPANY, DEMO_PERSONS, seed_demo_personas
from tests.authorization.world import DELEGABLE_RESOURCE, add_delegable_resource
from tests.portal.login import form_token, local, log_in

KARI, OLA, INGRID, AISHA = DEMO_PERSONS[0], DEMO_PERSONS[1], DEMO_PERSONS[4], DEMO_PERSONS[6]
UI = "/accessmanagement/ui"
RESOURCE = DELEGABLE_RESOURCE
TAX_BASE = "urn:altinn:accesspackage:skattegrunnlag"


@pytest.fixture(autouse=True)
async def world(database) -> None:
    """The demo personas (Ingrid Bakken is daglig leder of Fjordkraft Demo AS) and one delegable resource."""
    await seed_demo_personas(database)
    await add_delegable_resource(database)


def page(path: str, party: str = DEMO_COMPANY, **query: str) -> str:
    return f"{UI}/{path}?" + urlencode({"party": party, **query})


def to_ola(**extra: str) -> dict[str, str]:
    return {"party": DEMO_COMPANY, "recipient_kind": "person", "national_identity_number": OLA.identifier,
            "last_name": "Nordmann", **extra}


async def given_by_company(database) -> list[s.DelegationPublic]:
    return await service_delegations.list_delegations(database, INGRID.identifier, party=DEMO_COMPANY)


async def test_the_daglig_leder_chooses_the_company_and_sees_its_roles(client):
    response = await log_in(client, f"{UI}/parties", INGRID.identifier)
    assert response.status_code == 200
    assert "Velg hvem du vil representere" in response.text
    assert f'data-party="{DEMO_COMPANY}"' in response.text and "Fjordkraft Demo AS" in response.text
    assert f"users?party={DEMO_COMPANY}" in response.text

    users = await client.get(page("users"))
    assert users.status_code == 200
    assert f"Du styrer tilganger for Fjordkraft Demo AS (org.nr. {DEMO_COMPANY})." in users.text
    assert "Ingen har fått tilgang ennå." in users.text
    # The roles in Enhetsregisteret: they give access without any delegation.
    assert re.search(r'data-role="DAGL"><td>[^<]+</td><td>Ingrid Bakken</td>', users.text)
    assert re.search(r'data-role="REGN"><td>[^<]+</td><td>Regnskap Demo AS</td>', users.text)
    assert users.headers["cache-control"] == "no-store"


async def test_give_a_package_to_a_person_see_it_and_remove_it(client, database):
    response = await log_in(client, page("give-package", q="skattegrunnlag"), INGRID.identifier)
    assert response.status_code == 200
    assert f'value="{TAX_BASE}"' in response.text
    assert 'value="urn:altinn:accesspackage:merverdiavgift"' not in response.text  # the search narrowed the list
    token = form_token(response.text)

    given = await client.post(f"{UI}/give-package", data=to_ola(package=TAX_BASE, form_token=token))
    assert given.status_code == 303 and local(given.headers["location"]) == page("users", done="package")
    [delegation] = await given_by_company(database)
    assert (delegation.toParty, delegation.package, delegation.delegatedBy) == (
        OLA.identifier, TAX_BASE, f"person:{INGRID.identifier}")

    users = await client.get(local(given.headers["location"]))
    assert "Tilgangspakken er gitt." in users.text
    row = re.search(rf'<tr data-holder="{OLA.identifier}" data-delegation="{delegation.id}">.*?</tr>', users.text,
                    re.S)
    assert row and "Ola Nordmann" in row.group(0) and "Tilgangspakke: Skattegrunnlag" in row.group(0)
    assert "født 02.11.1982" in row.group(0)

    removed = await client.post(f"{UI}/revoke", data={"party": DEMO_COMPANY, "delegation_id": str(delegation.id),
                                                      "form_token": token})
    assert removed.status_code == 303 and local(removed.headers["location"]) == page("users", done="revoked")
    assert await given_by_company(database) == []
    assert "Ingen har fått tilgang ennå." in (await client.get(page("users"))).text


async def test_a_person_is_found_only_by_fodselsnummer_and_last_name_together(client, database):
    token = form_token((await log_in(client, page("give-package"), INGRID.identifier)).text)
    wrong_name = await client.post(f"{UI}/give-package",
                                   data=to_ola(package=TAX_BASE, form_token=token, last_name="Hansen"))
    assert wrong_name.status_code == 404
    assert "Vi fant ingen person med dette fødselsnummeret og etternavnet" in wrong_name.text
    assert 'value="Hansen"' in wrong_name.text and f'value="{TAX_BASE}" checked' in wrong_name.text  # kept
    no_package = await client.post(f"{UI}/give-package", data=to_ola(form_token=token))
    assert no_package.status_code == 400 and "Velg en tilgangspakke." in no_package.text
    unknown_firm = await client.post(f"{UI}/give-package", data={
        "party": DEMO_COMPANY, "recipient_kind": "organization", "organization_number": "123456785",
        "package": TAX_BASE, "form_token": token})
    assert unknown_firm.status_code == 404 and "ingen virksomhet med dette organisasjonsnummeret" in unknown_firm.text
    assert await given_by_company(database) == []

    firm = await client.post(f"{UI}/give-package", data={
        "party": DEMO_COMPANY, "recipient_kind": "organization", "organization_number": DEMO_ACCOUNTING_FIRM,
        "package": TAX_BASE, "form_token": token})
    assert firm.status_code == 303
    assert [d.toParty for d in await given_by_company(database)] == [DEMO_ACCOUNTING_FIRM]


async def test_a_single_right_only_if_the_giver_has_it(client, database):
    response = await log_in(client, page("give-right"), INGRID.identifier)
    assert f'<option value="{RESOURCE}">Ansettelsesforhold</option>' in response.text
    token = form_token(response.text)
    refused = await client.post(f"{UI}/give-right", data=to_ola(resource=RESOURCE, actions="sign", form_token=token))
    assert refused.status_code == 403 and "Du kan bare gi rettigheter du har selv." in refused.text
    given = await client.post(f"{UI}/give-right", data=to_ola(resource=RESOURCE, actions="read", form_token=token))
    assert given.status_code == 303 and local(given.headers["location"]) == page("users", done="right")
    [delegation] = await given_by_company(database)
    assert (delegation.resource, delegation.action) == (RESOURCE, "read")
    assert "Enkeltrettighet: Ansettelsesforhold (Lese)" in (await client.get(page("users"))).text


async def test_a_person_gives_access_to_herself(client, database):
    """"Who has access to me": a private person's own packages, given on her own behalf."""
    parties = await log_in(client, f"{UI}/parties", KARI.identifier)
    assert "Kari Nordmann</a> – deg selv" in parties.text
    response = await client.get(page("give-package", party=KARI.identifier, q="skatteforhold"))
    assert "Du styrer tilganger til deg selv." in response.text
    given = await client.post(f"{UI}/give-package", data=to_ola(
        party=KARI.identifier, package="urn:altinn:accesspackage:innbygger-skatteforhold-privatpersoner",
        form_token=form_token(response.text)))
    assert given.status_code == 303
    users = await client.get(page("users", party=KARI.identifier))
    assert "Tilgangspakke: Skatteforhold for privatpersoner" in users.text and "Ola Nordmann" in users.text
    assert 'id="roles"' not in users.text  # a person has no roles in Enhetsregisteret


async def test_a_form_without_the_session_form_token_changes_nothing(client, database):
    await log_in(client, page("give-package"), INGRID.identifier)
    forged = await client.post(f"{UI}/give-package", data=to_ola(package=TAX_BASE, form_token="0" * 64))
    assert forged.status_code == 400 and "Skjemaet er utløpt." in forged.text
    assert await given_by_company(database) == []


async def test_a_board_member_sees_no_buttons_and_the_server_refuses_her(client, database):
    given = s.PackageDelegationCreate(party=DEMO_COMPANY, to=OLA.identifier, package=TAX_BASE)
    delegation = await service_delegations.delegate_package(database, Actor("test"), INGRID.identifier, given)
    parties = await log_in(client, f"{UI}/parties", AISHA.identifier)
    assert f'data-party="{DEMO_COMPANY}"' in parties.text  # as a board member she acts for the company in services
    for path in ("users", "give-package", "give-right", "requests"):
        shown = await client.get(page(path))
        assert shown.status_code == 200
        assert "bare hovedadministrator, tilgangsstyrer eller en med nøkkelrolle" in shown.text
        assert "<button" not in shown.text and "<form" not in shown.text, path

    # A form of her own (she manages access to herself) carries a valid token; the server still says no.
    token = form_token((await client.get(page("give-package", party=AISHA.identifier))).text)
    refused = await client.post(f"{UI}/revoke", data={"party": DEMO_COMPANY, "delegation_id": str(delegation.id),
                                                      "form_token": token})
    assert refused.status_code == 403
    assert "Bare hovedadministrator, tilgangsstyrer eller en med nøkkelrolle kan styre tilganger" in refused.text
    given = await client.post(f"{UI}/give-package", data=to_ola(package="merverdiavgift", form_token=token))
    assert given.status_code == 403 and "Traceback" not in given.text
    assert [d.id for d in await given_by_company(database)] == [delegation.id]


async def test_approve_and_reject_access_requests(client, database):
    ola, kari = Actor(f"person:{OLA.identifier}"), Actor(f"person:{KARI.identifier}")
    wanted = await service_access_requests.request_package(database, ola, OLA.identifier, s.PackageRequestCreate(
        party=DEMO_COMPANY, package=TAX_BASE, message="Jeg fører skatten."))
    await service_access_requests.submit_access_request(database, ola, OLA.identifier, wanted.id)
    unwanted = await service_access_requests.request_package(database, kari, KARI.identifier, s.PackageRequestCreate(
        party=DEMO_COMPANY, package="merverdiavgift"))
    await service_access_requests.submit_access_request(database, kari, KARI.identifier, unwanted.id)

    response = await log_in(client, page("requests"), INGRID.identifier)
    assert response.status_code == 200
    assert f'data-request="{wanted.id}"' in response.text and f'data-request="{unwanted.id}"' in response.text
    assert "Jeg fører skatten." in response.text and "Ola Nordmann" in response.text
    token = form_token(response.text)

    approved = await client.post(f"{UI}/requests/approve", data={"party": DEMO_COMPANY, "request_id": str(wanted.id),
                                                                  "form_token": token})
    assert approved.status_code == 303 and local(approved.headers["location"]) == page("requests", done="approved")
    rejected = await client.post(f"{UI}/requests/reject", data={"party": DEMO_COMPANY, "request_id": str(unwanted.id),
                                                                 "form_token": token})
    assert rejected.status_code == 303
    answered = await client.get(local(rejected.headers["location"]))
    assert "Forespørselen er avslått." in answered.text and "Ingen venter på svar." in answered.text
    assert [(d.toParty, d.package) for d in await given_by_company(database)] == [(OLA.identifier, TAX_BASE)]
    statuses = {r.id: r.status for r in await service_access_requests.list_received_access_requests(
        database, INGRID.identifier, DEMO_COMPANY)}
    assert statuses == {wanted.id: s.AccessRequestStatus.APPROVED, unwanted.id: s.AccessRequestStatus.REJECTED}

    again = await client.post(f"{UI}/requests/approve", data={"party": DEMO_COMPANY, "request_id": str(unwanted.id),
                                                               "form_token": token})
    assert again.status_code == 409 and "allerede besvart" in again.text


async def test_pages_speak_english_and_refuse_parties_not_yours(client):
    await log_in(client, page("users"), INGRID.identifier)
    english = await client.get(page("users", lang="en"))
    assert "Who has access" in english.text and english.headers["content-language"] == "en"
    assert "Roles in the Central Coordinating Register" in english.text
    not_yours = await client.get(page("users", party=KARI.identifier))
    assert not_yours.status_code == 403
    assert "You cannot represent this person or organisation." in not_yours.text
    without_party = await client.get(f"{UI}/users")
    assert without_party.status_code == 303 and local(without_party.headers["location"]) == f"{UI}/parties"


async def test_a_forged_login_answer_is_refused(client):
    response = await client.get("/portal/login/callback?code=x&state=y")
    assert response.status_code == 400 and "Innloggingen ble ikke fullført." in response.text


async def test_roles_counts_and_the_organisation_number_read_well_in_every_language(client):
    await log_in(client, page("users"), INGRID.identifier)
    english = await client.get(page("users", lang="en"))
    assert f"You manage access for Fjordkraft Demo AS (org. no. {DEMO_COMPANY})." in english.text
    # Enhetsregisteret names its roles in Norwegian only; the page names them in the reader's language.
    assert re.search(r'data-role="DAGL"><td>Managing Director</td>', english.text)
    assert re.search(r'data-role="REGN"><td>Accountant</td>', english.text)
    nynorsk = await client.get(page("users", lang="nn"))
    assert re.search(r'data-role="DAGL"><td>Dagleg leiar</td>', nynorsk.text)
    for language, search, one in (("nb", "skattegrunnlag", "(1 pakke)"), ("nn", "skattegrunnlag", "(1 pakke)"),
                                  ("en", "tax base", "(1 package)")):
        found = await client.get(page("give-package", q=search, lang=language))
        assert one in found.text and "(1 pakker)" not in found.text and "(1 packages)" not in found.text
