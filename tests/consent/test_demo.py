"""The demo seeding twice (as ``felles seed --demo`` runs it): the demo services and one consent request to
Kari Nordmann, which she finds on the consent page and accepts."""

from __future__ import annotations

from felles.authorization.demo import INCOME_CONSENT, seed_demo_services
from felles.consent.demo import DEMO_CONSENT_REQUEST, seed_demo_consent_request
from felles.registers.population import DEMO_PERSONS, seed_demo_personas
from tests.portal.login import form_token, log_in

KARI = DEMO_PERSONS[0]


async def test_seeding_the_demo_twice_leaves_one_consent_request_for_kari_to_answer(client, database, settings):
    for _ in range(2):
        await seed_demo_personas(database)
        assert INCOME_CONSENT in [resource.identifier for resource in await seed_demo_services(database)]
        address = await seed_demo_consent_request(database, settings)
    page = f"/accessmanagement/ui/consent/request?id={DEMO_CONSENT_REQUEST}"
    assert address.endswith(page)
    response = await log_in(client, page, KARI.identifier)
    assert response.status_code == 200, response.text
    assert "Skatteetaten gir Regnskap Demo AS opplysninger om <strong>inntekten din</strong> for 2025." in response.text
    assert "Vi trenger inntekten din for å sette opp årsoppgjøret." in response.text
    answered = await client.post("/accessmanagement/ui/consent/request/accept",
                                 data={"id": str(DEMO_CONSENT_REQUEST), "form_token": form_token(response.text)})
    assert answered.status_code == 303
    assert 'data-status="Accepted"' in (await client.get(page)).text
