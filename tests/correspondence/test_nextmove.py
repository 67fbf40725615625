"""The next-move message API at eFormidling's paths, as a case system uses it: capabilities, sending in steps and
in one multipart request, the conversation and the status feed; a sender sees only its own messages."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pytest

from felles.authorization import service as authorization_service
from felles.core.audit import Actor
from felles.core.clock import clock, utcnow
from felles.core.ids import uuid7
from felles.correspondence import digitalpost, nextmove, printing
from felles.correspondence.demo import EFORMIDLING_SENDERS
from felles.correspondence.nextmove_api import SEND_SCOPE
from felles.identity.cli import DIGDIR
from tests.conftest import bearer, forget_cached_authorization
from tests.correspondence.letters_support import (  # noqa: F401 - personas and nextmove_sender are fixtures
    DIGIPOST,
    KARI,
    REIDUN,
    SENDER,
    nextmove_sender,
    personas,
    run_jobs,
)

pytestmark = pytest.mark.usefixtures("personas", "nextmove_sender")
OTHER_AGENCY = "974761076"
PDF = b"%PDF-1.4\n% a letter\n%%EOF\n"
STANDARDS = {"digital": "urn:no:difi:digitalpost:xsd:digital::digital",
             "print": "urn:no:difi:digitalpost:xsd:fysisk::print"}


def sbd(kind: str = "digital", *, receiver: str = KARI.identifier, sender: str = SENDER,
        message_id: str | None = None) -> dict[str, Any]:
    """A StandardBusinessDocument as eFormidling's own tests send one."""
    business: dict[str, Any] = {"digital": {
        "sikkerhetsnivaa": 3, "hoveddokument": "vedtak.pdf", "avsenderId": "fjordkraft", "tittel": "Vedtak om strøm",
        "spraak": "NO", "digitalPostInfo": {"virkningsdato": "2026-12-10", "aapningskvittering": "false"},
        "varsler": {"epostTekst": "Du har fått post", "smsTekst": "Du har fått post"}, "metadataFiler": {}},
        "print": {"hoveddokument": "vedtak.pdf", "mottaker": {
            "navn": "Reidun Reservert", "adresselinje1": "c/o Sykehjemmet", "adresselinje2": "Bakkeveien 3",
            "postnummer": "6800", "poststed": "FØRDE", "land": "Norge"}, "utskriftsfarge": "SORT_HVIT",
            "posttype": "B_OEKONOMI", "retur": {"returhaandtering": "DIREKTE_RETUR", "mottaker": {
                "navn": "Fjordkraft Demo AS", "adresselinje1": "Postboks 1", "postnummer": "0150",
                "poststed": "OSLO", "land": "Norge"}}},
    }[kind]
    return {
        "standardBusinessDocumentHeader": {
            "businessScope": {"scope": [{
                "scopeInformation": [{"expectedResponseDateTime": (utcnow() + timedelta(days=25)).isoformat()}],
                "identifier": "urn:no:difi:profile:digitalpost:vedtak:ver1.0",
                "instanceIdentifier": str(uuid7()), "type": "ConversationId"}]},
            "documentIdentification": {
                "creationDateAndTime": "2026-12-05T11:35:00+01:00", "instanceIdentifier": message_id or str(uuid7()),
                "standard": STANDARDS[kind], "type": kind, "typeVersion": "2.0"},
            "headerVersion": "1.0",
            "receiver": [{"identifier": {"authority": "iso6523-actorid-upis", "value": receiver}}],
            "sender": [{"identifier": {"authority": "iso6523-actorid-upis", "value": f"0192:{sender}"}}],
        },
        kind: business,
    }


@pytest.fixture
def agency(token) -> dict[str, str]:
    return bearer(token(scopes=[SEND_SCOPE], org=SENDER))


