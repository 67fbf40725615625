"""What the inbox pages show of Dialogporten's documents: texts in the reader's language, the additional info
rendered safely (Markdown without raw HTML, or plain text), a list row, and a dialog with its timeline of
transmissions and activities, newest first."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from markdown_it import MarkdownIt
from markupsafe import Markup

from felles.portal.shell import norwegian_time

STATUS_COLOURS = {"InProgress": "info", "Draft": "neutral", "Awaiting": "warning", "RequiresAttention": "danger",
                  "Completed": "success", "NotApplicable": "neutral"}
# CommonMark without raw HTML; markdown-it refuses `javascript:` and similar links itself.
_MARKDOWN = MarkdownIt("commonmark", {"html": False})


def localised(value: dict[str, Any] | list[dict[str, Any]] | None, language: str) -> str:
    """The text of a content value (or a list of localizations) in the reader's language, else Bokmål, else any."""
    items = value.get("value", []) if isinstance(value, dict) else value or []
    texts = {item["languageCode"]: item["value"] for item in items}
    return texts.get(language) or texts.get("nb") or next(iter(texts.values()), "")


def rich_text(value: dict[str, Any] | None, language: str) -> Markup:
    """A content value as safe HTML: Markdown (`text/markdown`) without raw HTML, anything else as escaped text."""
    text = localised(value, language)
    if not text:
        return Markup("")
    if value is not None and str(value.get("mediaType", "")).startswith("text/markdown"):
        return Markup(_MARKDOWN.render(text))  # noqa: S704 - html is off: every tag in the source is escaped
    return Markup("").join(Markup("<p>{}</p>").format(part) for part in text.split("\n\n") if part.strip())


def when(value: str | None) -> str:
    """A stored time as the Norwegian clock shows it (date and minute)."""
    return "" if value is None else norwegian_time(datetime.fromisoformat(value))[:16]


def gui_urls(attachment: dict[str, Any]) -> list[dict[str, Any]]:
    return [url for url in attachment["urls"] if url["consumerType"] == "Gui"]


def attachment_view(item: dict[str, Any], language: str) -> dict[str, Any]:
    return {"name": localised(item["displayName"], language) or item.get("name") or item["id"],
            "urls": gui_urls(item)}


def list_row(item: dict[str, Any], language: str, party_names: dict[str, str]) -> dict[str, Any]:
    """One dialog in the list; unread means nobody has seen it since its content last changed."""
    content = item["content"]
    return {
        "id": item["id"], "title": localised(content["title"], language),
        "summary": localised(content["summary"], language),
        "sender": localised(content["senderName"], language) or item["org"],
        "party": party_names.get(item["party"], item["party"]), "status": item["status"],
        "colour": STATUS_COLOURS.get(item["status"], "neutral"), "updated": when(item["contentUpdatedAt"]),
        "unread": not item["isContentSeen"], "attachments": item["guiAttachmentCount"],
        "seen_by": [entry["seenBy"]["actorName"] for entry in item["seenSinceLastContentUpdate"]
                    if not entry.get("isCurrentEndUser")],
    }


def timeline(dialog: dict[str, Any], language: str) -> list[dict[str, Any]]:
    """Transmissions and activities in one list, the newest first; an activity that reports a transmission opened
    stays beside it, not on its own."""
    entries: list[dict[str, Any]] = []
    for item in dialog["transmissions"]:
        entries.append({
            "kind": "transmission", "at": item["createdAt"], "when": when(item["createdAt"]), "type": item["type"],
            "title": localised(item["content"]["title"], language),
            "summary": localised((item["content"].get("summary") or {}), language),
            "from_party": item["sender"]["actorType"] != "ServiceOwner",
            "sender": item["sender"].get("actorName") or "", "authorized": item["isAuthorized"],
            "attachments": [attachment_view(attachment, language) for attachment in item["attachments"]],
        })
    for item in dialog["activities"]:
        if item["type"] == "TransmissionOpened":
            continue
        entries.append({
            "kind": "activity", "at": item["createdAt"], "when": when(item["createdAt"]), "type": item["type"],
            "description": localised(item["description"], language),
            "by": (item.get("performedBy") or {}).get("actorName") or "",
        })
    return sorted(entries, key=lambda entry: entry["at"] or "", reverse=True)


def dialog_view(dialog: dict[str, Any], language: str, party_names: dict[str, str]) -> dict[str, Any]:
    content = dialog["content"]
    return {
        "id": dialog["id"], "title": localised(content["title"], language),
        "summary": localised(content["summary"], language),
        "additional_info": rich_text(content.get("additionalInfo"), language),
        "extended_status": localised(content.get("extendedStatus"), language),
        "sender": localised(content["senderName"], language) or dialog["org"],
        "party": party_names.get(dialog["party"], dialog["party"]), "status": dialog["status"],
        "colour": STATUS_COLOURS.get(dialog["status"], "neutral"), "folder": dialog["systemLabel"],
        "due": when(dialog["dueAt"]), "updated": when(dialog["contentUpdatedAt"]),
        "created": when(dialog["createdAt"]),
        "attachments": [attachment_view(item, language) for item in dialog["attachments"]],
        "actions": sorted(({
            "id": item["id"], "title": localised(item["title"], language), "url": item["url"],
            "priority": item["priority"], "method": item["httpMethod"], "authorized": item["isAuthorized"],
            "prompt": localised(item.get("prompt"), language), "delete": item["isDeleteDialogAction"],
        } for item in dialog["guiActions"]), key=lambda action: ("Primary", "Secondary", "Tertiary").index(
            action["priority"]) if action["priority"] in ("Primary", "Secondary", "Tertiary") else 3),
        "timeline": timeline(dialog, language),
        "seen": [{"name": item["seenBy"]["actorName"], "at": when(item["seenAt"]),
                  "current": item["isCurrentEndUser"]} for item in dialog["seenSinceLastContentUpdate"]],
    }
