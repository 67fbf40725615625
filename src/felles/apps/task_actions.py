"""User actions in the current task of an instance (app-lib's `POST …/actions`), and reading a task's state.

An action (`sign`, `pay`, or an app's own server action) is done in the instance's current task by a handler
registered under the action's name (`register_action`), once the app's policy permits the caller that action in that
task. A handler runs inside one transaction with the instance row: what it changes commits whole or not at all. Its
result is app-lib's UserActionResponse: the instance as it is afterwards, and what the client should do next (go to a
payment page, say). An action nobody handles is a 404, as in app-lib; moving the process (`reject`, `confirm`) is
`process/next`'s.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from felles.apps import access
from felles.apps.deployment import AppCatalogue, RunningApp
from felles.apps.tasks import TaskContext
from felles.core.errors import Conflict, InvalidInput, NotFound
from felles.core.runtime import Runtime
from felles.storage import service as storage
from felles.storage.models import Instance


@dataclass(frozen=True)
class InstanceCall:
    """Which instance of which app, asked by whom, in which language."""

    runtime: Runtime
    catalogue: AppCatalogue
    app: RunningApp
    caller: access.Caller
    party_id: int
    instance_id: uuid.UUID
    language: str = "nb"


@dataclass(frozen=True)
class UserAction:
    """app-lib's UserActionRequest."""

    action: str
    button_id: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    on_behalf_of: str | None = None


@dataclass
class ActionResult:
    """What an action asks of the client (app-lib's UserActionResult)."""

    redirect_url: str | None = None
    client_actions: list[dict[str, Any]] | None = None
    updated_data_models: dict[str, Any] | None = None


ActionHandler = Callable[[TaskContext, UserAction], Awaitable[ActionResult]]
_actions: dict[str, ActionHandler] = {}


def register_action(action: str, handler: ActionHandler) -> ActionHandler:
    """Register (or replace) the handler of a user action."""
    _actions[action] = handler
    return handler


@dataclass
class OpenedInstance:
    session: AsyncSession
    instance: Instance
    app: RunningApp  # at the version the instance runs on


@asynccontextmanager
async def opened_instance(call: InstanceCall, action: str, *, lock: bool = False) -> AsyncIterator[OpenedInstance]:
    """The instance in one transaction, once the app's policy permits the caller `action` in its current task (or
    at its end event)."""
    async with call.runtime.database.transaction() as session:
        instance = await storage.instance_row(session, call.instance_id, party_id=call.party_id, lock=lock)
        if instance.app_id != call.app.id or instance.soft_deleted_at is not None:
            raise NotFound("No such instance.", code="instance_not_found")
        running = call.app
        if instance.app_version != running.version:
            running = RunningApp(*await call.catalogue.get(running.id, instance.app_version))
        current = (instance.process.get("currentTask") or {}).get("elementId")
        await access.require(call.runtime.database, call.caller, instance.owner_identifier, instance.app_id,
                             action, task=current, end_event=None if current else instance.process.get("endEvent"))
        yield OpenedInstance(session, instance, running)


@asynccontextmanager
async def current_task(call: InstanceCall, action: str, *, task_id: str | None = None,
                       lock: bool = False) -> AsyncIterator[TaskContext]:
    """The instance's current task (or, for reading, the task `task_id` it has been in) in one transaction, once the
    app's policy permits the caller `action` in it."""
    async with opened_instance(call, action, lock=lock) as opened:
        wanted = task_id or (opened.instance.process.get("currentTask") or {}).get("elementId")
        process = opened.app.definition.process
        if wanted is None or process is None or wanted not in process.tasks:
            raise Conflict("The instance is in no task: its process has ended or not started.",
                           code="no_current_task")
        yield TaskContext(opened.session, call.runtime, opened.app, opened.instance, process.tasks[wanted],
                          call.caller, call.language)


def public_element(ctx: TaskContext, element: Any) -> dict[str, Any]:
    return storage.public_data_element(element, ctx.instance, ctx.runtime.settings.base_url).model_dump(
        mode="json", exclude_none=True)


async def perform_action(call: InstanceCall, request: UserAction) -> dict[str, Any]:
    """Do `request.action` in the current task: app-lib's UserActionResponse."""
    if not request.action:
        raise InvalidInput("The request names no action.", code="action_missing")
    handler = _actions.get(request.action)
    async with current_task(call, request.action, lock=True) as ctx:
        if handler is None:
            raise NotFound(f'No handler for the action "{request.action}".', code="action_not_found")
        # Decided on the instance as read: a concurrent change in between (another signature, say) is a 409.
        await storage.claim_revision_in_transaction(ctx.session, ctx.instance)
        result = await handler(ctx, request)
        instance = await storage.public_instance_in_transaction(ctx.session, ctx.instance,
                                                                ctx.runtime.settings.base_url)
    return {"instance": instance.model_dump(mode="json", exclude_none=True),
            "updatedDataModels": result.updated_data_models, "updatedValidationIssues": None,
            "clientActions": result.client_actions, "error": None, "redirectUrl": result.redirect_url}
