"""Unread counts beside the inbox's folders (the badges Arbeidsflate shows by Innboks, Arkiv ...): how many unread
dialogs each folder holds, counted by the database in one grouped query per (party, service resource), so that the
caller asks the decision point once per group, as the list does, without loading a dialog.

Unread is the list's own rule (`search.DialogFilters.is_content_seen` false): nobody has seen the dialog since its
content last changed, or it is marked unopened. Folders may overlap (a sent draft is in Utkast and in Sendt), so
each folder is its own conditional sum rather than a group of its own."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, case, func, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from felles.dialogporten import search
from felles.dialogporten.models import Dialog


@dataclass(frozen=True)
class UnreadGroup:
    """The unread dialogs of one party and service resource, counted per folder."""

    party: str
    service_resource: str
    by_folder: dict[str, int]


async def unread_by_party_and_resource(session: AsyncSession, within: Any,
                                       folders: Mapping[str, search.DialogFilters]) -> list[UnreadGroup]:
    """The unread dialogs that meet `within` (a condition on dialogs), each of `folders` counted, for every party
    and service resource that has any."""
    keys = list(folders)
    counted = [func.sum(case((and_(true(), *search.matching(folders[key])), 1), else_=0)) for key in keys]
    query = (select(Dialog.party, Dialog.service_resource, *counted)
             .where(within, *search.matching(search.DialogFilters(is_content_seen=False)))
             .group_by(Dialog.party, Dialog.service_resource))
    return [UnreadGroup(party, resource, {key: int(count or 0) for key, count in zip(keys, sums, strict=True)})
            for party, resource, *sums in (await session.execute(query)).all()]
