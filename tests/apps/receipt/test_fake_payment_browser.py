"""The fake payment processor's page in Debian's Chromium: it shows the order, passes axe, loads nothing another
host or the Content-Security-Policy refuses, and paying on it (by keyboard) settles the payment."""

from __future__ import annotations

import pytest

from felles.app import create_app
from felles.apps import payment
from felles.storage import service as storage
from tests.apps.receipt.conftest import instance_in_task, kari_caller, task_context
from tests.conftest import serve_app
from tests.portal.test_browser import chromium_page, serious_accessibility_violations, watch_policy_violations


@pytest.fixture
async def payment_page(runtime, receipt_app, database) -> str:
    """The path of the fake processor's page of a payment Kari has started."""
    instance_id = await instance_in_task(runtime, receipt_app, "Task_Betaling")
    async with database.transaction() as session:
        instance = await storage.instance_row(session, instance_id, lock=True)
        ctx = task_context(session, runtime, receipt_app, instance, "Task_Betaling", await kari_caller(database))
        started = await payment.start_payment(ctx)
    return f"{payment.FAKE_PAGE}/{started['paymentDetails']['paymentId']}"


@pytest.mark.browser
def test_the_fake_payment_page_in_chromium(settings, payment_page: str) -> None:
    with serve_app(create_app(settings, run_worker=False)) as base_url, chromium_page() as page:
        refused = watch_policy_violations(page)
        outside: list[str] = []
        page.on("request", lambda request: outside.append(request.url)
                if not request.url.startswith(base_url) else None)
        page.goto(f"{base_url}{payment_page}", wait_until="load")
        assert page.locator("h1").inner_text() == "Testbetaling"
        assert "1700.00 NOK" in page.locator("#fake-payment-total").inner_text()
        assert serious_accessibility_violations(page) == []
        page.locator("#fake-pay").focus()
        with page.expect_navigation():
            page.keyboard.press("Enter")
        page.goto(f"{base_url}{payment_page}", wait_until="load")
        assert page.locator("#fake-payment-status").get_attribute("data-status") == "Paid"
        assert refused == [] and outside == []
