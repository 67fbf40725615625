"""Process steps without layouts on the form pages: signing runs the sign action then moves on, payment goes to
the payment service's page and on once paid, and the receipt follows (on the receipt engineer's test app)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import httpx

from felles.core.runtime import Runtime
from tests.apps.forms.conftest import KARI, follow, form_token
from tests.apps.receipt.conftest import ReceiptApp, instance_in_task
from tests.portal.login import local, log_in


async def press_step(client: httpx.AsyncClient, page: httpx.Response) -> httpx.Response:
    form = re.search(r'<form method="post" action="([^"]+)" id="step-form">', page.text)
    action = re.search(r'name="action" value="([^"]+)" id="step-action"', page.text)
    assert form is not None and action is not None, page.text
    return await client.post(form[1], data={"form_token": form_token(page.text), "action": action[1]})


async def test_sign_then_pay_then_the_receipt(client: httpx.AsyncClient, runtime: Runtime,
                                              receipt_app: ReceiptApp) -> None:
    instance = await instance_in_task(runtime, receipt_app, "Task_Signering")
    path = f"/{receipt_app.app_id}/instance/{receipt_app.kari_party}/{instance}"
    signing = await log_in(client, path, KARI)
    assert signing.status_code == 200 and "Steg: Signering" in signing.text
    assert "Kari Nordmann" in signing.text  # the form's summary, to read before signing

    payment = await follow(client, await press_step(client, signing))
    assert payment.status_code == 200 and "Steg: Betaling" in payment.text, payment.text
    to_provider = await press_step(client, payment)
    assert to_provider.status_code == 303
    provider = urlsplit(to_provider.headers["location"]).path
    assert provider.startswith("/apps-payment/fake/")
    back = await client.post(f"{provider}/pay")
    assert back.status_code == 303 and local(back.headers["location"]) == path

    # paid: the same button now moves the process on, to its end
    payment = await client.get(path)
    receipt = await follow(client, await press_step(client, payment))
    assert receipt.status_code == 200 and 'id="receipt-sent"' in receipt.text
