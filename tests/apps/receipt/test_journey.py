"""A person fills in the form, the process makes its PDF, she signs it and pays through the fake processor's page,
and the instance ends with the receipt, her signature and the payment kept as its data elements."""

from __future__ import annotations

import base64
import hashlib
import io
import json
from urllib.parse import urlsplit

from pypdf import PdfReader

from felles.apps import formdata
from felles.authorization import parties
from felles.core import db
from tests.apps.receipt.conftest import FORM, KARI


async def test_fill_in_sign_pay_and_submit(client, receipt_app, kari) -> None:
    model = receipt_app.definition.models["skjema"]
    assert model.xsd is not None
    xml = formdata.json_to_xml(FORM, model.xsd, model.root_element)
    created = await client.post(f"/{receipt_app.app_id}/instances", headers=kari,
                                params={"instanceOwnerPartyId": receipt_app.kari_party},
                                files={"skjema": ("skjema.xml", xml, "application/xml")})
    assert created.status_code == 201, created.text
    path = f"/{receipt_app.app_id}/instances/{created.json()['id']}"

    # Leaving the form runs the pdf service task and stops in the signing task.
    signing_task = await client.put(f"{path}/process/next", headers=kari)
    assert signing_task.status_code == 200, signing_task.text
    assert signing_task.json()["currentTask"]["elementId"] == "Task_Signering"
    to_sign = (await client.get(f"{path}/signing/data-elements", headers=kari)).json()["dataElements"]
    assert sorted(element["dataType"] for element in to_sign) == ["ref-data-as-pdf", "skjema"]
    pdf = next(element for element in to_sign if element["dataType"] == "ref-data-as-pdf")
    assert pdf["filename"] == "Kvittering parkering.pdf"
    receipt = await client.get(f"{path}/data/{pdf['id']}", headers=kari)
    assert receipt.status_code == 200 and receipt.headers["content-type"] == "application/pdf"
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(receipt.content)).pages)
    assert "Kari Nordmann" in text and "Sone B – ytre by" in text
    assert (await client.get(f"{path}/signing", headers=kari)).json() == {"signeeStates": []}
    assert (await client.get(f"{path}/signing/organizations", headers=kari)).json() == {"organizations": []}

    # Nobody has signed: the task is not left without a signature by another action than sign.
    signed = await client.post(f"{path}/actions", headers=kari, json={"action": "sign"})
    assert signed.status_code == 200, signed.text
    signature = next(element for element in signed.json()["instance"]["data"] if element["dataType"] == "signatur")
    assert signature["filename"] == "signatur.json" and signature["contentType"] == "application/json"
    states = (await client.get(f"{path}/signing", headers=kari)).json()["signeeStates"]
    assert [(state["partyId"], state["signedTime"] is not None) for state in states] == [
        (receipt_app.kari_party, True)]

    payment_task = await client.put(f"{path}/process/next", headers=kari, json={"action": "sign"})
    assert payment_task.status_code == 200, payment_task.text
    assert payment_task.json()["currentTask"]["elementId"] == "Task_Betaling"
    unpaid = await client.put(f"{path}/process/next", headers=kari, json={"action": "confirm"})
    assert unpaid.status_code == 409
    assert unpaid.json()["validationIssues"][0]["code"] == "PaymentNotCompleted"

    started = await client.post(f"{path}/actions", headers=kari, json={"action": "pay"})
    assert started.status_code == 200, started.text
    page_url = urlsplit(started.json()["redirectUrl"]).path
    page = await client.get(page_url)
    assert page.status_code == 200 and "1700.00 NOK" in page.text and "Fjordvik kommune" in page.text
    paid = await client.post(f"{page_url}/pay")
    assert paid.status_code == 303 and paid.headers["location"].endswith(f"/instance/{created.json()['id']}")
    information = (await client.get(f"{path}/payment", headers=kari)).json()
    assert information["status"] == "Paid" and information["orderDetails"]["totalPriceIncVat"] == 1700

    ended = await client.put(f"{path}/process/next", headers=kari, json={"action": "confirm"})
    assert ended.status_code == 200, ended.text
    assert ended.json()["ended"] is not None
    # After the end, the payment of the task it was in and the order still read back.
    afterwards = await client.get(f"{path}/payment", headers=kari, params={"taskId": "Task_Betaling"})
    assert afterwards.status_code == 200 and afterwards.json()["status"] == "Paid"
    assert (await client.get(f"{path}/payment/order-details", headers=kari)).json()["totalPriceIncVat"] == 1700
    instance = (await client.get(path, headers=kari)).json()
    assert sorted(element["dataType"] for element in instance["data"]) == [
        "betaling", "betalingskvittering", "ref-data-as-pdf", "signatur", "skjema"]
    paid_receipt = next(element for element in instance["data"] if element["dataType"] == "betalingskvittering")
    receipt_text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(
        (await client.get(f"{path}/data/{paid_receipt['id']}", headers=kari)).content)).pages)
    assert "Kvittering for betaling" in receipt_text and "1700.00 NOK" in receipt_text

    # The signature is over what was signed, as Storage writes it: base64 SHA-256 of each signed element.
    document = await client.get(f"{path}/data/{signature['id']}", headers=kari)
    assert document.status_code == 200
    signed_document = json.loads(document.content)
    assert signed_document["signeeInfo"]["personNumber"] == KARI
    for element in to_sign:
        content = await client.get(f"{path}/data/{element['id']}", headers={**kari, "accept": element["contentType"]})
        digest = base64.b64encode(hashlib.sha256(content.content).digest()).decode()
        assert {"dataElementId": element["id"], "sha256Hash": digest, "signed": True} in signed_document[
            "dataElementSignatures"]


async def test_the_pdf_task_runs_when_the_owners_details_are_no_longer_cached(client, receipt_app, kari,
                                                                              monkeypatch) -> None:
    """The receipt names its owner; on an embedded database, looking the owner up in the registers (an audited
    read: a write) inside the step's own writing transaction would wait for that transaction for ever."""
    monkeypatch.setattr(db, "GATE_TIMEOUT_SECONDS", 3.0)
    model = receipt_app.definition.models["skjema"]
    assert model.xsd is not None
    created = await client.post(f"/{receipt_app.app_id}/instances", headers=kari,
                                params={"instanceOwnerPartyId": receipt_app.kari_party},
                                files={"skjema": ("skjema.xml", formdata.json_to_xml(FORM, model.xsd,
                                                                                      model.root_element),
                                                  "application/xml")})
    assert created.status_code == 201, created.text
    # As when the party details the step's own authorization read expire before the receipt is written.
    monkeypatch.setattr(parties, "PARTY_CACHE_SECONDS", 0.0)
    moved = await client.put(f"/{receipt_app.app_id}/instances/{created.json()['id']}/process/next", headers=kari)
    assert moved.status_code == 200, moved.text
    assert moved.json()["currentTask"]["elementId"] == "Task_Signering"