async def send_in_steps(client, headers, document: dict[str, Any]) -> str:
    created = await client.post("/api/messages/out", json=document, headers=headers)
    assert created.status_code == 200, created.text
    message_id = created.json()["standardBusinessDocumentHeader"]["documentIdentification"]["instanceIdentifier"]
    uploaded = await client.put(f"/api/messages/out/{message_id}", content=PDF, params={"title": "Vedtaket"},
                                headers={**headers, "Content-Type": "application/pdf",
                                         "Content-Disposition": 'attachment; filename="vedtak.pdf"'})
    assert uploaded.status_code == 200, uploaded.text
    sent = await client.post(f"/api/messages/out/{message_id}", headers=headers)
    assert sent.status_code == 200, sent.text
    return str(message_id)


async def test_capabilities_of_a_person_name_the_mailbox_and_the_address(client, agency) -> None:
    answer = await client.get(f"/api/capabilities/{KARI.identifier}", headers=agency)
    assert answer.status_code == 200, answer.text
    capabilities = answer.json()["capabilities"]
    assert [item["process"] for item in capabilities] == ["urn:no:difi:profile:digitalpost:info:ver1.0",
                                                         "urn:no:difi:profile:digitalpost:vedtak:ver1.0"]
    first = capabilities[0]
    assert first["serviceIdentifier"] == "DPI"
    assert first["digitalPostAddress"] == {"supplier": DIGIPOST, "address": "kari.nordmann#1234"}
    assert [kind["type"] for kind in first["documentTypes"]] == ["digital", "print"]
    assert first["postAddress"] == {"name": "Kari Nordmann", "street": "Fjordveien 12", "postalCode": "5003",
                                    "postalArea": "BERGEN", "country": "NORGE"}
    assert first["returnAddress"]["name"] == "Fjordkraft Demo AS"

    reserved = (await client.get(f"/api/capabilities/{REIDUN.identifier}",
                                 params={"process": "urn:no:difi:profile:digitalpost:info:ver1.0"},
                                 headers=agency)).json()["capabilities"]
    assert len(reserved) == 1 and reserved[0].get("digitalPostAddress") is None
    assert (await client.get("/api/capabilities/12345678901", headers=agency)).status_code == 400
    assert (await client.get("/api/capabilities/0192:910753614", headers=agency)).status_code == 404


async def test_a_digital_message_in_steps_reaches_the_mailbox_and_its_statuses_follow(client, agency,
                                                                                     database) -> None:
    message_id = await send_in_steps(client, agency, sbd())
    await run_jobs(database)
    conversation = (await client.get(f"/api/conversations/messageId/{message_id}", headers=agency)).json()
    assert conversation["serviceIdentifier"] == "DPI" and conversation["receiverIdentifier"] == KARI.identifier
    assert conversation["processIdentifier"] == "urn:no:difi:profile:digitalpost:vedtak:ver1.0"
    assert [status["status"] for status in conversation["messageStatuses"]] == ["OPPRETTET", "SENDT", "LEVERT"]
    assert not conversation["finished"]

    (letter,) = await digitalpost.development_mailbox(database, KARI.identifier)
    assert letter.title == "Vedtak om strøm"
    await digitalpost.open_in_development_mailbox(database, KARI.identifier, letter.letter_id)
    feed = (await client.get(f"/api/statuses/{message_id}", headers=agency)).json()
    assert [status["status"] for status in feed["content"]] == ["OPPRETTET", "SENDT", "LEVERT", "LEST"]
    assert {status["messageId"] for status in feed["content"]} == {message_id}
    assert feed["totalElements"] == 4 and feed["first"] and feed["last"]
    by_id = (await client.get(f"/api/conversations/{conversation['id']}", headers=agency)).json()
    assert by_id["finished"] and by_id["messageId"] == message_id


async def test_one_multipart_request_to_a_reserved_person_goes_on_paper_with_the_document(
        client, agency, database, job_settings) -> None:
    document = sbd(receiver=REIDUN.identifier)
    answer = await client.post("/api/messages/out/multipart", headers=agency, data={"sbd": json.dumps(document)},
                               files={"vedtak.pdf": ("vedtak.pdf", PDF, "application/pdf")})
    assert answer.status_code == 200, answer.text
    message_id = answer.json()["standardBusinessDocumentHeader"]["documentIdentification"]["instanceIdentifier"]
    await run_jobs(database)
    conversation = (await client.get(f"/api/conversations/messageId/{message_id}", headers=agency)).json()
    assert [status["status"] for status in conversation["messageStatuses"]] == ["OPPRETTET", "SENDT", "LEVERT"]
    assert conversation["finished"]
    (batch,) = [path.parent for path in (job_settings.data_dir / printing.OUTBOX_FOLDER).glob(
        f"*/{conversation['id']}.pdf")]
    enclosed = [path for path in batch.iterdir() if path.name.startswith(conversation["id"]) and
                not path.name.endswith(f"{conversation['id']}.pdf")]
    assert [path.read_bytes() for path in enclosed] == [PDF]


