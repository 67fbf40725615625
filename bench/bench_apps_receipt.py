"""The PDF receipt of a filled-in form: time to build and render it, against a trivial PDF rendered in the same run.

    .venv/bin/python bench/bench_apps_receipt.py [--rounds 30] [--rows 25]

The form is the receipt test app's (tests/apps/receipt/receipt_app: a page of inputs with number and date formatting
and option labels, a repeating group of vehicles with `--rows` rows, one of them hidden, and attachments), in
Norwegian. Each round reads the form into a FormState, evaluates what is hidden, writes the document and renders it
with the embedded font, as the pdf service task does (without the database). The target is < 1 s a receipt.
Peak memory is Python's heap (tracemalloc) during one receipt; CPU per PDF is this process's, which does not depend
on the load of the machine as the wall-clock figures do.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import statistics
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

from pypdf import PdfReader

from harness import REPO, load_average, percentile

sys.path.insert(0, str(REPO))

from felles.apps.definition import load_app
from felles.apps.receipt import Attachment, ReceiptInput, receipt_document
from felles.core.pdf import Document, PdfRenderer

APP_FOLDER = REPO / "tests" / "apps" / "receipt" / "receipt_app"
MAKES = ("vw", "tesla", "volvo")


def form(rows: int) -> dict[str, object]:
    return {"navn": "Kari Nordmann", "alder": 42, "belop": 1234567.5, "dato": "2026-12-24", "sone": "b",
            "dyr": "hund,hest", "verge": "Ola Verge",
            "kjoretoy": [{"regnr": "SKJULT" if row == 3 else f"EL{10000 + row}", "merke": MAKES[row % 3]}
                         for row in range(rows)]}


async def timed(rounds: int, make: object) -> tuple[list[float], float]:
    """Each round's seconds, and the CPU seconds of one (this process's: the renderer's thread and the loop)."""
    samples = []
    cpu = time.process_time()
    for _ in range(rounds):
        started = time.perf_counter()
        await make()  # type: ignore[operator]
        samples.append(time.perf_counter() - started)
    return samples, (time.process_time() - cpu) / rounds


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--rows", type=int, default=25)
    arguments = parser.parse_args()
    app = load_app(APP_FOLDER)
    receipt = ReceiptInput(
        instance_id="50001337/0191f3a2-7c1e-7b7a-9a43-5d2c8e1f4a6b", owner="12838404268-Kari Nordmann",
        submitted=datetime(2026, 12, 4, 11, 30, tzinfo=UTC), task_ids=["Task_1"],
        form_data={"skjema": form(arguments.rows)},
        attachments=[Attachment("vedlegg", f"vedlegg-{n}.pdf", f"e{n}") for n in range(3)])
    with tempfile.TemporaryDirectory() as folder:
        renderer = PdfRenderer(Path(folder) / "fonts")
        started = time.perf_counter()
        await renderer.document(Document(title="Oppvarming", sections=[]))
        print(f"fonts made once in {time.perf_counter() - started:.1f} s")

        async def trivial() -> bytes:
            return await renderer.document(Document(title="Kvittering", sections=[]))

        async def typical() -> bytes:
            return await renderer.document(receipt_document(app, receipt))

        pages = len(PdfReader(io.BytesIO(await typical())).pages)
        baseline = await timed(arguments.rounds, trivial)
        measured = await timed(arguments.rounds, typical)
        tracemalloc.start()
        size = len(await typical())
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    print(load_average())
    for name, (samples, cpu) in (("trivial PDF", baseline), ("form receipt", measured)):
        print(f"{name:13} p50 {1000 * statistics.median(samples):7.1f} ms  p95 {1000 * percentile(samples, 95):7.1f}"
              f" ms  {len(samples) / sum(samples):6.1f}/s  CPU {1000 * cpu:6.1f} ms each")
    baseline_samples, measured_samples = baseline[0], measured[0]
    print(f"form receipt: {arguments.rows} rows, {pages} page(s), {size / 1024:.0f} kB, peak heap "
          f"{peak / 1024 / 1024:.1f} MB; ratio to the trivial PDF (p50) "
          f"{statistics.median(measured_samples) / statistics.median(baseline_samples):.1f}x; target p95 < 1000 ms: "
          f"{'met' if percentile(measured_samples, 95) < 1 else 'NOT met'}")


if __name__ == "__main__":
    asyncio.run(main())
