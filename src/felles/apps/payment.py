"""Payment tasks (`altinn:taskType` payment), as app-lib runs them, with payment processors as plugins.

What is to be paid (the *order*: receiver, currency, order lines with VAT) is the app's `config/paymentOrder.json`
(app-lib asks the app's own order calculator; an app folder has no code, so Felles reads the order from this file),
or else a default of one line, the service's name, at 100 NOK without VAT.

The action `pay` starts a payment with the order's processor (`paymentProcessorId`, registered by name here): the
processor answers with its page, where the person pays, and the app keeps the payment as app-lib does, as a
*PaymentInformation* JSON in the task's `paymentDataType` (status Created, Paid, Failed, Cancelled or Skipped for an
order of 0). The processor confirms a payment by calling back (`payment_confirmed`); the status is also asked for
whenever the payment is read. The task is left (`next`) only when paid (or skipped); `reject` leaves it and cancels
the payment. When `paymentReceiptPdfDataType` is set, leaving the task keeps a receipt of the payment as a PDF.

The fake processor (`fake`) is for development and tests: its own page (`/apps-payment/fake/{id}`) lets one pay or
cancel, and its payments are kept in the blob store. It is refused in production (`felles check` shows it).
"""

from __future__ import annotations

import json
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from urllib.parse import urlsplit

import structlog

from felles.apps import instances, tasks
from felles.apps.access import Caller
from felles.apps.definition import AppDefinition, ProcessTask
from felles.apps.deployment import AppCatalogue, RunningApp
from felles.apps.lenient_json import JsonFileError, load_json_file
from felles.apps.receipt import NORWEGIAN_TIME, app_title, receipt_language
from felles.apps.task_actions import ActionResult, UserAction, register_action
from felles.apps.tasks import TaskContext
from felles.apps.validation import Severity, ValidationIssue
from felles.core.blobs import from_bytes
from felles.core.clock import utcnow
from felles.core.config import Settings
from felles.core.errors import Conflict, NotFound
from felles.core.health import CheckResult, component_check
from felles.core.pdf import Document, Fields, Section, Table, open_pdf_renderer
from felles.core.runtime import Runtime
from felles.storage import service as storage
from felles.storage.models import DataElement, Instance

log = structlog.get_logger("felles.apps.payment")

PAY = "pay"
REJECT = "reject"
ORDER_FILE = "config/paymentOrder.json"
FAKE = "fake"
FAKE_PAGE = "/apps-payment/fake"
DEFAULT_PRICE = 100
JSON_CONTENT = "application/json"
# PaymentStatus
UNINITIALIZED, CREATED, PAID, FAILED, CANCELLED, SKIPPED = (
    "Uninitialized", "Created", "Paid", "Failed", "Cancelled", "Skipped")
DONE = (PAID, SKIPPED)


@dataclass(frozen=True)
class PaymentConfig:
    """A payment task's `altinn:paymentConfig`."""

    payment_data_type: str
    receipt_pdf_data_type: str | None = None


def payment_config(task: ProcessTask) -> PaymentConfig:
    config = task.config.get("paymentConfig")
    if not isinstance(config, dict) or not config.get("paymentDataType"):
        raise Conflict(f"Payment task {task.id} has no paymentConfig with a paymentDataType.",
                       code="payment_not_configured")
    return PaymentConfig(str(config["paymentDataType"]), config.get("paymentReceiptPdfDataType") or None)


