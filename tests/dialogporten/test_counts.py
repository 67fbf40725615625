"""Unread counts per folder (the inbox's badges): they count exactly the unread dialogs the person's list would show
them, of the parties they may act for and the service resources the decision point lets them read, and follow
reading, new content, "mark as unread" and moves between folders."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from felles.authorization import schemas as authorization_schemas
from felles.authorization import service as authorization_service
from felles.authorization.demo import ROLE, policy_xml
from felles.core.audit import Actor
from felles.core.errors import Forbidden
from felles.core.tokens import PlatformKeys, Principal
from felles.dialogporten import enduser, service
from felles.dialogporten import schemas as s
from felles.dialogporten.search import DialogFilters
from felles.inbox.folders import FOLDERS
from tests.dialogporten.conftest import COMPANY_URN, INGRID, KARI_URN, TTD, dialog_body

pytestmark = pytest.mark.usefixtures("resources")
INGRID_URN = f"urn:altinn:person:identifier-no:{INGRID.identifier}"
SIGN_ONLY = "ttd-dialogporten-sign-only"  # its policy lets the daglig leder sign, nobody read
OWNER = Principal("organization", organization_number=TTD, scopes=frozenset({service.SERVICE_PROVIDER_SCOPE}))
PERSON = Principal("person", person_identifier=INGRID.identifier, authentication_level=3)
# The folders as the inbox shows them.
SHOWN = {key: folder.narrow(DialogFilters(exclude_api_only=True)) for key, folder in FOLDERS.items()}
NOTHING = dict.fromkeys(FOLDERS, 0)


@pytest.fixture
async def sign_only(database) -> None:
    actor = Actor(f"organization:{TTD}")
    await authorization_service.create_resource(database, actor, TTD, authorization_schemas.ServiceResource(
        identifier=SIGN_ONLY, title={"nb": "Bare signering"},
        hasCompetentAuthority=authorization_schemas.CompetentAuthority(organization=TTD, orgcode="ttd"),
        resourceType="GenericAccessResource"))
    await authorization_service.put_policy(database, actor, TTD, SIGN_ONLY,
                                           policy_xml(SIGN_ONLY, [([(ROLE, "dagl")], ["sign"])]))


async def create(database, settings, **overrides: Any) -> uuid.UUID:
    row = await service.create_dialog(database, OWNER, s.DialogCreate.model_validate(dialog_body(**overrides)),
                                      base_url=settings.base_url)
    return row.id


async def unread(database, *parties: str) -> dict[str, int]:
    return await enduser.unread_counts(database, PERSON, SHOWN, parties=list(parties))


def counted(**folders: int) -> dict[str, int]:
    return {**NOTHING, **folders}


@pytest.mark.usefixtures("sign_only")
async def test_unread_counts_follow_the_lists_access_reading_new_content_and_moves(database, settings):
    own = await create(database, settings, party=INGRID_URN)
    company = await create(database, settings, party=COMPANY_URN)
    await create(database, settings, party=COMPANY_URN, status="RequiresAttention")
    await create(database, settings, party=COMPANY_URN, status="Draft")
    await create(database, settings, party=INGRID_URN, status="Awaiting", transmissions=[  # files it under Sendt
        {"type": "Submission", "sender": {"actorType": "PartyRepresentative", "actorName": "Ingrid"},
         "content": {"title": {"value": [{"value": "Søknad sendt", "languageCode": "nb"}]}}}])
    # None of these is in Ingrid's list, so none is counted: another person's, one whose resource the decision
    # point does not let her read, one for systems only, one not yet visible, one deleted.
    await create(database, settings, party=KARI_URN)
    await create(database, settings, party=COMPANY_URN, serviceResource=f"urn:altinn:resource:{SIGN_ONLY}")
    await create(database, settings, party=COMPANY_URN, isApiOnly=True)
    await create(database, settings, party=INGRID_URN, visibleFrom="2999-01-01T00:00:00Z")
    deleted = await create(database, settings, party=INGRID_URN)
    await service.delete_dialog(database, OWNER, deleted, if_match=None, base_url=settings.base_url)

    assert await unread(database) == counted(inbox=3, drafts=1, sent=1)
    assert await unread(database, COMPANY_URN) == counted(inbox=2, drafts=1)
    assert await unread(database, INGRID_URN) == counted(inbox=1, sent=1)

    # Opening a dialog lowers the count; new content makes it unread again; so does "mark as unread".
    keys = PlatformKeys.load(settings)
    await enduser.get_dialog(database, PERSON, company, keys=keys, base_url=settings.base_url)
    assert await unread(database, COMPANY_URN) == counted(inbox=1, drafts=1)
    await service.patch_dialog(database, OWNER, company, [{"op": "replace", "path": "/status",
                                                           "value": "Awaiting"}], if_match=None,
                               base_url=settings.base_url)
    assert await unread(database, COMPANY_URN) == counted(inbox=2, drafts=1)
    await enduser.get_dialog(database, PERSON, own, keys=keys, base_url=settings.base_url)
    assert await unread(database, INGRID_URN) == counted(sent=1)
    await enduser.set_system_labels(database, PERSON, own, s.SystemLabelsSet(
        addLabels=[s.SystemLabel.MARKED_AS_UNOPENED]), if_match=None)
    assert await unread(database, INGRID_URN) == counted(inbox=1, sent=1)

    # Moving dialogs to the archive or the bin moves their count with them.
    await enduser.bulk_set_system_labels(database, PERSON, s.SystemLabelsBulkSet(
        dialogs=[s.DialogRevision(dialogId=own)], addLabels=[s.SystemLabel.BIN]))
    await enduser.bulk_set_system_labels(database, PERSON, s.SystemLabelsBulkSet(
        dialogs=[s.DialogRevision(dialogId=company)], addLabels=[s.SystemLabel.ARCHIVE]))
    assert await unread(database) == counted(inbox=1, drafts=1, sent=1, archive=1, bin=1)


async def test_counts_are_only_for_parties_the_person_may_act_for(database, settings):
    await create(database, settings, party=KARI_URN)
    assert await unread(database) == NOTHING
    with pytest.raises(Forbidden, match="You cannot act for"):
        await unread(database, KARI_URN)
