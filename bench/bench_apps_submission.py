"""Complete submissions of an app per second, through the app API, as issue 13 defines one: instantiate, three saves
of the form data, validate, and the process to its end (the form, the confirmation, then a pdf service task that
writes the receipt and keeps it as the instance's `ref-data-as-pdf`), against a bare route in the same run.

    .venv/bin/python bench/bench_apps_submission.py [--submissions 300] [--concurrency 8] [--workers N]
        [--database-url postgresql+asyncpg://…/x_bench]   (or FELLES_BENCH_DATABASE_URL)

The app is the runtime tests' grant application (`tests/apps/runtime/soknad`: prefill from Folkeregisteret, a
gateway on the amount), with a pdf service task put before its end. On a fresh SQLite file in a temporary folder by
default; a PostgreSQL database (its name must contain "bench") is emptied first.

- Without `--workers`: in one process over ASGI (no sockets), so the figures are the platform's own cost; the CPU
  per submission is this process's, the client's share (httpx) included. Also printed: the SQL statements and
  transactions of one submission.
- With `--workers N`: against `felles serve --workers N` over loopback HTTP (keep-alive connections), the client
  in this process on the same cores; the server's CPU per submission is read from /proc (all its processes),
  so it does not depend on the load of the machine.

Printed: submissions/s and requests/s, p50/p95 of one submission, the bare route's requests/s (GET /health/live,
the same client and concurrency) and the ratio of the two request rates, CPU per submission, peak memory.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from pypdf import PdfReader

from felles.app import create_app
from felles.apps import deployment
from felles.authorization import service as authorization
from felles.core.db import Database
from felles.core.tokens import PlatformKeys, mint_development_token
from felles.registers.population import seed_demo_personas
from harness import (
    REPO,
    Rate,
    bare_route,
    bench_settings,
    counting,
    cpu_seconds,
    database_name,
    fresh_database,
    latencies_ms,
    load_average,
    memory_kb,
    peak_memory_mb,
    rate_of,
    served,
)

APP_FOLDER = REPO / "tests" / "apps" / "runtime" / "soknad"
KARI = "12838404268"
REQUESTS_PER_SUBMISSION = 7  # create, 3 saves, validate, next, next (the pdf task runs within the last)
PDF_TASK = """<bpmn:serviceTask id="Task_Pdf" name="Kvittering">
      <bpmn:extensionElements><altinn:taskExtension><altinn:taskType>pdf</altinn:taskType>
        <altinn:pdfConfig><altinn:autoPdfTaskIds><altinn:taskId>Task_1</altinn:taskId></altinn:autoPdfTaskIds>
        </altinn:pdfConfig></altinn:taskExtension></bpmn:extensionElements>
      <bpmn:incoming>Flow_Small</bpmn:incoming><bpmn:incoming>Flow_End</bpmn:incoming>
      <bpmn:outgoing>Flow_Pdf</bpmn:outgoing>
    </bpmn:serviceTask>
    <bpmn:sequenceFlow id="Flow_Pdf" sourceRef="Task_Pdf" targetRef="EndEvent_1" />
    <bpmn:endEvent id="EndEvent_1"><bpmn:incoming>Flow_Pdf</bpmn:incoming></bpmn:endEvent>"""


def app_with_pdf_task(target: Path) -> Path:
    """The grant application with a pdf service task between its last task (or its gateway) and its end."""
    shutil.copytree(APP_FOLDER, target)
    bpmn = target / "App" / "config" / "process" / "process.bpmn"
    process = bpmn.read_text(encoding="utf-8")
    end = '<bpmn:endEvent id="EndEvent_1"><bpmn:incoming>Flow_Small</bpmn:incoming><bpmn:incoming>Flow_End' \
          '</bpmn:incoming></bpmn:endEvent>'
    assert end in process, "the grant application's process changed: update the bench"
    process = process.replace(end, PDF_TASK).replace(
        'sourceRef="Gateway_Belop" targetRef="EndEvent_1"', 'sourceRef="Gateway_Belop" targetRef="Task_Pdf"').replace(
        'sourceRef="Task_2" targetRef="EndEvent_1"', 'sourceRef="Task_2" targetRef="Task_Pdf"')
    bpmn.write_text(process, encoding="utf-8")
    return target


async def submit(http: httpx.AsyncClient, app_id: str, party: int, headers: dict[str, str], number: int) -> str:
    """One complete submission; the instance's path."""
    created = await http.post(f"/{app_id}/instances/create", headers=headers,
                              json={"instanceOwner": {"partyId": str(party)}})
    created.raise_for_status()
    instance = created.json()
    path = f"/{app_id}/instances/{instance['id']}"
    form = next(element for element in instance["data"] if element["dataType"] == "skjema")
    for save in range(3):
        saved = await http.put(f"{path}/data/{form['id']}", headers=headers, json={
            "navn": "Kari Nordmann", "fodselsnummer": KARI, "epost": "kari@example.no", "belop": 1001 + save + number,
            "formal": "Kajakk til turlaget " * (save + 1)})
        saved.raise_for_status()
    issues = await http.get(f"{path}/validate", headers=headers)
    issues.raise_for_status()
    assert not [issue for issue in issues.json() if issue.get("severity") == 1], issues.text
    for action in (None, "confirm"):
        moved = await http.put(f"{path}/process/next", headers=headers, json={"action": action} if action else None)
        moved.raise_for_status()
    assert moved.json().get("endEvent") == "EndEvent_1", moved.text
    return path


