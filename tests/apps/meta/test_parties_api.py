"""Whom a person acts for in an app: the parties they may choose, the one chosen (kept in AltinnPartyId), their
profile, and whether they may start the app for a party, as app-lib answers."""

from __future__ import annotations

import httpx
import pytest

from felles.apps import parties
from felles.authorization import service as authorization
from felles.core.audit import Actor
from felles.core.db import Database
from felles.registers import population
from tests.apps.meta.conftest import INGRID, KARI, DeployVariant
from tests.conftest import TokenFactory, bearer

pytestmark = pytest.mark.usefixtures("personas")
PERSONS_ONLY = {"person": True, "organisation": False, "subUnit": False, "bankruptcyEstate": False}


async def _party_id(database: Database, identifier: str) -> int:
    return (await authorization.party_of(database, identifier)).party_id


async def test_a_persons_parties_and_those_the_app_lets_instantiate(
        database: Database, client: httpx.AsyncClient, token: TokenFactory, deploy_variant: DeployVariant) -> None:
    base = await deploy_variant("ttd/meta-persons-only", partyTypesAllowed=PERSONS_ONLY)
    headers = bearer(token(scopes=["altinn:portal/enduser"], person=INGRID))

    listed = (await client.get(f"{base}/api/v1/parties", headers=headers)).json()
    company = next(party for party in listed if party["orgNumber"] == population.DEMO_COMPANY)
    herself = next(party for party in listed if party["partyTypeName"] == parties.PERSON)
    assert company["partyTypeName"] == parties.ORGANISATION and company["name"] == "Fjordkraft Demo AS"
    assert herself["ssn"] == INGRID[:6] + "*****" and herself["partyId"] == await _party_id(database, INGRID)

    allowed = (await client.get(f"{base}/api/v1/parties", params={"allowedToInstantiateFilter": "true"},
                                headers=headers)).json()
    assert [party["partyId"] for party in allowed] == [herself["partyId"]]
    as_the_frontend_asks = await client.get(f"{base}/api/v1/parties?allowedtoinstantiatefilter=true", headers=headers)
    assert as_the_frontend_asks.json() == allowed


async def test_choosing_a_party_keeps_it_in_the_cookie_while_the_person_may_act_for_it(
        database: Database, client: httpx.AsyncClient, token: TokenFactory, deploy_variant: DeployVariant) -> None:
    base = await deploy_variant("ttd/meta-choose")
    headers = bearer(token(scopes=["altinn:portal/enduser"], person=INGRID))
    own_id, company_id = await _party_id(database, INGRID), await _party_id(database, population.DEMO_COMPANY)

    current = await client.get(f"{base}/api/authorization/parties/current", headers=headers)
    assert current.json() == own_id and "set-cookie" not in current.headers
    herself = (await client.get(f"{base}/api/authorization/parties/current",
                                params={"returnPartyObject": "true"}, headers=headers)).json()
    assert herself["person"]["firstName"] == "Ingrid" and herself["person"]["ssn"] == INGRID[:6] + "*****"
    assert (herself["person"]["addressStreetName"], herself["person"]["addressHouseNumber"]) == ("Fjordveien", "12")

    chosen = await client.put(f"{base}/api/v1/parties/{company_id}", headers=headers)
    assert chosen.status_code == 200 and chosen.text == "Party successfully updated"
    assert client.cookies.get(parties.PARTY_COOKIE) == str(company_id)
    company = (await client.get(f"{base}/api/authorization/parties/current",
                                params={"returnPartyObject": "true"}, headers=headers)).json()
    assert company["partyId"] == company_id and company["organization"]["name"] == "Fjordkraft Demo AS"

    refused = await client.put(f"{base}/api/v1/parties/{await _party_id(database, KARI)}", headers=headers)
    assert refused.status_code == 400 and refused.json()["code"] == "party_not_representable"
    assert client.cookies.get(parties.PARTY_COOKIE) == str(company_id)

    client.cookies.set(parties.PARTY_COOKIE, str(await _party_id(database, KARI)), domain="felles.test")
    fallback = await client.get(f"{base}/api/authorization/parties/current", headers=headers)
    assert fallback.json() == own_id and client.cookies.get(parties.PARTY_COOKIE) == str(own_id)