# --- the order --------------------------------------------------------------------------------------------------
def order_details(app: AppDefinition, language: str = "nb") -> dict[str, Any]:
    """The order (app-lib's OrderDetails) with its totals: `config/paymentOrder.json`, else the default."""
    path = app.root / ORDER_FILE
    if path.is_file():
        try:
            order = load_json_file(path, ORDER_FILE)
        except JsonFileError as error:
            raise Conflict(f"The app's {ORDER_FILE} is not valid JSON: {error.problem}",
                           code="payment_order_invalid") from None
    else:
        order = {"paymentProcessorId": FAKE, "currency": "NOK",
                 "receiver": {"name": app_title(app, receipt_language(app, language))},
                 "orderLines": [{"id": "fee", "name": app_title(app, receipt_language(app, language)),
                                 "priceExVat": DEFAULT_PRICE, "quantity": 1, "vatPercent": 0}]}
    lines = order.get("orderLines") if isinstance(order, dict) else None
    if not isinstance(lines, list) or not all(isinstance(line, dict) for line in lines):
        raise Conflict(f"The app's {ORDER_FILE} needs a list of orderLines.", code="payment_order_invalid")
    try:
        ex_vat = sum(float(line["priceExVat"]) * int(line.get("quantity", 1)) for line in lines)
        vat = sum(float(line["priceExVat"]) * int(line.get("quantity", 1)) * float(line.get("vatPercent", 0)) / 100
                  for line in lines)
    except (KeyError, TypeError, ValueError):
        raise Conflict(f"Each order line in {ORDER_FILE} needs a priceExVat, a quantity and a vatPercent.",
                       code="payment_order_invalid") from None
    return {"paymentProcessorId": order.get("paymentProcessorId") or FAKE, "receiver": order.get("receiver") or {},
            "payer": order.get("payer"), "currency": order.get("currency") or "NOK",
            "orderLines": [{"quantity": 1, "unit": None, "textResourceKey": None, **line} for line in lines],
            "allowedPayerTypes": order.get("allowedPayerTypes"), "orderReference": order.get("orderReference"),
            "totalPriceExVat": round(ex_vat, 2), "totalVat": round(vat, 2), "totalPriceIncVat": round(ex_vat + vat, 2)}


# --- processors -------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class StartedPayment:
    payment_id: str
    redirect_url: str


class PaymentProcessor(Protocol):
    """A payment service: starts a payment of an order and answers what became of it."""

    processor_id: str

    async def start(self, runtime: Runtime, instance: Instance, order: dict[str, Any],
                    return_url: str) -> StartedPayment: ...

    async def status(self, runtime: Runtime, payment_id: str) -> str: ...

    async def cancel(self, runtime: Runtime, payment_id: str) -> None: ...

    def check(self, settings: Settings) -> str | None:
        """What keeps the processor from being used here (shown by `felles check`), or None."""
        ...


_processors: dict[str, PaymentProcessor] = {}


def register_payment_processor(processor: PaymentProcessor) -> PaymentProcessor:
    _processors[processor.processor_id] = processor
    return processor


def registered_payment_processors() -> dict[str, PaymentProcessor]:
    return dict(_processors)


def _processor(runtime: Runtime, processor_id: str) -> PaymentProcessor:
    processor = _processors.get(processor_id)
    if processor is None:
        raise Conflict(f'The payment processor "{processor_id}" is not available.', code="payment_processor_unknown")
    refused = processor.check(runtime.settings)
    if refused:
        raise Conflict(refused, code="payment_processor_unavailable")
    return processor


