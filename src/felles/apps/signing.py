"""Signing tasks (`altinn:taskType` signing), as app-lib and Storage run them.

A signing task names in its `altinn:signatureConfig` the data types to sign (`dataTypesToSign`) and the data type a
signature is kept as (`signatureDataType`). Signing (the action `sign`, which the app's policy must permit in the
task) stores a *SignDocument* there, as Storage writes it: who signed (user id, fødselsnummer, the organisation
signed for), when, and for each signed data element the SHA-256 of its bytes (base64), so that a later change of
what was signed shows. The instance gets a `Signed` event.

User-driven signing: a task with `signeeStatesDataTypeId` keeps the list of those who are to sign (the *signees*)
and whether each has signed, as a data element of that type. The list is made as the process enters the task, by the
signee provider the task names (`signeeProviderId`), registered here by name (`register_signee_provider`); the
signees of a provider Felles does not have are not known in advance (it is logged), and then anyone the policy lets
sign may. The task is left (`next`) once every signee has signed, or, without a list, once someone has; `next` with
the action `sign` signs first, as app-lib's does. `reject` leaves without signatures.

Each signee on a list is called to sign, as app-lib's call to action does: a notification order (e-mail, else SMS,
by Kontakt- og reservasjonsregisteret for a person, by the organisation's notification addresses for one) through the
notifications component, placed by a job the step enqueues in its own transaction, once per signee (the order's
idempotency id), and each signee's `notificationStatus` then says whether it was Sent or Failed.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

import structlog
from pydantic import ValidationError

from felles.apps import access, instances, tasks
from felles.apps.definition import ProcessTask
from felles.apps.task_actions import ActionResult, UserAction, register_action
from felles.apps.tasks import TaskContext
from felles.apps.validation import Severity, ValidationIssue
from felles.authorization import service as authorization
from felles.core.blobs import BlobStore, from_bytes, open_blob_store
from felles.core.clock import utcnow
from felles.core.config import get_settings
from felles.core.errors import Conflict, Forbidden, Problem
from felles.core.jobs import JobContext, enqueue, job_handler
from felles.core.tokens import Principal
from felles.notifications import service as notifications
from felles.notifications.schemas import (
    EmailSettings,
    EmailText,
    OrderChainCreate,
    Recipient,
    RecipientOrganization,
    RecipientPerson,
    SmsSettings,
    SmsText,
)
from felles.storage import service as storage
from felles.storage.models import DataElement, Instance

log = structlog.get_logger("felles.apps.signing")

SIGN = "sign"
REJECT = "reject"
SIGNATURE_CONTENT_TYPE = "application/json"


@dataclass(frozen=True)
class SignatureConfig:
    """A signing task's `altinn:signatureConfig`."""

    data_types_to_sign: tuple[str, ...]
    signature_data_type: str
    signee_states_data_type: str | None = None
    signee_provider: str | None = None


def signature_config(task: ProcessTask) -> SignatureConfig:
    config = task.config.get("signatureConfig")
    if not isinstance(config, dict) or not config.get("signatureDataType"):
        raise Conflict(f"Signing task {task.id} has no signatureConfig with a signatureDataType.",
                       code="signing_not_configured")
    to_sign = config.get("dataTypesToSign") or []
    return SignatureConfig(
        data_types_to_sign=tuple([to_sign] if isinstance(to_sign, str) else [str(item) for item in to_sign]),
        signature_data_type=str(config["signatureDataType"]),
        signee_states_data_type=config.get("signeeStatesDataTypeId") or None,
        signee_provider=config.get("signeeProviderId") or None,
    )


@dataclass
class Signee:
    """One who is to sign: a person, maybe for an organisation."""

    party_id: int
    name: str | None
    person_number: str | None = None
    organisation_number: str | None = None
    organisation_name: str | None = None
    signed_time: str | None = None
    notification_status: str = "NotSent"  # app-lib's NotificationStatus: NotSent, Sent or Failed

    @property
    def key(self) -> str:
        """Who is called to sign: the organisation signed for, else the person."""
        return self.organisation_number or self.person_number or str(self.party_id)


SigneeProvider = Callable[[TaskContext], Awaitable[list[Signee]]]
_providers: dict[str, SigneeProvider] = {}


