"""The instance lifecycle of an Altinn app, as app-lib runs it: instantiate, read, delete, complete, and the
process from task to task.

Every step is one transaction. Instantiation checks the party (from the party register, never from what the
caller writes) against the app's `partyTypesAllowed` and the app's policy (`instantiate`), stores the data the
caller sent and the form data the first task creates (prefilled from Folkeregisteret, Enhetsregisteret and the
profile, per the app's `*.prefill.json`), starts the process, and records Altinn's instance events and publishes
its app events (`app.instance.created`, `app.instance.process.movedTo.{task}`, `app.instance.process.completed`)
in the same transaction. A data element's bytes go to the blob store before its row, so a process killed midway
leaves no instance pointing at a missing blob, and the call can simply be made again.

`next` decides on what it read (the task, its validation, the gateways) and then claims the instance's revision
before writing anything: of two concurrent moves only the first wins; the other gets 409 and nothing changes.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from felles.apps import access, parties, tasks
from felles.apps.access import Caller
from felles.apps.definition import ProcessTask
from felles.apps.deployment import AppCatalogue, RunningApp
from felles.apps.expressions.context import DataModels, ExpressionContext
from felles.apps.expressions.errors import ExpressionError
from felles.apps.expressions.evaluator import evaluate
from felles.apps.formdata import FormDataError, json_to_xml, xml_to_json
from felles.apps.prefill import PrefillSources, apply_prefill, sources_named, takes_contact_details
from felles.apps.process import (
    ConditionEvaluator,
    ProcessChange,
    ProcessEngine,
    ProcessError,
    actions_allowing_next,
    default_action,
    is_service_task,
)
from felles.authorization import service as authorization
from felles.core.audit import Actor
from felles.core.clock import utcnow
from felles.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from felles.core.runtime import Runtime
from felles.events import service as events
from felles.storage import schemas as s
from felles.storage import service as storage
from felles.storage.models import DataElement, Instance

log = structlog.get_logger("felles.apps.instances")

XML = "application/xml"
JSON = "application/json"
# Party types of `partyTypesAllowed`, by the unit types Enhetsregisteret gives sub-units and bankruptcy estates.
SUB_UNIT_TYPES = frozenset({"BEDR", "AAFY"})
BANKRUPTCY_ESTATE_TYPES = frozenset({"KBO"})
# Actions a task of each type offers besides read and write (app-lib's defaults per task type).
TYPE_ACTIONS = {"confirmation": ("confirm",), "signing": ("sign", "reject"), "payment": ("pay", "confirm", "reject")}
# How many service tasks one step may run before we call the model a loop.
MAX_SERVICE_TASKS_PER_STEP = 20
# What a step keeps in its context's scratch.
FORM_DATA, ELEMENTS, PREFILL_SOURCES, PUBLISHER, APP_EVENTS, OWNER, ON_BEHALF_OF = (
    "form_data", "elements", "prefill_sources", "publisher", "app_events", "owner", "on_behalf_of")
# How many steps process/completeProcess takes at most before it calls the process a loop (app-lib's limit).
MAX_COMPLETE_PROCESS_STEPS = 100


# --- who the instance is for ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class OwnerChoice:
    """The instance owner as the caller names it: a partyId, or a fødselsnummer or organisation number."""
    party_id: int | None = None
    person_number: str | None = None
    organisation_number: str | None = None

    @classmethod
    def from_json(cls, owner: Any) -> OwnerChoice:
        if not isinstance(owner, dict):
            raise InvalidInput("instanceOwner must be an object with partyId, personNumber or organisationNumber.",
                               code="invalid_instance_owner")
        party_id = owner.get("partyId")
        try:
            parsed = int(party_id) if party_id not in (None, "") else None
        except (TypeError, ValueError):
            raise InvalidInput("instanceOwner.partyId must be a number.", code="invalid_instance_owner") from None
        person, organisation = owner.get("personNumber"), owner.get("organisationNumber")
        for value in (person, organisation):
            if value is not None and (not isinstance(value, str) or not value.isdigit()):
                raise InvalidInput("personNumber and organisationNumber are strings of digits.",
                                   code="invalid_instance_owner")
        return cls(parsed, person or None, organisation or None)

    @property
    def given(self) -> bool:
        return any(value is not None for value in (self.party_id, self.person_number, self.organisation_number))


@dataclass(frozen=True)
class DataPart:
    """Data sent with the instantiation (a multipart part named by its data type)."""
    data_type: str
    content_type: str
    content: bytes
    filename: str | None = None


@dataclass
class InstanceTemplate:
    """What the caller asks for: the owner, dates, prefill values and data sent along."""
    owner: OwnerChoice
    due_before: datetime | None = None
    visible_after: datetime | None = None
    prefill: dict[str, Any] = field(default_factory=dict)
    parts: list[DataPart] = field(default_factory=list)


async def _owner(runtime: Runtime, choice: OwnerChoice) -> authorization.PartyRef:
    database = runtime.database
    if not choice.given:
        raise InvalidInput("Name the instance owner: instanceOwnerPartyId, or instanceOwner with partyId, "
                           "personNumber or organisationNumber.", code="instance_owner_missing")
    if choice.party_id is not None:
        if not 0 < choice.party_id < 2**31:
            raise NotFound(f"No party {choice.party_id}.", code="party_not_found")
        found = await authorization.party_by_id(database, choice.party_id)
    else:
        identifier = choice.person_number or choice.organisation_number or ""
        if len(identifier) not in (9, 11):
            raise InvalidInput("A personNumber has 11 digits, an organisationNumber 9.", code="invalid_instance_owner")
        found = await authorization.party_by_id(database, (await authorization.party_of(database, identifier)).party_id)
    if found is None or found.is_deleted or found.kind not in ("person", "organization"):
        raise NotFound("No such party.", code="party_not_found")
    return found


def party_type(party: authorization.PartyRef) -> str:
    """The party's type as `partyTypesAllowed` names them."""
    if party.kind == "person":
        return "person"
    if party.unit_type in SUB_UNIT_TYPES:
        return "subUnit"
    if party.unit_type in BANKRUPTCY_ESTATE_TYPES:
        return "bankruptcyEstate"
    return "organisation"


