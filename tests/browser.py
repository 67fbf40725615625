"""What the Chromium tests share: the platform as `make run` starts it on an empty data folder, a page that fails
the test on any script error or refused file, the TestID login a person goes through, and a wait for a form's
autosave."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.conftest import felles_command_environment, felles_serve, run_felles
from tests.portal.test_browser import chromium_page, watch_policy_violations

# A smaller demo population than `make run`'s, for a quicker start; the personas are the same.
SMALL_DEMO = ("--persons", "50", "--orgs", "10", "--seed", "1")


@contextmanager
def demo_platform(folder: Path, *seed_arguments: str) -> Iterator[str]:
    """`felles db upgrade`, `felles seed --demo` and `felles serve` on an empty data folder, as `make run` runs them;
    yields the address a person opens. The server's log must hold no traceback when it stops."""
    environment = felles_command_environment(folder / "var")
    run_felles(environment, "db", "upgrade")
    run_felles(environment, "seed", "--demo", *seed_arguments)
    with felles_serve(environment) as port:
        yield f"http://localhost:{port}"
    assert "Traceback" not in (folder / "var" / "serve.log").read_text()


@contextmanager
def watched_page() -> Iterator[Page]:
    """A Chromium page that fails the test on any uncaught script error or file refused by the
    Content-Security-Policy."""
    with chromium_page() as page:
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        refused = watch_policy_violations(page)
        yield page
        assert errors == [], errors
        assert refused == [], refused


def settled(page: Page) -> None:
    """A person works slower than a script: let the last field's autosave draw the page before going on."""
    expect(page.locator("form[aria-busy]")).to_have_count(0)


def choose_testid_person(page: Page, person: str) -> None:
    """On ID-porten's login page: TestID, find the person by their national identity number, log in."""
    page.get_by_role("link", name="TestID", exact=True).click()
    page.get_by_label("Søk etter testperson").fill(person)
    page.get_by_role("button", name="Søk").click()
    page.get_by_label(re.compile(rf"\({person}\)")).check()
    page.get_by_role("button", name="Logg inn").click()


def log_in(page: Page, base: str, path: str, person: str) -> None:
    """Open a page that needs a login, log in there as the person, and come back to it."""
    page.goto(f"{base}{path}")
    page.wait_for_url(f"{base}/idporten/login/**")
    choose_testid_person(page, person)
    page.wait_for_url(f"{base}{path}**")
