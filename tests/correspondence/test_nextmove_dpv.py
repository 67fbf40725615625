"""A `digital_dpv` message through the next-move API becomes an Altinn correspondence to the organisation (DPV):
the sender is let through by the resource registry and the PDP (the correspondence resource's policy), the
organisation reads it in Altinn with the file as an attachment, and its sender sees SENDT, LEVERT and LEST; or FEIL
when the correspondence fails."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from felles.authorization import service as authorization_service
from felles.authorization.decision import ORGANIZATION_ID
from felles.authorization.demo import policy_xml
from felles.core.audit import Actor
from felles.core.clock import clock, utcnow
from felles.core.config import get_settings
from felles.core.ids import uuid7
from felles.core.jobs import Worker, enqueue
from felles.correspondence import nextmove, nextmove_dpv
from felles.correspondence.letters_models import Letter
from felles.correspondence.nextmove_schemas import DPV_RESOURCE
from felles.correspondence.service_history import DPV_FAILED_JOB, PUBLISH_JOB
from felles.registers.population import DEMO_ACCOUNTING_FIRM
from tests.conftest import bearer, forget_cached_authorization
from tests.core.test_virusscan import EICAR, clamd  # noqa: F401 - the real clamd fixture
from tests.correspondence.conftest import API, WRITE, correspondence_resource
from tests.correspondence.letters_support import SENDER, personas, run_jobs  # noqa: F401 - personas is a fixture

pytestmark = pytest.mark.usefixtures("personas")
RECEIVER = DEMO_ACCOUNTING_FIRM
DIGDIR = "991825827"  # owns the DPV resource
NOT_PERMITTED = "974761076"
PDF = b"%PDF-1.4\n% vedlegg\n%%EOF\n"


@pytest.fixture
async def dpv_resource(database) -> str:
    """The DPV correspondence resource, whose policy lets Fjordkraft (the sender) send."""
    actor = Actor(f"organization:{DIGDIR}")
    resource = correspondence_resource(DPV_RESOURCE).model_dump(exclude_none=True)
    resource["hasCompetentAuthority"] = {"organization": DIGDIR, "orgcode": "digdir"}
    await authorization_service.create_resource(database, actor, DIGDIR,
                                                type(correspondence_resource()).model_validate(resource))
    await authorization_service.put_policy(database, actor, DIGDIR, DPV_RESOURCE, policy_xml(
        DPV_RESOURCE, [([(ORGANIZATION_ID, SENDER)], ["write"])]))
    return DPV_RESOURCE


def sbd(*, sender: str = SENDER, dpv: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "standardBusinessDocumentHeader": {
            "headerVersion": "1.0",
            "sender": [{"identifier": {"authority": "iso6523-actorid-upis", "value": f"0192:{sender}"}}],
            "receiver": [{"identifier": {"authority": "iso6523-actorid-upis", "value": f"0192:{RECEIVER}"}}],
            "documentIdentification": {"standard": "urn:no:difi:digitalpost:xsd:digital::digital_dpv",
                                       "typeVersion": "2.0", "type": "digital_dpv",
                                       "instanceIdentifier": str(uuid7())},
            "businessScope": {"scope": [{"type": "ConversationId", "instanceIdentifier": str(uuid7()),
                                         "identifier": "urn:no:difi:profile:digitalpost:info:ver1.0"}]},
        },
        "digital_dpv": {"tittel": "Varsel om tilsyn", "sammendrag": "Vi kommer på tilsyn 12. januar.",
                        "innhold": "Vi kommer på **tilsyn** 12. januar.", "hoveddokument": "varsel.pdf",
                        **({"dpv": dpv} if dpv is not None else {})},
    }


def headers(token, org: str = SENDER, scopes: tuple[str, ...] = (nextmove.DPV_SCOPE,)) -> dict[str, str]:
    return bearer(token(scopes=list(scopes), org=org))


async def statuses(client, sender, message_id: str) -> list[str]:
    feed = (await client.get(f"/api/statuses/{message_id}", headers=sender)).json()
    return [status["status"] for status in feed["content"]]


async def test_capabilities_of_an_organisation_offer_dpv_and_arkivmelding(client, token) -> None:
    found = (await client.get(f"/api/capabilities/0192:{RECEIVER}", headers=headers(token))).json()["capabilities"]
    assert [(item["serviceIdentifier"], item["documentTypes"][0]["type"]) for item in found] == [
        ("DPO", "arkivmelding"), ("DPV", "digital_dpv"), ("DPV", "digital_dpv")]


async def test_a_dpv_message_is_read_in_altinn_and_its_statuses_follow(client, database, token, dpv_resource,
                                                                       job_settings) -> None:
    sender = headers(token)
    document = sbd()
    message_id = document["standardBusinessDocumentHeader"]["documentIdentification"]["instanceIdentifier"]
    assert (await client.post("/api/messages/out", json=document, headers=sender)).status_code == 200
    uploaded = await client.put(f"/api/messages/out/{message_id}", content=PDF, headers={
        **sender, "Content-Type": "application/pdf", "Content-Disposition": 'attachment; filename="varsel.pdf"'})
    assert uploaded.status_code == 200, uploaded.text
    sent = await client.post(f"/api/messages/out/{message_id}", headers=sender)
    assert sent.status_code == 200, sent.text
    assert await statuses(client, sender, message_id) == ["OPPRETTET", "SENDT"]
    await run_jobs(database)
    assert await statuses(client, sender, message_id) == ["OPPRETTET", "SENDT", "LEVERT"]
    conversation = (await client.get(f"/api/conversations/messageId/{message_id}", headers=sender)).json()
    assert conversation["serviceIdentifier"] == "DPV" and not conversation["finished"]

    async with database.transaction() as session:
        correspondence_id = await session.scalar(select(Letter.correspondence_id)
                                                 .where(Letter.message_id == message_id))
    assert correspondence_id is not None
    receiver = bearer(token(scopes=["altinn:correspondence.read"], org=RECEIVER))
    details = (await client.get(f"{API}/correspondence/{correspondence_id}/details", headers=receiver)).json()
    assert details["status"] == "Published" and details["resourceId"] == DPV_RESOURCE
    assert details["content"]["messageTitle"] == "Varsel om tilsyn"
    assert details["recipient"].endswith(RECEIVER)
    (attachment,) = details["content"]["attachments"]
    downloaded = await client.get(f"{API}/correspondence/{correspondence_id}/attachment/{attachment['id']}/download",
                                  headers=receiver)
    assert downloaded.status_code == 200 and downloaded.content == PDF
    assert (await client.post(f"{API}/correspondence/{correspondence_id}/markasread",
                              headers=receiver)).status_code == 200
    assert await statuses(client, sender, message_id) == ["OPPRETTET", "SENDT", "LEVERT", "LEST"]
    assert (await client.get(f"/api/conversations/messageId/{message_id}", headers=sender)).json()["finished"]
    # Running the jobs again makes no second correspondence.
    await run_jobs(database)
    async with database.transaction() as session:
        assert len(list(await session.scalars(select(Letter).where(Letter.message_id == message_id)))) == 1


async def test_a_sender_the_policy_does_not_permit_sends_no_dpv(client, token, dpv_resource) -> None:
    other = headers(token, org=NOT_PERMITTED)
    refused = await client.post("/api/messages/out", json=sbd(sender=NOT_PERMITTED), headers=other)
    assert refused.status_code == 403 and refused.json()["code"] == "sender_not_permitted", refused.text
    assert (await client.get("/api/messages/out", headers=other)).json()["totalElements"] == 0


@pytest.mark.parametrize(("dpv", "scopes", "status", "code"), [
    ({"resourceId": "no-such-resource"}, (nextmove.DPV_SCOPE,), 400, "unknown_resource"),
    (None, (nextmove.DPI_SCOPE, nextmove.DPO_SCOPE), 403, "insufficient_scope"),
])
async def test_a_dpv_message_needs_a_known_resource_and_the_dpv_scope(client, token, dpv_resource, dpv, scopes,
                                                                      status, code) -> None:
    sender = headers(token, scopes=scopes)
    refused = await client.post("/api/messages/out", json=sbd(dpv=dpv), headers=sender)
    assert refused.status_code == status and refused.json()["code"] == code, refused.text
    assert (await client.get("/api/messages/out", headers=sender)).json()["totalElements"] == 0


async def test_a_sender_no_longer_permitted_when_it_is_delivered_gets_feil(client, database, token, dpv_resource,
                                                                          job_settings) -> None:
    sender = headers(token)
    document = sbd()
    document["digital_dpv"].pop("hoveddokument")
    message_id = document["standardBusinessDocumentHeader"]["documentIdentification"]["instanceIdentifier"]
    assert (await client.post("/api/messages/out", json=document, headers=sender)).status_code == 200
    assert (await client.post(f"/api/messages/out/{message_id}", headers=sender)).status_code == 200
    # The owner takes the right to send away before the delivery runs.
    await authorization_service.put_policy(database, Actor(f"organization:{DIGDIR}"), DIGDIR, DPV_RESOURCE,
                                           policy_xml(DPV_RESOURCE, [([(ORGANIZATION_ID, DIGDIR)],
                                                                               ["write"])]))
    forget_cached_authorization()
    await run_jobs(database)
    assert await statuses(client, sender, message_id) == ["OPPRETTET", "SENDT", "FEIL"]
    async with database.transaction() as session:
        assert await session.scalar(select(Letter.correspondence_id).where(Letter.message_id == message_id)) is None
    assert (await client.get(f"/api/conversations/messageId/{message_id}", headers=sender)).json()["finished"]


@pytest.fixture
def altinn_scans_with_clamd(job_settings, clamd, monkeypatch) -> Iterator[None]:  # noqa: F811 - clamd is a fixture
    """The job handlers, and with them Altinn's scan of each attachment, scan with a real clamd; the message API
    (the app's settings) has no scanner, as when the file came in before a scanner was configured."""
    monkeypatch.setenv("FELLES_VIRUS_SCANNER", "clamd")
    monkeypatch.setenv("FELLES_CLAMD_ADDRESS", clamd["unix"])
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


async def test_a_correspondence_that_fails_after_it_was_sent_gives_its_message_feil(
        client, database, token, dpv_resource, altinn_scans_with_clamd) -> None:
    sender = headers(token)
    document = sbd()
    message_id = document["standardBusinessDocumentHeader"]["documentIdentification"]["instanceIdentifier"]
    answer = await client.post("/api/messages/out/multipart", headers=sender, data={"sbd": json.dumps(document)},
                               files={"varsel.pdf": ("varsel.pdf", EICAR, "application/pdf")})
    assert answer.status_code == 200, answer.text
    # One job at a time: the delivery links the letter to its correspondence, then the attachment's scan finds
    # the malware, and the correspondence fails after the letter was linked.
    await Worker(database, concurrency=1).run_until_idle()
    async with database.transaction() as session:
        correspondence_id = await session.scalar(select(Letter.correspondence_id)
                                                 .where(Letter.message_id == message_id))
    assert correspondence_id is not None
    owner = bearer(token(scopes=WRITE, org=SENDER))
    details = (await client.get(f"{API}/correspondence/{correspondence_id}/details", headers=owner)).json()
    assert [event["status"] for event in details["statusHistory"]] == ["Initialized", "Failed"]
    feed = (await client.get(f"/api/statuses/{message_id}", headers=sender)).json()["content"]
    assert [status["status"] for status in feed] == ["OPPRETTET", "SENDT", "FEIL"]
    assert "attachment failed" in feed[-1]["description"]
    assert (await client.get(f"/api/conversations/messageId/{message_id}", headers=sender)).json()["finished"]
    # The failure's job run again changes nothing.
    async with database.transaction() as session:
        await enqueue(session, DPV_FAILED_JOB, {"correspondence": str(correspondence_id)})
    assert await run_jobs(database) == 1
    assert await statuses(client, sender, message_id) == ["OPPRETTET", "SENDT", "FEIL"]



def scanner(monkeypatch, kind: str, address: str = "/nonexistent/clamd.ctl") -> None:
    """The virus scanner the job handlers (Altinn's scan of each attachment) use from now on."""
    monkeypatch.setenv("FELLES_VIRUS_SCANNER", kind)
    monkeypatch.setenv("FELLES_CLAMD_ADDRESS", address)
    get_settings.cache_clear()


async def test_a_dpv_message_whose_lifetime_ends_first_stops_its_correspondence(client, database, token,
                                                                              dpv_resource, job_settings,
                                                                              monkeypatch) -> None:
    scanner(monkeypatch, "clamd")  # unreachable: the attachment waits for its scan, and the correspondence with it
    sender = headers(token)
    document = sbd()
    document["standardBusinessDocumentHeader"]["businessScope"]["scope"][0]["scopeInformation"] = [
        {"expectedResponseDateTime": (utcnow() + timedelta(hours=1)).isoformat()}]
    message_id = document["standardBusinessDocumentHeader"]["documentIdentification"]["instanceIdentifier"]
    answer = await client.post("/api/messages/out/multipart", headers=sender, data={"sbd": json.dumps(document)},
                               files={"varsel.pdf": ("varsel.pdf", PDF, "application/pdf")})
    assert answer.status_code == 200, answer.text
    await run_jobs(database)
    async with database.transaction() as session:
        correspondence_id = await session.scalar(select(Letter.correspondence_id)
                                                 .where(Letter.message_id == message_id))
    owner = bearer(token(scopes=WRITE, org=SENDER))
    details = (await client.get(f"{API}/correspondence/{correspondence_id}/details", headers=owner)).json()
    assert details["status"] == "Initialized"

    clock.advance(timedelta(hours=1, seconds=1))
    await run_jobs(database)
    assert await statuses(client, sender, message_id) == ["OPPRETTET", "SENDT", "LEVETID_UTLOPT"]
    details = (await client.get(f"{API}/correspondence/{correspondence_id}/details", headers=owner)).json()
    assert [event["status"] for event in details["statusHistory"]] == ["Initialized", "Failed"]
    assert details["status"] == "Failed" and details["statusText"] == nextmove_dpv.LIFETIME_ENDED

    # The scanner is back and the attachment is published; the correspondence is not, even by a publish run again.
    scanner(monkeypatch, "none")
    clock.advance(timedelta(hours=2))
    async with database.transaction() as session:
        await enqueue(session, PUBLISH_JOB, {"ids": [str(correspondence_id)]})
    await run_jobs(database)
    details = (await client.get(f"{API}/correspondence/{correspondence_id}/details", headers=owner)).json()
    assert details["status"] == "Failed" and details["content"]["attachments"][0]["status"] == "Published"
    receiver = bearer(token(scopes=["altinn:correspondence.read"], org=RECEIVER))
    assert (await client.get(f"{API}/correspondence/{correspondence_id}/details",
                             headers=receiver)).status_code == 404
    assert await statuses(client, sender, message_id) == ["OPPRETTET", "SENDT", "LEVETID_UTLOPT"]
