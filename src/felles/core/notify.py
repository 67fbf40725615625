"""Listening to a PostgreSQL NOTIFY channel for as long as a process serves, over a connection of its own that is
opened again whenever it is lost (a notification sent while no connection listened is gone, so the caller is told
each time listening starts, to catch up by reading)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from felles.core.db import Database

RECONNECT_SECONDS = 1.0

_log = logging.getLogger(__name__)


async def listen_forever(database: Database, channel: str, on_payload: Callable[[str], None], *,
                         on_listening: Callable[[], Awaitable[None]], on_lost: Callable[[], None] = lambda: None,
                         ) -> None:
    """Call `on_payload` with each notification's payload until cancelled; `on_listening` runs each time the
    listener is in place, `on_lost` each time its connection has gone."""
    import asyncpg

    url = database.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)

    def on_notification(_connection: object, _pid: int, _channel: str, payload: str) -> None:
        on_payload(payload)

    while True:
        connection = None
        try:
            connection = await asyncpg.connect(url)
            await connection.add_listener(channel, on_notification)
            await on_listening()
            lost = asyncio.Event()
            connection.add_termination_listener(lambda *_, lost=lost: lost.set())
            await lost.wait()
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - keep trying; what the caller caches is bounded by its polling or TTLs
            _log.warning("listener on %s lost its connection; retrying", channel, exc_info=True)
        finally:
            on_lost()
            if connection is not None and not connection.is_closed():
                with contextlib.suppress(Exception):
                    await asyncio.shield(connection.close(timeout=2))
        await asyncio.sleep(RECONNECT_SECONDS)
