"""The message catalogues and how a language is chosen (felles.core.i18n)."""

from __future__ import annotations

import string

import pytest

from felles.core.i18n import (
    DEFAULT_LANGUAGE,
    SUPPORTED_LANGUAGES,
    Language,
    catalogue,
    negotiate_language,
    translate,
)


def placeholders(message: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(message) if name is not None}


@pytest.mark.parametrize("language", [lang for lang in SUPPORTED_LANGUAGES if lang != DEFAULT_LANGUAGE])
def test_every_message_is_translated_with_the_same_placeholders(language: Language) -> None:
    bokmal, other = catalogue(DEFAULT_LANGUAGE), catalogue(language)

    assert sorted(set(bokmal) - set(other)) == [], f"untranslated in {language}"
    assert sorted(set(other) - set(bokmal)) == [], f"only in {language}"
    assert {key: placeholders(text) for key, text in other.items()} == {
        key: placeholders(text) for key, text in bokmal.items()
    }
    assert all(text.strip() for text in other.values())


def test_a_message_is_formatted_in_the_asked_language() -> None:
    assert translate("portal.shell.footer.version", "en", version="1.2") == "Version 1.2"
    assert translate("portal.welcome.heading", "nn") == "Velkomen til Felles"


def test_a_missing_translation_falls_back_to_bokmal_then_to_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(catalogue("nn"), "portal.welcome.heading")  # type: ignore[arg-type]

    assert translate("portal.welcome.heading", "nn") == "Velkommen til Felles"
    assert translate("portal.welcome.heading", "de") == "Velkommen til Felles"
    assert translate("portal.no.such.key", "en") == "portal.no.such.key"


@pytest.mark.parametrize(
    ("cookie", "accept_language", "expected"),
    [
        ("en", "nn", "en"),  # a choice the user made wins over the browser
        ("NN", None, "nn"),
        ("sv", "en-US,en;q=0.9", "en"),  # a cookie we cannot use is ignored
        (None, "nn-NO,nb;q=0.9", "nn"),
        (None, "nb;q=0.5, en;q=0.8", "en"),  # quality, not position, decides
        (None, "en;q=0, nn;q=0.1", "nn"),  # q=0 means "not this one"
        (None, "no", "nb"),  # Norwegian without a written standard reads as Bokmål
        (None, "de-DE, fr;q=0.9", "nb"),
        (None, "en;q=nonsense, nn;q=0.2", "nn"),
        (None, "", "nb"),
        (None, None, "nb"),
    ],
)
def test_the_language_is_negotiated(cookie: str | None, accept_language: str | None, expected: str) -> None:
    assert negotiate_language(cookie, accept_language) == expected