def check_party_type(app: RunningApp, party: authorization.PartyRef) -> None:
    """An app that allows some party types only may not be instantiated for others (none allowed = all are)."""
    allowed = {name for name, yes in (app.definition.metadata.get("partyTypesAllowed") or {}).items() if yes}
    if allowed and party_type(party) not in allowed:
        raise Forbidden(f"Party {party.party_id} is not allowed to instantiate this application {app.id}: it is a "
                        f"{party_type(party)}, and the app takes {', '.join(sorted(allowed))} only.",
                        code="party_type_not_allowed")


# --- the caller as Storage records them -------------------------------------------------------------------------
def actor_of(caller: Caller) -> str:
    """Who changed something, as Altinn writes `createdBy`/`lastChangedBy`: a user id or an organisation number."""
    return str(caller.user_id) if caller.user_id is not None else caller.subject


def platform_user(caller: Caller) -> s.PlatformUser:
    if caller.is_person:
        return s.PlatformUser(userId=caller.user_id, authenticationLevel=caller.authentication_level,
                              nationalIdentityNumber=caller.subject)
    return s.PlatformUser(orgId=caller.service_owner or caller.subject,
                          authenticationLevel=caller.authentication_level)


# --- form data ----------------------------------------------------------------------------------------------
def _app_logic_types(app: RunningApp) -> dict[str, dict[str, Any]]:
    return {data_type["id"]: data_type for data_type in app.definition.metadata.get("dataTypes") or []
            if isinstance(data_type, dict) and data_type.get("appLogic") and data_type.get("id")}


def _data_type(app: RunningApp, data_type: str) -> dict[str, Any]:
    for candidate in app.definition.metadata.get("dataTypes") or []:
        if isinstance(candidate, dict) and candidate.get("id") == data_type:
            return candidate
    raise InvalidInput(f'The app has no data type "{data_type}".', code="unknown_data_type")


def form_data_bytes(app: RunningApp, data_type: str, data: dict[str, Any]) -> tuple[bytes, str]:
    """Form data as stored: XML per the model's XSD (as Altinn stores it), JSON for a model with none."""
    model = app.definition.models.get(data_type)
    if model is not None and model.xsd is not None:
        try:
            return json_to_xml(data, model.xsd, model.root_element), XML
        except FormDataError as error:
            raise InvalidInput(f"The {data_type} data does not fit its model: {error}",
                               code="invalid_form_data") from None
    return json.dumps(data, ensure_ascii=False).encode(), JSON


def form_data_json(app: RunningApp, data_type: str, content: bytes, content_type: str) -> dict[str, Any]:
    """Stored (or sent) form data read as the JSON the app API serves."""
    model = app.definition.models.get(data_type)
    try:
        if content_type.split(";")[0].strip().endswith("xml"):
            if model is None or model.xsd is None:
                raise InvalidInput(f"The {data_type} model takes JSON, not XML.", code="invalid_form_data")
            return xml_to_json(content, model.xsd)
        parsed = json.loads(content or b"{}")
    except FormDataError as error:
        raise InvalidInput(f"The {data_type} data does not fit its model: {error}", code="invalid_form_data") from None
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput(f"The {data_type} data is not valid JSON.", code="invalid_form_data") from None
    if not isinstance(parsed, dict):
        raise InvalidInput(f"The {data_type} data must be a JSON object.", code="invalid_form_data")
    return parsed


async def instance_elements(ctx: tasks.TaskContext) -> list[DataElement]:
    """The instance's data elements, read once per step (the step's own additions are appended)."""
    if ELEMENTS not in ctx.scratch:
        ctx.scratch[ELEMENTS] = (await storage.data_elements_of(ctx.session, [ctx.instance.id]))[ctx.instance.id]
    elements: list[DataElement] = ctx.scratch[ELEMENTS]
    return elements


async def _once(content: bytes) -> AsyncIterator[bytes]:
    yield content


def seen_by_owner_side(caller: Caller, instance: Instance) -> bool:
    """Whether what the caller writes or reads counts as seen by the instance owner's side: everyone's but the
    app's own service owner's (Storage's `isRead` rule)."""
    return caller.service_owner != instance.org