class FakePaymentProcessor:
    """Payments for development and tests: paid or cancelled on its own page, kept in the blob store."""

    processor_id = FAKE

    @staticmethod
    def _key(payment_id: str) -> str:
        return f"payments/fake/{payment_id}.json"

    async def read(self, runtime: Runtime, payment_id: str) -> dict[str, Any]:
        """The fake payment (amount, receiver, its instance, status); NotFound for an unknown id."""
        if not payment_id.replace("-", "").replace("_", "").isalnum() or not await runtime.blobs.exists(
                self._key(payment_id)):
            raise NotFound("No such payment.", code="payment_not_found")
        return dict(json.loads(b"".join([chunk async for chunk in await runtime.blobs.get(self._key(payment_id))])))

    async def _write(self, runtime: Runtime, payment_id: str, payment: dict[str, Any]) -> None:
        await runtime.blobs.put(self._key(payment_id), from_bytes(json.dumps(payment, ensure_ascii=False).encode()))

    async def start(self, runtime: Runtime, instance: Instance, order: dict[str, Any],
                    return_url: str) -> StartedPayment:
        # Its page is on this server, and so is the form it sends the person back to: both are given as paths, which
        # hold whatever name the server is reached by.
        payment_id = secrets.token_urlsafe(24)
        await self._write(runtime, payment_id, {
            "status": CREATED, "order": order, "returnUrl": urlsplit(return_url).path, "appId": instance.app_id,
            "partyId": instance.party_id, "instanceGuid": str(instance.id), "created": utcnow().isoformat()})
        return StartedPayment(payment_id, f"{FAKE_PAGE}/{payment_id}")

    async def status(self, runtime: Runtime, payment_id: str) -> str:
        return str((await self.read(runtime, payment_id))["status"])

    async def settle(self, runtime: Runtime, payment_id: str, status: str) -> dict[str, Any]:
        """The person paid (PAID) or gave up (CANCELLED) on the fake page; a settled payment stays as it is."""
        payment = await self.read(runtime, payment_id)
        if payment["status"] == CREATED:
            payment.update(status=status, settled=utcnow().isoformat())
            await self._write(runtime, payment_id, payment)
        return payment

    async def cancel(self, runtime: Runtime, payment_id: str) -> None:
        await self.settle(runtime, payment_id, CANCELLED)

    def check(self, settings: Settings) -> str | None:
        if settings.is_production:
            return "The fake payment processor takes no money: it is not used in production."
        return None


FAKE_PROCESSOR = FakePaymentProcessor()
register_payment_processor(FAKE_PROCESSOR)


@component_check("payment processors")
async def payment_processors_health(settings: Settings) -> list[CheckResult]:
    """Each registered payment processor, and whether payments may be made with it here (a processor that may not
    is no failure of the platform: only the apps that name it cannot take payments)."""
    return [CheckResult(f"payment processor {processor_id}", True, processor.check(settings) or "takes payments")
            for processor_id, processor in sorted(_processors.items())]


# --- the payment of an instance ---------------------------------------------------------------------------------
async def _payment_element(ctx: TaskContext, config: PaymentConfig) -> DataElement | None:
    elements = (await storage.data_elements_of(ctx.session, [ctx.instance.id]))[ctx.instance.id]
    return next((element for element in elements if element.data_type == config.payment_data_type), None)


async def payment_information(ctx: TaskContext, *, refresh: bool = True) -> dict[str, Any]:
    """The task's PaymentInformation; a payment under way is asked after at its processor first (and kept)."""
    config = payment_config(ctx.task)
    element = await _payment_element(ctx, config)
    if element is None:
        return {"taskId": ctx.task.id, "status": UNINITIALIZED, "orderDetails": order_details(
            ctx.app.definition, ctx.language), "paymentDetails": None}
    information: dict[str, Any] = json.loads(await storage.read_data_bytes(ctx.runtime.blobs, element))
    details = information.get("paymentDetails") or {}
    if refresh and information.get("status") == CREATED and details.get("paymentId"):
        processor = _processor(ctx.runtime, information["orderDetails"]["paymentProcessorId"])
        status = await processor.status(ctx.runtime, details["paymentId"])
        if status != information["status"]:
            information["status"] = status
            if status == PAID:
                details["chargedDate"] = utcnow().isoformat().replace("+00:00", "Z")
            await _keep(ctx, config, information, element)
    return information


async def _keep(ctx: TaskContext, config: PaymentConfig, information: dict[str, Any],
                element: DataElement | None) -> None:
    content = json.dumps(information, ensure_ascii=False).encode()
    element_id = element.id if element is not None else uuid.uuid4()
    stored = await storage.put_data_blob(ctx.runtime.blobs, ctx.instance.id, element_id, from_bytes(content))
    actor = instances.actor_of(ctx.caller)
    if element is not None:
        storage.replace_data_element_in_transaction(ctx.instance, element, stored, content_type=JSON_CONTENT,
                                                    actor=actor)
    else:
        storage.add_data_element_in_transaction(ctx.session, ctx.instance, element_id, stored,
                                                data_type=config.payment_data_type, content_type=JSON_CONTENT,
                                                actor=actor, filename=f"{config.payment_data_type}.json")


