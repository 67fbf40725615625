"""Files sent through the next-move API pass a real clamd (a signature database of the EICAR test file only): an
infected file is refused with a problem, and the message is neither created nor sent."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from felles.core.config import Environment, Settings, VirusScannerKind, get_settings
from felles.correspondence.nextmove_api import SEND_SCOPE
from tests.conftest import bearer
from tests.core.test_virusscan import EICAR, clamd  # noqa: F401 - the real clamd fixture
from tests.correspondence.letters_support import (  # noqa: F401 - personas and nextmove_sender are fixtures
    REIDUN,
    SENDER,
    nextmove_sender,
    personas,
)
from tests.correspondence.test_nextmove import PDF, sbd

pytestmark = pytest.mark.usefixtures("personas", "nextmove_sender")


@pytest.fixture
def settings(data_dir, database_url, clamd, monkeypatch) -> Iterator[Settings]:  # noqa: F811 - clamd is a fixture
    """The test settings with clamd as the virus scanner."""
    monkeypatch.setenv("FELLES_VIRUS_SCANNER", "clamd")
    monkeypatch.setenv("FELLES_CLAMD_ADDRESS", clamd["unix"])
    get_settings.cache_clear()
    yield Settings(environment=Environment.TEST, data_dir=data_dir, database_url=database_url,
                   secret_key="test-secret-key-not-for-production", log_json=False, log_level="WARNING",
                   virus_scanner=VirusScannerKind.CLAMD, clamd_address=clamd["unix"])
    get_settings.cache_clear()


async def test_an_infected_file_is_refused_and_nothing_is_sent(client, token, settings) -> None:
    agency = bearer(token(scopes=[SEND_SCOPE], org=SENDER))
    blobs = settings.data_dir / "blobs" / "letters"
    before = set(blobs.iterdir()) if blobs.exists() else set()  # the test session's data folder
    refused = await client.post("/api/messages/out/multipart", headers=agency,
                                data={"sbd": json.dumps(sbd(receiver=REIDUN.identifier))},
                                files={"vedtak.pdf": ("vedtak.pdf", EICAR, "application/pdf")})
    assert refused.status_code == 400 and refused.json()["code"] == "file_infected"
    assert (await client.get("/api/conversations", headers=agency)).json()["totalElements"] == 0
    assert (set(blobs.iterdir()) if blobs.exists() else set()) == before

    created = (await client.post("/api/messages/out", json=sbd(), headers=agency)).json()
    message_id = created["standardBusinessDocumentHeader"]["documentIdentification"]["instanceIdentifier"]
    upload = {**agency, "Content-Type": "application/pdf", "Content-Disposition": 'attachment; filename="vedtak.pdf"'}
    infected = await client.put(f"/api/messages/out/{message_id}", content=EICAR, headers=upload)
    assert infected.status_code == 400 and infected.json()["code"] == "file_infected"
    assert (await client.put(f"/api/messages/out/{message_id}", content=PDF, headers=upload)).status_code == 200
    assert (await client.post(f"/api/messages/out/{message_id}", headers=agency)).status_code == 200
