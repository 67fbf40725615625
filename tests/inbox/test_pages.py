"""The inbox pages (Arbeidsflate) over the demo dialogs: a person sees exactly the dialogs of the parties they may
act for, by folder, searched and filtered; unread markers follow content changes; archive, bin and restore work
for one dialog and for many at once; bad input and foreign dialogs get a clear answer and change nothing."""

from __future__ import annotations

import re
import uuid
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from fastapi import FastAPI, Request, Response
from joserfc import jwt
from joserfc.jwk import KeySet

from felles.apps.demo import DEMO_SERVICE_OWNER_NUMBER
from felles.core.tokens import Principal
from felles.dialogporten import schemas as s
from felles.dialogporten import service
from felles.dialogporten.demo import DEMO_RESOURCE_URN, seed_demo_dialogs
from felles.inbox.pages import PAGE_SIZE
from felles.registers.population import DEMO_COMPANY, DEMO_PERSONS, seed_demo_personas
from tests.conftest import serve_app
from tests.dialogporten.conftest import HIGH_LEVEL_RESOURCE, HIGH_LEVEL_RESOURCE_URN, TTD, register_resource
from tests.portal.login import form_token, local, log_in

KARI, OLA, INGRID = DEMO_PERSONS[0], DEMO_PERSONS[1], DEMO_PERSONS[4]
COMPANY_URN = f"urn:altinn:organization:identifier-no:{DEMO_COMPANY}"
INGRID_URN = f"urn:altinn:person:identifier-no:{INGRID.identifier}"
HOME = "/inbox/"


@pytest.fixture
async def demo(database, settings) -> None:
    await seed_demo_personas(database)
    await seed_demo_dialogs(database, settings)


def titles(html: str) -> list[str]:
    return re.findall(r'<a class="ds-link" href="/inbox/dialog/[^"]+">([^<]+)</a>', html)


def dialog_ids(html: str) -> dict[str, str]:
    return {title: ident for ident, title in
            re.findall(r'<a class="ds-link" href="/inbox/dialog/([0-9a-f-]+)\?[^"]*">([^<]+)</a>', html)}


pytestmark = pytest.mark.usefixtures("demo")


async def test_a_person_with_several_parties_sees_their_dialogs_by_party_and_folder(client):
    page = await log_in(client, HOME, INGRID.identifier)
    assert page.status_code == 200 and '<h1 class="ds-heading" data-size="lg">Innboks</h1>' in page.text
    assert "Alle mine aktører" in page.text and f'<option value="{COMPANY_URN}"' in page.text
    assert f'<option value="{INGRID_URN}"' in page.text
    everything = titles(page.text)
    assert sorted(everything) == sorted([
        "Bostedsparkering: svar på søknaden", "Tilsyn med brannsikring i næringsbygg",
        "Feiing og tilsyn av fyringsanlegg", "Byggesak 2026/114: tilbygg"])
    # Kari's dialogs are nowhere in Ingrid's inbox.
    assert "Søknad om parkeringstillatelse" not in page.text

    company = await client.get(HOME, params={"party": COMPANY_URN})
    assert "Bostedsparkering: svar på søknaden" not in titles(company.text)
    assert len(titles(company.text)) == 3 and "Viser meldinger for Fjordkraft Demo AS." in company.text
    sent = await client.get(HOME, params={"folder": "sent"})
    assert titles(sent.text) == ["Søknad om gravetillatelse i Strandgata"]
    archive = await client.get(HOME, params={"folder": "archive", "party": COMPANY_URN})
    assert titles(archive.text) == ["Faktura for feiing 2025"]
    bin_ = await client.get(HOME, params={"folder": "bin"})
    assert titles(bin_.text) == [] and "Du har ingen meldinger her." in bin_.text


