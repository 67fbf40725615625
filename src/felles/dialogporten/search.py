"""Searching dialogs, for service owners and end users alike: Dialogporten's filters, its limits on how many
values a filter may list, free text, ordering and keyset paging with continuation tokens.

The next page starts strictly after the last row's (order value, id), so dialogs written meanwhile never shift
a page; the token is signed so that a client cannot forge a position."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, String, and_, cast, exists, or_, select

from felles.core.errors import InvalidInput
from felles.core.paging import ContinuationTokens, page_size
from felles.dialogporten import fulltext
from felles.dialogporten.models import Dialog, DialogSeenLog
from felles.dialogporten.schemas import FOLDER_LABELS, DeletedFilter

# Dialogporten's application-level query limits (GET /api/v1/metadata/limits).
END_USER_LIMITS = {"maxPartyFilterValues": 100, "maxServiceResourceFilterValues": 20, "maxOrgFilterValues": 20,
                   "maxExtendedStatusFilterValues": 20}
SERVICE_OWNER_LIMITS = {"maxPartyFilterValues": 100, "maxServiceResourceFilterValues": 20,
                        "maxExtendedStatusFilterValues": 20}
MIN_SEARCH_LENGTH = 3
ORDER_COLUMNS = {"createdAt": Dialog.created_at, "updatedAt": Dialog.updated_at,
                 "contentUpdatedAt": Dialog.content_updated_at}


def limits() -> dict[str, Any]:
    return {"endUserSearch": dict(END_USER_LIMITS), "serviceOwnerSearch": dict(SERVICE_OWNER_LIMITS)}


@dataclass
class DialogFilters:
    """What a search asks for; every list is OR within itself and AND with the rest."""

    party: list[str] = field(default_factory=list)
    service_resource: list[str] = field(default_factory=list)
    org: list[str] = field(default_factory=list)
    extended_status: list[str] = field(default_factory=list)
    status: list[str] = field(default_factory=list)
    system_label: list[str] = field(default_factory=list)
    service_owner_labels: list[str] = field(default_factory=list)
    # Labels a dialog must not carry (the inbox keeps sent dialogs out of Innboks).
    without_system_label: list[str] = field(default_factory=list)
    external_reference: str | None = None
    process: str | None = None
    search: str | None = None
    deleted: DeletedFilter = DeletedFilter.EXCLUDE
    exclude_api_only: bool = False
    is_content_seen: bool | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    updated_after: datetime | None = None
    updated_before: datetime | None = None
    content_updated_after: datetime | None = None
    content_updated_before: datetime | None = None
    due_after: datetime | None = None
    due_before: datetime | None = None
    visible_after: datetime | None = None
    visible_before: datetime | None = None
    # False where other conditions already narrow the rows to few (an end user's parties); see `fulltext.matches`.
    search_through_index: bool = True
    order_by: str | None = None
    continuation_token: str | None = None
    limit: int | None = None

    def check_limits(self, limits: dict[str, int]) -> None:
        """400 when a filter lists more values than Dialogporten allows."""
        for name, values in (("Party", self.party), ("ServiceResource", self.service_resource),
                             ("Org", self.org), ("ExtendedStatus", self.extended_status)):
            maximum = limits.get(f"max{name}FilterValues")
            if maximum is not None and len(values) > maximum:
                raise InvalidInput(f"'{name}' may list at most {maximum} values; it lists {len(values)}.",
                                   code="too_many_filter_values",
                                   extra={"errors": {name[0].lower() + name[1:]: [f"Maximum {maximum} values."]}})
        if self.search is not None and len(self.search.strip()) < MIN_SEARCH_LENGTH:
            raise InvalidInput(f"'Search' must be at least {MIN_SEARCH_LENGTH} characters long.",
                               code="search_too_short")


@dataclass(frozen=True)
class Order:
    column_name: str
    descending: bool

    @property
    def text(self) -> str:
        return f"{self.column_name}_{'desc' if self.descending else 'asc'},id_{'desc' if self.descending else 'asc'}"


def parse_order(value: str | None, default: str) -> Order:
    """`createdAt_desc` (Dialogporten's `orderBy`); the id breaks ties in the same direction."""
    first = (value or default).split(",")[0].strip()
    name, _, direction = first.partition("_")
    if name not in ORDER_COLUMNS or direction.lower() not in ("asc", "desc", ""):
        raise InvalidInput(f"Cannot order by '{value}': use one of {', '.join(ORDER_COLUMNS)} with _asc or _desc.",
                           code="invalid_order_by")
    return Order(name, direction.lower() != "asc")


def filtered(query: Select[Any], filters: DialogFilters) -> Select[Any]:
    """`query` over dialogs narrowed by every filter that is set."""
    return query.where(*matching(filters))


def matching(filters: DialogFilters) -> list[Any]:
    """The conditions a dialog meets when it matches every filter that is set (a WHERE clause, or a count's)."""
    conditions: list[Any] = []
    for column, values in ((Dialog.party, filters.party), (Dialog.service_resource, filters.service_resource),
                           (Dialog.org, filters.org), (Dialog.extended_status, filters.extended_status),
                           (Dialog.status, filters.status)):
        if values:
            conditions.append(column.in_(values))
    folders = [label for label in filters.system_label if label in FOLDER_LABELS]
    if folders:
        conditions.append(Dialog.system_label.in_(folders))
    for label in filters.system_label:
        if label not in FOLDER_LABELS:  # MarkedAsUnopened, Sent: kept in the JSON list beside the folder
            conditions.append(cast(Dialog.system_labels, String).contains(f'"{label}"'))
    for label in filters.without_system_label:
        conditions.append(~cast(Dialog.system_labels, String).contains(f'"{label}"'))
    for column, value in ((Dialog.external_reference, filters.external_reference), (Dialog.process, filters.process)):
        if value is not None:
            conditions.append(column == value)
    for column, after, before in (
            (Dialog.created_at, filters.created_after, filters.created_before),
            (Dialog.updated_at, filters.updated_after, filters.updated_before),
            (Dialog.content_updated_at, filters.content_updated_after, filters.content_updated_before),
            (Dialog.due_at, filters.due_after, filters.due_before),
            (Dialog.visible_from, filters.visible_after, filters.visible_before)):
        if after is not None:
            conditions.append(column >= after)
        if before is not None:
            conditions.append(column <= before)
    if filters.deleted == DeletedFilter.EXCLUDE:
        conditions.append(Dialog.deleted_at.is_(None))
    elif filters.deleted == DeletedFilter.ONLY:
        conditions.append(Dialog.deleted_at.is_not(None))
    if filters.exclude_api_only:
        conditions.append(Dialog.is_api_only.is_(False))
    if filters.is_content_seen is not None:
        seen = exists().where(DialogSeenLog.dialog_id == Dialog.id, DialogSeenLog.seen_at >= Dialog.content_updated_at)
        unopened = cast(Dialog.system_labels, String).contains('"MarkedAsUnopened"')
        conditions.append(and_(seen, ~unopened) if filters.is_content_seen else or_(~seen, unopened))
    if filters.search:
        conditions.append(fulltext.matches(filters.search, through_index=filters.search_through_index))
    return conditions


def _after(order: Order, key: list[Any]) -> Any:
    column = ORDER_COLUMNS[order.column_name]
    try:
        value, last_id = datetime.fromisoformat(key[0]), uuid.UUID(key[1])
    except (ValueError, IndexError, TypeError):
        raise InvalidInput("The continuation token is not one this server handed out.",
                           code="invalid_continuation_token") from None
    if order.descending:
        return or_(column < value, and_(column == value, Dialog.id < last_id))
    return or_(column > value, and_(column == value, Dialog.id > last_id))


@dataclass
class DialogPage:
    rows: list[Dialog]
    continuation_token: str | None
    order: Order

    def document(self, items: list[dict[str, Any]]) -> dict[str, Any]:
        """Dialogporten's `PaginatedList`."""
        return {"items": items, "hasNextPage": self.continuation_token is not None,
                "continuationToken": self.continuation_token, "orderBy": self.order.text}


def page_query(filters: DialogFilters, tokens: ContinuationTokens, default_order: str,
               base: Select[Any] | None = None) -> tuple[Select[Any], Order, int]:
    """The query for one page (one row more than the page, to know whether another follows)."""
    order = parse_order(filters.order_by, default_order)
    size = page_size(filters.limit)
    query = filtered(base if base is not None else select(Dialog), filters)
    if filters.continuation_token:
        query = query.where(_after(order, tokens.decode(filters.continuation_token)))
    column = ORDER_COLUMNS[order.column_name]
    ordering = (column.desc(), Dialog.id.desc()) if order.descending else (column.asc(), Dialog.id.asc())
    return query.order_by(*ordering).limit(size + 1), order, size


def paged(rows: list[Dialog], order: Order, size: int, tokens: ContinuationTokens) -> DialogPage:
    if len(rows) <= size:
        return DialogPage(rows, None, order)
    rows = rows[:size]
    last = rows[-1]
    value = getattr(last, {"createdAt": "created_at", "updatedAt": "updated_at",
                           "contentUpdatedAt": "content_updated_at"}[order.column_name])
    return DialogPage(rows, tokens.encode([value.isoformat(), str(last.id)]), order)