async def test_a_print_message_goes_to_the_address_it_gives(client, agency, database, job_settings) -> None:
    message_id = await send_in_steps(client, agency, sbd("print", receiver=REIDUN.identifier))
    await run_jobs(database)
    (listed,) = [item for item in await printing.print_outbox(database) if item.recipient == REIDUN.identifier]
    manifest = json.loads((job_settings.data_dir / printing.OUTBOX_FOLDER / str(listed.batch_id) / "batch.json")
                          .read_text())
    (entry,) = manifest["letters"]
    assert entry["messageId"] == message_id
    assert entry["address"] == ["Reidun Reservert", "c/o Sykehjemmet", "Bakkeveien 3", "6800 FØRDE"]


async def test_a_message_without_its_main_document_is_not_sent(client, agency) -> None:
    created = (await client.post("/api/messages/out", json=sbd(), headers=agency)).json()
    message_id = created["standardBusinessDocumentHeader"]["documentIdentification"]["instanceIdentifier"]
    refused = await client.post(f"/api/messages/out/{message_id}", headers=agency)
    assert refused.status_code == 400 and refused.json()["code"] == "main_document_missing"
    assert refused.headers["content-type"] == "application/problem+json"
    missing = (await client.get(f"/api/conversations/messageId/{message_id}", headers=agency)).json()
    assert [status["status"] for status in missing["messageStatuses"]] == ["OPPRETTET"]
    # Not sent, it may be deleted; sent, it may not.
    assert (await client.delete(f"/api/messages/out/{message_id}", headers=agency)).status_code == 200
    assert (await client.get(f"/api/messages/out/{message_id}", headers=agency)).status_code == 404
    sent = await send_in_steps(client, agency, sbd())
    assert (await client.delete(f"/api/messages/out/{sent}", headers=agency)).status_code == 409


@pytest.mark.parametrize(("change", "status", "code"), [
    (lambda d: d["standardBusinessDocumentHeader"]["documentIdentification"].update(type="print"), 422, None),
    (lambda d: d["standardBusinessDocumentHeader"]["receiver"][0]["identifier"].update(value="0192:910753614"),
     400, "receiver_not_person"),
    (lambda d: d["standardBusinessDocumentHeader"]["sender"][0]["identifier"].update(value=f"0192:{OTHER_AGENCY}"),
     403, "sender_not_caller"),
    (lambda d: d["digital"].pop("tittel"), 422, None),
])
async def test_a_bad_document_is_refused_and_nothing_is_created(client, agency, change, status, code) -> None:
    document = sbd()
    change(document)
    refused = await client.post("/api/messages/out", json=document, headers=agency)
    assert refused.status_code == status, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    if code:
        assert refused.json()["code"] == code
    assert (await client.get("/api/messages/out", headers=agency)).json()["totalElements"] == 0


async def test_a_message_id_is_taken_once(client, agency) -> None:
    message_id = str(uuid7())
    assert (await client.post("/api/messages/out", json=sbd(message_id=message_id), headers=agency)).status_code == 200
    again = await client.post("/api/messages/out", json=sbd(message_id=message_id), headers=agency)
    assert again.status_code == 409 and again.json()["code"] == "message_exists"


async def test_a_sender_sees_only_its_own_messages(client, agency, token) -> None:
    message_id = await send_in_steps(client, agency, sbd())
    other = bearer(token(scopes=[SEND_SCOPE], org=OTHER_AGENCY))
    assert (await client.get(f"/api/conversations/messageId/{message_id}", headers=other)).status_code == 404
    assert (await client.get("/api/conversations", headers=other)).json()["totalElements"] == 0
    assert (await client.get(f"/api/statuses/{message_id}", headers=other)).json()["content"] == []
    assert (await client.post(f"/api/messages/out/{message_id}", headers=other)).status_code == 404
    assert (await client.get("/api/conversations", headers=agency)).json()["totalElements"] == 1


