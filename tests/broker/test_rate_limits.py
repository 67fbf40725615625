"""Altinn's per-endpoint rate limits, counted in the database: they hold across server processes (two
`felles serve` on one database share one count), refuse with 429 and `Retry-After`, count each client and
endpoint on its own, stay exact under concurrent calls, and open again in the next minute."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
import pytest

from felles.broker import service
from felles.core.clock import clock
from felles.core.db import Database
from tests.broker.conftest import API, READ, RECIPIENT, SENDER, WRITE
from tests.conftest import bearer, felles_command_environment, felles_serve


async def test_two_server_processes_share_one_count(resource, settings, token):
    recipient = bearer(token(scopes=[READ], org=RECIPIENT))
    environment = felles_command_environment(settings.data_dir, DATABASE_URL=settings.database_url,
                                             BASE_URL=settings.base_url, SECRET_KEY=settings.secret_key)
    with felles_serve(environment, "--no-migrate") as first_port, felles_serve(environment, "--no-migrate") as \
            second_port:
        first, second = f"http://127.0.0.1:{first_port}", f"http://127.0.0.1:{second_port}"
        async with httpx.AsyncClient(timeout=30) as http:
            statuses = [(await http.get(f"{url}{API}/filetransfer", headers=recipient)).status_code
                        for url in [first, second] * 5]
            assert statuses == [200] * 10  # Altinn's 10 searches a minute, five through each process
            for url in (first, second):
                refused = await http.get(f"{url}{API}/filetransfer", headers=recipient)
                assert refused.status_code == 429, refused.text
                assert refused.json()["code"] == "too_many_requests"
                assert refused.headers["content-type"].startswith("application/problem+json")
                assert 1 <= int(refused.headers["retry-after"]) <= 60
            # Another client, and another endpoint of the same client, have counts of their own.
            sender = bearer(token(scopes=[WRITE, READ], org=SENDER))
            assert (await http.get(f"{second}{API}/filetransfer", headers=sender)).status_code == 200
            unknown = f"{first}{API}/filetransfer/00000000-0000-7000-8000-000000000000"
            assert (await http.get(unknown, headers=recipient)).status_code == 404


async def test_the_count_is_exact_under_concurrent_calls_and_opens_again_next_minute(database, settings):
    other = Database(settings.database_url)  # a second connection pool, as another process has
    try:
        async def call(database_: Database) -> bool:
            try:
                await service.count_call(database_, "client-a", "search", 10)
            except service.TooManyRequests:
                return False
            return True

        results = await asyncio.gather(*(call(database if number % 2 else other) for number in range(30)))
        assert results.count(True) == 10
        with pytest.raises(service.TooManyRequests) as refused:
            await service.count_call(other, "client-a", "search", 10)
        assert refused.value.status == 429 and 1 <= int(refused.value.headers["Retry-After"]) <= 60

        clock.advance(timedelta(seconds=61))
        await service.count_call(database, "client-a", "search", 10)  # a new window
        for _ in range(9):
            await service.count_call(other, "client-a", "search", 10)
        with pytest.raises(service.TooManyRequests):
            await service.count_call(database, "client-a", "search", 10)
    finally:
        await other.dispose()
