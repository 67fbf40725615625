"""Payment: the order comes from the app's paymentOrder.json (or a default) with its totals; a payment cancelled on
the processor's page can be started again; an order of nothing is skipped; only those who may read the instance see
its payment; the fake processor's page knows only its own payments."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from urllib.parse import urlsplit

from felles.apps import payment
from felles.apps.definition import load_app
from felles.core.config import Environment, Settings
from felles.storage import service as storage
from tests.apps.receipt.conftest import APP_FOLDER, instance_in_task, kari_caller, task_context


def test_the_order_is_the_apps_with_its_totals_or_a_default(tmp_path: Path) -> None:
    order = payment.order_details(load_app(APP_FOLDER))
    assert (order["paymentProcessorId"], order["currency"], order["receiver"]["name"]) == (
        "fake", "NOK", "Fjordvik kommune")
    assert (order["totalPriceExVat"], order["totalVat"], order["totalPriceIncVat"]) == (1400, 300, 1700)
    assert order["orderLines"][1]["quantity"] == 2

    shutil.copytree(APP_FOLDER, tmp_path / "app")
    (tmp_path / "app/App/config/paymentOrder.json").unlink()
    default = payment.order_details(load_app(tmp_path / "app"), "en")
    assert default["orderLines"][0]["name"] == "Parking permit application"
    assert default["totalPriceIncVat"] == payment.DEFAULT_PRICE


async def test_a_cancelled_payment_can_be_started_again_and_paid(client, runtime, receipt_app, kari, ola) -> None:
    path = receipt_app.path(await instance_in_task(runtime, receipt_app, "Task_Betaling"))
    fresh = await client.get(f"{path}/payment", headers=kari)
    assert fresh.status_code == 200 and fresh.json()["status"] == "Uninitialized"
    assert (await client.get(f"{path}/payment", headers=ola)).status_code == 403
    order = await client.get(f"{path}/payment/order-details", headers=kari)
    assert order.json()["totalPriceIncVat"] == 1700

    first = urlsplit((await client.post(f"{path}/actions", headers=kari, json={"action": "pay"})).json()[
        "redirectUrl"]).path
    cancelled = await client.post(f"{first}/cancel")
    assert cancelled.status_code == 303
    assert (await client.get(f"{path}/payment", headers=kari)).json()["status"] == "Cancelled"
    settled_page = await client.get(first)
    assert 'data-status="Cancelled"' in settled_page.text and 'id="fake-pay"' not in settled_page.text
    assert (await client.post(f"{first}/pay")).status_code == 303  # a settled payment stays as it was
    assert (await client.get(f"{path}/payment", headers=kari)).json()["status"] == "Cancelled"

    second = urlsplit((await client.post(f"{path}/actions", headers=kari, json={"action": "pay"})).json()[
        "redirectUrl"]).path
    assert second != first
    await client.post(f"{second}/pay")
    paid = (await client.get(f"{path}/payment", headers=kari)).json()
    assert paid["status"] == "Paid" and paid["paymentDetails"]["chargedDate"]
    again = await client.post(f"{path}/actions", headers=kari, json={"action": "pay"})
    assert again.status_code == 409 and again.json()["code"] == "payment_already_completed"


async def test_the_fake_page_knows_only_its_own_payments(client) -> None:
    unknown = await client.get(f"{payment.FAKE_PAGE}/{'x' * 32}")
    assert unknown.status_code == 404 and unknown.headers["content-type"] == "application/problem+json"
    assert (await client.post(f"{payment.FAKE_PAGE}/{'x' * 32}/pay")).status_code == 404
    assert (await client.get(f"{payment.FAKE_PAGE}/short")).status_code == 422


async def test_an_order_of_nothing_is_skipped_and_a_paid_order_gets_its_receipt(runtime, receipt_app,
                                                                              database) -> None:
    free = json.loads((APP_FOLDER / "App/config/paymentOrder.json").read_text())
    free["orderLines"] = [{**line, "priceExVat": 0} for line in free["orderLines"]]
    folder = receipt_app.definition.root
    (folder / "config/paymentOrder.json").write_text(json.dumps(free))
    instance_id = await instance_in_task(runtime, receipt_app, "Task_Betaling")
    caller = await kari_caller(database)
    async with database.transaction() as session:
        instance = await storage.instance_row(session, instance_id, lock=True)
        ctx = task_context(session, runtime, receipt_app, instance, "Task_Betaling", caller)
        assert await payment.PaymentTask().before_leave(ctx, "confirm") == []
        assert (await payment.payment_information(ctx))["status"] == "Skipped"

    document = payment.payment_receipt(receipt_app.definition, {
        "orderDetails": payment.order_details(load_app(APP_FOLDER)),
        "paymentDetails": {"paymentId": "abc123", "chargedDate": "2026-12-04T11:30:00Z"}}, "nb")
    fields = dict(document.sections[0].blocks[0].pairs)  # type: ignore[union-attr]
    assert fields == {"Mottaker": "Fjordvik kommune", "Betalings-ID": "abc123", "Betalt": "04.12.2026 12:30"}


async def test_felles_check_shows_the_fake_processor_refused_in_production(settings, tmp_path: Path) -> None:
    here = {result.name: result for result in await payment.payment_processors_health(settings)}
    assert here["payment processor fake"].detail == "takes payments"
    production = Settings(environment=Environment.PRODUCTION, database_url="postgresql+asyncpg://felles@db/felles",
                          secret_key="s" * 48, data_dir=tmp_path)
    there = {result.name: result for result in await payment.payment_processors_health(production)}
    assert "not used in production" in there["payment processor fake"].detail