async def test_drafts_have_their_own_folder(client):
    page = await log_in(client, HOME + "?folder=drafts", KARI.identifier)
    assert titles(page.text) == ["Søknad om barnehageplass"]
    inbox = await client.get(HOME)
    assert "Søknad om barnehageplass" not in titles(inbox.text)
    assert "Melding om flytting" not in titles(inbox.text)  # sent, so in Sendt


async def test_search_and_filters_narrow_the_list(client):
    await log_in(client, HOME, INGRID.identifier)
    found = await client.get(HOME, params={"q": "brannsikring"})
    assert titles(found.text) == ["Tilsyn med brannsikring i næringsbygg"]
    by_service = await client.get(HOME, params={"resource": "urn:altinn:resource:fjordvik-demo-eiendom"})
    assert titles(by_service.text) == ["Tilsyn med brannsikring i næringsbygg"]
    by_status = await client.get(HOME, params={"status": "InProgress"})
    assert titles(by_status.text) == ["Byggesak 2026/114: tilbygg"]
    by_sender = await client.get(HOME, params={"org": "nobody"})
    assert titles(by_sender.text) == [] and "Ingen meldinger passer søket." in by_sender.text
    old = await client.get(HOME, params={"folder": "archive", "before": "2020-01-01"})
    assert titles(old.text) == []
    # A draft's status in the inbox folder matches nothing there.
    assert titles((await client.get(HOME, params={"status": "Draft"})).text) == []


async def test_bad_search_input_gets_a_clear_problem(client):
    await log_in(client, HOME, INGRID.identifier)
    short = await client.get(HOME, params={"q": "ab"})
    assert short.status_code == 400 and 'role="alert"' in short.text and "at least 3" in short.text
    date = await client.get(HOME, params={"after": "2026-13-45"})
    assert date.status_code == 400 and "is not a date" in date.text
    foreign = await client.get(HOME, params={"party": f"urn:altinn:person:identifier-no:{KARI.identifier}"})
    assert foreign.status_code == 403 and "You cannot act for" in foreign.text
    nonsense = await client.get(HOME, params={"party": "not-a-party"})
    assert nonsense.status_code == 400


async def test_a_saved_search_comes_back_as_a_link_and_can_be_deleted(client):
    page = await log_in(client, HOME + "?q=brannsikring", INGRID.identifier)
    token = form_token(page.text)
    saved = await client.post(HOME + "searches", data={"form_token": token, "name": "Brann", "q": "brannsikring",
                                                       "folder": "inbox", "party": COMPANY_URN})
    assert saved.status_code == 303 and "done=saved" in saved.headers["location"]
    listed = await client.get(local(saved.headers["location"]))
    assert "Søket er lagret." in listed.text
    link = re.search(r'<a class="ds-link" href="(/inbox/\?[^"]+)">Brann</a>', listed.text)
    assert link is not None
    again = await client.get(link.group(1).replace("&amp;", "&"))
    assert titles(again.text) == ["Tilsyn med brannsikring i næringsbygg"]
    search_id = re.search(r'action="/inbox/searches/(\d+)/delete"', listed.text)
    assert search_id is not None
    deleted = await client.post(HOME + f"searches/{search_id.group(1)}/delete", data={"form_token": token})
    assert deleted.status_code == 303 and "Brann" not in (await client.get(HOME)).text.split("<main")[1]
    bad = await client.post(HOME + "searches", data={"form_token": token, "name": " ", "q": "x"})
    assert bad.status_code == 400


async def test_the_dialog_page_shows_content_timeline_attachments_actions_and_who_has_seen_it(client):
    page = await log_in(client, HOME, INGRID.identifier)
    ids = dialog_ids(page.text)
    dialog = await client.get(HOME + f"dialog/{ids['Tilsyn med brannsikring i næringsbygg']}")
    assert dialog.status_code == 200
    text = dialog.text
    assert "<strong>to avvik</strong>" in text and "<ol>" in text  # Markdown, rendered
    assert "Tilsynsrapport" in text and "Varsel om avvik" in text and "Svar på tilsynet" in text
    assert re.search(r'<ul class="ds-list" id="seen-by">\s*<li>Deg ', text)
    # Seen now: no longer unread in the list.
    listed = (await client.get(HOME)).text
    row = re.search(r'<li class="inbox-item[^"]*" data-status="RequiresAttention"([^>]*)>', listed)
    assert row is not None and "data-unread" not in row.group(1)


