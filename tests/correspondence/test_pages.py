"""The recipient's pages over HTTP: the list per party after the portal login, the message page with its body
rendered safely from markdown, and the actions on it (confirm, reply, archive, delete)."""

from __future__ import annotations

from tests.correspondence.conftest import COMPANY, INGRID, KARI, OLA, organization, person, send_published
from tests.portal.login import form_token, local, log_in

INBOX = "/correspondence/ui"
HOSTILE = """# Overskrift

<script>alert("x")</script> <img src="https://elsewhere.example/pixel.png">
![bilde](https://elsewhere.example/bilde.png) [lenke](javascript:alert(1)) [trygg](https://fjordvik.example/)
"""


async def test_the_list_shows_each_partys_post_and_the_message_page_renders_markdown_safely(
        client, database, resource, sender, job_settings):
    await send_published(client, database, sender, person(KARI.identifier), content={
        "language": "nb", "messageTitle": "Farlig markdown", "messageBody": HOSTILE})
    await send_published(client, database, sender, organization(COMPANY), content={
        "language": "nb", "messageTitle": "Til selskapet", "messageBody": "Hei"})
    listed = await log_in(client, INBOX, INGRID.identifier)
    assert "Til selskapet" in listed.text and "Fjordkraft Demo AS" in listed.text
    assert "Farlig markdown" not in listed.text
    client.cookies.clear()
    listed = await log_in(client, INBOX, KARI.identifier)
    assert "Farlig markdown" in listed.text and "Til selskapet" not in listed.text
    href = next(part.split('"')[0] for part in listed.text.split('href="') if part.startswith(INBOX + "/message/"))
    page = await client.get(href)
    assert page.status_code == 200
    body = page.text.split('id="correspondence-body">', 1)[1].split("</article>", 1)[0]
    assert "<h1>Overskrift</h1>" in body
    assert "<script" not in body and "<img" not in body and "href=\"javascript" not in body
    assert "&lt;script&gt;" in body
    assert '<a href="https://fjordvik.example/">trygg</a>' in body
    assert 'data-status="Read"' in page.text


async def test_confirm_reply_archive_and_delete_from_the_page(client, database, resource, sender, job_settings):
    (identifier,) = await send_published(client, database, sender, isConfirmationNeeded=True, replyOptions=[
        {"linkURL": "https://skatteetaten.example/svar", "linkText": "Svar på vedtaket"}])
    page_path = f"{INBOX}/message/{identifier}"
    page = await log_in(client, page_path, KARI.identifier)
    token = form_token(page.text)
    refused = await client.post(f"{page_path}/archive", data={"form_token": token})
    assert refused.status_code == 409 and "må bekreftes" in refused.text
    confirmed = await client.post(f"{page_path}/confirm", data={"form_token": token})
    assert confirmed.status_code == 303 and local(confirmed.headers["location"]) == page_path
    assert 'data-status="Confirmed"' in (await client.get(page_path)).text
    replied = await client.post(f"{page_path}/reply", data={"form_token": token, "option": "0"})
    assert replied.status_code == 303 and replied.headers["location"] == "https://skatteetaten.example/svar"
    assert (await client.post(f"{page_path}/archive", data={"form_token": token})).status_code == 303
    assert 'data-status="Archived"' in (await client.get(page_path)).text
    deleted = await client.post(f"{page_path}/delete", data={"form_token": token})
    assert deleted.status_code == 303 and local(deleted.headers["location"]) == INBOX
    assert (await client.get(page_path)).status_code == 404
    forged = await client.post(f"{page_path}/confirm", data={"form_token": "0" * 64})
    assert forged.status_code == 400


async def test_another_person_gets_no_message_page(client, database, resource, sender, job_settings):
    (identifier,) = await send_published(client, database, sender)
    page = await log_in(client, f"{INBOX}/message/{identifier}", OLA.identifier)
    assert page.status_code == 403
