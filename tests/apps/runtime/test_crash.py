"""A server killed (SIGKILL) in the middle of a process step leaves the instance as it was before the step,
and the step can be made again."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
from sqlalchemy import select

from felles.authorization import service as authorization
from felles.events.models import CloudEventRecord
from felles.storage import service as storage
from tests.apps.runtime.conftest import KARI, process_of
from tests.conftest import free_listener

REPO = Path(__file__).resolve().parents[3]


def start_server(settings, port: int, hang_dir: Path, log) -> subprocess.Popen[bytes]:
    environment = {
        **{name: value for name, value in os.environ.items() if not name.startswith("FELLES_")},
        "FELLES_DATABASE_URL": settings.database_url, "FELLES_DATA_DIR": str(settings.data_dir),
        "FELLES_ENVIRONMENT": "test", "FELLES_SECRET_KEY": settings.secret_key,
        "FELLES_BASE_URL": settings.base_url, "FELLES_LOG_LEVEL": "WARNING",
        "FELLES_PLUGIN_MODULES": '["tests.apps.runtime.hanging_task"]', "RUNTIME_TEST_HANG_DIR": str(hang_dir),
        "PYTHONPATH": str(REPO),
    }
    server = subprocess.Popen([sys.executable, "-m", "felles.cli", "serve", "--port", str(port), "--no-migrate",
                               "--no-job-worker"], env=environment, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health/ready").status_code == 200:
                return server
        except httpx.TransportError:
            pass
        assert server.poll() is None and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.2)


async def test_a_kill_during_next_leaves_no_half_step_and_the_retry_works(database, settings, deploy_variant, kari,
                                                                          tmp_path) -> None:
    app_id = await deploy_variant("runtime-crash", process=process_of(
        ("Task_1", "data"), ("Task_2", "hang", "serviceTask"), ("Task_3", "confirmation")))
    party = (await authorization.party_of(database, KARI)).party_id
    hang_dir = tmp_path / "hang-control"
    hang_dir.mkdir()
    listener = free_listener()
    port = listener.getsockname()[1]
    listener.close()
    base = f"http://127.0.0.1:{port}/{app_id}/instances"
    with (tmp_path / "server.log").open("ab") as log:
        server = start_server(settings, port, hang_dir, log)
        try:
            async with httpx.AsyncClient(timeout=60) as http:
                created = await http.post(f"{base}/create", headers=kari, json={
                    "instanceOwner": {"partyId": str(party)}, "prefill": {"belop": 5000}})
                assert created.status_code == 201, created.text
                instance_id = created.json()["id"]
                guid = uuid.UUID(instance_id.split("/")[1])
                async with database.transaction() as session:
                    before = (await storage.instance_row(session, guid)).revision
                (hang_dir / "hang").touch()
                moving = asyncio.create_task(http.put(f"{base}/{instance_id}/process/next", headers=kari))
                deadline = time.monotonic() + 60
                while not (hang_dir / "entered").exists():
                    assert time.monotonic() < deadline and not moving.done(), "the step never reached the task"
                    await asyncio.sleep(0.05)
                server.send_signal(signal.SIGKILL)
                server.wait(10)
                try:
                    await moving
                except httpx.TransportError:
                    pass  # the connection died with the server, as it should
        finally:
            server.kill()

        async with database.transaction() as session:
            row = await storage.instance_row(session, guid)
            elements = (await storage.data_elements_of(session, [guid]))[guid]
            published = list(await session.scalars(select(CloudEventRecord.type)))
        assert row.current_task == "Task_1" and row.revision == before
        assert not any(element.locked for element in elements)
        kinds = [event.eventType for event in (await storage.events_of(database, guid, party_id=party)).instanceEvents]
        assert "process_EndTask" not in kinds
        assert "app.instance.process.movedTo.Task_2" not in published

        (hang_dir / "hang").unlink()
        server = start_server(settings, port, hang_dir, log)
        try:
            async with httpx.AsyncClient(timeout=60) as http:
                retried = await http.put(f"{base}/{instance_id}/process/next", headers=kari)
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(30)
    assert retried.status_code == 200, retried.text
    assert retried.json()["currentTask"]["elementId"] == "Task_3"