async def test_additional_info_is_rendered_safely(client, database, settings):
    fjordvik = Principal("organization", organization_number=DEMO_SERVICE_OWNER_NUMBER,
                         scopes=frozenset({service.SERVICE_PROVIDER_SCOPE}))
    hostile = "<script>alert(1)</script> [click](javascript:alert(1))"
    row = await service.create_dialog(database, fjordvik, s.DialogCreate.model_validate({
        "serviceResource": DEMO_RESOURCE_URN, "party": INGRID_URN, "status": "InProgress",
        "content": {"title": {"value": [{"value": "Farlig innhold", "languageCode": "nb"}]},
                    "summary": {"value": [{"value": "<b>fet</b>", "languageCode": "nb"}]},
                    "additionalInfo": {"value": [{"value": hostile, "languageCode": "nb"}],
                                       "mediaType": "text/markdown"}}}), base_url=settings.base_url)
    await log_in(client, HOME, INGRID.identifier)
    text = (await client.get(HOME + f"dialog/{row.id}")).text
    assert "<script>alert" not in text and "&lt;script&gt;" in text and 'href="javascript:' not in text
    assert "&lt;b&gt;fet&lt;/b&gt;" in text


async def test_archive_bin_and_restore_one_and_many(client):
    page = await log_in(client, HOME, INGRID.identifier)
    token, ids = form_token(page.text), dialog_ids(page.text)
    two = [ids["Feiing og tilsyn av fyringsanlegg"], ids["Byggesak 2026/114: tilbygg"]]
    moved = await client.post(HOME + "move", data={"form_token": token, "to": "archive", "dialog": two,
                                                   "back": HOME + "?party=" + COMPANY_URN})
    assert moved.status_code == 303 and local(moved.headers["location"]).startswith(HOME + "?party=")
    after = await client.get(local(moved.headers["location"]))
    assert "Flyttet til arkivet." in after.text and titles(after.text) == ["Tilsyn med brannsikring i næringsbygg"]
    archive = await client.get(HOME, params={"folder": "archive"})
    assert sorted(titles(archive.text)) == ["Byggesak 2026/114: tilbygg", "Faktura for feiing 2025",
                                            "Feiing og tilsyn av fyringsanlegg"]
    binned = await client.post(HOME + "move", data={"form_token": token, "to": "bin", "dialog": two[0]})
    assert binned.status_code == 303
    assert titles((await client.get(HOME, params={"folder": "bin"})).text) == ["Feiing og tilsyn av fyringsanlegg"]
    restored = await client.post(HOME + "move", data={"form_token": token, "to": "restore", "dialog": two,
                                                      "back": HOME + "dialog/" + two[0]})
    assert local(restored.headers["location"]) == HOME + "dialog/" + two[0] + "?done=restore"
    assert sorted(titles((await client.get(HOME)).text)) == sorted(ids)


