"""Development pages of digital post and print: the development mailbox provider's page per person
(`/digitalpost/postkasse`: the person logged in through the portal sees their letters and opens one, which
sends the opening receipt), and the print outbox (`/print/outbox`: the letters sent to print, with their PDF).

Both belong to the development providers: the mailbox page answers 404 unless the development mailbox provider
is chosen; the print outbox answers 404 in production (and only to operators there, as the other outboxes)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, Response, StreamingResponse
from markdown_it import MarkdownIt
from markupsafe import Markup

from felles.core.blobs import open_blob_store
from felles.core.errors import NotFound
from felles.core.runtime import RuntimeDep
from felles.core.tokens import OperatorInProduction
from felles.correspondence import digitalpost, printing
from felles.portal import login
from felles.portal.shell import render_page

router = APIRouter(include_in_schema=False)
outbox_router = APIRouter(include_in_schema=False, dependencies=[OperatorInProduction])

MAILBOX_PATH = "/digitalpost/postkasse"
OUTBOX_PATH = "/print/outbox"
# A letter's Markdown: no HTML and no images (a page loads nothing from another host); markdown-it escapes text
# and refuses javascript: links.
_markdown = MarkdownIt("commonmark", {"html": False}).disable(["image"])


def _letter_body(markdown: str) -> Markup:
    """The letter's Markdown as HTML under the page's own heading: its headings start at level 2."""
    tokens = _markdown.parse(markdown)
    for token in tokens:
        if token.type in ("heading_open", "heading_close"):
            token.tag = f"h{min(int(token.tag[1]) + 1, 6)}"
    return Markup(_markdown.renderer.render(tokens, _markdown.options, {}))  # noqa: S704 - no HTML passes


def _mailbox_served(runtime: RuntimeDep) -> None:
    if runtime.settings.mailbox_provider != digitalpost.DevelopmentMailboxProvider.name:
        raise NotFound("The development mailbox is not in use.", code="not_found")


def _letter_id(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise NotFound("No such letter in your mailbox.", code="letter_not_found") from None


@router.get(MAILBOX_PATH, response_class=HTMLResponse, name="letters_mailbox", response_model=None)
async def mailbox(request: Request, runtime: RuntimeDep) -> Response:
    """Digital postkasse: the person's letters, newest first."""
    _mailbox_served(runtime)
    person = await login.signed_in_person(request, runtime)
    if person is None:
        return await login.start_login(request, runtime, MAILBOX_PATH)
    letters = await digitalpost.development_mailbox(runtime.database, person)
    response = render_page(request, "correspondence/letters_mailbox.html", {
        "letters": letters, "outbox_path": OUTBOX_PATH, "mailbox_path": MAILBOX_PATH})
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get(MAILBOX_PATH + "/{letter_id}", response_class=HTMLResponse, name="letters_letter", response_model=None)
async def letter(request: Request, runtime: RuntimeDep, letter_id: str) -> Response:
    """One letter, opened: the provider's opening receipt goes to the sender, and the letter never goes on
    paper."""
    _mailbox_served(runtime)
    wanted = _letter_id(letter_id)
    person = await login.signed_in_person(request, runtime)
    if person is None:
        return await login.start_login(request, runtime, f"{MAILBOX_PATH}/{wanted}")
    opened = await digitalpost.open_in_development_mailbox(runtime.database, person, wanted)
    response = render_page(request, "correspondence/letters_letter.html", {
        "letter": opened, "body": _letter_body(opened.body_markdown),
        "mailbox_path": MAILBOX_PATH})
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get(MAILBOX_PATH + "/{letter_id}/brev.pdf", name="letters_letter_pdf", response_model=None)
async def letter_pdf(request: Request, runtime: RuntimeDep, letter_id: str) -> Response:
    _mailbox_served(runtime)
    wanted = _letter_id(letter_id)
    person = await login.signed_in_person(request, runtime)
    if person is None:
        return await login.start_login(request, runtime, f"{MAILBOX_PATH}/{wanted}")
    content = await digitalpost.development_mailbox_document(runtime.database, runtime.settings, person, wanted)
    return Response(content, media_type="application/pdf", headers={
        "Content-Disposition": 'inline; filename="brev.pdf"', "Cache-Control": "no-store"})


@router.get(MAILBOX_PATH + "/{letter_id}/dokument/{number}", name="letters_enclosure", response_model=None)
async def enclosure(request: Request, runtime: RuntimeDep, letter_id: str, number: int) -> Response:
    """One of the files the letter encloses (a next-move message's documents), as a download."""
    _mailbox_served(runtime)
    wanted = _letter_id(letter_id)
    person = await login.signed_in_person(request, runtime)
    if person is None:
        return await login.start_login(request, runtime, f"{MAILBOX_PATH}/{wanted}")
    document = await digitalpost.development_mailbox_enclosure(runtime.database, person, wanted, number)
    stream = await open_blob_store(runtime.settings).get(document["blobKey"])
    return StreamingResponse(stream, media_type="application/octet-stream", headers={
        "Content-Disposition": f'attachment; filename="{document["name"]}"', "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff"})


@outbox_router.get(OUTBOX_PATH, response_class=HTMLResponse, name="print_outbox")
async def print_outbox(request: Request, runtime: RuntimeDep) -> HTMLResponse:
    """Utskrift (utvikling): the letters the outbox print provider "printed", newest first."""
    if runtime.settings.is_production:
        raise NotFound("There is no print outbox in production.", code="not_found")
    letters = await printing.print_outbox(runtime.database)
    return render_page(request, "correspondence/print_outbox.html", {
        "letters": letters, "outbox_path": OUTBOX_PATH,
        "folder": runtime.settings.data_dir / printing.OUTBOX_FOLDER})


@outbox_router.get(OUTBOX_PATH + "/{batch_id}/{letter_id}.pdf", name="print_outbox_pdf")
async def print_outbox_pdf(runtime: RuntimeDep, batch_id: uuid.UUID, letter_id: uuid.UUID) -> FileResponse:
    if runtime.settings.is_production:
        raise NotFound("There is no print outbox in production.", code="not_found")
    path = printing.print_outbox_file(runtime.settings, batch_id, letter_id)
    return FileResponse(path, media_type="application/pdf", headers={"Cache-Control": "no-store"})
