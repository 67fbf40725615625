"""Free-text search over dialogs through the database's own full-text index (PostgreSQL `tsvector` + GIN, SQLite
FTS5): every word of the search must begin a word of the dialog's texts, in any of its languages; the index
follows every write (create, replace, patch, purge, and a writer that goes straight to the table), and the
end user's REST search, GraphQL `searchDialogs(search:)` and the service owner's search all use it."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import update
from sqlalchemy.dialects import postgresql

from felles.dialogporten import fulltext
from felles.dialogporten.models import Dialog
from tests.conftest import bearer
from tests.dialogporten.conftest import DIALOGS, END_USER, ENDUSER_DIALOGS, KARI, create_dialog

pytestmark = pytest.mark.usefixtures("resources")


def _content(title: str, summary: str = "Et sammendrag her.", english: str = "A summary here.") -> dict:
    return {"title": {"value": [{"value": title, "languageCode": "nb"}]},
            "summary": {"value": [{"value": summary, "languageCode": "nb"}, {"value": english, "languageCode": "en"}]},
            "senderName": {"value": [{"value": "Skatteetaten", "languageCode": "nb"}]}}


@pytest.fixture
def kari(token):
    return bearer(token(scopes=[END_USER], person=KARI.identifier))


async def _found(client, headers, search: str, path: str = ENDUSER_DIALOGS) -> set[str]:
    response = await client.get(path, params={"search": search}, headers=headers)
    assert response.status_code == 200, response.text
    return {item["id"] for item in response.json()["items"]}


async def test_every_word_must_begin_a_word_of_the_dialogs_texts(client, owner_headers, kari):
    tax = await create_dialog(client, owner_headers, content=_content("Skattemelding for 2025"), searchTags=[])
    loan = await create_dialog(client, owner_headers, content=_content("Søknad om lån til bustad",
                                                                       english="Loan application"), searchTags=[])
    tagged = await create_dialog(client, owner_headers, content=_content("Vedtak"),
                                 searchTags=[{"value": "barnehageplass"}])

    assert await _found(client, kari, "skattemelding") == {tax}
    assert await _found(client, kari, "SKATTEM") == {tax}  # a prefix, in any case
    assert await _found(client, kari, "skatte 2025") == {tax}  # every word, anywhere in the texts
    assert await _found(client, kari, "skatte 2024") == set()
    assert await _found(client, kari, "lån") == {loan}  # å is a letter of its own: "lan" is another word
    assert await _found(client, kari, "lan") == set()
    assert await _found(client, kari, "application") == {loan}  # the English summary
    assert await _found(client, kari, "barnehage") == {tagged}  # search tags
    assert await _found(client, kari, "skatteetaten") == {tax, loan, tagged}  # the sender's name
    assert await _found(client, kari, "melding") == set()  # a word's middle is not a word's beginning
    assert await _found(client, kari, "søknad, (lån)!") == {loan}  # punctuation separates words
    assert await _found(client, kari, "...") == set()  # no words: nothing
    assert await _found(client, kari, "rapportering\" OR *") == set()  # query syntax is only words


async def test_the_index_follows_replace_patch_and_purge(client, owner_headers, kari):
    dialog_id = await create_dialog(client, owner_headers, content=_content("Reiseregning"))
    assert await _found(client, kari, "reiseregning") == {dialog_id}

    replaced = await client.put(f"{DIALOGS}/{dialog_id}", headers=owner_headers,
                                json={"content": _content("Timeliste"), "status": "InProgress"})
    assert replaced.status_code == 204, replaced.text
    assert await _found(client, kari, "reiseregning") == set()
    assert await _found(client, kari, "timeliste") == {dialog_id}

    patched = await client.patch(f"{DIALOGS}/{dialog_id}", headers=owner_headers, json=[
        {"op": "replace", "path": "/content/title/value/0/value", "value": "Kjøregodtgjørelse"}])
    assert patched.status_code == 204, patched.text
    assert await _found(client, kari, "kjøregodt") == {dialog_id}
    assert await _found(client, kari, "timeliste") == set()

    purged = await client.post(f"{DIALOGS}/{dialog_id}/actions/purge", headers=owner_headers)
    assert purged.status_code == 204, purged.text
    assert await _found(client, kari, "kjøregodt") == set()
    assert await _found(client, owner_headers, "kjøregodt", DIALOGS) == set()


async def test_a_writer_that_goes_straight_to_the_table_keeps_the_index_in_step(client, database, owner_headers,
                                                                                 kari):
    dialog_id = await create_dialog(client, owner_headers, content=_content("Permisjonssøknad"))
    async with database.transaction() as session:
        await session.execute(update(Dialog).where(Dialog.id == uuid.UUID(dialog_id))
                              .values(search_text="foreldrepenger"))
    assert await _found(client, kari, "foreldre") == {dialog_id}
    assert await _found(client, kari, "permisjon") == set()


async def test_graphql_and_the_service_owner_search_with_the_same_index(client, owner_headers, kari):
    wanted = await create_dialog(client, owner_headers, content=_content("Byggesøknad for garasje"))
    await create_dialog(client, owner_headers, content=_content("Utleie av hytte"))
    response = await client.post("/dialogporten/graphql", headers=kari, json={
        "query": "query($s: String) { searchDialogs(input: {search: $s}) { items { id } errors { __typename } } }",
        "variables": {"s": "garasje bygge"}})
    assert response.status_code == 200, response.text
    assert [item["id"] for item in response.json()["data"]["searchDialogs"]["items"]] == [wanted]
    assert await _found(client, owner_headers, "byggesøknad", DIALOGS) == {wanted}


async def test_a_deleted_dialog_is_found_only_by_the_service_owner_asking_for_deleted_ones(client, owner_headers,
                                                                                            kari):
    dialog_id = await create_dialog(client, owner_headers, content=_content("Klage på vedtak"))
    assert (await client.delete(f"{DIALOGS}/{dialog_id}", headers=owner_headers)).status_code == 204
    assert await _found(client, kari, "klage") == set()
    response = await client.get(DIALOGS, params={"search": "klage", "deleted": "Include"}, headers=owner_headers)
    assert [item["id"] for item in response.json()["items"]] == [dialog_id]


def test_a_search_is_its_words():
    assert fulltext.words("Søknad, (LÅN) 2025-01 snake_case") == ["søknad", "lån", "2025", "01", "snake", "case"]
    assert str(fulltext.matches("!!!")) == "false"


def test_a_search_narrowed_to_few_rows_checks_the_words_on_them():
    """On PostgreSQL only the index's own expression is served by the GIN index; the row-by-row match is another
    expression (both match the same dialogs: the searches above run through both)."""
    indexed = str(fulltext.matches("skatt").compile(dialect=postgresql.dialect()))
    on_rows = str(fulltext.matches("skatt", through_index=False).compile(dialect=postgresql.dialect()))
    assert "to_tsvector('simple'::regconfig, dialogporten_dialogs.search_text) @@" in indexed
    assert "coalesce(dialogporten_dialogs.search_text, '')" in on_rows