async def test_a_move_that_is_forged_foreign_or_empty_changes_nothing(client):
    kari_page = await log_in(client, HOME, KARI.identifier)
    karis = list(dialog_ids(kari_page.text).values())
    client.cookies.clear()
    page = await log_in(client, HOME, INGRID.identifier)
    token, ids = form_token(page.text), list(dialog_ids(page.text).values())
    forged = await client.post(HOME + "move", data={"form_token": "0" * 64, "to": "archive", "dialog": ids[0]})
    assert forged.status_code == 400 and "Skjemaet er utløpt" in forged.text
    # One of Kari's dialogs among Ingrid's: not found, and Ingrid's own is not moved either (all or none).
    foreign = await client.post(HOME + "move", data={"form_token": token, "to": "archive",
                                                     "dialog": [ids[0], karis[0]]})
    assert foreign.status_code == 404
    assert sorted(dialog_ids((await client.get(HOME)).text).values()) == sorted(ids)
    assert (await client.post(HOME + "move", data={"form_token": token, "to": "archive"})).status_code == 400
    assert (await client.post(HOME + "move", data={"form_token": token, "to": "purge",
                                                    "dialog": ids[0]})).status_code == 400
    assert (await client.post(HOME + "move", data={"form_token": token, "to": "archive",
                                                    "dialog": "nope"})).status_code == 404
    too_many = await client.post(HOME + "move", data={"form_token": token, "to": "archive", "dialog": ids * 40})
    assert too_many.status_code == 400
    assert (await client.get(HOME + f"dialog/{karis[0]}")).status_code == 404
    assert (await client.get(HOME + "dialog/not-an-id")).status_code == 404


async def test_the_unread_marker_changes_only_when_the_content_changes(client, database, settings):
    page = await log_in(client, HOME, INGRID.identifier)
    ids = dialog_ids(page.text)
    target = ids["Byggesak 2026/114: tilbygg"]

    def unread(html: str) -> bool:
        row = re.search(rf'data-unread="true">\s*<input[^>]+value="{target}"', html)
        return row is not None

    assert unread(page.text)
    await client.get(HOME + f"dialog/{target}")
    assert not unread((await client.get(HOME)).text)
    fjordvik = Principal("organization", organization_number=DEMO_SERVICE_OWNER_NUMBER,
                         scopes=frozenset({service.SERVICE_PROVIDER_SCOPE}))
    # A change the person does not read (the progress) keeps it read; a new status is new content.
    await service.patch_dialog(database, fjordvik, uuid.UUID(target),
                               [{"op": "replace", "path": "/progress", "value": 70}], if_match=None,
                               base_url=settings.base_url)
    assert not unread((await client.get(HOME)).text)
    await service.patch_dialog(database, fjordvik, uuid.UUID(target),
                               [{"op": "replace", "path": "/status", "value": "Awaiting"}], if_match=None,
                               base_url=settings.base_url)
    assert unread((await client.get(HOME)).text)


