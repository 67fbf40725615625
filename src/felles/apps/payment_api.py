"""Payment at app-lib's paths (the instance's payment, its order), and the fake payment processor's own page.

`/apps-payment/fake/{paymentId}` stands in for a payment service's page in development and tests: it shows the order
and lets the person pay or cancel, then calls the app back (as a real processor would) and sends the person back to
the form. It has no login of its own, as a processor's page has none: the payment id, a long random secret only the
payer is given, is what names the payment. It answers 404 in production.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel, ConfigDict

from felles.apps import payment, task_actions
from felles.apps.actions_api import INSTANCE, PROBLEMS, InstanceCallDep
from felles.apps.dependencies import catalogue
from felles.core.errors import NotFound
from felles.core.runtime import RuntimeDep
from felles.core.tokens import AuthenticatedRoute
from felles.portal.shell import page_language, render_page

router = APIRouter(tags=["app payment"], route_class=AuthenticatedRoute)
PaymentStatus = Literal["Uninitialized", "Created", "Paid", "Failed", "Cancelled", "Skipped"]


class PaymentOrderLine(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: str
    name: str
    textResourceKey: str | None = None
    priceExVat: float
    quantity: int = 1
    vatPercent: float
    unit: str | None = None


class OrderDetails(BaseModel):
    paymentProcessorId: str
    receiver: dict[str, Any]
    payer: dict[str, Any] | None = None
    currency: str
    orderLines: list[PaymentOrderLine]
    allowedPayerTypes: list[str] | None = None
    orderReference: str | None = None
    totalPriceExVat: float
    totalVat: float
    totalPriceIncVat: float


class PaymentDetails(BaseModel):
    paymentId: str
    redirectUrl: str | None = None
    createdDate: str | None = None
    chargedDate: str | None = None


class PaymentInformation(BaseModel):
    taskId: str
    status: PaymentStatus
    orderDetails: OrderDetails
    paymentDetails: PaymentDetails | None = None


PaymentId = Annotated[str, Path(min_length=16, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]

_PAGE_TEXTS = {
    "nb": {"title": "Testbetaling", "intro": "Dette er en falsk betalingsleverandør for utvikling og test: "
           "ingen penger trekkes.", "receiver": "Mottaker", "line": "Beskrivelse", "quantity": "Antall",
           "price": "Pris uten mva.", "total": "Å betale", "pay": "Betal", "cancel": "Avbryt betalingen",
           "status": "Status", "back": "Tilbake til skjemaet"},
    "nn": {"title": "Testbetaling", "intro": "Dette er ein falsk betalingsleverandør for utvikling og test: "
           "ingen pengar blir trekte.", "receiver": "Mottakar", "line": "Skildring", "quantity": "Tal",
           "price": "Pris utan mva.", "total": "Å betale", "pay": "Betal", "cancel": "Avbryt betalinga",
           "status": "Status", "back": "Tilbake til skjemaet"},
    "en": {"title": "Test payment", "intro": "This is a fake payment service for development and tests: "
           "no money is taken.", "receiver": "Receiver", "line": "Description", "quantity": "Quantity",
           "price": "Price ex. VAT", "total": "Total", "pay": "Pay", "cancel": "Cancel the payment",
           "status": "Status", "back": "Back to the form"},
}


@router.get(INSTANCE + "/payment", operation_id="app_payment", responses=PROBLEMS, response_model=PaymentInformation)
async def payment_information(call: InstanceCallDep, taskId: Annotated[str | None, Query(
        max_length=100, description="A payment task the instance has been in, instead of the current one")] = None,
                              ) -> dict[str, Any]:
    """The payment of the current payment task, as its processor reports it now (PaymentInformation)."""
    async with task_actions.current_task(call, "read", task_id=taskId) as ctx:
        return await payment.payment_information(ctx, refresh=taskId is None)


@router.get(INSTANCE + "/payment/order-details", operation_id="app_payment_order_details", responses=PROBLEMS,
            response_model=OrderDetails)
async def order_details(call: InstanceCallDep) -> dict[str, Any]:
    """What is to be paid (OrderDetails), with its totals."""
    async with task_actions.opened_instance(call, "read") as opened:
        return payment.order_details(opened.app.definition, call.language)


async def _fake_payment(runtime: RuntimeDep, payment_id: str) -> dict[str, Any]:
    if payment.FAKE_PROCESSOR.check(runtime.settings):
        raise NotFound("No such payment.", code="payment_not_found")
    return await payment.FAKE_PROCESSOR.read(runtime, payment_id)


@router.get(payment.FAKE_PAGE + "/{payment_id}", include_in_schema=False, response_class=HTMLResponse)
async def fake_payment_page(request: Request, runtime: RuntimeDep, payment_id: PaymentId) -> HTMLResponse:
    found = await _fake_payment(runtime, payment_id)
    return render_page(request, "apps_payment/fake.html", {
        "texts": _PAGE_TEXTS[page_language(request)], "payment": found, "order": found["order"],
        "payment_id": payment_id, "action": f"{payment.FAKE_PAGE}/{payment_id}"})


async def _settle(request: Request, runtime: RuntimeDep, payment_id: str, status: str) -> RedirectResponse:
    await _fake_payment(runtime, payment_id)
    settled = await payment.FAKE_PROCESSOR.settle(runtime, payment_id, status)
    await payment.payment_confirmed(runtime, catalogue(request), payment.FAKE, payment_id, app_id=settled["appId"],
                                    party_id=int(settled["partyId"]), instance_id=uuid.UUID(settled["instanceGuid"]))
    return RedirectResponse(settled["returnUrl"], status_code=303)


@router.post(payment.FAKE_PAGE + "/{payment_id}/pay", include_in_schema=False)
async def fake_pay(request: Request, runtime: RuntimeDep, payment_id: PaymentId) -> RedirectResponse:
    return await _settle(request, runtime, payment_id, payment.PAID)


@router.post(payment.FAKE_PAGE + "/{payment_id}/cancel", include_in_schema=False)
async def fake_cancel(request: Request, runtime: RuntimeDep, payment_id: PaymentId) -> RedirectResponse:
    return await _settle(request, runtime, payment_id, payment.CANCELLED)
