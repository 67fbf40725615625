"""What an expression can see while it is evaluated: data models, layout, instance, texts, settings."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import UTC, tzinfo
from typing import TYPE_CHECKING, Any

from felles.apps.expressions.errors import ExpressionError

if TYPE_CHECKING:
    from felles.apps.layout import FormState, Node


@dataclass(slots=True)
class DataModels:
    """Form data by data type; ``default_data_type`` answers ``["dataModel", path]`` without a data type."""

    models: dict[str, Any] = field(default_factory=dict)
    default_data_type: str = "default"

    def get(self, data_type: str | None) -> Any:
        key = data_type or self.default_data_type
        try:
            return self.models[key]
        except KeyError:
            raise ExpressionError(f"Data model with type {key} not found") from None


@dataclass(slots=True)
class ExpressionContext:
    """Everything the functions read. ``node`` is the component (and row) the expression belongs to."""

    data: DataModels = field(default_factory=DataModels)
    form: FormState | None = None
    node: Node | None = None
    page: str | None = None
    instance: dict[str, Any] | None = None
    process: dict[str, Any] | None = None
    permissions: dict[str, Any] | None = None
    frontend_settings: dict[str, Any] = field(default_factory=dict)
    text_resources: dict[str, dict[str, Any]] = field(default_factory=dict)
    language: str = "nb"
    positional_arguments: list[Any] | None = None
    value_arguments: dict[str, Any] | None = None
    code_lists: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    external_apis: dict[str, Any] = field(default_factory=dict)
    gateway_action: str | None = None
    data_elements: list[dict[str, Any]] = field(default_factory=list)
    stateless: bool = False
    time_zone: tzinfo = UTC
    # an explicit row (indexed data path) for expressions evaluated for a data field rather than a
    # component, as validations in *.validation.json are
    row_path: tuple[tuple[str, int | None], ...] | None = None
    # the indexed data path of ``node``'s row, filled in by FormState.context_at (a pure function of the
    # node, so it stays valid when the data changes); saves a lookup per ``["dataModel", ...]``
    node_path: tuple[tuple[str, int | None], ...] | None = None

    def at(self, node: Node | None, page: str | None = None) -> ExpressionContext:
        """The same context, evaluating on behalf of another component (or row)."""
        moved = copy.copy(self)
        moved.node = node
        moved.node_path = None
        moved.page = page if page is not None else (node.page if node is not None else self.page)
        return moved

    @property
    def current_task_id(self) -> str:
        task = (self.process or {}).get("currentTask") or {}
        return str(task.get("elementId") or "Task_1")
