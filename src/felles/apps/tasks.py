"""Task types of the process, registered by name, so that each part of the app runtime plugs its own in.

A BPMN task names its type (`altinn:taskType`: data, confirmation, feedback, signing, payment, pdf …). The runtime
asks the handler registered for that type what to do when the process enters the task (`on_enter`), whether it
may leave it with an action (`before_leave`: validation issues, none = it may), and what to do as it leaves
(`on_leave`). Every call happens inside the transaction of the process step, with the instance row in it, so a
step commits whole or not at all. A handler that must refuse a step outright (feedback: only the service owner
moves on) raises a `Problem`.

Service tasks (pdf, eFormidling …) have no person in them: the runtime leaves them as soon as it has entered them.
Validators (`register_validator`) check the form data of data tasks before they are left; the data part registers
schema, required, expression and attachment validation there.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from felles.apps.access import Caller
from felles.apps.definition import ProcessTask
from felles.apps.deployment import RunningApp
from felles.core.errors import Conflict, Forbidden
from felles.core.runtime import Runtime
from felles.storage.models import Instance

log = structlog.get_logger("felles.apps.tasks")

ERROR = 1  # ValidationIssueSeverity.Error: the issues that keep a task from being left


@dataclass
class TaskContext:
    """One process step's view of a task: the open transaction, the instance row and who acts.

    Write through `session` only: a handler that called another component's function opening a transaction of
    its own that writes would wait for itself on the embedded database (one writer at a time). Blobs go to
    `runtime.blobs` before the rows that point at them."""

    session: AsyncSession
    runtime: Runtime
    app: RunningApp
    instance: Instance
    task: ProcessTask
    caller: Caller
    language: str = "nb"
    # Shared between the calls of one step (e.g. form data read once by several validators).
    scratch: dict[str, Any] = field(default_factory=dict)


class TaskTypeHandler(Protocol):
    task_type: str
    actions: tuple[str, ...]  # the process actions of the type (besides read/write)

    async def on_enter(self, ctx: TaskContext) -> None: ...

    async def before_leave(self, ctx: TaskContext, action: str) -> list[dict[str, Any]]: ...

    async def on_leave(self, ctx: TaskContext) -> None: ...


Validator = Callable[[TaskContext], Awaitable[list[dict[str, Any]]]]

_handlers: dict[str, TaskTypeHandler] = {}
_validators: list[Validator] = []


def register_task_type(handler: TaskTypeHandler) -> TaskTypeHandler:
    """Register (or replace) the handler of one task type."""
    _handlers[handler.task_type] = handler
    return handler


def registered_task_types() -> dict[str, TaskTypeHandler]:
    return dict(_handlers)


def handler_for(task: ProcessTask) -> TaskTypeHandler:
    """The handler of the task's type; an unknown type is a 409, since the process cannot go into the task."""
    handler = _handlers.get(task.task_type or "")
    if handler is None:
        raise Conflict(f'Task {task.id} has the task type "{task.task_type}", which this platform cannot run.',
                       code="unknown_task_type")
    return handler


def register_validator(validator: Validator) -> Validator:
    """Add a validator of data tasks: `async fn(ctx) -> issues` (ValidationIssue JSON, severity 1 = error)."""
    if validator not in _validators:
        _validators.append(validator)
    return validator


def unregister_validator(validator: Validator) -> None:
    if validator in _validators:
        _validators.remove(validator)


async def data_task_issues(ctx: TaskContext) -> list[dict[str, Any]]:
    """Every registered validator's issues for the task's data."""
    issues: list[dict[str, Any]] = []
    for validator in _validators:
        issues.extend(await validator(ctx))
    return issues


def errors_in(issues: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [issue for issue in issues if issue.get("severity") == ERROR]


class DataTask:
    """Filling in a form: leaving it needs valid data."""

    task_type = "data"
    actions: tuple[str, ...] = ()

    async def on_enter(self, ctx: TaskContext) -> None:
        return None

    async def before_leave(self, ctx: TaskContext, action: str) -> list[dict[str, Any]]:
        return await data_task_issues(ctx)

    async def on_leave(self, ctx: TaskContext) -> None:
        return None


class ConfirmationTask:
    """The person confirms what was filled in (action `confirm`)."""

    task_type = "confirmation"
    actions = ("confirm",)

    async def on_enter(self, ctx: TaskContext) -> None:
        return None

    async def before_leave(self, ctx: TaskContext, action: str) -> list[dict[str, Any]]:
        return []

    async def on_leave(self, ctx: TaskContext) -> None:
        return None


class FeedbackTask:
    """The instance waits for the service owner (a reply, a decision); only the app's owner moves it on."""

    task_type = "feedback"
    actions: tuple[str, ...] = ()

    async def on_enter(self, ctx: TaskContext) -> None:
        return None

    async def before_leave(self, ctx: TaskContext, action: str) -> list[dict[str, Any]]:
        if ctx.caller.service_owner != ctx.app.org:
            raise Forbidden("This task waits for the service owner: only they can move the process on.",
                            code="feedback_awaits_service_owner")
        return []

    async def on_leave(self, ctx: TaskContext) -> None:
        return None


class EFormidlingTask:
    """Shipping the submission through eFormidling. Felles has no eFormidling integration point yet: the task
    is logged and passed, so that apps with it run to their end."""

    task_type = "eFormidling"
    actions: tuple[str, ...] = ()

    async def on_enter(self, ctx: TaskContext) -> None:
        log.info("eformidling_not_sent", app=ctx.app.id, instance=str(ctx.instance.id), task=ctx.task.id)

    async def before_leave(self, ctx: TaskContext, action: str) -> list[dict[str, Any]]:
        return []

    async def on_leave(self, ctx: TaskContext) -> None:
        return None


for _builtin in (DataTask(), ConfirmationTask(), FeedbackTask(), EFormidlingTask()):
    register_task_type(_builtin)
