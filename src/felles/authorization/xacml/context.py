"""The evaluation context of one individual decision request, and the attribute-provider (PIP) interface."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, Protocol, runtime_checkable

from felles.authorization.xacml import datatypes as dt
from felles.authorization.xacml.model import (
    CURRENT_DATE,
    CURRENT_DATETIME,
    CURRENT_TIME,
    ENVIRONMENT,
    STATUS_PROCESSING_ERROR,
    Attribute,
    AttributeKey,
    Attributes,
    EvaluationError,
    PolicyIdentifier,
)


@runtime_checkable
class AttributeProvider(Protocol):
    """A Policy Information Point: supplies attributes the request does not carry.

    The engine asks only for attributes that a policy it evaluates refers to and that the request lacks
    (for Altinn: ``urn:altinn:rolecode`` and ``urn:altinn:accesspackage`` of the subject for the resource party).
    Return the values, as text in the key's data type or as already typed values; return nothing if unknown.
    Read the request with ``context.request_values(...)``. Raise ``EvaluationError`` to make the decision
    Indeterminate (for example when the source is unreachable).
    """

    def find_attribute(self, key: AttributeKey, context: EvaluationContext) -> Iterable[Any]: ...


@runtime_checkable
class AsyncAttributeProvider(Protocol):
    """The same as ``AttributeProvider`` for sources that are awaited (database, HTTP).

    ``PolicyDecisionPoint.decide_async`` asks it up front, concurrently, for every attribute that the
    policies applicable to the request refer to and the request lacks, then evaluates without waiting.
    """

    async def find_attribute(self, key: AttributeKey, context: EvaluationContext) -> Iterable[Any]: ...


class EvaluationContext:
    """Attribute lookup for one individual request: request values first, then the provider, then the clock."""

    __slots__ = ("_bags", "_by_id", "_content", "_provider", "now", "policy_identifiers")

    def __init__(
        self,
        attributes: list[Attributes],
        provider: AttributeProvider | None = None,
        now: datetime | None = None,
        return_policy_identifiers: bool = False,
    ) -> None:
        bags: dict[tuple[str, str, str], tuple[Any, ...]] = {}
        by_id: dict[tuple[str, str], list[Any]] = {}
        content: dict[str, Any] = {}
        for entity in attributes:
            category = entity.category
            if entity.content is not None:
                content[category] = entity.content
            for attribute in entity.attributes:
                key = (category, attribute.attribute_id, attribute.data_type)
                bags[key] = bags.get(key, ()) + attribute.values
                by_id.setdefault((category, attribute.attribute_id), []).append(attribute)
        self._bags = bags
        self._by_id = by_id
        self._content = content
        self._provider = provider
        self.now = now
        # (identifier, decision) of every policy evaluated to other than NotApplicable, for ReturnPolicyIdList.
        self.policy_identifiers: list[tuple[PolicyIdentifier, int]] | None = (
            [] if return_policy_identifiers else None)

    def request_values(self, category: str, attribute_id: str) -> tuple[Any, ...]:
        """All values the request itself carries for an attribute, whatever their data type or issuer."""
        return tuple(v for a in self._by_id.get((category, attribute_id), ()) for v in a.values)

    def content(self, category: str) -> Any:
        return self._content.get(category)

    def add_values(self, key: AttributeKey, values: Iterable[Any]) -> None:
        """Add attribute values (used by the async provider prefetch and by callers enriching a request)."""
        typed = tuple(dt.coerce_value(key.data_type, v) for v in values)
        lookup = (key.category, key.attribute_id, key.data_type)
        self._bags[lookup] = self._bags.get(lookup, ()) + typed
        self._by_id.setdefault((key.category, key.attribute_id), []).append(
            Attribute(key.attribute_id, key.data_type, typed, key.issuer)
        )

    def has_attribute(self, key: AttributeKey) -> bool:
        return (key.category, key.attribute_id, key.data_type) in self._bags

    def bag(self, key: AttributeKey) -> tuple[Any, ...]:
        if key.issuer is None:
            found = self._bags.get((key.category, key.attribute_id, key.data_type))
            if found is not None:
                return found
        else:
            attributes = self._by_id.get((key.category, key.attribute_id))
            if attributes:
                values = tuple(
                    v for a in attributes if a.data_type == key.data_type and a.issuer == key.issuer
                    for v in a.values
                )
                if values:
                    return values
        return self._find_missing(key)

    def _find_missing(self, key: AttributeKey) -> tuple[Any, ...]:
        values: tuple[Any, ...] = ()
        if self._provider is not None:
            try:
                values = tuple(dt.coerce_value(key.data_type, v)
                               for v in self._provider.find_attribute(key, self) or ())
            except EvaluationError:
                raise
            except (ValueError, TypeError) as exc:
                raise EvaluationError(STATUS_PROCESSING_ERROR, f"attribute provider: {exc}") from None
        if not values and key.category == ENVIRONMENT:
            values = self._current(key)
        if key.issuer is None:
            # Remember what the provider said (even "nothing") so it is asked once per request.
            self._bags[(key.category, key.attribute_id, key.data_type)] = values
        return values

    def _current(self, key: AttributeKey) -> tuple[Any, ...]:
        """The PDP supplies current-time, -date and -dateTime when the request does not (spec §10.2.5)."""
        if self.now is None:
            self.now = datetime.now(UTC)
        if key.attribute_id == CURRENT_TIME and key.data_type == dt.TIME:
            return (dt.time_from_datetime(self.now),)
        if key.attribute_id == CURRENT_DATE and key.data_type == dt.DATE:
            return (dt.date_from_datetime(self.now),)
        if key.attribute_id == CURRENT_DATETIME and key.data_type == dt.DATETIME:
            return (dt.datetime_from_datetime(self.now),)
        return ()
