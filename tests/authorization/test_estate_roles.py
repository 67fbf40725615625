"""Digitalt dødsbo (OED) roles: Digitalt dødsbo's events keep the probate court's roles of an estate, the
decision point gives them to policies as ``urn:digitaltdodsbo:rolecode``, and oed-authz's lookups read them."""

from datetime import date

from sqlalchemy import select

from felles.core.audit import AuditEntry
from tests.authorization.world import (
    AUTHORIZE_SCOPE,
    REFERENCE,
    SKD,
    add_persons,
    decide_over_http,
    person_number,
)
from tests.conftest import bearer

INTERNAL = "altinn:dd:internal"
LOOKUP = "altinn:dd:authlookup"
WRITE = "altinn:resourceregistry/resource.write"
DIGDIR = "991825827"
BANK = "910000047"
RESOURCE = "oed-role-formuesfullmakt"  # read/write for urn:digitaltdodsbo:formuesfullmakt
POLICY = (REFERENCE / "pdp" / "resources" / "oed-role-formuesfullmakt.policy.xml").read_bytes()
DECEASED = person_number(date(1940, 4, 4), 1)
HEIR = person_number(date(1970, 7, 7), 2)
OTHER_HEIR = person_number(date(1972, 8, 8), 3)
FORMUESFULLMAKT = "urn:digitaltdodsbo:formuesfullmakt"
SKIFTEATTEST = "urn:domstolene:digitaltdodsbo:skifteattest"


def event(time: str, *roles: tuple[str, str], event_id: str = "1",
          event_type: str = "no.altinn.events.digitalt-dodsbo.v1.heir-roles-updated") -> dict:
    return {"specversion": "1.0", "id": event_id, "source": "https://digitaltdodsbo.example/api/v1/case/1",
            "type": event_type, "subject": f"/person/{DECEASED}", "time": time,
            "data": {"caseId": "1", "heirRoles": [{"nin": nin, "role": role} for nin, role in roles]}}


async def send(client, token, body: dict, scopes: tuple[str, ...] = (INTERNAL,)):
    return await client.post("/oed/api/v1/eventhandler", json=body,
                             headers={**bearer(token(scopes=list(scopes), org=DIGDIR)),
                                      "Content-Type": "application/cloudevents+json"})


async def roles_of(client, token, **body: str) -> list[tuple[str, str, str]]:
    response = await client.post("/oed/api/v1/authorization/roles/search", json=body,
                                 headers=bearer(token(scopes=[LOOKUP], org=BANK)))
    assert response.status_code == 200, response.text
    return [(r["estateSsn"], r["recipientSsn"], r["role"]) for r in response.json()["roleAssignments"]]


async def decide(client, token, person: str, party: str) -> str:
    return await decide_over_http(client, token, person, party, RESOURCE)


async def add_resource(client, token) -> None:
    owner = bearer(token(scopes=[WRITE], org=SKD))
    document = {"identifier": RESOURCE, "title": {"nb": "Formuesfullmakt", "nn": "Formuesfullmakt",
                                                  "en": "Power of attorney over the estate"},
                "hasCompetentAuthority": {"organization": SKD, "orgcode": "skd"},
                "resourceType": "GenericAccessResource"}
    assert (await client.post("/resourceregistry/api/v1/resource", json=document, headers=owner)).status_code == 201
    assert (await client.put(f"/resourceregistry/api/v1/resource/{RESOURCE}/policy", content=POLICY,
                             headers={**owner, "Content-Type": "application/xml"})).status_code == 200


async def test_the_courts_roles_decide_who_may_act_for_the_estate(client, database, token):
    await add_persons(database, (DECEASED, date(1940, 4, 4)), (HEIR, date(1970, 7, 7)),
                      (OTHER_HEIR, date(1972, 8, 8)))
    await add_resource(client, token)
    assert await decide(client, token, HEIR, DECEASED) == "NotApplicable"

    response = await send(client, token, event("2025-01-10T10:00:00Z", (HEIR, FORMUESFULLMAKT),
                                               (OTHER_HEIR, SKIFTEATTEST)))
    assert response.status_code == 200, response.text
    assert response.json() == {"estateSsn": DECEASED, "added": 2, "removed": 0, "outdated": False}
    assert await decide(client, token, HEIR, DECEASED) == "Permit"
    assert await decide(client, token, OTHER_HEIR, DECEASED) == "NotApplicable"  # skifteattest is another role
    # The role is in the estate, not in the heir's other relations: acting for the other heir gives nothing.
    assert await decide(client, token, HEIR, OTHER_HEIR) == "NotApplicable"

    # The court takes formuesfullmakt from the heir and gives it to the other heir.
    response = await send(client, token, event("2025-02-01T10:00:00Z", (OTHER_HEIR, FORMUESFULLMAKT),
                                               (OTHER_HEIR, SKIFTEATTEST), event_id="2"))
    assert response.json() == {"estateSsn": DECEASED, "added": 1, "removed": 1, "outdated": False}
    assert await decide(client, token, HEIR, DECEASED) == "NotApplicable"
    assert await decide(client, token, OTHER_HEIR, DECEASED) == "Permit"
    async with database.transaction() as session:
        entries = list(await session.scalars(select(AuditEntry).where(
            AuditEntry.resource == "authorization.estate_role")))
    assert len(entries) == 2 and all(entry.actor == f"organization:{DIGDIR}" for entry in entries)