async def _store_element(ctx: tasks.TaskContext, data_type: str, content: bytes, content_type: str,
                         filename: str | None = None, *, by_app: bool = False) -> DataElement:
    """A data element the caller sent, or (`by_app`) one the app makes itself, which nobody has seen yet."""
    element_id = uuid.uuid4()
    stored = await storage.put_data_blob(ctx.runtime.blobs, ctx.instance.id, element_id, _once(content))
    element = storage.add_data_element_in_transaction(
        ctx.session, ctx.instance, element_id, stored, data_type=data_type, content_type=content_type,
        actor=actor_of(ctx.caller), filename=filename,
        is_read=not by_app and seen_by_owner_side(ctx.caller, ctx.instance))
    (await instance_elements(ctx)).append(element)
    ctx.scratch.pop(FORM_DATA, None)
    return element


async def instance_form_data(ctx: tasks.TaskContext) -> dict[str, dict[str, Any]]:
    """The instance's form data by data type (the first element of each appLogic type), read once per step."""
    if FORM_DATA not in ctx.scratch:
        models = _app_logic_types(ctx.app)
        found: dict[str, dict[str, Any]] = {}
        for element in await instance_elements(ctx):
            if element.data_type in models and element.data_type not in found:
                content = await storage.read_data_bytes(ctx.runtime.blobs, element)
                found[element.data_type] = form_data_json(ctx.app, element.data_type, content, element.content_type)
        ctx.scratch[FORM_DATA] = found
    data: dict[str, dict[str, Any]] = ctx.scratch[FORM_DATA]
    return data


# --- prefill from the registers ---------------------------------------------------------------------------------
async def prefill_sources(runtime: Runtime, caller: Caller, owner: authorization.PartyRef,
                          *configs: dict[str, Any] | None) -> PrefillSources:
    """The registers' values as app-lib's prefill names them, for the sources that apply to this owner and caller
    and that the prefill configurations take values from."""
    return await parties.registers_prefill_sources(runtime.database, caller, owner, sources=sources_named(*configs),
                                                   contact=takes_contact_details(*configs))


# --- one step of the process ------------------------------------------------------------------------------------
def condition_evaluator(ctx: tasks.TaskContext, data: dict[str, dict[str, Any]]) -> ConditionEvaluator:
    """Gateway conditions evaluated on the instance's form data (by the gateway's data type, else the first)."""
    instance = {"id": storage.instance_reference(ctx.instance), "appId": ctx.instance.app_id,
                "instanceOwner": {"partyId": str(ctx.instance.party_id)}}
    fallback = next(iter(data), "model")

    def evaluate_condition(expression: Any, data_type: str | None, action: str | None) -> Any:
        models = DataModels(data, default_data_type=data_type or fallback)
        try:
            return evaluate(expression, ExpressionContext(data=models, gateway_action=action, instance=instance,
                                                          process=ctx.instance.process))
        except ExpressionError as error:
            log.warning("gateway_condition_failed", app=ctx.app.id, error=str(error))
            return None

    return evaluate_condition


def _process_problem(error: ProcessError) -> Conflict:
    return Conflict(str(error), code=error.code)


def _publish(ctx: tasks.TaskContext, event_type: str) -> None:
    """An Altinn app event about the instance, published with the step's others when it ends (`_flush_events`)."""
    instance, base = ctx.instance, ctx.runtime.settings.base_url.rstrip("/")
    owner = storage.owner_of(instance)
    ctx.scratch.setdefault(APP_EVENTS, []).append(dict(
        source=f"{base}/{instance.app_id}/instances/{storage.instance_reference(instance)}",
        type=event_type, subject=f"/party/{instance.party_id}",
        alternativesubject=f"/person/{owner.identifier}" if owner.is_person else f"/org/{owner.identifier}",
        resource=f"{events.RESOURCE_PREFIX}app_{instance.app_id.replace('/', '_')}",
        resourceinstance=storage.instance_reference(instance)))


async def _flush_events(ctx: tasks.TaskContext) -> None:
    """The step's app events, stored in its transaction (together: one look for subscriptions that want them)."""
    await events.publish_many_in_transaction(ctx.session, ctx.scratch.pop(APP_EVENTS, []),
                                             publisher=ctx.scratch[PUBLISHER])


_publishers: dict[str, str] = {}


async def _publisher(runtime: Runtime, app: RunningApp) -> str:
    """The app's events are the service owner's: published as its organisation, so its subscriptions get them."""
    if app.org not in _publishers:
        owners = {owner.orgcode: owner.organization for owner in
                  await authorization.list_service_owners(runtime.database)}
        if app.org not in owners:
            return f"/app/{app.id}"
        _publishers[app.org] = f"/org/{owners[app.org]}"
    return _publishers[app.org]


def _auto_created_types(app: RunningApp) -> dict[str, str]:
    """The form data types a task creates on entering it (appLogic with autoCreate): data type -> task id."""
    return {data_type: str(spec.get("taskId")) for data_type, spec in _app_logic_types(app).items()
            if spec.get("taskId") and (spec.get("appLogic") or {}).get("autoCreate")}


