"""The app served by uvicorn on a loopback port bound beforehand, for tests that drive it from a real browser or
from Node: the issuer URL in the settings must already name the port."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from socket import socket

from felles.app import create_app
from felles.core.config import Settings
from tests.conftest import free_listener, serve_app

__all__ = ["free_listener", "serve"]


@contextmanager
def serve(settings: Settings, listener: socket) -> Iterator[str]:
    with serve_app(create_app(settings, run_worker=False), listener):
        yield settings.base_url
