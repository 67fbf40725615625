"""The monthly statistics: usage counted in process memory and stored every minute, availability from the
minute-by-minute self-checks, response-time percentiles per component; drawn as inline SVG charts."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from felles.core.clock import clock
from felles.core.jobs import Worker, enqueue
from felles.core.metrics import RESPONSE_TIMES
from felles.core.usage import count_usage, flush_usage
from felles.identity import statistics as identity_statistics
from felles.operations import service, statistics
from felles.operations.statistics import Month


def move_clock_to(moment: datetime) -> None:
    clock.advance(moment - clock.now())


async def test_usage_is_stored_per_hour_and_summed_per_month(database):
    await flush_usage(database)  # what earlier tests of this process counted: stored now, outside the months read
    move_clock_to(datetime(2025, 11, 30, 23, 30, tzinfo=UTC))
    count_usage("identity", identity_statistics.TOKENS_PER_CLIENT, "skedsmo-sak", 3)
    count_usage("identity", identity_statistics.LOGINS_PER_EID, "idporten BankID")
    assert await flush_usage(database) == 4
    move_clock_to(datetime(2025, 12, 1, 0, 30, tzinfo=UTC))
    count_usage("identity", identity_statistics.TOKENS_PER_CLIENT, "skedsmo-sak", 2)
    count_usage("identity", identity_statistics.TOKENS_PER_CLIENT, "fjordvik-arkiv")
    await flush_usage(database)
    count_usage("identity", identity_statistics.TOKENS_PER_CLIENT, "skedsmo-sak")
    await flush_usage(database)
    december = Month(2025, 12)
    assert await identity_statistics.tokens_per_client(database, december.start, december.end) == {
        "skedsmo-sak": 3, "fjordvik-arkiv": 1}
    november = Month(2025, 11)
    assert await identity_statistics.logins_per_eid(database, november.start, november.end) == {
        "idporten BankID": 1}


def test_a_month_is_read_from_the_address_or_is_this_one():
    today = datetime(2026, 12, 5, tzinfo=UTC).date()
    assert Month.parse("2026-02", today) == Month(2026, 2)
    assert Month.parse("2026-13", today) == Month.parse("junk", today) == Month.parse(None, today) == Month(2026, 12)
    assert (Month(2026, 1).previous(), Month(2026, 12).next()) == (Month(2025, 12), Month(2027, 1))
    assert Month(2024, 2).end - Month(2024, 2).start == datetime(2024, 3, 1) - datetime(2024, 2, 1)


async def test_response_times_become_percentiles_per_component(database):
    RESPONSE_TIMES.take()
    for _ in range(90):
        RESPONSE_TIMES.observe("events", 0.004, error=False)
    for _ in range(9):
        RESPONSE_TIMES.observe("events", 0.2, error=False)
    RESPONSE_TIMES.observe("events", 30, error=True)  # above every bucket: "at least 10 s"
    RESPONSE_TIMES.observe("maskinporten", 0.02, error=False)
    assert await service.flush_response_times(database) == 101
    month = Month.parse(None, clock.now().date())
    percentiles, requests = await statistics.response_times(database, month.start, month.end)
    assert percentiles["events"] == (5.0, 250.0, 250.0) and requests["events"] == 100
    assert percentiles["maskinporten"] == (25.0, 25.0, 25.0)


async def test_the_statistics_page_draws_each_figure(client, database):
    RESPONSE_TIMES.take()
    count_usage("identity", identity_statistics.LOGINS_PER_EID, "idporten TestID", 7)
    count_usage("identity", identity_statistics.LOGINS_PER_EID, "ansattporten MinID", 2)
    async with database.transaction() as session:
        await enqueue(session, "operations.sample_health", {})
    await Worker(database).run_until_idle()  # one availability sample of every self-check
    for _ in range(3):
        assert (await client.get("/health/live")).status_code == 200
    page = await client.get("/statistics")
    assert page.status_code == 200
    logins = re.search(r'<svg class="felles-chart" id="chart-logins".*?</svg>', page.text, re.S)
    assert logins and 'data-label="idporten TestID" data-value="7.0"' in logins.group(0)
    assert 'data-label="ansattporten MinID" data-value="2.0"' in logins.group(0)
    availability = re.search(r'id="chart-availability".*?</svg>', page.text, re.S)
    assert availability and 'data-label="database" data-value="100.0"' in availability.group(0)
    times = re.search(r'id="chart-response-times".*?</svg>', page.text, re.S)
    assert times and 'data-label="health"' in times.group(0) and 'data-series="p99"' in times.group(0)
    assert "<script" not in page.text.split("</header>", 1)[-1]
    previous = await client.get("/statistics?month=2020-01")
    assert "chart-logins" not in previous.text and "2020-01" in previous.text
