"""The demo services (``felles seed --demo``): on "Gi enkeltrettighet" a daglig leder gives a single right on
the VAT return for her company, and a person one on the parking permit for herself."""

from __future__ import annotations

from urllib.parse import urlencode

from felles.authorization import service, service_delegations
from felles.authorization.demo import INCOME_CONSENT, PARKING, VAT_RETURN, seed_demo_services
from felles.registers.population import DEMO_COMPANY, DEMO_PERSONS, seed_demo_personas
from tests.portal.login import form_token, local, log_in

KARI, OLA, INGRID = DEMO_PERSONS[0], DEMO_PERSONS[1], DEMO_PERSONS[4]
GIVE_RIGHT = "/accessmanagement/ui/give-right"


async def test_a_person_gives_single_rights_on_the_demo_services(client, database):
    await seed_demo_personas(database)
    for _ in range(2):  # seeding again changes nothing
        seeded = await seed_demo_services(database)
    assert [resource.identifier for resource in seeded] == [PARKING, VAT_RETURN, INCOME_CONSENT]
    assert [resource.hasCompetentAuthority.orgcode for resource in seeded] == ["ttd", "skd", "skd"]

    page = await log_in(client, f"{GIVE_RIGHT}?" + urlencode({"party": DEMO_COMPANY}), INGRID.identifier)
    assert page.status_code == 200
    assert "Ingen tjenester kan delegeres ennå." not in page.text
    assert "Mva-melding" in page.text and "Parkeringstillatelse for beboere" in page.text
    assert "Inntektsopplysninger" not in page.text  # a consent is asked for, not delegated
    given = await client.post(GIVE_RIGHT, data={
        "party": DEMO_COMPANY, "form_token": form_token(page.text), "resource": VAT_RETURN,
        "actions": ["read", "sign"], "recipient_kind": "person", "national_identity_number": OLA.identifier,
        "last_name": "Nordmann"})
    assert given.status_code == 303, given.text
    assert local(given.headers["location"]).startswith("/accessmanagement/ui/users")
    delegations = await service_delegations.list_delegations(database, INGRID.identifier, party=DEMO_COMPANY)
    assert sorted((d.resource, d.action) for d in delegations) == [(VAT_RETURN, "read"), (VAT_RETURN, "sign")]
    assert await service.is_permitted(database, OLA.identifier, DEMO_COMPANY, VAT_RETURN, "sign")
    assert not await service.is_permitted(database, OLA.identifier, DEMO_COMPANY, VAT_RETURN, "write")


async def test_a_person_gives_a_right_on_the_municipal_service_for_herself(client, database):
    await seed_demo_personas(database)
    await seed_demo_services(database)
    page = await log_in(client, f"{GIVE_RIGHT}?" + urlencode({"party": KARI.identifier}), KARI.identifier)
    given = await client.post(GIVE_RIGHT, data={
        "party": KARI.identifier, "form_token": form_token(page.text), "resource": PARKING, "actions": ["read"],
        "recipient_kind": "person", "national_identity_number": OLA.identifier, "last_name": "Nordmann"})
    assert given.status_code == 303, given.text
    assert await service.is_permitted(database, OLA.identifier, KARI.identifier, PARKING, "read")