def return_url(runtime: Runtime, instance: Instance) -> str:
    """Where the processor sends the person back to: the instance's form page."""
    return f"{runtime.settings.base_url.rstrip('/')}/{instance.app_id}/instance/{storage.instance_reference(instance)}"


async def start_payment(ctx: TaskContext) -> dict[str, Any]:
    """The action `pay`: a payment of the order with its processor (a payment under way is cancelled and started
    again; a paid one stays paid). Returns the PaymentInformation, whose paymentDetails.redirectUrl is where to pay."""
    config = payment_config(ctx.task)
    current = await payment_information(ctx)
    if current["status"] in DONE:
        return current
    element = await _payment_element(ctx, config)
    order = order_details(ctx.app.definition, ctx.language)
    if current["status"] == CREATED and current.get("paymentDetails"):
        processor = _processor(ctx.runtime, current["orderDetails"]["paymentProcessorId"])
        await processor.cancel(ctx.runtime, current["paymentDetails"]["paymentId"])
    information: dict[str, Any] = {"taskId": ctx.task.id, "orderDetails": order}
    if order["totalPriceIncVat"] <= 0:
        information.update(status=SKIPPED, paymentDetails=None)
    else:
        processor = _processor(ctx.runtime, order["paymentProcessorId"])
        started = await processor.start(ctx.runtime, ctx.instance, order, return_url(ctx.runtime, ctx.instance))
        information.update(status=CREATED, paymentDetails={
            "paymentId": started.payment_id, "redirectUrl": started.redirect_url,
            "createdDate": utcnow().isoformat().replace("+00:00", "Z")})
    await _keep(ctx, config, information, element)
    return information


async def payment_confirmed(runtime: Runtime, catalogue: AppCatalogue, processor_id: str, payment_id: str, *,
                            app_id: str, party_id: int, instance_id: uuid.UUID) -> None:
    """A processor's callback: the payment `payment_id` of the instance has settled. The instance's payment is
    read again from the processor and kept, if it is the one under way in the instance's current task."""
    async with runtime.database.transaction() as session:
        instance = await storage.instance_row(session, instance_id, party_id=party_id, lock=True)
        definition, version = await catalogue.get(app_id, instance.app_version)
        task_id = (instance.process.get("currentTask") or {}).get("elementId")
        task = definition.process.tasks.get(task_id or "") if definition.process else None
        if instance.app_id != app_id or task is None or task.task_type != "payment":
            return
        ctx = TaskContext(session, runtime, RunningApp(definition, version), instance, task,
                          Caller(processor_id, None, 0))
        current = await payment_information(ctx, refresh=False)
        if (current.get("paymentDetails") or {}).get("paymentId") == payment_id:
            await payment_information(ctx)


def _not_paid(status: str) -> dict[str, Any]:
    return ValidationIssue(Severity.ERROR, None, "PaymentNotCompleted",
                           f"The payment is not completed (its status is {status}).", "Payment").to_json()


_RECEIPT_WORDS = {
    "nb": ("Kvittering for betaling", "Betaling", "Mottaker", "Betalings-ID", "Betalt", "Beskrivelse", "Antall",
           "Pris uten mva.", "Mva. %", "Sum uten mva.", "Mva.", "Å betale"),
    "nn": ("Kvittering for betaling", "Betaling", "Mottakar", "Betalings-ID", "Betalt", "Skildring", "Tal",
           "Pris utan mva.", "Mva. %", "Sum utan mva.", "Mva.", "Å betale"),
    "en": ("Payment receipt", "Payment", "Receiver", "Payment ID", "Paid", "Description", "Quantity",
           "Price ex. VAT", "VAT %", "Total ex. VAT", "VAT", "Total"),
}


