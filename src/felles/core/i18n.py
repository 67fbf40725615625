"""User-facing text in Norwegian Bokmål (nb), Norwegian Nynorsk (nn) and English (en).

Messages live in JSON catalogues, one folder per language and one file per namespace:
`locales/<language>/<namespace>.json` holds flat keys, and the namespace (the file's name) prefixes them, so
`locales/nb/portal.json` with `"welcome.title"` answers `translate("portal.welcome.title", "nb")`. A component
adds its own file instead of editing a shared one. Messages are `str.format` templates: `"Version {version}"`.

A key missing in a language falls back to Bokmål, then to the key itself, so a missing translation shows up
as readable text on the page rather than as an error.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from importlib.resources import files
from typing import Final, Literal, TypeGuard

Language = Literal["nb", "nn", "en"]

SUPPORTED_LANGUAGES: Final[tuple[Language, ...]] = ("nb", "nn", "en")
DEFAULT_LANGUAGE: Final[Language] = "nb"
# Each language's name in itself, as a language switch shows it.
LANGUAGE_AUTONYMS: Final[Mapping[Language, str]] = {
    "nb": "Norsk bokmål",
    "nn": "Norsk nynorsk",
    "en": "English",
}
# Language tags browsers send, by primary subtag. "no" (Norwegian, unspecified) reads as Bokmål.
_PRIMARY_SUBTAGS: Final[Mapping[str, Language]] = {"nb": "nb", "no": "nb", "nn": "nn", "en": "en"}


def is_supported(value: object) -> TypeGuard[Language]:
    return value in SUPPORTED_LANGUAGES


@cache
def catalogue(language: Language) -> Mapping[str, str]:
    """Every message of one language, keyed `<namespace>.<key>`."""
    folder = files(__package__ or "felles.core").joinpath("locales", language)
    messages: dict[str, str] = {}
    for entry in sorted(folder.iterdir(), key=lambda item: item.name):
        if not entry.name.endswith(".json"):
            continue
        namespace = entry.name.removesuffix(".json")
        content = json.loads(entry.read_text(encoding="utf-8"))
        if not isinstance(content, dict) or not all(
            isinstance(key, str) and isinstance(text, str) for key, text in content.items()
        ):
            raise ValueError(f"locales/{language}/{entry.name} must be one object of string messages")
        messages.update({f"{namespace}.{key}": text for key, text in content.items()})
    return messages


def translate(key: str, language: str, /, **params: object) -> str:
    """The message `key` in `language` (Bokmål if the language or the key is missing there), formatted."""
    message = catalogue(language).get(key) if is_supported(language) else None
    if message is None:
        message = catalogue(DEFAULT_LANGUAGE).get(key, key)
    return message.format_map(params) if params else message


def negotiate_language(cookie: str | None, accept_language: str | None) -> Language:
    """The language to answer in: the one the user chose (cookie), else the browser's preference, else nb."""
    if cookie is not None and is_supported(chosen := cookie.strip().lower()):
        return chosen
    for tag in _preferred_tags(accept_language or ""):
        language = _PRIMARY_SUBTAGS.get(tag.split("-", 1)[0])
        if language is not None:
            return language
    return DEFAULT_LANGUAGE


def _preferred_tags(header: str) -> list[str]:
    """The language tags of an `Accept-Language` header, most preferred first (RFC 9110 §12.5.4)."""
    weighted: list[tuple[float, int, str]] = []
    for position, item in enumerate(header.split(",")):
        tag, _, parameters = item.partition(";")
        tag = tag.strip().lower()
        quality = 1.0
        name, _, value = parameters.partition("=")
        if name.strip().lower() == "q":
            try:
                quality = float(value)
            except ValueError:
                continue
        if tag and quality > 0:
            weighted.append((-quality, position, tag))
    return [tag for _, _, tag in sorted(weighted)]
