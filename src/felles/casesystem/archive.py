"""A case as a Noark 5 arkivmelding (Arkivverket's schema, version 2): a case file (saksmappe) for the application
with one registry entry (journalpost) for the outgoing decision, whose main document is the decision letter."""

from __future__ import annotations

from datetime import datetime

from lxml import etree

from felles.casesystem.store import Case

NAMESPACE = "http://www.arkivverket.no/standarder/noark5/arkivmelding"
SYSTEM = "Felles referansesaksbehandling"


def _add(parent: etree._Element, name: str, text: str | None = None) -> etree._Element:
    element = etree.SubElement(parent, f"{{{NAMESPACE}}}{name}")
    if text is not None:
        element.text = text
    return element


def arkivmelding(case: Case, title: str, letter_file: str, when: datetime, message_id: str) -> bytes:
    """The arkivmelding.xml of an answered case; `letter_file` names the letter's PDF sent with it."""
    root = etree.Element(f"{{{NAMESPACE}}}arkivmelding", nsmap={None: NAMESPACE})
    _add(root, "system", SYSTEM)
    _add(root, "meldingId", message_id)
    _add(root, "tidspunkt", when.isoformat())
    _add(root, "antallFiler", "1")
    folder = _add(root, "mappe")
    _add(folder, "saksaar", case.reference[:4])
    _add(folder, "sakssekvensnummer", str(case.number))
    _add(folder, "tittel", f"{title} – {case.child_name}")
    entry = _add(folder, "registrering")
    _add(entry, "tittel", title)
    _add(entry, "journalposttype", "Utgående dokument")
    _add(entry, "journalstatus", "Ekspedert")
    party = _add(entry, "korrespondansepart")
    _add(party, "korrespondanseparttype", "Mottaker")
    _add(party, "korrespondansepartNavn", case.applicant_name)
    document = _add(entry, "dokumentbeskrivelse")
    _add(document, "dokumenttype", "Brev")
    _add(document, "dokumentstatus", "Dokumentet er ferdigstilt")
    _add(document, "tittel", f"Vedtak: {case.outcome or ''}")
    _add(document, "tilknyttetRegistreringSom", "Hoveddokument")
    _add(document, "dokumentnummer", "1")
    document_object = _add(document, "dokumentobjekt")
    _add(document_object, "versjonsnummer", "1")
    _add(document_object, "variantformat", "Produksjonsformat")
    _add(document_object, "format", "PDF")
    _add(document_object, "referanseDokumentfil", letter_file)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="utf-8"))