def payment_receipt(app: AppDefinition, information: dict[str, Any], language: str) -> Document:
    """A receipt of a paid order: receiver, payment id and time, the order lines and totals."""
    chosen = receipt_language(app, language)
    words = _RECEIPT_WORDS[chosen]
    order = information["orderDetails"]
    details = information.get("paymentDetails") or {}
    currency = order["currency"]
    charged = details.get("chargedDate")
    paid_at = datetime.fromisoformat(charged).astimezone(NORWEGIAN_TIME).strftime("%d.%m.%Y %H:%M") if charged else ""
    facts = Fields([(words[2], str(order.get("receiver", {}).get("name") or "")),
                    (words[3], str(details.get("paymentId") or "")), (words[4], paid_at)])
    lines = Table(words[5:9], [[str(line.get("name")), str(line.get("quantity", 1)),
                                f"{line['priceExVat']:.2f} {currency}", f"{line.get('vatPercent', 0)}"]
                               for line in order["orderLines"]])
    totals = Fields([(words[9], f"{order['totalPriceExVat']:.2f} {currency}"),
                     (words[10], f"{order['totalVat']:.2f} {currency}"),
                     (words[11], f"{order['totalPriceIncVat']:.2f} {currency}")])
    return Document(title=f"{words[0]} – {app_title(app, chosen)}", language=chosen,
                    sections=[Section(words[1], [facts, lines, totals])])


class PaymentTask:
    """A payment task: left when the order is paid (or costs nothing); `reject` cancels the payment."""

    task_type = "payment"
    actions: tuple[str, ...] = (PAY, "confirm", REJECT)

    async def on_enter(self, ctx: TaskContext) -> None:
        payment_config(ctx.task)  # a task without its configuration cannot be worked in: refuse to enter it

    async def before_leave(self, ctx: TaskContext, action: str | None) -> list[dict[str, Any]]:
        information = await payment_information(ctx)
        if action == REJECT:
            if information["status"] == CREATED:
                processor = _processor(ctx.runtime, information["orderDetails"]["paymentProcessorId"])
                await processor.cancel(ctx.runtime, information["paymentDetails"]["paymentId"])
                await _keep(ctx, payment_config(ctx.task), {**information, "status": CANCELLED},
                            await _payment_element(ctx, payment_config(ctx.task)))
            return []
        if information["status"] == UNINITIALIZED and information["orderDetails"]["totalPriceIncVat"] <= 0:
            information = await start_payment(ctx)  # nothing to pay: the payment is skipped
        return [] if information["status"] in DONE else [_not_paid(information["status"])]

    async def on_leave(self, ctx: TaskContext) -> None:
        config = payment_config(ctx.task)
        information = await payment_information(ctx, refresh=False)
        if config.receipt_pdf_data_type is None or information["status"] != PAID:
            return
        pdf = await open_pdf_renderer(ctx.runtime.settings).document(
            payment_receipt(ctx.app.definition, information, ctx.language))
        element_id = uuid.uuid4()
        stored = await storage.put_data_blob(ctx.runtime.blobs, ctx.instance.id, element_id, from_bytes(pdf))
        storage.add_data_element_in_transaction(
            ctx.session, ctx.instance, element_id, stored, data_type=config.receipt_pdf_data_type,
            content_type="application/pdf", actor=instances.actor_of(ctx.caller),
            filename=f"{config.receipt_pdf_data_type}.pdf")


async def _pay_action(ctx: TaskContext, request: UserAction) -> ActionResult:
    if ctx.task.task_type != "payment":
        raise Conflict(f"Task {ctx.task.id} is not a payment task.", code="not_a_payment_task")
    if (await payment_information(ctx))["status"] == PAID:
        raise Conflict("The order is paid already.", code="payment_already_completed")
    information = await start_payment(ctx)
    return ActionResult(redirect_url=(information.get("paymentDetails") or {}).get("redirectUrl"))


tasks.register_task_type(PaymentTask())
register_action(PAY, _pay_action)
