"""The case system archives an answered case as a Noark 5 arkivmelding through the next-move API: the message is
received in the archive's incoming queue with the decision letter it names."""

from __future__ import annotations

import io
import zipfile

import httpx
from lxml import etree

from felles.casesystem.archive import NAMESPACE, arkivmelding
from felles.casesystem.platform import Credentials, Platform
from felles.casesystem.service import CaseSystem, Settings
from felles.casesystem.store import Case, CaseState, CaseStore
from felles.core.clock import utcnow
from felles.core.pdf import open_pdf_renderer
from felles.core.tokens import required_scopes
from felles.correspondence import nextmove
from felles.identity.cli import seed_platform_scopes
from felles.journey.demo import seed_skedsmo
from felles.registers.population import JOURNEY_FAMILY, SKEDSMO
from tests.conftest import bearer


def answered_case(store: CaseStore) -> Case:
    case = store.add(Case(
        instance_id="50001/0193a1b2-0000-7000-8000-000000000001", app_id="skedsmo/soknad-om-fri", kind="leave",
        child_id=JOURNEY_FAMILY.line.identifier, child_name="Line Kjeller",
        applicant_id=JOURNEY_FAMILY.heidi.identifier, applicant_name="Heidi Kjeller",
        details={"FraDato": "2026-12-14", "TilDato": "2026-12-23", "address": ["Kjellerveien 24", "2007", "KJELLER"]},
        received_at=utcnow().isoformat(), state=CaseState.DECIDED, outcome="innvilget", decided_by="regelmotor",
        reasons=["8 skoledager utenom prøveuker er innenfor reglene."], correspondence_id="sent-before"))
    assert case is not None
    return case


def test_the_arkivmelding_names_the_case_and_its_letter() -> None:
    case = answered_case(CaseStore(None))
    root = etree.fromstring(arkivmelding(case, "Svar på søknad om fri fra skolen", "vedtak-1.pdf", utcnow(), "m-1"))
    ns = {"a": NAMESPACE}
    assert root.findtext("a:mappe/a:tittel", namespaces=ns) == "Svar på søknad om fri fra skolen – Line Kjeller"
    assert root.findtext("a:mappe/a:registrering/a:korrespondansepart/a:korrespondansepartNavn",
                         namespaces=ns) == "Heidi Kjeller"
    assert root.findtext(".//a:dokumentobjekt/a:referanseDokumentfil", namespaces=ns) == "vedtak-1.pdf"


async def test_an_answered_case_goes_to_the_archive_through_next_move(app, client, database, settings, token):
    await seed_platform_scopes(database, required_scopes(), [])
    await seed_skedsmo(database, settings)
    platform = Platform("http://felles.test", Credentials.from_key_file(
        "unused", settings.data_dir / "casesystem" / "skedsmo-saksbehandling.jwk.json", ()),
        transport=httpx.ASGITransport(app=app))
    platform.use_token(token(scopes=[nextmove.DPO_SCOPE], org=SKEDSMO), 300)
    store = CaseStore(None)
    case = answered_case(store)
    system = CaseSystem(platform, store, open_pdf_renderer(settings), Settings(
        app_ids=(), answer_resource="skedsmo-svar", organization=SKEDSMO, archive=SKEDSMO))
    try:
        archived = await system.answer(case)
        assert archived.state is CaseState.ANSWERED and archived.archive_message_id is not None
        assert await platform.message_statuses(archived.archive_message_id) == ["OPPRETTET", "SENDT", "MOTTATT"]
    finally:
        await platform.close()

    archive = bearer(token(scopes=[nextmove.DPO_SCOPE], org=SKEDSMO))
    peeked = await client.get("/api/messages/in/peek", headers=archive)
    assert peeked.status_code == 200, peeked.text
    message_id = peeked.json()["standardBusinessDocumentHeader"]["documentIdentification"]["instanceIdentifier"]
    popped = await client.get(f"/api/messages/in/pop/{message_id}", headers=archive)
    with zipfile.ZipFile(io.BytesIO(popped.content)) as package:
        assert {"arkivmelding.xml", f"vedtak-{case.number}.pdf"} <= set(package.namelist())
        assert package.read(f"vedtak-{case.number}.pdf").startswith(b"%PDF")