async def _prepare(runtime: Runtime, app: RunningApp, caller: Caller, owner: authorization.PartyRef, *,
                   existing: set[str]) -> dict[str, Any]:
    """What a step needs from other components, asked before its first write (their calls write too: audit,
    registration on first use; an embedded database has one writer at a time): the registers' values when
    form data with a prefill configuration may be created (a type not in `existing`), and the owner with its
    register details (the receipt a service task writes names it). Returns the step's scratch."""
    scratch: dict[str, Any] = {PUBLISHER: await _publisher(runtime, app), PREFILL_SOURCES: PrefillSources(),
                               OWNER: owner}
    models = app.definition.models
    configs = [models[data_type].prefill for data_type in _auto_created_types(app)
               if data_type not in existing and data_type in models and models[data_type].prefill]
    if configs:
        scratch[PREFILL_SOURCES] = await prefill_sources(runtime, caller, owner, *configs)
    return scratch


def step_owner(ctx: tasks.TaskContext) -> authorization.PartyRef | None:
    """The instance owner's party as the registers name it, looked up before the step's first write."""
    party: authorization.PartyRef | None = ctx.scratch.get(OWNER)
    return party


async def _auto_create_form_data(ctx: tasks.TaskContext, prefill: dict[str, Any]) -> None:
    """The task's form data elements (appLogic with autoCreate) that do not exist yet, prefilled per the app."""
    wanted = [data_type for data_type, task in _auto_created_types(ctx.app).items() if task == ctx.task.id]
    if not wanted:
        return
    existing = {element.data_type for element in await instance_elements(ctx)}
    for data_type in wanted:
        if data_type in existing:
            continue
        model = ctx.app.definition.models.get(data_type)
        data = apply_prefill({}, (model.prefill if model else None) or {}, ctx.scratch[PREFILL_SOURCES], prefill)
        content, content_type = form_data_bytes(ctx.app, data_type, data)
        await _store_element(ctx, data_type, content, content_type, by_app=True)


async def _record(ctx: tasks.TaskContext, change: ProcessChange) -> None:
    for event_type, snapshot in change.events:
        await storage.record_event_in_transaction(ctx.session, ctx.instance, event_type, platform_user(ctx.caller),
                                                  process_info=snapshot)


async def _enter(ctx: tasks.TaskContext, engine: ProcessEngine, change: ProcessChange,
                 prefill: dict[str, Any]) -> None:
    """Apply a change: the new state and its events; then into the task it reached, running service tasks
    through to the next task a person works in (or to the end)."""
    for _ in range(MAX_SERVICE_TASKS_PER_STEP):
        storage.set_process_in_transaction(ctx.instance, change.state, actor_of(ctx.caller))
        await _record(ctx, change)
        if change.ended:
            _publish(ctx, "app.instance.process.completed")
            return
        task = engine.task(change.current_task or "")
        handler = tasks.handler_for(task)
        ctx.task = task
        _publish(ctx, f"app.instance.process.movedTo.{task.id}")
        # Back in a task it left before (a rejection, a gateway): its data may be changed again.
        storage.lock_data_elements_in_transaction(await instance_elements(ctx), _task_data_types(ctx),
                                                  actor_of(ctx.caller), locked=False)
        await _auto_create_form_data(ctx, prefill)
        await handler.on_enter(ctx)
        if not is_service_task(task):
            return
        await _check_leave(ctx, handler, None)
        change = await _move_on(ctx, engine, handler, None)
    raise Conflict(f"The process runs more than {MAX_SERVICE_TASKS_PER_STEP} service tasks in one step.",
                   code="process_loop")


async def _check_leave(ctx: tasks.TaskContext, handler: tasks.TaskTypeHandler, action: str | None) -> None:
    """The task's handler decides whether it may be left: 409 with the validation issues when it finds errors."""
    issues = await handler.before_leave(ctx, action or default_action(ctx.task))
    if tasks.errors_in(issues):
        raise Conflict(f"Task {ctx.task.id} has validation errors; correct them before moving on.",
                       code="validation_failed", extra={"validationIssues": issues})


async def _move_on(ctx: tasks.TaskContext, engine: ProcessEngine, handler: tasks.TaskTypeHandler,
                   action: str | None) -> ProcessChange:
    """Leave the current task with `action` along the gateways, its data locked; returns the change to apply."""
    data = await instance_form_data(ctx)
    try:
        change = engine.next(ctx.instance.process, utcnow(), condition_evaluator(ctx, data), action=action)
    except ProcessError as error:
        raise _process_problem(error) from None
    await handler.on_leave(ctx)
    storage.lock_data_elements_in_transaction(await instance_elements(ctx), _task_data_types(ctx),
                                              actor_of(ctx.caller))
    return change


def _task_data_types(ctx: tasks.TaskContext) -> set[str]:
    return {str(spec["id"]) for spec in ctx.app.definition.metadata.get("dataTypes") or []
            if isinstance(spec, dict) and spec.get("taskId") == ctx.task.id and spec.get("id")}


def _engine(app: RunningApp) -> ProcessEngine:
    if app.definition.process is None:
        raise Conflict(f"{app.id} has no process.", code="no_process")
    return ProcessEngine(app.definition.process)