async def test_an_event_older_than_the_last_applied_or_sent_twice_changes_nothing(client, database, token):
    assert (await send(client, token, event("2025-03-01T10:00:00Z", (HEIR, FORMUESFULLMAKT)))).status_code == 200
    late = await send(client, token, event("2025-02-01T10:00:00Z", (OTHER_HEIR, FORMUESFULLMAKT), event_id="0"))
    assert late.json()["outdated"] is True
    again = await send(client, token, event("2025-03-01T10:00:00Z", (HEIR, FORMUESFULLMAKT)))
    assert again.json()["outdated"] is True
    assert await roles_of(client, token, estateSsn=DECEASED) == [(DECEASED, HEIR, FORMUESFULLMAKT)]

    # The court takes every role away; the late event from before that must not give one back.
    emptied = await send(client, token, event("2025-04-01T10:00:00Z", event_id="3"))
    assert emptied.json() == {"estateSsn": DECEASED, "added": 0, "removed": 1, "outdated": False}
    late = await send(client, token, event("2025-03-15T10:00:00Z", (HEIR, FORMUESFULLMAKT), event_id="2"))
    assert late.json()["outdated"] is True
    assert await roles_of(client, token, estateSsn=DECEASED) == []


async def test_the_lookups_answer_by_estate_by_recipient_and_in_oed_authz_shape(client, database, token):
    await send(client, token, event("2025-01-10T10:00:00Z", (HEIR, FORMUESFULLMAKT), (OTHER_HEIR, SKIFTEATTEST)))
    assert await roles_of(client, token, recipientSsn=HEIR) == [(DECEASED, HEIR, FORMUESFULLMAKT)]
    assert await roles_of(client, token, estateSsn=DECEASED, recipientSsn=OTHER_HEIR) == [
        (DECEASED, OTHER_HEIR, SKIFTEATTEST)]
    assert await roles_of(client, token, estateSsn=HEIR) == []

    response = await client.post("/oed/api/v1/pip", json={"from": DECEASED, "to": HEIR},
                                 headers=bearer(token(scopes=[INTERNAL], org=DIGDIR)))
    assert response.status_code == 200, response.text
    [assignment] = response.json()["roleAssignments"]
    assert {key: assignment[key] for key in ("urn:digitaltdodsbo:rolecode", "from", "to")} == {
        "urn:digitaltdodsbo:rolecode": FORMUESFULLMAKT, "from": DECEASED, "to": HEIR}
    assert assignment["created"].startswith("2025-01-10T10:00:00")

    nothing_named = await client.post("/oed/api/v1/authorization/roles/search", json={},
                                      headers=bearer(token(scopes=[LOOKUP], org=BANK)))
    assert nothing_named.status_code == 400
    assert nothing_named.json()["code"] == "estate_or_recipient_required"


async def test_only_digitalt_dodsbo_keeps_the_roles_and_only_lookup_clients_read_them(client, database, token):
    body = event("2025-01-10T10:00:00Z", (HEIR, FORMUESFULLMAKT))
    assert (await client.post("/oed/api/v1/eventhandler", json=body)).status_code == 401
    assert (await send(client, token, body, scopes=(LOOKUP,))).status_code == 403
    pip_as_bank = await client.post("/oed/api/v1/pip", json={"from": DECEASED},
                                    headers=bearer(token(scopes=[LOOKUP], org=BANK)))
    assert pip_as_bank.status_code == 403
    search_unscoped = await client.post("/oed/api/v1/authorization/roles/search", json={"estateSsn": DECEASED},
                                        headers=bearer(token(scopes=[AUTHORIZE_SCOPE], org=BANK)))
    assert search_unscoped.status_code == 403
    assert await roles_of(client, token, estateSsn=DECEASED) == []


async def test_bad_events_are_refused_with_a_problem_and_change_nothing(client, database, token):
    cases = [
        (event("2025-01-10T10:00:00Z", (HEIR, "urn:altinn:rolecode:dagl")), "invalid_estate_role"),
        ({**event("2025-01-10T10:00:00Z", (HEIR, FORMUESFULLMAKT)), "subject": "/org/991825827"}, "invalid_estate"),
        (event("2025-01-10T10:00:00Z", (HEIR, FORMUESFULLMAKT), event_type="no.example.other"), "unknown_event_type"),
        ({**event("2025-01-10T10:00:00Z"), "data": None}, "event_data_missing"),
    ]
    for body, code in cases:
        response = await send(client, token, body)
        assert response.status_code == 400, (code, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["code"] == code
    malformed = await send(client, token, {**event("2025-01-10T10:00:00Z"), "time": "yesterday"})
    assert malformed.status_code in (400, 422)
    assert malformed.headers["content-type"].startswith("application/problem+json")
    assert await roles_of(client, token, estateSsn=DECEASED) == []

    validation = event("2025-01-10T10:00:00Z", event_type="platform.events.validatesubscription")
    response = await send(client, token, {**validation, "data": None})
    assert response.status_code == 200 and response.json()["added"] == 0
