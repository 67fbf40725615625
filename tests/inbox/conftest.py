"""The profile tests' personas and tokens serve the inbox's tests too."""

from tests.profile.conftest import as_person, people, varsling_outbox

__all__ = ["as_person", "people", "varsling_outbox"]