# --- instantiation ----------------------------------------------------------------------------------------------
async def create_instance(runtime: Runtime, app: RunningApp, caller: Caller, template: InstanceTemplate,
                          *, language: str = "nb") -> s.InstancePublic:
    """A new instance of the app for the owner the caller names, its process started in the first task."""
    owner = await _owner(runtime, template.owner)
    check_party_type(app, owner)
    await access.require(runtime.database, caller, owner.identifier, app.id, "instantiate")
    engine = _engine(app)
    parts = [(part, _data_type(app, part.data_type)) for part in template.parts]
    placeholder = ProcessTask(id="", name=None, task_type=None, actions=[], kind="task")
    scratch = await _prepare(runtime, app, caller, owner, existing=set())
    async with runtime.database.transaction() as session:
        instance = await storage.create_instance_in_transaction(
            session, app_id=app.id, app_version=app.version, owner=storage.Owner(owner.party_id, owner.identifier),
            process={}, actor=actor_of(caller), due_before=template.due_before,
            visible_after=template.visible_after,
            read_status=storage.UNREAD if caller.service_owner is not None else storage.READ)
        ctx = tasks.TaskContext(session, runtime, app, instance, placeholder, caller, language,
                                {**scratch, ELEMENTS: []})
        await storage.record_event_in_transaction(session, instance, "Created", platform_user(caller))
        _publish(ctx, "app.instance.created")
        for part, spec in parts:
            await _store_part(ctx, part, spec)
        try:
            change = engine.start(utcnow(), condition_evaluator(ctx, await instance_form_data(ctx)))
        except ProcessError as error:
            raise _process_problem(error) from None
        await _enter(ctx, engine, change, template.prefill)
        await _flush_events(ctx)
        return await storage.public_instance_in_transaction(session, instance, runtime.settings.base_url,
                                                            made_here=True)


async def _store_part(ctx: tasks.TaskContext, part: DataPart, spec: dict[str, Any]) -> None:
    content_type = part.content_type.split(";")[0].strip().lower()
    # app-lib holds form data to its data type's content types too (a model of application/xml takes no JSON).
    allowed = [value.lower() for value in spec.get("allowedContentTypes") or []]
    if allowed and content_type not in allowed and "application/octet-stream" not in allowed:
        raise InvalidInput(f'{part.data_type} takes {", ".join(allowed)}, not "{content_type}".',
                           code="content_type_not_allowed")
    if spec.get("appLogic"):
        data = form_data_json(ctx.app, part.data_type, part.content, content_type)
        content, stored_type = form_data_bytes(ctx.app, part.data_type, data)
        await _store_element(ctx, part.data_type, content, stored_type)
        return
    max_mb = spec.get("maxSize")
    if isinstance(max_mb, int) and len(part.content) > max_mb * 1024 * 1024:
        raise storage.TooLarge(f"{part.data_type} takes files up to {max_mb} MB.")
    await _store_element(ctx, part.data_type, part.content, content_type, part.filename)


# --- reading, deleting, completing ------------------------------------------------------------------------------
async def _instance(session: AsyncSession, app: RunningApp, party_id: int, instance_id: uuid.UUID, *,
                    deleted_too: bool = False) -> Instance:
    """The app's instance of the party; a soft-deleted one (in the owner's bin) only to read or delete again."""
    instance = await storage.instance_row(session, instance_id, party_id=party_id)
    _check_instance(app, instance, deleted_too=deleted_too)
    return instance


async def _instance_with_elements(session: AsyncSession, app: RunningApp, party_id: int,
                                  instance_id: uuid.UUID) -> tuple[Instance, list[DataElement]]:
    """`_instance` (not deleted) and its data elements, in one statement."""
    instance, elements = await storage.instance_with_elements(session, instance_id, party_id=party_id)
    _check_instance(app, instance, deleted_too=False)
    return instance, elements


def _check_instance(app: RunningApp, instance: Instance, *, deleted_too: bool) -> None:
    if instance.app_id != app.id or (instance.soft_deleted_at is not None and not deleted_too):
        raise NotFound("No such instance.", code="instance_not_found")


async def _app_of(catalogue: AppCatalogue, app: RunningApp, instance: Instance) -> RunningApp:
    """The app at the version the instance was started on (a later deployment does not change a running form)."""
    if instance.app_version == app.version:
        return app
    definition, version = await catalogue.get(app.id, instance.app_version)
    return RunningApp(definition, version)


def _task_and_end(instance: Instance) -> tuple[str | None, str | None]:
    process = instance.process or {}
    return (process.get("currentTask") or {}).get("elementId"), process.get("endEvent")


async def _require(runtime: Runtime, caller: Caller, instance: Instance, action: str) -> None:
    task, end_event = _task_and_end(instance)
    await access.require(runtime.database, caller, instance.owner_identifier, instance.app_id, action, task=task,
                         end_event=end_event)


async def get_instance(runtime: Runtime, app: RunningApp, caller: Caller, party_id: int,
                       instance_id: uuid.UUID) -> s.InstancePublic:
    async with runtime.database.transaction() as session:
        instance = await _instance(session, app, party_id, instance_id, deleted_too=True)
        await _require(runtime, caller, instance, "read")
        public = await storage.public_instance_in_transaction(session, instance, runtime.settings.base_url)
    await _seen(runtime, caller, instance)
    return public


