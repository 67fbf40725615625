"""The app served by uvicorn on a free loopback port in a background thread, for tests that drive it from a real
browser or from Node (they need a real issuer URL)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import uvicorn

from felles.app import create_app
from felles.core.config import Settings


def free_listener() -> socket.socket:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    return listener


@contextmanager
def serve(settings: Settings, listener: socket.socket) -> Iterator[str]:
    app = create_app(settings, run_worker=False)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", ws="none", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("uvicorn did not start serving the app")
        time.sleep(0.02)
    try:
        yield settings.base_url
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        listener.close()
