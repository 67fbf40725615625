"""Altinn's end-user APIs (delegations, client delegation, access requests, authorized parties) take Altinn end-user
tokens only: not a person's ID-porten token issued to an agency's relying party, not the Altinn token exchanged
from it, not the portal's session cookie sent as a Bearer token."""

from __future__ import annotations

import pytest

from felles.core.tokens import Issuer
from felles.portal.login import SESSION_COOKIE
from felles.registers.population import DEMO_ACCOUNTING_FIRM, DEMO_COMPANY, DEMO_PERSONS, seed_demo_personas
from tests.conftest import bearer
from tests.identity.conftest import relying_party_token
from tests.portal.login import log_in

INGRID = DEMO_PERSONS[4]
ENDUSER = "/accessmanagement/api/v1/enduser"
PACKAGE = {"party": DEMO_COMPANY, "to": DEMO_PERSONS[1].identifier,
           "package": "urn:altinn:accesspackage:skattegrunnlag"}
# (method, path, JSON body) of every kind of end-user call: reads and writes.
CALLS = [
    ("POST", f"{ENDUSER}/delegations/accesspackages", PACKAGE),
    ("GET", f"{ENDUSER}/delegations?party={DEMO_COMPANY}", None),
    ("GET", f"{ENDUSER}/authorizedparties", None),
    ("GET", f"{ENDUSER}/clientdelegations/clients?party={DEMO_ACCOUNTING_FIRM}", None),
    ("POST", f"{ENDUSER}/clientdelegations/agents?party={DEMO_ACCOUNTING_FIRM}",
     {"personIdentifier": DEMO_PERSONS[1].identifier, "lastName": "Nordmann"}),
    ("GET", f"{ENDUSER}/clientdelegations/my/clients", None),
    ("GET", f"{ENDUSER}/request/sent", None),
]


@pytest.fixture(autouse=True)
async def world(database) -> None:
    await seed_demo_personas(database)


async def call(client, method: str, path: str, body, headers: dict[str, str]):
    return await client.request(method, path, json=body, headers=headers)


async def test_a_persons_id_porten_token_from_an_agencys_relying_party_opens_no_end_user_api(client, database):
    id_porten = await relying_party_token(client, database, INGRID.identifier)
    exchanged = await client.get("/authentication/api/v1/exchange/idporten", headers=bearer(id_porten))
    assert exchanged.status_code == 200
    for method, path, body in CALLS:
        refused = await call(client, method, path, body, bearer(id_porten))
        assert refused.status_code == 401 and refused.json()["code"] == "invalid_token", (path, refused.text)
        # Exchanged, it is an Altinn token with the relying party's own scope (openid), not the portal's.
        refused = await call(client, method, path, body, bearer(exchanged.text))
        assert refused.status_code == 403 and refused.json()["code"] == "insufficient_scope", (path, refused.text)


async def test_the_portal_session_sent_as_a_bearer_token_opens_no_end_user_api(client):
    assert (await log_in(client, "/accessmanagement/ui/parties", INGRID.identifier)).status_code == 200
    session = client.cookies[SESSION_COOKIE]
    client.cookies.clear()  # a caller holding the cookie's value, not a browser on the portal's pages
    for method, path, body in CALLS:
        refused = await call(client, method, path, body, bearer(session))
        assert refused.status_code == 401 and refused.json()["code"] == "invalid_token", (path, refused.text)


async def test_an_id_porten_token_is_refused_whatever_its_scope(client, token):
    id_porten = token(scopes=["altinn:portal/enduser"], person=INGRID.identifier, issuer=Issuer.IDPORTEN)
    for method, path, body in CALLS:
        refused = await call(client, method, path, body, bearer(id_porten))
        assert refused.status_code == 401, (path, refused.text)


def passed_the_token_check(response) -> bool:
    """Answered, or refused by a rule of access management (not the firm's client administrator ...)."""
    return response.status_code < 400 or (
        response.status_code in (400, 403, 404, 409) and response.json()["code"] not in TOKEN_REFUSALS)


TOKEN_REFUSALS = {"invalid_token", "missing_token", "insufficient_scope", "person_required"}


async def test_an_altinn_end_user_token_opens_them(client, token):
    portal = bearer(token(scopes=[], person=INGRID.identifier))
    for method, path, body in CALLS:
        response = await call(client, method, path, body, portal)
        assert passed_the_token_check(response), (path, response.text)
    # An end-user system's own scope opens its one API: the authorized parties, not the delegations.
    parties_only = bearer(token(scopes=["altinn:accessmanagement/authorizedparties"], person=INGRID.identifier))
    assert (await client.get(f"{ENDUSER}/authorizedparties", headers=parties_only)).status_code == 200
    refused = await client.get(f"{ENDUSER}/delegations?party={DEMO_COMPANY}", headers=parties_only)
    assert refused.status_code == 403 and refused.json()["code"] == "insufficient_scope"
