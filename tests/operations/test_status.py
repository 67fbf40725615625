"""The status page and its API: each component's self-check, incidents opened and closed with `felles incident`,
and the history of the last 30 days."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta

import pytest

from felles.core.clock import clock
from felles.core.errors import Conflict, InvalidInput
from felles.operations import service
from tests.conftest import felles_command_environment


@pytest.fixture(autouse=True)
def _fresh_checks():
    service.forget_checks()
    yield
    service.forget_checks()


async def test_every_self_check_is_a_component_and_an_incident_sets_its_state(client, database):
    before = (await client.get("/status/api")).json()
    components = {c["name"]: c["status"] for c in before["components"]}
    assert components["database"] == "operational" and components["job queue"] == "operational"
    # The worst component's state is the platform's (the test settings' SMTP server may well be down).
    assert before["status"] == ("operational" if set(components.values()) == {"operational"} else "outage")
    assert before["openIncidents"] == []

    incident = await service.open_incident(database, component="database", severity="degraded",
                                           title="Slow answers", description="Replica lag.")
    await service.open_incident(database, component="ID-porten", severity="outage", title="No logins")
    during = (await client.get("/status/api")).json()
    components = {c["name"]: c["status"] for c in during["components"]}
    assert components["database"] == "degraded" and components["ID-porten"] == "outage"
    assert during["status"] == "outage"
    assert {i["title"] for i in during["openIncidents"]} == {"Slow answers", "No logins"}

    page = await client.get("/status")
    assert page.status_code == 200
    assert 'data-component="database" data-status="degraded"' in page.text
    assert "Replica lag." in page.text and 'id="overall" data-status="outage"' in page.text

    await service.close_incident(database, incident.id, resolution="Replica rebuilt.")
    after = (await client.get("/status/api")).json()
    assert {c["name"]: c["status"] for c in after["components"]}["database"] == "operational"
    assert [i["resolution"] for i in after["recentIncidents"]] == ["Replica rebuilt."]
    with pytest.raises(Conflict):
        await service.close_incident(database, incident.id)

    clock.advance(timedelta(days=31))
    assert (await client.get("/status/api")).json()["recentIncidents"] == []


async def test_an_incident_needs_a_known_severity_and_a_title(database):
    with pytest.raises(InvalidInput):
        await service.open_incident(database, component="database", severity="fine", title="x")
    with pytest.raises(InvalidInput):
        await service.open_incident(database, component="database", severity="outage", title=" ")


def run(environment, *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "felles.cli", "incident", *arguments], env=environment,
                          capture_output=True, text=True, timeout=120, check=False)


async def test_felles_incident_opens_lists_and_closes(database, settings):
    environment = felles_command_environment(settings.data_dir, DATABASE_URL=settings.database_url)
    opened = run(environment, "open", "blob store", "Uploads fail", "--severity", "outage")
    assert opened.returncode == 0, opened.stderr
    incident_id = opened.stdout.split()[1]
    assert [i.title for i in await service.list_incidents(database, open_only=True)] == ["Uploads fail"]
    listed = run(environment, "list", "--open")
    assert "Uploads fail" in listed.stdout
    closed = run(environment, "close", incident_id, "--resolution", "Disk replaced")
    assert closed.returncode == 0, closed.stderr
    assert await service.list_incidents(database, open_only=True) == []
    again = run(environment, "close", incident_id)
    assert again.returncode == 1 and "closed already" in again.stdout
