"""Attachments through a real clamd (a signature database of the EICAR test file only): a clean attachment is
published with its correspondence; an infected one fails, and so does the correspondence that carries it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from felles.core.config import Settings
from tests.core.test_virusscan import EICAR, clamd, settings_scanning_with_clamd  # noqa: F401 - the real clamd fixture
from tests.correspondence.conftest import API, KARI, RESOURCE, person, run_jobs


@pytest.fixture
def settings(data_dir, database_url, clamd, monkeypatch) -> Iterator[Settings]:  # noqa: F811 - clamd is a fixture
    yield from settings_scanning_with_clamd(clamd, data_dir, database_url, monkeypatch)


def form(index: int) -> dict[str, str]:
    return {"correspondence.resourceId": RESOURCE, "correspondence.sendersReference": f"sak-{index}",
            "correspondence.content.language": "nb", "correspondence.content.messageTitle": "Vedtak",
            "correspondence.content.messageBody": "Se vedlegget.", "recipients[0]": person(KARI.identifier),
            "correspondence.content.attachments[0].fileName": "vedlegg.txt",
            "correspondence.content.attachments[0].sendersReference": "v"}


async def test_a_clean_attachment_is_published_and_an_infected_one_fails_its_correspondence(
        client, database, resource, sender, reader):
    sent = {}
    for index, content in enumerate((b"an ordinary letter\n", EICAR)):
        response = await client.post(f"{API}/correspondence/upload", headers=sender, data=form(index),
                                     files=[("Attachments", ("vedlegg.txt", content))])
        assert response.status_code == 200, response.text
        sent[content] = response.json()
    await run_jobs(database)
    clean, infected = sent[b"an ordinary letter\n"], sent[EICAR]
    clean_details = (await client.get(f"{API}/correspondence/{clean['correspondences'][0]['correspondenceId']}"
                                      "/details", headers=sender)).json()
    assert clean_details["status"] == "Published"
    infected_details = (await client.get(f"{API}/correspondence/{infected['correspondences'][0]['correspondenceId']}"
                                         "/details", headers=sender)).json()
    assert [event["status"] for event in infected_details["statusHistory"]] == ["Initialized", "Failed"]
    attachment = (await client.get(f"{API}/attachment/{infected['attachmentIds'][0]}/details",
                                   headers=sender)).json()
    assert attachment["status"] == "Failed"
    assert "Eicar" in attachment["statusText"] or "EICAR" in attachment["statusText"].upper()
    # The recipient never sees the failed one.
    failed_id = infected["correspondences"][0]["correspondenceId"]
    assert (await client.get(f"{API}/correspondence/{failed_id}", headers=reader(KARI.identifier))).status_code == 404
