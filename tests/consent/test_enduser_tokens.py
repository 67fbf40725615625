"""The consent BFF (read, accept, reject, revoke) takes the person's Altinn end-user token only: not their
ID-porten token issued to an agency's relying party, not the Altinn token exchanged from it, not the portal's
session cookie sent as a Bearer token."""

from __future__ import annotations

import pytest

from felles.core.tokens import Issuer
from felles.portal.login import SESSION_COOKIE
from tests.conftest import bearer
from tests.consent.conftest import BFF, KARI, create_request
from tests.identity.conftest import relying_party_token
from tests.portal.login import log_in

PAGE = "/accessmanagement/ui/consent/request"
pytestmark = pytest.mark.usefixtures("resources")


def calls(request_id: str) -> list[tuple[str, str]]:
    return [("GET", f"{BFF}/consentrequests/{request_id}"), ("POST", f"{BFF}/consentrequests/{request_id}/accept"),
            ("POST", f"{BFF}/consentrequests/{request_id}/reject"), ("POST", f"{BFF}/consents/{request_id}/revoke")]


async def test_a_persons_token_from_an_agencys_relying_party_cannot_answer_their_consent(
        client, database, consumer_headers, person_headers):
    created = await create_request(client, consumer_headers)
    id_porten = await relying_party_token(client, database, KARI.identifier)
    exchanged = await client.get("/authentication/api/v1/exchange/idporten", headers=bearer(id_porten))
    assert exchanged.status_code == 200
    for method, path in calls(created["id"]):
        refused = await client.request(method, path, headers=bearer(id_porten))
        assert refused.status_code == 401 and refused.json()["code"] == "invalid_token", (path, refused.text)
        refused = await client.request(method, path, headers=bearer(exchanged.text))
        assert refused.status_code == 403 and refused.json()["code"] == "insufficient_scope", (path, refused.text)
    still_open = await client.get(f"{BFF}/consentrequests/{created['id']}", headers=person_headers(KARI.identifier))
    assert still_open.json()["status"] == "Created"


async def test_the_portal_session_sent_as_a_bearer_token_cannot_answer_a_consent(client, consumer_headers, token):
    created = await create_request(client, consumer_headers)
    assert (await log_in(client, f"{PAGE}?id={created['id']}", KARI.identifier)).status_code == 200
    session = client.cookies[SESSION_COOKIE]
    client.cookies.clear()  # a caller holding the cookie's value, not a browser on the consent page
    for method, path in calls(created["id"]):
        refused = await client.request(method, path, headers=bearer(session))
        assert refused.status_code == 401 and refused.json()["code"] == "invalid_token", (path, refused.text)
    id_porten = bearer(token(scopes=["altinn:portal/enduser"], person=KARI.identifier, issuer=Issuer.IDPORTEN))
    assert (await client.post(f"{BFF}/consentrequests/{created['id']}/accept", headers=id_porten)).status_code == 401
