"""A job handler the supervisor tests load into `felles serve` (FELLES_PLUGIN_MODULES): the queue tests' slow
line-appending handler, under a kind whose lease is far longer than the test, so only the supervisor's release can
bring a job a killed process had leased back soon."""

from __future__ import annotations

from datetime import timedelta

from felles.core.jobs import job_handler
from tests.core.job_handlers_for_tests import append_line

PLUGIN_MODULE = "tests.operations.job_handlers_for_supervisor"

job_handler("ops_test.append_line", lease=timedelta(minutes=30), max_attempts=20)(append_line)