def register_signee_provider(provider_id: str, provider: SigneeProvider) -> SigneeProvider:
    """Register (or replace) the signee provider a signing task names by `signeeProviderId`."""
    _providers[provider_id] = provider
    return provider


@dataclass
class Signature:
    """A SignDocument read back: who signed what, and when."""

    element: DataElement
    document: dict[str, Any] = field(default_factory=dict)

    @property
    def person_number(self) -> str | None:
        return (self.document.get("signeeInfo") or {}).get("personNumber")

    @property
    def organisation_number(self) -> str | None:
        return (self.document.get("signeeInfo") or {}).get("organisationNumber")


async def _elements(ctx: TaskContext) -> list[DataElement]:
    return (await storage.data_elements_of(ctx.session, [ctx.instance.id]))[ctx.instance.id]


async def signatures(ctx: TaskContext, config: SignatureConfig) -> list[Signature]:
    """The signatures made since the process last entered the task: one from an earlier visit (before a reject
    sent the form back) signed what may since have changed, and does not count."""
    entered = _moment((ctx.instance.process.get("currentTask") or {}).get("started"))
    found = []
    for element in await _elements(ctx):
        if element.data_type == config.signature_data_type and (entered is None or element.created_at >= entered):
            document = json.loads(await storage.read_data_bytes(ctx.runtime.blobs, element))
            found.append(Signature(element, document if isinstance(document, dict) else {}))
    return found