async def _seen(runtime: Runtime, caller: Caller, instance: Instance) -> None:
    """The instance owner's side read the instance: Read from now on (app-lib answers with what it read before)."""
    if seen_by_owner_side(caller, instance) and instance.read_status != storage.READ:
        await storage.mark_read(runtime.database, instance.id)


async def file_scan_result(runtime: Runtime, app: RunningApp, caller: Caller, party_id: int,
                           instance_id: uuid.UUID) -> dict[str, Any]:
    """app-lib's InstanceFileScanResult: each scanned data element's verdict, and the instance's: Infected if any
    is, else Pending if any is, else Clean (NotApplicable with nothing scanned)."""
    async with runtime.database.transaction() as session:
        instance = await _instance(session, app, party_id, instance_id)
        await _require(runtime, caller, instance, "read")
        elements = (await storage.data_elements_of(session, [instance.id]))[instance.id]
    scanned = [{"id": str(element.id), "fileScanResult": element.file_scan_result} for element in elements
               if element.file_scan_result != "NotApplicable"]
    verdicts = {item["fileScanResult"] for item in scanned}
    overall = next((verdict for verdict in ("Infected", "Pending") if verdict in verdicts),
                   "Clean" if scanned else "NotApplicable")
    return {"id": storage.instance_reference(instance), "fileScanResult": overall, "data": scanned}


async def enriched_instance(runtime: Runtime, catalogue: AppCatalogue, app: RunningApp, caller: Caller,
                            party_id: int, instance_id: uuid.UUID) -> dict[str, Any]:
    """app-lib's EnrichedInstanceResponse, what app-frontend-react reads first on an instance: the instance with its
    process state as GET process shows it to the caller, and its owner's party."""
    async with runtime.database.transaction() as session:
        instance = await _instance(session, app, party_id, instance_id)
        await _require(runtime, caller, instance, "read")
        public = await storage.public_instance_in_transaction(session, instance, runtime.settings.base_url)
    await _seen(runtime, caller, instance)
    running = await _app_of(catalogue, app, instance)
    return await _enriched(runtime, running, caller, instance, public)


async def _enriched(runtime: Runtime, app: RunningApp, caller: Caller, instance: Instance,
                    public: s.InstancePublic) -> dict[str, Any]:
    document: dict[str, Any] = public.model_dump(mode="json", exclude_none=True)
    document["process"] = await _app_process_state(runtime, app, caller, instance, with_tasks=False)
    owner = await parties.party_document(runtime.database, Actor(caller.actor), instance.party_id)
    document["instanceOwner"] = {**document["instanceOwner"], "party": parties.masked(owner)}
    return document


async def delete_instance(runtime: Runtime, app: RunningApp, caller: Caller, party_id: int,
                          instance_id: uuid.UUID, *, hard: bool) -> s.InstancePublic:
    """Soft or hard delete (app-lib's DELETE); recorded as a Deleted event."""
    async with runtime.database.transaction() as session:
        instance = await _instance(session, app, party_id, instance_id, deleted_too=True)
        await _require(runtime, caller, instance, "delete")
        await storage.delete_instance_in_transaction(session, instance, hard=hard, actor=actor_of(caller),
                                                     user=platform_user(caller))
        return await storage.public_instance_in_transaction(session, instance, runtime.settings.base_url)


async def complete_instance(runtime: Runtime, app: RunningApp, caller: Caller, party_id: int,
                            instance_id: uuid.UUID) -> s.InstancePublic:
    """The service owner confirms it has what it needs (once; a retry changes nothing)."""
    async with runtime.database.transaction() as session:
        instance = await _instance(session, app, party_id, instance_id)
        await _require(runtime, caller, instance, "complete")
        stakeholder = caller.service_owner or caller.subject
        if storage.confirm_complete_in_transaction(instance, stakeholder, actor_of(caller)):
            await storage.record_event_in_transaction(session, instance, "ConfirmedComplete", platform_user(caller))
        return await storage.public_instance_in_transaction(session, instance, runtime.settings.base_url)


async def set_substatus(runtime: Runtime, app: RunningApp, caller: Caller, party_id: int, instance_id: uuid.UUID,
                        substatus: s.Substatus) -> s.InstancePublic:
    """The service owner's word on where the case stands; only the app's own service owner sets it (app-lib's
    rule), and only on an instance its policy lets it read."""
    if caller.service_owner != app.org:
        raise Forbidden("Only the app's service owner sets the substatus.", code="not_service_owner")
    if not substatus.label:
        raise InvalidInput("A substatus needs a label.", code="substatus_label_missing")
    async with runtime.database.transaction() as session:
        instance = await _instance(session, app, party_id, instance_id)
        await _require(runtime, caller, instance, "read")
        storage.set_substatus_in_transaction(instance, substatus, actor_of(caller))
        await storage.record_event_in_transaction(session, instance, "SubstatusUpdated", platform_user(caller))
        return await storage.public_instance_in_transaction(session, instance, runtime.settings.base_url)


