"""The platform's clock. Everything asks it for "now", so tests can move time (reminders, expiry, purges)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class Clock:
    def __init__(self) -> None:
        self._offset = timedelta()

    def now(self) -> datetime:
        return datetime.now(UTC) + self._offset

    def advance(self, delta: timedelta) -> None:
        """Move time forward (tests and demos only; production never calls this)."""
        self._offset += delta

    def reset(self) -> None:
        self._offset = timedelta()


clock = Clock()


def utcnow() -> datetime:
    return clock.now()