async def test_the_api_needs_an_organisations_token_with_the_dpi_scope(client, token) -> None:
    assert (await client.get("/api/conversations")).status_code == 401
    unscoped = bearer(token(scopes=["altinn:correspondence.read"], org=SENDER))
    assert (await client.get("/api/conversations", headers=unscoped)).status_code == 403
    person = bearer(token(scopes=[SEND_SCOPE], person=KARI.identifier))
    refused = await client.get("/api/conversations", headers=person)
    assert refused.status_code == 403


async def test_the_status_feed_reads_on_from_the_last_id_seen(client, agency, database) -> None:
    first = await send_in_steps(client, agency, sbd())
    await run_jobs(database)
    page = (await client.get("/api/statuses", params={"size": 2}, headers=agency)).json()
    assert [status["status"] for status in page["content"]] == ["OPPRETTET", "SENDT"]
    assert page["totalPages"] == 2 and not page["last"]
    after = page["content"][-1]["id"] + 1
    second = await send_in_steps(client, agency, sbd(receiver=REIDUN.identifier))
    await run_jobs(database)
    rest = (await client.get("/api/statuses", params={"fromId": after}, headers=agency)).json()["content"]
    assert [(status["messageId"], status["status"]) for status in rest] == [
        (first, "LEVERT"), (second, "OPPRETTET"), (second, "SENDT"), (second, "LEVERT")]
    sent = (await client.get("/api/conversations", params={"finished": True}, headers=agency)).json()
    assert [item["messageId"] for item in sent["content"]] == [second]


async def test_the_status_queue_is_peeked_and_taken_until_empty(client, agency, database, token) -> None:
    message_id = await send_in_steps(client, agency, sbd(receiver=REIDUN.identifier))
    await run_jobs(database)
    other = bearer(token(scopes=[SEND_SCOPE], org=OTHER_AGENCY))
    assert (await client.get("/api/statuses/peek", headers=other)).status_code == 204
    seen = []
    while (peeked := await client.get("/api/statuses/peek", headers=agency)).status_code == 200:
        status = peeked.json()
        assert status["messageId"] == message_id
        assert (await client.delete(f"/api/statuses/{status['id']}", headers=other)).status_code == 404
        assert (await client.delete(f"/api/statuses/{status['id']}", headers=agency)).status_code == 200
        seen.append(status["status"])
    assert peeked.status_code == 204 and seen == ["OPPRETTET", "SENDT", "LEVERT"]
    # Taken off the queue, a status stays in the feed.
    feed = (await client.get(f"/api/statuses/{message_id}", headers=agency)).json()
    assert [status["status"] for status in feed["content"]] == seen


async def statuses(client, headers, message_id: str) -> list[str]:
    feed = (await client.get(f"/api/statuses/{message_id}", headers=headers)).json()
    return [status["status"] for status in feed["content"]]


async def test_a_letter_not_delivered_in_its_lifetime_expires_and_goes_nowhere(client, agency, database) -> None:
    """A person's messages live 24 hours when the SBD gives no expectedResponseDateTime, as a message to an
    organisation does: one still undelivered then (its delivery waited, as when the workers were down) is
    LEVETID_UTLOPT, and neither reaches the mailbox nor goes on paper afterwards."""
    delivered = await send_in_steps(client, agency, sbd())
    await run_jobs(database)
    before = utcnow()
    waiting = {}
    for kind, receiver in (("digital", KARI.identifier), ("print", REIDUN.identifier)):
        document = sbd(kind, receiver=receiver)
        document["standardBusinessDocumentHeader"]["businessScope"]["scope"][0].pop("scopeInformation")
        waiting[kind] = await send_in_steps(client, agency, document)
        conversation = (await client.get(f"/api/conversations/messageId/{waiting[kind]}", headers=agency)).json()
        assert abs(datetime.fromisoformat(conversation["expiry"]) - (before + nextmove.DEFAULT_LIFETIME)) < \
            timedelta(seconds=5)

    clock.advance(nextmove.DEFAULT_LIFETIME + timedelta(seconds=5))
    await run_jobs(database)
    for kind, message_id in waiting.items():
        feed = (await client.get(f"/api/statuses/{message_id}", headers=agency)).json()["content"]
        assert [status["status"] for status in feed] == ["OPPRETTET", "LEVETID_UTLOPT"], kind
        assert feed[-1]["description"].startswith("Levetiden for meldingen er utgått")
        assert (await client.get(f"/api/conversations/messageId/{message_id}", headers=agency)).json()["finished"]
    assert [letter.title for letter in await digitalpost.development_mailbox(database, KARI.identifier)] == [
        "Vedtak om strøm"]
    assert await printing.print_outbox(database) == []
    # The message delivered within its lifetime stays delivered.
    assert await statuses(client, agency, delivered) == ["OPPRETTET", "SENDT", "LEVERT"]