def _moment(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


async def _states_element(ctx: TaskContext, config: SignatureConfig) -> DataElement | None:
    if config.signee_states_data_type is None:
        return None
    return next((element for element in await _elements(ctx)
                 if element.data_type == config.signee_states_data_type), None)


async def signee_list(ctx: TaskContext, config: SignatureConfig) -> list[Signee] | None:
    """The task's signees and their state, or None when the task has no list (anyone permitted may sign)."""
    element = await _states_element(ctx, config)
    if element is None:
        return None
    states = json.loads(await storage.read_data_bytes(ctx.runtime.blobs, element))
    return [Signee(**entry) for entry in states.get("signees") or []]


async def _store_json(ctx: TaskContext, data_type: str, document: Any, *, filename: str,
                      replacing: DataElement | None = None) -> DataElement:
    content = json.dumps(document, ensure_ascii=False, indent=2).encode()
    element_id = replacing.id if replacing is not None else uuid.uuid4()
    stored = await storage.put_data_blob(ctx.runtime.blobs, ctx.instance.id, element_id, from_bytes(content))
    actor = instances.actor_of(ctx.caller)
    if replacing is not None:
        storage.replace_data_element_in_transaction(ctx.instance, replacing, stored,
                                                    content_type=SIGNATURE_CONTENT_TYPE, actor=actor)
        return replacing
    return storage.add_data_element_in_transaction(ctx.session, ctx.instance, element_id, stored, data_type=data_type,
                                                   content_type=SIGNATURE_CONTENT_TYPE, actor=actor,
                                                   filename=filename)


async def _save_signees(ctx: TaskContext, config: SignatureConfig, signees: list[Signee]) -> None:
    assert config.signee_states_data_type is not None
    await _store_json(ctx, config.signee_states_data_type, {"signees": [asdict(signee) for signee in signees]},
                      filename=f"{config.signee_states_data_type}.json",
                      replacing=await _states_element(ctx, config))


async def _sha256(ctx: TaskContext, element: DataElement) -> str:
    digest = hashlib.sha256()
    async for chunk in await storage.read_data_blob(ctx.runtime.blobs, element):
        digest.update(chunk)
    return base64.b64encode(digest.digest()).decode()


def _is_signee(signee: Signee, person: str, organisation: str | None) -> bool:
    if organisation is not None:
        return signee.organisation_number == organisation
    return signee.person_number == person and signee.organisation_number is None


async def sign(ctx: TaskContext, *, on_behalf_of: str | None = None) -> DataElement:
    """The caller signs the task's data: a SignDocument over the hashes of the elements to sign, kept as the
    signature data type; with a signee list, the caller (or the organisation signed for) must be on it."""
    config = signature_config(ctx.task)
    caller = ctx.caller
    if not caller.is_person:
        raise Forbidden("A signature is a person's: sign with a person's login.", code="signee_not_a_person")
    signees = await signee_list(ctx, config)
    if signees is not None:
        mine = next((signee for signee in signees if _is_signee(signee, caller.subject, on_behalf_of)), None)
        if mine is None:
            raise Forbidden("You are not among those who are to sign this.", code="not_a_signee")
        if mine.signed_time is not None:
            raise Conflict("You have signed this already.", code="already_signed")
    elif on_behalf_of not in (None, ctx.instance.owner_identifier):
        raise Forbidden("You may sign for the instance owner only.", code="not_a_signee")
    if any(signature.person_number == caller.subject and signature.organisation_number == on_behalf_of
           for signature in await signatures(ctx, config)):
        raise Conflict("You have signed this already.", code="already_signed")
    signed_time = utcnow()
    element_id = uuid.uuid4()
    to_sign = [element for element in await _elements(ctx) if element.data_type in config.data_types_to_sign]
    document: dict[str, Any] = {
        "id": str(element_id), "instanceGuid": str(ctx.instance.id),
        "signedTime": signed_time.isoformat().replace("+00:00", "Z"),
        "signeeInfo": {"userId": str(caller.user_id) if caller.user_id is not None else None,
                       "personNumber": caller.subject, "organisationNumber": on_behalf_of},
        "dataElementSignatures": [{"dataElementId": str(element.id), "sha256Hash": await _sha256(ctx, element),
                                   "signed": True} for element in to_sign],
    }
    content = json.dumps(document, ensure_ascii=False, indent=2).encode()
    stored = await storage.put_data_blob(ctx.runtime.blobs, ctx.instance.id, element_id, from_bytes(content))
    element = storage.add_data_element_in_transaction(
        ctx.session, ctx.instance, element_id, stored, data_type=config.signature_data_type,
        content_type=SIGNATURE_CONTENT_TYPE, actor=instances.actor_of(caller),
        filename=f"{config.signature_data_type}.json")
    await storage.record_event_in_transaction(
        ctx.session, ctx.instance, "Signed",
        instances.platform_user(caller), data_id=element_id)
    if signees is not None:
        for signee in signees:
            if _is_signee(signee, caller.subject, on_behalf_of):
                signee.signed_time = document["signedTime"]
        await _save_signees(ctx, config, signees)
    return element


async def signee_states(ctx: TaskContext) -> list[dict[str, Any]]:
    """The signees and whether they have signed (app-lib's SigneeState): the task's list, or, without one, those
    who have signed."""
    config = signature_config(ctx.task)
    signees = await signee_list(ctx, config)
    if signees is None:
        signees = []
        for signature in await signatures(ctx, config):
            person = signature.person_number
            party = await authorization.party_of(ctx.runtime.database, person) if person else None
            signees.append(Signee(party.party_id if party else 0, party.name if party else None, person,
                                  signature.organisation_number,
                                  signed_time=signature.document.get("signedTime")))
    return [{"name": signee.name, "organization": signee.organisation_name, "delegationSuccessful": True,
             "notificationStatus": signee.notification_status, "partyId": signee.party_id,
             "signedTime": signee.signed_time} for signee in signees]


async def elements_to_sign(ctx: TaskContext) -> list[DataElement]:
    config = signature_config(ctx.task)
    return [element for element in await _elements(ctx) if element.data_type in config.data_types_to_sign]


async def organisations_of_caller(ctx: TaskContext) -> list[dict[str, Any]]:
    """The organisations on the signee list that the app's policy lets the caller sign for
    (AuthorizedOrganizationDetails)."""
    signees = await signee_list(ctx, signature_config(ctx.task)) or []
    found = []
    for signee in signees:
        if signee.organisation_number and await access.permits(
                ctx.runtime.database, ctx.caller, signee.organisation_number, ctx.app.id, SIGN, task=ctx.task.id):
            found.append({"orgNumber": signee.organisation_number, "orgName": signee.organisation_name,
                          "partyId": signee.party_id})
    return found


def _not_done(description: str) -> dict[str, Any]:
    return ValidationIssue(Severity.ERROR, None, "SigningNotComplete", description, "Signing").to_json()


class SigningTask:
    """A signing task: the signees come from its provider on entering; it is left once they have signed."""

    task_type = "signing"
    actions: tuple[str, ...] = (SIGN, REJECT)

    async def on_enter(self, ctx: TaskContext) -> None:
        config = signature_config(ctx.task)
        if config.signee_states_data_type is None:
            return
        provider = _providers.get(config.signee_provider or "")
        if provider is None:
            log.info("signee_provider_unknown", app=ctx.app.id, task=ctx.task.id, provider=config.signee_provider)
            return
        signees = await provider(ctx)
        await _save_signees(ctx, config, signees)
        if signees:
            await enqueue(ctx.session, CALL_TO_SIGN_JOB, _call_to_sign(ctx, config))

    async def before_leave(self, ctx: TaskContext, action: str | None) -> list[dict[str, Any]]:
        if action == REJECT:
            return []
        config = signature_config(ctx.task)
        on_behalf_of = instances.acting_on_behalf_of(ctx)
        if action == SIGN and ctx.caller.is_person and not any(
                signature.person_number == ctx.caller.subject and signature.organisation_number == on_behalf_of
                for signature in await signatures(ctx, config)):
            await sign(ctx, on_behalf_of=on_behalf_of)
        signees = await signee_list(ctx, config)
        if signees is not None:
            waiting = [signee.name or str(signee.party_id) for signee in signees if signee.signed_time is None]
            return [_not_done(f"Waiting for the signatures of {', '.join(waiting)}.")] if waiting else []
        if not await signatures(ctx, config):
            return [_not_done("Nobody has signed yet.")]
        return []

    async def on_leave(self, ctx: TaskContext) -> None:
        return None


async def _sign_action(ctx: TaskContext, request: UserAction) -> ActionResult:
    if ctx.task.task_type != "signing":
        raise Conflict(f"Task {ctx.task.id} is not a signing task.", code="not_a_signing_task")
    await sign(ctx, on_behalf_of=request.on_behalf_of)
    return ActionResult()


# --- the call to sign --------------------------------------------------------------------------------------
CALL_TO_SIGN_JOB = "apps.signing.call_to_sign"
# app-lib's default texts of the call to sign, by language: the app's name and owner filled in.
CALL_TO_SIGN_TEXTS = {
    "nb": ("{app}: Oppgave til signering",
           "Din signatur ventes for {app}. Åpne skjemaet for å fortsette: {link}\n\n"
           "Hvis du lurer på noe, kan du kontakte {owner}.",
           "Din signatur ventes for {app}. Åpne Altinn-innboksen din for å fortsette."),
    "nn": ("{app}: Oppgåve til signering",
           "Signaturen din vert venta for {app}. Opne skjemaet for å gå vidare: {link}\n\n"
           "Om du lurer på noko, kan du kontakte {owner}.",
           "Signaturen din vert venta for {app}. Opne Altinn-innboksen din for å gå vidare."),
    "en": ("{app}: Task for signing",
           "Your signature is requested for {app}. Open the form to proceed: {link}\n\n"
           "If you have any questions, you can contact {owner}.",
           "Your signature is requested for {app}. Open your Altinn inbox to proceed."),
}


def _call_to_sign(ctx: TaskContext, config: SignatureConfig) -> dict[str, Any]:
    """What the call-to-sign job needs, read in the step (the app's names, the instance's address)."""
    metadata = ctx.app.definition.metadata
    titles = metadata.get("title")
    titles = titles if isinstance(titles, dict) else {}
    base = ctx.runtime.settings.base_url.rstrip("/")
    return {"instanceId": str(ctx.instance.id), "taskId": ctx.task.id, "org": ctx.app.org,
            "statesDataType": config.signee_states_data_type,
            "titles": {language: str(titles.get(language) or titles.get("nb") or ctx.app.id)
                       for language in CALL_TO_SIGN_TEXTS},
            "link": f"{base}/{ctx.instance.app_id}/instance/{ctx.instance.party_id}/{ctx.instance.id}"}


def _notification_order(payload: dict[str, Any], signee: Signee, owner_name: str) -> OrderChainCreate:
    texts = {language: [text.format(app=payload["titles"][language], link=payload["link"], owner=owner_name)
                        for text in variants] for language, variants in CALL_TO_SIGN_TEXTS.items()}
    email = EmailSettings(subject=texts["nb"][0], body=texts["nb"][1], translations={
        language: EmailText(subject=subject, body=body) for language, (subject, body, _) in texts.items()})
    sms = SmsSettings(body=texts["nb"][2], translations={
        language: SmsText(body=body) for language, (_, _, body) in texts.items()})
    recipient = Recipient(recipientOrganization=RecipientOrganization(
        orgNumber=signee.organisation_number, emailSettings=email, smsSettings=sms)) \
        if signee.organisation_number else Recipient(recipientPerson=RecipientPerson(
            nationalIdentityNumber=signee.person_number or "", emailSettings=email, smsSettings=sms))
    return OrderChainCreate(idempotencyId=f"signing:{payload['instanceId']}:{payload['taskId']}:{signee.key}",
                            sendersReference=payload["instanceId"], recipient=recipient)


@job_handler(CALL_TO_SIGN_JOB, max_attempts=10)
async def call_signees_to_sign(payload: dict[str, Any], context: JobContext) -> None:
    """Order a notification to each signee not yet called (as the app's service owner, whose order it is), then
    note on the signee list whether each was called. The orders come first, each in a transaction of its own and
    once per signee however often this job runs; the list is then read again under the instance's lock and written
    in the job's transaction, so a signature noted on it meanwhile stays."""
    instance_id = uuid.UUID(payload["instanceId"])
    settings = get_settings()
    blobs = open_blob_store(settings)
    instance, element, signees = await _signee_list_of(context, blobs, payload, instance_id, lock=False)
    if element is None:
        return
    owner = {item.orgcode: item for item in await authorization.list_service_owners(context.database)}.get(
        payload["org"])
    principal = Principal(kind="organization", organization_number=owner.organization if owner else None)
    called: dict[str, str] = {}
    for signee in signees:
        if signee.notification_status == "NotSent" and signee.signed_time is None:
            owner_name = owner.name.get("nb", payload["org"]) if owner else payload["org"]
            try:
                await notifications.create_order_chain(context.database, settings, principal,
                                                       _notification_order(payload, signee, owner_name))
                called[signee.key] = "Sent"
            except (Problem, ValidationError) as error:  # no address to reach them at, or no valid number
                log.warning("call_to_sign_failed", instance=payload["instanceId"], error=str(error))
                called[signee.key] = "Failed"
    if not called:
        return
    instance, element, signees = await _signee_list_of(context, blobs, payload, instance_id, lock=True)
    if element is None:
        return
    for signee in signees:
        if signee.notification_status == "NotSent" and signee.key in called:
            signee.notification_status = called[signee.key]
    content = json.dumps({"signees": [asdict(signee) for signee in signees]}, ensure_ascii=False, indent=2).encode()
    stored = await storage.put_data_blob(blobs, instance_id, element.id, from_bytes(content))
    old_key = storage.replace_data_element_in_transaction(
        instance, element, stored, content_type=SIGNATURE_CONTENT_TYPE,
        actor=owner.organization if owner else payload["org"])
    await blobs.delete(old_key)


async def _signee_list_of(context: JobContext, blobs: BlobStore, payload: dict[str, Any], instance_id: uuid.UUID, *,
                          lock: bool) -> tuple[Instance, DataElement | None, list[Signee]]:
    """The task's signee list, while the instance is still in the task the job was made in."""
    instance = await storage.instance_row(context.session, instance_id, lock=lock)
    if instance.current_task != payload["taskId"]:
        return instance, None, []  # the task was left before the call went out
    element = next((item for item in (await storage.data_elements_of(context.session, [instance.id]))[instance.id]
                    if item.data_type == payload["statesDataType"]), None)
    if element is None:
        return instance, None, []
    document = json.loads(await storage.read_data_bytes(blobs, element))
    return instance, element, [Signee(**entry) for entry in document.get("signees") or []]


tasks.register_task_type(SigningTask())
register_action(SIGN, _sign_action)