async def test_a_writing_gui_action_is_a_form_the_platform_calls_with_the_dialog_token(client, database, settings):
    calls: list[tuple[str, str]] = []
    service_app = FastAPI()

    @service_app.post("/confirm")
    async def confirm(request: Request) -> Response:
        calls.append(("POST", request.headers.get("authorization", "")))
        return Response(status_code=204)

    @service_app.delete("/withdraw")
    async def withdraw() -> Response:
        return Response(status_code=500)

    fjordvik = Principal("organization", organization_number=DEMO_SERVICE_OWNER_NUMBER,
                         scopes=frozenset({service.SERVICE_PROVIDER_SCOPE}))

    def action(name: str, method: str, url: str, priority: str) -> dict[str, object]:
        return {"action": name, "httpMethod": method, "url": url, "priority": priority,
                "title": [{"value": f"{name} {method}", "languageCode": "nb"}]}

    with serve_app(service_app) as target:
        row = await service.create_dialog(database, fjordvik, s.DialogCreate.model_validate({
            "serviceResource": DEMO_RESOURCE_URN, "party": INGRID_URN, "status": "InProgress",
            "content": {"title": {"value": [{"value": "Bekreft timen", "languageCode": "nb"}]},
                        "summary": {"value": [{"value": "Bekreft eller trekk deg.", "languageCode": "nb"}]}},
            "guiActions": [action("write", "POST", f"{target}/confirm", "Primary"),
                           action("write", "DELETE", f"{target}/withdraw", "Secondary"),
                           action("sign", "POST", f"{target}/confirm", "Tertiary")]}), base_url=settings.base_url)
        await log_in(client, HOME, INGRID.identifier)
        page = (await client.get(HOME + f"dialog/{row.id}")).text
        token = form_token(page)
        forms = re.findall(rf'action="/inbox/dialog/{row.id}/actions/([0-9a-f-]+)"', page)
        assert len(forms) == 2 and "sign POST: Du har ikke tilgang" in page  # sign is the daglig leder's only
        ids = {item["httpMethod"]: item["id"] for item in row.gui_actions if item["action"] == "write"}
        sign_id = next(item["id"] for item in row.gui_actions if item["action"] == "sign")

        done = await client.post(HOME + f"dialog/{row.id}/actions/{ids['POST']}", data={"form_token": token})
        assert done.status_code == 303 and "done=action" in done.headers["location"]
        assert len(calls) == 1 and calls[0][1].startswith("Bearer ey")
        keys = KeySet.import_key_set((await client.get("/dialogporten/api/v1/.well-known/jwks.json")).json())
        claims = jwt.decode(calls[0][1].removeprefix("Bearer "), keys, algorithms=["RS256"]).claims
        assert claims["i"] == str(row.id) and claims["p"] == INGRID_URN and "write" in claims["a"].split(";")
        failed = await client.post(HOME + f"dialog/{row.id}/actions/{ids['DELETE']}", data={"form_token": token})
        assert failed.status_code == 502 and "Tjenesten svarte ikke som ventet." in failed.text
        refused = await client.post(HOME + f"dialog/{row.id}/actions/{sign_id}", data={"form_token": token})
        assert refused.status_code == 403 and len(calls) == 1
        unknown = await client.post(HOME + f"dialog/{row.id}/actions/{uuid.uuid4()}", data={"form_token": token})
        assert unknown.status_code == 404


async def test_a_long_inbox_comes_a_page_at_a_time(client, database, settings):
    fjordvik = Principal("organization", organization_number=DEMO_SERVICE_OWNER_NUMBER,
                         scopes=frozenset({service.SERVICE_PROVIDER_SCOPE}))
    for number in range(PAGE_SIZE):
        await service.create_dialog(database, fjordvik, s.DialogCreate.model_validate({
            "serviceResource": DEMO_RESOURCE_URN, "party": INGRID_URN, "status": "InProgress",
            "content": {"title": {"value": [{"value": f"Brev nummer {number}", "languageCode": "nb"}]},
                        "summary": {"value": [{"value": "Et av mange.", "languageCode": "nb"}]}}}),
            base_url=settings.base_url)
    first = await log_in(client, HOME, INGRID.identifier)
    assert len(titles(first.text)) == PAGE_SIZE
    link = re.search(r'<a class="ds-link" href="([^"]+)" id="next-page">', first.text)
    assert link is not None
    second = await client.get(link.group(1).replace("&amp;", "&"))
    assert len(titles(second.text)) == 4 and not set(titles(second.text)) & set(titles(first.text))
    assert 'id="next-page"' not in second.text
    forged = await client.get(HOME, params={"next": "forged"})
    assert forged.status_code == 400 and 'role="alert"' in forged.text


def folder_names(html: str) -> dict[str, str]:
    """Each folder link's accessible name (its label, else its text), by folder."""
    nav = html.split('<ul class="inbox-folders">')[1].split("</ul>")[0]
    names = {}
    for key, attributes, text in re.findall(r'href="/inbox/\?folder=(\w+)[^"]*"([^>]*)>(.*?)</a>', nav, re.S):
        label = re.search(r'aria-label="([^"]+)"', attributes)
        names[key] = label.group(1) if label else text.strip()
    return names