async def _changer_name(runtime: Runtime, changed_by: str) -> str:
    """Who changed an instance last, by name: `lastChangedBy` holds a user id, or an organisation number."""
    if not changed_by.isdigit():
        return changed_by
    if len(changed_by) == 9:
        return (await authorization.party_of(runtime.database, changed_by)).name or changed_by
    party = await authorization.party_by_id(runtime.database, int(changed_by))  # a person's user id is their party
    return party.name if party is not None and party.name else changed_by


async def active_instances(runtime: Runtime, app: RunningApp, caller: Caller, party_id: int) -> list[dict[str, Any]]:
    """The party's unfinished instances of the app (app-lib's ActiveInstance: who changed it last by name), the
    last changed first."""
    party = await access.party(runtime.database, party_id)
    await access.require(runtime.database, caller, party.identifier, app.id, "read")
    async with runtime.database.transaction() as session:
        rows = await storage.active_instances(session, app.id, party_id)
    names = {changed_by: await _changer_name(runtime, changed_by)
             for changed_by in {row.last_changed_by for row in rows}}
    return [{"id": storage.instance_reference(row), "lastChanged": _iso(row.last_changed_at),
             "lastChangedBy": names[row.last_changed_by], "presentationTexts": row.presentation_texts,
             "dueBefore": _iso(row.due_before) if row.due_before else None} for row in rows]


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


# --- the process over the API -------------------------------------------------------------------------------
async def _task_actions(runtime: Runtime, caller: Caller, instance: Instance, task: ProcessTask) -> dict[str, bool]:
    wanted = ["read", "write", *TYPE_ACTIONS.get(task.task_type or "", ()), *task.actions]
    decided: dict[str, bool] = {}
    for action in dict.fromkeys(wanted):
        decided[action] = await access.permits(runtime.database, caller, instance.owner_identifier, instance.app_id,
                                               action, task=task.id)
    return decided


async def process_state(runtime: Runtime, catalogue: AppCatalogue, app: RunningApp, caller: Caller, party_id: int,
                        instance_id: uuid.UUID) -> dict[str, Any]:
    """The process state as app-lib serves it (AppProcessState): the current task with what the caller may do in
    it, and the process's tasks."""
    async with runtime.database.transaction() as session:
        instance = await _instance(session, app, party_id, instance_id)
    await _require(runtime, caller, instance, "read")
    running = await _app_of(catalogue, app, instance)
    return await _app_process_state(runtime, running, caller, instance, with_tasks=True)


async def _app_process_state(runtime: Runtime, app: RunningApp, caller: Caller, instance: Instance, *,
                             with_tasks: bool) -> dict[str, Any]:
    """AppProcessState; app-lib lists the process's tasks (`processTasks`) in GET process only."""
    process = dict(instance.process or {})
    definition = app.definition.process
    current = process.get("currentTask")
    if current and definition is not None and current.get("elementId") in definition.tasks:
        task = definition.tasks[current["elementId"]]
        actions = await _task_actions(runtime, caller, instance, task)
        process["currentTask"] = {
            **current, "actions": actions, "read": actions["read"], "write": actions["write"], "elementType": "Task",
            "userActions": [{"id": action, "authorized": actions.get(action, False),
                             "type": "ServerAction" if task.action_types.get(action) == "serverAction"
                             else "ProcessAction"} for action in task.actions],
        }
    if definition is not None and with_tasks:
        process["processTasks"] = [{"altinnTaskType": task.task_type, "elementId": task.id, "elementType": "Task"}
                                   for task in definition.tasks.values()]
    return process


async def _may_move_on(runtime: Runtime, caller: Caller, instance: Instance, task: ProcessTask,
                       action: str | None) -> None:
    """The PDP decides: the named action, or (none named) any action that lets a user leave this type of task."""
    candidates = (action,) if action else actions_allowing_next(task)
    for candidate in candidates:
        if await access.permits(runtime.database, caller, instance.owner_identifier, instance.app_id, candidate,
                                task=task.id):
            return
    raise Forbidden(f"You may not {' or '.join(candidates)} in task {task.id} of {instance.app_id} for this party.",
                    code="not_permitted")