async def check_receipt(http: httpx.AsyncClient, path: str, headers: dict[str, str]) -> None:
    """The submission's receipt was made by the process and reads back with the form's answers."""
    instance = (await http.get(path, headers=headers)).json()
    receipt = next(element for element in instance["data"] if element["dataType"] == "ref-data-as-pdf")
    pdf = await http.get(f"{path}/data/{receipt['id']}", headers=headers)
    pdf.raise_for_status()
    assert "Kajakk til turlaget" in " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)


async def main(submissions: int, concurrency: int, workers: int | None, url: str | None) -> None:
    with tempfile.TemporaryDirectory(prefix="felles-bench-submission-") as scratch:
        folder = Path(scratch)
        url = await fresh_database(url, folder)
        settings = bench_settings(folder, url)
        database = Database(url)
        await seed_demo_personas(database)
        app_id = (await deployment.deploy_folder(database, app_with_pdf_task(folder / "soknad"), "bench")).app_id
        party = (await authorization.party_of(database, KARI)).party_id
        await database.dispose()
        token = mint_development_token(PlatformKeys.load(settings), settings, person_identifier=KARI,
                                       scopes=["altinn:instances.read", "altinn:instances.write"],
                                       authentication_level=3, lifetime_seconds=3600)
        headers = {"Authorization": f"Bearer {token}"}

        async def run(http: httpx.AsyncClient, cpu: Callable[[], float]) -> None:
            await check_receipt(http, await submit(http, app_id, party, headers, 0), headers)  # warm, and right
            bare = await bare_route(http, submissions * REQUESTS_PER_SUBMISSION, concurrency)
            used, client = cpu(), time.process_time()
            measured = await rate_of(submissions, concurrency, lambda number: submit(http, app_id, party, headers,
                                                                                      number))
            report(url, submissions, concurrency, workers, measured, bare, (cpu() - used) / submissions)
            if workers is not None:
                print(f"  client CPU               {(time.process_time() - client) * 1000 / submissions:8.1f} ms "
                      "per submission (this process, on the same cores)")

        if workers is None:
            app = create_app(settings, run_worker=False)
            engine = app.state.runtime.database.engine
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench.test",
                                         timeout=120) as http:
                await run(http, time.process_time)
                with counting(engine) as counted:
                    await submit(http, app_id, party, headers, 1)
            print(f"  one submission's SQL      {counted.statements} statements in {counted.transactions} "
                  "transactions")
            print(f"  peak memory              {peak_memory_mb():8.0f} MB (client and server)")
            await app.state.runtime.database.dispose()
        else:
            async with served(settings, "--workers", str(workers)) as (pid, base):
                limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
                async with httpx.AsyncClient(base_url=base, timeout=120, limits=limits) as http:
                    await run(http, lambda: cpu_seconds(pid))
                print(f"  server memory            {memory_kb(pid, 'VmRSS') / 1024:8.0f} MB (the parent process)")


def report(url: str, submissions: int, concurrency: int, workers: int | None, measured: Rate, bare: Rate,
           cpu_per_submission: float) -> None:
    where = "in process (ASGI)" if workers is None else f"felles serve --workers {workers}"
    print(f"database: {database_name(url)}; {where}; {submissions} submissions, {concurrency} at a time; "
          f"{load_average()}")
    print(f"  complete submissions     {measured.per_second:8.1f} /s   "
          f"({measured.per_second * REQUESTS_PER_SUBMISSION:.0f} requests/s)")
    print(f"  one submission           {latencies_ms(measured.took)}")
    print(f"  CPU per submission       {cpu_per_submission * 1000:8.1f} ms "
          f"({'client and server' if workers is None else 'server, all its processes'})")
    print(f"  bare route (baseline)    {bare.per_second:8.0f} requests/s")
    print(f"  ratio                    {measured.per_second * REQUESTS_PER_SUBMISSION / bare.per_second:8.3f} "
          "(submission requests/s ÷ bare requests/s)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--submissions", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, help="against `felles serve --workers N` instead of in process")
    parser.add_argument("--database-url", default=os.environ.get("FELLES_BENCH_DATABASE_URL"))
    arguments = parser.parse_args()
    asyncio.run(main(arguments.submissions, arguments.concurrency, arguments.workers, arguments.database_url))
