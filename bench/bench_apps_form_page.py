"""A form page with a 50-row repeating group, drawn by the server for a logged-in person, against a bare route.

    .venv/bin/python bench/bench_apps_form_page.py [--rows 50] [--requests 300]

Deploys the forms tests' app (its dog page: a repeating group of three fields per row, a text with a variable
read from the row, a field hidden by a lookup through the row's group), starts an instance for a demo person,
gives it ``--rows`` rows, logs in through TestID and then GETs that page over HTTP (in process, httpx's ASGI
transport, so the figures are the server's) against `/health/live` in the same run. Prints p50/p95/p99, pages/s
and the ratio of the page's p95 to the bare route's. Uses a fresh SQLite database in a temporary folder, or
FELLES_BENCH_DATABASE_URL (a PostgreSQL database whose name contains "bench"; it is emptied).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx

from harness import REPO, bench_settings, database_name, fresh_database, latencies_ms, load_average, percentile

sys.path.insert(0, str(REPO))

from tests.apps.forms.conftest import KARI, SKJEMA
from tests.portal.login import log_in

from felles.app import create_app
from felles.apps import access, data, deployment, instances
from felles.authorization import service as authorization
from felles.registers.population import seed_demo_personas


async def _once(content: bytes) -> AsyncIterator[bytes]:
    yield content


async def measure(client: httpx.AsyncClient, path: str, requests: int) -> list[float]:
    for _ in range(10):  # warm caches (the app catalogue, compiled expressions, templates)
        assert (await client.get(path)).status_code == 200
    samples = []
    for _ in range(requests):
        started = time.perf_counter()
        response = await client.get(path)
        samples.append(time.perf_counter() - started)
        assert response.status_code == 200
    return samples


async def main(rows: int, requests: int) -> None:
    with tempfile.TemporaryDirectory(prefix="felles-bench-forms-") as scratch:
        folder = Path(scratch)
        url = await fresh_database(os.environ.get("FELLES_BENCH_DATABASE_URL"), folder)
        settings = bench_settings(folder, url)
        app = create_app(settings, run_worker=False)
        runtime = app.state.runtime
        await seed_demo_personas(runtime.database)
        shutil.copytree(SKJEMA, folder / "skjema")
        await deployment.deploy_folder(runtime.database, folder / "skjema", "bench", name="ttd/bench-forms")
        party = await authorization.party_of(runtime.database, KARI)
        caller = access.Caller(KARI, None, 3, party.user_id)
        # the catalogue the app's requests use (the pages and the services then share what it has loaded)
        apps = app.state.app_catalogue = deployment.AppCatalogue(runtime.database, folder / "apps")
        running = deployment.RunningApp(*(await apps.get("ttd/bench-forms")))
        created = await instances.create_instance(
            runtime, running, caller, instances.InstanceTemplate(instances.OwnerChoice(party_id=party.party_id)))
        party_id, guid = created.id.split("/", 1)
        ref = data.InstanceRef(runtime, apps, running.id, caller, int(party_id), uuid.UUID(guid))
        element = next(e for e in (created.data or []) if e.dataType == "skjema")
        form_data = {"navn": "Kari Nordmann", "harHund": "ja", "hunder": [
            {"altinnRowId": str(uuid.uuid4()), "navn": f"Hund {row}", "rase": "puddel" if row % 3 else "labrador",
             "vekt": 10 + row} for row in range(rows)]}
        body = json.dumps(form_data).encode()
        await data.replace_data_element(ref, uuid.UUID(element.id), content_type="application/json",
                                        content_disposition=None, content_length=len(body), body=_once(body))

        page = f"/ttd/bench-forms/instance/{party_id}/{guid}/Task_1/hunder"
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://felles.test") as client:
            first = await log_in(client, page, KARI)
            assert first.status_code == 200 and f"Hund {rows - 1}" in first.text, first.text[:500]
            size = len(first.content)
            bare = await measure(client, "/health/live", requests)
            form = await measure(client, page, requests)
            # memory apart: tracing every allocation slows Python down several times
            tracemalloc.start()
            await measure(client, page, 5)
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
        await runtime.database.dispose()

    print(f"form page with a {rows}-row repeating group ({size / 1024:.0f} KiB of HTML), {requests} requests, "
          f"{database_name(url)}; {load_average()}")
    for label, samples in (("bare route (/health/live)", bare), (f"form page ({rows} rows)", form)):
        print(f"  {label:<32} {latencies_ms(samples)}   {1 / statistics.mean(samples):7.0f} pages/s")
    print(f"  ratio of p95 (form page / bare route): {percentile(form, 95) / percentile(bare, 95):.1f}×   "
          f"peak Python memory while drawing pages: {peak / 1e6:.1f} MB   target: p95 < 50 ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=50)
    parser.add_argument("--requests", type=int, default=300)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.rows, arguments.requests))