# --- who may send: the resource registry and the PDP --------------------------------------------------------------
async def test_the_pdp_lets_the_resources_owner_and_its_allowed_senders_send(client, agency, token) -> None:
    # Fjordkraft is on Digdir's access list of senders; Digdir owns the DPI resource.
    assert (await client.post("/api/messages/out", json=sbd(), headers=agency)).status_code == 200
    owner = bearer(token(scopes=[SEND_SCOPE], org=DIGDIR))
    assert (await client.post("/api/messages/out", json=sbd(sender=DIGDIR), headers=owner)).status_code == 200


async def test_a_sender_the_pdp_does_not_permit_sends_nothing(client, token) -> None:
    other = bearer(token(scopes=[SEND_SCOPE], org=OTHER_AGENCY))
    document = sbd(sender=OTHER_AGENCY)
    in_steps = await client.post("/api/messages/out", json=document, headers=other)
    in_one = await client.post("/api/messages/out/multipart", headers=other, data={"sbd": json.dumps(document)},
                               files={"vedtak.pdf": ("vedtak.pdf", PDF, "application/pdf")})
    for refused in (in_steps, in_one):
        assert refused.status_code == 403, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["code"] == "sender_not_permitted"
        assert "eformidling-dpi-meldingstjeneste" in refused.json()["detail"]
    assert (await client.get("/api/messages/out", headers=other)).json()["totalElements"] == 0


async def test_a_message_naming_an_unknown_resource_is_refused(client, agency) -> None:
    document = sbd("print", receiver=REIDUN.identifier)
    document["print"]["dpi"] = {"resourceId": "no-such-resource"}
    refused = await client.post("/api/messages/out", json=document, headers=agency)
    assert refused.status_code == 400 and refused.json()["code"] == "unknown_resource", refused.text
    assert refused.json()["resourceId"] == "no-such-resource"
    assert (await client.get("/api/messages/out", headers=agency)).json()["totalElements"] == 0


async def test_a_sender_taken_off_the_list_before_it_sends_sends_nothing(client, agency, database) -> None:
    created = (await client.post("/api/messages/out", json=sbd(), headers=agency)).json()
    message_id = created["standardBusinessDocumentHeader"]["documentIdentification"]["instanceIdentifier"]
    uploaded = await client.put(f"/api/messages/out/{message_id}", content=PDF, headers={
        **agency, "Content-Type": "application/pdf", "Content-Disposition": 'attachment; filename="vedtak.pdf"'})
    assert uploaded.status_code == 200, uploaded.text
    await authorization_service.set_access_list_members(database, Actor(f"organization:{DIGDIR}"), DIGDIR, "digdir",
                                                        EFORMIDLING_SENDERS, [])
    forget_cached_authorization()
    refused = await client.post(f"/api/messages/out/{message_id}", headers=agency)
    assert refused.status_code == 403 and refused.json()["code"] == "sender_not_permitted", refused.text
    conversation = (await client.get(f"/api/conversations/messageId/{message_id}", headers=agency)).json()
    assert [status["status"] for status in conversation["messageStatuses"]] == ["OPPRETTET"]
    assert await digitalpost.development_mailbox(database, KARI.identifier) == []