async def test_the_folder_links_say_how_many_unread_dialogs_each_holds(client):
    page = await log_in(client, HOME, INGRID.identifier)
    names = folder_names(page.text)
    assert names["inbox"] == "Innboks, 4 uleste" and 'data-count="4"' in page.text
    # Each folder counts the unread rows it lists, and says nothing when it has none.
    for key, name in names.items():
        rows = (await client.get(HOME, params={"folder": key})).text.count('data-unread="true"')
        folder = name.split(",")[0]
        assert name == {0: folder, 1: f"{folder}, 1 ulest"}.get(rows, f"{folder}, {rows} uleste")
    assert folder_names((await client.get(HOME, params={"party": COMPANY_URN})).text)["inbox"] == "Innboks, 3 uleste"
    english = folder_names((await client.get(HOME, params={"lang": "en"})).text)
    assert english["inbox"] == "Inbox, 4 unread" and english["bin"] == "Bin"

    await client.get(HOME + f"dialog/{dialog_ids(page.text)['Byggesak 2026/114: tilbygg']}")
    assert folder_names((await client.get(HOME, params={"lang": "nb"})).text)["inbox"] == "Innboks, 3 uleste"
    # A party she cannot act for counts nothing.
    foreign = await client.get(HOME, params={"party": f"urn:altinn:person:identifier-no:{KARI.identifier}"})
    assert foreign.status_code == 403 and folder_names(foreign.text)["inbox"] == "Innboks"


async def step_up_to_level_4(client, step_up: str) -> str:
    """Follow the inbox's step-up link to ID-porten, which asks for a new login (the level-3 session does not do
    for level 4), log in with TestID at level 4; the inbox page the login comes back to."""
    authorize = await client.get(step_up)
    assert authorize.status_code == 303
    assert parse_qs(urlsplit(authorize.headers["location"]).query)["acr_values"] == ["idporten-loa-high"]
    login_page = await client.get(authorize.headers["location"])
    assert login_page.headers["location"].startswith("/idporten/login/")
    done = await client.post(login_page.headers["location"] + "/testid", data={"pid": KARI.identifier, "level": "4"})
    back = await client.get(local(done.headers["location"]))
    return local(back.headers["location"])


async def test_a_dialog_needing_a_higher_login_level_offers_that_login_and_opens_after_it(client, database, settings):
    await register_resource(database, TTD, "ttd", HIGH_LEVEL_RESOURCE, minimum_authentication_level=4)
    ttd = Principal("organization", organization_number=TTD, scopes=frozenset({service.SERVICE_PROVIDER_SCOPE}))
    row = await service.create_dialog(database, ttd, s.DialogCreate.model_validate({
        "serviceResource": HIGH_LEVEL_RESOURCE_URN, "party": f"urn:altinn:person:identifier-no:{KARI.identifier}",
        "status": "InProgress", "content": {"title": {"value": [{"value": "Skattemelding", "languageCode": "nb"}]},
                                            "summary": {"value": [{"value": "Til kontroll", "languageCode": "nb"}]}},
    }), base_url=settings.base_url)
    await log_in(client, HOME, KARI.identifier)  # at level 3 (substantial)

    refused = await client.get(HOME + f"dialog/{row.id}")
    assert refused.status_code == 403 and "Krever høyere sikkerhetsnivå" in refused.text
    assert "Skattemelding" not in refused.text
    step_up = re.search(r'href="(/inbox/step-up\?[^"]+)"', refused.text)
    assert step_up, refused.text
    assert await step_up_to_level_4(client, step_up.group(1).replace("&amp;", "&")) == HOME + f"dialog/{row.id}"
    opened = await client.get(HOME + f"dialog/{row.id}")
    assert opened.status_code == 200 and "Skattemelding" in opened.text


async def test_the_step_up_login_comes_back_only_to_the_inbox(client):
    await log_in(client, HOME, KARI.identifier)
    assert await step_up_to_level_4(client, HOME + "step-up?" + urlencode({"to": "https://evil.example/"})) == HOME
