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

from felles.apps import access, instances, tasks
from felles.apps.definition import ProcessTask
from felles.apps.task_actions import ActionResult, UserAction, register_action
from felles.apps.tasks import TaskContext
from felles.apps.validation import Severity, ValidationIssue
from felles.authorization import service as authorization
from felles.core.blobs import from_bytes
from felles.core.clock import utcnow
from felles.core.errors import Conflict, Forbidden
from felles.storage import service as storage
from felles.storage.models import DataElement

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
             "notificationStatus": "NotSent", "partyId": signee.party_id, "signedTime": signee.signed_time}
            for signee in signees]


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
        await _save_signees(ctx, config, await provider(ctx))

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


tasks.register_task_type(SigningTask())
register_action(SIGN, _sign_action)
