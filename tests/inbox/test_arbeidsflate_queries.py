"""Every query and mutation Arbeidsflate sends to its own back end (`reference/.../arbeidsflate-queries`, all but
Dialogporten's) validates against the inbox's schema and runs at `/inbox/api/graphql`, doing what it says."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from graphql import OperationDefinitionNode, parse, validate

from felles.authorization import schemas as authorization_schemas
from felles.authorization import service as authorization_service
from felles.core.audit import Actor
from felles.inbox.resolvers import build_schema
from tests.conftest import REFERENCE
from tests.profile.conftest import COMPANY, INGRID, code_sent_to

QUERIES = REFERENCE / "api-specs/dialogporten/arbeidsflate-queries"
# Dialogporten's own queries, answered by Dialogporten's GraphQL endpoint (with their fragments).
DIALOGPORTEN_FILES = {"dialogs", "dialog", "dialogLookup", "parties", "systemLabel", "serviceResources",
                      "dpServiceResources", "dialog.fragment", "parties.fragment"}
GRAPHQL = "/inbox/api/graphql"
pytestmark = pytest.mark.usefixtures("people", "varsling_outbox")


def _files() -> dict[str, str]:
    return {path.name.removesuffix(".graphql"): path.read_text() for path in sorted(QUERIES.glob("*.graphql"))}


FRAGMENTS = {name: text for name, text in _files().items() if name.endswith(".fragment")}
FRAGMENT_NAMES = {match: text for text in FRAGMENTS.values() for match in re.findall(r"fragment (\w+) on", text)}


def inbox_files() -> list[str]:
    return [name for name in _files() if name not in DIALOGPORTEN_FILES and not name.endswith(".fragment")]


def document(name: str) -> str:
    """A query file with the fragments it spreads (and those spread in them)."""
    text = _files()[name]
    needed: dict[str, str] = {}
    pending = re.findall(r"\.\.\.(\w+)", text)
    while pending:
        fragment = pending.pop()
        if fragment not in needed and fragment in FRAGMENT_NAMES:
            needed[fragment] = FRAGMENT_NAMES[fragment]
            pending += re.findall(r"\.\.\.(\w+)", FRAGMENT_NAMES[fragment])
    return "\n".join([text, *dict.fromkeys(needed.values())])


def operations(name: str) -> list[str]:
    return [node.name.value for node in parse(document(name)).definitions
            if isinstance(node, OperationDefinitionNode) and node.name is not None]


def test_the_inbox_answers_every_arbeidsflate_query_that_is_not_dialogportens():
    every = set(_files())
    assert set(inbox_files()) | DIALOGPORTEN_FILES | set(FRAGMENTS) == every
    assert len(inbox_files()) == 21, inbox_files()


@pytest.mark.parametrize("name", inbox_files())
def test_the_query_file_validates_against_the_inbox_schema(name):
    assert validate(build_schema(), parse(document(name))) == []


# --- each operation, run as Ingrid (daglig leder of Fjordkraft) ----------------------------------------------------
Setup = Callable[[Any, Any, Callable[..., Awaitable[dict[str, Any]]]], Awaitable[dict[str, Any]]]
ADDRESS = "ingrid@fjordkraft.eksempel.no"


async def company_uuid(database) -> str:
    return str((await authorization_service.party_of(database, COMPANY)).party_uuid)


async def no_variables(database, client, run) -> dict[str, Any]:
    return {}


async def favourite(database, client, run) -> dict[str, Any]:
    return {"partyId": await company_uuid(database), "groupName": "Regnskap"}


async def saved_search(database, client, run) -> dict[str, Any]:
    created = await run("CreateSavedSearch", {"name": "Ubehandlet", "data": {"searchString": "faktura"}})
    return {"id": created["createSavedSearch"]["id"], "name": "Ubehandlede fakturaer"}


async def verified_setting(database, client, run) -> dict[str, Any]:
    await run("SendVerificationCode", {"data": {"value": ADDRESS, "type": "Email"}})
    code = await code_sent_to(database, ADDRESS)
    await run("verifyAddress", {"data": {"value": ADDRESS, "type": "Email", "verificationCode": code}})
    return {"data": {"partyUuid": await company_uuid(database), "emailAddress": ADDRESS}}


async def code_to_verify(database, client, run) -> dict[str, Any]:
    await run("SendVerificationCode", {"data": {"value": ADDRESS, "type": "Email"}})
    return {"data": {"value": ADDRESS, "type": "Email", "verificationCode": await code_sent_to(database, ADDRESS)}}


async def a_service_owner(database, client, run) -> dict[str, Any]:
    owner = authorization_schemas.ServiceOwnerPublic(
        orgcode="fjordvik", organization="309999800", name={"nb": "Fjordvik kommune", "en": "Fjordvik municipality"})
    await authorization_service.add_service_owner(database, Actor("system:test"), owner)
    return {}


async def own_party(database, client, run) -> dict[str, Any]:
    await run("SetUsername", {"username": "ingrid.dagl"})
    return {"partyUuid": str((await authorization_service.party_of(database, INGRID.identifier)).party_uuid)}


# operation -> (setup giving its variables, what its answer must show)
CASES: dict[str, tuple[Setup, Callable[[dict[str, Any]], bool]]] = {
    "profile": (no_variables, lambda d: d["profile"]["user"]["party"]["ssn"] == INGRID.identifier
                and d["profile"]["groups"][0]["name"] == "__favoritter__"),
    "savedSearches": (saved_search, lambda d: d["savedSearches"][0]["data"]["searchString"] == "faktura"),
    "CreateSavedSearch": (lambda db, c, r: _value({"name": "Mine", "data": {"urn": ["urn:altinn:organization:"
                                                                                    "identifier-no:" + COMPANY]}}),
                          lambda d: d["createSavedSearch"]["name"] == "Mine"),
    "UpdateSavedSearch": (saved_search, lambda d: d["updateSavedSearch"]["success"]),
    "DeleteSavedSearch": (saved_search, lambda d: d["deleteSavedSearch"]["success"]),
    "AddFavoriteParty": (favourite, lambda d: d["addFavoriteParty"]["success"]),
    "AddFavoritePartyToGroup": (favourite, lambda d: d["addFavoritePartyToGroup"]["success"]),
    "DeleteFavoriteParty": (lambda db, c, r: _added_favourite(db, r), lambda d: d["deleteFavoriteParty"]["success"]),
    "SetPreSelectedParty": (lambda db, c, r: _preselect(db), lambda d: d["setPreSelectedParty"]["success"]),
    "setShouldShowSubEntities": (lambda db, c, r: _value({"shouldShowDeletedEntities": True}),
                                 lambda d: d["setShouldShowSubEntities"]["success"]),
    "setShowClientUnits": (lambda db, c, r: _value({"shouldShowClientUnits": True}),
                           lambda d: d["setShowClientUnits"]["success"]),
    "UpdateLanguage": (lambda db, c, r: _value({"language": "nn"}), lambda d: d["updateLanguage"]["success"]),
    "UpdateNotificationSetting": (verified_setting, lambda d: d["updateNotificationSetting"]["success"]),
    "notificationsettingsForCurrentUser": (lambda db, c, r: _with_setting(db, c, r),
                                           lambda d: d["notificationsettingsForCurrentUser"][0]["emailAddress"]
                                           == ADDRESS),
    "getNotificationAddressByOrgNumber": (lambda db, c, r: _value({"orgnr": COMPANY}),
                                          lambda d: d["getNotificationAddressByOrgNumber"]["organizationNumber"]
                                          == COMPANY),
    "organizations": (a_service_owner, lambda d: {"id": "fjordvik", "orgnr": "309999800", "name": {
        "nb": "Fjordvik kommune", "nn": "Fjordvik kommune", "en": "Fjordvik municipality"}}.items()
                      <= {o["id"]: o for o in d["organizations"]}["fjordvik"].items()),
    "SendVerificationCode": (lambda db, c, r: _value({"data": {"value": "+4799887766", "type": "Sms"}}),
                             lambda d: d["sendVerificationCode"]["success"]),
    "verifyAddress": (code_to_verify, lambda d: d["verifyAddress"]["success"]),
    "verifiedAddresses": (verified_setting, lambda d: d["verifiedAddresses"] == [{"value": ADDRESS,
                                                                                  "addressType": "Email"}]),
    "PartyUsername": (own_party, lambda d: d["partyUsername"]["username"] == "ingrid.dagl"),
    "SetUsername": (lambda db, c, r: _value({"username": "ingrid.fjordkraft"}),
                    lambda d: d["setUsername"]["success"]),
    "UpdateSIPrivatePhoneNumber": (lambda db, c, r: _value({"value": "+4791112233"}),
                                   lambda d: d["updateSIPrivatePhoneNumber"]["success"]),
}


async def _value(variables: dict[str, Any]) -> dict[str, Any]:
    return variables


async def _added_favourite(database, run) -> dict[str, Any]:
    party = await company_uuid(database)
    await run("AddFavoriteParty", {"partyId": party})
    return {"partyId": party}


async def _preselect(database) -> dict[str, Any]:
    return {"partyUuid": await company_uuid(database), "operationType": "set"}


async def _with_setting(database, client, run) -> dict[str, Any]:
    await run("UpdateNotificationSetting", await verified_setting(database, client, run))
    return {}


def _operation_files() -> dict[str, str]:
    return {operation: name for name in inbox_files() for operation in operations(name)}


def test_every_operation_of_the_files_has_a_case():
    assert set(_operation_files()) == set(CASES)


@pytest.mark.parametrize("operation", sorted(CASES))
async def test_the_operation_runs_and_does_what_it_says(client, database, as_person, operation):
    files = _operation_files()
    headers = as_person(INGRID.identifier)

    async def run(name: str, variables: dict[str, Any]) -> dict[str, Any]:
        response = await client.post(GRAPHQL, headers=headers, json={
            "query": document(files[name]), "operationName": name, "variables": variables})
        assert response.status_code == 200, response.text
        answer = response.json()
        assert "errors" not in answer, answer
        return dict(answer["data"])

    setup, shows = CASES[operation]
    variables = await setup(database, client, run)
    data = await run(operation, variables)
    assert shows(data), data
