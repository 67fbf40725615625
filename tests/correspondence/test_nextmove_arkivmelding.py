"""An arkivmelding through the next-move API, as two case systems use it: the sender asks the receiving
organisation's capabilities, sends a Noark 5 arkivmelding.xml with the document it names, and follows the statuses;
the receiver peeks (locks), pops (downloads) and deletes it from its incoming queue, and its sender sees LEVERT.
Not taken within its lifetime (the SBD's expectedResponseDateTime, 24 hours when it gives none), it gets
LEVETID_UTLOPT and leaves the queue."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import select

from felles.core.clock import clock, utcnow
from felles.core.ids import uuid7
from felles.core.jobs import enqueue
from felles.correspondence import nextmove
from felles.correspondence.letters_models import Letter
from felles.correspondence.nextmove_schemas import DPO_RESOURCE
from felles.registers.population import DEMO_ACCOUNTING_FIRM
from tests.conftest import bearer
from tests.correspondence.letters_support import (  # noqa: F401 - personas and nextmove_sender are fixtures
    KARI,
    SENDER,
    nextmove_sender,
    personas,
    run_jobs,
)

pytestmark = pytest.mark.usefixtures("personas", "nextmove_sender")
RECEIVER = DEMO_ACCOUNTING_FIRM  # Regnskap Demo AS, in Enhetsregisteret
PDF = b"%PDF-1.4\n% vedtaket\n%%EOF\n"
STANDARD = "urn:no:difi:arkivmelding:xsd::arkivmelding"
NORWAY_IN_WINTER = timezone(timedelta(hours=1))


def arkivmelding_xml(*files: str) -> bytes:
    """A Noark 5 arkivmelding with one registry entry whose documents are `files`."""
    documents = "".join(
        f"<dokumentbeskrivelse><dokumenttype>Brev</dokumenttype><dokumentstatus>Dokumentet er ferdigstilt"
        f"</dokumentstatus><tittel>Vedtak</tittel><tilknyttetRegistreringSom>Hoveddokument</tilknyttetRegistreringSom>"
        f"<dokumentnummer>{number}</dokumentnummer><dokumentobjekt><versjonsnummer>1</versjonsnummer>"
        f"<variantformat>Produksjonsformat</variantformat><format>PDF</format>"
        f"<referanseDokumentfil>{name}</referanseDokumentfil></dokumentobjekt></dokumentbeskrivelse>"
        for number, name in enumerate(files, start=1))
    return (f'<?xml version="1.0" encoding="utf-8"?>'
            f'<arkivmelding xmlns="{nextmove.ARKIVMELDING_NAMESPACE}"><system>Sak</system>'
            f"<meldingId>{uuid7()}</meldingId><tidspunkt>2026-12-05T12:00:00+01:00</tidspunkt>"
            f"<antallFiler>{len(files)}</antallFiler><mappe><tittel>Byggesak Fjordveien 12</tittel>"
            f"<registrering><tittel>Vedtak</tittel>{documents}</registrering></mappe></arkivmelding>").encode()


def sbd(*, receiver: str = f"0192:{RECEIVER}", process: str | None = nextmove.ARKIVMELDING_PROCESS) -> dict[str, Any]:
    scope: dict[str, Any] = {"type": "ConversationId", "instanceIdentifier": str(uuid7())}
    if process is not None:
        scope["identifier"] = process
    return {
        "standardBusinessDocumentHeader": {
            "headerVersion": "1.0",
            "sender": [{"identifier": {"authority": "iso6523-actorid-upis", "value": f"0192:{SENDER}"}}],
            "receiver": [{"identifier": {"authority": "iso6523-actorid-upis", "value": receiver}}],
            "documentIdentification": {"standard": STANDARD, "typeVersion": "2.0", "type": "arkivmelding",
                                       "instanceIdentifier": str(uuid7()),
                                       "creationDateAndTime": "2026-12-05T12:00:00+01:00"},
            "businessScope": {"scope": [scope]},
        },
        "arkivmelding": {"sikkerhetsnivaa": 3, "hoveddokument": "vedtak.pdf"},
    }


@pytest.fixture
def sender(token) -> dict[str, str]:
    return bearer(token(scopes=[nextmove.DPO_SCOPE], org=SENDER))


@pytest.fixture
def receiver(token) -> dict[str, str]:
    return bearer(token(scopes=[nextmove.DPO_SCOPE], org=RECEIVER))


async def upload(client, headers, message_id: str, name: str, content: bytes, content_type: str) -> Any:
    return await client.put(f"/api/messages/out/{message_id}", content=content, headers={
        **headers, "Content-Type": content_type, "Content-Disposition": f'attachment; filename="{name}"'})


async def send_in_steps(client, headers, document: dict[str, Any], files: dict[str, bytes]) -> Any:
    created = await client.post("/api/messages/out", json=document, headers=headers)
    assert created.status_code == 200, created.text
    message_id = created.json()["standardBusinessDocumentHeader"]["documentIdentification"]["instanceIdentifier"]
    for name, content in files.items():
        uploaded = await upload(client, headers, message_id, name, content,
                                "application/xml" if name.endswith(".xml") else "application/pdf")
        assert uploaded.status_code == 200, uploaded.text
    return message_id, await client.post(f"/api/messages/out/{message_id}", headers=headers)


async def statuses(client, headers, message_id: str) -> list[str]:
    feed = (await client.get(f"/api/statuses/{message_id}", headers=headers)).json()
    return [status["status"] for status in feed["content"]]


async def test_an_organisation_can_take_an_arkivmelding(client, sender) -> None:
    answer = await client.get(f"/api/capabilities/0192:{RECEIVER}", headers=sender)
    assert answer.status_code == 200, answer.text
    capability = answer.json()["capabilities"][0]
    assert capability["process"] == nextmove.ARKIVMELDING_PROCESS and capability["serviceIdentifier"] == "DPO"
    assert capability["documentTypes"] == [{"type": "arkivmelding", "standard": STANDARD}]
    assert capability["postAddress"]["name"] == "Regnskap Demo AS"
    only = await client.get(f"/api/capabilities/0192:{RECEIVER}", headers=sender,
                            params={"process": nextmove.ARKIVMELDING_PROCESS})
    assert only.json()["capabilities"] == [capability]


async def test_an_arkivmelding_is_peeked_popped_and_deleted_by_the_receiver(client, sender, receiver,
                                                                           token) -> None:
    xml = arkivmelding_xml("vedtak.pdf")
    message_id, sent = await send_in_steps(client, sender, sbd(), {"arkivmelding.xml": xml, "vedtak.pdf": PDF})
    assert sent.status_code == 200, sent.text
    assert await statuses(client, sender, message_id) == ["OPPRETTET", "SENDT", "MOTTATT"]
    conversation = (await client.get(f"/api/conversations/messageId/{message_id}", headers=sender)).json()
    assert conversation["serviceIdentifier"] == "DPO" and conversation["receiverIdentifier"] == RECEIVER
    assert conversation["processIdentifier"] == nextmove.ARKIVMELDING_PROCESS and not conversation["finished"]

    # Another organisation's queue holds nothing of it; the sender cannot read the receiver's queue.
    stranger = bearer(token(scopes=[nextmove.DPO_SCOPE], org=SENDER))
    assert (await client.get("/api/messages/in/peek", headers=stranger)).status_code == 204
    waiting = (await client.get("/api/messages/in", headers=receiver)).json()
    assert waiting["totalElements"] == 1
    # Popping or deleting before the peek locks it is refused.
    assert (await client.get(f"/api/messages/in/pop/{message_id}", headers=receiver)).status_code == 409
    assert (await client.delete(f"/api/messages/in/{message_id}", headers=receiver)).status_code == 409

    peeked = await client.get("/api/messages/in/peek", headers=receiver)
    assert peeked.status_code == 200, peeked.text
    header = peeked.json()["standardBusinessDocumentHeader"]
    assert header["documentIdentification"]["instanceIdentifier"] == message_id
    assert header["sender"][0]["identifier"]["value"] == f"0192:{SENDER}"
    assert peeked.json()["arkivmelding"]["hoveddokument"] == "vedtak.pdf"
    # Locked: a second peek finds nothing more.
    assert (await client.get("/api/messages/in/peek", headers=receiver)).status_code == 204
    assert (await client.get(f"/api/messages/in/pop/{message_id}", headers=stranger)).status_code == 404

    popped = await client.get(f"/api/messages/in/pop/{message_id}", headers=receiver)
    assert popped.status_code == 200 and popped.headers["content-type"] == nextmove.ASIC_CONTENT_TYPE
    with zipfile.ZipFile(io.BytesIO(popped.content)) as archive:
        assert {name: archive.read(name) for name in archive.namelist()} == {"arkivmelding.xml": xml,
                                                                             "vedtak.pdf": PDF}
    deleted = await client.delete(f"/api/messages/in/{message_id}", headers=receiver)
    assert deleted.status_code == 200, deleted.text
    assert deleted.json()["standardBusinessDocumentHeader"]["documentIdentification"]["instanceIdentifier"] == \
        message_id
    assert (await client.get("/api/messages/in", headers=receiver)).json()["totalElements"] == 0
    assert (await client.get(f"/api/messages/in/pop/{message_id}", headers=receiver)).status_code == 404

    assert await statuses(client, sender, message_id) == ["OPPRETTET", "SENDT", "MOTTATT", "LEVERT"]
    finished = (await client.get("/api/conversations", params={"finished": True, "serviceIdentifier": "DPO"},
                                 headers=sender)).json()
    assert [item["messageId"] for item in finished["content"]] == [message_id]


async def test_a_lock_not_followed_by_a_delete_runs_out(client, sender, receiver) -> None:
    message_id, sent = await send_in_steps(client, sender, sbd(), {"arkivmelding.xml": arkivmelding_xml("vedtak.pdf"),
                                                                   "vedtak.pdf": PDF})
    assert sent.status_code == 200, sent.text
    assert (await client.get("/api/messages/in/peek", headers=receiver)).status_code == 200
    clock.advance(nextmove.LOCK_DURATION + timedelta(seconds=1))
    try:
        assert (await client.delete(f"/api/messages/in/{message_id}", headers=receiver)).status_code == 409
        again = await client.get("/api/messages/in/peek", headers=receiver)
        assert again.status_code == 200
        assert again.json()["standardBusinessDocumentHeader"]["documentIdentification"]["instanceIdentifier"] == \
            message_id
    finally:
        clock.reset()


async def test_one_multipart_request_sends_an_arkivmelding(client, sender, receiver) -> None:
    document = sbd(process=None)  # the arkivmelding process is the default
    answer = await client.post("/api/messages/out/multipart", headers=sender, data={"sbd": json.dumps(document)},
                               files=[("arkivmelding.xml", ("arkivmelding.xml", arkivmelding_xml("vedtak.pdf"),
                                                            "application/xml")),
                                      ("vedtak.pdf", ("vedtak.pdf", PDF, "application/pdf"))])
    assert answer.status_code == 200, answer.text
    scope = answer.json()["standardBusinessDocumentHeader"]["businessScope"]["scope"][0]
    assert scope["identifier"] == nextmove.ARKIVMELDING_PROCESS
    peeked = (await client.get("/api/messages/in/peek", headers=receiver,
                               params={"process": nextmove.ARKIVMELDING_PROCESS})).json()
    assert peeked["standardBusinessDocumentHeader"]["businessScope"]["scope"][0]["instanceIdentifier"] == \
        scope["instanceIdentifier"]


@pytest.mark.parametrize(("files", "code"), [
    ({"vedtak.pdf": PDF}, "arkivmelding_missing"),
    ({"arkivmelding.xml": arkivmelding_xml("vedtak.pdf", "vedlegg.pdf"), "vedtak.pdf": PDF}, "document_missing"),
])
async def test_an_arkivmelding_without_its_files_is_not_sent(client, sender, receiver, files, code) -> None:
    message_id, refused = await send_in_steps(client, sender, sbd(), files)
    assert refused.status_code == 400 and refused.json()["code"] == code
    assert refused.headers["content-type"] == "application/problem+json"
    assert await statuses(client, sender, message_id) == ["OPPRETTET"]
    assert (await client.get("/api/messages/in", headers=receiver)).json()["totalElements"] == 0


@pytest.mark.parametrize("content", [b"<arkivmelding", b"<arkivmelding xmlns='urn:other'/>",
                                     b'<!DOCTYPE a [<!ENTITY e "x">]><arkivmelding/>'])
async def test_an_arkivmelding_xml_that_is_no_arkivmelding_is_refused(client, sender, content) -> None:
    created = (await client.post("/api/messages/out", json=sbd(), headers=sender)).json()
    message_id = created["standardBusinessDocumentHeader"]["documentIdentification"]["instanceIdentifier"]
    refused = await upload(client, sender, message_id, "arkivmelding.xml", content, "application/xml")
    assert refused.status_code == 400 and refused.json()["code"] == "invalid_arkivmelding"


@pytest.mark.parametrize(("scopes", "receiver_id", "status", "code"), [
    ([nextmove.DPI_SCOPE], f"0192:{RECEIVER}", 403, "insufficient_scope"),
    ([nextmove.DPO_SCOPE], KARI.identifier, 400, "receiver_not_organization"),
    ([nextmove.DPO_SCOPE], "0192:910753614", 400, "receiver_not_found"),
])
async def test_an_arkivmelding_goes_to_a_known_organisation_with_the_dpo_scope(client, token, scopes, receiver_id,
                                                                               status, code) -> None:
    headers = bearer(token(scopes=scopes, org=SENDER))
    refused = await client.post("/api/messages/out", json=sbd(receiver=receiver_id), headers=headers)
    assert refused.status_code == status and refused.json()["code"] == code, refused.text
    assert (await client.get("/api/messages/out", headers=headers)).json()["totalElements"] == 0


async def test_the_pdp_decides_who_sends_an_arkivmelding(client, sender, receiver, token) -> None:
    # Fjordkraft is on Digdir's access list of senders: its arkivmelding goes through the DPO resource.
    message_id, sent = await send_in_steps(client, sender, sbd(), {"arkivmelding.xml": arkivmelding_xml("vedtak.pdf"),
                                                                   "vedtak.pdf": PDF})
    assert sent.status_code == 200, sent.text
    # An organisation neither owning the resource nor on the list sends nothing.
    stranger = "974761076"
    other = bearer(token(scopes=[nextmove.DPO_SCOPE], org=stranger))
    document = sbd()
    document["standardBusinessDocumentHeader"]["sender"][0]["identifier"]["value"] = f"0192:{stranger}"
    refused = await client.post("/api/messages/out/multipart", headers=other, data={"sbd": json.dumps(document)},
                                files=[(name, (name, content, "application/octet-stream"))
                                       for name, content in FILES.items()])
    assert refused.status_code == 403, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["code"] == "sender_not_permitted" and DPO_RESOURCE in refused.json()["detail"]
    assert (await client.get("/api/messages/out", headers=other)).json()["totalElements"] == 0
    waiting = (await client.get("/api/messages/in", headers=receiver)).json()["content"]
    assert [item["standardBusinessDocumentHeader"]["documentIdentification"]["instanceIdentifier"]
            for item in waiting] == [message_id]


async def test_an_arkivmelding_naming_an_unknown_resource_is_refused(client, sender) -> None:
    document = sbd()
    document["arkivmelding"]["dpo"] = {"resourceId": "no-such-resource"}
    refused = await client.post("/api/messages/out", json=document, headers=sender)
    assert refused.status_code == 400 and refused.json()["code"] == "unknown_resource", refused.text
    assert (await client.get("/api/messages/out", headers=sender)).json()["totalElements"] == 0


async def test_the_incoming_queue_needs_the_dpo_scope(client, token) -> None:
    assert (await client.get("/api/messages/in/peek")).status_code == 401
    dpi_only = bearer(token(scopes=[nextmove.DPI_SCOPE], org=RECEIVER))
    assert (await client.get("/api/messages/in/peek", headers=dpi_only)).status_code == 403
    person = bearer(token(scopes=[nextmove.DPO_SCOPE], person=KARI.identifier))
    assert (await client.get("/api/messages/in", headers=person)).status_code == 403


async def test_the_sender_is_the_tokens_consumer_not_its_supplier(client, token) -> None:
    supplier = "991825827"
    through_supplier = bearer(token(scopes=[nextmove.DPO_SCOPE], org=SENDER, supplier=supplier))
    document = sbd()
    assert (await client.post("/api/messages/out", json=document, headers=through_supplier)).status_code == 200
    claimed = sbd()
    claimed["standardBusinessDocumentHeader"]["sender"][0]["identifier"]["value"] = f"0192:{supplier}"
    refused = await client.post("/api/messages/out", json=claimed, headers=through_supplier)
    assert refused.status_code == 403 and refused.json()["code"] == "sender_not_caller"
    listed = (await client.get("/api/messages/out", headers=through_supplier)).json()
    assert listed["totalElements"] == 1


async def test_a_service_owner_not_in_enhetsregisteret_receives_an_arkivmelding(client, sender, token) -> None:
    tax_office = "974761076"  # Skatteetaten: a service owner of the platform, not in the demo Enhetsregisteret
    found = (await client.get(f"/api/capabilities/0192:{tax_office}", headers=sender)).json()["capabilities"]
    assert found[0]["serviceIdentifier"] == "DPO"
    message_id, sent = await send_in_steps(client, sender, sbd(receiver=f"0192:{tax_office}"),
                                           {"arkivmelding.xml": arkivmelding_xml("vedtak.pdf"), "vedtak.pdf": PDF})
    assert sent.status_code == 200, sent.text
    archive = bearer(token(scopes=[nextmove.DPO_SCOPE], org=tax_office))
    peeked = (await client.get("/api/messages/in/peek", headers=archive)).json()
    assert peeked["standardBusinessDocumentHeader"]["documentIdentification"]["instanceIdentifier"] == message_id


# --- the lifetime ---------------------------------------------------------------------------------------------
FILES = {"arkivmelding.xml": arkivmelding_xml("vedtak.pdf"), "vedtak.pdf": PDF}


def ending(value: str) -> dict[str, Any]:
    """An arkivmelding whose SBD gives `value` as its expectedResponseDateTime."""
    document = sbd()
    document["standardBusinessDocumentHeader"]["businessScope"]["scope"][0]["scopeInformation"] = [
        {"expectedResponseDateTime": value}]
    return document


def in_norway(moment: datetime) -> str:
    return moment.astimezone(NORWAY_IN_WINTER).replace(microsecond=0).isoformat()


async def conversation(client, sender, message_id: str) -> dict[str, Any]:
    answer = await client.get(f"/api/conversations/messageId/{message_id}", headers=sender)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


async def test_an_arkivmelding_not_taken_in_its_lifetime_expires_and_leaves_the_queue(client, database, sender,
                                                                                      receiver) -> None:
    before = utcnow()
    message_id, sent = await send_in_steps(client, sender, sbd(), FILES)
    assert sent.status_code == 200, sent.text
    # No expectedResponseDateTime given: 24 hours, written into the document as the integrasjonspunkt does.
    document = (await client.get(f"/api/messages/out/{message_id}", headers=sender)).json()
    (scope,) = document["standardBusinessDocumentHeader"]["businessScope"]["scope"]
    ends = datetime.fromisoformat(scope["scopeInformation"][0]["expectedResponseDateTime"])
    assert abs(ends - (before + timedelta(hours=24))) < timedelta(seconds=5)
    assert datetime.fromisoformat((await conversation(client, sender, message_id))["expiry"]) == ends
    # The receiver's case system peeks (locks) it, and takes it no further.
    assert (await client.get("/api/messages/in/peek", headers=receiver)).status_code == 200

    clock.advance(ends - utcnow() - timedelta(minutes=1))
    await run_jobs(database)
    assert await statuses(client, sender, message_id) == ["OPPRETTET", "SENDT", "MOTTATT"]
    clock.advance(timedelta(minutes=1, seconds=1))
    await run_jobs(database)

    feed = (await client.get(f"/api/statuses/{message_id}", headers=sender)).json()["content"]
    assert [status["status"] for status in feed] == ["OPPRETTET", "SENDT", "MOTTATT", "LEVETID_UTLOPT"]
    assert feed[-1]["description"].startswith("Levetiden for meldingen er utgått")
    assert (await conversation(client, sender, message_id))["finished"]
    expired = (await client.get("/api/statuses", params={"status": "LEVETID_UTLOPT"}, headers=sender)).json()
    assert [status["messageId"] for status in expired["content"]] == [message_id]
    # Off the receiver's queue: nothing to list, peek, pop or delete.
    assert (await client.get("/api/messages/in", headers=receiver)).json()["totalElements"] == 0
    assert (await client.get("/api/messages/in/peek", headers=receiver)).status_code == 204
    assert (await client.get(f"/api/messages/in/pop/{message_id}", headers=receiver)).status_code == 404
    assert (await client.delete(f"/api/messages/in/{message_id}", headers=receiver)).status_code == 404


async def test_an_arkivmelding_taken_in_its_lifetime_does_not_expire(client, database, sender, receiver) -> None:
    message_id, sent = await send_in_steps(client, sender, sbd(), FILES)
    assert sent.status_code == 200, sent.text
    assert (await client.get("/api/messages/in/peek", headers=receiver)).status_code == 200
    assert (await client.delete(f"/api/messages/in/{message_id}", headers=receiver)).status_code == 200
    clock.advance(nextmove.DEFAULT_LIFETIME + timedelta(hours=1))
    await run_jobs(database)
    assert await statuses(client, sender, message_id) == ["OPPRETTET", "SENDT", "MOTTATT", "LEVERT"]


async def test_the_expected_response_date_time_is_the_lifetime(client, database, sender, receiver) -> None:
    ends = in_norway(utcnow() + timedelta(days=3))
    message_id, sent = await send_in_steps(client, sender, ending(ends), FILES)
    assert sent.status_code == 200, sent.text
    assert datetime.fromisoformat((await conversation(client, sender, message_id))["expiry"]) == \
        datetime.fromisoformat(ends)
    # Past the default lifetime it still waits on the queue.
    clock.advance(nextmove.DEFAULT_LIFETIME + timedelta(hours=1))
    await run_jobs(database)
    assert await statuses(client, sender, message_id) == ["OPPRETTET", "SENDT", "MOTTATT"]
    assert (await client.get("/api/messages/in", headers=receiver)).json()["totalElements"] == 1
    clock.advance(datetime.fromisoformat(ends) - utcnow() + timedelta(seconds=1))
    await run_jobs(database)
    assert await statuses(client, sender, message_id) == ["OPPRETTET", "SENDT", "MOTTATT", "LEVETID_UTLOPT"]
    assert (await client.get("/api/messages/in", headers=receiver)).json()["totalElements"] == 0


async def test_the_expiry_run_again_changes_nothing(client, database, sender) -> None:
    message_id, sent = await send_in_steps(client, sender, ending(in_norway(utcnow() + timedelta(hours=1))), FILES)
    assert sent.status_code == 200, sent.text
    clock.advance(timedelta(hours=1, seconds=1))
    await run_jobs(database)
    expired = ["OPPRETTET", "SENDT", "MOTTATT", "LEVETID_UTLOPT"]
    assert await statuses(client, sender, message_id) == expired
    async with database.transaction() as session:
        letter_id = await session.scalar(select(Letter.id).where(Letter.message_id == message_id))
        await enqueue(session, nextmove.EXPIRY_JOB, {"letterId": str(letter_id)})
    assert await run_jobs(database) == 1
    assert await statuses(client, sender, message_id) == expired


@pytest.mark.parametrize(("value", "code"), [
    ("2026-01-01T12:00:00+01:00", "expected_response_passed"),
    ("neste tirsdag", "invalid_expected_response"),
    ("2099-01-01T12:00:00", "invalid_expected_response"),  # no UTC offset: which moment is meant?
    ("2099-02-30T12:00:00+01:00", "invalid_expected_response"),
])
async def test_a_lifetime_that_has_passed_or_cannot_be_read_is_refused(client, sender, value, code) -> None:
    document = ending(value)
    in_steps = await client.post("/api/messages/out", json=document, headers=sender)
    in_one = await client.post("/api/messages/out/multipart", headers=sender, data={"sbd": json.dumps(document)},
                               files=[(name, (name, content, "application/octet-stream"))
                                      for name, content in FILES.items()])
    for refused in (in_steps, in_one):
        assert refused.status_code == 400, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["code"] == code and "expectedResponseDateTime" in refused.json()["detail"]
    assert (await client.get("/api/messages/out", headers=sender)).json()["totalElements"] == 0


async def test_a_message_whose_lifetime_ended_before_it_was_sent_is_refused(client, sender, receiver) -> None:
    created = await client.post("/api/messages/out", json=ending(in_norway(utcnow() + timedelta(hours=1))),
                                headers=sender)
    assert created.status_code == 200, created.text
    message_id = created.json()["standardBusinessDocumentHeader"]["documentIdentification"]["instanceIdentifier"]
    for name, content in FILES.items():
        assert (await upload(client, sender, message_id, name, content, "application/pdf")).status_code == 200
    clock.advance(timedelta(hours=1, seconds=1))
    refused = await client.post(f"/api/messages/out/{message_id}", headers=sender)
    assert refused.status_code == 400 and refused.json()["code"] == "message_expired", refused.text
    assert await statuses(client, sender, message_id) == ["OPPRETTET"]
    assert (await client.get("/api/messages/in", headers=receiver)).json()["totalElements"] == 0
    # Not sent, it may be deleted.
    assert (await client.delete(f"/api/messages/out/{message_id}", headers=sender)).status_code == 200