async def process_next(runtime: Runtime, catalogue: AppCatalogue, app: RunningApp, caller: Caller, party_id: int,
                       instance_id: uuid.UUID, *, action: str | None = None, on_behalf_of: str | None = None,
                       language: str = "nb", return_instance: bool = False) -> dict[str, Any]:
    """Leave the current task with `action` (the task's default when None; done for the organisation
    `on_behalf_of` where the action is one, such as `sign`) and go on to the next task a person works in, or to the
    end. Returns the new process state, or (`return_instance`) the instance as it is after the step with it
    (app-lib's EnrichedInstanceResponse)."""
    async with runtime.database.transaction() as session:
        instance, elements = await _instance_with_elements(session, app, party_id, instance_id)
        running = await _app_of(catalogue, app, instance)
        engine = _engine(running)
        current = (instance.process or {}).get("currentTask")
        if not instance.process or instance.process.get("ended") or not current:
            raise Conflict("The process has ended." if instance.process else "The process has not started.",
                           code="process_ended" if instance.process else "process_not_started")
        try:
            task = engine.task(current["elementId"])
        except ProcessError as error:
            raise _process_problem(error) from None
        if action is not None and action not in task.actions and action not in actions_allowing_next(task) \
                and action not in TYPE_ACTIONS.get(task.task_type or "", ()):
            raise Conflict(f'The action "{action}" does not belong to task {task.id}.', code="invalid_action")
        await _may_move_on(runtime, caller, instance, task, action)
        handler = tasks.handler_for(task)
        # The owner by the identifier the instance keeps: from the registers' cache, not a query by its party id.
        owner = await authorization.party_of(runtime.database, instance.owner_identifier)
        scratch = await _prepare(runtime, running, caller, owner,
                                 existing={element.data_type for element in elements})
        scratch[ELEMENTS], scratch[ON_BEHALF_OF] = elements, on_behalf_of
        ctx = tasks.TaskContext(session, runtime, running, instance, task, caller, language, scratch)
        await _check_leave(ctx, handler, action)
        await storage.claim_revision_in_transaction(session, instance)  # decided on what was read: claim it
        await _enter(ctx, engine, await _move_on(ctx, engine, handler, action), {})
        await _flush_events(ctx)
        public = await storage.public_instance_in_transaction(session, instance, runtime.settings.base_url) \
            if return_instance else None
    if public is not None:
        return await _enriched(runtime, running, caller, instance, public)
    return await _app_process_state(runtime, running, caller, instance, with_tasks=False)


def acting_on_behalf_of(ctx: tasks.TaskContext) -> str | None:
    """The organisation the step's action is done for (process/next's `actionOnBehalfOf`), if any."""
    organisation: str | None = ctx.scratch.get(ON_BEHALF_OF)
    return organisation


async def next_elements(runtime: Runtime, app: RunningApp, caller: Caller, party_id: int,
                        instance_id: uuid.UUID) -> list[str]:
    """app-lib's obsolete GET process/next: no elements to choose between (an action names the way since v8);
    the start events of a process not started, and 409 for one that has ended."""
    async with runtime.database.transaction() as session:
        instance = await _instance(session, app, party_id, instance_id)
    await _require(runtime, caller, instance, "read")
    if not instance.process:
        return list(_engine(app).definition.start_events)
    if not (instance.process.get("currentTask") or {}).get("elementId"):
        raise Conflict("The instance has no current task.", code="process_ended")
    return []


async def complete_process(runtime: Runtime, catalogue: AppCatalogue, app: RunningApp, caller: Caller, party_id: int,
                           instance_id: uuid.UUID, *, language: str = "nb") -> dict[str, Any]:
    """app-lib's process/completeProcess: `next` with each task's own action until the process ends, each step
    authorized and validated as a `next` of its own (the first that cannot be taken answers, and the steps before
    it stay taken, as in app-lib)."""
    async with runtime.database.transaction() as session:
        instance = await _instance(session, app, party_id, instance_id)
    if not instance.process:
        raise Conflict("The process has not started.", code="process_not_started")
    if instance.process.get("ended"):
        raise Conflict("The process has ended: it cannot be completed again.", code="process_ended")
    for _ in range(MAX_COMPLETE_PROCESS_STEPS):
        state = await process_next(runtime, catalogue, app, caller, party_id, instance_id, language=language)
        if state.get("ended"):
            return state
    raise Conflict(f"The process did not end in {MAX_COMPLETE_PROCESS_STEPS} steps: its definition loops.",
                   code="process_loop")


async def resume_process(runtime: Runtime, catalogue: AppCatalogue, app: RunningApp, caller: Caller, party_id: int,
                         instance_id: uuid.UUID) -> dict[str, Any]:
    """app-lib's process/resume, which restarts a task's workflow that failed midway. A step here commits whole
    or not at all, so no task ever waits to be resumed: 409 (once the caller may move the task on), as app-lib
    answers for a task that does not."""
    async with runtime.database.transaction() as session:
        instance = await _instance(session, app, party_id, instance_id)
    current = (instance.process or {}).get("currentTask")
    if not current:
        raise Conflict("The instance has no current task.", code="process_ended")
    try:
        task = _engine(await _app_of(catalogue, app, instance)).task(current["elementId"])
    except ProcessError as error:
        raise _process_problem(error) from None
    await _may_move_on(runtime, caller, instance, task, None)
    raise Conflict("The current task does not have a failed workflow that can be resumed.", code="nothing_to_resume")


async def process_start(runtime: Runtime, app: RunningApp, caller: Caller, party_id: int,
                        instance_id: uuid.UUID) -> dict[str, Any]:
    """app-lib's process/start: instances here start their process when created, so this only confirms it."""
    async with runtime.database.transaction() as session:
        instance = await _instance(session, app, party_id, instance_id)
    await _require(runtime, caller, instance, "read")
    raise Conflict("The process of this instance has started already.", code="process_already_started")


async def process_history(runtime: Runtime, app: RunningApp, caller: Caller, party_id: int,
                          instance_id: uuid.UUID) -> s.ProcessHistoryList:
    async with runtime.database.transaction() as session:
        instance = await _instance(session, app, party_id, instance_id)
    await _require(runtime, caller, instance, "read")
    return await storage.process_history(runtime.database, instance_id, party_id=party_id)