async def test_validate_instantiation_says_why_not_and_for_whom_instead(
        database: Database, client: httpx.AsyncClient, token: TokenFactory, deploy_variant: DeployVariant) -> None:
    base = await deploy_variant("ttd/meta-validate", partyTypesAllowed=PERSONS_ONLY)
    headers = bearer(token(scopes=["altinn:portal/enduser"], person=INGRID))
    own_id = await _party_id(database, INGRID)

    async def validate(party_id: int) -> dict:
        response = await client.post(f"{base}/api/v1/parties/validateInstantiation", params={"partyId": party_id},
                                     headers=headers)
        assert response.status_code == 200
        return response.json()

    assert (await validate(own_id))["valid"] is True
    company = await validate(await _party_id(database, population.DEMO_COMPANY))
    assert company["valid"] is False and "not allowed to instantiate" in company["message"]
    assert [party["partyId"] for party in company["validParties"]] == [own_id]
    stranger = await validate(await _party_id(database, KARI))
    assert stranger["valid"] is False and "does not represent" in stranger["message"]


async def test_a_persons_profile_and_who_has_none(client: httpx.AsyncClient, token: TokenFactory,
                                                  deploy_variant: DeployVariant) -> None:
    base = await deploy_variant("ttd/meta-profile")
    profile = (await client.get(f"{base}/api/v1/profile/user",
                                headers=bearer(token(scopes=["altinn:portal/enduser"], person=KARI)))).json()
    assert (profile["email"], profile["phoneNumber"]) == ("kari.nordmann@eksempel.no", "+4791234567")
    assert profile["party"]["name"] == "Kari Nordmann" and profile["party"]["ssn"] == KARI[:6] + "*****"
    assert profile["userType"] == parties.SSN_IDENTIFIED and profile["profileSettingPreference"]["language"] == "nb"

    organisation = await client.get(f"{base}/api/v1/profile/user",
                                    headers=bearer(token(scopes=["altinn:serviceowner"], org="405003309")))
    assert organisation.status_code == 400 and organisation.json()["code"] == "not_a_person"
    anonymous = await client.get(f"{base}/api/v1/parties")
    assert anonymous.status_code == 401


async def test_prefill_sources_name_fields_as_app_lib_does(database: Database, client: httpx.AsyncClient,
                                                           token: TokenFactory, deploy_variant: DeployVariant) -> None:
    actor = Actor(f"person:{KARI}")
    party = await parties.party_document(database, actor, await _party_id(database, KARI))
    company = await parties.party_document(database, actor, await _party_id(database, population.DEMO_COMPANY))
    profile = {"email": "kari@eksempel.no", "party": party, "profileSettingPreference": {"language": "nn"}}
    person_sources = parties.prefill_sources(party, profile)
    assert person_sources.dsf is not None and person_sources.user_profile is not None
    assert (person_sources.dsf["SSN"], person_sources.dsf["FirstName"]) == (KARI, "Kari")
    assert person_sources.dsf["AddressPostalCode"] == "5003" and person_sources.er is None
    assert person_sources.user_profile["Email"] == "kari@eksempel.no"
    assert person_sources.user_profile["Party.Person.LastName"] == "Nordmann"
    assert person_sources.user_profile["ProfileSettingPreference.Language"] == "nn"
    company_sources = parties.prefill_sources(company, None)
    assert company_sources.er is not None and company_sources.er["OrgNumber"] == population.DEMO_COMPANY
    assert company_sources.dsf is None and company_sources.user_profile is None
